#include "qms/file.h"

#include "qms/err.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

/* Create or truncate path and write it through write(f, ctx). */
static int write_file(const char *path, qms_file_writer write, void *ctx)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return QMS_ERR_IO;
    int rc = write(f, ctx);
    if (!rc && (fflush(f) != 0 || ferror(f)))
        rc = QMS_ERR_IO;
    if (fclose(f) != 0 && !rc)
        rc = QMS_ERR_IO;
    return rc;
}

int qms_file_replace(const char *path, qms_file_writer write, void *ctx)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return write_file(path, write, ctx); /* a device: renaming would replace it */
    char tmp[4096 + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return QMS_ERR_INVAL;
    int rc = write_file(tmp, write, ctx);
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
