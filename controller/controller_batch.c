/* The batch: everything done since the last commit -- the replies held
 * back until it is on disk (with an index of their de-dup keys, so a repeat
 * within the batch is answered from it) and the call events to publish after
 * it. controller_dispatch.c fills it, controller_publish.c empties it. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the batch's de-dup index: request key -> pending reply ---- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Linear probing over pend indices + 1 (0 = empty), in c->batch_idx; rebuilt
 * as the batch grows. */
static void batch_reset(qms_ctl *c)
{
    if (c->batch_idx)
        memset(c->batch_idx, 0, (size_t)c->batch_cap * sizeof *c->batch_idx);
}

const ctl_pending *ctl_batch_find(const qms_ctl *c, const char *key)
{
    if (!c->batch_idx)
        return NULL;
    for (uint32_t i = hash_str(key) & (uint32_t)(c->batch_cap - 1);;
         i = (i + 1) & (uint32_t)(c->batch_cap - 1)) {
        int k = c->batch_idx[i];
        if (!k)
            return NULL;
        const ctl_pending *p = &c->pend[k - 1];
        if (p->key && strcmp(p->key, key) == 0)
            return p;
    }
}

static void batch_insert(qms_ctl *c, int pi)
{
    if ((pi + 1) * 2 > c->batch_cap) {
        int ncap = c->batch_cap ? c->batch_cap * 2 : 256;
        while ((pi + 1) * 2 > ncap)
            ncap *= 2;
        int *n = qms_calloc((size_t)ncap, sizeof *n);
        if (!n)
            return; /* only a speed-up for repeats within a batch; the store still has them */
        qms_free(c->batch_idx);
        c->batch_idx = n;
        c->batch_cap = ncap;
        for (int j = 0; j < pi; j++)
            if (c->pend[j].key)
                batch_insert(c, j);
    }
    for (uint32_t i = hash_str(c->pend[pi].key) & (uint32_t)(c->batch_cap - 1);;
         i = (i + 1) & (uint32_t)(c->batch_cap - 1))
        if (!c->batch_idx[i]) {
            c->batch_idx[i] = pi + 1;
            return;
        }
}

void ctl_batch_free(qms_ctl *c)
{
    ctl_batch_clear(c);
    qms_free(c->pend);
    c->pend = NULL;
    c->cappend = 0;
    qms_free(c->events);
    c->events = NULL;
    c->capevents = 0;
    qms_free(c->batch_idx);
    c->batch_idx = NULL;
    c->batch_cap = 0;
}

/* Hold a reply for after the commit. body is taken over. */
void ctl_batch_add_reply(qms_ctl *c, const qms_mqtt_msg *msg, char *body, const char *key)
{
    if (!msg->response_topic || !body) {
        qms_free(body);
        return;
    }
    if (c->npend == c->cappend) {
        int ncap = c->cappend ? c->cappend * 2 : 64;
        ctl_pending *n = qms_realloc(c->pend, (size_t)ncap * sizeof *n);
        if (!n) {
            QMS_ERROR("out of memory holding a reply; the client will retry");
            qms_free(body);
            return;
        }
        c->pend = n;
        c->cappend = ncap;
    }
    ctl_pending *p = &c->pend[c->npend];
    memset(p, 0, sizeof *p);
    p->topic = qms_strdup(msg->response_topic);
    if (msg->corr && msg->corr_len > 0) {
        p->corr = qms_malloc((size_t)msg->corr_len);
        if (p->corr)
            memcpy(p->corr, msg->corr, (size_t)msg->corr_len);
        p->corr_len = p->corr ? msg->corr_len : 0;
    }
    p->body = body;
    p->key = key ? qms_strdup(key) : NULL;
    p->via = c->via ? c->via : c->mqtt;
    if (!p->topic) {
        qms_free(p->corr);
        qms_free(p->body);
        qms_free(p->key);
        return;
    }
    c->npend++;
    if (p->key)
        batch_insert(c, c->npend - 1);
}

/* ---- the flush ---- */

void ctl_batch_add_event(qms_ctl *c, char *json)
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

void ctl_batch_clear(qms_ctl *c)
{
    for (int i = 0; i < c->npend; i++) {
        qms_free(c->pend[i].topic);
        qms_free(c->pend[i].corr);
        qms_free(c->pend[i].body);
        qms_free(c->pend[i].key);
    }
    c->npend = 0;
    c->nremembered = 0;
    batch_reset(c);
    for (int i = 0; i < c->nevents; i++)
        qms_free(c->events[i]);
    c->nevents = 0;
}

void ctl_batch_send_replies(qms_ctl *c)
{
    for (int i = 0; i < c->npend; i++) {
        ctl_pending *p = &c->pend[i];
        qms_mqtt_msg req = {.response_topic = p->topic, .corr = p->corr, .corr_len = p->corr_len};
        qms_mqtt_reply(p->via, &req, p->body, strlen(p->body));
    }
}
