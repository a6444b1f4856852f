/* The center's calendar (qms/calendar.h) over a made-up week, and the CCCD
 * QR parser (qms/cccd.h) on made-up cards. */
#include "qms/alloc.h"
#include "qms/calendar.h"
#include "qms/cccd.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

/* Mon-Fri 07:30-11:30, 13:30-17:00; Sat 07:30-11:30; Sun closed. The week of
 * Monday 2026-12-07: Wednesday 09 is a holiday, Saturday 12 a make-up day
 * worked with Monday's hours. TP issues 07:30-11:00 only; CT 13:00-16:00. */
static const char *const CAL =
    "{\"site\":\"t\",\"name_vi\":\"Trung tâm\",\"hours\":[[\"07:00\",\"18:00\"]],"
    "\"calendar\":{\"week\":{"
    "\"mon\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"tue\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"wed\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"thu\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"fri\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
    "\"sat\":[[\"07:30\",\"11:30\"]]},"
    "\"holidays\":[\"2027-01-01\",\"2026-12-09\"],"
    "\"workdays\":[{\"date\":\"2026-12-12\",\"as\":\"mon\"}]},"
    "\"services\":[{\"code\":\"TP\",\"prefix\":\"A\",\"name_vi\":\"Tư pháp\","
    "\"hours\":[[\"07:30\",\"11:00\"]]},"
    "{\"code\":\"CT\",\"prefix\":\"C\",\"name_vi\":\"Chứng thực\",\"hours\":[[\"13:00\",\"16:00\"]]},"
    "{\"code\":\"DD\",\"prefix\":\"D\",\"name_vi\":\"Đất đai\"}],"
    "\"counters\":[{\"id\":1,\"services\":[\"TP\",\"CT\",\"DD\"]}]}";

static int32_t D(const char *ymd)
{
    int32_t d = 0;
    assert_int_equal(qms_day_parse(ymd, &d), QMS_OK);
    return d;
}

static int64_t at(const char *ymd, const char *hm)
{
    int32_t s = 0;
    assert_int_equal(qms_hhmm_parse(hm, &s), QMS_OK);
    return qms_local_to_epoch_ms(D(ymd), s, 420);
}

