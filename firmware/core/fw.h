/* The firmware's main task: what every port's main() runs. */
#ifndef QMS_FW_FW_H
#define QMS_FW_FW_H
#include "keys.h"
#include "unit.h"

#define FW_WDT_TIMEOUT_MS 1000u /* the watchdog's period */
#define FW_WDT_KICK_MS 50u      /* kicked at most this often */

/* The one firmware state. */
struct fw_state {
    struct fw_unit unit;
    struct mb_rx rx;
    struct fw_debounce keys;
    struct fw_view view;
    uint8_t reply[MB_ADU_MAX];
    uint32_t last_us;     /* hal_time_us() at the last step */
    uint32_t us_acc;      /* microseconds not yet counted in now_ms */
    uint32_t now_ms;      /* milliseconds since start */
    uint32_t last_kick_ms;
    uint32_t baud;
};

extern struct fw_state fw;

void fw_init(void); /* hal_init, configuration, watchdog start */
void fw_task(void); /* one turn of the main loop; never blocks */

#endif
