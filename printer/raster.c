#include "raster.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_ttf.h>
#include <qrencode.h>
#include <string.h>

/* Anti-aliased coverage above this (of 255) prints black. A little under
 * half keeps thin strokes of small diacritics (the hook of "ở", the dot of
 * "ộ") from vanishing. */
#define INK_THRESHOLD 100

int qms_raster_new(qms_raster *r, int w, int h)
{
    memset(r, 0, sizeof *r);
    if (w <= 0 || h <= 0 || w > 65535 * 8 || h > 65535)
        return QMS_ERR_INVAL;
    r->w = w;
    r->h = h;
    r->stride = (w + 7) / 8;
    r->bits = qms_calloc((size_t)r->stride * (size_t)h, 1);
    if (!r->bits) {
        memset(r, 0, sizeof *r);
        return QMS_ERR_NOMEM;
    }
    return QMS_OK;
}

void qms_raster_free(qms_raster *r)
{
    qms_free(r->bits);
    memset(r, 0, sizeof *r);
}

int qms_raster_get(const qms_raster *r, int x, int y)
{
    if (x < 0 || y < 0 || x >= r->w || y >= r->h)
        return 0;
    return (r->bits[(size_t)y * (size_t)r->stride + (size_t)(x >> 3)] >> (7 - (x & 7))) & 1;
}

void qms_raster_set(qms_raster *r, int x, int y, int black)
{
    if (x < 0 || y < 0 || x >= r->w || y >= r->h)
        return;
    uint8_t *p = &r->bits[(size_t)y * (size_t)r->stride + (size_t)(x >> 3)];
    uint8_t m = (uint8_t)(0x80u >> (x & 7));
    *p = black ? (uint8_t)(*p | m) : (uint8_t)(*p & ~m);
}

int qms_raster_text(TTF_Font *font, const char *utf8, qms_raster *out)
{
    memset(out, 0, sizeof *out);
    if (!font || !utf8 || !*utf8)
        return QMS_ERR_INVAL;
    SDL_Color fg = {0, 0, 0, 255}, bg = {255, 255, 255, 255};
    SDL_Surface *s = TTF_RenderUTF8_Shaded(font, utf8, fg, bg);
    if (!s)
        return QMS_ERR_NOMEM;
    if (s->format->BytesPerPixel != 1 || !s->format->palette) {
        SDL_FreeSurface(s);
        return QMS_ERR_INVAL;
    }
    /* Darkness of each palette entry, then the ink's bounding box. */
    uint8_t dark[256];
    const SDL_Palette *pal = s->format->palette;
    for (int i = 0; i < 256; i++) {
        if (i < pal->ncolors) {
            const SDL_Color *c = &pal->colors[i];
            int lum = (c->r * 299 + c->g * 587 + c->b * 114) / 1000;
            dark[i] = (255 - lum) >= INK_THRESHOLD;
        } else {
            dark[i] = 0;
        }
    }
    SDL_LockSurface(s);
    const uint8_t *px = s->pixels;
    int x0 = s->w, y0 = s->h, x1 = -1, y1 = -1;
    for (int y = 0; y < s->h; y++) {
        const uint8_t *row = px + (size_t)y * (size_t)s->pitch;
        for (int x = 0; x < s->w; x++) {
            if (dark[row[x]]) {
                if (x < x0)
                    x0 = x;
                if (x > x1)
                    x1 = x;
                if (y < y0)
                    y0 = y;
                if (y > y1)
                    y1 = y;
            }
        }
    }
    int rc = QMS_ERR_INVAL;
    if (x1 >= 0) {
        rc = qms_raster_new(out, x1 - x0 + 1, y1 - y0 + 1);
        if (!rc) {
            for (int y = y0; y <= y1; y++) {
                const uint8_t *row = px + (size_t)y * (size_t)s->pitch;
                for (int x = x0; x <= x1; x++)
                    if (dark[row[x]])
                        qms_raster_set(out, x - x0, y - y0, 1);
            }
        }
    }
    SDL_UnlockSurface(s);
    SDL_FreeSurface(s);
    return rc;
}

static int text_width(TTF_Font *font, const char *s, size_t n)
{
    char buf[1024];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    int w = 0, h = 0;
    if (TTF_SizeUTF8(font, buf, &w, &h) != 0)
        return 1 << 30;
    return w;
}

