#include "vprinter_render.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/file.h"
#include "qms/log.h"
#include "qms/png.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>
#include <SDL2/SDL_ttf.h>
#include <cjson/cJSON.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>
#include <zbar.h>

/* NotoMono's advance is 0.6 em: at 20 px a character is 12 dots wide, the
 * printer's font A cell (12 x 24). Other sizes are scaled from it. */
#define MONO_PX 20

struct qms_vp_render {
    TTF_Font *mono;
    zbar_image_scanner_t *scanner;
};

int qms_vp_render_new(const char *font_dir, qms_vp_render **out)
{
    *out = NULL;
    qms_vp_render *r = qms_calloc(1, sizeof *r);
    if (!r)
        return QMS_ERR_NOMEM;
    if (TTF_Init() != 0) {
        qms_free(r);
        return QMS_ERR_IO;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/NotoMono-Regular.ttf",
             font_dir && *font_dir ? font_dir : "/usr/share/fonts/truetype/noto");
    r->mono = TTF_OpenFont(path, MONO_PX);
    if (!r->mono) {
        QMS_ERROR("vprinter: font %s: %s", path, TTF_GetError());
        TTF_Quit();
        qms_free(r);
        return QMS_ERR_IO;
    }
    r->scanner = zbar_image_scanner_create();
    zbar_image_scanner_set_config(r->scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(r->scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    *out = r;
    return QMS_OK;
}

void qms_vp_render_free(qms_vp_render *r)
{
    if (!r)
        return;
    if (r->mono)
        TTF_CloseFont(r->mono);
    TTF_Quit();
    if (r->scanner)
        zbar_image_scanner_destroy(r->scanner);
    qms_free(r);
}

static void fill(SDL_Surface *s, int x, int y, int w, int h)
{
    SDL_Rect rc = {x, y, w, h};
    SDL_FillRect(s, &rc, SDL_MapRGB(s->format, 0, 0, 0));
}

static void draw_raster(SDL_Surface *s, const qms_vp_elem *e)
{
    int sx = (e->mode & 1) ? 2 : 1, sy = (e->mode & 2) ? 2 : 1;
    for (int y = 0; y < e->rows; y++)
        for (int x = 0; x < e->stride * 8; x++)
            if ((e->bits[(size_t)y * (size_t)e->stride + (size_t)(x >> 3)] >> (7 - (x & 7))) & 1)
                fill(s, e->x + x * sx, e->y + y * sy, sx, sy);
}

static void draw_qr(SDL_Surface *s, const qms_vp_elem *e)
{
    QRecLevel lv = e->ecc == 'M'   ? QR_ECLEVEL_M
                   : e->ecc == 'Q' ? QR_ECLEVEL_Q
                   : e->ecc == 'H' ? QR_ECLEVEL_H
                                   : QR_ECLEVEL_L;
    QRcode *q =
        QRcode_encodeData((int)strlen(e->payload), (const unsigned char *)e->payload, 0, lv);
    if (!q)
        return;
    for (int y = 0; y < q->width; y++)
        for (int x = 0; x < q->width; x++)
            if (q->data[y * q->width + x] & 1)
                fill(s, e->x + x * e->module, e->y + y * e->module, e->module, e->module);
    QRcode_free(q);
}

static void draw_text(qms_vp_render *r, SDL_Surface *s, const qms_vp_elem *e)
{
    SDL_Color black = {0, 0, 0, 255};
    SDL_Surface *t = TTF_RenderText_Blended(r->mono, e->text, black);
    if (!t)
        return;
    /* fit the glyphs' box (advance x font height) into the printer's cells */
    int n = (int)strlen(e->text);
    int cw = (e->font_b ? 9 : 12) * e->wmul, ch = (e->font_b ? 17 : 24) * e->hmul;
    SDL_Rect src = {0, 0, t->w, t->h};
    SDL_Rect dst = {e->x, e->y, cw * n, ch};
    SDL_BlitScaled(t, &src, s, &dst);
    if (e->bold) {
        dst.x += e->wmul; /* double strike, a dot to the right, like the printer */
        dst.w = cw * n;
        dst.h = ch;
        dst.y = e->y;
        SDL_BlitScaled(t, &src, s, &dst);
    }
    SDL_FreeSurface(t);
}

/* Thermal paper has two colours: threshold; keep a grey copy for zbar. */
static void to_paper(SDL_Surface *s, uint8_t *gray)
{
    SDL_LockSurface(s);
    for (int y = 0; y < s->h; y++) {
        uint32_t *row = (uint32_t *)((uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch);
        for (int x = 0; x < s->w; x++) {
            uint8_t rr, gg, bb;
            SDL_GetRGB(row[x], s->format, &rr, &gg, &bb);
            int lum = (rr * 299 + gg * 587 + bb * 114) / 1000;
            uint8_t v = lum < 128 ? 0 : 255;
            row[x] = SDL_MapRGB(s->format, v, v, v);
            gray[(size_t)y * (size_t)s->w + (size_t)x] = v;
        }
    }
    SDL_UnlockSurface(s);
}

/* zbar over the paper with a white margin (quiet zone at the paper's edge). */
static cJSON *scan_qr(qms_vp_render *r, const uint8_t *gray, int w, int h)
{
    cJSON *arr = cJSON_CreateArray();
    const int m = 32;
    int W = w + 2 * m, H = h + 2 * m;
    uint8_t *buf = qms_malloc((size_t)W * (size_t)H);
    if (!buf)
        return arr;
    memset(buf, 255, (size_t)W * (size_t)H);
    for (int y = 0; y < h; y++)
        memcpy(buf + (size_t)(y + m) * (size_t)W + m, gray + (size_t)y * (size_t)w, (size_t)w);
    zbar_image_t *img = zbar_image_create();
    zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(img, (unsigned)W, (unsigned)H);
    zbar_image_set_data(img, buf, (unsigned long)W * (unsigned long)H, NULL);
    if (zbar_scan_image(r->scanner, img) > 0) {
        for (const zbar_symbol_t *sym = zbar_image_first_symbol(img); sym;
             sym = zbar_symbol_next(sym))
            if (zbar_symbol_get_type(sym) == ZBAR_QRCODE)
                cJSON_AddItemToArray(arr, cJSON_CreateString(zbar_symbol_get_data(sym)));
    }
    zbar_image_destroy(img);
    qms_free(buf);
    return arr;
}

int qms_vp_render_page(qms_vp_render *r, const qms_vp_page *pg, int n, const char *dir)
{
    int h = pg->height > 0 ? pg->height : 1;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, pg->width, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!s)
        return QMS_ERR_NOMEM;
    SDL_FillRect(s, NULL, SDL_MapRGB(s->format, 255, 255, 255));

    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "n", n);
    cJSON_AddNumberToObject(j, "bytes", (double)pg->bytes);
    cJSON_AddNumberToObject(j, "width", pg->width);
    cJSON_AddNumberToObject(j, "height", pg->height);
    cJSON_AddBoolToObject(j, "cut", pg->cut);
    cJSON *texts = cJSON_AddArrayToObject(j, "text");
    cJSON *rasters = cJSON_AddArrayToObject(j, "rasters");
    cJSON *qrs = cJSON_AddArrayToObject(j, "qr");
    for (int i = 0; i < pg->nelems; i++) {
        const qms_vp_elem *e = &pg->elems[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "x", e->x);
        cJSON_AddNumberToObject(o, "y", e->y);
        cJSON_AddNumberToObject(o, "w", e->w);
        cJSON_AddNumberToObject(o, "h", e->h);
        if (e->kind == QMS_VP_TEXT) {
            draw_text(r, s, e);
            cJSON_AddStringToObject(o, "text", e->text);
            cJSON_AddStringToObject(o, "font", e->font_b ? "B" : "A");
            cJSON_AddNumberToObject(o, "wmul", e->wmul);
            cJSON_AddNumberToObject(o, "hmul", e->hmul);
            cJSON_AddBoolToObject(o, "bold", e->bold);
            cJSON_AddItemToArray(texts, o);
        } else if (e->kind == QMS_VP_RASTER) {
            draw_raster(s, e);
            char hx[20];
            snprintf(hx, sizeof hx, "%016llx", (unsigned long long)e->hash);
            cJSON_AddNumberToObject(o, "mode", e->mode);
            cJSON_AddNumberToObject(o, "bytes", (double)e->stride * e->rows);
            cJSON_AddStringToObject(o, "hash", hx);
            if (e->nv[0])
                cJSON_AddStringToObject(o, "nv", e->nv);
            cJSON_AddItemToArray(rasters, o);
        } else {
            draw_qr(s, e);
            cJSON_AddStringToObject(o, "payload", e->payload);
            cJSON_AddNumberToObject(o, "module", e->module);
            char ecc[2] = {e->ecc, 0};
            cJSON_AddStringToObject(o, "ecc", ecc);
            cJSON_AddItemToArray(qrs, o);
        }
    }
    uint8_t *gray = qms_malloc((size_t)s->w * (size_t)s->h);
    if (gray) {
        to_paper(s, gray);
        cJSON_AddItemToObject(j, "qr_scanned", scan_qr(r, gray, s->w, s->h));
        qms_free(gray);
    }
    cJSON *ref = cJSON_AddArrayToObject(j, "refused");
    for (int i = 0; i < pg->nrefused; i++)
        cJSON_AddItemToArray(ref, cJSON_CreateString(pg->refused[i]));

    int rc = QMS_OK;
    char path[1024];
    snprintf(path, sizeof path, "%s/%d.png", dir, n);
    if (qms_png_save(s, path) != QMS_OK) {
        QMS_ERROR("vprinter: cannot write %s: %s", path, IMG_GetError());
        rc = QMS_ERR_IO;
    }
    SDL_FreeSurface(s);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/%d.json", dir, n);
    if (!rc && (!text || qms_file_replace_data(path, text, strlen(text)) != QMS_OK)) {
        QMS_ERROR("vprinter: cannot write %s", path);
        rc = QMS_ERR_IO;
    }
    cJSON_free(text);
    return rc;
}
