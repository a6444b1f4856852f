#include "counter_client.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

typedef struct pending {
    int used;
    counter_req req;
    char *json;       /* the encoded body, resent unchanged */
    int64_t first_ms; /* monotonic, first send */
    int64_t last_ms;  /* monotonic, last send (0 = not sent yet on this link) */
    int sends;
} pending;

struct counter_client {
    qms_mqtt *mqtt;
    char site[64];
    int counter;
    char client_id[40];
    unsigned long seq;
    char cmd_topic[256];
    char config_topic[256];
    char ctrl_prefix[256]; /* qms/<site>/device/controller/ */
    qms_config *cfg;
    int cfg_from_file;
    int ctrl_online;
    int retry_ms, give_up_ms;
    int lang_en;
    pending pend[COUNTER_PENDING_MAX];
    counter_reply_cb on_reply;
    counter_msg_cb on_msg;
    counter_link_cb on_link;
    void *ud;
};

/* A client id nobody else uses, now or in any earlier run: the controller
 * remembers replies by request id forever, and our ids are built from this. */
static void make_client_id(char *out, size_t cap, int counter)
{
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* no entropy source: time and pid are unique enough on one machine */
        uint64_t x = (uint64_t)qms_mono_ns() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)(x >> (8 * i));
    }
    snprintf(out, cap, "qc%d-%02x%02x%02x%02x%02x%02x", counter, r[0], r[1], r[2], r[3], r[4],
             r[5]);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void pending_drop(pending *p)
{
    qms_free(p->json);
    memset(p, 0, sizeof *p);
}

/* Publish the request: QoS 1, our reply topic, a fresh correlation, and a
 * message expiry of the time left before we give up — so a broker holding
 * it for a controller that is down never delivers it after we told the clerk
 * "no answer" (a late "next" would call a citizen nobody expects). */
static int pending_send(counter_client *c, pending *p)
{
    int64_t now = qms_mono_ms();
    int64_t left_ms = c->give_up_ms - (now - p->first_ms);
    uint32_t expiry_s = left_ms > 1000 ? (uint32_t)((left_ms + 999) / 1000) : 1;
    char corr[COUNTER_REQ_MAX + 16];
    snprintf(corr, sizeof corr, "%s/%d", p->req.req, p->sends + 1);
    struct mosquitto *mosq = qms_mqtt_handle(c->mqtt);
    mosquitto_property *props = NULL;
    const char *rt = qms_mqtt_reply_topic(c->mqtt);
    int rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, rt);
    if (!rc)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                           (uint16_t)strlen(corr));
    if (!rc)
        rc = mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, expiry_s);
    if (!rc)
        rc = mosquitto_publish_v5(mosq, NULL, c->cmd_topic, (int)strlen(p->json), p->json, 1, false,
                                  props);
    mosquitto_property_free_all(&props);
    p->last_ms = now;
    if (rc == MOSQ_ERR_SUCCESS) {
        p->sends++;
        return QMS_OK;
    }
    return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? QMS_ERR_UNAVAILABLE : QMS_ERR_IO;
}

static void handle_reply(counter_client *c, const qms_mqtt_msg *msg)
{
    counter_info *info = qms_malloc(sizeof *info);
    if (!info)
        return;
    if (counter_info_decode(msg->payload, (size_t)msg->len, info) != QMS_OK || !info->req[0]) {
        QMS_WARN("reply without a request id ignored");
        qms_free(info);
        return;
    }
    for (int i = 0; i < COUNTER_PENDING_MAX; i++) {
        pending *p = &c->pend[i];
        if (!p->used || strcmp(p->req.req, info->req) != 0)
            continue;
        counter_req req = p->req;
        pending_drop(p); /* before the callback, which may send again */
        if (c->on_reply)
            c->on_reply(c->ud, &req, QMS_OK, info);
        qms_free(info);
        return;
    }
    /* a second reply to a retried request, or an old one: already answered */
    qms_free(info);
}

static void handle_config(counter_client *c, const qms_mqtt_msg *msg)
{
    if (c->cfg_from_file || msg->len == 0)
        return;
    qms_config *cfg = NULL;
    char err[200];
    if (qms_config_parse_json(msg->payload, (size_t)msg->len, &cfg, err, sizeof err) != QMS_OK) {
        QMS_WARN("retained config not usable: %s", err);
        return;
    }
    qms_config_free(c->cfg);
    c->cfg = cfg;
}

