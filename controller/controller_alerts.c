/* The controller's alerts (alerts.h derives them): fed by the devices'
 * retained status topics and the engine, evaluated once a second and at once
 * after a device's status changed; published retained as the set of active
 * alerts on qms/<site>/alerts and each change as an event on
 * qms/<site>/alert/event; acknowledged by a request on qms/<site>/alert/ack,
 * which is stored (table alert_acks) before it is answered. docs/protocol.md,
 * "Alerts". */
#include "alerts.h"
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define ACK_REQ_MAX 64
#define ACK_WHO_MAX 63

int ctl_alerts_init(qms_ctl *c)
{
    if (qms_alerts_new(&c->alerts))
        return QMS_ERR_NOMEM;
    sqlite3 *db = qms_store_db(c->store);
    char *err = NULL;
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS alert_acks("
                     " req TEXT PRIMARY KEY, alert_id TEXT NOT NULL, kind TEXT NOT NULL,"
                     " subject TEXT NOT NULL, level TEXT NOT NULL, since_ms INTEGER NOT NULL,"
                     " who TEXT NOT NULL, at_ms INTEGER NOT NULL, reply TEXT NOT NULL)",
                     NULL, NULL, &err) != SQLITE_OK) {
        QMS_ERROR("store: cannot create alert_acks: %s", err ? err : "?");
        sqlite3_free(err);
        return QMS_ERR_DB;
    }
    c->next_alerts_ms = 0;
    return QMS_OK;
}

void ctl_alerts_free(qms_ctl *c)
{
    qms_alerts_free(c->alerts);
    c->alerts = NULL;
}

static void on_change(void *ud, const char *what, const qms_alert *al)
{
    qms_ctl *c = ud;
    cJSON *o = qms_alert_cjson(al);
    if (!o)
        return;
    cJSON_AddStringToObject(o, "event", what);
    char *s = ctl_print_free(o);
    if (!s)
        return;
    QMS_INFO("alert %s: %s (%s)", what, al->id, al->en);
    qms_mqtt_publish(c->mqtt, ctl_topic(c, "alert/event"), s, strlen(s), 1, 0);
    qms_free(s);
}

static void publish_set(qms_ctl *c)
{
    char *s = qms_alerts_json(c->alerts, qms_now(&c->clock));
    if (!s)
        return;
    qms_mqtt_publish(c->mqtt, ctl_topic(c, "alerts"), s, strlen(s), 1, 1);
    qms_free(s);
}

void ctl_alerts_run(qms_ctl *c)
{
    if (!c->alerts)
        return;
    int connected = qms_mqtt_connected(c->mqtt);
    int force = connected && !c->alerts_connected; /* the broker may have lost the set */
    c->alerts_connected = connected;
    int64_t mono = qms_mono_ms();
    if (!force && !c->alerts_dirty && mono < c->next_alerts_ms)
        return;
    int changes =
        qms_alerts_update(c->alerts, c->cfg, c->eng, qms_now(&c->clock), on_change, c);
    if (changes || force || c->alerts_dirty > 1)
        publish_set(c);
    c->alerts_dirty = 0;
    c->next_alerts_ms = mono + 1000;
    if (changes || force)
        qms_mqtt_flush(c->mqtt);
}

/* ---- acknowledgement ---- */

static void ack_reply(qms_ctl *c, const qms_mqtt_msg *msg, char *body)
{
    if (body)
        ctl_batch_add_reply(c, msg, body, NULL);
}

static char *ack_error(const char *req, const char *code, const char *vi, const char *en, int lang_en)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "req", req);
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "message", lang_en ? en : vi);
    return ctl_print_free(o);
}

