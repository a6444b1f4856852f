/* The firmware core on the host (port/host): CRC, frame timing, the
 * Modbus server's replies and exceptions, the key FIFO with its
 * acknowledgements, debounce, and what each kind shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crc16.h"
#include "keys.h"
#include "mb_rtu.h"
#include "regs.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------ */

static size_t frame(uint8_t *out, const uint8_t *pdu, size_t n)
{
    memcpy(out, pdu, n);
    uint16_t c = mb_crc16(out, n);
    out[n] = (uint8_t)(c & 0xFF);
    out[n + 1] = (uint8_t)(c >> 8);
    return n + 2;
}

static struct fw_unit unit;
static uint8_t reply[MB_ADU_MAX];

static void new_unit(uint8_t kind, uint8_t addr)
{
    struct fw_config cfg = {.kind = kind, .addr = addr, .baud = 19200};
    fw_unit_init(&unit, &cfg, 0);
}

/* Sends pdu (address first, no CRC) to the unit; returns the reply length. */
static size_t ask(const uint8_t *pdu, size_t n)
{
    uint8_t req[MB_ADU_MAX];
    size_t len = frame(req, pdu, n);
    memset(reply, 0, sizeof reply);
    size_t r = mb_handle(&unit.map, &unit.stats, unit.addr, req, len, reply);
    if (r > 0) /* every reply carries a good CRC */
        assert_int_equal(mb_crc16(reply, r - 2), reply[r - 2] | (reply[r - 1] << 8));
    return r;
}

static uint16_t r16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Reads count input registers from start into out; returns 0 or the
 * exception code. */
static int read_ir(uint16_t start, uint16_t count, uint16_t *out)
{
    uint8_t pdu[] = {unit.addr, 4, (uint8_t)(start >> 8), (uint8_t)start,
                     (uint8_t)(count >> 8), (uint8_t)count};
    size_t r = ask(pdu, sizeof pdu);
    assert_true(r > 0);
    if (reply[1] & 0x80)
        return reply[2];
    assert_int_equal(r, 5 + 2 * count);
    for (unsigned i = 0; i < count; i++)
        out[i] = r16(reply + 3 + 2 * i);
    return 0;
}

static int write_hr(uint16_t reg, const uint16_t *v, uint16_t count)
{
    uint8_t pdu[7 + 2 * 123] = {unit.addr, 16, (uint8_t)(reg >> 8), (uint8_t)reg, 0,
                                (uint8_t)count, (uint8_t)(2 * count)};
    for (unsigned i = 0; i < count; i++) {
        pdu[7 + 2 * i] = (uint8_t)(v[i] >> 8);
        pdu[8 + 2 * i] = (uint8_t)v[i];
    }
    size_t r = ask(pdu, 7u + 2u * count);
    assert_true(r > 0);
    return reply[1] & 0x80 ? reply[2] : 0;
}

static int write1(uint16_t reg, uint16_t v)
{
    uint8_t pdu[] = {unit.addr, 6, (uint8_t)(reg >> 8), (uint8_t)reg, (uint8_t)(v >> 8),
                     (uint8_t)v};
    size_t r = ask(pdu, sizeof pdu);
    assert_true(r > 0);
    if (reply[1] & 0x80)
        return reply[2];
    assert_int_equal(r, 8); /* the echo */
    assert_memory_equal(reply, pdu, 6);
    return 0;
}

static void set_text(unsigned line, const char *s)
{
    uint16_t v[QMS_LINE_REGS] = {0};
    size_t n = strlen(s);
    assert_true(n <= QMS_LINE_BYTES);
    for (size_t i = 0; i < n; i++)
        v[i / 2] |= (uint16_t)((uint8_t)s[i] << (i % 2 ? 0 : 8));
    assert_int_equal(write_hr((uint16_t)QMS_HR_LINE(line), v, QMS_LINE_REGS), 0);
}

/* ---- CRC ------------------------------------------------------------------ */

static void crc_known_values(void **st)
{
    (void)st;
    /* the CRC-16/MODBUS check value, and a frame from the Modbus spec */
    assert_int_equal(mb_crc16((const uint8_t *)"123456789", 9), 0x4B37);
    const uint8_t read1[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x01};
    uint16_t c = mb_crc16(read1, sizeof read1);
    assert_int_equal(c & 0xFF, 0x84); /* on the wire: 84 0A */
    assert_int_equal(c >> 8, 0x0A);
    assert_int_equal(mb_crc16(NULL, 0), 0xFFFF);
}

