/* The province, with real parts on loopback: two sites (a mosquitto and a
 * qms-controller each) bridged by the configuration qms-provision bridge
 * writes to a province mosquitto, and qms-hub on it. Tickets flow at both
 * sites while the province broker is down (~20 s), while a site's broker
 * and a site's controller restart, and while the hub is killed -9 and
 * restarted. At the end the hub's store must hold every event of both sites
 * exactly once — the same (seq, kind, ticket, at_ms) as each controller's
 * own store — applied in order, and the same ticket states.
 * docs/province.md. */
#include "fixture.h"
#include "support.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define CUT_MS 20000
#define CLOCK "2026-12-05T09:00:00"

typedef struct site {
    qms_test_site t; /* folder, bridge lines, broker, controller */
    qms_mqtt *cli;
    int taken, nreq;
} site;

static char tmp[256];
static qms_test_broker prov;
static int prov_port;
static pid_t hub_pid;
static char hub_db[320], hub_log[320];

/* a whole file, NUL-terminated (qms_free it), or NULL */
static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 1 << 24) != QMS_OK)
        return NULL;
    return text;
}

static void start_hub(void)
{
    char broker[32];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", prov_port);
    char *argv[] = {(char *)qms_test_bin("qms-hub"), "--broker", broker, "--db", hub_db, "-v", NULL};
    hub_pid = qms_test_spawn(argv, hub_log);
    assert_true(hub_pid > 0);
}

static void start_ctl(site *s)
{
    assert_int_equal(qms_test_site_ctl_start(&s->t, CLOCK), 0);
}

static void start_site_broker(site *s, int port)
{
    assert_int_equal(qms_test_site_broker_start(&s->t, port), 0);
}

static void setup_site(site *s, const char *name)
{
    assert_int_equal(qms_test_site_setup(&s->t, tmp, name, prov_port, CLOCK), 0);
}

static void client(site *s)
{
    if (s->cli)
        qms_mqtt_free(s->cli);
    char id[32];
    snprintf(id, sizeof id, "driver-%s", s->t.name);
    qms_mqtt_opts o = {.port = s->t.broker.port, .client_id = id, .site = s->t.name};
    s->cli = qms_test_client(&o, 30000);
    assert_non_null(s->cli);
}

static void request(site *s, const char *suffix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void request(site *s, const char *suffix, const char *fmt, ...)
{
    char body[256], topic[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(topic, sizeof topic, "qms/%s/%s", s->t.name, suffix);
    char *reply = NULL;
    int rc = qms_mqtt_request_sync(s->cli, topic, body, 30000, &reply);
    if (rc)
        fprintf(stderr, "no reply on %s to %s\n", topic, body);
    assert_int_equal(rc, 0);
    free(reply);
}

/* n citizens at site s: take, then counter 1 calls, then serves (or marks a no-show, one in five). */
static void traffic(site *s, int n)
{
    for (int i = 0; i < n; i++) {
        int k = s->nreq++;
        request(s, "ticket/take", "{\"req\":\"t%d\",\"service\":\"TP\"}", k);
        request(s, "counter/1/cmd", "{\"req\":\"n%d\",\"op\":\"next\"}", k);
        if (k % 5 == 4)
            request(s, "counter/1/cmd", "{\"req\":\"s%d\",\"op\":\"skip\"}", k);
        else
            request(s, "counter/1/cmd", "{\"req\":\"d%d\",\"op\":\"done\"}", k);
        s->taken++;
    }
}

static int64_t ctl_head(const site *s)
{
    sqlite3 *db = NULL;
    sqlite3_open_v2(s->t.db, &db, SQLITE_OPEN_READONLY, NULL);
    int64_t v = qms_test_sql_int(db, "SELECT max(seq) FROM events", NULL);
    sqlite3_close(db);
    return v;
}

/* Wait until the hub has applied every event of the site. */
static int hub_caught_up(const site *s, int ms)
{
    int64_t end = qms_mono_ms() + ms, head = 0, got = 0;
    while (qms_mono_ms() < end) {
        head = ctl_head(s);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(db, 2000);
            got = qms_test_sql_int(db, "SELECT applied FROM sites WHERE site = ?1", s->t.name);
        }
        sqlite3_close(db);
        if (head > 0 && got == head)
            return 0;
        usleep(200 * 1000);
    }
    fprintf(stderr, "site %s: hub applied %lld of %lld\n", s->t.name, (long long)got,
            (long long)head);
    return -1;
}

/* Wait until the hub counted at least n repeats of the site. */
static int64_t hub_repeats(const site *s, int64_t n, int ms)
{
    int64_t end = qms_mono_ms() + ms, got = -1;
    while (qms_mono_ms() < end) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(db, 2000);
            got = qms_test_sql_int(db, "SELECT ndup FROM sites WHERE site = ?1", s->t.name);
        }
        sqlite3_close(db);
        if (got >= n)
            break;
        usleep(200 * 1000);
    }
    return got;
}

