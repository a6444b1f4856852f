#include "kiosk_app.h"

#include "kiosk_journal.h"
#include "kiosk_net.h"
#include "kiosk_prn.h"
#include "kiosk_text.h"
#include "qms/alloc.h"
#include "qms/bookcode.h"
#include "qms/calendar.h"
#include "qms/cccd.h"
#include "qms/serial.h"
#include "qms/err.h"
#include "qms/log.h"

#include <inttypes.h>
#include <string.h>

static const char *const prio_names[KIOSK_PRIO_N] = {NULL, "elderly", "disabled", "pregnant",
                                                     "child"};

struct kiosk_app {
    kiosk_config cfg;
    const qms_clock *clock;
    qms_fclock follow; /* the controller's clock: a->clock unless the caller gave one */
    FILE *trace;
    kiosk_journal *journal; /* NULL when it cannot be opened (logged) */
    kiosk_net *net;
    kiosk_prn prn;
    qms_printer_state published; /* printer state last put in the device status */
    int published_once;
    /* layout */
    int w, h;
    kiosk_layout layout;
    int layout_gen; /* config generation it was made for */
    /* screen */
    kiosk_screen screen;
    kiosk_fault fault;
    char fault_detail[160];
    char fault_next[8];
    char lang[3];
    int page;
    int chosen;                     /* service index in the current configuration, -1 none */
    char chosen_code[QMS_CODE_MAX]; /* ... and its code: a new configuration may reorder */
    int prio;                       /* 0 normal .. 4 child */
    kiosk_target pressed;
    int take_id; /* the take the busy screen waits for, 0 = none */
    kiosk_take_reply ticket;
    int64_t started_ms;
    int64_t deadline_ms; /* screen timeout, 0 = none (monotonic) */
    int64_t next_prn_ms; /* next printer status poll (monotonic) */
    int shown_minute;    /* clock minute last drawn on the welcome screen */
    int dirty;
    void (*present)(void *ud);
    void *present_ud;
    char badges[KIOSK_VIEW_MAX_SERVICES][16]; /* the view's badge texts */
    char notes[KIOSK_VIEW_MAX_SERVICES][96];  /* the view's "closed · opens ..." texts */
    /* check-in */
    char code[KIOSK_CODE_MAX + 1]; /* typed on the keypad (or a keyboard), no dash */
    int code_len;
    int code_msg;        /* kiosk_view.code_msg */
    int checkin_by_card; /* the take in flight came from a CCCD card */
    char appt_code[32];
    char window[2][8];
    char appt_message[512];
    /* a USB scanner typing as a keyboard: a burst of keys ended by Enter */
    char hid[KIOSK_SCAN_MAX + 1];
    size_t hid_len;
    int64_t hid_first_ms, hid_last_ms;
    int hid_overflow;
    /* a serial scanner: lines ended by CR or LF */
    qms_serial *scanner;
    char scan[KIOSK_SCAN_MAX + 1];
    size_t scan_len;
    int scan_overflow;
    int64_t scanner_retry_ms;
    int scanner_warned;
    /* the calendar: closed-day screen, re-checked once a (controller's) minute */
    int64_t closed_checked_min;
    int closed_gen;
    char closed_words[160];
};

/* Wipe a buffer that may have held a citizen's card data. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void trace(kiosk_app *a, const char *ev, const char *extra)
{
    if (!a->trace)
        return;
    fprintf(a->trace, "{\"ev\":\"%s\",\"ns\":%" PRId64 "%s%s}\n", ev, qms_mono_ns(),
            extra ? "," : "", extra ? extra : "");
    fflush(a->trace);
}

static const qms_config *center(const kiosk_app *a)
{
    return kiosk_net_config(a->net);
}

/* The controller's clock (its device status says how it runs; a demo's may
 * be shifted and fast): opening hours and the clock shown follow it. */
static int64_t ctrl_now(const kiosk_app *a)
{
    return qms_now(a->clock); /* a->follow unless the caller gave a clock */
}

static void set_screen(kiosk_app *a, kiosk_screen s, kiosk_fault f, int timeout_s)
{
    if (a->screen != s || a->fault != f) {
        char ex[64];
        snprintf(ex, sizeof ex, "\"screen\":\"%s\"", kiosk_view_name(s, f));
        trace(a, "screen", ex);
        QMS_INFO("screen %s", kiosk_view_name(s, f));
    }
    a->screen = s;
    a->fault = f;
    a->pressed.kind = KTG_NONE;
    a->deadline_ms = timeout_s > 0 ? qms_mono_ms() + (int64_t)timeout_s * 1000 : 0;
    if (s != KV_FAULT)
        a->fault_detail[0] = 0;
    a->fault_next[0] = 0;
    a->dirty = 1;
}

