/* The two classical predictors the expected wait is scored against
 * (docs/eta.md), on small days computed by hand: last-to-enter-service
 * (LES) and queue-length (QL), including counters shared between services.
 *
 * Services A (mean 600 s), B (mean 300 s), C (mean 400 s, no counter).
 * Counters: 1 serves A; 2 serves A and B; 3 serves B. QL divides by every
 * counter that can call the service, shared or not (docs/eta.md: the
 * multi-skill reading of the predictor), so A and B have 2 each; C has none
 * (QL: -1). */
#include "replay.h"

#include "qms/config.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define CFG                                                                                        \
    "{\"site\":\"t\",\"name_vi\":\"Trung tâm\",\"utc_offset_min\":420,"                           \
    "\"hours\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"                                     \
    "\"services\":["                                                                               \
    "{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"A\",\"mean_service_s\":600},"                  \
    "{\"code\":\"B\",\"prefix\":\"B\",\"name_vi\":\"B\",\"mean_service_s\":300},"                  \
    "{\"code\":\"C\",\"prefix\":\"C\",\"name_vi\":\"C\",\"mean_service_s\":400}],"                 \
    "\"counters\":[{\"id\":1,\"services\":[\"A\"]},"                                               \
    "{\"id\":2,\"services\":[\"A\",\"B\"]},{\"id\":3,\"services\":[\"B\"]}]}"

enum { A, B, C };

/* service, arrive, first call, start, done (-1: not yet / never); end =
 * done (no no-shows here) */
static const int day[][5] = {
    /* 1 */ {A, 0, 100, 110, 710},
    /* 2 */ {A, 50, 300, 310, 900},
    /* 3 */ {B, 60, 70, 75, 375},
    /* 4 */ {A, 400, 720, 725, 1325},
    /* 5 */ {A, 450, 1000, 1005, 1605},
    /* 6 */ {B, 500, -1, -1, -1},
    /* 7 */ {C, 600, -1, -1, -1},
    /* 8 */ {A, 800, 1400, 1405, 2000},
    /* 9 */ {B, 1000, 1500, 1505, 1605},
    /* 10 */ {B, 1200, 1500, 1510, 1590},
    /* 11 */ {B, 1600, -1, -1, -1},
    /* 12 */ {B, 1650, 1700, 1705, 1800},
    /* 13 */ {B, 1700, -1, -1, -1},
};
#define NDAY ((int)(sizeof day / sizeof day[0]))

static qms_config *cfg;
static qms_replay_result res;

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (qms_config_parse_json(CFG, strlen(CFG), &cfg, err, sizeof err) != QMS_OK)
        return -1;
    res.n = NDAY;
    res.t = calloc(NDAY, sizeof *res.t);
    if (!res.t)
        return -1;
    for (int i = 0; i < NDAY; i++) {
        qms_replay_ticket *t = &res.t[i];
        t->id = i + 1;
        t->service = day[i][0];
        t->arrive_s = day[i][1];
        t->called_s = day[i][2];
        t->start_s = day[i][3];
        t->done_s = day[i][4];
        t->end_s = day[i][4];
        t->counter = -1;
        t->les_s = t->queue_s = -99; /* must be overwritten */
    }
    qms_replay_predictors(cfg, &res);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(res.t);
    qms_config_free(cfg);
    return 0;
}

static const qms_replay_ticket *tk(int id)
{
    return &res.t[id - 1];
}

/* LES: the wait of the latest first call of the same service before the
 * take. */
static void test_les_latest_call(void **state)
{
    (void)state;
    /* #4 (A, 400): A calls before 400 are #1 at 100 and #2 at 300; the latest
     * is #2, which waited 300 - 50 = 250 (the earliest, #1, waited 100) */
    assert_int_equal(tk(4)->les_s, 250);
    /* #8 (A, 800): the latest A call before 800 is #4 at 720: 720 - 400 */
    assert_int_equal(tk(8)->les_s, 320);
    /* #6 (B, 500): only #3 was called (70 - 60); A's calls do not count */
    assert_int_equal(tk(6)->les_s, 10);
}

static void test_les_nobody_called_yet(void **state)
{
    (void)state;
    assert_int_equal(tk(1)->les_s, 0); /* first of the day */
    assert_int_equal(tk(3)->les_s, 0); /* first of B */
    assert_int_equal(tk(7)->les_s, 0); /* C is never called */
}

static void test_les_ties_and_same_second(void **state)
{
    (void)state;
    /* #11 (B, 1600): #9 and #10 were both first called at 1500; the later
     * ticket (#10, 1500 - 1200) counts, not #9 (500) */
    assert_int_equal(tk(11)->les_s, 300);
    /* #13 (B, 1700): #12 is called at 1700, the same second: calls of that
     * second come after the take, so it is still #10 */
    assert_int_equal(tk(13)->les_s, 300);
}

/* QL: (waiting of the same service + 1) x mean of the last finished
 * services (configured mean before any) / the service's share of counters. */
static void test_ql_shared_counters(void **state)
{
    (void)state;
    /* #4: nobody of A waiting (#1, #2 called), no A finished: 1 x 600 / 2 */
    assert_int_equal(tk(4)->queue_s, 300);
    /* #8: #5 waits (called at 1000); #1 finished (110 -> 710, 600 s): 2 x 600 / 2 */
    assert_int_equal(tk(8)->queue_s, 600);
    /* #6 (B, 500): nobody waiting; #3 finished in 300 s: 1 x 300 / 2 */
    assert_int_equal(tk(6)->queue_s, 150);
    /* #11 (B, 1600): #6 waits; #3 (300 s) and #10 (1510 -> 1590, 80 s) have
     * finished, #9 (done 1605) not yet: 2 x 190 / 2 */
    assert_int_equal(tk(11)->queue_s, 190);
    /* #13 (B, 1700): #6, #11 and #12 (called in the same second, after the
     * take) wait; finished: #3 300, #9 100, #10 80 -> 160: 4 x 160 / 2 */
    assert_int_equal(tk(13)->queue_s, 320);
}

static void test_ql_no_counter(void **state)
{
    (void)state;
    assert_int_equal(tk(7)->queue_s, -1); /* nobody serves C */
}

/* The first ticket of the day: QL from the configured mean and no one ahead. */
static void test_ql_first(void **state)
{
    (void)state;
    assert_int_equal(tk(1)->queue_s, 300); /* 1 x 600 / 2 */
    /* #2 (A, 50): #1 was called at 100, after 50: it is ahead: 2 x 600 / 2 */
    assert_int_equal(tk(2)->queue_s, 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_les_latest_call),
        cmocka_unit_test(test_les_nobody_called_yet),
        cmocka_unit_test(test_les_ties_and_same_second),
        cmocka_unit_test(test_ql_shared_counters),
        cmocka_unit_test(test_ql_no_counter),
        cmocka_unit_test(test_ql_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
