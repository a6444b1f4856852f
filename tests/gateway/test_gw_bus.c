/* qms-gateway on a multi-drop line, as in a center: counter unit 3, LED
 * board 103, rating keys 153 and the hall board 200 (the firmware image in
 * qemu-system-arm) joined into ONE line by qms-busjoin, which carries what
 * one unit says to the master and to every other unit, and holds each burst
 * for its wire time at 115200 baud. A press is called and shown on the unit,
 * its board and the hall board; the rating keys light up after done; the
 * units' statuses come online with no errors counted on a clean line.
 * Then the same line with heavy noise (qms-busjoin --flip 0.02, restarted
 * behind the same --link path, so the gateway also reopens its line): every
 * call still reaches the unit, its board and the hall board (a 4-line hall
 * write of 145 bytes rarely passes whole: the gateway falls back to one line
 * a request), and none is done twice. */
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

#define SITE "gwb"
#define NUNITS 4

static const char *const center =
    "{\"site\":\"gwb\",\"name_vi\":\"Trung tâm thử nghiệm\",\"utc_offset_min\":420,"
    "\"hours\":[[\"00:00\",\"24:00\"]],\"rating_levels\":4,"
    "\"services\":[{\"code\":\"DD\",\"prefix\":\"B\",\"digits\":3,\"name_vi\":\"Đất đai\"}],"
    "\"counters\":[{\"id\":3,\"services\":[\"DD\"]}],"
    "\"bus\":[{\"address\":3,\"kind\":\"counter\",\"counter\":3},"
    "{\"address\":103,\"kind\":\"led\",\"counter\":3},"
    "{\"address\":153,\"kind\":\"rating\",\"counter\":3},"
    "{\"address\":200,\"kind\":\"hall\"}]}";

/* qms-busjoin over the units' wires at 115200, behind the stable path
 * link; flip = its --flip probability or NULL. Returns its pid. */
static pid_t join(gw_qunit *U, const char *link, const char *flip, const char *name)
{
    char jout[400];
    snprintf(jout, sizeof jout, "%s.%s.out", link, name);
    unlink(link);
    /* spawned as our child: it dies with us, even when an assert fails */
    char *jargv[16] = {(char *)qms_test_bin("qms-busjoin"), "--baud", "115200", "--link",
                       (char *)link};
    int n = 5;
    if (flip) {
        jargv[n++] = "--flip";
        jargv[n++] = (char *)flip;
    }
    for (int i = 0; i < NUNITS; i++)
        jargv[n++] = U[i].wire;
    jargv[n] = NULL;
    pid_t jpid = qms_test_spawn(jargv, jout);
    assert_true(jpid > 0);
    for (int t = 0; t < 200; t++) {
        if (access(link, F_OK) == 0)
            return jpid;
        usleep(50000);
    }
    fail_msg("qms-busjoin did not make %s", link);
    return -1;
}

/* qu_wait_display while the collector keeps its MQTT session alive (a
 * noisy line is slow: tens of seconds without a turn of its loop would
 * let the broker drop it, and the calls with it). */
static int wait_shown(collector *C, gw_qunit *u, size_t from, const char *needle, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    while (qms_mono_ms() < end) {
        if (qu_wait_display(u, from, needle, 200) == 0)
            return 0;
        coll_pump(C, 50);
    }
    return -1;
}

