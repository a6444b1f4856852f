/* The queue engine: the in-memory state machine of one center's day.
 * No I/O. Every operation either refuses with an error and changes nothing,
 * or changes the state and appends what changed to the journal, which the
 * store (store.h) writes in one transaction before anyone is told "done".
 *
 * Ticket life: WAITING -> CALLED -> SERVING -> DONE, or CALLED -> NOSHOW
 * (skip; recallable within the config's noshow_window_s), or CANCELLED.
 * A transfer puts a CALLED/SERVING ticket back to WAITING for another service
 * (or a given counter), keeping its number and its original taking time, so it
 * does not lose its place; it is recorded as a "transfer" event. */
#ifndef QMS_ENGINE_H
#define QMS_ENGINE_H

#include "qms/clock.h"
#include "qms/config.h"

#include <stdint.h>

typedef enum {
    QMS_T_WAITING = 0,
    QMS_T_CALLED,
    QMS_T_SERVING,
    QMS_T_DONE,
    QMS_T_NOSHOW,
    QMS_T_CANCELLED,
} qms_tstate;

typedef enum {
    QMS_C_OPEN = 0, /* calling */
    QMS_C_PAUSED,   /* staff away for a moment */
    QMS_C_CLOSED,   /* not staffed */
} qms_cstate;

typedef struct qms_ticket {
    int64_t id;       /* unique forever (store rowid) */
    int32_t day;      /* local day number of issue */
    int orig_service; /* service that issued the number (index) */
    int service;      /* service it now waits for (differs after a transfer) */
    int32_t number;   /* number within orig_service's day */
    char label[16];   /* printed number, "A023" */
    int priority;     /* 0 normal, 1 priority (elderly, disabled...), 2 appointment */
    char appt[40];    /* appointment reference, "" if none */
    qms_tstate state;
    int counter;             /* counter index of the last call, -1 if never called */
    int target_counter;      /* counter index it was transferred to, -1 if any */
    int64_t taken_ms;        /* when taken (kept across transfers) */
    int64_t first_called_ms; /* first call, 0 if never */
    int64_t called_ms;       /* latest call or recall, 0 if never */
    int64_t start_ms;        /* service started, 0 if not */
    int64_t end_ms;          /* reached a final state, 0 if not */
    int ncalls;              /* calls + recalls */
    int32_t eta_s;           /* expected wait given at taking (seconds) */
    int32_t eta_now_s;       /* current expected wait from now (kept fresh), -1 if not waiting */
    int rating;              /* 0 = none, 1..rating_levels (highest = very satisfied) */
    int transfers;           /* how many times it was transferred (persist it) */
    /* what the citizen said of their priority ("elderly", "disabled",
     * "pregnant", "child", "priority" for a bare true); "" for a normal or
     * appointment ticket. One calling class (1) whatever the kind; recorded
     * for the report (docs/report.md) */
    char priority_kind[12];
    char staff[64]; /* who was signed in at the counter that last called it, "" if nobody */
} qms_ticket;

typedef struct qms_counter_state {
    qms_cstate state;
    int64_t current;   /* ticket id being called/served, 0 if none */
    int64_t last_done; /* last ticket finished here (what "rate" applies to), 0 if none */
    int normal_streak; /* normal tickets called since the last priority one (interleave) */
    int64_t since_ms;  /* when the state last changed */
    char staff[64];    /* who is signed in, "" if nobody said */
    /* the last action at it today (call, recall, start, done, skip,
     * transfer, rate, pause/resume/close, sign-in), 0 if none: with the
     * oldest ticket it could call, what says whether it is staffed
     * (docs/eta.md, "Staffed") */
    int64_t acted_ms;
} qms_counter_state;

