#include "kiosk_net.h"

#include "kiosk_journal.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/conn.h"
#include "qms/mqtt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_PEND 64
#define MAX_CONTROLLERS 8
#define RESEND_FIRST_MS 1000
#define RESEND_MAX_MS 30000
#define KEEPALIVE_WAKE_MS 4000
#define RECONNECT_WAKE_MS 500

enum pend_kind {
    P_FREE = 0,
    P_TAKE,      /* the app waits for this outcome */
    P_ABANDONED, /* the app gave up: resolve it, cancel any ticket it made */
    P_CANCEL,    /* repeat until acknowledged */
};

struct pend {
    enum pend_kind kind;
    int take_id;
    char req[72];
    char corr[40];
    char *payload;  /* for resending with the same req */
    int64_t due_ms; /* P_TAKE: reply deadline; others: next resend (monotonic) */
    int backoff_ms;
    int64_t ticket;  /* P_CANCEL: the ticket id */
    char reason[32]; /* P_ABANDONED: why a ticket it turns out to have made is cancelled */
    char jreq[72];   /* P_CANCEL: the take it settles (its journal key) */
};

struct controller {
    char id[64];
    int online;
};

struct kiosk_net {
    qms_mqtt *m;
    char site[64];
    char kiosk_id[32];
    char t_config[128], t_take[128], t_cancel[128], t_ctrl_prefix[128];
    int take_timeout_ms;
    kiosk_take_cb on_take;
    void *ud;
    kiosk_journal *journal; /* NULL: settle in memory only */
    qms_fclock *clock;      /* NULL: nobody follows the controller's clock */
    qms_config *config;
    int config_gen;
    struct controller ctrl[MAX_CONTROLLERS];
    struct pend pend[MAX_PEND];
    unsigned long seq;
    char boot[16]; /* makes request ids unique across restarts of this kiosk */
    int next_take_id;
    char printer[24];
    /* take outcomes are handed to the app after the network loop returns,
     * never from inside libmosquitto's callback */
    struct outcome {
        int take_id;
        kiosk_take_reply r;
    } out[MAX_PEND];
    int nout;
};

static void push_outcome(kiosk_net *n, int take_id, const kiosk_take_reply *r)
{
    if (n->nout >= MAX_PEND)
        return; /* cannot happen: one outcome per pending take */
    n->out[n->nout].take_id = take_id;
    n->out[n->nout].r = *r;
    n->nout++;
}

static void deliver(kiosk_net *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->on_take)
            n->on_take(n->ud, n->out[i].take_id, &n->out[i].r);
    n->nout = 0;
}

/* ---- parsing (pure, fuzzed) -------------------------------------------- */

/* A string field, cut to cap if longer — at a character boundary, so a
 * long Vietnamese sentence never ends in half a letter. */
static void copy_str(char *dst, size_t cap, const cJSON *v)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return;
    size_t n = strlen(v->valuestring);
    if (n >= cap) {
        n = cap - 1;
        /* step back over continuation bytes to the start of the cut character */
        size_t k = n;
        while (k > 0 && ((unsigned char)v->valuestring[k] & 0xC0) == 0x80)
            k--;
        n = k;
    }
    memcpy(dst, v->valuestring, n);
    dst[n] = 0;
}

static int get_int64(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < -9.0e15 ||
        v->valuedouble > 9.0e15)
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}

