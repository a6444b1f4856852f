/* QEMU mps2-an385 port: CMSDK UART0 = the RS-485 bus, CMSDK UART1 = the
 * front panel (a line protocol in place of fingers and eyes), SysTick = the
 * clock, CMSDK watchdog. The few registers used are written out here. */
#include <stdint.h>
#include <string.h>

#include "fw.h"
#include "keys.h"
#include "regs.h"

#define REG(a) (*(volatile uint32_t *)(a))

/* CMSDK APB UART */
#define UART0 0x40004000u
#define UART1 0x40005000u
#define U_DATA 0x00u
#define U_STATE 0x04u /* 0 tx full, 1 rx full, 2 tx overrun, 3 rx overrun */
#define U_CTRL 0x08u  /* 0 tx en, 1 rx en, 3 rx irq en */
#define U_INT 0x0Cu   /* status / clear */
#define U_BAUDDIV 0x10u
#define SYSCLK 25000000u

/* SysTick, NVIC, SCB */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define NVIC_ISER0 0xE000E100u
#define NVIC_ICER0 0xE000E180u
#define NVIC_IPR0 0xE000E400u
#define SCB_SHPR3 0xE000ED20u
#define TIMER0 0x40000000u /* CMSDK APB timer */
#define T_CTRL 0x00u
#define T_VALUE 0x04u
#define T_RELOAD 0x08u

/* CMSDK APB watchdog: interrupt (NMI here) at the first expiry, reset at
 * the second. */
#define WDOG 0x40008000u
#define WD_LOAD 0x00u
#define WD_CTRL 0x08u /* 0 int enable, 1 reset enable */
#define WD_INTCLR 0x0Cu
#define WD_LOCK 0xC00u
#define WD_UNLOCK_KEY 0x1ACCE551u

/* Configuration words, written by QEMU before start:
 *   -device loader,addr=0x20100000,data=KIND,data-len=4
 *   -device loader,addr=0x20100004,data=ADDR,data-len=4
 *   -device loader,addr=0x20100008,data=BAUD,data-len=4   (optional)
 * They sit in the board's RAM outside the image, as DIP switches would. */
#define CFG_KIND 0x20100000u
#define CFG_ADDR 0x20100004u
#define CFG_BAUD 0x20100008u

#define QEMU_SILENCE_US 50000u
#define PANEL_REPEAT_MS 2000u /* QEMU drops output while the pty is closed */
#define PANEL_PRESS_MS 40u    /* a panel `key` holds the key this long */


/* Bus bytes queued by the RX interrupt with their arrival time. */
#define RXQ 256u
static struct {
    uint8_t byte[RXQ];
    uint8_t flags[RXQ];
    uint32_t t[RXQ];
    volatile uint32_t head, tail; /* head: written by the ISR */
    volatile uint8_t lost;
} rxq;

static volatile uint32_t rx_bytes; /* bus bytes received, for `stats` */

/* What survives a reset: the watchdog count. */
#define NOINIT_MAGIC 0x51554E54u
static __attribute__((section(".noinit"))) struct {
    uint32_t magic;
    uint32_t wdt_fired; /* NOINIT_MAGIC: the watchdog is about to reset us */
    uint16_t wdt_resets;
} keep;

static struct {
    char line[96];  /* panel input being collected */
    unsigned len;
    uint8_t keyq[16]; /* keys asked on the panel, pressed one at a time */
    unsigned kq_head, kq_len;
    uint32_t key_down; /* raw level of the key being pressed */
    uint32_t press_at; /* when key_down last changed */
    int seen;          /* the main loop saw key_down held for the debounce time */
    uint32_t last_show;
    int hang;
    uint32_t slow_ms; /* `slow MS`: every turn of the main loop takes this long (a test) */
} panel;

void systick_handler(void);
void uart0_rx_handler(void);
void uart1_rx_handler(void);
void nmi_handler(void);

/* Time from CMSDK timer 0, free-running down from 0xFFFFFFFF at SYSCLK;
 * its ticks are summed in 64 bits (it wraps every 171 s, and this runs at
 * least every 10 ms from SysTick). Interrupts are off while summing, so the
 * ISR and the main loop never step back in time. */
static uint64_t timer_ticks(void)
{
    static uint32_t last;
    static uint64_t ticks;
    uint32_t pm;
    __asm volatile("mrs %0, primask\n cpsid i" : "=r"(pm)::"memory");
    uint32_t v = REG(TIMER0 + T_VALUE);
    ticks += (uint32_t)(last - v);
    last = v;
    uint64_t t = ticks;
    __asm volatile("msr primask, %0" ::"r"(pm) : "memory");
    return t;
}

