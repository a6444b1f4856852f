#include "qms/mqtt.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_SUBS 32
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct sub {
    char *pattern;
    int qos;
};

struct held {
    char *topic, *payload, *rtopic;
    void *corr;
    int len, corr_len, retained;
};

/* a publication waiting for qms_mqtt_release (qms_mqtt_gate) */
struct gated {
    char *topic;
    void *payload, *corr;
    int len, corr_len, qos, retain;
    uint64_t gen;
};

struct qms_mqtt {
    struct mosquitto *mosq;
    char host[256];
    int port;
    int keepalive;
    char client_id[128];
    char site[64];
    char status_topic[320];
    char reply_topic[320];
    char *status_json; /* last status set, republished on reconnect */
    int transient;     /* opts.transient: no status, nothing retained left behind */
    struct sub subs[MAX_SUBS];
    int nsubs;
    int connected;           /* CONNACK accepted and not lost since */
    int down;                /* no socket: waiting for next_attempt_ms */
    int64_t next_attempt_ms; /* monotonic; when to try connecting again */
    int backoff_ms;          /* next delay after a failure */
    int session_expiry_s;    /* > 0: persistent session (blocking connect with the property) */
    unsigned long connects;  /* CONNACKs seen; request_sync resends after one */
    long unsent;             /* publishes not yet written (QoS 0) or acknowledged (QoS 1) */
    unsigned long corr_seq;
    qms_mqtt_msg_cb on_msg;
    qms_mqtt_conn_cb on_conn;
    void *ud;
    /* request_sync state */
    const char *wait_corr;
    char *wait_reply;
    int closing;       /* qms_mqtt_free in progress: no reconnect scheduling */
    int tls, has_cert; /* TLS configured; with a client certificate */
    int fail_kind;     /* why the link is not up (qms_mqtt_failure), 0 once up */
    int acked;         /* the current attempt got a CONNACK (accepted or not) */
    char fail_text[200];
    int logged_kind; /* the TLS failure last logged (once per cause until connected) */
    int read_max;    /* messages handed to on_msg per qms_mqtt_io, 0 = all available */
    int delivered;   /* handed over in the current qms_mqtt_io */
    /* messages read past read_max (libmosquitto reads many packets a call),
     * handed over by the next calls, oldest first */
    struct held *held;
    int nheld, held_first, capheld;
    /* qms_mqtt_gate: > 0, publications wait in gq (in order) for
     * qms_mqtt_release of a generation >= their tag */
    uint64_t gate;
    struct gated *gq;
    int ngq, capgq;
};

static int mosq_err(int rc)
{
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        return QMS_OK;
    case MOSQ_ERR_NOMEM:
        return QMS_ERR_NOMEM;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
        return QMS_ERR_INVAL;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return QMS_ERR_TOO_LARGE;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_CONN_REFUSED:
        return QMS_ERR_UNAVAILABLE;
    default:
        return QMS_ERR_IO;
    }
}

int qms_mqtt_lib_init(void)
{
    return mosq_err(mosquitto_lib_init());
}

void qms_mqtt_lib_cleanup(void)
{
    mosquitto_lib_cleanup();
}

void qms_topic(char *out, size_t outlen, const char *site, const char *suffix)
{
    snprintf(out, outlen, "qms/%s/%s", site, suffix);
}

int qms_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    if (!s || !*s)
        return QMS_ERR_INVAL;
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);
    if (hl == 0 || hl >= hostlen)
        return QMS_ERR_INVAL;
    memcpy(host, s, hl);
    host[hl] = 0;
    *port = 1883;
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p < 1 || p > 65535)
            return QMS_ERR_INVAL;
        *port = (int)p;
    }
    return QMS_OK;
}

static int counted(qms_mqtt *m, int rc);
struct gated;
static void gated_free(struct gated *g);

static void do_subscribe_all(qms_mqtt *m)
{
    for (int i = 0; i < m->nsubs; i++) {
        int rc = mosquitto_subscribe_v5(m->mosq, NULL, m->subs[i].pattern, m->subs[i].qos, 0, NULL);
        if (rc)
            QMS_WARN("subscribe %s: %s", m->subs[i].pattern, mosquitto_strerror(rc));
    }
}