/* ---- frame timing ----------------------------------------------------------- */

static void t35_by_baud(void **st)
{
    (void)st;
    assert_int_equal(mb_t35_us(9600), 4011);   /* 38.5 bits / 9600 */
    assert_int_equal(mb_t35_us(19200), 2006);
    assert_int_equal(mb_t35_us(38400), 1750);  /* fixed above 19200 */
    assert_int_equal(mb_t35_us(115200), 1750);
}

static void silence_ends_frame(void **st)
{
    (void)st;
    struct mb_rx rx;
    struct mb_stats s = {0};
    mb_rx_init(&rx, 19200, 0);
    /* a function the length rule does not know: only the silence ends it */
    const uint8_t f[] = {3, 0x2B, 1, 2, 3};
    uint32_t t = 1000;
    for (unsigned i = 0; i < sizeof f; i++, t += 500)
        assert_int_equal(mb_rx_byte(&rx, &s, f[i], t, 0), 0);
    t -= 500;
    assert_int_equal(mb_rx_poll(&rx, &s, t + 2005), 0); /* not yet */
    assert_int_equal(mb_rx_poll(&rx, &s, t + 2006), sizeof f);
    assert_memory_equal(rx.buf, f, sizeof f);
    assert_int_equal(mb_rx_poll(&rx, &s, t + 9000), 0); /* taken once */

    /* a gap of 3.5 characters inside splits it: the first part is dropped */
    mb_rx_byte(&rx, &s, 0xAA, 100000, 0);
    mb_rx_byte(&rx, &s, 0xBB, 100000 + 2006, 0);
    assert_int_equal(mb_rx_poll(&rx, &s, 100000 + 2006 + 2006), 1);
    assert_int_equal(rx.buf[0], 0xBB);

    /* a byte stamped after "now" is no silence (the ISR ran late) */
    mb_rx_byte(&rx, &s, 0xCC, 500000, 0);
    assert_int_equal(mb_rx_poll(&rx, &s, 499000), 0);
}

static void length_and_crc_end_frame(void **st)
{
    (void)st;
    struct mb_rx rx;
    struct mb_stats s = {0};
    mb_rx_init(&rx, 19200, 20000);
    uint8_t req[8], rep[16], both[24];
    const uint8_t q[] = {3, 4, 0, 0, 0, 2};
    const uint8_t a[] = {5, 4, 4, 0, 1, 1, 0};
    size_t nq = frame(req, q, sizeof q), na = frame(rep, a, sizeof a);
    /* unit 5's reply and then a request to unit 3 with no silence between:
     * both are found by their lengths and CRCs */
    memcpy(both, rep, na);
    memcpy(both + na, req, nq);
    size_t got[2] = {0, 0};
    int k = 0;
    for (unsigned i = 0; i < na + nq; i++) {
        size_t n = mb_rx_byte(&rx, &s, both[i], 10 * i, 0);
        if (n) {
            assert_true(k < 2);
            got[k++] = n;
            if (k == 2)
                assert_memory_equal(rx.buf, req, nq);
        }
    }
    assert_int_equal(k, 2);
    assert_int_equal(got[0], na);
    assert_int_equal(got[1], nq);
    /* a damaged byte: no early end; the silence ends it and the CRC fails */
    req[4] ^= 0x10;
    for (unsigned i = 0; i < nq; i++)
        assert_int_equal(mb_rx_byte(&rx, &s, req[i], 1000000 + 10 * i, 0), 0);
    size_t n = mb_rx_poll(&rx, &s, 1000000 + 10 * nq + 20000);
    assert_int_equal(n, nq);
    new_unit(QMS_KIND_COUNTER, 3);
    assert_int_equal(mb_handle(&unit.map, &unit.stats, 3, rx.buf, n, reply), 0);
    assert_int_equal(unit.stats.crc, 1);
}

