/* See escpos_decode.h. Written from the ESC/POS command reference (Epson
 * "ESC/POS Application Programming Guide" / command reference for TM-T88):
 * byte layouts below are the manual's, not printer/escpos.c's. */
#include "escpos_decode.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>
#include <SDL2/SDL_ttf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT_A_W 12
#define FONT_A_H 24
#define LINE_SPACING 30 /* ESC 2: default line spacing (about 1/6 inch) */

typedef struct dec {
    const uint8_t *p;
    size_t n, i;
    ed_page *pg;
    ed_nv *nv;
    char *err;
    size_t errlen;
    int align, bold, wmul, hmul;
    char line[256];
    int nline;
    int line_wmul, line_hmul, line_bold;
    char qr[1024];
    size_t qrlen;
    int qr_module;
} dec;

__attribute__((format(printf, 2, 3))) static int fail(dec *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(d->err, d->errlen, "at byte %zu: ", d->i);
    if (k >= 0 && (size_t)k < d->errlen)
        vsnprintf(d->err + k, d->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static int need(dec *d, size_t k)
{
    if (d->i + k > d->n)
        return fail(d, "command cut short (%zu bytes needed, %zu left)", k, d->n - d->i);
    return 0;
}

int ed_page_init(ed_page *page, int width)
{
    memset(page, 0, sizeof *page);
    page->width = width;
    page->cap = 4096;
    page->pix = calloc((size_t)width * (size_t)page->cap, 1);
    return page->pix ? 0 : -1;
}

void ed_page_free(ed_page *page)
{
    free(page->pix);
    memset(page, 0, sizeof *page);
}

void ed_nv_init(ed_nv *nv)
{
    memset(nv, 0, sizeof *nv);
}

void ed_nv_free(ed_nv *nv)
{
    for (int i = 0; i < nv->n; i++)
        free(nv->img[i].bits);
    memset(nv, 0, sizeof *nv);
}

static int grow(dec *d, int rows)
{
    ed_page *pg = d->pg;
    if (rows <= pg->cap)
        return 0;
    int cap = pg->cap;
    while (cap < rows)
        cap *= 2;
    if (cap > 1 << 16)
        return fail(d, "page longer than %d dots", 1 << 16);
    uint8_t *np = realloc(pg->pix, (size_t)pg->width * (size_t)cap);
    if (!np)
        return fail(d, "out of memory");
    memset(np + (size_t)pg->width * (size_t)pg->cap, 0,
           (size_t)pg->width * (size_t)(cap - pg->cap));
    pg->pix = np;
    pg->cap = cap;
    return 0;
}

static int xpos(dec *d, int w)
{
    if (d->align == 1)
        return (d->pg->width - w) / 2;
    if (d->align == 2)
        return d->pg->width - w;
    return 0;
}

static ed_item *add_item(dec *d, int kind, int x, int y, int w, int h)
{
    ed_page *pg = d->pg;
    if (pg->nitems >= (int)(sizeof pg->items / sizeof pg->items[0])) {
        fail(d, "more than %d printed items", pg->nitems);
        return NULL;
    }
    ed_item *it = &pg->items[pg->nitems++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->x = x;
    it->y = y;
    it->w = w;
    it->h = h;
    return it;
}

/* Put a w x h image (1 byte a dot) scaled sx, sy at the current line. */
static int put_image(dec *d, int kind, const uint8_t *img, int w, int h, int sx, int sy,
                     ed_item **out)
{
    int W = w * sx, H = h * sy;
    if (W > d->pg->width)
        return fail(d, "image %d dots wide on %d-dot paper", W, d->pg->width);
    int x0 = xpos(d, W), y0 = d->pg->h;
    if (grow(d, y0 + H))
        return -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            d->pg->pix[(size_t)(y0 + y) * (size_t)d->pg->width + (size_t)(x0 + x)] =
                img[(size_t)(y / sy) * (size_t)w + (size_t)(x / sx)];
    ed_item *it = add_item(d, kind, x0, y0, W, H);
    if (!it)
        return -1;
    d->pg->h += H;
    if (out)
        *out = it;
    return 0;
}

static TTF_Font *mono_font(int bold)
{
    static TTF_Font *f[2];
    static int tried[2];
    if (!tried[bold]) {
        tried[bold] = 1;
        if (!TTF_WasInit() && TTF_Init() != 0)
            return NULL;
        f[bold] = TTF_OpenFont(bold ? "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
                                    : "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                               20);
    }
    return f[bold];
}

/* Draw one character of the printer's font into its cell (a stand-in font:
 * the real glyphs are the printer's; only the picture needs them). */
static void draw_char(dec *d, char c, int x0, int y0, int cw, int ch, int bold)
{
    TTF_Font *f = mono_font(bold);
    char s[2] = {c, 0};
    SDL_Surface *g = f && c != ' ' ? TTF_RenderText_Solid(f, s, (SDL_Color){0, 0, 0, 255}) : NULL;
    if (!g)
        return;
    SDL_Surface *c32 = SDL_ConvertSurfaceFormat(g, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_FreeSurface(g);
    if (!c32)
        return;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            int sx = x * c32->w / cw, sy = y * c32->h / ch;
            const uint32_t *row = (const uint32_t *)((const uint8_t *)c32->pixels + sy * c32->pitch);
            if ((row[sx] >> 24) > 0x80)
                d->pg->pix[(size_t)(y0 + y) * (size_t)d->pg->width + (size_t)(x0 + x)] = 1;
        }
    SDL_FreeSurface(c32);
}

/* Print the line buffer (LF, ESC J, ESC d) and feed. feed < 0: one line. */
static int print_line(dec *d, int feed)
{
    int lh = 0;
    if (d->nline > 0) {
        int cw = FONT_A_W * d->line_wmul, ch = FONT_A_H * d->line_hmul;
        int W = cw * d->nline;
        if (W > d->pg->width)
            return fail(d, "text line of %d dots on %d-dot paper", W, d->pg->width);
        int x0 = xpos(d, W), y0 = d->pg->h;
        if (grow(d, y0 + ch + LINE_SPACING))
            return -1;
        for (int k = 0; k < d->nline; k++)
            draw_char(d, d->line[k], x0 + k * cw, y0, cw, ch, d->line_bold);
        ed_item *it = add_item(d, ED_TEXT, x0, y0, W, ch);
        if (!it)
            return -1;
        memcpy(it->text, d->line, (size_t)d->nline);
        it->text[d->nline] = '\0';
        it->wmul = d->line_wmul;
        it->hmul = d->line_hmul;
        it->bold = d->line_bold;
        lh = ch;
        d->nline = 0;
    }
    if (feed < 0) /* LF: the line spacing, or the characters' height if taller */
        feed = lh > LINE_SPACING ? lh : LINE_SPACING;
    else
        feed += lh;
    if (grow(d, d->pg->h + feed))
        return -1;
    d->pg->h += feed;
    return 0;
}

/* GS v 0 m xL xH yL yH d1...dk: k = (xL + xH*256) * (yL + yH*256). */
static int cmd_raster(dec *d)
{
    if (need(d, 8))
        return -1;
    int m = d->p[d->i + 3];
    int xb = d->p[d->i + 4] | d->p[d->i + 5] << 8;
    int yd = d->p[d->i + 6] | d->p[d->i + 7] << 8;
    if (m > 3 && !(m >= 48 && m <= 51))
        return fail(d, "GS v 0: mode %d", m);
    m &= 3;
    if (xb < 1 || yd < 1 || yd > 2303)
        return fail(d, "GS v 0: size %d bytes x %d dots", xb, yd);
    size_t k = (size_t)xb * (size_t)yd;
    if (need(d, 8 + k))
        return -1;
    if (d->nline)
        return fail(d, "GS v 0 with text in the line buffer");
    const uint8_t *bits = d->p + d->i + 8;
    int w = xb * 8;
    uint8_t *img = malloc((size_t)w * (size_t)yd);
    if (!img)
        return fail(d, "out of memory");
    for (int y = 0; y < yd; y++)
        for (int x = 0; x < w; x++)
            img[(size_t)y * (size_t)w + (size_t)x] = bits[(size_t)y * (size_t)xb + (size_t)(x / 8)] >>
                                                         (7 - x % 8) & 1;
    int rc = put_image(d, ED_RASTER, img, w, yd, (m & 1) ? 2 : 1, (m & 2) ? 2 : 1, NULL);
    free(img);
    d->i += 8 + k;
    return rc;
}

/* GS ( k pL pH cn fn [params]: cn 49 = QR code. */
static int cmd_qr(dec *d)
{
    if (need(d, 5))
        return -1;
    size_t len = (size_t)(d->p[d->i + 3] | d->p[d->i + 4] << 8);
    if (len < 2 || need(d, 5 + len))
        return len < 2 ? fail(d, "GS ( k: length %zu", len) : -1;
    const uint8_t *a = d->p + d->i + 5;
    int cn = a[0], fn = a[1];
    if (cn != 49)
        return fail(d, "GS ( k: symbol %d (only QR, 49)", cn);
    switch (fn) {
    case 65: /* model: n1 (49 model 1, 50 model 2), n2 = 0 */
        if (len != 4 || (a[2] != 49 && a[2] != 50))
            return fail(d, "GS ( k 165: bad");
        break;
    case 67: /* module size 1..16 */
        if (len != 3 || a[2] < 1 || a[2] > 16)
            return fail(d, "GS ( k 167: module %d", len == 3 ? a[2] : -1);
        d->qr_module = a[2];
        break;
    case 69: /* error correction 48..51 */
        if (len != 3 || a[2] < 48 || a[2] > 51)
            return fail(d, "GS ( k 169: bad");
        break;
    case 80: /* store: m = 48, data */
        if (a[2] != 48 || len - 3 >= sizeof d->qr)
            return fail(d, "GS ( k 180: bad");
        memcpy(d->qr, a + 3, len - 3);
        d->qrlen = len - 3;
        break;
    case 81: { /* print the stored symbol: m = 48 */
        if (len != 3 || a[2] != 48 || d->qrlen == 0)
            return fail(d, "GS ( k 181 without data");
        /* The symbol's modules are the printer's to draw; mark its place. */
        int side = 25 * (d->qr_module ? d->qr_module : 3);
        int x0 = xpos(d, side), y0 = d->pg->h;
        if (grow(d, y0 + side))
            return -1;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
                if (x < 2 || y < 2 || x >= side - 2 || y >= side - 2)
                    d->pg->pix[(size_t)(y0 + y) * (size_t)d->pg->width + (size_t)(x0 + x)] = 1;
        ed_item *it = add_item(d, ED_QR, x0, y0, side, side);
        if (!it)
            return -1;
        size_t c = d->qrlen < sizeof it->text ? d->qrlen : sizeof it->text - 1;
        memcpy(it->text, d->qr, c);
        it->text[c] = '\0';
        d->pg->h += side;
        break;
    }
    default:
        return fail(d, "GS ( k: function %d", fn);
    }
    d->i += 5 + len;
    return 0;
}

static ed_nv_image *nv_find(ed_nv *nv, uint8_t k1, uint8_t k2)
{
    for (int i = 0; nv && i < nv->n; i++)
        if (nv->img[i].kc[0] == k1 && nv->img[i].kc[1] == k2)
            return &nv->img[i];
    return NULL;
}

/* GS ( L pL pH m fn [params]: m = 48. */
static int cmd_graphics(dec *d)
{
    if (need(d, 5))
        return -1;
    size_t len = (size_t)(d->p[d->i + 3] | d->p[d->i + 4] << 8);
    if (len < 2 || need(d, 5 + len))
        return len < 2 ? fail(d, "GS ( L: length %zu", len) : -1;
    const uint8_t *a = d->p + d->i + 5;
    int m = a[0], fn = a[1];
    if (m != 48)
        return fail(d, "GS ( L: m = %d", m);
    switch (fn) {
    case 48: /* NV capacity query (fn 0 / 48) */
    case 51: /* remaining capacity */
    case 64: /* key code list: m fn d1 d2 = 'K' 'C' */
        break;
    case 65: /* delete all: 'C' 'L' 'R' */
        if (len != 5 || memcmp(a + 2, "CLR", 3) != 0)
            return fail(d, "GS ( L fn 65: bad");
        if (d->nv)
            ed_nv_free(d->nv);
        break;
    case 66: { /* delete one: kc1 kc2 */
        if (len != 4)
            return fail(d, "GS ( L fn 66: bad");
        ed_nv_image *im = nv_find(d->nv, a[2], a[3]);
        if (im) {
            free(im->bits);
            *im = d->nv->img[--d->nv->n];
        }
        break;
    }
    case 67: { /* define NV raster: a kc1 kc2 b xL xH yL yH c d1...dk */
        if (len < 12)
            return fail(d, "GS ( L fn 67: short");
        int fmt = a[2], k1 = a[3], k2 = a[4], colors = a[5];
        int w = a[6] | a[7] << 8, h = a[8] | a[9] << 8, c = a[10];
        if (fmt != 48 || colors != 1 || c != 49)
            return fail(d, "GS ( L fn 67: a=%d b=%d c=%d", fmt, colors, c);
        if (k1 < 32 || k1 > 126 || k2 < 32 || k2 > 126)
            return fail(d, "GS ( L fn 67: key %d %d", k1, k2);
        if (w < 1 || w > 8192 || h < 1 || h > 2304)
            return fail(d, "GS ( L fn 67: %d x %d", w, h);
        size_t stride = (size_t)(w + 7) / 8;
        if (len != 11 + stride * (size_t)h)
            return fail(d, "GS ( L fn 67: %zu data bytes for %d x %d", len - 11, w, h);
        if (!d->nv)
            return fail(d, "GS ( L fn 67 without an NV memory");
        ed_nv_image *im = nv_find(d->nv, (uint8_t)k1, (uint8_t)k2);
        if (im) {
            free(im->bits);
        } else {
            if (d->nv->n >= 256)
                return fail(d, "NV memory full");
            im = &d->nv->img[d->nv->n++];
        }
        im->kc[0] = (uint8_t)k1;
        im->kc[1] = (uint8_t)k2;
        im->w = w;
        im->h = h;
        im->bits = malloc((size_t)w * (size_t)h);
        if (!im->bits)
            return fail(d, "out of memory");
        const uint8_t *bits = a + 11;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                im->bits[(size_t)y * (size_t)w + (size_t)x] =
                    bits[(size_t)y * stride + (size_t)(x / 8)] >> (7 - x % 8) & 1;
        break;
    }
    case 69: { /* print NV: kc1 kc2 x y (scale 1 or 2) */
        if (len != 6)
            return fail(d, "GS ( L fn 69: length %zu", len);
        if (a[4] < 1 || a[4] > 2 || a[5] < 1 || a[5] > 2)
            return fail(d, "GS ( L fn 69: scale %d %d", a[4], a[5]);
        ed_nv_image *im = nv_find(d->nv, a[2], a[3]);
        if (!im)
            return fail(d, "GS ( L fn 69: no image at key %c%c", a[2], a[3]);
        if (d->nline)
            return fail(d, "NV print with text in the line buffer");
        ed_item *it = NULL;
        if (put_image(d, ED_NV, im->bits, im->w, im->h, a[4], a[5], &it))
            return -1;
        it->kc[0] = a[2];
        it->kc[1] = a[3];
        break;
    }
    default:
        return fail(d, "GS ( L: function %d", fn);
    }
    d->i += 5 + len;
    return 0;
}

int ed_decode(const uint8_t *p, size_t n, ed_nv *nv, ed_page *page, size_t *used, char *err,
              size_t errlen)
{
    dec d = {.p = p, .n = n, .pg = page, .nv = nv, .err = err, .errlen = errlen};
    d.wmul = d.hmul = 1;
    if (err && errlen)
        err[0] = '\0';
    int rc = 0;
    while (d.i < d.n && rc == 0 && !page->cut) {
        uint8_t c = p[d.i];
        if (c >= 0x20 && c <= 0x7e) {
            if (d.nline == 0) {
                d.line_wmul = d.wmul;
                d.line_hmul = d.hmul;
                d.line_bold = d.bold;
            }
            if (d.nline >= (int)sizeof d.line - 1)
                return fail(&d, "text line too long");
            d.line[d.nline++] = (char)c;
            d.i++;
            continue;
        }
        if (c == 0x0a) {
            d.i++;
            rc = print_line(&d, -1);
            continue;
        }
        if (c == 0x1b) { /* ESC */
            if (need(&d, 2))
                return -1;
            uint8_t k = p[d.i + 1];
            if (k == '@') {
                d.align = d.bold = 0;
                d.wmul = d.hmul = 1;
                d.nline = 0;
                d.i += 2;
                continue;
            }
            if (need(&d, 3))
                return -1;
            uint8_t v = p[d.i + 2];
            switch (k) {
            case 'a':
                if (v > 2 && !(v >= 48 && v <= 50))
                    return fail(&d, "ESC a %d", v);
                d.align = v & 3;
                break;
            case 'E':
                d.bold = v & 1;
                break;
            case '!': /* bit 3 emphasized, bit 4 double height, bit 5 double width */
                d.bold = (v >> 3) & 1;
                d.hmul = (v & 0x10) ? 2 : 1;
                d.wmul = (v & 0x20) ? 2 : 1;
                break;
            case 'J':
                d.i += 3;
                rc = print_line(&d, v);
                continue;
            case 'd':
                d.i += 3;
                for (int l = 0; l < v && rc == 0; l++)
                    rc = print_line(&d, -1);
                if (v == 0)
                    rc = print_line(&d, 0);
                continue;
            default:
                return fail(&d, "unknown command ESC 0x%02x", k);
            }
            d.i += 3;
            continue;
        }
        if (c == 0x1d) { /* GS */
            if (need(&d, 2))
                return -1;
            uint8_t k = p[d.i + 1];
            if (k == '!') {
                if (need(&d, 3))
                    return -1;
                uint8_t v = p[d.i + 2];
                if ((v >> 4) > 7 || (v & 15) > 7)
                    return fail(&d, "GS ! 0x%02x", v);
                d.wmul = (v >> 4) + 1;
                d.hmul = (v & 15) + 1;
                d.i += 3;
                continue;
            }
            if (k == 'v') {
                if (need(&d, 3))
                    return -1;
                if (p[d.i + 2] != '0')
                    return fail(&d, "GS v 0x%02x", p[d.i + 2]);
                rc = cmd_raster(&d);
                continue;
            }
            if (k == '(') {
                if (need(&d, 3))
                    return -1;
                if (p[d.i + 2] == 'k')
                    rc = cmd_qr(&d);
                else if (p[d.i + 2] == 'L')
                    rc = cmd_graphics(&d);
                else
                    return fail(&d, "GS ( 0x%02x", p[d.i + 2]);
                continue;
            }
            if (k == 'V') { /* 0/48, 1/49: cut; 65/66 n: feed n and cut */
                if (need(&d, 3))
                    return -1;
                uint8_t m = p[d.i + 2];
                size_t len = (m == 65 || m == 66) ? 4 : 3;
                if (m != 0 && m != 1 && m != 48 && m != 49 && m != 65 && m != 66)
                    return fail(&d, "GS V %d", m);
                if (need(&d, len))
                    return -1;
                int feed = len == 4 ? p[d.i + 3] : 0;
                d.i += len;
                rc = print_line(&d, feed);
                page->cut = 1;
                continue;
            }
            if (k == 'r') {
                if (need(&d, 3))
                    return -1;
                d.i += 3;
                continue;
            }
            return fail(&d, "unknown command GS 0x%02x", k);
        }
        if (c == 0x10) { /* DLE: real-time commands */
            if (need(&d, 3))
                return -1;
            uint8_t k = p[d.i + 1];
            if (k == 0x04 || k == 0x05) { /* DLE EOT n, DLE ENQ n */
                d.i += 3;
                continue;
            }
            if (k == 0x14) { /* DLE DC4 fn: 8 = clear buffers (7 fixed bytes follow) */
                uint8_t fn = p[d.i + 2];
                size_t len = fn == 8 ? 10 : 5;
                if (need(&d, len))
                    return -1;
                d.i += len;
                continue;
            }
            return fail(&d, "unknown command DLE 0x%02x", k);
        }
        if (c == 0x00 || c == 0x06 || c == 0x15 || c == 0x18) { /* NUL, handshake */
            d.i++;
            continue;
        }
        return fail(&d, "unexpected byte 0x%02x", c);
    }
    if (used)
        *used = d.i;
    return rc;
}

int ed_page_png(const ed_page *page, const char *path)
{
    int h = page->h > 0 ? page->h : 1;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, page->width, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!s)
        return -1;
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)((uint8_t *)s->pixels + y * s->pitch);
        for (int x = 0; x < page->width; x++)
            row[x] = y < page->h && page->pix[(size_t)y * (size_t)page->width + (size_t)x]
                         ? 0xff000000u
                         : 0xffffffffu;
    }
    int rc = IMG_SavePNG(s, path);
    SDL_FreeSurface(s);
    return rc == 0 ? 0 : -1;
}
