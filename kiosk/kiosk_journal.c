#include "kiosk_journal.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024
/* A journal holds a handful of open takes; anything near this size is not
 * one of ours (or grew from a bug): keep a copy and start over. */
#define FILE_MAX_BYTES (4u << 20)

struct kiosk_journal {
    int fd;
    char path[512];
    off_t size; /* bytes of good records in the file */
    kiosk_journal_scan s;
};

/* ---- records (pure) ------------------------------------------------------ */

/* CRC-32 (IEEE): catches a flipped digit in a ticket id, which would
 * otherwise cancel somebody else's number. */
static uint32_t crc32_of(const char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Request ids, ticket labels and reasons: [A-Za-z0-9_-], 1..max-1 bytes. */
static int good_token(const char *t, size_t max)
{
    size_t n = strlen(t);
    if (n == 0 || n >= max)
        return 0;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              *t == '_' || *t == '-'))
            return 0;
    return 1;
}

/* A take payload: one line, a JSON object whose "req" is req. */
static int good_payload(const char *p, const char *req)
{
    size_t n = strlen(p);
    if (n == 0 || n >= KJ_PAYLOAD_MAX || strpbrk(p, "\r\n"))
        return 0;
    cJSON *js = cJSON_ParseWithLength(p, n);
    if (!js)
        return 0;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(js, "req");
    int ok = cJSON_IsObject(js) && cJSON_IsString(r) && !strcmp(r->valuestring, req);
    cJSON_Delete(js);
    return ok;
}

