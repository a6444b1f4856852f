/* The gateway's pure parts: request ids, key event -> counter request, and
 * the texts the units show. No I/O here (tests/gateway/test_gw_msg.c). */
#include "gw.h"

#include "counter_msg.h"
#include "regs.h"

#include "qms/alloc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void gw_req_id(const gw_unit *u, uint32_t session, uint16_t seq, char *out, size_t cap)
{
    if (u->cfg.line > 1)
        snprintf(out, cap, "gw%d.%d-%08x-%u", u->cfg.line, u->cfg.address, (unsigned)session,
                 (unsigned)seq);
    else
        snprintf(out, cap, "gw%d-%08x-%u", u->cfg.address, (unsigned)session, (unsigned)seq);
}

void gw_text(char out[GW_TEXT_BYTES], const char *text)
{
    size_t n = strlen(text);
    if (n > GW_TEXT_BYTES - 1) {
        n = GW_TEXT_BYTES - 1;
        /* back up to the start of a character: never half a letter */
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memset(out, 0, GW_TEXT_BYTES);
    memcpy(out, text, n);
}

const char *gw_refusal_text(const char *code)
{
    static const struct {
        const char *code, *text;
    } t[] = {
        {"nothing_to_call", "Không có người chờ"},
        {"counter_closed", "Quầy đang đóng"},
        {"bad_state", "Không làm được lúc này"},
        {"unknown_ticket", "Không có số này"},
        {"unknown_counter", "Quầy chưa khai báo"},
        {"unknown_service", "Không có dịch vụ"},
        {"invalid", "Lệnh không hợp lệ"},
        {"db_error", "Lỗi máy chủ, thử lại"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (code && strcmp(code, t[i].code) == 0)
            return t[i].text;
    return "Lệnh bị từ chối";
}

/* The label of typed number n at counter id: a range service of the counter
 * that contains n, else the counter's first prefix service ("A" + n). */
static int typed_label(const qms_config *cfg, int counter, unsigned n, char *out, size_t cap)
{
    int ci = qms_config_counter_index(cfg, counter);
    if (ci < 0 || n == 0)
        return -1;
    const qms_counter *k = &cfg->counters[ci];
    for (int i = 0; i < k->nservices; i++) {
        const qms_service *s = &cfg->services[k->services[i]];
        if (s->range_lo > 0 && (int32_t)n >= s->range_lo && (int32_t)n <= s->range_hi) {
            snprintf(out, cap, "%u", n);
            return 0;
        }
    }
    for (int i = 0; i < k->nservices; i++) {
        int si = k->services[i];
        const qms_service *s = &cfg->services[si];
        if (s->range_lo == 0 && (int32_t)n <= qms_config_service_capacity(cfg, si)) {
            qms_ticket_label(cfg, si, (int32_t)n, out, cap);
            return 0;
        }
    }
    return -1;
}

char *gw_key_request(const qms_config *cfg, const gw_unit *u, const gw_event *ev,
                     const char *req, const char **why)
{
    counter_req r;
    memset(&r, 0, sizeof r);
    *why = "";
    snprintf(r.req, sizeof r.req, "%s", req);
    if (u->cfg.kind == QMS_UNIT_RATING) {
        if (ev->key != QMS_KEY_RATE || ev->arg < 1 || ev->arg > cfg->rating_levels)
            return NULL;
        r.op = COUNTER_OP_RATE;
        r.level = ev->arg;
        snprintf(r.ticket, sizeof r.ticket, "%s", ev->ticket);
        return counter_req_encode(&r);
    }
    if (u->cfg.kind != QMS_UNIT_COUNTER)
        return NULL;
    switch (ev->key) {
    case QMS_KEY_NEXT:
        r.op = COUNTER_OP_NEXT;
        break;
    case QMS_KEY_RECALL:
        r.op = COUNTER_OP_RECALL;
        break;
    case QMS_KEY_SKIP:
        r.op = COUNTER_OP_SKIP;
        break;
    case QMS_KEY_START:
        r.op = COUNTER_OP_START;
        break;
    case QMS_KEY_DONE:
        r.op = COUNTER_OP_DONE;
        break;
    case QMS_KEY_PAUSE:
        r.op = COUNTER_OP_PAUSE;
        break;
    case QMS_KEY_RESUME:
        r.op = COUNTER_OP_RESUME;
        break;
    case QMS_KEY_TRANSFER:
        if (ev->arg == QMS_ARG_NONE || ev->arg == 0 || ev->arg > 9999 ||
            qms_config_counter_index(cfg, ev->arg) < 0) {
            *why = ev->arg == QMS_ARG_NONE ? "Nhập số quầy, bấm chuyển" : "Không có quầy này";
            return NULL;
        }
        r.op = COUNTER_OP_TRANSFER;
        r.to_counter = ev->arg;
        break;
    case QMS_KEY_OK:
        if (ev->arg == QMS_ARG_NONE || typed_label(cfg, u->cfg.counter, ev->arg, r.ticket,
                                                   sizeof r.ticket)) {
            *why = "Không có số này";
            return NULL;
        }
        r.op = COUNTER_OP_CALL;
        break;
    default:
        return NULL;
    }
    return counter_req_encode(&r);
}

uint32_t gw_new_session(uint32_t prev)
{
    /* seconds keep sessions apart across gateway restarts; the low byte
     * (pid, clock) keeps two restarts of a unit in one second apart */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t s = (uint32_t)ts.tv_sec * 256u + (((uint32_t)getpid() ^ (uint32_t)ts.tv_nsec) & 0xFFu);
    if (s == 0 || s == prev)
        s = prev + 1 ? prev + 1 : 1;
    return s;
}
