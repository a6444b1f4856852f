/* qms-controller through its protocol: a real mosquitto, the real binary, a
 * temporary store. Every operation, an outside client (mosquitto_rr), request
 * de-duplication, a table of malformed payloads, retained state, config reload,
 * a clean stop, the day rollover, and a failing disk. */
#include "harness.h"

#include "engine.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* One request, its reply checked for a field. */
static cJSON *must(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json)
{
    cJSON *o = env_req(e, m, suffix, json);
    if (!o)
        fail_msg("no reply to %s on %s", json, suffix);
    return o;
}

static void expect_ok(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json,
                      const char *ticket, const char *tstate)
{
    cJSON *o = must(e, m, suffix, json);
    if (js_str(o, "error"))
        fail_msg("%s refused: %s", json, js_str(o, "error"));
    if (ticket) {
        if (!js_str(o, "ticket") || strcmp(js_str(o, "ticket"), ticket) != 0)
            fail_msg("%s: ticket %s, want %s", json, js_str(o, "ticket"), ticket);
    }
    if (tstate) {
        if (!js_str(o, "ticket_state") || strcmp(js_str(o, "ticket_state"), tstate) != 0)
            fail_msg("%s: ticket_state %s, want %s", json, js_str(o, "ticket_state"), tstate);
    }
    cJSON_Delete(o);
}

static void expect_err(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json,
                       const char *code)
{
    cJSON *o = must(e, m, suffix, json);
    if (!js_str(o, "error") || strcmp(js_str(o, "error"), code) != 0)
        fail_msg("%s: error %s, want %s", json, js_str(o, "error"), code);
    assert_non_null(js_str(o, "message"));
    cJSON_Delete(o);
}

