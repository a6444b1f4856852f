/* Alerts derived from the engine and the devices' status (alerts.h). */
#include "alerts.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEV_STATUS_MAX 4096 /* a device status is a few dozen bytes */

typedef struct device {
    char key[96]; /* "<kind>/<id>" */
    int offline;
    char printer[16]; /* "" = none reported or ok; else one of the known states */
} device;

struct qms_alerts {
    qms_alert *v; /* active, in display order */
    int n, cap;
    device *dev;
    int ndev, capdev;
};

int qms_alerts_new(qms_alerts **out)
{
    *out = qms_calloc(1, sizeof **out);
    return *out ? QMS_OK : QMS_ERR_NOMEM;
}

void qms_alerts_free(qms_alerts *a)
{
    if (!a)
        return;
    qms_free(a->v);
    qms_free(a->dev);
    qms_free(a);
}

/* ---- devices ---- */

static int name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static device *dev_find(qms_alerts *a, const char *key)
{
    for (int i = 0; i < a->ndev; i++)
        if (strcmp(a->dev[i].key, key) == 0)
            return &a->dev[i];
    return NULL;
}

/* The printer states we know; anything else a device reports is "error"
 * (never echoed: it came from the LAN). */
static const char *printer_state(const char *s)
{
    static const char *const known[] = {"ok", "paper_low", "paper_out", "cover_open", "offline"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i]) == 0)
            return known[i];
    return "error";
}

int qms_alerts_device(qms_alerts *a, const char *kind, const char *id, const char *payload,
                      size_t len)
{
    if (!name_ok(kind, 31) || !name_ok(id, 63))
        return -1;
    char key[96];
    snprintf(key, sizeof key, "%s/%s", kind, id);
    device *d = dev_find(a, key);
    if (len == 0) {
        if (!d)
            return 0;
        *d = a->dev[--a->ndev];
        return 1;
    }
    if (len > DEV_STATUS_MAX)
        return -1;
    cJSON *o = cJSON_ParseWithLength(payload, len);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!cJSON_IsObject(o) || !cJSON_IsString(st)) {
        cJSON_Delete(o);
        return -1;
    }
    int offline = strcmp(st->valuestring, "offline") == 0;
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(o, "printer");
    const char *ps = cJSON_IsString(pr) ? printer_state(pr->valuestring) : "";
    int fresh = !d;
    if (!d) {
        if (a->ndev == QMS_ALERTS_MAX_DEVICES) {
            cJSON_Delete(o);
            return -1;
        }
        if (a->ndev == a->capdev) {
            int ncap = a->capdev ? a->capdev * 2 : 16;
            device *nd = qms_realloc(a->dev, (size_t)ncap * sizeof *nd);
            if (!nd) {
                cJSON_Delete(o);
                return -1;
            }
            a->dev = nd;
            a->capdev = ncap;
        }
        d = &a->dev[a->ndev++];
        memset(d, 0, sizeof *d);
        snprintf(d->key, sizeof d->key, "%s", key);
    }
    int changed = fresh || d->offline != offline || strcmp(d->printer, ps) != 0;
    d->offline = offline;
    snprintf(d->printer, sizeof d->printer, "%s", ps);
    cJSON_Delete(o);
    return changed;
}

/* ---- deriving ---- */

typedef struct want {
    qms_alert *v;
    int n, cap;
} want;

static qms_alert *want_add(want *w, const char *kind, const char *subject, int level)
{
    if (w->n == w->cap) {
        int ncap = w->cap ? w->cap * 2 : 16;
        qms_alert *nv = qms_realloc(w->v, (size_t)ncap * sizeof *nv);
        if (!nv)
            return NULL;
        w->v = nv;
        w->cap = ncap;
    }
    qms_alert *al = &w->v[w->n++];
    memset(al, 0, sizeof *al);
    snprintf(al->kind, sizeof al->kind, "%s", kind);
    snprintf(al->subject, sizeof al->subject, "%s", subject);
    snprintf(al->id, sizeof al->id, "%s:%s", kind, subject);
    al->level = level;
    return al;
}

static const char *svc_name(const qms_service *s, int en)
{
    const char *n = en ? s->name_en : s->name_vi;
    return n && *n ? n : s->code;
}

/* A threshold for a person: "10 phút" / "10 min", or seconds under a minute. */
static void dur(char *out, size_t n, int32_t s, int en)
{
    if (s >= 60)
        snprintf(out, n, "%d %s", (int)(s / 60), en ? "min" : "phút");
    else
        snprintf(out, n, "%d %s", (int)s, en ? "s" : "giây");
}

