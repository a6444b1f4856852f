/* STM32F103C8 port (a "blue pill" class board). It builds and its size is
 * reported, but it cannot run here: nothing in this repository emulates an
 * STM32F103 (docs/firmware.md). Registers from the RM0008 reference manual.
 *
 * Pins:
 *   USART1 PA9 TX, PA10 RX -> RS-485 driver (MAX3485 or similar), DE+/RE on PA8
 *   keypad 5x5: rows PA0..PA4 (open-drain, driven low one at a time),
 *               columns PA5, PA6, PA7, PA11, PA12 (inputs, pull-up)
 *   MAX7219 (8 x 7-segment): SPI2 PB13 SCK, PB15 MOSI, PB12 LOAD/CS
 *   DIP switches to ground (pull-up): address PB0, PB1, PB3..PB8 (bit 0..7),
 *               kind PB9, PB10 (00 counter, 01 board, 10 rating, 11 hall),
 *               PB11 on = 115200 baud
 *   PC13: the rating keys' light (on while a rating is asked)
 * Clock: the 8 MHz HSI, no PLL (plenty for a Modbus unit; no crystal needed).
 * The hall board kind runs (registers, frame in RAM) but this port has no
 * P10/HUB12 output yet. */
#include <stdint.h>
#include <string.h>

#include "fw.h"
#include "regs.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define HCLK 8000000u

#define RCC 0x40021000u
#define RCC_APB2ENR (RCC + 0x18u)
#define RCC_APB1ENR (RCC + 0x1Cu)
#define RCC_CSR (RCC + 0x24u)
#define GPIOA 0x40010800u
#define GPIOB 0x40010C00u
#define GPIOC 0x40011000u
#define GPIO_CRL 0x00u
#define GPIO_CRH 0x04u
#define GPIO_IDR 0x08u
#define GPIO_ODR 0x0Cu
#define GPIO_BSRR 0x10u
#define AFIO_MAPR 0x40010004u
#define USART1 0x40013800u
#define US_SR 0x00u
#define US_DR 0x04u
#define US_BRR 0x08u
#define US_CR1 0x0Cu
#define SPI2 0x40003800u
#define SPI_CR1 0x00u
#define SPI_SR 0x08u
#define SPI_DR 0x0Cu
#define IWDG 0x40003000u
#define IWDG_KR 0x00u
#define IWDG_PR 0x04u
#define IWDG_RLR 0x08u
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define NVIC_ISER1 0xE000E104u
#define DEMCR 0xE000EDFCu
#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u

#define RXQ 256u
static struct {
    uint8_t byte[RXQ];
    uint8_t flags[RXQ];
    uint32_t t[RXQ];
    volatile uint32_t head, tail;
} rxq;

#define NOINIT_MAGIC 0x51554E54u
static __attribute__((section(".noinit"))) struct {
    uint32_t magic;
    uint16_t wdt_resets;
} keep;

void systick_handler(void);
void usart1_handler(void);

/* Microseconds from the DWT cycle counter, summed in 64 bits. */
static uint64_t cycles(void)
{
    static uint32_t last;
    static uint64_t sum;
    uint32_t pm;
    __asm volatile("mrs %0, primask\n cpsid i" : "=r"(pm)::"memory");
    uint32_t c = REG(DWT_CYCCNT);
    sum += (uint32_t)(c - last);
    last = c;
    uint64_t s = sum;
    __asm volatile("msr primask, %0" ::"r"(pm) : "memory");
    return s;
}

uint32_t hal_time_us(void)
{
    return (uint32_t)(cycles() / (HCLK / 1000000u));
}

void systick_handler(void)
{
    (void)cycles(); /* keeps the sum fresh (CYCCNT wraps every 537 s) */
}

/* Sets the 4-bit mode of pin n of a port. */
static void pin_mode(uint32_t port, unsigned n, uint32_t mode)
{
    uint32_t reg = port + (n < 8 ? GPIO_CRL : GPIO_CRH), sh = (n % 8) * 4u;
    REG(reg) = (REG(reg) & ~(0xFu << sh)) | (mode << sh);
}
#define IN_PULL 0x8u    /* input with pull-up/down (ODR picks up) */
#define OUT_PP 0x2u     /* push-pull 2 MHz */
#define OUT_OD 0x6u     /* open-drain 2 MHz */
#define AF_PP 0xBu      /* alternate push-pull 50 MHz */
#define IN_FLOAT 0x4u

static const uint8_t key_cols[5] = {5, 6, 7, 11, 12};

