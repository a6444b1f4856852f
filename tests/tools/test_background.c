/* qms-background (tools/background.c), the program the qms-web-broker unit
 * and the demo run the web broker through: the CPU slice it asks for is read
 * back from the kernel's own account of the process (/proc/PID/sched, its
 * se.slice line), not from anything qms-background prints; it becomes its
 * command (same pid), keeps the nice value it was given, runs the command
 * when the kernel refuses the slice (a seccomp filter without sched_setattr,
 * stricter than the unit's @system-service, which has it) or the policy has
 * none (SCHED_IDLE), says what a kernel without slices does (before Linux
 * 6.12: that path runs only there), and refuses bad arguments.
 * Whether the slice helps the counters' calls is measured by
 * bench/dashboard/bench_dashboard.js, not here: tests do not fail on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <linux/filter.h>
#include <linux/sched/types.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

/* how a child is set up before it execs qms-background */
enum { PLAIN, NICE_10, NO_SETATTR, IDLE };

/* Runs argv (argv[0]: qms-background) with stdout and stderr to one pipe;
 * the output in out, the exit status returned; *pid_out: the child's pid. */
static int run(char *const argv[], int how, char *out, size_t outlen, pid_t *pid_out)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        if (how == NICE_10 && setpriority(PRIO_PROCESS, 0, 10) != 0)
            _exit(90);
        struct sched_param sp = {0}; /* linux/sched/types.h's; SCHED_IDLE is 5 */
        if (how == IDLE && syscall(SYS_sched_setscheduler, 0, 5, &sp) != 0)
            _exit(93);
        if (how == NO_SETATTR) {
            /* sched_setattr refused with EPERM, as a unit whose
             * SystemCallFilter= left out @resources would (with
             * SystemCallErrorNumber=EPERM); everything else allowed */
            struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_setattr, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
                prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
                _exit(91);
        }
        execv(argv[0], argv);
        _exit(92);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < outlen && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (pid_out)
        *pid_out = pid;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The se.slice value in a /proc/PID/sched text, or -1 if it has none. */
static long long slice_in(const char *text)
{
    const char *s = strstr(text, "se.slice");
    if (!s)
        return -1;
    s = strchr(s, ':');
    return s ? strtoll(s + 1, NULL, 10) : -1;
}

/* Does this kernel keep a slice asked for with sched_setattr? Asked in a
 * child of the test itself (not through qms-background), read back from
 * /proc/self/sched. */
static int kernel_has_slices(void)
{
    static int known = -1;
    if (known >= 0)
        return known;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct sched_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.sched_runtime = 33000000; /* 33 ms: no kernel's default */
        char buf[8192] = "";
        if (syscall(SYS_sched_setattr, 0, &a, 0) == 0) {
            int fd = open("/proc/self/sched", O_RDONLY);
            ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
            buf[n > 0 ? n : 0] = 0;
        }
        char yes = slice_in(buf) == 33000000 ? 'y' : 'n';
        if (write(p[1], &yes, 1) != 1)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    char c = 'n';
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    known = c == 'y';
    if (!known)
        print_message("this kernel keeps no per-task CPU slice (before Linux 6.12): "
                      "qms-background's fallback is what is checked\n");
    return known;
}

static char *bg(void)
{
    return (char *)qms_test_bin("qms-background");
}

/* the slice asked for, as the kernel keeps it; the default 50 ms */
static void test_slice_read_back(void **state)
{
    (void)state;
    char out[16384];
    char *a1[] = {bg(), "--slice-ms", "37", "/bin/cat", "/proc/self/sched", NULL};
    assert_int_equal(run(a1, PLAIN, out, sizeof out, NULL), 0);
    if (kernel_has_slices())
        assert_int_equal(slice_in(out), 37000000);
    else
        assert_non_null(strstr(out, "this kernel has no per-task CPU slice"));
    assert_non_null(strstr(out, "se.")); /* cat ran either way */

    char *a2[] = {bg(), "--", "/bin/cat", "/proc/self/sched", NULL};
    assert_int_equal(run(a2, PLAIN, out, sizeof out, NULL), 0);
    if (kernel_has_slices())
        assert_int_equal(slice_in(out), 50000000);
    assert_non_null(strstr(out, "se."));
}

/* it becomes the command (systemd's MAINPID, its signals), its exit status
 * is the command's, and the nice value it was started with stays */
static void test_exec_same_pid_nice_kept(void **state)
{
    (void)state;
    char out[4096];
    pid_t pid;
    char *a[] = {bg(), "/bin/sh", "-c", "echo pid=$$; exit 7", NULL};
    assert_int_equal(run(a, PLAIN, out, sizeof out, &pid), 7);
    char want[32];
    snprintf(want, sizeof want, "pid=%ld\n", (long)pid);
    assert_non_null(strstr(out, want));

    /* field 19 of /proc/self/stat: nice (the command's name has no spaces) */
    char *b[] = {bg(), "--slice-ms", "20", "/bin/sh", "-c",
                 "echo nice=$(cut -d' ' -f19 /proc/self/stat)", NULL};
    assert_int_equal(run(b, NICE_10, out, sizeof out, NULL), 0);
    assert_non_null(strstr(out, "nice=10\n"));
}

