/* qms-gateway: the Modbus RTU master of the RS-485 line(s) between the
 * center's units (counter keypads, LED boards, rating keys, hall board; the
 * register map is firmware/core/regs.h, docs/firmware.md) and MQTT
 * (docs/protocol.md). docs/gateway.md tells the behaviour.
 *
 * Threads: one bus thread per line owns its libmodbus context and polls its
 * units; the main thread owns the MQTT session. They share each unit's
 * "handoff" part (a key event going up, the wanted display coming down,
 * the status going up) under the line's mutex. */
#ifndef QMS_GW_H
#define QMS_GW_H

#include "qms/config.h"

#include <pthread.h>
#include <stdint.h>

#define GW_LINES_MAX 16
#define GW_TEXT_LINES 4
#define GW_TEXT_BYTES 32 /* one display line: 16 registers of 2 bytes */

/* A key event read from a unit's FIFO, on its way to the controller. */
typedef enum {
    GW_PEND_NONE = 0, /* nothing waits */
    GW_PEND_NEW,      /* the bus thread read it; the main thread should send it */
    GW_PEND_SENT,     /* the request is out; waiting for the controller's reply */
    GW_PEND_DONE,     /* acted on (replied, or deliberately dropped): the bus thread acks it */
} gw_pend_state;

typedef struct gw_event {
    gw_pend_state state;
    uint32_t session; /* the unit's session when it was read */
    uint16_t seq, key, arg, tag;
    char req[48];     /* the request id (main thread) */
    char ticket[16];  /* rating keys: the ticket the press rates (main thread, from the tag) */
    int64_t sent_ms;  /* last (re)send, monotonic (main thread) */
    int tries;
} gw_event;

/* What a unit reported and what went wrong talking to it (published in its
 * device status). */
typedef struct gw_counts {
    /* the unit's own counters (input registers 4..7, 12) */
    unsigned crc, framing, overrun, wdt, keys_dropped;
    /* the gateway's side */
    unsigned timeouts;    /* no reply in time */
    unsigned bad_replies; /* CRC wrong, wrong unit, malformed */
    unsigned exceptions;  /* Modbus exception replies */
    unsigned bad_events;  /* FIFO entries that made no sense (dropped, never sent) */
    unsigned restarts;    /* times the unit was found restarted (session 0) */
} gw_counts;

typedef enum {
    GW_UNIT_UNKNOWN = 0, /* not heard yet */
    GW_UNIT_ONLINE,
    GW_UNIT_OFFLINE,
    GW_UNIT_WRONG_KIND, /* answers, but is not the kind the config says: never acted on */
} gw_unit_state;

typedef struct gw_unit {
    qms_bus_unit cfg;
    int line; /* index into gw.lines */
    char name[48]; /* "counter unit 3 (address 3)" for the log */

    /* ---- bus thread only ---- */
    int kind_ok;      /* kind checked since it was last heard */
    uint32_t session; /* its session as last read (0 = unknown) */
    int64_t last_ok_ms, last_probe_ms;
    char shown[GW_TEXT_LINES][GW_TEXT_BYTES]; /* what we last wrote */
    int shown_valid[GW_TEXT_LINES];
    unsigned shown_blink_gen, shown_token_gen;
    int shown_levels; /* rating levels written this session (0 = not yet) */
    int text_failed;  /* the last text write failed: one line a request until one passes */
    int logged;       /* bit set of problems already logged (logged once each) */
    uint16_t kind_read;

    /* ---- shared, under the line's mutex ---- */
    gw_unit_state state;
    gw_counts counts;
    int status_dirty; /* the main thread should publish the status */
    uint16_t fw_version;
    gw_event ev;
    char want[GW_TEXT_LINES][GW_TEXT_BYTES];
    unsigned want_blink_gen; /* bumped: blink the text (a new call) */
    unsigned want_token_gen; /* bumped: write want_token */
    uint16_t want_token;     /* rating keys: nonzero = a rating is asked */
    int want_levels;         /* rating keys: 3..5 */
    int urgent;              /* serve before the rest of the cycle */
} gw_unit;

typedef struct gw_line {
    int index;
    const char *path;
    int baud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int urgent_any; /* some unit of this line is urgent */
    /* statistics (under mu) */
    int64_t cycles;
    double last_cycle_ms;
    double cycle_ms_sum;     /* since the last status */
    int cycle_n;
    unsigned long wire_bytes_cycle; /* bytes on the wire in the last full cycle */
    int up;                  /* the device is open */
    unsigned io_errors;      /* times the line was lost */
} gw_line;

struct gw;
typedef struct gw_opts {
    int baud;
    int timeout_ms;  /* response timeout */
    int offline_ms;  /* silence before a unit is offline */
    int poll_ms;     /* shortest poll cycle */
    int gap_ms;      /* silence before each request, if longer than 3.5 characters */
    int key_polls;   /* visits to each counter unit per poll cycle (others: one) */
} gw_opts;

typedef struct gw {
    const qms_config *cfg;
    gw_opts o;
    int nlines;
    gw_line lines[GW_LINES_MAX];
    int nunits;
    gw_unit *units;
    int wake_fd[2];   /* bus threads -> main: something to do */
    _Atomic int stop;
} gw;

/* ---- gw_bus.c: the bus threads ---- */
int gw_bus_start(gw *g);
void gw_bus_stop(gw *g);
/* Wake the bus thread of u's line to serve u first (call with the line's mutex held). */
void gw_bus_urgent(gw *g, gw_unit *u);

/* ---- gw_msg.c: pure functions (unit tested) ---- */
/* The request id of a key event: "gw<addr>-<session hex>-<seq>" (line > 1:
 * "gw<line>.<addr>-..."), the same for the same event across gateway
 * restarts. */
void gw_req_id(const gw_unit *u, uint32_t session, uint16_t seq, char *out, size_t cap);
/* The counter request for a key event of a counter unit or rating keys.
 * Returns a qms_malloc'd JSON body, or NULL when the event is not a command
 * (*why says what to show the clerk, or "" for nothing). */
char *gw_key_request(const qms_config *cfg, const gw_unit *u, const gw_event *ev,
                     const char *req, const char **why);
/* Copy text into a display line: at most GW_TEXT_BYTES - 1 bytes (the line's
 * 32 bytes, NUL-padded), cut between UTF-8 characters. */
void gw_text(char out[GW_TEXT_BYTES], const char *text);
/* The short Vietnamese text a counter unit shows for a refusal code. */
const char *gw_refusal_text(const char *code);
/* A new unit session: nonzero, from the clock, different from prev. */
uint32_t gw_new_session(uint32_t prev);

#endif
