/* Request decoding and validation for the controller's MQTT protocol
 * (docs/protocol.md). Strict about what it needs, silent about fields it
 * does not know (a newer client may send more). */
#include "proto.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const op_names[QMS_OP__COUNT] = {
    [QMS_OP_TAKE] = "take",     [QMS_OP_CANCEL] = "cancel", [QMS_OP_NEXT] = "next",
    [QMS_OP_RECALL] = "recall", [QMS_OP_CALL] = "call",     [QMS_OP_START] = "start",
    [QMS_OP_DONE] = "done",     [QMS_OP_SKIP] = "skip",     [QMS_OP_TRANSFER] = "transfer",
    [QMS_OP_RATE] = "rate",     [QMS_OP_PAUSE] = "pause",   [QMS_OP_RESUME] = "resume",
    [QMS_OP_CLOSE] = "close",   [QMS_OP_OPEN] = "open",     [QMS_OP_STATUS] = "status",
    [QMS_OP_BOOK_SLOTS] = "book_slots", [QMS_OP_BOOK_MAKE] = "book_make",
    [QMS_OP_BOOK_CANCEL] = "book_cancel",
};

const char *qms_op_name(qms_op op)
{
    return (unsigned)op < QMS_OP__COUNT ? op_names[op] : "?";
}

int qms_op_from_name(const char *name)
{
    for (int i = 0; i < QMS_OP__COUNT; i++)
        if (strcmp(op_names[i], name) == 0)
            return i;
    return -1;
}

int qms_op_changes_state(qms_op op)
{
    return op != QMS_OP_STATUS && op != QMS_OP_BOOK_SLOTS;
}

static int is_booking_op(int op)
{
    return op == QMS_OP_BOOK_SLOTS || op == QMS_OP_BOOK_MAKE || op == QMS_OP_BOOK_CANCEL;
}

/* Topic: qms/<site>/ticket/take | qms/<site>/ticket/cancel | qms/<site>/counter/<n>/cmd */
qms_topic_kind qms_proto_topic(const char *topic, const char *site, int *counter)
{
    *counter = 0;
    size_t sl = strlen(site);
    if (strncmp(topic, "qms/", 4) != 0 || strncmp(topic + 4, site, sl) != 0 || topic[4 + sl] != '/')
        return QMS_TOPIC_NONE;
    const char *rest = topic + 5 + sl;
    if (strcmp(rest, "ticket/take") == 0)
        return QMS_TOPIC_TAKE;
    if (strcmp(rest, "ticket/cancel") == 0)
        return QMS_TOPIC_CANCEL;
    if (strcmp(rest, "booking/slots") == 0)
        return QMS_TOPIC_BOOK_SLOTS;
    if (strcmp(rest, "booking/make") == 0)
        return QMS_TOPIC_BOOK_MAKE;
    if (strcmp(rest, "booking/cancel") == 0)
        return QMS_TOPIC_BOOK_CANCEL;
    if (strncmp(rest, "counter/", 8) != 0)
        return QMS_TOPIC_NONE;
    const char *num = rest + 8;
    const char *slash = strchr(num, '/');
    if (!slash || strcmp(slash, "/cmd") != 0)
        return QMS_TOPIC_NONE;
    long n = 0;
    int digits = (int)(slash - num);
    for (const char *p = num; p < slash; p++) {
        if (*p < '0' || *p > '9' || digits > 9) {
            n = -1;
            break;
        }
        n = n * 10 + (*p - '0');
    }
    *counter = digits == 0 || n <= 0 ? -1 : (int)n;
    return QMS_TOPIC_COUNTER_CMD;
}

qms_rt_check qms_proto_reply_topic(const char *topic, const char *site)
{
    if (strpbrk(topic, "+#"))
        return QMS_RT_WILDCARD;
    size_t sl = strlen(site);
    if (strncmp(topic, "qms/", 4) != 0 || strncmp(topic + 4, site, sl) != 0 ||
        strncmp(topic + 4 + sl, "/reply/", 7) != 0)
        return QMS_RT_OUTSIDE;
    const char *rest = topic + 4 + sl + 7;
    /* the client segment and any deeper ones: none empty */
    if (!*rest || strstr(rest, "//") || rest[0] == '/' || rest[strlen(rest) - 1] == '/')
        return QMS_RT_OUTSIDE;
    return QMS_RT_OK;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0; /* truncated sequence */
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Does the JSON text escape a NUL ("\u0000") inside a string? cJSON would
 * decode it and the string would end there: "TP\u0000ZZZ" would read as
 * "TP", and two request ids differing after it would collide. Walks the
 * strings of the raw text; an escaped backslash followed by "u0000" is text. */
static int json_escapes_nul(const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
            continue;
        }
        if (s[i] == '"') {
            in_str = 0;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
                return 1;
            i++; /* the escaped character (also a backslash) */
        }
    }
    return 0;
}

