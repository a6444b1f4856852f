/* qms-counter's side of the protocol (docs/protocol.md): building counter
 * requests and decoding what the controller sends back or publishes — the
 * reply to a request, the retained counter state, the stats, call events and
 * the controller's device status. Decoding never trusts its input: every
 * field is optional, type-checked and length-bounded, and unknown fields are
 * ignored, so a newer controller still works with an older client. */
#ifndef QMS_COUNTER_MSG_H
#define QMS_COUNTER_MSG_H

#include "qms/config.h"

#include <stddef.h>
#include <stdint.h>

#define COUNTER_QUEUE_MAX 50 /* waiting tickets a list may hold (more are counted only) */
#define COUNTER_REQ_MAX 64   /* protocol limit of "req" */

/* The operations qms-counter sends. */
typedef enum {
    COUNTER_OP_NEXT = 0,
    COUNTER_OP_RECALL,
    COUNTER_OP_CALL,
    COUNTER_OP_START,
    COUNTER_OP_DONE,
    COUNTER_OP_SKIP,
    COUNTER_OP_TRANSFER,
    COUNTER_OP_RATE,
    COUNTER_OP_PAUSE,
    COUNTER_OP_RESUME,
    COUNTER_OP_CLOSE,
    COUNTER_OP_OPEN,
    COUNTER_OP_STATUS,
    COUNTER_OP__COUNT
} counter_op;

/* A request before it is encoded. Fields not used by op are ignored. */
typedef struct counter_req {
    counter_op op;
    char req[COUNTER_REQ_MAX + 1]; /* request id, unique per request */
    char ticket[16];               /* call: the number to call, "A023"; rate: the ticket rated ("" = current or last done) */
    char to_service[QMS_CODE_MAX]; /* transfer: service code, "" = same service */
    int to_counter;                /* transfer: counter number, 0 = any */
    int level;                     /* rate: 1..rating_levels */
    char staff[64];                /* open: who signs in, "" = nobody said */
    char code[64];                 /* open: the staff member's sign-in code, "" = none */
    int lang_en;                   /* ask for English refusal messages */
} counter_req;

/* One waiting ticket of a "queue" list (docs/protocol.md): objects with the
 * fields below. A list of bare labels ("A024", what earlier
 * controllers sent) is read too: service "", priority 0, taken_ms 0. */
typedef struct counter_qentry {
    char ticket[16];            /* "A024" */
    char service[QMS_CODE_MAX]; /* service it waits for, "" if not sent */
    int priority;               /* 0 normal, 1 priority class, 2 appointment */
    int64_t taken_ms;           /* when taken (controller's clock), 0 if not sent */
    char appt[40];              /* appointment reference, "" if none */
} counter_qentry;

/* A reply to a counter request, or a retained counter state (same shape). */
typedef struct counter_info {
    char req[COUNTER_REQ_MAX + 1]; /* "" in a retained state */
    int err;                       /* QMS_OK, or the refusal (err.h code) */
    char error_code[32];           /* the refusal's code as sent, "" if none */
    char message[256];             /* the refusal's text for a person */
    int counter;                   /* counter number, -1 if absent */
    char state[16];                /* "open", "paused", "closed", "" if absent */
    char ticket[16];               /* current / acted-on ticket, "" if none */
    int has_current;               /* the reply said which ticket is current now */
    char current[16];              /* ... that ticket ("" = none; e.g. after "done") */
    char ticket_state[16];         /* "called", "serving", "done", ... */
    char service[QMS_CODE_MAX];    /* the ticket's service */
    char staff[64];                /* who is at the counter */
    int64_t since_ms;              /* state since, 0 if absent */
    int64_t at_ms;                 /* the controller's clock when it answered, 0 if absent */
    int waiting;                   /* tickets waiting for this counter, -1 if absent */
    int has_queue;                 /* a "queue" array was present */
    int queue_len;                 /* how many the list stands for ("queue_len"), -1 if absent */
    int nqueue;                    /* entries filled in queue[] */
    counter_qentry queue[COUNTER_QUEUE_MAX];
} counter_info;

