#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/file.h"
#include "qms/mqtt.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_err_codes_roundtrip(void **state)
{
    (void)state;
    for (int e = 0; e < QMS_ERR__COUNT; e++) {
        assert_int_equal(qms_err_from_code(qms_err_code(e)), e);
        assert_non_null(qms_err_message(e, "vi"));
        assert_non_null(qms_err_message(e, "en"));
    }
    assert_string_equal(qms_err_code(QMS_ERR_UNKNOWN_SERVICE), "unknown_service");
    assert_string_equal(qms_err_code(9999), "unknown_error");
}

static void test_clock_calendar(void **state)
{
    (void)state;
    int32_t day;
    assert_int_equal(qms_day_parse("2026-11-26", &day), QMS_OK);
    char s[11];
    qms_day_str(day, s);
    assert_string_equal(s, "2026-11-26");
    assert_int_equal(qms_day_parse("2026-02-30", &day), QMS_ERR_INVAL);
    assert_int_equal(qms_day_parse("2026-1-1", &day), QMS_ERR_INVAL);
    /* 2026-11-26 07:30 in Vietnam (UTC+7) is 00:30 UTC */
    qms_day_parse("2026-11-26", &day);
    int64_t t = qms_local_to_epoch_ms(day, 7 * 3600 + 1800, 420);
    assert_int_equal(qms_local_day(t, 420), day);
    assert_int_equal(qms_local_sec(t, 420), 7 * 3600 + 1800);
    assert_int_equal(qms_local_day(t, 0), day);
    assert_int_equal(qms_local_sec(t, 0), 1800);
    /* 23:30 local is still the same local day though UTC is the same date */
    int64_t late = qms_local_to_epoch_ms(day, 23 * 3600 + 1800, 420);
    assert_int_equal(qms_local_day(late, 420), day);
    int32_t sec;
    assert_int_equal(qms_hhmm_parse("07:30", &sec), QMS_OK);
    assert_int_equal(sec, 27000);
    assert_int_equal(qms_hhmm_parse("24:00", &sec), QMS_OK);
    assert_int_equal(qms_hhmm_parse("24:01", &sec), QMS_ERR_INVAL);
    assert_int_equal(qms_hhmm_parse("7h30", &sec), QMS_ERR_INVAL);
    qms_vclock v;
    qms_vclock_init(&v, 1000);
    assert_int_equal(qms_now(&v.clock), 1000);
    qms_vclock_set(&v, 5000);
    assert_int_equal(qms_now(&v.clock), 5000);
}

/* The clock that follows the controller's status: real time until a clock
 * arrives, then the controller's time running at its speed; a bad clock is
 * refused and the one known kept. */
