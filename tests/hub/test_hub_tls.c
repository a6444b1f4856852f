/* The province over TLS with per-site credentials, end to end, as
 * docs/province.md says to set it up: the province broker provisioned by
 * qms-provision (a "province" center.json: TLS listener, its CA, a loopback
 * listener), each site's bridge written by `qms-provision bridge --province
 * DIR` (the site's certificate from that CA, its own user and password),
 * the province broker given the passwd/acl lines it wrote, and qms-hub
 * with a user of its own. Tickets are taken with mosquitto_rr (an outside
 * client) at two sites; the hub must hold each controller's events exactly
 * once. Then the attacker's view, with site s1's credentials and outside
 * clients (mosquitto_pub/mosquitto_sub): it cannot publish into s2's
 * stream (nor pass off events as s2's on its own topic), nor read it. */
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

#define CLOCK "2026-12-05T09:00:00"
#define HUB_PW "hub-secret-0123456789"

typedef struct site {
    char name[16];
    char dir[300], conf[340], db[340], bridge[340];
    char user[40], pass[80];
    qms_test_broker broker;
    pid_t ctl;
} site;

static char tmp[256], pdir[300], hub_db[320];
static int tls_port, local_port;

/* a whole file, NUL-terminated (qms_free it), or NULL */
static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 1 << 24) != QMS_OK)
        return NULL;
    return text;
}

