/* qms-gateway: between the RS-485 line(s) of the center's units and MQTT.
 * The main thread owns the MQTT session: it turns key events into counter
 * requests, follows the controller's counter states and calls, decides what
 * every unit shows, and publishes each unit's device status. The bus
 * threads (gw_bus.c) do the Modbus side. docs/gateway.md. */
#include "gw.h"

#include "counter_msg.h"
#include "regs.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/mqtt.h"
#include "qms/serial.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESEND_MS 3000        /* a request without a reply is sent again (same req) */
#define REQ_EXPIRY_S 30       /* ... and dropped by the broker if nobody took it by then */
#define NOTE_MS 8000          /* a refusal stays on the counter unit's display this long */
#define STATUS_EVERY_MS 2000  /* error counters are published at most this often per unit */
#define GW_STATUS_EVERY_MS 5000
#define HALL_ROWS 4
#define RATING_ASKS 4 /* asks remembered per counter (token -> ticket) */

typedef struct gw_ctr {
    int id;
    counter_info st; /* the controller's last word on the counter */
    int have;
    char note[GW_TEXT_BYTES]; /* a refusal to show */
    int64_t note_until;
    uint16_t token;            /* rating asked (0 = none) */
    char rated_ticket[16];     /* the ticket the last ask was for */
    struct {
        uint16_t token;
        char ticket[16];
    } asks[RATING_ASKS];       /* the last asks: a press's tag names its ticket */
    int nask;                  /* next slot of asks */
    unsigned blink_gen;        /* new calls at this counter */
} gw_ctr;

typedef struct hall_row {
    char ticket[16];
    int counter;
} hall_row;

typedef struct app {
    gw g;
    qms_config *cfg;
    qms_mqtt *m;
    char site[64];
    gw_ctr *ctrs; /* one per configured counter, same order */
    hall_row hall[HALL_ROWS];
    int nhall;
    int ctl_online;
    int view_dirty;
    uint16_t next_token;
    int64_t unit_status_ms[QMS_MAX_BUS_UNITS];
    int64_t gw_status_ms;
    const char *id;
} app;

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qms-gateway --config FILE --bus PATH [--bus PATH ...] [--broker HOST:PORT]\n"
            "                   [--site SITE] [--id NAME] [--baud N] [--timeout-ms N]\n"
            "                   [--offline-ms N] [--poll-ms N] [--gap-ms N] [--key-polls K]\n"
            "                   [--username U --password P] [--cafile F [--certfile F --keyfile "
            "F]]\n"
            "                   [--verbose] [--help] [--version]\n"
            "       qms-gateway --list\n"
            "\n"
            "The Modbus RTU master of the center's RS-485 line(s): polls the counter keypads,\n"
            "LED boards, rating keys and the hall board of the config's \"bus\" section, sends\n"
            "their keys to the controller as counter commands, shows the calls on them, and\n"
            "publishes each unit's device status (docs/gateway.md).\n"
            "\n"
            "  --config FILE    the center (JSON, docs/config.md) with its \"bus\" section\n"
            "  --bus PATH       a line: /dev/ttyUSB0, a pseudo-terminal, ... (units with\n"
            "                   \"line\": n are on the n-th --bus); up to %d\n"
            "  --broker H:P     MQTT broker (default 127.0.0.1:1883)\n"
            "  --site SITE      topic root qms/SITE/ (default: the config's \"site\")\n"
            "  --id NAME        this gateway's name in its device status (default main)\n"
            "  --baud N         line speed, 8E1 (default 19200; 115200 allowed)\n"
            "  --timeout-ms N   reply timeout per request (default 150)\n"
            "  --offline-ms N   silence before a unit is published offline (default 1500)\n"
            "  --poll-ms N      shortest poll cycle (default 20)\n"
            "  --gap-ms N       silence before each request when the units need more than\n"
            "                   3.5 characters (units in QEMU: 25)\n"
            "  --key-polls K    visits to each counter unit (the clerks' keypads) per poll\n"
            "                   cycle, evenly spaced; other units once a cycle (default 2)\n"
            "  --username U, --password P   broker credentials (or QMS_BROKER_PASSWORD)\n"
            "  --cafile F       TLS with this CA; --certfile/--keyfile for a client certificate\n"
            "  --list           list the serial adapters and exit\n"
            "  --verbose        debug logging\n",
            GW_LINES_MAX);
}

static gw_ctr *ctr_of(app *a, int id)
{
    int ci = qms_config_counter_index(a->cfg, id);
    return ci < 0 ? NULL : &a->ctrs[ci];
}

