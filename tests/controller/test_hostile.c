/* qms-controller against clients that do not play by the rules, through a
 * real mosquitto: requests naming a response topic outside the reply prefix
 * (a reply there would be a forged call, a ghost take...), or a wildcard one.
 * Such a request is refused (not executed) and logged once per topic. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <mosquitto.h>
#include <signal.h>
#include <mqtt_protocol.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Publish a request with any response topic (what qms_mqtt_request never does). */
static void raw_request(qms_mqtt *m, const char *topic, const char *body, const char *rt)
{
    struct mosquitto *mosq = qms_mqtt_handle(m);
    mosquitto_property *props = NULL;
    assert_int_equal(mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, rt), 0);
    assert_int_equal(mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, "c", 1), 0);
    assert_int_equal(
        mosquitto_publish_v5(mosq, NULL, topic, (int)strlen(body), body, 1, false, props), 0);
    mosquitto_property_free_all(&props);
    qms_mqtt_flush(m);
}

/* Pump the client until the controller's log has needle (or the wait is over). */
static int wait_log(const ctl_env *e, qms_mqtt *m, const char *needle, int want)
{
    int64_t end = qms_mono_ms() + QMS_TEST_WAIT_MS;
    while (env_log_count(e, needle) < want && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    return env_log_count(e, needle);
}

static void test_reply_prefix(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    collector all;
    const char *const pats[] = {"qms/t1/#", NULL};
    assert_int_equal(coll_start(&all, &e, "watch-all", pats), 0);
    qms_mqtt *evil = env_client(&e, "evil");
    assert_non_null(evil);

    /* a status reply on the hall board's call topic; a take and a pause whose
     * replies would land on ticket/take (as a ghost request); twice the same
     * topic (logged once) */
    raw_request(evil, "qms/t1/counter/1/cmd", "{\"req\":\"ev-1\",\"op\":\"status\"}",
                "qms/t1/call");
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-2\",\"service\":\"TP\"}", "qms/t1/call");
    raw_request(evil, "qms/t1/counter/1/cmd", "{\"req\":\"ev-3\",\"op\":\"pause\"}",
                "qms/t1/ticket/take");
    /* the prefix alone (no client segment), another site's prefix, a look-alike */
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-4\",\"service\":\"TP\"}",
                "qms/t1/reply");
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-5\",\"service\":\"TP\"}",
                "qms/t2/reply/evil");
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-6\",\"service\":\"TP\"}",
                "qms/t1/replyX/evil");
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-7\",\"service\":\"TP\"}",
                "qms/t1/reply//x");
    /* wildcards (issue 9 #8: the reply was dropped without a word) */
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-8\",\"service\":\"TP\"}",
                "qms/t1/reply/+");
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-9\",\"service\":\"TP\"}",
                "qms/t1/reply/evil/#");

    assert_int_equal(wait_log(&e, evil, "response topic", 8), 8);
    assert_int_equal(env_log_count(&e, "\"qms/t1/call\""), 1); /* once per topic */
    assert_int_equal(env_log_count(&e, "\"qms/t1/ticket/take\""), 1);
    assert_int_equal(env_log_count(&e, "\"qms/t1/reply/+\""), 1);
    assert_int_equal(env_log_count(&e, "\"qms/t1/reply/evil/#\""), 1);
    assert_int_equal(env_log_count(&e, "wildcard"), 2);

    /* nothing was executed: the first real take is A0001, counter 1 is open */
    qms_mqtt *k = env_client(&e, "kiosk-h");
    cJSON *o = env_req(&e, k, "ticket/take", "{\"req\":\"h-1\",\"service\":\"TP\"}");
    assert_non_null(o);
    assert_string_equal(js_str(o, "ticket"), "A0001");
    cJSON_Delete(o);
    o = env_req(&e, k, "counter/1/cmd", "{\"req\":\"h-2\",\"op\":\"status\"}");
    assert_non_null(o);
    assert_string_equal(js_str(o, "state"), "open");
    cJSON_Delete(o);

    /* a deeper topic under one's own segment is fine (qms/<site>/reply/<id>/...) */
    raw_request(evil, "qms/t1/ticket/take", "{\"req\":\"ev-10\",\"service\":\"DD\"}",
                "qms/t1/reply/evil/sub");
    int at = coll_wait(&all, 0, "qms/t1/reply/evil/sub", "B0001", QMS_TEST_WAIT_MS);
    assert_true(at >= 0);

    /* no forged call, no reply on a request topic */
    coll_pump(&all, 300);
    for (int i = 0; i < all.n; i++) {
        if (strcmp(all.v[i].topic, "qms/t1/call") == 0 && strstr(all.v[i].payload, "ev-"))
            fail_msg("a reply landed on qms/t1/call: %s", all.v[i].payload);
        if (strcmp(all.v[i].topic, "qms/t1/ticket/take") == 0 &&
            !strstr(all.v[i].payload, "\"service\""))
            fail_msg("a reply landed on ticket/take: %s", all.v[i].payload);
        if (strncmp(all.v[i].topic, "qms/t2/", 7) == 0 || strstr(all.v[i].topic, "replyX"))
            fail_msg("a reply left the prefix: %s", all.v[i].topic);
    }
    qms_mqtt_free(k);
    qms_mqtt_free(evil);
    coll_stop(&all);
    env_stop(&e);
}