/* The link failed or an attempt did not succeed: try again after the backoff,
 * doubled each time up to BACKOFF_MAX_MS, with some jitter so that every
 * kiosk of a center does not knock on a restarted broker at the same moment. */
static void schedule_retry(qms_mqtt *m)
{
    if (m->closing)
        return;
    m->down = 1;
    int jitter = (int)(qms_mono_ns() % (uint64_t)(m->backoff_ms / 4 + 1));
    m->next_attempt_ms = qms_mono_ms() + m->backoff_ms + jitter;
    m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
}

/* An attempt failed before the broker accepted us (rc from libmosquitto, err
 * the errno of MOSQ_ERR_ERRNO): remember why, for qms_mqtt_last_failure. A
 * TLS broker that wants a client certificate (mosquitto's
 * require_certificate) lets the handshake finish and then breaks the session
 * off (TLS 1.3): the client only sees EPROTO. Those TLS cases are logged
 * once per cause, as nothing else would say why the program never connects. */
static void note_failure(qms_mqtt *m, int rc, int err)
{
    int kind;
    char text[sizeof m->fail_text];
    if (m->tls && (rc == MOSQ_ERR_PROTOCOL ||
                   ((rc == MOSQ_ERR_ERRNO || rc == MOSQ_ERR_CONN_LOST) && err == EPROTO))) {
        kind = QMS_MQTT_FAIL_TLS_CLIENT_CERT;
        snprintf(text, sizeof text, "%s",
                 m->has_cert ? "the broker broke off the TLS session: it did not accept this "
                               "client certificate (signed by a CA the broker trusts?)"
                             : "the broker broke off the TLS session: it requires a client "
                               "certificate, and none was given");
    } else if (m->tls && rc == MOSQ_ERR_TLS) {
        kind = QMS_MQTT_FAIL_TLS;
        snprintf(text, sizeof text, "%s",
                 "the TLS handshake failed (is the broker's certificate signed by the given CA, "
                 "for this address? a client certificate that does not match its key?)");
    } else {
        kind = QMS_MQTT_FAIL_UNREACHABLE;
        snprintf(text, sizeof text, "%s",
                 rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc));
    }
    if (kind != QMS_MQTT_FAIL_UNREACHABLE && kind != m->logged_kind) {
        QMS_WARN("broker %s:%d: %s; will keep trying", m->host, m->port, text);
        m->logged_kind = kind;
    }
    m->fail_kind = kind;
    memcpy(m->fail_text, text, sizeof text);
}

int qms_mqtt_last_failure(const qms_mqtt *m, char *text, size_t cap)
{
    if (text && cap)
        snprintf(text, cap, "%s", m->connected ? "" : m->fail_text);
    return m->connected ? QMS_MQTT_FAIL_NONE : m->fail_kind;
}

static void lost(qms_mqtt *m)
{
    int was = m->connected;
    m->connected = 0;
    m->unsent = 0; /* resent or dropped by libmosquitto; nothing to wait for now */
    if (was && m->on_conn)
        m->on_conn(m->ud, 0);
}

/* One connection attempt. A persistent session needs the session expiry
 * property on every CONNECT, which only the (blocking) connect_bind_v5 call
 * takes; a clean session connects without blocking (a kiosk's screen must not
 * freeze while a broker host is unreachable). */