static const char *status_kind(int kind)
{
    switch (kind) {
    case QMS_UNIT_COUNTER:
        return "keypad"; /* "counter" is qms-counter's */
    case QMS_UNIT_LED:
        return "led";
    case QMS_UNIT_RATING:
        return "rating";
    default:
        return "hall";
    }
}

static void unit_status_topic(app *a, const gw_unit *u, char *out, size_t cap)
{
    char suffix[96];
    if (u->cfg.line > 1)
        snprintf(suffix, sizeof suffix, "device/%s/%d.%d/status", status_kind(u->cfg.kind),
                 u->cfg.line, u->cfg.address);
    else
        snprintf(suffix, sizeof suffix, "device/%s/%d/status", status_kind(u->cfg.kind),
                 u->cfg.address);
    qms_topic(out, cap, a->site, suffix);
}

/* Publish a unit's status (caller holds its line's mutex). */
static void publish_unit_status(app *a, gw_unit *u)
{
    static const char *names[] = {"unknown", "online", "offline", "wrong_kind"};
    const gw_counts *c = &u->counts;
    char buf[768], topic[160];
    int n = snprintf(buf, sizeof buf,
                     "{\"state\":\"%s\",\"address\":%d,\"kind\":\"%s\",", names[u->state],
                     u->cfg.address, qms_unit_kind_name(u->cfg.kind));
    if (u->cfg.counter)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\"counter\":%d,", u->cfg.counter);
    if (u->state == GW_UNIT_WRONG_KIND)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\"kind_read\":%u,", u->kind_read);
    if (u->fw_version)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\"fw\":\"%u.%u\",", u->fw_version >> 8,
                      u->fw_version & 0xFF);
    snprintf(buf + n, sizeof buf - (size_t)n,
             "\"line\":\"%s\",\"errors\":{\"crc\":%u,\"framing\":%u,\"overrun\":%u,"
             "\"watchdog\":%u,\"keys_dropped\":%u,\"timeouts\":%u,\"bad_replies\":%u,"
             "\"exceptions\":%u,\"bad_events\":%u,\"restarts\":%u}}",
             a->g.lines[u->line].path, c->crc, c->framing, c->overrun, c->wdt, c->keys_dropped,
             c->timeouts, c->bad_replies, c->exceptions, c->bad_events, c->restarts);
    unit_status_topic(a, u, topic, sizeof topic);
    qms_mqtt_publish(a->m, topic, buf, strlen(buf), 1, 1);
}

static void publish_gw_status(app *a)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "{\"state\":\"online\",\"version\":\"%s\",\"pid\":%ld,"
                                      "\"units\":%d,\"lines\":[",
                     QMS_VERSION, (long)getpid(), a->g.nunits);
    int online = 0;
    for (int l = 0; l < a->g.nlines && n < (int)sizeof buf - 200; l++) {
        gw_line *L = &a->g.lines[l];
        pthread_mutex_lock(&L->mu);
        int on = 0;
        for (int i = 0; i < a->g.nunits; i++)
            if (a->g.units[i].line == l && a->g.units[i].state == GW_UNIT_ONLINE)
                on++;
        online += on;
        double avg = L->cycle_n ? L->cycle_ms_sum / L->cycle_n : 0;
        n += snprintf(buf + n, sizeof buf - (size_t)n,
                      "%s{\"path\":\"%s\",\"up\":%s,\"baud\":%d,\"online\":%d,\"cycles\":%lld,"
                      "\"cycle_ms\":%.2f,\"wire_bytes\":%lu,\"io_errors\":%u}",
                      l ? "," : "", L->path, L->up ? "true" : "false", L->baud, on,
                      (long long)L->cycles, avg, L->wire_bytes_cycle, L->io_errors);
        L->cycle_ms_sum = 0;
        L->cycle_n = 0;
        pthread_mutex_unlock(&L->mu);
    }
    snprintf(buf + n, sizeof buf - (size_t)n, "],\"online\":%d}", online);
    qms_mqtt_set_status(a->m, buf);
}

/* ---- what the units show ---- */

static int ticket_shown(const counter_info *st)
{
    return st->ticket[0] && (strcmp(st->ticket_state, "called") == 0 ||
                             strcmp(st->ticket_state, "serving") == 0);
}

