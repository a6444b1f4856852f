#include "vp_harness.h"

#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int vp_start(vp_proc *v, int width, const char *extra1, const char *extra2)
{
    memset(v, 0, sizeof *v);
    if (qms_test_tmpdir(v->dir, sizeof v->dir, "vprinter"))
        return -1;
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return -1;
    char w[16];
    snprintf(w, sizeof w, "%d", width);
    const char *bin = qms_test_bin("qms-vprinter");
    v->pid = fork();
    if (v->pid < 0)
        return -1;
    if (v->pid == 0) {
        /* die with the test: a failed assertion must not leave a printer
         * holding ctest's output pipe open */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        char *argv[10] = {(char *)bin, "--out", v->dir, "--width", w, NULL};
        int k = 5;
        if (extra1)
            argv[k++] = (char *)extra1;
        if (extra2)
            argv[k++] = (char *)extra2;
        argv[k] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    v->in_fd = in[1];
    v->out_fd = out[0];
    fcntl(v->out_fd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    if (vp_line(v, v->dev, sizeof v->dev, 10000) != 0 || strncmp(v->dev, "/dev/", 5) != 0)
        return -1;
    return 0;
}

int vp_line(vp_proc *v, char *line, size_t n, int timeout_ms)
{
    long deadline = mono_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(v->buf, '\n', v->blen);
        if (nl) {
            size_t len = (size_t)(nl - v->buf);
            snprintf(line, n, "%.*s", (int)len, v->buf);
            memmove(v->buf, nl + 1, v->blen - len - 1);
            v->blen -= len + 1;
            return 0;
        }
        long left = deadline - mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = v->out_fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(v->out_fd, v->buf + v->blen, sizeof v->buf - 1 - v->blen);
        if (r == 0)
            return -1;
        if (r > 0)
            v->blen += (size_t)r;
    }
}

int vp_cmd(vp_proc *v, const char *cmd, char *state_out, size_t n)
{
    char l[300];
    snprintf(l, sizeof l, "%s\n", cmd);
    if (write(v->in_fd, l, strlen(l)) != (ssize_t)strlen(l))
        return -1;
    for (;;) {
        if (vp_line(v, l, sizeof l, 5000))
            return -1;
        if (strncmp(l, "state ", 6) == 0) {
            if (state_out)
                snprintf(state_out, n, "%s", l + 6);
            return 0;
        }
    }
}

int vp_next_page(vp_proc *v, int *n, int *cut, int timeout_ms)
{
    char l[600];
    long deadline = mono_ms() + timeout_ms;
    for (;;) {
        long left = deadline - mono_ms();
        if (left <= 0 || vp_line(v, l, sizeof l, (int)left))
            return -1;
        if (sscanf(l, "ticket %d", n) == 1) {
            *cut = 1;
            return 0;
        }
        if (sscanf(l, "abandoned %d", n) == 1) {
            *cut = 0;
            return 0;
        }
    }
}

cJSON *vp_page_json(vp_proc *v, int n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%d.json", v->dir, n);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    return cJSON_Parse(text);
}

void vp_stop(vp_proc *v, int keep)
{
    if (v->pid > 0) {
        kill(v->pid, SIGTERM);
        if (qms_test_wait_pid(v->pid, 5000) < 0) {
            kill(v->pid, SIGKILL);
            waitpid(v->pid, NULL, 0);
        }
        v->pid = 0;
    }
    if (v->in_fd > 0)
        close(v->in_fd);
    if (v->out_fd > 0)
        close(v->out_fd);
    v->in_fd = v->out_fd = -1;
    const char *k = getenv("QMS_KEEP_VP");
    if (!keep && !(k && *k == '1'))
        qms_test_rmdir(v->dir);
    else
        fprintf(stderr, "vprinter pages kept in %s\n", v->dir);
}

void vp_kill(vp_proc *v)
{
    if (v->pid > 0) {
        kill(v->pid, SIGKILL);
        waitpid(v->pid, NULL, 0);
        v->pid = 0;
    }
}