static void attempt(qms_mqtt *m)
{
    int rc;
    m->down = 0;
    m->acked = 0;
    if (m->session_expiry_s > 0) {
        mosquitto_property *props = NULL;
        rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                          (uint32_t)m->session_expiry_s);
        if (!rc)
            rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, m->keepalive, NULL, props);
        mosquitto_property_free_all(&props);
    } else {
        rc = mosquitto_connect_bind_async(m->mosq, m->host, m->port, m->keepalive, NULL);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        int err = errno;
        QMS_DEBUG("cannot reach broker %s:%d (%s); will retry", m->host, m->port,
                  rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc));
        note_failure(m, rc, err);
        schedule_retry(m);
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    qms_mqtt *m = obj;
    m->acked = 1;
    if (rc != 0) {
        QMS_WARN("broker %s:%d refused connection: %s", m->host, m->port,
                 mosquitto_reason_string(rc));
        m->fail_kind = QMS_MQTT_FAIL_REFUSED;
        snprintf(m->fail_text, sizeof m->fail_text, "the broker refused the connection: %s",
                 mosquitto_reason_string(rc));
        return; /* the broker closes the link; on_disconnect schedules a retry */
    }
    m->connected = 1;
    m->fail_kind = QMS_MQTT_FAIL_NONE;
    m->fail_text[0] = 0;
    m->logged_kind = QMS_MQTT_FAIL_NONE;
    m->connects++;
    m->backoff_ms = BACKOFF_MIN_MS;
    QMS_INFO("connected to broker %s:%d", m->host, m->port);
    do_subscribe_all(m);
    if (m->status_json)
        mosquitto_publish_v5(m->mosq, NULL, m->status_topic, (int)strlen(m->status_json),
                             m->status_json, 1, true, NULL);
    if (m->on_conn)
        m->on_conn(m->ud, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    qms_mqtt *m = obj;
    int err = errno;
    if (m->connected && !m->closing)
        QMS_WARN("lost broker connection (%s)", rc ? mosquitto_strerror(rc) : "asked");
    if (!m->acked && !m->closing && rc)
        note_failure(m, rc, err); /* the broker closed the link before accepting us */
    lost(m);
    schedule_retry(m);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)mid;
    (void)reason;
    (void)props;
    qms_mqtt *m = obj;
    if (m->unsent > 0)
        m->unsent--;
}

/* Count what we hand to libmosquitto, so an owner can wait for it to leave. */
static int counted(qms_mqtt *m, int rc)
{
    if (rc == MOSQ_ERR_SUCCESS)
        m->unsent++;
    return rc;
}

static void held_free(struct held *h)
{
    qms_free(h->topic);
    qms_free(h->payload);
    qms_free(h->rtopic);
    qms_free(h->corr);
}

/* Keep a copy of a message for a later qms_mqtt_io (it was acknowledged
 * already, as any message libmosquitto reads). */
static void hold(qms_mqtt *m, const qms_mqtt_msg *msg)
{
    if (m->nheld == m->capheld) {
        int ncap = m->capheld ? m->capheld * 2 : 256;
        struct held *n = qms_malloc((size_t)ncap * sizeof *n);
        if (!n)
            goto now;
        for (int i = 0; i < m->nheld; i++)
            n[i] = m->held[(m->held_first + i) % m->capheld];
        qms_free(m->held);
        m->held = n;
        m->capheld = ncap;
        m->held_first = 0;
    }
    struct held h = {.topic = qms_strdup(msg->topic),
                     .payload = qms_malloc((size_t)msg->len + 1),
                     .rtopic = msg->response_topic ? qms_strdup(msg->response_topic) : NULL,
                     .corr = msg->corr ? qms_malloc((size_t)msg->corr_len + 1) : NULL,
                     .len = msg->len,
                     .corr_len = msg->corr_len,
                     .retained = msg->retained};
    if (!h.topic || !h.payload || (msg->response_topic && !h.rtopic) || (msg->corr && !h.corr)) {
        held_free(&h);
        goto now;
    }
    if (msg->len > 0)
        memcpy(h.payload, msg->payload, (size_t)msg->len);
    h.payload[msg->len] = 0;
    if (msg->corr)
        memcpy(h.corr, msg->corr, (size_t)msg->corr_len);
    m->held[(m->held_first + m->nheld) % m->capheld] = h;
    m->nheld++;
    return;
now:
    /* no memory to keep it: hand it over now rather than lose it */
    m->delivered++;
    m->on_msg(m->ud, msg);
}

