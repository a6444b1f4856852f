#include "unit_farm.h"

#include "keys.h"
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct unit_farm {
    int n, baud, mfd, sfd;
    struct fw_unit *u;
    struct fw_view *v;
    struct mb_rx rx;
    struct mb_stats st;
    pthread_mutex_t mu;
    pthread_t th;
    volatile int stop;
    int late_unit, late_ms, late_sent; /* under mu */
    unsigned char *muted;              /* under mu */
};

static uint32_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static void wire_wait(int bytes, int baud)
{
    uint64_t ns = (uint64_t)bytes * 11u * 1000000000u / (uint64_t)baud;
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void serve(unit_farm *f, size_t n)
{
    uint8_t reply[MB_ADU_MAX];
    for (int i = 0; i < f->n; i++) {
        if (f->muted[i])
            continue;
        size_t r = mb_handle(&f->u[i].map, &f->u[i].stats, f->u[i].addr, f->rx.buf, n, reply);
        if (r > 0) {
            /* the request took its wire time to arrive, then the silence,
             * then the reply its own */
            wire_wait((int)n, f->baud);
            usleep(mb_t35_us((uint32_t)f->baud));
            wire_wait((int)r, f->baud);
            if (f->late_unit == i) {
                usleep((useconds_t)f->late_ms * 1000u);
                f->late_unit = -1;
                f->late_sent++;
            }
            pthread_mutex_unlock(&f->mu);
            if (write(f->mfd, reply, r) < 0) {
            }
            pthread_mutex_lock(&f->mu);
            return;
        }
    }
}

static void *farm_main(void *arg)
{
    unit_farm *f = arg;
    uint8_t b[512];
    while (!f->stop) {
        struct pollfd p = {f->mfd, POLLIN, 0};
        int r = poll(&p, 1, 1);
        pthread_mutex_lock(&f->mu);
        uint32_t t = now_us();
        if (r > 0 && (p.revents & POLLIN)) {
            ssize_t k = read(f->mfd, b, sizeof b);
            for (ssize_t j = 0; j < k; j++)
                if (mb_rx_byte(&f->rx, &f->st, b[j], t, 0))
                    serve(f, f->rx.len);
        }
        size_t n = mb_rx_poll(&f->rx, &f->st, now_us());
        if (n > 0)
            serve(f, n);
        for (int i = 0; i < f->n; i++) {
            fw_unit_tick(&f->u[i], t / 1000u);
            fw_unit_view(&f->u[i], &f->v[i]);
        }
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

unit_farm *farm_start(int n, const int *kinds, const int *addrs, int baud, char line[64])
{
    unit_farm *f = calloc(1, sizeof *f);
    f->n = n;
    f->baud = baud;
    f->late_unit = -1;
    f->muted = calloc((size_t)n, 1);
    f->u = calloc((size_t)n, sizeof *f->u);
    f->v = calloc((size_t)n, sizeof *f->v);
    pthread_mutex_init(&f->mu, NULL);
    if (openpty(&f->mfd, &f->sfd, line, NULL, NULL))
        return NULL;
    struct termios t;
    tcgetattr(f->sfd, &t);
    cfmakeraw(&t);
    tcsetattr(f->sfd, TCSANOW, &t);
    uint32_t now = now_us() / 1000u;
    for (int i = 0; i < n; i++) {
        struct fw_config c = {.kind = (uint8_t)kinds[i], .addr = (uint8_t)addrs[i],
                              .baud = (uint32_t)baud};
        fw_unit_init(&f->u[i], &c, now);
    }
    mb_rx_init(&f->rx, (uint32_t)baud, 0);
    pthread_create(&f->th, NULL, farm_main, f);
    return f;
}

void farm_stop(unit_farm *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->mfd);
    close(f->sfd);
    free(f->u);
    free(f->v);
    free(f->muted);
    free(f);
}

void farm_press(unit_farm *f, int i, int key)
{
    pthread_mutex_lock(&f->mu);
    fw_unit_press(&f->u[i], key);
    pthread_mutex_unlock(&f->mu);
}

void farm_late(unit_farm *f, int i, int ms)
{
    pthread_mutex_lock(&f->mu);
    f->late_unit = i;
    f->late_ms = ms;
    pthread_mutex_unlock(&f->mu);
}

void farm_mute(unit_farm *f, int i, int on)
{
    pthread_mutex_lock(&f->mu);
    f->muted[i] = (unsigned char)(on != 0);
    pthread_mutex_unlock(&f->mu);
}

int farm_late_sent(unit_farm *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->late_sent;
    pthread_mutex_unlock(&f->mu);
    return n;
}

void farm_view(unit_farm *f, int i, char *out, int cap)
{
    pthread_mutex_lock(&f->mu);
    strncpy(out, f->v[i].text, (size_t)cap - 1);
    out[cap - 1] = 0;
    pthread_mutex_unlock(&f->mu);
}
