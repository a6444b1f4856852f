/* Every word the kiosk shows, in Vietnamese (NFC) and English, and the
 * small formatters for dates, waits and opening hours. */
#ifndef QMS_KIOSK_TEXT_H
#define QMS_KIOSK_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "qms/config.h"

typedef enum {
    KT_WELCOME,
    KT_TOUCH_TO_START,
    KT_CHOOSE_SERVICE,
    KT_BACK,
    KT_NEXT_PAGE,
    KT_PREV_PAGE,
    KT_PAGE,       /* "%d/%d" style, formatted with page, pages */
    KT_OTHER_LANG, /* the toggle's label: the language it switches TO */
    KT_PRIO_TITLE,
    KT_PRIO_NOTE,
    KT_PRIO_NORMAL,
    KT_PRIO_ELDERLY,
    KT_PRIO_DISABLED,
    KT_PRIO_PREGNANT,
    KT_PRIO_CHILD,
    KT_BUSY,
    KT_TAKE_TICKET,
    KT_AHEAD, /* %d */
    KT_AHEAD_NONE,
    KT_ETA, /* %s: a kiosk_text_wait() text */
    KT_PRIORITY_MARK,
    KT_WATCH_BOARD,
    KT_TOUCH_TO_FINISH,
    KT_STARTING,
    KT_F_PAPER_OUT,
    KT_F_COVER_OPEN,
    KT_F_PRINTER_OFFLINE,
    KT_F_BROKER,
    KT_F_CONTROLLER,
    KT_F_NO_CONFIG,
    KT_F_CLOSED,
    KT_F_CAP,
    KT_F_TAKE_FAILED,
    KT_B_KIOSK_STOPPED,
    KT_B_RECOVERS,
    KT_B_HOURS,     /* %s: opening hours */
    KT_B_NEXT_OPEN, /* %s: the next opening today */
    KT_B_CAP,
    KT_B_TRY_AGAIN,
    KT_B_NO_TICKET,
    KT_B_CANCELLED, /* %s: the number that was cancelled */
    KT_B_TOUCH_BACK,
    KT_KIOSK, /* %s: kiosk id */
    /* check-in */
    KT_CHECKIN_BUTTON,
    KT_CHECKIN_TITLE,
    KT_CHECKIN_HINT,
    KT_CHECKIN_SHORT,
    KT_CHECKIN_BAD,
    KT_CHECKIN_BADSCAN,
    KT_KEY_DELETE,
    KT_KEY_OK,
    KT_BOOKED_MARK, /* %s: the slot */
    KT_A_UNKNOWN,
    KT_A_UNKNOWN_CARD,
    KT_A_WRONG_DAY,
    KT_A_WRONG_SERVICE,
    KT_A_USED,
    KT_A_CANCELLED,
    KT_A_EARLY,
    KT_A_LATE,
    KT_A_REFUSED,
    KT_AB_EARLY, /* %s: "08:45–09:30" */
    KT_AB_LATE,  /* %s: the window */
    KT_AB_CHECK,
    KT_AB_WALKIN,
    KT_B_TOUCH_RETRY,
    /* calendar */
    KT_CLOSED_TITLE,
    KT_CLOSED_NOTE,
    KT_SVC_OPENS, /* %s: "13:30" or "Thứ Hai 07:30" */
    KT__COUNT
} kiosk_text_id;

/* lang "en" gives English, anything else Vietnamese. Never NULL. */
const char *kiosk_text(kiosk_text_id id, const char *lang);

/* The text with its placeholders filled: "%s" takes s, the first "%d" a,
 * the second "%d" b (texts are not printf formats: no format string ever
 * comes from a table at run time). */
void kiosk_text_fill(char *out, size_t outlen, kiosk_text_id id, const char *lang, const char *s,
                     int a, int b);

/* "Thứ Năm, 26/11/2026" / "Thursday, 26 November 2026" for a local day number. */
void kiosk_text_date(int32_t day, const char *lang, char *out, size_t outlen);
/* An expected wait: "khoảng 9 phút", "khoảng 1 giờ 5 phút", "dưới 1 phút". */
void kiosk_text_wait(int eta_s, const char *lang, char *out, size_t outlen);
/* Opening hours "07:30–11:30, 13:30–17:00" from n spans of seconds of day. */
void kiosk_text_hours(const qms_span *spans, int n, char *out, size_t outlen);

#endif