static int parse_id(const char *t, int64_t *out)
{
    if (!*t || strlen(t) > 18)
        return -1;
    int64_t v = 0;
    for (; *t; t++) {
        if (*t < '0' || *t > '9')
            return -1;
        v = v * 10 + (*t - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

static kiosk_journal_entry *scan_find(kiosk_journal_scan *s, const char *req)
{
    for (int i = 0; i < s->nopen; i++)
        if (!strcmp(s->open[i].req, req))
            return &s->open[i];
    return NULL;
}

static kiosk_journal_entry *scan_add(kiosk_journal_scan *s, const char *req)
{
    if (s->nopen >= KJ_MAX_OPEN)
        return NULL;
    kiosk_journal_entry *e = &s->open[s->nopen++];
    memset(e, 0, sizeof *e);
    snprintf(e->req, sizeof e->req, "%s", req);
    return e;
}

static void scan_remove(kiosk_journal_scan *s, const char *req)
{
    for (int i = 0; i < s->nopen; i++)
        if (!strcmp(s->open[i].req, req)) {
            memmove(&s->open[i], &s->open[i + 1], (size_t)(s->nopen - i - 1) * sizeof s->open[0]);
            s->nopen--;
            return;
        }
}

/* Split off the next space-separated token of *p (NUL-terminating it). */
static char *next_tok(char **p)
{
    char *t = *p;
    if (!t)
        return NULL;
    char *sp = strchr(t, ' ');
    if (sp) {
        *sp = 0;
        *p = sp + 1;
    } else {
        *p = NULL;
    }
    return t;
}

/* Apply one record body ("T req payload", "K req id ticket", ...) to s.
 * 0 = applied, -1 = not a record we accept (s unchanged). */
static int apply_body(kiosk_journal_scan *s, char *b)
{
    char kind = b[0];
    if (!kind || b[1] != ' ')
        return -1;
    char *p = b + 2;
    char *req = next_tok(&p);
    if (!req || !good_token(req, sizeof s->open[0].req))
        return -1;
    kiosk_journal_entry *e = scan_find(s, req);
    switch (kind) {
    case 'T': {
        if (!p || !good_payload(p, req) || e)
            return -1;
        if (!(e = scan_add(s, req)))
            return -1;
        e->state = KJ_TAKE;
        snprintf(e->payload, sizeof e->payload, "%s", p);
        return 0;
    }
    case 'K': {
        char *id = next_tok(&p), *ticket = next_tok(&p);
        int64_t v;
        if (!id || !ticket || p || parse_id(id, &v) || !good_token(ticket, sizeof e->ticket))
            return -1;
        if (!e && !(e = scan_add(s, req))) /* its T line was lost: the id is enough */
            return -1;
        e->state = KJ_TICKET;
        e->id = v;
        snprintf(e->ticket, sizeof e->ticket, "%s", ticket);
        return 0;
    }
    case 'C': {
        char *id = next_tok(&p), *reason = next_tok(&p), *creq = next_tok(&p);
        int64_t v;
        if (!id || !reason || !creq || p || parse_id(id, &v) ||
            !good_token(reason, sizeof e->reason) || !good_token(creq, sizeof e->creq))
            return -1;
        if (!e && !(e = scan_add(s, req)))
            return -1;
        e->state = KJ_CANCEL;
        e->id = v;
        snprintf(e->reason, sizeof e->reason, "%s", reason);
        snprintf(e->creq, sizeof e->creq, "%s", creq);
        return 0;
    }
    case 'P':
    case 'D':
        if (p)
            return -1;
        scan_remove(s, req);
        return 0;
    default:
        return -1;
    }
}

/* One complete line without its '\n': check the crc, then apply. */
static int parse_line(kiosk_journal_scan *s, const char *l, size_t n)
{
    if (n < 12 || n >= LINE_MAX_BYTES || l[8] != ' ')
        return -1;
    uint32_t want = 0;
    for (int i = 0; i < 8; i++) {
        char c = l[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        want = want << 4 | (uint32_t)v;
    }
    if (crc32_of(l + 9, n - 9) != want || memchr(l + 9, 0, n - 9))
        return -1;
    char b[LINE_MAX_BYTES];
    memcpy(b, l + 9, n - 9);
    b[n - 9] = 0;
    return apply_body(s, b);
}

void kiosk_journal_parse(const char *text, size_t len, kiosk_journal_scan *s)
{
    memset(s, 0, sizeof *s);
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        if (!nl) {
            s->torn = 1;
            break;
        }
        size_t n = (size_t)(nl - (text + at));
        if (n > 0) {
            if (parse_line(s, text + at, n) == 0)
                s->records++;
            else
                s->bad++;
        }
        at += n + 1;
        s->good_len = at;
    }
}

size_t kiosk_journal_format(char *out, size_t outlen, char kind, const char *req, const char *rest)
{
    char body[LINE_MAX_BYTES];
    int n = snprintf(body, sizeof body, "%c %s%s%s", kind, req, rest && *rest ? " " : "",
                     rest ? rest : "");
    if (n < 0 || (size_t)n >= sizeof body || strpbrk(body, "\r\n"))
        return 0;
    /* what we write must read back: the same checks as the parser */
    kiosk_journal_scan *probe = qms_calloc(1, sizeof *probe);
    if (!probe)
        return 0;
    if (kind == 'K' || kind == 'C' || kind == 'P' || kind == 'D') {
        /* these apply to an open take; give the probe one */
        kiosk_journal_entry *e = scan_add(probe, req);
        if (e)
            e->state = KJ_TAKE;
    }
    char tmp[LINE_MAX_BYTES];
    memcpy(tmp, body, (size_t)n + 1);
    int ok = good_token(req, sizeof probe->open[0].req) && apply_body(probe, tmp) == 0;
    qms_free(probe);
    if (!ok)
        return 0;
    int m = snprintf(out, outlen, "%08" PRIx32 " %s\n", crc32_of(body, (size_t)n), body);
    if (m < 0 || (size_t)m >= outlen)
        return 0;
    return (size_t)m;
}

/* ---- the file ------------------------------------------------------------ */

static void mkdir_parents(const char *path)
{
    char d[512];
    snprintf(d, sizeof d, "%s", path);
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(d, 0755); /* exists already, mostly */
        *p = '/';
    }
}

static int read_all(int fd, char *buf, size_t len)
{
    size_t at = 0;
    while (at < len) {
        ssize_t r = pread(fd, buf + at, len - at, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        at += (size_t)r;
    }
    return 0;
}

static void keep_copy(const char *path, const char *text, size_t len)
{
    char cp[600];
    snprintf(cp, sizeof cp, "%s.corrupt", path);
    FILE *f = fopen(cp, "w");
    if (!f)
        return;
    fwrite(text, 1, len, f);
    fclose(f);
}

int kiosk_journal_open(const char *path, kiosk_journal **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path || strlen(path) >= sizeof((kiosk_journal *)0)->path) {
        snprintf(err, errlen, "no usable state file path");
        return QMS_ERR_INVAL;
    }
    kiosk_journal *j = qms_calloc(1, sizeof *j);
    if (!j)
        return QMS_ERR_NOMEM;
    snprintf(j->path, sizeof j->path, "%s", path);
    mkdir_parents(path);
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        snprintf(err, errlen, "cannot open the state file %s: %s", path, strerror(errno));
        qms_free(j);
        return QMS_ERR_IO;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB)) {
        int busy = errno == EWOULDBLOCK;
        snprintf(err, errlen,
                 busy ? "the state file %s is in use by another qms-kiosk (same site and kiosk "
                        "id?)"
                      : "cannot lock the state file %s: %s",
                 path, strerror(errno));
        close(j->fd);
        qms_free(j);
        return busy ? QMS_ERR_UNAVAILABLE : QMS_ERR_IO;
    }
    struct stat st;
    if (fstat(j->fd, &st)) {
        snprintf(err, errlen, "cannot read the state file %s: %s", path, strerror(errno));
        close(j->fd);
        qms_free(j);
        return QMS_ERR_IO;
    }
    size_t len = (size_t)st.st_size;
    if (len > FILE_MAX_BYTES) {
        QMS_ERROR("state file %s: %zu bytes is not a kiosk journal; ignored (nothing from the "
                  "last run will be settled)",
                  path, len);
        if (ftruncate(j->fd, 0))
            QMS_ERROR("state file %s: cannot empty it: %s", path, strerror(errno));
        len = 0;
    }
    if (len > 0) {
        char *text = qms_malloc(len);
        if (!text || read_all(j->fd, text, len)) {
            QMS_ERROR("state file %s: cannot read it (%s); nothing from the last run will be "
                      "settled",
                      path, text ? strerror(errno) : "out of memory");
            qms_free(text);
            text = NULL;
            len = 0;
        } else {
            kiosk_journal_parse(text, len, &j->s);
        }
        if (j->s.bad) {
            keep_copy(path, text, len);
            QMS_ERROR("state file %s is damaged: %d line(s) unreadable and skipped, %d read; "
                      "a copy is kept in %s.corrupt. A take on a skipped line cannot be settled: "
                      "check the controller for a waiting ticket from this kiosk",
                      path, j->s.bad, j->s.records, path);
        }
        if (j->s.torn)
            QMS_WARN("state file %s: the last record was cut short (the kiosk was stopped while "
                     "writing it; what it announced never left): dropped",
                     path);
        qms_free(text);
        len = j->s.good_len;
        if (j->s.nopen == 0)
            len = 0;
        if (len != (size_t)st.st_size && ftruncate(j->fd, (off_t)len))
            QMS_ERROR("state file %s: cannot trim it: %s", path, strerror(errno));
    }
    j->size = (off_t)len;
    *out = j;
    return QMS_OK;
}

