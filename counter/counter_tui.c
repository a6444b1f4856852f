#include "counter_tui.h"

#include "counter_text.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define MAX_LINES 200
#define LINE_CAP 1024
#define RECENT_CALLS 5

typedef enum {
    MODE_KEYS = 0,     /* single keys */
    MODE_CALL,         /* typing a number to call */
    MODE_TRANSFER_SVC, /* typing the service to transfer to */
    MODE_TRANSFER_CTR, /* typing the counter to transfer to */
    MODE_STAFF,        /* typing the staff name for "open" */
    MODE_STAFF_CODE,   /* ... then the sign-in code (shown as stars) */
} tui_mode;

typedef enum { STYLE_PLAIN = 0, STYLE_TITLE, STYLE_BOLD, STYLE_ERROR, STYLE_OK, STYLE_DIM } style;

/* A run of screen lines being built (already cut to the terminal's width). */
typedef struct part {
    char *lines[MAX_LINES];
    style styles[MAX_LINES];
    int n;
} part;

static void part_free(part *p)
{
    for (int i = 0; i < p->n; i++)
        qms_free(p->lines[i]);
    p->n = 0;
}

typedef struct tui {
    counter_client *cl;
    const counter_tui_opts *o;
    int en;
    int rows, cols;
    counter_info state; /* the counter as last heard (retained state or a reply) */
    int have_state;
    counter_stats stats;
    int have_stats;
    counter_info queue; /* the waiting list: retained counter/<n>/queue, or a status reply */
    int have_queue;
    int64_t ctl_offset_ms; /* the controller's clock minus ours (status replies', stats' at_ms) */
    counter_call calls[RECENT_CALLS];
    int ncalls;
    char msg[LINE_CAP];
    int msg_err;
    tui_mode mode;
    char input[128];
    char transfer_svc[QMS_CODE_MAX];
    char staff[64]; /* the staff id typed before the code */
    int link_up;
    int ever_up;
    int ctrl_online; /* as last seen, to notice it coming back */
    int dirty;
    char state_topic[256], queue_topic[256], stats_topic[256], call_topic[256], recent_topic[256];
    char alerts_topic[256];
    counter_alert alerts[COUNTER_ALERTS_MAX]; /* the controller's active alerts (all) */
    int nalerts;
    part *cur; /* the part of the screen being built */
} tui;

static volatile sig_atomic_t got_quit, got_winch;

static void on_signal(int sig)
{
    if (sig == SIGWINCH)
        got_winch = 1;
    else
        got_quit = 1;
}

static const char *T(const tui *t, const char *vi, const char *en)
{
    return t->en ? en : vi;
}

