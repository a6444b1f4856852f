/* A unit that answers late, on a 9600-baud line: its reply comes after the
 * gateway's timeout, while the gateway waits for the next unit's reply.
 * The gateway must take it for what it is (a reply from the wrong unit),
 * drop it AND the next unit's own reply still on its way, and go on: no
 * unit published offline, every unit online, a press on a counter unit
 * called and shown on it.
 *
 * Before the drain (docs/performance.md, "Found on the way" (1)) the
 * gateway slept a fixed 20 ms after a wrong reply; the next unit's reply
 * then came after the following request, was read as that unit's reply,
 * and so on around the line: every unit "bad reply", offline after
 * --offline-ms. Checked by putting the 20 ms sleep back: this test fails
 * (all six units offline after --offline-ms). At 9600 baud every
 * reply takes longer than the 20 ms (a counter unit's 45 bytes: 52 ms), so
 * the loop never ends by chance; at 19200 (26-32 ms) it lasted a round of
 * 6 units here and needed a loaded host (bench_gateway) to go on for long.
 *
 * The units are the firmware's own portable core (firmware/core: Modbus RTU
 * server, registers, key FIFO, views) on the host behind one pseudo-terminal
 * that paces every reply at the wire time (bench/gateway/unit_farm.c);
 * mosquitto, qms-controller and qms-gateway are the real programs. */
#include "gw_harness.h"
#include "keys.h"
#include "unit_farm.h"

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

#define SITE "gwdrain"
#define NCTR 3
#define NUNITS (2 * NCTR)
#define BIG 16 /* counters of the second test: 16 + 16 + 16 units */

static char center[16384];

/* nctr counters; units: counter units 1..nctr, LED boards 101.., and with
 * rating the rating keys 151.. */
static int make_center(int nctr, int rating, int *kinds, int *addrs)
{
    int n = snprintf(center, sizeof center,
                     "{\"site\":\"" SITE "\",\"name_vi\":\"Trung tâm thử nghiệm\","
                     "\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],"
                     "\"rating_levels\":4,\"services\":[{\"code\":\"DD\",\"prefix\":\"B\","
                     "\"digits\":3,\"name_vi\":\"Đất đai\"}],\"counters\":[");
    for (int c = 1; c <= nctr; c++)
        n += snprintf(center + n, sizeof center - (size_t)n, "%s{\"id\":%d,\"services\":[\"DD\"]}",
                      c > 1 ? "," : "", c);
    n += snprintf(center + n, sizeof center - (size_t)n, "],\"bus\":[");
    int nu = (rating ? 3 : 2) * nctr;
    static const char *const kn[4] = {"", "counter", "led", "rating"};
    for (int i = 0; i < nu; i++) {
        int k = i / nctr + 1, c = i % nctr + 1;
        kinds[i] = k;
        addrs[i] = (k == 1 ? 0 : k == 2 ? 100 : 150) + c;
        n += snprintf(center + n, sizeof center - (size_t)n,
                      "%s{\"address\":%d,\"kind\":\"%s\",\"counter\":%d}", i ? "," : "", addrs[i],
                      kn[k], c);
    }
    snprintf(center + n, sizeof center - (size_t)n, "]}");
    return nu;
}

