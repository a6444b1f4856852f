/* Fuzz the kiosk's test-script parser: no crash, and what parses is sane. */
#include "kiosk_script.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiosk_script s;
    char err[256];
    if (kiosk_script_parse((const char *)data, size, &s, err, sizeof err) == 0) {
        for (int i = 0; i < s.n; i++) {
            const kiosk_script_cmd *c = &s.cmds[i];
            /* names never leave their folder, numbers are in range */
            if (strchr(c->arg, '/') || c->arg[0] == '.' || c->ms < 0 || c->x < 0 || c->y < 0 ||
                c->line < 1)
                __builtin_trap();
        }
        kiosk_script_free(&s);
    } else if (!err[0]) {
        __builtin_trap(); /* a refusal always says why */
    }
    return 0;
}