/* Hand over held messages, up to read_max in this qms_mqtt_io. */
static void deliver_held(qms_mqtt *m)
{
    while (m->nheld > 0 && m->delivered < m->read_max && m->on_msg) {
        struct held h = m->held[m->held_first];
        m->held_first = (m->held_first + 1) % m->capheld;
        m->nheld--;
        qms_mqtt_msg msg = {.topic = h.topic,
                            .payload = h.payload,
                            .len = h.len,
                            .retained = h.retained,
                            .response_topic = h.rtopic,
                            .corr = h.corr,
                            .corr_len = h.corr_len};
        m->delivered++;
        m->on_msg(m->ud, &msg);
        held_free(&h);
    }
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *mm,
                       const mosquitto_property *props)
{
    (void)mosq;
    qms_mqtt *m = obj;
    char *rtopic = NULL;
    void *corr = NULL;
    uint16_t corr_len = 0;
    mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &rtopic, false);
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
    qms_mqtt_msg msg = {
        .topic = mm->topic,
        .payload = mm->payload,
        .len = mm->payloadlen,
        .retained = mm->retain,
        .response_topic = rtopic,
        .corr = corr,
        .corr_len = corr ? corr_len : 0,
    };
    if (m->wait_corr && corr && strcmp(mm->topic, m->reply_topic) == 0 &&
        strlen(m->wait_corr) == corr_len && memcmp(m->wait_corr, corr, corr_len) == 0) {
        qms_free(m->wait_reply);
        m->wait_reply = qms_strndup(mm->payload ? mm->payload : "", (size_t)mm->payloadlen);
        m->wait_corr = NULL;
    } else if (m->on_msg && m->read_max && (m->delivered >= m->read_max || m->nheld > 0)) {
        hold(m, &msg);
    } else if (m->on_msg) {
        m->delivered++;
        m->on_msg(m->ud, &msg);
    }
    free(rtopic);
    free(corr);
}

int qms_mqtt_new(const qms_mqtt_opts *o, qms_mqtt **out)
{
    *out = NULL;
    if (!o->client_id || !*o->client_id)
        return QMS_ERR_INVAL;
    qms_mqtt *m = qms_calloc(1, sizeof *m);
    if (!m)
        return QMS_ERR_NOMEM;
    snprintf(m->host, sizeof m->host, "%s", o->host ? o->host : "127.0.0.1");
    m->port = o->port ? o->port : 1883;
    m->keepalive = o->keepalive_s ? o->keepalive_s : 10;
    if (m->keepalive < 5)
        m->keepalive = 5; /* libmosquitto's minimum */
    m->session_expiry_s = o->session_expiry_s > 0 ? o->session_expiry_s : 0;
    snprintf(m->client_id, sizeof m->client_id, "%s", o->client_id);
    snprintf(m->site, sizeof m->site, "%s", o->site ? o->site : "default");
    char suffix[224];
    snprintf(suffix, sizeof suffix, "device/%s/%s/status",
             o->device_kind ? o->device_kind : "client",
             o->device_id ? o->device_id : o->client_id);
    qms_topic(m->status_topic, sizeof m->status_topic, m->site, suffix);
    /* Replies come under the user name when there is one: the broker's ACL
     * lets each user read qms/<site>/reply/<its name>/# only (a client id is
     * chosen by the client, a user name is proven by its password). */
    if (o->username && *o->username && !strpbrk(o->username, "/+#") &&
        strlen(o->username) < 64)
        snprintf(suffix, sizeof suffix, "reply/%s/%s", o->username, m->client_id);
    else
        snprintf(suffix, sizeof suffix, "reply/%s", m->client_id);
    qms_topic(m->reply_topic, sizeof m->reply_topic, m->site, suffix);
    m->backoff_ms = BACKOFF_MIN_MS;

    m->mosq = mosquitto_new(m->client_id, m->session_expiry_s == 0, m);
    if (!m->mosq) {
        qms_free(m);
        return QMS_ERR_NOMEM;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    m->read_max = o->read_max > 0 ? o->read_max : 0;
    if (o->inflight_max > 0) {
        int n = o->inflight_max > 65535 ? 65535 : o->inflight_max;
        mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, n);
        mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, n);
    }
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    int rc = MOSQ_ERR_SUCCESS;
    if (o->username)
        rc = mosquitto_username_pw_set(m->mosq, o->username, o->password);
    if (!rc && o->cafile)
        rc = mosquitto_tls_set(m->mosq, o->cafile, NULL, o->certfile, o->keyfile, NULL);
    m->tls = o->cafile != NULL;
    m->has_cert = o->certfile != NULL;
    const char *offline = "{\"state\":\"offline\"}";
    m->transient = o->transient;
    if (!rc && !m->transient)
        rc = mosquitto_will_set_v5(m->mosq, m->status_topic, (int)strlen(offline), offline, 1, true,
                                   NULL);
    if (rc) {
        QMS_ERROR("mqtt setup: %s", mosquitto_strerror(rc));
        mosquitto_destroy(m->mosq);
        qms_free(m);
        return mosq_err(rc);
    }
    /* Always hear replies to our own requests. */
    qms_mqtt_subscribe(m, m->reply_topic, 1);
    attempt(m);
    if (m->down)
        QMS_WARN("cannot reach broker %s:%d yet; will keep trying", m->host, m->port);
    *out = m;
    return QMS_OK;
}