static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static char *stored_ack(qms_ctl *c, const char *req)
{
    sqlite3 *db = qms_store_db(c->store);
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT reply FROM alert_acks WHERE req = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, req, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = qms_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static int store_ack(qms_ctl *c, const char *req, const qms_alert *al, const char *reply)
{
    sqlite3 *db = qms_store_db(c->store);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO alert_acks(req, alert_id, kind, subject, level, since_ms,"
                           " who, at_ms, reply) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &st, NULL) != SQLITE_OK)
        return QMS_ERR_DB;
    sqlite3_bind_text(st, 1, req, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, al->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, al->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, al->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, al->level == QMS_ALERT_CRIT ? "critical" : "warning", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, al->since_ms);
    sqlite3_bind_text(st, 7, al->ack_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, al->ack_ms);
    sqlite3_bind_text(st, 9, reply, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? QMS_OK : QMS_ERR_DB;
    sqlite3_finalize(st);
    return rc;
}

static void on_ack(qms_ctl *c, const qms_mqtt_msg *msg)
{
    if (msg->retained) {
        QMS_WARN("ignored a retained message on %s (requests must not be retained)", msg->topic);
        return;
    }
    c->nreq++;
    cJSON *o = NULL;
    if (msg->len > 0 && msg->len <= 8192)
        o = cJSON_ParseWithLength(msg->payload, (size_t)msg->len);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "req");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(o, "who");
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(o, "lang");
    int en = cJSON_IsString(lang) && strcmp(lang->valuestring, "en") == 0;
    const char *rq = cJSON_IsString(req) && text_ok(req->valuestring, ACK_REQ_MAX)
                         ? req->valuestring
                         : "";
    if (!cJSON_IsObject(o) || !rq[0] || !cJSON_IsString(id) ||
        !text_ok(id->valuestring, sizeof(((qms_alert *)0)->id) - 1) || !cJSON_IsString(who) ||
        !text_ok(who->valuestring, ACK_WHO_MAX)) {
        c->nrefused++;
        QMS_WARN("refused invalid alert acknowledgement on %s", msg->topic);
        ack_reply(c, msg,
                  ack_error(rq, "invalid",
                            "Yêu cầu không hợp lệ: cần \"req\", \"id\" và \"who\" (người xác nhận)",
                            "Invalid request: needs \"req\", \"id\" and \"who\" (who acknowledges)",
                            en));
        cJSON_Delete(o);
        return;
    }
    char *stored = stored_ack(c, rq);
    if (stored) {
        c->ndup++;
        ack_reply(c, msg, stored);
        cJSON_Delete(o);
        return;
    }
    const qms_alert *al = NULL;
    /* evaluate first: an alert whose cause ended is gone, not acknowledgeable */
    c->alerts_dirty = 1;
    ctl_alerts_run(c);
    if (qms_alerts_ack(c->alerts, id->valuestring, who->valuestring, qms_now(&c->clock), &al)) {
        c->nrefused++;
        ack_reply(c, msg,
                  ack_error(rq, "unknown_alert", "Không có cảnh báo này (có thể đã tự hết)",
                            "No such active alert (it may have cleared)", en));
        cJSON_Delete(o);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    if (r) {
        cJSON_AddStringToObject(r, "req", rq);
        cJSON_AddItemToObject(r, "alert", qms_alert_cjson(al));
    }
    char *body = ctl_print_free(r);
    if (!body || store_ack(c, rq, al, body)) {
        QMS_ERROR("store: cannot record the acknowledgement of %s", al->id);
        qms_free(body);
        ack_reply(c, msg, qms_proto_error_reply(rq, QMS_ERR_DB, en));
        cJSON_Delete(o);
        return;
    }
    QMS_INFO("alert %s acknowledged by %s", al->id, al->ack_by);
    on_change(c, "acked", al);
    c->alerts_dirty = 2; /* the set changed: publish it */
    ack_reply(c, msg, body);
    cJSON_Delete(o);
}

/* ---- routing ---- */

int ctl_alerts_on_message(qms_ctl *c, const qms_mqtt_msg *msg)
{
    char pre[96];
    int n = snprintf(pre, sizeof pre, "qms/%s/", c->site);
    if (n <= 0 || (size_t)n >= sizeof pre || strncmp(msg->topic, pre, (size_t)n) != 0)
        return 0;
    const char *rest = msg->topic + n;
    if (strcmp(rest, "alert/ack") == 0) {
        on_ack(c, msg);
        return 1;
    }
    if (strncmp(rest, "device/", 7) != 0)
        return 0;
    /* device/<kind>/<id>/status */
    const char *k = rest + 7, *slash = strchr(k, '/');
    if (!slash)
        return 1;
    const char *id = slash + 1, *slash2 = strchr(id, '/');
    if (!slash2 || strcmp(slash2, "/status") != 0)
        return 1;
    char kind[32], dev[64];
    size_t kl = (size_t)(slash - k), il = (size_t)(slash2 - id);
    if (kl == 0 || kl >= sizeof kind || il == 0 || il >= sizeof dev) {
        QMS_WARN("ignored device status on an over-long topic");
        return 1;
    }
    memcpy(kind, k, kl);
    kind[kl] = 0;
    memcpy(dev, id, il);
    dev[il] = 0;
    int rc = qms_alerts_device(c->alerts, kind, dev, msg->payload,
                               msg->len < 0 ? 0 : (size_t)msg->len);
    if (rc < 0)
        QMS_WARN("ignored a device status on %s (bad name or payload, or too many devices)",
                 msg->topic);
    else if (rc > 0 && !c->alerts_dirty)
        c->alerts_dirty = 1;
    return 1;
}