static void counter_lines(app *a, const gw_ctr *k, char out[GW_TEXT_LINES][GW_TEXT_BYTES])
{
    const counter_info *st = &k->st;
    char l1[64];
    gw_text(out[0], k->have && ticket_shown(st) ? st->ticket : "----");
    if (k->note[0] && qms_mono_ms() < k->note_until)
        snprintf(l1, sizeof l1, "%s", k->note);
    else if (!a->ctl_online || !qms_mqtt_connected(a->m))
        snprintf(l1, sizeof l1, "Mất kết nối");
    else if (!k->have)
        snprintf(l1, sizeof l1, "Đang kết nối");
    else if (strcmp(st->state, "paused") == 0)
        snprintf(l1, sizeof l1, "Tạm dừng");
    else if (strcmp(st->state, "closed") == 0)
        snprintf(l1, sizeof l1, "Quầy đóng");
    else if (ticket_shown(st) && strcmp(st->ticket_state, "serving") == 0)
        snprintf(l1, sizeof l1, "Đang phục vụ");
    else if (ticket_shown(st))
        snprintf(l1, sizeof l1, "Đang gọi");
    else if (st->waiting >= 0)
        snprintf(l1, sizeof l1, "Chờ: %d", st->waiting);
    else
        snprintf(l1, sizeof l1, "Sẵn sàng");
    gw_text(out[1], l1);
}

static void update_views(app *a)
{
    for (int i = 0; i < a->g.nunits; i++) {
        gw_unit *u = &a->g.units[i];
        char want[GW_TEXT_LINES][GW_TEXT_BYTES];
        memset(want, 0, sizeof want);
        gw_ctr *k = u->cfg.counter ? ctr_of(a, u->cfg.counter) : NULL;
        unsigned blink = 0;
        switch (u->cfg.kind) {
        case QMS_UNIT_COUNTER:
            counter_lines(a, k, want);
            break;
        case QMS_UNIT_LED:
            gw_text(want[0], k->have && ticket_shown(&k->st) ? k->st.ticket : "");
            blink = k->blink_gen;
            break;
        case QMS_UNIT_HALL:
            for (int r = 0; r < a->nhall && r < GW_TEXT_LINES; r++) {
                char row[64];
                snprintf(row, sizeof row, "%s → %d", a->hall[r].ticket, a->hall[r].counter);
                gw_text(want[r], row);
            }
            break;
        default:
            break;
        }
        gw_line *L = &a->g.lines[u->line];
        pthread_mutex_lock(&L->mu);
        /* served at once (urgent) for what a person waits for: a new
         * ticket on a unit or board, the hall's rows, a blink, the rating
         * keys, the answer to a key; a counter unit's status line alone
         * ("Chờ: 8") goes with the normal visits, a few a cycle */
        size_t urgent_part = u->cfg.kind == QMS_UNIT_COUNTER ? GW_TEXT_BYTES : sizeof want;
        int changed = memcmp(u->want, want, urgent_part) != 0;
        memcpy(u->want, want, sizeof want);
        if (u->cfg.kind == QMS_UNIT_LED && blink != u->want_blink_gen) {
            u->want_blink_gen = blink;
            changed = 1;
        }
        if (u->cfg.kind == QMS_UNIT_RATING) {
            u->want_levels = a->cfg->rating_levels;
            if (k->token != u->want_token) {
                u->want_token = k->token;
                u->want_token_gen++;
                changed = 1;
            }
        }
        if ((changed || u->ev.state == GW_PEND_DONE) && u->state == GW_UNIT_ONLINE)
            gw_bus_urgent(&a->g, u);
        pthread_mutex_unlock(&L->mu);
    }
}

/* The citizen at counter k is done with ticket: light the rating keys. */
static void ask_rating(app *a, gw_ctr *k, const char *ticket)
{
    if (!ticket[0] || strcmp(k->rated_ticket, ticket) == 0)
        return;
    snprintf(k->rated_ticket, sizeof k->rated_ticket, "%s", ticket);
    if (++a->next_token == 0)
        a->next_token = 1;
    k->token = a->next_token;
    k->asks[k->nask].token = k->token;
    snprintf(k->asks[k->nask].ticket, sizeof k->asks[k->nask].ticket, "%s", ticket);
    k->nask = (k->nask + 1) % RATING_ASKS;
    QMS_DEBUG("counter %d: rating asked for %s (token %u)", k->id, ticket, k->token);
    a->view_dirty = 1;
}

