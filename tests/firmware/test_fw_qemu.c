/* The real firmware image in QEMU (mps2-an385), through qms-unit: an
 * outside client (mbpoll) and libmodbus on the bus pty, the front panel
 * pty in place of fingers and eyes. */
#include <errno.h>
#include <setjmp.h>
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
#include "unit.h"

static struct fwq_unit *g_unit; /* the unit a failure report asks for its stats */

static void report_stats(void)
{
    char line[256];
    if (!g_unit)
        return;
    fwq_panel(g_unit, "stats");
    if (fwq_wait(g_unit, "stats", line, sizeof line, FWQ_WAIT_MS) == 0)
        print_error("unit: %s\n", line);
}

/* A libmodbus call that must return want; says why when it does not. */
#define MB_OK(call, want)                                                              \
    do {                                                                               \
        int got_ = (call);                                                             \
        if (got_ != (want))                                                            \
        {                                                                              \
            print_error("%s = %d: %s\n", #call, got_, modbus_strerror(errno));         \
            report_stats();                                                            \
        }                                                                              \
        assert_int_equal(got_, (want));                                                \
    } while (0)

static modbus_t *mb_open(const char *path, int addr, int baud)
{
    if (getenv("FWQ_TRACE"))
        print_message("open %s\n", path);
    modbus_t *m = modbus_new_rtu(path, baud, 'E', 8, 1);
    assert_non_null(m);
    assert_int_equal(modbus_set_slave(m, addr), 0);
    assert_int_equal(modbus_connect(m), 0);
    /* Generous: QEMU takes a bus byte per turn of its main loop, and on a
     * loaded host (a load of 20 on 2 cores was seen) a turn can take tens
     * of ms. Tests check behaviour, never timing. */
    modbus_set_response_timeout(m, 10, 0);
    modbus_set_byte_timeout(m, 2, 0);
    if (getenv("FWQ_DEBUG"))
        modbus_set_debug(m, 1);
    return m;
}

static void mb_close(modbus_t *m)
{
    modbus_close(m);
    modbus_free(m);
}

static void put_text(modbus_t *m, int line, const char *s)
{
    uint16_t v[QMS_LINE_REGS] = {0};
    size_t n = strlen(s);
    assert_true(n <= QMS_LINE_BYTES);
    for (size_t i = 0; i < n; i++)
        v[i / 2] |= (uint16_t)((uint8_t)s[i] << (i % 2 ? 0 : 8));
    MB_OK(modbus_write_registers(m, QMS_HR_LINE(line), QMS_LINE_REGS, v), QMS_LINE_REGS);
}

static int has(const char *text, const char *needle)
{
    return strstr(text, needle) != NULL;
}

/* mbpoll, a Modbus master nobody here wrote, reads registers 0 and 1. */
static void mbpoll_reads_kind_and_version(void **st)
{
    (void)st;
    struct fwq_unit u;
    assert_int_equal(fwq_start(g_unit = &u, "counter", 3, 0), 0);
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd,
             "mbpoll -m rtu -a 3 -b 19200 -P even -t 3 -0 -r 0 -c 2 -1 -q -o 10 %s 2>&1", u.bus);
    int rc = fwq_run(cmd, out, sizeof out);
    print_message("%s", out);
    if (rc != 0) {
        char line[256];
        fwq_panel(&u, "stats");
        if (fwq_wait(&u, "stats", line, sizeof line, FWQ_WAIT_MS) == 0)
            print_message("%s\n", line);
    }
    assert_int_equal(rc, 0);
    assert_true(has(out, "[0]: \t1\n"));   /* counter unit */
    assert_true(has(out, "[1]: \t256\n")); /* version 1.0 */
    fwq_stop(&u);
}

/* `key next` on the panel; mbpoll reads the FIFO: one entry, sequence 1. */
static void mbpoll_reads_fifo_after_key(void **st)
{
    (void)st;
    struct fwq_unit u;
    assert_int_equal(fwq_start(g_unit = &u, "counter", 3, 0), 0);
    fwq_panel(&u, "key next");
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd,
             "mbpoll -m rtu -a 3 -b 19200 -P even -t 3 -0 -r 10 -c 10 -1 -q -o 10 %s 2>&1",
             u.bus);
    int found = 0;
    for (long end = fwq_ms() + FWQ_WAIT_MS; !found && fwq_ms() < end;) {
        if (fwq_run(cmd, out, sizeof out) == 0 && has(out, "[10]: \t1\n"))
            found = 1;
        else
            usleep(100000);
    }
    print_message("%s", out);
    assert_true(found);
    assert_true(has(out, "[13]: \t1\n"));     /* last seq */
    assert_true(has(out, "[16]: \t1\n"));     /* entry 0: seq 1 */
    assert_true(has(out, "[17]: \t1\n"));     /* key next */
    assert_true(has(out, "[18]: \t65535")); /* nothing typed */
    fwq_stop(&u);
}