int kiosk_take_reply_parse(const char *payload, size_t len, kiosk_take_reply *r)
{
    memset(r, 0, sizeof *r);
    cJSON *js = cJSON_ParseWithLength(payload, len);
    if (!js)
        return QMS_ERR_PROTOCOL;
    int rc = QMS_ERR_PROTOCOL;
    if (!cJSON_IsObject(js))
        goto out;
    copy_str(r->req, sizeof r->req, cJSON_GetObjectItemCaseSensitive(js, "req"));
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(js, "error");
    if (err) {
        if (!cJSON_IsString(err))
            goto out;
        copy_str(r->code, sizeof r->code, err);
        copy_str(r->message, sizeof r->message, cJSON_GetObjectItemCaseSensitive(js, "message"));
        copy_str(r->next_open, sizeof r->next_open,
                 cJSON_GetObjectItemCaseSensitive(js, "next_open"));
        copy_str(r->next_open_at, sizeof r->next_open_at,
                 cJSON_GetObjectItemCaseSensitive(js, "next_open_at"));
        const cJSON *win = cJSON_GetObjectItemCaseSensitive(js, "window");
        if (cJSON_IsArray(win) && cJSON_GetArraySize(win) == 2) {
            copy_str(r->window[0], sizeof r->window[0], cJSON_GetArrayItem(win, 0));
            copy_str(r->window[1], sizeof r->window[1], cJSON_GetArrayItem(win, 1));
        }
        r->err = qms_err_from_code(r->code);
        if (r->err == QMS_OK) /* "ok" is not a refusal */
            r->err = QMS_ERR_PROTOCOL;
        rc = QMS_OK;
        goto out;
    }
    const cJSON *ticket = cJSON_GetObjectItemCaseSensitive(js, "ticket");
    int64_t v;
    if (!cJSON_IsString(ticket) || !ticket->valuestring[0] ||
        strlen(ticket->valuestring) >= sizeof r->ticket)
        goto out;
    copy_str(r->ticket, sizeof r->ticket, ticket);
    if (get_int64(cJSON_GetObjectItemCaseSensitive(js, "id"), &r->id))
        goto out;
    copy_str(r->service, sizeof r->service, cJSON_GetObjectItemCaseSensitive(js, "service"));
    copy_str(r->name_vi, sizeof r->name_vi,
             cJSON_GetObjectItemCaseSensitive(js, "service_name_vi"));
    copy_str(r->name_en, sizeof r->name_en,
             cJSON_GetObjectItemCaseSensitive(js, "service_name_en"));
    copy_str(r->day, sizeof r->day, cJSON_GetObjectItemCaseSensitive(js, "day"));
    if (!get_int64(cJSON_GetObjectItemCaseSensitive(js, "priority"), &v) && v >= 0 && v < 100)
        r->priority = (int)v;
    if (!get_int64(cJSON_GetObjectItemCaseSensitive(js, "ahead"), &v) && v >= 0 && v < 1000000)
        r->ahead = (int)v;
    if (!get_int64(cJSON_GetObjectItemCaseSensitive(js, "eta_s"), &v) && v >= 0 && v < 100 * 86400)
        r->eta_s = (int)v;
    if (!get_int64(cJSON_GetObjectItemCaseSensitive(js, "taken_ms"), &v) && v >= 0)
        r->taken_ms = v;
    r->booked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(js, "booked"));
    if (r->booked)
        copy_str(r->slot, sizeof r->slot, cJSON_GetObjectItemCaseSensitive(js, "slot"));
    /* the ticket page: a URL goes into the QR as it is, so only plain ones */
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(js, "token");
    if (cJSON_IsString(tok) && strlen(tok->valuestring) < sizeof r->token &&
        strspn(tok->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
            strlen(tok->valuestring))
        copy_str(r->token, sizeof r->token, tok);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(js, "url");
    if (cJSON_IsString(url) && strlen(url->valuestring) < sizeof r->url &&
        (!strncmp(url->valuestring, "http://", 7) || !strncmp(url->valuestring, "https://", 8))) {
        int plain = 1;
        for (const char *p = url->valuestring; *p; p++)
            plain &= (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f;
        if (plain)
            copy_str(r->url, sizeof r->url, url);
    }
    r->err = QMS_OK;
    rc = QMS_OK;
out:
    cJSON_Delete(js);
    return rc;
}

int kiosk_status_online(const char *payload, size_t len)
{
    if (!payload || len == 0)
        return 0;
    cJSON *js = cJSON_ParseWithLength(payload, len);
    if (!js)
        return 0;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(js, "state");
    int on = cJSON_IsString(st) && strcmp(st->valuestring, "online") == 0;
    cJSON_Delete(js);
    return on;
}

/* ---- session ------------------------------------------------------------ */

static void publish_status(kiosk_net *n)
{
    char js[160];
    snprintf(js, sizeof js, "{\"state\":\"online\",\"printer\":\"%s\",\"kiosk\":\"%s\"}",
             n->printer, n->kiosk_id);
    qms_mqtt_set_status(n->m, js);
}

static struct pend *pend_by_req(kiosk_net *n, const char *req)
{
    if (!req[0])
        return NULL;
    for (int i = 0; i < MAX_PEND; i++)
        if (n->pend[i].kind != P_FREE && strcmp(n->pend[i].req, req) == 0)
            return &n->pend[i];
    return NULL;
}

static struct pend *pend_by_corr(kiosk_net *n, const void *corr, int len)
{
    if (!corr || len <= 0)
        return NULL;
    for (int i = 0; i < MAX_PEND; i++)
        if (n->pend[i].kind != P_FREE && strlen(n->pend[i].corr) == (size_t)len &&
            memcmp(n->pend[i].corr, corr, (size_t)len) == 0)
            return &n->pend[i];
    return NULL;
}

static void pend_free(struct pend *p)
{
    if (p->payload) { /* a check-in's payload holds a citizen's number: wipe it */
        volatile char *v = p->payload;
        for (size_t i = 0; v[i]; i++)
            v[i] = 0;
    }
    qms_free(p->payload);
    memset(p, 0, sizeof *p);
}

static struct pend *pend_new(kiosk_net *n)
{
    for (int i = 0; i < MAX_PEND; i++)
        if (n->pend[i].kind == P_FREE)
            return &n->pend[i];
    return NULL;
}

static void make_req(kiosk_net *n, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s-%s-%lu", n->kiosk_id, n->boot, ++n->seq);
}

static int send_pend(kiosk_net *n, struct pend *p, const char *topic)
{
    if (!qms_mqtt_connected(n->m))
        return QMS_ERR_UNAVAILABLE;
    if (p->kind == P_CANCEL) /* a cancel is right whenever it arrives */
        return qms_mqtt_request(n->m, topic, p->payload, strlen(p->payload), p->corr);
    /* a take is not wanted once we gave up on it: the broker must not hand
     * it to a controller that comes back later (its session kept it) */
    int expiry_s = (n->take_timeout_ms + 999) / 1000;
    return qms_mqtt_request_expiring(n->m, topic, p->payload, strlen(p->payload), expiry_s,
                                     p->corr);
}

/* Start cancelling ticket id, repeated until the controller answers.
 * jreq: the take this settles (its journal key); NULL: found by the ticket
 * id. creq: the cancel's request id as journaled by a previous run (NULL:
 * a new one). journal_it: write the cancel to the journal. */
static int start_cancel(kiosk_net *n, int64_t id, const char *reason, const char *jreq,
                        const char *creq, int journal_it)
{
    struct pend *p = pend_new(n);
    if (!p) {
        QMS_ERROR("too many unsettled requests; cannot cancel ticket id %lld", (long long)id);
        return QMS_ERR_TOO_LARGE;
    }
    if (creq && *creq)
        snprintf(p->req, sizeof p->req, "%s", creq);
    else
        make_req(n, p->req, sizeof p->req);
    char js[256];
    snprintf(js, sizeof js, "{\"req\":\"%s\",\"id\":%lld,\"reason\":\"%s\",\"kiosk\":\"%s\"}",
             p->req, (long long)id, reason, n->kiosk_id);
    p->payload = qms_strdup(js);
    if (!p->payload) {
        pend_free(p);
        return QMS_ERR_NOMEM;
    }
    if (!jreq) {
        const kiosk_journal_entry *e = kiosk_journal_find_id(n->journal, id);
        jreq = e ? e->req : NULL;
    }
    /* a ticket the journal does not know (cannot normally happen) is kept
     * under the cancel's own id, so a restart still sends the cancel */
    snprintf(p->jreq, sizeof p->jreq, "%s", jreq ? jreq : p->req);
    p->kind = P_CANCEL;
    p->ticket = id;
    p->backoff_ms = RESEND_FIRST_MS;
    p->due_ms = qms_mono_ms() + p->backoff_ms;
    if (journal_it)
        kiosk_journal_cancel(n->journal, p->jreq, id, reason, p->req);
    QMS_WARN("cancelling ticket id %lld (%s), request %s", (long long)id, reason, p->req);
    kiosk_test_stop_at("cancel");
    send_pend(n, p, n->t_cancel); /* if down, the resend timer sends it */
    return QMS_OK;
}

int kiosk_net_cancel(kiosk_net *n, int64_t id, const char *reason)
{
    return start_cancel(n, id, reason, NULL, NULL, 1);
}

int kiosk_net_printed(kiosk_net *n, const char *req)
{
    return kiosk_journal_printed(n->journal, req);
}

static void on_reply(kiosk_net *n, struct pend *p, const char *payload, size_t len)
{
    kiosk_take_reply r;
    int prc = kiosk_take_reply_parse(payload, len, &r);
    switch (p->kind) {
    case P_TAKE: {
        if (prc) {
            QMS_WARN("unreadable take reply: %.*s", (int)(len > 200 ? 200 : len), payload);
            r.err = QMS_ERR_PROTOCOL;
            snprintf(r.code, sizeof r.code, "protocol");
        }
        int id = p->take_id;
        snprintf(r.req, sizeof r.req, "%s", p->req); /* the journal's key, whatever came back */
        /* a ticket: on paper or cancelled before the journal lets go of it */
        if (r.err == QMS_OK)
            kiosk_journal_ticket(n->journal, p->req, r.id, r.ticket);
        else
            kiosk_journal_done(n->journal, p->req);
        pend_free(p);
        push_outcome(n, id, &r);
        break;
    }
    case P_ABANDONED:
        if (prc == QMS_OK && r.err == QMS_OK) {
            QMS_WARN("late reply: ticket %s (id %lld) was made after the kiosk gave up on it%s; "
                     "cancelling it",
                     r.ticket, (long long)r.id,
                     strcmp(p->reason, "kiosk_restart") ? "" : " (before a restart)");
            char req[sizeof p->req], reason[sizeof p->reason];
            snprintf(req, sizeof req, "%s", p->req);
            snprintf(reason, sizeof reason, "%s", p->reason);
            pend_free(p);
            start_cancel(n, r.id, reason, req, NULL, 1);
        } else if (prc == QMS_OK && r.err == QMS_ERR_DB) {
            /* the store failed: ask again later */
        } else {
            QMS_INFO("abandoned take %s settled: no ticket (%s)", p->req, r.code);
            kiosk_journal_done(n->journal, p->req);
            pend_free(p);
        }
        break;
    case P_CANCEL: {
        if (prc == QMS_OK && r.err == QMS_ERR_DB)
            break; /* retry */
        if (prc == QMS_OK && r.err == QMS_ERR_BAD_STATE)
            /* a counter called it (or it ended) before the cancel arrived:
             * nothing left to cancel, and nothing to retry */
            QMS_WARN("ticket id %lld not cancelled: no longer waiting (%s)", (long long)p->ticket,
                     r.code);
        else if (prc == QMS_OK && r.err && r.err != QMS_ERR_UNKNOWN_TICKET)
            QMS_WARN("cancel of ticket id %lld refused: %s", (long long)p->ticket, r.code);
        else
            QMS_INFO("ticket id %lld cancelled", (long long)p->ticket);
        kiosk_journal_done(n->journal, p->jreq);
        pend_free(p);
        break;
    }
    case P_FREE:
        break;
    }
}

static void on_msg(void *ud, const qms_mqtt_msg *msg)
{
    kiosk_net *n = ud;
    size_t len = msg->len > 0 ? (size_t)msg->len : 0;
    if (strcmp(msg->topic, qms_mqtt_reply_topic(n->m)) == 0) {
        kiosk_take_reply r;
        struct pend *p = NULL;
        if (kiosk_take_reply_parse(msg->payload, len, &r) == QMS_OK)
            p = pend_by_req(n, r.req);
        if (!p)
            p = pend_by_corr(n, msg->corr, msg->corr_len);
        if (p)
            on_reply(n, p, msg->payload, len);
        else
            QMS_DEBUG("reply for no request of ours");
        return;
    }
    if (strcmp(msg->topic, n->t_config) == 0) {
        if (len == 0)
            return; /* retained config removed: keep the last one we had */
        qms_config *c = NULL;
        char err[256];
        if (qms_config_parse_json(msg->payload, len, &c, err, sizeof err)) {
            QMS_WARN("ignoring a bad configuration on %s: %s", msg->topic, err);
            return;
        }
        qms_config_free(n->config);
        n->config = c;
        n->config_gen++;
        QMS_INFO("configuration: %s, %d services", c->name_vi, c->nservices);
        return;
    }
    size_t pl = strlen(n->t_ctrl_prefix);
    if (strncmp(msg->topic, n->t_ctrl_prefix, pl) == 0) {
        const char *id = msg->topic + pl;
        const char *end = strchr(id, '/');
        if (!end || strcmp(end, "/status") != 0 || (size_t)(end - id) >= sizeof n->ctrl[0].id)
            return;
        char cid[64];
        memcpy(cid, id, (size_t)(end - id));
        cid[end - id] = 0;
        int on = kiosk_status_online(msg->payload, len);
        if (on && n->clock && qms_fclock_from_status(n->clock, msg->payload, len) < 0)
            QMS_WARN("ignoring a bad clock in controller %s's status", cid);
        struct controller *slot = NULL;
        for (int i = 0; i < MAX_CONTROLLERS; i++)
            if (n->ctrl[i].id[0] && strcmp(n->ctrl[i].id, cid) == 0)
                slot = &n->ctrl[i];
        for (int i = 0; !slot && i < MAX_CONTROLLERS; i++)
            if (!n->ctrl[i].id[0])
                slot = &n->ctrl[i];
        if (!slot)
            return;
        if (slot->online != on || !slot->id[0])
            QMS_INFO("controller %s is %s", cid, on ? "online" : "offline");
        snprintf(slot->id, sizeof slot->id, "%s", cid);
        slot->online = on;
    }
}

/* What the previous run left open: each take is settled as soon as the
 * controller is online, with the usual resend rules. A take whose outcome
 * was unknown is asked again with the same req (the controller answers a
 * repeat from its store, so no second ticket) and any ticket it made is
 * cancelled; a ticket not confirmed printed is cancelled (kiosk_restart):
 * the printer's confirmed cut is what makes a ticket real. */
static void load_journal(kiosk_net *n)
{
    int64_t now = qms_mono_ms();
    int k = kiosk_journal_count(n->journal);
    if (k)
        QMS_WARN("state file %s: %d request(s) left unsettled by the last run; settling them",
                 kiosk_journal_path(n->journal), k);
    for (int i = 0; i < k; i++) {
        const kiosk_journal_entry *e = kiosk_journal_get(n->journal, i);
        if (e->state == KJ_TAKE) {
            struct pend *p = pend_new(n);
            if (!p || !(p->payload = qms_strdup(e->payload))) {
                QMS_ERROR("cannot settle take %s: too many requests", e->req);
                continue;
            }
            snprintf(p->req, sizeof p->req, "%s", e->req);
            snprintf(p->reason, sizeof p->reason, "kiosk_restart");
            p->kind = P_ABANDONED;
            p->backoff_ms = RESEND_FIRST_MS;
            p->due_ms = now; /* as soon as the controller is online */
            QMS_WARN("take %s: its outcome is unknown (the kiosk stopped before it was known); "
                     "asking again to cancel any ticket it made",
                     e->req);
        } else if (e->state == KJ_TICKET) {
            QMS_WARN("ticket %s (id %lld) of take %s was not confirmed printed before the kiosk "
                     "stopped; cancelling it",
                     e->ticket, (long long)e->id, e->req);
            start_cancel(n, e->id, "kiosk_restart", e->req, NULL, 0);
        } else if (e->state == KJ_CANCEL) {
            QMS_WARN("ticket id %lld: its cancel (%s) was not acknowledged before the kiosk "
                     "stopped; sending it again",
                     (long long)e->id, e->reason);
            start_cancel(n, e->id, e->reason, e->req, e->creq, 0);
        }
    }
}

int kiosk_net_new(const kiosk_net_opts *o, kiosk_net **out)
{
    *out = NULL;
    kiosk_net *n = qms_calloc(1, sizeof *n);
    if (!n)
        return QMS_ERR_NOMEM;
    snprintf(n->site, sizeof n->site, "%s", o->site);
    snprintf(n->kiosk_id, sizeof n->kiosk_id, "%s", o->kiosk_id);
    n->take_timeout_ms = o->take_timeout_ms > 0 ? o->take_timeout_ms : 4000;
    n->on_take = o->on_take;
    n->ud = o->ud;
    snprintf(n->printer, sizeof n->printer, "offline");
    /* base-36 boot time in ms: short, and different on every start */
    unsigned long long b = (unsigned long long)qms_now(&qms_clock_real);
    char tmp[16];
    int k = 0;
    do {
        tmp[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[b % 36];
        b /= 36;
    } while (b && k < 15);
    for (int i = 0; i < k; i++)
        n->boot[i] = tmp[k - 1 - i];
    n->boot[k] = 0;
    qms_topic(n->t_config, sizeof n->t_config, n->site, "config");
    qms_topic(n->t_take, sizeof n->t_take, n->site, "ticket/take");
    qms_topic(n->t_cancel, sizeof n->t_cancel, n->site, "ticket/cancel");
    qms_topic(n->t_ctrl_prefix, sizeof n->t_ctrl_prefix, n->site, "device/controller/");
    char client[128];
    snprintf(client, sizeof client, "kiosk-%s-%s", n->site, n->kiosk_id);
    qms_mqtt_opts mo = {
        .host = o->host,
        .port = o->port,
        .client_id = client,
        .site = n->site,
        .device_kind = "kiosk",
        .device_id = n->kiosk_id,
        .keepalive_s = 10,
    };
    if (o->conn) {
        qms_conn_apply(o->conn, &mo);
        mo.host = o->host;
        mo.port = o->port;
        mo.site = n->site;
    }
    int rc = qms_mqtt_new(&mo, &n->m);
    if (rc) {
        qms_free(n);
        return rc;
    }
    qms_mqtt_set_callbacks(n->m, on_msg, NULL, n);
    n->journal = o->journal;
    n->clock = o->clock;
    load_journal(n);
    char sub[160];
    qms_mqtt_subscribe(n->m, n->t_config, 1);
    snprintf(sub, sizeof sub, "%s+/status", n->t_ctrl_prefix);
    qms_mqtt_subscribe(n->m, sub, 1);
    publish_status(n);
    *out = n;
    return QMS_OK;
}

void kiosk_net_free(kiosk_net *n)
{
    if (!n)
        return;
    for (int i = 0; i < MAX_PEND; i++)
        if (n->pend[i].kind == P_CANCEL || n->pend[i].kind == P_ABANDONED)
            QMS_WARN("exiting with request %s unsettled (%s)%s%s%s", n->pend[i].req,
                     n->pend[i].kind == P_CANCEL ? "cancel" : "take",
                     n->journal ? "; kept in " : "", kiosk_journal_path(n->journal),
                     n->journal ? " for the next start" : "");
    for (int i = 0; i < MAX_PEND; i++)
        pend_free(&n->pend[i]);
    qms_mqtt_free(n->m);
    qms_config_free(n->config);
    qms_free(n);
}

static int take_send(kiosk_net *n, const char *service, const char *prio, const char *lang,
                     const char *appt, const char *cccd, int *take_id)
{
    if (!qms_mqtt_connected(n->m))
        return QMS_ERR_UNAVAILABLE;
    struct pend *p = pend_new(n);
    if (!p)
        return QMS_ERR_TOO_LARGE;
    make_req(n, p->req, sizeof p->req);
    cJSON *js = cJSON_CreateObject();
    if (!js)
        return QMS_ERR_NOMEM;
    cJSON_AddStringToObject(js, "req", p->req);
    if (service && *service)
        cJSON_AddStringToObject(js, "service", service);
    if (prio && *prio)
        cJSON_AddStringToObject(js, "priority", prio);
    else
        cJSON_AddFalseToObject(js, "priority");
    cJSON_AddStringToObject(js, "lang", lang && !strcmp(lang, "en") ? "en" : "vi");
    cJSON_AddStringToObject(js, "kiosk", n->kiosk_id);
    if (appt && *appt)
        cJSON_AddStringToObject(js, "appointment", appt);
    /* the journal's copy never holds a citizen's number: a resend after a
     * restart only needs the req (a take the controller never saw is then
     * refused, which settles it as well) */
    char *disk = cJSON_PrintUnformatted(js);
    if (cccd && *cccd)
        cJSON_AddStringToObject(js, "cccd", cccd);
    char *txt = cJSON_PrintUnformatted(js);
    cJSON_Delete(js);
    if (!txt || !disk) {
        cJSON_free(txt);
        cJSON_free(disk);
        return QMS_ERR_NOMEM;
    }
    p->payload = qms_strdup(txt);
    cJSON_free(txt);
    if (!p->payload) {
        cJSON_free(disk);
        pend_free(p);
        return QMS_ERR_NOMEM;
    }
    p->kind = P_TAKE;
    p->take_id = ++n->next_take_id;
    /* on disk before it leaves: a kiosk killed from here on settles it at
     * its next start (a failure is logged; the citizen is still served) */
    kiosk_journal_take(n->journal, p->req, disk);
    cJSON_free(disk);
    p->due_ms = qms_mono_ms() + n->take_timeout_ms;
    int rc = send_pend(n, p, n->t_take);
    if (rc) {
        kiosk_journal_done(n->journal, p->req);
        pend_free(p);
        return rc;
    }
    *take_id = p->take_id;
    return QMS_OK;
}

int kiosk_net_take(kiosk_net *n, const char *service, const char *prio, const char *lang,
                   int *take_id)
{
    return take_send(n, service, prio, lang, NULL, NULL, take_id);
}

int kiosk_net_checkin(kiosk_net *n, const char *code, const char *cccd, const char *lang,
                      int *take_id)
{
    if ((!code || !*code) == (!cccd || !*cccd))
        return QMS_ERR_INVAL;
    return take_send(n, NULL, NULL, lang, code, cccd, take_id);
}

static void run_timers(kiosk_net *n)
{
    int64_t now = qms_mono_ms();
    int online = qms_mqtt_connected(n->m) && kiosk_net_controller_online(n);
    for (int i = 0; i < MAX_PEND; i++) {
        struct pend *p = &n->pend[i];
        if (p->kind == P_FREE || now < p->due_ms)
            continue;
        if (p->kind == P_TAKE) {
            /* Give up waiting, but not on the request: it may still make a
             * ticket. Resolve it in the background. */
            kiosk_take_reply r;
            memset(&r, 0, sizeof r);
            r.err = qms_mqtt_connected(n->m) ? QMS_ERR_TIMEOUT : QMS_ERR_UNAVAILABLE;
            snprintf(r.code, sizeof r.code, "%s", qms_err_code(r.err));
            snprintf(r.req, sizeof r.req, "%s", p->req);
            int id = p->take_id;
            QMS_WARN("take %s: no answer in %d ms; will settle it in the background", p->req,
                     n->take_timeout_ms);
            p->kind = P_ABANDONED;
            snprintf(p->reason, sizeof p->reason, "abandoned");
            p->backoff_ms = RESEND_FIRST_MS;
            p->due_ms = now + p->backoff_ms;
            push_outcome(n, id, &r);
            continue;
        }
        if (!online) {
            p->due_ms = now + RESEND_FIRST_MS;
            continue;
        }
        send_pend(n, p, p->kind == P_CANCEL ? n->t_cancel : n->t_take);
        p->backoff_ms = p->backoff_ms * 2 > RESEND_MAX_MS ? RESEND_MAX_MS : p->backoff_ms * 2;
        p->due_ms = now + p->backoff_ms;
    }
}

void kiosk_net_poll(kiosk_net *n, int timeout_ms)
{
    qms_mqtt_loop(n->m, timeout_ms);
    run_timers(n);
    deliver(n);
}

int kiosk_net_next_ms(kiosk_net *n, int cap_ms)
{
    int64_t now = qms_mono_ms();
    int64_t best = qms_mqtt_connected(n->m) ? KEEPALIVE_WAKE_MS : RECONNECT_WAKE_MS;
    for (int i = 0; i < MAX_PEND; i++)
        if (n->pend[i].kind != P_FREE && n->pend[i].due_ms - now < best)
            best = n->pend[i].due_ms - now;
    if (best < 0)
        best = 0;
    return best < cap_ms ? (int)best : cap_ms;
}

int kiosk_net_socket(kiosk_net *n)
{
    return qms_mqtt_socket(n->m, NULL);
}

int kiosk_net_connected(const kiosk_net *n)
{
    return qms_mqtt_connected(n->m);
}

int kiosk_net_controller_online(const kiosk_net *n)
{
    for (int i = 0; i < MAX_CONTROLLERS; i++)
        if (n->ctrl[i].id[0] && n->ctrl[i].online)
            return 1;
    return 0;
}

const qms_config *kiosk_net_config(const kiosk_net *n)
{
    return n->config;
}

int kiosk_net_config_gen(const kiosk_net *n)
{
    return n->config_gen;
}

int kiosk_net_unsettled(const kiosk_net *n)
{
    int k = 0;
    for (int i = 0; i < MAX_PEND; i++)
        if (n->pend[i].kind == P_CANCEL || n->pend[i].kind == P_ABANDONED)
            k++;
    return k;
}

void kiosk_net_set_printer(kiosk_net *n, const char *printer_state)
{
    if (strcmp(n->printer, printer_state) == 0)
        return;
    snprintf(n->printer, sizeof n->printer, "%s", printer_state);
    publish_status(n);
}

void kiosk_qr_url(const char *tmpl, const char *site, const kiosk_take_reply *r, char *out,
                  size_t outlen)
{
    if (r->url[0]) {
        snprintf(out, outlen, "%s", r->url);
        return;
    }
    size_t o = 0;
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)r->id);
    for (const char *p = tmpl; *p && o + 1 < outlen;) {
        const char *val = NULL;
        size_t skip = 0;
        if (!strncmp(p, "{site}", 6))
            val = site, skip = 6;
        else if (!strncmp(p, "{id}", 4))
            val = idbuf, skip = 4;
        else if (!strncmp(p, "{day}", 5))
            val = r->day, skip = 5;
        else if (!strncmp(p, "{ticket}", 8))
            val = r->ticket, skip = 8;
        else if (!strncmp(p, "{token}", 7))
            val = r->token, skip = 7;
        if (val) {
            size_t vl = strlen(val);
            if (o + vl >= outlen)
                break;
            memcpy(out + o, val, vl);
            o += vl;
            p += skip;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
}
