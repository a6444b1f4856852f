/* Day replay: a trace of arrivals (examples/day-*.csv) played through the
 * real queue engine and a real SQLite store under a virtual clock, with
 * simulated counter staff. qms-sim (sim.c) is its command line; the tests,
 * bench/bench_eta and qms-plan (manager/, with a staffing plan) use it
 * directly. See docs/sim.md. */
#ifndef QMS_REPLAY_H
#define QMS_REPLAY_H

#include "engine.h"
#include "store.h"
#include "qms/err.h"

#include <stdint.h>
#include <stdio.h>

/* ---- the trace ---- */

typedef struct qms_trace_row {
    int32_t arrive_s;           /* seconds after 07:00 local */
    char service[QMS_CODE_MAX]; /* service code */
    int priority;               /* 0 normal, 1 priority, 2 appointment */
    int32_t service_s;          /* how long the counter takes once the citizen sits down */
    int no_show;                /* 1 = does not answer the call */
    int line;                   /* line in the file (for messages) */
} qms_trace_row;

typedef struct qms_trace {
    qms_trace_row *rows; /* in file order */
    int n;
} qms_trace;

#define QMS_TRACE_MAX_ROWS 1000000

/* Parse trace CSV text: a header naming at least arrive_s, service,
 * priority, service_s, no_show (any order; other columns ignored), then one
 * row per arrival. Fields are plain decimal integers (arrive_s 0..61199,
 * priority 0..2, service_s 0..86400, no_show 0/1) and a service code.
 * On error returns QMS_ERR_INVAL (or NOMEM / TOO_LARGE) and writes a sentence
 * with the line number into err; *out is then empty. */
int qms_trace_parse(const char *text, size_t len, qms_trace *out, char *err, size_t errlen);
int qms_trace_load(const char *path, qms_trace *out, char *err, size_t errlen);
void qms_trace_free(qms_trace *t);

/* ---- the replay ---- */

/* A staffing plan: which counters are open when. Slot i applies from
 * from_s[i] (seconds after 07:00, ascending) until the next slot starts, and
 * the first slot also from the day's start; the last slot's set stays after it
 * (over lunch, after closing, as long as anyone waits). open[i * ncounters +
 * ci] != 0: counter ci (configuration index) is open in slot i. At a slot's
 * start a counter to be closed is paused (its clerk finishes the citizen at
 * the counter, then calls nobody) and a counter to be opened is resumed. */
typedef struct qms_replay_staffing {
    int nslots;
    int ncounters; /* must equal the configuration's */
    const int32_t *from_s;
    const unsigned char *open;
    /* 0: an absent clerk pauses the counter (above). 1: the clerk just walks
     * away and comes back, and the counter stays open in the engine (with
     * counters_start_open, also before the first arrives): open but nobody
     * calls - what the expected wait must not count as serving (docs/eta.md) */
    int leave_open;
} qms_replay_staffing;

typedef struct qms_replay_opts {
    const char *db_path;    /* SQLite file; if it already holds this day, the replay resumes */
    qms_store_sync sync;    /* default FULL, as the controller */
    int32_t date;           /* local day number to replay on */
    int32_t until_s;        /* stop before this second after 07:00; < 0 = play to the end */
    int32_t recall_after_s; /* a no-show is recalled this long after the first call (60) */
    int32_t skip_after_s;   /* ... and skipped this long after the first call (120) */
    const qms_replay_staffing *staffing; /* NULL = every counter open all day */
} qms_replay_opts;

void qms_replay_opts_default(qms_replay_opts *o);

/* One ticket as the replay saw it. Times in seconds after 07:00; -1 = never. */
typedef struct qms_replay_ticket {
    int64_t id;
    char label[16];
    int service; /* index of the service that issued it */
    int priority;
    int32_t arrive_s; /* taken */
    int32_t eta_s;    /* expected wait printed on the ticket */
    int32_t called_s; /* first call */
    int counter;      /* counter id of that call, -1 if never called */
    int32_t start_s;  /* service started (not for a no-show) */
    int32_t done_s;   /* service finished (not for a no-show) */
    int32_t end_s;    /* reached a final state (done, no-show), -1 if not */
    int no_show;      /* ended as a no-show */
    qms_tstate state;
    int32_t les_s;   /* last-to-enter-service predictor at taking, -1 if none */
    int32_t queue_s; /* queue-length predictor at taking, -1 if no counter serves it */
    int trace_row;   /* index into the trace's rows */
} qms_replay_ticket;

typedef struct qms_replay_result {
    qms_replay_ticket *t; /* in the order they were taken (id order) */
    int n;
    int refused; /* trace rows the engine refused (outside hours, cap...) */
    int refused_by[QMS_ERR__COUNT];
    int resumed;          /* 1 if the run continued a day found in the store */
    int32_t resumed_at_s; /* from when */
    int stopped;          /* 1 if it stopped at until_s with work left */
    int64_t commits;      /* store transactions of this run */
    int64_t operations;   /* engine operations that changed state in this run */
    double wall_s;        /* real time this run took */
} qms_replay_result;

/* Replay trace tr for config c. The result is filled even on some errors
 * (what happened until then); free it with qms_replay_result_free. err gets
 * a sentence on failure. */
int qms_replay_run(const qms_config *c, const qms_trace *tr, const qms_replay_opts *o,
                   qms_replay_result *out, char *err, size_t errlen);
void qms_replay_result_free(qms_replay_result *r);

/* The two classical predictors (docs/eta.md) of every ticket in r, from its
 * tickets' service, id, arrive_s, called_s, start_s, done_s and end_s:
 * fills les_s (last-to-enter-service) and queue_s (queue-length). The replay
 * calls it; exposed for the tests. */
void qms_replay_predictors(const qms_config *c, qms_replay_result *r);

/* tickets.csv: one row per ticket, header first. */
int qms_replay_write_csv(const qms_config *c, const qms_replay_result *r, FILE *f);

/* ---- the summary ---- */

typedef struct qms_replay_svc {
    int taken, called, noshow, waiting; /* waiting = never called */
    double wait_mean_s;
    int32_t wait_p90_s;
    double mae_engine_s; /* over its called tickets */
} qms_replay_svc;

typedef struct qms_replay_ctr {
    int served, noshow;
    int64_t busy_s;     /* first call to end, summed */
    double utilisation; /* busy / available (span_s) */
} qms_replay_ctr;

typedef struct qms_replay_summary {
    int tickets, called, noshow, waiting, refused;
    double wait_mean_s;
    int32_t wait_p90_s;
    int32_t last_end_s; /* the last ticket's end: the end of the working day */
    int32_t span_s;     /* staff available: opening hours + serving outside them */
    int mae_n;          /* called tickets the errors are over */
    double mae_engine_s, mae_les_s, mae_queue_s;    /* mean absolute error of the expected wait */
    double bias_engine_s, bias_les_s, bias_queue_s; /* mean (predicted - actual) */
    qms_replay_svc svc[QMS_MAX_SERVICES];
    qms_replay_ctr ctr[QMS_MAX_COUNTERS];
} qms_replay_summary;

void qms_replay_summarize(const qms_config *c, const qms_replay_result *r, qms_replay_summary *s);
/* Print the summary as text for a person, or as one JSON object (json = 1). */
void qms_replay_print_summary(const qms_config *c, const qms_replay_result *r,
                              const qms_replay_summary *s, int json, FILE *f);

#endif