static qms_config *load(void)
{
    qms_config *c = NULL;
    char err[256] = "";
    int rc = qms_config_parse_json(CAL, strlen(CAL), &c, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    return c;
}

static void next_is(const qms_config *c, int si, const char *ymd, const char *hm,
                    const char *want_day, const char *want_hm)
{
    int32_t day = 0, sec = 0;
    assert_int_equal(qms_calendar_next_open(c, si, at(ymd, hm), &day, &sec), 1);
    char d[11], h[6];
    qms_day_str(day, d);
    qms_hhmm_str(sec, h);
    assert_string_equal(d, want_day);
    assert_string_equal(h, want_hm);
}

static void test_week(void **state)
{
    (void)state;
    qms_config *c = load();
    assert_int_equal(qms_weekday(D("2026-12-07")), 0);
    assert_int_equal(qms_weekday(D("2026-12-06")), 6);
    assert_string_equal(qms_weekday_name(0, 0), "Thứ Hai");
    assert_string_equal(qms_weekday_name(6, 1), "Sunday");
    /* the week, hour by hour, for the center (-1) */
    static const struct {
        const char *day, *hm;
        int open;
    } cases[] = {
        {"2026-12-07", "07:29", 0}, {"2026-12-07", "07:30", 1}, {"2026-12-07", "11:29", 1},
        {"2026-12-07", "11:30", 0}, {"2026-12-07", "12:00", 0}, {"2026-12-07", "13:30", 1},
        {"2026-12-07", "16:59", 1}, {"2026-12-07", "17:00", 0}, {"2026-12-08", "09:00", 1},
        {"2026-12-09", "09:00", 0}, /* holiday */
        {"2026-12-09", "14:00", 0}, {"2026-12-10", "09:00", 1}, {"2026-12-11", "15:00", 1},
        {"2026-12-12", "09:00", 1}, /* make-up Saturday, Monday's hours */
        {"2026-12-12", "15:00", 1}, /* ... afternoon too */
        {"2026-12-05", "09:00", 1}, /* plain Saturday: morning */
        {"2026-12-05", "15:00", 0}, /* ... not afternoon */
        {"2026-12-06", "09:00", 0}, /* Sunday */
        {"2026-12-13", "09:00", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = qms_calendar_open(c, -1, at(cases[i].day, cases[i].hm));
        if (got != cases[i].open)
            fail_msg("%s %s: open %d, want %d", cases[i].day, cases[i].hm, got, cases[i].open);
    }
    /* a service's hours within the day's: TP 07:30-11:00 every open day */
    assert_true(qms_calendar_open(c, 0, at("2026-12-05", "10:59")));
    assert_false(qms_calendar_open(c, 0, at("2026-12-05", "11:00")));
    assert_false(qms_calendar_open(c, 0, at("2026-12-09", "08:00")));
    /* CT 13:00-16:00 within 13:30-17:00: 13:30-16:00; nothing on Saturday */
    qms_span h[QMS_MAX_SPANS];
    assert_int_equal(qms_calendar_day(c, 1, D("2026-12-07"), h), 1);
    assert_int_equal(h[0].open_s, 13 * 3600 + 1800);
    assert_int_equal(h[0].close_s, 16 * 3600);
    assert_int_equal(qms_calendar_day(c, 1, D("2026-12-05"), h), 0);
    assert_int_equal(qms_calendar_day(c, 1, D("2026-12-12"), h), 1);
    qms_config_free(c);
}

static void test_next_open(void **state)
{
    (void)state;
    qms_config *c = load();
    /* lunch: later today */
    next_is(c, -1, "2026-12-07", "12:00", "2026-12-07", "13:30");
    /* Saturday afternoon -> Monday (Sunday skipped) */
    next_is(c, -1, "2026-12-05", "12:00", "2026-12-07", "07:30");
    next_is(c, -1, "2026-12-06", "10:00", "2026-12-07", "07:30");
    /* Tuesday evening -> Thursday (the Wednesday holiday skipped) */
    next_is(c, -1, "2026-12-08", "17:30", "2026-12-10", "07:30");
    /* Friday evening -> the make-up Saturday */
    next_is(c, -1, "2026-12-11", "18:00", "2026-12-12", "07:30");
    /* CT on Saturday 05 -> Monday 13:30; on the make-up Saturday morning -> 13:30 */
    next_is(c, 1, "2026-12-05", "08:00", "2026-12-07", "13:30");
    next_is(c, 1, "2026-12-12", "08:00", "2026-12-12", "13:30");
    /* New Year's Eve evening: the 1st is a holiday, the 2nd a Saturday */
    next_is(c, -1, "2026-12-31", "18:00", "2027-01-02", "07:30");
    /* words */
    char w[128];
    qms_calendar_next_words(c, -1, at("2026-12-06", "10:00"), 0, w, sizeof w);
    assert_string_equal(w, "Hôm nay nghỉ, mở lại Thứ Hai 07:30");
    qms_calendar_next_words(c, -1, at("2026-12-06", "10:00"), 1, w, sizeof w);
    assert_string_equal(w, "Closed today, open Monday 07:30");
    qms_calendar_next_words(c, -1, at("2026-12-05", "12:00"), 0, w, sizeof w);
    assert_string_equal(w, "Hôm nay đã hết giờ, mở lại Thứ Hai 07:30");
    qms_calendar_next_words(c, -1, at("2026-12-07", "12:00"), 1, w, sizeof w);
    assert_string_equal(w, "Closed now, open again at 13:30");
    qms_config_free(c);
}

static void test_calendar_config(void **state)
{
    (void)state;
    /* serialized and parsed again: the same calendar */
    qms_config *c = load();
    char *js = qms_config_to_json(c);
    assert_non_null(strstr(js, "\"holidays\":[\"2026-12-09\",\"2027-01-01\"]"));
    qms_config *c2 = NULL;
    char err[256];
    assert_int_equal(qms_config_parse_json(js, strlen(js), &c2, err, sizeof err), QMS_OK);
    assert_int_equal(c2->nholidays, 2);
    assert_int_equal(c2->nworkdays, 1);
    assert_int_equal(c2->week_n[6], 0);
    assert_int_equal(c2->week_n[5], 1);
    qms_free(js);
    qms_config_free(c2);
    qms_config_free(c);
    /* without a calendar: `hours` every day, as before */
    const char *old = "{\"name_vi\":\"x\",\"services\":[{\"code\":\"A\",\"prefix\":\"A\","
                      "\"name_vi\":\"a\"}],\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}";
    assert_int_equal(qms_config_parse_json(old, strlen(old), &c, err, sizeof err), QMS_OK);
    assert_true(qms_calendar_open(c, 0, at("2026-12-06", "08:00")));
    qms_config_free(c);
    /* bad calendars, each with its sentence */
    static const struct {
        const char *cal, *words;
    } bad[] = {
        {"\"calendar\":{\"week\":{\"monday\":[]}}", "not a weekday"},
        {"\"calendar\":{\"holidays\":[\"2026-02-30\"]}", "holidays[1]"},
        {"\"calendar\":{\"workdays\":[{\"date\":\"2026-12-12\",\"as\":\"xyz\"}]}", "workdays[1]"},
        {"\"calendar\":{\"week\":{\"sat\":[[\"11:30\",\"07:30\"]]}}", "calendar.week.sat"},
        {"\"calendar\":{\"holiday\":[]}", "unknown key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"name_vi\":\"x\",%s,\"services\":[{\"code\":\"A\",\"prefix\":\"A\","
                 "\"name_vi\":\"a\"}],\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
                 bad[i].cal);
        c = NULL;
        err[0] = 0;
        assert_int_equal(qms_config_parse_json(text, strlen(text), &c, err, sizeof err),
                         QMS_ERR_INVAL);
        if (!strstr(err, bad[i].words))
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].cal, err, bad[i].words);
    }
}

