#include "qms/calendar.h"
#include "qms/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOK_AHEAD_DAYS 400

int qms_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday */
    int w = (int)((day + 3) % 7);
    return w < 0 ? w + 7 : w;
}

const char *qms_weekday_name(int weekday, int en)
{
    static const char *const vi[7] = {"Thứ Hai", "Thứ Ba",  "Thứ Tư",  "Thứ Năm",
                                      "Thứ Sáu", "Thứ Bảy", "Chủ nhật"};
    static const char *const eng[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
    if (weekday < 0 || weekday > 6)
        return "?";
    return en ? eng[weekday] : vi[weekday];
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int qms_calendar_holiday(const qms_config *c, int32_t day)
{
    return c->nholidays &&
           bsearch(&day, c->holidays, (size_t)c->nholidays, sizeof *c->holidays, cmp_day);
}

static const qms_workday *workday(const qms_config *c, int32_t day)
{
    /* qms_workday starts with its day: the same comparison works */
    if (!c->nworkdays)
        return NULL;
    return bsearch(&day, c->workdays, (size_t)c->nworkdays, sizeof *c->workdays, cmp_day);
}

/* The center's hours of a day. */
static int center_day(const qms_config *c, int32_t day, const qms_span **h)
{
    if (qms_calendar_holiday(c, day))
        return 0;
    if (!c->has_week) {
        *h = c->hours;
        return c->nhours ? c->nhours : -1; /* -1: always open */
    }
    const qms_workday *w = workday(c, day);
    int wd = w ? w->weekday : qms_weekday(day);
    *h = c->week[wd];
    return c->week_n[wd];
}

static int cmp_span(const void *a, const void *b)
{
    const qms_span *x = a, *y = b;
    return (x->open_s > y->open_s) - (x->open_s < y->open_s);
}

int qms_calendar_day(const qms_config *c, int si, int32_t day, qms_span *out)
{
    const qms_span *ch = NULL;
    int cn = center_day(c, day, &ch);
    if (cn == 0)
        return 0;
    const qms_service *s = si >= 0 && si < c->nservices ? &c->services[si] : NULL;
    int n = 0;
    if (!s || !s->nhours) {
        if (cn < 0) { /* no hours at all: the whole day */
            out[0] = (qms_span){0, 86400};
            return 1;
        }
        memcpy(out, ch, (size_t)cn * sizeof *out);
        n = cn;
    } else if (cn < 0 || !c->has_week) {
        /* the old rule: a service's hours replace the center's */
        memcpy(out, s->hours, (size_t)s->nhours * sizeof *out);
        n = s->nhours;
    } else {
        for (int i = 0; i < s->nhours; i++)
            for (int j = 0; j < cn && n < QMS_MAX_SPANS; j++) {
                int32_t a = s->hours[i].open_s > ch[j].open_s ? s->hours[i].open_s : ch[j].open_s;
                int32_t b =
                    s->hours[i].close_s < ch[j].close_s ? s->hours[i].close_s : ch[j].close_s;
                if (a < b)
                    out[n++] = (qms_span){a, b};
            }
    }
    qsort(out, (size_t)n, sizeof *out, cmp_span);
    return n;
}

int qms_calendar_open(const qms_config *c, int si, int64_t epoch_ms)
{
    qms_span h[QMS_MAX_SPANS];
    int32_t sec = qms_local_sec(epoch_ms, c->utc_offset_min);
    int n = qms_calendar_day(c, si, qms_local_day(epoch_ms, c->utc_offset_min), h);
    for (int i = 0; i < n; i++)
        if (sec >= h[i].open_s && sec < h[i].close_s)
            return 1;
    return 0;
}

int qms_calendar_next_open(const qms_config *c, int si, int64_t epoch_ms, int32_t *day,
                           int32_t *sec)
{
    int32_t d0 = qms_local_day(epoch_ms, c->utc_offset_min);
    int32_t now = qms_local_sec(epoch_ms, c->utc_offset_min);
    for (int32_t d = d0; d <= d0 + LOOK_AHEAD_DAYS; d++) {
        qms_span h[QMS_MAX_SPANS];
        int n = qms_calendar_day(c, si, d, h);
        for (int i = 0; i < n; i++) {
            if (d == d0 && h[i].open_s < now)
                continue;
            /* a span that starts where the previous one ended is not an opening */
            if (i > 0 && h[i - 1].close_s == h[i].open_s)
                continue;
            *day = d;
            *sec = h[i].open_s;
            return 1;
        }
    }
    return 0;
}

void qms_calendar_next_words(const qms_config *c, int si, int64_t epoch_ms, int en, char *out,
                             size_t outlen)
{
    int32_t today = qms_local_day(epoch_ms, c->utc_offset_min);
    qms_span h[QMS_MAX_SPANS];
    int had = qms_calendar_day(c, si, today, h) > 0;
    int32_t day, sec;
    if (!qms_calendar_next_open(c, si, epoch_ms, &day, &sec)) {
        snprintf(out, outlen, "%s", en ? "Closed, no opening is planned"
                                       : "Đang nghỉ, chưa có lịch mở lại");
        return;
    }
    char hm[6];
    qms_hhmm_str(sec, hm);
    if (day == today) {
        snprintf(out, outlen, en ? "Closed now, open again at %s" : "Đang nghỉ, mở lại lúc %s",
                 hm);
        return;
    }
    char when[48];
    const char *wd = qms_weekday_name(qms_weekday(day), en);
    if (day - today >= 7) {
        char ymd[11];
        qms_day_str(day, ymd); /* YYYY-MM-DD */
        snprintf(when, sizeof when, "%s %.2s/%.2s", wd, ymd + 8, ymd + 5);
    } else {
        snprintf(when, sizeof when, "%s", wd);
    }
    if (en)
        snprintf(out, outlen, "%s, open %s %s", had ? "Closed for today" : "Closed today", when,
                 hm);
    else
        snprintf(out, outlen, "%s, mở lại %s %s", had ? "Hôm nay đã hết giờ" : "Hôm nay nghỉ",
                 when, hm);
}
