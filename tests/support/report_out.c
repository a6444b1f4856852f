#include "report_out.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "support.h"

#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void qms_report_out_free(qms_report_out *o)
{
    for (int r = 0; r < o->nrows; r++)
        for (int c = 0; c < o->ncols[r]; c++)
            qms_free(o->cells[r][c]);
    qms_free(o->raw);
    qms_free(o->log);
    memset(o, 0, sizeof *o);
}

void qms_report_run(qms_report_out *o, const char *dir, const char *first, ...)
{
    memset(o, 0, sizeof *o);
    char out[320], log[320];
    snprintf(out, sizeof out, "%s/out.csv", dir);
    snprintf(log, sizeof log, "%s/report.log", dir);
    unlink(out);
    unlink(log);
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)qms_test_bin("qms-report");
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n < 28);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n] = NULL;
    pid_t pid = qms_test_spawn(argv, log);
    assert_true(pid > 0);
    o->status = qms_test_wait_pid(pid, 60000);
    size_t ll;
    if (qms_read_file(log, &o->log, &ll, 1 << 20) != QMS_OK)
        o->log = qms_strdup("");
    if (qms_read_file(out, &o->raw, &o->len, 1 << 22) != QMS_OK)
        return;
    qms_csv r;
    qms_csv_init(&r, o->raw, o->len);
    int rc;
    while ((rc = qms_csv_next(&r)) == 1 && o->nrows < QMS_REPORT_ROWS) {
        int nc = r.nfields < QMS_REPORT_COLS ? r.nfields : QMS_REPORT_COLS;
        for (int c = 0; c < nc; c++)
            o->cells[o->nrows][c] = qms_strdup(r.fields[c]);
        o->ncols[o->nrows] = nc;
        o->nrows++;
    }
    assert_true(rc == 0 || rc == 1);
    qms_csv_free(&r);
}

int qms_report_col(const qms_report_out *o, const char *title)
{
    for (int c = 0; o->nrows > 0 && c < o->ncols[0]; c++)
        if (strcmp(o->cells[0][c], title) == 0)
            return c;
    fail_msg("no column '%s' in:\n%s", title, o->raw ? o->raw : "(no CSV)");
    return -1;
}

int qms_report_row(const qms_report_out *o, const char *key)
{
    for (int r = 1; r < o->nrows; r++)
        if (o->ncols[r] > 0 && strcmp(o->cells[r][0], key) == 0)
            return r;
    return -1;
}

const char *qms_report_cell(const qms_report_out *o, int r, const char *title)
{
    int c = qms_report_col(o, title);
    return (r >= 0 && r < o->nrows && c < o->ncols[r] && o->cells[r][c]) ? o->cells[r][c] : "";
}
