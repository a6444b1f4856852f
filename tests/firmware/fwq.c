#include "fwq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

long fwq_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int read_line(int fd, char *out, size_t n, int timeout_ms)
{
    size_t k = 0;
    long end = fwq_ms() + timeout_ms;
    while (fwq_ms() < end && k + 1 < n) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            return -1;
        if (c == '\n') {
            out[k] = 0;
            return 0;
        }
        out[k++] = c;
    }
    return -1;
}

/* Units still running: a failed assertion jumps over fwq_stop, and a
 * qms-unit left behind would keep ctest waiting on its output. */
static pid_t live[64];

static void stop_all(void)
{
    for (int i = 0; i < 64; i++)
        if (live[i] > 0) {
            kill(live[i], SIGTERM);
            qms_test_wait_pid(live[i], 5000);
            live[i] = 0;
        }
}

static void track(pid_t pid, int add)
{
    static int registered;
    if (!registered) {
        atexit(stop_all);
        registered = 1;
    }
    for (int i = 0; i < 64; i++)
        if (add ? live[i] == 0 : live[i] == pid) {
            live[i] = add ? pid : 0;
            return;
        }
}

int fwq_start(struct fwq_unit *u, const char *kind, int addr, int baud)
{
    return fwq_start_link(u, kind, addr, baud, NULL);
}

int fwq_start_link(struct fwq_unit *u, const char *kind, int addr, int baud,
                   const char *bus_link)
{
    memset(u, 0, sizeof *u);
    u->panel_fd = -1;
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", addr);
    snprintf(b, sizeof b, "%d", baud ? baud : 19200);
    u->pid = fork();
    if (u->pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        if (bus_link)
            execl(qms_test_bin("qms-unit"), "qms-unit", "--kind", kind, "--addr", a, "--baud", b,
                  "--bus-link", bus_link, (char *)NULL);
        else
            execl(qms_test_bin("qms-unit"), "qms-unit", "--kind", kind, "--addr", a, "--baud",
                  b, (char *)NULL);
        _exit(127);
    }
    track(u->pid, 1);
    close(pfd[1]);
    int rc = read_line(pfd[0], u->bus, sizeof u->bus, FWQ_WAIT_MS) ||
             read_line(pfd[0], u->panel, sizeof u->panel, FWQ_WAIT_MS);
    close(pfd[0]);
    if (rc)
        return -1;
    u->panel_fd = open(u->panel, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (u->panel_fd < 0)
        return -1;
    struct termios t;
    tcgetattr(u->panel_fd, &t);
    cfmakeraw(&t);
    tcsetattr(u->panel_fd, TCSANOW, &t);
    /* The hello may have gone while nobody held the pty: ask again. */
    char line[256];
    fwq_panel(u, "hello");
    return fwq_wait(u, "hello ", line, sizeof line, FWQ_WAIT_MS);
}

void fwq_stop(struct fwq_unit *u)
{
    if (u->panel_fd >= 0)
        close(u->panel_fd);
    u->panel_fd = -1;
    if (u->pid > 0) {
        kill(u->pid, SIGTERM);
        qms_test_wait_pid(u->pid, 5000);
        track(u->pid, 0);
    }
    u->pid = 0;
}

void fwq_panel(struct fwq_unit *u, const char *line)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (write(u->panel_fd, buf, (size_t)n) != n)
        fprintf(stderr, "fwq: panel write failed\n");
}

int fwq_wait(struct fwq_unit *u, const char *prefix, char *out, size_t outlen, int timeout_ms)
{
    long end = fwq_ms() + timeout_ms;
    size_t pl = strlen(prefix);
    for (;;) {
        char *nl;
        while ((nl = memchr(u->pending, '\n', u->plen)) != NULL) {
            size_t n = (size_t)(nl - u->pending);
            *nl = 0;
            int hit = n >= pl && memcmp(u->pending, prefix, pl) == 0;
            if (hit && out)
                snprintf(out, outlen, "%s", u->pending);
            memmove(u->pending, nl + 1, u->plen - n - 1);
            u->plen -= n + 1;
            if (hit)
                return 0;
        }
        long left = end - fwq_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {u->panel_fd, POLLIN, 0};
        if (poll(&p, 1, (int)(left < 100 ? left : 100)) <= 0)
            continue;
        if (u->plen == sizeof u->pending)
            u->plen = 0; /* an endless line: drop it */
        ssize_t r = read(u->panel_fd, u->pending + u->plen, sizeof u->pending - u->plen);
        if (r > 0)
            u->plen += (size_t)r;
        else if (r < 0 && errno != EAGAIN)
            return -1;
    }
}

int fwq_run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
