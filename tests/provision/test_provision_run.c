/* A whole center on a provisioned TLS broker (qms-provision's files, client
 * certificates and passwords): the controller, a kiosk printing a ticket on
 * the virtual printer, a counter calling it and the hall display showing the
 * call, each started with nothing but its client file (--client). And the
 * kiosk without credentials is refused. */
#include "prov_fixture.h"
#include "vp_harness.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static prov_env E;
static const char *const EXTRA[] = {"--kiosk", "k1", "--display", "hall", NULL};

static int run(char *const argv[], const char *log, int timeout_ms)
{
    pid_t pid = qms_test_spawn(argv, log);
    int rc = pid > 0 ? qms_test_wait_pid(pid, timeout_ms) : -1;
    if (rc < 0 && pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (rc != 0) {
        fprintf(stderr, "%s exited %d; its log:\n", argv[0], rc);
        FILE *f = fopen(log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    return rc;
}

static int find_shot(const char *dir, const char *prefix, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && strstr(e->d_name, ".txt")) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = 1;
        }
    if (d)
        closedir(d);
    return found;
}

static void test_center_on_provisioned_tls_broker(void **state)
{
    (void)state;
    mosquitto_lib_init();
    assert_int_equal(prov_start(&E, EXTRA), 0);
    char db[320], log[320], shots[320], kcfg[320], txt[600];
    snprintf(db, sizeof db, "%s/qms.db", E.dir);
    snprintf(shots, sizeof shots, "%s/shots", E.dir);

    /* a dashboard watches the device statuses: an outside client */
    int reason;
    pcli *dash = pcli_open(&E, "dashboard", 1, NULL, NULL, &reason);
    assert_int_equal(reason, 0);
    assert_int_equal(pcli_sub(dash, "qms/demo/device/+/+/status"), 0);

    snprintf(log, sizeof log, "%s/controller.log", E.dir);
    char *ctl[] = {(char *)qms_test_bin("qms-controller"), "--config", E.center, "--db", db,
                   "--client", (char *)prov_client(&E, "controller"), "--clock",
                   "2026-11-26T09:00:00", NULL};
    pid_t cpid = qms_test_spawn(ctl, log);
    assert_true(cpid > 0);

    snprintf(log, sizeof log, "%s/display.log", E.dir);
    char *disp[] = {(char *)qms_test_bin("qms-display"), "--config", E.center, "--client",
                    (char *)prov_client(&E, "display-hall"), "--screenshot-dir", shots, "--mute",
                    "--size", "960x540", NULL};
    pid_t dpid = qms_test_spawn(disp, log);
    assert_true(dpid > 0);
    /* the display connects (its status "online" reaches the dashboard) */
    assert_true(pcli_got_like(dash, "qms/demo/device/display/hall/status", "online", 30000));

    /* the kiosk: settings that only name its client file */
    snprintf(kcfg, sizeof kcfg, "%s/kiosk.json", E.dir);
    FILE *f = fopen(kcfg, "w");
    assert_non_null(f);
    fprintf(f, "{\"client\":\"%s\",\"timeouts\":{\"take_ms\":8000}}\n",
            prov_client(&E, "kiosk-k1"));
    fclose(f);
    vp_proc vp;
    assert_int_equal(vp_start(&vp, 576, NULL, NULL), 0);
    snprintf(log, sizeof log, "%s/kiosk.log", E.dir);
    char *kiosk[] = {(char *)qms_test_bin("qms-kiosk"), "--config", kcfg, "--printer", vp.dev,
                     "--take", "TP", NULL};
    assert_int_equal(run(kiosk, log, 60000), 0);
    int n = 0, cut = 0;
    assert_int_equal(vp_next_page(&vp, &n, &cut, 20000), 0);
    assert_int_equal(n, 1);

    /* the same kiosk without its credentials: the broker refuses it */
    FILE *g = fopen(kcfg, "w");
    assert_non_null(g);
    fprintf(g, "{\"site\":\"demo\",\"kiosk_id\":\"k1\",\"broker\":\"127.0.0.1:%d\","
               "\"cafile\":\"%s/ca.crt\"}\n",
            E.tls_port, E.out);
    fclose(g);
    snprintf(log, sizeof log, "%s/kiosk-nocreds.log", E.dir);
    pid_t kp = qms_test_spawn(kiosk, log);
    int krc = qms_test_wait_pid(kp, 60000);
    assert_true(krc != 0 && krc != -1);

    /* counter 1 (it serves TP) calls the ticket, with its client file */
    snprintf(log, sizeof log, "%s/counter.log", E.dir);
    char *ctr[] = {(char *)qms_test_bin("qms-counter"), "--client",
                   (char *)prov_client(&E, "counter-1"), "next", NULL};
    assert_int_equal(run(ctr, log, 30000), 0);
    /* ... and the display shows it */
    int shown = 0;
    for (int i = 0; i < 300 && !shown; i++) {
        shown = find_shot(shots, "call-0001-", txt, sizeof txt);
        if (!shown)
            poll(NULL, 0, 100);
    }
    assert_true(shown);
    assert_non_null(strstr(txt, "c1"));

    kill(dpid, SIGTERM);
    qms_test_wait_pid(dpid, 10000);
    kill(cpid, SIGTERM);
    qms_test_wait_pid(cpid, 10000);
    vp_stop(&vp, 0);
    pcli_close(dash);
    prov_stop(&E);
    mosquitto_lib_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_center_on_provisioned_tls_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
