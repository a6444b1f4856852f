/* The controller against a broker that wants credentials, and one that
 * speaks TLS only: --username/--password (and QMS_BROKER_PASSWORD), wrong
 * credentials (refused, retried, no crash), --cafile with a CA made here,
 * and client certificates (require_certificate) for the controller,
 * qms-counter and an outside client, with the refusals of programs that
 * have none or a stranger's. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"
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
#include <unistd.h>

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

/* Run a program (argv NULL-terminated), its stdout and stderr together into
 * out (qms_free'd by the caller); returns its exit status. */
static int run_capture(char *const argv[], const char *log, char **out)
{
    unlink(log);
    int st = qms_test_wait_pid(qms_test_spawn(argv, log), 20000);
    size_t len;
    if (qms_read_file(log, out, &len, 1 << 20) != QMS_OK)
        *out = qms_strdup("");
    return st;
}

/* Client certificates instead of passwords: the broker requires one from
 * every client (require_certificate) and takes the certificate's name as
 * the user name (use_identity_as_username). The controller and qms-counter
 * get theirs with --certfile/--keyfile and --cert/--key; a program without
 * one, or with one from another CA, is refused and says why. */
static void test_client_certificates(void **state)
{
    (void)state;
    char dir[256], cmd[4096], extra[1024];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "mtls"), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qms-test-ca "
             "-keyout ca.key -out ca.crt >/dev/null 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key "
             "-out server.csr >/dev/null 2>&1 && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile san.ext -out server.crt >/dev/null 2>&1 && "
             /* one certificate per program, its name the broker's user name */
             "for n in qms-controller kiosk-1 counter-1; do "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=$n -keyout $n.key -out $n.csr "
             ">/dev/null 2>&1 && "
             "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
             "-out $n.crt >/dev/null 2>&1 || exit 1; done && "
             /* and one signed by nobody the broker knows */
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=counter-1 "
             "-keyout stranger.key -out stranger.crt >/dev/null 2>&1 && "
             "chmod 755 . && chmod 644 *.crt *.key",
             dir);
    assert_int_equal(run(cmd), 0);
    char ca[320], ccrt[320], ckey[320], kcrt[320], kkey[320], ucrt[320], ukey[320], scrt[320],
        skey[320];
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(ccrt, sizeof ccrt, "%s/qms-controller.crt", dir);
    snprintf(ckey, sizeof ckey, "%s/qms-controller.key", dir);
    snprintf(kcrt, sizeof kcrt, "%s/kiosk-1.crt", dir);
    snprintf(kkey, sizeof kkey, "%s/kiosk-1.key", dir);
    snprintf(ucrt, sizeof ucrt, "%s/counter-1.crt", dir);
    snprintf(ukey, sizeof ukey, "%s/counter-1.key", dir);
    snprintf(scrt, sizeof scrt, "%s/stranger.crt", dir);
    snprintf(skey, sizeof skey, "%s/stranger.key", dir);
    snprintf(extra, sizeof extra,
             "allow_anonymous false\ncafile %s\ncertfile %s/server.crt\nkeyfile %s/server.key\n"
             "require_certificate true\nuse_identity_as_username true",
             ca, dir, dir);

    ctl_env e;
    memset(&e, 0, sizeof e);
    e.cafile = ca;
    e.certfile = kcrt;
    e.keyfile = kkey;
    char *ctl_opts[] = {"--cafile", ca, "--certfile", ccrt, "--keyfile", ckey, NULL};
    memcpy(e.ctl_extra, ctl_opts, sizeof ctl_opts);
    assert_int_equal(env_start_custom(&e, extra, NULL, NULL), 0);
    take_one(&e, "mtls-1", "A0001");

    /* qms-counter with its certificate */
    char broker[32], log[320], *out = NULL;
    snprintf(broker, sizeof broker, "127.0.0.1:%d", e.broker.port);
    snprintf(log, sizeof log, "%s/counter.log", dir);
    char *ok_argv[] = {(char *)qms_test_bin("qms-counter"),
                       "--broker",
                       broker,
                       "--site",
                       "t1",
                       "--counter",
                       "1",
                       "--cafile",
                       ca,
                       "--cert",
                       ucrt,
                       "--key",
                       ukey,
                       "next",
                       NULL};
    int st = run_capture(ok_argv, log, &out);
    if (st != 0 || !strstr(out, "A0001"))
        fail_msg("qms-counter with a certificate (%d):\n%s", st, out);
    qms_free(out);

    /* without one: refused by the broker, and the clerk is told why */
    char *no_argv[] = {(char *)qms_test_bin("qms-counter"),
                       "--broker",
                       broker,
                       "--site",
                       "t1",
                       "--counter",
                       "1",
                       "--cafile",
                       ca,
                       "next",
                       NULL};
    st = run_capture(no_argv, log, &out);
    if (st != 3 || !strstr(out, "ngắt kết nối TLS: broker yêu cầu chứng chỉ máy khách. Hãy cho "
                                "chứng chỉ bằng --cert và --key"))
        fail_msg("qms-counter without a certificate (%d):\n%s", st, out);
    qms_free(out);
    /* one the broker's CA did not sign: refused too, with its own words */
    char *bad_argv[] = {(char *)qms_test_bin("qms-counter"),
                        "--broker",
                        broker,
                        "--site",
                        "t1",
                        "--counter",
                        "1",
                        "--cafile",
                        ca,
                        "--cert",
                        scrt,
                        "--key",
                        skey,
                        "--lang",
                        "en",
                        "next",
                        NULL};
    st = run_capture(bad_argv, log, &out);
    if (st != 3 || !strstr(out, "broke off the TLS connection: it did not accept this client "
                                "certificate"))
        fail_msg("qms-counter with a stranger's certificate (%d):\n%s", st, out);
    qms_free(out);
    /* nothing of that reached the controller: the next ticket is still A0002 */
    take_one(&e, "mtls-2", "A0002");

    /* an outside client with a certificate (mosquitto_rr) */
    char port[16], rr[320];
    snprintf(port, sizeof port, "%d", e.broker.port);
    snprintf(rr, sizeof rr, "%s/rr.out", dir);
    char *rr_argv[] = {"mosquitto_rr",
                       "-V",
                       "5",
                       "-h",
                       "127.0.0.1",
                       "-p",
                       port,
                       "--cafile",
                       ca,
                       "--cert",
                       kcrt,
                       "--key",
                       kkey,
                       "-t",
                       "qms/t1/ticket/take",
                       "-e",
                       "qms/t1/reply/rr-mtls",
                       "-W",
                       "5",
                       "-m",
                       "{\"req\":\"mtls-3\",\"service\":\"TP\"}",
                       NULL};
    st = run_capture(rr_argv, rr, &out);
    if (st != 0 || !strstr(out, "\"ticket\":\"A0003\""))
        fail_msg("mosquitto_rr with a certificate (%d):\n%s", st, out);
    qms_free(out);

    /* the controller without its certificate: never online, and its log
     * says why (once, not at every retry) */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    e.ctl_extra[2] = NULL;
    e.online_wait_ms = 2500;
    assert_int_not_equal(env_controller_start(&e), 0);
    assert_true(e.pid > 0 && kill(e.pid, 0) == 0); /* alive, retrying */
    int64_t end = qms_mono_ms() + 3000;
    while (env_log_count(&e, "it requires a client certificate") < 1 && qms_mono_ms() < end)
        poll(NULL, 0, 50);
    assert_int_equal(env_log_count(&e, "it requires a client certificate, and none was given"), 1);
    /* given its certificate again: back, and the tickets go on */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    e.ctl_extra[2] = "--certfile";
    e.online_wait_ms = 0;
    assert_int_equal(env_controller_start(&e), 0);
    take_one(&e, "mtls-4", "A0004");
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
        cmocka_unit_test(test_client_certificates),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
