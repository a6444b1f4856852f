/* qms-gateway on a multi-drop line, as in a center: counter unit 3, LED
 * board 103, rating keys 153 and the hall board 200 (the firmware image in
 * qemu-system-arm) joined into ONE line by qms-busjoin, which carries what
 * one unit says to the master and to every other unit, and holds each burst
 * for its wire time at 115200 baud. A press is called and shown on the unit,
 * its board and the hall board; the rating keys light up after done; the
 * units' statuses come online with no errors counted on a clean line. */
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
    char jout[400], line[64] = "";
    snprintf(jout, sizeof jout, "%s/busjoin.out", E.dir);
    /* spawned as our child: it dies with us, even when an assert fails */
    char *jargv[] = {(char *)qms_test_bin("qms-busjoin"), "--baud", "115200", U[0].wire,
                     U[1].wire, U[2].wire, U[3].wire, NULL};
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

    static const char *const pats[] = {"qms/" SITE "/device/#", "qms/" SITE "/call", NULL};
    collector C;
    assert_int_equal(coll_start(&C, &E, "gwb-coll", pats), 0);
    qms_mqtt *m = env_client(&E, "gwb-client");
    assert_non_null(m);
    gw_proc G;
    gw_qunit l;
    memset(&l, 0, sizeof l);
    snprintf(l.wire, sizeof l.wire, "%s", line);
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
        const char *g = s ? strstr(s->payload, "\"timeouts\"") : NULL;
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

    /* a clean line: while the units talked, the gateway counted nothing
     * (every unit answered its own address, in time). The units' own CRC
     * counters may move: under QEMU a unit ends a frame after a 20 ms
     * silence, so a request to another unit and that unit's quick reply can
     * reach it as one frame (printed below for the firmware's record). */
    coll_pump(&C, 2500);
    for (int i = 0; i < NUNITS; i++) {
        const coll_msg *s = coll_last(&C, st[i]);
        assert_non_null(s);
        fprintf(stderr, "%s\n", s->payload);
        if (strcmp(strstr(s->payload, "\"timeouts\""), before[i]) != 0)
            fail_msg("%s: the gateway's counts went from %s to %s", st[i], before[i],
                     strstr(s->payload, "\"timeouts\""));
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
