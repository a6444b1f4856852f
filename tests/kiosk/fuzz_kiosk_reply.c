/* Fuzz what the kiosk reads from the broker: take replies and device status. */
#include "kiosk_net.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiosk_take_reply r;
    if (kiosk_take_reply_parse((const char *)data, size, &r) == 0) {
        /* strings are terminated and a ticket always has a number */
        if (memchr(r.ticket, 0, sizeof r.ticket) == NULL ||
            memchr(r.name_vi, 0, sizeof r.name_vi) == NULL || (r.err == 0 && !r.ticket[0]))
            __builtin_trap();
        char url[128];
        kiosk_qr_url("http://x/{site}/{day}/{ticket}/{id}", "s", &r, url, sizeof url);
    }
    (void)kiosk_status_online((const char *)data, size);
    return 0;
}