static void go_idle(kiosk_app *a)
{
    /* the next citizen starts in the kiosk's own language, on page 1 */
    memcpy(a->lang, a->cfg.lang, sizeof a->lang);
    a->page = 0;
    set_screen(a, KV_IDLE, KF_NONE, 0);
}

static kiosk_fault printer_fault(qms_printer_state s)
{
    switch (s) {
    case QMS_PRN_PAPER_OUT:
        return KF_PAPER_OUT;
    case QMS_PRN_COVER_OPEN:
        return KF_COVER_OPEN;
    case QMS_PRN_OFFLINE:
        return KF_PRINTER_OFFLINE;
    default:
        return KF_NONE;
    }
}

/* What stops the kiosk now, most basic first. */
static kiosk_fault blocking_fault(const kiosk_app *a)
{
    if (!kiosk_net_connected(a->net))
        return KF_BROKER;
    if (!kiosk_net_controller_online(a->net))
        return KF_CONTROLLER;
    if (!center(a))
        return KF_NO_CONFIG;
    return printer_fault(a->prn.state);
}

static void publish_printer(kiosk_app *a)
{
    if (a->published_once && a->published == a->prn.state)
        return;
    a->published = a->prn.state;
    a->published_once = 1;
    kiosk_net_set_printer(a->net, qms_printer_state_name(a->prn.state));
    a->dirty = 1;
}

static void schedule_printer_poll(kiosk_app *a)
{
    int ms = kiosk_prn_usable(a->prn.state) ? a->cfg.printer_poll_s * 1000 : a->cfg.fault_poll_ms;
    a->next_prn_ms = qms_mono_ms() + ms;
}

static void check_printer(kiosk_app *a)
{
    kiosk_prn_check(&a->prn);
    publish_printer(a);
    schedule_printer_poll(a);
}

