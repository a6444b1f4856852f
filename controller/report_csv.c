/* CSV for spreadsheets: RFC 4180 (fields quoted when they hold the
 * separator, a quote, CR or LF, or begin or end with a space; quotes doubled;
 * CRLF after every record), UTF-8 with a byte order mark — without the BOM,
 * Excel reads UTF-8 as the local code page and "Tư pháp" becomes "TÆ° phÃ¡p". */
#include "report.h"

#include "qms/config.h"

#include <stdio.h>
#include <string.h>

void report_csv_begin(report_csv *w, FILE *f, int decimal_comma, int bom)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->sep = decimal_comma ? ';' : ',';
    w->decimal = decimal_comma ? ',' : '.';
    if (bom && fputs("\xEF\xBB\xBF", f) < 0)
        w->err = 1;
}

static void put(report_csv *w, const char *s, size_t n)
{
    if (n && fwrite(s, 1, n, w->f) != n)
        w->err = 1;
}

static void sep(report_csv *w)
{
    if (w->col++ > 0)
        put(w, &w->sep, 1);
}

void report_csv_str(report_csv *w, const char *s)
{
    sep(w);
    if (!s)
        s = "";
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == w->sep || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        put(w, s, n);
        return;
    }
    put(w, "\"", 1);
    const char *p = s;
    for (;;) {
        const char *q = strchr(p, '"');
        if (!q) {
            put(w, p, strlen(p));
            break;
        }
        put(w, p, (size_t)(q - p) + 1);
        put(w, "\"", 1); /* a quote inside a quoted field is doubled */
        p = q + 1;
    }
    put(w, "\"", 1);
}

void report_csv_int(report_csv *w, long long v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    sep(w);
    put(w, b, (size_t)n);
}

void report_csv_dec(report_csv *w, double v, int digits)
{
    sep(w);
    if (v < 0 || v != v)
        return; /* unknown: an empty cell, not a misleading 0 */
    char b[64];
    /* the C locale always writes '.', whatever the environment says */
    int n = snprintf(b, sizeof b, "%.*f", digits, v);
    for (int i = 0; i < n; i++)
        if (b[i] == '.')
            b[i] = w->decimal;
    put(w, b, (size_t)n);
}

void report_csv_empty(report_csv *w)
{
    sep(w);
}

void report_csv_end_row(report_csv *w)
{
    put(w, "\r\n", 2);
    w->col = 0;
}

/* Column titles. */
static const char *H(int en, const char *vi, const char *e)
{
    return en ? e : vi;
}

static void write_fig(report_csv *w, const report_fig *f, int levels)
{
    if (f->taken < 0)
        report_csv_empty(w);
    else
        report_csv_int(w, f->taken);
    report_csv_int(w, f->served);
    report_csv_int(w, f->noshow);
    report_csv_int(w, f->cancelled);
    report_csv_int(w, f->unfinished);
    if (f->transferred < 0)
        report_csv_empty(w);
    else
        report_csv_int(w, f->transferred);
    report_csv_dec(w, report_mean_wait_ms(f) / 60000.0, 1);
    report_csv_dec(w, report_p90_wait_ms(f) / 60000.0, 1);
    report_csv_dec(w, report_mean_service_ms(f) / 60000.0, 1);
    for (int l = 1; l <= levels; l++)
        report_csv_int(w, f->ratings[l]);
    report_csv_int(w, f->nratings);
    double share = report_satisfied_share(f);
    report_csv_dec(w, share < 0 ? -1 : share * 100.0, 1);
}

void report_write_csv(const report *r, report_csv *w, int en, int no_data)
{
    /* header */
    switch (r->by) {
    case REPORT_BY_SERVICE:
        report_csv_str(w, H(en, "Mã dịch vụ", "Service code"));
        report_csv_str(w, H(en, "Dịch vụ", "Service"));
        break;
    case REPORT_BY_COUNTER:
        report_csv_str(w, H(en, "Quầy số", "Counter"));
        report_csv_str(w, H(en, "Tên quầy", "Counter name"));
        break;
    case REPORT_BY_HOUR:
        report_csv_str(w, H(en, "Giờ lấy số", "Hour taken"));
        break;
    case REPORT_BY_DAY:
        report_csv_str(w, H(en, "Ngày", "Date"));
        break;
    case REPORT_BY_SITE:
        report_csv_str(w, H(en, "Điểm", "Site"));
        break;
    case REPORT_BY_PRIORITY:
        report_csv_str(w, H(en, "Loại phiếu", "Ticket kind"));
        report_csv_str(w, H(en, "Diễn giải", "Meaning"));
        break;
    case REPORT_BY_STAFF:
        report_csv_str(w, H(en, "Nhân viên", "Staff member"));
        break;
    }
    report_csv_str(w, H(en, "Số phiếu đã lấy", "Tickets taken"));
    report_csv_str(w, H(en, "Đã phục vụ", "Served"));
    report_csv_str(w, H(en, "Vắng mặt", "No-shows"));
    report_csv_str(w, H(en, "Đã hủy", "Cancelled"));
    report_csv_str(w, H(en, "Chưa xong", "Unfinished"));
    report_csv_str(w, H(en, "Đã chuyển", "Transferred"));
    report_csv_str(w, H(en, "Thời gian chờ TB (phút)", "Mean wait (min)"));
    report_csv_str(w, H(en, "Thời gian chờ P90 (phút)", "P90 wait (min)"));
    report_csv_str(w, H(en, "Thời gian phục vụ TB (phút)", "Mean service time (min)"));
    for (int l = 1; l <= r->levels; l++) {
        char title[96];
        /* level names only when every day had this scale: level 3 is
         * "satisfied" of 4 but "neutral" of 5 */
        const char *ln =
            r->levels <= 5 && !r->mixed_levels ? qms_rating_text(l, r->levels, en) : NULL;
        if (ln)
            snprintf(title, sizeof title, "%s %d (%s)", H(en, "Đánh giá mức", "Rating"), l, ln);
        else
            snprintf(title, sizeof title, "%s %d", H(en, "Đánh giá mức", "Rating"), l);
        report_csv_str(w, title);
    }
    report_csv_str(w, H(en, "Số lượt đánh giá", "Ratings"));
    report_csv_str(w, H(en, "Tỷ lệ hài lòng (%)", "Satisfied (%)"));
    report_csv_end_row(w);

    int two =
        r->by == REPORT_BY_SERVICE || r->by == REPORT_BY_COUNTER || r->by == REPORT_BY_PRIORITY;
    for (int i = 0; i < r->nrows; i++) {
        report_csv_str(w, r->rows[i].key);
        if (two)
            report_csv_str(w, r->rows[i].name);
        write_fig(w, &r->rows[i].fig, r->levels);
        report_csv_end_row(w);
    }
    report_csv_str(w, no_data ? H(en, "Tổng cộng (không có dữ liệu)", "Total (no data)")
                              : H(en, "Tổng cộng", "Total"));
    if (two)
        report_csv_empty(w);
    write_fig(w, &r->total.fig, r->levels);
    report_csv_end_row(w);
}
