/* Booking rules (controller/booking.c) without broker or store: slots from
 * the hours, the window, K a day, one per service, capacity, check-in
 * answers, the no-show sweep, the config section; and the center's calendar
 * across a week with a holiday, a closed Sunday and a make-up Saturday. */
#include "booking.h"

#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const cfg_json =
    "{\"site\":\"u\",\"name_vi\":\"U\",\"name_en\":\"U\",\"utc_offset_min\":420,\"hours\":[[\"07:30\",\"11:30\"],[\"13:30\","
    "\"17:00\"]],\"services\":[{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":3,"
    "\"name_vi\":\"T\",\"name_en\":\"T\",\"mean_service_s\":300},{\"code\":\"DD\","
    "\"prefix\":\"B\",\"digits\":3,\"name_vi\":\"D\",\"name_en\":\"D\",\"mean_service_s\":300,"
    "\"hours\":[[\"08:00\",\"09:00\"]]},{\"code\":\"XD\",\"prefix\":\"C\",\"digits\":3,"
    "\"name_vi\":\"X\",\"name_en\":\"X\",\"mean_service_s\":300}],"
    "\"counters\":[{\"id\":1,\"name_vi\":\"Q\",\"name_en\":\"C\",\"services\":[\"TP\",\"DD\","
    "\"XD\"]}]}";

#define H(h, m) ((h) * 3600 + (m) * 60)
static const char *const HA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *const HB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static qms_config *cfg;

static int setup(void **state)
{
    (void)state;
    char err[200];
    return qms_config_parse_json(cfg_json, strlen(cfg_json), &cfg, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    qms_config_free(cfg);
    return 0;
}

static void test_slots(void **state)
{
    (void)state;
    bk_cfg b;
    bk_cfg_default(&b);
    int32_t s[BK_MAX_SLOTS];
    int n = bk_slots(&b, cfg, 0, 20000, s, BK_MAX_SLOTS);
    assert_int_equal(n, 8 + 7); /* 07:30..11:00 and 13:30..16:30 */
    assert_int_equal(s[0], H(7, 30));
    assert_int_equal(s[7], H(11, 0));
    assert_int_equal(s[8], H(13, 30));
    assert_int_equal(s[14], H(16, 30));
    n = bk_slots(&b, cfg, 1, 20000, s, BK_MAX_SLOTS); /* DD's own hours */
    assert_int_equal(n, 2);
    assert_int_equal(s[1], H(8, 30));
    b.slot_min = 45;
    assert_int_equal(bk_slots(&b, cfg, 1, 20000, s, BK_MAX_SLOTS), 1);
    int32_t f, t;
    bk_cfg_default(&b);
    bk_window(&b, H(9, 0), &f, &t);
    assert_int_equal(f, H(8, 30));
    assert_int_equal(t, H(9, 15));
    assert_true(bk_cccd_valid("001099012345"));
    assert_false(bk_cccd_valid("00109901234"));
    assert_false(bk_cccd_valid("0010990123456"));
    assert_false(bk_cccd_valid("00109901234a"));
    assert_false(bk_cccd_valid(""));
}

static void test_make_rules(void **state)
{
    (void)state;
    bk_cfg b;
    bk_cfg_default(&b);
    b.capacity = 1;
    bk_set s = {0};
    bk_entry *e;
    const int32_t today = 20000, now = H(9, 0);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today - 1, H(10, 0), HA, "AAAAAAAA", today, now, 1, &e),
                     QMS_ERR_BAD_DAY);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today + 7, H(10, 0), HA, "AAAAAAAA", today, now, 1, &e),
                     QMS_ERR_BAD_DAY);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(12, 0), HA, "AAAAAAAA", today, now, 1, &e),
                     QMS_ERR_BAD_SLOT); /* lunch */
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(8, 30), HA, "AAAAAAAA", today, now, 1, &e),
                     QMS_ERR_BAD_SLOT); /* window over at 08:45 */
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(9, 0), HA, "AAAAAAAA", today, now, 1, &e),
                     QMS_OK); /* window open until 09:15 */
    assert_int_equal(s.n, 1);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today + 6, H(10, 0), HA, "CAAAAAAC", today, now, 1, &e),
                     QMS_OK);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(10, 0), HA, "X", today, now, 1, &e),
                     QMS_ERR_BOOKING_SAME_SERVICE);
    assert_int_equal(bk_make(&s, &b, cfg, 1, today, H(8, 30), HA, "X", today, H(8, 0), 1, &e),
                     QMS_OK);
    assert_int_equal(bk_make(&s, &b, cfg, 2, today, H(10, 0), HA, "X", today, now, 1, &e),
                     QMS_ERR_BOOKING_LIMIT);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(9, 0), HB, "X", today, now, 1, &e),
                     QMS_ERR_SLOT_FULL);
    assert_int_equal(bk_taken(&s, "TP", today, H(9, 0)), 1);
    /* a cancelled booking frees its place and does not count for the citizen */
    s.v[0].state = BK_CANCELLED;
    assert_int_equal(bk_taken(&s, "TP", today, H(9, 0)), 0);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(9, 0), HB, "B", today, now, 1, &e), QMS_OK);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(9, 30), HA, "C", today, now, 1, &e), QMS_OK);
    /* one_per_service off: the same service twice, still K a day */
    b.one_per_service = 0;
    b.capacity = 5;
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(10, 0), HB, "D", today, now, 1, &e), QMS_OK);
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(10, 30), HB, "E", today, now, 1, &e),
                     QMS_ERR_BOOKING_LIMIT);
    bk_set_free(&s);
}

