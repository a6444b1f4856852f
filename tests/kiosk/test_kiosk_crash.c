/* A kiosk killed (kill -9, as by a power cut) at the moments that matter
 * never leaves a ghost ticket: real mosquitto, the real controller and its
 * SQLite store, qms-vprinter on a pty, qms-kiosk under the offscreen driver.
 *
 * After each kill the kiosk is started again; the controller's store must
 * then hold waiting exactly the tickets that came out of the printer whole
 * (cut) -- nothing the kiosk asked for and did not print, and nothing that
 * was printed taken away. The moments:
 *   - the take was sent and the controller was frozen (SIGSTOP), so the
 *     reply never came: the ticket is made after the kiosk died;
 *   - the reply came, nothing printed yet (the kiosk stops itself there by
 *     a test hook, $QMS_KIOSK_STOP_AT=reply, and is killed);
 *   - the print failed (paper ran out inside the ticket) and the cancel was
 *     not answered ($QMS_KIOSK_STOP_AT=cancel);
 *   - the ticket was printed (it must stay);
 *   - the technician's --take, killed while the controller was frozen;
 *   - a damaged journal: logged, a copy kept, the kiosk serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kiosk_harness.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"

#include <cjson/cJSON.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLOCK "2026-11-26T09:00:00"
#define SETTLE_MS 20000

static kh_world W;
static char shots[400];
static char journal[400];
/* labels of the tickets that came out of the printer whole, sorted */
static char printed[64][24];
static int nprinted;

static int setup(void **state)
{
    (void)state;
    if (kh_world_start(&W, NULL) || kh_controller_start(&W, CLOCK) || kh_vprinter_start(&W))
        return -1;
    kh_kiosk_config(&W, "\"ask_priority\":false");
    snprintf(shots, sizeof shots, "%s/shots", W.dir);
    snprintf(journal, sizeof journal, "%s/kiosk.journal", W.dir);
    if (kh_watch(&W, "ticket/take") || kh_watch(&W, "ticket/cancel"))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kh_world_stop(&W);
    return 0;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The number printed on page n (its biggest text run), or "". */
static void page_number(int n, char *out, size_t outlen)
{
    out[0] = 0;
    char *text = kh_vprinter_json(&W, n);
    assert_non_null(text);
    cJSON *js = cJSON_Parse(text);
    qms_free(text);
    assert_non_null(js);
    int best = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(js, "text"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "text");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "hmul");
        int m = cJSON_IsNumber(h) ? (int)h->valuedouble : 1;
        if (cJSON_IsString(t) && m > best) {
            best = m;
            const char *s = t->valuestring;
            while (*s == ' ')
                s++;
            snprintf(out, outlen, "%s", s);
            size_t k = strlen(out);
            while (k && out[k - 1] == ' ')
                out[--k] = 0;
        }
    }
    cJSON_Delete(js);
}

/* Take note of one page the vprinter reports (within timeout_ms); returns
 * 1 cut (a ticket), 0 abandoned (never cut), -1 none came. */
static int note_page(int timeout_ms)
{
    int ab = 0;
    int n = kh_vprinter_next_ticket(&W, timeout_ms, &ab);
    if (n < 0)
        return -1;
    if (ab)
        return 0;
    assert_true(nprinted < 64);
    page_number(n, printed[nprinted], sizeof printed[0]);
    assert_true(printed[nprinted][0] != 0);
    nprinted++;
    qsort(printed, (size_t)nprinted, sizeof printed[0], cmp_label);
    return 1;
}

/* The rule: waiting in the store == printed whole. */
static void check_no_ghost(const char *when)
{
    char want[2048] = "", got[2048];
    for (int i = 0; i < nprinted; i++) {
        size_t k = strlen(want);
        snprintf(want + k, sizeof want - k, "%s%s", i ? "," : "", printed[i]);
    }
    int n = kh_store_waiting(&W, got, sizeof got);
    assert_true(n >= 0);
    if (strcmp(got, want))
        fail_msg("%s: waiting in the store [%s], printed [%s]", when, got, want);
}

/* Poll the store until ticket id is in state (or SETTLE_MS pass). */
static int wait_state(long long id, const char *state)
{
    kh_ticket t;
    int64_t end = qms_mono_ms() + SETTLE_MS;
    for (;;) {
        if (kh_store_ticket(&W, id, &t) == 0 && !strcmp(t.state, state))
            return 0;
        if (qms_mono_ms() >= end)
            return -1;
        qms_mqtt_loop(W.m, 50);
    }
}

/* A ticket newer than after_id, waiting (the ghost a killed kiosk leaves). */
static void wait_ghost(long long after_id, kh_ticket *t)
{
    int64_t end = qms_mono_ms() + 10000;
    while (kh_store_newest(&W, t) || t->id <= after_id) {
        if (qms_mono_ms() >= end)
            fail_msg("no ticket was made (newest id %lld): the scenario did not happen", t->id);
        qms_mqtt_loop(W.m, 50);
    }
    assert_string_equal(t->state, "waiting");
}

static long long newest_id(void)
{
    kh_ticket t;
    return kh_store_newest(&W, &t) ? 0 : t.id;
}

