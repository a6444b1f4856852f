#include "kiosk_script.h"

#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT_MAX_BYTES (1u << 20)
#define LINE_MAX_BYTES 256
#define MAX_WORDS 4

static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "line %d: ", line);
        if (n > 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return QMS_ERR_INVAL;
}

static const struct {
    const char *word;
    kiosk_script_op op;
    int nargs;
} ops[] = {
    {"tap", KS_TAP, 2},
    {"tap-service", KS_TAP_SERVICE, 1},
    {"tap-priority", KS_TAP_PRIORITY, 1},
    {"tap-lang", KS_TAP_LANG, 0},
    {"tap-back", KS_TAP_BACK, 0},
    {"tap-next", KS_TAP_NEXT, 0},
    {"tap-prev", KS_TAP_PREV, 0},
    {"wait", KS_WAIT, 1},
    {"wait-screen", KS_WAIT_SCREEN, -1}, /* 1 or 2 */
    {"expect-screen", KS_EXPECT_SCREEN, 1},
    {"screenshot", KS_SCREENSHOT, 1},
    {"wait-file", KS_WAIT_FILE, -1},
    {"quit", KS_QUIT, 0},
    {"tap-checkin", KS_TAP_CHECKIN, 0},
    {"tap-key", KS_TAP_KEY, 1},
    {"tap-ok", KS_TAP_OK, 0},
    {"type", KS_TYPE, 1},
};

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A non-negative decimal integer up to max, nothing else. */
static int parse_uint(const char *s, int max, int *out)
{
    if (!*s || strlen(s) > 9)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int valid_name(const char *s)
{
    if (!*s || *s == '.' || strlen(s) >= KIOSK_SCRIPT_ARG_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int parse_line(char *line, int lineno, kiosk_script_cmd *cmd, int *has, char *err,
                      size_t errlen)
{
    char *words[MAX_WORDS + 1];
    int nw = 0;
    *has = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p || *p == '#')
            break;
        if (nw > MAX_WORDS)
            return fail(err, errlen, lineno, "too many words");
        words[nw++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        if (*p)
            *p++ = 0;
    }
    if (nw == 0)
        return QMS_OK;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(words[0], ops[i].word))
            continue;
        int nargs = nw - 1;
        if (ops[i].nargs >= 0 && nargs != ops[i].nargs)
            return fail(err, errlen, lineno, "\"%s\" takes %d argument%s", ops[i].word,
                        ops[i].nargs, ops[i].nargs == 1 ? "" : "s");
        memset(cmd, 0, sizeof *cmd);
        cmd->op = ops[i].op;
        cmd->line = lineno;
        switch (cmd->op) {
        case KS_TAP:
            if (parse_uint(words[1], 100000, &cmd->x) || parse_uint(words[2], 100000, &cmd->y))
                return fail(err, errlen, lineno, "tap needs two pixel coordinates");
            break;
        case KS_WAIT:
            if (parse_uint(words[1], 3600000, &cmd->ms))
                return fail(err, errlen, lineno, "wait needs milliseconds (0..3600000)");
            break;
        case KS_TYPE: {
            size_t hl = strlen(words[1]);
            if (hl % 2 || hl / 2 >= KIOSK_SCRIPT_TEXT_MAX)
                return fail(err, errlen, lineno, "type needs hex bytes (at most %d)",
                            KIOSK_SCRIPT_TEXT_MAX - 1);
            for (size_t k = 0; k < hl; k += 2) {
                int hi = hexval(words[1][k]), lo = hexval(words[1][k + 1]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                    return fail(err, errlen, lineno, "type needs hex bytes, no NUL");
                cmd->text[k / 2] = (char)(hi * 16 + lo);
            }
            break;
        }
        case KS_WAIT_SCREEN:
        case KS_WAIT_FILE:
            if (nargs < 1 || nargs > 2)
                return fail(err, errlen, lineno, "%s takes a name and optional ms", words[0]);
            cmd->ms = 10000;
            if (nargs == 2 && parse_uint(words[2], 3600000, &cmd->ms))
                return fail(err, errlen, lineno, "%s timeout must be milliseconds", words[0]);
            /* fall through */
        case KS_TAP_KEY:
        case KS_TAP_SERVICE:
        case KS_TAP_PRIORITY:
        case KS_EXPECT_SCREEN:
        case KS_SCREENSHOT:
            if (!valid_name(words[1]))
                return fail(err, errlen, lineno, "bad name \"%.40s\" (letters, digits, _ - .)",
                            words[1]);
            strcpy(cmd->arg, words[1]);
            break;
        default:
            break;
        }
        *has = 1;
        return QMS_OK;
    }
    return fail(err, errlen, lineno, "unknown command \"%.40s\"", words[0]);
}

int kiosk_script_parse(const char *text, size_t len, kiosk_script *out, char *err, size_t errlen)
{
    out->cmds = NULL;
    out->n = 0;
    if (len > SCRIPT_MAX_BYTES)
        return fail(err, errlen, 0, "script larger than %u bytes", SCRIPT_MAX_BYTES);
    int cap = 0, n = 0, lineno = 0;
    kiosk_script_cmd *cmds = NULL;
    size_t pos = 0;
    while (pos < len) {
        lineno++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t ll = end - pos;
        if (ll >= LINE_MAX_BYTES) {
            qms_free(cmds);
            return fail(err, errlen, lineno, "line longer than %d bytes", LINE_MAX_BYTES - 1);
        }
        char line[LINE_MAX_BYTES];
        memcpy(line, text + pos, ll);
        line[ll] = 0;
        if (memchr(line, 0, ll)) {
            qms_free(cmds);
            return fail(err, errlen, lineno, "NUL byte in the script");
        }
        pos = end + 1;
        kiosk_script_cmd cmd;
        int has = 0;
        int rc = parse_line(line, lineno, &cmd, &has, err, errlen);
        if (rc) {
            qms_free(cmds);
            return rc;
        }
        if (!has)
            continue;
        if (n == cap) {
            if (cap >= KIOSK_SCRIPT_MAX_CMDS) {
                qms_free(cmds);
                return fail(err, errlen, lineno, "more than %d commands", KIOSK_SCRIPT_MAX_CMDS);
            }
            int ncap = cap ? cap * 2 : 32;
            kiosk_script_cmd *nc = qms_realloc(cmds, (size_t)ncap * sizeof *nc);
            if (!nc) {
                qms_free(cmds);
                return QMS_ERR_NOMEM;
            }
            cmds = nc;
            cap = ncap;
        }
        cmds[n++] = cmd;
    }
    out->cmds = cmds;
    out->n = n;
    return QMS_OK;
}

int kiosk_script_load(const char *path, kiosk_script *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = qms_read_file(path, &text, &len, SCRIPT_MAX_BYTES);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read %s", path);
        return rc == QMS_ERR_NOMEM ? rc : QMS_ERR_IO;
    }
    rc = kiosk_script_parse(text, len, out, err, errlen);
    qms_free(text);
    return rc;
}

void kiosk_script_free(kiosk_script *s)
{
    qms_free(s->cmds);
    s->cmds = NULL;
    s->n = 0;
}