static void test_late_reply(void **state)
{
    (void)state;
    static ctl_env E;
    static int kinds[NUNITS], addrs[NUNITS];
    make_center(NCTR, 0, kinds, addrs);
    assert_int_equal(env_start(&E, center, "2026-11-26T09:00:00"), 0);
    char line[64] = "";
    unit_farm *farm = farm_start(NUNITS, kinds, addrs, 9600, line);
    assert_non_null(farm);

    static const char *const pats[] = {"qms/" SITE "/device/#", "qms/" SITE "/call", NULL};
    collector C;
    assert_int_equal(coll_start(&C, &E, "gwdrain-coll", pats), 0);
    gw_proc G;
    gw_qunit l;
    memset(&l, 0, sizeof l);
    snprintf(l.wire, sizeof l.wire, "%s", line);
    /* back-to-back requests (--poll-ms 0), one visit a cycle each: the
     * late reply lands in the next unit's transaction */
    assert_int_equal(gwp_start(&G, &E, &l, 1,
                               "--baud 9600 --timeout-ms 1000 --offline-ms 3000 --poll-ms 0 "
                               "--key-polls 1"),
                     0);
    const char *gtopic = "qms/" SITE "/device/gateway/main/status";
    if (coll_wait(&C, 0, gtopic, "\"online\":6", 30000) < 0)
        fail_msg("the units did not come online (gateway log %s)", G.log);
    coll_pump(&C, 500);

    /* counter unit 2 answers its next request 1.3 s late: after the
     * gateway's 1 s timeout (generous: the farm's thread may wait for a
     * loaded host), during counter unit 3's transaction */
    int from = C.n;
    farm_late(farm, 1, 1300);
    int64_t end = qms_mono_ms() + 10000;
    while (farm_late_sent(farm) == 0 && qms_mono_ms() < end)
        usleep(10000);
    assert_int_equal(farm_late_sent(farm), 1);
    /* well past --offline-ms (3 s): a line stuck reading each reply as
     * the next unit's would have every unit offline by now */
    coll_pump(&C, 6000);
    /* the fault happened as meant: unit 2 timed out, the next one got a
     * reply that was not its own */
    assert_true(gwp_log_count(&G, "(address 2): no reply") >= 1);
    assert_true(gwp_log_count(&G, "bad reply") >= 1);
    for (int i = from; i < C.n; i++)
        if ((strstr(C.v[i].topic, "/device/keypad/") || strstr(C.v[i].topic, "/device/led/") ||
             strstr(C.v[i].topic, "/device/gateway/")) &&
            strstr(C.v[i].payload, "\"offline\""))
            fail_msg("%s went offline after one late reply: %s (gateway log %s)", C.v[i].topic,
                     C.v[i].payload, G.log);
    int gi = coll_wait(&C, from, gtopic, "\"online\":6", 8000);
    if (gi < 0)
        fail_msg("not all 6 units online after the late reply (gateway log %s)", G.log);

    /* and the line works: a press on counter unit 3 is called and shown
     * (the client connects now: it was not pumped during the waits) */
    qms_mqtt *m = env_client(&E, "gwdrain-client");
    assert_non_null(m);
    cJSON *r = env_req(&E, m, "ticket/take", "{\"req\":\"gwdrain-1\",\"service\":\"DD\"}");
    assert_non_null(r);
    char label[16];
    snprintf(label, sizeof label, "%s", js_str(r, "ticket"));
    cJSON_Delete(r);
    assert_true(label[0] != 0);
    farm_press(farm, 2, FW_KEY_NEXT);
    char view[200] = "";
    int shown = 0;
    end = qms_mono_ms() + 15000;
    while (!shown && qms_mono_ms() < end) {
        farm_view(farm, 2, view, sizeof view);
        shown = strstr(view, label) != NULL;
        if (!shown)
            usleep(10000);
    }
    if (!shown)
        fail_msg("%s not shown on counter unit 3 (it shows \"%s\"; gateway log %s)", label, view,
                 G.log);

    assert_int_equal(gwp_stop(&G, SIGTERM), 0);
    assert_int_equal(gwp_log_count(&G, "Sanitizer"), 0);
    farm_stop(farm);
    coll_stop(&C);
    qms_mqtt_free(m);
    env_stop(&E);
}

/* With the default --key-polls 2, 16 + 16 + 16 units at 19200 (a poll
 * cycle of about 1.9 s: the counter units read twice), a unit that goes
 * silent -- a counter unit, read twice a cycle, and an LED board, read
 * once -- is still published offline (docs/gateway.md: within 3 s while a
 * cycle plus the timeout stays under 3 s; the times are printed, the test
 * waits generously: a loaded host is slow), and online again. */
static void test_silent_units_offline(void **state)
{
    (void)state;
    static ctl_env E;
    static int kinds[3 * BIG], addrs[3 * BIG];
    int nu = make_center(BIG, 1, kinds, addrs);
    assert_int_equal(env_start(&E, center, "2026-11-26T09:00:00"), 0);
    char line[64] = "";
    unit_farm *farm = farm_start(nu, kinds, addrs, 19200, line);
    assert_non_null(farm);
    static const char *const pats[] = {"qms/" SITE "/device/#", NULL};
    collector C;
    assert_int_equal(coll_start(&C, &E, "gwoff-coll", pats), 0);
    gw_proc G;
    gw_qunit l;
    memset(&l, 0, sizeof l);
    snprintf(l.wire, sizeof l.wire, "%s", line);
    assert_int_equal(gwp_start(&G, &E, &l, 1, "--baud 19200 --poll-ms 0"), 0);
    const char *gtopic = "qms/" SITE "/device/gateway/main/status";
    if (coll_wait(&C, 0, gtopic, "\"online\":48", 60000) < 0)
        fail_msg("the 48 units did not come online (gateway log %s)", G.log);
    /* 16 counter units twice, 32 other units once */
    assert_int_equal(gwp_log_count(&G, "64 reads a poll cycle (counter units 2 times)"), 1);
    static const struct {
        int index;
        const char *topic;
    } silent[2] = {{BIG - 1, "qms/" SITE "/device/keypad/16/status"},
                   {2 * BIG - 1, "qms/" SITE "/device/led/116/status"}};
    for (int k = 0; k < 2; k++) {
        int from = C.n;
        farm_mute(farm, silent[k].index, 1);
        int64_t t0 = qms_mono_ms();
        int i = coll_wait(&C, from, silent[k].topic, "\"offline\"", 30000);
        int64_t dt = qms_mono_ms() - t0;
        farm_mute(farm, silent[k].index, 0);
        if (i < 0)
            fail_msg("%s: no offline status (gateway log %s)", silent[k].topic, G.log);
        fprintf(stderr, "%s silent -> offline status in %lld ms%s\n", silent[k].topic,
                (long long)dt, dt <= 3000 ? "" : " (over 3 s: a loaded host?)");
        from = C.n;
        if (coll_wait(&C, from, silent[k].topic, "\"online\"", 30000) < 0)
            fail_msg("%s: not online again (gateway log %s)", silent[k].topic, G.log);
    }
    assert_int_equal(gwp_stop(&G, SIGTERM), 0);
    assert_int_equal(gwp_log_count(&G, "Sanitizer"), 0);
    farm_stop(farm);
    coll_stop(&C);
    env_stop(&E);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_reply),
        cmocka_unit_test(test_silent_units_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
