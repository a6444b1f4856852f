/* Unit tests of the alerts (controller/alerts.c): each kind raised by its
 * cause, its level, its clearing when the cause ends, acknowledgement, and
 * the device status input a LAN client controls (names, payloads, limits). */
#include "alerts.h"
#include "engine.h"
#include "qms/alloc.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A: threshold 600 s of its own; B: the center's 1200 s, cap 4 (75 %);
 * counter 1 serves both. */
#define CFG                                                                                        \
    "{\"site\":\"t\",\"name_vi\":\"Trung tâm\",\"utc_offset_min\":420,"                           \
    "\"hours\":[[\"00:00\",\"24:00\"]],\"alert_wait_s\":1200,\"alert_pause_s\":300,"               \
    "\"alert_cap_pct\":75,"                                                                        \
    "\"services\":["                                                                               \
    "{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"Ả\",\"name_en\":\"Ay\",\"alert_wait_s\":600},"  \
    "{\"code\":\"B\",\"prefix\":\"B\",\"name_vi\":\"Bê\",\"daily_cap\":4}],"                      \
    "\"counters\":[{\"id\":1,\"services\":[\"A\",\"B\"]},{\"id\":7,\"services\":[\"B\"]}]}"

typedef struct fixture {
    qms_config *cfg;
    qms_vclock clk;
    qms_engine *e;
    qms_alerts *a;
    int64_t t0;
    char log[4096]; /* the changes reported, "raised wait:A;cleared wait:A;" */
} fixture;

static void on_change(void *ud, const char *what, const qms_alert *al)
{
    fixture *f = ud;
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof f->log - n, "%s %s;", what, al->id);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_int_equal(qms_config_parse_json(CFG, strlen(CFG), &f->cfg, err, sizeof err), QMS_OK);
    int32_t day;
    qms_day_parse("2026-11-26", &day);
    f->t0 = qms_local_to_epoch_ms(day, 8 * 3600, 420);
    qms_vclock_init(&f->clk, f->t0);
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    assert_int_equal(qms_alerts_new(&f->a), QMS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qms_alerts_free(f->a);
    qms_engine_free(f->e);
    qms_config_free(f->cfg);
    free(f);
    return 0;
}

/* Move the clock to t0 + s seconds and evaluate; returns the changes' log. */
static const char *at(fixture *f, int s)
{
    qms_vclock_set(&f->clk, f->t0 + (int64_t)s * 1000);
    f->log[0] = 0;
    qms_alerts_update(f->a, f->cfg, f->e, f->t0 + (int64_t)s * 1000, on_change, f);
    return f->log;
}

static void test_wait_threshold_own_and_center(void **state)
{
    fixture *f = *state;
    qms_take_result tr;
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &tr), QMS_OK); /* A0.. at 0 s */
    assert_int_equal(qms_engine_take(f->e, 1, 0, NULL, &tr), QMS_OK); /* B.. at 0 s */
    assert_string_equal(at(f, 600), "");                      /* not over: 600 is the limit */
    assert_string_equal(at(f, 601), "raised wait:A;");
    const qms_alert *al = qms_alerts_find(f->a, "wait:A");
    assert_non_null(al);
    assert_int_equal(al->level, QMS_ALERT_WARN);
    assert_int_equal(al->since_ms, f->t0 + 601000);
    assert_non_null(strstr(al->vi, "Ả: có người chờ quá 10 phút"));
    assert_non_null(strstr(al->en, "Ay: someone has waited over 10 min"));
    assert_string_equal(at(f, 900), ""); /* unchanged: no event */
    assert_string_equal(at(f, 1201), "changed wait:A;raised wait:B;");
    assert_int_equal(qms_alerts_find(f->a, "wait:A")->level, QMS_ALERT_CRIT); /* over 2x */
    assert_int_equal(qms_alerts_find(f->a, "wait:A")->since_ms, f->t0 + 601000);
    /* calling A's ticket ends A's wait; B still waits */
    const qms_ticket *t;
    assert_int_equal(qms_engine_next(f->e, 0, &t), QMS_OK);
    assert_string_equal(t->label, "A001");
    assert_string_equal(at(f, 1202), "cleared wait:A;");
    assert_null(qms_alerts_find(f->a, "wait:A"));
    assert_int_equal(qms_alerts_count(f->a), 1);
}

