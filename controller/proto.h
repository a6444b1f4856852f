/* The wire format of docs/protocol.md: topic recognition, request decoding
 * and validation, request encoding (for clients and the fuzz round trip) and
 * the refusal reply. No engine and no I/O, so the fuzz target drives it alone. */
#ifndef QMS_PROTO_H
#define QMS_PROTO_H

#include "qms/config.h"

#include <stddef.h>
#include <stdint.h>

#define QMS_PROTO_MAX_PAYLOAD 8192 /* bytes; larger requests are refused (too_large) */
#define QMS_PROTO_REQ_MAX 64       /* bytes of a request id */

typedef enum {
    QMS_TOPIC_NONE = 0,    /* not a request topic of this site */
    QMS_TOPIC_TAKE,        /* qms/<site>/ticket/take */
    QMS_TOPIC_CANCEL,      /* qms/<site>/ticket/cancel */
    QMS_TOPIC_COUNTER_CMD, /* qms/<site>/counter/<n>/cmd */
    QMS_TOPIC_BOOK_SLOTS,  /* qms/<site>/booking/slots */
    QMS_TOPIC_BOOK_MAKE,   /* qms/<site>/booking/make */
    QMS_TOPIC_BOOK_CANCEL, /* qms/<site>/booking/cancel */
} qms_topic_kind;

typedef enum {
    QMS_OP_TAKE = 0,
    QMS_OP_CANCEL,
    QMS_OP_NEXT,
    QMS_OP_RECALL,
    QMS_OP_CALL,
    QMS_OP_START,
    QMS_OP_DONE,
    QMS_OP_SKIP,
    QMS_OP_TRANSFER,
    QMS_OP_RATE,
    QMS_OP_PAUSE,
    QMS_OP_RESUME,
    QMS_OP_CLOSE,
    QMS_OP_OPEN,
    QMS_OP_STATUS,
    QMS_OP_BOOK_SLOTS,  /* booking/slots: free places per slot (read only) */
    QMS_OP_BOOK_MAKE,   /* booking/make */
    QMS_OP_BOOK_CANCEL, /* booking/cancel */
    QMS_OP__COUNT
} qms_op;

typedef struct qms_request {
    qms_op op;
    char req[QMS_PROTO_REQ_MAX + 1]; /* request id; "" when it could not be read */
    int en;                          /* "lang":"en": messages in English */
    int counter;                     /* counter number from the topic (counter ops), else 0 */
    char service[QMS_CODE_MAX];      /* take: the service; transfer: target service or "" */
    int priority;                    /* take: 0 normal, 1 priority class, 2 appointment */
    char priority_kind[12];          /* take: the class named ("elderly"...), "" if none */
    char appt[40];                   /* take: appointment reference or "" */
    char kiosk[64];                  /* take: the kiosk's id or "" (logged) */
    char ticket[16];                 /* call: the number; cancel: the number (if no id); rate: the ticket rated ("" = current or last done) */
    int64_t id;                      /* cancel: ticket id, 0 if given by number */
    int to_counter;                  /* transfer: counter number, 0 = none given */
    int level;                       /* rate: 1..rating_levels */
    char staff[64];                  /* open: who is at the counter */
    int has_staff;                   /* open: "staff" was given */
    char code[64];                   /* open: the staff member's sign-in code ("" = none);
                                        booking/cancel: the booking code */
    char reason[32];                 /* cancel: why, e.g. "print_failed" */
    char cccd[16];                   /* take, booking make/cancel: the citizen's CCCD number
                                        (checked by the controller: 12 digits; never logged) */
    char day[16];                    /* booking: "YYYY-MM-DD" (checked by the controller) */
    char slot[8];                    /* booking make: "HH:MM" */
} qms_request;

/* Which request topic this is, for site. For counter commands OUT: counter is
 * the number in the topic, or -1 when that segment is not a number. */
qms_topic_kind qms_proto_topic(const char *topic, const char *site, int *counter);

/* May a reply go to this response topic? Only under qms/<site>/reply/<client>
 * (one non-empty segment: the requester's client id, which the broker's ACL
 * pattern qms/<site>/reply/%c/# lets only that client read), optionally
 * deeper (qms/<site>/reply/<client>/...), never with a wildcard and never an
 * empty level. */
typedef enum {
    QMS_RT_OK = 0,
    QMS_RT_OUTSIDE,  /* not under qms/<site>/reply/<client> */
    QMS_RT_WILDCARD, /* holds + or # (a reply cannot be published there) */
} qms_rt_check;
qms_rt_check qms_proto_reply_topic(const char *topic, const char *site);

/* Decode and validate a request body (any bytes, len of them) that came on a
 * topic of the given kind. QMS_OK, or QMS_ERR_INVAL (not UTF-8 JSON, not an
 * object, a field missing or of the wrong type), QMS_ERR_TOO_LARGE (payload
 * or a string too long), QMS_ERR_UNKNOWN_OP, QMS_ERR_UNKNOWN_COUNTER (counter
 * segment of the topic not a number). Even on failure OUT: out->req holds the
 * request id when it could be read, for the refusal; why gets a short
 * English reason for the log. */
int qms_proto_decode(qms_topic_kind kind, int counter, const char *payload, size_t len,
                     qms_request *out, char *why, size_t whylen);

/* The JSON body of a request (what a client publishes); qms_free it. NULL on
 * allocation failure. Decoding it gives back the same request. */
char *qms_proto_encode_request(const qms_request *r);

/* A refusal: {"req":..,"error":"<code>","message":"<text>"}; req may be ""
 * (then omitted). qms_free it. */
char *qms_proto_error_reply(const char *req, int err, int en);

/* The same with a message of the caller's (a refusal that can say more than
 * its code's words, e.g. the rating scale); message NULL = the code's words. */
char *qms_proto_error_reply_text(const char *req, int err, int en, const char *message);

/* The same, for outside_hours: also "hours":[["07:30","11:30"],...] (the
 * service's issuing hours, local time, nhours of them) and, when next_open_s
 * >= 0, "next_open":"13:30" (the next opening today). */
char *qms_proto_error_reply_hours(const char *req, int err, int en, const char *message,
                                  const qms_span *hours, int nhours, int32_t next_open_s);
/* The same with "next_open_at":"YYYY-MM-DD HH:MM" (the next opening on any
 * day, from the calendar) when next_at is not NULL or "". */
char *qms_proto_error_reply_when(const char *req, int err, int en, const char *message,
                                 const qms_span *hours, int nhours, int32_t next_open_s,
                                 const char *next_at);

/* "hh:mm" of a local second-of-day (86400 is "24:00"); out holds >= 6 bytes. */
void qms_proto_hhmm(int32_t sec, char *out, size_t outlen);

const char *qms_op_name(qms_op op);     /* "take", "next", ... */
int qms_op_from_name(const char *name); /* qms_op, or -1 */
/* Does the op change state (and so has its reply remembered under its req)? */
int qms_op_changes_state(qms_op op);

#endif