static void touch(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", shots, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
}

static int shot_exists(const char *name, int timeout_ms)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s.png", shots, name);
    return kh_wait_file(p, timeout_ms);
}

static int file_has(const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 1 << 22))
        return 0;
    int has = strstr(text, needle) != NULL;
    qms_free(text);
    return has;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

/* Start the kiosk again; once it settled (the store says ticket id is
 * cancelled) let it finish. Checks the restart's log for why. */
static void restart_and_settle(const char *tag, long long id, const char *log_needle)
{
    char s[512], go[64], log[320];
    snprintf(go, sizeof go, "%s-settled", tag);
    snprintf(s, sizeof s, "wait-screen idle 10000\nwait-file %s 30000\n", go);
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, NULL, 0);
    assert_true(pid > 0);
    int settled = wait_state(id, "cancelled");
    touch(go);
    int st = qms_test_wait_pid(pid, 30000);
    if (st < 0)
        kh_kill9(pid);
    if (settled)
        fail_msg("%s: ticket id %lld still not cancelled after the restart (log %s)", tag, id, log);
    assert_int_equal(st, 0);
    if (log_needle && !file_has(log, log_needle))
        fail_msg("%s: the restart's log %s does not say \"%s\"", tag, log, log_needle);
    /* everything settled: the journal is empty again */
    assert_int_equal(file_size(journal), 0);
}

/* The take left, the controller was frozen: no reply; the kiosk is killed.
 * The controller, thawed, makes the ticket for nobody. */
static void test_killed_waiting_for_reply(void **state)
{
    (void)state;
    long long before = newest_id();
    int takes = kh_seen(&W, "ticket/take", 0, 0);
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W,
                               "wait-screen idle 10000\nscreenshot a-ready\nwait-file a-go 20000\n"
                               "tap 960 540\nwait-screen menu\ntap-service TP\nwait 60000\n",
                               NULL, log, sizeof log, NULL, 0);
    assert_true(pid > 0);
    assert_int_equal(shot_exists("a-ready", 20000), 0);
    kh_controller_freeze(&W, 1);
    touch("a-go");
    int seen = kh_seen(&W, "ticket/take", takes + 1, 10000);
    if (seen < takes + 1) {
        kh_controller_freeze(&W, 0);
        kh_kill9(pid);
        fail_msg("the take never reached the broker (log %s)", log);
    }
    poll(NULL, 0, 300); /* let the broker hand it to the (frozen) controller */
    kh_kill9(pid);
    kh_controller_freeze(&W, 0);
    kh_ticket ghost;
    wait_ghost(before, &ghost);
    assert_true(file_size(journal) > 0); /* the take is on disk */
    restart_and_settle("a", ghost.id, "outcome is unknown");
    assert_int_equal(note_page(500), -1); /* nothing was printed */
    check_no_ghost("killed waiting for the reply");
}

/* Kill at a hook point; returns the ghost ticket (waiting). */
static void kill_at(const char *point, const char *tag, kh_ticket *ghost)
{
    long long before = newest_id();
    char s[512], log[320];
    snprintf(s, sizeof s,
             "wait-screen idle 10000\ntap 960 540\nwait-screen menu\n"
             "tap-service TP\nwait 60000\n");
    setenv("QMS_KIOSK_STOP_AT", point, 1);
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, NULL, 0);
    unsetenv("QMS_KIOSK_STOP_AT");
    assert_true(pid > 0);
    if (kh_wait_stopped(pid, 20000)) {
        kh_kill9(pid);
        fail_msg("%s: the kiosk never reached \"%s\" (log %s)", tag, point, log);
    }
    kh_kill9(pid);
    wait_ghost(before, ghost);
}

/* The reply came; killed before anything was printed. */
static void test_killed_after_reply(void **state)
{
    (void)state;
    kh_ticket ghost;
    kill_at("reply", "b", &ghost);
    assert_int_equal(note_page(500), -1); /* nothing printed */
    restart_and_settle("b", ghost.id, "not confirmed printed");
    check_no_ghost("killed after the reply");
}

/* The paper ran out inside the ticket; killed before the cancel was
 * answered (before it left, even). */
static void test_killed_before_cancel_answered(void **state)
{
    (void)state;
    assert_int_equal(kh_vprinter_cmd(&W, "paper left 120"), 0);
    kh_ticket ghost;
    kill_at("cancel", "c", &ghost);
    assert_int_equal(note_page(5000), 0); /* a page that was never cut */
    assert_int_equal(kh_vprinter_cmd(&W, "paper in"), 0);
    restart_and_settle("c", ghost.id, "was not acknowledged");
    char clog[400];
    snprintf(clog, sizeof clog, "%s/ctrl-1.log", W.dir);
    if (!file_has(clog, "cancelled (print_failed)"))
        fail_msg("the controller's log %s does not show the cancel with its reason", clog);
    check_no_ghost("killed before the cancel was answered");
}