/* The acknowledgement rules, through libmodbus. */
static void libmodbus_fifo_session_ack(void **st)
{
    (void)st;
    struct fwq_unit u;
    char line[256];
    assert_int_equal(fwq_start(g_unit = &u, "counter", 5, 0), 0);
    modbus_t *m = mb_open(u.bus, 5, 19200);
    fwq_panel(&u, "key 4");
    fwq_panel(&u, "key 2");
    assert_int_equal(fwq_wait(&u, "display ---- | > 42", line, sizeof line, FWQ_WAIT_MS), 0);
    fwq_panel(&u, "key ok");
    fwq_panel(&u, "key skip");
    uint16_t v[16];
    long end = fwq_ms() + FWQ_WAIT_MS;
    do {
        MB_OK(modbus_read_input_registers(m, QMS_IR_SESSION_HI, 16, v), 16);
    } while (v[QMS_IR_FIFO_COUNT - 8] < 2 && fwq_ms() < end && usleep(50000) == 0);
    assert_int_equal(v[QMS_IR_FIFO_COUNT - 8], 2);
    assert_int_equal(v[0], 0); /* session 0 after start */
    MB_OK(modbus_read_input_registers(m, QMS_IR_FIFO, 8, v), 8);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], QMS_KEY_OK);
    assert_int_equal(v[2], 42);
    assert_int_equal(v[4], 2);
    assert_int_equal(v[5], QMS_KEY_SKIP);
    assert_int_equal(v[6], QMS_ARG_NONE);
    /* no ack without a session */
    assert_int_equal(modbus_write_register(m, QMS_HR_ACK_SEQ, 2), -1);
    assert_int_equal(errno, EMBXILVAL);
    const uint16_t sess[2] = {0x6553, 0x0001};
    MB_OK(modbus_write_registers(m, QMS_HR_SESSION_HI, 2, sess), 2);
    assert_int_equal(modbus_write_register(m, QMS_HR_ACK_SEQ, 9), -1); /* never queued */
    assert_int_equal(errno, EMBXILVAL);
    MB_OK(modbus_write_register(m, QMS_HR_ACK_SEQ, 1), 1);
    MB_OK(modbus_read_input_registers(m, QMS_IR_SESSION_HI, 8, v), 8);
    assert_int_equal(v[0], 0x6553);
    assert_int_equal(v[1], 1);
    assert_int_equal(v[2], 1); /* one left */
    assert_int_equal(v[3], 1); /* last ack */
    MB_OK(modbus_write_register(m, QMS_HR_ACK_SEQ, 2), 1);
    MB_OK(modbus_write_register(m, QMS_HR_ACK_SEQ, 2), 1); /* reply lost: again */
    MB_OK(modbus_read_input_registers(m, QMS_IR_FIFO_COUNT, 1, v), 1);
    assert_int_equal(v[0], 0);
    /* exceptions */
    assert_int_equal(modbus_read_input_registers(m, QMS_IR_COUNT - 1, 2, v), -1);
    assert_int_equal(errno, EMBXILADD);
    const uint8_t raw[] = {5, 0x2B, 0x0E, 0x01, 0x00};
    uint8_t rsp[MODBUS_RTU_MAX_ADU_LENGTH];
    assert_true(modbus_send_raw_request(m, raw, sizeof raw) > 0);
    assert_int_equal(modbus_receive_confirmation(m, rsp), 5);
    assert_int_equal(rsp[1], 0xAB);
    assert_int_equal(rsp[2], 1); /* illegal function */
    /* the error counters are there, and nothing above counted as an error */
    MB_OK(modbus_read_input_registers(m, QMS_IR_ERR_CRC, 4, v), 4);
    assert_int_equal(v[0], 0);
    mb_close(m);
    fwq_stop(&u);
}

