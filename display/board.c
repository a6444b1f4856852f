#include "board.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy a UTF-8 string, cutting at a character boundary so a long name never
 * ends in half a letter; control characters become spaces. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = (unsigned char)src[i] < 0x20 ? ' ' : src[i];
    dst[n] = 0;
}

void qms_board_init(qms_board *b, const char *site, const qms_config *local)
{
    memset(b, 0, sizeof *b);
    copy_text(b->site, sizeof b->site, site ? site : "default");
    b->utc_offset_min = 420;
    qms_fclock_init(&b->clock);
    if (local) {
        qms_board_apply_config(b, local);
        b->have_config = 0; /* only the controller's own retained config counts as live */
    }
}

int qms_board_counter_find(const qms_board *b, int id)
{
    for (int i = 0; i < b->ncounters; i++)
        if (b->counters[i].id == id)
            return i;
    return -1;
}

static int service_find(const qms_board *b, const char *code)
{
    for (int i = 0; i < b->nservices; i++)
        if (strcmp(b->services[i].code, code) == 0)
            return i;
    return -1;
}

void qms_board_apply_config(qms_board *b, const qms_config *c)
{
    /* Rebuild in the config's order, carrying over what the state and
     * stats topics already told us (they may arrive before the config). */
    static qms_board_service svc[QMS_MAX_SERVICES];
    static qms_board_counter ctr[QMS_MAX_COUNTERS];
    int ns = c->nservices < QMS_MAX_SERVICES ? c->nservices : QMS_MAX_SERVICES;
    for (int i = 0; i < ns; i++) {
        const qms_service *s = &c->services[i];
        int old = service_find(b, s->code);
        if (old >= 0) {
            svc[i] = b->services[old];
        } else {
            memset(&svc[i], 0, sizeof svc[i]);
            svc[i].eta_s = -1;
            copy_text(svc[i].code, sizeof svc[i].code, s->code);
        }
        copy_text(svc[i].name_vi, sizeof svc[i].name_vi, s->name_vi ? s->name_vi : s->code);
        copy_text(svc[i].name_en, sizeof svc[i].name_en,
                  s->name_en && *s->name_en ? s->name_en : svc[i].name_vi);
    }
    int nc = c->ncounters < QMS_MAX_COUNTERS ? c->ncounters : QMS_MAX_COUNTERS;
    for (int i = 0; i < nc; i++) {
        const qms_counter *k = &c->counters[i];
        int old = qms_board_counter_find(b, k->id);
        if (old >= 0) {
            ctr[i] = b->counters[old];
        } else {
            memset(&ctr[i], 0, sizeof ctr[i]);
            ctr[i].id = k->id;
        }
        ctr[i].in_config = 1;
        if (k->name_vi && *k->name_vi)
            copy_text(ctr[i].name_vi, sizeof ctr[i].name_vi, k->name_vi);
        else
            snprintf(ctr[i].name_vi, sizeof ctr[i].name_vi, "Quầy %d", k->id);
        if (k->name_en && *k->name_en)
            copy_text(ctr[i].name_en, sizeof ctr[i].name_en, k->name_en);
        else
            snprintf(ctr[i].name_en, sizeof ctr[i].name_en, "Counter %d", k->id);
    }
    memcpy(b->services, svc, sizeof svc[0] * (size_t)ns);
    b->nservices = ns;
    memcpy(b->counters, ctr, sizeof ctr[0] * (size_t)nc);
    b->ncounters = nc;
    copy_text(b->name_vi, sizeof b->name_vi, c->name_vi ? c->name_vi : "");
    copy_text(b->name_en, sizeof b->name_en, c->name_en && *c->name_en ? c->name_en : b->name_vi);
    b->utc_offset_min = c->utc_offset_min;
    b->have_config = 1;
}

/* ---- JSON field helpers: all return QMS_OK or QMS_ERR_INVAL ---- */

