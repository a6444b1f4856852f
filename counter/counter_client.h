/* qms-counter's session with the controller: one MQTT session (libqms),
 * counter requests with unique request ids, retried with the SAME id while
 * no reply came (the controller answers a repeated id from its store, so a
 * retry never acts twice), the center's configuration (from a file, or the
 * retained qms/<site>/config), and whether the controller says it is online.
 * Single-threaded: everything happens inside counter_client_poll(). */
#ifndef QMS_COUNTER_CLIENT_H
#define QMS_COUNTER_CLIENT_H

#include "counter_msg.h"
#include "qms/config.h"
#include "qms/mqtt.h"

#define COUNTER_PENDING_MAX 4

typedef struct counter_client counter_client;

typedef struct counter_client_opts {
    const char *host;     /* broker host */
    int port;             /* broker port */
    const char *site;     /* topic root qms/<site>/ */
    int counter;          /* the counter number this client speaks for */
    const char *username; /* optional broker credentials and TLS */
    const char *password;
    const char *cafile;
    const char *certfile;
    const char *keyfile;
    const char *device_id; /* device status id under device/counter/, e.g. "5" */
    const char *mode;      /* "terminal" or "cli": said in the device status */
    qms_config *cfg;       /* the center's configuration if read from a file, or NULL;
                              taken over (freed with the client) when counter_client_new succeeds */
    int retry_ms;          /* resend an unanswered request after this long (default 2000) */
    int give_up_ms;        /* report a request as unanswered after this long (default 8000) */
    int lang_en;           /* ask for English refusal messages */
} counter_client_opts;

/* The outcome of a request: err is QMS_OK with a reply (which may itself be a
 * refusal: reply->err), or QMS_ERR_TIMEOUT (connected, no answer) or
 * QMS_ERR_UNAVAILABLE (the broker could not be reached), reply NULL. */
typedef void (*counter_reply_cb)(void *ud, const counter_req *req, int err,
                                 const counter_info *reply);
/* Any other message (counter state, stats, calls...). */
typedef void (*counter_msg_cb)(void *ud, const qms_mqtt_msg *msg);
/* The link to the broker came up (1) or went down (0). */
typedef void (*counter_link_cb)(void *ud, int up);

int counter_client_new(const counter_client_opts *o, counter_client **out);
void counter_client_free(counter_client *c);
void counter_client_set_callbacks(counter_client *c, counter_reply_cb on_reply,
                                  counter_msg_cb on_msg, counter_link_cb on_link, void *ud);

/* Subscribe to a topic under qms/<site>/ (suffix, e.g. "stats"). */
int counter_client_subscribe(counter_client *c, const char *suffix);

/* Send r (its req id is filled in here: "<client-id>-<n>"). The reply comes
 * through on_reply. QMS_ERR_UNAVAILABLE when not connected (nothing sent),
 * QMS_ERR_TOO_LARGE when COUNTER_PENDING_MAX requests are unanswered,
 * QMS_ERR_INVAL if r cannot be encoded. */
int counter_client_send(counter_client *c, counter_req *r);
/* Requests sent and not yet answered. */
int counter_client_pending(const counter_client *c);
/* Is a request of this op unanswered? */
int counter_client_pending_op(const counter_client *c, counter_op op);

/* Run the session for up to timeout_ms: network I/O, resends, give-ups. */
void counter_client_poll(counter_client *c, int timeout_ms);
/* Like poll, but also wakes up when fd (e.g. a terminal) is readable; returns
 * 1 if fd is readable, 0 if not. */
int counter_client_poll_fd(counter_client *c, int fd, int timeout_ms);

int counter_client_connected(const counter_client *c);
/* Why the broker link is not up (qms_mqtt_failure; QMS_MQTT_FAIL_NONE while
 * connected or before an attempt failed). */
int counter_client_link_failure(const counter_client *c);
/* 1 online, 0 offline (its retained status or last will), -1 not heard of. */
int counter_client_controller_online(const counter_client *c);
/* The center's configuration, or NULL while not known. */
const qms_config *counter_client_config(const counter_client *c);
const char *counter_client_id(const counter_client *c);
const char *counter_client_site(const counter_client *c);
int counter_client_counter(const counter_client *c);

#endif
