#include "qms/config.h"

#include <stdint.h>
#include <string.h>

/* Input: services.csv text, a NUL byte, counters.csv text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t slen = nul ? (size_t)(nul - s) : size;
    const char *k = nul ? nul + 1 : "";
    size_t klen = nul ? size - slen - 1 : 0;
    qms_config *c = NULL;
    char err[256];
    if (qms_config_parse_csv(s, slen, k, klen, &c, err, sizeof err) == 0)
        qms_config_free(c);
    return 0;
}