static void byte_errors_drop_frame(void **st)
{
    (void)st;
    struct mb_rx rx;
    struct mb_stats s = {0};
    mb_rx_init(&rx, 19200, 0);
    uint8_t req[8];
    const uint8_t q[] = {3, 4, 0, 0, 0, 2};
    frame(req, q, sizeof q);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(mb_rx_byte(&rx, &s, req[i], i, i == 2 ? HAL_RX_FRAMING : 0), 0);
    assert_int_equal(mb_rx_poll(&rx, &s, 10000), 0);
    assert_int_equal(s.framing, 1);
    /* longer than 256 bytes: dropped, counted as an overrun */
    for (unsigned i = 0; i < 300; i++)
        mb_rx_byte(&rx, &s, 0x55, 20000 + i, 0);
    assert_int_equal(mb_rx_poll(&rx, &s, 40000), 0);
    assert_int_equal(s.overrun, 1);
    mb_rx_byte(&rx, &s, 0x55, 50000, HAL_RX_OVERRUN);
    assert_int_equal(s.overrun, 2);
}

/* ---- the server ---------------------------------------------------------- */

static void reads_kind_and_version(void **st)
{
    (void)st;
    new_unit(QMS_KIND_HALL, 200);
    uint16_t v[QMS_IR_COUNT];
    assert_int_equal(read_ir(0, QMS_IR_COUNT, v), 0);
    assert_int_equal(v[QMS_IR_KIND], 4);
    assert_int_equal(v[QMS_IR_FW_VERSION], 0x0100);
    fw_unit_tick(&unit, 70000 * 1000u); /* 70000 s: past 16 bits */
    assert_int_equal(read_ir(QMS_IR_UPTIME_HI, 2, v), 0);
    assert_int_equal(((uint32_t)v[0] << 16) | v[1], 70000);
    /* holding registers read back what was written */
    assert_int_equal(write1(QMS_HR_RATING_LEVELS, 5), 0);
    uint8_t pdu[] = {200, 3, 0, QMS_HR_RATING_LEVELS, 0, 1};
    assert_int_equal(ask(pdu, sizeof pdu), 7);
    assert_int_equal(r16(reply + 3), 5);
}

static void exceptions(void **st)
{
    (void)st;
    new_unit(QMS_KIND_COUNTER, 3);
    uint16_t v[125];
    assert_int_equal(read_ir(QMS_IR_COUNT - 1, 2, v), QMS_EX_ILLEGAL_ADDRESS);
    assert_int_equal(read_ir(0, 0, v), QMS_EX_ILLEGAL_VALUE);
    assert_int_equal(read_ir(0, 126, v), QMS_EX_ILLEGAL_VALUE);
    assert_int_equal(read_ir(0xFFFF, 1, v), QMS_EX_ILLEGAL_ADDRESS);
    assert_int_equal(write1(QMS_HR_COUNT, 1), QMS_EX_ILLEGAL_ADDRESS);
    assert_int_equal(write1(QMS_HR_RATING_LEVELS, 6), QMS_EX_ILLEGAL_VALUE);
    uint8_t bad_fc[] = {3, 0x2B, 0x0E, 1, 0};
    assert_int_equal(ask(bad_fc, sizeof bad_fc), 5);
    assert_int_equal(reply[1], 0xAB);
    assert_int_equal(reply[2], QMS_EX_ILLEGAL_FUNCTION);
    /* 16 with a byte count that does not match its register count */
    uint8_t bad16[] = {3, 16, 0, 8, 0, 2, 3, 0, 0, 0};
    assert_int_equal(ask(bad16, sizeof bad16), 5);
    assert_int_equal(reply[2], QMS_EX_ILLEGAL_VALUE);
    /* a read of the wrong length */
    uint8_t long_read[] = {3, 4, 0, 0, 0, 1, 9};
    assert_int_equal(ask(long_read, sizeof long_read), 5);
    assert_int_equal(reply[2], QMS_EX_ILLEGAL_VALUE);
    /* a refused write changes nothing: levels 4 stays, line 0 stays empty */
    uint16_t w[QMS_HR_COUNT] = {0};
    w[QMS_HR_RATING_LEVELS] = 9;
    w[QMS_HR_LINE0] = 0x4142;
    assert_int_equal(write_hr(0, w, QMS_HR_COUNT), QMS_EX_ILLEGAL_VALUE);
    assert_int_equal(unit.hr[QMS_HR_RATING_LEVELS], 4);
    assert_int_equal(unit.hr[QMS_HR_LINE0], 0);
}

