/* Fuzz target of the trace reader (qms-sim --trace). */
#include "replay.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qms_trace t;
    char err[256];
    if (qms_trace_parse((const char *)data, size, &t, err, sizeof err) == 0) {
        /* what was accepted is within the documented ranges */
        for (int i = 0; i < t.n; i++)
            if (t.rows[i].priority < 0 || t.rows[i].priority > 2 || t.rows[i].no_show > 1 ||
                t.rows[i].arrive_s < 0 || t.rows[i].service_s < 0 || !t.rows[i].service[0])
                __builtin_trap();
        qms_trace_free(&t);
    } else if (t.rows || t.n) {
        __builtin_trap(); /* a refused trace leaves nothing behind */
    }
    return 0;
}
