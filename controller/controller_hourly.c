/* Today hour by hour, for the dashboard's "today" charts: retained on
 * qms/<site>/stats/hourly, derived from the engine's tickets of the day
 * (never stored: it is what the tickets say). Published after something was
 * committed (at most every 2 s) and every minute. docs/protocol.md. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int hour_of(const qms_ctl *c, int64_t ms)
{
    int32_t s = qms_local_sec(ms, c->cfg->utc_offset_min);
    int h = (int)(s / 3600);
    return h < 0 ? 0 : h > 23 ? 23 : h;
}

/* The JSON (qms_free), or NULL. */
char *ctl_hourly_json(qms_ctl *c)
{
    const qms_config *cfg = c->cfg;
    int n = qms_engine_ticket_count(c->eng);
    int ns = cfg->nservices;
    int taken[24] = {0}, served[24] = {0};
    int lo = 24, hi = -1;
    /* waits by (service, hour of the first call) */
    int32_t *w = qms_calloc((size_t)n + 1, sizeof *w);
    int *key = qms_calloc((size_t)n + 1, sizeof *key);
    if (!w || !key) {
        qms_free(w);
        qms_free(key);
        return NULL;
    }
    int nw = 0, ratings = 0, satisfied = 0;
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(c->eng, i);
        int h = hour_of(c, t->taken_ms);
        taken[h]++;
        lo = h < lo ? h : lo;
        hi = h > hi ? h : hi;
        if (t->state == QMS_T_DONE && t->end_ms) {
            int he = hour_of(c, t->end_ms);
            served[he]++;
            hi = he > hi ? he : hi;
        }
        if (t->first_called_ms && t->service >= 0 && t->service < ns) {
            int hc = hour_of(c, t->first_called_ms);
            hi = hc > hi ? hc : hi;
            w[nw] = (int32_t)((t->first_called_ms - t->taken_ms) / 1000);
            key[nw] = t->service * 24 + hc;
            nw++;
        }
        if (t->rating > 0) {
            ratings++;
            satisfied += t->rating >= cfg->rating_levels - 1;
        }
    }
    cJSON *o = cJSON_CreateObject();
    char day[11];
    qms_day_str(qms_engine_day(c->eng), day);
    cJSON_AddStringToObject(o, "day", day);
    cJSON_AddNumberToObject(o, "at_ms", (double)qms_now(&c->clock));
    if (hi < lo) /* no ticket yet */
        lo = hi = hour_of(c, qms_now(&c->clock));
    cJSON *hours = cJSON_AddArrayToObject(o, "hours");
    cJSON *jt = cJSON_AddArrayToObject(o, "taken");
    cJSON *js = cJSON_AddArrayToObject(o, "served");
    for (int h = lo; h <= hi; h++) {
        cJSON_AddItemToArray(hours, cJSON_CreateNumber(h));
        cJSON_AddItemToArray(jt, cJSON_CreateNumber(taken[h]));
        cJSON_AddItemToArray(js, cJSON_CreateNumber(served[h]));
    }
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    int32_t *buf = qms_calloc((size_t)nw + 1, sizeof *buf);
    for (int si = 0; buf && si < ns; si++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "code", cfg->services[si].code);
        cJSON *mean = cJSON_AddArrayToObject(s, "mean_wait_s");
        cJSON *p90 = cJSON_AddArrayToObject(s, "p90_wait_s");
        for (int h = lo; h <= hi; h++) {
            int m = 0;
            int64_t sum = 0;
            for (int i = 0; i < nw; i++)
                if (key[i] == si * 24 + h) {
                    buf[m++] = w[i];
                    sum += w[i];
                }
            if (!m) {
                cJSON_AddItemToArray(mean, cJSON_CreateNull());
                cJSON_AddItemToArray(p90, cJSON_CreateNull());
                continue;
            }
            qsort(buf, (size_t)m, sizeof *buf, cmp_i32);
            int k = (int)((9 * (int64_t)m + 9) / 10) - 1; /* nearest rank: ceil(0.9 m) */
            cJSON_AddItemToArray(mean, cJSON_CreateNumber((double)(sum / m)));
            cJSON_AddItemToArray(p90, cJSON_CreateNumber(buf[k < 0 ? 0 : k]));
        }
        cJSON_AddItemToArray(svcs, s);
    }
    qms_free(buf);
    qms_free(w);
    qms_free(key);
    cJSON_AddNumberToObject(o, "ratings", ratings);
    if (ratings)
        cJSON_AddNumberToObject(o, "satisfied_share", (double)satisfied / ratings);
    else
        cJSON_AddNullToObject(o, "satisfied_share");
    return ctl_print_free(o);
}

void ctl_hourly_run(qms_ctl *c)
{
    int64_t mono = qms_mono_ms();
    int connected = qms_mqtt_connected(c->mqtt);
    int force = connected && !c->hr_connected;
    c->hr_connected = connected;
    if (!connected)
        return;
    if (!force && !(c->ncommits != c->hr_commits && mono - c->hr_last_ms >= 2000) &&
        mono < c->hr_last_ms + 60000)
        return;
    c->hr_commits = c->ncommits;
    c->hr_last_ms = mono;
    char *s = ctl_hourly_json(c);
    if (!s)
        return;
    qms_mqtt_publish(c->mqtt, ctl_topic(c, "stats/hourly"), s, strlen(s), 1, 1);
    qms_free(s);
}