static int get_int(const cJSON *o, const char *k, int required, int64_t lo, int64_t hi,
                   int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v))
        return required ? QMS_ERR_INVAL : QMS_OK;
    if (!cJSON_IsNumber(v))
        return QMS_ERR_INVAL;
    double d = v->valuedouble;
    /* reject NaN, fractions and what int64 cannot hold before converting */
    if (!(d >= (double)lo && d <= (double)hi) || floor(d) != d)
        return QMS_ERR_INVAL;
    *out = (int64_t)d;
    return QMS_OK;
}

static int get_str(const cJSON *o, const char *k, int required, size_t maxlen, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v))
        return required ? QMS_ERR_INVAL : QMS_OK;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > maxlen)
        return QMS_ERR_INVAL;
    *out = v->valuestring;
    return QMS_OK;
}

static int valid_label(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

static int call_from_json(const cJSON *o, qms_board_call *c)
{
    memset(c, 0, sizeof *c);
    c->seq = -1;
    if (!cJSON_IsObject(o))
        return QMS_ERR_INVAL;
    const char *ticket = NULL, *name = NULL, *service = NULL;
    int64_t counter = 0;
    int rc = get_str(o, "ticket", 1, QMS_TICKET_MAX - 1, &ticket);
    if (!rc)
        rc = get_int(o, "counter", 1, 1, 999999, &counter);
    if (!rc)
        rc = get_str(o, "counter_name_vi", 0, 4096, &name);
    if (!rc)
        rc = get_str(o, "service", 0, QMS_CODE_MAX - 1, &service);
    if (!rc)
        rc = get_int(o, "at_ms", 0, 0, INT64_C(1) << 50, &c->at_ms);
    if (!rc)
        rc = get_int(o, "seq", 0, 0, INT64_C(1) << 31, &c->seq);
    if (rc || !valid_label(ticket))
        return QMS_ERR_INVAL;
    const cJSON *recall = cJSON_GetObjectItemCaseSensitive(o, "recall");
    if (recall && !cJSON_IsBool(recall) && !cJSON_IsNull(recall))
        return QMS_ERR_INVAL;
    c->recall = cJSON_IsTrue(recall);
    copy_text(c->ticket, sizeof c->ticket, ticket);
    c->counter = (int)counter;
    if (name)
        copy_text(c->counter_name, sizeof c->counter_name, name);
    if (service)
        copy_text(c->service, sizeof c->service, service);
    return QMS_OK;
}

int qms_board_parse_call(const char *payload, size_t len, qms_board_call *out)
{
    cJSON *js = cJSON_ParseWithLength(payload, len);
    if (!js)
        return QMS_ERR_INVAL;
    int rc = call_from_json(js, out);
    cJSON_Delete(js);
    return rc;
}

/* Is a newer than b? By the controller's time, then by sequence. */
static int call_newer(const qms_board_call *a, const qms_board_call *b)
{
    if (a->at_ms != b->at_ms)
        return a->at_ms > b->at_ms;
    return a->seq > b->seq;
}

/* One call in the list: its time, counter and ticket. Not seq: after a
 * controller restart the retained list carries seq 0 for calls whose events
 * had their real seq (docs/protocol.md). */
static int same_call(const qms_board_call *a, const qms_board_call *b)
{
    return a->at_ms == b->at_ms && a->counter == b->counter && strcmp(a->ticket, b->ticket) == 0;
}

/* Put a call into the newest-first list (or refresh it if already there). */
static void recent_insert(qms_board *b, const qms_board_call *c)
{
    for (int i = 0; i < b->nrecent; i++)
        if (same_call(&b->recent[i], c)) {
            int64_t seq = b->recent[i].seq > c->seq ? b->recent[i].seq : c->seq;
            b->recent[i] = *c;
            b->recent[i].seq = seq; /* the real seq outranks a rebuilt list's 0 */
            return;
        }
    int pos = 0;
    while (pos < b->nrecent && !call_newer(c, &b->recent[pos]))
        pos++;
    if (pos >= QMS_BOARD_RECENT)
        return; /* older than everything we keep */
    int keep = b->nrecent < QMS_BOARD_RECENT ? b->nrecent : QMS_BOARD_RECENT - 1;
    memmove(&b->recent[pos + 1], &b->recent[pos], sizeof b->recent[0] * (size_t)(keep - pos));
    b->recent[pos] = *c;
    b->nrecent = keep + 1;
}

/* A call event's identity for dropping redeliveries: the controller's day
 * and the day's sequence number (seq restarts every morning). */
static int64_t call_key(const qms_board *b, const qms_board_call *c)
{
    int64_t day = qms_local_day(c->at_ms, b->utc_offset_min);
    return day * (INT64_C(1) << 32) + c->seq;
}

static int handle_call(qms_board *b, const char *payload, size_t len, qms_board_call *out)
{
    qms_board_call c;
    if (qms_board_parse_call(payload, len, &c) != QMS_OK)
        return -QMS_ERR_INVAL;
    if (c.seq >= 0) {
        int64_t key = call_key(b, &c);
        for (int i = 0; i < b->nseen; i++)
            if (b->seen[i] == key)
                return 0; /* a duplicate delivery: already shown and spoken */
        b->seen[b->seen_next] = key;
        b->seen_next = (b->seen_next + 1) % QMS_BOARD_SEEN;
        if (b->nseen < QMS_BOARD_SEEN)
            b->nseen++;
    }
    recent_insert(b, &c);
    /* The call says what the counter's state will say a moment later (the
     * controller publishes the event first): show it at once, so the frame
     * of the call agrees with itself. */
    int ci = qms_board_counter_find(b, c.counter);
    if (ci >= 0) {
        qms_board_counter *k = &b->counters[ci];
        copy_text(k->ticket, sizeof k->ticket, c.ticket);
        snprintf(k->ticket_state, sizeof k->ticket_state, "called");
        if (k->state == QMS_CTR_UNKNOWN || k->state == QMS_CTR_CLOSED)
            k->state = QMS_CTR_OPEN;
    }
    if (out)
        *out = c;
    return QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL;
}

static int handle_recent(qms_board *b, const char *payload, size_t len)
{
    if (len == 0) {
        b->nrecent = 0;
        return QMS_BOARD_CHANGED;
    }
    cJSON *js = cJSON_ParseWithLength(payload, len);
    const cJSON *arr = js ? cJSON_GetObjectItemCaseSensitive(js, "calls") : NULL;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(js);
        return -QMS_ERR_INVAL;
    }
    static qms_board_call got[QMS_BOARD_RECENT];
    int ngot = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (ngot >= QMS_BOARD_RECENT)
            break;
        if (call_from_json(it, &got[ngot]) == QMS_OK)
            ngot++;
        /* one bad entry does not hide the others */
    }
    cJSON_Delete(js);
    /* The list is the controller's truth; only calls newer than its newest
     * (an event that overtook the retained update) are kept from ours. */
    qms_board_call keep[QMS_BOARD_RECENT];
    int nkeep = 0;
    int newest = -1;
    for (int i = 0; i < ngot; i++)
        if (newest < 0 || call_newer(&got[i], &got[newest]))
            newest = i;
    for (int i = 0; i < b->nrecent && ngot; i++) {
        int listed = 0;
        for (int j = 0; j < ngot && !listed; j++)
            listed = same_call(&b->recent[i], &got[j]);
        if (!listed && call_newer(&b->recent[i], &got[newest]))
            keep[nkeep++] = b->recent[i];
    }
    b->nrecent = 0;
    for (int i = 0; i < ngot; i++)
        recent_insert(b, &got[i]);
    for (int i = 0; i < nkeep; i++)
        recent_insert(b, &keep[i]);
    return QMS_BOARD_CHANGED;
}

