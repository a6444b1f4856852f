/* What the hall board knows, built only from broker messages: the center's
 * configuration, the recent calls, each counter's state, the per-service
 * statistics and whether the controller is alive. No SDL and no clock in
 * here: the caller passes times in, so tests and the fuzzer drive it. */
#ifndef QMS_DISPLAY_BOARD_H
#define QMS_DISPLAY_BOARD_H

#include "qms/clock.h"
#include "qms/config.h"

#include <stddef.h>
#include <stdint.h>

#define QMS_BOARD_RECENT 20 /* calls remembered (the controller keeps 20) */
#define QMS_BOARD_SEEN 64   /* call keys remembered to drop duplicate events */
#define QMS_BOARD_CONTROLLERS 8
#define QMS_TICKET_MAX 16 /* "A023", longest label accepted + NUL */
#define QMS_NAME_MAX 160

typedef struct qms_board_call {
    char ticket[QMS_TICKET_MAX];     /* "A023" */
    int counter;                     /* counter number */
    char counter_name[QMS_NAME_MAX]; /* "Quầy 5" as the event named it ("" if not) */
    char service[QMS_CODE_MAX];      /* "TP" */
    int recall;                      /* 1 for a recall */
    int64_t at_ms;                   /* when the controller called it */
    int64_t seq;                     /* the day's call sequence number */
} qms_board_call;

typedef enum { QMS_CTR_UNKNOWN = 0, QMS_CTR_OPEN, QMS_CTR_PAUSED, QMS_CTR_CLOSED } qms_ctr_state;

typedef struct qms_board_counter {
    int id;                     /* counter number */
    char name_vi[QMS_NAME_MAX]; /* from the config; "" before it */
    char name_en[QMS_NAME_MAX];
    qms_ctr_state state;         /* from counter/<n>/state */
    char ticket[QMS_TICKET_MAX]; /* ticket called or served, "" none */
    char ticket_state[16];       /* "called", "serving", ... */
    int in_config;               /* listed in the current config */
} qms_board_counter;

typedef struct qms_board_service {
    char code[QMS_CODE_MAX];
    char name_vi[QMS_NAME_MAX];
    char name_en[QMS_NAME_MAX];
    int have_stats; /* a stats message named this service */
    int waiting;    /* people waiting */
    int eta_s;      /* expected wait for a new ticket, -1 unknown */
} qms_board_service;

typedef struct qms_board {
    char site[64];                  /* topic root qms/<site>/ */
    char name_vi[QMS_NAME_MAX * 2]; /* center name */
    char name_en[QMS_NAME_MAX * 2];
    int utc_offset_min; /* for the clock and the "today" of calls */
    int have_config;    /* the controller's retained config is here */
    int nservices;
    qms_board_service services[QMS_MAX_SERVICES];
    int ncounters;
    qms_board_counter counters[QMS_MAX_COUNTERS];
    int nrecent; /* newest first */
    qms_board_call recent[QMS_BOARD_RECENT];
    int64_t stats_at_ms; /* at_ms of the last stats, 0 none */
    struct {
        char id[64];
        int online;
    } controllers[QMS_BOARD_CONTROLLERS]; /* device/controller/<id>/status */
    int ncontrollers;
    qms_fclock clock; /* the controller's clock (its status), shown on the board */
    int64_t seen[QMS_BOARD_SEEN]; /* keys of call events already taken */
    int nseen, seen_next;
} qms_board;

/* What a message changed (bit flags, returned by qms_board_handle). */
enum {
    QMS_BOARD_CHANGED = 1,  /* something on the screen may differ: redraw */
    QMS_BOARD_NEW_CALL = 2, /* a live call event not seen before: show and announce */
};

/* Start empty for topic root qms/<site>/. A local center config (the same
 * file the controller reads) may give names before the retained config
 * arrives; pass NULL for none. */
void qms_board_init(qms_board *b, const char *site, const qms_config *local);

/* Take the center's names, services and counters from a parsed config,
 * keeping what is known of counters that stay. */
void qms_board_apply_config(qms_board *b, const qms_config *c);

/* Feed one message of the topic tree (the full topic "qms/<site>/...").
 * A zero-length payload is a cleared retained topic. Returns the flags
 * above (0 for a message that changes nothing or is not ours), or
 * -QMS_ERR_INVAL for a malformed payload (the board is then unchanged),
 * -QMS_ERR_NOMEM. With QMS_BOARD_NEW_CALL, *call (if not NULL) is the call. */
int qms_board_handle(qms_board *b, const char *topic, const char *payload, size_t len,
                     qms_board_call *call);

/* The controller's liveness as the board knows it: 1 a controller says
 * online, 0 all known controllers said offline, -1 none has said anything. */
int qms_board_controller_online(const qms_board *b);

/* Index of counter id in b->counters, or -1. */
int qms_board_counter_find(const qms_board *b, int id);

/* Parse a call event object text (the payload of qms/<site>/call). QMS_OK
 * or QMS_ERR_INVAL. Exposed for tests and the fuzzer. */
int qms_board_parse_call(const char *payload, size_t len, qms_board_call *out);

#endif
