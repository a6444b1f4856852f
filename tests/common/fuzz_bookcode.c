#include "qms/bookcode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Input: any bytes, read as a typed or scanned booking code. A code that
 * parses must normalize to itself, format and parse back the same. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char code[9], again[9], shown[10];
    if (qms_bookcode_parse(s, code)) {
        if (strlen(code) != 8)
            abort();
        qms_bookcode_format(code, shown);
        if (!qms_bookcode_parse(shown, again) || strcmp(code, again) != 0)
            abort();
    }
    free(s);
    return 0;
}
