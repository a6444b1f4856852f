/* What the controller tells the world: the before-sleep flush (journal ->
 * events, one commit, then replies and events), the retained state (config,
 * counter states and queues, recent calls, statistics) and the timers. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries listed in counter/<n>/queue and a status reply (queue_len says how
 * many there are in all): a clerk's screen shows about this many, and the
 * retained message stays around 2 KiB. */
#define QUEUE_SHOWN 20

const char *ctl_topic(const qms_ctl *c, const char *suffix)
{
    static char buf[2][256];
    static int k;
    char *p = buf[k++ & 1];
    qms_topic(p, sizeof buf[0], c->site, suffix);
    return p;
}

static void publish_json(qms_ctl *c, const char *topic, const char *json, int retain)
{
    int rc = qms_mqtt_publish(c->mqtt, topic, json, strlen(json), 1, retain);
    if (rc && qms_mqtt_connected(c->mqtt))
        QMS_WARN("publish to %s failed: %s", topic, qms_err_code(rc));
}

/* ---- ticket bookkeeping: waiting tickets per service ---- */

static ctl_tstate *ts_find(qms_ctl *c, int64_t id)
{
    int lo = 0, hi = c->nts - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->ts[mid].id == id)
            return &c->ts[mid];
        if (c->ts[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* Ticket id now has service/state (a journal snapshot): keep svc_waiting exact. */
static void ts_update(qms_ctl *c, const qms_ticket *t)
{
    ctl_tstate *s = ts_find(c, t->id);
    if (!s) {
        if (c->nts == c->capts) {
            int ncap = c->capts ? c->capts * 2 : 1024;
            ctl_tstate *n = qms_realloc(c->ts, (size_t)ncap * sizeof *n);
            if (!n)
                return; /* counts only; the next rebuild corrects them */
            c->ts = n;
            c->capts = ncap;
        }
        /* ids only grow, so a new ticket goes at the end */
        if (c->nts && c->ts[c->nts - 1].id > t->id)
            return;
        s = &c->ts[c->nts++];
        s->id = t->id;
        s->service = -1;
        s->state = -1;
    }
    int nsvc = c->cfg->nservices;
    if (s->state == QMS_T_WAITING && s->service >= 0 && s->service < nsvc)
        c->svc_waiting[s->service]--;
    s->service = (short)t->service;
    s->state = (short)t->state;
    if (s->state == QMS_T_WAITING && s->service >= 0 && s->service < nsvc)
        c->svc_waiting[s->service]++;
    c->waiting_dirty = 1;
}

int ctl_counter_waiting(const qms_ctl *c, int ci)
{
    const qms_counter *k = &c->cfg->counters[ci];
    int n = 0;
    for (int i = 0; i < k->nservices; i++)
        n += c->svc_waiting[k->services[i]];
    return n;
}

/* ---- JSON builders ---- */

static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

void ctl_add_counter_fields(qms_ctl *c, void *obj, int ci, int with_queue)
{
    cJSON *o = obj;
    if (!with_queue)
        return;
    int64_t ids[QUEUE_SHOWN];
    int n = qms_engine_waiting_for_counter(c->eng, ci, ids, QUEUE_SHOWN);
    cJSON *q = cJSON_AddArrayToObject(o, "queue");
    for (int i = 0; q && i < n && i < QUEUE_SHOWN; i++) {
        const qms_ticket *t = qms_engine_ticket(c->eng, ids[i]);
        cJSON *e = t ? cJSON_CreateObject() : NULL;
        if (!e)
            continue;
        /* what a clerk needs to see; no wait in seconds: it would change the
         * retained message every second (clients subtract taken_ms from the
         * controller's clock, docs/protocol.md) */
        cJSON_AddStringToObject(e, "ticket", t->label);
        if (t->service >= 0 && t->service < c->cfg->nservices)
            cJSON_AddStringToObject(e, "service", c->cfg->services[t->service].code);
        cJSON_AddNumberToObject(e, "priority", t->priority);
        cJSON_AddNumberToObject(e, "taken_ms", (double)t->taken_ms);
        if (t->appt[0])
            cJSON_AddStringToObject(e, "appointment", t->appt);
        cJSON_AddItemToArray(q, e);
    }
    cJSON_AddNumberToObject(o, "queue_len", n);
}

char *ctl_counter_json(qms_ctl *c, int ci, int with_queue)
{
    const qms_counter *k = &c->cfg->counters[ci];
    const qms_counter_state *cs = qms_engine_counter(c->eng, ci);
    const qms_ticket *cur = cs->current ? qms_engine_ticket(c->eng, cs->current) : NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "counter", k->id);
    cJSON_AddStringToObject(o, "name_vi", k->name_vi ? k->name_vi : "");
    cJSON_AddStringToObject(o, "name_en", k->name_en ? k->name_en : "");
    cJSON_AddStringToObject(o, "state", qms_cstate_name(cs->state));
    if (cur) {
        cJSON_AddStringToObject(o, "ticket", cur->label);
        cJSON_AddNumberToObject(o, "id", (double)cur->id);
        cJSON_AddStringToObject(o, "ticket_state", qms_tstate_name(cur->state));
        cJSON_AddStringToObject(o, "service", c->cfg->services[cur->service].code);
    } else {
        cJSON_AddNullToObject(o, "ticket");
        cJSON_AddNullToObject(o, "ticket_state");
        cJSON_AddNullToObject(o, "service");
    }
    cJSON_AddStringToObject(o, "staff", cs->staff);
    cJSON_AddNumberToObject(o, "since_ms", (double)cs->since_ms);
    cJSON_AddNumberToObject(o, "waiting", ctl_counter_waiting(c, ci));
    ctl_add_counter_fields(c, o, ci, with_queue);
    return print_free(o);
}

static cJSON *call_obj(qms_ctl *c, const qms_ticket *t, int ci, int recall, int64_t at_ms,
                       int64_t seq)
{
    const qms_config *cfg = c->cfg;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "ticket", t->label);
    cJSON_AddNumberToObject(o, "id", (double)t->id);
    if (ci >= 0 && ci < cfg->ncounters) {
        const qms_counter *k = &cfg->counters[ci];
        cJSON_AddNumberToObject(o, "counter", k->id);
        cJSON_AddStringToObject(o, "counter_name_vi", k->name_vi ? k->name_vi : "");
        cJSON_AddStringToObject(o, "counter_name_en", k->name_en ? k->name_en : "");
    }
    if (t->service >= 0 && t->service < cfg->nservices) {
        const qms_service *s = &cfg->services[t->service];
        cJSON_AddStringToObject(o, "service", s->code);
        cJSON_AddStringToObject(o, "service_name_vi", s->name_vi ? s->name_vi : "");
        cJSON_AddStringToObject(o, "service_name_en", s->name_en ? s->name_en : "");
    }
    cJSON_AddNumberToObject(o, "priority", t->priority);
    cJSON_AddBoolToObject(o, "recall", recall);
    cJSON_AddNumberToObject(o, "at_ms", (double)at_ms);
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    return o;
}

