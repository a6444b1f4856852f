#include "qms/mqtt.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUBS 32
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct sub {
    char *pattern;
    int qos;
};

struct qms_mqtt {
    struct mosquitto *mosq;
    char host[256];
    int port;
    int keepalive;
    char client_id[128];
    char site[64];
    char status_topic[256];
    char reply_topic[256];
    char *status_json; /* last status set, republished on reconnect */
    struct sub subs[MAX_SUBS];
    int nsubs;
    int connected;
    int64_t next_attempt_ms; /* monotonic */
    int backoff_ms;
    unsigned long corr_seq;
    qms_mqtt_msg_cb on_msg;
    qms_mqtt_conn_cb on_conn;
    void *ud;
    /* request_sync state */
    const char *wait_corr;
    char *wait_reply;
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

static void do_subscribe_all(qms_mqtt *m)
{
    for (int i = 0; i < m->nsubs; i++) {
        int rc = mosquitto_subscribe_v5(m->mosq, NULL, m->subs[i].pattern, m->subs[i].qos, 0, NULL);
        if (rc)
            QMS_WARN("subscribe %s: %s", m->subs[i].pattern, mosquitto_strerror(rc));
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    qms_mqtt *m = obj;
    if (rc != 0) {
        QMS_WARN("broker refused connection: %s", mosquitto_reason_string(rc));
        return;
    }
    m->connected = 1;
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
    int was = m->connected;
    m->connected = 0;
    if (was) {
        QMS_WARN("lost broker connection (%s)", rc ? mosquitto_strerror(rc) : "asked");
        if (m->on_conn)
            m->on_conn(m->ud, 0);
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
    } else if (m->on_msg) {
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
    snprintf(m->client_id, sizeof m->client_id, "%s", o->client_id);
    snprintf(m->site, sizeof m->site, "%s", o->site ? o->site : "default");
    char suffix[160];
    snprintf(suffix, sizeof suffix, "device/%s/%s/status", o->device_kind ? o->device_kind : "client",
             o->device_id ? o->device_id : o->client_id);
    qms_topic(m->status_topic, sizeof m->status_topic, m->site, suffix);
    snprintf(suffix, sizeof suffix, "reply/%s", m->client_id);
    qms_topic(m->reply_topic, sizeof m->reply_topic, m->site, suffix);
    m->backoff_ms = BACKOFF_MIN_MS;

    m->mosq = mosquitto_new(m->client_id, true, m);
    if (!m->mosq) {
        qms_free(m);
        return QMS_ERR_NOMEM;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    int rc = MOSQ_ERR_SUCCESS;
    if (o->username)
        rc = mosquitto_username_pw_set(m->mosq, o->username, o->password);
    if (!rc && o->cafile)
        rc = mosquitto_tls_set(m->mosq, o->cafile, NULL, o->certfile, o->keyfile, NULL);
    const char *offline = "{\"state\":\"offline\"}";
    if (!rc)
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
    rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, m->keepalive, NULL, NULL);
    if (rc) {
        QMS_WARN("cannot reach broker %s:%d (%s); will retry", m->host, m->port,
                 mosquitto_strerror(rc));
        m->next_attempt_ms = qms_mono_ms() + m->backoff_ms;
    }
    *out = m;
    return QMS_OK;
}

void qms_mqtt_free(qms_mqtt *m)
{
    if (!m)
        return;
    if (m->connected) {
        const char *offline = "{\"state\":\"offline\"}";
        mosquitto_publish_v5(m->mosq, NULL, m->status_topic, (int)strlen(offline), offline, 1, true,
                             NULL);
        /* let the status leave before the disconnect */
        for (int i = 0; i < 5 && mosquitto_want_write(m->mosq); i++)
            mosquitto_loop(m->mosq, 10, 1);
        mosquitto_disconnect_v5(m->mosq, 0, NULL);
        mosquitto_loop(m->mosq, 10, 1);
    }
    mosquitto_destroy(m->mosq);
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

int qms_mqtt_publish(qms_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                     int retain)
{
    if (len > 256u * 1024 * 1024)
        return QMS_ERR_TOO_LARGE;
    return mosq_err(
        mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, qos, retain != 0, NULL));
}

int qms_mqtt_reply(qms_mqtt *m, const qms_mqtt_msg *req, const void *payload, size_t len)
{
    if (!req->response_topic)
        return QMS_ERR_INVAL;
    mosquitto_property *props = NULL;
    int rc = MOSQ_ERR_SUCCESS;
    if (req->corr)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, req->corr,
                                           (uint16_t)req->corr_len);
    if (!rc)
        rc = mosquitto_publish_v5(m->mosq, NULL, req->response_topic, (int)len, payload, 1, false,
                                  props);
    mosquitto_property_free_all(&props);
    return mosq_err(rc);
}

int qms_mqtt_request(qms_mqtt *m, const char *topic, const void *payload, size_t len,
                     char corr_out[40])
{
    snprintf(corr_out, 40, "%lx-%lu", (unsigned long)(qms_mono_ns() & 0xffffffff), ++m->corr_seq);
    mosquitto_property *props = NULL;
    int rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, m->reply_topic);
    if (!rc)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr_out,
                                           (uint16_t)strlen(corr_out));
    if (!rc)
        rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, 1, false, props);
    mosquitto_property_free_all(&props);
    return mosq_err(rc);
}

