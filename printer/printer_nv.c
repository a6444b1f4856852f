#include "printer_nv.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 4096 /* far more than a printer holds; bounds a hostile file */

static const char KEY_CHARS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define NKEY_CHARS ((int)sizeof KEY_CHARS - 1)

void qms_nv_init(qms_nv_table *t)
{
    memset(t, 0, sizeof *t);
}

void qms_nv_free(qms_nv_table *t)
{
    qms_free(t->e);
    memset(t, 0, sizeof *t);
}

static int key_char_ok(unsigned char c)
{
    return c > ' ' && c <= 126 && c != '#';
}

static int key_index(const qms_nv_table *t, const uint8_t kc[2])
{
    for (int i = 0; i < t->n; i++)
        if (t->e[i].kc[0] == kc[0] && t->e[i].kc[1] == kc[1])
            return i;
    return -1;
}

qms_nv_entry *qms_nv_find_key(qms_nv_table *t, const uint8_t kc[2])
{
    int i = key_index(t, kc);
    return i < 0 ? NULL : &t->e[i];
}

const qms_nv_entry *qms_nv_find(const qms_nv_table *t, uint64_t hash, int w, int h,
                                int only_present)
{
    for (int i = 0; i < t->n; i++) {
        const qms_nv_entry *e = &t->e[i];
        if (e->hash == hash && e->w == w && e->h == h && (!only_present || e->present))
            return e;
    }
    return NULL;
}

int qms_nv_add(qms_nv_table *t, const uint8_t kc[2], uint64_t hash, int w, int h, const char *what)
{
    if (!key_char_ok(kc[0]) || !key_char_ok(kc[1]) || qms_nv_find_key(t, kc) || w <= 0 || h <= 0)
        return QMS_ERR_INVAL;
    if (t->n >= MAX_ENTRIES)
        return QMS_ERR_TOO_LARGE;
    if (t->n == t->cap) {
        int nc = t->cap ? t->cap * 2 : 32;
        qms_nv_entry *e = qms_realloc(t->e, (size_t)nc * sizeof *e);
        if (!e)
            return QMS_ERR_NOMEM;
        t->e = e;
        t->cap = nc;
    }
    qms_nv_entry *e = &t->e[t->n++];
    memset(e, 0, sizeof *e);
    e->kc[0] = kc[0];
    e->kc[1] = kc[1];
    e->hash = hash;
    e->w = w;
    e->h = h;
    /* one line in the file: no line breaks in the description */
    size_t k = 0;
    const char *p = what ? what : "";
    for (; *p && k + 1 < sizeof e->what; p++)
        e->what[k++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    if (*p) {
        /* cut short: do not leave half a UTF-8 sequence at the end */
        size_t lead = k;
        while (lead > 0 && ((unsigned char)e->what[lead - 1] & 0xc0) == 0x80)
            lead--;
        if (lead > 0 && ((unsigned char)e->what[lead - 1] & 0xc0) == 0xc0) {
            unsigned char c = (unsigned char)e->what[lead - 1];
            size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (k - (lead - 1) < want)
                k = lead - 1;
        }
    }
    e->what[k] = '\0';
    return QMS_OK;
}

void qms_nv_remove(qms_nv_table *t, const uint8_t kc[2])
{
    qms_nv_entry *e = qms_nv_find_key(t, kc);
    if (!e)
        return;
    size_t i = (size_t)(e - t->e);
    memmove(e, e + 1, (size_t)(t->n - 1 - (int)i) * sizeof *e);
    t->n--;
}

static void set_err(char *err, size_t errlen, int line, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "line %d: %s", line, msg);
}