static void derive_services(want *w, const qms_config *cfg, qms_engine *eng)
{
    for (int si = 0; si < cfg->nservices; si++) {
        const qms_service *s = &cfg->services[si];
        qms_service_stats st;
        if (qms_engine_service_stats(eng, si, &st))
            continue;
        int32_t thr = s->alert_wait_s ? s->alert_wait_s : cfg->alert_wait_s;
        if (thr > 0 && st.waiting > 0 && st.longest_wait_s > thr) {
            int crit = st.longest_wait_s > 2 * thr;
            qms_alert *al = want_add(w, "wait", s->code, crit ? QMS_ALERT_CRIT : QMS_ALERT_WARN);
            if (al) {
                char dv[32], de[32];
                dur(dv, sizeof dv, crit ? 2 * thr : thr, 0);
                dur(de, sizeof de, crit ? 2 * thr : thr, 1);
                snprintf(al->vi, sizeof al->vi, "%s: có người chờ quá %s", svc_name(s, 0), dv);
                snprintf(al->en, sizeof al->en, "%s: someone has waited over %s", svc_name(s, 1),
                         de);
            }
        }
        int32_t capacity = qms_config_service_capacity(cfg, si);
        if (cfg->alert_cap_pct > 0 && capacity > 0 &&
            (int64_t)st.taken * 100 >= (int64_t)capacity * cfg->alert_cap_pct) {
            int full = st.taken >= capacity;
            qms_alert *al = want_add(w, "cap", s->code, full ? QMS_ALERT_CRIT : QMS_ALERT_WARN);
            if (al && full) {
                snprintf(al->vi, sizeof al->vi, "%s: đã hết số trong ngày (%d số)", svc_name(s, 0),
                         (int)capacity);
                snprintf(al->en, sizeof al->en, "%s: all %d numbers of the day are used",
                         svc_name(s, 1), (int)capacity);
            } else if (al) {
                snprintf(al->vi, sizeof al->vi, "%s: đã dùng %d%% số trong ngày (tối đa %d)",
                         svc_name(s, 0), (int)cfg->alert_cap_pct, (int)capacity);
                snprintf(al->en, sizeof al->en, "%s: %d%% of the day's numbers used (of %d)",
                         svc_name(s, 1), (int)cfg->alert_cap_pct, (int)capacity);
            }
        }
    }
}

static void derive_counters(want *w, const qms_config *cfg, qms_engine *eng, int64_t now_ms)
{
    if (cfg->alert_pause_s <= 0)
        return;
    for (int ci = 0; ci < cfg->ncounters; ci++) {
        const qms_counter_state *cs = qms_engine_counter(eng, ci);
        if (cs->state != QMS_C_PAUSED || now_ms - cs->since_ms < (int64_t)cfg->alert_pause_s * 1000)
            continue;
        const qms_counter *k = &cfg->counters[ci];
        char subj[16];
        snprintf(subj, sizeof subj, "%d", k->id);
        qms_alert *al = want_add(w, "counter_paused", subj, QMS_ALERT_WARN);
        if (!al)
            continue;
        char dv[32], de[32];
        dur(dv, sizeof dv, cfg->alert_pause_s, 0);
        dur(de, sizeof de, cfg->alert_pause_s, 1);
        if (k->name_vi && *k->name_vi)
            snprintf(al->vi, sizeof al->vi, "%s tạm dừng quá %s", k->name_vi, dv);
        else
            snprintf(al->vi, sizeof al->vi, "Quầy %d tạm dừng quá %s", k->id, dv);
        if (k->name_en && *k->name_en)
            snprintf(al->en, sizeof al->en, "%s paused for over %s", k->name_en, de);
        else
            snprintf(al->en, sizeof al->en, "Counter %d paused for over %s", k->id, de);
    }
}

static void derive_devices(want *w, const qms_alerts *a)
{
    for (int i = 0; i < a->ndev; i++) {
        const device *d = &a->dev[i];
        if (strncmp(d->key, "controller/", 11) == 0)
            continue; /* that is us: if we are down nobody publishes alerts */
        if (d->offline) {
            qms_alert *al = want_add(w, "device_offline", d->key, QMS_ALERT_CRIT);
            if (al) {
                snprintf(al->vi, sizeof al->vi, "Thiết bị %s mất kết nối", d->key);
                snprintf(al->en, sizeof al->en, "Device %s is offline", d->key);
            }
            continue;
        }
        if (!d->printer[0] || strcmp(d->printer, "ok") == 0)
            continue;
        int low = strcmp(d->printer, "paper_low") == 0;
        qms_alert *al = want_add(w, "printer", d->key, low ? QMS_ALERT_WARN : QMS_ALERT_CRIT);
        if (!al)
            continue;
        const char *vi = low                                      ? "sắp hết giấy"
                         : strcmp(d->printer, "paper_out") == 0  ? "hết giấy"
                         : strcmp(d->printer, "cover_open") == 0 ? "đang mở nắp"
                         : strcmp(d->printer, "offline") == 0    ? "không phản hồi"
                                                                 : "bị lỗi";
        const char *en = low                                      ? "paper low"
                         : strcmp(d->printer, "paper_out") == 0  ? "out of paper"
                         : strcmp(d->printer, "cover_open") == 0 ? "cover open"
                         : strcmp(d->printer, "offline") == 0    ? "not answering"
                                                                 : "fault";
        snprintf(al->vi, sizeof al->vi, "Máy in của %s %s", d->key, vi);
        snprintf(al->en, sizeof al->en, "Printer of %s: %s", d->key, en);
    }
}

