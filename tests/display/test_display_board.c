/* The board model: what the display believes after each message. */
#include "board.h"
#include "render.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1795000000000) /* some morning */

static qms_board *B;

static int feed(const char *topic, const char *payload, qms_board_call *c)
{
    return qms_board_handle(B, topic, payload, payload ? strlen(payload) : 0, c);
}

static int call(const char *ticket, int counter, int64_t seq, int recall, int64_t at)
{
    char p[256];
    snprintf(p, sizeof p,
             "{\"ticket\":\"%s\",\"counter\":%d,\"counter_name_vi\":\"Quầy %d\",\"service\":\"TP\","
             "\"recall\":%s,\"at_ms\":%lld,\"seq\":%lld}",
             ticket, counter, counter, recall ? "true" : "false", (long long)at, (long long)seq);
    qms_board_call c;
    return feed("qms/demo/call", p, &c);
}

static int setup(void **state)
{
    (void)state;
    B = qms_calloc(1, sizeof *B);
    qms_board_init(B, "demo", NULL);
    return B ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    qms_free(B);
    return 0;
}

static void test_config_then_state(void **state)
{
    (void)state;
    /* a counter's state may come before the config: it is kept */
    assert_int_equal(feed("qms/demo/counter/5/state",
                          "{\"counter\":5,\"state\":\"open\",\"ticket\":\"A023\","
                          "\"ticket_state\":\"serving\",\"service\":\"TP\",\"waiting\":7}",
                          NULL),
                     QMS_BOARD_CHANGED);
    char *text;
    size_t len;
    assert_int_equal(qms_read_file(QMS_EXAMPLES "/center.json", &text, &len, 1 << 20), QMS_OK);
    assert_int_equal(qms_board_handle(B, "qms/demo/config", text, len, NULL), QMS_BOARD_CHANGED);
    qms_free(text);
    assert_true(B->have_config);
    assert_int_equal(B->nservices, 17);
    assert_int_equal(B->ncounters, 16);
    assert_string_equal(B->services[0].code, "TP");
    assert_string_equal(B->services[0].name_vi, "Tư pháp - Hộ tịch");
    int ci = qms_board_counter_find(B, 5);
    assert_true(ci >= 0);
    assert_int_equal(B->counters[ci].state, QMS_CTR_OPEN);
    assert_string_equal(B->counters[ci].ticket, "A023");
    assert_true(B->counters[ci].in_config);
    /* a call shows on its counter before the counter's state comes */
    assert_int_equal(call("C077", 5, 77, 0, T0), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    assert_string_equal(B->counters[ci].ticket, "C077");
    assert_string_equal(B->counters[ci].ticket_state, "called");
    /* cleared retained state: unknown again */
    assert_int_equal(feed("qms/demo/counter/5/state", NULL, NULL), QMS_BOARD_CHANGED);
    assert_int_equal(B->counters[ci].state, QMS_CTR_UNKNOWN);
    /* a state naming another counter than its topic is refused */
    assert_int_equal(feed("qms/demo/counter/6/state", "{\"counter\":5,\"state\":\"open\"}", NULL),
                     -QMS_ERR_INVAL);
    assert_int_equal(feed("qms/demo/counter/6/state", "{\"state\":\"dancing\"}", NULL),
                     -QMS_ERR_INVAL);
    /* a bad config leaves the good one */
    assert_int_equal(feed("qms/demo/config", "{\"site\":\"demo\"}", NULL), -QMS_ERR_INVAL);
    assert_int_equal(B->nservices, 17);
    /* other sites and unknown topics are not ours */
    assert_int_equal(feed("qms/other/call", "{}", NULL), 0);
    assert_int_equal(feed("qms/demo/counter/x/state", "{}", NULL), 0);
    assert_int_equal(feed("qms/demo/ticket/take", "{}", NULL), 0);
}

static void test_calls_dedupe_and_recall(void **state)
{
    (void)state;
    assert_int_equal(call("A001", 1, 1, 0, T0), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    assert_int_equal(call("A002", 2, 2, 0, T0 + 1000), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    /* the same event delivered again: nothing new to show or say */
    assert_int_equal(call("A002", 2, 2, 0, T0 + 1000), 0);
    /* a recall: same ticket, new seq: shown and said again */
    qms_board_call c;
    char p[200];
    snprintf(p, sizeof p,
             "{\"ticket\":\"A001\",\"counter\":1,\"recall\":true,\"at_ms\":%lld,\"seq\":3}",
             (long long)(T0 + 2000));
    assert_int_equal(feed("qms/demo/call", p, &c), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    assert_true(c.recall);
    assert_string_equal(c.ticket, "A001");
    assert_int_equal(B->nrecent, 3);
    assert_string_equal(B->recent[0].ticket, "A001");
    assert_int_equal(B->recent[0].seq, 3);
    assert_string_equal(B->recent[1].ticket, "A002");
    /* next morning seq starts again at 1: not a duplicate */
    assert_int_equal(call("B001", 4, 1, 0, T0 + 86400000), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    assert_string_equal(B->recent[0].ticket, "B001");
    /* malformed events change nothing */
    int n = B->nrecent;
    assert_int_equal(feed("qms/demo/call", "{\"ticket\":\"\",\"counter\":1}", NULL),
                     -QMS_ERR_INVAL);
    assert_int_equal(feed("qms/demo/call", "{\"ticket\":\"A1\",\"counter\":1.5}", NULL),
                     -QMS_ERR_INVAL);
    assert_int_equal(feed("qms/demo/call", "{\"ticket\":\"A1\\n\",\"counter\":1}", NULL),
                     -QMS_ERR_INVAL);
    assert_int_equal(feed("qms/demo/call", "{\"ticket\":\"A1\",\"counter\":0}", NULL),
                     -QMS_ERR_INVAL);
    assert_int_equal(feed("qms/demo/call", "[1,2]", NULL), -QMS_ERR_INVAL);
    assert_int_equal(feed("qms/demo/call", "{\"ticket\":\"A1\",\"counter\":1,\"recall\":1}", NULL),
                     -QMS_ERR_INVAL);
    assert_int_equal(B->nrecent, n);
}

static void test_recent_merge(void **state)
{
    (void)state;
    /* an event overtook the retained list: it stays on top */
    assert_int_equal(call("A010", 3, 10, 0, T0 + 10000), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    char p[1024];
    snprintf(p, sizeof p,
             "{\"calls\":[{\"ticket\":\"A009\",\"counter\":2,\"at_ms\":%lld,\"seq\":9},"
             "{\"ticket\":\"bad\"},"
             "{\"ticket\":\"A008\",\"counter\":1,\"at_ms\":%lld,\"seq\":8}]}",
             (long long)(T0 + 9000), (long long)(T0 + 8000));
    assert_int_equal(feed("qms/demo/calls/recent", p, NULL), QMS_BOARD_CHANGED);
    assert_int_equal(B->nrecent, 3);
    assert_string_equal(B->recent[0].ticket, "A010");
    assert_string_equal(B->recent[1].ticket, "A009");
    assert_string_equal(B->recent[2].ticket, "A008");
    /* the list does not make a call "new": nothing is announced from it */
    assert_int_equal(call("A009", 2, 9, 0, T0 + 9000), QMS_BOARD_CHANGED | QMS_BOARD_NEW_CALL);
    assert_int_equal(B->nrecent, 3);
    /* after a controller restart the list is rebuilt with seq 0: the same
     * calls, not new ones */
    snprintf(p, sizeof p,
             "{\"calls\":[{\"ticket\":\"A010\",\"counter\":3,\"at_ms\":%lld,\"seq\":0},"
             "{\"ticket\":\"A009\",\"counter\":2,\"at_ms\":%lld,\"seq\":0}]}",
             (long long)(T0 + 10000), (long long)(T0 + 9000));
    assert_int_equal(feed("qms/demo/calls/recent", p, NULL), QMS_BOARD_CHANGED);
    assert_int_equal(B->nrecent, 2);
    assert_string_equal(B->recent[0].ticket, "A010");
    /* more than 20: the oldest fall off */
    for (int i = 0; i < 25; i++)
        call("C100", 1, 100 + i, 0, T0 + 20000 + i);
    assert_int_equal(B->nrecent, QMS_BOARD_RECENT);
    assert_int_equal(B->recent[0].seq, 124);
    /* an empty list (new day) clears */
    assert_int_equal(feed("qms/demo/calls/recent", "{\"calls\":[]}", NULL), QMS_BOARD_CHANGED);
    assert_int_equal(B->nrecent, 0);
    assert_int_equal(feed("qms/demo/calls/recent", "{\"calls\":7}", NULL), -QMS_ERR_INVAL);
}

static void test_stats_and_controller(void **state)
{
    (void)state;
    assert_int_equal(qms_board_controller_online(B), -1);
    assert_int_equal(feed("qms/demo/device/controller/main/status", "{\"state\":\"online\"}", NULL),
                     QMS_BOARD_CHANGED);
    assert_int_equal(qms_board_controller_online(B), 1);
    assert_int_equal(
        feed("qms/demo/device/controller/main/status", "{\"state\":\"offline\"}", NULL),
        QMS_BOARD_CHANGED);
    assert_int_equal(qms_board_controller_online(B), 0);
    assert_int_equal(feed("qms/demo/device/controller/main/status", "nope", NULL), -QMS_ERR_INVAL);
    assert_int_equal(qms_board_controller_online(B), 0);
    assert_int_equal(feed("qms/demo/device/controller/main/status", NULL, NULL), QMS_BOARD_CHANGED);
    assert_int_equal(qms_board_controller_online(B), -1);

    assert_int_equal(
        feed("qms/demo/stats",
             "{\"at_ms\":1,\"services\":[{\"code\":\"TP\",\"waiting\":4,\"eta_s\":540},"
             "{\"code\":\"DD\",\"waiting\":-3},{\"code\":\"XD\",\"waiting\":0}],"
             "\"today\":{\"taken\":4}}",
             NULL),
        QMS_BOARD_CHANGED);
    assert_int_equal(B->nservices, 2); /* TP and XD; the bad DD entry is skipped */
    assert_string_equal(B->services[0].code, "TP");
    assert_int_equal(B->services[0].waiting, 4);
    assert_int_equal(B->services[0].eta_s, 540);
    assert_int_equal(B->services[1].eta_s, -1);
    assert_int_equal(feed("qms/demo/stats", "{\"services\":{}}", NULL), -QMS_ERR_INVAL);
}

/* Yesterday's last call is not "now serving" once the controller's day
 * (from its stats, which may run on a demo's virtual clock) has moved on. */
static void test_stale_current_call(void **state)
{
    (void)state;
    call("A099", 1, 99, 0, T0);
    assert_non_null(qms_render_current(B, 0));
    char p[200];
    snprintf(p, sizeof p, "{\"at_ms\":%lld,\"services\":[]}", (long long)(T0 + 3600000));
    feed("qms/demo/stats", p, NULL);
    assert_non_null(qms_render_current(B, 0)); /* same day */
    snprintf(p, sizeof p, "{\"at_ms\":%lld,\"services\":[]}", (long long)(T0 + 86400000));
    feed("qms/demo/stats", p, NULL);
    assert_null(qms_render_current(B, 0)); /* the next morning */
    call("B001", 2, 1, 0, T0 + 86400000 + 1000);
    assert_string_equal(qms_render_current(B, 0)->ticket, "B001");
}

static void test_local_config_names(void **state)
{
    (void)state;
    qms_config *c = NULL;
    char err[200];
    assert_int_equal(qms_config_load_file(QMS_EXAMPLES "/center.json", &c, err, sizeof err),
                     QMS_OK);
    qms_board_init(B, "demo", c);
    qms_config_free(c);
    /* names known from the file, but the controller has not spoken */
    assert_false(B->have_config);
    assert_int_equal(B->ncounters, 16);
    assert_string_equal(B->name_vi, "Trung tâm Phục vụ hành chính công tỉnh Mẫu");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_then_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls_dedupe_and_recall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_and_controller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_current_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_config_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
