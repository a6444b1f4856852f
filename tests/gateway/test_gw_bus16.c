/* Sixteen QEMU units on one RS-485 line, as in a center: counter units 1..5,
 * their LED boards 101..105, their rating keys 151..155 and the hall board
 * 200 (the firmware image in qemu-system-arm, one process each; the mps2
 * port sleeps in WFI between bytes, so 16 of them idle on 2 cores), joined
 * by qms-busjoin --baud 115200 into one multi-drop line to one qms-gateway.
 * All come online; presses on the first and the last counter unit are
 * called and shown on the unit, its LED board and the hall board; the
 * rating keys of counter 5 light up after done and the rating (naming its
 * ticket) is counted; the gateway counts no timeout on the clean line. The
 * long measurement (cycle vs the wire floor, key -> shown) is bench_gateway
 * qemu 5 --hall. */
#include "gw_harness.h"

#include "qms/clock.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SITE "gw16"
#define NCTR 5
#define NUNITS (3 * NCTR + 1)

static char center[4096];

static void make_center(int *kinds, int *addrs)
{
    int n = snprintf(center, sizeof center,
                     "{\"site\":\"" SITE "\",\"name_vi\":\"Trung tâm thử nghiệm\","
                     "\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],"
                     "\"rating_levels\":4,\"services\":[{\"code\":\"DD\",\"prefix\":\"B\","
                     "\"digits\":3,\"name_vi\":\"Đất đai\"}],\"counters\":[");
    for (int c = 1; c <= NCTR; c++)
        n += snprintf(center + n, sizeof center - (size_t)n, "%s{\"id\":%d,\"services\":[\"DD\"]}",
                      c > 1 ? "," : "", c);
    n += snprintf(center + n, sizeof center - (size_t)n, "],\"bus\":[");
    int i = 0;
    static const char *const kn[3] = {"counter", "led", "rating"};
    for (int k = 0; k < 3; k++)
        for (int c = 1; c <= NCTR; c++, i++) {
            kinds[i] = k + 1;
            addrs[i] = k * (k == 1 ? 100 : 75) + c; /* 1.., 101.., 151.. */
            n += snprintf(center + n, sizeof center - (size_t)n,
                          "{\"address\":%d,\"kind\":\"%s\",\"counter\":%d},", addrs[i], kn[k], c);
        }
    kinds[i] = 4;
    addrs[i] = 200;
    snprintf(center + n, sizeof center - (size_t)n, "{\"address\":200,\"kind\":\"hall\"}]}");
}

static const char *status_topic(int kind, int addr)
{
    static char t[8][96];
    static int k;
    static const char *const kn[5] = {"", "keypad", "led", "rating", "hall"};
    k = (k + 1) % 8;
    snprintf(t[k], sizeof t[k], "qms/" SITE "/device/%s/%d/status", kn[kind], addr);
    return t[k];
}

static void call_and_show(ctl_env *E, qms_mqtt *m, collector *C, gw_qunit *U, int ctr, int nreq)
{
    char body[96], label[16];
    snprintf(body, sizeof body, "{\"req\":\"gw16-%d\",\"service\":\"DD\"}", nreq);
    cJSON *r = env_req(E, m, "ticket/take", body);
    assert_non_null(r);
    snprintf(label, sizeof label, "%s", js_str(r, "ticket"));
    cJSON_Delete(r);
    gw_qunit *unit = &U[ctr - 1], *led = &U[NCTR + ctr - 1], *hall = &U[NUNITS - 1];
    size_t m0 = qu_mark(unit), m1 = qu_mark(led), m3 = qu_mark(hall);
    int from = C->n;
    qu_key(unit, "next");
    char want[64];
    snprintf(want, sizeof want, "\"ticket\":\"%s\"", label);
    assert_true(coll_wait(C, from, "qms/" SITE "/call", want, 0) >= 0);
    snprintf(want, sizeof want, "%s | Đang gọi", label);
    assert_int_equal(qu_wait_display(unit, m0, want, QMS_TEST_WAIT_MS), 0);
    assert_int_equal(qu_wait_display(led, m1, label, QMS_TEST_WAIT_MS), 0);
    snprintf(want, sizeof want, "%s → %d", label, ctr);
    assert_int_equal(qu_wait_display(hall, m3, want, QMS_TEST_WAIT_MS), 0);
}

