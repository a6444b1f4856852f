/* Keys: the raw levels a port reads (bit per key), debounced here. */
#ifndef QMS_FW_KEYS_H
#define QMS_FW_KEYS_H
#include <stdint.h>

/* Bit positions in hal_keys(). */
enum fw_key {
    FW_KEY_NEXT = 0, FW_KEY_RECALL, FW_KEY_SKIP, FW_KEY_START, FW_KEY_DONE,
    FW_KEY_TRANSFER, FW_KEY_PAUSE, FW_KEY_RESUME,
    FW_KEY_D0, /* digits 0..9: FW_KEY_D0 + d */
    FW_KEY_OK = FW_KEY_D0 + 10, FW_KEY_CLEAR,
    FW_KEY_RATE1, /* rate1..rate5: FW_KEY_RATE1 + level - 1 */
    FW_KEY_COUNT = FW_KEY_RATE1 + 5
};

#define FW_DEBOUNCE_MS 20u /* a level must hold this long to count */

struct fw_debounce {
    uint32_t stable;                 /* debounced levels */
    uint32_t last_raw;               /* the raw levels last sampled */
    uint32_t since_ms[FW_KEY_COUNT]; /* when each key's raw level last changed */
};

/* The key's panel name ("next", "0", "rate3"), or NULL. */
const char *fw_key_name(int key);
/* The key named by s[0..n), or -1. */
int fw_key_by_name(const char *s, unsigned n);

void fw_debounce_init(struct fw_debounce *d);
/* Samples the raw levels at now_ms; returns the keys that became pressed
 * (a bit per key) — a press counts once, when it has held FW_DEBOUNCE_MS. */
uint32_t fw_debounce(struct fw_debounce *d, uint32_t raw, uint32_t now_ms);

#endif