void qms_mqtt_free(qms_mqtt *m)
{
    if (!m)
        return;
    m->closing = 1;
    m->on_msg = NULL; /* nobody listens any more */
    m->on_conn = NULL;
    if (m->connected) {
        /* a transient client clears its topic (an empty retained message)
         * instead of leaving "offline" there forever */
        const char *offline = m->transient ? "" : "{\"state\":\"offline\"}";
        counted(m, mosquitto_publish_v5(m->mosq, NULL, m->status_topic, (int)strlen(offline),
                                        offline, 1, true, NULL));
        /* Wait until the broker acknowledged it (and whatever was queued before
         * it), reading everything it sent: libmosquitto closes the socket right
         * after the DISCONNECT, and closing with unread input makes the kernel
         * send a reset, which can make the broker drop our DISCONNECT and
         * publish the last will as well. */
        qms_mqtt_drain(m, 1000);
        mosquitto_disconnect_v5(m->mosq, 0, NULL);
        for (int i = 0; i < 5 && mosquitto_socket(m->mosq) >= 0 && mosquitto_want_write(m->mosq);
             i++)
            if (mosquitto_loop_write(m->mosq, 1))
                break;
    }
    mosquitto_destroy(m->mosq);
    for (int i = 0; i < m->nheld; i++)
        held_free(&m->held[(m->held_first + i) % m->capheld]);
    qms_free(m->held);
    for (int i = 0; i < m->ngq; i++)
        gated_free(&m->gq[i]);
    qms_free(m->gq);
    for (int i = 0; i < m->nsubs; i++)
        qms_free(m->subs[i].pattern);
    qms_free(m->status_json);
    qms_free(m->wait_reply);
    qms_free(m);
}

void qms_mqtt_set_callbacks(qms_mqtt *m, qms_mqtt_msg_cb on_msg, qms_mqtt_conn_cb on_conn, void *ud)
{
    m->on_msg = on_msg;
    m->on_conn = on_conn;
    m->ud = ud;
}

int qms_mqtt_subscribe(qms_mqtt *m, const char *pattern, int qos)
{
    for (int i = 0; i < m->nsubs; i++)
        if (strcmp(m->subs[i].pattern, pattern) == 0)
            return QMS_OK;
    if (m->nsubs >= MAX_SUBS)
        return QMS_ERR_TOO_LARGE;
    char *p = qms_strdup(pattern);
    if (!p)
        return QMS_ERR_NOMEM;
    m->subs[m->nsubs].pattern = p;
    m->subs[m->nsubs].qos = qos;
    m->nsubs++;
    if (m->connected)
        return mosq_err(mosquitto_subscribe_v5(m->mosq, NULL, pattern, qos, 0, NULL));
    return QMS_OK;
}

/* TCP_CORK on the broker's socket while a batch of publications is written:
 * libmosquitto writes each packet with its own write(), and with TCP_NODELAY
 * each would leave as a segment of its own (and wake the broker once per
 * packet); corked, the batch leaves in as few full segments as it fills,
 * pushed when the cork is taken out. Only the segmentation changes, never
 * the order or the bytes. */
