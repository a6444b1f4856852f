/* qms-hub: every site's event stream, stored once per (site, seq), with gaps
 * detected, reported and filled by replay (docs/province.md).
 *   qms-hub --broker HOST:PORT --db hub.db
 * Messages are collected while the loop reads; before it sleeps, everything
 * read is written in ONE transaction (group commit), then the per-site state
 * topics and replay requests go out. Kill -9 safe: a message is only ever
 * lost between its arrival and the commit, and then the hole it leaves is
 * seen (a later seq, or the site's head) and replayed. */
#include "hub.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/conn.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/mqtt.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.1.0"
#endif

#define REPLAY_MAX 1000       /* events asked for per replay request (the site's limit) */
#define REPLAY_RANGES 16      /* holes asked for at once per site */
#define REPLAY_RETRY_MS 3000  /* ask again when a hole stays this long */
#define PROBE_MS 15000        /* a quiet site: ask from its cursor, to see a lost tail */
#define STATE_MIN_MS 1000     /* a site's state topic at most once a second */

typedef struct pending_msg {
    char site[64]; /* of the topic qms/<site>/stream */
    char *payload;
    int len;
    int64_t recv_ms;
} pending_msg;

typedef struct hub {
    hub_store *store;
    qms_mqtt *mqtt;
    hub_sites set;
    pending_msg *pend;
    int npend, cappend;
    int64_t nmsgs, nbad, nbatches, nreplay_req;
    uint64_t req_no;
} hub;

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_message(void *ud, const qms_mqtt_msg *msg)
{
    hub *h = ud;
    if (msg->retained || msg->len <= 0)
        return;
    if (h->npend == h->cappend) {
        int ncap = h->cappend ? h->cappend * 2 : 64;
        pending_msg *np = qms_realloc(h->pend, (size_t)ncap * sizeof *np);
        if (!np)
            return;
        h->pend = np;
        h->cappend = ncap;
    }
    /* the site is the topic's: qms/<site>/stream (the subscription's only match) */
    const char *t = msg->topic ? msg->topic : "";
    size_t tl = strlen(t);
    if (tl <= 11 || strncmp(t, "qms/", 4) != 0 || strcmp(t + tl - 7, "/stream") != 0 ||
        tl - 11 >= sizeof h->pend[0].site)
        return;
    char *p = qms_malloc((size_t)msg->len + 1);
    if (!p)
        return;
    memcpy(p, msg->payload, (size_t)msg->len);
    p[msg->len] = 0;
    pending_msg *pm = &h->pend[h->npend++];
    *pm = (pending_msg){.payload = p, .len = msg->len, .recv_ms = qms_now(&qms_clock_real)};
    memcpy(pm->site, t + 4, tl - 11);
    pm->site[tl - 11] = 0;
    h->nmsgs++;
}

static int flush(hub *h)
{
    if (h->npend == 0)
        return QMS_OK;
    int rc = hub_store_begin(h->store);
    for (int i = 0; i < h->npend && rc == QMS_OK; i++)
        rc = hub_ingest_from(h->store, &h->set, h->pend[i].site, h->pend[i].payload,
                             (size_t)h->pend[i].len, h->pend[i].recv_ms, &h->nbad);
    for (int i = 0; i < h->set.n && rc == QMS_OK; i++)
        rc = hub_store_apply(h->store, h->set.v[i]);
    if (rc == QMS_OK)
        rc = hub_store_commit(h->store, h->set.v, h->set.n);
    else
        hub_store_rollback(h->store);
    for (int i = 0; i < h->npend; i++)
        qms_free(h->pend[i].payload);
    h->npend = 0;
    h->nbatches++;
    return rc;
}

static void send_replay(hub *h, hub_site *s, int64_t from, int64_t max, const char *why)
{
    char topic[160], body[200];
    if (max > REPLAY_MAX)
        max = REPLAY_MAX;
    snprintf(topic, sizeof topic, "qms/%s/stream/replay", s->name);
    snprintf(body, sizeof body, "{\"req\":\"hub-%llu\",\"from\":%lld,\"max\":%lld}",
             (unsigned long long)++h->req_no, (long long)from, (long long)max);
    qms_mqtt_publish(h->mqtt, topic, body, strlen(body), 1, 0);
    h->nreplay_req++;
    QMS_DEBUG("site %s: replay %lld..%lld (%s)", s->name, (long long)from,
              (long long)(from + max - 1), why);
}