static void test_every_operation(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    const char *pats[] = {"qms/t1/#", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "display", pats), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    qms_mqtt *c = env_client(&e, "counters");
    assert_non_null(k);

    cJSON *o =
        must(&e, k, "ticket/take", "{\"req\":\"k-1\",\"service\":\"TP\",\"priority\":false}");
    assert_string_equal(js_str(o, "ticket"), "A0001");
    assert_string_equal(js_str(o, "req"), "k-1");
    assert_int_equal((int)js_num(o, "ahead"), 0);
    assert_true(js_num(o, "eta_s") >= 0);
    assert_string_equal(js_str(o, "service_name_vi"), "Tư pháp - Hộ tịch");
    assert_string_equal(js_str(o, "day"), "2026-11-26");
    double a1_taken = js_num(o, "taken_ms");
    cJSON_Delete(o);
    o = must(&e, k, "ticket/take", "{\"req\":\"k-2\",\"service\":\"TP\",\"priority\":\"elderly\"}");
    assert_string_equal(js_str(o, "ticket"), "A0002");
    assert_int_equal((int)js_num(o, "priority"), 1);
    assert_int_equal((int)js_num(o, "ahead"), 0); /* priority goes first */
    cJSON_Delete(o);
    /* a booked citizen checks in with the booking's code (docs/booking.md) */
    char code[9], take3[160];
    assert_int_equal(env_book(&e, k, "DD", "09:00", "001099012345", code), 0);
    snprintf(take3, sizeof take3,
             "{\"req\":\"k-3\",\"service\":\"DD\",\"appointment\":\"%s\",\"lang\":\"en\"}", code);
    o = must(&e, k, "ticket/take", take3);
    assert_string_equal(js_str(o, "ticket"), "B0001");
    assert_int_equal((int)js_num(o, "priority"), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "booked")));
    assert_string_equal(js_str(o, "slot"), "09:00");
    cJSON_Delete(o);
    expect_ok(&e, k, "ticket/take", "{\"req\":\"k-4\",\"service\":\"XD\"}", "C0001", NULL);

    /* counter 1's waiting list: what a clerk needs of each, in call order */
    o = must(&e, c, "counter/1/cmd", "{\"req\":\"c1-0\",\"op\":\"status\"}");
    cJSON *q = cJSON_GetObjectItem(o, "queue");
    assert_int_equal(cJSON_GetArraySize(q), 3);
    assert_int_equal((int)js_num(o, "queue_len"), 3);
    const struct {
        const char *ticket, *service, *appt;
        int priority;
    } want_q[] = {{"B0001", "DD", code, 2}, {"A0002", "TP", NULL, 1}, {"A0001", "TP", NULL, 0}};
    for (int j = 0; j < 3; j++) {
        cJSON *qe = cJSON_GetArrayItem(q, j);
        assert_true(cJSON_IsObject(qe));
        assert_string_equal(js_str(qe, "ticket"), want_q[j].ticket);
        assert_string_equal(js_str(qe, "service"), want_q[j].service);
        assert_int_equal((int)js_num(qe, "priority"), want_q[j].priority);
        if (want_q[j].appt)
            assert_string_equal(js_str(qe, "appointment"), want_q[j].appt);
        else
            assert_null(cJSON_GetObjectItem(qe, "appointment"));
        assert_true(js_num(qe, "taken_ms") >= a1_taken);
        if (j == 2)
            assert_true(js_num(qe, "taken_ms") == a1_taken);
    }
    cJSON_Delete(o);
    /* the retained list says the same */
    assert_true(coll_wait(&col, 0, "qms/t1/counter/1/queue",
                          "\"queue\":[{\"ticket\":\"B0001\",\"service\":\"DD\",\"priority\":2,",
                          3000) >= 0);

    /* counter 1 (TP, DD): the appointment first */
    int from = col.n;
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-1\",\"op\":\"next\"}", "B0001", "called");
    int i = coll_wait(&col, from, "qms/t1/call", "\"B0001\"", 3000);
    assert_true(i >= 0);
    cJSON *ev = cJSON_Parse(col.v[i].payload);
    assert_int_equal((int)js_num(ev, "counter"), 1);
    assert_string_equal(js_str(ev, "counter_name_vi"), "Quầy 1");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(ev, "recall")));
    double seq1 = js_num(ev, "seq");
    cJSON_Delete(ev);
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-2\",\"op\":\"recall\"}", "B0001", "called");
    i = coll_wait(&col, i + 1, "qms/t1/call", "\"recall\":true", 3000);
    assert_true(i >= 0);
    ev = cJSON_Parse(col.v[i].payload);
    assert_true(js_num(ev, "seq") == seq1 + 1);
    cJSON_Delete(ev);
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-3\",\"op\":\"start\"}", "B0001", "serving");
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-4\",\"op\":\"done\"}", "B0001", "done");
    /* a level above the center's scale (4): refused in words that say the scale */
    cJSON *bad = must(&e, c, "counter/1/cmd", "{\"req\":\"c1-5a\",\"op\":\"rate\",\"level\":5}");
    assert_string_equal(js_str(bad, "error"), "invalid");
    assert_string_equal(js_str(bad, "message"),
                        "Không có mức đánh giá này: các mức từ 1 (kém nhất) đến 4 (tốt nhất)");
    cJSON_Delete(bad);
    bad = must(&e, c, "counter/1/cmd",
               "{\"req\":\"c1-5b\",\"op\":\"rate\",\"level\":9,\"lang\":\"en\"}");
    assert_string_equal(js_str(bad, "message"),
                        "No such rating: the levels are 1 (worst) to 4 (best)");
    cJSON_Delete(bad);
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-5\",\"op\":\"rate\",\"level\":4}", "B0001",
              NULL);

    /* counter 3 (TP, XD): the elderly citizen; a no-show, called back, transferred */
    expect_ok(&e, c, "counter/3/cmd", "{\"req\":\"c3-1\",\"op\":\"next\"}", "A0002", "called");
    expect_ok(&e, c, "counter/3/cmd", "{\"req\":\"c3-2\",\"op\":\"skip\"}", "A0002", "noshow");
    expect_ok(&e, c, "counter/3/cmd", "{\"req\":\"c3-3\",\"op\":\"call\",\"ticket\":\"A0002\"}",
              "A0002", "called");
    o = must(&e, c, "counter/3/cmd", "{\"req\":\"c3-4\",\"op\":\"transfer\",\"service\":\"DD\"}");
    assert_string_equal(js_str(o, "ticket"), "A0002");
    assert_string_equal(js_str(o, "ticket_state"), "waiting");
    assert_string_equal(js_str(o, "service"), "DD");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "current")));
    cJSON_Delete(o);
    /* counter 2 (DD only) gets it, and sends it on to counter 3 */
    expect_ok(&e, c, "counter/2/cmd", "{\"req\":\"c2-1\",\"op\":\"next\"}", "A0002", "called");
    expect_ok(&e, c, "counter/2/cmd", "{\"req\":\"c2-2\",\"op\":\"transfer\",\"to_counter\":3}",
              "A0002", "waiting");
    expect_ok(&e, c, "counter/3/cmd", "{\"req\":\"c3-5\",\"op\":\"next\"}", "A0002", "called");

    /* pause / resume / close / open */
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-6\",\"op\":\"pause\"}", NULL, NULL);
    expect_err(&e, c, "counter/1/cmd", "{\"req\":\"c1-7\",\"op\":\"next\"}", "counter_closed");
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-8\",\"op\":\"resume\"}", NULL, NULL);
    expect_ok(&e, c, "counter/1/cmd", "{\"req\":\"c1-9\",\"op\":\"close\"}", NULL, NULL);
    o = must(&e, c, "counter/1/cmd",
             "{\"req\":\"c1-10\",\"op\":\"open\",\"staff\":\"Nguyễn Thị Hoa\"}");
    assert_string_equal(js_str(o, "state"), "open");
    cJSON_Delete(o);
    o = must(&e, c, "counter/1/cmd", "{\"req\":\"c1-11\",\"op\":\"status\"}");
    assert_string_equal(js_str(o, "state"), "open");
    q = cJSON_GetObjectItem(o, "queue");
    assert_int_equal(cJSON_GetArraySize(q), 1);
    assert_string_equal(js_str(cJSON_GetArrayItem(q, 0), "ticket"), "A0001");
    assert_int_equal((int)js_num(o, "waiting"), 1);
    cJSON_Delete(o);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/1/queue", "[{\"ticket\":\"A0001\"", 3000) >= 0);

    /* cancel by number and by id */
    expect_ok(&e, k, "ticket/cancel",
              "{\"req\":\"k-5\",\"ticket\":\"C0001\",\"reason\":\"print_failed\"}", "C0001",
              "cancelled");
    expect_err(&e, k, "ticket/cancel", "{\"req\":\"k-6\",\"ticket\":\"C0001\"}", "bad_state");
    expect_ok(&e, k, "ticket/cancel", "{\"req\":\"k-7\",\"id\":1}", "A0001", "cancelled");
    expect_err(&e, k, "ticket/cancel", "{\"req\":\"k-8\",\"id\":999}", "unknown_ticket");

    /* refusals of the engine */
    expect_err(&e, c, "counter/3/cmd", "{\"req\":\"c3-6\",\"op\":\"next\"}", "nothing_to_call");
    expect_err(&e, c, "counter/9/cmd", "{\"req\":\"c9-1\",\"op\":\"next\"}", "unknown_counter");
    expect_err(&e, k, "ticket/take", "{\"req\":\"k-9\",\"service\":\"ZZ\"}", "unknown_service");
    expect_err(&e, c, "counter/3/cmd", "{\"req\":\"c3-7\",\"op\":\"call\",\"ticket\":\"Z999\"}",
               "unknown_ticket");
    expect_err(&e, c, "counter/2/cmd", "{\"req\":\"c2-3\",\"op\":\"recall\"}", "bad_state");
    expect_err(&e, c, "counter/3/cmd", "{\"req\":\"c3-8\",\"op\":\"transfer\",\"service\":\"QQ\"}",
               "unknown_service");
    /* a refusal in English when asked */
    o = must(&e, c, "counter/2/cmd", "{\"req\":\"c2-4\",\"op\":\"recall\",\"lang\":\"en\"}");
    assert_string_equal(js_str(o, "message"),
                        "counter 2 has no ticket called: press next (or call a number) first");
    cJSON_Delete(o);

    /* retained state: counter 1 shows who is there; the stats count the day */
    assert_true(coll_wait(&col, 0, "qms/t1/counter/1/state", "Nguyễn Thị Hoa", 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/3/state", "\"A0002\"", 3000) >= 0);
    i = coll_wait(&col, 0, "qms/t1/stats", "\"ratings\":1", 4000);
    assert_true(i >= 0);
    cJSON *st = cJSON_Parse(col.v[i].payload);
    cJSON *today = cJSON_GetObjectItem(st, "today");
    assert_int_equal((int)js_num(today, "taken"), 4);
    assert_true(js_num(today, "satisfied_share") == 1.0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "services")), 3);
    cJSON_Delete(st);
    i = coll_wait(&col, 0, "qms/t1/calls/recent", "\"A0002\"", 3000);
    assert_true(i >= 0);
    assert_non_null(strstr(col.v[i].payload, "\"B0001\""));
    assert_true(coll_wait(&col, 0, "qms/t1/config", "\"Quầy 3\"", 3000) >= 0);
    /* 2 calls + 1 recall + call back + 2 more calls = 6 call events */
    coll_pump(&col, 100);
    assert_int_equal(coll_count(&col, "qms/t1/call"), 6);

    qms_mqtt_free(k);
    qms_mqtt_free(c);
    coll_stop(&col);
    /* what the store holds agrees */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    store_ticket *t;
    int n = env_store_tickets(&e, &t);
    assert_int_equal(n, 4);
    assert_string_equal(t[1].label, "A0002");
    assert_int_equal(t[1].state, QMS_T_CALLED);
    assert_int_equal(t[2].state, QMS_T_DONE);
    assert_int_equal(t[2].rating, 4);
    assert_int_equal(t[0].state, QMS_T_CANCELLED);
    free(t);
    env_stop(&e);
}