static void addresses_and_broadcast(void **st)
{
    (void)st;
    new_unit(QMS_KIND_LEDBOARD, 103);
    uint8_t req[16];
    const uint8_t other[] = {104, 4, 0, 0, 0, 1};
    size_t n = frame(req, other, sizeof other);
    assert_int_equal(mb_handle(&unit.map, &unit.stats, 103, req, n, reply), 0);
    const uint8_t bread[] = {0, 4, 0, 0, 0, 1};
    n = frame(req, bread, sizeof bread);
    assert_int_equal(mb_handle(&unit.map, &unit.stats, 103, req, n, reply), 0);
    const uint8_t bwrite[] = {0, 6, 0, QMS_HR_BLINK, 0, 3};
    n = frame(req, bwrite, sizeof bwrite);
    assert_int_equal(mb_handle(&unit.map, &unit.stats, 103, req, n, reply), 0);
    assert_int_equal(unit.blinking, 1); /* done, never answered */
    req[3] ^= 1;                        /* a bad CRC: dropped and counted */
    assert_int_equal(mb_handle(&unit.map, &unit.stats, 103, req, n, reply), 0);
    assert_int_equal(unit.stats.crc, 1);
    assert_int_equal(mb_handle(&unit.map, &unit.stats, 103, req, 3, reply), 0);
    assert_int_equal(unit.stats.crc, 2);
}

/* ---- the key FIFO and its acknowledgements ----------------------------------- */

static void press(int key)
{
    fw_unit_press(&unit, key);
}

static void fifo_and_ack(void **st)
{
    (void)st;
    new_unit(QMS_KIND_COUNTER, 3);
    uint16_t v[QMS_IR_COUNT];
    press(FW_KEY_NEXT);
    press(FW_KEY_D0 + 2);
    press(FW_KEY_D0 + 3);
    press(FW_KEY_OK);
    press(FW_KEY_OK); /* nothing typed: not queued */
    assert_int_equal(read_ir(QMS_IR_SESSION_HI, 12, v), 0);
    assert_int_equal(v[QMS_IR_FIFO_COUNT - 8], 2);
    assert_int_equal(v[QMS_IR_LAST_SEQ - 8], 2);
    const uint16_t *e = v + (QMS_IR_FIFO - 8);
    assert_int_equal(e[0], 1);
    assert_int_equal(e[1], QMS_KEY_NEXT);
    assert_int_equal(e[2], QMS_ARG_NONE);
    /* a lost reply: the same entries are read again */
    assert_int_equal(read_ir(QMS_IR_FIFO, 8, v), 0);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[4], 2);
    assert_int_equal(v[5], QMS_KEY_OK);
    assert_int_equal(v[6], 23);
    /* no ack before the gateway set a session */
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 1), QMS_EX_ILLEGAL_VALUE);
    uint16_t sess[2] = {0x1234, 0x5678};
    assert_int_equal(write_hr(QMS_HR_SESSION_HI, sess, 2), 0);
    assert_int_equal(read_ir(QMS_IR_SESSION_HI, 2, v), 0);
    assert_int_equal(v[0], 0x1234);
    assert_int_equal(v[1], 0x5678);
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 7), QMS_EX_ILLEGAL_VALUE); /* not queued */
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 0), QMS_EX_ILLEGAL_VALUE);
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 1), 0);
    assert_int_equal(read_ir(QMS_IR_FIFO_COUNT, 2, v), 0);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 1);
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 1), 0); /* repeated: harmless */
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 2), 0);
    assert_int_equal(read_ir(QMS_IR_FIFO_COUNT, 1, v), 0);
    assert_int_equal(v[0], 0);
    assert_int_equal(read_ir(QMS_IR_FIFO, 4, v), 0);
    assert_int_equal(v[0], 0); /* emptied entries read 0 */
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 1), QMS_EX_ILLEGAL_VALUE); /* old */
}