uint32_t hal_time_us(void)
{
    return (uint32_t)(timer_ticks() / (SYSCLK / 1000000u));
}

static uint32_t ms_now(void)
{
    return (uint32_t)(timer_ticks() / (SYSCLK / 1000u));
}

/* SysTick at 100 Hz only wakes the main loop (and keeps the timer sum
 * fresh): each wake-up costs the host CPU time under QEMU, and a bus byte
 * wakes the loop by its own interrupt. */
void systick_handler(void)
{
    (void)timer_ticks();
}


void uart1_rx_handler(void)
{
    /* Only wakes the main loop, which reads the byte; masked until then so
     * the pending byte does not call us again and again. */
    REG(UART1 + U_INT) = 2u;
    REG(NVIC_ICER0) = 1u << 2;
}

void uart0_rx_handler(void)
{
    /* Clear first, then read: a byte that lands after the clear raises the
     * interrupt again. (Clearing after the reads lost that byte's interrupt,
     * and with it the line: the UART stayed full and QEMU sent no more.) */
    REG(UART0 + U_INT) = 2u;
    uint32_t t = hal_time_us();
    while (REG(UART0 + U_STATE) & 2u) {
        uint8_t flags = 0;
        if (REG(UART0 + U_STATE) & 8u) {
            REG(UART0 + U_STATE) = 8u;
            flags |= HAL_RX_OVERRUN;
        }
        uint8_t b = (uint8_t)REG(UART0 + U_DATA);
        uint32_t h = rxq.head;
        if (h - rxq.tail >= RXQ) {
            rxq.lost = 1;
            continue;
        }
        if (rxq.lost) {
            flags |= HAL_RX_OVERRUN;
            rxq.lost = 0;
        }
        rxq.byte[h % RXQ] = b;
        rxq.flags[h % RXQ] = flags;
        rxq.t[h % RXQ] = t;
        rxq.head = h + 1;
        rx_bytes++;
    }
}

int hal_bus_read(uint8_t *byte, uint32_t *t_us, uint8_t *flags)
{
    uint32_t tl = rxq.tail;
    if (tl == rxq.head && (REG(UART0 + U_STATE) & 2u)) {
        /* a byte waits with no interrupt pending: never leave it there */
        uint32_t pm;
        __asm volatile("mrs %0, primask\n cpsid i" : "=r"(pm)::"memory");
        uart0_rx_handler();
        __asm volatile("msr primask, %0" ::"r"(pm) : "memory");
    }
    if (tl == rxq.head)
        return 0;
    *byte = rxq.byte[tl % RXQ];
    *flags = rxq.flags[tl % RXQ];
    *t_us = rxq.t[tl % RXQ];
    rxq.tail = tl + 1;
    return 1;
}

static void uart_putc(uint32_t base, uint8_t c)
{
    uint32_t t0 = ms_now();
    while (REG(base + U_STATE) & 1u)
        if (ms_now() - t0 > 5u)
            return; /* nobody listens: drop, never hang */
    REG(base + U_DATA) = c;
}

void hal_bus_write(const uint8_t *p, size_t n)
{
    /* On a real line the DE pin goes high here; QEMU's UART needs none. */
    for (size_t i = 0; i < n; i++)
        uart_putc(UART0, p[i]);
}

static void panel_puts(const char *s)
{
    while (*s)
        uart_putc(UART1, (uint8_t)*s++);
}

static void panel_putu(uint32_t v)
{
    char b[12];
    int i = 11;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    panel_puts(b + i);
}

static const char *kind_name(uint8_t k)
{
    switch (k) {
    case QMS_KIND_COUNTER: return "counter";
    case QMS_KIND_LEDBOARD: return "board";
    case QMS_KIND_RATING: return "rating";
    case QMS_KIND_HALL: return "hall";
    }
    return "?";
}

static void hello(void)
{
    panel_puts("hello kind=");
    panel_puts(kind_name(fw.unit.kind));
    panel_puts(" addr=");
    panel_putu(fw.unit.addr);
    panel_puts(" baud=");
    panel_putu(fw.baud);
    panel_puts(" fw=");
    panel_putu(QMS_FW_VERSION_MAJOR);
    panel_puts(".");
    panel_putu(QMS_FW_VERSION_MINOR);
    panel_puts(" wdt_resets=");
    panel_putu(fw.unit.wdt_resets);
    panel_puts("\n");
}