/* The dashboard's requests (alert/ack, report) came in beside the dispatch
 * and skipped its response-topic rule: a report page published on
 * qms/<site>/call, an ack's reply on a request topic. Now they go through
 * the same check: refused, logged, not executed. */
static void test_reply_prefix_dashboard_ops(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    collector all;
    const char *const pats[] = {"qms/t1/#", NULL};
    assert_int_equal(coll_start(&all, &e, "watch-all", pats), 0);
    qms_mqtt *evil = env_client(&e, "evil");
    assert_non_null(evil);
    raw_request(evil, "qms/t1/report",
                "{\"req\":\"ev-r1\",\"from\":\"2026-11-26\",\"to\":\"2026-11-26\","
                "\"by\":\"service\"}",
                "qms/t1/call");
    raw_request(evil, "qms/t1/alert/ack", "{\"req\":\"ev-a1\",\"id\":\"x\",\"who\":\"evil\"}",
                "qms/t1/ticket/take");
    raw_request(evil, "qms/t1/report", "{\"req\":\"ev-r2\",\"by\":\"service\"}", "qms/t1/reply/+");
    assert_int_equal(wait_log(&e, evil, "response topic", 3), 3);
    /* a proper one is still answered */
    raw_request(evil, "qms/t1/alert/ack", "{\"req\":\"ok-a1\",\"id\":\"x\",\"who\":\"m\"}",
                "qms/t1/reply/evil/ack");
    assert_true(coll_wait(&all, 0, "qms/t1/reply/evil/ack", "ok-a1", QMS_TEST_WAIT_MS) >= 0);
    coll_pump(&all, 300);
    for (int i = 0; i < all.n; i++) {
        if (strstr(all.v[i].payload, "ev-") && (strcmp(all.v[i].topic, "qms/t1/call") == 0 ||
                                                strcmp(all.v[i].topic, "qms/t1/ticket/take") == 0 ||
                                                strncmp(all.v[i].topic, "qms/t1/reply/", 13) == 0))
            fail_msg("a dashboard op's reply went to %s: %s", all.v[i].topic, all.v[i].payload);
    }
    qms_mqtt_free(evil);
    coll_stop(&all);
    env_stop(&e);
}

/* Issue 9 #1: the controller read the whole socket before it committed or
 * answered anything, so a burst got no answer until all of it was read. Now
 * a turn of its loop reads at most 128 requests, then commits and answers.
 * The burst is made certain (not a race): the controller is stopped
 * (SIGSTOP) while 1,500 takes queue up at the broker and in its socket, then
 * continued. Every take is answered, and its log says no batch (requests
 * between two commits) was larger than the slice. */
