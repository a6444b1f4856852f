/* Fuzz the kiosk's journal reader (kiosk_journal.h): whatever a damaged
 * disk leaves, reading it never crashes, every open take it reports is one
 * the writer could have written, and it reads back the same. */
#include "kiosk_journal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kiosk_journal_scan s, back;
    kiosk_journal_parse((const char *)data, size, &s);
    if (s.nopen < 0 || s.nopen > KJ_MAX_OPEN || s.good_len > size ||
        (!s.torn && s.good_len != size))
        __builtin_trap();
    /* write the open takes out again and read them back: the same takes */
    static char text[KJ_MAX_OPEN * 2 * 1100];
    size_t at = 0;
    for (int i = 0; i < s.nopen; i++) {
        const kiosk_journal_entry *e = &s.open[i];
        if (!memchr(e->req, 0, sizeof e->req) || !memchr(e->payload, 0, sizeof e->payload) ||
            !memchr(e->ticket, 0, sizeof e->ticket) || !e->req[0])
            __builtin_trap();
        if (e->payload[0]) {
            size_t n = kiosk_journal_format(text + at, sizeof text - at, 'T', e->req, e->payload);
            if (!n)
                __builtin_trap();
            at += n;
        } else if (e->state == KJ_TAKE) {
            __builtin_trap(); /* a take is only ever opened by its payload */
        }
        char rest[200];
        if (e->state == KJ_TICKET)
            snprintf(rest, sizeof rest, "%lld %s", (long long)e->id, e->ticket);
        else if (e->state == KJ_CANCEL)
            snprintf(rest, sizeof rest, "%lld %s %s", (long long)e->id, e->reason, e->creq);
        else if (e->state != KJ_TAKE)
            __builtin_trap();
        if (e->state != KJ_TAKE) {
            size_t n = kiosk_journal_format(text + at, sizeof text - at,
                                            e->state == KJ_TICKET ? 'K' : 'C', e->req, rest);
            if (!n)
                __builtin_trap();
            at += n;
        }
    }
    kiosk_journal_parse(text, at, &back);
    if (back.bad || back.torn || back.nopen != s.nopen)
        __builtin_trap();
    for (int i = 0; i < s.nopen; i++)
        if (strcmp(back.open[i].req, s.open[i].req) || back.open[i].state != s.open[i].state ||
            back.open[i].id != s.open[i].id)
            __builtin_trap();
    return 0;
}
