/* The citizen's ticket page, controller side, through the real qms-controller
 * and mosquitto: the take reply's token and URL, the status on
 * qms/<site>/ticket/<token>/status (waiting with people ahead, then called at
 * a counter), no personal data in it, the token's stability across a restart
 * and its independence from the ticket number (another store, another token). */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char *const center =
    "{\"site\":\"t1\",\"name_vi\":\"Trung tâm thử nghiệm\",\"name_en\":\"Test center\","
    "\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],"
    "\"ticket_url\":\"http://qms.example:8080/\","
    "\"services\":["
    "{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":4,\"name_vi\":\"Tư pháp - Hộ tịch\","
    "\"name_en\":\"Justice\",\"mean_service_s\":300}],"
    "\"counters\":[{\"id\":5,\"name_vi\":\"Quầy 5\",\"name_en\":\"Counter 5\","
    "\"services\":[\"TP\"]}]}";

static void take(const ctl_env *e, qms_mqtt *m, const char *req, const char *extra, char *tok,
                 char *url)
{
    char js[256];
    snprintf(js, sizeof js, "{\"req\":\"%s\",\"service\":\"TP\"%s}", req, extra);
    cJSON *r = env_req(e, m, "ticket/take", js);
    assert_non_null(r);
    const char *t = js_str(r, "token");
    assert_non_null(t);
    assert_int_equal(strlen(t), 22);
    assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     22);
    strcpy(tok, t);
    if (url)
        strcpy(url, js_str(r, "url"));
    cJSON_Delete(r);
}

static const coll_msg *wait_status(collector *col, const char *tok, const char *needle)
{
    char topic[96];
    snprintf(topic, sizeof topic, "qms/t1/ticket/%s/status", tok);
    int i = coll_wait(col, 0, topic, needle, 0);
    if (i < 0) {
        const coll_msg *m = coll_last(col, topic);
        fail_msg("no status with %s on %s (last: %s)", needle, topic, m ? m->payload : "none");
    }
    return &col->v[i];
}

static void test_ticket_status(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, center, NULL), 0);
    static const char *const pats[] = {"qms/t1/ticket/+/status", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "page", pats), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    char t1[32], t2[32], url[512];
    char code[9], appt[64];
    assert_int_equal(env_book(&e, k, "TP", "09:00", "001099012345", code), 0);
    snprintf(appt, sizeof appt, ",\"appointment\":\"%s\"", code);
    take(&e, k, "k-1", appt, t1, url);
    char want[256];
    snprintf(want, sizeof want, "http://qms.example:8080/ticket.html#s=t1&t=%s", t1);
    assert_string_equal(url, want);
    take(&e, k, "k-2", "", t2, NULL);
    assert_string_not_equal(t1, t2);

    /* the appointment ticket is called first: the other has 1 ahead */
    const coll_msg *m = wait_status(&col, t2, "\"ahead\":1");
    assert_non_null(strstr(m->payload, "\"state\":\"waiting\""));
    assert_non_null(strstr(m->payload, "\"ticket\":\"A0002\""));
    assert_non_null(strstr(m->payload, "Tư pháp - Hộ tịch"));
    m = wait_status(&col, t1, "\"ahead\":0");
    assert_null(strstr(m->payload, code)); /* no personal data */
    assert_null(strstr(m->payload, "appointment"));

    cJSON *r = env_req(&e, k, "counter/5/cmd", "{\"req\":\"c5-1\",\"op\":\"next\"}");
    assert_string_equal(js_str(r, "ticket"), "A0001");
    cJSON_Delete(r);
    m = wait_status(&col, t1, "\"state\":\"called\"");
    assert_non_null(strstr(m->payload, "\"counter\":5"));
    assert_non_null(strstr(m->payload, "\"counter_name_vi\":\"Quầy 5\""));
    m = wait_status(&col, t2, "\"ahead\":0");
    /* the counter's next: A0001 is served, and its page says so (its last
     * word, published once), A0002 is called */
    r = env_req(&e, k, "counter/5/cmd", "{\"req\":\"c5-2\",\"op\":\"next\"}");
    assert_string_equal(js_str(r, "ticket"), "A0002");
    cJSON_Delete(r);
    wait_status(&col, t2, "\"state\":\"called\"");
    wait_status(&col, t1, "\"state\":\"done\"");
    coll_stop(&col);

    /* a restart: the same ticket has the same token (the secret is kept) */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    assert_int_equal(env_controller_start(&e), 0);
    char t2b[32];
    take(&e, k, "k-2", "", t2b, NULL); /* the remembered reply */
    assert_string_equal(t2b, t2);
    /* and a subscriber arriving late gets the retained status */
    assert_int_equal(coll_start(&col, &e, "page2", pats), 0);
    wait_status(&col, t1, "\"state\":\"done\"");
    wait_status(&col, t2, "\"state\":\"called\"");
    coll_stop(&col);
    qms_mqtt_free(k);
    env_stop(&e);

    /* another center's store: ticket 1 has another token */
    ctl_env e2;
    assert_int_equal(env_start(&e2, center, NULL), 0);
    k = env_client(&e2, "kiosk1");
    char u1[32];
    take(&e2, k, "k-1", "", u1, NULL);
    assert_string_not_equal(u1, t1);
    qms_mqtt_free(k);
    env_stop(&e2);
}