/* An outside client: mosquitto_rr takes a ticket. */
/* A long queue: the list is cut, its length says how many wait in all. */
static void test_queue_cap(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    const char *pats[] = {"qms/t1/counter/3/queue", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "display", pats), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    assert_non_null(k);
    char body[96];
    for (int i = 1; i <= 25; i++) {
        snprintf(body, sizeof body, "{\"req\":\"cap-%d\",\"service\":\"%s\"}", i,
                 i % 5 ? "TP" : "XD");
        cJSON *o = must(&e, k, "ticket/take", body);
        assert_null(js_str(o, "error"));
        cJSON_Delete(o);
    }
    cJSON *o = must(&e, k, "counter/3/cmd", "{\"req\":\"c3-s\",\"op\":\"status\"}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "queue")), 20);
    assert_int_equal((int)js_num(o, "queue_len"), 25);
    assert_int_equal((int)js_num(o, "waiting"), 25);
    cJSON_Delete(o);
    int i = coll_wait(&col, 0, "qms/t1/counter/3/queue", "\"queue_len\":25", 3000);
    assert_true(i >= 0);
    assert_true(strlen(col.v[i].payload) < 4096); /* small enough to send every second */
    o = cJSON_Parse(col.v[i].payload);
    assert_non_null(o);
    cJSON *q = cJSON_GetObjectItem(o, "queue");
    assert_int_equal(cJSON_GetArraySize(q), 20);
    /* in call order: by taking time here (no priorities), the first taken first */
    assert_string_equal(js_str(cJSON_GetArrayItem(q, 0), "ticket"), "A0001");
    double prev = 0;
    for (int j = 0; j < 20; j++) {
        double t = js_num(cJSON_GetArrayItem(q, j), "taken_ms");
        assert_true(t >= prev);
        prev = t;
    }
    cJSON_Delete(o);
    qms_mqtt_free(k);
    coll_stop(&col);
    env_stop(&e);
}

/* A take outside the issuing hours says when the service issues tickets (its
 * own hours or the center's) and the next opening today, in words and as
 * fields; the code stays outside_hours. The controller's clock: 12:00. */
/* The calendar: on a Sunday the center is closed all day and says Monday;
 * the Saturday before a holiday Monday says Tuesday. */
static void test_outside_hours_calendar(void **state)
{
    (void)state;
    const char *center =
        "{\"site\":\"t1\",\"name_vi\":\"Trung tâm\",\"name_en\":\"Center\","
        "\"calendar\":{\"week\":{\"mon\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"tue\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"sat\":[[\"07:30\",\"11:30\"]]},\"holidays\":[\"2026-12-14\"]},"
        "\"services\":[{\"code\":\"TP\",\"prefix\":\"A\",\"name_vi\":\"Tư pháp\"}],"
        "\"counters\":[{\"id\":1,\"services\":[\"TP\"]}]}";
    ctl_env e;
    assert_int_equal(env_start(&e, center, "2026-12-06T10:00:00"), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    assert_non_null(k);
    cJSON *o = must(&e, k, "ticket/take", "{\"req\":\"sun-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "error"), "outside_hours");
    assert_string_equal(js_str(o, "message"),
                        "Hôm nay nghỉ, mở lại Thứ Hai 07:30. Giờ cấp số: 07:30-11:30, 13:30-17:00.");
    assert_null(js_str(o, "next_open"));
    assert_string_equal(js_str(o, "next_open_at"), "2026-12-07 07:30");
    char *hours = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "hours"));
    assert_string_equal(hours, "[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]]");
    cJSON_free(hours);
    cJSON_Delete(o);
    o = must(&e, k, "ticket/take", "{\"req\":\"sun-2\",\"service\":\"TP\",\"lang\":\"en\"}");
    assert_string_equal(js_str(o, "message"),
                        "Closed today, open Monday 07:30. Issuing hours: 07:30-11:30, 13:30-17:00.");
    cJSON_Delete(o);
    qms_mqtt_free(k);
    env_stop(&e);
    /* Saturday 12 after 11:30: Monday 14 is a holiday, so Tuesday */
    assert_int_equal(env_start(&e, center, "2026-12-12T12:00:00"), 0);
    k = env_client(&e, "kiosk1");
    assert_non_null(k);
    o = must(&e, k, "ticket/take", "{\"req\":\"sat-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "message"), "Dịch vụ hiện không nhận hồ sơ (ngoài giờ). Giờ "
                                              "cấp số: 07:30-11:30; hôm nay đã hết giờ, mở lại "
                                              "Thứ Ba 07:30.");
    assert_string_equal(js_str(o, "next_open_at"), "2026-12-15 07:30");
    cJSON_Delete(o);
    /* and a Saturday morning issues */
    qms_mqtt_free(k);
    env_stop(&e);
}

static void test_outside_hours(void **state)
{
    (void)state;
    const char *center =
        "{\"site\":\"t1\",\"name_vi\":\"Trung tâm thử nghiệm\",\"name_en\":\"Test center\","
        "\"utc_offset_min\":420,\"hours\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"services\":["
        "{\"code\":\"TP\",\"prefix\":\"A\",\"name_vi\":\"Tư pháp\",\"name_en\":\"Justice\"},"
        "{\"code\":\"DD\",\"prefix\":\"B\",\"name_vi\":\"Đất đai\",\"name_en\":\"Land\","
        "\"hours\":[[\"08:00\",\"09:00\"],[\"13:00\",\"14:00\"]]},"
        "{\"code\":\"XD\",\"prefix\":\"C\",\"name_vi\":\"Xây dựng\",\"name_en\":\"Construction\","
        "\"hours\":[[\"08:00\",\"10:00\"]]}],"
        "\"counters\":[{\"id\":1,\"name_vi\":\"Quầy 1\",\"name_en\":\"Counter 1\","
        "\"services\":[\"TP\",\"DD\",\"XD\"]}]}";
    ctl_env e;
    assert_int_equal(env_start(&e, center, "2026-11-26T12:00:00"), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    assert_non_null(k);

    /* the center's hours: open again at 13:30 */
    cJSON *o = must(&e, k, "ticket/take", "{\"req\":\"oh-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "error"), "outside_hours");
    assert_string_equal(js_str(o, "message"),
                        "Dịch vụ hiện không nhận hồ sơ (ngoài giờ). Giờ cấp số: 07:30-11:30, "
                        "13:30-17:00; hôm nay mở lúc 13:30.");
    assert_string_equal(js_str(o, "next_open"), "13:30");
    char *hours = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "hours"));
    assert_string_equal(hours, "[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]]");
    cJSON_free(hours);
    cJSON_Delete(o);
    o = must(&e, k, "ticket/take", "{\"req\":\"oh-2\",\"service\":\"TP\",\"lang\":\"en\"}");
    assert_string_equal(js_str(o, "error"), "outside_hours");
    assert_string_equal(js_str(o, "message"),
                        "This service is not open now. Issuing hours: 07:30-11:30, 13:30-17:00; "
                        "next opening today at 13:30.");
    cJSON_Delete(o);

    /* the service's own hours: the earliest opening still ahead */
    o = must(&e, k, "ticket/take", "{\"req\":\"oh-3\",\"service\":\"DD\"}");
    assert_string_equal(js_str(o, "message"),
                        "Dịch vụ hiện không nhận hồ sơ (ngoài giờ). Giờ cấp số: 08:00-09:00, "
                        "13:00-14:00; hôm nay mở lúc 13:00.");
    assert_string_equal(js_str(o, "next_open"), "13:00");
    cJSON_Delete(o);

    /* nothing more today: said, and no next_open */
    o = must(&e, k, "ticket/take", "{\"req\":\"oh-4\",\"service\":\"XD\"}");
    assert_string_equal(js_str(o, "error"), "outside_hours");
    assert_string_equal(js_str(o, "message"), "Dịch vụ hiện không nhận hồ sơ (ngoài giờ). Giờ "
                                              "cấp số: 08:00-10:00; hôm nay đã hết giờ, mở lại "
                                              "Thứ Sáu 08:00.");
    assert_null(js_str(o, "next_open"));
    /* ... but the next opening on another day is (no calendar: every day) */
    assert_string_equal(js_str(o, "next_open_at"), "2026-11-27 08:00");
    hours = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "hours"));
    assert_string_equal(hours, "[[\"08:00\",\"10:00\"]]");
    cJSON_free(hours);
    cJSON_Delete(o);
    o = must(&e, k, "ticket/take", "{\"req\":\"oh-5\",\"service\":\"XD\",\"lang\":\"en\"}");
    assert_string_equal(js_str(o, "message"), "This service is not open now. Issuing hours: "
                                              "08:00-10:00; closed for today, open Friday 08:00.");
    cJSON_Delete(o);

    /* a repeat of a refused take gets the same words; other refusals keep
     * theirs and carry no hours */
    o = must(&e, k, "ticket/take", "{\"req\":\"oh-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "next_open"), "13:30");
    cJSON_Delete(o);
    o = must(&e, k, "ticket/take", "{\"req\":\"oh-6\",\"service\":\"ZZ\"}");
    assert_string_equal(js_str(o, "error"), "unknown_service");
    assert_string_equal(js_str(o, "message"), "Không có dịch vụ này");
    assert_null(cJSON_GetObjectItem(o, "hours"));
    cJSON_Delete(o);
    qms_mqtt_free(k);
    env_stop(&e);
}

