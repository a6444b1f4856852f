/* qms-report --bookings on a store the real qms-controller wrote: bookings
 * made, checked in, cancelled and left to pass through the protocol, then
 * counted by the real qms-report per service and per day. The controller
 * runs two days in the past (its --clock), so what it left "booked" on those
 * days is a no-show now, and its days ahead are still to come. The store is
 * checked with sqlite3: one no-show the controller marked itself, one it
 * left "booked" (it marks them only at its next booking request) — both
 * count. The window rule (slot + checkin_grace_min) at the controller's own
 * time: the library on the same store. */
#include "harness.h"
#include "report.h"
#include "report_out.h"

#include "qms/clock.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ctl_env E;
static int32_t D0; /* the controller's day: two days before the real today */

static void day_str(int plus, char out[11])
{
    qms_day_str(D0 + plus, out);
}

/* booking/make for service at day D0+plus, slot, by cccd: its code */
static void book(qms_mqtt *m, const char *svc, int plus, const char *slot, const char *cccd,
                 char code[9])
{
    static int n;
    char day[11], json[256];
    day_str(plus, day);
    snprintf(json, sizeof json,
             "{\"req\":\"b%d\",\"service\":\"%s\",\"day\":\"%s\",\"slot\":\"%s\",\"cccd\":\"%s\"}",
             ++n, svc, day, slot, cccd);
    cJSON *o = env_req(&E, m, "booking/make", json);
    const char *c = js_str(o, "code");
    if (!c || strlen(c) != 8)
        fail_msg("booking %s refused: %s", json, js_str(o, "error"));
    memcpy(code, c, 9);
    cJSON_Delete(o);
}

static void state_is(const char *code, const char *state)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' \"SELECT state FROM bookings WHERE code='%s'\" | grep -qx %s", E.db,
             code, state);
    if (system(cmd) != 0)
        fail_msg("booking %s is not '%s' in the store", code, state);
}

static int setup(void **state)
{
    (void)state;
    D0 = qms_local_day(qms_now(&qms_clock_real), 420) - 2;
    char clock[40], day[11];
    qms_day_str(D0, day);
    snprintf(clock, sizeof clock, "%sT09:00:00", day);
    if (env_start(&E, NULL, clock))
        return -1;
    qms_mqtt *w = env_client(&E, "web");
    qms_mqtt *k = env_client(&E, "kiosk1");
    char c1[9], c2[9], c3[9], c4[9], c5[9], c6[9], c7[9], json[256];
    book(w, "TP", 0, "09:00", "001099000001", c1); /* checked in now */
    book(w, "TP", 0, "10:00", "001099000002", c2); /* passes: marked no_show */
    book(w, "DD", 0, "12:00", "001099000003", c3); /* passes later: left "booked" */
    book(w, "DD", 1, "09:00", "001099000004", c4); /* tomorrow, never comes */
    book(w, "XD", 6, "09:00", "001099000005", c5); /* still to come */
    book(w, "XD", 6, "10:00", "001099000006", c6); /* cancelled */
    snprintf(json, sizeof json, "{\"req\":\"t1\",\"appointment\":\"%s\"}", c1);
    cJSON *o = env_req(&E, k, "ticket/take", json);
    assert_non_null(o);
    assert_null(js_str(o, "error"));
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"x1\",\"code\":\"%s\",\"cccd\":\"001099000006\"}", c6);
    o = env_req(&E, w, "booking/cancel", json);
    assert_non_null(o);
    assert_null(js_str(o, "error"));
    cJSON_Delete(o);
    qms_mqtt_free(w);
    qms_mqtt_free(k);
    /* 80 minutes on (10:20): the 10:00 window has closed; a new booking makes
     * the controller mark it */
    assert_int_equal(env_controller_signal(&E, SIGTERM), 0);
    E.clock0 += 80 * 60000;
    assert_int_equal(env_controller_start(&E), 0);
    w = env_client(&E, "web2");
    book(w, "XD", 5, "10:00", "001099000007", c7); /* still to come */
    qms_mqtt_free(w);
    assert_int_equal(env_controller_signal(&E, SIGTERM), 0);
    state_is(c1, "checked_in");
    state_is(c2, "no_show");
    state_is(c3, "booked");
    state_is(c4, "booked");
    state_is(c6, "cancelled");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    env_stop(&E);
    return 0;
}

static void row_is(const qms_report_out *o, const char *key, const char *made, const char *in,
                   const char *noshow, const char *cancelled, const char *pending, const char *rate,
                   int en)
{
    int r = qms_report_row(o, key);
    if (r < 0)
        fail_msg("no row %s in:\n%s", key, o->raw ? o->raw : "(no CSV)");
    const char *want[] = {made, in, noshow, cancelled, pending, rate};
    const char *vi[] = {"Lịch hẹn đã đặt", "Đã đến lấy số", "Không đến",
                        "Đã hủy",          "Chưa đến giờ",  "Tỷ lệ không đến (%)"};
    const char *enh[] = {"Bookings made", "Checked in",  "Booking no-shows",
                         "Cancelled",     "Not yet due", "No-show rate (%)"};
    for (int i = 0; i < 6; i++) {
        const char *got = qms_report_cell(o, r, en ? enh[i] : vi[i]);
        if (strcmp(got, want[i]) != 0)
            fail_msg("row %s, %s: '%s', want '%s'\n%s", key, en ? enh[i] : vi[i], got, want[i],
                     o->raw);
    }
}

