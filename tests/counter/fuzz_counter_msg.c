/* Fuzz target: everything qms-counter decodes from the network (replies,
 * retained counter state, stats, call events, the recent calls, device status, the alerts), and the
 * terminal sanitiser that shows the decoded text (the waiting list's
 * entries included). */
#include "counter_msg.h"
#include "counter_text.h"
#include "qms/alloc.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *js = (const char *)data;
    counter_info *info = qms_malloc(sizeof *info);
    if (!info)
        return 0;
    if (counter_info_decode(js, size, info) == 0) {
        /* every decoded string is terminated and within its field */
        if (strlen(info->req) >= sizeof info->req ||
            strlen(info->message) >= sizeof info->message || info->nqueue < 0 ||
            info->nqueue > COUNTER_QUEUE_MAX)
            __builtin_trap();
        char out[300];
        counter_text_fit(info->message, 80, out, sizeof out);
        for (const char *p = out; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                __builtin_trap(); /* a control byte would reach the terminal */
        if (counter_text_width(out) > 80)
            __builtin_trap();
        /* the waiting list: every entry has a number, bounded fields, and
         * shows no control byte (what the clerk's screen prints of it) */
        for (int i = 0; i < info->nqueue; i++) {
            const counter_qentry *q = &info->queue[i];
            if (!q->ticket[0] || strlen(q->ticket) >= sizeof q->ticket ||
                strlen(q->service) >= sizeof q->service || strlen(q->appt) >= sizeof q->appt ||
                q->priority < 0 || q->priority > 9 || q->taken_ms < 0)
                __builtin_trap();
            char shown[120];
            counter_text_fit(q->appt, 20, shown, sizeof shown);
            for (const char *p = shown; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    __builtin_trap();
        }
        if (info->queue_len < -1)
            __builtin_trap();
    }
    qms_free(info);
    counter_stats st;
    if (counter_stats_decode(js, size, &st) == 0 && st.nservices > 64)
        __builtin_trap();
    counter_call c;
    counter_call_decode(js, size, &c);
    counter_call recent[5];
    int nrecent = -1;
    if (counter_calls_decode(js, size, recent, 5, &nrecent) == 0) {
        if (nrecent < 0 || nrecent > 5)
            __builtin_trap();
        for (int i = 0; i < nrecent; i++)
            if (!recent[i].ticket[0] || strlen(recent[i].ticket) >= sizeof recent[i].ticket)
                __builtin_trap();
    } else if (nrecent != 0) {
        __builtin_trap();
    }
    counter_status_online(js, size);
    /* the alert set: bounded, terminated, and the relevance test on each */
    static counter_alert al[COUNTER_ALERTS_MAX];
    int nal = -1;
    if (counter_alerts_decode(js, size, al, COUNTER_ALERTS_MAX, &nal) == 0) {
        if (nal < 0 || nal > COUNTER_ALERTS_MAX)
            __builtin_trap();
        for (int i = 0; i < nal; i++) {
            if (!al[i].kind[0] || strlen(al[i].subject) >= sizeof al[i].subject ||
                strlen(al[i].message_vi) >= sizeof al[i].message_vi)
                __builtin_trap();
            counter_alert_concerns(&al[i], 5, NULL);
        }
    } else if (nal != 0) {
        __builtin_trap();
    }
    /* the raw bytes through the sanitiser too */
    char *raw = qms_strndup(js, size);
    if (raw) {
        char out[128];
        counter_text_fit(raw, 40, out, sizeof out);
        if (counter_text_width(out) > 40)
            __builtin_trap();
        qms_free(raw);
    }
    return 0;
}