static void test_follow_clock(void **state)
{
    (void)state;
    qms_fclock f;
    qms_fclock_init(&f);
    int64_t real = qms_now(&qms_clock_real);
    assert_true(llabs(qms_now(&f.clock) - real) < 5000);
    char js[256];
    /* the controller read 2026-11-26 08:00 (+07) one real minute ago, at 60x */
    int64_t at = 1764118800000LL;
    snprintf(js, sizeof js,
             "{\"state\":\"online\",\"clock\":{\"at_ms\":%lld,\"real_ms\":%lld,\"speed\":60}}",
             (long long)at, (long long)(real - 60000));
    assert_int_equal(qms_fclock_from_status(&f, js, strlen(js)), 1);
    assert_int_equal(qms_fclock_from_status(&f, js, strlen(js)), 0); /* the same again */
    int64_t now = qms_now(&f.clock);
    assert_in_range(now - at, 3600000 - 1000, 3600000 + 60 * 5000); /* an hour on */
    assert_int_equal(qms_local_sec(now, 420) / 3600, 9);
    const char *bad[] = {
        "{\"clock\":{\"at_ms\":1764118800000,\"real_ms\":1764118800000,\"speed\":0}}",
        "{\"clock\":{\"at_ms\":1764118800000,\"real_ms\":1764118800000,\"speed\":1e9}}",
        "{\"clock\":{\"at_ms\":-5,\"real_ms\":1764118800000,\"speed\":1}}",
        "{\"clock\":{\"at_ms\":1764118800000,\"real_ms\":\"x\",\"speed\":1}}",
        "{\"clock\":{\"at_ms\":1e300,\"real_ms\":1764118800000,\"speed\":1}}",
        "{\"clock\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(qms_fclock_from_status(&f, bad[i], strlen(bad[i])), -QMS_ERR_INVAL);
    assert_true(f.have && f.at_ms == at && f.speed == 60);
    /* no clock (an older controller, the last will): nothing changes */
    assert_int_equal(qms_fclock_from_status(&f, "{\"state\":\"offline\"}", 19), 0);
    assert_int_equal(qms_fclock_from_status(&f, "", 0), 0);
    assert_int_equal(qms_fclock_from_status(&f, "{\"clock\":", 9), 0); /* not JSON */
    assert_true(f.have && f.at_ms == at && f.speed == 60);
}

static void test_csv_reader(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF"
                       "a,b,c\r\n\r\n1,\"x, \"\"y\"\"\",\n\"multi\nline\",2,3";
    qms_csv r;
    qms_csv_init(&r, text, strlen(text));
    assert_int_equal(qms_csv_next(&r), 1);
    assert_int_equal(r.nfields, 3);
    assert_string_equal(r.fields[0], "a");
    assert_int_equal(qms_csv_find(&r, "c"), 2);
    assert_int_equal(qms_csv_next(&r), 1);
    assert_int_equal(r.nfields, 3);
    assert_string_equal(r.fields[1], "x, \"y\"");
    assert_string_equal(r.fields[2], "");
    assert_int_equal(qms_csv_next(&r), 1);
    assert_string_equal(r.fields[0], "multi\nline");
    assert_int_equal(qms_csv_next(&r), 0);
    qms_csv_free(&r);
    const char *bad = "a,\"unterminated\n";
    qms_csv_init(&r, bad, strlen(bad));
    assert_true(qms_csv_next(&r) < 0);
    qms_csv_free(&r);
}

static void test_config_example_json(void **state)
{
    (void)state;
    qms_config *c;
    char err[256];
    int rc = qms_config_load_file(QMS_EXAMPLES "/center.json", &c, err, sizeof err);
    assert_int_equal(rc, QMS_OK);
    assert_int_equal(c->nservices, 17);
    assert_int_equal(c->ncounters, 16);
    assert_string_equal(c->site, "demo");
    int tp = qms_config_service_index(c, "TP");
    assert_int_equal(tp, 0);
    assert_string_equal(c->services[tp].name_vi, "Tư pháp - Hộ tịch");
    char label[16];
    qms_ticket_label(c, tp, 23, label, sizeof label);
    assert_string_equal(label, "A023");
    assert_int_equal(qms_config_service_capacity(c, tp), 999);
    int k12 = qms_config_counter_index(c, 12);
    assert_int_equal(c->counters[k12].nservices, 4);
    assert_true(qms_config_counter_serves(c, k12, qms_config_service_index(c, "GT")));
    assert_false(qms_config_counter_serves(c, k12, tp));
    assert_true(qms_config_service_open(c, tp, 8 * 3600));
    assert_false(qms_config_service_open(c, tp, 12 * 3600));
    assert_false(qms_config_service_open(c, tp, 17 * 3600));
    /* the bus: a counter unit at n, its LED board at 100+n, its rating keys at
     * 150+n for each counter n, and the hall board at 200 */
    assert_int_equal(c->nbus, 3 * 16 + 1);
    int seen[256] = {0};
    for (int i = 0; i < c->nbus; i++) {
        const qms_bus_unit *u = &c->bus[i];
        assert_int_equal(u->line, 1);
        seen[u->address]++;
        if (u->kind == QMS_UNIT_COUNTER)
            assert_int_equal(u->address, u->counter);
        else if (u->kind == QMS_UNIT_LED)
            assert_int_equal(u->address, 100 + u->counter);
        else if (u->kind == QMS_UNIT_RATING)
            assert_int_equal(u->address, 150 + u->counter);
        else
            assert_true(u->kind == QMS_UNIT_HALL && u->address == 200 && u->counter == 0);
    }
    for (int n = 1; n <= 16; n++)
        assert_true(seen[n] == 1 && seen[100 + n] == 1 && seen[150 + n] == 1);
    assert_int_equal(seen[200], 1);
    assert_string_equal(qms_unit_kind_name(QMS_UNIT_LED), "led");
    assert_int_equal(qms_unit_kind_parse("rating"), QMS_UNIT_RATING);
    assert_int_equal(qms_unit_kind_parse("board"), 0);
    assert_null(qms_unit_kind_name(9));
    /* serialize -> parse -> same */
    char *js = qms_config_to_json(c);
    qms_config *c2;
    assert_int_equal(qms_config_parse_json(js, strlen(js), &c2, err, sizeof err), QMS_OK);
    char *js2 = qms_config_to_json(c2);
    assert_string_equal(js, js2);
    qms_free(js);
    qms_free(js2);
    qms_config_free(c2);
    qms_config_free(c);
}

static void test_config_csv_matches_json(void **state)
{
    (void)state;
    qms_config *a, *b;
    char err[256];
    assert_int_equal(qms_config_load_csv(QMS_EXAMPLES "/services.csv", QMS_EXAMPLES "/counters.csv",
                                         &a, err, sizeof err),
                     QMS_OK);
    assert_int_equal(qms_config_load_file(QMS_EXAMPLES "/center.json", &b, err, sizeof err),
                     QMS_OK);
    assert_int_equal(a->nservices, b->nservices);
    assert_int_equal(a->ncounters, b->ncounters);
    for (int i = 0; i < a->nservices; i++) {
        assert_string_equal(a->services[i].code, b->services[i].code);
        assert_string_equal(a->services[i].name_vi, b->services[i].name_vi);
        assert_int_equal(a->services[i].mean_service_s, b->services[i].mean_service_s);
    }
    for (int i = 0; i < a->ncounters; i++) {
        assert_int_equal(a->counters[i].nservices, b->counters[i].nservices);
        assert_memory_equal(a->counters[i].services, b->counters[i].services,
                            sizeof(int) * (size_t)a->counters[i].nservices);
    }
    qms_config_free(a);
    qms_config_free(b);
}

static void expect_bad(const char *json, const char *needle)
{
    qms_config *c = (qms_config *)1;
    char err[256] = "";
    assert_int_equal(qms_config_parse_json(json, strlen(json), &c, err, sizeof err), QMS_ERR_INVAL);
    assert_null(c);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_bad("{", "not valid JSON");
    expect_bad("[]", "object");
    expect_bad("{\"name_vi\":\"X\",\"services\":[]}", "services");
    expect_bad(
        "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"a\"}],"
        "\"counters\":[{\"id\":1,\"services\":[\"ZZ\"]}]}",
        "unknown service ZZ");
    expect_bad(
        "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"a\"},"
        "{\"code\":\"B\",\"prefix\":\"A\",\"name_vi\":\"b\"}],"
        "\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
        "same prefix");
    expect_bad(
        "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"prefix\":\"a\",\"name_vi\":\"a\"}],"
        "\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
        "prefix");
    expect_bad(
        "{\"name_vi\":\"X\",\"hours\":[[\"08:00\",\"07:00\"]],\"services\":[{\"code\":\"A\","
        "\"prefix\":\"A\",\"name_vi\":\"a\"}],\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
        "opening before closing");
    /* out-of-range and fractional numbers (found by the fuzzer: a float cast overflow) */
    expect_bad(
        "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"a\","
        "\"mean_service_s\":1e300}],\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
        "mean_service_s");
    expect_bad(
        "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"range\":[1.5,9],\"name_vi\":\"a\"}],"
        "\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
        "range");
    expect_bad(
        "{\"name_vi\":\"X\",\"rating_levels\":7,\"services\":[{\"code\":\"A\",\"prefix\":\"A\","
        "\"name_vi\":\"a\"}],\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}",
        "rating_levels");
    expect_bad(
        "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"a\"}],"
        "\"counters\":[{\"id\":1,\"services\":[\"A\"]},{\"id\":1,\"services\":[\"A\"]}]}",
        "counter 1 appears twice");
    /* the bus section */
#define BUS_CFG(units)                                                                             \
    "{\"name_vi\":\"X\",\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"a\"}],"       \
    "\"counters\":[{\"id\":1,\"services\":[\"A\"]}],\"bus\":" units "}"
    expect_bad(BUS_CFG("{}"), "\"bus\" must be a list");
    expect_bad(BUS_CFG("[3]"), "bus unit 1 must be an object");
    expect_bad(BUS_CFG("[{\"kind\":\"counter\",\"counter\":1}]"), "missing \"address\"");
    expect_bad(BUS_CFG("[{\"address\":248,\"kind\":\"counter\",\"counter\":1}]"), "1..247");
    expect_bad(BUS_CFG("[{\"address\":0,\"kind\":\"counter\",\"counter\":1}]"), "1..247");
    expect_bad(BUS_CFG("[{\"address\":3,\"kind\":\"keypad\",\"counter\":1}]"),
               "bus unit 3: \"kind\" must be");
    expect_bad(BUS_CFG("[{\"address\":3,\"kind\":\"counter\"}]"),
               "bus unit 3: a counter unit needs \"counter\"");
    expect_bad(BUS_CFG("[{\"address\":3,\"kind\":\"rating\",\"counter\":2}]"),
               "bus unit 3: unknown counter 2");
    expect_bad(BUS_CFG("[{\"address\":200,\"kind\":\"hall\",\"counter\":1}]"),
               "belongs to no counter");
    expect_bad(BUS_CFG("[{\"address\":1,\"kind\":\"counter\",\"counter\":1},"
                       "{\"address\":1,\"kind\":\"led\",\"counter\":1}]"),
               "address 1 appears twice on line 1");
    expect_bad(BUS_CFG("[{\"address\":1,\"kind\":\"counter\",\"counter\":1,\"line\":0}]"),
               "\"line\" must be");
    /* the same address on two lines is two units */
    qms_config *c = NULL;
    char err[256];
    const char *two = BUS_CFG("[{\"address\":1,\"kind\":\"counter\",\"counter\":1},"
                              "{\"address\":1,\"kind\":\"led\",\"counter\":1,\"line\":2}]");
    assert_int_equal(qms_config_parse_json(two, strlen(two), &c, err, sizeof err), QMS_OK);
    assert_int_equal(c->nbus, 2);
    assert_int_equal(c->bus[1].line, 2);
    assert_int_equal(c->bus[1].kind, QMS_UNIT_LED);
    qms_config_free(c);
#undef BUS_CFG
}

static void test_config_alloc_failures(void **state)
{
    (void)state;
    char *text;
    size_t len;
    assert_int_equal(qms_read_file(QMS_EXAMPLES "/center.json", &text, &len, 1 << 20), QMS_OK);
    /* every allocation failure point must end in a clean error, never a crash or leak */
    for (long n = 0;; n++) {
        qms_config *c = NULL;
        char err[128];
        qms_alloc_fail_after(n);
        int rc = qms_config_parse_json(text, len, &c, err, sizeof err);
        qms_alloc_fail_after(-1);
        if (rc == QMS_OK) {
            qms_config_free(c);
            assert_true(n > 10);
            break;
        }
        assert_int_equal(rc, QMS_ERR_NOMEM);
        assert_null(c);
    }
    qms_free(text);
}

/* The rating words: the top level is always "very satisfied", whatever the
 * scale, so the SIPAS share (top two) means the same on 3, 4 and 5 levels. */
static void test_rating_text(void **state)
{
    (void)state;
    assert_string_equal(qms_rating_text(1, 4, 0), "Không hài lòng");
    assert_string_equal(qms_rating_text(4, 4, 0), "Rất hài lòng");
    assert_string_equal(qms_rating_text(2, 3, 1), "Satisfied");
    assert_string_equal(qms_rating_text(3, 3, 1), "Very satisfied");
    assert_string_equal(qms_rating_text(2, 4, 0), "Bình thường");
    assert_string_equal(qms_rating_text(1, 5, 1), "Very unsatisfied");
    assert_string_equal(qms_rating_text(5, 4, 0), "?");
    assert_string_equal(qms_rating_text(1, 2, 0), "?");
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static int write_half_then_fail(FILE *f, void *ctx)
{
    (void)ctx;
    fputs("half", f);
    return QMS_ERR_IO;
}

/* A file is replaced whole or not at all, and no temporary file is left. */
static void test_file_replace(void **state)
{
    (void)state;
    char dir[512], path[600], tmp[700], sub[600];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "file"), 0);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(qms_file_replace_data(path, "first", 5), QMS_OK);
    assert_string_equal(slurp(path), "first");
    assert_int_equal(qms_file_replace_data(path, "second", 6), QMS_OK);
    assert_string_equal(slurp(path), "second");
    /* a writer that fails: the old content stays, the half file is gone */
    assert_int_equal(qms_file_replace(path, write_half_then_fail, NULL), QMS_ERR_IO);
    assert_string_equal(slurp(path), "second");
    assert_int_equal(access(tmp, F_OK), -1);
    /* a folder that does not exist */
    snprintf(sub, sizeof sub, "%s/none/b.txt", dir);
    assert_int_equal(qms_file_replace_data(sub, "x", 1), QMS_ERR_IO);
    assert_int_equal(qms_file_replace_data(path, "", 0), QMS_OK);
    assert_string_equal(slurp(path), "");
    qms_test_rmdir(dir);
}