/* The report op: the pages joined are byte for byte what qms-report writes
 * from the same store (the oracle: the qms-report program). */
static void test_report_op(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    char js[256];
    for (int i = 0; i < 30; i++) {
        snprintf(js, sizeof js, "{\"req\":\"k-%d\",\"service\":\"%s\"}", i, i % 3 ? "TP" : "DD");
        cJSON_Delete(env_req(&e, k, "ticket/take", js));
    }
    for (int i = 0; i < 10; i++) {
        snprintf(js, sizeof js, "{\"req\":\"c-%d\",\"op\":\"next\"}", i);
        cJSON_Delete(env_req(&e, k, "counter/1/cmd", js));
    }
    static const char *const bys[] = {"service", "hour", "counter", "day"};
    for (int b = 0; b < 4; b++) {
        const char *to = b == 3 ? "2027-01-25" : "2026-11-26"; /* 61 days by day: pages */
        /* all pages */
        char *all = calloc(1, 1);
        size_t alen = 0;
        int pages = 1;
        for (int p = 0; p < pages; p++) {
            snprintf(js, sizeof js,
                     "{\"req\":\"r-%d-%d\",\"from\":\"2026-11-26\",\"to\":\"%s\",\"by\":\"%s\","
                     "\"page\":%d,\"page_bytes\":1024}",
                     b, p, to, bys[b], p);
            cJSON *r = env_req(&e, k, "report", js);
            assert_non_null(r);
            if (js_str(r, "error"))
                fail_msg("report: %s", js_str(r, "message"));
            pages = (int)js_num(r, "pages");
            assert_true(strlen(js_str(r, "csv")) <= 1024);
            const char *csv = js_str(r, "csv");
            all = realloc(all, alen + strlen(csv) + 1);
            memcpy(all + alen, csv, strlen(csv) + 1);
            alen += strlen(csv);
            cJSON_Delete(r);
        }
        /* the oracle */
        char out[400], port[16];
        snprintf(out, sizeof out, "%s/report-%s.csv", e.dir, bys[b]);
        (void)port;
        char *argv[] = {(char *)qms_test_bin("qms-report"), "--db", e.db, "--from", "2026-11-26",
                        "--to", (char *)to, "--by", (char *)bys[b], "--config", e.config, "--out", out,
                        NULL};
        pid_t pid = qms_test_spawn(argv, NULL);
        assert_int_equal(qms_test_wait_pid(pid, 20000), 0);
        FILE *f = fopen(out, "rb");
        assert_non_null(f);
        char *want = calloc(1, 1 << 20);
        size_t wl = fread(want, 1, (1 << 20) - 1, f);
        fclose(f);
        want[wl] = 0;
        if (alen != wl || memcmp(all, want, wl) != 0)
            fail_msg("by %s: the op's CSV (%zu bytes) differs from qms-report's (%zu):\n%s\n---\n%s",
                     bys[b], alen, wl, all, want);
        if (b == 0)
            assert_non_null(strstr(all, "Tư pháp - Hộ tịch"));
        printf("{\"measure\":\"report_%s_pages\",\"value\":%d,\"bytes\":%zu}\n", bys[b], pages, alen);
        if (b == 3)
            assert_true(pages >= 2); /* the paging is exercised */
        free(all);
        free(want);
    }
    /* refusals */
    cJSON *r = env_req(&e, k, "report", "{\"req\":\"r-x\",\"from\":\"2026-01-01\",\"to\":\"2026-11-26\"}");
    assert_string_equal(js_str(r, "error"), "invalid"); /* over 62 days */
    cJSON_Delete(r);
    r = env_req(&e, k, "report", "{\"req\":\"r-y\",\"from\":\"26/11/2026\"}");
    assert_string_equal(js_str(r, "error"), "invalid");
    cJSON_Delete(r);
    r = env_req(&e, k, "report", "{\"req\":\"r-z\",\"from\":\"today\",\"by\":\"week\"}");
    assert_string_equal(js_str(r, "error"), "invalid");
    cJSON_Delete(r);
    r = env_req(&e, k, "report", "{\"req\":\"r-w\",\"from\":\"today\",\"page\":5}");
    assert_string_equal(js_str(r, "error"), "invalid");
    cJSON_Delete(r);
    qms_mqtt_free(k);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticket_status),
        cmocka_unit_test(test_report_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