const qms_alert *qms_alerts_find(const qms_alerts *a, const char *id)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i].id, id) == 0)
            return &a->v[i];
    return NULL;
}

static int by_order(const void *x, const void *y)
{
    const qms_alert *p = x, *q = y;
    if (p->level != q->level)
        return q->level - p->level;
    if (p->since_ms != q->since_ms)
        return p->since_ms < q->since_ms ? -1 : 1;
    return strcmp(p->id, q->id);
}

int qms_alerts_update(qms_alerts *a, const qms_config *cfg, qms_engine *eng, int64_t now_ms,
                      qms_alert_cb cb, void *ud)
{
    want w = {0};
    derive_services(&w, cfg, eng);
    derive_counters(&w, cfg, eng, now_ms);
    derive_devices(&w, a);
    int changes = 0;
    /* cleared: active but no longer wanted */
    for (int i = 0; i < a->n; i++) {
        int still = 0;
        for (int j = 0; j < w.n && !still; j++)
            still = strcmp(a->v[i].id, w.v[j].id) == 0;
        if (!still) {
            changes++;
            if (cb)
                cb(ud, "cleared", &a->v[i]);
        }
    }
    /* raised or changed: carry since and acknowledgement over */
    for (int j = 0; j < w.n; j++) {
        const qms_alert *old = qms_alerts_find(a, w.v[j].id);
        if (old) {
            int changed = old->level != w.v[j].level || strcmp(old->vi, w.v[j].vi) != 0;
            w.v[j].since_ms = old->since_ms;
            memcpy(w.v[j].ack_by, old->ack_by, sizeof old->ack_by);
            w.v[j].ack_ms = old->ack_ms;
            if (changed) {
                changes++;
                if (cb)
                    cb(ud, "changed", &w.v[j]);
            }
        } else {
            w.v[j].since_ms = now_ms;
            changes++;
            if (cb)
                cb(ud, "raised", &w.v[j]);
        }
    }
    if (w.n > 1)
        qsort(w.v, (size_t)w.n, sizeof *w.v, by_order);
    qms_free(a->v);
    a->v = w.v;
    a->n = w.n;
    a->cap = w.cap;
    return changes;
}

int qms_alerts_ack(qms_alerts *a, const char *id, const char *who, int64_t at_ms,
                   const qms_alert **out)
{
    for (int i = 0; i < a->n; i++) {
        qms_alert *al = &a->v[i];
        if (strcmp(al->id, id) != 0)
            continue;
        if (!al->ack_by[0]) {
            snprintf(al->ack_by, sizeof al->ack_by, "%s", who && *who ? who : "?");
            al->ack_ms = at_ms;
        }
        if (out)
            *out = al;
        return QMS_OK;
    }
    return QMS_ERR_UNKNOWN_OP;
}

int qms_alerts_count(const qms_alerts *a)
{
    return a->n;
}

const qms_alert *qms_alerts_at(const qms_alerts *a, int i)
{
    return i >= 0 && i < a->n ? &a->v[i] : NULL;
}

/* ---- JSON ---- */

void *qms_alert_cjson(const qms_alert *al)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", al->id);
    cJSON_AddStringToObject(o, "kind", al->kind);
    cJSON_AddStringToObject(o, "subject", al->subject);
    cJSON_AddStringToObject(o, "level", al->level == QMS_ALERT_CRIT ? "critical" : "warning");
    cJSON_AddNumberToObject(o, "since_ms", (double)al->since_ms);
    cJSON_AddStringToObject(o, "message_vi", al->vi);
    cJSON_AddStringToObject(o, "message_en", al->en);
    if (al->ack_by[0]) {
        cJSON_AddStringToObject(o, "acked_by", al->ack_by);
        cJSON_AddNumberToObject(o, "acked_ms", (double)al->ack_ms);
    } else {
        cJSON_AddNullToObject(o, "acked_by");
    }
    return o;
}

static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *qms_alert_json(const qms_alert *al)
{
    return print_free(qms_alert_cjson(al));
}

char *qms_alerts_json(const qms_alerts *a, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "at_ms", (double)now_ms);
    cJSON *arr = cJSON_AddArrayToObject(o, "alerts");
    for (int i = 0; arr && i < a->n; i++) {
        cJSON *x = qms_alert_cjson(&a->v[i]);
        if (x)
            cJSON_AddItemToArray(arr, x);
    }
    return print_free(o);
}
