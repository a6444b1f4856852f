/* Fuzz target for the alerts' input from the LAN (controller/alerts.c): a
 * device status message. Byte 0 splits the rest into a device id (the
 * topic's part a client chooses) and the payload. Properties: no crash, no
 * leak; the derived set is valid JSON whatever came in, and every alert's
 * messages are valid UTF-8 JSON strings (cJSON parses the set back). */
#include "alerts.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static qms_config *cfg;
    static qms_vclock clk;
    static qms_engine *eng;
    if (!cfg) {
        const char *js = "{\"name_vi\":\"T\",\"hours\":[[\"00:00\",\"24:00\"]],"
                         "\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"A\"}],"
                         "\"counters\":[{\"id\":1,\"services\":[\"A\"]}]}";
        char err[128];
        if (qms_config_parse_json(js, strlen(js), &cfg, err, sizeof err))
            __builtin_trap();
        qms_vclock_init(&clk, 1764140000000);
        if (qms_engine_new(cfg, &clk.clock, &eng))
            __builtin_trap();
    }
    if (size < 1)
        return 0;
    size_t split = data[0] % 80;
    if (split > size - 1)
        split = size - 1;
    char id[96];
    size_t n = split < sizeof id - 1 ? split : sizeof id - 1;
    memcpy(id, data + 1, n);
    id[n] = 0;
    qms_alerts *a = NULL;
    if (qms_alerts_new(&a))
        return 0;
    qms_alerts_device(a, "kiosk", id, (const char *)data + 1 + split, size - 1 - split);
    qms_alerts_device(a, "printer", "p1", (const char *)data + 1 + split, size - 1 - split);
    qms_alerts_update(a, cfg, eng, 1764140000000, NULL, NULL);
    char *s = qms_alerts_json(a, 1764140000000);
    if (s) {
        cJSON *o = cJSON_Parse(s);
        if (!o)
            __builtin_trap();
        cJSON_Delete(o);
        qms_free(s);
    }
    qms_alerts_free(a);
    return 0;
}
