/* qms-busjoin: joins the bus UARTs of several units (QEMU pseudo-terminals)
 * into one half-duplex multi-drop RS-485 line, offered as one new
 * pseudo-terminal for the master (qms-gateway, mbpoll, a test).
 *
 *   qms-busjoin [options] UNIT_PTY...
 *     --link PATH   also make PATH a symlink to the line's pty
 *     --baud B      hold each burst for its wire time, bytes x 11 / B
 *                   (the line is one medium: one burst at a time)
 *     --flip P      flip one random bit of a byte with probability P (0..1)
 *     --drop P      drop a byte with probability P
 *     --seed N      random seed for --flip/--drop (default 1)
 *     --trace       print every burst to stderr (hex)
 *
 * Prints the line's pty path on its first line. What the master sends
 * reaches every unit; what a unit sends reaches the master and every other
 * unit, as on a real line. Noise hits the wire, so every listener gets the
 * same damaged bytes. A unit whose pty goes away (its QEMU stopped) is
 * reopened from its path every 100 ms: give the units as symlinks and point
 * them at a restarted QEMU's new pty. Ends on SIGINT/SIGTERM, printing its
 * counters to stderr. Collisions are not modelled: on a polled line only
 * the addressed unit speaks, after the master. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_UNITS 64

static volatile sig_atomic_t stop;

static struct {
    const char *path[MAX_UNITS];
    int fd[MAX_UNITS];
    int n;
    int master;
    double flip, drop;
    unsigned baud;
    int trace;
    uint64_t rng;
    unsigned long down, up, flipped, dropped, lost;
} bj;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double rnd(void) /* xorshift64*, [0, 1) */
{
    bj.rng ^= bj.rng >> 12;
    bj.rng ^= bj.rng << 25;
    bj.rng ^= bj.rng >> 27;
    return (double)((bj.rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
}

static int open_unit(int i)
{
    int fd = open(bj.path[i], O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0) {
        raw(fd);
        /* what the unit said before we joined is nobody's answer now */
        tcflush(fd, TCIFLUSH);
    }
    bj.fd[i] = fd;
    return fd;
}

/* Noise on the wire: drops and bit flips, in place; returns the new length. */
static size_t noise(uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (bj.drop > 0 && rnd() < bj.drop) {
            bj.dropped++;
            continue;
        }
        uint8_t b = p[i];
        if (bj.flip > 0 && rnd() < bj.flip) {
            b ^= (uint8_t)(1u << (unsigned)(rnd() * 8));
            bj.flipped++;
        }
        p[k++] = b;
    }
    return k;
}

static void put(int fd, const uint8_t *p, size_t n)
{
    while (fd >= 0 && n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            bj.lost += n; /* nobody reads (EAGAIN) or gone: the bytes are lost */
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* A burst from src (-1 = the master) onto the line. */
static void carry(int src, uint8_t *p, size_t n, int master_open)
{
    n = noise(p, n);
    if (bj.baud) { /* the wire is busy for the burst's time */
        uint64_t ns = (uint64_t)n * 11u * 1000000000u / bj.baud;
        struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop) {
        }
    }
    if (bj.trace) {
        fprintf(stderr, "%s%d:", src < 0 ? "M" : "U", src < 0 ? 0 : src + 1);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %02x", p[i]);
        fprintf(stderr, "\n");
    }
    for (int i = 0; i < bj.n; i++)
        if (i != src)
            put(bj.fd[i], p, n);
    if (src >= 0 && master_open)
        put(bj.master, p, n);
}

static int usage(void)
{
    fprintf(stderr, "usage: qms-busjoin [--link PATH] [--baud B] [--flip P] [--drop P] "
                    "[--seed N] [--trace] UNIT_PTY...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *link = NULL;
    bj.rng = 1;
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--trace")) {
            bj.trace = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--link")) {
            link = v;
        } else if (!strcmp(a, "--baud")) {
            long b = strtol(v, &end, 10);
            if (*end || b < 300 || b > 4000000) {
                fprintf(stderr, "qms-busjoin: --baud %s: 300..4000000\n", v);
                return 2;
            }
            bj.baud = (unsigned)b;
        } else if (!strcmp(a, "--flip") || !strcmp(a, "--drop")) {
            double p = strtod(v, &end);
            if (*end || !(p >= 0 && p <= 1)) {
                fprintf(stderr, "qms-busjoin: %s %s: a probability 0..1\n", a, v);
                return 2;
            }
            *(!strcmp(a, "--flip") ? &bj.flip : &bj.drop) = p;
        } else if (!strcmp(a, "--seed")) {
            bj.rng = strtoull(v, &end, 10) * 2654435761u + 1u;
            if (*end)
                return usage();
        } else {
            return usage();
        }
    }
    if (i == argc)
        return usage();
    for (; i < argc; i++) {
        if (bj.n == MAX_UNITS) {
            fprintf(stderr, "qms-busjoin: at most %d units\n", MAX_UNITS);
            return 2;
        }
        bj.path[bj.n] = argv[i];
        if (open_unit(bj.n) < 0) {
            fprintf(stderr, "qms-busjoin: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        bj.n++;
    }
    bj.master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (bj.master < 0 || grantpt(bj.master) != 0 || unlockpt(bj.master) != 0) {
        perror("qms-busjoin: pty");
        return 1;
    }
    raw(bj.master);
    const char *name = ptsname(bj.master);
    if (link) {
        unlink(link);
        if (symlink(name, link) != 0) {
            fprintf(stderr, "qms-busjoin: %s: %s\n", link, strerror(errno));
            return 1;
        }
    }
    printf("%s\n", name);
    fflush(stdout);

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct pollfd pf[MAX_UNITS + 1];
    uint8_t buf[1024];
    while (!stop) {
        for (int u = 0; u < bj.n; u++) {
            if (bj.fd[u] < 0)
                open_unit(u); /* a restarted unit */
            pf[u].fd = bj.fd[u];
            pf[u].events = POLLIN;
            pf[u].revents = 0;
        }
        pf[bj.n].fd = bj.master;
        pf[bj.n].events = POLLIN;
        pf[bj.n].revents = 0;
        if (poll(pf, (nfds_t)bj.n + 1, 100) < 0) {
            if (errno == EINTR)
                continue;
            perror("qms-busjoin: poll");
            return 1;
        }
        /* POLLHUP on the master: nobody has the line open. What units say
         * then is not kept for whoever opens it next. */
        int master_open = !(pf[bj.n].revents & POLLHUP);
        if (pf[bj.n].revents & POLLIN) {
            ssize_t r = read(bj.master, buf, sizeof buf);
            if (r > 0) {
                bj.down += (unsigned long)r;
                carry(-1, buf, (size_t)r, master_open);
            }
        }
        for (int u = 0; u < bj.n; u++) {
            if (bj.fd[u] < 0 || !pf[u].revents)
                continue;
            ssize_t r = read(bj.fd[u], buf, sizeof buf);
            if (r > 0) {
                bj.up += (unsigned long)r;
                carry(u, buf, (size_t)r, master_open);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(bj.fd[u]); /* its QEMU went away */
                bj.fd[u] = -1;
            }
        }
        if (!master_open) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "qms-busjoin: down %lu up %lu flipped %lu dropped %lu lost %lu bytes\n",
            bj.down, bj.up, bj.flipped, bj.dropped, bj.lost);
    if (link)
        unlink(link);
    return 0;
}
