/* Alerts through the real qms-controller and a real mosquitto: a device's
 * last will (an outside client killed with SIGKILL) raises device_offline on
 * the retained qms/<site>/alerts, its return clears it; a kiosk's printer
 * state; a long wait and a long pause raise and clear; an acknowledgement
 * answered once, stored in the SQLite file, refused for an unknown alert; the
 * set survives a controller restart. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* TP's alert after 1 s of waiting, a pause after 1 s. */
static const char *const center =
    "{\"site\":\"t1\",\"name_vi\":\"Trung tâm thử nghiệm\",\"name_en\":\"Test center\","
    "\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],\"alert_pause_s\":1,"
    "\"services\":["
    "{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":4,\"name_vi\":\"Tư pháp - Hộ tịch\","
    "\"name_en\":\"Justice\",\"mean_service_s\":300,\"alert_wait_s\":1},"
    "{\"code\":\"DD\",\"prefix\":\"B\",\"digits\":4,\"name_vi\":\"Đất đai\",\"name_en\":\"Land\"}],"
    "\"counters\":["
    "{\"id\":1,\"services\":[\"TP\",\"DD\"]},{\"id\":2,\"services\":[\"DD\"]}]}";

static const char *const pats[] = {"qms/t1/alerts", "qms/t1/alert/event", NULL};

/* Publish a retained device status as an outside client would. */
static void pub_status(const ctl_env *e, const char *topic, const char *json)
{
    char port[16];
    snprintf(port, sizeof port, "%d", e->broker.port);
    char *argv[] = {"mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", port, "-q", "1", "-r",
                    "-t", (char *)topic, "-m", (char *)json, NULL};
    pid_t pid = qms_test_spawn(argv, NULL);
    assert_int_equal(qms_test_wait_pid(pid, 8000), 0);
}

/* Does the latest retained set contain id (and, if given, text)? */
static int set_has(const collector *c, const char *id, const char *text)
{
    const coll_msg *m = coll_last(c, "qms/t1/alerts");
    if (!m)
        return 0;
    char needle[160];
    snprintf(needle, sizeof needle, "\"id\":\"%s\"", id);
    const char *p = strstr(m->payload, needle);
    return p && (!text || strstr(p, text));
}

/* Pump until the set has (want=1) / lacks (want=0) id; returns the ms it took or -1. */
static int wait_set(collector *c, const char *id, const char *text, int want)
{
    int64_t t0 = qms_mono_ms();
    while (qms_mono_ms() - t0 < QMS_TEST_WAIT_MS) {
        if (set_has(c, id, text) == want)
            return (int)(qms_mono_ms() - t0);
        coll_pump(c, 10);
    }
    return -1;
}

