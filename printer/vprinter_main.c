/* qms-vprinter: a virtual ESC/POS thermal printer on a pseudo-terminal.
 *
 *   qms-vprinter --out DIR [--width 576|512] [--paper-left DOTS] [--font-dir D]
 *                [--nv-store FILE] [--nv-capacity BYTES] [--no-nv]
 *
 * NV graphics (GS ( L) are kept in --nv-store (default DIR/nv-store.bin),
 * rewritten after every define or delete, and loaded at start: a restarted
 * vprinter still holds them, like a printer's NV memory. --no-nv plays a
 * printer without NV graphics (GS ( L refused, no answer).
 *
 * Prints the pty's device path as the first line on stdout, then one line per
 * event ("ticket N DIR/N.png bytes B", "abandoned N ...", "state S").
 * Control while running: lines on stdin ("paper out", "paper in", "paper low",
 * "paper ok", "paper left N", "cover open", "cover close", "status", "nv",
 * "quit"),
 * or signals (SIGUSR1 toggles paper out, SIGUSR2 toggles the cover). See
 * docs/printer.md. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, ptsname */
#include "vprinter.h"
#include "vprinter_render.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/file.h"
#include "qms/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

typedef struct vprinter_app {
    int master;            /* pty master: the printer's side of the cable */
    int slave_keep;        /* our own slave fd, so the master never sees EOF */
    const char *out_dir;   /* where pages go */
    qms_vp *vp;            /* the model */
    qms_vp_render *render; /* PNG + JSON */
    int pages;             /* pages written so far */
    char nv_store[1024];   /* where the NV memory lives; "" with --no-nv */
} vprinter_app;

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    if (write(sig_pipe[1], &c, 1) < 0) {
        /* nothing to do: the pipe is full, a signal is pending anyway */
    }
    errno = saved;
}

static void on_reply(void *ud, const uint8_t *p, size_t n)
{
    vprinter_app *a = ud;
    size_t off = 0;
    int tries = 0;
    while (off < n && tries < 100) {
        ssize_t w = write(a->master, p + off, n - off);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            poll(NULL, 0, 1);
            tries++;
        } else {
            break;
        }
    }
}

static void on_page(void *ud, const qms_vp_page *pg)
{
    vprinter_app *a = ud;
    int n = ++a->pages;
    int rc = qms_vp_render_page(a->render, pg, n, a->out_dir);
    printf("%s %d %s/%d.png bytes %llu%s\n", pg->cut ? "ticket" : "abandoned", n, a->out_dir, n,
           (unsigned long long)pg->bytes, rc ? " (write failed)" : "");
    fflush(stdout);
}

static void on_refuse(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "qms-vprinter: REFUSED %s\n", msg);
}

static void on_nv_changed(void *ud)
{
    vprinter_app *a = ud;
    if (!a->nv_store[0])
        return;
    uint8_t *d = NULL;
    size_t n = 0;
    if (qms_vp_nv_save(a->vp, &d, &n) != QMS_OK)
        return;
    if (qms_file_replace_data(a->nv_store, d, n) != QMS_OK)
        fprintf(stderr, "qms-vprinter: cannot write the NV store %s: %s\n", a->nv_store,
                strerror(errno));
    qms_free(d);
    printf("nv %d images %ld bytes\n", qms_vp_nv_count(a->vp), qms_vp_nv_used(a->vp));
    fflush(stdout);
}

/* Read the NV store left by an earlier run. 0, or -1 when it is corrupt. */
static int load_nv(vprinter_app *a)
{
    FILE *f = fopen(a->nv_store, "rb");
    if (!f)
        return 0; /* a printer fresh from the factory */
    size_t cap = 1 << 20, n = 0;
    uint8_t *d = qms_malloc(cap);
    if (!d) {
        fclose(f);
        return -1;
    }
    n = fread(d, 1, cap, f);
    fclose(f);
    int rc = n < cap ? qms_vp_nv_load(a->vp, d, n) : QMS_ERR_TOO_LARGE;
    qms_free(d);
    if (rc) {
        fprintf(stderr, "qms-vprinter: the NV store %s is not a list of NV graphics definitions\n",
                a->nv_store);
        return -1;
    }
    return 0;
}

static void print_state(vprinter_app *a)
{
    printf("state %s\n", qms_vp_state(a->vp));
    fflush(stdout);
}

static int command(vprinter_app *a, char *line)
{
    line[strcspn(line, "\r\n")] = '\0';
    long n;
    if (strcmp(line, "paper out") == 0)
        qms_vp_set_paper_out(a->vp, 1);
    else if (strcmp(line, "paper in") == 0)
        qms_vp_set_paper_out(a->vp, 0);
    else if (strcmp(line, "paper low") == 0)
        qms_vp_set_paper_low(a->vp, 1);
    else if (strcmp(line, "paper ok") == 0)
        qms_vp_set_paper_low(a->vp, 0);
    else if (sscanf(line, "paper left %ld", &n) == 1)
        qms_vp_set_paper_left(a->vp, n);
    else if (strcmp(line, "cover open") == 0)
        qms_vp_set_cover_open(a->vp, 1);
    else if (strcmp(line, "cover close") == 0)
        qms_vp_set_cover_open(a->vp, 0);
    else if (strcmp(line, "quit") == 0)
        return 1;
    else if (strcmp(line, "nv") == 0) {
        char keys[4096];
        qms_vp_nv_keys(a->vp, keys, sizeof keys);
        printf("nv %d images %ld bytes: %s\n", qms_vp_nv_count(a->vp), qms_vp_nv_used(a->vp), keys);
    } else if (strcmp(line, "status") != 0 && line[0]) {
        fprintf(stderr,
                "qms-vprinter: unknown control \"%s\" (paper out|in|low|ok, paper left N, "
                "cover open|close, status, nv, quit)\n",
                line);
        return 0;
    }
    if (line[0])
        print_state(a);
    return 0;
}

