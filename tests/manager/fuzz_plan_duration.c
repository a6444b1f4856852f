/* Fuzz target: qms-plan's --target duration parser. Whatever the bytes, it
 * reads no further than the string, and what it accepts is 1..86400 s and
 * reads back the same written as plain seconds and as h/m/s. */
#include "plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    int32_t v = -1;
    if (qms_plan_parse_duration(s, &v) == 0) {
        if (v < 1 || v > 86400)
            abort();
        char again[32];
        int32_t w = -1;
        snprintf(again, sizeof again, "%d", (int)v);
        if (qms_plan_parse_duration(again, &w) != 0 || w != v)
            abort();
        snprintf(again, sizeof again, "%dh%dm%ds", (int)(v / 3600), (int)(v / 60 % 60),
                 (int)(v % 60));
        if (qms_plan_parse_duration(again, &w) != 0 || w != v)
            abort();
    }
    free(s);
    return 0;
}