static void test_multidrop(void **state)
{
    (void)state;
    static ctl_env E;
    static gw_qunit U[NUNITS];
    static const int kinds[NUNITS] = {1, 2, 3, 4}, addrs[NUNITS] = {3, 103, 153, 200};
    if (!gw_fw_image()[0])
        skip();
    assert_int_equal(env_start(&E, center, "2026-11-26T09:00:00"), 0);
    for (int i = 0; i < NUNITS; i++)
        assert_int_equal(qu_start(&U[i], kinds[i], addrs[i], E.dir), 0);

    /* the line */
    char line[300];
    snprintf(line, sizeof line, "%.280s/line", E.dir);
    pid_t jpid = join(U, line, NULL, "clean");

    static const char *const pats[] = {"qms/" SITE "/device/#", "qms/" SITE "/call", NULL};
    collector C;
    assert_int_equal(coll_start(&C, &E, "gwb-coll", pats), 0);
    qms_mqtt *m = env_client(&E, "gwb-client");
    assert_non_null(m);
    gw_proc G;
    gw_qunit l;
    memset(&l, 0, sizeof l);
    snprintf(l.wire, sizeof l.wire, "%s", line); /* the --link: stable across busjoin restarts */
    assert_int_equal(gwp_start(&G, &E, &l, 1, "--baud 115200 --timeout-ms 400 --gap-ms 25"), 0);
    static const char *const st[NUNITS] = {
        "qms/" SITE "/device/keypad/3/status", "qms/" SITE "/device/led/103/status",
        "qms/" SITE "/device/rating/153/status", "qms/" SITE "/device/hall/200/status"};
    for (int i = 0; i < NUNITS; i++)
        assert_true(coll_wait(&C, 0, st[i], "\"online\"", 60000) >= 0);

    coll_pump(&C, 2500); /* the statuses after the start (QEMU drops bytes at first) */
    char before[NUNITS][768];
    for (int i = 0; i < NUNITS; i++) {
        const coll_msg *s = coll_last(&C, st[i]);
        const char *g = s ? strstr(s->payload, "\"bad_replies\"") : NULL;
        snprintf(before[i], sizeof before[i], "%s", g ? g : "");
    }
    cJSON *r = env_req(&E, m, "ticket/take", "{\"req\":\"gwb-1\",\"service\":\"DD\"}");
    assert_non_null(r);
    assert_string_equal(js_str(r, "ticket"), "B001");
    cJSON_Delete(r);
    size_t m0 = qu_mark(&U[0]), m1 = qu_mark(&U[1]), m3 = qu_mark(&U[3]);
    int from = C.n;
    qu_key(&U[0], "next");
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", "\"ticket\":\"B001\"", 0) >= 0);
    assert_int_equal(qu_wait_display(&U[0], m0, "B001 | Đang gọi", QMS_TEST_WAIT_MS), 0);
    assert_int_equal(qu_wait_display(&U[1], m1, "B001", QMS_TEST_WAIT_MS), 0);
    assert_int_equal(qu_wait_display(&U[3], m3, "B001 → 3", QMS_TEST_WAIT_MS), 0);
    size_t m2 = qu_mark(&U[2]);
    qu_key(&U[0], "done");
    assert_int_equal(qu_wait_display(&U[2], m2, "rating on 1-4", QMS_TEST_WAIT_MS), 0);

    /* a clean line: while the units talked, the gateway counted no bad
     * reply, exception, bad event or restart (every unit answered its own
     * address). Timeouts are printed, not failed on: under QEMU a unit takes
     * a byte per turn of the emulator's loop, and the hall board's 4-line
     * write (137 bytes) can outlast the 400 ms on a loaded host. The units' own CRC
     * counters may move: under QEMU a unit ends a frame after a 20 ms
     * silence, so a request to another unit and that unit's quick reply can
     * reach it as one frame (printed below for the firmware's record). */
    coll_pump(&C, 2500);
    for (int i = 0; i < NUNITS; i++) {
        const coll_msg *s = coll_last(&C, st[i]);
        assert_non_null(s);
        fprintf(stderr, "%s\n", s->payload);
        if (strcmp(strstr(s->payload, "\"bad_replies\""), before[i]) != 0)
            fail_msg("%s: the gateway's counts went from %s to %s", st[i], before[i],
                     strstr(s->payload, "\"bad_replies\""));
    }

    /* heavy noise: the same line again (the gateway reopens it by its
     * path), now with 2 % of the bytes on the wire damaged -- a 145-byte
     * write of the hall board's four lines then passes about 1 time in 20.
     * Every call is still shown on the unit, its board and the hall board,
     * and none is done twice. */
    kill(jpid, SIGTERM);
    qms_test_wait_pid(jpid, 5000);
    jpid = join(U, line, "0.02", "noisy");
    int from0 = C.n;
    for (int i = 0; i < 2; i++) {
        char body[64], label[16], want[48];
        snprintf(body, sizeof body, "{\"req\":\"gwb-n%d\",\"service\":\"DD\"}", i);
        r = env_req(&E, m, "ticket/take", body);
        assert_non_null(r);
        snprintf(label, sizeof label, "%s", js_str(r, "ticket"));
        cJSON_Delete(r);
        m0 = qu_mark(&U[0]);
        m1 = qu_mark(&U[1]);
        m3 = qu_mark(&U[3]);
        int64_t t0 = qms_mono_ms();
        /* on a noisy line a press may need a second read; the unit keeps it */
        qu_key(&U[0], "next");
        snprintf(want, sizeof want, "%s | Đang gọi", label);
        if (wait_shown(&C, &U[0], m0, want, 60000))
            fail_msg("noisy line: %s not shown on counter unit 3 (gateway log %s)", label, G.log);
        if (wait_shown(&C, &U[1], m1, label, 60000))
            fail_msg("noisy line: %s not shown on LED board 103 (gateway log %s)", label, G.log);
        snprintf(want, sizeof want, "%s → 3", label);
        if (wait_shown(&C, &U[3], m3, want, 60000))
            fail_msg("noisy line: %s not shown on the hall board (gateway log %s)", label, G.log);
        fprintf(stderr, "noisy line: %s shown everywhere in %lld ms\n", label,
                (long long)(qms_mono_ms() - t0));
        char needle[48];
        snprintf(needle, sizeof needle, "\"ticket\":\"%s\"", label);
        assert_true(coll_wait(&C, from0, "qms/" SITE "/call", needle, 0) >= 0);
        coll_pump(&C, 300); /* a double would be here */
        int calls = 0;
        for (int k = from0; k < C.n; k++)
            if (strcmp(C.v[k].topic, "qms/" SITE "/call") == 0 && strstr(C.v[k].payload, needle))
                calls++;
        assert_int_equal(calls, 1);
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multidrop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