/* Ask the site for exactly the seqs the hub lacks (the first REPLAY_RANGES
 * holes, REPLAY_MAX events in all), not everything from the first hole:
 * the stored rows past it would only come back as repeats. */
static void ask_replay(hub *h, hub_site *s, const char *why)
{
    s->replay_ms = qms_mono_ms();
    hub_range r[REPLAY_RANGES];
    int n = 0;
    if (hub_store_holes(h->store, s, r, REPLAY_RANGES, &n) || n == 0) {
        /* nothing known to be missing (a quiet site): what follows the
         * cursor, if anything (a lost tail; an empty answer says the head) */
        send_replay(h, s, s->applied + 1, REPLAY_MAX, why);
        return;
    }
    /* at most REPLAY_MAX events a round, as one request from the hole
     * would be: asking more before the answers arrive (3 s under load)
     * only brings repeats */
    int64_t budget = REPLAY_MAX;
    for (int i = 0; i < n && budget > 0; i++) {
        int64_t len = r[i].last - r[i].first + 1;
        if (len > budget)
            len = budget;
        send_replay(h, s, r[i].first, len, why);
        budget -= len;
    }
}

static void publish_state(hub *h, hub_site *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "site", s->name);
    cJSON_AddNumberToObject(o, "applied", (double)s->applied);
    cJSON_AddNumberToObject(o, "head", (double)s->head);
    cJSON_AddNumberToObject(o, "missing", (double)hub_site_missing(s));
    cJSON_AddBoolToObject(o, "gap", s->max_seen > s->applied);
    cJSON_AddNumberToObject(o, "stored", (double)s->nstored);
    cJSON_AddNumberToObject(o, "repeats", (double)s->ndup);
    cJSON_AddNumberToObject(o, "last_event_ms", (double)s->last_event_at_ms);
    cJSON_AddNumberToObject(o, "at_ms", (double)qms_now(&qms_clock_real));
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt)
        return;
    char topic[160];
    snprintf(topic, sizeof topic, "qms/province/site/%s/state", s->name);
    qms_mqtt_publish(h->mqtt, topic, txt, strlen(txt), 1, 1);
    cJSON_free(txt);
}

/* After a commit: holes, quiet sites, state topics. */
static void after_commit(hub *h, int64_t now, int64_t *next_state)
{
    int publish = now >= *next_state;
    for (int i = 0; i < h->set.n; i++) {
        hub_site *s = h->set.v[i];
        int hole = s->max_seen > s->applied || s->head > s->applied;
        if (hole && s->gap_logged != s->applied + 1) {
            QMS_WARN("site %s: gap after seq %lld (have up to %lld, site's head %lld, %lld "
                     "missing): asking for a replay",
                     s->name, (long long)s->applied, (long long)s->max_seen, (long long)s->head,
                     (long long)hub_site_missing(s));
            s->gap_logged = s->applied + 1;
        }
        if (!hole && s->gaps_open) {
            QMS_INFO("site %s: gap filled, every event up to seq %lld stored", s->name,
                     (long long)s->applied);
        }
        s->gaps_open = hole;
        if (hole && now - s->replay_ms >= REPLAY_RETRY_MS)
            ask_replay(h, s, "hole");
        else if (!hole && s->replay_ms + PROBE_MS <= now && s->last_recv_ms + PROBE_MS <= now)
            ask_replay(h, s, "quiet: probe");
        if (publish && s->dirty) {
            publish_state(h, s);
            s->dirty = 0;
        }
    }
    if (publish)
        *next_state = now + STATE_MIN_MS;
}

static void publish_status(hub *h)
{
    int gaps = 0;
    for (int i = 0; i < h->set.n; i++)
        gaps += h->set.v[i]->gaps_open;
    char body[256];
    snprintf(body, sizeof body,
             "{\"state\":\"online\",\"sites\":%d,\"sites_with_gaps\":%d,\"messages\":%lld}",
             h->set.n, gaps, (long long)h->nmsgs);
    qms_mqtt_publish(h->mqtt, "qms/province/hub/status", body, strlen(body), 1, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: qms-hub --broker HOST:PORT --db FILE [options]\n"
            "\n"
            "The province hub: stores every site's event stream (qms/+/stream) in its own\n"
            "SQLite store, once per (site, seq); asks a site to replay what is missing;\n"
            "publishes each site's state on qms/province/site/<site>/state (retained).\n"
            "\n"
            "Options:\n"
            "  --db FILE         the hub's store (created if missing)\n"
            "  --client-id ID    MQTT client id (default qms-hub); the broker keeps its\n"
            "                    session an hour, so a restart misses nothing\n"
            "  -v, --verbose     debug log\n"
            "  -h, --help, -V, --version\n"
            "%s\n"
            "docs/province.md\n",
            qms_conn_usage());
}

