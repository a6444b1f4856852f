/* qms-busjoin: three firmware units in QEMU (a counter unit, its LED board
 * and its rating keys) on one multi-drop line, polled through one pty by
 * libmodbus and mbpoll; noise on the line; a unit power-cycled. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <modbus.h>

#include "fwq.h"
#include "regs.h"
#include "support.h"

static char dir[256];
static struct fwq_unit units[3];
static const int addrs[3] = {1, 101, 151};
static const char *const kinds[3] = {"counter", "board", "rating"};
static char links[3][300];

struct line {
    pid_t pid;
    char path[256];
};

static pid_t line_pid; /* a line left running by a failed assertion */

static void line_kill(void)
{
    if (line_pid > 0)
        kill(line_pid, SIGTERM);
}

/* Starts qms-busjoin over the three units' links with extra options. */
static void line_start(struct line *l, const char *opt1, const char *opt2)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    l->pid = fork();
    if (l->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        const char *argv[12];
        int n = 0;
        argv[n++] = "qms-busjoin";
        if (opt1) {
            argv[n++] = opt1;
            argv[n++] = opt2;
            argv[n++] = "--seed";
            argv[n++] = "5";
        }
        for (int i = 0; i < 3; i++)
            argv[n++] = links[i];
        argv[n] = NULL;
        execv(qms_test_bin("qms-busjoin"), (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    line_pid = l->pid;
    size_t k = 0;
    char c;
    while (k + 1 < sizeof l->path && read(p[0], &c, 1) == 1 && c != '\n')
        l->path[k++] = c;
    l->path[k] = 0;
    close(p[0]);
    assert_true(k > 0);
}

static void line_stop(struct line *l)
{
    kill(l->pid, SIGTERM);
    line_pid = 0;
    assert_int_equal(qms_test_wait_pid(l->pid, 5000), 0);
}

static modbus_t *line_open(const char *path)
{
    modbus_t *m = modbus_new_rtu(path, 19200, 'E', 8, 1);
    assert_non_null(m);
    assert_int_equal(modbus_connect(m), 0);
    /* generous: a loaded host (see test_fw_qemu.c); the noise runs use less */
    modbus_set_response_timeout(m, 10, 0);
    return m;
}

static int setup(void **st)
{
    (void)st;
    atexit(line_kill);
    if (qms_test_tmpdir(dir, sizeof dir, "busjoin") != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        snprintf(links[i], sizeof links[i], "%s/unit%d", dir, addrs[i]);
        if (fwq_start_link(&units[i], kinds[i], addrs[i], 0, links[i]) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    for (int i = 0; i < 3; i++)
        fwq_stop(&units[i]);
    qms_test_rmdir(dir);
    return 0;
}

static void poll_three(void **st)
{
    (void)st;
    struct line l;
    line_start(&l, NULL, NULL);
    modbus_t *m = line_open(l.path);
    for (int i = 0; i < 3; i++) {
        uint16_t v[2];
        modbus_set_slave(m, addrs[i]);
        assert_int_equal(modbus_read_input_registers(m, 0, 2, v), 2);
        assert_int_equal(v[0], i + 1); /* kinds 1, 2, 3 */
        assert_int_equal(v[1], QMS_FW_VERSION);
    }
    /* a press on unit 1 is read through the shared line */
    fwq_panel(&units[0], "key next");
    uint16_t v[8] = {0};
    modbus_set_slave(m, 1);
    for (long end = fwq_ms() + FWQ_WAIT_MS; fwq_ms() < end; usleep(50000)) {
        assert_int_equal(modbus_read_input_registers(m, QMS_IR_FIFO_COUNT, 1, v), 1);
        if (v[0] == 1)
            break;
    }
    assert_int_equal(v[0], 1);
    assert_int_equal(modbus_read_input_registers(m, QMS_IR_FIFO, 4, v), 4);
    assert_int_equal(v[1], QMS_KEY_NEXT);
    /* units 101 and 151 heard that exchange, and took nothing from it */
    modbus_set_slave(m, 101);
    assert_int_equal(modbus_read_input_registers(m, QMS_IR_ERR_CRC, 1, v), 1);
    assert_int_equal(v[0], 0);
    /* an outside client on the same line */
    modbus_close(m);
    modbus_free(m);
    char cmd[512], out[2048];
    snprintf(cmd, sizeof cmd,
             "mbpoll -m rtu -a 151 -b 19200 -P even -t 3 -0 -r 0 -c 2 -1 -q -o 10 %s 2>&1",
             l.path);
    assert_int_equal(fwq_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "[0]: \t3\n"));
    line_stop(&l);
}

/* Bit flips and dropped bytes: reads fail or come right, never wrong; the
 * units count the damaged frames. */
static void noise_never_wrong(void **st)
{
    (void)st;
    uint16_t crc_before[3];
    struct line l;
    line_start(&l, NULL, NULL);
    modbus_t *m = line_open(l.path);
    for (int i = 0; i < 3; i++) {
        modbus_set_slave(m, addrs[i]);
        assert_int_equal(modbus_read_input_registers(m, QMS_IR_ERR_CRC, 1, &crc_before[i]), 1);
    }
    modbus_close(m);
    modbus_free(m);
    line_stop(&l);

    line_start(&l, "--flip", "0.01");
    m = line_open(l.path);
    modbus_set_response_timeout(m, 1, 0);
    int ok = 0, failed = 0;
    for (int n = 0; n < 150; n++) {
        int i = n % 3;
        uint16_t v[2] = {0, 0};
        modbus_set_slave(m, addrs[i]);
        if (modbus_read_input_registers(m, 0, 2, v) == 2) {
            assert_int_equal(v[0], i + 1);
            assert_int_equal(v[1], QMS_FW_VERSION);
            ok++;
        } else {
            failed++;
            modbus_flush(m);
        }
    }
    print_message("with 1%% bit flips: %d good reads, %d failed\n", ok, failed);
    modbus_close(m);
    modbus_free(m);
    line_stop(&l);
    assert_true(ok > 50);
    assert_true(failed > 0); /* the noise did reach the line */

    line_start(&l, NULL, NULL);
    m = line_open(l.path);
    modbus_set_response_timeout(m, 3, 0);
    int counted = 0;
    for (int i = 0; i < 3; i++) {
        uint16_t c;
        modbus_set_slave(m, addrs[i]);
        /* as the gateway does: a request that got no answer is asked again
         * (the first one after the noisy run sometimes goes unanswered;
         * see the report in docs/firmware.md) */
        int r = -1;
        for (int attempt = 0; attempt < 3 && r != 1; attempt++) {
            r = modbus_read_input_registers(m, QMS_IR_ERR_CRC, 1, &c);
            if (r != 1) {
                print_message("unit %d: attempt %d: %s\n", addrs[i], attempt + 1,
                              modbus_strerror(errno));
                modbus_flush(m);
            }
        }
        if (r != 1) {
            char stats[256] = "";
            fwq_panel(&units[i], "stats");
            fwq_wait(&units[i], "stats", stats, sizeof stats, FWQ_WAIT_MS);
            print_error("unit %d: %s (%s)\n", addrs[i], modbus_strerror(errno), stats);
        }
        assert_int_equal(r, 1);
        counted += c - crc_before[i];
    }
    print_message("CRC errors counted by the units: %d\n", counted);
    assert_true(counted > 0);
    modbus_close(m);
    modbus_free(m);
    line_stop(&l);
}

/* A unit power-cycled behind the line: qms-busjoin reopens it by its link;
 * it comes back with a fresh uptime and session 0. */
static void unit_restart(void **st)
{
    (void)st;
    struct line l;
    line_start(&l, NULL, NULL);
    modbus_t *m = line_open(l.path);
    modbus_set_slave(m, 101);
    const uint16_t sess[2] = {7, 7};
    assert_int_equal(modbus_write_registers(m, QMS_HR_SESSION_HI, 2, sess), 2);
    fwq_stop(&units[1]);
    assert_int_equal(fwq_start_link(&units[1], "board", 101, 0, links[1]), 0);
    uint16_t v[10];
    int back = 0;
    for (long end = fwq_ms() + FWQ_WAIT_MS; !back && fwq_ms() < end;) {
        if (modbus_read_input_registers(m, 0, 10, v) == 10)
            back = 1;
        else
            modbus_flush(m);
    }
    assert_true(back);
    assert_int_equal(v[QMS_IR_KIND], QMS_KIND_LEDBOARD);
    assert_int_equal(v[QMS_IR_SESSION_HI], 0);
    assert_int_equal(v[QMS_IR_SESSION_LO], 0);
    assert_true(v[QMS_IR_UPTIME_HI] == 0 && v[QMS_IR_UPTIME_LO] < 30);
    modbus_close(m);
    modbus_free(m);
    line_stop(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poll_three),
        cmocka_unit_test(noise_never_wrong),
        cmocka_unit_test(unit_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
