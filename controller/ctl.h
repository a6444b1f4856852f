/* qms-controller internals: the one struct of global state and the parts of
 * the daemon. Single-threaded: everything runs in the event loop. Data flows
 * one way: request -> dispatch -> engine -> store commit -> publish.
 *   controller_main.c      options, event loop, signals
 *   controller_dispatch.c  requests -> engine -> replies held in the batch
 *   controller_batch.c     the batch: held replies (de-dup index), call events
 *   controller_view.c      what is derived from the engine's journal: waiting
 *                          counts, recent calls, counter state JSON
 *   controller_publish.c   the flush (commit, then replies and events), the
 *                          retained topics and the timers
 *   controller_ticket.c    per-ticket status for the citizen's page (token topics)
 *   controller_hourly.c    today hour by hour (qms/<site>/stats/hourly)
 *   controller_report.c    reports (qms_report's CSV) on request, in pages
 *   controller_alerts.c    alerts (alerts.c derives them): device status in,
 *                          qms/<site>/alerts out, alert/ack requests
 *   controller_stream.c    the event stream for the province (qms/<site>/stream,
 *                          numbered by the store's seq) and its replay requests
 * dispatch and publish both use view and batch; neither calls the other. */
#ifndef QMS_CTL_H
#define QMS_CTL_H

#include "engine.h"
#include "proto.h"
#include "staff.h"
#include "store.h"

#include "qms/clock.h"
#include "qms/config.h"
#include "qms/mqtt.h"

#include <signal.h>
#include <stdint.h>

#define CTL_RECENT 20
#define CTL_TOKEN_LEN 22 /* a ticket's token: 128 bits in base64url */ /* calls kept in qms/<site>/calls/recent */

/* A reply held back until the batch it belongs to is committed. */
typedef struct ctl_pending {
    char *topic; /* the request's response topic */
    void *corr;  /* its correlation data (may be NULL) */
    int corr_len;
    char *body; /* reply JSON */
    char *key;  /* de-dup key (when the reply is remembered), for same-batch repeats */
    qms_mqtt *via; /* the session the request came in on: the reply leaves on it */
} ctl_pending;

/* The last known state of a ticket today, to keep waiting counts per service
 * up to date from the journal in O(1) per event. */
typedef struct ctl_tstate {
    int64_t id;
    short service;
    short state; /* qms_tstate */
} ctl_tstate;

