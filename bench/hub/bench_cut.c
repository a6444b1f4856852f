/* A site's link cut for minutes (issue 12, docs/performance.md "Province
 * hub"): two sites, each a mosquitto with the bridge lines qms-provision
 * bridge writes and a real qms-controller, bridged to one province broker
 * with qms-hub on it. At each site a paced client takes a ticket and calls
 * the next one at a counter serving it (one request at a time, --rate takes
 * per second, five services in turn: 4,995 numbers a day), timing every
 * request's round trip; an error reply is counted, not timed. Phases in one run: the link
 * up (--up-s), the province broker stopped (--cut-s), back (--back-s);
 * then the traffic stops and the bench waits until the hub has every event.
 * Printed (JSON lines): per phase and site n, p50, p99, max of the take
 * round trip (and the next's p99), ratio_p99 against the "up" phase of the
 * same run (the floor); at the end per site the hub's check — every event
 * of the site's store (its events table) in the hub's store once with the
 * same seq, kind and at_ms, the hub's applied cursor at the site's head —
 * and the time from restore until the hub had every event the site had
 * made until then.
 *   bench_cut [--up-s 60] [--cut-s 120] [--back-s 60] [--rate 5]
 * Timing is reported, never judged. */
#include "fixture.h"
#include "support.h"

#include "qms/clock.h"
#include "qms/mqtt.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLOCK "2026-12-05T08:00:00"
#define NSITES 2
#define NPHASES 3
#define MAXSAMPLES 200000

static const char *phase_name[NPHASES] = {"up", "cut", "back"};
/* Services taken in turn, each with a counter that serves it (of the
 * example center): a service has 999 numbers a day, five give 4,995. */
static const struct {
    const char *service;
    int counter;
} lanes[] = {{"TP", 1}, {"TRA", 10}, {"LD", 6}, {"GT", 8}, {"XD", 4}};
#define NLANES ((long)(sizeof lanes / sizeof lanes[0]))
static int logged_error;

typedef struct samples {
    int64_t *v;
    long n;
    long failed; /* no reply within the timeout */
    long errors; /* an error reply */
} samples;

typedef struct bsite {
    qms_test_site t;
    qms_mqtt *cli;
    long nreq;
    samples take[NPHASES], next[NPHASES];
    int64_t head_at_restore; /* the site's last seq when the link came back */
    int64_t caught_ms;       /* when the hub first had all of those, or 0 */
} bsite;

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(samples *s, int p)
{
    if (!s->n)
        return -1;
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp64);
    long i = s->n * p / 100;
    return s->v[i < s->n ? i : s->n - 1];
}

/* One value from a database opened read-only, or -1. */
static int64_t q1_db(const char *path, const char *sql, const char *arg)
{
    sqlite3 *db = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        v = qms_test_sql_int(db, sql, arg);
    }
    sqlite3_close(db);
    return v;
}

static int64_t site_head(const bsite *s)
{
    return q1_db(s->t.db, "SELECT coalesce(max(seq),0) FROM events", NULL);
}

static int64_t hub_applied(const char *hub_db, const bsite *s)
{
    return q1_db(hub_db, "SELECT applied FROM sites WHERE site = ?1", s->t.name);
}

/* One request, timed: its round trip in ms; -1 when no reply came in 30 s,
 * -2 when the reply is an error (e.g. a service's numbers used up). */
static int64_t timed(bsite *s, const char *suffix, const char *body)
{
    char topic[128];
    snprintf(topic, sizeof topic, "qms/%s/%s", s->t.name, suffix);
    char *reply = NULL;
    int64_t t0 = qms_mono_ms();
    int rc = qms_mqtt_request_sync(s->cli, topic, body, 30000, &reply);
    int64_t dt = qms_mono_ms() - t0;
    int err = reply && strstr(reply, "\"error\"");
    if (err && !logged_error++)
        fprintf(stderr, "bench_cut: %s %s -> %s\n", topic, body, reply);
    free(reply);
    return rc ? -1 : err ? -2 : dt;
}

static void add(samples *s, int64_t v)
{
    if (v == -2)
        s->errors++;
    else if (v < 0)
        s->failed++;
    else if (s->n < MAXSAMPLES)
        s->v[s->n++] = v;
}

/* One tick at a site: a take, then the next at a counter serving it. */
static void tick(bsite *s, int phase)
{
    char body[96], topic[32];
    long k = s->nreq++;
    snprintf(body, sizeof body, "{\"req\":\"t%ld\",\"service\":\"%s\"}", k,
             lanes[k % NLANES].service);
    add(&s->take[phase], timed(s, "ticket/take", body));
    snprintf(body, sizeof body, "{\"req\":\"n%ld\",\"op\":\"next\"}", k);
    snprintf(topic, sizeof topic, "counter/%d/cmd", lanes[k % NLANES].counter);
    add(&s->next[phase], timed(s, topic, body));
}

/* Paced traffic at both sites for ms; while the hub has not caught up with
 * the heads at restore (when watch_hub), look at it once a second. */
