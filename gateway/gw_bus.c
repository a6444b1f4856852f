/* The bus threads: one per RS-485 line, the only Modbus master on it
 * (libmodbus RTU). Each cycle polls every unit heard recently (and probes
 * one silent unit), hands key events to the main thread, acknowledges the
 * ones acted on, and writes what the units should show. */
#include "gw.h"

#include "regs.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/log.h"
#include "qms/serial.h"

#include <errno.h>
#include <modbus.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { LOG_TIMEOUT = 1, LOG_BAD = 2, LOG_EXC = 4, LOG_KIND = 8, LOG_EVENT = 16 };
enum { SERVE_OK = 0, SERVE_FAIL = 1, SERVE_LINE_LOST = 2 };

#define PROBE_EVERY_MS 250 /* a silent unit is tried at most this often per line */
#define BLINK_S 5          /* a new call blinks on the LED board this long */
/* Status-line-only changes of counter units ("Chờ: 7" -> "Chờ: 8" on every
 * counter unit after each ticket taken or called) written per round of the
 * counter units (--key-polls rounds a poll cycle) at most: the rest wait
 * for the next rounds. Without a cap one take
 * rewrote line 1 of all 16 counter units in the cycle (16 x 28 ms at
 * 19200), and a press waited that much longer than a quiet cycle. */
#define STATUS_WRITES_PER_CYCLE 2
static _Thread_local int status_writes_left;

static int is_key_unit(const gw_unit *u)
{
    return u->cfg.kind == QMS_UNIT_COUNTER || u->cfg.kind == QMS_UNIT_RATING;
}

/* Display lines each kind uses (docs/firmware.md). */
static int text_lines(const gw_unit *u)
{
    switch (u->cfg.kind) {
    case QMS_UNIT_COUNTER:
        return 2;
    case QMS_UNIT_LED:
        return 1;
    case QMS_UNIT_HALL:
        return 4;
    default:
        return 0;
    }
}

static void wake_main(gw *g)
{
    char b = 1;
    ssize_t r = write(g->wake_fd[1], &b, 1);
    (void)r; /* a full pipe already wakes it */
}

static void set_state(gw *g, gw_unit *u, gw_unit_state st)
{
    if (u->state != st) {
        u->state = st;
        u->status_dirty = 1;
        wake_main(g);
    }
}

static int lost_errno(int e)
{
    return e == EIO || e == ENXIO || e == EBADF || e == ENODEV || e == ECONNRESET || e == EPIPE ||
           e == ENOENT;
}

/* Read and drop what comes until the line was quiet for quiet_ms (at most
 * 2 s: a babbling unit must not hold the line thread). After a reply that
 * was not the answer (another unit's, a damaged one), the addressed unit's
 * real reply may still be on its way: a fixed 20 ms let a reply of 28 ms
 * (16 registers at 19200) arrive after the next request went out, be read
 * as that one's "reply", and so on around the whole line -- every unit
 * "not from requested slave", offline, the displays stalled (seen in
 * bench_gateway on a loaded host, and once under heavy noise). */
#define DRAIN_QUIET_MS 100
static void drain(modbus_t *ctx, int quiet_ms)
{
    int fd = modbus_get_socket(ctx);
    int64_t end = qms_mono_ms() + 2000;
    unsigned char junk[256];
    while (fd >= 0 && qms_mono_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, quiet_ms);
        if (r <= 0 || !(p.revents & POLLIN))
            break;
        if (read(fd, junk, sizeof junk) <= 0)
            break;
    }
}

/* A transaction with u failed with errno e: count it, log the first of its
 * kind, decide whether u is now offline. */
