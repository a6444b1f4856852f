/* Fuzz the kiosk settings parser: no crash; accepted settings pass the check. */
#include "kiosk_config.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiosk_config c;
    char err[256];
    kiosk_config_defaults(&c);
    if (kiosk_config_parse((const char *)data, size, &c, err, sizeof err) == 0 &&
        kiosk_config_check(&c, err, sizeof err) != 0)
        __builtin_trap();
    return 0;
}