int qms_mqtt_request_sync(qms_mqtt *m, const char *topic, const char *payload, int timeout_ms,
                          char **reply)
{
    *reply = NULL;
    int64_t deadline = qms_mono_ms() + timeout_ms;
    /* wait for the link first, within the same deadline */
    while (!m->connected) {
        int64_t left = deadline - qms_mono_ms();
        if (left <= 0)
            return QMS_ERR_UNAVAILABLE;
        qms_mqtt_loop(m, (int)(left < 50 ? left : 50));
    }
    char corr[40];
    int rc = qms_mqtt_request(m, topic, payload, strlen(payload), corr);
    if (rc)
        return rc;
    m->wait_corr = corr;
    qms_free(m->wait_reply);
    m->wait_reply = NULL;
    while (m->wait_corr) {
        int64_t left = deadline - qms_mono_ms();
        if (left <= 0) {
            m->wait_corr = NULL;
            return m->connected ? QMS_ERR_TIMEOUT : QMS_ERR_UNAVAILABLE;
        }
        qms_mqtt_loop(m, (int)(left < 100 ? left : 100));
    }
    *reply = m->wait_reply;
    m->wait_reply = NULL;
    return QMS_OK;
}

int qms_mqtt_set_status(qms_mqtt *m, const char *json)
{
    char *copy = qms_strdup(json);
    if (!copy)
        return QMS_ERR_NOMEM;
    qms_free(m->status_json);
    m->status_json = copy;
    if (!m->connected)
        return QMS_OK; /* sent on connect */
    return qms_mqtt_publish(m, m->status_topic, json, strlen(json), 1, 1);
}

int qms_mqtt_loop(qms_mqtt *m, int timeout_ms)
{
    if (mosquitto_socket(m->mosq) < 0 || (!m->connected && m->next_attempt_ms)) {
        int64_t now = qms_mono_ms();
        if (now < m->next_attempt_ms) {
            int64_t wait = m->next_attempt_ms - now;
            if (wait > timeout_ms)
                wait = timeout_ms;
            if (wait > 0)
                poll(NULL, 0, (int)wait);
            return QMS_ERR_UNAVAILABLE;
        }
        int rc = mosquitto_reconnect(m->mosq);
        if (rc) {
            m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
            m->next_attempt_ms = qms_mono_ms() + m->backoff_ms;
            return QMS_ERR_UNAVAILABLE;
        }
        m->next_attempt_ms = 0;
    }
    int rc = mosquitto_loop(m->mosq, timeout_ms, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        return QMS_OK;
    /* link lost or refused: schedule a reconnect attempt */
    if (m->connected) {
        m->connected = 0;
        if (m->on_conn)
            m->on_conn(m->ud, 0);
    }
    if (!m->next_attempt_ms) {
        m->next_attempt_ms = qms_mono_ms() + m->backoff_ms;
        m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
    }
    return QMS_ERR_UNAVAILABLE;
}

int qms_mqtt_connected(const qms_mqtt *m)
{
    return m->connected;
}

int qms_mqtt_socket(qms_mqtt *m, int *want_write)
{
    if (want_write)
        *want_write = mosquitto_want_write(m->mosq);
    return mosquitto_socket(m->mosq);
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