static void test_mosquitto_rr(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    char port[16], out[320];
    snprintf(port, sizeof port, "%d", e.broker.port);
    snprintf(out, sizeof out, "%s/rr.out", e.dir);
    char *argv[] = {"mosquitto_rr",
                    "-V",
                    "5",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    port,
                    "-t",
                    "qms/t1/ticket/take",
                    "-e",
                    "qms/t1/reply/rr-test",
                    "-W",
                    "5",
                    "-m",
                    "{\"req\":\"rr-1\",\"service\":\"DD\",\"priority\":false}",
                    NULL};
    pid_t pid = qms_test_spawn(argv, out);
    assert_int_equal(qms_test_wait_pid(pid, 8000), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[2048] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    assert_string_equal(js_str(o, "ticket"), "B0001");
    assert_string_equal(js_str(o, "req"), "rr-1");
    assert_true(js_num(o, "ahead") >= 0);
    assert_true(js_num(o, "eta_s") >= 0);
    cJSON_Delete(o);
    env_stop(&e);
}

/* The same request id twice: the same reply, one ticket. Also across a restart. */
static void test_dedup(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *k = env_client(&e, "kiosk-dup");
    cJSON *a = must(&e, k, "ticket/take", "{\"req\":\"dup-1\",\"service\":\"TP\"}");
    cJSON *b = must(&e, k, "ticket/take", "{\"req\":\"dup-1\",\"service\":\"TP\"}");
    char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
    assert_string_equal(sa, sb);
    /* the same id on another topic is another request */
    expect_err(&e, k, "counter/1/cmd", "{\"req\":\"dup-1\",\"op\":\"recall\"}", "bad_state");
    expect_ok(&e, k, "ticket/take", "{\"req\":\"dup-2\",\"service\":\"TP\"}", "A0002", NULL);
    /* a counter op repeated: one call, not two */
    expect_ok(&e, k, "counter/1/cmd", "{\"req\":\"n-1\",\"op\":\"next\"}", "A0001", "called");
    expect_ok(&e, k, "counter/1/cmd", "{\"req\":\"n-1\",\"op\":\"next\"}", "A0001", "called");
    /* a refusal is remembered too: the same answer, even once it could succeed */
    expect_err(&e, k, "counter/2/cmd", "{\"req\":\"n-2\",\"op\":\"next\"}", "nothing_to_call");
    expect_ok(&e, k, "ticket/take", "{\"req\":\"dup-3\",\"service\":\"DD\"}", "B0001", NULL);
    expect_err(&e, k, "counter/2/cmd", "{\"req\":\"n-2\",\"op\":\"next\"}", "nothing_to_call");
    qms_mqtt_free(k);

    /* after a kill -9 the store answers */
    assert_int_equal(env_controller_signal(&e, SIGKILL), 128 + SIGKILL);
    assert_int_equal(env_controller_start(&e), 0);
    k = env_client(&e, "kiosk-dup");
    cJSON *c = must(&e, k, "ticket/take", "{\"req\":\"dup-1\",\"service\":\"TP\"}");
    char *sc = cJSON_PrintUnformatted(c);
    assert_string_equal(sa, sc);
    expect_ok(&e, k, "ticket/take", "{\"req\":\"dup-4\",\"service\":\"TP\"}", "A0003", NULL);
    qms_mqtt_free(k);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    store_ticket *t;
    assert_int_equal(env_store_tickets(&e, &t), 4); /* A0001 A0002 B0001 A0003 */
    assert_int_equal(t[0].ncalls, 1);
    free(t);
    /* the run after the kill -9 (the only one that stopped cleanly and said
     * so) answered exactly one repeated request from the store: dup-1 */
    assert_int_equal(env_log_count(&e, "stopping: "), 1);
    assert_int_equal(env_log_count(&e, "stopping: 2 requests (0 refused, 0 malformed, 0 with a bad "
                                       "response topic, 1 repeated)"),
                     1);
    cJSON_free(sa);
    cJSON_free(sb);
    cJSON_free(sc);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    env_stop(&e);
}

/* Bad input through the real controller: an error reply for each, one log
 * line each, no state change, no crash. */
static void test_malformed(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *m = env_client(&e, "fuzzer");
    static char big[9000];
    memset(big, ' ', sizeof big - 1);
    const char *head = "{\"req\":\"big\",\"service\":\"TP\",\"x\":\"";
    memcpy(big, head, strlen(head));
    memcpy(big + sizeof big - 3, "\"}", 2);
    const struct {
        const char *topic;
        const char *payload;
        const char *error;
    } rows[] = {
        {"ticket/take", "", "invalid"},
        {"ticket/take", "garbage", "invalid"},
        {"ticket/take", "{\"req\":\"m1\",\"service\":\"TP\"", "invalid"},
        {"ticket/take", "[\"req\",\"m2\"]", "invalid"},
        {"ticket/take", "{\"service\":\"TP\"}", "invalid"},
        {"ticket/take", "{\"req\":7,\"service\":\"TP\"}", "invalid"},
        {"ticket/take", "{\"req\":\"m3\",\"service\":[\"TP\"]}", "invalid"},
        {"ticket/take", "{\"req\":\"m4\",\"service\":\"TP\",\"priority\":\"yes\"}", "invalid"},
        {"ticket/take", "{\"req\":\"m5\",\"service\":\"T\xff\"}", "invalid"},
        {"ticket/take", "{\"req\":\"m6\",\"service\":\"NOPE\"}", "unknown_service"},
        {"ticket/take", big, "too_large"},
        {"ticket/cancel", "{\"req\":\"m7\",\"id\":\"x\"}", "invalid"},
        {"counter/1/cmd", "{\"req\":\"m8\"}", "invalid"},
        {"counter/1/cmd", "{\"req\":\"m9\",\"op\":\"explode\"}", "unknown_op"},
        {"counter/1/cmd", "{\"req\":\"m10\",\"op\":\"rate\",\"level\":\"five\"}", "invalid"},
        {"counter/1/cmd", "{\"req\":\"m11\",\"op\":\"transfer\",\"to_counter\":-1}", "invalid"},
        {"counter/77/cmd", "{\"req\":\"m12\",\"op\":\"next\"}", "unknown_counter"},
        {"counter/abc/cmd", "{\"req\":\"m13\",\"op\":\"next\"}", "unknown_counter"},
    };
    int nrows = (int)(sizeof rows / sizeof *rows);
    for (int i = 0; i < nrows; i++) {
        cJSON *o = env_req(&e, m, rows[i].topic, rows[i].payload);
        if (!o)
            fail_msg("row %d: no reply", i);
        if (!js_str(o, "error") || strcmp(js_str(o, "error"), rows[i].error) != 0)
            fail_msg("row %d: error %s, want %s", i, js_str(o, "error"), rows[i].error);
        cJSON_Delete(o);
    }
    /* a request without a response topic is executed silently; a retained one is not run */
    char topic[128];
    qms_topic(topic, sizeof topic, e.site, "ticket/take");
    const char *noreply = "{\"req\":\"m14\",\"service\":\"XD\"}";
    qms_mqtt_publish(m, topic, noreply, strlen(noreply), 1, 0);
    const char *retained = "{\"req\":\"m15\",\"service\":\"XD\"}";
    qms_mqtt_publish(m, topic, retained, strlen(retained), 1, 1);
    for (int i = 0; i < 10; i++)
        qms_mqtt_loop(m, 20);
    /* ... and a malformed one without response topic is logged only */
    qms_mqtt_publish(m, topic, "nope", 4, 1, 0);
    for (int i = 0; i < 10; i++)
        qms_mqtt_loop(m, 20);

    /* nothing changed: the next TP ticket is the first; XD got two: the one
     * without response topic, and the retained one (delivered live, a
     * retained publish looks like any other) */
    expect_ok(&e, m, "ticket/take", "{\"req\":\"ok-1\",\"service\":\"TP\"}", "A0001", NULL);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"ok-2\",\"service\":\"XD\"}", "C0003", NULL);
    assert_true(kill(e.pid, 0) == 0); /* still running */
    /* after a restart the broker hands the retained request over again, as
     * retained: it is not run a second time */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    assert_int_equal(env_controller_start(&e), 0);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"ok-3\",\"service\":\"XD\"}", "C0004", NULL);
    qms_mqtt_publish(m, topic, "", 0, 1, 1); /* clear it */
    qms_mqtt_loop(m, 50);
    qms_mqtt_free(m);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    /* one log line per refused malformed request, +1 for the one without a
     * reply, +1 for the empty message that cleared the retained one */
    assert_int_equal(env_log_count(&e, " W refused"), nrows + 2);
    assert_int_equal(env_log_count(&e, "ignored a retained message"), 1);
    store_ticket *t;
    assert_int_equal(env_store_tickets(&e, &t), 5);
    free(t);
    env_stop(&e);
}

