/* The dashboard's reports: a request on qms/<site>/report runs the report
 * code of qms-report (manager/, library qms_report) on the controller's own
 * store and answers one page of the CSV qms-report makes (the same bytes).
 * Large reports come in pages (REPORT_PAGE bytes, or fewer if the request
 * says "page_bytes", 1024..REPORT_PAGE), each asked for by number:
 * no huge message. Read-only, not remembered (ask again, get it again). The
 * range is limited to REPORT_MAX_DAYS so one request cannot hold the queue
 * up for long. docs/protocol.md, "Reports". */
#include "ctl.h"
#include "report.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_PAGE (32 * 1024)
#define REPORT_MAX_DAYS 62

static char *refuse(const char *req, const char *code, const char *vi, const char *en, int lang_en)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "req", req);
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "message", lang_en ? en : vi);
    return ctl_print_free(o);
}

static int parse_day(const qms_ctl *c, const cJSON *v, int32_t *out)
{
    if (!cJSON_IsString(v))
        return QMS_ERR_INVAL;
    if (strcmp(v->valuestring, "today") == 0) {
        *out = qms_engine_day(c->eng);
        return QMS_OK;
    }
    if (strlen(v->valuestring) != 10)
        return QMS_ERR_INVAL;
    return qms_day_parse(v->valuestring, out);
}

/* The whole CSV (qms_free), its length in *len; NULL with err set. */
static char *make_csv(qms_ctl *c, int32_t from, int32_t to, report_by by, int en, size_t *len,
                      char *err, size_t errlen)
{
    report_data data;
    memset(&data, 0, sizeof data);
    if (report_load(c->db_path, from, to, c->cfg, &data, err, errlen) != QMS_OK)
        return NULL;
    /* as qms-report --config: every ticket read with the center's offset and scale */
    int levels = c->cfg->rating_levels;
    for (int i = 0; i < data.nt; i++) {
        data.t[i].utc_offset_min = c->cfg->utc_offset_min;
        data.t[i].levels = c->cfg->rating_levels;
        data.t[i].settings = REPORT_SET_GIVEN;
    }
    if (data.max_rating > levels)
        levels = data.max_rating;
    report rep;
    memset(&rep, 0, sizeof rep);
    char *buf = NULL;
    size_t n = 0;
    if (report_build(&data, by, levels, from, to, en, &rep) != QMS_OK) {
        snprintf(err, errlen, "out of memory");
        report_data_free(&data);
        return NULL;
    }
    FILE *f = open_memstream(&buf, &n);
    if (f) {
        report_csv w;
        report_csv_begin(&w, f, 0, 1);
        report_write_csv(&rep, &w, en, data.nt == 0);
        fclose(f);
    }
    report_free(&rep);
    report_data_free(&data);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char *out = qms_malloc(n + 1); /* ours, not the stream's allocator */
    if (out) {
        memcpy(out, buf, n);
        out[n] = 0;
    }
    free(buf);
    *len = n;
    return out;
}

/* Where the page starting at s ends: after the last newline within
 * REPORT_PAGE bytes, or at the end. */
static size_t page_end(const char *csv, size_t len, size_t s, size_t size)
{
    if (len - s <= size)
        return len;
    size_t e = s + size;
    while (e > s && csv[e - 1] != '\n')
        e--;
    return e > s ? e : s + size;
}

