#include "counter_msg.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Index = counter_op. */
static const char *const op_names[COUNTER_OP__COUNT] = {
    "next", "recall", "call",   "start", "done", "skip",   "transfer",
    "rate", "pause",  "resume", "close", "open", "status",
};

const char *counter_op_name(counter_op op)
{
    if ((int)op < 0 || op >= COUNTER_OP__COUNT)
        return NULL;
    return op_names[op];
}

int counter_op_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < COUNTER_OP__COUNT; i++)
        if (strcmp(op_names[i], name) == 0)
            return i;
    return -1;
}

char *counter_req_encode(const counter_req *r)
{
    const char *op = counter_op_name(r->op);
    if (!op || !r->req[0])
        return NULL;
    if (r->op == COUNTER_OP_CALL && !r->ticket[0])
        return NULL;
    if (r->op == COUNTER_OP_RATE && r->level < 1)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = cJSON_AddStringToObject(o, "req", r->req) && cJSON_AddStringToObject(o, "op", op);
    switch (r->op) {
    case COUNTER_OP_CALL:
        ok = ok && cJSON_AddStringToObject(o, "ticket", r->ticket);
        break;
    case COUNTER_OP_TRANSFER:
        if (r->to_service[0])
            ok = ok && cJSON_AddStringToObject(o, "service", r->to_service);
        if (r->to_counter > 0)
            ok = ok && cJSON_AddNumberToObject(o, "to_counter", r->to_counter);
        break;
    case COUNTER_OP_RATE:
        ok = ok && cJSON_AddNumberToObject(o, "level", r->level);
        if (r->ticket[0]) /* the ticket rated, when the sender knows it */
            ok = ok && cJSON_AddStringToObject(o, "ticket", r->ticket);
        break;
    case COUNTER_OP_OPEN:
        if (r->staff[0])
            ok = ok && cJSON_AddStringToObject(o, "staff", r->staff);
        if (r->code[0])
            ok = ok && cJSON_AddStringToObject(o, "code", r->code);
        break;
    default:
        break;
    }
    if (r->lang_en)
        ok = ok && cJSON_AddStringToObject(o, "lang", "en");
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return NULL;
    /* hand out qms_malloc'd memory, as every other QMS string */
    char *out = qms_strdup(text);
    cJSON_free(text);
    return out;
}

/* Copy a string member into dst (bounded; truncation keeps whole UTF-8
 * sequences so a cut name is still valid text). Leaves dst alone if absent
 * or not a string. */
static void get_str(const cJSON *o, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return;
    size_t n = strlen(v->valuestring);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)v->valuestring[n] & 0xC0) == 0x80)
            n--; /* do not end inside a multi-byte sequence */
    }
    memcpy(dst, v->valuestring, n);
    dst[n] = 0;
}

/* An integral number member within [lo, hi], else def. */
static int64_t get_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return def;
    double d = v->valuedouble;
    if (d < (double)lo || d > (double)hi)
        return def;
    return (int64_t)d;
}