static void on_mqtt_msg(void *ud, const qms_mqtt_msg *msg)
{
    counter_client *c = ud;
    if (strcmp(msg->topic, qms_mqtt_reply_topic(c->mqtt)) == 0) {
        handle_reply(c, msg);
        return;
    }
    if (strcmp(msg->topic, c->config_topic) == 0) {
        handle_config(c, msg);
        if (c->on_msg)
            c->on_msg(c->ud, msg);
        return;
    }
    if (starts_with(msg->topic, c->ctrl_prefix) && ends_with(msg->topic, "/status")) {
        /* an empty retained message clears the status: not heard of */
        c->ctrl_online = msg->len == 0 ? -1 : counter_status_online(msg->payload, (size_t)msg->len);
    }
    if (c->on_msg)
        c->on_msg(c->ud, msg);
}

static void on_mqtt_conn(void *ud, int up)
{
    counter_client *c = ud;
    if (up) {
        /* Resend what is unanswered at once, with the same request ids: the
         * controller may have acted on it before the link went down, and then
         * answers from its store without acting again. */
        for (int i = 0; i < COUNTER_PENDING_MAX; i++)
            if (c->pend[i].used)
                pending_send(c, &c->pend[i]);
    }
    if (c->on_link)
        c->on_link(c->ud, up);
}

int counter_client_new(const counter_client_opts *o, counter_client **out)
{
    *out = NULL;
    counter_client *c = qms_calloc(1, sizeof *c);
    if (!c)
        return QMS_ERR_NOMEM;
    snprintf(c->site, sizeof c->site, "%s", o->site && *o->site ? o->site : "default");
    c->counter = o->counter;
    c->cfg = o->cfg;
    c->cfg_from_file = o->cfg != NULL;
    c->ctrl_online = -1;
    c->retry_ms = o->retry_ms > 0 ? o->retry_ms : 2000;
    c->give_up_ms = o->give_up_ms > 0 ? o->give_up_ms : 8000;
    c->lang_en = o->lang_en;
    make_client_id(c->client_id, sizeof c->client_id, o->counter);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "counter/%d/cmd", o->counter);
    qms_topic(c->cmd_topic, sizeof c->cmd_topic, c->site, suffix);
    qms_topic(c->config_topic, sizeof c->config_topic, c->site, "config");
    qms_topic(c->ctrl_prefix, sizeof c->ctrl_prefix, c->site, "device/controller/");

    qms_mqtt_opts mo = {
        .host = o->host,
        .port = o->port,
        .client_id = c->client_id,
        .username = o->username,
        .password = o->password,
        .cafile = o->cafile,
        .certfile = o->certfile,
        .keyfile = o->keyfile,
        .site = c->site,
        .device_kind = "counter",
        .device_id = o->device_id,
        /* a one-shot command is no device to watch: no status, no will */
        .transient = o->mode && strcmp(o->mode, "cli") == 0,
    };
    int rc = qms_mqtt_new(&mo, &c->mqtt);
    if (rc) {
        c->cfg = NULL; /* the caller still owns it on failure */
        qms_free(c);
        return rc;
    }
    qms_mqtt_set_callbacks(c->mqtt, on_mqtt_msg, on_mqtt_conn, c);
    /* retained, sent on every (re)connect; the last will says offline */
    char status[128];
    snprintf(status, sizeof status, "{\"state\":\"online\",\"counter\":%d,\"mode\":\"%s\"}",
             o->counter, o->mode ? o->mode : "cli");
    qms_mqtt_set_status(c->mqtt, status);
    if (!c->cfg_from_file)
        qms_mqtt_subscribe(c->mqtt, c->config_topic, 1);
    char ctrl[300];
    snprintf(ctrl, sizeof ctrl, "%s+/status", c->ctrl_prefix);
    qms_mqtt_subscribe(c->mqtt, ctrl, 1);
    *out = c;
    return QMS_OK;
}

void counter_client_free(counter_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < COUNTER_PENDING_MAX; i++)
        if (c->pend[i].used)
            pending_drop(&c->pend[i]);
    qms_mqtt_free(c->mqtt);
    qms_config_free(c->cfg);
    qms_free(c);
}