static int unit_failed(gw *g, gw_line *L, modbus_t *ctx, gw_unit *u, int e)
{
    if (lost_errno(e))
        return SERVE_LINE_LOST;
    int64_t now = qms_mono_ms();
    pthread_mutex_lock(&L->mu);
    if (e == ETIMEDOUT) {
        u->counts.timeouts++;
        if (!(u->logged & LOG_TIMEOUT) && u->state == GW_UNIT_ONLINE)
            QMS_WARN("%s: no reply (counted from now on)", u->name);
        u->logged |= LOG_TIMEOUT;
    } else if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + 11) {
        u->counts.exceptions++;
        if (!(u->logged & LOG_EXC))
            QMS_WARN("%s: exception reply: %s (counted from now on)", u->name, modbus_strerror(e));
        u->logged |= LOG_EXC;
    } else {
        u->counts.bad_replies++;
        if (!(u->logged & LOG_BAD))
            QMS_WARN("%s: bad reply: %s (counted from now on)", u->name, modbus_strerror(e));
        u->logged |= LOG_BAD;
    }
    u->status_dirty = 1;
    if (u->state != GW_UNIT_OFFLINE && now - u->last_ok_ms >= g->o.offline_ms) {
        QMS_WARN("%s: offline (no good reply for %lld ms)", u->name,
                 (long long)(now - u->last_ok_ms));
        set_state(g, u, GW_UNIT_OFFLINE);
        u->kind_ok = 0;
    }
    u->last_probe_ms = now;
    pthread_mutex_unlock(&L->mu);
    /* the rest of a late or garbled frame, and the addressed unit's own
     * reply still on its way, must not be read as the next unit's reply */
    if (e != ETIMEDOUT)
        drain(ctx, g->o.timeout_ms < DRAIN_QUIET_MS ? g->o.timeout_ms : DRAIN_QUIET_MS);
    modbus_flush(ctx);
    return SERVE_FAIL;
}

static void pack_text(const char t[GW_TEXT_BYTES], uint16_t regs[QMS_LINE_REGS])
{
    for (unsigned i = 0; i < QMS_LINE_REGS; i++)
        regs[i] = (uint16_t)(((unsigned char)t[2 * i] << 8) | (unsigned char)t[2 * i + 1]);
}

/* Per bus thread: when the last transaction ended, the silence before the next. */
static _Thread_local int64_t line_last_end_ns, line_gap_ns;

/* Stale bytes (a reply that came after its timeout, noise) must never be
 * read as the answer to the next request: the input is thrown away before
 * every request. A late reply that still slips in is the same unit's answer
 * to the same question, and acting on an event twice is harmless by design
 * (same request id). */
static modbus_t *fresh(modbus_t *ctx)
{
    /* the line must be silent for the gap (3.5 characters, or --gap-ms)
     * before a frame: a unit that heard another unit's reply end just now
     * must not take our request for the rest of it */
    int64_t wait_ns = line_gap_ns - (qms_mono_ns() - line_last_end_ns);
    if (wait_ns > 0) {
        struct timespec ts = {(time_t)(wait_ns / 1000000000), (long)(wait_ns % 1000000000)};
        nanosleep(&ts, NULL);
    }
    modbus_flush(ctx);
    return ctx;
}

/* The end of a transaction: the silence before the next one counts from now. */
static int ended(int rc)
{
    int e = errno;
    line_last_end_ns = qms_mono_ns();
    errno = e;
    return rc;
}

static int entry_valid(const gw *g, const gw_unit *u, uint16_t last_ack, const uint16_t e[4])
{
    uint16_t want = last_ack == 0 ? 1 : (last_ack == 65535 ? 1 : (uint16_t)(last_ack + 1));
    if (e[QMS_FIFO_SEQ] == 0 || e[QMS_FIFO_SEQ] != want)
        return 0;
    if (u->cfg.kind == QMS_UNIT_RATING)
        return e[QMS_FIFO_KEY] == QMS_KEY_RATE && e[QMS_FIFO_ARG] >= 1 &&
               e[QMS_FIFO_ARG] <= g->cfg->rating_levels;
    return e[QMS_FIFO_KEY] >= QMS_KEY_NEXT && e[QMS_FIFO_KEY] <= QMS_KEY_OK;
}

