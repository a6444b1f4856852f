#include "gw_harness.h"

#include "qms/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef QMS_FW_MPS2_ELF
#define QMS_FW_MPS2_ELF ""
#endif

const char *gw_fw_image(void)
{
    return QMS_FW_MPS2_ELF;
}

static int open_raw(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static void panel_append(gw_qunit *u, const char *b, size_t n)
{
    pthread_mutex_lock(&u->mu);
    if (u->plen + n + 1 > u->pcap) {
        size_t cap = (u->pcap ? u->pcap * 2 : 65536) + n;
        char *p = realloc(u->panel, cap);
        if (!p) {
            pthread_mutex_unlock(&u->mu);
            return;
        }
        u->panel = p;
        u->pcap = cap;
    }
    memcpy(u->panel + u->plen, b, n);
    u->plen += n;
    u->panel[u->plen] = 0;
    pthread_mutex_unlock(&u->mu);
}

static void maybe_flip(gw_qunit *u, unsigned char *b, ssize_t n, unsigned *count, int dir)
{
    int k = atomic_load(&u->noise), d = atomic_load(&u->noise_dir);
    if (d && d != dir)
        return;
    for (ssize_t i = 0; i < n; i++)
        if (k > 0 && ++*count % (unsigned)k == 0) {
            b[i] ^= (unsigned char)(1u << (*count % 8));
            atomic_fetch_add(&u->flips, 1);
        }
}

/* The wire: bytes between the gateway's pty and QEMU's bus pty, and the
 * panel's output into u->panel. */
static void *wire_main(void *arg)
{
    gw_qunit *u = arg;
    unsigned char b[512];
    unsigned count = 0;
    while (!atomic_load(&u->stop)) {
        int q = atomic_load(&u->qfd), pf = atomic_load(&u->panel_fd), mfd = atomic_load(&u->mfd);
        struct pollfd p[3] = {{mfd, POLLIN, 0}, {q, POLLIN, 0}, {pf, POLLIN, 0}};
        if (poll(p, 3, 20) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            ssize_t n = read(mfd, b, sizeof b);
            if (n > 0 && q >= 0) {
                maybe_flip(u, b, n, &count, 1);
                if (write(q, b, (size_t)n) < 0) {
                    /* the unit is off: the bytes go nowhere, as on a bus */
                }
            }
        }
        if (q >= 0 && (p[1].revents & POLLIN)) {
            ssize_t n = read(q, b, sizeof b);
            if (n > 0) {
                maybe_flip(u, b, n, &count, 2);
                if (mfd >= 0 && write(mfd, b, (size_t)n) < 0) {
                }
            }
        }
        if (pf >= 0 && (p[2].revents & POLLIN)) {
            ssize_t n = read(pf, b, sizeof b);
            if (n > 0)
                panel_append(u, (const char *)b, (size_t)n);
        }
        if (q >= 0 && (p[1].revents & (POLLHUP | POLLERR)))
            usleep(5000); /* powered off; qu_power_off swaps the fd */
    }
    return NULL;
}

static int launch_spawn(gw_qunit *u, const char *dir)
{
    char kindw[64], addrw[64];
    snprintf(kindw, sizeof kindw, "loader,addr=0x20100000,data=%d,data-len=4", u->kind);
    snprintf(addrw, sizeof addrw, "loader,addr=0x20100004,data=%d,data-len=4", u->addr);
    snprintf(u->log, sizeof u->log, "%s/qemu-%d.log", dir, u->addr);
    unlink(u->log);
    char *argv[] = {"qemu-system-arm", "-M", "mps2-an385", "-nographic", "-monitor", "none",
                    "-kernel", (char *)gw_fw_image(), "-serial", "pty", "-serial", "pty",
                    "-device", kindw, "-device", addrw, NULL};
    u->pid = qms_test_spawn(argv, u->log);
    return u->pid > 0 ? 0 : -1;
}

/* After launch_spawn: its ptys, opened, and its hello. */
static int launch_connect(gw_qunit *u)
{
    /* "char device redirected to /dev/pts/N (label serial0)", then serial1 */
    int64_t end = qms_mono_ms() + 10000;
    while (qms_mono_ms() < end) {
        FILE *f = fopen(u->log, "r");
        char line[256];
        int n = 0;
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "/dev/pts/");
            if (p) {
                char *sp = strchr(p, ' ');
                if (sp)
                    *sp = 0;
                snprintf(n == 0 ? u->bus_pty : u->panel_pty, 64, "%s", p);
                n++;
            }
        }
        if (f)
            fclose(f);
        if (n >= 2)
            break;
        usleep(20000);
    }
    if (!u->panel_pty[0])
        return -1;
    int pf = open_raw(u->panel_pty), q = open_raw(u->bus_pty);
    if (pf < 0 || q < 0)
        return -1;
    size_t mark = qu_mark(u);
    atomic_store(&u->panel_fd, pf);
    atomic_store(&u->qfd, q);
    /* QEMU looks for a reader of its ptys once a second and drops output
     * until it found one: ask for the hello until it comes */
    for (int i = 0; i < 100; i++) {
        if (write(pf, "hello\n", 6) < 0) {
        }
        if (qu_wait_display(u, mark, NULL, 300) == 0)
            return 0;
        pthread_mutex_lock(&u->mu);
        int hello = u->panel && strstr(u->panel + mark, "hello kind=") != NULL;
        pthread_mutex_unlock(&u->mu);
        if (hello)
            return 0;
    }
    return -1;
}