typedef struct qms_ctl {
    /* what we were started with */
    const char *config_path;   /* --config */
    const char *db_path;       /* --db */
    const char *site_override; /* --site, or NULL */
    qms_mqtt_opts mopts;       /* broker connection */
    char site[64];             /* topic root qms/<site>/ */
    char client_id[128];

    /* The controller's clock: the wall clock (shifted by --clock) read at
     * the anchor, advanced by CLOCK_MONOTONIC since. Order never depends on
     * it (ticket ids do that) and durations are monotonic deltas; a jump of
     * the wall clock is logged, and followed only when nothing is open. */
    qms_clock clock;
    int64_t clock_offset_ms;
    int64_t anchor_wall_ms, anchor_mono_ms;
    int64_t jump_logged_ms;       /* the wall - clock difference last logged */
    const char *wall_offset_file; /* tests: milliseconds added to the wall clock */
    int64_t next_clock_check_ms;  /* monotonic */

    qms_config *cfg;
    ctl_staff_list staff; /* center.json "staff": who may sign in at a counter */
    qms_engine *eng;
    qms_store *store;
    qms_mqtt *mqtt;
    /* A second broker session for the counters' commands only: the broker
     * keeps one queue per session, so a clerk's "next" never waits behind a
     * burst of kiosk takes queued for the main session (issue 9). */
    qms_mqtt *mqtt_cmd;
    /* the log's fdatasync on its own thread (controller_sync.c): commits
     * made / known on disk; publications wait while made > on disk */
    struct ctl_sync *sync;
    uint64_t commit_gen, synced_gen;
    qms_mqtt *via; /* the session of the message being handled */
    char cmd_client_id[160];

    /* the batch: everything done since the last commit */
    ctl_pending *pend;
    int npend, cappend;
    int *batch_idx;  /* de-dup index over pend: pend index + 1, 0 = empty */
    int batch_cap;   /* its size, a power of two */
    int nremembered; /* replies queued in the store, waiting for the commit */
    char **events;   /* call events (JSON) derived from the journal, published after the commit */
    int nevents, capevents;
    int fatal;            /* the store failed: answer db_error and exit */
    int undo;             /* a commit failed for want of space: reload the engine from the store */
    int disk_low;         /* free space under CTL_DISK_RESERVE: takes are refused */
    int64_t disk_free;    /* bytes free for the store, at the last look (-1: unknown) */
    int64_t disk_reserve; /* --disk-reserve: takes stop with less free (CTL_DISK_RESERVE) */
    char refusal[320];    /* a refusal's own message for the request in hand ("" = its code's) */
    const qms_span *refusal_hours; /* outside_hours: the service's hours, for the reply */
    int refusal_nhours;
    int32_t refusal_next_open_s; /* the next opening today, -1 if none */
    qms_span refusal_span[QMS_MAX_SPANS]; /* the day's hours refusal_hours points to */
    char refusal_next_at[20];    /* the next opening, "YYYY-MM-DD HH:MM", "" if none */
    int32_t refusal_window[2];   /* appt_early/appt_late: the check-in window (local s) */
    int refusal_has_window;
    int refusal_retry_s;         /* rate_limited: seconds until the client may ask again */
    char req_client[128];        /* the client id of the request in hand (its reply topic's
                                  * qms/<site>/reply/<client> segment), "" without one */
    int jscanned;                /* journal entries already turned into events and counts */

    /* retained state bookkeeping */
    char *recent[CTL_RECENT]; /* newest first */
    int nrecent;
    int64_t call_seq;         /* calls + recalls today */
    char **ctr_last;          /* last published counter state JSON, per counter index */
    unsigned char *ctr_dirty; /* publish this counter's state at the next flush */
    uint32_t *ctr_qhash;      /* hash of the last published counter queue */
    int nctr;                 /* size of the per-counter arrays */
    int *svc_waiting;         /* waiting tickets per service index */
    ctl_tstate *ts;           /* today's tickets, in id order */
    int nts, capts;
    int republish; /* (re)connected: publish all retained state */
    int recent_dirty, stats_dirty, waiting_dirty;
    int64_t last_stats_ms, next_stats_ms, next_tick_ms, next_eta_ms, next_queue_ms; /* monotonic */
    int64_t started_ms;
    /* qms/<site>/counters: every counter's state in one message for web
     * clients, at most once per web_ms, only after a state changed */
    int web_dirty, web_ms;
    int64_t next_web_ms; /* monotonic */

    /* alerts (controller_alerts.c) */
    struct qms_alerts *alerts;
    int alerts_dirty;     /* 1: evaluate now; 2: also publish the set */
    int alerts_connected; /* connected at the last run (a reconnect republishes) */
    int64_t next_alerts_ms; /* monotonic */

    /* the citizen's ticket page (controller_ticket.c) */
    unsigned char tk_secret[32]; /* HMAC key of the tokens, kept in the store */
    uint32_t *tk_hash;           /* hash of the status last published, per ticket index */
    unsigned char *tk_final;     /* 1: its last state (done, no-show, cancelled) is published */
    int tk_n, tk_cap;
    int32_t tk_day;
    int tk_connected;
    uint64_t tk_commits;
    int64_t tk_last_ms, tk_next_ms; /* monotonic */
    int64_t tk_cost_ms;             /* how long the last run took */

    /* bookings (controller_booking.c) */
    struct ctl_booking *bk;

    /* today hour by hour (controller_hourly.c) */
    int hr_connected;
    uint64_t hr_commits;
    int64_t hr_last_ms; /* monotonic */

    /* counters for the log and the status topic */
    uint64_t nreq, nrefused, ndup, ncommits, nmalformed;
    uint64_t nbadrt;           /* requests refused for their response topic */
    int batch_reqs, max_batch; /* requests since the last flush; the most there were */
    uint32_t badrt_seen[256];  /* hashes of response topics already logged (0 = empty) */
    int nbadrt_seen;

    /* the event stream (controller_stream.c) */
    int64_t stream_seq; /* the last events.seq published on qms/<site>/stream */
    void *stream_st;    /* its prepared query (sqlite3_stmt *) */

    volatile sig_atomic_t stop, reload;
} qms_ctl;