static void run_phase(bsite *s, int phase, int64_t ms, int rate, const char *hub_db,
                      int64_t restore_ms)
{
    int64_t period = 1000 / rate, start = qms_mono_ms(), next_tick = start, next_look = start;
    while (qms_mono_ms() - start < ms) {
        int64_t now = qms_mono_ms();
        if (now < next_tick) {
            qms_mqtt_loop(s[0].cli, (int)(next_tick - now > 20 ? 20 : next_tick - now));
            qms_mqtt_loop(s[1].cli, 0);
            continue;
        }
        for (int i = 0; i < NSITES; i++)
            tick(&s[i], phase);
        next_tick += period;
        if (next_tick < qms_mono_ms()) /* behind: no burst */
            next_tick = qms_mono_ms();
        if (restore_ms && qms_mono_ms() >= next_look) {
            next_look = qms_mono_ms() + 1000;
            for (int i = 0; i < NSITES; i++)
                if (!s[i].caught_ms && hub_applied(hub_db, &s[i]) >= s[i].head_at_restore)
                    s[i].caught_ms = qms_mono_ms();
        }
    }
}

static void print_phase(bsite *s, int phase, int64_t floor_p99)
{
    samples *t = &s->take[phase];
    int64_t p50 = pct(t, 50), p99 = pct(t, 99), mx = t->n ? t->v[t->n - 1] : -1;
    printf("{\"bench\":\"cut\",\"phase\":\"%s\",\"site\":\"%s\",\"n\":%ld,\"failed\":%ld,"
           "\"errors\":%ld,"
           "\"take_ms_p50\":%lld,\"take_ms_p99\":%lld,\"take_ms_max\":%lld,"
           "\"next_ms_p99\":%lld,\"ratio_p99\":%.2f}\n",
           phase_name[phase], s->t.name, t->n, t->failed, t->errors, (long long)p50, (long long)p99,
           (long long)mx, (long long)pct(&s->next[phase], 99),
           floor_p99 > 0 ? (double)p99 / (double)floor_p99 : -1.0);
}

