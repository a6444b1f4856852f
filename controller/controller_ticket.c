/* The citizen's ticket page: each ticket's status on its own topic
 * qms/<site>/ticket/<token>/status, where the token is unguessable: the
 * first 16 bytes of HMAC-SHA256(site secret, "<site>/<ticket id>") in
 * base64url (22 characters). The secret is 32 random bytes made once and
 * kept in the store (table qms_secret), so a token survives restarts and
 * needs no column of its own; without the secret nobody can walk through the
 * tickets. The take reply carries the token and the page's URL (the center's
 * ticket_url + "ticket.html#s=<site>&t=<token>": after '#', so it never
 * reaches a web server's log). docs/protocol.md, "The citizen's ticket page". */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* A ticket's status stays at the broker this long (retained, then expired). */
#define TICKET_EXPIRY_S (14 * 3600)

int ctl_ticket_init(qms_ctl *c)
{
    sqlite3 *db = qms_store_db(c->store);
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS qms_secret(name TEXT PRIMARY KEY,"
                     " value BLOB NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return QMS_ERR_DB;
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM qms_secret WHERE name = 'ticket_token'", -1, &st,
                           NULL) != SQLITE_OK)
        return QMS_ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == (int)sizeof c->tk_secret) {
        memcpy(c->tk_secret, sqlite3_column_blob(st, 0), sizeof c->tk_secret);
        found = 1;
    }
    sqlite3_finalize(st);
    if (found)
        return QMS_OK;
    if (getrandom(c->tk_secret, sizeof c->tk_secret, 0) != (ssize_t)sizeof c->tk_secret) {
        QMS_ERROR("no random bytes for the ticket token secret");
        return QMS_ERR_IO;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO qms_secret(name, value) VALUES ('ticket_token', ?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return QMS_ERR_DB;
    sqlite3_bind_blob(st, 1, c->tk_secret, (int)sizeof c->tk_secret, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? QMS_OK : QMS_ERR_DB;
    sqlite3_finalize(st);
    return rc;
}

void ctl_ticket_token(const qms_ctl *c, int64_t id, char out[CTL_TOKEN_LEN + 1])
{
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%s/%lld", c->site, (long long)id);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), c->tk_secret, (int)sizeof c->tk_secret, (const unsigned char *)msg,
         (size_t)n, mac, &maclen);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    /* 16 bytes = 128 bits -> 22 base64url characters (the last carries 2 bits) */
    int o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | mac[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = 0;
}

void ctl_ticket_take_fields(qms_ctl *c, const qms_ticket *t, void *obj)
{
    cJSON *o = obj;
    char tok[CTL_TOKEN_LEN + 1];
    ctl_ticket_token(c, t->id, tok);
    cJSON_AddStringToObject(o, "token", tok);
    const char *base = c->cfg->ticket_url;
    if (base && *base) {
        char url[512];
        size_t bl = strlen(base);
        snprintf(url, sizeof url, "%s%sticket.html#s=%s&t=%s", base,
                 base[bl - 1] == '/' ? "" : "/", c->site, tok);
        cJSON_AddStringToObject(o, "url", url);
    }
}

/* ---- the status topics ---- */

/* What the page shows; no personal data (no appointment reference, no
 * rating, nothing typed by a person). */
static char *status_json(qms_ctl *c, const qms_ticket *t, int ahead)
{
    const qms_config *cfg = c->cfg;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char day[11];
    qms_day_str(t->day, day);
    cJSON_AddStringToObject(o, "ticket", t->label);
    cJSON_AddStringToObject(o, "day", day);
    if (t->service >= 0 && t->service < cfg->nservices) {
        const qms_service *s = &cfg->services[t->service];
        cJSON_AddStringToObject(o, "service", s->code);
        cJSON_AddStringToObject(o, "service_name_vi", s->name_vi ? s->name_vi : "");
        cJSON_AddStringToObject(o, "service_name_en", s->name_en ? s->name_en : "");
    }
    cJSON_AddStringToObject(o, "state", qms_tstate_name(t->state));
    cJSON_AddNumberToObject(o, "taken_ms", (double)t->taken_ms);
    if (t->state == QMS_T_WAITING) {
        cJSON_AddNumberToObject(o, "ahead", ahead);
        cJSON_AddNumberToObject(o, "eta_s", t->eta_now_s >= 0 ? t->eta_now_s : t->eta_s);
    }
    if ((t->state == QMS_T_CALLED || t->state == QMS_T_SERVING) && t->counter >= 0 &&
        t->counter < cfg->ncounters) {
        const qms_counter *k = &cfg->counters[t->counter];
        cJSON_AddNumberToObject(o, "counter", k->id);
        cJSON_AddStringToObject(o, "counter_name_vi", k->name_vi ? k->name_vi : "");
        cJSON_AddStringToObject(o, "counter_name_en", k->name_en ? k->name_en : "");
        cJSON_AddNumberToObject(o, "called_ms", (double)t->called_ms);
    }
    return ctl_print_free(o);
}

static void publish_status(qms_ctl *c, const qms_ticket *t, const char *json)
{
    char tok[CTL_TOKEN_LEN + 1], suffix[64];
    ctl_ticket_token(c, t->id, tok);
    snprintf(suffix, sizeof suffix, "ticket/%s/status", tok);
    mosquitto_property *props = NULL;
    mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, TICKET_EXPIRY_S);
    struct mosquitto *mosq = qms_mqtt_handle(c->mqtt);
    int rc = mosquitto_publish_v5(mosq, NULL, ctl_topic(c, suffix), (int)strlen(json), json, 1,
                                  true, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS && qms_mqtt_connected(c->mqtt))
        QMS_WARN("publish of a ticket status failed: %s", mosquitto_strerror(rc));
}

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h ? h : 1;
}

