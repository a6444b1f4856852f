/* Cortex-M3 start for the mps2-an385 port: vector table, .data/.bss set-up. */
#include <stdint.h>
#include <string.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void reset_handler(void);
void default_handler(void);
void nmi_handler(void);
void hardfault_handler(void);
void systick_handler(void);
void uart0_rx_handler(void);
void uart1_rx_handler(void);

void default_handler(void)
{
    for (;;) { /* the watchdog resets us */
    }
}

void hardfault_handler(void)
{
    for (;;) { /* the watchdog resets us */
    }
}

void reset_handler(void)
{
    memcpy(&_sdata, &_sidata, (size_t)((char *)&_edata - (char *)&_sdata));
    memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
    main();
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16 + 32])(void) = {
    (void (*)(void))(&_estack),
    reset_handler,
    nmi_handler,
    hardfault_handler,
    default_handler, /* MemManage */
    default_handler, /* BusFault */
    default_handler, /* UsageFault */
    0, 0, 0, 0,
    default_handler, /* SVC */
    default_handler, /* DebugMon */
    0,
    default_handler,  /* PendSV */
    systick_handler,
    uart0_rx_handler, /* IRQ 0: UART0 RX */
    default_handler,  /* IRQ 1: UART0 TX */
    uart1_rx_handler, /* IRQ 2: UART1 RX */
    [19 ... 47] = default_handler,
};
