/* The province at scale (docs/performance.md, "Province hub"): S site
 * brokers, each bridged (the lines qms-provision bridge writes, one
 * connection per site broker) to one province broker with qms-hub on it;
 * every site plays a day of T tickets on its stream as fast as it goes, in
 * the controller's format (take, call, done/skip, rating: ~4 events a
 * ticket, one message per event as a busy controller's commits are).
 * Printed (JSON lines): the floor — stream messages per second a plain
 * subscriber on the province broker receives in the same run — then the
 * hub's stored events per second, its CPU and max RSS, and the lag from a
 * site's publish (at_ms, wall clock) to the hub's read (recv_ms) p50/p99.
 *   bench_hub [sites=20] [tickets=2000]
 * The sites' events are synthetic (the controller's own rate is
 * bench_controller's); what is measured is bridges + broker + hub. Each
 * synthetic site answers the hub's replay requests from what it sent, as
 * a controller does from its store; the counts are printed. */
#include "support.h"

#include "qms/clock.h"
#include "qms/mqtt.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW 20000

static int64_t wall_ms(void)
{
    return qms_now(&qms_clock_real);
}

/* What each synthetic site sent, to answer the hub's replay requests as a
 * controller does (from its store). */
static char ***sent; /* [site][seq - 1] */
static long nreplayed, nreplay_req;

typedef struct site_ud {
    int i;
    qms_mqtt *m;
    int64_t *seq;
} site_ud;

static void on_replay(void *ud, const qms_mqtt_msg *msg)
{
    site_ud *u = ud;
    char buf[256];
    int n = msg->len < (int)sizeof buf - 1 ? msg->len : (int)sizeof buf - 1;
    memcpy(buf, msg->payload, (size_t)n);
    buf[n] = 0;
    const char *f = strstr(buf, "\"from\":"), *mx = strstr(buf, "\"max\":");
    long from = f ? atol(f + 7) : 0;
    long max = mx ? atol(mx + 6) : 1000; /* as the controller: at most max, at most 1000 */
    if (max < 1 || max > 1000)
        max = 1000;
    nreplay_req++;
    char topic[64];
    snprintf(topic, sizeof topic, "qms/b%d/stream", u->i);
    for (long k = from; k >= 1 && k <= u->seq[u->i] && k < from + max; k++) {
        const char *b = sent[u->i][k - 1];
        qms_mqtt_publish(u->m, topic, b, strlen(b), 1, 0);
        nreplayed++;
    }
}

typedef struct counter_ud {
    long n;
    int64_t last_ms; /* when the last one arrived */
} counter_ud;

static void on_count(void *ud, const qms_mqtt_msg *m)
{
    (void)m;
    ((counter_ud *)ud)->n++;
    ((counter_ud *)ud)->last_ms = qms_now(&qms_clock_real);
}