/* What the journal records: one entry per state change. */
typedef enum {
    QMS_EV_TAKE = 0,
    QMS_EV_CALL, /* next or call-by-number */
    QMS_EV_RECALL,
    QMS_EV_START,
    QMS_EV_DONE,
    QMS_EV_SKIP, /* no-show */
    QMS_EV_TRANSFER,
    QMS_EV_CANCEL,
    QMS_EV_RATE,
    QMS_EV_COUNTER, /* counter state change (pause/resume/close/open) */
    QMS_EV_NEW_DAY,
} qms_event_kind;

typedef struct qms_event {
    qms_event_kind kind;
    int64_t ticket; /* ticket id, 0 for counter/day events */
    int counter;    /* counter index, -1 if none */
    int64_t at_ms;
    int arg;         /* rating level; transfer: to-service index; counter: new qms_cstate */
    int arg2;        /* transfer: from-service index; else 0 */
    qms_ticket snap; /* the ticket right after this event (when ticket != 0): the store
                      * writes this row, so a day rollover that drops tickets from
                      * memory still commits them */
} qms_event;

typedef struct qms_engine qms_engine;

typedef struct qms_take_result {
    const qms_ticket *ticket; /* valid until the next engine call */
    int ahead;                /* people who will be called before this ticket */
    int32_t eta_s;            /* expected wait, seconds */
} qms_take_result;

/* Create an engine for config c (not copied; must outlive the engine) and
 * clock. The day starts as the clock's current local day. */
int qms_engine_new(const qms_config *c, const qms_clock *clock, qms_engine **out);
void qms_engine_free(qms_engine *e);

const qms_config *qms_engine_config(const qms_engine *e);
int32_t qms_engine_day(const qms_engine *e);

/* Roll over to a new day if the clock says so (local day changed past
 * day_reset). Tickets still open are cancelled; numbers restart. Returns 1 if
 * it rolled over, 0 if not. */
int qms_engine_tick(qms_engine *e);

/* --- operations; each returns QMS_OK or a refusal (err.h) and changes nothing on refusal --- */
int qms_engine_take(qms_engine *e, int service, int priority, const char *appt,
                    qms_take_result *out);
/* The same, recording the priority kind (qms_priority_kind_valid) of a
 * priority (1) ticket; NULL or "" means "priority". */
int qms_engine_take_kind(qms_engine *e, int service, int priority, const char *kind,
                         const char *appt, qms_take_result *out);
/* Whether s is one of the priority kinds a ticket can carry. */
int qms_priority_kind_valid(const char *s);
/* Call the next ticket for counter index ci according to the policy. If the
 * counter still has a CALLED or SERVING ticket, that one is finished first
 * (DONE; a CALLED one counts as started when it was called), as pressing
 * "next" on a keypad means "done with this citizen, next please". */
int qms_engine_next(qms_engine *e, int ci, const qms_ticket **out);
/* Announce the counter's current (called) ticket again. */
int qms_engine_recall(qms_engine *e, int ci, const qms_ticket **out);
/* Call a given number (label) at counter ci: a WAITING ticket, or a NOSHOW
 * one still inside its recall window. */
int qms_engine_call(qms_engine *e, int ci, const char *label, const qms_ticket **out);
/* The citizen sat down: CALLED -> SERVING. */
int qms_engine_start(qms_engine *e, int ci);
/* Finish the current ticket: CALLED/SERVING -> DONE. */
int qms_engine_done(qms_engine *e, int ci, const qms_ticket **out);
/* The called citizen did not come: CALLED -> NOSHOW. */
int qms_engine_skip(qms_engine *e, int ci, const qms_ticket **out);
/* Send the current ticket to service to_si (or -1 = same) and/or counter
 * to_ci (or -1 = any counter serving the service). */
int qms_engine_transfer(qms_engine *e, int ci, int to_si, int to_ci, const qms_ticket **out);
/* Rate the counter's current or last finished ticket, 1..rating_levels. */
int qms_engine_rate(qms_engine *e, int ci, int level, const qms_ticket **out);
/* How long after its end a finished ticket can still be rated by name. */
#define QMS_RATE_LATE_MS (10 * 60 * 1000)
/* Rate the ticket labelled label at counter ci: the counter's current ticket,
 * or its last finished one (even after the next call) if it ended at most
 * QMS_RATE_LATE_MS ago. QMS_ERR_UNKNOWN_TICKET when label is neither,
 * QMS_ERR_BAD_STATE when it is the last finished one but too long ago. */