void hal_init(void)
{
    REG(TIMER0 + T_RELOAD) = 0xFFFFFFFFu;
    REG(TIMER0 + T_VALUE) = 0xFFFFFFFFu;
    REG(TIMER0 + T_CTRL) = 1u;
    (void)hal_time_us();
    REG(SYST_RVR) = SYSCLK / 100u - 1u; /* 100 Hz */
    REG(SYST_CVR) = 0;
    REG(SYST_CSR) = 7u; /* processor clock, interrupt, enable */
    REG(SCB_SHPR3) = (REG(SCB_SHPR3) & 0x00FFFFFFu); /* SysTick: top priority */
    REG(NVIC_IPR0) = (REG(NVIC_IPR0) & ~0xFFu) | 0x80u; /* UART0 RX below it */

    REG(UART0 + U_BAUDDIV) = SYSCLK / QMS_BUS_BAUD_DEFAULT;
    REG(UART0 + U_CTRL) = 1u | 2u | 8u; /* tx, rx, rx interrupt */
    REG(UART1 + U_BAUDDIV) = SYSCLK / 115200u;
    REG(UART1 + U_CTRL) = 1u | 2u | 8u;
    REG(NVIC_ISER0) = (1u << 0) | (1u << 2); /* UART0 RX, UART1 RX (a wake-up) */

    if (keep.magic != NOINIT_MAGIC) { /* power-on: RAM holds garbage */
        keep.magic = NOINIT_MAGIC;
        keep.wdt_resets = 0;
    } else if (keep.wdt_fired == NOINIT_MAGIC) {
        keep.wdt_resets++;
    }
    keep.wdt_fired = 0;
}

void hal_config(struct fw_config *out)
{
    uint32_t kind = REG(CFG_KIND), addr = REG(CFG_ADDR), baud = REG(CFG_BAUD);
    out->kind = (uint8_t)(kind >= QMS_KIND_COUNTER && kind <= QMS_KIND_HALL ? kind
                                                                            : QMS_KIND_COUNTER);
    out->addr = (uint8_t)(addr >= QMS_BUS_ADDR_MIN && addr <= QMS_BUS_ADDR_MAX ? addr : 1u);
    out->baud = baud == 115200u ? 115200u : QMS_BUS_BAUD_DEFAULT;
    out->wdt_resets = keep.wdt_resets;
    /* QEMU hands the UART one byte per turn of its main loop, with gaps of
     * a few ms (2.1 ms measured on an idle host, over 20 ms on one with a
     * load of 20): a frame is ended by its length and CRC (mb_rtu.h) or by
     * this longer silence. */
    out->silence_us = QEMU_SILENCE_US;
    REG(UART0 + U_BAUDDIV) = SYSCLK / out->baud;
}

void nmi_handler(void)
{
    /* The watchdog's first expiry: note it, and wait for the reset. */
    keep.wdt_fired = NOINIT_MAGIC;
    for (;;) {
    }
}

void hal_wdt_start(uint32_t timeout_ms)
{
    REG(WDOG + WD_LOCK) = WD_UNLOCK_KEY;
    REG(WDOG + WD_LOAD) = (SYSCLK / 1000u) * (timeout_ms / 2u); /* two expiries */
    REG(WDOG + WD_CTRL) = 3u;
    REG(WDOG + WD_LOCK) = 0;
}

void hal_wdt_kick(void)
{
    if (panel.hang)
        return;
    REG(WDOG + WD_LOCK) = WD_UNLOCK_KEY;
    REG(WDOG + WD_INTCLR) = 1u;
    REG(WDOG + WD_LOCK) = 0;
}

/* A panel key is down, then up, each for PANEL_PRESS_MS -- and each until
 * the main loop has seen it held for the debounce time (a call at least
 * FW_DEBOUNCE_MS + 2 after the change; 2 ms for the core's clock, counted
 * apart). A loop that came late (QEMU descheduled on a loaded host while
 * its clock runs on) would otherwise see the key down once and up at its
 * next turn, a press too short to count: lost. */