/* Acknowledge the event acted on (u->ev DONE). */
static int ack_done(gw *g, gw_line *L, modbus_t *ctx, gw_unit *u, unsigned long *bytes)
{
    pthread_mutex_lock(&L->mu);
    uint16_t seq = u->ev.seq;
    int same = u->ev.state == GW_PEND_DONE && u->ev.session == u->session;
    pthread_mutex_unlock(&L->mu);
    if (same) {
        *bytes += 8;
        int rc = ended(modbus_write_register(fresh(ctx), QMS_HR_ACK_SEQ, seq));
        int e = errno;
        if (rc != 1 && e != EMBXILVAL)
            return unit_failed(g, L, ctx, u, e);
        *bytes += rc == 1 ? 8 : 5;
        if (rc != 1)
            QMS_WARN("%s: ack of %u refused (already gone)", u->name, (unsigned)seq);
    }
    pthread_mutex_lock(&L->mu);
    if (u->ev.state == GW_PEND_DONE && u->ev.seq == seq)
        u->ev.state = GW_PEND_NONE;
    pthread_mutex_unlock(&L->mu);
    return SERVE_OK;
}

/* Write what changed of what u should show. */
static int write_outputs(gw *g, gw_line *L, modbus_t *ctx, gw_unit *u, unsigned long *bytes,
                         int all)
{
    pthread_mutex_lock(&L->mu);
    char want[GW_TEXT_LINES][GW_TEXT_BYTES];
    memcpy(want, u->want, sizeof want);
    unsigned blink_gen = u->want_blink_gen, token_gen = u->want_token_gen;
    uint16_t token = u->want_token;
    int levels = u->want_levels;
    pthread_mutex_unlock(&L->mu);

    /* the changed lines, first to last, in ONE request: one turnaround and
     * one silence instead of one per line, and the unit shows them
     * together (a call changes the ticket and the status line at once) */
    int first = -1, last = -1;
    for (int i = 0; i < text_lines(u); i++)
        if (!u->shown_valid[i] || memcmp(u->shown[i], want[i], GW_TEXT_BYTES) != 0) {
            if (first < 0)
                first = i;
            last = i;
        }
    /* only the status line of a counter unit: within the cycle's budget,
     * unless the unit is served for its own key (all) */
    if (first >= 1 && u->cfg.kind == QMS_UNIT_COUNTER && !all) {
        if (status_writes_left <= 0)
            first = -1; /* a later cycle */
        else
            status_writes_left--;
    }
    /* on a noisy line a long frame is damaged more often than a short one
     * (a 4-line write of the hall board is 145 bytes on the wire): after a
     * failed write, one line a request, so every line that passes stays
     * written and the display makes progress */
    if (first >= 0 && u->text_failed)
        last = first;
    if (first >= 0) {
        uint16_t regs[GW_TEXT_LINES * QMS_LINE_REGS];
        int nl = last - first + 1, nr = nl * (int)QMS_LINE_REGS;
        for (int i = 0; i < nl; i++)
            pack_text(want[first + i], regs + i * QMS_LINE_REGS);
        *bytes += 9 + 2u * (unsigned)nr;
        if (ended(modbus_write_registers(fresh(ctx), (int)QMS_HR_LINE(first), nr, regs)) != nr) {
            u->text_failed = 1;
            return unit_failed(g, L, ctx, u, errno);
        }
        u->text_failed = 0;
        *bytes += 8;
        for (int i = first; i <= last; i++) {
            memcpy(u->shown[i], want[i], GW_TEXT_BYTES);
            u->shown_valid[i] = 1;
        }
    }
    if (u->cfg.kind == QMS_UNIT_LED && blink_gen != u->shown_blink_gen) {
        /* the first look after a start is no new call: no blink then */
        if (u->shown_blink_gen != ~0u) {
            *bytes += 8;
            if (ended(modbus_write_register(fresh(ctx), QMS_HR_BLINK, BLINK_S)) != 1)
                return unit_failed(g, L, ctx, u, errno);
            *bytes += 8;
        }
        u->shown_blink_gen = blink_gen;
    }
    if (u->cfg.kind == QMS_UNIT_RATING) {
        if (levels && levels != u->shown_levels) {
            *bytes += 8;
            if (ended(modbus_write_register(fresh(ctx), QMS_HR_RATING_LEVELS, (uint16_t)levels)) != 1)
                return unit_failed(g, L, ctx, u, errno);
            *bytes += 8;
            u->shown_levels = levels;
        }
        if (token_gen != u->shown_token_gen) {
            *bytes += 8;
            if (ended(modbus_write_register(fresh(ctx), QMS_HR_RATING_TOKEN, token)) != 1)
                return unit_failed(g, L, ctx, u, errno);
            *bytes += 8;
            u->shown_token_gen = token_gen;
        }
    }
    return SERVE_OK;
}