static void cork(qms_mqtt *m, int on)
{
    int fd = m->down ? -1 : mosquitto_socket(m->mosq);
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

static void gated_free(struct gated *g)
{
    qms_free(g->topic);
    qms_free(g->payload);
    qms_free(g->corr);
}

/* Keep a publication for qms_mqtt_release. */
static int gate_push(qms_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                     int retain, const void *corr, int corr_len)
{
    if (m->ngq == m->capgq) {
        int ncap = m->capgq ? m->capgq * 2 : 256;
        struct gated *n = qms_realloc(m->gq, (size_t)ncap * sizeof *n);
        if (!n)
            return QMS_ERR_NOMEM;
        m->gq = n;
        m->capgq = ncap;
    }
    struct gated g = {.topic = qms_strdup(topic),
                      .payload = qms_malloc(len ? len : 1),
                      .corr = corr && corr_len > 0 ? qms_malloc((size_t)corr_len) : NULL,
                      .len = (int)len,
                      .corr_len = corr_len,
                      .qos = qos,
                      .retain = retain,
                      .gen = m->gate};
    if (!g.topic || !g.payload || (corr && corr_len > 0 && !g.corr)) {
        gated_free(&g);
        return QMS_ERR_NOMEM;
    }
    memcpy(g.payload, payload, len);
    if (g.corr)
        memcpy(g.corr, corr, (size_t)corr_len);
    m->gq[m->ngq++] = g;
    return QMS_OK;
}

void qms_mqtt_set_read_max(qms_mqtt *m, int n)
{
    if (n > 0)
        m->read_max = n;
}

void qms_mqtt_gate(qms_mqtt *m, uint64_t gen)
{
    m->gate = gen;
}

int qms_mqtt_waiting(const qms_mqtt *m)
{
    return m->ngq;
}

static int send_reply(qms_mqtt *m, const char *rtopic, const void *payload, size_t len,
                      const void *corr, int corr_len);

int qms_mqtt_release(qms_mqtt *m, uint64_t done)
{
    int k = 0, corked = m->ngq > 1 && m->gq[1].gen <= done;
    if (corked)
        cork(m, 1);
    for (; k < m->ngq && m->gq[k].gen <= done; k++) {
        struct gated *g = &m->gq[k];
        int rc;
        if (g->retain < 0) /* a reply */
            rc = send_reply(m, g->topic, g->payload, (size_t)g->len, g->corr, g->corr_len);
        else
            rc = mosq_err(counted(m, mosquitto_publish_v5(m->mosq, NULL, g->topic, g->len,
                                                          g->payload, g->qos, g->retain != 0,
                                                          NULL)));
        if (rc && m->connected)
            QMS_WARN("publish to %s failed: %s", g->topic, qms_err_code(rc));
        gated_free(g);
    }
    if (corked)
        cork(m, 0);
    if (k > 0) {
        memmove(m->gq, m->gq + k, (size_t)(m->ngq - k) * sizeof *m->gq);
        m->ngq -= k;
    }
    return m->ngq;
}

int qms_mqtt_publish(qms_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                     int retain)
{
    if (len > 256u * 1024 * 1024)
        return QMS_ERR_TOO_LARGE;
    if (m->gate)
        return gate_push(m, topic, payload, len, qos, retain != 0, NULL, 0);
    return mosq_err(counted(
        m, mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, qos, retain != 0, NULL)));
}

static int send_reply(qms_mqtt *m, const char *rtopic, const void *payload, size_t len,
                      const void *corr, int corr_len)
{
    mosquitto_property *props = NULL;
    int rc = MOSQ_ERR_SUCCESS;
    if (corr)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                           (uint16_t)corr_len);
    if (!rc)
        rc = counted(m, mosquitto_publish_v5(m->mosq, NULL, rtopic, (int)len, payload, 1, false,
                                             props));
    mosquitto_property_free_all(&props);
    return mosq_err(rc);
}

int qms_mqtt_reply(qms_mqtt *m, const qms_mqtt_msg *req, const void *payload, size_t len)
{
    if (!req->response_topic)
        return QMS_ERR_INVAL;
    if (m->gate)
        return gate_push(m, req->response_topic, payload, len, 1, -1, req->corr, req->corr_len);
    return send_reply(m, req->response_topic, payload, len, req->corr, req->corr_len);
}