static void test_sixteen_units(void **state)
{
    (void)state;
    static ctl_env E;
    static gw_qunit U[NUNITS];
    static int kinds[NUNITS], addrs[NUNITS];
    if (!gw_fw_image()[0])
        skip();
    make_center(kinds, addrs);
    assert_int_equal(env_start(&E, center, "2026-11-26T09:00:00"), 0);
    int64_t t0 = qms_mono_ms();
    assert_int_equal(qu_start_many(U, NUNITS, kinds, addrs, E.dir), 0);
    fprintf(stderr, "%d QEMU units up in %lld ms\n", NUNITS, (long long)(qms_mono_ms() - t0));

    char jout[400], line[64] = "";
    snprintf(jout, sizeof jout, "%s/busjoin.out", E.dir);
    char *jargv[NUNITS + 4];
    jargv[0] = (char *)qms_test_bin("qms-busjoin");
    jargv[1] = "--baud";
    jargv[2] = "115200";
    for (int i = 0; i < NUNITS; i++)
        jargv[3 + i] = U[i].wire;
    jargv[3 + NUNITS] = NULL;
    pid_t jpid = qms_test_spawn(jargv, jout);
    assert_true(jpid > 0);
    for (int t = 0; t < 100 && !line[0]; t++) {
        FILE *f = fopen(jout, "r");
        if (f) {
            if (fgets(line, sizeof line, f))
                line[strcspn(line, "\n")] = 0;
            fclose(f);
        }
        usleep(50000);
    }
    assert_true(line[0] == '/');

    static const char *const pats[] = {"qms/" SITE "/device/#", "qms/" SITE "/call",
                                       "qms/" SITE "/stats", NULL};
    collector C;
    assert_int_equal(coll_start(&C, &E, "gw16-coll", pats), 0);
    qms_mqtt *m = env_client(&E, "gw16-client");
    assert_non_null(m);
    gw_proc G;
    gw_qunit l;
    memset(&l, 0, sizeof l);
    snprintf(l.wire, sizeof l.wire, "%s", line);
    assert_int_equal(gwp_start(&G, &E, &l, 1, "--baud 115200 --timeout-ms 1000 --gap-ms 25"), 0);
    for (int i = 0; i < NUNITS; i++)
        if (coll_wait(&C, 0, status_topic(kinds[i], addrs[i]), "\"online\"", 60000) < 0)
            fail_msg("unit %d not online (gateway log %s)", addrs[i], G.log);
    fprintf(stderr, "all %d online after %lld ms\n", NUNITS, (long long)(qms_mono_ms() - t0));
    coll_pump(&C, 2500);
    const char *gtopic = "qms/" SITE "/device/gateway/main/status";
    int gi = coll_wait(&C, 0, gtopic, "\"online\":16", 15000);
    assert_true(gi >= 0);
    fprintf(stderr, "gateway: %s\n", C.v[gi].payload);
    int64_t t_calls = qms_mono_ms();
    /* what the gateway counts past the timeouts (a timeout is time: 16
     * QEMUs on a loaded 2-core machine may be slow; a bad reply or a bad
     * event is not) */
    char before[NUNITS][600];
    for (int i = 0; i < NUNITS; i++) {
        const coll_msg *s = coll_last(&C, status_topic(kinds[i], addrs[i]));
        const char *g = s ? strstr(s->payload, "\"bad_replies\"") : NULL;
        snprintf(before[i], sizeof before[i], "%s", g ? g : "");
    }

    call_and_show(&E, m, &C, U, 1, 1);
    call_and_show(&E, m, &C, U, NCTR, 2);
    /* done at counter 5: its rating keys (the 15th unit on the line) light up */
    gw_qunit *rk = &U[2 * NCTR + NCTR - 1];
    size_t m2 = qu_mark(rk);
    qu_key(&U[NCTR - 1], "done");
    assert_int_equal(qu_wait_display(rk, m2, "rating on 1-4", QMS_TEST_WAIT_MS), 0);
    int from = C.n;
    qu_key(rk, "rate3");
    assert_true(coll_wait(&C, from, "qms/" SITE "/stats", "\"ratings\":1,", 0) >= 0);

    fprintf(stderr, "two calls shown and a rating counted in %lld ms\n",
            (long long)(qms_mono_ms() - t_calls));
    /* a clean line: the gateway counted no bad reply, exception, bad event
     * or restart meanwhile (every unit answered its own address) */
    coll_pump(&C, 2500);
    for (int i = 0; i < NUNITS; i++) {
        const coll_msg *s = coll_last(&C, status_topic(kinds[i], addrs[i]));
        assert_non_null(s);
        const char *t = strstr(s->payload, "\"timeouts\"");
        if (t && strncmp(t, "\"timeouts\":0,", 13) != 0)
            fprintf(stderr, "unit %d: %.16s (a slow host)\n", addrs[i], t);
        const char *g = strstr(s->payload, "\"bad_replies\"");
        if (!g || strcmp(g, before[i]) != 0)
            fail_msg("unit %d: the gateway's counts went from %s to %s", addrs[i], before[i],
                     g ? g : "(none)");
    }

    assert_int_equal(gwp_stop(&G, SIGTERM), 0);
    assert_int_equal(gwp_log_count(&G, "Sanitizer"), 0);
    kill(jpid, SIGTERM);
    qms_test_wait_pid(jpid, 5000);
    for (int i = 0; i < NUNITS; i++)
        qu_stop(&U[i]);
    coll_stop(&C);
    qms_mqtt_free(m);
    env_stop(&E);
    fprintf(stderr, "test took %lld ms\n", (long long)(qms_mono_ms() - t0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
