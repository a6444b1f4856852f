/* What the controller tells the world: the before-sleep flush (one commit,
 * then replies and events), the retained state (config, counter states and
 * queues, recent calls, statistics) and the timers. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void publish_json(qms_ctl *c, const char *topic, const char *json, int retain)
{
    int rc = qms_mqtt_publish(c->mqtt, topic, json, strlen(json), 1, retain);
    if (rc && qms_mqtt_connected(c->mqtt))
        QMS_WARN("publish to %s failed: %s", topic, qms_err_code(rc));
}

static void publish_recent(qms_ctl *c)
{
    /* the stored entries are JSON texts already: splice them */
    size_t len = 16;
    for (int i = 0; i < c->nrecent; i++)
        len += strlen(c->recent[i]) + 1;
    char *buf = qms_malloc(len);
    if (!buf)
        return;
    char *p = buf;
    p += sprintf(p, "{\"calls\":[");
    for (int i = 0; i < c->nrecent; i++)
        p += sprintf(p, "%s%s", i ? "," : "", c->recent[i]);
    sprintf(p, "]}");
    publish_json(c, ctl_topic(c, "calls/recent"), buf, 1);
    qms_free(buf);
    c->recent_dirty = 0;
}

static void publish_stats(qms_ctl *c)
{
    const qms_config *cfg = c->cfg;
    qms_engine *e = c->eng;
    int64_t now = qms_now(&c->clock);
    char day[11];
    qms_day_str(qms_engine_day(e), day);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "at_ms", (double)now);
    cJSON_AddStringToObject(o, "day", day);
    cJSON *arr = cJSON_AddArrayToObject(o, "services");
    for (int si = 0; si < cfg->nservices; si++) {
        qms_service_stats st;
        if (qms_engine_service_stats(e, si, &st))
            continue;
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "code", cfg->services[si].code);
        cJSON_AddNumberToObject(s, "waiting", st.waiting);
        cJSON_AddNumberToObject(s, "longest_wait_s", st.longest_wait_s);
        cJSON_AddNumberToObject(s, "eta_s", st.eta_s);
        cJSON_AddNumberToObject(s, "taken", st.taken);
        cJSON_AddNumberToObject(s, "served", st.served);
        cJSON_AddNumberToObject(s, "noshow", st.noshow);
        cJSON_AddNumberToObject(s, "transferred", st.transferred);
        cJSON_AddNumberToObject(s, "mean_wait_s", st.mean_wait_s);
        cJSON_AddNumberToObject(s, "mean_service_s", st.mean_service_s);
        cJSON_AddItemToArray(arr, s);
    }
    int taken = 0, served = 0, noshow = 0, waiting = 0, called = 0, ratings = 0, satisfied = 0;
    int64_t wait_sum = 0;
    /* per counter: tickets finished there today and their service time */
    int ctr_served[QMS_MAX_COUNTERS] = {0};
    int64_t ctr_service_ms[QMS_MAX_COUNTERS] = {0};
    int n = qms_engine_ticket_count(e);
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(e, i);
        taken++;
        served += t->state == QMS_T_DONE;
        if (t->state == QMS_T_DONE && t->counter >= 0 && t->counter < cfg->ncounters &&
            t->counter < QMS_MAX_COUNTERS) {
            ctr_served[t->counter]++;
            ctr_service_ms[t->counter] += t->end_ms - (t->start_ms ? t->start_ms : t->called_ms);
        }
        noshow += t->state == QMS_T_NOSHOW;
        waiting += t->state == QMS_T_WAITING;
        if (t->first_called_ms) {
            wait_sum += t->first_called_ms - t->taken_ms;
            called++;
        }
        if (t->rating > 0) {
            ratings++;
            satisfied += t->rating >= cfg->rating_levels - 1;
        }
    }
    cJSON *today = cJSON_AddObjectToObject(o, "today");
    cJSON_AddNumberToObject(today, "taken", taken);
    cJSON_AddNumberToObject(today, "served", served);
    cJSON_AddNumberToObject(today, "noshow", noshow);
    cJSON_AddNumberToObject(today, "waiting", waiting);
    cJSON_AddNumberToObject(today, "mean_wait_s", called ? (double)(wait_sum / called / 1000) : 0);
    cJSON_AddNumberToObject(today, "ratings", ratings);
    if (ratings)
        cJSON_AddNumberToObject(today, "satisfied_share", (double)satisfied / ratings);
    else
        cJSON_AddNullToObject(today, "satisfied_share");
    cJSON *ctrs = cJSON_AddArrayToObject(o, "counters");
    for (int ci = 0; ci < cfg->ncounters && ci < QMS_MAX_COUNTERS; ci++) {
        cJSON *k = cJSON_CreateObject();
        cJSON_AddNumberToObject(k, "counter", cfg->counters[ci].id);
        cJSON_AddNumberToObject(k, "served", ctr_served[ci]);
        if (ctr_served[ci])
            cJSON_AddNumberToObject(
                k, "mean_service_s",
                (double)llround((double)ctr_service_ms[ci] / ctr_served[ci] / 1000.0));
        else
            cJSON_AddNullToObject(k, "mean_service_s");
        cJSON_AddItemToArray(ctrs, k);
    }
    char *s = ctl_print_free(o);
    if (s) {
        publish_json(c, ctl_topic(c, "stats"), s, 1);
        qms_free(s);
    }
    c->stats_dirty = 0;
    c->last_stats_ms = qms_mono_ms();
    c->next_stats_ms = c->last_stats_ms + 30000;
}