static int handle_counter_state(qms_board *b, int id, const char *payload, size_t len)
{
    int ci = qms_board_counter_find(b, id);
    if (len == 0) {
        if (ci >= 0) {
            b->counters[ci].state = QMS_CTR_UNKNOWN;
            b->counters[ci].ticket[0] = 0;
        }
        return QMS_BOARD_CHANGED;
    }
    cJSON *js = cJSON_ParseWithLength(payload, len);
    const char *state = NULL, *ticket = NULL, *tstate = NULL;
    int64_t cid = id;
    int rc = js && cJSON_IsObject(js) ? QMS_OK : QMS_ERR_INVAL;
    if (!rc)
        rc = get_str(js, "state", 1, 32, &state);
    if (!rc)
        rc = get_str(js, "ticket", 0, QMS_TICKET_MAX - 1, &ticket);
    if (!rc)
        rc = get_str(js, "ticket_state", 0, 15, &tstate);
    if (!rc)
        rc = get_int(js, "counter", 0, 1, 999999, &cid);
    qms_ctr_state st = QMS_CTR_UNKNOWN;
    if (!rc) {
        if (strcmp(state, "open") == 0)
            st = QMS_CTR_OPEN;
        else if (strcmp(state, "paused") == 0)
            st = QMS_CTR_PAUSED;
        else if (strcmp(state, "closed") == 0)
            st = QMS_CTR_CLOSED;
        else
            rc = QMS_ERR_INVAL;
    }
    if (!rc && (cid != id || (ticket && *ticket && !valid_label(ticket))))
        rc = QMS_ERR_INVAL;
    if (rc) {
        cJSON_Delete(js);
        return -QMS_ERR_INVAL;
    }
    if (ci < 0) {
        if (b->ncounters >= QMS_MAX_COUNTERS) {
            cJSON_Delete(js);
            return 0;
        }
        ci = b->ncounters++;
        memset(&b->counters[ci], 0, sizeof b->counters[ci]);
        b->counters[ci].id = id;
        snprintf(b->counters[ci].name_vi, sizeof b->counters[ci].name_vi, "Quầy %d", id);
        snprintf(b->counters[ci].name_en, sizeof b->counters[ci].name_en, "Counter %d", id);
    }
    qms_board_counter *k = &b->counters[ci];
    k->state = st;
    copy_text(k->ticket, sizeof k->ticket, ticket ? ticket : "");
    copy_text(k->ticket_state, sizeof k->ticket_state, tstate ? tstate : "");
    cJSON_Delete(js);
    return QMS_BOARD_CHANGED;
}