static void set_msg(tui *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(tui *t, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    t->msg_err = err;
    t->dirty = 1;
}

/* ---------- terminal ---------- */

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* the terminal is gone; nothing sensible to do */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void term_size(tui *t)
{
    struct winsize ws;
    if (ioctl(t->o->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        t->rows = ws.ws_row;
        t->cols = ws.ws_col;
    } else {
        t->rows = 24;
        t->cols = 80;
    }
    if (t->rows > MAX_LINES)
        t->rows = MAX_LINES;
}

/* ---------- screen ---------- */

static void line(tui *t, style st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(tui *t, style st, const char *fmt, ...)
{
    part *p = t->cur;
    if (p->n >= MAX_LINES)
        return;
    char raw[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    char *l = qms_malloc(LINE_CAP);
    if (!l)
        return;
    counter_text_fit(raw, (size_t)t->cols, l, LINE_CAP);
    p->lines[p->n] = l;
    p->styles[p->n] = st;
    p->n++;
}

/* A line that may be longer than the terminal: broken at spaces onto at
 * most max_lines rows (the last one cut). */
static void line_wrap(tui *t, style st, int max_lines, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void line_wrap(tui *t, style st, int max_lines, const char *fmt, ...)
{
    char raw[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    const char *p = raw;
    for (int n = 0; n < max_lines && *p; n++) {
        if (counter_text_width(p) <= (size_t)t->cols || n + 1 == max_lines) {
            line(t, st, "%s", p);
            return;
        }
        /* the last space that keeps the row within the width */
        const char *cut = NULL;
        size_t w = 0;
        for (const char *q = p; *q && w <= (size_t)t->cols; q++) {
            if (*q == ' ')
                cut = q;
            if (((unsigned char)*q & 0xC0) != 0x80)
                w++;
        }
        if (!cut || cut == p) {
            line(t, st, "%s", p); /* one long word: cut by line() */
            return;
        }
        line(t, st, "%.*s", (int)(cut - p), p);
        p = cut + 1;
    }
}

static void fmt_hhmm(const tui *t, int64_t ms, char out[6])
{
    const qms_config *cfg = counter_client_config(t->cl);
    int off = cfg ? cfg->utc_offset_min : 420;
    qms_hhmm_str(qms_local_sec(ms, off), out);
}

static void fmt_minutes(const tui *t, int32_t s, char *out, size_t cap)
{
    if (s < 0)
        snprintf(out, cap, "-");
    else if (s < 60)
        snprintf(out, cap, t->en ? "<1 min" : "<1 phút");
    else
        snprintf(out, cap, t->en ? "%d min" : "%d phút", (int)(s / 60));
}

static void build_header(tui *t, int64_t now)
{
    const qms_config *cfg = counter_client_config(t->cl);
    int counter = counter_client_counter(t->cl);
    char nbuf[48], clock[6];
    const char *cname = counter_counter_name(cfg, counter, t->en, nbuf, sizeof nbuf);
    fmt_hhmm(t, now, clock);
    const char *center = cfg ? (t->en ? cfg->name_en : cfg->name_vi) : NULL;
    line(t, STYLE_TITLE, " QMS · %s%s%s · %s", cname, center ? " · " : "", center ? center : "",
         clock);

    if (!t->have_state) {
        line(t, STYLE_PLAIN, "%s",
             T(t, "Trạng thái quầy: chưa nhận được từ bộ điều khiển",
               "Counter state: not received from the controller yet"));
    } else if (t->state.staff[0]) {
        line(t, STYLE_PLAIN, "%s: %s · %s: %s", T(t, "Trạng thái", "State"),
             counter_cstate_text(t->state.state, t->en), T(t, "Nhân viên", "Staff"),
             t->state.staff);
    } else {
        line(t, STYLE_PLAIN, "%s: %s", T(t, "Trạng thái", "State"),
             counter_cstate_text(t->state.state, t->en));
    }
    line(t, STYLE_PLAIN, "%s", "");
    if (t->have_state && t->state.ticket[0]) {
        char since[32] = "";
        if (t->state.since_ms > 0) {
            char hhmm[6];
            fmt_hhmm(t, t->state.since_ms, hhmm);
            snprintf(since, sizeof since, " (%s%s)", T(t, "từ ", "since "), hhmm);
        }
        line_wrap(t, STYLE_BOLD, 2, "%s: %s — %s — %s%s", T(t, "Số hiện tại", "Current ticket"),
                  t->state.ticket, counter_service_name(cfg, t->state.service, t->en),
                  counter_tstate_text(t->state.ticket_state, t->en), since);
    } else {
        line(t, STYLE_BOLD, "%s: %s", T(t, "Số hiện tại", "Current ticket"),
             T(t, "(chưa gọi số nào)", "(none called)"));
    }
    line(t, STYLE_PLAIN, "%s", "");
}

static void build_queue(tui *t, int room, int64_t now)
{
    const qms_config *cfg = counter_client_config(t->cl);
    int waiting = t->have_queue ? t->queue.waiting : (t->have_state ? t->state.waiting : -1);
    if (t->have_state && t->state.waiting >= 0)
        waiting = t->state.waiting; /* the retained state is the freshest count */
    if (waiting >= 0)
        line(t, STYLE_BOLD, "%s: %d", T(t, "Khách chờ cho quầy này", "Waiting for this counter"),
             waiting);
    else
        line(t, STYLE_BOLD, "%s: ?", T(t, "Khách chờ cho quầy này", "Waiting for this counter"));
    room--;
    if (t->mode == MODE_TRANSFER_SVC && cfg) {
        /* help the clerk type a code: the services, several to a line */
        line(t, STYLE_DIM, "%s", T(t, "Các dịch vụ:", "Services:"));
        room--;
        char buf[LINE_CAP] = "";
        for (int i = 0; i < cfg->nservices && room > 1; i++) {
            char item[200];
            snprintf(item, sizeof item, "  %s %s", cfg->services[i].code,
                     t->en ? cfg->services[i].name_en : cfg->services[i].name_vi);
            if (counter_text_width(buf) + counter_text_width(item) > (size_t)t->cols && buf[0]) {
                line(t, STYLE_DIM, "%s", buf);
                room--;
                buf[0] = 0;
            }
            size_t n = strlen(buf);
            snprintf(buf + n, sizeof buf - n, "%s", item);
        }
        if (buf[0] && room > 0)
            line(t, STYLE_DIM, "%s", buf);
        return;
    }
    if (!t->have_queue || !t->queue.has_queue) {
        if (room > 0)
            line(t, STYLE_DIM, "  %s",
                 T(t, "(bộ điều khiển chưa gửi danh sách chờ chi tiết)",
                   "(the controller does not send the waiting list)"));
        return;
    }
    if (!t->have_queue)
        return;
    int shown = 0;
    for (int i = 0; i < t->queue.nqueue && room > 0; i++) {
        const counter_qentry *q = &t->queue.queue[i];
        if (room == 1 && i + 1 < t->queue.nqueue) {
            break; /* keep the last row for "and N more" */
        }
        char wait[32] = "";
        if (q->taken_ms > 0 && now >= q->taken_ms)
            fmt_minutes(t, (int32_t)((now - q->taken_ms) / 1000), wait, sizeof wait);
        /* the mark a clerk looks for: served first, and why */
        char prio[80] = "";
        if (q->priority >= 2)
            snprintf(prio, sizeof prio, "  [%s%s%s]", T(t, "lịch hẹn", "appointment"),
                     q->appt[0] ? " " : "", q->appt);
        else if (q->priority == 1)
            snprintf(prio, sizeof prio, "  [%s]", T(t, "ưu tiên", "priority"));
        char name[120];
        const char *svc = q->service[0] ? q->service : counter_service_of_label(cfg, q->ticket);
        counter_text_fit(svc ? counter_service_name(cfg, svc, t->en) : "", 28, name, sizeof name);
        size_t pad = 28 - counter_text_width(name);
        line(t, q->priority > 0 ? STYLE_BOLD : STYLE_PLAIN, "  %2d. %-6s %s%*s %s%s%s", i + 1,
             q->ticket, name, (int)pad, "", wait[0] ? T(t, "chờ ", "waiting ") : "", wait, prio);
        room--;
        shown++;
    }
    /* how many the list stands for, when the controller says */
    int total = t->queue.queue_len >= 0 ? t->queue.queue_len
                : waiting >= 0          ? waiting
                                        : t->queue.waiting;
    if (total > shown && room > 0)
        line(t, STYLE_DIM, "  %s %d %s", T(t, "... và", "... and"), total - shown,
             T(t, "số nữa", "more"));
}

/* The active alerts that concern this counter (its services' waits and
 * caps, its own pause, its own devices), most urgent first: at most 3 lines. */
static void build_alerts(tui *t)
{
    const qms_config *cfg = counter_client_config(t->cl);
    int me = counter_client_counter(t->cl), shown = 0, more = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < t->nalerts; i++) {
            const counter_alert *a = &t->alerts[i];
            if (a->critical != (pass == 0) || !counter_alert_concerns(a, me, cfg))
                continue;
            if (shown == 3) {
                more++;
                continue;
            }
            const char *msg = t->en && a->message_en[0] ? a->message_en : a->message_vi;
            line_wrap(t, a->critical ? STYLE_ERROR : STYLE_BOLD, 2, "%s %s%s",
                      a->critical ? T(t, "!! Cảnh báo:", "!! Alert:") : T(t, "! Cảnh báo:", "! Alert:"),
                      msg[0] ? msg : a->kind, a->acked ? T(t, " (đã xác nhận)", " (acknowledged)") : "");
            shown++;
        }
    if (more)
        line(t, STYLE_BOLD, "%s %d", T(t, "! Cảnh báo khác:", "! More alerts:"), more);
}

static void build_counts(tui *t)
{
    const qms_config *cfg = counter_client_config(t->cl);
    char buf[LINE_CAP];
    build_alerts(t);
    if (t->have_stats && cfg) {
        int ci = qms_config_counter_index(cfg, counter_client_counter(t->cl));
        buf[0] = 0;
        for (int k = 0; ci >= 0 && k < cfg->counters[ci].nservices; k++) {
            const char *code = cfg->services[cfg->counters[ci].services[k]].code;
            for (int j = 0; j < t->stats.nservices; j++) {
                const counter_svc_stats *s = &t->stats.services[j];
                if (strcmp(s->code, code) != 0 || s->waiting < 0)
                    continue;
                char lw[32];
                fmt_minutes(t, s->longest_wait_s, lw, sizeof lw);
                size_t n = strlen(buf);
                snprintf(buf + n, sizeof buf - n, "%s%s %d %s%s%s%s", buf[0] ? " · " : "", code,
                         s->waiting, T(t, "chờ", "waiting"),
                         s->waiting > 0 ? T(t, " (lâu nhất ", " (longest ") : "",
                         s->waiting > 0 ? lw : "", s->waiting > 0 ? ")" : "");
            }
        }
        if (buf[0])
            line_wrap(t, STYLE_PLAIN, 2, "%s: %s",
                      T(t, "Dịch vụ của quầy", "This counter's services"), buf);
    }
    if (t->have_stats && t->stats.taken >= 0) {
        char mw[32], share[32];
        fmt_minutes(t, t->stats.mean_wait_s, mw, sizeof mw);
        if (t->stats.satisfied_share >= 0)
            snprintf(share, sizeof share, "%.0f%%", t->stats.satisfied_share * 100.0);
        else
            snprintf(share, sizeof share, "-");
        line_wrap(t, STYLE_PLAIN, 2, "%s: %s %d · %s %d · %s %d · %s %s · %s %s",
                  T(t, "Hôm nay (cả trung tâm)", "Today (whole center)"), T(t, "lấy số", "taken"),
                  t->stats.taken, T(t, "đã phục vụ", "served"),
                  t->stats.served < 0 ? 0 : t->stats.served, T(t, "vắng mặt", "no-shows"),
                  t->stats.noshow < 0 ? 0 : t->stats.noshow, T(t, "chờ TB", "mean wait"), mw,
                  T(t, "hài lòng", "satisfied"), share);
    }
    if (t->ncalls > 0) {
        buf[0] = 0;
        for (int i = 0; i < t->ncalls; i++) {
            size_t n = strlen(buf);
            snprintf(buf + n, sizeof buf - n, "%s%s→%s%d%s", i ? "  " : "", t->calls[i].ticket,
                     T(t, "Q", "C"), t->calls[i].counter,
                     t->calls[i].recall ? T(t, " (gọi lại)", " (again)") : "");
        }
        line(t, STYLE_PLAIN, "%s: %s", T(t, "Gọi gần đây", "Recent calls"), buf);
    }
}

static void build_bottom(tui *t)
{
    char rule[LINE_CAP];
    size_t n = 0;
    for (int i = 0; i < t->cols && n + 4 < sizeof rule; i++) {
        memcpy(rule + n, "─", 3);
        n += 3;
    }
    rule[n] = 0;
    line(t, STYLE_DIM, "%s", rule);
    int failure = t->link_up ? QMS_MQTT_FAIL_NONE : counter_client_link_failure(t->cl);
    if (!t->link_up && failure != QMS_MQTT_FAIL_NONE && failure != QMS_MQTT_FAIL_UNREACHABLE) {
        /* the broker is there but will not have us: say why (TLS, login) */
        char why[512];
        counter_link_text(failure, t->o->broker, t->o->has_cert, t->en, why, sizeof why);
        line_wrap(t, STYLE_ERROR, 4, "!! %s — %s", why, T(t, "đang thử lại", "retrying"));
    } else if (!t->link_up) {
        line_wrap(t, STYLE_ERROR, 3, "!! %s %s — %s",
                  T(t, "Không kết nối được tới máy chủ tin nhắn (broker)",
                    "Cannot reach the message broker"),
                  t->o->broker ? t->o->broker : "",
                  T(t, "đang thử lại; thông tin trên màn hình có thể đã cũ",
                    "retrying; what is shown may be out of date"));
    } else if (counter_client_controller_online(t->cl) == 0) {
        line_wrap(
            t, STYLE_ERROR, 2, "!! %s",
            T(t,
              "Bộ điều khiển (qms-controller) đang ngừng hoạt động: lệnh sẽ không được thực "
              "hiện",
              "The controller (qms-controller) is offline: commands will not be carried out"));
    }
    if (t->msg[0])
        line_wrap(t, t->msg_err ? STYLE_ERROR : STYLE_OK, 3, "%s %s", t->msg_err ? "!!" : ">>",
                  t->msg);
    else
        line(t, STYLE_PLAIN, "%s", "");
    switch (t->mode) {
    case MODE_CALL:
        line(t, STYLE_BOLD, "%s %s_",
             T(t,
               "Gọi số (Enter để gọi, Esc để thôi):", "Number to call (Enter calls, Esc cancels):"),
             t->input);
        break;
    case MODE_TRANSFER_SVC:
        line(t, STYLE_BOLD, "%s %s_",
             T(t, "Chuyển sang dịch vụ (mã; Enter = giữ dịch vụ, Esc để thôi):",
               "Transfer to service (code; Enter = same service, Esc cancels):"),
             t->input);
        break;
    case MODE_TRANSFER_CTR:
        line(t, STYLE_BOLD, "%s %s_",
             T(t, "Đến quầy số (Enter = quầy nào cũng được):",
               "To counter number (Enter = any counter):"),
             t->input);
        break;
    case MODE_STAFF_CODE: {
        /* the code is never shown: a star a character */
        char stars[sizeof t->input];
        size_t k = 0;
        for (const char *p = t->input; *p && k + 1 < sizeof stars; p++)
            if (((unsigned char)*p & 0xC0) != 0x80)
                stars[k++] = '*';
        stars[k] = 0;
        line(t, STYLE_BOLD, "%s %s_",
             T(t, "Mã đăng nhập của nhân viên (Enter để mở quầy, Esc để thôi):",
               "Staff sign-in code (Enter opens, Esc cancels):"),
             stars);
        break;
    }
    case MODE_STAFF:
        line(t, STYLE_BOLD, "%s %s_",
             T(t, "Mở quầy — mã hoặc tên nhân viên (Enter để tiếp, Esc để thôi):",
               "Open the counter — staff id or name (Enter goes on, Esc cancels):"),
             t->input);
        break;
    default: {
        const qms_config *cfg = counter_client_config(t->cl);
        char rate[40];
        snprintf(rate, sizeof rate, t->en ? "[1-%d] rating" : "[1-%d] đánh giá",
                 cfg ? cfg->rating_levels : 4);
        const char *vi[] = {
            "[n] gọi tiếp", "[r] gọi lại",   "[s] vắng mặt", "[b] bắt đầu",
            "[d] xong",     "[t] chuyển",    "[c] gọi số",   "[p] tạm dừng/tiếp tục",
            "[o] mở quầy",  "[x] đóng quầy", rate,           "[g] làm mới",
            "[q] thoát"};
        const char *en[] = {
            "[n] next",     "[r] recall",      "[s] no-show",      "[b] start", "[d] done",
            "[t] transfer", "[c] call number", "[p] pause/resume", "[o] open",  "[x] close",
            rate,           "[g] refresh",     "[q] quit"};
        const char **keys = t->en ? en : vi;
        /* whole items to a row, so no key is cut off on a narrow terminal */
        char row[LINE_CAP] = "";
        for (size_t i = 0; i < sizeof vi / sizeof vi[0]; i++) {
            size_t w = counter_text_width(row);
            if (row[0] && w + 2 + counter_text_width(keys[i]) > (size_t)t->cols) {
                line(t, STYLE_DIM, "%s", row);
                row[0] = 0;
            }
            size_t used = strlen(row);
            snprintf(row + used, sizeof row - used, "%s%s", row[0] ? "  " : "", keys[i]);
        }
        if (row[0])
            line(t, STYLE_DIM, "%s", row);
        break;
    }
    }
}

static void draw(tui *t)
{
    /* the controller's time: waits and the clock agree with the hall's */
    int64_t now = qms_now(&qms_clock_real) + t->ctl_offset_ms;
    part top = {0}, mid = {0}, bottom = {0};
    t->cur = &top;
    build_header(t, now);
    t->cur = &bottom; /* built before the middle, to know how much room is left */
    build_counts(t);
    build_bottom(t);
    t->cur = &mid;
    int room = t->rows - top.n - bottom.n;
    build_queue(t, room < 1 ? 1 : room, now);
    t->cur = NULL;

    /* One write per frame: home, each line then erase-to-end-of-line, erase
     * below. Redrawing over the old frame (instead of clearing first) keeps
     * the screen from flickering. The bottom part sits on the last rows. */
    static const char *const on[] = {"",           "\x1b[7m",    "\x1b[1m",
                                     "\x1b[1;31m", "\x1b[1;32m", "\x1b[2m"};
    size_t cap = 64 + (size_t)(t->rows + 1) * (LINE_CAP + 32);
    char *out = qms_malloc(cap);
    if (out) {
        size_t n = (size_t)snprintf(out, cap, "\x1b[H");
        const part *parts[3] = {&top, &mid, &bottom};
        int row = 0;
        for (int k = 0; k < 3; k++) {
            if (k == 2) /* pad the middle so the bottom part ends on the last row */
                while (row < t->rows - bottom.n) {
                    n += (size_t)snprintf(out + n, cap - n, "\x1b[K\r\n");
                    row++;
                }
            for (int i = 0; i < parts[k]->n && row < t->rows; i++, row++)
                n += (size_t)snprintf(out + n, cap - n, "%s%s\x1b[0m\x1b[K%s",
                                      on[parts[k]->styles[i]], parts[k]->lines[i],
                                      row + 1 < t->rows ? "\r\n" : "");
        }
        n += (size_t)snprintf(out + n, cap - n, "\x1b[J");
        write_all(t->o->out_fd, out, n);
        qms_free(out);
    }
    part_free(&top);
    part_free(&mid);
    part_free(&bottom);
    t->dirty = 0;
}

/* ---------- requests ---------- */

static void send_op(tui *t, counter_req *r)
{
    if (!counter_client_connected(t->cl)) {
        set_msg(
            t, 1, "%s",
            T(t, "Chưa kết nối được máy chủ: lệnh chưa được gửi", "Not connected: nothing sent"));
        return;
    }
    if (counter_client_controller_online(t->cl) == 0) {
        /* its retained status (or last will) says it is down: waiting for
         * an answer would only keep the clerk waiting */
        set_msg(t, 1, "%s",
                T(t, "Bộ điều khiển đang ngừng hoạt động: lệnh chưa được gửi",
                  "The controller is offline: nothing sent"));
        return;
    }
    for (int op = 0; op < COUNTER_OP__COUNT; op++) {
        if (op == COUNTER_OP_STATUS)
            continue;
        if (counter_client_pending_op(t->cl, (counter_op)op)) {
            /* one command at a time: a second press while the first is on
             * its way is almost always a double tap, not a wish */
            set_msg(t, 1, "%s",
                    T(t, "Đang chờ trả lời lệnh trước…", "Waiting for the previous command…"));
            return;
        }
    }
    int rc = counter_client_send(t->cl, r);
    if (rc != QMS_OK)
        set_msg(t, 1, "%s", qms_err_message(rc, t->en ? "en" : "vi"));
    else
        set_msg(t, 0, "%s", T(t, "Đang gửi…", "Sending…"));
}

static void send_simple(tui *t, counter_op op)
{
    counter_req r;
    memset(&r, 0, sizeof r);
    r.op = op;
    send_op(t, &r);
}

static void apply_state(tui *t, const counter_info *r)
{
    /* keep what the reply did not say (e.g. staff, since) */
    counter_info *s = &t->state;
    if (r->state[0])
        snprintf(s->state, sizeof s->state, "%s", r->state);
    if (!r->has_current || strcmp(r->current, r->ticket) == 0) {
        snprintf(s->ticket, sizeof s->ticket, "%s", r->ticket);
        snprintf(s->ticket_state, sizeof s->ticket_state, "%s", r->ticket_state);
        snprintf(s->service, sizeof s->service, "%s", r->service);
    } else {
        /* the op acted on another ticket (done, skip, transfer): the current
         * one is named; its details come with the retained state */
        if (strcmp(s->ticket, r->current) != 0) {
            s->ticket_state[0] = 0;
            s->service[0] = 0;
        }
        snprintf(s->ticket, sizeof s->ticket, "%s", r->current);
    }
    if (r->staff[0])
        snprintf(s->staff, sizeof s->staff, "%s", r->staff);
    if (r->since_ms)
        s->since_ms = r->since_ms;
    if (r->waiting >= 0)
        s->waiting = r->waiting;
    t->have_state = 1;
}

static void on_reply(void *ud, const counter_req *req, int err, const counter_info *reply)
{
    tui *t = ud;
    t->dirty = 1;
    if (err == QMS_ERR_UNAVAILABLE) {
        set_msg(t, 1, "%s",
                T(t,
                  "Mất kết nối: lệnh có thể chưa được thực hiện — xem trạng thái khi có kết nối "
                  "lại",
                  "Connection lost: the command may not have been done — check the state when "
                  "back"));
        return;
    }
    if (err != QMS_OK) {
        if (counter_client_controller_online(t->cl) == 0)
            set_msg(t, 1, "%s",
                    T(t, "Bộ điều khiển đang ngừng hoạt động: lệnh chưa được thực hiện",
                      "The controller is offline: the command was not done"));
        else
            set_msg(t, 1, "%s",
                    T(t, "Bộ điều khiển không trả lời: lệnh có thể chưa được thực hiện",
                      "The controller did not answer: the command may not have been done"));
        return;
    }
    if (reply->err != QMS_OK) {
        set_msg(t, 1, "%s",
                reply->message[0] ? reply->message
                                  : qms_err_message(reply->err, t->en ? "en" : "vi"));
        return;
    }
    apply_state(t, reply);
    if (req->op == COUNTER_OP_STATUS && reply->at_ms > 0) {
        /* the controller's time (a status reply is never a remembered one):
         * waits are counted on its clock, as the hall's displays do */
        t->ctl_offset_ms = reply->at_ms - qms_now(&qms_clock_real);
    }
    if (req->op == COUNTER_OP_STATUS && reply->has_queue) {
        /* the status lists the waiting tickets too: as fresh as it gets */
        t->queue = *reply;
        t->have_queue = 1;
    }
    if (req->op == COUNTER_OP_STATUS) {
        if (strcmp(t->msg, T(t, "Đang gửi…", "Sending…")) == 0)
            t->msg[0] = 0;
        return;
    }
    char text[LINE_CAP];
    counter_describe(req, reply, counter_client_config(t->cl), counter_client_counter(t->cl), t->en,
                     text, sizeof text);
    set_msg(t, 0, "%s", text);
}

static void on_msg(void *ud, const qms_mqtt_msg *m)
{
    tui *t = ud;
    t->dirty = 1;
    int online = counter_client_controller_online(t->cl);
    if (online != t->ctrl_online) {
        if (online == 1 && t->ctrl_online == 0) {
            /* back: what was refused because it was down is history */
            if (t->msg_err)
                t->msg[0] = 0;
        }
        t->ctrl_online = online;
    }
    if (strcmp(m->topic, t->state_topic) == 0) {
        counter_info s;
        if (m->len > 0 && counter_info_decode(m->payload, (size_t)m->len, &s) == QMS_OK) {
            /* the retained state is complete: take it as it is */
            t->state = s;
            t->have_state = 1;
        }
    } else if (strcmp(m->topic, t->queue_topic) == 0) {
        /* the controller's list of the next tickets this counter would call */
        counter_info q;
        if (m->len > 0 && counter_info_decode(m->payload, (size_t)m->len, &q) == QMS_OK &&
            q.has_queue) {
            t->queue = q;
            t->have_queue = 1;
        }
    } else if (strcmp(m->topic, t->stats_topic) == 0) {
        if (m->len > 0 && counter_stats_decode(m->payload, (size_t)m->len, &t->stats) == QMS_OK) {
            t->have_stats = 1;
            /* a fresh (not retained) publication tells the controller's time */
            if (!m->retained && t->stats.at_ms > 0)
                t->ctl_offset_ms = t->stats.at_ms - qms_now(&qms_clock_real);
        }
    } else if (strcmp(m->topic, t->alerts_topic) == 0) {
        /* the retained set replaces ours; an empty payload: none */
        int n = 0;
        if (m->len <= 0 ||
            counter_alerts_decode(m->payload, (size_t)m->len, t->alerts, COUNTER_ALERTS_MAX, &n) ==
                QMS_OK)
            t->nalerts = n;
    } else if (strcmp(m->topic, t->recent_topic) == 0) {
        /* the controller's own list (retained: what was called before we
         * started, or while the link was down): it replaces ours */
        counter_call c[RECENT_CALLS];
        int n = 0;
        if (m->len > 0 &&
            counter_calls_decode(m->payload, (size_t)m->len, c, RECENT_CALLS, &n) == QMS_OK) {
            memcpy(t->calls, c, sizeof c[0] * (size_t)n);
            t->ncalls = n;
        }
    } else if (strcmp(m->topic, t->call_topic) == 0) {
        counter_call c;
        if (counter_call_decode(m->payload, (size_t)m->len, &c) == QMS_OK) {
            for (int i = 0; i < t->ncalls; i++)
                if (c.seq >= 0 && t->calls[i].seq == c.seq)
                    return; /* a duplicate delivery */
            memmove(&t->calls[1], &t->calls[0], sizeof t->calls[0] * (RECENT_CALLS - 1));
            t->calls[0] = c;
            if (t->ncalls < RECENT_CALLS)
                t->ncalls++;
        }
    }
}

static void on_link(void *ud, int up)
{
    tui *t = ud;
    t->link_up = up;
    t->dirty = 1;
    if (up) {
        if (t->ever_up && t->msg_err)
            t->msg[0] = 0;
        t->ever_up = 1;
        counter_req r;
        memset(&r, 0, sizeof r);
        r.op = COUNTER_OP_STATUS;
        counter_client_send(t->cl, &r);
    }
}

/* ---------- keys ---------- */

static void start_prompt(tui *t, tui_mode m)
{
    t->mode = m;
    t->input[0] = 0;
    t->dirty = 1;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = 0;
    size_t k = 0;
    while (s[k] == ' ')
        k++;
    memmove(s, s + k, n - k + 1);
}

static void submit_prompt(tui *t)
{
    trim(t->input);
    counter_req r;
    memset(&r, 0, sizeof r);
    switch (t->mode) {
    case MODE_CALL:
        counter_ticket_upcase(t->input);
        t->mode = MODE_KEYS;
        if (!t->input[0] || strlen(t->input) >= sizeof r.ticket) {
            set_msg(t, 1, "%s", T(t, "Chưa nhập số cần gọi", "No number typed"));
            return;
        }
        r.op = COUNTER_OP_CALL;
        counter_copy(r.ticket, sizeof r.ticket, t->input);
        send_op(t, &r);
        return;
    case MODE_TRANSFER_SVC:
        if (strlen(t->input) >= sizeof t->transfer_svc) {
            set_msg(t, 1, "%s", T(t, "Mã dịch vụ quá dài", "Service code too long"));
            t->mode = MODE_KEYS;
            return;
        }
        counter_copy(t->transfer_svc, sizeof t->transfer_svc,
                     counter_service_code(counter_client_config(t->cl), t->input));
        start_prompt(t, MODE_TRANSFER_CTR);
        return;
    case MODE_TRANSFER_CTR: {
        int to = 0;
        t->mode = MODE_KEYS;
        if (t->input[0]) {
            char *end;
            long v = strtol(t->input, &end, 10);
            if (*end || v < 1 || v > 99999) {
                set_msg(t, 1, "%s", T(t, "Số quầy không hợp lệ", "Not a counter number"));
                return;
            }
            to = (int)v;
        }
        if (!t->transfer_svc[0] && !to) {
            set_msg(t, 1, "%s",
                    T(t, "Cần mã dịch vụ hoặc số quầy để chuyển",
                      "A service code or a counter number is needed"));
            return;
        }
        r.op = COUNTER_OP_TRANSFER;
        snprintf(r.to_service, sizeof r.to_service, "%s", t->transfer_svc);
        r.to_counter = to;
        send_op(t, &r);
        return;
    }
    case MODE_STAFF:
        if (t->input[0]) {
            /* a name: then the sign-in code (a center with a staff list
             * checks it; one without ignores it, Enter sends none) */
            counter_copy(t->staff, sizeof t->staff, t->input);
            start_prompt(t, MODE_STAFF_CODE);
            return;
        }
        t->mode = MODE_KEYS;
        r.op = COUNTER_OP_OPEN;
        send_op(t, &r);
        return;
    case MODE_STAFF_CODE:
        t->mode = MODE_KEYS;
        r.op = COUNTER_OP_OPEN;
        counter_copy(r.staff, sizeof r.staff, t->staff);
        counter_copy(r.code, sizeof r.code, t->input);
        send_op(t, &r);
        /* the code stays nowhere in memory it need not */
        memset(t->input, 0, sizeof t->input);
        memset(&r, 0, sizeof r);
        return;
    default:
        t->mode = MODE_KEYS;
        return;
    }
}

/* A byte typed in a prompt: UTF-8 text, backspace, Enter. */
static void prompt_byte(tui *t, unsigned char b)
{
    size_t n = strlen(t->input);
    if (b == '\r' || b == '\n') {
        submit_prompt(t);
    } else if (b == 0x7F || b == 0x08) {
        while (n > 0 && ((unsigned char)t->input[n - 1] & 0xC0) == 0x80)
            n--; /* a whole code point */
        if (n > 0)
            n--;
        t->input[n] = 0;
    } else if (b >= 0x20 && n + 1 < sizeof t->input) {
        t->input[n] = (char)b;
        t->input[n + 1] = 0;
    }
    t->dirty = 1;
}

static void key(tui *t, unsigned char k)
{
    const qms_config *cfg = counter_client_config(t->cl);
    int levels = cfg ? cfg->rating_levels : 4;
    if (k >= 'A' && k <= 'Z')
        k = (unsigned char)(k - 'A' + 'a');
    switch (k) {
    case 'n':
        send_simple(t, COUNTER_OP_NEXT);
        break;
    case 'r':
        send_simple(t, COUNTER_OP_RECALL);
        break;
    case 's':
        send_simple(t, COUNTER_OP_SKIP);
        break;
    case 'b':
        send_simple(t, COUNTER_OP_START);
        break;
    case 'd':
        send_simple(t, COUNTER_OP_DONE);
        break;
    case 'x':
        send_simple(t, COUNTER_OP_CLOSE);
        break;
    case 'p':
        /* one key for both: pause an open counter, open a paused one */
        send_simple(t, t->have_state && strcmp(t->state.state, "open") != 0 ? COUNTER_OP_RESUME
                                                                            : COUNTER_OP_PAUSE);
        break;
    case 't':
        t->transfer_svc[0] = 0;
        start_prompt(t, MODE_TRANSFER_SVC);
        break;
    case 'c':
        start_prompt(t, MODE_CALL);
        break;
    case 'o':
        start_prompt(t, MODE_STAFF);
        break;
    case 'g':
        send_simple(t, COUNTER_OP_STATUS);
        break;
    case 'q':
        got_quit = 1;
        break;
    default:
        if (k >= '1' && k <= '9') {
            if (k - '0' > levels) {
                set_msg(t, 1, t->en ? "Ratings go from 1 to %d" : "Đánh giá từ 1 đến %d", levels);
                break;
            }
            counter_req r;
            memset(&r, 0, sizeof r);
            r.op = COUNTER_OP_RATE;
            r.level = k - '0';
            send_op(t, &r);
        } else if (k >= 0x20 && k < 0x7F) {
            set_msg(t, 1,
                    t->en ? "Key '%c' does nothing; the keys are listed below"
                          : "Phím '%c' không dùng; các phím ở dòng dưới",
                    k);
        }
        break;
    }
}

static void input_bytes(tui *t, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] == 0x03) { /* Ctrl-C */
            got_quit = 1;
            return;
        }
        if (b[i] == 0x1B) {
            if (i + 1 < n && (b[i + 1] == '[' || b[i + 1] == 'O')) {
                /* an arrow or function key: skip its escape sequence */
                i += 2;
                while (i < n && !(b[i] >= 0x40 && b[i] <= 0x7E))
                    i++;
                continue;
            }
            if (t->mode != MODE_KEYS) {
                t->mode = MODE_KEYS;
                t->dirty = 1;
            }
            continue;
        }
        if (t->mode != MODE_KEYS)
            prompt_byte(t, b[i]);
        else
            key(t, b[i]);
    }
}

/* ---------- run ---------- */

int counter_tui_run(counter_client *c, const counter_tui_opts *o)
{
    if (!isatty(o->in_fd)) {
        fputs(o->lang_en ? "qms-counter: -i needs a terminal\n"
                         : "qms-counter: chế độ tương tác (-i) cần chạy trong một terminal\n",
              stderr);
        return 2;
    }
    tui *t = qms_calloc(1, sizeof *t);
    if (!t)
        return 1;
    t->cl = c;
    t->o = o;
    t->en = o->lang_en;
    t->ctrl_online = -1;
    t->state.waiting = -1;
    t->state.counter = -1;
    char suffix[64];
    snprintf(suffix, sizeof suffix, "counter/%d/state", counter_client_counter(c));
    counter_client_subscribe(c, suffix);
    qms_topic(t->state_topic, sizeof t->state_topic, counter_client_site(c), suffix);
    snprintf(suffix, sizeof suffix, "counter/%d/queue", counter_client_counter(c));
    counter_client_subscribe(c, suffix);
    qms_topic(t->queue_topic, sizeof t->queue_topic, counter_client_site(c), suffix);
    counter_client_subscribe(c, "stats");
    counter_client_subscribe(c, "call");
    qms_topic(t->stats_topic, sizeof t->stats_topic, counter_client_site(c), "stats");
    qms_topic(t->call_topic, sizeof t->call_topic, counter_client_site(c), "call");
    counter_client_subscribe(c, "alerts");
    qms_topic(t->alerts_topic, sizeof t->alerts_topic, counter_client_site(c), "alerts");
    counter_client_subscribe(c, "calls/recent");
    qms_topic(t->recent_topic, sizeof t->recent_topic, counter_client_site(c), "calls/recent");
    counter_client_set_callbacks(c, on_reply, on_msg, on_link, t);
    t->link_up = counter_client_connected(c);

    struct termios saved, raw;
    tcgetattr(o->in_fd, &saved);
    raw = saved;
    /* keys one at a time, no echo, Ctrl-C as a key (we restore the terminal) */
    raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= (tcflag_t) ~(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(o->in_fd, TCSAFLUSH, &raw);
    struct sigaction sa, old_int, old_term, old_hup, old_winch;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    sigaction(SIGWINCH, &sa, &old_winch);
    got_quit = got_winch = 0;

    /* alternate screen, cursor hidden */
    const char *enter = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
    write_all(o->out_fd, enter, strlen(enter));
    term_size(t);
    t->dirty = 1;
    int64_t last_draw = 0;
    while (!got_quit) {
        if (got_winch) {
            got_winch = 0;
            term_size(t);
            t->dirty = 1;
        }
        int64_t now = qms_mono_ms();
        if (t->dirty || now - last_draw >= 1000) {
            draw(t);
            last_draw = now;
        }
        if (counter_client_poll_fd(c, o->in_fd, 200)) {
            unsigned char buf[64];
            ssize_t n = read(o->in_fd, buf, sizeof buf);
            if (n > 0)
                input_bytes(t, buf, (size_t)n);
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                break; /* the terminal went away */
        }
    }
    const char *leave = "\x1b[0m\x1b[?25h\x1b[?1049l";
    write_all(o->out_fd, leave, strlen(leave));
    tcsetattr(o->in_fd, TCSAFLUSH, &saved);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
    counter_client_set_callbacks(c, NULL, NULL, NULL, NULL);
    qms_free(t);
    return 0;
}