static int failf(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int failf(char *why, size_t whylen, int err, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* An optional string field: absent -> 0 and dst untouched; present: must be a
 * string of at most cap-1 bytes without control characters (min bytes at least). */
static int get_str(const cJSON *o, const char *name, char *dst, size_t cap, size_t min,
                   int required, char *why, size_t whylen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v) {
        if (required)
            return failf(why, whylen, QMS_ERR_INVAL, "\"%s\" is missing", name);
        return QMS_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return failf(why, whylen, QMS_ERR_INVAL, "\"%s\" must be a string", name);
    size_t len = strlen(v->valuestring);
    if (len >= cap)
        return failf(why, whylen, QMS_ERR_TOO_LARGE, "\"%s\" is longer than %zu bytes", name,
                     cap - 1);
    if (len < min)
        return failf(why, whylen, QMS_ERR_INVAL, "\"%s\" is empty", name);
    for (const unsigned char *p = (const unsigned char *)v->valuestring; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return failf(why, whylen, QMS_ERR_INVAL, "\"%s\" holds a control character", name);
    memcpy(dst, v->valuestring, len + 1);
    return QMS_OK;
}

/* An integer field within [lo, hi]; absent -> *present = 0. */
static int get_int(const cJSON *o, const char *name, int64_t lo, int64_t hi, int64_t *dst,
                   int *present, char *why, size_t whylen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *present = 0;
    if (!v)
        return QMS_OK;
    if (!cJSON_IsNumber(v))
        return failf(why, whylen, QMS_ERR_INVAL, "\"%s\" must be a number", name);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
        return failf(why, whylen, QMS_ERR_INVAL, "\"%s\" must be a whole number %lld..%lld", name,
                     (long long)lo, (long long)hi);
    *dst = (int64_t)d;
    *present = 1;
    return QMS_OK;
}

static int decode_priority(const cJSON *o, qms_request *r, char *why, size_t whylen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "priority");
    memset(r->priority_kind, 0, sizeof r->priority_kind);
    if (!v || cJSON_IsFalse(v)) {
        r->priority = 0;
    } else if (cJSON_IsTrue(v)) {
        r->priority = 1;
        snprintf(r->priority_kind, sizeof r->priority_kind, "priority");
    } else if (cJSON_IsString(v) && v->valuestring) {
        r->priority = -1;
        if (strcmp(v->valuestring, "normal") == 0) {
            r->priority = 0;
        } else {
            /* one calling class; the kind is recorded for the report */
            static const char *const classes[] = {"priority", "elderly", "disabled", "pregnant",
                                                  "child"};
            for (size_t i = 0; i < sizeof classes / sizeof *classes; i++)
                if (strcmp(v->valuestring, classes[i]) == 0) {
                    r->priority = 1;
                    snprintf(r->priority_kind, sizeof r->priority_kind, "%s", classes[i]);
                }
        }
        if (r->priority < 0)
            return failf(why, whylen, QMS_ERR_INVAL, "unknown priority class");
    } else {
        return failf(why, whylen, QMS_ERR_INVAL, "\"priority\" must be true/false or a class");
    }
    int rc = get_str(o, "appointment", r->appt, sizeof r->appt, 1, 0, why, whylen);
    if (rc)
        return rc;
    if ((rc = get_str(o, "cccd", r->cccd, sizeof r->cccd, 1, 0, why, whylen)))
        return rc;
    if (r->appt[0] && r->cccd[0])
        return failf(why, whylen, QMS_ERR_INVAL, "give \"appointment\" or \"cccd\", not both");
    if (r->appt[0] || r->cccd[0]) {
        r->priority = 2; /* a booking: its class, whatever kind was said */
        memset(r->priority_kind, 0, sizeof r->priority_kind);
    }
    return QMS_OK;
}

static int decode_fields(qms_topic_kind kind, const cJSON *o, qms_request *r, char *why,
                         size_t whylen)
{
    int rc;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    if (op && !cJSON_IsString(op))
        return failf(why, whylen, QMS_ERR_INVAL, "\"op\" must be a string");
    switch (kind) {
    case QMS_TOPIC_TAKE:
        if (op && strcmp(op->valuestring, "take") != 0)
            return failf(why, whylen, QMS_ERR_UNKNOWN_OP, "op \"%.32s\" on ticket/take",
                         op->valuestring);
        r->op = QMS_OP_TAKE;
        break;
    case QMS_TOPIC_CANCEL:
        if (op && strcmp(op->valuestring, "cancel") != 0)
            return failf(why, whylen, QMS_ERR_UNKNOWN_OP, "op \"%.32s\" on ticket/cancel",
                         op->valuestring);
        r->op = QMS_OP_CANCEL;
        break;
    case QMS_TOPIC_COUNTER_CMD: {
        if (!op)
            return failf(why, whylen, QMS_ERR_INVAL, "\"op\" is missing");
        int k = qms_op_from_name(op->valuestring);
        if (k < 0 || k == QMS_OP_TAKE || k == QMS_OP_CANCEL || is_booking_op(k))
            return failf(why, whylen, QMS_ERR_UNKNOWN_OP, "unknown op \"%.32s\"", op->valuestring);
        r->op = (qms_op)k;
        break;
    }
    case QMS_TOPIC_BOOK_SLOTS:
    case QMS_TOPIC_BOOK_MAKE:
    case QMS_TOPIC_BOOK_CANCEL:
        r->op = kind == QMS_TOPIC_BOOK_SLOTS  ? QMS_OP_BOOK_SLOTS
                : kind == QMS_TOPIC_BOOK_MAKE ? QMS_OP_BOOK_MAKE
                                              : QMS_OP_BOOK_CANCEL;
        if (op && strcmp(op->valuestring, qms_op_name(r->op)) != 0)
            return failf(why, whylen, QMS_ERR_UNKNOWN_OP, "op \"%.32s\" on a booking topic",
                         op->valuestring);
        break;
    default:
        return failf(why, whylen, QMS_ERR_INVAL, "not a request topic");
    }

    int64_t v;
    int present;
    switch (r->op) {
    case QMS_OP_TAKE:
        /* a check-in ("appointment" or "cccd") may leave the service out */
        if ((rc = get_str(o, "service", r->service, sizeof r->service, 1, 0, why, whylen)))
            return rc;
        if ((rc = decode_priority(o, r, why, whylen)))
            return rc;
        if (!r->service[0] && !r->appt[0] && !r->cccd[0])
            return failf(why, whylen, QMS_ERR_INVAL, "\"service\" is missing");
        return get_str(o, "kiosk", r->kiosk, sizeof r->kiosk, 0, 0, why, whylen);
    case QMS_OP_CANCEL:
        if ((rc = get_int(o, "id", 1, INT64_C(1) << 52, &v, &present, why, whylen)))
            return rc;
        r->id = present ? v : 0;
        if ((rc = get_str(o, "ticket", r->ticket, sizeof r->ticket, 1, 0, why, whylen)))
            return rc;
        if (!r->id && !r->ticket[0])
            return failf(why, whylen, QMS_ERR_INVAL, "cancel needs \"id\" or \"ticket\"");
        return get_str(o, "reason", r->reason, sizeof r->reason, 0, 0, why, whylen);
    case QMS_OP_CALL:
        return get_str(o, "ticket", r->ticket, sizeof r->ticket, 1, 1, why, whylen);
    case QMS_OP_TRANSFER:
        if ((rc = get_str(o, "service", r->service, sizeof r->service, 1, 0, why, whylen)))
            return rc;
        if ((rc = get_int(o, "to_counter", 1, 999999999, &v, &present, why, whylen)))
            return rc;
        r->to_counter = present ? (int)v : 0;
        if (!r->service[0] && !r->to_counter)
            return failf(why, whylen, QMS_ERR_INVAL,
                         "transfer needs \"service\" or \"to_counter\"");
        return QMS_OK;
    case QMS_OP_RATE:
        /* well-formed is any level a scale could have; whether it is on the
         * center's scale (rating_levels) the controller says, in words */
        if ((rc = get_int(o, "level", 1, 99, &v, &present, why, whylen)))
            return rc;
        if (!present)
            return failf(why, whylen, QMS_ERR_INVAL, "\"level\" is missing");
        r->level = (int)v;
        /* the ticket rated: a rating that comes after the next call still
         * rates the citizen who gave it */
        return get_str(o, "ticket", r->ticket, sizeof r->ticket, 1, 0, why, whylen);
    case QMS_OP_BOOK_SLOTS:
        if ((rc = get_str(o, "service", r->service, sizeof r->service, 1, 1, why, whylen)))
            return rc;
        return get_str(o, "day", r->day, sizeof r->day, 1, 1, why, whylen);
    case QMS_OP_BOOK_MAKE:
        if ((rc = get_str(o, "service", r->service, sizeof r->service, 1, 1, why, whylen)))
            return rc;
        if ((rc = get_str(o, "day", r->day, sizeof r->day, 1, 1, why, whylen)))
            return rc;
        if ((rc = get_str(o, "slot", r->slot, sizeof r->slot, 1, 1, why, whylen)))
            return rc;
        return get_str(o, "cccd", r->cccd, sizeof r->cccd, 1, 1, why, whylen);
    case QMS_OP_BOOK_CANCEL:
        if ((rc = get_str(o, "code", r->code, sizeof r->code, 1, 1, why, whylen)))
            return rc;
        return get_str(o, "cccd", r->cccd, sizeof r->cccd, 1, 0, why, whylen);
    case QMS_OP_OPEN:
        r->has_staff = cJSON_GetObjectItemCaseSensitive(o, "staff") != NULL;
        if ((rc = get_str(o, "code", r->code, sizeof r->code, 0, 0, why, whylen)))
            return rc;
        return get_str(o, "staff", r->staff, sizeof r->staff, 0, 0, why, whylen);
    default:
        return QMS_OK;
    }
}

int qms_proto_decode(qms_topic_kind kind, int counter, const char *payload, size_t len,
                     qms_request *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (why && whylen)
        why[0] = 0;
    out->counter = kind == QMS_TOPIC_COUNTER_CMD ? counter : 0;
    if (len > QMS_PROTO_MAX_PAYLOAD)
        return failf(why, whylen, QMS_ERR_TOO_LARGE, "payload of %zu bytes (limit %d)", len,
                     QMS_PROTO_MAX_PAYLOAD);
    if (!payload || len == 0)
        return failf(why, whylen, QMS_ERR_INVAL, "empty payload");
    if (!utf8_valid((const unsigned char *)payload, len))
        return failf(why, whylen, QMS_ERR_INVAL, "payload is not UTF-8");
    /* cJSON skips a byte order mark; the protocol is plain UTF-8 JSON */
    if (len >= 3 && memcmp(payload, "\xef\xbb\xbf", 3) == 0)
        return failf(why, whylen, QMS_ERR_INVAL, "a byte order mark before the JSON");
    if (json_escapes_nul(payload, len))
        return failf(why, whylen, QMS_ERR_INVAL, "a NUL (\\u0000) inside a string");
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(payload, len, &end, 0);
    if (!o)
        return failf(why, whylen, QMS_ERR_INVAL, "not JSON");
    int rc = QMS_OK;
    /* only white space may follow the object (a NUL byte ends cJSON's text early) */
    for (const char *p = end; p && p < payload + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            rc = failf(why, whylen, QMS_ERR_INVAL, "bytes after the JSON value");
            break;
        }
    if (!rc && !cJSON_IsObject(o))
        rc = failf(why, whylen, QMS_ERR_INVAL, "not a JSON object");
    if (!rc) {
        /* the request id first, so that even a refusal can carry it */
        char req[QMS_PROTO_REQ_MAX + 1] = "";
        rc = get_str(o, "req", req, sizeof req, 1, 1, why, whylen);
        if (!rc)
            memcpy(out->req, req, sizeof req);
    }
    if (!rc) {
        char lang[8] = "";
        rc = get_str(o, "lang", lang, sizeof lang, 0, 0, why, whylen);
        out->en = strcmp(lang, "en") == 0;
    }
    if (!rc && kind == QMS_TOPIC_COUNTER_CMD && counter <= 0)
        rc = failf(why, whylen, QMS_ERR_UNKNOWN_COUNTER, "counter in the topic is not a number");
    if (!rc)
        rc = decode_fields(kind, o, out, why, whylen);
    cJSON_Delete(o);
    return rc;
}

char *qms_proto_encode_request(const qms_request *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "req", r->req);
    if (r->op != QMS_OP_TAKE && r->op != QMS_OP_CANCEL && !is_booking_op(r->op))
        cJSON_AddStringToObject(o, "op", qms_op_name(r->op));
    if (r->en)
        cJSON_AddStringToObject(o, "lang", "en");
    switch (r->op) {
    case QMS_OP_TAKE:
        if (r->service[0])
            cJSON_AddStringToObject(o, "service", r->service);
        if (r->priority == 1 && r->priority_kind[0] && strcmp(r->priority_kind, "priority"))
            cJSON_AddStringToObject(o, "priority", r->priority_kind);
        else if (r->priority == 1)
            cJSON_AddTrueToObject(o, "priority");
        else
            cJSON_AddFalseToObject(o, "priority");
        if (r->appt[0])
            cJSON_AddStringToObject(o, "appointment", r->appt);
        if (r->cccd[0])
            cJSON_AddStringToObject(o, "cccd", r->cccd);
        if (r->kiosk[0])
            cJSON_AddStringToObject(o, "kiosk", r->kiosk);
        break;
    case QMS_OP_CANCEL:
        if (r->id)
            cJSON_AddNumberToObject(o, "id", (double)r->id);
        if (r->ticket[0])
            cJSON_AddStringToObject(o, "ticket", r->ticket);
        if (r->reason[0])
            cJSON_AddStringToObject(o, "reason", r->reason);
        break;
    case QMS_OP_CALL:
        cJSON_AddStringToObject(o, "ticket", r->ticket);
        break;
    case QMS_OP_TRANSFER:
        if (r->service[0])
            cJSON_AddStringToObject(o, "service", r->service);
        if (r->to_counter)
            cJSON_AddNumberToObject(o, "to_counter", r->to_counter);
        break;
    case QMS_OP_RATE:
        cJSON_AddNumberToObject(o, "level", r->level);
        if (r->ticket[0])
            cJSON_AddStringToObject(o, "ticket", r->ticket);
        break;
    case QMS_OP_BOOK_SLOTS:
    case QMS_OP_BOOK_MAKE:
        cJSON_AddStringToObject(o, "service", r->service);
        cJSON_AddStringToObject(o, "day", r->day);
        if (r->op == QMS_OP_BOOK_MAKE) {
            cJSON_AddStringToObject(o, "slot", r->slot);
            cJSON_AddStringToObject(o, "cccd", r->cccd);
        }
        break;
    case QMS_OP_BOOK_CANCEL:
        cJSON_AddStringToObject(o, "code", r->code);
        if (r->cccd[0])
            cJSON_AddStringToObject(o, "cccd", r->cccd);
        break;
    case QMS_OP_OPEN:
        if (r->has_staff)
            cJSON_AddStringToObject(o, "staff", r->staff);
        if (r->code[0])
            cJSON_AddStringToObject(o, "code", r->code);
        break;
    default:
        break;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *qms_proto_error_reply(const char *req, int err, int en)
{
    return qms_proto_error_reply_text(req, err, en, NULL);
}

char *qms_proto_error_reply_text(const char *req, int err, int en, const char *message)
{
    return qms_proto_error_reply_hours(req, err, en, message, NULL, 0, -1);
}

void qms_proto_hhmm(int32_t sec, char *out, size_t outlen)
{
    if (sec < 0)
        sec = 0;
    snprintf(out, outlen, "%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60));
}

char *qms_proto_error_reply_hours(const char *req, int err, int en, const char *message,
                                  const qms_span *hours, int nhours, int32_t next_open_s)
{
    return qms_proto_error_reply_when(req, err, en, message, hours, nhours, next_open_s, NULL);
}

char *qms_proto_error_reply_when(const char *req, int err, int en, const char *message,
                                 const qms_span *hours, int nhours, int32_t next_open_s,
                                 const char *next_at)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (req && *req)
        cJSON_AddStringToObject(o, "req", req);
    cJSON_AddStringToObject(o, "error", qms_err_code(err));
    cJSON_AddStringToObject(o, "message",
                            message ? message : qms_err_message(err, en ? "en" : "vi"));
    if (hours && nhours > 0) {
        cJSON *a = cJSON_AddArrayToObject(o, "hours");
        for (int i = 0; a && i < nhours; i++) {
            char from[16], to[16];
            qms_proto_hhmm(hours[i].open_s, from, sizeof from);
            qms_proto_hhmm(hours[i].close_s, to, sizeof to);
            cJSON *span = cJSON_CreateArray();
            if (!span || !cJSON_AddItemToArray(a, span)) {
                cJSON_Delete(span);
                break;
            }
            cJSON_AddItemToArray(span, cJSON_CreateString(from));
            cJSON_AddItemToArray(span, cJSON_CreateString(to));
        }
        if (next_open_s >= 0) {
            char at[16];
            qms_proto_hhmm(next_open_s, at, sizeof at);
            cJSON_AddStringToObject(o, "next_open", at);
        }
    }
    if (next_at && *next_at)
        cJSON_AddStringToObject(o, "next_open_at", next_at);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
