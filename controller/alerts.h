/* Alerts: what a manager should look at now, derived from what the
 * controller knows (the engine's queues and counters, the devices' retained
 * status messages) at a given time. No I/O: controller_alerts.c feeds it
 * messages and the clock and publishes what changed (docs/protocol.md,
 * "Alerts"; docs/dashboard.md explains each kind).
 *
 * Kinds (id = "<kind>:<subject>"):
 *   wait            a service's longest wait is over its threshold
 *                   (services[].alert_wait_s, else the center's alert_wait_s)
 *   device_offline  a device's retained status says offline (its last will)
 *   printer         a device reports its printer paper_low / paper_out /
 *                   cover_open / offline / error
 *   counter_paused  a counter paused longer than alert_pause_s
 *   cap             a service issued alert_cap_pct % of its numbers for the day
 * An alert clears by itself when its cause ends; one that comes back is a
 * new alert (new since, not acknowledged). */
#ifndef QMS_ALERTS_H
#define QMS_ALERTS_H

#include "engine.h"

#include <stddef.h>
#include <stdint.h>

#define QMS_ALERTS_MAX_DEVICES 1024

typedef enum { QMS_ALERT_WARN = 1, QMS_ALERT_CRIT = 2 } qms_alert_level;

typedef struct qms_alert {
    char id[112];     /* "<kind>:<subject>" */
    char kind[16];
    char subject[96]; /* service code, counter number, or "<device kind>/<id>" */
    int level;        /* qms_alert_level */
    int64_t since_ms; /* raised at (controller clock) */
    char vi[256];     /* for a person, Vietnamese */
    char en[256];
    char ack_by[64]; /* "" = not acknowledged */
    int64_t ack_ms;
} qms_alert;

typedef struct qms_alerts qms_alerts;

/* what: "raised", "changed" (level or message), "cleared", "acked" */
typedef void (*qms_alert_cb)(void *ud, const char *what, const qms_alert *a);

int qms_alerts_new(qms_alerts **out);
void qms_alerts_free(qms_alerts *a);

/* A retained device status: kind and id from the topic
 * qms/<site>/device/<kind>/<id>/status, the payload as received (len 0: the
 * retained message was removed, the device is forgotten). Returns 1 if the
 * device table changed, 0 if not, -1 if the message was refused (too long a
 * name, not JSON, table full). */
int qms_alerts_device(qms_alerts *a, const char *kind, const char *id, const char *payload,
                      size_t len);

/* Derive the alerts at now_ms and tell cb (may be NULL) each change, in a
 * stable order. Returns the number of changes. */
int qms_alerts_update(qms_alerts *a, const qms_config *cfg, qms_engine *eng, int64_t now_ms,
                      qms_alert_cb cb, void *ud);

/* Acknowledge an active alert: QMS_OK, or nonzero when none has that id. Acknowledging
 * again keeps the first acknowledgement. */
int qms_alerts_ack(qms_alerts *a, const char *id, const char *who, int64_t at_ms,
                   const qms_alert **out);

int qms_alerts_count(const qms_alerts *a);
const qms_alert *qms_alerts_at(const qms_alerts *a, int i); /* critical first, then oldest */
const qms_alert *qms_alerts_find(const qms_alerts *a, const char *id);

/* JSON (qms_free): one alert; the retained set {"at_ms":..,"alerts":[..]}. */
char *qms_alert_json(const qms_alert *al);
char *qms_alerts_json(const qms_alerts *a, int64_t now_ms);
/* cJSON object of one alert (a cJSON *), for embedding. */
void *qms_alert_cjson(const qms_alert *al);

#endif