/* After a kill -9 and restart, a newcomer finds every retained topic. */
static void test_retained_after_restart(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *m = env_client(&e, "c");
    expect_ok(&e, m, "ticket/take", "{\"req\":\"r-1\",\"service\":\"TP\"}", "A0001", NULL);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"r-2\",\"service\":\"TP\"}", "A0002", NULL);
    expect_ok(&e, m, "counter/3/cmd", "{\"req\":\"r-3\",\"op\":\"next\"}", "A0001", "called");
    qms_mqtt_free(m);
    assert_int_equal(env_controller_signal(&e, SIGKILL), 128 + SIGKILL);
    /* wipe the broker's retained copies, so that only a republish can bring them back */
    qms_test_broker_stop(&e.broker);
    int port = e.broker.port;
    assert_int_equal(qms_test_broker_start(&e.broker, port), 0);
    assert_int_equal(env_controller_start(&e), 0);
    const char *pats[] = {"qms/t1/#", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "late-display", pats), 0);
    assert_true(coll_wait(&col, 0, "qms/t1/config", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/stats", "\"taken\":2", 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/calls/recent", "\"A0001\"", 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/3/state", "\"A0001\"", 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/1/state", "\"waiting\":1", 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/2/state", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/device/controller/main/status", "online", 3000) >= 0);
    for (int i = 0; i < col.n; i++)
        if (strcmp(col.v[i].topic, "qms/t1/config") == 0)
            assert_true(col.v[i].retained);
    /* and it carries on: numbering continues */
    qms_mqtt *k = env_client(&e, "k");
    expect_ok(&e, k, "ticket/take", "{\"req\":\"r-4\",\"service\":\"TP\"}", "A0003", NULL);
    /* the call sequence continues too (a display tells new calls from repeats) */
    int from = col.n;
    expect_ok(&e, k, "counter/3/cmd", "{\"req\":\"r-5\",\"op\":\"next\"}", "A0002", "called");
    int i = coll_wait(&col, from, "qms/t1/call", "A0002", 3000);
    assert_true(i >= 0);
    assert_non_null(strstr(col.v[i].payload, "\"seq\":2"));
    qms_mqtt_free(k);
    coll_stop(&col);
    env_stop(&e);
}