uint32_t hal_keys(void)
{
    uint32_t now = ms_now();
    if (panel.seen && now - panel.press_at >= PANEL_PRESS_MS) {
        if (panel.key_down) {
            panel.key_down = 0; /* released; the next waits as long */
            panel.press_at = now;
            panel.seen = 0;
        } else if (panel.kq_len) {
            panel.key_down = 1u << panel.keyq[panel.kq_head];
            panel.kq_head = (panel.kq_head + 1u) % 16u;
            panel.kq_len--;
            panel.press_at = now;
            panel.seen = 0;
        }
    }
    if (!panel.seen && now - panel.press_at >= FW_DEBOUNCE_MS + 2u)
        panel.seen = 1; /* this call's level holds long enough for the core */
    return panel.key_down;
}

void hal_display(const struct fw_view *v)
{
    panel_puts("display ");
    panel_puts(v->text);
    panel_puts("\n");
    panel.last_show = ms_now();
}

static void frame(void)
{
    char row[FW_HALL_W + 1];
    panel_puts("frame ");
    panel_putu(FW_HALL_W);
    panel_puts("x");
    panel_putu(FW_HALL_H);
    panel_puts("\n");
    for (unsigned y = 0; y < FW_HALL_H; y++) {
        fw_hall_row_text(&fw.unit, y, row);
        panel_puts(row);
        panel_puts("\n");
        hal_wdt_kick();
    }
    panel_puts("end\n");
}

static void command(const char *s, unsigned n)
{
    if (n > 4 && memcmp(s, "key ", 4) == 0) {
        int k = fw_key_by_name(s + 4, n - 4);
        if (k < 0 || panel.kq_len == 16u) {
            panel_puts("error key\n");
            return;
        }
        panel.keyq[(panel.kq_head + panel.kq_len) % 16u] = (uint8_t)k;
        panel.kq_len++;
        return; /* the display line comes when the press changed something */
    }
    if (n == 5 && memcmp(s, "frame", 5) == 0) {
        frame();
    } else if (n == 5 && memcmp(s, "stats", 5) == 0) {
        panel_puts("stats rx_bytes=");
        panel_putu(rx_bytes);
        panel_puts(" served=");
        panel_putu(fw.unit.stats.served);
        panel_puts(" crc=");
        panel_putu(fw.unit.stats.crc);
        panel_puts(" overrun=");
        panel_putu(fw.unit.stats.overrun);
        panel_puts(" rx_len=");
        panel_putu(fw.rx.len);
        panel_puts("\n");
    } else if (n == 4 && memcmp(s, "hang", 4) == 0) {
        panel_puts("hanging\n");
        panel.hang = 1; /* stop kicking the watchdog: a test of its policy */
    } else if (n > 5 && memcmp(s, "slow ", 5) == 0) {
        /* a late main loop, as when QEMU is descheduled on a loaded host
         * (the virtual clock runs on) or a port's loop is busy: each turn
         * takes MS (0..500; the watchdog is kicked in between) */
        uint32_t v = 0;
        for (unsigned i = 5; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            v = v * 10u + (uint32_t)(s[i] - '0');
        panel.slow_ms = v > 500u ? 500u : v;
        panel_puts("slow ");
        panel_putu(panel.slow_ms);
        panel_puts("\n");
    } else if (n == 5 && memcmp(s, "hello", 5) == 0) {
        hello();
    } else if (n == 4 && memcmp(s, "show", 4) == 0) {
        /* falls through to the repeat below */
    } else if (n > 0) {
        panel_puts("error unknown command\n");
    }
    hal_display(&fw.view);
}

void hal_panel_poll(const struct fw_view *v)
{
    static int said_hello;
    if (!said_hello) {
        said_hello = 1;
        hello();
    }
    while (REG(UART1 + U_STATE) & 2u) {
        char c = (char)REG(UART1 + U_DATA);
        if (c == '\r')
            continue;
        if (c == '\n') {
            command(panel.line, panel.len);
            panel.len = 0;
        } else if (panel.len < sizeof panel.line) {
            panel.line[panel.len++] = c;
        }
    }
    REG(NVIC_ISER0) = 1u << 2; /* wake on the next panel byte */
    if (ms_now() - panel.last_show >= PANEL_REPEAT_MS)
        hal_display(v);
}

int main(void)
{
    fw_init();
    for (;;) {
        fw_task();
        while (panel.hang) { /* stuck on purpose; interrupts still run */
        }
        if (panel.slow_ms) {
            uint32_t t0 = ms_now();
            while (ms_now() - t0 < panel.slow_ms) {
            }
        }
        /* Sleep until an interrupt: a bus byte, a panel byte, or the next
         * millisecond. A busy loop would cost a host core per QEMU unit. */
        __asm volatile("wfi");
    }
}
