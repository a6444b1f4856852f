/* The broker settings parsers (conn.h): a client file and a program's
 * settings keys, from any bytes. Nothing may crash; what parses is checked
 * for the invariants the programs rely on. */
#include "qms/conn.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qms_conn c;
    char err[256];
    qms_conn_init(&c);
    if (qms_conn_parse_client(&c, (const char *)data, size, "/base", err, sizeof err) == 0) {
        if ((c.set & QMS_CONN_PORT) && (c.port < 1 || c.port > 65535))
            __builtin_trap();
        if (memchr(c.username, 0, sizeof c.username) == NULL)
            __builtin_trap();
    }
    qms_conn_init(&c);
    cJSON *o = cJSON_ParseWithLength((const char *)data, size);
    if (o && qms_conn_from_json(&c, o, "/base", err, sizeof err) == 0) {
        if ((c.set & QMS_CONN_PORT) && (c.port < 1 || c.port > 65535))
            __builtin_trap();
    }
    cJSON_Delete(o);
    return 0;
}