/* SIGTERM: a clean stop, exit 0, "offline" published. */
static void test_sigterm(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    const char *pats[] = {"qms/t1/device/controller/main/status", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "watch", pats), 0);
    assert_true(coll_wait(&col, 0, pats[0], "online", 3000) >= 0);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    assert_true(coll_wait(&col, 0, pats[0], "offline", 3000) >= 0);
    assert_int_equal(env_log_count(&e, "stopping:"), 1);
    coll_stop(&col);
    env_stop(&e);
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    assert_non_null(p);
    char *out = malloc(strlen(s) + strlen(to) + 1);
    memcpy(out, s, (size_t)(p - s));
    strcpy(out + (p - s), to);
    strcat(out, p + strlen(from));
    return out;
}

static void rewrite_config(const ctl_env *e, const char *json)
{
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.new", e->config);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    assert_int_equal(rename(tmp, e->config), 0);
}

/* SIGHUP reloads the config; a config that would orphan open tickets is refused. */
static void test_sighup_reload(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    const char *pats[] = {"qms/t1/config", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "cfgwatch", pats), 0);
    qms_mqtt *m = env_client(&e, "k");
    expect_ok(&e, m, "ticket/take", "{\"req\":\"h-1\",\"service\":\"XD\"}", "C0001", NULL);

    /* add a service KD and a counter 4: accepted */
    char *more =
        replace(harness_center_json, "}],\"counters\":[",
                "},{\"code\":\"KD\",\"prefix\":\"D\",\"digits\":4,\"name_vi\":\"Kinh "
                "doanh\",\"name_en\":\"Business\",\"mean_service_s\":300}],\"counters\":[");
    char *more2 = replace(more, "\"services\":[\"TP\",\"XD\"]}]}",
                          "\"services\":[\"TP\",\"XD\"]},{\"id\":4,\"name_vi\":\"Quầy 4\","
                          "\"name_en\":\"Counter 4\",\"services\":[\"KD\"]}]}");
    rewrite_config(&e, more2);
    kill(e.pid, SIGHUP);
    assert_true(coll_wait(&col, 0, "qms/t1/config", "\"KD\"", 5000) >= 0);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"h-2\",\"service\":\"KD\"}", "D0001", NULL);
    expect_ok(&e, m, "counter/4/cmd", "{\"req\":\"h-3\",\"op\":\"next\"}", "D0001", "called");
    /* the open XD ticket survived the swap */
    expect_ok(&e, m, "counter/3/cmd", "{\"req\":\"h-4\",\"op\":\"next\"}", "C0001", "called");

    /* now drop XD while C0001 is called at counter 3: refused, logged, nothing changes */
    char *less = replace(harness_center_json,
                         ",{\"code\":\"XD\",\"prefix\":\"C\",\"digits\":4,\"name_vi\":\"Xây "
                         "dựng\",\"name_en\":\"Construction\",\"mean_service_s\":400}",
                         "");
    char *less2 = replace(less, "\"services\":[\"TP\",\"XD\"]", "\"services\":[\"TP\"]");
    rewrite_config(&e, less2);
    kill(e.pid, SIGHUP);
    int64_t end = qms_mono_ms() + 5000;
    while (env_log_count(&e, "reload refused") < 1 && qms_mono_ms() < end)
        poll(NULL, 0, 20);
    assert_int_equal(env_log_count(&e, "reload refused"), 1);
    assert_int_equal(env_log_count(&e, "service XD is gone but ticket C0001"), 1);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"h-5\",\"service\":\"KD\"}", "D0002", NULL);
    /* a broken file is refused too */
    rewrite_config(&e, "{ not json");
    kill(e.pid, SIGHUP);
    end = qms_mono_ms() + 5000;
    while (env_log_count(&e, "reload refused") < 2 && qms_mono_ms() < end)
        poll(NULL, 0, 20);
    assert_int_equal(env_log_count(&e, "reload refused"), 2);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"h-6\",\"service\":\"XD\"}", "C0002", NULL);
    free(more);
    free(more2);
    free(less);
    free(less2);
    qms_mqtt_free(m);
    coll_stop(&col);
    env_stop(&e);
}

/* Midnight: open tickets end as cancelled, numbers restart, stats show the new day. */
static void test_day_rollover(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, "2026-11-26T23:59:58"), 0);
    const char *pats[] = {"qms/t1/stats", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "statwatch", pats), 0);
    qms_mqtt *m = env_client(&e, "k");
    expect_ok(&e, m, "ticket/take", "{\"req\":\"d-1\",\"service\":\"TP\"}", "A0001", NULL);
    expect_ok(&e, m, "ticket/take", "{\"req\":\"d-2\",\"service\":\"TP\"}", "A0002", NULL);
    /* the timer rolls the day over without anyone asking */
    assert_true(coll_wait(&col, 0, "qms/t1/stats", "\"day\":\"2026-11-27\"", 6000) >= 0);
    cJSON *o = must(&e, m, "ticket/take", "{\"req\":\"d-3\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "ticket"), "A0001");
    assert_string_equal(js_str(o, "day"), "2026-11-27");
    cJSON_Delete(o);
    assert_int_equal(env_log_count(&e, "new day 2026-11-27"), 1);
    qms_mqtt_free(m);
    coll_stop(&col);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    store_ticket *t;
    assert_int_equal(env_store_tickets(&e, &t), 1); /* today: only the new A0001 */
    free(t);
    env_stop(&e);
}

