/* qms-controller when the wall clock jumps (issue 9 #4), through a real
 * broker: the test moves the controller's wall clock with
 * --test-wall-offset-file (milliseconds added to it, re-read every second).
 *  - back one hour while tickets wait: logged once, the next ticket's
 *    taking time does not go back, and it is called after the older ones;
 *  - three hours forward during a service: the service time learnt is the
 *    seconds that passed, not three hours;
 *  - a restart with a clock before the stored day starts (no crash loop),
 *    logs it, and the numbers continue. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_offset(const char *path, long long ms)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%lld\n", ms);
    assert_int_equal(fclose(f), 0);
}

static int wait_log(const ctl_env *e, qms_mqtt *m, const char *needle, int want)
{
    int64_t end = qms_mono_ms() + QMS_TEST_WAIT_MS;
    while (env_log_count(e, needle) < want && qms_mono_ms() < end)
        qms_mqtt_loop(m, 50);
    return env_log_count(e, needle);
}

static cJSON *req_ok(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json)
{
    cJSON *o = env_req(e, m, suffix, json);
    if (!o || js_str(o, "error"))
        fail_msg("%s: %s", json, o ? js_str(o, "error") : "no reply");
    return o;
}

/* TP's mean_service_s in the first stats message that counts `served` TP
 * tickets served. */
static double tp_mean_service(collector *c, int served)
{
    int64_t end = qms_mono_ms() + QMS_TEST_WAIT_MS;
    for (int from = 0; qms_mono_ms() < end;) {
        int i = coll_wait(c, from, "qms/t1/stats", "\"mean_service_s\"", QMS_TEST_WAIT_MS);
        assert_true(i >= 0);
        from = i + 1;
        cJSON *o = cJSON_Parse(c->v[i].payload);
        assert_non_null(o);
        double v = -1;
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(o, "services"))
        {
            if (strcmp(js_str(s, "code"), "TP") == 0 && js_num(s, "served") == served)
                v = js_num(s, "mean_service_s");
        }
        cJSON_Delete(o);
        if (v >= 0)
            return v;
    }
    fail_msg("no statistics with %d TP tickets served", served);
    return -1;
}

static void test_wall_clock_jumps(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    char off[320];
    snprintf(off, sizeof off, "%s/wall-offset", e.dir);
    set_offset(off, 0);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    e.ctl_extra[0] = "--test-wall-offset-file";
    e.ctl_extra[1] = off;
    e.ctl_extra[2] = NULL;
    assert_int_equal(env_controller_start(&e), 0);
    qms_mqtt *k = env_client(&e, "kiosk-clock");
    collector st;
    const char *const pats[] = {"qms/t1/stats", NULL};
    assert_int_equal(coll_start(&st, &e, "clock-watch", pats), 0);

    cJSON *a = req_ok(&e, k, "ticket/take", "{\"req\":\"c-1\",\"service\":\"TP\"}");
    cJSON *b = req_ok(&e, k, "ticket/take", "{\"req\":\"c-2\",\"service\":\"TP\"}");
    /* the wall clock goes back one hour */
    set_offset(off, -3600 * 1000LL);
    assert_int_equal(wait_log(&e, k, "the wall clock jumped by -3600", 1), 1);
    cJSON *c = req_ok(&e, k, "ticket/take", "{\"req\":\"c-3\",\"service\":\"TP\"}");
    assert_true(js_num(c, "taken_ms") >= js_num(b, "taken_ms"));
    assert_true(js_num(b, "taken_ms") - js_num(a, "taken_ms") < 60000);
    assert_string_equal(js_str(c, "ticket"), "A0003");
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    /* called in the order they came */
    const char *want[] = {"A0001", "A0002", "A0003"};
    for (int i = 0; i < 3; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"req\":\"n-%d\",\"op\":\"next\"}", i);
        cJSON *o = req_ok(&e, k, "counter/1/cmd", body);
        assert_string_equal(js_str(o, "ticket"), want[i]);
        cJSON_Delete(o);
    }
    /* three hours forward while A0003 is served: its service lasts seconds */
    set_offset(off, 2 * 3600 * 1000LL);
    assert_int_equal(wait_log(&e, k, "the wall clock jumped by +10800", 1), 1);
    cJSON *o = req_ok(&e, k, "counter/1/cmd", "{\"req\":\"d-1\",\"op\":\"done\"}");
    cJSON_Delete(o);
    /* the estimate blends the configured 300 s (as 4 samples) with the 3
     * services of a few seconds: ~170 s; 3 h would make it ~1,700 s */
    double mean = tp_mean_service(&st, 3);
    printf("TP mean service after a +3 h jump during a service: %.0f s\n", mean);
    assert_true(mean >= 0 && mean < 300);
    /* nothing open now: the controller's clock follows the wall clock */
    assert_int_equal(wait_log(&e, k, "follows it now", 1), 1);

    /* a restart with the clock a day behind the stored day */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    set_offset(off, -24 * 3600 * 1000LL);
    assert_int_equal(env_controller_start(&e), 0);
    assert_int_equal(env_log_count(&e, "before the stored day 2026-11-26"), 1);
    o = req_ok(&e, k, "ticket/take", "{\"req\":\"c-4\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "ticket"), "A0004");
    assert_string_equal(js_str(o, "day"), "2026-11-26");
    cJSON_Delete(o);
    qms_mqtt_free(k);
    coll_stop(&st);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wall_clock_jumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