/* A new state of counter k (from the retained state or a reply). */
static void counter_state(app *a, gw_ctr *k, const counter_info *st)
{
    if (k->have && k->st.ticket[0] && strcmp(k->st.ticket_state, "serving") == 0 &&
        (!st->ticket[0] || strcmp(st->ticket, k->st.ticket) != 0) &&
        strcmp(st->ticket_state, "waiting") != 0)
        ask_rating(a, k, k->st.ticket); /* serving -> gone: finished */
    if (st->ticket[0] && strcmp(st->ticket, k->rated_ticket) != 0 && k->token &&
        ticket_shown(st)) {
        k->token = 0; /* a new citizen: a late rating would rate the wrong ticket */
        a->view_dirty = 1;
    }
    k->st = *st;
    k->have = 1;
    a->view_dirty = 1;
}

/* ---- key events -> requests ---- */

/* The event was acted on: the bus thread acknowledges it, at once -- but
 * only after the views are updated (work() -> update_views), so the unit's
 * new text goes out in the same visit, before the ack, and not a visit
 * later. */
static void event_done(app *a, gw_unit *u)
{
    u->ev.state = GW_PEND_DONE;
    a->view_dirty = 1;
}

static void send_event(app *a, gw_unit *u)
{
    char topic[128], suffix[48], corr[40];
    gw_ctr *k = ctr_of(a, u->cfg.counter);
    gw_event *ev = &u->ev;
    if (ev->state == GW_PEND_NEW) {
        gw_req_id(u, ev->session, ev->seq, ev->req, sizeof ev->req);
        ev->tries = 0;
        if (u->cfg.kind == QMS_UNIT_RATING && k) {
            /* the press's tag is the token of the ask: it names the ticket,
             * so a rating read after the clerk called the next citizen
             * still rates the one who gave it (the controller checks it
             * is the counter's current or last finished ticket) */
            ev->ticket[0] = 0;
            for (int j = 0; j < RATING_ASKS; j++)
                if (ev->tag && k->asks[j].token == ev->tag)
                    snprintf(ev->ticket, sizeof ev->ticket, "%s", k->asks[j].ticket);
            if (!ev->ticket[0]) {
                QMS_WARN("%s: rating %u for an ask this gateway did not make (tag %u; it "
                         "restarted?): not sent, the ticket is unknown",
                         u->name, ev->arg, ev->tag);
                event_done(a, u);
                return;
            }
            if (ev->tag == k->token)
                k->token = 0; /* one rating per ask (the unit turned its keys off) */
            a->view_dirty = 1;
        }
    }
    const char *why = "";
    char *body = k ? gw_key_request(a->cfg, u, ev, ev->req, &why) : NULL;
    if (!body) {
        if (k && why[0]) {
            gw_text(k->note, why);
            k->note_until = qms_mono_ms() + NOTE_MS;
            a->view_dirty = 1;
        }
        QMS_INFO("%s: key %u (arg %u) sends nothing%s%s", u->name, ev->key, ev->arg,
                 why[0] ? ": " : "", why);
        event_done(a, u);
        return;
    }
    snprintf(suffix, sizeof suffix, "counter/%d/cmd", u->cfg.counter);
    qms_topic(topic, sizeof topic, a->site, suffix);
    int rc = qms_mqtt_request_expiring(a->m, topic, body, strlen(body), REQ_EXPIRY_S, corr);
    if (rc == QMS_OK) {
        if (ev->tries++)
            QMS_INFO("%s: request %s sent again (no reply yet)", u->name, ev->req);
        else
            QMS_INFO("%s: key %u -> %s", u->name, ev->key, body);
    }
    qms_free(body);
    ev->state = GW_PEND_SENT;
    ev->sent_ms = rc == QMS_OK ? qms_mono_ms() : 0; /* not connected: try again soon */
}