static int send_request(qms_mqtt *m, const char *topic, const void *payload, size_t len,
                        const char *corr, int expiry_s)
{
    mosquitto_property *props = NULL;
    int rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, m->reply_topic);
    if (!rc)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                           (uint16_t)strlen(corr));
    if (!rc && expiry_s > 0)
        rc = mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                          (uint32_t)expiry_s);
    if (!rc)
        rc = counted(
            m, mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, 1, false, props));
    mosquitto_property_free_all(&props);
    return mosq_err(rc);
}

int qms_mqtt_request(qms_mqtt *m, const char *topic, const void *payload, size_t len,
                     char corr_out[40])
{
    snprintf(corr_out, 40, "%lx-%lu", (unsigned long)(qms_mono_ns() & 0xffffffff), ++m->corr_seq);
    return send_request(m, topic, payload, len, corr_out, 0);
}

int qms_mqtt_request_expiring(qms_mqtt *m, const char *topic, const void *payload, size_t len,
                              int expiry_s, char corr_out[40])
{
    snprintf(corr_out, 40, "%lx-%lu", (unsigned long)(qms_mono_ns() & 0xffffffff), ++m->corr_seq);
    return send_request(m, topic, payload, len, corr_out, expiry_s > 0 ? expiry_s : 0);
}

int qms_mqtt_request_sync(qms_mqtt *m, const char *topic, const char *payload, int timeout_ms,
                          char **reply)
{
    *reply = NULL;
    int64_t deadline = qms_mono_ms() + timeout_ms;
    char corr[40];
    snprintf(corr, sizeof corr, "%lx-%lu", (unsigned long)(qms_mono_ns() & 0xffffffff),
             ++m->corr_seq);
    size_t len = strlen(payload);
    int sent = 0, ever_sent = 0, resend_ms = 1000;
    unsigned long sent_on = 0;
    int64_t resend_at = 0;
    m->wait_corr = corr;
    qms_free(m->wait_reply);
    m->wait_reply = NULL;
    while (m->wait_corr) {
        int64_t left = deadline - qms_mono_ms();
        if (left <= 0) {
            m->wait_corr = NULL;
            return ever_sent && m->connected ? QMS_ERR_TIMEOUT : QMS_ERR_UNAVAILABLE;
        }
        /* (re)send when connected and not sent on this connection (the link
         * may have dropped with the request or its reply), and again now and
         * then on the same link: after a broker restart the responder may not
         * have subscribed yet when our first copy arrived, and the broker
         * drops a message nobody subscribes to. */
        int64_t now = qms_mono_ms();
        if (m->connected && (!sent || m->connects != sent_on || now >= resend_at)) {
            if (sent && m->connects == sent_on)
                resend_ms = resend_ms * 2 > 4000 ? 4000 : resend_ms * 2;
            sent_on = m->connects;
            resend_at = now + resend_ms;
            sent = send_request(m, topic, payload, len, corr, (int)((left + 999) / 1000)) == QMS_OK;
            ever_sent |= sent;
        }
        qms_mqtt_loop(m, (int)(left < 100 ? left : 100));
    }
    *reply = m->wait_reply;
    m->wait_reply = NULL;
    return *reply ? QMS_OK : QMS_ERR_NOMEM;
}

int qms_mqtt_set_status(qms_mqtt *m, const char *json)
{
    if (m->transient)
        return QMS_OK; /* not a device: no status */
    char *copy = qms_strdup(json);
    if (!copy)
        return QMS_ERR_NOMEM;
    qms_free(m->status_json);
    m->status_json = copy;
    if (!m->connected)
        return QMS_OK; /* sent on connect */
    return qms_mqtt_publish(m, m->status_topic, json, strlen(json), 1, 1);
}

int qms_mqtt_pollfd(qms_mqtt *m, short *events, int *max_sleep_ms)
{
    int fd = m->down ? -1 : mosquitto_socket(m->mosq);
    *events = 0;
    if (fd >= 0) {
        *events = POLLIN;
        if (mosquitto_want_write(m->mosq))
            *events |= POLLOUT;
        /* keepalive: libmosquitto decides when to ping; look at it every second */
        *max_sleep_ms = 1000;
    } else {
        int64_t wait = m->next_attempt_ms - qms_mono_ms();
        *max_sleep_ms = wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait;
    }
    return fd;
}

