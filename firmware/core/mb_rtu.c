#include "mb_rtu.h"

#include "crc16.h"
#include "hal.h"
#include "regs.h"

#include <string.h>

static void sat_inc(uint16_t *c)
{
    if (*c != 0xFFFFu)
        (*c)++;
}

uint32_t mb_t35_us(uint32_t baud)
{
    if (baud == 0 || baud > 19200u)
        return 1750u;
    /* 3.5 characters x 11 bits, rounded up */
    return (uint32_t)((38500000ull + baud - 1) / baud);
}

void mb_rx_init(struct mb_rx *rx, uint32_t baud, uint32_t silence_us)
{
    memset(rx, 0, sizeof *rx);
    rx->t35_us = silence_us ? silence_us : mb_t35_us(baud);
    rx->crc = 0xFFFFu;
}

static void rx_reset(struct mb_rx *rx)
{
    rx->len = 0;
    rx->bad = 0;
    rx->too_long = 0;
    rx->complete = 0;
    rx->crc = 0xFFFFu;
}

/* Is buf[0..len) a whole frame by its header and CRC? */
static int whole(const struct mb_rx *rx)
{
    const uint8_t *b = rx->buf;
    unsigned n = rx->len, fc;
    if (n < 4 || rx->bad || rx->too_long)
        return 0;
    if (rx->crc != (uint16_t)(b[n - 2] | (b[n - 1] << 8)))
        return 0;
    fc = b[1];
    if (fc & 0x80u)
        return n == 5; /* exception reply */
    switch (fc) {
    case QMS_FC_READ_HOLDING:
    case QMS_FC_READ_INPUT:
        return n == 8 || n == 5u + b[2]; /* request, or a reply */
    case QMS_FC_WRITE_SINGLE:
        return n == 8;
    case QMS_FC_WRITE_MULTIPLE:
        return n == 8 || (n >= 9 && n == 9u + b[6]); /* reply, or a request */
    }
    return 0; /* other functions: the silence ends them */
}

size_t mb_rx_byte(struct mb_rx *rx, struct mb_stats *st, uint8_t b, uint32_t t_us,
                  uint8_t flags)
{
    /* A byte after a silence, or after a whole frame, starts a new frame
     * even if the old one was never polled out: its time is over. */
    if (rx->complete ||
        (rx->len > 0 && (int32_t)(t_us - rx->last_us) >= (int32_t)rx->t35_us))
        rx_reset(rx);
    rx->last_us = t_us;
    if (flags & HAL_RX_FRAMING) {
        if (!rx->bad)
            sat_inc(&st->framing);
        rx->bad = 1;
    }
    if (flags & HAL_RX_OVERRUN) {
        sat_inc(&st->overrun);
        rx->bad = 1;
    }
    if (rx->len >= MB_ADU_MAX) {
        if (!rx->too_long)
            sat_inc(&st->overrun);
        rx->too_long = 1;
        return 0;
    }
    rx->buf[rx->len++] = b;
    if (rx->len >= 3)
        rx->crc = mb_crc16_add(rx->crc, rx->buf[rx->len - 3]);
    if (whole(rx)) {
        rx->complete = 1;
        return rx->len;
    }
    return 0;
}

size_t mb_rx_poll(struct mb_rx *rx, struct mb_stats *st, uint32_t now_us)
{
    /* signed: a byte stamped after now_us is no silence */
    if (rx->len == 0 || rx->complete || (int32_t)(now_us - rx->last_us) < (int32_t)rx->t35_us)
        return 0;
    size_t n = rx->len;
    int drop = rx->bad || rx->too_long;
    rx_reset(rx);
    (void)st;
    return drop ? 0 : n;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xFFu);
}

static size_t finish(uint8_t *reply, size_t n)
{
    uint16_t crc = mb_crc16(reply, n);
    reply[n] = (uint8_t)(crc & 0xFFu); /* low byte first */
    reply[n + 1] = (uint8_t)(crc >> 8);
    return n + 2;
}

static size_t exception(uint8_t *reply, uint8_t addr, uint8_t fc, uint8_t code)
{
    reply[0] = addr;
    reply[1] = (uint8_t)(fc | 0x80u);
    reply[2] = code;
    return finish(reply, 3);
}