static void test_by_service(void **state)
{
    (void)state;
    char from[11], to[11];
    day_str(0, from);
    day_str(6, to);
    qms_report_out o;
    qms_report_run(&o, E.dir, "--db", E.db, "--from", from, "--to", to, "--bookings", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[0][0], "Mã dịch vụ");
    assert_int_equal(o.nrows, 1 + 3 + 1);
    assert_string_equal(o.cells[1][1], "Tư pháp - Hộ tịch");
    row_is(&o, "TP", "2", "1", "1", "0", "0", "50.0", 0);
    row_is(&o, "DD", "2", "0", "2", "0", "0", "100.0", 0);
    row_is(&o, "XD", "3", "0", "0", "1", "2", "", 0);
    row_is(&o, "Tổng cộng", "7", "1", "3", "1", "2", "75.0", 0);
    assert_non_null(strstr(o.log, "7 lịch hẹn"));
    qms_report_out_free(&o);
}

static void test_by_day(void **state)
{
    (void)state;
    char from[11], to[11], d[7][11];
    day_str(0, from);
    day_str(6, to);
    for (int i = 0; i < 7; i++)
        day_str(i, d[i]);
    qms_report_out o;
    qms_report_run(&o, E.dir, "--db", E.db, "--from", from, "--to", to, "--bookings", "--by", "day",
                   "--lang", "en", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[0][0], "Date");
    assert_int_equal(o.nrows, 1 + 7 + 1);
    row_is(&o, d[0], "3", "1", "2", "0", "0", "66.7", 1);
    row_is(&o, d[1], "1", "0", "1", "0", "0", "100.0", 1);
    row_is(&o, d[2], "0", "0", "0", "0", "0", "", 1);
    row_is(&o, d[5], "1", "0", "0", "0", "1", "", 1);
    row_is(&o, d[6], "2", "0", "0", "1", "1", "", 1);
    row_is(&o, "Total", "7", "1", "3", "1", "2", "75.0", 1);
    qms_report_out_free(&o);
    /* a day with none: the total says so */
    char before[11];
    day_str(-1, before);
    qms_report_run(&o, E.dir, "--db", E.db, "--from", before, "--bookings", "--lang", "en", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[o.nrows - 1][0], "Total (no data)");
    assert_non_null(strstr(o.log, "no bookings on"));
    qms_report_out_free(&o);
}

/* The window rule at the controller's own time, on the same store: at 10:20
 * on D0 the 12:00 booking is not due yet; it is a no-show from 12:15:01 on
 * (grace 15 minutes), not at 12:15:00. */
static void test_window_rule(void **state)
{
    (void)state;
    report_data d;
    char err[256];
    assert_int_equal(report_load(E.db, D0, D0 + 6, NULL, &d, err, sizeof err), QMS_OK);
    assert_true(d.has_bookings);
    assert_int_equal(d.nbk, 7);
    static const int32_t at[] = {10 * 3600 + 20 * 60, 12 * 3600 + 15 * 60, 12 * 3600 + 15 * 60 + 1};
    static const int want_noshow[] = {1, 1, 2}, want_pending[] = {1, 1, 0};
    for (int i = 0; i < 3; i++) {
        report_bk r;
        assert_int_equal(report_bk_build(&d, REPORT_BY_DAY, D0, D0 + 6, 0, D0, at[i], 15, &r),
                         QMS_OK);
        /* D0: c1 in, c2 marked no_show, c3 (12:00) by the clock */
        assert_int_equal(r.rows[0].fig.checked_in, 1);
        assert_int_equal(r.rows[0].fig.noshow, want_noshow[i]);
        assert_int_equal(r.rows[0].fig.pending, want_pending[i]);
        /* D0+1 is ahead of the controller's day: to come */
        assert_int_equal(r.rows[1].fig.pending, 1);
        assert_int_equal(r.rows[1].fig.noshow, 0);
        report_bk_free(&r);
    }
    report_data_free(&d);
}

static void test_usage(void **state)
{
    (void)state;
    char from[11];
    day_str(0, from);
    qms_report_out o;
    qms_report_run(&o, E.dir, "--db", E.db, "--from", from, "--bookings", "--by", "counter", NULL);
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.log, "--bookings goes --by service or day"));
    qms_report_out_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_service),
        cmocka_unit_test(test_by_day),
        cmocka_unit_test(test_window_rule),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