static void test_burst_answered_in_slices(void **state)
{
    (void)state;
    ctl_env e; /* the harness's broker queues up to 100,000 messages a client */
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *k = env_client(&e, "burst-k");
    assert_non_null(k);
    collector rep;
    const char *const pats[] = {"qms/t1/reply/burst-k", NULL};
    assert_int_equal(coll_start(&rep, &e, "burst-watch", pats), 0);
    coll_pump(&rep, 200);
    assert_int_equal(kill(e.pid, SIGSTOP), 0);
    enum { N = 1500 };
    for (int i = 0; i < N; i++) {
        char body[96], corr[40];
        snprintf(body, sizeof body, "{\"req\":\"burst-%d\",\"service\":\"%s\"}", i,
                 i % 3 ? "TP" : "DD");
        assert_int_equal(qms_mqtt_request(k, "qms/t1/ticket/take", body, strlen(body), corr),
                         QMS_OK);
        if (i % 50 == 49)
            qms_mqtt_loop(k, 0);
    }
    assert_int_equal(qms_mqtt_drain(k, QMS_TEST_WAIT_MS), QMS_OK); /* all at the broker */
    assert_int_equal(kill(e.pid, SIGCONT), 0);
    int64_t end = qms_mono_ms() + 3 * QMS_TEST_WAIT_MS;
    while (rep.n < N && qms_mono_ms() < end)
        coll_pump(&rep, 50);
    assert_int_equal(rep.n, N);
    int errors = 0;
    for (int i = 0; i < rep.n; i++)
        errors += strstr(rep.v[i].payload, "\"error\"") != NULL;
    assert_int_equal(errors, 0);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    /* "..., 12 commits, largest batch 128 requests, ..." */
    FILE *f = fopen(e.log, "r");
    assert_non_null(f);
    char line[4096];
    int largest = -1;
    long commits = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "largest batch ");
        const char *q = strstr(line, " commits, ");
        if (p && q) {
            largest = atoi(p + 14);
            while (q > line && q[-1] >= '0' && q[-1] <= '9')
                q--;
            commits = atol(q);
        }
    }
    fclose(f);
    printf("burst of %d: largest batch %d requests, %ld commits\n", N, largest, commits);
    assert_true(largest >= 1 && largest <= 128);
    assert_true(commits >= N / 128);
    qms_mqtt_free(k);
    coll_stop(&rep);
    env_stop(&e);
}

/* Issue 9: a clerk's command does not wait behind a burst of takes. The
 * counters' commands come in on the controller's second broker session (the
 * broker queues per session): 1,500 takes queued while the controller was
 * stopped, then one counter status; the status is answered with the first
 * slice, not after the 1,500 (as it was with one session). */
static void test_counter_cmd_not_behind_burst(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *k = env_client(&e, "burst2-k");
    qms_mqtt *cc = env_client(&e, "burst2-c");
    assert_non_null(k);
    assert_non_null(cc);
    collector rep;
    const char *const pats[] = {"qms/t1/reply/burst2-k", "qms/t1/reply/burst2-c", NULL};
    assert_int_equal(coll_start(&rep, &e, "burst2-watch", pats), 0);
    coll_pump(&rep, 200);
    assert_int_equal(kill(e.pid, SIGSTOP), 0);
    enum { N = 1500 };
    for (int i = 0; i < N; i++) {
        char body[96], corr[40];
        snprintf(body, sizeof body, "{\"req\":\"b2-%d\",\"service\":\"TP\"}", i);
        assert_int_equal(qms_mqtt_request(k, "qms/t1/ticket/take", body, strlen(body), corr),
                         QMS_OK);
        if (i % 50 == 49)
            qms_mqtt_loop(k, 0);
    }
    assert_int_equal(qms_mqtt_drain(k, QMS_TEST_WAIT_MS), QMS_OK);
    char corr[40];
    const char *st = "{\"req\":\"b2-status\",\"op\":\"status\"}";
    assert_int_equal(qms_mqtt_request(cc, "qms/t1/counter/1/cmd", st, strlen(st), corr), QMS_OK);
    assert_int_equal(qms_mqtt_drain(cc, QMS_TEST_WAIT_MS), QMS_OK); /* at the broker, last */
    assert_int_equal(kill(e.pid, SIGCONT), 0);
    int64_t end = qms_mono_ms() + 3 * QMS_TEST_WAIT_MS;
    while (rep.n < N + 1 && qms_mono_ms() < end)
        coll_pump(&rep, 50);
    assert_int_equal(rep.n, N + 1);
    int at = -1;
    for (int i = 0; i < rep.n; i++)
        if (strcmp(rep.v[i].topic, "qms/t1/reply/burst2-c") == 0)
            at = i;
    printf("the counter's status came after %d of %d take replies\n", at, N);
    assert_true(at >= 0);
    assert_true(at <= 2 * 128); /* with the first slices, not after the backlog */
    assert_non_null(strstr(rep.v[at].payload, "\"counter\":1"));
    qms_mqtt_free(k);
    qms_mqtt_free(cc);
    coll_stop(&rep);
    env_stop(&e);
}

/* Durability: no reply (nor call event) leaves before its commit is on disk.
 * The controller runs with a preloaded fdatasync/fsync that waits while a
 * gate file exists (tests/controller/sync_gate.c): with the gate shut, a
 * take and a counter's next get no reply and the display no call event in
 * 1.5 s, whatever thread syncs the log; opened, they come. Then kill -9
 * right after the replies: both are in the store. */