/* Every row of the controller's events is in the hub once, the same. */
static void compare(const site *s)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char attach[400];
    snprintf(attach, sizeof attach, "ATTACH DATABASE 'file:%s?mode=ro' AS c", s->t.db);
    sqlite3_close(db);
    assert_int_equal(sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
    int64_t n_ctl = qms_test_sql_int(db, "SELECT count(*) FROM c.events", NULL);
    int64_t n_hub = qms_test_sql_int(db, "SELECT count(*) FROM main.events WHERE site = ?1", s->t.name);
    int64_t n_same = qms_test_sql_int(db,
                        "SELECT count(*) FROM c.events e JOIN main.events h ON h.site = ?1"
                        " AND h.seq = e.seq AND h.kind = e.kind AND h.at_ms = e.at_ms"
                        " AND h.ticket_id IS e.ticket_id AND h.label IS e.label"
                        " AND h.counter_id IS e.counter_id AND h.service IS e.service",
                        s->t.name);
    int64_t t_ctl = qms_test_sql_int(db, "SELECT count(*) FROM c.tickets", NULL);
    int64_t t_same = qms_test_sql_int(db,
                        "SELECT count(*) FROM c.tickets t JOIN main.tickets h ON h.site = ?1"
                        " AND h.id = t.id AND h.state = t.state AND h.label = t.label"
                        " AND h.taken_ms = t.taken_ms AND h.first_called_ms IS t.first_called_ms"
                        " AND h.end_ms IS t.end_ms AND h.service = t.service",
                        s->t.name);
    int64_t t_hub = qms_test_sql_int(db, "SELECT count(*) FROM main.tickets WHERE site = ?1", s->t.name);
    fprintf(stderr,
            "site %s: controller %lld events, hub %lld (%lld the same); tickets %lld, hub %lld "
            "(%lld the same); %d taken by the driver\n",
            s->t.name, (long long)n_ctl, (long long)n_hub, (long long)n_same, (long long)t_ctl,
            (long long)t_hub, (long long)t_same, s->taken);
    sqlite3_close(db);
    assert_true(n_ctl > 3 * s->taken);
    assert_int_equal(n_hub, n_ctl);
    assert_int_equal(n_same, n_ctl);
    assert_int_equal(t_ctl, s->taken);
    assert_int_equal(t_hub, t_ctl);
    assert_int_equal(t_same, t_ctl);
}