/* Made-up cards: no real person. */
static void test_cccd(void **state)
{
    (void)state;
    char n[13];
    const char *ok = "001090012345|123456789|Nguyễn Văn An|15031990|Nam|Số 1 Tràng Tiền, "
                     "Hoàn Kiếm, Hà Nội|20062021";
    assert_true(qms_cccd_parse(ok, strlen(ok), n));
    assert_string_equal(n, "001090012345");
    char crlf[300];
    snprintf(crlf, sizeof crlf, "%s\r\n", ok);
    assert_true(qms_cccd_parse(crlf, strlen(crlf), n));
    /* no old number; born 2003, a woman (digit 3) */
    const char *nu = "079303000111||Trần Thị Bình|01012003|Nữ|Quận 1, TP Hồ Chí Minh|02022022";
    assert_true(qms_cccd_parse(nu, strlen(nu), n));
    assert_string_equal(n, "079303000111");
    static const char *const bad[] = {
        "",
        "001090012345",
        "00109001234|123456789|A|15031990|Nam|X|20062021",    /* 11 digits */
        "00109001234A|123456789|A|15031990|Nam|X|20062021",   /* a letter */
        "001090012345|12345678|A|15031990|Nam|X|20062021",    /* old number of 8 */
        "001090012345|123456789||15031990|Nam|X|20062021",    /* no name */
        "001090012345|123456789|A|31021990|Nam|X|20062021",   /* 31 February */
        "001090012345|123456789|A|15031991|Nam|X|20062021",   /* year digits disagree */
        "001290012345|123456789|A|15031990|Nam|X|20062021",   /* century digit says 2000s */
        "001190012345|123456789|A|15031990|Nam|X|20062021",   /* odd digit: a woman */
        "001090012345|123456789|A|15031990|Nam|X|20062021|x", /* 8 fields */
        "001090012345|123456789|A|15031990|Nam|X",            /* 6 fields */
        "001090012345|123456789|A|15031990|Nam|X|01011989",   /* issued before birth */
        "001090012345|123456789|A\tB|15031990|Nam|X|20062021", /* control char */
        "001090012345|123456789|A\xC3|15031990|Nam|X|20062021", /* cut UTF-8 */
        "ADEF-3479",                                           /* a booking code */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (qms_cccd_parse(bad[i], strlen(bad[i]), n))
            fail_msg("accepted bad card %zu", i);
        assert_string_equal(n, "");
    }
    assert_true(qms_cccd_number_valid("001090012345"));
    assert_false(qms_cccd_number_valid("00109001234"));
    assert_false(qms_cccd_number_valid("0010900123456"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_week),
        cmocka_unit_test(test_next_open),
        cmocka_unit_test(test_calendar_config),
        cmocka_unit_test(test_cccd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
