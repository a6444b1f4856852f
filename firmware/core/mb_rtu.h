/* Modbus RTU server: frames by the 3.5-character silence, CRC-16,
 * functions 03/04/06/16, exception replies, broadcast. Knows nothing of
 * the chip (bytes and their arrival times come in) nor of the registers
 * (a struct mb_map answers). No dynamic memory. */
#ifndef QMS_FW_MB_RTU_H
#define QMS_FW_MB_RTU_H
#include <stddef.h>
#include <stdint.h>

#define MB_ADU_MAX 256u /* the longest RTU frame */

/* Error counters of the line, saturating at 65535. */
struct mb_stats {
    uint16_t crc;     /* frames dropped for a bad CRC or too short */
    uint16_t framing; /* bytes with a framing/parity error */
    uint16_t overrun; /* receiver overruns, frames longer than MB_ADU_MAX */
    uint16_t served;  /* requests to this unit answered or done */
};

/* The receiver: collects bytes until the line is silent for t35_us, or
 * until the bytes so far are a whole frame: a length its header announces
 * (a request or a reply of functions 03/04/06/16, an exception) with a good
 * CRC. The second rule answers without waiting for the silence, and keeps
 * frames apart on a line (or an emulator) whose gaps are uneven. */
struct mb_rx {
    uint8_t buf[MB_ADU_MAX]; /* the frame so far */
    uint16_t len;            /* bytes in buf */
    uint16_t crc;            /* CRC of buf[0 .. len-2) */
    uint8_t complete;        /* buf holds a whole frame */
    uint8_t bad;             /* a byte of this frame had an error: drop it */
    uint8_t too_long;        /* more than MB_ADU_MAX bytes: drop it */
    uint32_t last_us;        /* arrival time of the last byte */
    uint32_t t35_us;         /* the silence that ends a frame */
};

/* The register map, as data: two arrays and a hook. The server checks the
 * ranges; the hooks see only requests it found well formed. */
struct mb_map {
    uint16_t *ir;       /* input registers (read by 04) */
    uint16_t ir_count;
    uint16_t *hr;       /* holding registers (read by 03) */
    uint16_t hr_count;
    /* Called before a read of [start, start+count) of ir (fc 04) or hr (03),
     * so computed registers are fresh. */
    void (*refresh)(void *ctx, uint8_t fc, uint16_t start, uint16_t count);
    /* Writes count values at start: validates all, then applies all, or
     * nothing. Returns 0 or a Modbus exception code. */
    uint8_t (*write)(void *ctx, uint16_t start, const uint16_t *v, uint16_t count);
    void *ctx;
};

/* The silence of 3.5 characters of 11 bits at baud; 1750 us above 19200
 * (the Modbus serial line spec). */
uint32_t mb_t35_us(uint32_t baud);

/* silence_us: 0 = mb_t35_us(baud); a port may ask for more (QEMU). */
void mb_rx_init(struct mb_rx *rx, uint32_t baud, uint32_t silence_us);
/* One received byte with its arrival time and HAL_RX_* flags. Returns the
 * length of the frame this byte completed (see struct mb_rx), else 0; the
 * frame stays in rx->buf until the next byte. */
size_t mb_rx_byte(struct mb_rx *rx, struct mb_stats *st, uint8_t b, uint32_t t_us,
                  uint8_t flags);
/* If the line has been silent for t35 since the last byte, the frame is
 * complete: returns its length (0 when there is none or it was dropped) and
 * leaves it in rx->buf until the next call. */
size_t mb_rx_poll(struct mb_rx *rx, struct mb_stats *st, uint32_t now_us);

/* Handles one complete frame for unit address addr. Writes the reply to
 * OUT: reply (room for MB_ADU_MAX) and returns its length, or 0 when
 * nothing is to be sent (bad CRC, another unit, broadcast). */
size_t mb_handle(const struct mb_map *map, struct mb_stats *st, uint8_t addr,
                 const uint8_t *req, size_t n, uint8_t *reply);

#endif