static void test_device_will_and_printer(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, center, NULL), 0);
    collector col;
    assert_int_equal(coll_start(&col, &e, "dash", pats), 0);
    /* the set is there from the start (the harness's own clients that
     * stopped cleanly may be in it: offline is offline) */
    assert_int_not_equal(coll_wait(&col, 0, "qms/t1/alerts", "\"alerts\":[", 0), -1);

    /* a kiosk: online with its printer ok, and a last will, then killed */
    const char *topic = "qms/t1/device/kiosk/k9/status";
    pub_status(&e, topic, "{\"state\":\"online\",\"printer\":\"ok\",\"kiosk\":\"k9\"}");
    char port[16];
    snprintf(port, sizeof port, "%d", e.broker.port);
    char *argv[] = {"mosquitto_sub", "-V", "5", "-h", "127.0.0.1", "-p", port, "-i", "kiosk-k9",
                    "-t", "qms/t1/nothing", "--will-topic", (char *)topic, "--will-payload",
                    "{\"state\":\"offline\"}", "--will-retain", "--will-qos", "1", NULL};
    pid_t kiosk = qms_test_spawn(argv, NULL);
    assert_true(kiosk > 0);
    usleep(500 * 1000); /* connected (nothing to wait on: it is silent) */
    coll_pump(&col, 300);
    assert_false(set_has(&col, "device_offline:kiosk/k9", NULL));
    kill(kiosk, SIGKILL);
    waitpid(kiosk, NULL, 0);
    int ms = wait_set(&col, "device_offline:kiosk/k9", "\"level\":\"critical\"", 1);
    assert_true(ms >= 0);
    printf("{\"measure\":\"alert_after_last_will_ms\",\"value\":%d}\n", ms);
    int ev = coll_wait(&col, 0, "qms/t1/alert/event", "\"id\":\"device_offline:kiosk/k9\"", 0);
    assert_int_not_equal(ev, -1);
    if (!strstr(col.v[ev].payload, "Thiết bị kiosk/k9 mất kết nối"))
        fail_msg("event: %s", col.v[ev].payload);

    /* back, with its printer low on paper: offline clears, printer raised */
    pub_status(&e, topic, "{\"state\":\"online\",\"printer\":\"paper_low\",\"kiosk\":\"k9\"}");
    assert_true(wait_set(&col, "device_offline:kiosk/k9", NULL, 0) >= 0);
    assert_true(wait_set(&col, "printer:kiosk/k9", "\"level\":\"warning\"", 1) >= 0);
    ev = coll_wait(&col, ev + 1, "qms/t1/alert/event", "\"id\":\"device_offline:kiosk/k9\"", 0);
    assert_int_not_equal(ev, -1);
    assert_non_null(strstr(col.v[ev].payload, "\"event\":\"cleared\""));
    pub_status(&e, topic, "{\"state\":\"online\",\"printer\":\"paper_out\",\"kiosk\":\"k9\"}");
    assert_true(wait_set(&col, "printer:kiosk/k9", "\"level\":\"critical\"", 1) >= 0);
    assert_true(set_has(&col, "printer:kiosk/k9", "Máy in của kiosk/k9 hết giấy"));

    /* acknowledged: stored, answered once, visible in the set */
    qms_mqtt *mgr = env_client(&e, "mgr");
    cJSON *r = env_req(&e, mgr, "alert/ack",
                       "{\"req\":\"mgr-1\",\"id\":\"printer:kiosk/k9\",\"who\":\"Nguyễn Thị Lan\"}");
    assert_non_null(r);
    assert_null(js_str(r, "error"));
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(r, "alert");
    assert_string_equal(js_str(al, "acked_by"), "Nguyễn Thị Lan");
    double acked_ms = js_num(al, "acked_ms");
    assert_true(acked_ms > 0);
    char *first = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    assert_true(wait_set(&col, "printer:kiosk/k9", "\"acked_by\":\"Nguyễn Thị Lan\"", 1) >= 0);
    /* the same request again: the same answer (not a second acknowledgement) */
    r = env_req(&e, mgr, "alert/ack",
                "{\"req\":\"mgr-1\",\"id\":\"printer:kiosk/k9\",\"who\":\"Someone else\"}");
    char *again = cJSON_PrintUnformatted(r);
    assert_string_equal(again, first);
    cJSON_Delete(r);
    free(first);
    free(again);
    r = env_req(&e, mgr, "alert/ack", "{\"req\":\"mgr-2\",\"id\":\"printer:kiosk/zz\",\"who\":\"L\"}");
    assert_string_equal(js_str(r, "error"), "unknown_alert");
    cJSON_Delete(r);
    r = env_req(&e, mgr, "alert/ack", "{\"req\":\"mgr-3\",\"id\":\"printer:kiosk/k9\"}");
    assert_string_equal(js_str(r, "error"), "invalid");
    cJSON_Delete(r);
    r = env_req(&e, mgr, "alert/ack", "not json");
    assert_string_equal(js_str(r, "error"), "invalid");
    cJSON_Delete(r);

    /* a restart: the set comes back from the devices' retained status */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    int from = col.n;
    assert_int_equal(env_controller_start(&e), 0);
    assert_int_not_equal(coll_wait(&col, from, "qms/t1/alerts", "printer:kiosk/k9", 0), -1);

    /* the printer is fine again: the alert clears by itself */
    pub_status(&e, topic, "{\"state\":\"online\",\"printer\":\"ok\",\"kiosk\":\"k9\"}");
    assert_true(wait_set(&col, "printer:kiosk/k9", NULL, 0) >= 0);
    qms_mqtt_free(mgr);
    coll_stop(&col);

    /* the acknowledgement is in the store */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(e.db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*), max(who), max(alert_id), max(at_ms)"
                                        " FROM alert_acks",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "Nguyễn Thị Lan");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "printer:kiosk/k9");
    assert_int_equal((double)sqlite3_column_int64(st, 3), acked_ms);
    sqlite3_finalize(st);
    sqlite3_close(db);
    env_stop(&e);
}