/* Publish counter ci's state if it differs from what was last published
 * (or always, after a reconnect). */
static void publish_counter(qms_ctl *c, int ci, int force)
{
    char *s = ctl_counter_json(c, ci, 0);
    if (!s)
        return;
    if (!force && c->ctr_last[ci] && strcmp(c->ctr_last[ci], s) == 0) {
        qms_free(s);
        return;
    }
    char suffix[64];
    snprintf(suffix, sizeof suffix, "counter/%d/state", c->cfg->counters[ci].id);
    publish_json(c, ctl_topic(c, suffix), s, 1);
    qms_free(c->ctr_last[ci]);
    c->ctr_last[ci] = s;
    c->web_dirty = 1; /* the web clients' coalesced view follows (the timer) */
}

/* qms/<site>/counters, retained: the states last published on
 * counter/<n>/state, spliced into one message (docs/protocol.md). The
 * dashboards read this instead of counter/+/state: one message per interval
 * to each of them, not one per call. */
static void publish_web_counters(qms_ctl *c)
{
    size_t len = 32;
    for (int ci = 0; ci < c->cfg->ncounters; ci++)
        if (c->ctr_last[ci])
            len += strlen(c->ctr_last[ci]) + 1;
    char *buf = qms_malloc(len);
    if (!buf)
        return;
    char *p = buf;
    p += sprintf(p, "{\"counters\":[");
    int n = 0;
    for (int ci = 0; ci < c->cfg->ncounters; ci++)
        if (c->ctr_last[ci])
            p += sprintf(p, "%s%s", n++ ? "," : "", c->ctr_last[ci]);
    sprintf(p, "]}");
    publish_json(c, ctl_topic(c, "counters"), buf, 1);
    qms_free(buf);
    c->web_dirty = 0;
    c->next_web_ms = qms_mono_ms() + c->web_ms;
}