static int push_line(char ***lines, int *n, int *cap, const char *s, size_t len)
{
    while (len > 0 && s[len - 1] == ' ')
        len--;
    while (len > 0 && *s == ' ') {
        s++;
        len--;
    }
    if (len == 0)
        return QMS_OK;
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        char **l2 = qms_realloc(*lines, (size_t)nc * sizeof *l2);
        if (!l2)
            return QMS_ERR_NOMEM;
        *lines = l2;
        *cap = nc;
    }
    char *copy = qms_strndup(s, len);
    if (!copy)
        return QMS_ERR_NOMEM;
    (*lines)[(*n)++] = copy;
    return QMS_OK;
}

/* Length in bytes of the UTF-8 sequence starting at s (1 for stray bytes). */
static size_t u8len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            return 1;
    return n;
}

int qms_raster_wrap(TTF_Font *font, const char *utf8, int max_w, char ***lines_out, int *n_out)
{
    char **lines = NULL;
    int n = 0, cap = 0, rc = QMS_OK;
    const char *line = utf8;    /* start of the current line */
    const char *fit_end = NULL; /* end of the longest prefix (at a space) that fits */
    const char *p = utf8;
    while (rc == QMS_OK) {
        const char *word_end = p;
        while (*word_end && *word_end != ' ')
            word_end++;
        if (text_width(font, line, (size_t)(word_end - line)) <= max_w) {
            fit_end = word_end;
        } else if (fit_end) {
            /* this word goes to the next line */
            rc = push_line(&lines, &n, &cap, line, (size_t)(fit_end - line));
            line = fit_end;
            while (*line == ' ')
                line++;
            fit_end = NULL;
            p = line;
            continue;
        } else {
            /* one word wider than a line: cut it between characters */
            const char *q = line, *last = NULL;
            while (q < word_end) {
                const char *nq = q + u8len(q);
                if (text_width(font, line, (size_t)(nq - line)) > max_w)
                    break;
                last = nq;
                q = nq;
            }
            if (!last)
                last = line + u8len(line);
            rc = push_line(&lines, &n, &cap, line, (size_t)(last - line));
            line = last;
            p = line;
            continue;
        }
        if (!*word_end)
            break;
        p = word_end + 1;
    }
    if (rc == QMS_OK && *line)
        rc = push_line(&lines, &n, &cap, line, strlen(line));
    if (rc) {
        qms_raster_free_lines(lines, n);
        return rc;
    }
    *lines_out = lines;
    *n_out = n;
    return QMS_OK;
}

void qms_raster_free_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        qms_free(lines[i]);
    qms_free(lines);
}

int qms_raster_qr(const char *data, int module, char ecc, qms_raster *out)
{
    memset(out, 0, sizeof *out);
    if (!data || !*data || module < 1 || module > 16)
        return QMS_ERR_INVAL;
    QRecLevel lv = ecc == 'L'   ? QR_ECLEVEL_L
                   : ecc == 'Q' ? QR_ECLEVEL_Q
                   : ecc == 'H' ? QR_ECLEVEL_H
                                : QR_ECLEVEL_M;
    QRcode *q = QRcode_encodeData((int)strlen(data), (const unsigned char *)data, 0, lv);
    if (!q)
        return QMS_ERR_TOO_LARGE;
    int rc = qms_raster_new(out, q->width * module, q->width * module);
    if (!rc) {
        for (int y = 0; y < q->width; y++)
            for (int x = 0; x < q->width; x++)
                if (q->data[y * q->width + x] & 1)
                    for (int dy = 0; dy < module; dy++)
                        for (int dx = 0; dx < module; dx++)
                            qms_raster_set(out, x * module + dx, y * module + dy, 1);
    }
    QRcode_free(q);
    return rc;
}

uint64_t qms_raster_hash_bits(int w, int h, const uint8_t *bits, int stride)
{
    uint64_t hsh = 1469598103934665603ull;
    uint32_t dims[2] = {(uint32_t)w, (uint32_t)h};
    const uint8_t *d = (const uint8_t *)dims;
    for (size_t i = 0; i < sizeof dims; i++)
        hsh = (hsh ^ d[i]) * 1099511628211ull;
    for (size_t i = 0; i < (size_t)stride * (size_t)h; i++)
        hsh = (hsh ^ bits[i]) * 1099511628211ull;
    return hsh;
}

uint64_t qms_raster_hash(const qms_raster *r)
{
    return qms_raster_hash_bits(r->stride * 8, r->h, r->bits, r->stride);
}

int qms_text_is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}