/* One visit to a unit: poll, session, ack, FIFO, display. */
static int serve_unit(gw *g, gw_line *L, modbus_t *ctx, gw_unit *u, unsigned long *bytes)
{
    int rc;
    modbus_set_slave(ctx, u->cfg.address);
    if (!u->kind_ok) {
        uint16_t r[2];
        *bytes += 8;
        if (ended(modbus_read_input_registers(fresh(ctx), QMS_IR_KIND, 2, r)) != 2)
            return unit_failed(g, L, ctx, u, errno);
        *bytes += 9;
        if (r[0] != (uint16_t)u->cfg.kind) {
            pthread_mutex_lock(&L->mu);
            if (!(u->logged & LOG_KIND) || u->kind_read != r[0])
                QMS_ERROR("%s: the unit says it is kind %u, not %u (%s): not used until that is "
                          "fixed",
                          u->name, r[0], (unsigned)u->cfg.kind, qms_unit_kind_name(u->cfg.kind));
            u->logged |= LOG_KIND;
            u->kind_read = r[0];
            u->last_probe_ms = qms_mono_ms();
            set_state(g, u, GW_UNIT_WRONG_KIND);
            pthread_mutex_unlock(&L->mu);
            return SERVE_FAIL;
        }
        u->kind_ok = 1;
        pthread_mutex_lock(&L->mu);
        u->fw_version = r[1];
        pthread_mutex_unlock(&L->mu);
    }
    /* errors, session, FIFO count, last ack, dropped, last seq (4..13), and
     * for units with keys the reserved pair and the oldest entry (14..19) */
    int n = is_key_unit(u) ? (int)(QMS_IR_FIFO + QMS_FIFO_ENTRY_REGS - QMS_IR_ERR_CRC)
                           : (int)(QMS_IR_LAST_SEQ + 1 - QMS_IR_ERR_CRC);
    uint16_t ir[16];
    *bytes += 8;
    if (ended(modbus_read_input_registers(fresh(ctx), QMS_IR_ERR_CRC, n, ir)) != n)
        return unit_failed(g, L, ctx, u, errno);
    *bytes += 5 + 2u * (unsigned)n;
#define IR(reg) ir[(reg) - QMS_IR_ERR_CRC]
    int64_t now = qms_mono_ms();
    uint32_t session = ((uint32_t)IR(QMS_IR_SESSION_HI) << 16) | IR(QMS_IR_SESSION_LO);

    pthread_mutex_lock(&L->mu);
    u->last_ok_ms = now;
    if (u->state != GW_UNIT_ONLINE) {
        if (u->state == GW_UNIT_OFFLINE || u->state == GW_UNIT_WRONG_KIND)
            QMS_INFO("%s: online again", u->name);
        u->logged = 0;
        set_state(g, u, GW_UNIT_ONLINE);
    }
    gw_counts *c = &u->counts;
    if (c->crc != IR(QMS_IR_ERR_CRC) || c->framing != IR(QMS_IR_ERR_FRAMING) ||
        c->overrun != IR(QMS_IR_ERR_OVERRUN) || c->wdt != IR(QMS_IR_WDT_RESETS) ||
        c->keys_dropped != IR(QMS_IR_KEYS_DROPPED)) {
        c->crc = IR(QMS_IR_ERR_CRC);
        c->framing = IR(QMS_IR_ERR_FRAMING);
        c->overrun = IR(QMS_IR_ERR_OVERRUN);
        c->wdt = IR(QMS_IR_WDT_RESETS);
        c->keys_dropped = IR(QMS_IR_KEYS_DROPPED);
        u->status_dirty = 1;
    }
    pthread_mutex_unlock(&L->mu);

    if (session == 0) {
        /* the unit (re)started: give it a session before anything else */
        uint32_t s = gw_new_session(u->session);
        uint16_t w[2] = {(uint16_t)(s >> 16), (uint16_t)(s & 0xFFFF)};
        *bytes += 13;
        if (ended(modbus_write_registers(fresh(ctx), QMS_HR_SESSION_HI, 2, w)) != 2)
            return unit_failed(g, L, ctx, u, errno);
        *bytes += 8;
        pthread_mutex_lock(&L->mu);
        if (u->session != 0) {
            u->counts.restarts++;
            u->status_dirty = 1;
            QMS_INFO("%s: the unit restarted; new session %08x", u->name, (unsigned)s);
        }
        /* its FIFO is empty now: an event of the old session is never acked */
        if (u->ev.state == GW_PEND_NEW || u->ev.state == GW_PEND_DONE)
            u->ev.state = GW_PEND_NONE;
        pthread_mutex_unlock(&L->mu);
        u->session = s;
        session = s;
        memset(u->shown_valid, 0, sizeof u->shown_valid);
        u->shown_levels = 0;
        u->shown_token_gen = ~0u;
        u->shown_blink_gen = ~0u;
    } else if (session != u->session) {
        /* first contact since the gateway started: the unit keeps its session */
        u->session = session;
    }

    pthread_mutex_lock(&L->mu);
    int done = u->ev.state == GW_PEND_DONE;
    if (!done && u->ev.state == GW_PEND_NONE && is_key_unit(u) && IR(QMS_IR_FIFO_COUNT) > 0) {
        const uint16_t *e = &IR(QMS_IR_FIFO);
        if (entry_valid(g, u, IR(QMS_IR_LAST_ACK), e)) {
            QMS_DEBUG("%s: event %u read", u->name, e[QMS_FIFO_SEQ]);
            u->ev = (gw_event){.state = GW_PEND_NEW,
                               .session = session,
                               .seq = e[QMS_FIFO_SEQ],
                               .key = e[QMS_FIFO_KEY],
                               .arg = e[QMS_FIFO_ARG],
                               .tag = e[QMS_FIFO_TAG]};
            wake_main(g);
        } else {
            u->counts.bad_events++;
            u->status_dirty = 1;
            if (!(u->logged & LOG_EVENT))
                QMS_WARN("%s: key event not understood (seq %u key %u arg %u, last ack %u): "
                         "dropped, nothing sent",
                         u->name, e[0], e[1], e[2], IR(QMS_IR_LAST_ACK));
            u->logged |= LOG_EVENT;
            /* acknowledge it so the FIFO moves on; it is never sent */
            u->ev = (gw_event){.state = GW_PEND_DONE, .session = session, .seq = e[0]};
            done = 1;
        }
    }
    pthread_mutex_unlock(&L->mu);
#undef IR
    /* what it should show first (the clerk waits for it), then the ack */
    if ((rc = write_outputs(g, L, ctx, u, bytes, done)) != SERVE_OK)
        return rc;
    return done ? ack_done(g, L, ctx, u, bytes) : SERVE_OK;
}