static void on_reply(app *a, const qms_mqtt_msg *msg)
{
    counter_info info;
    if (counter_info_decode(msg->payload, (size_t)msg->len, &info) || !info.req[0])
        return;
    QMS_DEBUG("reply %s", info.req);
    for (int i = 0; i < a->g.nunits; i++) {
        gw_unit *u = &a->g.units[i];
        gw_line *L = &a->g.lines[u->line];
        pthread_mutex_lock(&L->mu);
        int mine = u->ev.state == GW_PEND_SENT && strcmp(u->ev.req, info.req) == 0;
        uint16_t key = u->ev.key;
        if (mine)
            event_done(a, u);
        pthread_mutex_unlock(&L->mu);
        if (!mine)
            continue;
        gw_ctr *k = ctr_of(a, u->cfg.counter);
        if (!k)
            return;
        if (info.err) {
            QMS_INFO("%s: %s refused: %s", u->name, info.req, info.error_code);
            if (u->cfg.kind == QMS_UNIT_COUNTER) {
                gw_text(k->note, gw_refusal_text(info.error_code));
                k->note_until = qms_mono_ms() + NOTE_MS;
            }
            a->view_dirty = 1;
            return;
        }
        k->note[0] = 0;
        /* what finished gets its rating asked */
        if (key == QMS_KEY_DONE && strcmp(info.ticket_state, "done") == 0)
            ask_rating(a, k, info.ticket);
        cJSON *root = cJSON_ParseWithLength(msg->payload, (size_t)msg->len);
        const cJSON *fin = root ? cJSON_GetObjectItemCaseSensitive(root, "finished") : NULL;
        if (cJSON_IsString(fin) && strlen(fin->valuestring) < 16)
            ask_rating(a, k, fin->valuestring);
        cJSON_Delete(root);
        /* show the outcome now; the retained state follows */
        if (u->cfg.kind == QMS_UNIT_COUNTER && info.has_current && info.state[0]) {
            counter_info st = k->st;
            snprintf(st.state, sizeof st.state, "%s", info.state);
            snprintf(st.ticket, sizeof st.ticket, "%s", info.current);
            if (strcmp(info.current, info.ticket) == 0)
                snprintf(st.ticket_state, sizeof st.ticket_state, "%s", info.ticket_state);
            else if (!info.current[0])
                st.ticket_state[0] = 0;
            if (info.waiting >= 0)
                st.waiting = info.waiting;
            counter_state(a, k, &st);
        }
        a->view_dirty = 1;
        return;
    }
}

static int topic_counter(app *a, const char *topic, const char *tail)
{
    char pre[96];
    qms_topic(pre, sizeof pre, a->site, "counter/");
    size_t pl = strlen(pre);
    if (strncmp(topic, pre, pl) != 0)
        return -1;
    char *end;
    long n = strtol(topic + pl, &end, 10);
    if (end == topic + pl || strcmp(end, tail) != 0 || n < 1 || n > 9999)
        return -1;
    return (int)n;
}

static void hall_push(app *a, const char *ticket, int counter)
{
    int j = 0;
    for (int i = 0; i < a->nhall; i++)
        if (strcmp(a->hall[i].ticket, ticket) != 0)
            a->hall[j++] = a->hall[i];
    a->nhall = j < HALL_ROWS ? j : HALL_ROWS - 1;
    memmove(&a->hall[1], &a->hall[0], (size_t)a->nhall * sizeof a->hall[0]);
    snprintf(a->hall[0].ticket, sizeof a->hall[0].ticket, "%s", ticket);
    a->hall[0].counter = counter;
    a->nhall++;
}

static void on_msg(void *ud, const qms_mqtt_msg *msg)
{
    app *a = ud;
    char t[160];
    if (strcmp(msg->topic, qms_mqtt_reply_topic(a->m)) == 0) {
        on_reply(a, msg);
        return;
    }
    int n = topic_counter(a, msg->topic, "/state");
    if (n > 0) {
        gw_ctr *k = ctr_of(a, n);
        counter_info st;
        if (k && counter_info_decode(msg->payload, (size_t)msg->len, &st) == QMS_OK)
            counter_state(a, k, &st);
        return;
    }
    qms_topic(t, sizeof t, a->site, "call");
    if (strcmp(msg->topic, t) == 0) {
        counter_call c;
        if (counter_call_decode(msg->payload, (size_t)msg->len, &c) == QMS_OK && c.counter > 0) {
            hall_push(a, c.ticket, c.counter);
            gw_ctr *k = ctr_of(a, c.counter);
            if (k && !msg->retained)
                k->blink_gen++;
            a->view_dirty = 1;
        }
        return;
    }
    qms_topic(t, sizeof t, a->site, "calls/recent");
    if (strcmp(msg->topic, t) == 0) {
        counter_call calls[HALL_ROWS];
        int nc = 0;
        if (counter_calls_decode(msg->payload, (size_t)msg->len, calls, HALL_ROWS, &nc) == QMS_OK) {
            a->nhall = 0;
            for (int i = nc - 1; i >= 0; i--)
                if (calls[i].counter > 0)
                    hall_push(a, calls[i].ticket, calls[i].counter);
            a->view_dirty = 1;
        }
        return;
    }
    qms_topic(t, sizeof t, a->site, "device/controller/main/status");
    if (strcmp(msg->topic, t) == 0) {
        a->ctl_online = counter_status_online(msg->payload, (size_t)msg->len);
        a->view_dirty = 1;
    }
}