static void test_checkin(void **state)
{
    (void)state;
    bk_cfg b;
    bk_cfg_default(&b);
    bk_set s = {0};
    bk_entry *e;
    const int32_t today = 20000;
    assert_int_equal(bk_make(&s, &b, cfg, 0, today, H(10, 0), HA, "AAAAAAAA", today, H(8, 0), 1, &e),
                     QMS_OK);
    assert_int_equal(bk_checkin_check(&b, e, NULL, today, H(9, 29)), QMS_ERR_APPT_EARLY);
    assert_int_equal(bk_checkin_check(&b, e, NULL, today, H(9, 30)), QMS_OK);
    assert_int_equal(bk_checkin_check(&b, e, "TP", today, H(10, 15)), QMS_OK);
    assert_int_equal(bk_checkin_check(&b, e, NULL, today, H(10, 15) + 1), QMS_ERR_APPT_LATE);
    assert_int_equal(bk_checkin_check(&b, e, "DD", today, H(10, 0)), QMS_ERR_APPT_WRONG_SERVICE);
    assert_int_equal(bk_checkin_check(&b, e, NULL, today + 1, H(10, 0)), QMS_ERR_APPT_WRONG_DAY);
    assert_ptr_equal(bk_find_citizen_today(&s, &b, HA, NULL, today, H(10, 0)), e);
    assert_null(bk_find_citizen_today(&s, &b, HB, NULL, today, H(10, 0)));
    /* the sweep: nothing before the window ends, no_show after */
    assert_int_equal(bk_sweep(&s, &b, today, H(10, 15)), 0);
    e->dirty = 0;
    assert_int_equal(bk_sweep(&s, &b, today, H(10, 16)), 1);
    assert_int_equal(e->state, BK_NO_SHOW);
    assert_true(e->dirty);
    assert_int_equal(bk_checkin_check(&b, e, NULL, today, H(10, 0)), QMS_ERR_APPT_LATE);
    e->state = BK_CHECKED_IN;
    assert_int_equal(bk_checkin_check(&b, e, NULL, today, H(10, 0)), QMS_ERR_APPT_USED);
    e->state = BK_CANCELLED;
    assert_int_equal(bk_checkin_check(&b, e, NULL, today, H(10, 0)), QMS_ERR_APPT_CANCELLED);
    assert_int_equal(bk_sweep(&s, &b, today + 1, 0), 0); /* a cancelled one stays cancelled */
    assert_ptr_equal(bk_find_code(&s, "AAAAAAAA"), e);
    assert_null(bk_find_code(&s, "CAAAAAAC"));
    bk_set_free(&s);
}

