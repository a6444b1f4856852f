/* The controller against a broker that wants credentials, and one that
 * speaks TLS only: --username/--password (and QMS_BROKER_PASSWORD), wrong
 * credentials (refused, retried, no crash), --cafile with a CA made here. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    return rc;
}

static void take_one(ctl_env *e, const char *req, const char *want)
{
    qms_mqtt *m = env_client(e, "kiosk");
    assert_non_null(m);
    char body[96];
    snprintf(body, sizeof body, "{\"req\":\"%s\",\"service\":\"TP\"}", req);
    cJSON *o = env_req(e, m, "ticket/take", body);
    assert_non_null(o);
    assert_string_equal(js_str(o, "ticket"), want);
    cJSON_Delete(o);
    qms_mqtt_free(m);
}

static void test_credentials(void **state)
{
    (void)state;
    char dir[256], pw[320], cmd[2048], extra[512];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "pw"), 0);
    snprintf(pw, sizeof pw, "%s/passwd", dir);
    snprintf(
        cmd, sizeof cmd,
        "mosquitto_passwd -b -c %s qms-controller 's3cret pass' >/dev/null 2>&1 && "
        "mosquitto_passwd -b %s kiosk kiosk-pw >/dev/null 2>&1 && chmod 755 %s && chmod 644 %s",
        pw, pw, dir, pw);
    assert_int_equal(run(cmd), 0);
    snprintf(extra, sizeof extra, "allow_anonymous false\npassword_file %s", pw);

    ctl_env e;
    memset(&e, 0, sizeof e);
    e.username = "kiosk";
    e.password = "kiosk-pw";
    e.ctl_extra[0] = "--username";
    e.ctl_extra[1] = "qms-controller";
    e.ctl_extra[2] = "--password";
    e.ctl_extra[3] = "s3cret pass";
    assert_int_equal(env_start_custom(&e, extra, NULL, NULL), 0);
    take_one(&e, "pw-1", "A0001");
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);

    /* the password from the environment instead */
    setenv("QMS_BROKER_PASSWORD", "s3cret pass", 1);
    e.ctl_extra[2] = NULL;
    assert_int_equal(env_controller_start(&e), 0);
    take_one(&e, "pw-2", "A0002");
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    unsetenv("QMS_BROKER_PASSWORD");

    /* a wrong password: refused by the broker, logged, retried, still alive */
    e.ctl_extra[2] = "--password";
    e.ctl_extra[3] = "wrong";
    e.online_wait_ms = 1500;
    assert_int_not_equal(env_controller_start(&e), 0); /* never online */
    assert_true(e.pid > 0);
    assert_true(kill(e.pid, 0) == 0);
    int64_t end = qms_mono_ms() + 3000;
    while (env_log_count(&e, "refused connection") < 2 && qms_mono_ms() < end)
        poll(NULL, 0, 50);
    assert_true(env_log_count(&e, "refused connection") >= 2);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    env_stop(&e);
    qms_test_rmdir(dir);
}

static void test_tls(void **state)
{
    (void)state;
    char dir[256], cmd[4096], extra[1024], ca[320];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "tls"), 0);
    /* a CA, and a server certificate for 127.0.0.1 signed by it */
    snprintf(cmd, sizeof cmd,
             "cd %s && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qms-test-ca "
             "-keyout ca.key -out ca.crt >/dev/null 2>&1 && "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key "
             "-out server.csr >/dev/null 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile san.ext -out server.crt >/dev/null 2>&1 && "
             /* mosquitto started as root reads them as user mosquitto */
             "chmod 755 . && chmod 644 ca.crt server.crt server.key",
             dir);
    assert_int_equal(run(cmd), 0);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(
        extra, sizeof extra,
        "allow_anonymous true\ncafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key",
        dir, dir, dir);
    ctl_env e;
    memset(&e, 0, sizeof e);
    e.cafile = ca;
    e.ctl_extra[0] = "--cafile";
    e.ctl_extra[1] = ca;
    assert_int_equal(env_start_custom(&e, extra, NULL, NULL), 0);
    take_one(&e, "tls-1", "A0001");

    /* an outside client over TLS too */
    char port[16], out[320];
    snprintf(port, sizeof port, "%d", e.broker.port);
    snprintf(out, sizeof out, "%s/rr.out", dir);
    char *argv[] = {"mosquitto_rr",
                    "-V",
                    "5",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    port,
                    "--cafile",
                    ca,
                    "-t",
                    "qms/t1/ticket/take",
                    "-e",
                    "qms/t1/reply/rr-tls",
                    "-W",
                    "5",
                    "-m",
                    "{\"req\":\"tls-2\",\"service\":\"TP\"}",
                    NULL};
    assert_int_equal(qms_test_wait_pid(qms_test_spawn(argv, out), 8000), 0);
    FILE *f = fopen(out, "r");
    char line[1024] = "";
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"ticket\":\"A0002\""));
    env_stop(&e);
    qms_test_rmdir(dir);
}

int main(void)
{
    qms_log_init("test_secure", QMS_LOG_ERROR);
    qms_mqtt_lib_init();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_tls),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