static void max7219(uint8_t reg, uint8_t v)
{
    REG(GPIOB + GPIO_BSRR) = 1u << (12 + 16); /* CS low */
    REG(SPI2 + SPI_DR) = (uint32_t)(reg << 8 | v);
    while (!(REG(SPI2 + SPI_SR) & 2u)) { /* TXE */
    }
    while (REG(SPI2 + SPI_SR) & 0x80u) { /* BSY */
    }
    REG(GPIOB + GPIO_BSRR) = 1u << 12; /* CS high: latch */
}

void hal_init(void)
{
    REG(RCC_APB2ENR) |= (1u << 0) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 14);
    REG(RCC_APB1ENR) |= 1u << 14; /* SPI2 */
    REG(AFIO_MAPR) = (REG(AFIO_MAPR) & ~(7u << 24)) | (2u << 24); /* SWD only: PB3/PB4 free */

    REG(DEMCR) |= 1u << 24;
    REG(DWT_CTRL) |= 1u;
    REG(SYST_RVR) = HCLK / 100u - 1u; /* 100 Hz */
    REG(SYST_CSR) = 7u;

    /* RS-485: PA9 TX alternate, PA10 RX input, PA8 DE low (receive) */
    pin_mode(GPIOA, 9, AF_PP);
    pin_mode(GPIOA, 10, IN_FLOAT);
    pin_mode(GPIOA, 8, OUT_PP);
    REG(GPIOA + GPIO_BSRR) = 1u << (8 + 16);
    /* keypad */
    for (unsigned r = 0; r < 5; r++) {
        pin_mode(GPIOA, r, OUT_OD);
        REG(GPIOA + GPIO_BSRR) = 1u << r; /* released (high-Z) */
    }
    for (unsigned c = 0; c < 5; c++) {
        pin_mode(GPIOA, key_cols[c], IN_PULL);
        REG(GPIOA + GPIO_BSRR) = 1u << key_cols[c]; /* pull-up */
    }
    /* DIP switches */
    static const uint8_t dip[] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    for (unsigned i = 0; i < sizeof dip; i++) {
        pin_mode(GPIOB, dip[i], IN_PULL);
        REG(GPIOB + GPIO_BSRR) = 1u << dip[i];
    }
    /* MAX7219 on SPI2, 16-bit frames, master, /8 */
    pin_mode(GPIOB, 13, AF_PP);
    pin_mode(GPIOB, 15, AF_PP);
    pin_mode(GPIOB, 12, OUT_PP);
    REG(GPIOB + GPIO_BSRR) = 1u << 12;
    REG(SPI2 + SPI_CR1) = (1u << 11) | (1u << 9) | (1u << 8) | (2u << 3) | (1u << 2) | (1u << 6);
    max7219(0x0F, 0);    /* no test mode */
    max7219(0x09, 0);    /* no BCD decode: our own segments */
    max7219(0x0A, 8);    /* intensity */
    max7219(0x0B, 7);    /* 8 digits */
    max7219(0x0C, 1);    /* on */
    /* the rating light */
    pin_mode(GPIOC, 13, OUT_PP);

    if (keep.magic != NOINIT_MAGIC) {
        keep.magic = NOINIT_MAGIC;
        keep.wdt_resets = 0;
    }
    if (REG(RCC_CSR) & (1u << 29)) /* IWDGRSTF */
        keep.wdt_resets++;
    REG(RCC_CSR) |= 1u << 24; /* clear the reset flags */
}

void hal_config(struct fw_config *out)
{
    uint32_t b = ~REG(GPIOB + GPIO_IDR); /* switches pull to ground */
    uint32_t addr = (b & 3u) | ((b >> 1) & 0xFCu);
    out->addr = (uint8_t)(addr >= 1 && addr <= 247 ? addr : 247);
    out->kind = (uint8_t)(QMS_KIND_COUNTER + ((b >> 9) & 3u));
    out->baud = (b >> 11) & 1u ? 115200u : QMS_BUS_BAUD_DEFAULT;
    out->wdt_resets = keep.wdt_resets;
    out->silence_us = 0; /* the spec's 3.5 characters */
    /* 8 data bits + even parity = a 9-bit word */
    REG(USART1 + US_BRR) = (HCLK + out->baud / 2) / out->baud;
    REG(USART1 + US_CR1) = (1u << 13) | (1u << 12) | (1u << 10) | (1u << 5) | (1u << 3) | (1u << 2);
    REG(NVIC_ISER1) = 1u << (37 - 32);
}