void counter_client_set_callbacks(counter_client *c, counter_reply_cb on_reply,
                                  counter_msg_cb on_msg, counter_link_cb on_link, void *ud)
{
    c->on_reply = on_reply;
    c->on_msg = on_msg;
    c->on_link = on_link;
    c->ud = ud;
}

int counter_client_subscribe(counter_client *c, const char *suffix)
{
    char topic[256];
    qms_topic(topic, sizeof topic, c->site, suffix);
    return qms_mqtt_subscribe(c->mqtt, topic, 1);
}

int counter_client_send(counter_client *c, counter_req *r)
{
    if (!qms_mqtt_connected(c->mqtt))
        return QMS_ERR_UNAVAILABLE;
    pending *p = NULL;
    for (int i = 0; i < COUNTER_PENDING_MAX && !p; i++)
        if (!c->pend[i].used)
            p = &c->pend[i];
    if (!p)
        return QMS_ERR_TOO_LARGE;
    snprintf(r->req, sizeof r->req, "%s-%lu", c->client_id, ++c->seq);
    r->lang_en = c->lang_en;
    char *json = counter_req_encode(r);
    if (!json)
        return QMS_ERR_INVAL;
    p->used = 1;
    p->req = *r;
    p->json = json;
    p->first_ms = qms_mono_ms();
    int rc = pending_send(c, p);
    if (rc != QMS_OK && rc != QMS_ERR_UNAVAILABLE) {
        pending_drop(p);
        return rc;
    }
    /* a link that dropped just now: the resend on reconnect takes it */
    return QMS_OK;
}

int counter_client_pending(const counter_client *c)
{
    int n = 0;
    for (int i = 0; i < COUNTER_PENDING_MAX; i++)
        n += c->pend[i].used;
    return n;
}

int counter_client_pending_op(const counter_client *c, counter_op op)
{
    for (int i = 0; i < COUNTER_PENDING_MAX; i++)
        if (c->pend[i].used && c->pend[i].req.op == op)
            return 1;
    return 0;
}

/* Resend what waited retry_ms, give up on what waited give_up_ms. */
static void timers(counter_client *c)
{
    int64_t now = qms_mono_ms();
    int up = qms_mqtt_connected(c->mqtt);
    for (int i = 0; i < COUNTER_PENDING_MAX; i++) {
        pending *p = &c->pend[i];
        if (!p->used)
            continue;
        if (now - p->first_ms >= c->give_up_ms) {
            counter_req req = p->req;
            pending_drop(p);
            if (c->on_reply)
                c->on_reply(c->ud, &req, up ? QMS_ERR_TIMEOUT : QMS_ERR_UNAVAILABLE, NULL);
            continue;
        }
        if (up && now - p->last_ms >= c->retry_ms) {
            QMS_DEBUG("no reply to %s yet; sending it again", p->req.req);
            pending_send(c, p);
        }
    }
}

void counter_client_poll(counter_client *c, int timeout_ms)
{
    qms_mqtt_loop(c->mqtt, timeout_ms);
    timers(c);
}

int counter_client_poll_fd(counter_client *c, int fd, int timeout_ms)
{
    int want_write = 0;
    int sock = qms_mqtt_socket(c->mqtt, &want_write);
    struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = sock, .events = POLLIN}};
    if (want_write)
        pf[1].events |= POLLOUT;
    int nfds = sock >= 0 ? 2 : 1;
    if (sock < 0 && timeout_ms > 100)
        timeout_ms = 100; /* reconnect attempts are due on their own */
    int n = poll(pf, (nfds_t)nfds, timeout_ms);
    /* always run the session: keepalives, reconnects and pending output */
    qms_mqtt_loop(c->mqtt, 0);
    timers(c);
    return n > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

int counter_client_connected(const counter_client *c)
{
    return qms_mqtt_connected(c->mqtt);
}

int counter_client_controller_online(const counter_client *c)
{
    return c->ctrl_online;
}

const qms_config *counter_client_config(const counter_client *c)
{
    return c->cfg;
}

const char *counter_client_id(const counter_client *c)
{
    return c->client_id;
}

const char *counter_client_site(const counter_client *c)
{
    return c->site;
}

int counter_client_counter(const counter_client *c)
{
    return c->counter;
}

int counter_client_link_failure(const counter_client *c)
{
    return qms_mqtt_last_failure(c->mqtt, NULL, 0);
}
