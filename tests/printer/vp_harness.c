#include "vp_harness.h"

#include "qms/clock.h"
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

int vp_start(vp_proc *v, int width, const char *extra1, const char *extra2)
{
    memset(v, 0, sizeof *v);
    v->proc.in_fd = v->proc.out_fd = -1;
    if (qms_test_tmpdir(v->dir, sizeof v->dir, "vprinter"))
        return -1;
    const char *extra[3] = {extra1, extra1 ? extra2 : NULL, NULL};
    return qms_test_vprinter_start(&v->proc, v->dir, width, extra, NULL, v->dev, sizeof v->dev);
}

int vp_line(vp_proc *v, char *line, size_t n, int timeout_ms)
{
    return qms_test_proc_line(&v->proc, line, n, timeout_ms);
}

int vp_cmd(vp_proc *v, const char *cmd, char *state_out, size_t n)
{
    char l[300];
    if (qms_test_proc_send(&v->proc, cmd))
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
    int64_t deadline = qms_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - qms_mono_ms();
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
    qms_test_proc_stop(&v->proc, NULL, 5000);
    const char *k = getenv("QMS_KEEP_VP");
    if (!keep && !(k && *k == '1'))
        qms_test_rmdir(v->dir);
    else
        fprintf(stderr, "vprinter pages kept in %s\n", v->dir);
}

void vp_kill(vp_proc *v)
{
    qms_test_proc_kill(&v->proc);
}