/* What the counter unit and the LED board show, written over the bus. */
static void counter_and_board_show(void **st)
{
    (void)st;
    struct fwq_unit c, b;
    char line[256];
    assert_int_equal(fwq_start(g_unit = &c, "counter", 3, 0), 0);
    assert_int_equal(fwq_start(g_unit = &b, "board", 103, 0), 0);
    modbus_t *m = mb_open(c.bus, 3, 19200);
    put_text(m, 0, "A023");
    put_text(m, 1, "Đang phục vụ");
    assert_int_equal(fwq_wait(&c, "display A023 | Đang phục vụ", line, sizeof line, FWQ_WAIT_MS), 0);
    mb_close(m);
    m = mb_open(b.bus, 103, 19200);
    put_text(m, 0, "A023");
    MB_OK(modbus_write_register(m, QMS_HR_BLINK, 1), 1);
    assert_int_equal(fwq_wait(&b, "display A023 (blink)", line, sizeof line, FWQ_WAIT_MS), 0);
    assert_int_equal(fwq_wait(&b, "display A023", line, sizeof line, FWQ_WAIT_MS), 0);
    assert_string_equal(line, "display A023"); /* the blink ended by itself */
    mb_close(m);
    fwq_stop(&b);
    fwq_stop(&c);
}

/* The rating keys: dark until asked, one rating per ask, tagged. */
static void rating_keys(void **st)
{
    (void)st;
    struct fwq_unit u;
    char line[256];
    assert_int_equal(fwq_start(g_unit = &u, "rating", 153, 0), 0);
    modbus_t *m = mb_open(u.bus, 153, 19200);
    fwq_panel(&u, "key rate4"); /* dark: nothing */
    MB_OK(modbus_write_register(m, QMS_HR_RATING_LEVELS, 4), 1);
    MB_OK(modbus_write_register(m, QMS_HR_RATING_TOKEN, 55), 1);
    assert_int_equal(fwq_wait(&u, "display rating on 1-4", line, sizeof line, FWQ_WAIT_MS), 0);
    fwq_panel(&u, "key rate4");
    assert_int_equal(fwq_wait(&u, "display rating off", line, sizeof line, FWQ_WAIT_MS), 0);
    uint16_t v[8];
    MB_OK(modbus_read_input_registers(m, QMS_IR_FIFO_COUNT, 1, v), 1);
    assert_int_equal(v[0], 1);
    MB_OK(modbus_read_input_registers(m, QMS_IR_FIFO, 4, v), 4);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], QMS_KEY_RATE);
    assert_int_equal(v[2], 4);
    assert_int_equal(v[3], 55);
    mb_close(m);
    fwq_stop(&u);
}

/* The hall board's frame from the image equals the core's on the host,
 * and has ink where the text is. The rows are kept for the docs' render. */
static void hall_board_frame(void **st)
{
    (void)st;
    static const char *const text[4] = {"A023 → 5", "B105 → 12", "Quầy 3: Hộ tịch",
                                        "Mời công dân số"};
    struct fwq_unit u;
    char line[512];
    assert_int_equal(fwq_start(g_unit = &u, "hall", 200, 0), 0);
    modbus_t *m = mb_open(u.bus, 200, 19200);
    for (int i = 0; i < 4; i++)
        put_text(m, i, text[i]);
    assert_int_equal(fwq_wait(&u, "display A023 → 5 | B105 → 12", line, sizeof line, FWQ_WAIT_MS), 0);
    mb_close(m);

    static struct fw_unit host;
    struct fw_config cfg = {.kind = QMS_KIND_HALL, .addr = 200, .baud = 19200};
    fw_unit_init(&host, &cfg, 0);
    for (unsigned i = 0; i < 4; i++)
        fw_hall_render_line(&host, i, text[i], (unsigned)strlen(text[i]));

    fwq_panel(&u, "frame");
    assert_int_equal(fwq_wait(&u, "frame 192x64", line, sizeof line, FWQ_WAIT_MS), 0);
    FILE *keep = fopen("fw-hall-frame.txt", "w");
    unsigned ink = 0;
    for (unsigned y = 0; y < FW_HALL_H; y++) {
        char want[FW_HALL_W + 1];
        assert_int_equal(fwq_wait(&u, "", line, sizeof line, FWQ_WAIT_MS), 0);
        fw_hall_row_text(&host, y, want);
        assert_string_equal(line, want);
        for (const char *p = line; *p; p++)
            ink += *p == '#';
        if (keep)
            fprintf(keep, "%s\n", line);
    }
    if (keep)
        fclose(keep);
    assert_int_equal(fwq_wait(&u, "end", line, sizeof line, FWQ_WAIT_MS), 0);
    assert_true(ink > 400);
    fwq_stop(&u);
}