static void fifo_full_and_wrap(void **st)
{
    (void)st;
    new_unit(QMS_KIND_COUNTER, 3);
    uint16_t v[QMS_IR_COUNT];
    for (int i = 0; i < 10; i++)
        press(FW_KEY_RECALL);
    assert_int_equal(read_ir(0, QMS_IR_COUNT, v), 0);
    assert_int_equal(v[QMS_IR_FIFO_COUNT], 8);
    assert_int_equal(v[QMS_IR_KEYS_DROPPED], 2);
    assert_int_equal(v[QMS_IR_FIFO + 7 * 4], 8); /* the oldest kept, never overwritten */
    uint16_t sess[2] = {0, 1};
    assert_int_equal(write_hr(QMS_HR_SESSION_HI, sess, 2), 0);
    /* an ack in the middle drops that entry and all older ones */
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 5), 0);
    assert_int_equal(read_ir(QMS_IR_FIFO_COUNT, 1, v), 0);
    assert_int_equal(v[0], 3);
    assert_int_equal(read_ir(QMS_IR_FIFO, 4, v), 0);
    assert_int_equal(v[0], 6);
    /* the sequence wraps from 65535 to 1, never 0, and acks still work */
    unit.last_seq = 65534;
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 8), 0);
    press(FW_KEY_DONE);
    press(FW_KEY_DONE);
    assert_int_equal(read_ir(QMS_IR_FIFO, 8, v), 0);
    assert_int_equal(v[0], 65535);
    assert_int_equal(v[4], 1);
    assert_int_equal(write1(QMS_HR_ACK_SEQ, 1), 0);
    assert_int_equal(read_ir(QMS_IR_FIFO_COUNT, 1, v), 0);
    assert_int_equal(v[0], 0);
}

static void rating_keys(void **st)
{
    (void)st;
    new_unit(QMS_KIND_RATING, 153);
    uint16_t v[8];
    press(FW_KEY_RATE1 + 3); /* dark: ignored */
    press(FW_KEY_NEXT);      /* not on this kind */
    assert_int_equal(read_ir(QMS_IR_FIFO_COUNT, 1, v), 0);
    assert_int_equal(v[0], 0);
    assert_int_equal(write1(QMS_HR_RATING_LEVELS, 3), 0);
    assert_int_equal(write1(QMS_HR_RATING_TOKEN, 77), 0);
    press(FW_KEY_RATE1 + 3); /* level 4 of 3: ignored */
    press(FW_KEY_RATE1 + 2);
    press(FW_KEY_RATE1 + 1); /* one rating per ask */
    assert_int_equal(read_ir(QMS_IR_FIFO_COUNT, 1, v), 0);
    assert_int_equal(v[0], 1);
    assert_int_equal(read_ir(QMS_IR_FIFO, 4, v), 0);
    assert_int_equal(v[1], QMS_KEY_RATE);
    assert_int_equal(v[2], 3);
    assert_int_equal(v[3], 77);
    assert_int_equal(unit.hr[QMS_HR_RATING_TOKEN], 0);
}

/* ---- debounce --------------------------------------------------------------- */

static void debounce(void **st)
{
    (void)st;
    struct fw_debounce d;
    fw_debounce_init(&d);
    uint32_t next = 1u << FW_KEY_NEXT, got = 0;
    /* contact bounce for 15 ms: nothing */
    for (uint32_t t = 0; t < 15; t++)
        got |= fw_debounce(&d, t % 3 ? next : 0, t);
    assert_int_equal(got, 0);
    /* then held: one press, FW_DEBOUNCE_MS after the last bounce */
    uint32_t at = 0;
    for (uint32_t t = 15; t < 100; t++)
        if (fw_debounce(&d, next, t)) {
            assert_int_equal(at, 0);
            at = t;
        }
    assert_int_equal(at, 13 + FW_DEBOUNCE_MS); /* the last bounce was at 13 ms */
    /* a 5 ms dropout while held is no new press */
    for (uint32_t t = 100; t < 200; t++)
        assert_int_equal(fw_debounce(&d, t < 105 ? 0 : next, t), 0);
    /* released, then pressed again: a second press */
    for (uint32_t t = 200; t < 250; t++)
        assert_int_equal(fw_debounce(&d, 0, t), 0);
    got = 0;
    for (uint32_t t = 250; t < 300; t++)
        got |= fw_debounce(&d, next, t);
    assert_int_equal(got, next);
    assert_int_equal(fw_key_by_name("rate3", 5), FW_KEY_RATE1 + 2);
    assert_int_equal(fw_key_by_name("7", 1), FW_KEY_D0 + 7);
    assert_int_equal(fw_key_by_name("nex", 3), -1);
    assert_string_equal(fw_key_name(FW_KEY_TRANSFER), "transfer");
}

