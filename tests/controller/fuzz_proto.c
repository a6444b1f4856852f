/* Fuzz target for the controller's message decoding (controller/proto.c).
 * Input: byte 0 picks the topic (take / cancel / counter 5 cmd / a topic made
 * of the rest; 0xF0.. booking slots / make / cancel), the rest is the payload. Properties: no crash, no leak; a
 * request that decodes encodes to JSON that decodes to the same request; a
 * refusal is valid JSON. */
#include "proto.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int counter = 5;
    qms_topic_kind kind;
    /* bytes 0xF0..0xFF pick a booking topic (slots, make, cancel) */
    switch (data[0] >= 0xF0 ? 4 + (data[0] - 0xF0) % 3 : data[0] % 4) {
    case 4:
        kind = QMS_TOPIC_BOOK_SLOTS;
        break;
    case 5:
        kind = QMS_TOPIC_BOOK_MAKE;
        break;
    case 6:
        kind = QMS_TOPIC_BOOK_CANCEL;
        break;
    case 0:
        kind = QMS_TOPIC_TAKE;
        break;
    case 1:
        kind = QMS_TOPIC_CANCEL;
        break;
    case 2:
        kind = QMS_TOPIC_COUNTER_CMD;
        break;
    default: {
        /* the topic parser on arbitrary text */
        char topic[256];
        size_t n = size - 1 < sizeof topic - 1 ? size - 1 : sizeof topic - 1;
        memcpy(topic, data + 1, n);
        topic[n] = 0;
        kind = qms_proto_topic(topic, "demo", &counter);
        if (kind == QMS_TOPIC_COUNTER_CMD && counter == 0)
            __builtin_trap();
        if (kind == QMS_TOPIC_NONE)
            return 0;
        break;
    }
    }
    const char *payload = (const char *)data + 1;
    size_t len = size - 1;
    qms_request r;
    char why[160];
    int rc = qms_proto_decode(kind, counter, payload, len, &r, why, sizeof why);
    if (rc == QMS_OK) {
        char *js = qms_proto_encode_request(&r);
        if (!js)
            __builtin_trap();
        qms_request r2;
        if (qms_proto_decode(kind, counter, js, strlen(js), &r2, why, sizeof why) != QMS_OK)
            __builtin_trap();
        if (memcmp(&r, &r2, sizeof r) != 0)
            __builtin_trap();
        qms_free(js);
    } else if (!why[0]) {
        __builtin_trap(); /* every refusal says why (that is the log line) */
    }
    char *err = qms_proto_error_reply(r.req, rc ? rc : QMS_ERR_INVAL, 0);
    cJSON *o = err ? cJSON_Parse(err) : NULL;
    if (!o)
        __builtin_trap();
    cJSON_Delete(o);
    qms_free(err);
    return 0;
}