static void on_conn(void *ud, int connected)
{
    app *a = ud;
    a->view_dirty = 1;
    if (!connected)
        return;
    /* statuses are retained: the broker may have restarted without them */
    for (int i = 0; i < a->g.nunits; i++) {
        gw_unit *u = &a->g.units[i];
        pthread_mutex_lock(&a->g.lines[u->line].mu);
        if (u->state != GW_UNIT_UNKNOWN)
            u->status_dirty = 1;
        /* a request sent on the lost link may be lost: send again now */
        if (u->ev.state == GW_PEND_SENT)
            u->ev.sent_ms = 0;
        pthread_mutex_unlock(&a->g.lines[u->line].mu);
    }
}

/* One turn of the main loop after poll(). */
static void work(app *a)
{
    int64_t now = qms_mono_ms();
    for (int i = 0; i < a->g.nunits; i++) {
        gw_unit *u = &a->g.units[i];
        gw_line *L = &a->g.lines[u->line];
        pthread_mutex_lock(&L->mu);
        if (u->ev.state == GW_PEND_NEW ||
            (u->ev.state == GW_PEND_SENT && qms_mqtt_connected(a->m) &&
             now - u->ev.sent_ms >= RESEND_MS))
            send_event(a, u);
        if (u->status_dirty && u->state != GW_UNIT_UNKNOWN && qms_mqtt_connected(a->m)) {
            /* a change of state goes out now, counters at most every 2 s */
            static gw_unit_state published[QMS_MAX_BUS_UNITS];
            if (published[i] != u->state || now - a->unit_status_ms[i] >= STATUS_EVERY_MS) {
                publish_unit_status(a, u);
                published[i] = u->state;
                a->unit_status_ms[i] = now;
                u->status_dirty = 0;
            }
        }
        pthread_mutex_unlock(&L->mu);
    }
    for (int i = 0; i < a->cfg->ncounters; i++)
        if (a->ctrs[i].note[0] && now >= a->ctrs[i].note_until) {
            a->ctrs[i].note[0] = 0;
            a->view_dirty = 1;
        }
    if (a->view_dirty) {
        a->view_dirty = 0;
        update_views(a);
    }
    if (now - a->gw_status_ms >= GW_STATUS_EVERY_MS && qms_mqtt_connected(a->m)) {
        a->gw_status_ms = now;
        publish_gw_status(a);
    }
}

static const char *unit_word(int kind)
{
    switch (kind) {
    case QMS_UNIT_COUNTER:
        return "counter unit";
    case QMS_UNIT_LED:
        return "LED board";
    case QMS_UNIT_RATING:
        return "rating keys";
    default:
        return "hall board";
    }
}

static int list_ports(void)
{
    char *text = NULL;
    int n = 0;
    if (qms_serial_list(&text, &n)) {
        fprintf(stderr, "qms-gateway: cannot list serial ports\n");
        return 1;
    }
    if (n == 0)
        printf("no serial ports found\n");
    else
        fputs(text, stdout);
    qms_free(text);
    return 0;
}