/* Per service figures of the retained stats. */
typedef struct counter_svc_stats {
    char code[QMS_CODE_MAX];
    int waiting;            /* -1 if absent */
    int32_t longest_wait_s; /* -1 if absent */
    int32_t eta_s;          /* -1 if absent */
} counter_svc_stats;

/* The retained stats (qms/<site>/stats); absent numbers are -1. */
typedef struct counter_stats {
    int64_t at_ms; /* the controller's clock when published, 0 if absent */
    char day[11];
    int taken, served, noshow;
    int32_t mean_wait_s;
    int ratings;
    double satisfied_share; /* < 0 when null or absent */
    int nservices;
    counter_svc_stats services[QMS_MAX_SERVICES];
} counter_stats;

/* A call event (qms/<site>/call). */
typedef struct counter_call {
    char ticket[16];
    int counter; /* -1 if absent */
    int recall;  /* 1 for a recall */
    int64_t at_ms;
    int64_t seq; /* -1 if absent */
} counter_call;

/* Name of an op in the protocol ("next", ...), NULL if out of range. */
const char *counter_op_name(counter_op op);
/* Inverse of counter_op_name; -1 if unknown. */
int counter_op_parse(const char *name);

/* Encode r as the JSON body of a counter request. Returns a qms_malloc'd
 * NUL-terminated string or NULL (no memory, or a field that the protocol
 * would refuse: empty req, rate level < 1, call without a ticket). */
char *counter_req_encode(const counter_req *r);

/* Decode a reply or a retained counter state. QMS_OK with *out filled (a
 * refusal is QMS_OK too, with out->err set), or QMS_ERR_INVAL if the payload
 * is not a JSON object; out is then zeroed (counter/waiting -1). */
int counter_info_decode(const char *json, size_t len, counter_info *out);
/* Decode the retained stats. QMS_OK or QMS_ERR_INVAL. */
int counter_stats_decode(const char *json, size_t len, counter_stats *out);
/* Decode a call event. QMS_OK, or QMS_ERR_INVAL if not an object or no ticket. */
int counter_call_decode(const char *json, size_t len, counter_call *out);
/* Decode the retained recent calls ({"calls":[<call>, ...]}, newest first):
 * up to max entries into out (entries that are not objects or have no ticket
 * are left out), their number in *n. QMS_OK, or QMS_ERR_INVAL (*n 0) if not an
 * object with a "calls" array. */
int counter_calls_decode(const char *json, size_t len, counter_call *out, int max, int *n);
/* Decode a device status: returns 1 for "online", 0 for anything else
 * (offline, or garbage: a device that says nothing sensible is not online). */
int counter_status_online(const char *json, size_t len);

/* One active alert of the retained set (qms/<site>/alerts, docs/protocol.md). */
#define COUNTER_ALERTS_MAX 32
typedef struct counter_alert {
    char kind[16];      /* "wait", "cap", "counter_paused", "device_offline", "printer" */
    char subject[96];   /* service code, counter number, or "<device kind>/<id>" */
    int critical;       /* level "critical" (else a warning) */
    char message_vi[256];
    char message_en[256];
    int acked;          /* someone acknowledged it */
} counter_alert;

/* Decode the retained alert set: up to max alerts into out (entries without
 * a kind or a subject are left out), their number in *n. QMS_OK, or
 * QMS_ERR_INVAL (*n 0) if not an object with an "alerts" array. */
int counter_alerts_decode(const char *json, size_t len, counter_alert *out, int max, int *n);
/* Does alert a concern the clerk at counter number `counter` of cfg? A
 * service's wait or cap alert for a service the counter serves, the counter's
 * own pause, and its own devices (counter/<n>, counter/<n>-...). 1 or 0. */
int counter_alert_concerns(const counter_alert *a, int counter, const qms_config *cfg);

#endif