/* Parse len bytes as a JSON object; NULL if it is not one. */
static cJSON *parse_object(const char *json, size_t len)
{
    if (!json)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

#define I32_MAX 2147483647
#define MS_MAX ((int64_t)1 << 52) /* exact in a double; far beyond any date we meet */

static void info_reset(counter_info *out)
{
    memset(out, 0, sizeof *out);
    out->counter = -1;
    out->waiting = -1;
    out->queue_len = -1;
}

int counter_info_decode(const char *json, size_t len, counter_info *out)
{
    info_reset(out);
    cJSON *root = parse_object(json, len);
    if (!root)
        return QMS_ERR_INVAL;
    get_str(root, "req", out->req, sizeof out->req);
    get_str(root, "error", out->error_code, sizeof out->error_code);
    get_str(root, "message", out->message, sizeof out->message);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (err && !cJSON_IsNull(err)) {
        /* a refusal; an unknown or malformed code still is one */
        out->err = qms_err_from_code(out->error_code);
        if (out->err == QMS_OK)
            out->err = QMS_ERR_PROTOCOL;
    }
    out->counter = (int)get_int(root, "counter", 0, I32_MAX, -1);
    get_str(root, "state", out->state, sizeof out->state);
    get_str(root, "ticket", out->ticket, sizeof out->ticket);
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(root, "current");
    if (cJSON_IsString(cur) || cJSON_IsNull(cur)) {
        out->has_current = 1;
        get_str(root, "current", out->current, sizeof out->current);
    }
    get_str(root, "ticket_state", out->ticket_state, sizeof out->ticket_state);
    get_str(root, "service", out->service, sizeof out->service);
    get_str(root, "staff", out->staff, sizeof out->staff);
    out->since_ms = get_int(root, "since_ms", 0, MS_MAX, 0);
    out->at_ms = get_int(root, "at_ms", 0, MS_MAX, 0);
    out->waiting = (int)get_int(root, "waiting", 0, I32_MAX, -1);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "queue");
    if (cJSON_IsArray(q)) {
        out->has_queue = 1;
        const cJSON *e;
        cJSON_ArrayForEach(e, q)
        {
            if (out->nqueue >= COUNTER_QUEUE_MAX)
                break;
            counter_qentry *qe = &out->queue[out->nqueue];
            memset(qe, 0, sizeof *qe);
            if (cJSON_IsString(e) && e->valuestring && e->valuestring[0] &&
                strlen(e->valuestring) < sizeof qe->ticket) {
                /* a bare label (an empty one shows nothing: skipped, as an
                 * object without a number is) */
                strcpy(qe->ticket, e->valuestring);
                out->nqueue++;
                continue;
            }
            if (!cJSON_IsObject(e))
                continue;
            get_str(e, "ticket", qe->ticket, sizeof qe->ticket);
            if (!qe->ticket[0])
                continue; /* an entry without a number shows nothing useful */
            get_str(e, "service", qe->service, sizeof qe->service);
            qe->priority = (int)get_int(e, "priority", 0, 9, 0);
            qe->taken_ms = get_int(e, "taken_ms", 0, MS_MAX, 0);
            get_str(e, "appointment", qe->appt, sizeof qe->appt);
            out->nqueue++;
        }
        out->queue_len = (int)get_int(root, "queue_len", 0, I32_MAX, -1);
        if (out->waiting < 0)
            out->waiting = out->queue_len;
        if (out->waiting < 0)
            out->waiting = cJSON_GetArraySize(q);
    }
    cJSON_Delete(root);
    return QMS_OK;
}

int counter_stats_decode(const char *json, size_t len, counter_stats *out)
{
    memset(out, 0, sizeof *out);
    out->taken = out->served = out->noshow = out->ratings = -1;
    out->mean_wait_s = -1;
    out->satisfied_share = -1;
    cJSON *root = parse_object(json, len);
    if (!root)
        return QMS_ERR_INVAL;
    get_str(root, "day", out->day, sizeof out->day);
    out->at_ms = get_int(root, "at_ms", 0, MS_MAX, 0);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "today");
    if (cJSON_IsObject(t)) {
        out->taken = (int)get_int(t, "taken", 0, I32_MAX, -1);
        out->served = (int)get_int(t, "served", 0, I32_MAX, -1);
        out->noshow = (int)get_int(t, "noshow", 0, I32_MAX, -1);
        out->mean_wait_s = (int32_t)get_int(t, "mean_wait_s", 0, I32_MAX, -1);
        out->ratings = (int)get_int(t, "ratings", 0, I32_MAX, -1);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "satisfied_share");
        if (cJSON_IsNumber(s) && isfinite(s->valuedouble) && s->valuedouble >= 0 &&
            s->valuedouble <= 1)
            out->satisfied_share = s->valuedouble;
    }
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "services");
    if (cJSON_IsArray(sv)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, sv)
        {
            if (out->nservices >= QMS_MAX_SERVICES)
                break;
            if (!cJSON_IsObject(e))
                continue;
            counter_svc_stats *s = &out->services[out->nservices];
            memset(s, 0, sizeof *s);
            get_str(e, "code", s->code, sizeof s->code);
            if (!s->code[0])
                continue;
            s->waiting = (int)get_int(e, "waiting", 0, I32_MAX, -1);
            s->longest_wait_s = (int32_t)get_int(e, "longest_wait_s", 0, I32_MAX, -1);
            s->eta_s = (int32_t)get_int(e, "eta_s", 0, I32_MAX, -1);
            out->nservices++;
        }
    }
    cJSON_Delete(root);
    return QMS_OK;
}