static void append(const char *to, const char *text)
{
    FILE *f = fopen(to, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Run argv to its end (timeout_ms), its output in log; the exit status. */
static int run(char *const argv[], const char *log, int timeout_ms)
{
    pid_t p = qms_test_spawn(argv, log);
    assert_true(p > 0);
    int rc = qms_test_wait_pid(p, timeout_ms);
    if (rc == -1) {
        kill(p, SIGKILL);
        qms_test_wait_pid(p, 5000);
    }
    return rc;
}

static void write_center(const char *path, const char *name)
{
    char *text = slurp(qms_test_src("examples/center.json"));
    assert_non_null(text);
    cJSON *o = cJSON_Parse(text);
    qms_free(text);
    assert_non_null(o);
    cJSON_ReplaceItemInObject(o, "site", cJSON_CreateString(name));
    char *out = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    free(out);
}

/* The value of "key VALUE" in a config file. */
static void conf_value(const char *text, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\n%s ", key);
    const char *p = strstr(text, pat);
    assert_non_null(p);
    p += strlen(pat);
    size_t k = strcspn(p, "\n");
    assert_true(k < n);
    memcpy(out, p, k);
    out[k] = 0;
}

/* Provision site name's bridge over TLS and give the province its lines. */
static void provision_site(site *s, const char *name)
{
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->dir, sizeof s->dir, "%s/%s", tmp, name);
    assert_int_equal(mkdir(s->dir, 0755), 0);
    snprintf(s->conf, sizeof s->conf, "%s/center.json", s->dir);
    snprintf(s->db, sizeof s->db, "%s/qms.db", s->dir);
    snprintf(s->bridge, sizeof s->bridge, "%s/bridge.conf", s->dir);
    write_center(s->conf, name);
    char remote[32], persist[320], log[340], path[400];
    snprintf(remote, sizeof remote, "127.0.0.1:%d", tls_port);
    snprintf(persist, sizeof persist, "%s/", s->dir);
    snprintf(log, sizeof log, "%s/provision.log", s->dir);
    char *argv[] = {(char *)qms_test_bin("qms-provision"), "bridge", "--config", s->conf,
                    "--remote", remote, "--province", pdir, "--out", s->bridge,
                    "--persistence", persist, NULL};
    assert_int_equal(run(argv, log, 60000), 0);
    char *text = slurp(s->bridge);
    assert_non_null(text);
    conf_value(text, "remote_username", s->user, sizeof s->user);
    conf_value(text, "remote_password", s->pass, sizeof s->pass);
    assert_non_null(strstr(text, "bridge_certfile"));
    qms_free(text);
    /* the province broker's lines for this site */
    char pw[400], acl[400];
    snprintf(path, sizeof path, "%s/sites/%s.passwd", pdir, name);
    char *lines = slurp(path);
    assert_non_null(lines);
    snprintf(pw, sizeof pw, "%s/passwd", pdir);
    append(pw, lines);
    qms_free(lines);
    snprintf(path, sizeof path, "%s/sites/%s.acl", pdir, name);
    lines = slurp(path);
    assert_non_null(lines);
    snprintf(acl, sizeof acl, "%s/acl", pdir);
    append(acl, lines);
    qms_free(lines);
}

static void start_site(site *s)
{
    char *text = slurp(s->bridge);
    assert_non_null(text);
    assert_int_equal(qms_test_broker_start_conf(&s->broker, 0, text), 0);
    qms_free(text);
    char log[400];
    snprintf(log, sizeof log, "%s/controller.log", s->dir);
    const char *extra[] = {"--site", s->name, NULL};
    s->ctl = qms_test_controller_spawn(s->conf, s->db, s->broker.port, CLOCK, extra, log);
    assert_true(s->ctl > 0);
    qms_mqtt_opts o = {.port = s->broker.port, .client_id = "w", .site = s->name};
    assert_int_equal(qms_test_controller_wait_online(&o, s->name, s->ctl, 60000), 0);
}

/* A citizen takes a ticket at the site (mosquitto_rr, MQTT v5 request/response). */
static void take(site *s, int k)
{
    char port[16], topic[64], reply[64], body[96], log[400];
    snprintf(port, sizeof port, "%d", s->broker.port);
    snprintf(topic, sizeof topic, "qms/%s/ticket/take", s->name);
    char id[32];
    snprintf(id, sizeof id, "rr-%s-%d", s->name, k);
    snprintf(reply, sizeof reply, "qms/%s/reply/%s", s->name, id);
    snprintf(body, sizeof body, "{\"req\":\"rr%d\",\"service\":\"TP\"}", k);
    snprintf(log, sizeof log, "%s/rr.log", s->dir);
    char *argv[] = {"/usr/bin/mosquitto_rr", "-h", "127.0.0.1", "-p", port, "-i", id, "-t", topic,
                    "-e", reply, "-m", body, "-W", "30", NULL};
    assert_int_equal(run(argv, log, 40000), 0);
    char *out = slurp(log);
    assert_non_null(out);
    if (!strstr(out, "\"ticket\":\"A"))
        fprintf(stderr, "mosquitto_rr: %s\n", out);
    assert_non_null(strstr(out, "\"ticket\":\"A"));
    qms_free(out);
}

static int64_t ctl_head(const site *s)
{
    sqlite3 *db = NULL;
    sqlite3_open_v2(s->db, &db, SQLITE_OPEN_READONLY, NULL);
    int64_t v = qms_test_sql_int(db, "SELECT max(seq) FROM events", NULL);
    sqlite3_close(db);
    return v;
}

/* Wait until the hub applied every event of the site; then the hub must
 * hold each of the controller's rows once, the same. */
static void hub_has_all(const site *s)
{
    int64_t end = qms_mono_ms() + 90000, head = 0, got = -1;
    while (qms_mono_ms() < end) {
        head = ctl_head(s);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(db, 2000);
            got = qms_test_sql_int(db, "SELECT applied FROM sites WHERE site = ?1", s->name);
        }
        sqlite3_close(db);
        if (head > 0 && got == head)
            break;
        usleep(200 * 1000);
    }
    fprintf(stderr, "site %s: hub applied %lld of %lld\n", s->name, (long long)got,
            (long long)head);
    assert_true(head > 0);
    assert_int_equal(got, head);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
                     SQLITE_OK);
    char attach[400];
    snprintf(attach, sizeof attach, "ATTACH DATABASE 'file:%s?mode=ro' AS c", s->db);
    assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
    int64_t n_ctl = qms_test_sql_int(db, "SELECT count(*) FROM c.events", NULL);
    int64_t n_hub = qms_test_sql_int(db, "SELECT count(*) FROM main.events WHERE site = ?1", s->name);
    int64_t n_same = qms_test_sql_int(db,
                        "SELECT count(*) FROM c.events e JOIN main.events h ON h.site = ?1"
                        " AND h.seq = e.seq AND h.kind = e.kind AND h.at_ms = e.at_ms"
                        " AND h.ticket_id IS e.ticket_id AND h.label IS e.label",
                        s->name);
    int64_t t_ctl = qms_test_sql_int(db, "SELECT count(*) FROM c.tickets", NULL);
    int64_t t_hub = qms_test_sql_int(db, "SELECT count(*) FROM main.tickets WHERE site = ?1", s->name);
    sqlite3_close(db);
    fprintf(stderr, "site %s: controller %lld events / %lld tickets, hub %lld (%ld the same) / %lld\n",
            s->name, (long long)n_ctl, (long long)t_ctl, (long long)n_hub, (long)n_same,
            (long long)t_hub);
    assert_true(n_ctl >= 3);
    assert_int_equal(n_hub, n_ctl);
    assert_int_equal(n_same, n_ctl);
    assert_int_equal(t_hub, t_ctl);
}

/* An outside client with site s's credentials on the province's TLS
 * listener: argv for mosquitto_pub/sub up to the first free slot. */
