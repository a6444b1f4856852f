/* What the controller knows beyond the engine, derived from its journal:
 * waiting tickets per service and counter, the recent calls, call events,
 * and the JSON of a counter's state. Both the replies (controller_dispatch.c)
 * and the retained topics (controller_publish.c) read it. */
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

/* "qms/<site>/<suffix>", in one of two static buffers (two topics may be
 * used in one call). Every part of the controller names topics with it. */
const char *ctl_topic(const qms_ctl *c, const char *suffix)
{
    static char buf[2][256];
    static int k;
    char *p = buf[k++ & 1];
    qms_topic(p, sizeof buf[0], c->site, suffix);
    return p;
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

char *ctl_print_free(void *cjson)
{
    cJSON *o = cjson;
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
    return ctl_print_free(o);
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
    if (ci >= 0 && ci < cfg->ncounters && qms_engine_counter(c->eng, ci)->staff[0])
        cJSON_AddStringToObject(o, "staff", qms_engine_counter(c->eng, ci)->staff);
    cJSON_AddBoolToObject(o, "recall", recall);
    cJSON_AddNumberToObject(o, "at_ms", (double)at_ms);
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    return o;
}

void ctl_recent_push(qms_ctl *c, char *json)
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
        char *s = ctl_print_free(call_obj(c, called[i], called[i]->counter, called[i]->ncalls > 1,
                                          called[i]->called_ms, 0));
        if (s)
            ctl_recent_push(c, s);
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
    ctl_batch_free(c);
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
            ctl_batch_add_event(
                c, ctl_print_free(call_obj(c, &ev->snap, ev->counter, ev->kind == QMS_EV_RECALL,
                                           ev->at_ms, ++c->call_seq)));
    }
    c->jscanned = n;
}
