/* Cortex-M3 start for the STM32F103 port: vector table, .data/.bss set-up. */
#include <stdint.h>
#include <string.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void reset_handler(void);
void default_handler(void);
void systick_handler(void);
void usart1_handler(void);

void default_handler(void)
{
    for (;;) { /* the IWDG resets us */
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

/* 16 core vectors + 60 STM32F103 interrupts; USART1 is IRQ 37. */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16 + 60])(void) = {
    (void (*)(void))(&_estack),
    reset_handler,
    [2 ... 6] = default_handler, /* NMI, faults */
    [11 ... 12] = default_handler, /* SVC, DebugMon */
    [14] = default_handler,        /* PendSV */
    [15] = systick_handler,
    [16 ... 16 + 36] = default_handler,
    [16 + 37] = usart1_handler, /* IRQ 37 */
    [16 + 38 ... 75] = default_handler,
};