/* One call event's fields from its JSON object. */
static void call_fill(const cJSON *o, counter_call *out)
{
    memset(out, 0, sizeof *out);
    get_str(o, "ticket", out->ticket, sizeof out->ticket);
    out->counter = (int)get_int(o, "counter", 0, I32_MAX, -1);
    out->recall = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "recall"));
    out->at_ms = get_int(o, "at_ms", 0, MS_MAX, 0);
    out->seq = get_int(o, "seq", 0, MS_MAX, -1);
}

int counter_call_decode(const char *json, size_t len, counter_call *out)
{
    memset(out, 0, sizeof *out);
    out->counter = -1;
    out->seq = -1;
    cJSON *root = parse_object(json, len);
    if (!root)
        return QMS_ERR_INVAL;
    call_fill(root, out);
    cJSON_Delete(root);
    return out->ticket[0] ? QMS_OK : QMS_ERR_INVAL;
}

int counter_calls_decode(const char *json, size_t len, counter_call *out, int max, int *n)
{
    *n = 0;
    cJSON *root = parse_object(json, len);
    if (!root)
        return QMS_ERR_INVAL;
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(root, "calls");
    if (!cJSON_IsArray(calls)) {
        cJSON_Delete(root);
        return QMS_ERR_INVAL;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, calls)
    {
        if (*n >= max)
            break;
        if (!cJSON_IsObject(e))
            continue;
        call_fill(e, &out[*n]);
        if (out[*n].ticket[0]) /* an entry without a number shows nothing */
            (*n)++;
    }
    cJSON_Delete(root);
    return QMS_OK;
}

int counter_status_online(const char *json, size_t len)
{
    cJSON *root = parse_object(json, len);
    if (!root)
        return 0;
    char st[16] = "";
    get_str(root, "state", st, sizeof st);
    cJSON_Delete(root);
    return strcmp(st, "online") == 0;
}

int counter_alerts_decode(const char *json, size_t len, counter_alert *out, int max, int *n)
{
    *n = 0;
    cJSON *root = parse_object(json, len);
    const cJSON *arr = root ? cJSON_GetObjectItemCaseSensitive(root, "alerts") : NULL;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(root);
        return QMS_ERR_INVAL;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (*n >= max)
            break;
        if (!cJSON_IsObject(e))
            continue;
        counter_alert *a = &out[*n];
        memset(a, 0, sizeof *a);
        get_str(e, "kind", a->kind, sizeof a->kind);
        get_str(e, "subject", a->subject, sizeof a->subject);
        if (!a->kind[0] || !a->subject[0])
            continue;
        char level[16] = "";
        get_str(e, "level", level, sizeof level);
        a->critical = strcmp(level, "critical") == 0;
        get_str(e, "message_vi", a->message_vi, sizeof a->message_vi);
        get_str(e, "message_en", a->message_en, sizeof a->message_en);
        const cJSON *by = cJSON_GetObjectItemCaseSensitive(e, "acked_by");
        a->acked = cJSON_IsString(by) && by->valuestring[0];
        (*n)++;
    }
    cJSON_Delete(root);
    return QMS_OK;
}

int counter_alert_concerns(const counter_alert *a, int counter, const qms_config *cfg)
{
    if (!strcmp(a->kind, "wait") || !strcmp(a->kind, "cap")) {
        int ci = cfg ? qms_config_counter_index(cfg, counter) : -1;
        for (int k = 0; ci >= 0 && k < cfg->counters[ci].nservices; k++)
            if (!strcmp(cfg->services[cfg->counters[ci].services[k]].code, a->subject))
                return 1;
        return 0;
    }
    char own[32];
    snprintf(own, sizeof own, "%d", counter);
    if (!strcmp(a->kind, "counter_paused"))
        return !strcmp(a->subject, own);
    if (!strcmp(a->kind, "device_offline") || !strcmp(a->kind, "printer")) {
        char dev[48];
        int l = snprintf(dev, sizeof dev, "counter/%d", counter);
        return !strncmp(a->subject, dev, (size_t)l) && (a->subject[l] == 0 || a->subject[l] == '-');
    }
    return 0;
}