static int handle_stats(qms_board *b, const char *payload, size_t len)
{
    if (len == 0)
        return 0;
    cJSON *js = cJSON_ParseWithLength(payload, len);
    const cJSON *arr = js ? cJSON_GetObjectItemCaseSensitive(js, "services") : NULL;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(js);
        return -QMS_ERR_INVAL;
    }
    int64_t at = 0;
    if (get_int(js, "at_ms", 0, 0, INT64_C(1) << 50, &at) != QMS_OK) {
        cJSON_Delete(js);
        return -QMS_ERR_INVAL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const char *code = NULL;
        int64_t waiting = 0, eta = -1;
        if (!cJSON_IsObject(it) || get_str(it, "code", 1, QMS_CODE_MAX - 1, &code) ||
            get_int(it, "waiting", 1, 0, 1000000, &waiting) ||
            get_int(it, "eta_s", 0, 0, 1000000000, &eta) || !*code)
            continue; /* a bad entry does not spoil the others */
        int si = service_find(b, code);
        if (si < 0) {
            if (b->nservices >= QMS_MAX_SERVICES)
                continue;
            si = b->nservices++;
            memset(&b->services[si], 0, sizeof b->services[si]);
            copy_text(b->services[si].code, sizeof b->services[si].code, code);
            copy_text(b->services[si].name_vi, sizeof b->services[si].name_vi, code);
            copy_text(b->services[si].name_en, sizeof b->services[si].name_en, code);
        }
        b->services[si].have_stats = 1;
        b->services[si].waiting = (int)waiting;
        b->services[si].eta_s = (int)eta;
    }
    b->stats_at_ms = at;
    cJSON_Delete(js);
    return QMS_BOARD_CHANGED;
}

