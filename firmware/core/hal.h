/* The hardware abstraction: plain prototypes every port implements
 * (firmware/port/<board>/). The core calls nothing else of the chip.
 * Interrupt handlers in a port only queue (bus bytes with their time);
 * the work runs in fw_task(), called by the port's main loop. */
#ifndef QMS_FW_HAL_H
#define QMS_FW_HAL_H
#include <stddef.h>
#include <stdint.h>

struct fw_view;

/* What the unit is, read once at start (DIP switches, QEMU memory words). */
struct fw_config {
    uint8_t kind;          /* QMS_KIND_* (regs.h) */
    uint8_t addr;          /* 1..247 */
    uint32_t baud;         /* 19200 or 115200 */
    uint16_t wdt_resets;   /* watchdog resets since power-on, kept by the port */
    uint32_t silence_us;   /* frame-ending silence; 0 = the spec's 3.5 characters */
};

/* Bus byte flags from hal_bus_read(). */
#define HAL_RX_FRAMING 0x01u /* framing or parity error on this byte */
#define HAL_RX_OVERRUN 0x02u /* bytes were lost before this one */

void hal_init(void);                       /* clocks, pins, UARTs, timers */
void hal_config(struct fw_config *out);    /* OUT: kind, address, baud, resets */
uint32_t hal_time_us(void);                /* free-running microseconds (wraps) */

/* The next bus byte received, in arrival order, with the time it arrived.
 * Returns 1 with *byte, *t_us, *flags set, or 0 when none is waiting. */
int hal_bus_read(uint8_t *byte, uint32_t *t_us, uint8_t *flags);
/* Sends n bytes on the bus and returns when the last stop bit is out
 * (the port drives the RS-485 driver's DE pin around it). */
void hal_bus_write(const uint8_t *p, size_t n);

uint32_t hal_keys(void);                   /* raw key levels, bit FW_KEY_* set = down */
void hal_display(const struct fw_view *v); /* show the view (called when it changed) */
void hal_panel_poll(const struct fw_view *v); /* port's own duties each loop (may be empty) */

void hal_wdt_start(uint32_t timeout_ms);   /* start the watchdog; it cannot be stopped */
void hal_wdt_kick(void);

#endif