static void on_report(qms_ctl *c, const qms_mqtt_msg *msg)
{
    if (msg->retained)
        return;
    c->nreq++;
    cJSON *o = NULL;
    if (msg->len > 0 && msg->len <= 8192)
        o = cJSON_ParseWithLength(msg->payload, (size_t)msg->len);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "req");
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(o, "lang");
    const cJSON *byj = cJSON_GetObjectItemCaseSensitive(o, "by");
    const cJSON *pg = cJSON_GetObjectItemCaseSensitive(o, "page");
    int en = cJSON_IsString(lang) && strcmp(lang->valuestring, "en") == 0;
    const char *rq = cJSON_IsString(req) && strlen(req->valuestring) >= 1 &&
                             strlen(req->valuestring) <= 64
                         ? req->valuestring
                         : "";
    int32_t from = 0, to = 0;
    report_by by = REPORT_BY_SERVICE;
    int page = 0, page_bytes = REPORT_PAGE;
    const cJSON *pb = cJSON_GetObjectItemCaseSensitive(o, "page_bytes");
    int ok = cJSON_IsObject(o) && rq[0] &&
             parse_day(c, cJSON_GetObjectItemCaseSensitive(o, "from"), &from) == QMS_OK;
    if (ok && cJSON_GetObjectItemCaseSensitive(o, "to"))
        ok = parse_day(c, cJSON_GetObjectItemCaseSensitive(o, "to"), &to) == QMS_OK;
    else
        to = from;
    if (ok && byj) {
        static const char *const names[] = {"service", "counter", "hour", "day"};
        ok = 0;
        for (int i = 0; cJSON_IsString(byj) && i < 4; i++)
            if (strcmp(byj->valuestring, names[i]) == 0) {
                by = (report_by)i;
                ok = 1;
            }
    }
    if (ok && pb) {
        ok = cJSON_IsNumber(pb) && pb->valuedouble >= 1024 && pb->valuedouble <= REPORT_PAGE;
        page_bytes = ok ? (int)pb->valuedouble : REPORT_PAGE;
    }
    if (ok && pg) {
        ok = cJSON_IsNumber(pg) && pg->valuedouble >= 0 && pg->valuedouble < 100000 &&
             pg->valuedouble == (double)(int)pg->valuedouble;
        page = ok ? (int)pg->valuedouble : 0;
    }
    char *body = NULL;
    if (!ok) {
        c->nrefused++;
        body = refuse(rq, "invalid",
                      "Yêu cầu không hợp lệ: cần \"req\", \"from\" (YYYY-MM-DD hoặc \"today\"), "
                      "có thể thêm \"to\", \"by\" (service, counter, hour, day), \"page\"",
                      "Invalid request: needs \"req\", \"from\" (YYYY-MM-DD or \"today\"), "
                      "optionally \"to\", \"by\" (service, counter, hour, day), \"page\"",
                      en);
    } else if (to < from || to - from >= REPORT_MAX_DAYS) {
        c->nrefused++;
        body = refuse(rq, "invalid", "Khoảng ngày phải từ 1 đến 62 ngày (từ ≤ đến)",
                      "The range must be 1 to 62 days (from <= to)", en);
    } else {
        char err[512];
        size_t len = 0;
        int64_t t0 = qms_mono_ms();
        char *csv = make_csv(c, from, to, by, en, &len, err, sizeof err);
        if (!csv) {
            QMS_ERROR("report: %s", err);
            body = refuse(rq, "db_error", "Không đọc được kho dữ liệu", "Cannot read the store",
                          en);
        } else {
            /* pages end on a line boundary (whole CSV rows; never half a
             * UTF-8 character: a row is far shorter than a page) */
            int npages = 0;
            size_t start = 0, end = 0;
            for (size_t p0 = 0;;) {
                size_t p1 = page_end(csv, len, p0, (size_t)page_bytes);
                if (npages == page) {
                    start = p0;
                    end = p1;
                }
                npages++;
                if (p1 >= len)
                    break;
                p0 = p1;
            }
            if (page >= npages) {
                body = refuse(rq, "invalid", "Không có trang này", "No such page", en);
            } else {
                char saved = csv[end];
                csv[end] = 0;
                cJSON *r = cJSON_CreateObject();
                char d1[11], d2[11];
                qms_day_str(from, d1);
                qms_day_str(to, d2);
                cJSON_AddStringToObject(r, "req", rq);
                cJSON_AddStringToObject(r, "from", d1);
                cJSON_AddStringToObject(r, "to", d2);
                cJSON_AddNumberToObject(r, "page", page);
                cJSON_AddNumberToObject(r, "pages", npages);
                cJSON_AddNumberToObject(r, "bytes", (double)len);
                cJSON_AddStringToObject(r, "csv", csv + start);
                csv[end] = saved;
                body = ctl_print_free(r);
            }
            qms_free(csv);
        }
        QMS_INFO("report %s: %lld ms", rq, (long long)(qms_mono_ms() - t0));
    }
    if (body)
        ctl_batch_add_reply(c, msg, body, NULL);
    cJSON_Delete(o);
}

int ctl_report_on_message(qms_ctl *c, const qms_mqtt_msg *msg)
{
    char want[96];
    snprintf(want, sizeof want, "qms/%s/report", c->site);
    if (strcmp(msg->topic, want) != 0)
        return 0;
    on_report(c, msg);
    return 1;
}