static int handle_config(qms_board *b, const char *payload, size_t len)
{
    if (len == 0) {
        b->have_config = 0;
        return QMS_BOARD_CHANGED;
    }
    qms_config *c = NULL;
    char err[200];
    int rc = qms_config_parse_json(payload, len, &c, err, sizeof err);
    if (rc == QMS_ERR_NOMEM)
        return -QMS_ERR_NOMEM;
    if (rc) {
        QMS_WARN("retained config refused: %s", err);
        return -QMS_ERR_INVAL;
    }
    qms_board_apply_config(b, c);
    qms_config_free(c);
    return QMS_BOARD_CHANGED;
}

static int handle_controller(qms_board *b, const char *id, const char *payload, size_t len)
{
    int online = 0;
    if (len) {
        cJSON *js = cJSON_ParseWithLength(payload, len);
        const char *state = NULL;
        if (!js || !cJSON_IsObject(js) || get_str(js, "state", 1, 64, &state)) {
            cJSON_Delete(js);
            return -QMS_ERR_INVAL;
        }
        online = strcmp(state, "online") == 0;
        cJSON_Delete(js);
        /* a demo's controller runs on its own clock: the board shows that time */
        if (online && qms_fclock_from_status(&b->clock, payload, len) < 0)
            QMS_WARN("ignoring a bad clock in controller %s's status", id);
    }
    int i = 0;
    while (i < b->ncontrollers && strcmp(b->controllers[i].id, id) != 0)
        i++;
    if (len == 0) { /* status cleared: forget that controller */
        if (i < b->ncontrollers) {
            b->controllers[i] = b->controllers[--b->ncontrollers];
            return QMS_BOARD_CHANGED;
        }
        return 0;
    }
    if (i == b->ncontrollers) {
        if (i >= QMS_BOARD_CONTROLLERS)
            return 0;
        b->ncontrollers++;
        copy_text(b->controllers[i].id, sizeof b->controllers[i].id, id);
    }
    b->controllers[i].online = online;
    return QMS_BOARD_CHANGED;
}

int qms_board_controller_online(const qms_board *b)
{
    if (b->ncontrollers == 0)
        return -1;
    for (int i = 0; i < b->ncontrollers; i++)
        if (b->controllers[i].online)
            return 1;
    return 0;
}

int qms_board_handle(qms_board *b, const char *topic, const char *payload, size_t len,
                     qms_board_call *call)
{
    char root[80];
    int rl = snprintf(root, sizeof root, "qms/%s/", b->site);
    if (!topic || strncmp(topic, root, (size_t)rl) != 0)
        return 0;
    const char *t = topic + rl;
    if (len && !payload)
        return -QMS_ERR_INVAL;
    if (strcmp(t, "call") == 0)
        return handle_call(b, payload, len, call);
    if (strcmp(t, "calls/recent") == 0)
        return handle_recent(b, payload, len);
    if (strcmp(t, "stats") == 0)
        return handle_stats(b, payload, len);
    if (strcmp(t, "config") == 0)
        return handle_config(b, payload, len);
    if (strncmp(t, "counter/", 8) == 0) {
        char *end;
        long id = strtol(t + 8, &end, 10);
        if (end == t + 8 || strcmp(end, "/state") != 0 || id < 1 || id > 999999 || t[8] == '-' ||
            t[8] == '+' || t[8] == ' ')
            return 0;
        return handle_counter_state(b, (int)id, payload, len);
    }
    if (strncmp(t, "device/controller/", 18) == 0) {
        const char *id = t + 18;
        const char *slash = strchr(id, '/');
        if (!slash || slash == id || strcmp(slash, "/status") != 0 || slash - id >= 64)
            return 0;
        char idbuf[64];
        memcpy(idbuf, id, (size_t)(slash - id));
        idbuf[slash - id] = 0;
        return handle_controller(b, idbuf, payload, len);
    }
    return 0;
}