/* a syscall filter without sched_setattr: said, and the command runs on
 * the default slice; a policy without slices (SCHED_IDLE): said by name, and
 * the command runs */
static void test_refused_still_runs(void **state)
{
    (void)state;
    char out[16384];
    char *a[] = {bg(), "--slice-ms", "37", "/bin/cat", "/proc/self/sched", NULL};
    assert_int_equal(run(a, NO_SETATTR, out, sizeof out, NULL), 0);
    assert_non_null(strstr(out, "qms-background: sched_setattr: Operation not permitted; "
                                "/bin/cat runs with the default slice"));
    assert_non_null(strstr(out, "se."));
    assert_true(slice_in(out) != 37000000);

    char *b[] = {bg(), "/bin/cat", "/proc/self/sched", NULL};
    assert_int_equal(run(b, IDLE, out, sizeof out, NULL), 0);
    assert_non_null(strstr(out, "qms-background: SCHED_IDLE has no slice to set; "
                                "/bin/cat runs as it is"));
    assert_non_null(strstr(out, "se."));
}

/* bad arguments: a clear line and exit 2; a command that cannot run: 127 */
static void test_bad_arguments(void **state)
{
    (void)state;
    char out[4096];
    const char *bad[] = {"0", "101", "abc", "5x", "-3", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *a[] = {bg(), "--slice-ms", (char *)bad[i], "/bin/true", NULL};
        assert_int_equal(run(a, PLAIN, out, sizeof out, NULL), 2);
        char want[64];
        snprintf(want, sizeof want, "--slice-ms %s: a slice is 1 to 100 ms", bad[i]);
        assert_non_null(strstr(out, want));
    }
    char *none[] = {bg(), NULL};
    assert_int_equal(run(none, PLAIN, out, sizeof out, NULL), 2);
    assert_non_null(strstr(out, "usage: qms-background"));
    assert_non_null(strstr(out, "qms-background: no command to run"));
    char *noval[] = {bg(), "--slice-ms", NULL};
    assert_int_equal(run(noval, PLAIN, out, sizeof out, NULL), 2);
    assert_non_null(strstr(out, "--slice-ms needs a value"));
    char *opt[] = {bg(), "--slices", "5", "/bin/true", NULL};
    assert_int_equal(run(opt, PLAIN, out, sizeof out, NULL), 2);
    assert_non_null(strstr(out, "qms-background: unknown option --slices"));
    char *twice[] = {bg(), "--slice-ms", "30", "--slice-ms=20", "/bin/true", NULL};
    assert_int_equal(run(twice, PLAIN, out, sizeof out, NULL), 2);
    assert_non_null(strstr(out, "--slice-ms given twice"));
    char *bad_eq[] = {bg(), "--slice-ms=0", "/bin/true", NULL};
    assert_int_equal(run(bad_eq, PLAIN, out, sizeof out, NULL), 2);
    assert_non_null(strstr(out, "--slice-ms 0: a slice is 1 to 100 ms"));
    /* after --, a command whose name starts with '-' is the command */
    char *dash[] = {bg(), "--", "-no-such-program", NULL};
    assert_int_equal(run(dash, PLAIN, out, sizeof out, NULL), 127);
    assert_non_null(strstr(out, "qms-background: -no-such-program: No such file or directory"));
    char *missing[] = {bg(), "/nonexistent/mosquitto", "-c", "x", NULL};
    assert_int_equal(run(missing, PLAIN, out, sizeof out, NULL), 127);
    assert_non_null(strstr(out, "qms-background: /nonexistent/mosquitto: No such file or directory"));
}

/* --help: the usage on stdout, exit 0; --slice-ms=N as well as --slice-ms N */
static void test_help_and_equals_form(void **state)
{
    (void)state;
    char out[16384];
    char *h[] = {bg(), "--help", NULL};
    assert_int_equal(run(h, PLAIN, out, sizeof out, NULL), 0);
    assert_non_null(strstr(out, "usage: qms-background [--slice-ms 1..100] [--] COMMAND"));
    char *a[] = {bg(), "--slice-ms=23", "/bin/cat", "/proc/self/sched", NULL};
    assert_int_equal(run(a, PLAIN, out, sizeof out, NULL), 0);
    if (kernel_has_slices())
        assert_int_equal(slice_in(out), 23000000);
    assert_non_null(strstr(out, "se."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_read_back),
        cmocka_unit_test(test_exec_same_pid_nice_kept),
        cmocka_unit_test(test_refused_still_runs),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_help_and_equals_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