int qms_nv_parse(const char *text, size_t len, qms_nv_table *t, char *err, size_t errlen)
{
    qms_nv_free(t);
    int line = 0, have_header = 0, rc = QMS_OK;
    size_t at = 0;
    while (at < len && rc == QMS_OK) {
        size_t end = at;
        while (end < len && text[end] != '\n')
            end++;
        line++;
        char buf[256];
        size_t n = end - at;
        if (n >= sizeof buf) {
            set_err(err, errlen, line, "too long");
            rc = QMS_ERR_INVAL;
            break;
        }
        memcpy(buf, text + at, n);
        buf[n] = '\0';
        if (n && buf[n - 1] == '\r')
            buf[--n] = '\0';
        at = end + 1;
        if (memchr(buf, '\0', n)) {
            set_err(err, errlen, line, "holds a NUL byte");
            rc = QMS_ERR_INVAL;
            break;
        }
        if (n == 0 || buf[0] == '#')
            continue;
        if (!have_header) {
            if (strcmp(buf, "qms-nv 1") != 0) {
                set_err(err, errlen, line, "the first line must be \"qms-nv 1\"");
                rc = QMS_ERR_INVAL;
            }
            have_header = 1;
            continue;
        }
        /* kc1 kc2, space, 16 hex digits, space, width, space, rows, [space what] */
        if (n < 2 || !key_char_ok((unsigned char)buf[0]) || !key_char_ok((unsigned char)buf[1]) ||
            buf[2] != ' ') {
            set_err(err, errlen, line, "a key code is two characters from '!' to '~'");
            rc = QMS_ERR_INVAL;
            break;
        }
        char *p = buf + 3, *q;
        int ok = 1;
        for (int i = 0; i < 16 && ok; i++)
            ok = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
        if (!ok || p[16] != ' ') {
            set_err(err, errlen, line, "the hash is 16 lower-case hex digits");
            rc = QMS_ERR_INVAL;
            break;
        }
        uint64_t hash = strtoull(p, NULL, 16);
        p += 17;
        errno = 0;
        long w = strtol(p, &q, 10);
        if (q == p || *q != ' ' || w <= 0 || w > 65535 * 8) {
            set_err(err, errlen, line, "bad width");
            rc = QMS_ERR_INVAL;
            break;
        }
        p = q + 1;
        long h = strtol(p, &q, 10);
        if (q == p || (*q != ' ' && *q != '\0') || h <= 0 || h > 65535) {
            set_err(err, errlen, line, "bad number of rows");
            rc = QMS_ERR_INVAL;
            break;
        }
        const char *what = *q == ' ' ? q + 1 : "";
        uint8_t kc[2] = {(uint8_t)buf[0], (uint8_t)buf[1]};
        if (qms_nv_find_key(t, kc) || qms_nv_find(t, hash, (int)w, (int)h, 0)) {
            set_err(err, errlen, line, "key or image listed twice");
            rc = QMS_ERR_INVAL;
            break;
        }
        rc = qms_nv_add(t, kc, hash, (int)w, (int)h, what);
        if (rc == QMS_ERR_TOO_LARGE)
            set_err(err, errlen, line, "too many images");
        else if (rc)
            set_err(err, errlen, line, "cannot add");
    }
    if (rc)
        qms_nv_free(t);
    return rc;
}

int qms_nv_load(const char *path, qms_nv_table *t, int *missing, char *err, size_t errlen)
{
    if (missing)
        *missing = 0;
    qms_nv_free(t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            if (missing)
                *missing = 1;
            return QMS_OK;
        }
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return QMS_ERR_IO;
    }
    size_t cap = 1 << 20, len = 0;
    char *text = qms_malloc(cap);
    if (!text) {
        fclose(f);
        return QMS_ERR_NOMEM;
    }
    len = fread(text, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || len == cap) {
        qms_free(text);
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "larger than 1 MB");
        return bad ? QMS_ERR_IO : QMS_ERR_INVAL;
    }
    char perr[200] = "";
    int rc = qms_nv_parse(text, len, t, perr, sizeof perr);
    qms_free(text);
    if (rc && err && errlen)
        snprintf(err, errlen, "%s: %s", path, perr);
    return rc;
}

static int write_nv(FILE *f, void *ctx)
{
    const qms_nv_table *t = ctx;
    fprintf(f, "# NV graphics stored in the ticket printer, written by qms-printer store-nv.\n"
               "# key  image hash  width rows  what\n"
               "qms-nv 1\n");
    for (int i = 0; i < t->n; i++) {
        const qms_nv_entry *e = &t->e[i];
        fprintf(f, "%c%c %016llx %d %d %s\n", e->kc[0], e->kc[1], (unsigned long long)e->hash, e->w,
                e->h, e->what);
    }
    return QMS_OK;
}

int qms_nv_save(const char *path, const qms_nv_table *t)
{
    return qms_file_replace(path, write_nv, (void *)t);
}

int qms_nv_pick_key(const qms_nv_table *t, uint64_t hash, const uint8_t (*taken)[2], int ntaken,
                    uint8_t kc[2])
{
    int total = NKEY_CHARS * NKEY_CHARS;
    int start = (int)(hash % (uint64_t)total);
    for (int k = 0; k < total; k++) {
        int i = (start + k) % total;
        uint8_t c[2] = {(uint8_t)KEY_CHARS[i / NKEY_CHARS], (uint8_t)KEY_CHARS[i % NKEY_CHARS]};
        int used = key_index(t, c) >= 0;
        for (int j = 0; j < ntaken && !used; j++)
            used = taken[j][0] == c[0] && taken[j][1] == c[1];
        if (!used) {
            kc[0] = c[0];
            kc[1] = c[1];
            return QMS_OK;
        }
    }
    return QMS_ERR_TOO_LARGE;
}
