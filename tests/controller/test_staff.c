/* Staff sign-in: with a staff list in the center's config (salted hashes
 * from qms-provision --staff-hash), "open" needs a known staff id and its
 * code; a wrong or missing code, or an unknown id, is refused (bad_staff)
 * and changes nothing. qms-counter asks for the code (here on stdin), the
 * counter's state and the call events carry the staff id, and the code is
 * never written to the controller's log. */
#include "harness.h"

#include "qms/alloc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void open_with(ctl_env *e, qms_mqtt *m, const char *body, const char *want_err)
{
    cJSON *o = env_req(e, m, "counter/1/cmd", body);
    assert_non_null(o);
    const char *err = js_str(o, "error");
    if (want_err)
        assert_string_equal(err ? err : "(none)", want_err);
    else
        assert_null(err);
    cJSON_Delete(o);
}

static void test_sign_in(void **state)
{
    (void)state;
    char cmd[600], hash[256] = "";
    snprintf(cmd, sizeof cmd, "echo 4711 | %s --staff-hash", qms_test_bin("qms-provision"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hash, sizeof hash, p));
    pclose(p);
    hash[strcspn(hash, "\n")] = 0;
    char *center = malloc(8192);
    snprintf(center, 8192,
             "{\"staff\":[{\"id\":\"nv01\",\"name\":\"Nguyễn Văn A\",\"code_hash\":\"%s\"}],%s",
             hash, harness_center_json + 1);
    ctl_env e;
    memset(&e, 0, sizeof e);
    assert_int_equal(env_start(&e, center, NULL), 0);
    free(center);
    static const char *const pats[] = {"qms/t1/call", "qms/t1/counter/1/state", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "staff-coll", pats), 0);
    qms_mqtt *m = env_client(&e, "staff-test");
    assert_non_null(m);

    cJSON *t = env_req(&e, m, "ticket/take", "{\"req\":\"k-1\",\"service\":\"TP\"}");
    assert_non_null(t);
    cJSON_Delete(t);
    open_with(&e, m, "{\"req\":\"s-1\",\"op\":\"open\",\"staff\":\"nv01\",\"code\":\"4712\"}",
              "bad_staff");
    open_with(&e, m, "{\"req\":\"s-2\",\"op\":\"open\",\"staff\":\"nv01\"}", "bad_staff");
    open_with(&e, m, "{\"req\":\"s-3\",\"op\":\"open\",\"staff\":\"nv99\",\"code\":\"4711\"}",
              "bad_staff");
    open_with(&e, m, "{\"req\":\"s-4\",\"op\":\"open\"}", "bad_staff");
    /* nothing changed: nobody is signed in at counter 1 */
    cJSON *st = env_req(&e, m, "counter/1/cmd", "{\"req\":\"s-5\",\"op\":\"status\"}");
    assert_non_null(st);
    assert_null(js_str(st, "error"));
    cJSON_Delete(st);
    const coll_msg *last = coll_last(&col, "qms/t1/counter/1/state");
    assert_true(!last || strstr(last->payload, "\"staff\":\"\""));

    /* qms-counter asks for the code (stdin here) */
    char out[400], cmdline[1200];
    snprintf(out, sizeof out, "%s/counter-open.txt", e.dir);
    snprintf(cmdline, sizeof cmdline,
             "echo 4711 | %s --broker 127.0.0.1:%d --site t1 --counter 1 --lang en open "
             "--staff nv01 >%s 2>&1",
             qms_test_bin("qms-counter"), e.broker.port, out);
    assert_int_equal(system(cmdline), 0);
    int from = 0;
    assert_true(coll_wait(&col, from, "qms/t1/counter/1/state", "\"staff\":\"nv01\"", 0) >= 0);
    /* and with a wrong code it is refused (exit 1: refused by the controller) */
    snprintf(cmdline, sizeof cmdline,
             "echo 0000 | %s --broker 127.0.0.1:%d --site t1 --counter 2 --lang en open "
             "--staff nv01 >%s 2>&1",
             qms_test_bin("qms-counter"), e.broker.port, out);
    assert_int_equal(WEXITSTATUS(system(cmdline)), 1);

    /* the call carries who called */
    cJSON *n = env_req(&e, m, "counter/1/cmd", "{\"req\":\"s-6\",\"op\":\"next\"}");
    assert_non_null(n);
    assert_string_equal(js_str(n, "ticket"), "A0001");
    cJSON_Delete(n);
    assert_true(coll_wait(&col, 0, "qms/t1/call", "\"staff\":\"nv01\"", 0) >= 0);

    assert_int_equal(env_log_count(&e, "4711"), 0);
    assert_int_equal(env_log_count(&e, "4712"), 0);
    assert_true(env_log_count(&e, "sign-in refused") >= 4);
    coll_stop(&col);
    qms_mqtt_free(m);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