void usart1_handler(void)
{
    uint32_t sr = REG(USART1 + US_SR);
    if (!(sr & (1u << 5)) && !(sr & (1u << 3)))
        return;
    uint8_t b = (uint8_t)REG(USART1 + US_DR); /* reading SR then DR clears the errors */
    uint8_t flags = 0;
    if (sr & 7u) /* PE, FE, NE */
        flags |= HAL_RX_FRAMING;
    if (sr & (1u << 3))
        flags |= HAL_RX_OVERRUN;
    uint32_t h = rxq.head;
    if (h - rxq.tail >= RXQ)
        return;
    rxq.byte[h % RXQ] = b;
    rxq.flags[h % RXQ] = flags;
    rxq.t[h % RXQ] = hal_time_us();
    rxq.head = h + 1;
}

int hal_bus_read(uint8_t *byte, uint32_t *t_us, uint8_t *flags)
{
    uint32_t tl = rxq.tail;
    if (tl == rxq.head)
        return 0;
    *byte = rxq.byte[tl % RXQ];
    *flags = rxq.flags[tl % RXQ];
    *t_us = rxq.t[tl % RXQ];
    rxq.tail = tl + 1;
    return 1;
}

void hal_bus_write(const uint8_t *p, size_t n)
{
    REG(GPIOA + GPIO_BSRR) = 1u << 8; /* DE: drive the line */
    for (size_t i = 0; i < n; i++) {
        while (!(REG(USART1 + US_SR) & (1u << 7))) { /* TXE */
        }
        REG(USART1 + US_DR) = p[i];
    }
    while (!(REG(USART1 + US_SR) & (1u << 6))) { /* TC: the last stop bit is out */
    }
    REG(GPIOA + GPIO_BSRR) = 1u << (8 + 16); /* DE low: listen */
}

/* Keypad matrix: key k is row k / 5, column k % 5 (FW_KEY_* order). */
uint32_t hal_keys(void)
{
    uint32_t down = 0;
    for (unsigned r = 0; r < 5; r++) {
        REG(GPIOA + GPIO_BSRR) = 1u << (r + 16); /* row low */
        for (volatile int d = 0; d < 20; d++) {   /* settle */
        }
        uint32_t in = REG(GPIOA + GPIO_IDR);
        for (unsigned c = 0; c < 5; c++)
            if (!(in & (1u << key_cols[c])))
                down |= 1u << (r * 5 + c);
        REG(GPIOA + GPIO_BSRR) = 1u << r;
    }
    return down;
}

/* 7-segment patterns (MAX7219 no-decode: DP A B C D E F G). */
static uint8_t segments(char c)
{
    static const uint8_t digit[10] = {0x7E, 0x30, 0x6D, 0x79, 0x33, 0x5B, 0x5F, 0x70, 0x7F, 0x7B};
    if (c >= '0' && c <= '9')
        return digit[c - '0'];
    switch (c) {
    case 'A': return 0x77;
    case 'B': return 0x1F;
    case 'C': return 0x4E;
    case 'D': return 0x3D;
    case 'E': return 0x4F;
    case 'F': return 0x47;
    case 'H': return 0x37;
    case 'L': return 0x0E;
    case 'P': return 0x67;
    case 'U': return 0x3E;
    case '-': return 0x01;
    }
    return 0;
}

void hal_display(const struct fw_view *v)
{
    /* digits 8..5: the ticket (line 0); digits 4..1: the typed number */
    char shown[8];
    memset(shown, ' ', sizeof shown);
    for (unsigned i = 0; i < 4 && v->line0[i]; i++)
        shown[i] = v->line0[i];
    const char *typed = strstr(v->text, "> ");
    for (unsigned i = 0; typed && i < 4 && typed[2 + i]; i++)
        shown[4 + i] = typed[2 + i];
    for (unsigned d = 0; d < 8; d++)
        max7219((uint8_t)(8 - d), v->blink_on ? segments(shown[d]) : 0);
    REG(GPIOC + GPIO_BSRR) = v->rating_levels ? 1u << (13 + 16) : 1u << 13; /* PC13 low = lit */
}

void hal_panel_poll(const struct fw_view *v)
{
    static uint8_t was_on = 1;
    if (v->blink_on != was_on) { /* blinking: redraw on each half */
        was_on = v->blink_on;
        hal_display(v);
    }
}

void hal_wdt_start(uint32_t timeout_ms)
{
    REG(IWDG + IWDG_KR) = 0x5555u; /* unlock PR, RLR */
    REG(IWDG + IWDG_PR) = 4u;      /* 40 kHz / 64 = 625 Hz */
    REG(IWDG + IWDG_RLR) = timeout_ms * 625u / 1000u;
    REG(IWDG + IWDG_KR) = 0xCCCCu; /* start */
}

void hal_wdt_kick(void)
{
    REG(IWDG + IWDG_KR) = 0xAAAAu;
}

int main(void)
{
    fw_init();
    for (;;) {
        fw_task();
        __asm volatile("wfi"); /* a bus byte or the 100 Hz tick wakes us */
    }
}
