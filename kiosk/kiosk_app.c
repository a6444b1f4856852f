#include "kiosk_app.h"

#include "kiosk_journal.h"
#include "kiosk_net.h"
#include "kiosk_prn.h"
#include "kiosk_text.h"
#include "qms/alloc.h"
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
};

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
                                                          : KF_TAKE_FAILED;
        set_screen(a, KV_FAULT, f, a->cfg.notice_timeout_s);
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

static void activate(kiosk_app *a, kiosk_target t)
{
    int64_t now = qms_mono_ms();
    switch (t.kind) {
    case KTG_LANG:
        memcpy(a->lang, strcmp(a->lang, "en") ? "en" : "vi", 3);
        if (a->deadline_ms && (a->screen == KV_MENU || a->screen == KV_PRIORITY))
            a->deadline_ms = now + (int64_t)a->cfg.idle_timeout_s * 1000;
        a->dirty = 1;
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
    return (int)(qms_local_sec(qms_now(a->clock), off) / 60);
}

void kiosk_app_tick(kiosk_app *a)
{
    kiosk_net_poll(a->net, 0);
    int64_t now = qms_mono_ms();
    if (kiosk_net_config_gen(a->net) != a->layout_gen)
        relayout(a);
    if (a->screen != KV_BUSY && now >= a->next_prn_ms)
        check_printer(a);
    if (a->deadline_ms && now >= a->deadline_ms) {
        a->deadline_ms = 0;
        if (a->screen == KV_FAULT && !kiosk_fault_blocking(a->fault))
            set_screen(a, KV_MENU, KF_NONE, a->cfg.idle_timeout_s);
        else if (a->screen == KV_MENU || a->screen == KV_PRIORITY || a->screen == KV_TICKET)
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
    if (a->screen == KV_IDLE && current_minute(a) != a->shown_minute)
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
    if (a->screen == KV_IDLE) {
        /* wake for the next minute on the clock, and only then */
        int64_t wall = qms_now(a->clock);
        double speed = a->clock == &a->follow.clock && a->follow.have ? a->follow.speed : 1.0;
        int64_t to_minute = (int64_t)((double)(60000 - (wall % 60000)) / speed) + 5;
        if (to_minute < best)
            best = to_minute;
    }
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
    if (a->screen == KV_IDLE)
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
    int64_t wall = qms_now(a->clock);
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
    }
    v->page = a->page;
    v->pressed = a->pressed;
    v->chosen_service = service_name(c, a->chosen, a->lang);
    if (a->screen == KV_TICKET) {
        snprintf(v->number, sizeof v->number, "%s", a->ticket.ticket);
        v->ahead = a->ticket.ahead;
        v->eta_s = a->ticket.eta_s;
        v->priority = a->ticket.priority > 0;
        if (!strcmp(a->lang, "en") && a->ticket.name_en[0])
            v->chosen_service = a->ticket.name_en;
        else if (a->ticket.name_vi[0])
            v->chosen_service = a->ticket.name_vi;
    }
    snprintf(v->fault_detail, sizeof v->fault_detail, "%s", a->fault_detail);
    snprintf(v->fault_next, sizeof v->fault_next, "%s", a->fault_next);
}