static void test_config(void **state)
{
    (void)state;
    char path[] = "/tmp/qms-bk-XXXXXX", err[200];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *good = "{\"booking\":{\"slot_min\":20,\"capacity\":3,\"days_ahead\":2,"
                       "\"max_per_day\":1,\"booked_rank\":\"equal\",\"key_file\":\"/k\"}}";
    assert_int_equal(write(fd, good, strlen(good)), (int)strlen(good));
    close(fd);
    bk_cfg b;
    assert_int_equal(bk_cfg_load(path, &b, err, sizeof err), QMS_OK);
    assert_int_equal(b.slot_min, 20);
    assert_int_equal(b.capacity, 3);
    assert_int_equal(b.days_ahead, 2);
    assert_int_equal(b.max_per_day, 1);
    assert_int_equal(b.rank_ahead, 0);
    assert_int_equal(b.grace_min, 15);
    assert_string_equal(b.key_file, "/k");
    FILE *f = fopen(path, "w");
    fputs("{\"booking\":{\"booked_rank\":\"first\"}}", f);
    fclose(f);
    assert_int_equal(bk_cfg_load(path, &b, err, sizeof err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "booked_rank"));
    f = fopen(path, "w");
    fputs("{\"booking\":{\"capacity\":0}}", f);
    fclose(f);
    assert_int_equal(bk_cfg_load(path, &b, err, sizeof err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "capacity"));
    f = fopen(path, "w");
    fputs("{\"site\":\"x\"}", f);
    fclose(f);
    assert_int_equal(bk_cfg_load(path, &b, err, sizeof err), QMS_OK);
    assert_int_equal(b.days_ahead, 6);
    assert_int_equal(b.max_per_day, 2);
    assert_int_equal(b.rank_ahead, 1);
    unlink(path);
}

/* The week of Monday 2026-12-07: Wednesday 09 a holiday, Saturday 12 a
 * make-up working day as a Monday, Saturday mornings otherwise, Sunday closed.
 * TP has the day's hours, DD its own 08:00-09:00, CT its own 13:00-16:00
 * (cut to the day: nothing on a Saturday morning). */
static const char *const week_json =
    "{\"site\":\"w\",\"name_vi\":\"W\",\"name_en\":\"W\",\"utc_offset_min\":420,"
    "\"hours\":[[\"07:30\",\"17:00\"]],\"calendar\":{\"week\":{"
    "\"mon\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"tue\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"wed\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"thu\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"fri\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"sat\":[[\"07:30\",\"11:30\"]]},"
    "\"holidays\":[\"2026-12-09\"],\"workdays\":[{\"date\":\"2026-12-12\",\"as\":\"mon\"}]},"
    "\"services\":[{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":3,\"name_vi\":\"T\","
    "\"name_en\":\"T\",\"mean_service_s\":300},{\"code\":\"DD\",\"prefix\":\"B\","
    "\"digits\":3,\"name_vi\":\"D\",\"name_en\":\"D\",\"mean_service_s\":300,"
    "\"hours\":[[\"08:00\",\"09:00\"]]},{\"code\":\"CT\",\"prefix\":\"C\",\"digits\":3,"
    "\"name_vi\":\"C\",\"name_en\":\"C\",\"mean_service_s\":300,"
    "\"hours\":[[\"13:00\",\"16:00\"]]}],"
    "\"counters\":[{\"id\":1,\"name_vi\":\"Q\",\"name_en\":\"C\",\"services\":[\"TP\",\"DD\","
    "\"CT\"]}]}";