/* Takes are refused (db_error) while the store's file system has less than
 * this free, so that what is already issued can still be called and served. */
#define CTL_DISK_RESERVE (1024 * 1024)
#define CTL_WEB_COUNTERS_MS 150 /* qms/<site>/counters at most this often */

/* controller_dispatch.c */
void ctl_on_message(void *ud, const qms_mqtt_msg *msg);
/* The same for the counters' session (c->mqtt_cmd): replies leave on it. */
void ctl_on_cmd_message(void *ud, const qms_mqtt_msg *msg);

/* controller_batch.c */
/* Hold a reply for after the commit (body is taken over); key is its de-dup
 * key when the reply is remembered, else NULL. */
void ctl_batch_add_reply(qms_ctl *c, const qms_mqtt_msg *msg, char *body, const char *key);
/* The held reply of a repeat within the batch, or NULL. */
const ctl_pending *ctl_batch_find(const qms_ctl *c, const char *key);
/* Queue a call event (JSON, taken over) to publish after the commit. */
void ctl_batch_add_event(qms_ctl *c, char *json);
void ctl_batch_send_replies(qms_ctl *c);
/* Forget the batch (after it was answered). */
void ctl_batch_clear(qms_ctl *c);
void ctl_batch_free(qms_ctl *c);

/* controller_view.c */
/* "qms/<site>/<suffix>" (one of two static buffers) */
const char *ctl_topic(const qms_ctl *c, const char *suffix);
/* Rebuild the bookkeeping (ticket states, waiting counts, call seq, recent
 * calls) from the engine, after a load or a reload. */
int ctl_state_rebuild(qms_ctl *c);
/* Per-counter arrays sized for the current config. */
int ctl_state_resize(qms_ctl *c);
void ctl_state_free(qms_ctl *c);
/* Derive waiting counts and call events from the journal entries not seen
 * yet. Called after every operation (replies carry current counts) and
 * before the commit. */
void ctl_scan_journal(qms_ctl *c);
/* Build JSON text of a counter's state / stats (qms_free). */
char *ctl_counter_json(qms_ctl *c, int ci, int with_queue);
/* With with_queue, add counter ci's waiting list to o (a cJSON *): "queue",
 * the first entries in call order as objects (ticket, service, priority,
 * taken_ms, appointment), and "queue_len", how many wait in all. */
void ctl_add_counter_fields(qms_ctl *c, void *o, int ci, int with_queue);
int ctl_counter_waiting(const qms_ctl *c, int ci);
/* Add a call event (JSON, taken over) to the recent calls, newest first. */
void ctl_recent_push(qms_ctl *c, char *json);
/* cJSON_PrintUnformatted and delete (NULL-safe). */
char *ctl_print_free(void *cjson);

/* controller_publish.c */
/* The before-sleep hook: derive events from the journal, commit the batch,
 * then publish replies, call events and changed retained state. Returns
 * QMS_OK, or the store's error after answering the batch with db_error. */
int ctl_flush(qms_ctl *c);