static int as_site(char **argv, const char *prog, const site *s, char *port, char *ca,
                   char *crt, char *key)
{
    snprintf(port, 16, "%d", tls_port);
    snprintf(ca, 400, "%s/ca.crt", pdir);
    snprintf(crt, 400, "%s/sites/site-%s.crt", pdir, s->name);
    snprintf(key, 400, "%s/sites/site-%s.key", pdir, s->name);
    int k = 0;
    argv[k++] = (char *)prog;
    const char *fixed[] = {"-h", "127.0.0.1", "-p", port, "--cafile", ca, "--cert", crt,
                           "--key", key, "-u", s->user, "-P", s->pass, "-V", "mqttv5"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        argv[k++] = (char *)fixed[i];
    return k;
}

static void test_province_over_tls(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "province-tls"), 0);
    snprintf(pdir, sizeof pdir, "%s/province", tmp);
    snprintf(hub_db, sizeof hub_db, "%s/hub.db", tmp);
    tls_port = qms_test_free_port();
    local_port = qms_test_free_port();
    while (local_port == tls_port)
        local_port = qms_test_free_port();

    /* 1. the province broker: qms-provision with a "province" center.json
     * (its TLS listener, CA, and a loopback listener for the hub) */
    char pconf[340], log[400], ports[2][16], path[400];
    snprintf(pconf, sizeof pconf, "%s/province.json", tmp);
    write_center(pconf, "province");
    snprintf(ports[0], sizeof ports[0], "%d", tls_port);
    snprintf(ports[1], sizeof ports[1], "%d", local_port);
    snprintf(log, sizeof log, "%s/provision.log", tmp);
    char *pargv[] = {(char *)qms_test_bin("qms-provision"), "--config", pconf, "--out", pdir,
                     "--port", ports[0], "--bind", "127.0.0.1", "--local-port", ports[1],
                     NULL};
    assert_int_equal(run(pargv, log, 60000), 0);

    /* 2. two sites: bridges over TLS, each with its own certificate and user */
    site a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    provision_site(&a, "s1");
    provision_site(&b, "s2");
    assert_string_equal(a.user, "site-s1");
    assert_true(strcmp(a.pass, b.pass) != 0);

    /* 3. the hub's own user (docs/province.md) */
    snprintf(path, sizeof path, "%s/passwd", pdir);
    snprintf(log, sizeof log, "%s/passwd.log", tmp);
    char *pw[] = {"/usr/bin/mosquitto_passwd", "-b", path, "hub", HUB_PW, NULL};
    assert_int_equal(run(pw, log, 30000), 0);
    snprintf(path, sizeof path, "%s/acl", pdir);
    append(path, "\n# qms-hub: reads every site's stream, asks for replays, publishes the\n"
                 "# province view\nuser hub\ntopic read qms/+/stream\n"
                 "topic write qms/+/stream/replay\ntopic readwrite qms/province/#\n");
    char pwfile[340];
    snprintf(pwfile, sizeof pwfile, "%s/hub.password", tmp);
    append(pwfile, HUB_PW "\n");

    /* the configuration as written, plus "user root": a test's broker must
     * not change user (it would lose the parent-death signal and the files) */
    snprintf(path, sizeof path, "%s/mosquitto.conf", pdir);
    char *pc = slurp(path);
    assert_non_null(pc);
    snprintf(path, sizeof path, "%s/province-test.conf", tmp);
    append(path, pc);
    append(path, "\nuser root\n");
    qms_free(pc);
    qms_test_broker prov;
    assert_int_equal(qms_test_broker_start_file(&prov, path, tls_port), 0);
    assert_int_equal(qms_test_wait_port(local_port, 30000), 0);

    char broker[32], hlog[340];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", local_port);
    snprintf(hlog, sizeof hlog, "%s/hub.log", tmp);
    char *hargv[] = {(char *)qms_test_bin("qms-hub"), "--broker", broker, "--db", hub_db,
                     "--username", "hub", "--password-file", pwfile, "-v", NULL};
    pid_t hub = qms_test_spawn(hargv, hlog);
    assert_true(hub > 0);
    start_site(&a);
    start_site(&b);

    /* 4. tickets at both sites; the hub gets each event once */
    for (int i = 0; i < 3; i++) {
        take(&a, i);
        take(&b, i);
    }
    hub_has_all(&a);
    hub_has_all(&b);

    /* 5. the attacker holds site s1's certificate and password. The
     * oracle: an outside subscriber with the hub's credentials. */
    char sub_log[340];
    snprintf(sub_log, sizeof sub_log, "%s/sub-hub.log", tmp);
    char lp[16];
    snprintf(lp, sizeof lp, "%d", local_port);
    char *sargv[] = {"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", lp, "-u", "hub",
                     "-P", HUB_PW, "-t", "qms/+/stream", "-v", "-W", "12", NULL};
    pid_t sub = qms_test_spawn(sargv, sub_log);
    assert_true(sub > 0);
    usleep(1500 * 1000);
    char port[16], ca[400], crt[400], key[400];
    char *argv[32];
    int k = as_site(argv, "/usr/bin/mosquitto_pub", &a, port, ca, crt, key);
    char *forge[] = {"-q", "1", "-t", "qms/s2/stream", "-m",
                     "{\"site\":\"s2\",\"from\":9000,\"to\":9000,\"head\":9000,\"events\":[{"
                     "\"seq\":9000,\"day\":\"2026-12-05\",\"at_ms\":1,\"kind\":\"take\","
                     "\"ticket\":9000,\"label\":\"FORGED\",\"service\":\"TP\"}]}",
                     NULL};
    for (int i = 0; forge[i]; i++)
        argv[k + i] = forge[i];
    argv[k + 6] = NULL; /* after the 6 options (k + 7 left argv[k + 6] unset) */
    snprintf(log, sizeof log, "%s/pub-forge.log", tmp);
    run(argv, log, 30000); /* its exit status is not the oracle */
    /* the control: the same client on its own subtree gets through */
    argv[k + 3] = "qms/s1/stream";
    argv[k + 5] = "own-s1-not-json";
    snprintf(log, sizeof log, "%s/pub-own.log", tmp);
    assert_int_equal(run(argv, log, 30000), 0);
    qms_test_wait_pid(sub, 30000);
    char *seen = slurp(sub_log);
    assert_non_null(seen);
    fprintf(stderr, "the hub's view while s1 forged:\n%s", seen);
    assert_non_null(strstr(seen, "qms/s1/stream own-s1-not-json"));
    assert_null(strstr(seen, "FORGED"));
    qms_free(seen);
    /* ... nor through its own topic with another site's name inside */
    argv[k + 3] = "qms/s1/stream";
    argv[k + 5] = "{\"site\":\"s2\",\"from\":9001,\"to\":9001,\"head\":9001,\"events\":[{"
                  "\"seq\":9001,\"day\":\"2026-12-05\",\"at_ms\":1,\"kind\":\"take\","
                  "\"ticket\":9001,\"label\":\"FORGED2\",\"service\":\"TP\"}]}";
    snprintf(log, sizeof log, "%s/pub-inside.log", tmp);
    assert_int_equal(run(argv, log, 30000), 0);

    /* reading: s1's credentials subscribe to s2's stream (and, the control,
     * to s1's replay requests, which it may read) while s2 takes a ticket
     * and the hub's user asks s1 for a replay */
    k = as_site(argv, "/usr/bin/mosquitto_sub", &a, port, ca, crt, key);
    char *rd[] = {"-t", "qms/s2/stream", "-t", "qms/s2/#", "-t", "qms/s1/stream/replay",
                  "-v", "-W", "12", NULL};
    for (int i = 0; rd[i]; i++)
        argv[k + i] = rd[i];
    argv[k + 9] = NULL;
    snprintf(sub_log, sizeof sub_log, "%s/sub-s1.log", tmp);
    sub = qms_test_spawn(argv, sub_log);
    assert_true(sub > 0);
    usleep(1500 * 1000);
    take(&b, 3);
    char *rq[] = {"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", lp, "-u", "hub", "-P",
                  HUB_PW, "-q", "1", "-t", "qms/s1/stream/replay", "-m",
                  "{\"req\":\"control\",\"from\":1,\"max\":1}", NULL};
    snprintf(log, sizeof log, "%s/pub-replay.log", tmp);
    assert_int_equal(run(rq, log, 30000), 0);
    qms_test_wait_pid(sub, 30000);
    seen = slurp(sub_log);
    assert_non_null(seen);
    fprintf(stderr, "what s1's credentials read:\n%s", seen);
    assert_non_null(strstr(seen, "\"req\":\"control\""));
    assert_null(strstr(seen, "qms/s2/"));
    qms_free(seen);
    /* s2's new ticket did pass the province broker: the hub has it */
    hub_has_all(&b);
    hub_has_all(&a);
    /* and nothing forged was stored */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(hub_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(qms_test_sql_int(db, "SELECT count(*) FROM events WHERE label LIKE 'FORGED%' OR seq >= 9000",
                        NULL),
                     0);
    sqlite3_close(db);

    kill(hub, SIGTERM);
    assert_int_equal(qms_test_wait_pid(hub, 20000), 0);
    kill(a.ctl, SIGTERM);
    kill(b.ctl, SIGTERM);
    qms_test_wait_pid(a.ctl, 20000);
    qms_test_wait_pid(b.ctl, 20000);
    qms_test_broker_stop(&a.broker);
    qms_test_broker_stop(&b.broker);
    qms_test_broker_stop(&prov);
    qms_test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_province_over_tls)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