/* The disk refuses to grow: the commit fails, the batch is answered db_error,
 * the controller exits non-zero; restarted, nothing acknowledged is lost and
 * the refused request can be retried with the same id. */
static void test_commit_failure(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *m = env_client(&e, "k");
    char req[256];
    int acked = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(req, sizeof req, "{\"req\":\"f-%d\",\"service\":\"TP\"}", i);
        expect_ok(&e, m, "ticket/take", req, NULL, NULL);
        acked++;
    }
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);

    /* restart under a file size limit just above what the files hold now */
    char broker[32], clock[32];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", e.broker.port);
    snprintf(clock, sizeof clock, "2026-11-26T10:00:00");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(e.log, O_WRONLY | O_APPEND);
        dup2(fd, 2);
        struct rlimit rl = {.rlim_cur = 40 * 1024, .rlim_max = 40 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        execl(qms_test_bin("qms-controller"), "qms-controller", "--config", e.config, "--db", e.db,
              "--broker", broker, "--clock", clock, (char *)NULL);
        _exit(127);
    }
    e.pid = pid;
    int failed = 0, got_db_error = 0;
    for (int i = 5; i < 400 && !failed; i++) {
        snprintf(req, sizeof req, "{\"req\":\"f-%d\",\"service\":\"TP\",\"kiosk\":\"%060d\"}", i,
                 0);
        cJSON *o = env_req(&e, m, "ticket/take", req);
        if (o && js_str(o, "ticket")) {
            acked++;
        } else {
            failed = i;
            if (!o || !js_str(o, "error"))
                fprintf(stderr, "commit failure: reply %s\n",
                        o ? cJSON_PrintUnformatted(o) : "none");
            got_db_error = o && js_str(o, "error") && strcmp(js_str(o, "error"), "db_error") == 0;
        }
        cJSON_Delete(o);
    }
    assert_true(failed > 0);
    assert_true(got_db_error);
    int st = qms_test_wait_pid(pid, 5000);
    assert_int_equal(st, 1); /* exit status 1: "commit failed" */
    e.pid = 0;
    assert_int_equal(env_log_count(&e, "commit failed"), 1);

    /* back without the limit: the refused request goes through, once */
    assert_int_equal(env_controller_start(&e), 0);
    snprintf(req, sizeof req, "{\"req\":\"f-%d\",\"service\":\"TP\",\"kiosk\":\"%060d\"}", failed,
             0);
    cJSON *o = must(&e, m, "ticket/take", req);
    assert_non_null(js_str(o, "ticket"));
    char label[16];
    snprintf(label, sizeof label, "A%04d", acked + 1);
    assert_string_equal(js_str(o, "ticket"), label);
    cJSON_Delete(o);
    qms_mqtt_free(m);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    store_ticket *t;
    assert_int_equal(env_store_tickets(&e, &t), acked + 1);
    free(t);
    env_stop(&e);
}

/* A refusal with its words: the error code and exactly this message. */
static void expect_words(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json,
                         const char *code, const char *words)
{
    cJSON *o = must(e, m, suffix, json);
    if (!js_str(o, "error") || strcmp(js_str(o, "error"), code) != 0)
        fail_msg("%s: error %s, want %s", json, js_str(o, "error"), code);
    if (!js_str(o, "message") || strcmp(js_str(o, "message"), words) != 0)
        fail_msg("%s: message \"%s\", want \"%s\"", json, js_str(o, "message"), words);
    cJSON_Delete(o);
}

/* Issue 11 #5: every bad_state refusal says why, in the clerk's language. */
static void test_bad_state_words(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    qms_mqtt *c = env_client(&e, "counters");
    assert_non_null(k);
    assert_non_null(c);
    const char *C1 = "counter/1/cmd", *C2 = "counter/2/cmd", *C3 = "counter/3/cmd";
    expect_ok(&e, k, "ticket/take", "{\"req\":\"b-1\",\"service\":\"TP\"}", "A0001", NULL);
    expect_ok(&e, c, C1, "{\"req\":\"b-2\",\"op\":\"next\"}", "A0001", "called");
    /* close with a ticket called: the example of the issue, both languages */
    expect_words(&e, c, C1, "{\"req\":\"b-3\",\"op\":\"close\"}", "bad_state",
                 "Quầy 1 vẫn đang gọi số A0001: hãy hoàn thành hoặc bỏ qua trước.");
    expect_words(&e, c, C1, "{\"req\":\"b-4\",\"op\":\"close\",\"lang\":\"en\"}", "bad_state",
                 "counter 1 still has A0001 called: finish or skip it first");
    expect_words(&e, c, C1, "{\"req\":\"b-5\",\"op\":\"resume\"}", "bad_state",
                 "Quầy 1 đang mở rồi.");
    expect_words(&e, c, C3, "{\"req\":\"b-6\",\"op\":\"call\",\"ticket\":\"A0001\"}",
                 "bad_state", "Số A0001 đang được gọi ở Quầy 1: không thể gọi");
    expect_ok(&e, c, C1, "{\"req\":\"b-7\",\"op\":\"start\"}", NULL, NULL);
    expect_words(&e, c, C1, "{\"req\":\"b-8\",\"op\":\"start\",\"lang\":\"en\"}", "bad_state",
                 "counter 1 is already serving A0001: it was called and has sat down");
    expect_words(&e, c, C1, "{\"req\":\"b-9\",\"op\":\"skip\"}", "bad_state",
                 "Quầy 1 đang phục vụ số A0001: công dân đang được phục vụ không thể bị bỏ qua; "
                 "hãy bấm hoàn thành.");
    expect_words(&e, c, C1, "{\"req\":\"b-10\",\"op\":\"close\"}", "bad_state",
                 "Quầy 1 vẫn đang phục vụ số A0001: hãy hoàn thành trước.");
    expect_words(&e, k, "ticket/cancel", "{\"req\":\"b-11\",\"ticket\":\"A0001\"}", "bad_state",
                 "Số A0001 đang được phục vụ ở Quầy 1: không thể hủy");
    expect_ok(&e, c, C1, "{\"req\":\"b-12\",\"op\":\"done\"}", "A0001", "done");
    expect_words(&e, c, C1, "{\"req\":\"b-13\",\"op\":\"done\",\"lang\":\"en\"}", "bad_state",
                 "counter 1 has no ticket called or being served: nothing to finish");
    expect_words(&e, c, C3, "{\"req\":\"b-14\",\"op\":\"call\",\"ticket\":\"A1\"}", "bad_state",
                 "Số A0001 đã được phục vụ xong (Quầy 1): không thể gọi");
    expect_words(&e, k, "ticket/cancel",
                 "{\"req\":\"b-15\",\"ticket\":\"A0001\",\"lang\":\"en\"}", "bad_state",
                 "A0001 was already served (counter 1): it cannot be cancelled");
    expect_words(&e, c, C3, "{\"req\":\"b-16\",\"op\":\"recall\"}", "bad_state",
                 "Quầy 3 không có số nào đang gọi: hãy gọi số tiếp theo trước.");
    expect_words(&e, c, C3, "{\"req\":\"b-17\",\"op\":\"transfer\",\"service\":\"XD\"}",
                 "bad_state",
                 "Quầy 3 không có số nào đang gọi hay đang phục vụ: không có gì để chuyển.");
    expect_words(&e, c, C2, "{\"req\":\"b-18\",\"op\":\"rate\",\"level\":3}", "bad_state",
                 "Quầy 2 chưa phục vụ ai hôm nay: chưa có gì để đánh giá.");
    expect_ok(&e, c, C2, "{\"req\":\"b-19\",\"op\":\"pause\"}", NULL, NULL);
    expect_words(&e, c, C2, "{\"req\":\"b-20\",\"op\":\"pause\",\"lang\":\"en\"}", "bad_state",
                 "counter 2 is already paused: only an open counter can pause");
    expect_ok(&e, c, C2, "{\"req\":\"b-21\",\"op\":\"close\"}", NULL, NULL);
    expect_words(&e, c, C2, "{\"req\":\"b-22\",\"op\":\"close\"}", "bad_state",
                 "Quầy 2 đã đóng rồi.");
    /* a transfer to where it already is */
    expect_ok(&e, k, "ticket/take", "{\"req\":\"b-23\",\"service\":\"XD\"}", "C0001", NULL);
    expect_ok(&e, c, C3, "{\"req\":\"b-24\",\"op\":\"next\"}", "C0001", "called");
    expect_words(&e, c, C3,
                 "{\"req\":\"b-25\",\"op\":\"transfer\",\"to_counter\":3,\"lang\":\"en\"}",
                 "bad_state",
                 "C0001 is already at counter 3 for that service: a transfer to itself changes "
                 "nothing");
    qms_mqtt_free(k);
    qms_mqtt_free(c);
    env_stop(&e);
}

