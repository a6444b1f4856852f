/* qms-provision's broker files, checked per role against the real mosquitto
 * started with them (docs/protocol.md, "Roles"): anonymous clients refused;
 * a kiosk takes and cancels but commands no counter; counter 3 cannot act as
 * counter 5; a display publishes nothing but its own status; only the
 * controller publishes calls, the config, recent calls, counter states,
 * statistics and its own status; nobody reads another's requests or replies.
 * What a client may publish is judged by a reader allowed to see it (and the
 * PUBACK's reason), what it may read by a message sent while it listens. */
#include "prov_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static prov_env E;
static const char *const EXTRA[] = {"--kiosk",   "k1", "--kiosk",   "k2", "--display",
                                    "hall",      "--gateway", "g1", NULL};
static int seq;

static int setup(void **state)
{
    (void)state;
    mosquitto_lib_init();
    assert_int_equal(prov_start(&E, EXTRA), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    prov_stop(&E);
    mosquitto_lib_cleanup();
    return 0;
}

static pcli *as(const char *name)
{
    int reason = -9;
    pcli *c = pcli_open(&E, name, 1, NULL, NULL, &reason);
    if (reason != 0)
        fprintf(stderr, "%s could not connect: %d\n", name, reason);
    assert_int_equal(reason, 0);
    return c;
}

static char *topic(const char *suffix)
{
    static char t[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(t[k], sizeof t[k], "qms/demo/%s", suffix);
    return t[k];
}

/* May who publish to suffix? observer (a role that reads it; NULL: none)
 * confirms: what the broker accepted arrives, what it refused does not. */
static int writes(const char *who, const char *suffix, const char *observer)
{
    const char *t = topic(suffix);
    pcli *obs = observer ? as(observer) : NULL;
    if (obs)
        assert_int_equal(pcli_sub(obs, t), 0);
    pcli *w = as(who);
    char payload[64];
    snprintf(payload, sizeof payload, "{\"acl-test\":%d}", ++seq);
    int rc = pcli_pub(w, t, payload);
    assert_true(rc == 0 || rc == 16 || rc == 135);
    int accepted = rc != 135;
    int arrived = obs ? pcli_got(obs, payload, accepted ? 10000 : 300) : accepted;
    if (accepted != arrived)
        fprintf(stderr, "%s -> %s: broker said %d but the observer %s it\n", who, t, rc,
                arrived ? "got" : "did not get");
    assert_int_equal(accepted, arrived);
    pcli_close(w);
    pcli_close(obs);
    return accepted;
}

/* Does who receive what writer publishes to suffix, when it subscribes to
 * filter? legit (a role that must receive it) proves the message was sent. */
static int reads(const char *who, const char *filter, const char *writer, const char *suffix,
                 const char *legit)
{
    pcli *r = as(who), *l = as(legit), *w = as(writer);
    assert_int_equal(pcli_sub(r, filter), 0);
    assert_int_equal(pcli_sub(l, topic(suffix)), 0);
    char payload[64];
    snprintf(payload, sizeof payload, "{\"acl-test\":%d}", ++seq);
    int rc = pcli_pub(w, topic(suffix), payload);
    assert_true(rc == 0 || rc == 16);
    assert_true(pcli_got(l, payload, 10000));
    int got = pcli_got(r, payload, 500);
    pcli_close(w);
    pcli_close(l);
    pcli_close(r);
    return got;
}

static void test_anonymous_and_strangers_refused(void **state)
{
    (void)state;
    int reason;
    pcli *c = pcli_open(&E, NULL, 0, NULL, NULL, &reason); /* loopback, nobody */
    assert_int_not_equal(reason, 0);
    pcli_close(c);
    c = pcli_open(&E, NULL, 1, NULL, NULL, &reason); /* TLS, no certificate */
    assert_int_not_equal(reason, 0);
    pcli_close(c);
    c = pcli_open(&E, "kiosk-k1", 1, "", NULL, &reason); /* a certificate, no user */
    assert_int_not_equal(reason, 0);
    pcli_close(c);
    c = pcli_open(&E, "kiosk-k1", 1, NULL, "not-the-password", &reason);
    assert_int_not_equal(reason, 0);
    pcli_close(c);
    /* counter 3's password does not open counter 5's name */
    c = pcli_open(&E, "counter-3", 0, "counter-5", NULL, &reason);
    assert_int_not_equal(reason, 0);
    pcli_close(c);
    /* and each device's own file works, on both listeners */
    static const char *const all[] = {"controller", "kiosk-k1",   "counter-3", "counter-16",
                                      "display-hall", "gateway-g1", "dashboard"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (int tls = 0; tls < 2; tls++) {
            c = pcli_open(&E, all[i], tls, NULL, NULL, &reason);
            if (reason)
                fprintf(stderr, "%s (%s): %d\n", all[i], tls ? "TLS" : "loopback", reason);
            assert_int_equal(reason, 0);
            pcli_close(c);
        }
}

static void test_kiosk(void **state)
{
    (void)state;
    assert_true(writes("kiosk-k1", "ticket/take", "controller"));
    assert_true(writes("kiosk-k1", "ticket/cancel", "controller"));
    assert_false(writes("kiosk-k1", "counter/3/cmd", "controller"));
    /* bookings are the citizen's (the web page), not a hall device's */
    assert_false(writes("kiosk-k1", "booking/make", "controller"));
    assert_false(writes("kiosk-k1", "booking/cancel", "controller"));
    /* the controller reads replay requests (from the province's bridge);
     * no device on the LAN may make it replay */
    assert_false(writes("kiosk-k1", "stream/replay", "controller"));
    assert_false(writes("counter-3", "stream/replay", "controller"));
    assert_true(writes("kiosk-k1", "device/kiosk/k1/status", "dashboard"));
    assert_false(writes("kiosk-k1", "device/kiosk/k2/status", "dashboard"));
}

static void test_counter_is_itself_only(void **state)
{
    (void)state;
    assert_true(writes("counter-3", "counter/3/cmd", "controller"));
    assert_false(writes("counter-3", "counter/5/cmd", "controller"));
    assert_false(writes("counter-3", "ticket/take", "controller"));
    assert_true(writes("counter-3", "device/counter/3/status", "dashboard"));
    assert_true(writes("counter-3", "device/counter/3-cli/status", "dashboard"));
    assert_false(writes("counter-3", "device/counter/5/status", "dashboard"));
    assert_true(reads("counter-3", topic("counter/3/state"), "controller", "counter/3/state",
                      "display-hall"));
    /* the alerts (qms-counter -i shows its own); a kiosk or a display does not read them */
    assert_true(reads("counter-3", topic("alerts"), "controller", "alerts", "dashboard"));
    assert_false(reads("kiosk-k1", topic("alerts"), "controller", "alerts", "dashboard"));
    assert_false(reads("display-hall", topic("alerts"), "controller", "alerts", "dashboard"));
    assert_false(reads("counter-3", topic("counter/5/state"), "controller", "counter/5/state",
                       "counter-5"));
    assert_false(reads("counter-3", topic("counter/+/queue"), "controller", "counter/5/queue",
                       "counter-5"));
}

static void test_display_publishes_its_status_only(void **state)
{
    (void)state;
    assert_true(writes("display-hall", "device/display/hall/status", "dashboard"));
    static const struct {
        const char *suffix, *observer;
    } no[] = {
        {"ticket/take", "controller"},
        {"ticket/cancel", "controller"},
        {"counter/1/cmd", "controller"},
        {"config", "dashboard"},
        {"call", "dashboard"},
        {"calls/recent", "dashboard"},
        {"counter/1/state", "gateway-g1"},
        {"counters", "dashboard"},
        {"counter/1/queue", "dashboard"},
        {"stats", "dashboard"},
        {"device/controller/main/status", "dashboard"},
        {"device/display/other/status", "dashboard"},
        {"device/kiosk/k1/status", "dashboard"},
        {"reply/kiosk-k1/x", "kiosk-k1"},
        {"display/x/sync", NULL},
        {"anything", NULL},
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        int w = writes("display-hall", no[i].suffix, no[i].observer);
        if (w)
            fprintf(stderr, "display-hall may publish %s\n", no[i].suffix);
        assert_false(w);
    }
}

static void test_only_the_controller_publishes_state(void **state)
{
    (void)state;
    static const char *const state_topics[] = {
        "call",  "config", "calls/recent", "counter/1/state", "counter/1/queue",
        "counters", "stats", "alerts", "device/controller/main/status"};
    static const char *const others[] = {"kiosk-k1", "counter-3", "display-hall", "gateway-g1",
                                         "dashboard"};
    for (size_t t = 0; t < sizeof state_topics / sizeof state_topics[0]; t++) {
        /* the dashboard reads counters, not counter/+/state (the board does) */
        const char *obs = strcmp(state_topics[t], "counter/1/state") ? "dashboard" : "display-hall";
        assert_true(writes("controller", state_topics[t], obs));
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            int w = writes(others[i], state_topics[t], obs);
            if (w)
                fprintf(stderr, "%s may publish %s\n", others[i], state_topics[t]);
            assert_false(w);
        }
    }
}

/* The dashboard reads every counter's state in one message (counters), not
 * one message per counter change: the broker does not send it those. */
static void test_dashboard_reads_counters_not_each_state(void **state)
{
    (void)state;
    assert_false(reads("dashboard", topic("counter/+/state"), "controller", "counter/1/state",
                       "display-hall"));
}

static void test_requests_and_replies_are_private(void **state)
{
    (void)state;
    static const char *const others[] = {"kiosk-k2", "counter-5", "display-hall", "gateway-g1",
                                         "dashboard"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        const char *r = others[i];
        int got = reads(r, "qms/demo/ticket/take", "kiosk-k1", "ticket/take", "controller") ||
                  reads(r, "qms/demo/counter/+/cmd", "counter-3", "counter/3/cmd", "controller") ||
                  reads(r, "qms/demo/reply/#", "controller", "reply/kiosk-k1/kiosk-demo-k1",
                        "kiosk-k1") ||
                  reads(r, "qms/#", "controller", "reply/counter-3/c3", "counter-3");
        if (got)
            fprintf(stderr, "%s reads someone else's requests or replies\n", r);
        assert_false(got);
    }
    /* nor can anyone but the controller write a reply (forged answers) */
    assert_false(writes("kiosk-k2", "reply/kiosk-k1/kiosk-demo-k1", "kiosk-k1"));
    assert_false(writes("counter-3", "reply/counter-5/x", "counter-5"));
    assert_false(writes("kiosk-k1", "reply/kiosk-k1/x", "kiosk-k1"));
}

static void test_gateway(void **state)
{
    (void)state;
    assert_true(writes("gateway-g1", "counter/4/cmd", "controller"));
    assert_true(writes("gateway-g1", "device/gateway/g1/status", "dashboard"));
    assert_false(writes("gateway-g1", "ticket/take", "controller"));
    assert_false(writes("gateway-g1", "call", "dashboard"));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    b[n] = 0;
    fclose(f);
    return b;
}

/* Re-running adds a device and changes nobody else's secrets. */
static void test_rerun_adds_without_changing(void **state)
{
    (void)state;
    char ca[400], crt[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", E.out);
    snprintf(crt, sizeof crt, "%s/clients/kiosk-k1.crt", E.out);
    char *k1 = slurp(prov_client(&E, "kiosk-k1")), *ca1 = slurp(ca), *crt1 = slurp(crt);
    assert_non_null(k1);
    assert_null(slurp(prov_client(&E, "kiosk-k3")));
    static const char *const more[] = {"--kiosk", "k3", NULL}; /* and no k1, k2...: kept */
    assert_int_equal(prov_rerun(&E, more), 0);
    char *k1b = slurp(prov_client(&E, "kiosk-k1")), *ca2 = slurp(ca), *crt2 = slurp(crt);
    assert_string_equal(k1, k1b);
    assert_string_equal(ca1, ca2);
    assert_string_equal(crt1, crt2);
    char *k3 = slurp(prov_client(&E, "kiosk-k3"));
    assert_non_null(k3);
    char *hall = slurp(prov_client(&E, "display-hall"));
    assert_non_null(hall);
    free(hall);
    /* the broker re-reads its files on SIGHUP: the new kiosk can connect, the
     * old ones still can */
    kill(E.broker.pid, SIGHUP);
    int reason = -9;
    for (int i = 0; i < 50 && reason != 0; i++) {
        pcli *c = pcli_open(&E, "kiosk-k3", 1, NULL, NULL, &reason);
        pcli_close(c);
        if (reason)
            pcli_pump(NULL, NULL, 100);
    }
    assert_int_equal(reason, 0);
    assert_true(writes("kiosk-k3", "ticket/take", "controller"));
    assert_true(writes("kiosk-k1", "ticket/take", "controller"));
    free(k1), free(k1b), free(k3), free(ca1), free(ca2), free(crt1), free(crt2);
}

/* The ACL shipped in examples/ (for examples/mosquitto-tls.conf) is the one
 * checked above: qms-provision's for the sample center and these devices. */
static void test_example_acl_is_the_provisioned_one(void **state)
{
    (void)state;
    char acl[400];
    snprintf(acl, sizeof acl, "%s/acl", E.out);
    char *mine = slurp(acl), *shipped = slurp(qms_test_src("examples/mosquitto.acl"));
    assert_non_null(mine);
    assert_non_null(shipped);
    if (strcmp(mine, shipped) != 0)
        fprintf(stderr, "examples/mosquitto.acl differs from what qms-provision writes: "
                        "regenerate it (docs/provision.md)\n");
    assert_string_equal(mine, shipped);
    free(mine);
    free(shipped);
}

/* A staff code's hash, checked by an outside implementation (Python's
 * hashlib), and salted: the same code twice gives two hashes. */
static void test_staff_hash(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "a=$(echo 4711 | %s --staff-hash) && b=$(echo 4711 | %s --staff-hash) && "
             "[ \"$a\" != \"$b\" ] && python3 -c '"
             "import sys,hashlib,base64\n"
             "for h in sys.argv[1:]:\n"
             "  k,i,s,d=h.split(\"$\")\n"
             "  assert k==\"pbkdf2-sha256\"\n"
             "  ok=hashlib.pbkdf2_hmac(\"sha256\",b\"4711\",base64.b64decode(s),int(i))\n"
             "  assert ok==base64.b64decode(d), h\n"
             "  no=hashlib.pbkdf2_hmac(\"sha256\",b\"4712\",base64.b64decode(s),int(i))\n"
             "  assert no!=base64.b64decode(d)\n' \"$a\" \"$b\"",
             qms_test_bin("qms-provision"), qms_test_bin("qms-provision"));
    assert_int_equal(system(cmd), 0);
    /* too short a code is refused */
    snprintf(cmd, sizeof cmd, "echo 12 | %s --staff-hash >/dev/null 2>&1",
             qms_test_bin("qms-provision"));
    assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_and_strangers_refused),
        cmocka_unit_test(test_kiosk),
        cmocka_unit_test(test_counter_is_itself_only),
        cmocka_unit_test(test_display_publishes_its_status_only),
        cmocka_unit_test(test_only_the_controller_publishes_state),
        cmocka_unit_test(test_dashboard_reads_counters_not_each_state),
        cmocka_unit_test(test_requests_and_replies_are_private),
        cmocka_unit_test(test_gateway),
        cmocka_unit_test(test_example_acl_is_the_provisioned_one),
        cmocka_unit_test(test_staff_hash),
        cmocka_unit_test(test_rerun_adds_without_changing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