static void test_cap(void **state)
{
    fixture *f = *state;
    qms_take_result tr;
    for (int i = 0; i < 2; i++)
        assert_int_equal(qms_engine_take(f->e, 1, 0, NULL, &tr), QMS_OK);
    assert_string_equal(at(f, 1), "");
    assert_int_equal(qms_engine_take(f->e, 1, 0, NULL, &tr), QMS_OK); /* 3 of 4 = 75 % */
    assert_string_equal(at(f, 2), "raised cap:B;");
    assert_int_equal(qms_alerts_find(f->a, "cap:B")->level, QMS_ALERT_WARN);
    assert_int_equal(qms_engine_take(f->e, 1, 0, NULL, &tr), QMS_OK); /* 4 of 4 */
    assert_string_equal(at(f, 3), "changed cap:B;");
    assert_int_equal(qms_alerts_find(f->a, "cap:B")->level, QMS_ALERT_CRIT);
    assert_non_null(strstr(qms_alerts_find(f->a, "cap:B")->vi, "đã hết số trong ngày (4 số)"));
}

static void test_counter_paused(void **state)
{
    fixture *f = *state;
    at(f, 10);
    assert_int_equal(qms_engine_pause(f->e, 1), QMS_OK); /* counter 7, paused at 10 s */
    assert_string_equal(at(f, 309), "");
    assert_string_equal(at(f, 310), "raised counter_paused:7;");
    assert_non_null(strstr(qms_alerts_find(f->a, "counter_paused:7")->vi,
                           "Quầy 7 tạm dừng quá 5 phút"));
    assert_int_equal(qms_engine_resume(f->e, 1), QMS_OK);
    assert_string_equal(at(f, 311), "cleared counter_paused:7;");
}

static void test_devices(void **state)
{
    fixture *f = *state;
    const char *on = "{\"state\":\"online\",\"printer\":\"ok\"}";
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", on, strlen(on)), 1);
    assert_string_equal(at(f, 1), "");
    const char *low = "{\"state\":\"online\",\"printer\":\"paper_low\",\"kiosk\":\"1\"}";
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", low, strlen(low)), 1);
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", low, strlen(low)), 0); /* same */
    assert_string_equal(at(f, 2), "raised printer:kiosk/1;");
    assert_int_equal(qms_alerts_find(f->a, "printer:kiosk/1")->level, QMS_ALERT_WARN);
    assert_string_equal(qms_alerts_find(f->a, "printer:kiosk/1")->vi,
                        "Máy in của kiosk/1 sắp hết giấy");
    const char *out = "{\"state\":\"online\",\"printer\":\"paper_out\"}";
    qms_alerts_device(f->a, "kiosk", "1", out, strlen(out));
    assert_string_equal(at(f, 3), "changed printer:kiosk/1;");
    assert_int_equal(qms_alerts_find(f->a, "printer:kiosk/1")->level, QMS_ALERT_CRIT);
    /* the last will: the device is offline, its printer state is unknown */
    const char *will = "{\"state\":\"offline\"}";
    qms_alerts_device(f->a, "kiosk", "1", will, strlen(will));
    assert_string_equal(at(f, 4), "cleared printer:kiosk/1;raised device_offline:kiosk/1;");
    qms_alerts_device(f->a, "kiosk", "1", on, strlen(on));
    assert_string_equal(at(f, 5), "cleared device_offline:kiosk/1;");
    /* an unknown printer word is a fault, never echoed */
    const char *odd = "{\"state\":\"online\",\"printer\":\"<script>\"}";
    qms_alerts_device(f->a, "display", "hall", odd, strlen(odd));
    assert_string_equal(at(f, 6), "raised printer:display/hall;");
    assert_null(strstr(qms_alerts_find(f->a, "printer:display/hall")->vi, "<script>"));
    /* a removed retained status forgets the device */
    qms_alerts_device(f->a, "display", "hall", "", 0);
    assert_string_equal(at(f, 7), "cleared printer:display/hall;");
    /* the controller's own status never raises anything */
    qms_alerts_device(f->a, "controller", "main", will, strlen(will));
    assert_string_equal(at(f, 8), "");
}

static void test_device_input_refused(void **state)
{
    fixture *f = *state;
    const char *on = "{\"state\":\"online\"}";
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "a b", on, strlen(on)), -1);
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", "{", 1), -1);
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", "[1]", 3), -1);
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", "{\"state\":1}", 11), -1);
    char big[5000];
    memset(big, ' ', sizeof big);
    memcpy(big, on, strlen(on));
    assert_int_equal(qms_alerts_device(f->a, "kiosk", "1", big, sizeof big), -1);
    /* the table is bounded: a flood of made-up devices stops at the limit */
    char id[16];
    int ok = 0;
    for (int i = 0; i < QMS_ALERTS_MAX_DEVICES + 50; i++) {
        snprintf(id, sizeof id, "d%d", i);
        ok += qms_alerts_device(f->a, "kiosk", id, on, strlen(on)) == 1;
    }
    assert_int_equal(ok, QMS_ALERTS_MAX_DEVICES);
}

