#include "qms/file.h"

#include "qms/err.h"

#include <errno.h>
#include <stdio.h>

int qms_file_replace(const char *path, qms_file_writer write, void *ctx)
{
    char tmp[4096 + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return QMS_ERR_INVAL;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return QMS_ERR_IO;
    int rc = write(f, ctx);
    if (!rc && (fflush(f) != 0 || ferror(f)))
        rc = QMS_ERR_IO;
    if (fclose(f) != 0 && !rc)
        rc = QMS_ERR_IO;
    if (!rc && rename(tmp, path) != 0)
        rc = QMS_ERR_IO;
    if (rc) {
        int e = errno;
        remove(tmp);
        errno = e;
    }
    return rc;
}

typedef struct {
    const void *data;
    size_t n;
} bytes;

static int write_bytes(FILE *f, void *ctx)
{
    const bytes *b = ctx;
    return b->n == 0 || fwrite(b->data, 1, b->n, f) == b->n ? QMS_OK : QMS_ERR_IO;
}

int qms_file_replace_data(const char *path, const void *data, size_t n)
{
    bytes b = {data, n};
    return qms_file_replace(path, write_bytes, &b);
}