/* controller_sync.c */
int ctl_sync_start(qms_ctl *c);
int ctl_sync_fd(const qms_ctl *c);       /* readable when a sync finished; -1 without */
void ctl_sync_request(qms_ctl *c, uint64_t gen);
void ctl_sync_gate(qms_ctl *c);          /* gate both sessions while a commit waits */
int ctl_sync_poll(qms_ctl *c);           /* release what is on disk; 1 = a sync failed */
int ctl_sync_wait(qms_ctl *c);           /* until every commit is on disk, then release */
void ctl_sync_stop(qms_ctl *c);
/* Timer work: day rollover, statistics, expected waits, waiting lists.
 * busy: requests are waiting to be read; publishing that can wait is put
 * off (up to a second past its time). */
void ctl_timers(qms_ctl *c, int busy);
/* Milliseconds until the next timer is due (0..1000). */
int ctl_next_timer_ms(const qms_ctl *c);
void ctl_on_connect(void *ud, int connected);

/* controller_ticket.c */
int ctl_ticket_init(qms_ctl *c); /* the token secret: read from the store, or made */
void ctl_ticket_free(qms_ctl *c);
void ctl_ticket_token(const qms_ctl *c, int64_t id, char out[CTL_TOKEN_LEN + 1]);
/* Add "token" and "url" (when the center has a ticket_url) to a take reply (a cJSON *). */
void ctl_ticket_take_fields(qms_ctl *c, const qms_ticket *t, void *reply);
/* Publish the ticket statuses that changed (after ctl_flush). */
void ctl_tickets_run(qms_ctl *c);

/* controller_booking.c */
/* Booking rules, the CCCD hash key (made if missing) and the bookings from the
 * store; registers the store hook that writes them with each commit. */
int ctl_booking_init(qms_ctl *c);
int ctl_booking_reload(qms_ctl *c);        /* after an undo: the store is the truth */
int ctl_booking_reload_config(qms_ctl *c); /* SIGHUP: new rules, same key */
void ctl_booking_free(qms_ctl *c);
int ctl_booking_rank_ahead(const qms_ctl *c);
/* A booking/slots|make|cancel request; fills reply (a cJSON *) or refuses. */
int ctl_booking_execute(qms_ctl *c, const qms_request *r, void *reply);
/* A take with "appointment" or "cccd": the booking that may check in now
 * (*out, opaque), or a refusal (c->refusal and the window set). Changes nothing. */
int ctl_booking_checkin_find(qms_ctl *c, const qms_request *r, void **out);
const char *ctl_booking_service(const void *booking);
const char *ctl_booking_code(const void *booking);
/* The ticket was issued: the booking is checked in; "booked" and "slot" go
 * into the reply (a cJSON *). */
void ctl_booking_checked_in(qms_ctl *c, void *booking, int64_t ticket_id, void *reply);

/* controller_hourly.c */
char *ctl_hourly_json(qms_ctl *c);
/* Publish qms/<site>/stats/hourly when due (after ctl_flush). */
void ctl_hourly_run(qms_ctl *c);

/* controller_report.c */
/* A qms/<site>/report request: answered (held for the flush), returns 1; else 0. */
int ctl_report_on_message(qms_ctl *c, const qms_mqtt_msg *msg);

/* controller_alerts.c */
int ctl_alerts_init(qms_ctl *c);
void ctl_alerts_free(qms_ctl *c);
/* A message for the alerts (a device status, an alert/ack request): handled,
 * returns 1; else 0. */
int ctl_alerts_on_message(qms_ctl *c, const qms_mqtt_msg *msg);
/* Evaluate the alerts when due (each second, or a device changed) and
 * publish what changed. Call after ctl_flush. */
void ctl_alerts_run(qms_ctl *c);

/* controller_stream.c */
int ctl_stream_init(qms_ctl *c); /* the cursor: the store's last seq */
void ctl_stream_free(qms_ctl *c);
/* Publish the events committed since the last call (after a commit). */
void ctl_stream_run(qms_ctl *c);
/* A qms/<site>/stream/replay request: answered, returns 1; else 0. */
int ctl_stream_on_message(qms_ctl *c, const qms_mqtt_msg *msg);

#endif