/* Issue 11 #4 through the real controller: two counters serve TP, both open
 * (counters_start_open) and nobody at them. A0001 waits; once it has waited
 * longer than staffed_grace_s (1 s here) with nobody calling, the next TP
 * ticket must not be told "ahead 1, eta 0". */
static void test_unstaffed_eta(void **state)
{
    (void)state;
    char json[4096];
    snprintf(json, sizeof json, "{\"staffed_grace_s\":1,%s", harness_center_json + 1);
    ctl_env e;
    assert_int_equal(env_start(&e, json, NULL), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    assert_non_null(k);
    cJSON *o = must(&e, k, "ticket/take", "{\"req\":\"u-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "ticket"), "A0001");
    assert_int_equal((int)js_num(o, "eta_s"), 0); /* within the grace: presumed staffed */
    cJSON_Delete(o);
    usleep(3500 * 1000); /* A0001 waits 3.5 s: longer than the grace, nobody called */
    o = must(&e, k, "ticket/take", "{\"req\":\"u-2\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "ticket"), "A0002");
    assert_int_equal((int)js_num(o, "ahead"), 1);
    if (js_num(o, "eta_s") < 3)
        fail_msg("ahead 1 behind a ticket nobody called for 3.5 s, yet eta_s %.0f",
                 js_num(o, "eta_s"));
    cJSON_Delete(o);
    /* a clerk signs in at counter 3: staffed, A0001 is expected at once */
    qms_mqtt *c = env_client(&e, "counter3");
    expect_ok(&e, c, "counter/3/cmd", "{\"req\":\"s-1\",\"op\":\"open\",\"staff\":\"lan\"}",
              NULL, NULL);
    o = must(&e, k, "ticket/take", "{\"req\":\"u-3\",\"service\":\"TP\"}");
    assert_int_equal((int)js_num(o, "ahead"), 2);
    /* counter 3 calls A0001 now, then A0002 after TP's mean (300 s), then
     * this one: counter 1 is still away (its 3.5 s+ come first) */
    assert_true(js_num(o, "eta_s") >= 3);
    cJSON_Delete(o);
    qms_mqtt_free(k);
    qms_mqtt_free(c);
    env_stop(&e);
}

static void test_options(void **state)
{
    (void)state;
    char out[320];
    char dir[256];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "opts"), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    char *help[] = {(char *)qms_test_bin("qms-controller"), "--help", NULL};
    assert_int_equal(qms_test_wait_pid(qms_test_spawn(help, out), 5000), 0);
    char *ver[] = {(char *)qms_test_bin("qms-controller"), "--version", NULL};
    assert_int_equal(qms_test_wait_pid(qms_test_spawn(ver, out), 5000), 0);
    char *none[] = {(char *)qms_test_bin("qms-controller"), NULL};
    assert_int_equal(qms_test_wait_pid(qms_test_spawn(none, out), 5000), 2);
    char *badb[] = {(char *)qms_test_bin("qms-controller"),
                    "--config",
                    "x",
                    "--db",
                    "y",
                    "--broker",
                    "h:99999",
                    NULL};
    assert_int_equal(qms_test_wait_pid(qms_test_spawn(badb, out), 5000), 2);
    char *nocfg[] = {
        (char *)qms_test_bin("qms-controller"), "--config", "/nonexistent.json", "--db", "y", NULL};
    assert_int_equal(qms_test_wait_pid(qms_test_spawn(nocfg, out), 5000), 1);
    FILE *f = fopen(out, "r");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "usage: qms-controller"));
    assert_non_null(strstr(buf, "qms-controller 0."));
    assert_non_null(strstr(buf, "config: cannot read /nonexistent.json"));
    qms_test_rmdir(dir);
}

int main(void)
{
    qms_log_init("test_controller", QMS_LOG_ERROR);
    qms_mqtt_lib_init();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_every_operation),
        cmocka_unit_test(test_queue_cap),
        cmocka_unit_test(test_mosquitto_rr),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_retained_after_restart),
        cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_sighup_reload),
        cmocka_unit_test(test_day_rollover),
        cmocka_unit_test(test_commit_failure),
        cmocka_unit_test(test_outside_hours),
        cmocka_unit_test(test_unstaffed_eta),
        cmocka_unit_test(test_bad_state_words),
        cmocka_unit_test(test_outside_hours_calendar),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
