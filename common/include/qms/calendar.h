/* The center's calendar: which local days and hours a service issues
 * tickets (docs/config.md "calendar"). A day's hours come from the weekly
 * table (calendar.week; without it, `hours` every day), a holiday closes
 * the day, a make-up working day opens it with another weekday's hours.
 * A service with its own `hours` issues during them, within the day's
 * hours (intersection) when the center has a weekly table, and on every
 * day the center is open. */
#ifndef QMS_CALENDAR_H
#define QMS_CALENDAR_H

#include "qms/config.h"

#include <stdint.h>

/* 0 Monday .. 6 Sunday of a local day number. */
int qms_weekday(int32_t day);
/* "Thứ Hai" .. "Chủ nhật" / "Monday" .. "Sunday". */
const char *qms_weekday_name(int weekday, int en);
/* Is local day a holiday? */
int qms_calendar_holiday(const qms_config *c, int32_t day);
/* The issuing spans of service si (si < 0: the center) on local day `day`,
 * sorted, into out[QMS_MAX_SPANS]; returns how many (0 = closed all day). */
int qms_calendar_day(const qms_config *c, int si, int32_t day, qms_span *out);
/* Does service si (si < 0: the center) issue at epoch_ms? */
int qms_calendar_open(const qms_config *c, int si, int64_t epoch_ms);
/* The next opening of service si strictly after epoch_ms (an opening at
 * exactly epoch_ms while closed counts), looking up to 400 days ahead:
 * its local day and second of day. Returns 1 when found, 0 when never. */
int qms_calendar_next_open(const qms_config *c, int si, int64_t epoch_ms, int32_t *day,
                           int32_t *sec);
/* Words for a closed moment: "Hôm nay nghỉ, mở lại Thứ Hai 07:30" /
 * "Closed today, open Monday 07:30", "Hôm nay đã hết giờ, mở lại ..." when
 * today had hours, "..., mở lại lúc 13:30" when it is later today; the date
 * is added ("Thứ Hai 07/12") when it is a week or more away. */
void qms_calendar_next_words(const qms_config *c, int si, int64_t epoch_ms, int en, char *out,
                             size_t outlen);

#endif
