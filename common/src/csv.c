#include "qms/csv.h"
#include "qms/alloc.h"
#include "qms/err.h"

#include <stdio.h>
#include <string.h>

void qms_csv_init(qms_csv *r, const char *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = data;
    r->end = data + len;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->p += 3;
}

void qms_csv_free(qms_csv *r)
{
    qms_free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

static int put(qms_csv *r, size_t *len, char c)
{
    if (*len + 1 >= r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 256;
        char *nb = qms_realloc(r->buf, ncap);
        if (!nb)
            return -QMS_ERR_NOMEM;
        r->buf = nb;
        r->cap = ncap;
    }
    r->buf[(*len)++] = c;
    return 0;
}

int qms_csv_next(qms_csv *r)
{
    for (;;) {
        if (r->p >= r->end)
            return 0;
        /* skip blank lines */
        if (*r->p == '\n' || *r->p == '\r') {
            if (*r->p == '\n')
                r->line++;
            r->p++;
            continue;
        }
        break;
    }
    r->line++;
    size_t len = 0;
    size_t starts[QMS_CSV_MAX_FIELDS];
    int nf = 0;
    starts[nf++] = 0;
    int rc;
    while (r->p < r->end) {
        char c = *r->p;
        if (c == '"' && (len == 0 || r->buf[len - 1] == 0)) {
            /* quoted field */
            r->p++;
            for (;;) {
                if (r->p >= r->end)
                    return -QMS_ERR_INVAL;
                c = *r->p++;
                if (c == '"') {
                    if (r->p < r->end && *r->p == '"') {
                        r->p++;
                    } else {
                        break;
                    }
                }
                if (c == '\n')
                    r->line++;
                if ((rc = put(r, &len, c)) < 0)
                    return rc;
            }
            continue;
        }
        r->p++;
        if (c == ',') {
            if ((rc = put(r, &len, 0)) < 0)
                return rc;
            if (nf >= QMS_CSV_MAX_FIELDS)
                return -QMS_ERR_TOO_LARGE;
            starts[nf++] = len;
            continue;
        }
        if (c == '\r')
            continue;
        if (c == '\n')
            break;
        if ((rc = put(r, &len, c)) < 0)
            return rc;
    }
    if ((rc = put(r, &len, 0)) < 0)
        return rc;
    r->nfields = nf;
    for (int i = 0; i < nf; i++)
        r->fields[i] = r->buf + starts[i];
    return 1;
}

int qms_csv_find(const qms_csv *r, const char *name)
{
    for (int i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i], name) == 0)
            return i;
    return -1;
}

int qms_read_file(const char *path, char **out, size_t *len, size_t max_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return QMS_ERR_IO;
    size_t cap = 4096, n = 0;
    char *b = qms_malloc(cap);
    if (!b) {
        fclose(f);
        return QMS_ERR_NOMEM;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_len) {
                qms_free(b);
                fclose(f);
                return QMS_ERR_TOO_LARGE;
            }
            char *nb = qms_realloc(b, cap * 2);
            if (!nb) {
                qms_free(b);
                fclose(f);
                return QMS_ERR_NOMEM;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err || n > max_len) {
        qms_free(b);
        return err ? QMS_ERR_IO : QMS_ERR_TOO_LARGE;
    }
    b[n] = 0;
    *out = b;
    if (len)
        *len = n;
    return QMS_OK;
}