static void publish_queues(qms_ctl *c)
{
    for (int ci = 0; ci < c->cfg->ncounters; ci++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return;
        cJSON_AddNumberToObject(o, "counter", c->cfg->counters[ci].id);
        ctl_add_counter_fields(c, o, ci, 1);
        char *s = ctl_print_free(o);
        if (!s)
            return;
        /* ctr_last holds states; queues are cheap enough to compare by hash */
        uint32_t h = 2166136261u;
        for (const char *p = s; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        if (c->republish || c->ctr_qhash[ci] != h) {
            char suffix[64];
            snprintf(suffix, sizeof suffix, "counter/%d/queue", c->cfg->counters[ci].id);
            publish_json(c, ctl_topic(c, suffix), s, 1);
            c->ctr_qhash[ci] = h;
        }
        qms_free(s);
    }
}

static void publish_config(qms_ctl *c)
{
    char *s = qms_config_to_json(c->cfg);
    if (!s)
        return;
    publish_json(c, ctl_topic(c, "config"), s, 1);
    qms_free(s);
}

int ctl_flush(qms_ctl *c)
{
    c->batch_reqs = 0;
    int nj = qms_engine_journal_len(c->eng);
    if (nj == 0 && c->npend == 0 && !c->republish && !c->recent_dirty && !c->fatal) {
        int any = 0;
        for (int i = 0; i < c->cfg->ncounters && !any; i++)
            any = c->ctr_dirty[i];
        if (!any)
            return QMS_OK;
    }
    ctl_scan_journal(c);
    int rc = c->fatal;
    int committed = 0;
    if (!rc && (nj > 0 || c->nremembered > 0)) {
        /* with the sync thread: appended now, synced while we read on */
        rc = c->sync ? qms_store_commit_nosync(c->store, c->eng)
                     : qms_store_commit(c->store, c->eng);
        c->ncommits++;
        committed = !rc;
    }
    c->jscanned = 0; /* the commit cleared the journal */
    if (rc) {
        /* nothing of this batch is on disk: say so (clients retry with the
         * same req), then let the restart reload the last committed state */
        QMS_ERROR("commit failed (%s): answering %d request(s) with db_error%s", qms_err_code(rc),
                  c->npend, qms_store_disk_full(c->store) ? "" : " and exiting");
        for (int i = 0; i < c->npend; i++) {
            ctl_pending *p = &c->pend[i];
            cJSON *o = cJSON_Parse(p->body);
            const cJSON *req = o ? cJSON_GetObjectItemCaseSensitive(o, "req") : NULL;
            char *body =
                qms_proto_error_reply(cJSON_IsString(req) ? req->valuestring : "", QMS_ERR_DB, 0);
            cJSON_Delete(o);
            if (body) {
                qms_free(p->body);
                p->body = body;
            }
        }
        for (int i = 0; i < c->nevents; i++)
            qms_free(c->events[i]);
        c->nevents = 0;
        ctl_batch_send_replies(c);
        qms_mqtt_flush(c->mqtt);
        if (c->mqtt_cmd)
            qms_mqtt_flush(c->mqtt_cmd);
        if (!c->fatal && qms_store_disk_full(c->store)) {
            /* the disk is full: stay up (status and queries need no write);
             * the loop reloads the last committed state, takes wait for room */
            QMS_ERROR("the disk is full: the batch was answered db_error and is undone; staying "
                      "up (takes are refused while under %lld KiB are free)",
                      (long long)(c->disk_reserve / 1024));
            ctl_batch_clear(c);
            c->undo = 1;
            c->disk_low = c->disk_reserve > 0;
            return QMS_OK;
        }
        c->fatal = rc;
        return rc;
    }

    /* committed: now the world may know -- once the commit is on disk:
     * with the sync thread, everything published from here on waits in
     * the sessions until the log's fdatasync of this commit is done */
    if (committed && c->sync) {
        c->commit_gen++;
        ctl_sync_request(c, c->commit_gen);
    }
    ctl_sync_gate(c);
    for (int i = 0; i < c->nevents; i++) {
        publish_json(c, ctl_topic(c, "call"), c->events[i], 0);
        ctl_recent_push(c, c->events[i]);
        c->events[i] = NULL;
    }
    c->nevents = 0;
    ctl_batch_send_replies(c);
    if (nj > 0)
        ctl_stream_run(c); /* the province's copy of what was just committed */
    int force = c->republish;
    if (force)
        publish_config(c);
    for (int ci = 0; ci < c->cfg->ncounters; ci++)
        if (force || c->ctr_dirty[ci]) {
            publish_counter(c, ci, force);
            c->ctr_dirty[ci] = 0;
        }
    if (force)
        publish_web_counters(c); /* otherwise the timer, at most every web_ms */
    if (force || c->recent_dirty)
        publish_recent(c);
    if (force)
        publish_stats(c); /* otherwise the timer does, between requests */
    if (force) {
        publish_queues(c);
        c->republish = 0;
        c->waiting_dirty = 0;
        c->next_queue_ms = qms_mono_ms() + 1000;
    }
    ctl_batch_clear(c);
    qms_mqtt_flush(c->mqtt);
    if (c->mqtt_cmd)
        qms_mqtt_flush(c->mqtt_cmd);
    return QMS_OK;
}

/* ---- timers and connection ---- */

void ctl_timers(qms_ctl *c, int busy)
{
    int64_t now = qms_mono_ms();
    if (now >= c->next_tick_ms) {
        qms_engine_tick(c->eng); /* a rollover journals; the flush commits it */
        c->next_tick_ms = now + 1000;
    }
    /* what follows only publishes; with requests waiting it may be late by up
     * to a second (then it runs anyway, so a busy hour still sees updates) */
    int64_t late = busy ? 1000 : 0;
    if (now >= c->next_eta_ms + late) {
        qms_engine_refresh_etas(c->eng);
        c->next_eta_ms = now + 10000;
        c->stats_dirty = 1;
    }
    if (c->waiting_dirty && now >= c->next_queue_ms + late) {
        /* waiting counts move with every take: refresh counters at most once a second */
        for (int ci = 0; ci < c->cfg->ncounters; ci++)
            publish_counter(c, ci, 0);
        publish_queues(c);
        c->waiting_dirty = 0;
        c->next_queue_ms = now + 1000;
    }
    if ((c->stats_dirty && now - c->last_stats_ms >= 1000 + late) || now >= c->next_stats_ms + late)
        publish_stats(c);
    if (c->web_dirty && now >= c->next_web_ms) {
        publish_web_counters(c);
        qms_mqtt_flush(c->mqtt);
    }
}

int ctl_next_timer_ms(const qms_ctl *c)
{
    int64_t now = qms_mono_ms();
    int64_t next = c->next_tick_ms;
    if (c->next_stats_ms < next)
        next = c->next_stats_ms;
    if (c->stats_dirty && c->last_stats_ms + 1000 < next)
        next = c->last_stats_ms + 1000;
    if (c->waiting_dirty && c->next_queue_ms < next)
        next = c->next_queue_ms;
    if (c->web_dirty && c->next_web_ms < next)
        next = c->next_web_ms;
    int64_t d = next - now;
    return d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
}

void ctl_on_connect(void *ud, int connected)
{
    qms_ctl *c = ud;
    if (connected)
        c->republish = 1; /* the broker may have lost every retained message */
}