/* Read every packet available now, or read_max of them. mosquitto_loop_read
 * reads about one packet a call and leaves errno at EAGAIN when the socket
 * ran dry. */
static int read_all(qms_mqtt *m)
{
    for (int i = 0; i < 100000; i++) {
        errno = 0;
        int rc = mosquitto_loop_read(m->mosq, 1);
        if (rc)
            return rc;
        if (errno == EAGAIN || errno == EWOULDBLOCK || mosquitto_socket(m->mosq) < 0)
            break;
        if (m->nheld > 0)
            break; /* read_max reached: the rest waits in the socket */
    }
    return MOSQ_ERR_SUCCESS;
}

int qms_mqtt_io(qms_mqtt *m, short revents)
{
    m->delivered = 0;
    deliver_held(m); /* read before, acknowledged: handed over even while the link is down */
    if (m->down || mosquitto_socket(m->mosq) < 0) {
        if (!m->down)
            schedule_retry(m);
        if (qms_mono_ms() >= m->next_attempt_ms)
            attempt(m);
        return m->connected ? QMS_OK : QMS_ERR_UNAVAILABLE;
    }
    int rc = MOSQ_ERR_SUCCESS;
    /* the acknowledgements of what is read leave corked, together */
    int corked = m->nheld == 0 && (revents & POLLIN);
    if (corked)
        cork(m, 1);
    if (m->nheld == 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
        rc = read_all(m);
    if (!rc && mosquitto_socket(m->mosq) >= 0 &&
        ((revents & POLLOUT) || mosquitto_want_write(m->mosq)))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (corked)
        cork(m, 0);
    if (!rc && mosquitto_socket(m->mosq) >= 0)
        rc = mosquitto_loop_misc(m->mosq);
    if (rc || mosquitto_socket(m->mosq) < 0) {
        /* libmosquitto already called on_disconnect when it closed the socket;
         * make sure a retry is scheduled whatever path failed */
        if (rc && !m->acked)
            note_failure(m, rc, errno); /* an asynchronous connect that failed */
        lost(m);
        if (!m->down)
            schedule_retry(m);
    }
    return m->connected ? QMS_OK : QMS_ERR_UNAVAILABLE;
}

void qms_mqtt_flush(qms_mqtt *m)
{
    if (!m->down && mosquitto_socket(m->mosq) >= 0 && mosquitto_want_write(m->mosq))
        if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS) {
            lost(m);
            if (!m->down)
                schedule_retry(m);
        }
}

int qms_mqtt_loop(qms_mqtt *m, int timeout_ms)
{
    short events;
    int sleep_ms;
    int fd = qms_mqtt_pollfd(m, &events, &sleep_ms);
    if (timeout_ms < sleep_ms)
        sleep_ms = timeout_ms < 0 ? 0 : timeout_ms;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(fd >= 0 ? &p : NULL, fd >= 0 ? 1 : 0, sleep_ms);
    return qms_mqtt_io(m, n > 0 ? p.revents : 0);
}

int qms_mqtt_drain(qms_mqtt *m, int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    while (m->connected && m->unsent > 0) {
        int64_t left = end - qms_mono_ms();
        if (left <= 0)
            break;
        qms_mqtt_loop(m, (int)(left < 20 ? left : 20));
    }
    return m->connected && m->unsent > 0 ? QMS_ERR_TIMEOUT : QMS_OK;
}

int qms_mqtt_connected(const qms_mqtt *m)
{
    return m->connected;
}

int qms_mqtt_more(const qms_mqtt *m)
{
    return m->nheld > 0;
}

int qms_mqtt_socket(qms_mqtt *m, int *want_write)
{
    if (want_write)
        *want_write = mosquitto_want_write(m->mosq);
    return m->down ? -1 : mosquitto_socket(m->mosq);
}

void *qms_mqtt_handle(qms_mqtt *m)
{
    return m->mosq;
}

const char *qms_mqtt_site(const qms_mqtt *m)
{
    return m->site;
}

const char *qms_mqtt_reply_topic(const qms_mqtt *m)
{
    return m->reply_topic;
}
