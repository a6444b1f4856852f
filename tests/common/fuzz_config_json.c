#include "qms/alloc.h"
#include "qms/config.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qms_config *c = NULL;
    char err[256];
    if (qms_config_parse_json((const char *)data, size, &c, err, sizeof err) == 0) {
        /* a config that parses must serialize and parse again to the same thing */
        char *js = qms_config_to_json(c);
        if (js) {
            qms_config *c2 = NULL;
            if (qms_config_parse_json(js, strlen(js), &c2, err, sizeof err) != 0)
                __builtin_trap();
            char *js2 = qms_config_to_json(c2);
            if (!js2 || strcmp(js, js2) != 0)
                __builtin_trap();
            qms_free(js2);
            qms_config_free(c2);
            qms_free(js);
        }
        qms_config_free(c);
    }
    return 0;
}
