/* Fuzz the display's message parsers: the first byte picks the topic, the
 * rest is the payload. Whatever comes, the board stays consistent and a
 * call the board accepts can be turned into speech clips or refused. */
#include "board.h"
#include "spell.h"
#include "voice.h"

#include "qms/alloc.h"

#include <stdint.h>
#include <string.h>

static const char *const TOPICS[] = {
    "qms/s/call",
    "qms/s/calls/recent",
    "qms/s/stats",
    "qms/s/config",
    "qms/s/counter/7/state",
    "qms/s/device/controller/1/status",
    "qms/s/counter/x/state",
    "qms/s/device/controller//status",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static qms_board *b;
    if (!b)
        b = qms_calloc(1, sizeof *b);
    if (!b || size == 0)
        return 0;
    qms_board_init(b, "s", NULL);
    const char *topic = TOPICS[data[0] % (sizeof TOPICS / sizeof TOPICS[0])];
    /* feed twice: the second time exercises merging and duplicates */
    for (int round = 0; round < 2; round++) {
        qms_board_call c;
        int rc = qms_board_handle(b, topic, (const char *)data + 1, size - 1, &c);
        if (rc > 0 && (rc & QMS_BOARD_NEW_CALL)) {
            if (c.ticket[0] == 0 || c.counter < 1)
                __builtin_trap();
            qms_voice_opts o = {.lang = "vi+en", .repeat = 2};
            qms_voice_piece p[4 * QMS_WORDS_MAX];
            int n = qms_voice_script(&o, c.ticket, c.counter, p, 4 * QMS_WORDS_MAX);
            for (int i = 0; i < n; i++)
                if (!p[i].clip)
                    __builtin_trap();
        }
    }
    if (b->nrecent > QMS_BOARD_RECENT || b->nservices > QMS_MAX_SERVICES ||
        b->ncounters > QMS_MAX_COUNTERS)
        __builtin_trap();
    for (int i = 0; i + 1 < b->nrecent; i++)
        if (b->recent[i].at_ms < b->recent[i + 1].at_ms)
            __builtin_trap(); /* newest first */
    /* the label reader on raw bytes */
    char label[64];
    size_t n = size - 1 < sizeof label - 1 ? size - 1 : sizeof label - 1;
    memcpy(label, data + 1, n);
    label[n] = 0;
    const char *clips[QMS_WORDS_MAX];
    qms_spell_label(label, data[0] & 1 ? "en" : "vi", QMS_VI_NORTH, QMS_READ_WHOLE, clips,
                    QMS_WORDS_MAX);
    return 0;
}