/* A reply came: show it and acknowledge the event now, without polling the
 * unit first (an ack to a unit that restarted meanwhile is refused by it,
 * and its display is written again once the restart is seen). */
static int serve_fast(gw *g, gw_line *L, modbus_t *ctx, gw_unit *u, unsigned long *bytes)
{
    if (!u->kind_ok || !u->session)
        return serve_unit(g, L, ctx, u, bytes);
    QMS_DEBUG("%s: served at once", u->name);
    modbus_set_slave(ctx, u->cfg.address);
    pthread_mutex_lock(&L->mu);
    int done = u->ev.state == GW_PEND_DONE;
    pthread_mutex_unlock(&L->mu);
    int rc = write_outputs(g, L, ctx, u, bytes, done);
    if (rc != SERVE_OK)
        return rc;
    return done ? ack_done(g, L, ctx, u, bytes) : SERVE_OK;
}

static modbus_t *line_open(gw *g, gw_line *L, int *logged)
{
    /* 8E1 on a real line; a pseudo-terminal (tests, QEMU units) has no
     * parity, and Linux refuses PARENB on it */
    int pty = qms_serial_is_pty(L->path);
    modbus_t *ctx = modbus_new_rtu(L->path, L->baud, pty ? 'N' : 'E', 8, 1);
    if (!ctx) {
        if (!*logged)
            QMS_ERROR("line %s: %s", L->path, modbus_strerror(errno));
        *logged = 1;
        return NULL;
    }
    modbus_set_response_timeout(ctx, (uint32_t)(g->o.timeout_ms / 1000),
                                 (uint32_t)(g->o.timeout_ms % 1000) * 1000u);
    modbus_set_byte_timeout(ctx, 0, 50000);
    if (getenv("QMS_GW_MODBUS_DEBUG")) /* every frame in hex on stdout */
        modbus_set_debug(ctx, 1);
    if (modbus_connect(ctx) == -1) {
        if (!*logged)
            QMS_ERROR("line %s: cannot open: %s (trying again every second)", L->path,
                      modbus_strerror(errno));
        *logged = 1;
        modbus_free(ctx);
        return NULL;
    }
    if (*logged)
        QMS_INFO("line %s: open again", L->path);
    else
        QMS_INFO("line %s: open at %d baud %s", L->path, L->baud,
                 pty ? "(a pseudo-terminal: no parity)" : "8E1");
    *logged = 0;
    modbus_flush(ctx);
    pthread_mutex_lock(&L->mu);
    L->up = 1;
    pthread_mutex_unlock(&L->mu);
    return ctx;
}