void ctl_tickets_run(qms_ctl *c)
{
    int64_t mono = qms_mono_ms();
    int connected = qms_mqtt_connected(c->mqtt);
    int force = connected && !c->tk_connected;
    c->tk_connected = connected;
    if (!connected)
        return;
    int32_t day = qms_engine_day(c->eng);
    if (day != c->tk_day) { /* a new day: nothing published yet */
        c->tk_day = day;
        c->tk_n = 0;
        force = 1;
    }
    /* after a commit (something changed) at most every 200 ms, else every 10 s
     * (expected waits move with time) */
    /* and never more than a fifth of the time: with thousands waiting a run
     * costs tens of milliseconds, and requests must keep flowing */
    if (!force && !(c->ncommits != c->tk_commits && mono - c->tk_last_ms >= 200 &&
                    mono - c->tk_last_ms >= 5 * c->tk_cost_ms) &&
        mono < c->tk_next_ms)
        return;
    c->tk_commits = c->ncommits;
    c->tk_last_ms = mono;
    c->tk_next_ms = mono + 10000;
    int n = qms_engine_ticket_count(c->eng);
    if (n > c->tk_cap) {
        int ncap = n + 1024;
        uint32_t *nh = qms_realloc(c->tk_hash, (size_t)ncap * sizeof *nh);
        if (!nh)
            return;
        c->tk_hash = nh;
        unsigned char *nf = qms_realloc(c->tk_final, (size_t)ncap);
        if (!nf)
            return;
        c->tk_final = nf;
        c->tk_cap = ncap;
    }
    if (force)
        c->tk_n = 0;
    for (int i = c->tk_n; i < n; i++) {
        c->tk_hash[i] = 0;
        c->tk_final[i] = 0;
    }
    c->tk_n = n;
    /* people ahead: a waiting ticket's best place among the counters that
     * could call it (the order each would call in now) */
    int *ahead = qms_calloc((size_t)n + 1, sizeof *ahead);
    int64_t *ids = qms_calloc((size_t)n + 1, sizeof *ids);
    if (!ahead || !ids) {
        qms_free(ahead);
        qms_free(ids);
        return;
    }
    for (int i = 0; i < n; i++)
        ahead[i] = -1;
    /* today's ids ascend with the index; they are dense (one day's tickets
     * numbered in turn), so a table maps an id to its index in O(1) */
    int64_t id0 = n ? qms_engine_ticket_at(c->eng, 0)->id : 0;
    int64_t span = n ? qms_engine_ticket_at(c->eng, n - 1)->id - id0 + 1 : 0;
    int *index_of = span > 0 && span <= 4 * (int64_t)n + 1024
                        ? qms_malloc((size_t)span * sizeof *index_of)
                        : NULL;
    if (index_of) {
        for (int64_t k = 0; k < span; k++)
            index_of[k] = -1;
        for (int i = 0; i < n; i++)
            index_of[qms_engine_ticket_at(c->eng, i)->id - id0] = i;
    }
    for (int ci = 0; ci < c->cfg->ncounters; ci++) {
        int m = qms_engine_waiting_for_counter(c->eng, ci, ids, n);
        for (int p = 0; p < m && p < n; p++) {
            int at = -1;
            if (index_of) {
                if (ids[p] >= id0 && ids[p] - id0 < span)
                    at = index_of[ids[p] - id0];
            } else {
                /* ids are today's tickets in id order: find the index */
                int lo = 0, hi = n - 1;
                while (lo <= hi) {
                    int mid = lo + (hi - lo) / 2;
                    int64_t mid_id = qms_engine_ticket_at(c->eng, mid)->id;
                    if (mid_id == ids[p]) {
                        at = mid;
                        break;
                    }
                    if (mid_id < ids[p])
                        lo = mid + 1;
                    else
                        hi = mid - 1;
                }
            }
            if (at >= 0 && (ahead[at] < 0 || p < ahead[at]))
                ahead[at] = p;
        }
    }
    qms_free(index_of);
    int sent = 0;
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(c->eng, i);
        int last = t->state == QMS_T_DONE || t->state == QMS_T_NOSHOW ||
                   t->state == QMS_T_CANCELLED;
        if (last && c->tk_final[i])
            continue; /* its last word was published; a recall would change it (state) */
        char *js = status_json(c, t, ahead[i] < 0 ? 0 : ahead[i]);
        if (!js)
            continue;
        uint32_t h = fnv(js);
        if (h != c->tk_hash[i]) {
            publish_status(c, t, js);
            c->tk_hash[i] = h;
            sent++;
        }
        c->tk_final[i] = (unsigned char)last;
        qms_free(js);
    }
    qms_free(ahead);
    qms_free(ids);
    if (sent)
        qms_mqtt_flush(c->mqtt);
    c->tk_cost_ms = qms_mono_ms() - mono;
}

void ctl_ticket_free(qms_ctl *c)
{
    qms_free(c->tk_hash);
    c->tk_hash = NULL;
    qms_free(c->tk_final);
    c->tk_final = NULL;
    c->tk_cap = c->tk_n = 0;
}
