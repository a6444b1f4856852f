/* The MQTT session every QMS program uses: MQTT v5 over libmosquitto with
 * TCP_NODELAY, a retained device status with a last will ("offline"),
 * subscriptions remembered and renewed after every reconnect, reconnect with
 * exponential backoff, and request/reply with response topic + correlation
 * data (what mosquitto_rr speaks).
 *
 * Single-threaded: the owner calls qms_mqtt_loop() from its own event loop;
 * callbacks run inside that call. */
#ifndef QMS_MQTT_H
#define QMS_MQTT_H

#include <stddef.h>
#include <stdint.h>

typedef struct qms_mqtt qms_mqtt;

typedef struct qms_mqtt_opts {
    const char *host;        /* broker host, default "127.0.0.1" */
    int port;                /* default 1883 */
    const char *client_id;   /* required, unique per program instance */
    const char *username;    /* optional */
    const char *password;    /* optional */
    const char *cafile;      /* optional: enables TLS */
    const char *certfile;    /* optional client certificate */
    const char *keyfile;     /* optional client key */
    const char *site;        /* topic root qms/<site>/ ; default "default" */
    const char *device_kind; /* "controller", "kiosk", "display", "counter"...; status topic */
    const char *device_id;   /* e.g. "1"; default client_id */
    int keepalive_s;         /* default 10 */
    int session_expiry_s;    /* 0 (default): clean session. > 0: the broker keeps our
                                session (subscriptions, QoS 1 messages for us) this long
                                after a disconnect, so nothing sent to us meanwhile is lost
                                (the controller uses this). */
    int inflight_max;        /* QoS 1 messages in flight each way; 0 = libmosquitto's 20 */
    int transient;           /* 1: not a device (a one-shot command): no last will, no
                                status (qms_mqtt_set_status does nothing), and a clean exit
                                clears what an older release left retained on its status
                                topic - it leaves nothing retained behind */
    int read_max;            /* packets one qms_mqtt_io reads at most (0 = all there are):
                                the caller gets to answer between slices of a burst;
                                qms_mqtt_more says whether the slice ended at the cap */
} qms_mqtt_opts;

/* What came with a message beyond topic and payload. */
typedef struct qms_mqtt_msg {
    const char *topic;
    const char *payload; /* NOT NUL-terminated in general; see len. */
    int len;
    int retained;
    const char *response_topic; /* MQTT v5 response topic, or NULL */
    const void *corr;           /* correlation data, or NULL */
    int corr_len;
} qms_mqtt_msg;

typedef void (*qms_mqtt_msg_cb)(void *ud, const qms_mqtt_msg *msg);
/* connected = 1 after (re)connect and resubscribe, 0 when the link is lost. */
typedef void (*qms_mqtt_conn_cb)(void *ud, int connected);

int qms_mqtt_lib_init(void);
void qms_mqtt_lib_cleanup(void);

/* Create a session and start connecting (does not block on the broker). */
int qms_mqtt_new(const qms_mqtt_opts *o, qms_mqtt **out);
void qms_mqtt_free(qms_mqtt *m); /* publishes status "offline" if connected, disconnects */
void qms_mqtt_set_callbacks(qms_mqtt *m, qms_mqtt_msg_cb on_msg, qms_mqtt_conn_cb on_conn,
                            void *ud);

/* Remembered and renewed on every reconnect. qos 0 or 1. */
int qms_mqtt_subscribe(qms_mqtt *m, const char *pattern, int qos);

int qms_mqtt_publish(qms_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                     int retain);
/* Publish a reply to a request: to its response topic with its correlation
 * data. QMS_ERR_INVAL if the request carried no response topic. */
int qms_mqtt_reply(qms_mqtt *m, const qms_mqtt_msg *req, const void *payload, size_t len);

/* Send a request (qos 1) with our own reply topic and a fresh correlation id;
 * the reply arrives through on_msg with corr == the id written to corr_out. */
int qms_mqtt_request(qms_mqtt *m, const char *topic, const void *payload, size_t len,
                     char corr_out[40]);
/* The same with a message expiry of expiry_s seconds: a broker drops the
 * request instead of delivering it later (e.g. to a controller whose
 * persistent session kept it while it was down) once the sender gave up. */
int qms_mqtt_request_expiring(qms_mqtt *m, const char *topic, const void *payload, size_t len,
                              int expiry_s, char corr_out[40]);
/* Send a request and wait (running the loop; other messages still reach
 * on_msg) for its reply, up to timeout_ms. *reply is NUL-terminated, qms_free
 * it. QMS_ERR_TIMEOUT or QMS_ERR_UNAVAILABLE (not connected) on failure.
 * The request carries a message expiry of the time left, so a broker never
 * delivers it after we gave up; if the link drops and comes back while we
 * wait, the same request (same payload, same correlation) is sent again, and
 * again after 1, 2, 4, 4... s without a reply (the responder may have been
 * away from the broker when it arrived) — the payload's "req" makes the
 * controller answer it once. */