static void test_province_faults(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "province"), 0);
    snprintf(hub_db, sizeof hub_db, "%s/hub.db", tmp);
    snprintf(hub_log, sizeof hub_log, "%s/hub.log", tmp);
    assert_int_equal(qms_test_broker_start(&prov, 0), 0);
    prov_port = prov.port;
    site a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    setup_site(&a, "s1");
    setup_site(&b, "s2");
    start_hub();
    client(&a);
    client(&b);

    /* 1. the link up */
    traffic(&a, 10);
    traffic(&b, 10);

    /* 2. the province broker down: the sites go on */
    qms_test_broker_stop(&prov);
    int64_t cut_end = qms_mono_ms() + CUT_MS;
    traffic(&a, 10);
    traffic(&b, 10);
    /* site 1's broker restarts during the cut (its queue for the province
     * is in its persistence file) */
    qms_mqtt_free(a.cli);
    a.cli = NULL;
    int aport = a.t.broker.port;
    qms_test_broker_stop(&a.t.broker);
    start_site_broker(&a, aport);
    client(&a);
    traffic(&a, 10);
    /* site 2's controller restarts (SIGKILL) during the cut */
    kill(b.t.ctl, SIGKILL);
    qms_test_wait_pid(b.t.ctl, 10000);
    start_ctl(&b);
    traffic(&b, 10);
    while (qms_mono_ms() < cut_end) {
        traffic(&a, 1);
        traffic(&b, 1);
        usleep(300 * 1000);
    }

    /* 3. the link back; the hub killed -9 mid-stream and restarted */
    assert_int_equal(qms_test_broker_start(&prov, prov_port), 0);
    traffic(&a, 5);
    traffic(&b, 5);
    kill(hub_pid, SIGKILL);
    qms_test_wait_pid(hub_pid, 10000);
    traffic(&a, 5);
    traffic(&b, 5);
    start_hub();
    traffic(&a, 5);
    traffic(&b, 5);

    /* 4. everything, once, in order */
    assert_int_equal(hub_caught_up(&a, 90000), 0);
    assert_int_equal(hub_caught_up(&b, 90000), 0);
    /* repeats: an outside client asks both sites (through the bridges, up
     * since the hub caught up) to replay their first events again; the hub
     * must keep each once */
    qms_mqtt_opts ro = {.port = prov_port, .client_id = "repeater", .site = "province"};
    qms_mqtt *rep = qms_test_client(&ro, 30000);
    assert_non_null(rep);
    const char *again = "{\"req\":\"again\",\"from\":1,\"max\":150}";
    assert_int_equal(qms_mqtt_publish(rep, "qms/s1/stream/replay", again, strlen(again), 1, 0), 0);
    assert_int_equal(qms_mqtt_publish(rep, "qms/s2/stream/replay", again, strlen(again), 1, 0), 0);
    assert_int_equal(qms_mqtt_drain(rep, 10000), 0);
    qms_mqtt_free(rep);
    traffic(&a, 2);
    traffic(&b, 2);

    assert_true(hub_repeats(&a, 150, 60000) >= 150);
    assert_true(hub_repeats(&b, 150, 60000) >= 150);
    assert_int_equal(hub_caught_up(&a, 90000), 0);
    assert_int_equal(hub_caught_up(&b, 90000), 0);
    compare(&a);
    compare(&b);

    /* the hub's state topic for the dashboard (retained) */
    qms_test_watch w;
    const char *pats[] = {"qms/province/site/+/state", NULL};
    qms_mqtt_opts wo = {.port = prov_port, .client_id = "watch-state", .site = "province"};
    assert_int_equal(qms_test_watch_start(&w, &wo, pats), 0);
    char needle[64];
    snprintf(needle, sizeof needle, "\"applied\":%lld", (long long)ctl_head(&a));
    assert_true(qms_test_watch_wait(&w, 0, "qms/province/site/s1/state", "\"gap\":false", 30000) >= 0);
    assert_true(qms_test_watch_wait(&w, 0, "qms/province/site/s1/state", needle, 30000) >= 0);
    /* the replay of 1..150 came back as repeats, counted, not stored */
    const qms_test_msg *st = qms_test_watch_last(&w, "qms/province/site/s1/state");
    assert_non_null(st);
    cJSON *sj = cJSON_Parse(st->payload);
    assert_non_null(sj);
    fprintf(stderr, "hub state of s1: %s\n", st->payload);
    assert_true(cJSON_GetObjectItem(sj, "repeats")->valuedouble >= 150);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(sj, "gap")));
    cJSON_Delete(sj);
    qms_test_watch_stop(&w);

    /* what the faults made the hub do (for the log of the run) */
    char *hl = slurp(hub_log);
    int gaps = 0, fills = 0;
    for (const char *p = hl; p && (p = strstr(p, "gap after seq")); p++)
        gaps++;
    for (const char *p = hl; p && (p = strstr(p, "gap filled")); p++)
        fills++;
    fprintf(stderr, "hub: %d gap(s) seen, %d filled by replay\n", gaps, fills);
    qms_free(hl);

    qms_mqtt_free(a.cli);
    qms_mqtt_free(b.cli);
    kill(hub_pid, SIGTERM);
    assert_int_equal(qms_test_wait_pid(hub_pid, 20000), 0);
    kill(a.t.ctl, SIGTERM);
    kill(b.t.ctl, SIGTERM);
    qms_test_wait_pid(a.t.ctl, 20000);
    qms_test_wait_pid(b.t.ctl, 20000);
    qms_test_broker_stop(&a.t.broker);
    qms_test_broker_stop(&b.t.broker);
    qms_test_broker_stop(&prov);
    qms_test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_province_faults)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
