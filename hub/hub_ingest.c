/* hub_ingest (hub.h): a stream message, parsed and stored. The input comes
 * from the province broker, where any site's bridge (or anyone with its
 * credentials) may publish: every field is checked, nothing is trusted. */
#include "hub.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

int hub_site_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == '/' || ch == '+' || ch == '#' || ch == '"' || ch == '\\')
            return 0;
    }
    return 1;
}

hub_site *hub_sites_get(hub_sites *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->v[i]->name, name) == 0)
            return h->v[i];
    if (h->n == h->cap) {
        int ncap = h->cap ? h->cap * 2 : 16;
        hub_site **np = qms_realloc(h->v, (size_t)ncap * sizeof *np);
        if (!np)
            return NULL;
        h->v = np;
        h->cap = ncap;
    }
    hub_site *s = qms_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dirty = 1;
    h->v[h->n++] = s;
    QMS_INFO("site %s: first message", name);
    return s;
}

void hub_sites_free(hub_sites *set)
{
    for (int i = 0; i < set->n; i++)
        qms_free(set->v[i]);
    qms_free(set->v);
    memset(set, 0, sizeof *set);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15
               ? (int64_t)v->valuedouble
               : -1;
}

int hub_ingest(hub_store *st, hub_sites *set, const char *payload, size_t len, int64_t recv_ms,
               int64_t *nbad)
{
    return hub_ingest_from(st, set, NULL, payload, len, recv_ms, nbad);
}

int hub_ingest_from(hub_store *st, hub_sites *set, const char *topic_site, const char *payload,
                    size_t len, int64_t recv_ms, int64_t *nbad)
{
    cJSON *o = cJSON_ParseWithLength(payload, len);
    const char *sname = o ? jstr(o, "site") : NULL;
    const cJSON *evs = o ? cJSON_GetObjectItemCaseSensitive(o, "events") : NULL;
    if (!sname || !hub_site_name_ok(sname) || !cJSON_IsArray(evs)) {
        if ((*nbad)++ < 10)
            QMS_WARN("ignored a malformed stream message (%d bytes)", (int)len);
        cJSON_Delete(o);
        return QMS_OK;
    }
    if (topic_site && strcmp(topic_site, sname) != 0) {
        if ((*nbad)++ < 10)
            QMS_WARN("refused a stream message of site \"%s\" published on qms/%s/stream",
                     sname, topic_site);
        cJSON_Delete(o);
        return QMS_OK;
    }
    hub_site *s = hub_sites_get(set, sname);
    if (!s) {
        cJSON_Delete(o);
        return QMS_ERR_NOMEM;
    }
    int64_t head = jint(o, "head");
    if (head > s->head)
        s->head = head;
    s->last_recv_ms = qms_mono_ms();
    s->dirty = 1;
    int rc = QMS_OK;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, evs)
    {
        hub_event e = {
            .seq = jint(ev, "seq"),
            .day = jstr(ev, "day"),
            .kind = jstr(ev, "kind"),
            .label = jstr(ev, "label"),
            .service = jstr(ev, "service"),
            .from_service = jstr(ev, "from_service"),
            .counter_state = jstr(ev, "counter_state"),
            .at_ms = jint(ev, "at_ms"),
            .ticket = jint(ev, "ticket"),
            .counter = jint(ev, "counter"),
            .rating = jint(ev, "rating"),
            .priority = jint(ev, "priority"),
            .number = jint(ev, "number"),
            .taken_ms = jint(ev, "taken_ms"),
        };
        if (e.seq < 1 || !e.kind) {
            if ((*nbad)++ < 10)
                QMS_WARN("site %s: ignored an event without seq or kind", sname);
            continue;
        }
        if (e.seq > s->head)
            s->head = e.seq;
        rc = hub_store_event(st, s, &e, recv_ms);
        if (rc)
            break;
    }
    cJSON_Delete(o);
    return rc;
}