/* While the line is down nobody answers: units still go offline in time. */
static void age_units(gw *g, gw_line *L)
{
    int64_t now = qms_mono_ms();
    pthread_mutex_lock(&L->mu);
    for (int i = 0; i < g->nunits; i++) {
        gw_unit *u = &g->units[i];
        if (u->line != L->index || u->state == GW_UNIT_OFFLINE)
            continue;
        if (now - u->last_ok_ms >= g->o.offline_ms) {
            QMS_WARN("%s: offline (its line is down)", u->name);
            set_state(g, u, GW_UNIT_OFFLINE);
            u->kind_ok = 0;
        }
    }
    pthread_mutex_unlock(&L->mu);
}

static void wait_until(gw_line *L, int64_t until_mono_ms, int urgent_wakes)
{
    pthread_mutex_lock(&L->mu);
    while (!(urgent_wakes && L->urgent_any)) {
        int64_t left = until_mono_ms - qms_mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&L->cv, &L->mu, &ts);
    }
    pthread_mutex_unlock(&L->mu);
}

typedef struct line_arg {
    gw *g;
    gw_line *L;
} line_arg;
static line_arg line_args[GW_LINES_MAX];

/* Serve the units flagged urgent (a reply came: ack and show it now). */
static int serve_urgent(gw *g, gw_line *L, modbus_t *ctx, unsigned long *bytes)
{
    for (;;) {
        gw_unit *u = NULL;
        pthread_mutex_lock(&L->mu);
        L->urgent_any = 0;
        for (int i = 0; i < g->nunits && !u; i++)
            if (g->units[i].line == L->index && g->units[i].urgent) {
                u = &g->units[i];
                u->urgent = 0;
                L->urgent_any = 1; /* look again after this one */
            }
        if (!u)
            L->urgent_any = 0;
        int skip = u && u->state != GW_UNIT_ONLINE;
        pthread_mutex_unlock(&L->mu);
        if (!u)
            return SERVE_OK;
        if (!skip && serve_fast(g, L, ctx, u, bytes) == SERVE_LINE_LOST)
            return SERVE_LINE_LOST;
    }
}