static void test_wait_and_pause(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, center, NULL), 0);
    collector col;
    assert_int_equal(coll_start(&col, &e, "dash", pats), 0);
    qms_mqtt *m = env_client(&e, "k1");
    cJSON *r = env_req(&e, m, "ticket/take", "{\"req\":\"k1-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(r, "ticket"), "A0001");
    cJSON_Delete(r);
    assert_true(wait_set(&col, "wait:TP", "Tư pháp - Hộ tịch: có người chờ quá", 1) >= 0);
    r = env_req(&e, m, "counter/1/cmd", "{\"req\":\"c1-1\",\"op\":\"next\"}");
    assert_string_equal(js_str(r, "ticket"), "A0001");
    cJSON_Delete(r);
    assert_true(wait_set(&col, "wait:TP", NULL, 0) >= 0);
    /* today hour by hour: one taken at 09:xx, its wait counted in TP's hour */
    static const char *const hp[] = {"qms/t1/stats/hourly", NULL};
    collector hc;
    assert_int_equal(coll_start(&hc, &e, "hourly", hp), 0);
    /* (the one after the call: TP's first call counted) */
    int hi = -1;
    for (int from = 0;; from = hi + 1) {
        hi = coll_wait(&hc, from, "qms/t1/stats/hourly", "\"hours\":[9],\"taken\":[1],\"served\":[0]", 0);
        if (hi < 0 || !strstr(hc.v[hi].payload, "\"code\":\"TP\",\"mean_wait_s\":[null]"))
            break;
    }
    if (hi < 0)
        fail_msg("hourly: %s", coll_last(&hc, "qms/t1/stats/hourly") ? coll_last(&hc, "qms/t1/stats/hourly")->payload : "none");
    cJSON *hj = cJSON_Parse(hc.v[hi].payload);
    const cJSON *tp = cJSON_GetArrayItem(cJSON_GetObjectItem(hj, "services"), 0);
    assert_string_equal(js_str(tp, "code"), "TP");
    assert_true(cJSON_IsNumber(cJSON_GetArrayItem(cJSON_GetObjectItem(tp, "mean_wait_s"), 0)));
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(hj, "services"), 1), "mean_wait_s"), 0)));
    cJSON_Delete(hj);
    coll_stop(&hc);

    r = env_req(&e, m, "counter/2/cmd", "{\"req\":\"c2-1\",\"op\":\"pause\"}");
    cJSON_Delete(r);
    assert_true(wait_set(&col, "counter_paused:2", "Quầy 2 tạm dừng quá 1 giây", 1) >= 0);
    r = env_req(&e, m, "counter/2/cmd", "{\"req\":\"c2-2\",\"op\":\"resume\"}");
    cJSON_Delete(r);
    assert_true(wait_set(&col, "counter_paused:2", NULL, 0) >= 0);
    qms_mqtt_free(m);
    coll_stop(&col);
    env_stop(&e);
}

/* --speed: the controller's clock runs faster, and says so in its status
 * (the one clock a demo's programs follow). */
static void test_clock_speed(void **state)
{
    (void)state;
    ctl_env e;
    memset(&e, 0, sizeof e);
    e.ctl_extra[0] = "--speed";
    e.ctl_extra[1] = "60";
    assert_int_equal(env_start_custom(&e, "allow_anonymous true", center, NULL), 0);
    static const char *const sp[] = {"qms/t1/device/controller/main/status", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "clk", sp), 0);
    int i = coll_wait(&col, 0, "qms/t1/device/controller/main/status", "\"speed\":60", 0);
    assert_int_not_equal(i, -1);
    coll_stop(&col);
    qms_mqtt *m = env_client(&e, "k1");
    cJSON *r = env_req(&e, m, "ticket/take", "{\"req\":\"k1-1\",\"service\":\"DD\"}");
    double taken = js_num(r, "taken_ms");
    cJSON_Delete(r);
    usleep(2000 * 1000); /* 2 s of real time: 2 minutes of the controller's */
    r = env_req(&e, m, "counter/2/cmd", "{\"req\":\"c2-0\",\"op\":\"status\"}");
    double at = js_num(r, "at_ms");
    cJSON_Delete(r);
    printf("{\"measure\":\"controller_ms_per_real_2s\",\"value\":%.0f}\n", at - taken);
    assert_true(at - taken >= 60000); /* at 1x it would be ~2000 */
    qms_mqtt_free(m);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_will_and_printer),
        cmocka_unit_test(test_wait_and_pause),
        cmocka_unit_test(test_clock_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