static void test_ack_and_order(void **state)
{
    fixture *f = *state;
    const char *low = "{\"state\":\"online\",\"printer\":\"paper_low\"}";
    const char *will = "{\"state\":\"offline\"}";
    qms_alerts_device(f->a, "kiosk", "1", low, strlen(low));
    at(f, 1);
    qms_alerts_device(f->a, "kiosk", "2", will, strlen(will));
    at(f, 2);
    /* critical first, then the oldest */
    assert_string_equal(qms_alerts_at(f->a, 0)->id, "device_offline:kiosk/2");
    assert_string_equal(qms_alerts_at(f->a, 1)->id, "printer:kiosk/1");
    const qms_alert *al = NULL;
    assert_int_not_equal(qms_alerts_ack(f->a, "printer:kiosk/9", "Lan", f->t0, &al), QMS_OK);
    assert_int_equal(qms_alerts_ack(f->a, "printer:kiosk/1", "Lan", f->t0 + 5000, &al), QMS_OK);
    assert_string_equal(al->ack_by, "Lan");
    assert_int_equal(qms_alerts_ack(f->a, "printer:kiosk/1", "Minh", f->t0 + 6000, &al), QMS_OK);
    assert_string_equal(al->ack_by, "Lan"); /* the first acknowledgement stays */
    assert_int_equal(al->ack_ms, f->t0 + 5000);
    at(f, 10); /* still active: still acknowledged */
    assert_string_equal(qms_alerts_find(f->a, "printer:kiosk/1")->ack_by, "Lan");
    char *js = qms_alerts_json(f->a, f->t0);
    assert_non_null(strstr(js, "\"id\":\"printer:kiosk/1\""));
    assert_non_null(strstr(js, "\"acked_by\":\"Lan\""));
    assert_non_null(strstr(js, "\"level\":\"critical\""));
    qms_free(js);
    /* cleared and raised again: a new alert, not acknowledged */
    const char *on = "{\"state\":\"online\",\"printer\":\"ok\"}";
    qms_alerts_device(f->a, "kiosk", "1", on, strlen(on));
    assert_string_equal(at(f, 11), "cleared printer:kiosk/1;");
    qms_alerts_device(f->a, "kiosk", "1", low, strlen(low));
    assert_string_equal(at(f, 12), "raised printer:kiosk/1;");
    assert_string_equal(qms_alerts_find(f->a, "printer:kiosk/1")->ack_by, "");
}

static void test_disabled_thresholds(void **state)
{
    (void)state;
    const char *cfgjs = "{\"name_vi\":\"T\",\"alert_wait_s\":0,\"alert_pause_s\":0,"
                        "\"alert_cap_pct\":0,\"hours\":[[\"00:00\",\"24:00\"]],"
                        "\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"A\","
                        "\"daily_cap\":1}],\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}";
    qms_config *cfg;
    char err[256];
    assert_int_equal(qms_config_parse_json(cfgjs, strlen(cfgjs), &cfg, err, sizeof err), QMS_OK);
    qms_vclock clk;
    qms_vclock_init(&clk, 1764140000000);
    qms_engine *e;
    qms_alerts *a;
    assert_int_equal(qms_engine_new(cfg, &clk.clock, &e), QMS_OK);
    assert_int_equal(qms_alerts_new(&a), QMS_OK);
    qms_take_result tr;
    assert_int_equal(qms_engine_take(e, 0, 0, NULL, &tr), QMS_OK);
    qms_engine_pause(e, 0);
    qms_vclock_set(&clk, 1764140000000 + 86400000 / 4);
    assert_int_equal(qms_alerts_update(a, cfg, e, 1764140000000 + 86400000 / 4, NULL, NULL), 0);
    qms_alerts_free(a);
    qms_engine_free(e);
    qms_config_free(cfg);
    /* a bad threshold is a config error naming the field */
    const char *bad = "{\"name_vi\":\"T\",\"alert_cap_pct\":101,"
                      "\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"A\"}],"
                      "\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}";
    assert_int_equal(qms_config_parse_json(bad, strlen(bad), &cfg, err, sizeof err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "alert_cap_pct"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wait_threshold_own_and_center, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_input_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_and_order, setup, teardown),
        cmocka_unit_test(test_disabled_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