void kiosk_journal_close(kiosk_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd); /* releases the lock */
    qms_free(j);
}

const char *kiosk_journal_path(const kiosk_journal *j)
{
    return j ? j->path : "";
}

int kiosk_journal_count(const kiosk_journal *j)
{
    return j ? j->s.nopen : 0;
}

const kiosk_journal_entry *kiosk_journal_get(const kiosk_journal *j, int i)
{
    return j && i >= 0 && i < j->s.nopen ? &j->s.open[i] : NULL;
}

const kiosk_journal_entry *kiosk_journal_find_id(const kiosk_journal *j, int64_t id)
{
    if (!j)
        return NULL;
    for (int i = 0; i < j->s.nopen; i++)
        if ((j->s.open[i].state == KJ_TICKET || j->s.open[i].state == KJ_CANCEL) &&
            j->s.open[i].id == id)
            return &j->s.open[i];
    return NULL;
}

/* Append one record; with sync, return only once it is on disk. A failed or
 * short write is cut off again so the next record starts on a clean line. */
static int append(kiosk_journal *j, char kind, const char *req, const char *rest, int sync)
{
    if (!j)
        return QMS_OK;
    char line[LINE_MAX_BYTES + 16];
    size_t n = kiosk_journal_format(line, sizeof line, kind, req, rest);
    if (!n) {
        QMS_ERROR("state file %s: record %c %s cannot be written (bad field)", j->path, kind, req);
        return QMS_ERR_INVAL;
    }
    size_t at = 0;
    while (at < n) {
        ssize_t w = write(j->fd, line + at, n - at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        at += (size_t)w;
    }
    if (sync && fdatasync(j->fd))
        goto fail;
    j->size += (off_t)n;
    /* mirror it in memory (the same rules as reading it back) */
    char body[LINE_MAX_BYTES];
    snprintf(body, sizeof body, "%.*s", (int)(n - 10), line + 9);
    apply_body(&j->s, body);
    if (j->s.nopen == 0) {
        /* nothing open: start the file over, so it never grows */
        if (ftruncate(j->fd, 0) == 0)
            j->size = 0;
    }
    return QMS_OK;
fail:;
    int e = errno;
    QMS_ERROR("state file %s: cannot write (%s): a kiosk killed now could leave take %s "
              "unsettled",
              j->path, strerror(e), req);
    if (ftruncate(j->fd, j->size))
        QMS_DEBUG("state file %s: cannot cut a short write", j->path);
    return QMS_ERR_IO;
}

int kiosk_journal_take(kiosk_journal *j, const char *req, const char *payload)
{
    return append(j, 'T', req, payload, 1);
}

int kiosk_journal_ticket(kiosk_journal *j, const char *req, int64_t id, const char *ticket)
{
    char rest[64];
    snprintf(rest, sizeof rest, "%" PRId64 " %s", id, ticket && *ticket ? ticket : "-");
    return append(j, 'K', req, rest, 0);
}

int kiosk_journal_cancel(kiosk_journal *j, const char *req, int64_t id, const char *reason,
                         const char *creq)
{
    char rest[160];
    snprintf(rest, sizeof rest, "%" PRId64 " %s %s", id, reason, creq);
    return append(j, 'C', req, rest, 0);
}

int kiosk_journal_printed(kiosk_journal *j, const char *req)
{
    return append(j, 'P', req, NULL, 1);
}

int kiosk_journal_done(kiosk_journal *j, const char *req)
{
    return append(j, 'D', req, NULL, 0);
}

void kiosk_journal_default_path(const char *site, const char *kiosk_id, const char *fallback_dir,
                                char *out, size_t outlen)
{
    char dir[400];
    const char *sd = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (sd && *sd == '/') /* systemd: may list several, ':'-separated; take the first */
        snprintf(dir, sizeof dir, "%.*s", (int)strcspn(sd, ":"), sd);
    else if (xdg && *xdg == '/')
        snprintf(dir, sizeof dir, "%s/qms", xdg);
    else if (home && *home == '/')
        snprintf(dir, sizeof dir, "%s/.local/state/qms", home);
    else
        snprintf(dir, sizeof dir, "%s", fallback_dir && *fallback_dir ? fallback_dir : ".");
    snprintf(out, outlen, "%s/kiosk-%s-%s.journal", dir, site, kiosk_id);
}

void kiosk_test_stop_at(const char *point)
{
    const char *s = getenv("QMS_KIOSK_STOP_AT");
    if (s && !strcmp(s, point)) {
        QMS_WARN("test hook: stopping at \"%s\"", point);
        raise(SIGSTOP);
    }
}