/* A path that is not a regular file (a pipe, /dev/null, /dev/stdout) is
 * written in place, never renamed over: "--out /dev/null" must not replace
 * the device with a file. */
static void test_file_replace_device(void **state)
{
    (void)state;
    char dir[512], fifo[600], tmp[700];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "fifo"), 0);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(qms_file_replace_data(fifo, "through", 7), QMS_OK);
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(access(tmp, F_OK), -1);
    char got[16] = {0};
    assert_int_equal(read(rd, got, sizeof got - 1), 7);
    assert_string_equal(got, "through");
    close(rd);
    qms_test_rmdir(dir);
}

/* qms_say: the error out-parameter, cut to its size, and nothing for NULL. */
static void test_say(void **state)
{
    (void)state;
    char b[8];
    qms_say(b, sizeof b, "line %d: %s", 12, "bad time");
    assert_string_equal(b, "line 12");
    qms_say(NULL, 10, "x");
    b[0] = 'z';
    qms_say(b, 0, "x");
    assert_int_equal(b[0], 'z');
}

/* qms_fail: says the same as qms_say and returns the code it was given. */
static void test_fail(void **state)
{
    (void)state;
    char b[8];
    assert_int_equal(qms_fail(b, sizeof b, QMS_ERR_INVAL, "line %d: %s", 12, "bad"), QMS_ERR_INVAL);
    assert_string_equal(b, "line 12");
    assert_int_equal(qms_fail(NULL, 10, QMS_ERR_NOMEM, "x"), QMS_ERR_NOMEM);
    b[0] = 'z';
    assert_int_equal(qms_fail(b, 0, 7, "x"), 7);
    assert_int_equal(b[0], 'z');
}

static void test_hostport(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(qms_parse_hostport("127.0.0.1:1884", host, sizeof host, &port), QMS_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 1884);
    assert_int_equal(qms_parse_hostport("localhost", host, sizeof host, &port), QMS_OK);
    assert_int_equal(port, 1883);
    assert_int_equal(qms_parse_hostport("h:99999", host, sizeof host, &port), QMS_ERR_INVAL);
    assert_int_equal(qms_parse_hostport(":1", host, sizeof host, &port), QMS_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_codes_roundtrip),
        cmocka_unit_test(test_clock_calendar),
        cmocka_unit_test(test_follow_clock),
        cmocka_unit_test(test_csv_reader),
        cmocka_unit_test(test_config_example_json),
        cmocka_unit_test(test_config_csv_matches_json),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_alloc_failures),
        cmocka_unit_test(test_rating_text),
        cmocka_unit_test(test_file_replace),
        cmocka_unit_test(test_file_replace_device),
        cmocka_unit_test(test_say),
        cmocka_unit_test(test_fail),
        cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
