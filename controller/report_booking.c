/* Bookings in a report (qms-report --bookings, docs/report.md): per service
 * or per day, how many were made, cancelled, checked in, not come (a no-show:
 * the slot's check-in window closed without a check-in) and not yet due. */
#include "report.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <stdio.h>
#include <string.h>

int report_bk_noshow(const report_booking *b, int32_t today, int32_t now_s, int grace_min)
{
    if (b->state == REPORT_BK_NOSHOW)
        return 1;
    /* the controller marks a booking no_show lazily (at its next booking
     * request), so a booking still "booked" whose window has closed is one */
    return b->state == REPORT_BK_BOOKED &&
           (b->day < today || (b->day == today && now_s > b->slot_s + grace_min * 60));
}

static void count(report_bk_fig *f, const report_booking *b, int32_t today, int32_t now_s,
                  int grace_min)
{
    f->made++;
    if (b->state == REPORT_BK_CANCELLED)
        f->cancelled++;
    else if (b->state == REPORT_BK_CHECKED_IN)
        f->checked_in++;
    else if (report_bk_noshow(b, today, now_s, grace_min))
        f->noshow++;
    else
        f->pending++;
}

int report_bk_build(const report_data *d, report_by by, int32_t from, int32_t to, int en,
                    int32_t today, int32_t now_s, int grace_min, report_bk *out)
{
    memset(out, 0, sizeof *out);
    out->by = by;
    int nrows = by == REPORT_BY_DAY ? (to >= from ? to - from + 1 : 0) : d->nsvcs;
    if (nrows > 0 && !(out->rows = qms_calloc((size_t)nrows, sizeof *out->rows)))
        return QMS_ERR_NOMEM;
    out->nrows = nrows;
    for (int i = 0; i < nrows; i++) {
        report_bk_row *r = &out->rows[i];
        if (by == REPORT_BY_DAY) {
            qms_day_str(from + i, r->key);
        } else {
            const report_service *s = &d->svcs[i];
            const char *n = en ? (s->name_en ? s->name_en : s->name_vi)
                               : (s->name_vi ? s->name_vi : s->name_en);
            snprintf(r->key, sizeof r->key, "%s", s->code);
            snprintf(r->name, sizeof r->name, "%s", n ? n : "");
        }
    }
    for (int i = 0; i < d->nbk; i++) {
        const report_booking *b = &d->bk[i];
        int k = by == REPORT_BY_DAY ? b->day - from : b->svc;
        if (k >= 0 && k < nrows)
            count(&out->rows[k].fig, b, today, now_s, grace_min);
        count(&out->total.fig, b, today, now_s, grace_min);
    }
    return QMS_OK;
}

void report_bk_free(report_bk *r)
{
    qms_free(r->rows);
    memset(r, 0, sizeof *r);
}

double report_bk_noshow_share(const report_bk_fig *f)
{
    int due = f->checked_in + f->noshow;
    return due ? (double)f->noshow / due : -1;
}

static void write_fig(report_csv *w, const report_bk_fig *f)
{
    report_csv_int(w, f->made);
    report_csv_int(w, f->checked_in);
    report_csv_int(w, f->noshow);
    report_csv_int(w, f->cancelled);
    report_csv_int(w, f->pending);
    double share = report_bk_noshow_share(f);
    report_csv_dec(w, share < 0 ? -1 : share * 100.0, 1);
}

void report_write_bk_csv(const report_bk *r, report_csv *w, int en, int no_data)
{
    int two = r->by != REPORT_BY_DAY;
    if (two) {
        report_csv_str(w, en ? "Service code" : "Mã dịch vụ");
        report_csv_str(w, en ? "Service" : "Dịch vụ");
    } else {
        report_csv_str(w, en ? "Date" : "Ngày");
    }
    report_csv_str(w, en ? "Bookings made" : "Lịch hẹn đã đặt");
    report_csv_str(w, en ? "Checked in" : "Đã đến lấy số");
    report_csv_str(w, en ? "Booking no-shows" : "Không đến");
    report_csv_str(w, en ? "Cancelled" : "Đã hủy");
    report_csv_str(w, en ? "Not yet due" : "Chưa đến giờ");
    report_csv_str(w, en ? "No-show rate (%)" : "Tỷ lệ không đến (%)");
    report_csv_end_row(w);
    for (int i = 0; i < r->nrows; i++) {
        report_csv_str(w, r->rows[i].key);
        if (two)
            report_csv_str(w, r->rows[i].name);
        write_fig(w, &r->rows[i].fig);
        report_csv_end_row(w);
    }
    report_csv_str(w, no_data ? (en ? "Total (no data)" : "Tổng cộng (không có dữ liệu)")
                              : (en ? "Total" : "Tổng cộng"));
    if (two)
        report_csv_empty(w);
    write_fig(w, &r->total.fig);
    report_csv_end_row(w);
}