int qms_engine_rate_ticket(qms_engine *e, int ci, const char *label, int level,
                           const qms_ticket **out);
/* Cancel a WAITING ticket by id (e.g. its printing failed). */
int qms_engine_cancel(qms_engine *e, int64_t ticket_id);
int qms_engine_pause(qms_engine *e, int ci);
int qms_engine_resume(qms_engine *e, int ci); /* paused or closed -> open */
int qms_engine_close(qms_engine *e, int ci);  /* refused while a ticket is called/served */
int qms_engine_set_staff(qms_engine *e, int ci, const char *staff);

/* --- queries --- */
const qms_ticket *qms_engine_ticket(const qms_engine *e, int64_t id);
/* Today's ticket with that printed number; the digits may be written with
 * more or fewer leading zeros ("A23", "A0023" find "A023"). NULL if none. */
const qms_ticket *qms_engine_find_label(const qms_engine *e, const char *label);
const qms_counter_state *qms_engine_counter(const qms_engine *e, int ci);
/* Today's tickets in id order (includes finished ones). */
int qms_engine_ticket_count(const qms_engine *e);
const qms_ticket *qms_engine_ticket_at(const qms_engine *e, int i);
/* Waiting tickets that counter ci would call, in the order it would call them
 * now; fills up to max ids, returns how many there are in all. */
int qms_engine_waiting_for_counter(qms_engine *e, int ci, int64_t *ids, int max);
/* How many waiting-list entries the engine has examined so far (pick, the
 * forecast, list scans): a cost counter, for tests that check an operation
 * does not scan the queue. */
uint64_t qms_engine_work(const qms_engine *e);

typedef struct qms_service_stats {
    int waiting;            /* tickets waiting now */
    int32_t longest_wait_s; /* the longest current wait */
    int32_t eta_s;          /* expected wait for a ticket taken now */
    int taken, served, noshow, transferred;
    int32_t mean_wait_s;    /* mean wait of tickets called today */
    int32_t mean_service_s; /* the estimate in use */
} qms_service_stats;
int qms_engine_service_stats(qms_engine *e, int si, qms_service_stats *out);
/* Whether counter ci counts as staffed now (docs/eta.md, "Staffed"): it is
 * open and has not left anyone it could call waiting, while idle, longer
 * than staffed_grace_s. 0 for an unknown counter. */
int qms_engine_counter_staffed(qms_engine *e, int ci);
/* Recompute the expected wait of every waiting ticket (eta_now_s). */
void qms_engine_refresh_etas(qms_engine *e);

/* --- journal: what changed since the last clear, for the store --- */
int qms_engine_journal_len(const qms_engine *e);
const qms_event *qms_engine_journal_at(const qms_engine *e, int i);
void qms_engine_journal_clear(qms_engine *e);

/* --- restoring from the store (store.c uses these; not for other callers) --- */
/* Set the engine's day and id sequence; clears tickets. */
int qms_engine_restore_begin(qms_engine *e, int32_t day, int64_t next_id);
/* Add a ticket exactly as it was stored (the store gives service indices). */
int qms_engine_restore_ticket(qms_engine *e, const qms_ticket *t);
int qms_engine_restore_counter(qms_engine *e, int ci, const qms_counter_state *cs);
/* Rebuild queues and estimates after the last restore_ticket. */
int qms_engine_restore_end(qms_engine *e);
int64_t qms_engine_next_id(const qms_engine *e);

const char *qms_tstate_name(qms_tstate s);    /* "waiting", "called", ... */
const char *qms_cstate_name(qms_cstate s);    /* "open", "paused", "closed" */
const char *qms_event_name(qms_event_kind k); /* "take", "call", ... */

#endif