static int launch(gw_qunit *u, const char *dir)
{
    return launch_spawn(u, dir) ? -1 : launch_connect(u);
}

/* A new pty pair for the gateway's end; wire -> its slave. */
static int plug(gw_qunit *u)
{
    int mfd, sfd;
    char name[64];
    if (openpty(&mfd, &sfd, name, NULL, NULL))
        return -1;
    struct termios t;
    tcgetattr(sfd, &t);
    cfmakeraw(&t);
    tcsetattr(sfd, TCSANOW, &t);
    fcntl(mfd, F_SETFL, O_NONBLOCK);
    /* not inherited by the gateway or QEMU we start: an unplugged line must
     * really be gone */
    fcntl(mfd, F_SETFD, FD_CLOEXEC);
    fcntl(sfd, F_SETFD, FD_CLOEXEC);
    unlink(u->wire);
    if (symlink(name, u->wire))
        return -1;
    u->sfd = sfd; /* kept open: the line stays while the gateway reopens it */
    atomic_store(&u->mfd, mfd);
    return 0;
}

int qu_start(gw_qunit *u, int kind, int addr, const char *dir)
{
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->addr = addr;
    atomic_store(&u->qfd, -1);
    atomic_store(&u->panel_fd, -1);
    atomic_store(&u->mfd, -1);
    pthread_mutex_init(&u->mu, NULL);
    snprintf(u->wire, sizeof u->wire, "%s/line-%d", dir, addr);
    if (plug(u))
        return -1;
    if (pthread_create(&u->th, NULL, wire_main, u))
        return -1;
    return launch(u, dir);
}

int qu_start_many(gw_qunit *u, int n, const int *kinds, const int *addrs, const char *dir)
{
    for (int i = 0; i < n; i++) {
        memset(&u[i], 0, sizeof u[i]);
        u[i].kind = kinds[i];
        u[i].addr = addrs[i];
        atomic_store(&u[i].qfd, -1);
        atomic_store(&u[i].panel_fd, -1);
        atomic_store(&u[i].mfd, -1);
        pthread_mutex_init(&u[i].mu, NULL);
        snprintf(u[i].wire, sizeof u[i].wire, "%s/line-%d", dir, addrs[i]);
        if (plug(&u[i]) || pthread_create(&u[i].th, NULL, wire_main, &u[i]) ||
            launch_spawn(&u[i], dir))
            return -1;
    }
    /* all QEMUs boot at once; QEMU's once-a-second look for a pty reader
     * is then paid once, not n times */
    for (int i = 0; i < n; i++)
        if (launch_connect(&u[i]))
            return -1;
    return 0;
}

void qu_unplug(gw_qunit *u)
{
    int m = atomic_exchange(&u->mfd, -1);
    usleep(50000); /* the wire thread is past its poll */
    if (m >= 0)
        close(m);
    close(u->sfd);
    u->sfd = -1;
    unlink(u->wire);
}

int qu_replug(gw_qunit *u)
{
    return plug(u);
}