static int open_pty(vprinter_app *a)
{
    a->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (a->master < 0 || grantpt(a->master) != 0 || unlockpt(a->master) != 0)
        return -1;
    const char *name = ptsname(a->master);
    if (!name)
        return -1;
    a->slave_keep = open(name, O_RDWR | O_NOCTTY);
    if (a->slave_keep < 0)
        return -1;
    struct termios t;
    if (tcgetattr(a->slave_keep, &t) == 0) {
        cfmakeraw(&t);
        cfsetispeed(&t, B115200);
        cfsetospeed(&t, B115200);
        tcsetattr(a->slave_keep, TCSANOW, &t);
    }
    fcntl(a->master, F_SETFL, fcntl(a->master, F_GETFL) | O_NONBLOCK);
    return 0;
}

static void usage_to(FILE *f)
{
    fprintf(f,
            "usage: qms-vprinter --out DIR [--width 576|512] [--paper-left DOTS] [--font-dir D]\n"
            "                    [--nv-store FILE] [--nv-capacity BYTES] [--no-nv]\n");
}

static void usage(void)
{
    usage_to(stderr);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *font_dir = NULL, *nv_store = NULL;
    int width = 576, no_nv = 0;
    long paper_left = -1, nv_capacity = QMS_VP_NV_CAPACITY;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc)
            width = atoi(argv[++i]);
        else if (strcmp(argv[i], "--paper-left") == 0 && i + 1 < argc)
            paper_left = atol(argv[++i]);
        else if (strcmp(argv[i], "--font-dir") == 0 && i + 1 < argc)
            font_dir = argv[++i];
        else if (strcmp(argv[i], "--nv-store") == 0 && i + 1 < argc)
            nv_store = argv[++i];
        else if (strcmp(argv[i], "--nv-capacity") == 0 && i + 1 < argc)
            nv_capacity = atol(argv[++i]);
        else if (strcmp(argv[i], "--no-nv") == 0)
            no_nv = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_to(stdout); /* asked for: stdout, like the other programs */
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (!out || (width != 576 && width != 512)) {
        usage();
        return 2;
    }
    qms_log_init("qms-vprinter", QMS_LOG_WARN);
    mkdir(out, 0755);
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "qms-vprinter: %s is not a folder\n", out);
        return 1;
    }

    vprinter_app a = {.master = -1, .slave_keep = -1, .out_dir = out};
    if (qms_vp_render_new(font_dir, &a.render) != QMS_OK)
        return 1;
    qms_vp_hooks h = {.reply = on_reply,
                      .page = on_page,
                      .refuse = on_refuse,
                      .nv_changed = on_nv_changed,
                      .ud = &a};
    if (qms_vp_new(width, &h, &a.vp) != QMS_OK)
        return 1;
    qms_vp_set_nv_capacity(a.vp, nv_capacity);
    if (no_nv) {
        qms_vp_set_nv_support(a.vp, 0);
    } else {
        if (nv_store)
            snprintf(a.nv_store, sizeof a.nv_store, "%s", nv_store);
        else
            snprintf(a.nv_store, sizeof a.nv_store, "%s/nv-store.bin", out);
        if (load_nv(&a) != 0)
            return 1;
    }
    if (paper_left >= 0)
        qms_vp_set_paper_left(a.vp, paper_left);
    if (open_pty(&a) != 0) {
        fprintf(stderr, "qms-vprinter: cannot open a pseudo-terminal: %s\n", strerror(errno));
        return 1;
    }
    if (pipe(sig_pipe) != 0)
        return 1;
    fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("%s\n", ptsname(a.master));
    fflush(stdout);

    int stdin_open = 1, quit = 0;
    char line[256];
    size_t llen = 0;
    for (;;) {
        struct pollfd p[3] = {{.fd = a.master, .events = POLLIN},
                              {.fd = sig_pipe[0], .events = POLLIN},
                              {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents & POLLIN) {
            uint8_t buf[4096];
            ssize_t r = read(a.master, buf, sizeof buf);
            if (r > 0)
                qms_vp_feed(a.vp, buf, (size_t)r);
        }
        if (p[1].revents & POLLIN) {
            unsigned char sig;
            while (read(sig_pipe[0], &sig, 1) == 1) {
                if (sig == SIGUSR1) {
                    qms_vp_set_paper_out(a.vp, !qms_vp_paper_out(a.vp));
                    print_state(&a);
                } else if (sig == SIGUSR2) {
                    qms_vp_set_cover_open(a.vp, !qms_vp_cover_open(a.vp));
                    print_state(&a);
                } else {
                    quit = 1;
                }
            }
        }
        if (p[2].revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(0, line + llen, sizeof line - 1 - llen);
            if (r <= 0) {
                stdin_open = 0;
            } else {
                llen += (size_t)r;
                line[llen] = '\0';
                char *nl;
                while ((nl = strchr(line, '\n'))) {
                    *nl = '\0';
                    quit |= command(&a, line);
                    size_t rest = llen - (size_t)(nl + 1 - line);
                    memmove(line, nl + 1, rest + 1);
                    llen = rest;
                }
                if (llen == sizeof line - 1)
                    llen = 0; /* an absurdly long line: drop it */
            }
        }
        if (quit)
            break;
    }
    qms_vp_free(a.vp);
    qms_vp_render_free(a.render);
    close(a.master);
    close(a.slave_keep);
    return 0;
}