/* One poll cycle: the visits of a line, in order. A cycle is the time in
 * which every unit of the line is read at least once. The counter units
 * (the clerks' keypads, whose keys a person waits on) are read key_polls
 * times a cycle, evenly spaced: the other units (LED boards, rating keys,
 * the hall board) are cut into key_polls slices of about the same wire
 * time, and all the counter units are read before each slice. A press
 * then waits at most about cycle / key_polls for its unit's next read,
 * instead of a whole cycle, and the cycle grows by (key_polls - 1) reads
 * of the counter units (45 bytes each). */
typedef struct gw_visit {
    int unit;  /* index into g->units */
    int extra; /* not the unit's first visit of the cycle */
    int round; /* 0..K-1: which read of the counter units this slice follows */
} gw_visit;

/* The bytes of one read of u (request + reply): its wire weight. */
static int read_bytes(const gw_unit *u)
{
    return is_key_unit(u) ? 8 + 37 : 8 + 25;
}

static int schedule(const gw *g, const gw_line *L, gw_visit *out)
{
    int ncounters = 0, others_w = 0;
    for (int i = 0; i < g->nunits; i++) {
        const gw_unit *u = &g->units[i];
        if (u->line != L->index)
            continue;
        if (u->cfg.kind == QMS_UNIT_COUNTER)
            ncounters++;
        else
            others_w += read_bytes(u);
    }
    /* with nothing but counter units (or none), more visits gain nothing */
    int k = ncounters > 0 && others_w > 0 ? g->o.key_polls : 1;
    if (k < 1)
        k = 1;
    int n = 0, w = 0, next_other = 0;
    for (int v = 0; v < k; v++) {
        for (int i = 0; i < g->nunits; i++)
            if (g->units[i].line == L->index && g->units[i].cfg.kind == QMS_UNIT_COUNTER)
                out[n++] = (gw_visit){i, v > 0, v};
        /* the other units whose wire weight starts in slice v */
        for (; next_other < g->nunits; next_other++) {
            const gw_unit *u = &g->units[next_other];
            if (u->line != L->index || u->cfg.kind == QMS_UNIT_COUNTER)
                continue;
            if (v < k - 1 && (long)w * k >= (long)others_w * (v + 1))
                break;
            out[n++] = (gw_visit){next_other, 0, v};
            w += read_bytes(u);
        }
    }
    return n;
}