static int parse_ms(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    static app A;
    app *a = &A;
    const char *broker = "127.0.0.1:1883", *config_path = NULL, *site_override = NULL;
    const char *buses[GW_LINES_MAX];
    int nbuses = 0, verbose = 0;
    qms_mqtt_opts mo = {0};
    a->g.o = (gw_opts){.baud = 19200, .timeout_ms = 150, .offline_ms = 1500, .poll_ms = 20,
                        .key_polls = 2};
    a->id = "main";
    static const struct option longopts[] = {
        {"config", required_argument, 0, 'c'},     {"broker", required_argument, 0, 'b'},
        {"site", required_argument, 0, 's'},       {"bus", required_argument, 0, 'B'},
        {"baud", required_argument, 0, 'r'},       {"timeout-ms", required_argument, 0, 't'},
        {"offline-ms", required_argument, 0, 'o'}, {"poll-ms", required_argument, 0, 'P'}, {"gap-ms", required_argument, 0, 'g'},
        {"key-polls", required_argument, 0, 'k'},
        {"id", required_argument, 0, 'i'},         {"username", required_argument, 0, 'u'},
        {"password", required_argument, 0, 'p'},   {"cafile", required_argument, 0, 'A'},
        {"certfile", required_argument, 0, 'C'},   {"keyfile", required_argument, 0, 'K'},
        {"list", no_argument, 0, 'l'},             {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},             {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:b:s:B:r:t:o:P:g:k:i:u:p:A:C:K:lvhV", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'b':
            broker = optarg;
            break;
        case 's':
            site_override = optarg;
            break;
        case 'B':
            if (nbuses >= GW_LINES_MAX) {
                fprintf(stderr, "qms-gateway: at most %d --bus lines\n", GW_LINES_MAX);
                return 2;
            }
            buses[nbuses++] = optarg;
            break;
        case 'r':
            if (parse_ms(optarg, 1200, 115200, &a->g.o.baud)) {
                fprintf(stderr, "qms-gateway: bad --baud \"%s\" (1200..115200)\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_ms(optarg, 10, 10000, &a->g.o.timeout_ms)) {
                fprintf(stderr, "qms-gateway: bad --timeout-ms \"%s\" (10..10000)\n", optarg);
                return 2;
            }
            break;
        case 'o':
            if (parse_ms(optarg, 100, 60000, &a->g.o.offline_ms)) {
                fprintf(stderr, "qms-gateway: bad --offline-ms \"%s\" (100..60000)\n", optarg);
                return 2;
            }
            break;
        case 'P':
            if (parse_ms(optarg, 0, 10000, &a->g.o.poll_ms)) {
                fprintf(stderr, "qms-gateway: bad --poll-ms \"%s\" (0..10000)\n", optarg);
                return 2;
            }
            break;
        case 'g':
            if (parse_ms(optarg, 0, 1000, &a->g.o.gap_ms)) {
                fprintf(stderr, "qms-gateway: bad --gap-ms \"%s\" (0..1000)\n", optarg);
                return 2;
            }
            break;
        case 'k':
            if (parse_ms(optarg, 1, 8, &a->g.o.key_polls)) {
                fprintf(stderr, "qms-gateway: bad --key-polls \"%s\" (1..8)\n", optarg);
                return 2;
            }
            break;
        case 'i':
            a->id = optarg;
            break;
        case 'u':
            mo.username = optarg;
            break;
        case 'p':
            mo.password = optarg;
            break;
        case 'A':
            mo.cafile = optarg;
            break;
        case 'C':
            mo.certfile = optarg;
            break;
        case 'K':
            mo.keyfile = optarg;
            break;
        case 'l':
            return list_ports();
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("qms-gateway %s\n", QMS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !config_path || nbuses == 0) {
        fprintf(stderr, "qms-gateway: %s\n",
                optind < argc ? "unexpected arguments"
                : !config_path ? "--config is required"
                               : "at least one --bus is required");
        usage(stderr);
        return 2;
    }
    for (const char *p = a->id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-') ||
            strlen(a->id) > 32) {
            fprintf(stderr, "qms-gateway: --id must be 1-32 letters, digits, '_' or '-'\n");
            return 2;
        }
    if (mo.username && !mo.password)
        mo.password = getenv("QMS_BROKER_PASSWORD");
    if ((mo.certfile || mo.keyfile) && !mo.cafile) {
        fprintf(stderr, "qms-gateway: --certfile/--keyfile need --cafile\n");
        return 2;
    }
    qms_log_init("qms-gateway", verbose ? QMS_LOG_DEBUG : QMS_LOG_INFO);
    char host[256], err[256];
    int port;
    if (qms_parse_hostport(broker, host, sizeof host, &port)) {
        fprintf(stderr, "qms-gateway: bad --broker \"%s\" (want host:port)\n", broker);
        return 2;
    }
    if (qms_config_load_file(config_path, &a->cfg, err, sizeof err)) {
        QMS_ERROR("config: %s", err);
        return 1;
    }
    const char *site = site_override ? site_override : a->cfg->site;
    for (const char *p = site; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            site = "";
    if (!*site || strlen(site) >= sizeof a->site) {
        QMS_ERROR("the site must be 1-63 letters, digits, '_' or '-'");
        return 2;
    }
    snprintf(a->site, sizeof a->site, "%s", site);
    if (a->cfg->nbus == 0) {
        QMS_ERROR("config %s has no \"bus\" section: no units to poll (docs/config.md)",
                  config_path);
        return 1;
    }

    /* lines and units */
    gw *g = &a->g;
    g->cfg = a->cfg;
    g->nlines = nbuses;
    for (int l = 0; l < nbuses; l++) {
        g->lines[l].index = l;
        g->lines[l].path = buses[l];
        g->lines[l].baud = g->o.baud;
    }
    g->units = qms_calloc((size_t)a->cfg->nbus, sizeof *g->units);
    a->ctrs = qms_calloc((size_t)a->cfg->ncounters, sizeof *a->ctrs);
    if (!g->units || !a->ctrs) {
        QMS_ERROR("out of memory");
        return 1;
    }
    for (int i = 0; i < a->cfg->ncounters; i++)
        a->ctrs[i].id = a->cfg->counters[i].id;
    for (int i = 0; i < a->cfg->nbus; i++) {
        const qms_bus_unit *b = &a->cfg->bus[i];
        if (b->line > nbuses) {
            QMS_WARN("bus unit %d is on line %d, but only %d --bus given: not polled",
                     b->address, b->line, nbuses);
            continue;
        }
        gw_unit *u = &g->units[g->nunits++];
        u->cfg = *b;
        u->line = b->line - 1;
        if (b->counter)
            snprintf(u->name, sizeof u->name, "%s of counter %d (address %d)",
                     unit_word(b->kind), b->counter, b->address);
        else
            snprintf(u->name, sizeof u->name, "%s (address %d)", unit_word(b->kind),
                     b->address);
        u->want_levels = a->cfg->rating_levels;
    }

    if (pipe(g->wake_fd) || fcntl(g->wake_fd[0], F_SETFL, O_NONBLOCK) ||
        fcntl(g->wake_fd[1], F_SETFL, O_NONBLOCK)) {
        QMS_ERROR("pipe: %s", strerror(errno));
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    qms_mqtt_lib_init();
    char client_id[128];
    if (snprintf(client_id, sizeof client_id, "qms-gateway-%s-%s", a->site, a->id) >=
        (int)sizeof client_id) {
        QMS_ERROR("site and --id too long for a client id");
        return 2;
    }
    mo.host = host;
    mo.port = port;
    mo.client_id = client_id;
    mo.site = a->site;
    mo.device_kind = "gateway";
    mo.device_id = a->id;
    mo.keepalive_s = 10;
    if (qms_mqtt_new(&mo, &a->m)) {
        QMS_ERROR("cannot set up the MQTT session");
        return 1;
    }
    qms_mqtt_set_callbacks(a->m, on_msg, on_conn, a);
    char t[160];
    qms_topic(t, sizeof t, a->site, "counter/+/state");
    qms_mqtt_subscribe(a->m, t, 1);
    qms_topic(t, sizeof t, a->site, "call");
    qms_mqtt_subscribe(a->m, t, 1);
    qms_topic(t, sizeof t, a->site, "calls/recent");
    qms_mqtt_subscribe(a->m, t, 1);
    qms_topic(t, sizeof t, a->site, "device/controller/main/status");
    qms_mqtt_subscribe(a->m, t, 1);
    /* rating tokens start where the clock says, not at 1: a press still in
     * a unit's FIFO from the gateway before us carries that one's token,
     * and must not name one of our asks (it would rate our ticket) */
    a->next_token = (uint16_t)gw_new_session(0);
    publish_gw_status(a);
    update_views(a);
    if (gw_bus_start(g)) {
        QMS_ERROR("cannot start the bus threads");
        return 1;
    }
    QMS_INFO("qms-gateway %s started: %d units on %d line(s), broker %s:%d, site %s", QMS_VERSION,
             g->nunits, nbuses, host, port, a->site);

    while (!stop_flag) {
        short ev;
        int max_sleep = 100;
        int mfd = qms_mqtt_pollfd(a->m, &ev, &max_sleep);
        struct pollfd p[2] = {{g->wake_fd[0], POLLIN, 0}, {mfd, ev, 0}};
        int timeout = max_sleep < 100 ? max_sleep : 100;
        int r = poll(p, mfd >= 0 ? 2 : 1, timeout < 0 ? 100 : timeout);
        if (r > 0 && (p[0].revents & POLLIN)) {
            char buf[256];
            while (read(g->wake_fd[0], buf, sizeof buf) > 0) {
            }
        }
        qms_mqtt_io(a->m, mfd >= 0 && r > 0 ? p[1].revents : 0);
        work(a);
        qms_mqtt_flush(a->m);
    }
    QMS_INFO("stopping");
    gw_bus_stop(g);
    qms_mqtt_drain(a->m, 1000);
    qms_mqtt_free(a->m); /* publishes "offline" */
    qms_mqtt_lib_cleanup();
    qms_free(g->units);
    qms_free(a->ctrs);
    qms_config_free(a->cfg);
    return 0;
}
