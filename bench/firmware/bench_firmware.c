/* bench_firmware: Modbus request -> reply time to the firmware in QEMU, at
 * 19200 and 115200 baud, against the wire-time floor (request + reply
 * bytes x 11 bits / baud) computed in the same run.
 *
 * Two paths: the unit's pty directly (QEMU's UART has no baud rate, so
 * this can beat the floor: it measures the firmware and the emulator), and
 * through qms-busjoin --baud B, which holds each burst for its wire time
 * as a real line does (the gateway's view). One JSON line per case. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#include "fwq.h"
#include "regs.h"
#include "support.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* op 0: read 16 input registers (8 + 37 bytes); op 1: write one 32-byte text
 * line (41 + 8 bytes). */
static void run(const char *path, const char *via, int addr, int baud, int op, int n)
{
    modbus_t *m = modbus_new_rtu(path, baud, 'E', 8, 1);
    if (!m || modbus_connect(m) != 0) {
        fprintf(stderr, "bench_firmware: %s: %s\n", path, modbus_strerror(errno));
        exit(1);
    }
    modbus_set_slave(m, addr);
    modbus_set_response_timeout(m, 5, 0);
    double *t = calloc((size_t)n, sizeof *t);
    uint16_t v[QMS_LINE_REGS] = {0x4130, 0x3233};
    int ok = 0, bytes = op == 0 ? 8 + 5 + 2 * 16 : 7 + 2 * QMS_LINE_REGS + 2 + 8;
    for (int i = 0; i < n + 5; i++) {
        double t0 = now_ms();
        int r = op == 0 ? modbus_read_input_registers(m, 0, 16, v)
                        : modbus_write_registers(m, QMS_HR_LINE(0), QMS_LINE_REGS, v);
        double dt = now_ms() - t0;
        if (r < 0) {
            modbus_flush(m);
            continue;
        }
        if (i >= 5) /* warm-up */
            t[ok++] = dt;
    }
    qsort(t, (size_t)ok, sizeof *t, cmp);
    double floor = bytes * 11.0 * 1000.0 / baud;
    if (ok > 0)
        printf("{\"bench\":\"fw_modbus_%s\",\"via\":\"%s\",\"baud\":%d,\"unit\":\"ms\",\"n\":%d,"
               "\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"floor\":%.3f,\"bytes\":%d}\n",
               op == 0 ? "read16" : "write_line", via, baud, ok, t[ok / 2],
               t[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1], t[ok - 1], floor, bytes);
    fflush(stdout);
    free(t);
    modbus_close(m);
    modbus_free(m);
}

static pid_t join(const char *unit_bus, int baud, char *path, size_t len)
{
    int p[2];
    if (pipe(p) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        char b[16];
        snprintf(b, sizeof b, "%d", baud);
        execl(qms_test_bin("qms-busjoin"), "qms-busjoin", "--baud", b, unit_bus, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t k = 0;
    char c;
    while (k + 1 < len && read(p[0], &c, 1) == 1 && c != '\n')
        path[k++] = c;
    path[k] = 0;
    close(p[0]);
    return pid;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    static const int bauds[2] = {19200, 115200};
    for (int b = 0; b < 2; b++) {
        struct fwq_unit u;
        if (fwq_start(&u, "counter", 3, bauds[b]) != 0) {
            fprintf(stderr, "bench_firmware: the unit did not start\n");
            return 1;
        }
        run(u.bus, "pty", 3, bauds[b], 0, n);
        run(u.bus, "pty", 3, bauds[b], 1, n);
        char line[256];
        pid_t j = join(u.bus, bauds[b], line, sizeof line);
        run(line, "busjoin", 3, bauds[b], 0, n);
        run(line, "busjoin", 3, bauds[b], 1, n);
        kill(j, SIGTERM);
        waitpid(j, NULL, 0);
        fwq_stop(&u);
    }
    return 0;
}