static int count_chars(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static void relayout(kiosk_app *a)
{
    const qms_config *c = center(a);
    int n = c ? c->nservices : 0;
    if (n > KIOSK_VIEW_MAX_SERVICES)
        n = KIOSK_VIEW_MAX_SERVICES;
    int max_chars = 8;
    for (int i = 0; i < n; i++) {
        int k = count_chars(c->services[i].name_vi);
        int e = count_chars(c->services[i].name_en);
        if (k > max_chars)
            max_chars = k;
        if (e > max_chars)
            max_chars = e;
    }
    double ppmm = kiosk_px_per_mm(a->w, a->h, a->cfg.diagonal_in);
    if (kiosk_layout_compute(&a->layout, a->w, a->h, ppmm, a->cfg.min_target_mm, n, max_chars)) {
        QMS_WARN("a %dx%d screen of %.1f\" cannot hold %.0f mm targets; using %.0f mm", a->w, a->h,
                 a->cfg.diagonal_in, a->cfg.min_target_mm, a->cfg.min_target_mm / 2);
        kiosk_layout_compute(&a->layout, a->w, a->h, ppmm, a->cfg.min_target_mm / 2, n, max_chars);
    }
    a->layout_gen = kiosk_net_config_gen(a->net);
    a->chosen = c && a->chosen_code[0] ? qms_config_service_index(c, a->chosen_code) : -1;
    if (a->page >= a->layout.pages)
        a->page = 0;
    a->dirty = 1;
}

static void service_hours(const qms_config *c, int si, char *out, size_t outlen)
{
    out[0] = 0;
    if (!c || si < 0 || si >= c->nservices)
        return;
    const qms_service *s = &c->services[si];
    if (s->nhours)
        kiosk_text_hours(s->hours, s->nhours, out, outlen);
    else
        kiosk_text_hours(c->hours, c->nhours, out, outlen);
}

static void on_take(void *ud, int take_id, const kiosk_take_reply *r)
{
    kiosk_app *a = ud;
    if (take_id != a->take_id) {
        /* nobody waits for this one any more (cannot normally happen: the
         * network layer times takes out itself); never leave it waiting */
        if (r->err == QMS_OK)
            kiosk_net_cancel(a->net, r->id, "abandoned");
        return;
    }
    a->take_id = 0;
    if (r->err != QMS_OK) {
        char ex[96];
        snprintf(ex, sizeof ex, "\"error\":\"%s\"", r->code);
        trace(a, "refused", ex);
        QMS_WARN("take refused: %s %s", r->code, r->message);
        kiosk_fault f = r->err == QMS_ERR_CAP_REACHED     ? KF_CAP
                        : r->err == QMS_ERR_OUTSIDE_HOURS ? KF_CLOSED
                        : !strncmp(r->code, "appt_", 5)   ? KF_APPT
                                                          : KF_TAKE_FAILED;
        set_screen(a, KV_FAULT, f, a->cfg.notice_timeout_s);
        if (f == KF_APPT) {
            snprintf(a->appt_code, sizeof a->appt_code, "%s", r->code);
            memcpy(a->window, r->window, sizeof a->window);
            snprintf(a->appt_message, sizeof a->appt_message, "%s", r->message);
            return;
        }
        if (f == KF_CLOSED) {
            service_hours(center(a), a->chosen, a->fault_detail, sizeof a->fault_detail);
            /* the controller's clock says when, as "13:30" (anything else is ignored) */
            if (strlen(r->next_open) == 5 && r->next_open[2] == ':')
                snprintf(a->fault_next, sizeof a->fault_next, "%s", r->next_open);
        }
        return;
    }
    char ex[96];
    snprintf(ex, sizeof ex, "\"ticket\":\"%s\"", r->ticket);
    trace(a, "reply", ex);
    a->ticket = *r;
    char url[512];
    kiosk_qr_url(a->cfg.qr_base, a->cfg.site, r, url, sizeof url);
    qms_ticket_print t;
    kiosk_ticket_fill(&t, r, center(a), a->lang, url);
    if (r->booked) { /* the booked mark, not "Ưu tiên": its class is the appointment's */
        t.booked_slot = r->slot;
        t.priority = 0;
    }
    kiosk_test_stop_at("reply");
    int rc = kiosk_prn_print(&a->prn, &t);
    if (rc == QMS_OK) /* the cut is confirmed: the ticket is real, a restart keeps it */
        kiosk_net_printed(a->net, r->req);
    trace(a, rc == QMS_OK ? "printed" : "print_failed", ex);
    publish_printer(a);
    schedule_printer_poll(a);
    if (rc == QMS_OK) {
        QMS_INFO("ticket %s printed (%s, %d ahead)", r->ticket, r->service, r->ahead);
        set_screen(a, KV_TICKET, KF_NONE, a->cfg.ticket_timeout_s);
        return;
    }
    /* The citizen has no paper: the number must not wait in the hall. */
    QMS_WARN("ticket %s (id %lld) not printed: printer %s; cancelling it", r->ticket,
             (long long)r->id, qms_printer_state_name(a->prn.state));
    kiosk_net_cancel(a->net, r->id, "print_failed");
    kiosk_fault f = printer_fault(a->prn.state);
    set_screen(a, KV_FAULT, f == KF_NONE ? KF_PRINTER_OFFLINE : f, 0);
    snprintf(a->fault_detail, sizeof a->fault_detail, "%s", r->ticket);
}

int kiosk_app_new(const kiosk_app_opts *o, kiosk_app **out)
{
    *out = NULL;
    kiosk_app *a = qms_calloc(1, sizeof *a);
    if (!a)
        return QMS_ERR_NOMEM;
    a->cfg = *o->cfg;
    qms_fclock_init(&a->follow);
    a->clock = o->clock ? o->clock : &a->follow.clock;
    a->trace = o->trace;
    memcpy(a->lang, a->cfg.lang, sizeof a->lang);
    if (a->cfg.state_file[0]) {
        char err[600];
        int jrc = kiosk_journal_open(a->cfg.state_file, &a->journal, err, sizeof err);
        if (jrc == QMS_ERR_UNAVAILABLE) {
            QMS_ERROR("%s", err);
            qms_free(a);
            return jrc;
        }
        if (jrc)
            QMS_ERROR("%s; running without it: a kiosk killed while a ticket is on its way may "
                      "leave that ticket waiting",
                      err);
    }
    kiosk_net_opts no = {
        .host = o->host,
        .port = o->port,
        .site = a->cfg.site,
        .kiosk_id = a->cfg.kiosk_id,
        .take_timeout_ms = a->cfg.take_timeout_ms,
        .on_take = on_take,
        .ud = a,
        .journal = a->journal,
        .conn = &a->cfg.conn,
        .clock = &a->follow,
    };
    int rc = kiosk_net_new(&no, &a->net);
    if (rc) {
        kiosk_journal_close(a->journal);
        qms_free(a);
        return rc;
    }
    kiosk_prn_init(&a->prn, &a->cfg);
    a->closed_checked_min = -1;
    a->started_ms = qms_mono_ms();
    a->screen = KV_STARTING;
    a->chosen = -1;
    a->shown_minute = -1;
    a->w = a->cfg.width;
    a->h = a->cfg.height;
    relayout(a);
    check_printer(a);
    a->dirty = 1;
    *out = a;
    return QMS_OK;
}

void kiosk_app_free(kiosk_app *a)
{
    if (!a)
        return;
    /* give unsettled cancels a last chance to leave */
    for (int i = 0; i < 20 && kiosk_net_unsettled(a->net) && kiosk_net_connected(a->net); i++)
        kiosk_net_poll(a->net, 50);
    kiosk_prn_close(&a->prn);
    qms_serial_close(a->scanner);
    wipe(a->hid, sizeof a->hid);
    wipe(a->scan, sizeof a->scan);
    kiosk_net_free(a->net);
    kiosk_journal_close(a->journal);
    qms_free(a);
}

void kiosk_app_set_present(kiosk_app *a, void (*present)(void *ud), void *ud)
{
    a->present = present;
    a->present_ud = ud;
}

void kiosk_app_resize(kiosk_app *a, int w, int h)
{
    if (w == a->w && h == a->h)
        return;
    a->w = w;
    a->h = h;
    relayout(a);
}

/* The citizen picked a service (and a priority class): printer first, then
 * the controller. */
static void choose(kiosk_app *a, int si, int prio)
{
    const qms_config *c = center(a);
    if (!c || si < 0 || si >= c->nservices) {
        /* the service left the configuration meanwhile: choose again */
        set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        return;
    }
    a->chosen = si;
    a->prio = prio;
    trace(a, "tap", NULL);
    kiosk_prn_check(&a->prn);
    publish_printer(a);
    schedule_printer_poll(a);
    kiosk_fault f = blocking_fault(a);
    if (f != KF_NONE) {
        QMS_WARN("not taking a ticket: %s", kiosk_view_name(KV_FAULT, f));
        set_screen(a, KV_FAULT, f, 0);
        return;
    }
    int rc = kiosk_net_take(a->net, c->services[si].code, prio_names[prio], a->lang, &a->take_id);
    if (rc) {
        a->take_id = 0;
        set_screen(a, KV_FAULT, rc == QMS_ERR_UNAVAILABLE ? KF_BROKER : KF_TAKE_FAILED,
                   a->cfg.notice_timeout_s);
        return;
    }
    trace(a, "take_sent", NULL);
    set_screen(a, KV_BUSY, KF_NONE, 0);
    if (a->present)
        a->present(a->present_ud);
}

/* A booked citizen checks in with a code or a card: printer first, then the
 * controller, as for a take. */
static void checkin(kiosk_app *a, const char *code, const char *cccd)
{
    a->chosen = -1;
    a->chosen_code[0] = 0;
    a->checkin_by_card = cccd != NULL;
    trace(a, "tap", NULL);
    kiosk_prn_check(&a->prn);
    publish_printer(a);
    schedule_printer_poll(a);
    kiosk_fault f = blocking_fault(a);
    if (f != KF_NONE) {
        QMS_WARN("not checking in: %s", kiosk_view_name(KV_FAULT, f));
        set_screen(a, KV_FAULT, f, 0);
        return;
    }
    QMS_INFO("check-in by %s", cccd ? "CCCD card" : "booking code");
    int rc = kiosk_net_checkin(a->net, code, cccd, a->lang, &a->take_id);
    if (rc) {
        a->take_id = 0;
        set_screen(a, KV_FAULT, rc == QMS_ERR_UNAVAILABLE ? KF_BROKER : KF_TAKE_FAILED,
                   a->cfg.notice_timeout_s);
        return;
    }
    trace(a, "take_sent", NULL);
    a->code_len = 0;
    a->code[0] = 0;
    set_screen(a, KV_BUSY, KF_NONE, 0);
    if (a->present)
        a->present(a->present_ud);
}

static void open_checkin(kiosk_app *a, int msg)
{
    a->code_len = 0;
    a->code[0] = 0;
    a->code_msg = msg;
    set_screen(a, KV_CHECKIN, KF_NONE, a->cfg.idle_timeout_s);
}

/* Is the typed code complete and right (its check character)? */
static int code_ok(const kiosk_app *a, char out[9])
{
    return a->code_len == KIOSK_CODE_MAX && qms_bookcode_parse(a->code, out);
}

static void code_key(kiosk_app *a, int idx)
{
    if (idx < KIOSK_CODE_CHARS) {
        if (a->code_len < KIOSK_CODE_MAX) {
            a->code[a->code_len++] = KIOSK_CODE_ALPHABET[idx];
            a->code[a->code_len] = 0;
        }
    } else if (a->code_len > 0) {
        a->code[--a->code_len] = 0;
    }
    char norm[9];
    /* a full code is checked at once: a mistyped one says so before OK */
    a->code_msg = a->code_len == KIOSK_CODE_MAX && !code_ok(a, norm) ? 2 : 0;
    a->deadline_ms = qms_mono_ms() + (int64_t)a->cfg.idle_timeout_s * 1000;
    a->dirty = 1;
}

static void code_submit(kiosk_app *a)
{
    char norm[9];
    if (a->code_len < KIOSK_CODE_MAX) {
        a->code_msg = 1;
    } else if (!code_ok(a, norm)) {
        a->code_msg = 2;
    } else {
        char shown[10];
        qms_bookcode_format(norm, shown);
        checkin(a, shown, NULL);
        return;
    }
    a->deadline_ms = qms_mono_ms() + (int64_t)a->cfg.idle_timeout_s * 1000;
    a->dirty = 1;
}

/* Screens a scan may start a check-in from (not while a ticket is on its
 * way, shown, or the kiosk is stopped). */
static int scan_welcome(const kiosk_app *a)
{
    switch (a->screen) {
    case KV_IDLE:
    case KV_MENU:
    case KV_PRIORITY:
    case KV_CHECKIN:
        return 1;
    case KV_FAULT:
        return !kiosk_fault_blocking(a->fault);
    default:
        return 0;
    }
}

void kiosk_app_scan(kiosk_app *a, const char *line, size_t len)
{
    char num[13], code[9];
    if (!scan_welcome(a)) {
        QMS_INFO("scan ignored on the %s screen", kiosk_view_name(a->screen, a->fault));
        return;
    }
    if (qms_cccd_parse(line, len, num)) {
        /* only the number leaves, and nothing of the card is logged */
        checkin(a, NULL, num);
        wipe(num, sizeof num);
        return;
    }
    char tmp[24];
    size_t n = len;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        n--;
    if (n < sizeof tmp) {
        memcpy(tmp, line, n);
        tmp[n] = 0;
        if (qms_bookcode_parse(tmp, code)) {
            char shown[10];
            qms_bookcode_format(code, shown);
            QMS_INFO("scan: a booking code");
            checkin(a, shown, NULL);
            return;
        }
    }
    QMS_INFO("scan: not a booking code nor a CCCD card (%zu bytes)", len);
    open_checkin(a, 3);
}

/* ---- keyboard (a USB scanner is a keyboard) ---- */

void kiosk_app_text(kiosk_app *a, const char *utf8)
{
    int64_t now = qms_mono_ms();
    /* a pause ends a burst: what a person types slowly starts afresh */
    if (a->hid_len && now - a->hid_last_ms > 500) {
        wipe(a->hid, a->hid_len);
        a->hid_len = 0;
        a->hid_overflow = 0;
    }
    if (!a->hid_len)
        a->hid_first_ms = now;
    a->hid_last_ms = now;
    size_t n = strlen(utf8);
    if (a->hid_len + n > KIOSK_SCAN_MAX)
        a->hid_overflow = 1;
    else {
        memcpy(a->hid + a->hid_len, utf8, n);
        a->hid_len += n;
        a->hid[a->hid_len] = 0;
    }
    if (a->screen != KV_CHECKIN)
        return;
    /* on the keypad screen a keyboard types the code too */
    for (const char *p = utf8; *p; p++) {
        char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        const char *k = c ? strchr(KIOSK_CODE_ALPHABET, c) : NULL;
        if (k && a->code_len < KIOSK_CODE_MAX)
            code_key(a, (int)(k - KIOSK_CODE_ALPHABET));
    }
}

void kiosk_app_backspace(kiosk_app *a)
{
    if (a->screen == KV_CHECKIN)
        code_key(a, KIOSK_CODE_CHARS);
}

void kiosk_app_enter(kiosk_app *a)
{
    int64_t now = qms_mono_ms();
    size_t n = a->hid_len;
    int overflow = a->hid_overflow;
    /* a scanner types fast: ~10 ms a key; people type 100+ ms a key */
    int fast = n >= 8 && now - a->hid_first_ms <= (int64_t)n * 40 + 100;
    int is_scan = n && !overflow && (fast || a->screen == KV_CHECKIN) &&
                  (memchr(a->hid, '|', n) || a->screen != KV_CHECKIN || fast);
    if (n && !overflow && is_scan)
        kiosk_app_scan(a, a->hid, n);
    else if (a->screen == KV_CHECKIN)
        code_submit(a);
    else if (overflow)
        QMS_INFO("keyboard: a line too long ignored");
    wipe(a->hid, sizeof a->hid);
    a->hid_len = 0;
    a->hid_overflow = 0;
}

/* ---- the serial scanner ---- */

static void poll_scanner(kiosk_app *a)
{
    if (!a->cfg.scanner_port[0])
        return;
    int64_t now = qms_mono_ms();
    if (!a->scanner) {
        if (now < a->scanner_retry_ms)
            return;
        int rc = qms_serial_open(a->cfg.scanner_port, a->cfg.scanner_baud, &a->scanner);
        if (rc) {
            a->scanner = NULL;
            a->scanner_retry_ms = now + 5000;
            if (!a->scanner_warned)
                QMS_WARN("scanner %s: cannot open it (%s); trying again every 5 s",
                         a->cfg.scanner_port, qms_err_code(rc));
            a->scanner_warned = 1;
            return;
        }
        a->scanner_warned = 0;
        QMS_INFO("scanner %s open (%s)", a->cfg.scanner_port, qms_serial_backend(a->scanner));
    }
    for (int rounds = 0; rounds < 16; rounds++) {
        char buf[256];
        size_t got = 0;
        int rc = qms_serial_read(a->scanner, buf, sizeof buf, 0, &got);
        if (rc == QMS_ERR_IO) {
            QMS_WARN("scanner %s is gone; trying again every 5 s", a->cfg.scanner_port);
            qms_serial_close(a->scanner);
            a->scanner = NULL;
            a->scanner_retry_ms = now + 5000;
            wipe(a->scan, sizeof a->scan);
            a->scan_len = 0;
            return;
        }
        if (rc || !got)
            return;
        for (size_t i = 0; i < got; i++) {
            char c = buf[i];
            if (c == '\r' || c == '\n') {
                if (a->scan_overflow)
                    QMS_WARN("scanner: a line over %d bytes ignored", KIOSK_SCAN_MAX);
                else if (a->scan_len)
                    kiosk_app_scan(a, a->scan, a->scan_len);
                wipe(a->scan, sizeof a->scan);
                a->scan_len = 0;
                a->scan_overflow = 0;
            } else if (a->scan_len >= KIOSK_SCAN_MAX) {
                a->scan_overflow = 1;
            } else {
                a->scan[a->scan_len++] = c;
            }
        }
        wipe(buf, sizeof buf);
    }
}

/* ---- the calendar ---- */

/* Does nothing issue again today (closed all day, or past the last span of
 * every service)? Then also the words for the closed screen. */
static int day_over(kiosk_app *a, char *words, size_t wlen)
{
    const qms_config *c = center(a);
    if (!c || !c->nservices)
        return 0;
    int64_t now = ctrl_now(a);
    int32_t today = qms_local_day(now, c->utc_offset_min);
    int best = -1;
    int32_t bday = 0, bsec = 0;
    for (int si = 0; si < c->nservices; si++) {
        if (qms_calendar_open(c, si, now))
            return 0;
        int32_t d, sec;
        if (!qms_calendar_next_open(c, si, now, &d, &sec))
            continue;
        if (d == today)
            return 0;
        if (best < 0 || d < bday || (d == bday && sec < bsec)) {
            best = si;
            bday = d;
            bsec = sec;
        }
    }
    qms_calendar_next_words(c, best, now, !strcmp(a->lang, "en"), words, wlen);
    return 1;
}

static void check_closed(kiosk_app *a)
{
    if (a->screen != KV_IDLE && a->screen != KV_CLOSED)
        return;
    int64_t min = ctrl_now(a) / 60000;
    int gen = kiosk_net_config_gen(a->net);
    if (min == a->closed_checked_min && gen == a->closed_gen)
        return;
    a->closed_checked_min = min;
    a->closed_gen = gen;
    int over = day_over(a, a->closed_words, sizeof a->closed_words);
    if (over && a->screen == KV_IDLE) {
        set_screen(a, KV_CLOSED, KF_NONE, 0);
    } else if (!over && a->screen == KV_CLOSED) {
        go_idle(a);
    } else if (a->screen == KV_CLOSED) {
        a->dirty = 1;
    }
}

static void activate(kiosk_app *a, kiosk_target t)
{
    int64_t now = qms_mono_ms();
    switch (t.kind) {
    case KTG_LANG:
        memcpy(a->lang, strcmp(a->lang, "en") ? "en" : "vi", 3);
        if (a->deadline_ms &&
            (a->screen == KV_MENU || a->screen == KV_PRIORITY || a->screen == KV_CHECKIN))
            a->deadline_ms = now + (int64_t)a->cfg.idle_timeout_s * 1000;
        if (a->screen == KV_CLOSED)
            a->closed_checked_min = -1; /* the words in the other language */
        a->dirty = 1;
        break;
    case KTG_CHECKIN:
        open_checkin(a, 0);
        break;
    case KTG_KEY:
        code_key(a, t.index);
        break;
    case KTG_OK:
        code_submit(a);
        break;
    case KTG_START:
        a->page = 0;
        set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        break;
    case KTG_BACK:
        if (a->screen == KV_PRIORITY)
            set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        else
            go_idle(a);
        break;
    case KTG_PREV:
    case KTG_NEXT:
        a->page += t.kind == KTG_NEXT ? 1 : -1;
        if (a->page < 0)
            a->page = 0;
        if (a->page >= a->layout.pages)
            a->page = a->layout.pages - 1;
        set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        break;
    case KTG_SERVICE:
        a->chosen = t.index;
        snprintf(a->chosen_code, sizeof a->chosen_code, "%s", center(a)->services[t.index].code);
        if (a->cfg.ask_priority)
            set_screen(a, KV_PRIORITY, KF_NONE, a->cfg.idle_timeout_s);
        else
            choose(a, t.index, 0);
        break;
    case KTG_PRIO:
        choose(a, kiosk_app_service_index(a, a->chosen_code), t.index);
        break;
    case KTG_DISMISS:
        if (a->screen == KV_TICKET)
            go_idle(a);
        else if (a->screen == KV_FAULT && a->fault == KF_APPT)
            open_checkin(a, 0);
        else
            set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        break;
    case KTG_NONE:
        break;
    }
}

void kiosk_app_press(kiosk_app *a, int x, int y)
{
    kiosk_view v;
    kiosk_app_view(a, &v);
    kiosk_target t = kiosk_view_hit(&a->layout, &v, x, y);
    if (t.kind != a->pressed.kind || t.index != a->pressed.index)
        a->dirty = 1;
    a->pressed = t;
}

void kiosk_app_release(kiosk_app *a, int x, int y)
{
    kiosk_view v;
    kiosk_app_view(a, &v);
    kiosk_target t = kiosk_view_hit(&a->layout, &v, x, y);
    kiosk_target was = a->pressed;
    if (was.kind != KTG_NONE)
        a->dirty = 1;
    a->pressed.kind = KTG_NONE;
    if (t.kind != KTG_NONE && t.kind == was.kind && t.index == was.index)
        activate(a, t);
}

static int current_minute(const kiosk_app *a)
{
    const qms_config *c = center(a);
    int off = c ? c->utc_offset_min : 420;
    return (int)(qms_local_sec(ctrl_now(a), off) / 60);
}

void kiosk_app_tick(kiosk_app *a)
{
    kiosk_net_poll(a->net, 0);
    int64_t now = qms_mono_ms();
    if (kiosk_net_config_gen(a->net) != a->layout_gen)
        relayout(a);
    if (a->screen != KV_BUSY && now >= a->next_prn_ms)
        check_printer(a);
    poll_scanner(a);
    if (a->deadline_ms && now >= a->deadline_ms) {
        a->deadline_ms = 0;
        if (a->screen == KV_FAULT && a->fault == KF_APPT)
            go_idle(a);
        else if (a->screen == KV_FAULT && !kiosk_fault_blocking(a->fault))
            set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        else if (a->screen == KV_MENU || a->screen == KV_PRIORITY || a->screen == KV_TICKET ||
                 a->screen == KV_CHECKIN)
            go_idle(a);
    }
    kiosk_fault f = blocking_fault(a);
    switch (a->screen) {
    case KV_STARTING:
        if (f == KF_NONE)
            go_idle(a);
        else if (now - a->started_ms >= a->cfg.startup_grace_ms)
            set_screen(a, KV_FAULT, f, 0);
        break;
    case KV_BUSY:
        break; /* the take's outcome ends it */
    case KV_FAULT:
        if (f != KF_NONE && f != a->fault) {
            set_screen(a, KV_FAULT, f, 0);
        } else if (f == KF_NONE && kiosk_fault_blocking(a->fault)) {
            QMS_INFO("fault cleared");
            go_idle(a);
        }
        break;
    case KV_TICKET:
        /* The ticket came out: let its holder read the number. A fault that
         * came with it (paper ran out after the cut) shows once the screen
         * times out, for the next citizen. */
        break;
    default:
        if (f != KF_NONE)
            set_screen(a, KV_FAULT, f, 0);
        break;
    }
    check_closed(a);
    if ((a->screen == KV_IDLE || a->screen == KV_MENU) && current_minute(a) != a->shown_minute)
        a->dirty = 1;
}

int kiosk_app_wait_ms(kiosk_app *a, int cap_ms)
{
    int64_t now = qms_mono_ms();
    int64_t best = kiosk_net_next_ms(a->net, cap_ms);
    if (a->screen != KV_BUSY && a->next_prn_ms - now < best)
        best = a->next_prn_ms - now;
    if (a->deadline_ms && a->deadline_ms - now < best)
        best = a->deadline_ms - now;
    if (a->screen == KV_STARTING) {
        int64_t g = a->started_ms + a->cfg.startup_grace_ms - now;
        if (g < best)
            best = g;
    }
    if (a->screen == KV_IDLE || a->screen == KV_MENU || a->screen == KV_CLOSED) {
        /* wake for the next minute on the (controller's) clock, and only then */
        int64_t wall = ctrl_now(a);
        double speed = a->clock == &a->follow.clock && a->follow.have ? a->follow.speed : 1.0;
        int64_t to_minute = (int64_t)((double)(60000 - (wall % 60000)) / speed) + 5;
        if (to_minute < best)
            best = to_minute;
    }
    if (a->cfg.scanner_port[0] && best > 50)
        best = 50; /* the serial scanner is read by polling */
    if (best < 0)
        best = 0;
    return (int)best;
}

int kiosk_app_socket(kiosk_app *a)
{
    return kiosk_net_socket(a->net);
}

int kiosk_app_dirty(const kiosk_app *a)
{
    return a->dirty;
}

void kiosk_app_drawn(kiosk_app *a)
{
    a->dirty = 0;
    if (a->screen == KV_IDLE || a->screen == KV_MENU)
        a->shown_minute = current_minute(a);
}

const kiosk_layout *kiosk_app_layout(const kiosk_app *a)
{
    return &a->layout;
}

const char *kiosk_app_screen_name(const kiosk_app *a)
{
    return kiosk_view_name(a->screen, a->fault);
}

int kiosk_app_service_index(const kiosk_app *a, const char *code)
{
    const qms_config *c = center(a);
    return c ? qms_config_service_index(c, code) : -1;
}

int kiosk_app_unsettled(const kiosk_app *a)
{
    return kiosk_net_unsettled(a->net);
}

static const char *service_name(const qms_config *c, int si, const char *lang)
{
    if (!c || si < 0 || si >= c->nservices)
        return "";
    const qms_service *s = &c->services[si];
    if (!strcmp(lang, "en") && s->name_en && *s->name_en)
        return s->name_en;
    return s->name_vi ? s->name_vi : s->code;
}

void kiosk_app_view(kiosk_app *a, kiosk_view *v)
{
    memset(v, 0, sizeof *v);
    const qms_config *c = center(a);
    v->screen = a->screen;
    v->fault = a->fault;
    v->lang = a->lang;
    v->kiosk_id = a->cfg.kiosk_id;
    v->center_name = "";
    if (c)
        v->center_name =
            (!strcmp(a->lang, "en") && c->name_en && *c->name_en) ? c->name_en : c->name_vi;
    int off = c ? c->utc_offset_min : 420;
    int64_t wall = ctrl_now(a);
    char hhmm[6];
    qms_hhmm_str(qms_local_sec(wall, off), hhmm);
    snprintf(v->clock, sizeof v->clock, "%s", hhmm);
    kiosk_text_date(qms_local_day(wall, off), a->lang, v->date, sizeof v->date);
    v->nservices =
        c ? (c->nservices < KIOSK_VIEW_MAX_SERVICES ? c->nservices : KIOSK_VIEW_MAX_SERVICES) : 0;
    for (int i = 0; i < v->nservices; i++) {
        const qms_service *s = &c->services[i];
        if (s->prefix[0])
            snprintf(a->badges[i], sizeof a->badges[i], "%s", s->prefix);
        else
            snprintf(a->badges[i], sizeof a->badges[i], "%d", (int)s->range_lo);
        v->service_badges[i] = a->badges[i];
        v->service_names[i] = service_name(c, i, a->lang);
        a->notes[i][0] = 0;
        v->service_notes[i] = a->notes[i];
        if (a->screen == KV_MENU && !qms_calendar_open(c, i, wall)) {
            /* greyed, with when it opens: today "13:30", else "Thứ Hai 07:30" */
            v->service_closed[i] = 1;
            int32_t d, sec;
            char when[48] = "";
            if (qms_calendar_next_open(c, i, wall, &d, &sec)) {
                char hm[6];
                qms_hhmm_str(sec, hm);
                if (d == qms_local_day(wall, off))
                    snprintf(when, sizeof when, "%s", hm);
                else
                    snprintf(when, sizeof when, "%s %s",
                             qms_weekday_name(qms_weekday(d), !strcmp(a->lang, "en")), hm);
                kiosk_text_fill(a->notes[i], sizeof a->notes[i], KT_SVC_OPENS, a->lang, when, 0,
                                0);
            } else {
                snprintf(a->notes[i], sizeof a->notes[i], "%s",
                         kiosk_text(KT_CLOSED_TITLE, a->lang));
            }
        }
    }
    v->page = a->page;
    v->pressed = a->pressed;
    v->chosen_service = service_name(c, a->chosen, a->lang);
    if (a->screen == KV_TICKET) {
        snprintf(v->number, sizeof v->number, "%s", a->ticket.ticket);
        v->ahead = a->ticket.ahead;
        v->eta_s = a->ticket.eta_s;
        v->priority = a->ticket.priority > 0 && !a->ticket.booked;
        if (!strcmp(a->lang, "en") && a->ticket.name_en[0])
            v->chosen_service = a->ticket.name_en;
        else if (a->ticket.name_vi[0])
            v->chosen_service = a->ticket.name_vi;
    }
    snprintf(v->fault_detail, sizeof v->fault_detail, "%s", a->fault_detail);
    snprintf(v->fault_next, sizeof v->fault_next, "%s", a->fault_next);
    if (a->screen == KV_TICKET) {
        v->booked = a->ticket.booked;
        snprintf(v->slot, sizeof v->slot, "%s", a->ticket.slot);
    }
    /* the code as typed, "ACDE-F___" */
    size_t k = 0;
    for (int i = 0; i < KIOSK_CODE_MAX; i++) {
        if (i == 4)
            v->code[k++] = '-';
        v->code[k++] = i < a->code_len ? a->code[i] : '_';
    }
    v->code[k] = 0;
    v->code_msg = a->code_msg;
    snprintf(v->appt_code, sizeof v->appt_code, "%s", a->appt_code);
    memcpy(v->window, a->window, sizeof v->window);
    snprintf(v->appt_message, sizeof v->appt_message, "%s", a->appt_message);
    v->by_card = a->checkin_by_card;
    snprintf(v->closed_words, sizeof v->closed_words, "%s", a->closed_words);
}