static long proc_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* Events the hub applied so far (its cursors), or -1. */
static long hub_applied(const char *db)
{
    sqlite3 *h = NULL;
    long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        sqlite3_busy_timeout(h, 1000);
        if (sqlite3_prepare_v2(h, "SELECT coalesce(sum(applied),0) FROM sites", -1, &st, NULL) ==
                SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int S = argc > 1 ? atoi(argv[1]) : 20, T = argc > 2 ? atoi(argv[2]) : 2000;
    if (S < 1 || S > 500 || T < 1 || T > 100000) {
        fprintf(stderr, "usage: bench_hub [sites 1..500] [tickets 1..100000]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    qms_mqtt_lib_init();
    char tmp[256], db[300], log[300];
    if (qms_test_tmpdir(tmp, sizeof tmp, "bench-hub"))
        return 1;
    snprintf(db, sizeof db, "%s/hub.db", tmp);
    snprintf(log, sizeof log, "%s/hub.log", tmp);
    /* QMS_BENCH_HUB_NOTICE=1: the brokers log notices too (connections,
     * "Socket error", "Outgoing messages are being dropped"), in their
     * folders while the bench runs: to see where events are lost */
    const char *notice = getenv("QMS_BENCH_HUB_NOTICE") ? "log_type notice\n" : "";
    qms_test_broker prov;
    if (qms_test_broker_start_conf(&prov, 0, notice))
        return 1;
    qms_test_broker *sb = calloc((size_t)S, sizeof *sb);
    qms_mqtt **pub = calloc((size_t)S, sizeof *pub);
    for (int i = 0; i < S; i++) {
        char extra[1100], pdir[300];
        snprintf(pdir, sizeof pdir, "%s/b%d", tmp, i);
        mkdir(pdir, 0755);
        snprintf(extra, sizeof extra,
                 "persistence true\npersistence_location %s/\n"
                 "connection province\naddress 127.0.0.1:%d\nbridge_protocol_version mqttv311\n"
                 "clientid qms-bridge-b%d\ncleansession false\ntry_private true\n"
                 "restart_timeout 1 10\n"
                 "topic stream out 1 qms/b%d/ qms/b%d/\ntopic stream/replay in 1 qms/b%d/ qms/b%d/\n"
                 "%s",
                 pdir, prov.port, i, i, i, i, i, notice);
        if (qms_test_broker_start_conf(&sb[i], 0, extra))
            return 1;
    }
    /* the floor: a plain subscriber to the same topics */
    counter_ud cu = {0};
    qms_mqtt_opts fo = {.port = prov.port, .client_id = "floor", .site = "province"};
    qms_mqtt *floor_cli = NULL;
    if (qms_mqtt_new(&fo, &floor_cli))
        return 1;
    qms_mqtt_set_callbacks(floor_cli, on_count, NULL, &cu);
    qms_mqtt_subscribe(floor_cli, "qms/+/stream", 1);
    char broker[32];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", prov.port);
    char *hargv[] = {(char *)qms_test_bin("qms-hub"), "--broker", broker, "--db", db, NULL};
    pid_t hub = qms_test_spawn(hargv, log);
    int64_t *seq = calloc((size_t)S, sizeof *seq);
    sent = calloc((size_t)S, sizeof *sent);
    site_ud *sud = calloc((size_t)S, sizeof *sud);
    for (int i = 0; i < S; i++) {
        char id[32], site[16];
        sent[i] = calloc((size_t)T * 4 + 1, sizeof **sent);
        snprintf(id, sizeof id, "site-b%d", i);
        snprintf(site, sizeof site, "b%d", i);
        qms_mqtt_opts o = {.port = sb[i].port, .client_id = id, .site = site, .inflight_max = 100};
        if (qms_mqtt_new(&o, &pub[i]))
            return 1;
        sud[i] = (site_ud){i, pub[i], seq};
        qms_mqtt_set_callbacks(pub[i], on_replay, NULL, &sud[i]);
        char rt[64];
        snprintf(rt, sizeof rt, "qms/b%d/stream/replay", i);
        qms_mqtt_subscribe(pub[i], rt, 1);
    }
    for (int k = 0; k < 300; k++) { /* everyone connected, bridges up */
        int up = 1;
        for (int i = 0; i < S; i++) {
            qms_mqtt_loop(pub[i], 0);
            up &= qms_mqtt_connected(pub[i]);
        }
        qms_mqtt_loop(floor_cli, 10);
        if (up && qms_mqtt_connected(floor_cli) && k > 100)
            break;
    }
    /* the days: per ticket take, call, done (one in 5 skip), rate (half) */
    long total = 0;
    int64_t t0 = wall_ms();
    double cpu0 = qms_test_cpu_s(hub);
    const char *kinds[] = {"take", "call", "done", "rate"};
    for (int tk = 1; tk <= T; tk++) {
        for (int i = 0; i < S; i++) {
            for (int k = 0; k < 4; k++) {
                if (k == 3 && tk % 2)
                    continue;
                const char *kind = k == 2 && tk % 5 == 0 ? "skip" : kinds[k];
                char topic[64], body[400];
                int64_t s = ++seq[i];
                snprintf(topic, sizeof topic, "qms/b%d/stream", i);
                snprintf(body, sizeof body,
                         "{\"site\":\"b%d\",\"from\":%lld,\"to\":%lld,\"head\":%lld,\"events\":["
                         "{\"seq\":%lld,\"day\":\"2026-12-05\",\"at_ms\":%lld,\"kind\":\"%s\","
                         "\"ticket\":%d,\"label\":\"A%03d\",\"service\":\"TP\",\"counter\":%d%s}]}",
                         i, (long long)s, (long long)s, (long long)s, (long long)s,
                         (long long)wall_ms(), kind, tk, tk % 1000, 1 + tk % 8,
                         k == 3 ? ",\"rating\":4" : k == 0 ? ",\"priority\":0,\"number\":1" : "");
                sent[i][s - 1] = strdup(body);
                while (qms_mqtt_publish(pub[i], topic, body, strlen(body), 1, 0))
                    qms_mqtt_loop(pub[i], 5);
                total++;
            }
            qms_mqtt_loop(pub[i], 0);
        }
        qms_mqtt_loop(floor_cli, 0);
        /* faster than real time, but no flood: at most WINDOW events ahead
         * of the hub, so no broker queue overflows (synthetic sites cannot
         * answer a replay) */
        if (tk % 20 == 0)
            while (total - hub_applied(db) > WINDOW) {
                for (int i = 0; i < S; i++)
                    qms_mqtt_loop(pub[i], 0);
                qms_mqtt_loop(floor_cli, 20);
            }
    }
    int64_t t_pub = wall_ms();
    /* wait until the hub applied everything (or 10 min) */
    sqlite3 *h = NULL;
    long stored = 0;
    int64_t t_end = 0, t_floor = 0;
    while (wall_ms() - t_pub < 600000) {
        for (int i = 0; i < S; i++)
            qms_mqtt_loop(pub[i], 0);
        qms_mqtt_loop(floor_cli, 50);
        if (!t_floor && cu.n >= total)
            t_floor = wall_ms();
        if (!h && sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(h);
            h = NULL;
            continue;
        }
        sqlite3_stmt *st = NULL;
        if (h && sqlite3_prepare_v2(h, "SELECT coalesce(sum(applied),0) FROM sites", -1, &st,
                                    NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            stored = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (stored >= total) {
            t_end = wall_ms();
            break;
        }
    }
    double cpu = qms_test_cpu_s(hub) - cpu0;
    long rss = proc_hwm_kib(hub);
    int64_t *lag = malloc(sizeof *lag * (size_t)total);
    long nl = 0;
    sqlite3_stmt *st = NULL;
    if (h && sqlite3_prepare_v2(h, "SELECT recv_ms - at_ms FROM events", -1, &st, NULL) ==
                 SQLITE_OK)
        while (sqlite3_step(st) == SQLITE_ROW && nl < total)
            lag[nl++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    long repeats = -1; /* copies the hub got of events it had (replays, bridge resends) */
    if (h && sqlite3_prepare_v2(h, "SELECT sum(ndup) FROM sites", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        repeats = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    qsort(lag, (size_t)nl, sizeof *lag, cmp64);
    double secs = ((t_end ? t_end : wall_ms()) - t0) / 1000.0;
    double pub_secs = (t_pub - t0) / 1000.0;
    /* the floor subscriber loses messages under overload as the hub does,
     * and gets only the replays the hub asked for: it is done when it got
     * every event or nothing came for 5 s (its time: the last arrival) */
    while (!t_floor && cu.n < total && wall_ms() - t_pub < 600000 &&
           wall_ms() - cu.last_ms < 5000)
        qms_mqtt_loop(floor_cli, 50);
    if (!t_floor)
        t_floor = cu.last_ms ? cu.last_ms : wall_ms();
    double fsecs = (t_floor - t0) / 1000.0;
    printf("{\"bench\":\"hub\",\"case\":\"floor_broker_subscriber\",\"sites\":%d,\"messages\":%ld,"
           "\"received\":%ld,\"seconds\":%.1f,\"msgs_per_s\":%.0f}\n",
           S, total, cu.n, fsecs, cu.n / (fsecs > 0 ? fsecs : 1));
    printf("{\"bench\":\"hub\",\"case\":\"hub_store\",\"sites\":%d,\"tickets_per_site\":%d,"
           "\"events\":%ld,\"stored\":%ld,\"complete\":%s,\"publish_s\":%.1f,\"seconds\":%.1f,"
           "\"events_per_s\":%.0f,\"hub_cpu_s\":%.1f,\"hub_cpu_share\":%.2f,\"hub_max_rss_kib\":%ld,"
           "\"lag_ms_p50\":%lld,\"lag_ms_p99\":%lld,\"lag_ms_max\":%lld,"
           "\"replay_requests\":%ld,\"replayed\":%ld,\"hub_repeats\":%ld}\n",
           S, T, total, stored, t_end ? "true" : "false", pub_secs, secs, stored / secs, cpu,
           cpu / secs, rss, nl ? (long long)lag[nl / 2] : -1LL,
           nl ? (long long)lag[nl * 99 / 100] : -1LL, nl ? (long long)lag[nl - 1] : -1LL,
           nreplay_req, nreplayed, repeats);
    fflush(stdout);
    free(lag);
    kill(hub, SIGTERM);
    qms_test_wait_pid(hub, 20000);
    for (int i = 0; i < S; i++) {
        qms_mqtt_free(pub[i]);
        qms_test_broker_stop(&sb[i]);
    }
    qms_mqtt_free(floor_cli);
    qms_test_broker_stop(&prov);
    qms_test_rmdir(tmp);
    free(sb);
    free(pub);
    for (int i = 0; i < S; i++) {
        for (long k = 0; k < seq[i]; k++)
            free(sent[i][k]);
        free(sent[i]);
    }
    free(sent);
    free(sud);
    free(seq);
    return t_end ? 0 : 1;
}