/* Presses while the main loop is late (each turn 45 ms, longer than the
 * panel holds a key: a QEMU descheduled on a loaded host, its clock running
 * on): every press still counts, the same key twice too. The panel holds a
 * key down, and up, until the loop has seen it for the debounce time;
 * before, it let go after 40 ms whatever the loop saw, and such a press
 * was lost -- the clerk's "next" that never came. */
static void keys_count_with_a_late_loop(void **st)
{
    (void)st;
    struct fwq_unit u;
    char line[256];
    assert_int_equal(fwq_start(g_unit = &u, "counter", 8, 0), 0);
    fwq_panel(&u, "slow 45");
    assert_int_equal(fwq_wait(&u, "slow 45", line, sizeof line, FWQ_WAIT_MS), 0);
    fwq_panel(&u, "key 1");
    fwq_panel(&u, "key 2");
    fwq_panel(&u, "key 2");
    fwq_panel(&u, "key 7");
    int ok = fwq_wait(&u, "display ---- | > 1227", line, sizeof line, FWQ_WAIT_MS);
    fwq_panel(&u, "show");
    char shown[256] = "";
    fwq_wait(&u, "display ", shown, sizeof shown, FWQ_WAIT_MS);
    if (ok)
        fail_msg("typed 1 2 2 7 with a late loop; the unit shows \"%s\"", shown);
    fwq_panel(&u, "slow 0");
    fwq_stop(&u);
}

/* A main loop that stops ends in a watchdog reset within about a second:
 * counted in register 7, and the session back to 0 for the gateway. */
static void watchdog_resets_and_counts(void **st)
{
    (void)st;
    struct fwq_unit u;
    char line[256];
    assert_int_equal(fwq_start(g_unit = &u, "counter", 7, 0), 0);
    modbus_t *m = mb_open(u.bus, 7, 19200);
    const uint16_t sess[2] = {1, 2};
    MB_OK(modbus_write_registers(m, QMS_HR_SESSION_HI, 2, sess), 2);
    long t0 = fwq_ms();
    fwq_panel(&u, "hang");
    assert_int_equal(fwq_wait(&u, "hanging", line, sizeof line, FWQ_WAIT_MS), 0);
    assert_int_equal(fwq_wait(&u, "hello ", line, sizeof line, FWQ_WAIT_MS), 0);
    print_message("reset after %ld ms: %s\n", fwq_ms() - t0, line);
    assert_true(has(line, "wdt_resets=1"));
    uint16_t v[10];
    modbus_flush(m);
    MB_OK(modbus_read_input_registers(m, 0, 10, v), 10);
    assert_int_equal(v[QMS_IR_WDT_RESETS], 1);
    assert_int_equal(v[QMS_IR_SESSION_HI], 0);
    assert_int_equal(v[QMS_IR_SESSION_LO], 0);
    mb_close(m);
    fwq_stop(&u);
}

/* 115200 baud, chosen at start like the address. */
static void baud_115200(void **st)
{
    (void)st;
    struct fwq_unit u;
    assert_int_equal(fwq_start(g_unit = &u, "board", 110, 115200), 0);
    modbus_t *m = mb_open(u.bus, 110, 115200);
    uint16_t v[2];
    MB_OK(modbus_read_input_registers(m, 0, 2, v), 2);
    assert_int_equal(v[0], QMS_KIND_LEDBOARD);
    assert_int_equal(v[1], QMS_FW_VERSION);
    mb_close(m);
    fwq_stop(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mbpoll_reads_kind_and_version),
        cmocka_unit_test(mbpoll_reads_fifo_after_key),
        cmocka_unit_test(libmodbus_fifo_session_ack),
        cmocka_unit_test(counter_and_board_show),
        cmocka_unit_test(rating_keys),
        cmocka_unit_test(hall_board_frame),
        cmocka_unit_test(keys_count_with_a_late_loop),
        cmocka_unit_test(watchdog_resets_and_counts),
        cmocka_unit_test(baud_115200),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
