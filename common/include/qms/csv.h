/* A small RFC 4180 CSV reader over a memory buffer: quoted fields, "" escapes,
 * CRLF or LF, a UTF-8 BOM at the start is skipped. */
#ifndef QMS_CSV_H
#define QMS_CSV_H

#include <stddef.h>

#define QMS_CSV_MAX_FIELDS 64

typedef struct qms_csv {
    const char *p, *end; /* unread input */
    int line;            /* 1-based line of the record just read */
    char *buf;           /* field storage of the current record */
    size_t cap;
    int nfields;
    char *fields[QMS_CSV_MAX_FIELDS]; /* the current record's fields, NUL-terminated */
} qms_csv;

void qms_csv_init(qms_csv *r, const char *data, size_t len);
/* Read the next record. Returns 1 if a record was read, 0 at end of input,
 * or -QMS_ERR_xxx (unterminated quote, too many fields, out of memory).
 * Blank lines are skipped. */
int qms_csv_next(qms_csv *r);
void qms_csv_free(qms_csv *r);
/* Index of a header name in the current record, or -1. */
int qms_csv_find(const qms_csv *r, const char *name);

/* Read a whole file into memory (NUL-terminated). *out must be qms_free'd. */
int qms_read_file(const char *path, char **out, size_t *len, size_t max_len);

#endif