/* ---- what the units show ------------------------------------------------------ */

static void views(void **st)
{
    (void)st;
    struct fw_view v;
    memset(&v, 0, sizeof v);
    new_unit(QMS_KIND_COUNTER, 3);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "----");
    set_text(0, "A023");
    set_text(1, "Đang phục vụ");
    assert_int_equal(fw_unit_view(&unit, &v), 1);
    assert_string_equal(v.text, "A023 | Đang phục vụ");
    assert_int_equal(fw_unit_view(&unit, &v), 0); /* unchanged */
    press(FW_KEY_D0 + 4);
    press(FW_KEY_D0 + 0);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "A023 | > 40");
    press(FW_KEY_CLEAR);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "A023 | Đang phục vụ");
    /* not UTF-8: shown up to the bad byte */
    set_text(1, "ab\xC3(cd");
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "A023 | ab");

    new_unit(QMS_KIND_LEDBOARD, 103);
    set_text(0, "A024");
    assert_int_equal(write1(QMS_HR_BLINK, 2), 0);
    fw_unit_tick(&unit, 100);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "A024 (blink)");
    assert_int_equal(v.blink_on, 1);
    fw_unit_tick(&unit, 600);
    fw_unit_view(&unit, &v);
    assert_int_equal(v.blink_on, 0);
    uint8_t pdu[] = {103, 3, 0, QMS_HR_BLINK, 0, 1};
    assert_int_equal(ask(pdu, sizeof pdu), 7);
    assert_int_equal(r16(reply + 3), 2); /* seconds left, rounded up */
    fw_unit_tick(&unit, 2000);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "A024");

    new_unit(QMS_KIND_RATING, 153);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "rating off");
    assert_int_equal(write1(QMS_HR_RATING_TOKEN, 9), 0);
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "rating on 1-4");
    assert_int_equal(v.rating_levels, 4);
}

static unsigned dots(unsigned y0, unsigned y1)
{
    unsigned n = 0;
    char row[FW_HALL_W + 1];
    for (unsigned y = y0; y < y1; y++) {
        fw_hall_row_text(&unit, y, row);
        for (unsigned x = 0; x < FW_HALL_W; x++)
            n += row[x] == '#';
    }
    return n;
}

static void hall_frame(void **st)
{
    (void)st;
    struct fw_view v;
    memset(&v, 0, sizeof v);
    new_unit(QMS_KIND_HALL, 200);
    fw_unit_view(&unit, &v);
    assert_int_equal(dots(0, FW_HALL_H), 0);
    set_text(0, "A023 → 5");
    set_text(2, "Quầy số 7");
    fw_unit_view(&unit, &v);
    assert_string_equal(v.text, "A023 → 5 |  | Quầy số 7 | ");
    unsigned l0 = dots(0, 16), l1 = dots(16, 32), l2 = dots(32, 48);
    assert_true(l0 > 80);
    assert_int_equal(l1, 0);
    assert_true(l2 > 60);
    /* the diacritics are drawn: "Quầy" has more ink than "Quay" */
    set_text(2, "Quay so 7");
    fw_unit_view(&unit, &v);
    assert_true(dots(32, 48) < l2);
    /* a letter the font lacks becomes a box, and a long line is clipped */
    set_text(3, "日AAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    fw_unit_view(&unit, &v);
    char row[FW_HALL_W + 1];
    fw_hall_row_text(&unit, 48 + 3, row);
    assert_memory_equal(row, ".######", 7);
    assert_true(fw_hall_render_line(&unit, 3, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 30) == FW_HALL_W);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_known_values),
        cmocka_unit_test(t35_by_baud),
        cmocka_unit_test(silence_ends_frame),
        cmocka_unit_test(length_and_crc_end_frame),
        cmocka_unit_test(byte_errors_drop_frame),
        cmocka_unit_test(reads_kind_and_version),
        cmocka_unit_test(exceptions),
        cmocka_unit_test(addresses_and_broadcast),
        cmocka_unit_test(fifo_and_ack),
        cmocka_unit_test(fifo_full_and_wrap),
        cmocka_unit_test(rating_keys),
        cmocka_unit_test(debounce),
        cmocka_unit_test(views),
        cmocka_unit_test(hall_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
