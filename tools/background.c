/* qms-background: runs a program as the center's background work.
 *
 *   qms-background [--slice-ms MS] [--] COMMAND [ARG...]
 *
 * Gives the process a long CPU slice (default 50 ms; Linux 6.12 or later,
 * whose EEVDF scheduler takes a per-task slice through sched_setattr's
 * sched_runtime) and then becomes COMMAND (exec: the same process id, so
 * systemd's MAINPID and signals are COMMAND's). Its nice value, policy and
 * threads to come keep what it has (the unit's Nice=).
 *
 * Why (docs/dashboard.md, "A long CPU slice for the web broker"): EEVDF lets
 * a running task finish its slice before a task that wakes up may take the
 * core, whatever their nice values ("run to parity"); a task with a shorter
 * slice than the running one may take it at once. The site broker and the
 * controller keep the kernel's default slice (0.7-3 ms), so with the web
 * broker on a long one, a counter's request no longer waits for the web
 * broker's fan-out to 200 pages to reach the end of its slice. Over a
 * second, the web broker still gets its share (its nice value's).
 *
 * On a kernel without per-task slices (before 6.12: CFS, where a woken task
 * of a lower nice value preempts by itself) the request is accepted and
 * ignored: COMMAND runs all the same, and a line on stderr says so. A
 * refused request (a seccomp filter without sched_setattr: the unit's
 * @system-service has it, through @resources) is said too, and COMMAND
 * runs: the pages matter more than the slice.
 * Exit: COMMAND's; 2 on bad arguments; 127 if COMMAND cannot be run. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FLAG_RESET_ON_FORK 0x01 /* SCHED_FLAG_RESET_ON_FORK (linux/sched.h) */
#define POLICY_OTHER 0
#define POLICY_BATCH 3

static int usage(FILE *to, int rc)
{
    fprintf(to, "usage: qms-background [--slice-ms 1..100] [--] COMMAND [ARG...]\n"
                "  runs COMMAND with a long CPU slice (default 50 ms; Linux 6.12+), so\n"
                "  programs on the kernel's default slice preempt it when they wake up\n");
    return rc;
}

static const char *policy_name(unsigned p)
{
    static const char *const names[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",
                                        "SCHED_BATCH", "SCHED_ISO",  "SCHED_IDLE",
                                        "SCHED_DEADLINE"};
    return p < sizeof names / sizeof names[0] ? names[p] : "an unknown policy";
}

int main(int argc, char **argv)
{
    long ms = 50;
    int i = 1, have_ms = 0;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (!strncmp(a, "--slice-ms=", 11))
            v = a + 11;
        else if (!strcmp(a, "--slice-ms")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "qms-background: --slice-ms needs a value (1 to 100 ms)\n");
                return 2;
            }
            v = argv[++i];
        } else {
            fprintf(stderr, "qms-background: unknown option %s\n", a);
            return usage(stderr, 2);
        }
        char *end;
        errno = 0;
        ms = strtol(v, &end, 10);
        if (errno || end == v || *end || ms < 1 || ms > 100) {
            fprintf(stderr, "qms-background: --slice-ms %s: a slice is 1 to 100 ms\n", v);
            return 2;
        }
        if (have_ms++) {
            fprintf(stderr, "qms-background: --slice-ms given twice\n");
            return 2;
        }
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "qms-background: no command to run\n");
        return usage(stderr, 2);
    }

    struct sched_attr a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof a, 0) != 0)
        fprintf(stderr, "qms-background: sched_getattr: %s; %s runs with the default slice\n",
                strerror(errno), argv[i]);
    else if (a.sched_policy != POLICY_OTHER && a.sched_policy != POLICY_BATCH)
        fprintf(stderr, "qms-background: %s has no slice to set; %s runs as it is\n",
                policy_name(a.sched_policy), argv[i]);
    else {
        uint64_t want = (uint64_t)ms * 1000000u;
        a.size = sizeof a;
        a.sched_flags &= FLAG_RESET_ON_FORK; /* nothing else: not the utilization clamps */
        a.sched_runtime = want;
        a.sched_deadline = a.sched_period = 0;
        if (syscall(SYS_sched_setattr, 0, &a, 0) != 0)
            fprintf(stderr, "qms-background: sched_setattr: %s; %s runs with the default slice\n",
                    strerror(errno), argv[i]);
        else {
            memset(&a, 0, sizeof a);
            if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof a, 0) != 0 ||
                a.sched_runtime != want)
                fprintf(stderr, "qms-background: this kernel has no per-task CPU slice "
                                "(Linux 6.12+); %s runs with its nice value alone\n",
                        argv[i]);
        }
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "qms-background: %s: %s\n", argv[i], strerror(errno));
    return 127;
}