int main(int argc, char **argv)
{
    enum { O_DB = 256, O_ID };
    static const struct option opts[] = {
        {"db", 1, 0, O_DB},           {"client-id", 1, 0, O_ID}, {"verbose", 0, 0, 'v'},
        {"help", 0, 0, 'h'},          {"version", 0, 0, 'V'},    QMS_CONN_LONGOPTS,
        {0, 0, 0, 0}};
    const char *db = NULL, *client_id = "qms-hub";
    int level = QMS_LOG_INFO;
    qms_conn conn;
    qms_conn_init(&conn);
    int ch;
    char err[256];
    while ((ch = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
        if (ch >= QMS_CONN_OPT_BASE && ch < QMS_CONN_OPT_END) {
            if (qms_conn_getopt(&conn, ch, optarg, err, sizeof err)) {
                fprintf(stderr, "qms-hub: %s\n", err);
                return 2;
            }
            continue;
        }
        switch (ch) {
        case O_DB:
            db = optarg;
            break;
        case O_ID:
            client_id = optarg;
            break;
        case 'v':
            level = QMS_LOG_DEBUG;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("qms-hub %s\n", QMS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || optind < argc) {
        usage(stderr);
        return 2;
    }
    if (qms_conn_finish(&conn, err, sizeof err)) {
        fprintf(stderr, "qms-hub: %s\n", err);
        return 2;
    }
    qms_log_init("qms-hub", level);
    hub h;
    memset(&h, 0, sizeof h);
    if (hub_store_open(db, &h.store))
        return 1;
    hub_site *loaded = NULL;
    int nloaded = 0;
    if (hub_store_sites(h.store, &loaded, &nloaded)) {
        QMS_ERROR("cannot read the sites from %s", db);
        return 1;
    }
    for (int i = 0; i < nloaded; i++) {
        hub_site *s = hub_sites_get(&h.set, loaded[i].name);
        if (s)
            *s = loaded[i];
    }
    qms_free(loaded);

    qms_mqtt_lib_init();
    qms_mqtt_opts mo;
    memset(&mo, 0, sizeof mo);
    qms_conn_apply(&conn, &mo);
    mo.client_id = client_id;
    mo.site = "province";
    mo.device_kind = "hub";
    mo.device_id = "main";
    mo.session_expiry_s = 3600;
    mo.inflight_max = 1000;
    if (qms_mqtt_new(&mo, &h.mqtt)) {
        QMS_ERROR("cannot set up the MQTT session");
        return 1;
    }
    qms_mqtt_set_callbacks(h.mqtt, on_message, NULL, &h);
    qms_mqtt_subscribe(h.mqtt, "qms/+/stream", 1);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    QMS_INFO("qms-hub %s started (broker %s:%d, store %s, %d site(s) known)", QMS_VERSION,
             mo.host ? mo.host : "127.0.0.1", mo.port ? mo.port : 1883, db, h.set.n);

    int exit_code = 0;
    int64_t next_state = 0, next_status = 0;
    while (!stop_flag) {
        qms_mqtt_loop(h.mqtt, h.npend ? 0 : 100);
        if (flush(&h)) {
            QMS_ERROR("the store failed: exiting (what was not committed comes again by replay)");
            exit_code = 1;
            break;
        }
        if (!qms_mqtt_connected(h.mqtt))
            continue;
        int64_t now = qms_mono_ms();
        after_commit(&h, now, &next_state);
        if (now >= next_status) {
            publish_status(&h);
            next_status = now + 5000;
        }
    }
    flush(&h);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    QMS_INFO("stopping: %lld messages (%lld malformed), %lld commits, %lld replay requests, "
             "%d sites; cpu %.2f s, max RSS %ld KiB",
             (long long)h.nmsgs, (long long)h.nbad, (long long)h.nbatches,
             (long long)h.nreplay_req, h.set.n,
             ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6,
             ru.ru_maxrss);
    hub_sites_free(&h.set);
    qms_free(h.pend);
    qms_mqtt_free(h.mqtt);
    qms_mqtt_lib_cleanup();
    hub_store_close(h.store);
    return exit_code;
}
