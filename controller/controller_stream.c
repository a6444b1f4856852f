/* The event stream for the province (docs/province.md): every committed
 * event, once, on qms/<site>/stream (QoS 1, not retained), numbered by the
 * store's events.seq so that a consumer (qms-hub) tells a gap from a repeat.
 *
 * After each commit that wrote events, ONE query reads the rows past the
 * last seq published (seq is the primary key: a range scan of the rows just
 * written) and they leave in one message per STREAM_CHUNK events: no work
 * per event beyond its share of that message. Reading back from the store,
 * not from the engine's journal, means the rows the store itself writes
 * (a day's leftovers closed at a rollover) are published too, and the same
 * code answers a replay.
 *
 * Replay: a request on qms/<site>/stream/replay {"req","from":N,"max":M}
 * republishes the stored events with seq >= N (at most M, at most
 * STREAM_REPLAY_MAX per request) on the stream itself, with "replay":true —
 * the stream is what the site's bridge carries out already, so the answer
 * reaches the province without a reply route. With a response topic (under
 * the reply prefix, as every request) a short reply also says what was sent.
 * One request costs at most STREAM_REPLAY_MAX rows read: answers to the
 * kiosks keep flowing between them. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_CHUNK 200
#define STREAM_REPLAY_MAX 1000

static const char *const read_sql =
    "SELECT e.seq, e.day, e.at_ms, e.kind, e.ticket_id, e.label, e.counter_id, e.service,"
    " e.from_service, e.rating, e.counter_state,"
    " t.priority, t.number, t.taken_ms"
    " FROM events e LEFT JOIN tickets t ON t.id = e.ticket_id AND e.kind = 'take'"
    " WHERE e.seq >= ?1 ORDER BY e.seq LIMIT ?2";

static sqlite3_stmt *read_stmt(qms_ctl *c)
{
    if (!c->stream_st) {
        sqlite3 *db = qms_store_db(c->store);
        if (sqlite3_prepare_v3(db, read_sql, -1, SQLITE_PREPARE_PERSISTENT,
                               (sqlite3_stmt **)&c->stream_st, NULL) != SQLITE_OK) {
            QMS_ERROR("stream: %s", sqlite3_errmsg(db));
            c->stream_st = NULL;
        }
    }
    return c->stream_st;
}

static void add_text(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) != SQLITE_NULL)
        cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, col));
}

static void add_int(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) != SQLITE_NULL)
        cJSON_AddNumberToObject(o, name, (double)sqlite3_column_int64(st, col));
}

static int64_t head_seq(qms_ctl *c)
{
    sqlite3 *db = qms_store_db(c->store);
    sqlite3_stmt *st = NULL;
    int64_t seq = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(seq) FROM events", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return seq;
}

/* Publish the events with seq >= from, at most max, in messages of
 * STREAM_CHUNK. Returns the last seq published (from - 1 when none). */