int qms_mqtt_request_sync(qms_mqtt *m, const char *topic, const char *payload, int timeout_ms,
                          char **reply);

/* Publish this program's retained device status, a JSON object text such
 * as {"state":"online"} (the wrapper adds nothing). Also sent on every reconnect. */
int qms_mqtt_set_status(qms_mqtt *m, const char *json);

/* Run network I/O for up to timeout_ms (0 = poll). Reconnects with backoff
 * when the link is down. Returns QMS_OK, or QMS_ERR_UNAVAILABLE while down. */
int qms_mqtt_loop(qms_mqtt *m, int timeout_ms);

/* For owners with their own poll() loop (the controller): the fd to watch
 * (-1 while the link is down), the poll events to ask for (OUT: events) and
 * the longest the owner may sleep before calling qms_mqtt_io again (OUT:
 * max_sleep_ms; reconnect attempts and keepalive depend on it). */
int qms_mqtt_pollfd(qms_mqtt *m, short *events, int *max_sleep_ms);
/* Do what poll() reported (revents; 0 when it timed out): read every message
 * available now (callbacks run here, so an owner sees a whole burst before it
 * next sleeps), write pending output, keepalive, reconnect when due.
 * QMS_OK, or QMS_ERR_UNAVAILABLE while the link is down. */
int qms_mqtt_io(qms_mqtt *m, short revents);
/* Push queued output to the socket now, without waiting (after a burst of
 * publishes made outside a callback). */
void qms_mqtt_flush(qms_mqtt *m);
/* Hold publications back: while gen > 0, qms_mqtt_publish and qms_mqtt_reply
 * keep a copy, tagged gen, instead of sending; qms_mqtt_release(m, done)
 * sends those tagged <= done, in the order they were made, and returns how
 * many still wait. gen 0: send at once again (release the rest first).
 * (The controller: nothing leaves before the commit it reflects is on disk.) */
void qms_mqtt_gate(qms_mqtt *m, uint64_t gen);
/* Messages handed to on_msg per qms_mqtt_io from now on (n > 0; a session
 * made with read_max 0 reads all and should not be limited later). */
void qms_mqtt_set_read_max(qms_mqtt *m, int n);
int qms_mqtt_release(qms_mqtt *m, uint64_t done);
int qms_mqtt_waiting(const qms_mqtt *m);
/* Run the loop until everything published so far has left (QoS 1: was
 * acknowledged by the broker), up to timeout_ms; before exiting, so the last
 * replies are not lost. QMS_OK, or QMS_ERR_TIMEOUT. Returns at once while the
 * link is down (nothing can leave then). */
int qms_mqtt_drain(qms_mqtt *m, int timeout_ms);
int qms_mqtt_connected(const qms_mqtt *m);
/* The last qms_mqtt_io stopped reading at opts.read_max: more may be waiting
 * (also inside TLS buffers, where poll does not see it); call qms_mqtt_io
 * again with POLLIN without sleeping. */
int qms_mqtt_more(const qms_mqtt *m);
/* Socket fd for poll() (or -1 while disconnected); want_write if output is pending. */
int qms_mqtt_socket(qms_mqtt *m, int *want_write);
/* Why the link is not up, for telling a person: QMS_MQTT_FAIL_NONE while
 * connected (or before any attempt failed), else the kind of the last
 * failure, with a sentence (English) in text. The TLS kinds are also logged
 * (warning) once per cause. */
typedef enum {
    QMS_MQTT_FAIL_NONE = 0,
    QMS_MQTT_FAIL_UNREACHABLE,     /* no TCP connection (refused, timeout, no route...) */
    QMS_MQTT_FAIL_REFUSED,         /* the broker answered CONNECT with a refusal (credentials) */
    QMS_MQTT_FAIL_TLS,             /* the TLS handshake failed (the broker's certificate...) */
    QMS_MQTT_FAIL_TLS_CLIENT_CERT, /* the broker broke off TLS: wants (another) client cert */
} qms_mqtt_failure;
int qms_mqtt_last_failure(const qms_mqtt *m, char *text, size_t cap);
/* The underlying struct mosquitto *, for what the wrapper does not cover. */
void *qms_mqtt_handle(qms_mqtt *m);
const char *qms_mqtt_site(const qms_mqtt *m);
const char *qms_mqtt_reply_topic(const qms_mqtt *m);

/* Build "qms/<site>/<suffix>" into out. */
void qms_topic(char *out, size_t outlen, const char *site, const char *suffix);

/* Parse "host:port" (or "host", port 1883). QMS_ERR_INVAL on garbage. */
int qms_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