/* The reply to a well-addressed frame of n bytes (CRC stripped), or an
 * exception code through OUT: ex. */
static size_t dispatch(const struct mb_map *map, const uint8_t *req, size_t n,
                       uint8_t *reply, uint8_t *ex)
{
    uint8_t fc = req[1];
    switch (fc) {
    case QMS_FC_READ_HOLDING:
    case QMS_FC_READ_INPUT: {
        if (n != 6) {
            *ex = QMS_EX_ILLEGAL_VALUE;
            return 0;
        }
        uint16_t start = get16(req + 2), count = get16(req + 4);
        uint16_t *regs = fc == QMS_FC_READ_INPUT ? map->ir : map->hr;
        uint16_t size = fc == QMS_FC_READ_INPUT ? map->ir_count : map->hr_count;
        if (count < 1 || count > 125) {
            *ex = QMS_EX_ILLEGAL_VALUE;
            return 0;
        }
        if ((uint32_t)start + count > size) {
            *ex = QMS_EX_ILLEGAL_ADDRESS;
            return 0;
        }
        if (map->refresh)
            map->refresh(map->ctx, fc, start, count);
        reply[1] = fc;
        reply[2] = (uint8_t)(count * 2u);
        for (uint16_t i = 0; i < count; i++)
            put16(reply + 3 + 2 * i, regs[start + i]);
        return 3u + 2u * count;
    }
    case QMS_FC_WRITE_SINGLE: {
        if (n != 6) {
            *ex = QMS_EX_ILLEGAL_VALUE;
            return 0;
        }
        uint16_t reg = get16(req + 2), v = get16(req + 4);
        if (reg >= map->hr_count) {
            *ex = QMS_EX_ILLEGAL_ADDRESS;
            return 0;
        }
        *ex = map->write(map->ctx, reg, &v, 1);
        if (*ex)
            return 0;
        memcpy(reply + 1, req + 1, 5); /* the echo of the request */
        return 6;
    }
    case QMS_FC_WRITE_MULTIPLE: {
        if (n < 7) {
            *ex = QMS_EX_ILLEGAL_VALUE;
            return 0;
        }
        uint16_t start = get16(req + 2), count = get16(req + 4);
        uint8_t bytes = req[6];
        if (count < 1 || count > 123 || bytes != count * 2u || n != 7u + bytes) {
            *ex = QMS_EX_ILLEGAL_VALUE;
            return 0;
        }
        if ((uint32_t)start + count > map->hr_count) {
            *ex = QMS_EX_ILLEGAL_ADDRESS;
            return 0;
        }
        uint16_t v[123];
        for (uint16_t i = 0; i < count; i++)
            v[i] = get16(req + 7 + 2 * i);
        *ex = map->write(map->ctx, start, v, count);
        if (*ex)
            return 0;
        memcpy(reply + 1, req + 1, 5); /* function, start, count */
        return 6;
    }
    default:
        *ex = QMS_EX_ILLEGAL_FUNCTION;
        return 0;
    }
}

size_t mb_handle(const struct mb_map *map, struct mb_stats *st, uint8_t addr,
                 const uint8_t *req, size_t n, uint8_t *reply)
{
    if (n < 4 || n > MB_ADU_MAX) {
        sat_inc(&st->crc);
        return 0;
    }
    uint16_t crc = (uint16_t)(req[n - 2] | (req[n - 1] << 8));
    if (mb_crc16(req, n - 2) != crc) {
        sat_inc(&st->crc);
        return 0;
    }
    uint8_t to = req[0];
    if (to != addr && to != QMS_BUS_ADDR_BROADCAST)
        return 0;
    uint8_t fc = req[1];
    int broadcast = to == QMS_BUS_ADDR_BROADCAST;
    /* Broadcast: only writes are done; nothing is ever answered. */
    if (broadcast && fc != QMS_FC_WRITE_SINGLE && fc != QMS_FC_WRITE_MULTIPLE)
        return 0;
    uint8_t ex = 0;
    size_t len = dispatch(map, req, n - 2, reply, &ex);
    sat_inc(&st->served);
    if (broadcast)
        return 0;
    if (ex)
        return exception(reply, addr, fc, ex);
    reply[0] = addr;
    return finish(reply, len);
}