/* Every event of the site's store in the hub's once, the same. */
static void print_check(const char *hub_db, bsite *s, int64_t restore_ms, int64_t wait_ms)
{
    sqlite3 *db = NULL;
    char attach[400];
    snprintf(attach, sizeof attach, "ATTACH DATABASE 'file:%s?mode=ro' AS c", s->t.db);
    int64_t n_ctl = -1, n_hub = -1, n_same = -1, n_seq = -1, applied = -1, head = -1, ndup = -1;
    if (sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK &&
        sqlite3_exec(db, attach, NULL, NULL, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        n_ctl = qms_test_sql_int(db, "SELECT count(*) FROM c.events", NULL);
        head = qms_test_sql_int(db, "SELECT coalesce(max(seq),0) FROM c.events", NULL);
        n_hub = qms_test_sql_int(db, "SELECT count(*) FROM main.events WHERE site = ?1", s->t.name);
        n_seq = qms_test_sql_int(db, "SELECT count(DISTINCT seq) FROM main.events WHERE site = ?1",
                                 s->t.name);
        n_same =
            qms_test_sql_int(db,
                             "SELECT count(*) FROM c.events e JOIN main.events h ON h.site = ?1"
                             " AND h.seq = e.seq AND h.kind = e.kind AND h.at_ms = e.at_ms"
                             " AND h.ticket_id IS e.ticket_id AND h.label IS e.label"
                             " AND h.counter_id IS e.counter_id AND h.service IS e.service",
                             s->t.name);
        applied = qms_test_sql_int(db, "SELECT applied FROM main.sites WHERE site = ?1", s->t.name);
        ndup = qms_test_sql_int(db, "SELECT ndup FROM main.sites WHERE site = ?1", s->t.name);
    }
    sqlite3_close(db);
    int ok = n_ctl > 0 && n_hub == n_ctl && n_seq == n_ctl && n_same == n_ctl && applied == head;
    printf("{\"bench\":\"cut\",\"check\":\"hub\",\"site\":\"%s\",\"site_events\":%lld,"
           "\"hub_events\":%lld,\"hub_distinct_seq\":%lld,\"same\":%lld,\"site_head\":%lld,"
           "\"hub_applied\":%lld,\"hub_repeats\":%lld,\"exactly_once\":%s,"
           "\"head_at_restore\":%lld,\"restore_to_hub_had_it_s\":%.1f,"
           "\"final_wait_s\":%.1f}\n",
           s->t.name, (long long)n_ctl, (long long)n_hub, (long long)n_seq, (long long)n_same,
           (long long)head, (long long)applied, (long long)ndup, ok ? "true" : "false",
           (long long)s->head_at_restore,
           s->caught_ms ? (s->caught_ms - restore_ms) / 1000.0 : -1.0, wait_ms / 1000.0);
}

static int arg_int(int argc, char **argv, const char *name, int def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return atoi(argv[i + 1]);
    return def;
}

int main(int argc, char **argv)
{
    int up_s = arg_int(argc, argv, "--up-s", 60), cut_s = arg_int(argc, argv, "--cut-s", 120);
    int back_s = arg_int(argc, argv, "--back-s", 60), rate = arg_int(argc, argv, "--rate", 5);
    if (up_s < 1 || cut_s < 1 || back_s < 1 || rate < 1 || rate > 50 || up_s > 36000 ||
        cut_s > 36000 || back_s > 36000) {
        fprintf(stderr, "usage: bench_cut [--up-s N] [--cut-s N] [--back-s N] [--rate 1..50]\n");
        return 2;
    }
    if ((long)rate * (up_s + cut_s + back_s) > 999 * NLANES)
        fprintf(stderr, "bench_cut: more takes than a day's numbers (%ld): errors will come\n",
                999 * NLANES);
    signal(SIGPIPE, SIG_IGN);
    qms_mqtt_lib_init();
    char tmp[256], hub_db[300], hub_log[300], broker[32];
    if (qms_test_tmpdir(tmp, sizeof tmp, "bench-cut"))
        return 1;
    snprintf(hub_db, sizeof hub_db, "%s/hub.db", tmp);
    snprintf(hub_log, sizeof hub_log, "%s/hub.log", tmp);
    qms_test_broker prov;
    if (qms_test_broker_start(&prov, 0))
        return 1;
    int prov_port = prov.port;
    bsite s[NSITES];
    memset(s, 0, sizeof s);
    for (int i = 0; i < NSITES; i++) {
        char name[8], id[32];
        snprintf(name, sizeof name, "s%d", i + 1);
        if (qms_test_site_setup(&s[i].t, tmp, name, prov_port, CLOCK)) {
            fprintf(stderr, "bench_cut: site %s did not start (see %s)\n", name, tmp);
            return 1;
        }
        snprintf(id, sizeof id, "driver-%s", name);
        qms_mqtt_opts o = {.port = s[i].t.broker.port, .client_id = id, .site = name};
        if (!(s[i].cli = qms_test_client(&o, 30000)))
            return 1;
        for (int p = 0; p < NPHASES; p++) {
            s[i].take[p].v = malloc(sizeof(int64_t) * MAXSAMPLES);
            s[i].next[p].v = malloc(sizeof(int64_t) * MAXSAMPLES);
        }
    }
    snprintf(broker, sizeof broker, "127.0.0.1:%d", prov_port);
    char *hargv[] = {(char *)qms_test_bin("qms-hub"), "--broker", broker, "--db", hub_db, NULL};
    pid_t hub = qms_test_spawn(hargv, hub_log);
    if (hub <= 0)
        return 1;

    run_phase(s, 0, up_s * 1000LL, rate, hub_db, 0);
    qms_test_broker_stop(&prov);
    run_phase(s, 1, cut_s * 1000LL, rate, hub_db, 0);
    if (qms_test_broker_start(&prov, prov_port))
        return 1;
    int64_t restore_ms = qms_mono_ms();
    for (int i = 0; i < NSITES; i++)
        s[i].head_at_restore = site_head(&s[i]);
    run_phase(s, 2, back_s * 1000LL, rate, hub_db, restore_ms);

    /* traffic stops: wait until the hub has every event (or 10 min) */
    int64_t w0 = qms_mono_ms(), heads[NSITES];
    for (int i = 0; i < NSITES; i++)
        heads[i] = site_head(&s[i]);
    while (qms_mono_ms() - w0 < 600000) {
        int all = 1;
        for (int i = 0; i < NSITES; i++) {
            int64_t a = hub_applied(hub_db, &s[i]);
            if (!s[i].caught_ms && a >= s[i].head_at_restore)
                s[i].caught_ms = qms_mono_ms();
            all &= a >= heads[i];
        }
        if (all)
            break;
        qms_mqtt_loop(s[0].cli, 100);
        qms_mqtt_loop(s[1].cli, 100);
    }
    int64_t wait_ms = qms_mono_ms() - w0;

    for (int i = 0; i < NSITES; i++) {
        int64_t floor_p99 = pct(&s[i].take[0], 99);
        for (int p = 0; p < NPHASES; p++)
            print_phase(&s[i], p, floor_p99);
    }
    for (int i = 0; i < NSITES; i++)
        print_check(hub_db, &s[i], restore_ms, wait_ms);
    printf("{\"bench\":\"cut\",\"up_s\":%d,\"cut_s\":%d,\"back_s\":%d,\"rate_per_site\":%d}\n",
           up_s, cut_s, back_s, rate);
    fflush(stdout);

    kill(hub, SIGTERM);
    qms_test_wait_pid(hub, 20000);
    for (int i = 0; i < NSITES; i++) {
        qms_mqtt_free(s[i].cli);
        qms_test_site_stop(&s[i].t);
        for (int p = 0; p < NPHASES; p++) {
            free(s[i].take[p].v);
            free(s[i].next[p].v);
        }
    }
    qms_test_broker_stop(&prov);
    qms_test_rmdir(tmp);
    return 0;
}
