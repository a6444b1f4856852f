/* qms-report run as a user runs it, its CSV read back into cells: shared by
 * the tests of tests/manager (and any test that checks a report). */
#ifndef QMS_TEST_REPORT_OUT_H
#define QMS_TEST_REPORT_OUT_H

#include <stddef.h>

#define QMS_REPORT_ROWS 64
#define QMS_REPORT_COLS 40

typedef struct qms_report_out {
    char *raw; /* the file --out wrote, as written (NULL when none) */
    size_t len;
    char *log;  /* its stderr (never NULL after a run) */
    int status; /* its exit status (qms_test_wait_pid) */
    int nrows;  /* row 0 = header */
    char *cells[QMS_REPORT_ROWS][QMS_REPORT_COLS];
    int ncols[QMS_REPORT_ROWS];
} qms_report_out;

/* Run qms-report with the arguments (NULL-terminated, after the program
 * name) plus "--out dir/out.csv", stderr to dir/report.log; the CSV is parsed
 * into o (at most QMS_REPORT_ROWS rows of QMS_REPORT_COLS cells). */
void qms_report_run(qms_report_out *o, const char *dir, const char *first, ...)
    __attribute__((sentinel));
void qms_report_out_free(qms_report_out *o);
/* The header's column titled title; fails the test when there is none. */
int qms_report_col(const qms_report_out *o, const char *title);
/* The first row whose first cell is key, or -1. */
int qms_report_row(const qms_report_out *o, const char *key);
/* The cell of row r under title ("" for a missing cell); fails the test when
 * there is no such column. */
const char *qms_report_cell(const qms_report_out *o, int r, const char *title);

#endif