/* Printed, then killed: the ticket stands after a restart. */
static void test_printed_stays(void **state)
{
    (void)state;
    long long before = newest_id();
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W,
                               "wait-screen idle 10000\ntap 960 540\nwait-screen menu\n"
                               "tap-service TP\nwait-screen ticket 8000\nscreenshot d-printed\n"
                               "wait 60000\n",
                               NULL, log, sizeof log, NULL, 0);
    assert_true(pid > 0);
    if (shot_exists("d-printed", 20000)) {
        kh_kill9(pid);
        fail_msg("no ticket printed (log %s)", log);
    }
    kh_kill9(pid);
    assert_int_equal(note_page(5000), 1);
    kh_ticket t;
    assert_int_equal(kh_store_newest(&W, &t), 0);
    assert_true(t.id > before);
    assert_int_equal(file_size(journal), 0); /* nothing open */
    /* restart: it must leave the printed ticket alone */
    int st = kh_kiosk_run(&W, "wait-screen idle 10000\nwait 2000\n", NULL, 30000, log, sizeof log,
                          NULL, 0);
    assert_int_equal(st, 0);
    assert_int_equal(kh_store_ticket(&W, t.id, &t), 0);
    assert_string_equal(t.state, "waiting");
    check_no_ghost("killed after printing");
}

/* The technician's --take, killed while the controller was frozen; the
 * next --take settles it and prints its own ticket. */
static void test_take_killed(void **state)
{
    (void)state;
    long long before = newest_id();
    int takes = kh_seen(&W, "ticket/take", 0, 0);
    char port[32], kcfg[400], tlog[400];
    snprintf(port, sizeof port, "127.0.0.1:%d", W.broker.port);
    snprintf(kcfg, sizeof kcfg, "%s/kiosk.json", W.dir);
    snprintf(tlog, sizeof tlog, "%s/take-1.log", W.dir);
    const char *argv[] = {qms_test_bin("qms-kiosk"),
                          "--config",
                          kcfg,
                          "--broker",
                          port,
                          "--printer",
                          W.pty,
                          "--take",
                          "TP",
                          NULL};
    kh_controller_freeze(&W, 1);
    pid_t pid = qms_test_spawn((char *const *)argv, tlog);
    assert_true(pid > 0);
    int seen = kh_seen(&W, "ticket/take", takes + 1, 10000);
    poll(NULL, 0, 300);
    kh_kill9(pid);
    kh_controller_freeze(&W, 0);
    if (seen < takes + 1)
        fail_msg("--take sent nothing (log %s)", tlog);
    kh_ticket ghost;
    wait_ghost(before, &ghost);
    /* the next --take: its own ticket printed, the ghost cancelled */
    char out[400], err[400], cmd[2048];
    snprintf(out, sizeof out, "%s/take-2.out", W.dir);
    snprintf(err, sizeof err, "%s/take-2.err", W.dir);
    snprintf(cmd, sizeof cmd, "%s --config %s --broker %s --printer %s --take TP >%s 2>%s",
             qms_test_bin("qms-kiosk"), kcfg, port, W.pty, out, err);
    int st = system(cmd);
    if (WEXITSTATUS(st) != 0)
        fail_msg("the second --take failed (%d), see %s", WEXITSTATUS(st), err);
    assert_int_equal(note_page(5000), 1);
    if (wait_state(ghost.id, "cancelled"))
        fail_msg("the killed --take's ticket %s is still waiting (see %s)", ghost.label, err);
    if (!file_has(err, "outcome is unknown"))
        fail_msg("the second --take does not say what it settled (%s)", err);
    assert_int_equal(file_size(journal), 0);
    check_no_ghost("--take killed");
}

/* A damaged journal: a clear log line, a copy kept, no crash, and the
 * kiosk serves. */
static void test_damaged_journal(void **state)
{
    (void)state;
    FILE *f = fopen(journal, "w");
    assert_non_null(f);
    fputs("deadbeef T k1-x-1 {\"req\":\"k1-x-1\",\"service\":\"TP\"}\n" /* bad crc */
          "\x01\x02 garbage \xff\xfe\n"
          "0000000",
          f); /* torn */
    fclose(f);
    char log[320];
    int st = kh_kiosk_run(&W,
                          "wait-screen idle 10000\ntap 960 540\nwait-screen menu\n"
                          "tap-service TP\nwait-screen ticket 8000\n",
                          NULL, 30000, log, sizeof log, NULL, 0);
    if (st != 0)
        fail_msg("the kiosk did not serve with a damaged journal (%d), log %s", st, log);
    assert_int_equal(note_page(5000), 1);
    if (!file_has(log, "is damaged"))
        fail_msg("no clear line about the damaged journal in %s", log);
    char copy[420];
    snprintf(copy, sizeof copy, "%s.corrupt", journal);
    assert_true(file_size(copy) > 0);
    assert_int_equal(file_size(journal), 0);
    check_no_ghost("damaged journal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_waiting_for_reply),
        cmocka_unit_test(test_killed_after_reply),
        cmocka_unit_test(test_killed_before_cancel_answered),
        cmocka_unit_test(test_printed_stays),
        cmocka_unit_test(test_take_killed),
        cmocka_unit_test(test_damaged_journal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
