#include "fw.h"

#include "keys.h"

struct fw_state fw;

void fw_init(void)
{
    struct fw_config cfg = {0};
    hal_init();
    hal_config(&cfg);
    fw.baud = cfg.baud ? cfg.baud : QMS_BUS_BAUD_DEFAULT;
    fw.last_us = hal_time_us();
    fw_unit_init(&fw.unit, &cfg, 0);
    mb_rx_init(&fw.rx, fw.baud, cfg.silence_us);
    fw_debounce_init(&fw.keys);
    hal_wdt_start(FW_WDT_TIMEOUT_MS);
}

/* Answers the frame of n bytes in fw.rx.buf. */
static void serve(size_t n)
{
    size_t r = mb_handle(&fw.unit.map, &fw.unit.stats, fw.unit.addr, fw.rx.buf, n, fw.reply);
    if (r > 0)
        hal_bus_write(fw.reply, r);
}

void fw_task(void)
{
    uint8_t b, flags;
    uint32_t t;
    /* Bytes first: their arrival times were taken by the interrupt. */
    while (hal_bus_read(&b, &t, &flags))
        if (mb_rx_byte(&fw.rx, &fw.unit.stats, b, t, flags))
            serve(fw.rx.len);

    uint32_t now = hal_time_us();
    fw.us_acc += now - fw.last_us;
    fw.last_us = now;
    while (fw.us_acc >= 1000u) {
        fw.us_acc -= 1000u;
        fw.now_ms++;
    }
    fw_unit_tick(&fw.unit, fw.now_ms);

    size_t n = mb_rx_poll(&fw.rx, &fw.unit.stats, now);
    if (n > 0)
        serve(n);

    uint32_t pressed = fw_debounce(&fw.keys, hal_keys(), fw.now_ms);
    for (int k = 0; pressed && k < FW_KEY_COUNT; k++)
        if (pressed & (1u << k))
            fw_unit_press(&fw.unit, k);

    if (fw_unit_view(&fw.unit, &fw.view))
        hal_display(&fw.view);
    hal_panel_poll(&fw.view);

    /* Watchdog policy: kicked only here, at the end of a whole turn, and only
     * while the clock moves on. No interrupt handler kicks it, so a loop
     * stuck anywhere, or a dead timer, ends in a reset. */
    if (fw.now_ms - fw.last_kick_ms >= FW_WDT_KICK_MS) {
        fw.last_kick_ms = fw.now_ms;
        hal_wdt_kick();
    }
}