void qu_power_off(gw_qunit *u)
{
    int q = atomic_exchange(&u->qfd, -1), pf = atomic_exchange(&u->panel_fd, -1);
    usleep(50000); /* the wire thread is past its poll */
    if (u->pid > 0) {
        kill(u->pid, SIGKILL);
        qms_test_wait_pid(u->pid, 5000);
        u->pid = 0;
    }
    if (q >= 0)
        close(q);
    if (pf >= 0)
        close(pf);
}

int qu_power_on(gw_qunit *u, const char *dir)
{
    return launch(u, dir);
}

void qu_stop(gw_qunit *u)
{
    qu_power_off(u);
    atomic_store(&u->stop, 1);
    pthread_join(u->th, NULL);
    int m = atomic_exchange(&u->mfd, -1);
    if (m >= 0)
        close(m);
    if (u->sfd >= 0)
        close(u->sfd);
    free(u->panel);
    u->panel = NULL;
}

void qu_key(gw_qunit *u, const char *key)
{
    char line[64];
    int n = snprintf(line, sizeof line, "key %s\n", key);
    int pf = atomic_load(&u->panel_fd);
    if (pf >= 0 && write(pf, line, (size_t)n) < 0) {
    }
}

size_t qu_mark(gw_qunit *u)
{
    pthread_mutex_lock(&u->mu);
    size_t n = u->plen;
    pthread_mutex_unlock(&u->mu);
    return n;
}

static int find_display(gw_qunit *u, size_t from, const char *needle)
{
    int found = 0;
    pthread_mutex_lock(&u->mu);
    const char *p = u->panel ? u->panel + from : "";
    while (!found && (p = strstr(p, "display ")) != NULL) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        if (!needle) {
            found = 1;
        } else {
            size_t nl = strlen(needle);
            for (const char *q = p; q + nl <= eol && !found; q++)
                if (memcmp(q, needle, nl) == 0)
                    found = 1;
        }
        p = eol;
    }
    pthread_mutex_unlock(&u->mu);
    return found;
}

int qu_wait_display(gw_qunit *u, size_t from, const char *needle, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    do {
        if (find_display(u, from, needle))
            return 0;
        usleep(10000);
    } while (qms_mono_ms() < end);
    return -1;
}

void qu_last_display(gw_qunit *u, char *out, size_t cap)
{
    out[0] = 0;
    pthread_mutex_lock(&u->mu);
    const char *p = u->panel, *last = NULL;
    while (p && (p = strstr(p, "display ")) != NULL) {
        if (strchr(p, '\n'))
            last = p;
        p += 8;
    }
    if (last) {
        const char *eol = strchr(last, '\n');
        size_t n = (size_t)(eol - last - 8);
        if (n >= cap)
            n = cap - 1;
        memcpy(out, last + 8, n);
        out[n] = 0;
    }
    pthread_mutex_unlock(&u->mu);
}

int gwp_start(gw_proc *p, const ctl_env *e, gw_qunit *units, int n, const char *extra)
{
    char broker[32];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", e->broker.port);
    snprintf(p->log, sizeof p->log, "%s/gateway.log", e->dir);
    char *argv[64] = {(char *)qms_test_bin("qms-gateway"), "--config", (char *)e->config,
                      "--broker", broker};
    int argc = 5;
    for (int i = 0; i < n && argc < 50; i++) {
        argv[argc++] = "--bus";
        argv[argc++] = units[i].wire;
    }
    /* QEMU on a shared, busy machine answers in tens of ms, sometimes hundreds */
    char *ex = extra ? strdup(extra) : NULL, *save = NULL;
    for (char *t = ex ? strtok_r(ex, " ", &save) : NULL; t && argc < 62;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    p->pid = qms_test_spawn(argv, p->log);
    free(ex);
    return p->pid > 0 ? 0 : -1;
}

int gwp_stop(gw_proc *p, int sig)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int st = qms_test_wait_pid(p->pid, 10000);
    if (st < 0) {
        kill(p->pid, SIGKILL);
        st = qms_test_wait_pid(p->pid, 5000);
    }
    p->pid = 0;
    return st;
}

int gwp_log_count(const gw_proc *p, const char *needle)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return 0;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}