static void recent_push(qms_ctl *c, char *json)
{
    if (c->nrecent == CTL_RECENT)
        qms_free(c->recent[--c->nrecent]);
    memmove(&c->recent[1], &c->recent[0], (size_t)c->nrecent * sizeof c->recent[0]);
    c->recent[0] = json;
    c->nrecent++;
    c->recent_dirty = 1;
}

static void recent_clear(qms_ctl *c)
{
    for (int i = 0; i < c->nrecent; i++)
        qms_free(c->recent[i]);
    c->nrecent = 0;
    c->recent_dirty = 1;
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
    int n = qms_engine_ticket_count(e);
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(e, i);
        taken++;
        served += t->state == QMS_T_DONE;
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
    char *s = print_free(o);
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
}

static void publish_queues(qms_ctl *c)
{
    for (int ci = 0; ci < c->cfg->ncounters; ci++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return;
        cJSON_AddNumberToObject(o, "counter", c->cfg->counters[ci].id);
        ctl_add_counter_fields(c, o, ci, 1);
        char *s = print_free(o);
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

/* ---- state (re)building ---- */

int ctl_state_resize(qms_ctl *c)
{
    int nc = c->cfg->ncounters, ns = c->cfg->nservices;
    if (c->ctr_last)
        for (int i = 0; i < c->nctr; i++)
            qms_free(c->ctr_last[i]);
    qms_free(c->ctr_last);
    qms_free(c->ctr_dirty);
    qms_free(c->ctr_qhash);
    qms_free(c->svc_waiting);
    c->ctr_last = qms_calloc((size_t)nc, sizeof *c->ctr_last);
    c->ctr_dirty = qms_calloc((size_t)nc, 1);
    c->ctr_qhash = qms_calloc((size_t)nc, sizeof *c->ctr_qhash);
    c->svc_waiting = qms_calloc((size_t)ns, sizeof *c->svc_waiting);
    c->nctr = nc;
    if (!c->ctr_last || !c->ctr_dirty || !c->ctr_qhash || !c->svc_waiting)
        return QMS_ERR_NOMEM;
    return QMS_OK;
}

static int cmp_called_desc(const void *a, const void *b)
{
    const qms_ticket *x = *(const qms_ticket *const *)a, *y = *(const qms_ticket *const *)b;
    return x->called_ms < y->called_ms ? 1 : x->called_ms > y->called_ms ? -1 : 0;
}

int ctl_state_rebuild(qms_ctl *c)
{
    int rc = ctl_state_resize(c);
    if (rc)
        return rc;
    c->nts = 0;
    c->call_seq = 0;
    recent_clear(c);
    int n = qms_engine_ticket_count(c->eng);
    const qms_ticket **called = qms_calloc((size_t)n + 1, sizeof *called);
    if (!called)
        return QMS_ERR_NOMEM;
    int ncalled = 0;
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(c->eng, i);
        ts_update(c, t);
        c->call_seq += t->ncalls;
        if (t->called_ms)
            called[ncalled++] = t;
    }
    /* the recent calls after a restart: each ticket's latest call (seq 0:
     * the exact sequence of earlier calls is not kept) */
    qsort(called, (size_t)ncalled, sizeof *called, cmp_called_desc);
    for (int i = ncalled < CTL_RECENT ? ncalled - 1 : CTL_RECENT - 1; i >= 0; i--) {
        char *s = print_free(call_obj(c, called[i], called[i]->counter, called[i]->ncalls > 1,
                                      called[i]->called_ms, 0));
        if (s)
            recent_push(c, s);
    }
    qms_free(called);
    c->republish = 1;
    c->stats_dirty = 1;
    c->waiting_dirty = 1;
    return QMS_OK;
}

void ctl_state_free(qms_ctl *c)
{
    recent_clear(c);
    if (c->ctr_last)
        for (int i = 0; i < c->nctr; i++)
            qms_free(c->ctr_last[i]);
    qms_free(c->ctr_last);
    qms_free(c->ctr_dirty);
    qms_free(c->ctr_qhash);
    qms_free(c->svc_waiting);
    qms_free(c->ts);
    for (int i = 0; i < c->nevents; i++)
        qms_free(c->events[i]);
    qms_free(c->events);
    for (int i = 0; i < c->npend; i++) {
        qms_free(c->pend[i].topic);
        qms_free(c->pend[i].corr);
        qms_free(c->pend[i].body);
        qms_free(c->pend[i].key);
    }
    qms_free(c->pend);
    ctl_batch_free();
}

/* ---- the flush ---- */

static void event_add(qms_ctl *c, char *json)
{
    if (!json)
        return;
    if (c->nevents == c->capevents) {
        int ncap = c->capevents ? c->capevents * 2 : 64;
        char **n = qms_realloc(c->events, (size_t)ncap * sizeof *n);
        if (!n) {
            QMS_ERROR("out of memory: a call event is lost (the call itself is stored)");
            qms_free(json);
            return;
        }
        c->events = n;
        c->capevents = ncap;
    }
    c->events[c->nevents++] = json;
}

/* Derive what to publish from the journal entries not seen yet (the commit
 * clears the journal). Called after every operation, so that waiting counts
 * in its reply are current, and before the commit. */
void ctl_scan_journal(qms_ctl *c)
{
    int n = qms_engine_journal_len(c->eng);
    for (int i = c->jscanned; i < n; i++) {
        const qms_event *ev = qms_engine_journal_at(c->eng, i);
        c->stats_dirty = 1;
        if (ev->kind == QMS_EV_NEW_DAY) {
            char day[11];
            qms_day_str(ev->arg, day);
            QMS_INFO("new day %s: numbers restart", day);
            c->nts = 0;
            memset(c->svc_waiting, 0, (size_t)c->cfg->nservices * sizeof *c->svc_waiting);
            c->call_seq = 0;
            recent_clear(c);
            memset(c->ctr_dirty, 1, (size_t)c->cfg->ncounters);
            c->waiting_dirty = 1;
            continue;
        }
        if (ev->ticket)
            ts_update(c, &ev->snap);
        if (ev->counter >= 0 && ev->counter < c->cfg->ncounters)
            c->ctr_dirty[ev->counter] = 1;
        if (ev->kind == QMS_EV_CALL || ev->kind == QMS_EV_RECALL)
            event_add(c, print_free(call_obj(c, &ev->snap, ev->counter, ev->kind == QMS_EV_RECALL,
                                             ev->at_ms, ++c->call_seq)));
    }
    c->jscanned = n;
}

static void clear_batch(qms_ctl *c)
{
    for (int i = 0; i < c->npend; i++) {
        qms_free(c->pend[i].topic);
        qms_free(c->pend[i].corr);
        qms_free(c->pend[i].body);
        qms_free(c->pend[i].key);
    }
    c->npend = 0;
    c->nremembered = 0;
    ctl_batch_reset();
    for (int i = 0; i < c->nevents; i++)
        qms_free(c->events[i]);
    c->nevents = 0;
}

static void send_replies(qms_ctl *c)
{
    for (int i = 0; i < c->npend; i++) {
        ctl_pending *p = &c->pend[i];
        qms_mqtt_msg req = {.response_topic = p->topic, .corr = p->corr, .corr_len = p->corr_len};
        qms_mqtt_reply(c->mqtt, &req, p->body, strlen(p->body));
    }
}

int ctl_flush(qms_ctl *c)
{
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
    if (!rc && (nj > 0 || c->nremembered > 0)) {
        rc = qms_store_commit(c->store, c->eng);
        c->ncommits++;
    }
    c->jscanned = 0; /* the commit cleared the journal */
    if (rc) {
        /* nothing of this batch is on disk: say so (clients retry with the
         * same req), then let the restart reload the last committed state */
        QMS_ERROR("commit failed (%s): answering %d request(s) with db_error and exiting",
                  qms_err_code(rc), c->npend);
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
        send_replies(c);
        qms_mqtt_flush(c->mqtt);
        c->fatal = rc;
        return rc;
    }

    /* committed: now the world may know */
    for (int i = 0; i < c->nevents; i++) {
        publish_json(c, ctl_topic(c, "call"), c->events[i], 0);
        recent_push(c, c->events[i]);
        c->events[i] = NULL;
    }
    c->nevents = 0;
    send_replies(c);
    int force = c->republish;
    if (force)
        publish_config(c);
    for (int ci = 0; ci < c->cfg->ncounters; ci++)
        if (force || c->ctr_dirty[ci]) {
            publish_counter(c, ci, force);
            c->ctr_dirty[ci] = 0;
        }
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
    clear_batch(c);
    qms_mqtt_flush(c->mqtt);
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
    int64_t d = next - now;
    return d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
}

void ctl_on_connect(void *ud, int connected)
{
    qms_ctl *c = ud;
    if (connected)
        c->republish = 1; /* the broker may have lost every retained message */
}
