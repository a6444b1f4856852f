/* Files written whole or not at all. Screenshots, printed tickets, voice
 * clips and the printer's NV state are read by other programs while they are
 * written: each goes to a temporary file beside its path ("<path>.tmp") and is
 * renamed over it only when complete, so a reader finds the old file or the
 * new one, never half of one. A path that exists and is not a regular file
 * (/dev/null, /dev/stdout, a pipe) is written in place instead, so an output
 * option pointed at a device never replaces the device. */
#ifndef QMS_FILE_H
#define QMS_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Writes the file's content to f; returns 0 (QMS_OK) or an error. */
typedef int (*qms_file_writer)(FILE *f, void *ctx);

/* Write path through write(f, ctx) and rename it into place. Returns QMS_OK;
 * the writer's error; QMS_ERR_IO when the file cannot be created, written,
 * closed or renamed (errno says why; the temporary file is removed); or
 * QMS_ERR_INVAL for a path too long. */
int qms_file_replace(const char *path, qms_file_writer write, void *ctx);

/* qms_file_replace with the n bytes at data as the content. */
int qms_file_replace_data(const char *path, const void *data, size_t n);

#endif
