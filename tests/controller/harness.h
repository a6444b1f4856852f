/* Integration harness for qms-controller tests: a real mosquitto on a free
 * loopback port, a temporary folder with the center's config and the store,
 * the real qms-controller binary (restartable, killable), MQTT clients, a
 * collector of published messages, and a look into the store afterwards. */
#ifndef QMS_CTL_HARNESS_H
#define QMS_CTL_HARNESS_H

#include "fixture.h"
#include "qms/mqtt.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/types.h>

/* A small center open all day: TP (A0001..), DD (B0001..), XD (C0001..);
 * counter 1 serves TP+DD, 2 serves DD, 3 serves TP+XD. Site "t1". */
extern const char *const harness_center_json;

typedef struct ctl_env {
    qms_test_broker broker;
    char dir[256];
    char config[320]; /* path of the config file */
    char db[320];
    char log[320]; /* the controller's stderr (appended over restarts) */
    char site[64];
    pid_t pid;      /* running controller, 0 if none */
    int64_t clock0; /* controller's local clock (epoch ms) at mono0 */
    int64_t mono0;
    int utc_offset_min;
    /* optional: how clients reach the broker, and extra controller options */
    const char *username, *password, *cafile, *certfile, *keyfile;
    char *ctl_extra[8]; /* NULL-terminated */
    int online_wait_ms; /* how long env_controller_start waits; 0 = 10 s */
} ctl_env;

/* Broker + folder + config (center_json NULL = harness_center_json) + controller
 * with its clock at local time clock (NULL = "2026-11-26T09:00:00"). */
int env_start(ctl_env *e, const char *center_json, const char *clock);
/* Like env_start, but the broker gets these extra config lines (its own
 * listener line comes first: "listener <port> 127.0.0.1"), and the controller
 * and clients use e->username/password/cafile/certfile/keyfile and e->ctl_extra, which the
 * caller sets in *e before (env_start_custom keeps them). */
int env_start_custom(ctl_env *e, const char *broker_extra, const char *center_json,
                     const char *clock);
/* (Re)start the controller; the clock continues where it was. Waits until it
 * says it is online (its retained status carries its pid). */
int env_controller_start(ctl_env *e);
/* Wait until the running controller's retained status says online (with its
 * pid). 0 = yes. */
int env_wait_online(ctl_env *e, int ms);
/* Send sig to the controller and reap it; returns its exit status (or 128+sig). */
int env_controller_signal(ctl_env *e, int sig);
void env_stop(ctl_env *e);
/* Lines of the controller's log containing needle. */
int env_log_count(const ctl_env *e, const char *needle);
/* The controller's current local clock (epoch ms). */
int64_t env_now(const ctl_env *e);

qms_mqtt *env_client(const ctl_env *e, const char *id);
/* Request on qms/<site>/<suffix>, wait for the reply (QMS_TEST_WAIT_MS): parsed, or NULL. */
cJSON *env_req(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json);
/* Book service at slot ("HH:MM") today for cccd (booking/make); code gets the
 * booking code. 0 = booked. */
int env_book(const ctl_env *e, qms_mqtt *m, const char *service, const char *slot,
             const char *cccd, char code[9]);
/* Shortcuts: a field of a reply as string / number (NULL / -1 when absent). */
const char *js_str(const cJSON *o, const char *name);
double js_num(const cJSON *o, const char *name);

/* Everything published on the patterns, in arrival order: the fixture
 * library's watch (fixture.h), connected as the environment says. */
typedef qms_test_msg coll_msg;
typedef qms_test_watch collector;
int coll_start(collector *c, const ctl_env *e, const char *id, const char *const *patterns);
static inline void coll_pump(collector *c, int ms)
{
    qms_test_watch_pump(c, ms);
}
static inline int coll_wait(collector *c, int from, const char *topic, const char *needle, int ms)
{
    return qms_test_watch_wait(c, from, topic, needle, ms);
}
static inline const coll_msg *coll_last(const collector *c, const char *topic)
{
    return qms_test_watch_last(c, topic);
}
static inline int coll_count(const collector *c, const char *topic)
{
    return qms_test_watch_count(c, topic);
}
static inline void coll_stop(collector *c)
{
    qms_test_watch_stop(c);
}

/* The store's view after the controller stopped: today's tickets. */
typedef struct store_ticket {
    int64_t id;
    char label[16];
    int state;   /* qms_tstate */
    int service; /* index */
    int ncalls;
    int rating;
} store_ticket;
/* Load today's tickets from e->db (the controller must not run). *out is
 * malloc'd. Returns the count or -1. */
int env_store_tickets(const ctl_env *e, store_ticket **out);

#endif