static void *line_main(void *arg)
{
    line_arg *a = arg;
    gw *g = a->g;
    gw_line *L = a->L;
    modbus_t *ctx = NULL;
    int open_logged = 0;
    /* 3.5 characters of 11 bits; 1.75 ms above 19200 baud (the Modbus spec) */
    line_gap_ns = L->baud > 19200 ? 1750000 : 38500000000LL / L->baud;
    if ((int64_t)g->o.gap_ms * 1000000 > line_gap_ns)
        line_gap_ns = (int64_t)g->o.gap_ms * 1000000;
    gw_visit *visits = qms_calloc((size_t)g->nunits * (size_t)(g->o.key_polls > 0 ? g->o.key_polls : 1) + 1,
                              sizeof *visits);
    int nvisits = visits ? schedule(g, L, visits) : 0;
    {
        int nu = 0;
        for (int i = 0; i < g->nunits; i++)
            nu += g->units[i].line == L->index;
        QMS_INFO("line %s: %d units, %d reads a poll cycle (counter units %d times)", L->path, nu,
                 nvisits, nvisits > nu ? g->o.key_polls : 1);
    }
    int next_probe = 0; /* round robin over silent units (a position in visits) */
    int64_t last_probe = 0, last_open = -100000;
    while (!g->stop) {
        if (!ctx) {
            /* try to open again every second; meanwhile its units age */
            if (qms_mono_ms() - last_open >= 1000) {
                last_open = qms_mono_ms();
                ctx = line_open(g, L, &open_logged);
            }
            if (!ctx) {
                age_units(g, L);
                wait_until(L, qms_mono_ms() + 100, 0);
                continue;
            }
        }
        int64_t t0 = qms_mono_ns() / 1000;
        status_writes_left = STATUS_WRITES_PER_CYCLE;
        unsigned long bytes = 0;
        int lost = 0, probed = 0;
        for (int k = 0; k < nvisits && !lost && !g->stop; k++) {
            gw_unit *u = &g->units[visits[k].unit];
            /* the status-line budget is per round of the counter units
             * (K a cycle): a press waits for one round, not a cycle */
            if (k > 0 && visits[k].round != visits[k - 1].round)
                status_writes_left = STATUS_WRITES_PER_CYCLE;
            if (serve_urgent(g, L, ctx, &bytes) == SERVE_LINE_LOST) {
                lost = 1;
                break;
            }
            pthread_mutex_lock(&L->mu);
            gw_unit_state st = u->state;
            pthread_mutex_unlock(&L->mu);
            /* a counter unit's extra visits are for its keys: only while
             * it answers (a silent one is probed on its first visit) */
            if (visits[k].extra && st != GW_UNIT_ONLINE)
                continue;
            if (st == GW_UNIT_OFFLINE || st == GW_UNIT_WRONG_KIND) {
                /* one silent unit per cycle, and not too often: a silent
                 * unit costs a whole response timeout */
                if (probed || k < next_probe || qms_mono_ms() - last_probe < PROBE_EVERY_MS)
                    continue;
                probed = 1;
                next_probe = k + 1;
                last_probe = qms_mono_ms();
            }
            if (serve_unit(g, L, ctx, u, &bytes) == SERVE_LINE_LOST)
                lost = 1;
        }
        if (!probed)
            next_probe = 0;
        if (lost) {
            int e = errno;
            pthread_mutex_lock(&L->mu);
            L->up = 0;
            L->io_errors++;
            pthread_mutex_unlock(&L->mu);
            QMS_ERROR("line %s: lost (%s); reopening", L->path, strerror(e));
            open_logged = 1;
            modbus_close(ctx);
            modbus_free(ctx);
            ctx = NULL;
            wake_main(g);
            continue;
        }
        double ms = (double)(qms_mono_ns() / 1000 - t0) / 1000.0;
        pthread_mutex_lock(&L->mu);
        L->cycles++;
        L->last_cycle_ms = ms;
        L->cycle_ms_sum += ms;
        L->cycle_n++;
        L->wire_bytes_cycle = bytes;
        pthread_mutex_unlock(&L->mu);
        wait_until(L, t0 / 1000 + g->o.poll_ms, 1);
    }
    if (ctx) {
        modbus_close(ctx);
        modbus_free(ctx);
    }
    qms_free(visits);
    return NULL;
}

void gw_bus_urgent(gw *g, gw_unit *u)
{
    gw_line *L = &g->lines[u->line];
    u->urgent = 1;
    L->urgent_any = 1;
    pthread_cond_signal(&L->cv);
}

int gw_bus_start(gw *g)
{
    int64_t now = qms_mono_ms();
    for (int i = 0; i < g->nunits; i++)
        g->units[i].last_ok_ms = now; /* silent from now on counts toward offline */
    for (int l = 0; l < g->nlines; l++) {
        gw_line *L = &g->lines[l];
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&L->cv, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&L->mu, NULL);
    }
    for (int l = 0; l < g->nlines; l++) {
        line_args[l] = (line_arg){g, &g->lines[l]};
        if (pthread_create(&g->lines[l].thread, NULL, line_main, &line_args[l]))
            return -1;
    }
    return 0;
}

void gw_bus_stop(gw *g)
{
    g->stop = 1;
    for (int l = 0; l < g->nlines; l++) {
        pthread_mutex_lock(&g->lines[l].mu);
        pthread_cond_signal(&g->lines[l].cv);
        pthread_mutex_unlock(&g->lines[l].mu);
    }
    for (int l = 0; l < g->nlines; l++)
        pthread_join(g->lines[l].thread, NULL);
}