static void test_reply_waits_for_log_sync(void **state)
{
    (void)state;
    char gate[128];
    snprintf(gate, sizeof gate, "/tmp/qms-sync-gate-%d", (int)getpid());
    unlink(gate);
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    /* the controller again, with the gate preloaded (the broker without) */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    setenv("QMS_TEST_SYNC_GATE", gate, 1);
    setenv("LD_PRELOAD", QMS_SYNC_GATE_LIB, 1);
    /* an ASan build: the preloaded library comes before the runtime */
    const char *ao = getenv("ASAN_OPTIONS");
    char asan[512];
    snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", ao ? ao : "", ao && *ao ? ":" : "");
    char *old_ao = ao ? strdup(ao) : NULL;
    setenv("ASAN_OPTIONS", asan, 1);
    int started = env_controller_start(&e);
    unsetenv("LD_PRELOAD");
    if (old_ao)
        setenv("ASAN_OPTIONS", old_ao, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(old_ao);
    assert_int_equal(started, 0);
    qms_mqtt *k = env_client(&e, "gate-k");
    assert_non_null(k);
    collector rep;
    const char *const pats[] = {"qms/t1/reply/gate-k", "qms/t1/call", NULL};
    assert_int_equal(coll_start(&rep, &e, "gate-watch", pats), 0);
    coll_pump(&rep, 200);
    /* the gate open: answered. The gated requests follow at once, before the
     * controller's next checkpoint (after 200 ms without a request) and the
     * restart of the log after it, which the loop's own thread syncs. */
    cJSON *r = env_req(&e, k, "ticket/take", "{\"req\":\"g-0\",\"service\":\"TP\"}");
    assert_non_null(r);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r, "ticket"));
    cJSON_Delete(r);

    FILE *g = fopen(gate, "w"); /* shut: every sync now waits */
    assert_non_null(g);
    fclose(g);
    coll_pump(&rep, 0);
    int from = rep.n;
    char corr[40];
    const char *take = "{\"req\":\"g-1\",\"service\":\"TP\"}";
    assert_int_equal(qms_mqtt_request(k, "qms/t1/ticket/take", take, strlen(take), corr), QMS_OK);
    const char *next = "{\"req\":\"g-2\",\"op\":\"next\"}";
    assert_int_equal(qms_mqtt_request(k, "qms/t1/counter/1/cmd", next, strlen(next), corr),
                     QMS_OK);
    int64_t end = qms_mono_ms() + 1500;
    while (qms_mono_ms() < end) {
        qms_mqtt_loop(k, 10);
        coll_pump(&rep, 10);
    }
    printf("gate shut: %d message(s) in 1.5 s\n", rep.n - from);
    assert_int_equal(rep.n - from, 0);
    assert_int_equal(kill(e.pid, 0), 0); /* still running: waiting for the disk */

    unlink(gate); /* open */
    assert_true(coll_wait(&rep, from, "qms/t1/reply/gate-k", "\"ticket\"", QMS_TEST_WAIT_MS) >= 0);
    assert_true(coll_wait(&rep, from, "qms/t1/call", "\"counter\":1", QMS_TEST_WAIT_MS) >= 0);
    int nrep = 0;
    end = qms_mono_ms() + QMS_TEST_WAIT_MS;
    while (nrep < 2 && qms_mono_ms() < end) {
        coll_pump(&rep, 20);
        nrep = 0;
        for (int i = from; i < rep.n; i++)
            nrep += strcmp(rep.v[i].topic, "qms/t1/reply/gate-k") == 0;
    }
    assert_int_equal(nrep, 2);
    /* kill -9 right after the replies: what they said is in the store */
    assert_int_equal(env_controller_signal(&e, SIGKILL), 128 + SIGKILL);
    store_ticket *t = NULL;
    int n = env_store_tickets(&e, &t);
    assert_int_equal(n, 2);
    int called = 0;
    for (int i = 0; i < n; i++)
        called += t[i].ncalls > 0;
    assert_int_equal(called, 1);
    free(t);
    unsetenv("QMS_TEST_SYNC_GATE");
    qms_mqtt_free(k);
    coll_stop(&rep);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_prefix),
        cmocka_unit_test(test_reply_prefix_dashboard_ops),
        cmocka_unit_test(test_burst_answered_in_slices),
        cmocka_unit_test(test_counter_cmd_not_behind_burst),
        cmocka_unit_test(test_reply_waits_for_log_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