static int64_t publish_from(qms_ctl *c, int64_t from, int max, int replay, int64_t head)
{
    sqlite3_stmt *st = read_stmt(c);
    int64_t last = from - 1;
    if (!st)
        return last;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int(st, 2, max);
    int rc = SQLITE_ROW, sent_any = 0;
    while (rc == SQLITE_ROW) {
        cJSON *m = cJSON_CreateObject();
        if (!m)
            break;
        cJSON_AddStringToObject(m, "site", c->site);
        cJSON *arr = cJSON_AddArrayToObject(m, "events");
        int n = 0;
        int64_t first = 0;
        while (n < STREAM_CHUNK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            cJSON *e = cJSON_CreateObject();
            int64_t seq = sqlite3_column_int64(st, 0);
            if (!n)
                first = seq;
            last = seq;
            cJSON_AddNumberToObject(e, "seq", (double)seq);
            add_text(e, "day", st, 1);
            add_int(e, "at_ms", st, 2);
            add_text(e, "kind", st, 3);
            add_int(e, "ticket", st, 4);
            add_text(e, "label", st, 5);
            add_int(e, "counter", st, 6);
            add_text(e, "service", st, 7);
            add_text(e, "from_service", st, 8);
            add_int(e, "rating", st, 9);
            add_text(e, "counter_state", st, 10);
            add_int(e, "priority", st, 11);
            add_int(e, "number", st, 12);
            /* the ticket's own time (the journal may stamp its take a ms later) */
            add_int(e, "taken_ms", st, 13);
            cJSON_AddItemToArray(arr, e);
            n++;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            QMS_ERROR("stream: reading events: %s", sqlite3_errmsg(qms_store_db(c->store)));
        if (n == 0 && (sent_any || !replay)) {
            cJSON_Delete(m);
            break;
        }
        cJSON_AddNumberToObject(m, "from", (double)(n ? first : from));
        cJSON_AddNumberToObject(m, "to", (double)(n ? last : from - 1));
        cJSON_AddNumberToObject(m, "head", (double)(replay ? head : last));
        if (replay)
            cJSON_AddTrueToObject(m, "replay");
        char *s = ctl_print_free(m);
        if (s) {
            int prc = qms_mqtt_publish(c->mqtt, ctl_topic(c, "stream"), s, strlen(s), 1, 0);
            if (prc && qms_mqtt_connected(c->mqtt))
                QMS_WARN("stream: publish failed: %s", qms_err_code(prc));
            qms_free(s);
        }
        sent_any = 1;
        if (n < STREAM_CHUNK)
            break;
    }
    sqlite3_reset(st);
    return last;
}

int ctl_stream_init(qms_ctl *c)
{
    /* events committed before a crash but never published are not sent
     * again on their own: the hub sees the gap (or asks from its last seq
     * when a site is quiet) and replays them */
    c->stream_seq = head_seq(c);
    return QMS_OK;
}

void ctl_stream_free(qms_ctl *c)
{
    sqlite3_finalize(c->stream_st);
    c->stream_st = NULL;
}

void ctl_stream_run(qms_ctl *c)
{
    /* all of the commit's rows, however many: a batch is bounded anyway */
    for (;;) {
        int64_t last = publish_from(c, c->stream_seq + 1, STREAM_CHUNK * 8, 0, 0);
        if (last <= c->stream_seq)
            return;
        c->stream_seq = last;
    }
}

int ctl_stream_on_message(qms_ctl *c, const qms_mqtt_msg *msg)
{
    if (strcmp(msg->topic, ctl_topic(c, "stream/replay")) != 0)
        return 0;
    if (msg->retained) {
        QMS_WARN("ignored a retained message on %s (requests must not be retained)", msg->topic);
        return 1;
    }
    cJSON *o = cJSON_ParseWithLength(msg->payload, msg->len < 0 ? 0 : (size_t)msg->len);
    const cJSON *req = o ? cJSON_GetObjectItemCaseSensitive(o, "req") : NULL;
    const cJSON *from = o ? cJSON_GetObjectItemCaseSensitive(o, "from") : NULL;
    const cJSON *max = o ? cJSON_GetObjectItemCaseSensitive(o, "max") : NULL;
    const char *rq = cJSON_IsString(req) ? req->valuestring : "";
    int ok = cJSON_IsObject(o) && cJSON_IsString(req) && strlen(rq) <= QMS_PROTO_REQ_MAX &&
             cJSON_IsNumber(from) && from->valuedouble >= 1 && from->valuedouble < 9e15 &&
             (!max || (cJSON_IsNumber(max) && max->valuedouble >= 1));
    c->nreq++;
    if (!ok) {
        c->nmalformed++;
        QMS_WARN("stream/replay: malformed request (wants {\"req\",\"from\":N>=1,\"max\":M>=1})");
        if (msg->response_topic)
            ctl_batch_add_reply(c, msg, qms_proto_error_reply(rq, QMS_ERR_INVAL, 1), NULL);
        cJSON_Delete(o);
        return 1;
    }
    int64_t f = (int64_t)from->valuedouble;
    int m = max && max->valuedouble < STREAM_REPLAY_MAX ? (int)max->valuedouble : STREAM_REPLAY_MAX;
    /* only what is committed: the stream's cursor, never rows of a batch in hand */
    int64_t head = c->stream_seq;
    int64_t last = f - 1;
    if (f <= head) {
        int lim = head - f + 1 < m ? (int)(head - f + 1) : m;
        last = publish_from(c, f, lim, 1, head);
    } else {
        publish_from(c, f, 0, 1, head); /* nothing to send: still say where the head is */
    }
    QMS_DEBUG("stream/replay %s: from %lld, sent up to %lld (head %lld)", rq, (long long)f,
              (long long)last, (long long)head);
    if (msg->response_topic) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "req", rq);
        cJSON_AddNumberToObject(r, "from", (double)f);
        cJSON_AddNumberToObject(r, "to", (double)last);
        cJSON_AddNumberToObject(r, "head", (double)head);
        ctl_batch_add_reply(c, msg, ctl_print_free(r), NULL);
    }
    cJSON_Delete(o);
    return 1;
}