static void test_calendar_week(void **state)
{
    (void)state;
    char err[200];
    qms_config *wc = NULL;
    assert_int_equal(qms_config_parse_json(week_json, strlen(week_json), &wc, err, sizeof err),
                     QMS_OK);
    bk_cfg b;
    bk_cfg_default(&b);
    b.days_ahead = 7;
    int32_t mon, s[BK_MAX_SLOTS];
    assert_int_equal(qms_day_parse("2026-12-07", &mon), 0);
    /* slots of TP, DD, CT day by day, Monday .. Sunday */
    static const int tp[7] = {15, 15, 0, 15, 15, 15, 0};
    static const int dd[7] = {2, 2, 0, 2, 2, 2, 0};
    static const int ct[7] = {5, 5, 0, 5, 5, 5, 0};
    for (int d = 0; d < 7; d++) {
        assert_int_equal(bk_slots(&b, wc, 0, mon + d, s, BK_MAX_SLOTS), tp[d]);
        assert_int_equal(bk_slots(&b, wc, 1, mon + d, s, BK_MAX_SLOTS), dd[d]);
        assert_int_equal(bk_slots(&b, wc, 2, mon + d, s, BK_MAX_SLOTS), ct[d]);
    }
    /* the make-up Saturday has a Monday's hours: 07:30 .. 11:00, 13:30 .. 16:30;
     * CT 13:30 .. 15:30 (its 13:00-16:00 cut to the day's 13:30) */
    assert_int_equal(bk_slots(&b, wc, 0, mon + 5, s, BK_MAX_SLOTS), 15);
    assert_int_equal(s[0], H(7, 30));
    assert_int_equal(s[8], H(13, 30));
    assert_int_equal(s[14], H(16, 30));
    assert_int_equal(bk_slots(&b, wc, 2, mon + 5, s, BK_MAX_SLOTS), 5);
    assert_int_equal(s[0], H(13, 30));
    /* an ordinary Saturday (the next one) has the morning only; CT nothing */
    assert_int_equal(bk_slots(&b, wc, 0, mon + 12, s, BK_MAX_SLOTS), 8);
    assert_int_equal(s[7], H(11, 0));
    assert_int_equal(bk_slots(&b, wc, 2, mon + 12, s, BK_MAX_SLOTS), 0);

    /* booking/make, on Monday at 08:00: the holiday and the Sunday refused
     * as bad_day, the make-up Saturday afternoon booked */
    bk_set set = {0};
    bk_entry *e;
    const int32_t now = H(8, 0);
    assert_int_equal(bk_make(&set, &b, wc, 0, mon + 2, H(9, 0), HA, "A", mon, now, 1, &e),
                     QMS_ERR_BAD_DAY);
    assert_int_equal(bk_make(&set, &b, wc, 0, mon + 6, H(9, 0), HA, "A", mon, now, 1, &e),
                     QMS_ERR_BAD_DAY);
    assert_int_equal(bk_make(&set, &b, wc, 2, mon + 12, H(13, 30), HA, "A", mon, now, 1, &e),
                     QMS_ERR_BAD_DAY); /* beyond days_ahead anyway */
    assert_int_equal(set.n, 0);
    assert_int_equal(bk_make(&set, &b, wc, 0, mon + 5, H(14, 0), HA, "A", mon, now, 1, &e),
                     QMS_OK);
    assert_int_equal(bk_make(&set, &b, wc, 2, mon + 5, H(13, 30), HA, "B", mon, now, 1, &e),
                     QMS_OK);
    /* Thursday: open; 12:00 is lunch */
    assert_int_equal(bk_make(&set, &b, wc, 0, mon + 3, H(12, 0), HB, "C", mon, now, 1, &e),
                     QMS_ERR_BAD_SLOT);
    assert_int_equal(bk_make(&set, &b, wc, 0, mon + 3, H(9, 0), HB, "C", mon, now, 1, &e),
                     QMS_OK);
    assert_int_equal(set.n, 3);
    bk_set_free(&set);
    qms_config_free(wc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_make_rules),
        cmocka_unit_test(test_checkin),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_calendar_week),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
