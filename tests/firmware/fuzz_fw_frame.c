/* Fuzz target: the firmware's frame decoder and Modbus server. The input is
 * a byte stream with its timing: each input byte b is a line byte, except
 * that 0xF5 followed by n means "the line is silent n x 100 us". Every
 * frame the receiver completes goes to the server of a counter unit at
 * address 3, whose replies must be well formed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crc16.h"
#include "keys.h"
#include "mb_rtu.h"
#include "unit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const uint8_t *r, size_t n)
{
    if (n == 0)
        return;
    if (n < 5 || n > MB_ADU_MAX || r[0] != 3 ||
        mb_crc16(r, n - 2) != (uint16_t)(r[n - 2] | (r[n - 1] << 8)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fw_unit u;
    static struct mb_rx rx;
    static struct fw_view view;
    struct mb_stats *st = &u.stats;
    uint8_t reply[MB_ADU_MAX];
    struct fw_config cfg = {.kind = (uint8_t)(size % 4 + 1), .addr = 3, .baud = 19200};
    fw_unit_init(&u, &cfg, 0);
    mb_rx_init(&rx, 19200, 0);
    memset(&view, 0, sizeof view);
    uint32_t t = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0xF5 && i + 1 < size) {
            t += 100u * data[++i];
            size_t n = mb_rx_poll(&rx, st, t);
            if (n)
                check_reply(reply, mb_handle(&u.map, st, 3, rx.buf, n, reply));
            if (data[i] < 25) /* a key press now and then */
                fw_unit_press(&u, data[i]);
            continue;
        }
        t += 520; /* one character at 19200 */
        size_t n = mb_rx_byte(&rx, st, data[i], t, 0);
        if (n)
            check_reply(reply, mb_handle(&u.map, st, 3, rx.buf, n, reply));
        fw_unit_tick(&u, t / 1000u);
    }
    size_t n = mb_rx_poll(&rx, st, t + 100000);
    if (n)
        check_reply(reply, mb_handle(&u.map, st, 3, rx.buf, n, reply));
    fw_unit_view(&u, &view);
    if (u.fifo_count > 8 || strlen(view.text) >= sizeof view.text)
        __builtin_trap();
    return 0;
}
