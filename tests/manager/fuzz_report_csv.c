/* Fuzz target: qms-report's CSV writer. The input is split into fields (at
 * 0x1F bytes) and records (at 0x1E); whatever they hold — separators,
 * quotes, line breaks, spaces, any bytes — the libqms CSV reader must read
 * back exactly the same fields. First byte: bit 0 chooses ';' as the
 * separator. */
#include "report.h"

#include "qms/alloc.h"
#include "qms/csv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    int semi = data[0] & 1;
    data++;
    size--;
    /* The reader gives NUL-terminated fields, so a NUL cannot round-trip;
     * a record of one empty field is a blank line, which readers skip. */
    if (memchr(data, 0, size))
        return 0;
    /* the reader holds up to QMS_CSV_MAX_FIELDS fields a record (a report
     * row has at most 2 + 9 + 9 + 2) */
    int fields = 1;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0x1E)
            fields = 1;
        else if (data[i] == 0x1F && ++fields > QMS_CSV_MAX_FIELDS)
            return 0;
    }
    char *in = qms_strndup((const char *)data, size);
    if (!in)
        return 0;
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    if (!f) {
        qms_free(in);
        return 0;
    }
    report_csv w;
    report_csv_begin(&w, f, semi, 1);
    /* write: fields of each record */
    int nrec = 0;
    char *rec = in;
    for (;;) {
        char *rend = strchr(rec, 0x1E);
        if (rend)
            *rend = 0;
        char *fld = rec;
        for (;;) {
            char *fend = strchr(fld, 0x1F);
            if (fend)
                *fend = 0;
            report_csv_str(&w, fld);
            if (!fend)
                break;
            *fend = 0x1F;
            fld = fend + 1;
        }
        report_csv_end_row(&w);
        nrec++;
        if (!rend)
            break;
        *rend = 0x1E;
        rec = rend + 1;
    }
    fclose(f);
    /* read back with the separator the writer used */
    if (semi) {
        /* libqms's reader knows ',' only: the check is done for ',' files */
        free(buf);
        qms_free(in);
        return 0;
    }
    qms_csv r;
    qms_csv_init(&r, buf, blen);
    rec = in;
    for (int i = 0; i < nrec; i++) {
        char *rend = strchr(rec, 0x1E);
        if (rend)
            *rend = 0;
        int blank = rec[0] == 0;
        if (!blank) {
            if (qms_csv_next(&r) != 1)
                __builtin_trap();
            char *fld = rec;
            int k = 0;
            for (;;) {
                char *fend = strchr(fld, 0x1F);
                if (fend)
                    *fend = 0;
                if (k >= r.nfields || strcmp(r.fields[k], fld) != 0)
                    __builtin_trap();
                k++;
                if (!fend)
                    break;
                fld = fend + 1;
            }
            if (k != r.nfields)
                __builtin_trap();
        }
        if (!rend)
            break;
        rec = rend + 1;
    }
    qms_csv_free(&r);
    free(buf);
    qms_free(in);
    return 0;
}
