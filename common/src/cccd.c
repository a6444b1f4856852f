#include "qms/cccd.h"

#include <string.h>

#define CCCD_MAX_LINE 1024
#define NFIELDS 7

static bool digits(const char *s, size_t n, size_t want)
{
    if (n != want)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* ddmmyyyy of a real date, as yyyymmdd */
static bool date(const char *s, size_t n, long *ymd)
{
    if (!digits(s, n, 8))
        return false;
    int d = num(s, 2), m = num(s + 2, 2), y = num(s + 4, 4);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    *ymd = (long)y * 10000 + m * 100 + d;
    return true;
}

/* Non-empty, valid UTF-8 (no overlongs, no surrogates), no control chars. */
static bool text(const char *s, size_t n)
{
    if (n == 0)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + k >= n) /* not enough bytes left */
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0x80 && cp < 0xA0))
            return false;
        i += k + 1;
    }
    return true;
}

bool qms_cccd_number_valid(const char *s)
{
    return s && digits(s, strlen(s), 12);
}

bool qms_cccd_parse(const char *line, size_t len, char out[13])
{
    out[0] = '\0';
    if (!line)
        return false;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0 || len > CCCD_MAX_LINE || memchr(line, '\0', len))
        return false;
    const char *f[NFIELDS];
    size_t fl[NFIELDS];
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == '|') {
            if (n == NFIELDS)
                return false;
            f[n] = line + start;
            fl[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    if (n != NFIELDS)
        return false;
    long birth, issued;
    if (!digits(f[0], fl[0], 12) || (fl[1] != 0 && !digits(f[1], fl[1], 9)) ||
        !text(f[2], fl[2]) || !date(f[3], fl[3], &birth) || !text(f[4], fl[4]) ||
        !text(f[5], fl[5]) || !date(f[6], fl[6], &issued) || birth >= issued)
        return false;
    /* the 4th digit: century and sex (0/1 1900s, 2/3 2000s, 4/5 2100s);
     * the 5th-6th: the last two digits of the birth year */
    int cs = f[0][3] - '0';
    long year = birth / 10000;
    if (cs > 5 || 1900 + (cs / 2) * 100 != year / 100 * 100 || num(f[0] + 4, 2) != year % 100)
        return false;
    /* sex as printed: "Nam" (male, even digit) or "Nữ" (female, odd) */
    if (fl[4] == 3 && !memcmp(f[4], "Nam", 3) && cs % 2 != 0)
        return false;
    if (fl[4] == strlen("Nữ") && !memcmp(f[4], "Nữ", fl[4]) && cs % 2 != 1)
        return false;
    memcpy(out, f[0], 12);
    out[12] = '\0';
    return true;
}
