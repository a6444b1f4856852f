#include "keys.h"

#include <string.h>

static const char *const names[FW_KEY_COUNT] = {
    "next", "recall", "skip", "start", "done", "transfer", "pause", "resume",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "ok", "clear", "rate1", "rate2", "rate3", "rate4", "rate5",
};

const char *fw_key_name(int key)
{
    return key >= 0 && key < FW_KEY_COUNT ? names[key] : NULL;
}

int fw_key_by_name(const char *s, unsigned n)
{
    for (int k = 0; k < FW_KEY_COUNT; k++)
        if (strlen(names[k]) == n && memcmp(names[k], s, n) == 0)
            return k;
    return -1;
}

void fw_debounce_init(struct fw_debounce *d)
{
    memset(d, 0, sizeof *d);
}

uint32_t fw_debounce(struct fw_debounce *d, uint32_t raw, uint32_t now_ms)
{
    uint32_t pressed = 0;
    uint32_t changed = raw ^ d->last_raw;
    d->last_raw = raw;
    for (int k = 0; k < FW_KEY_COUNT; k++) {
        uint32_t bit = 1u << k;
        if (changed & bit) {
            d->since_ms[k] = now_ms; /* bouncing: start the wait again */
            continue;
        }
        if ((raw ^ d->stable) & bit && now_ms - d->since_ms[k] >= FW_DEBOUNCE_MS) {
            d->stable ^= bit;
            if (raw & bit)
                pressed |= bit;
        }
    }
    return pressed;
}
