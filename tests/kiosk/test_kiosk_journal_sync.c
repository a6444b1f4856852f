/* A take does not leave the kiosk before its journal line is on disk.
 *
 * kill -9 cannot test an fdatasync (the page cache keeps what was written),
 * so this test watches the calls instead: the real qms-kiosk runs against a
 * real broker and controller with an LD_PRELOAD recorder (journal_spy.c)
 * that logs, in order, each write() to the journal file, each fdatasync /
 * fsync of it that returned 0, and each socket write that carries the take's
 * MQTT topic. The promise (docs/kiosk.md: "on disk before it leaves"):
 * the journal's "T <req>" record is written, then synced, and only then do
 * the take's bytes go out. Both the technician's --take and a take on the
 * touch screen. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kiosk_harness.h"
#include "qms/alloc.h"
#include "qms/csv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLOCK "2026-11-26T09:00:00"

static kh_world W;

static int setup(void **state)
{
    (void)state;
    if (kh_world_start(&W, NULL) || kh_controller_start(&W, CLOCK) || kh_vprinter_start(&W))
        return -1;
    kh_kiosk_config(&W, "\"ask_priority\":false");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kh_world_stop(&W);
    return 0;
}

/* Read the spy's log: for each take record written to the journal, it was
 * synced before the first take publish after it. Returns the number of
 * takes seen; fails the test on a take that left before its sync. */
static int check_order(const char *log_path)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(log_path, &text, &len, 1 << 20) != 0)
        fail_msg("the recorder wrote no log %s (LD_PRELOAD not applied?)", log_path);
    int takes = 0, pending_t = 0, synced = 0, publishes = 0, bad = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == 'W') {
            /* "W <n> xxxxxxxx T <req> ...": a take record */
            long n = 0;
            char head[64] = "";
            if (sscanf(l, "W %ld %63[^\n]", &n, head) == 2 && n > 0 && strlen(head) > 10 &&
                head[9] == 'T' && head[10] == ' ') {
                pending_t = 1;
                synced = 0;
            } else if (pending_t && n > 0) {
                synced = 0; /* another write before the sync: that one must be synced too */
            }
        } else if (l[0] == 'S') {
            if (pending_t)
                synced = 1;
        } else if (l[0] == 'P') {
            publishes++;
            if (!pending_t) {
                fprintf(stderr, "a take left with no take record written before it\n");
                bad++;
            } else if (!synced) {
                fprintf(stderr, "a take left before its journal line was synced to disk\n");
                bad++;
            } else {
                takes++;
            }
            pending_t = 0;
        }
    }
    fprintf(stderr, "%s: %d take(s) published, %d after their synced record\n", log_path,
            publishes, takes);
    qms_free(text);
    if (bad) {
        fprintf(stderr, "recorded order (W journal write, S sync, P take sent): see %s\n",
                log_path);
        fail_msg("%d take(s) left the kiosk before their journal line was on disk", bad);
    }
    return takes;
}

static void spy_env(char *journal_real, size_t jlen, const char *journal, char *log, size_t loglen,
                    const char *tag)
{
    /* the spy compares against /proc/self/fd's canonical path */
    char dir[PATH_MAX];
    assert_non_null(realpath(W.dir, dir));
    const char *base = strrchr(journal, '/');
    snprintf(journal_real, jlen, "%s/%s", dir, base ? base + 1 : journal);
    snprintf(log, loglen, "%s/spy-%s.log", W.dir, tag);
    unlink(log);
}

static void test_take_synced_before_sent(void **state)
{
    (void)state;
    char journal[400], jreal[PATH_MAX + 64], log[400], err[400], cmd[16384], port[32];
    snprintf(journal, sizeof journal, "%s/tech.journal", W.dir);
    spy_env(jreal, sizeof jreal, journal, log, sizeof log, "take");
    snprintf(port, sizeof port, "127.0.0.1:%d", W.broker.port);
    snprintf(err, sizeof err, "%s/take-spy.err", W.dir);
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "LD_PRELOAD=%s JSPY_LOG=%s JSPY_JOURNAL=%s "
                 "ASAN_OPTIONS=\"$ASAN_OPTIONS:verify_asan_link_order=0\" "
                 "%s --config %s/kiosk.json --broker %s --printer %s --take %s "
                 "--state-file %s >/dev/null 2>>%s",
                 QMS_JOURNAL_SPY, log, jreal, qms_test_bin("qms-kiosk"), W.dir, port, W.pty,
                 i ? "DD" : "TP", journal, err);
        int st = system(cmd);
        if (WEXITSTATUS(st) == 2) /* printer fault (a status timeout on a loaded machine): again */
            st = system(cmd);
        if (WEXITSTATUS(st) != 0)
            fail_msg("qms-kiosk --take failed (%d), see %s", WEXITSTATUS(st), err);
        int ab = 0;
        assert_true(kh_vprinter_next_ticket(&W, 5000, &ab) > 0);
    }
    assert_int_equal(check_order(log), 2);
}

static void test_screen_take_synced_before_sent(void **state)
{
    (void)state;
    char jreal[PATH_MAX + 64], log[400];
    /* kiosk.json says "state_file":"kiosk.journal": next to the config */
    char journal[400];
    snprintf(journal, sizeof journal, "%s/kiosk.journal", W.dir);
    spy_env(jreal, sizeof jreal, journal, log, sizeof log, "screen");
    const char *script = "wait-screen idle 10000\n"
                         "tap 960 540\n"
                         "wait-screen menu\n"
                         "tap-service TP\n"
                         "wait-screen ticket 8000\n"
                         "tap 960 540\n"
                         "wait-screen idle\n"
                         "tap 960 540\n"
                         "wait-screen menu\n"
                         "tap-service XD\n"
                         "wait-screen ticket 8000\n";
    setenv("LD_PRELOAD", QMS_JOURNAL_SPY, 1);
    setenv("JSPY_LOG", log, 1);
    setenv("JSPY_JOURNAL", jreal, 1);
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[512];
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    char *old_asan = asan ? strdup(asan) : NULL;
    setenv("ASAN_OPTIONS", asan_opts, 1);
    char klog[320];
    int st = kh_kiosk_run(&W, script, NULL, 60000, klog, sizeof klog, NULL, 0);
    unsetenv("LD_PRELOAD");
    unsetenv("JSPY_LOG");
    unsetenv("JSPY_JOURNAL");
    if (old_asan)
        setenv("ASAN_OPTIONS", old_asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(old_asan);
    if (st != 0)
        fail_msg("kiosk script failed (%d), log %s", st, klog);
    assert_int_equal(check_order(log), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_synced_before_sent),
        cmocka_unit_test(test_screen_take_synced_before_sent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
