#include "qms/cccd.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char n[13];
    if (qms_cccd_parse((const char *)data, size, n)) {
        /* what comes out is exactly 12 digits, the line's first field */
        if (!qms_cccd_number_valid(n) || size < 12 || memcmp(data, n, 12) != 0)
            __builtin_trap();
    } else if (n[0]) {
        __builtin_trap();
    }
    return 0;
}
