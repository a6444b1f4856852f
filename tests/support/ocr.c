/* See ocr.h. */
#define _GNU_SOURCE
#include "ocr.h"

#include "support.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_ink(const ocr_line *l, int x, int y)
{
    uint8_t v = l->pix[(size_t)y * (size_t)l->stride + (size_t)x];
    if (l->invert)
        return v >= 128;
    if (l->dark_is_ink)
        return v < 128;
    return v != 0;
}

void ocr_normalize(const char *s, char *out, size_t outlen)
{
    if (!outlen)
        return;
    gchar *nfc = g_utf8_normalize(s, -1, G_NORMALIZE_NFC);
    const char *p = nfc ? nfc : s;
    size_t k = 0;
    int space = 0;
    for (; *p && k + 1 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = k > 0;
            continue;
        }
        if (space && k + 2 < outlen)
            out[k++] = ' ';
        space = 0;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    g_free(nfc);
}

int ocr_available(void)
{
    FILE *f = popen("tesseract --list-langs 2>/dev/null", "r");
    if (!f)
        return 0;
    char line[128];
    int vie = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "vie", 3) == 0 && (line[3] == '\n' || line[3] == '\0'))
            vie = 1;
    return pclose(f) == 0 && vie;
}

typedef struct placed {
    int bx, by, bw, bh; /* ink box in the source */
    int ow, oh;         /* scaled size */
    int top;            /* where in the composed image */
} placed;

typedef struct word {
    int line, left;
    char text[256];
} word;

static int cmp_word(const void *a, const void *b)
{
    const word *x = a, *y = b;
    if (x->line != y->line)
        return x->line - y->line;
    return x->left - y->left;
}

int ocr_read_lines(ocr_line *lines, int n, const char *lang, const char *debug_png)
{
    placed *pl = calloc((size_t)n, sizeof *pl);
    if (!pl)
        return -1;
    int W = 0, H = 16;
    const int pad = 24;
    for (int i = 0; i < n; i++) {
        ocr_line *l = &lines[i];
        l->text[0] = '\0';
        int x0 = l->x + l->w, y0 = l->y + l->h, x1 = -1, y1 = -1;
        for (int y = l->y; y < l->y + l->h; y++)
            for (int x = l->x; x < l->x + l->w; x++)
                if (is_ink(l, x, y)) {
                    if (x < x0)
                        x0 = x;
                    if (x > x1)
                        x1 = x;
                    if (y < y0)
                        y0 = y;
                    if (y > y1)
                        y1 = y;
                }
        if (x1 < 0) {
            pl[i].oh = 0;
            continue;
        }
        pl[i].bx = x0;
        pl[i].by = y0;
        pl[i].bw = x1 - x0 + 1;
        pl[i].bh = y1 - y0 + 1;
        int ink_h = l->ink_h > 0 ? l->ink_h : 40;
        double s = l->scale > 0 ? l->scale : (double)ink_h / pl[i].bh;
        if (l->x_h > 0 && l->scale <= 0) {
            int maxc = 0, dense = 0;
            int *rc_ = calloc((size_t)pl[i].bh, sizeof *rc_);
            if (!rc_) {
                free(pl);
                return -1;
            }
            for (int y = 0; y < pl[i].bh; y++) {
                for (int x = 0; x < pl[i].bw; x++)
                    rc_[y] += is_ink(l, x0 + x, y0 + y);
                if (rc_[y] > maxc)
                    maxc = rc_[y];
            }
            for (int y = 0; y < pl[i].bh; y++)
                dense += rc_[y] * 5 >= maxc * 2;
            free(rc_);
            if (dense > 0)
                s = (double)l->x_h / dense;
        }
        pl[i].ow = (int)(pl[i].bw * s + 0.5);
        pl[i].oh = (int)(pl[i].bh * s + 0.5);
        if (pl[i].oh < 1)
            pl[i].oh = 1;
        if (pl[i].ow < 1)
            pl[i].ow = 1;
        pl[i].top = H;
        H += pl[i].oh + (pl[i].oh > 24 ? pl[i].oh : 24); /* a line's height of white between */
        if (pl[i].ow + 2 * pad > W)
            W = pl[i].ow + 2 * pad;
    }
    if (W == 0) {
        free(pl);
        return 0;
    }
    H += 16;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!s) {
        free(pl);
        return -1;
    }
    SDL_FillRect(s, NULL, 0xffffffffu);
    /* area sampling, 4 x 4 samples a pixel: smooth when shrinking or growing */
    for (int i = 0; i < n; i++) {
        if (!pl[i].oh)
            continue;
        const ocr_line *l = &lines[i];
        for (int oy = 0; oy < pl[i].oh; oy++) {
            uint32_t *row = (uint32_t *)((uint8_t *)s->pixels + (pl[i].top + oy) * s->pitch);
            for (int ox = 0; ox < pl[i].ow; ox++) {
                int ink = 0;
                for (int sy = 0; sy < 4; sy++)
                    for (int sx = 0; sx < 4; sx++) {
                        int x = pl[i].bx + (int)((ox + (sx + 0.5) / 4.0) * pl[i].bw / pl[i].ow);
                        int y = pl[i].by + (int)((oy + (sy + 0.5) / 4.0) * pl[i].bh / pl[i].oh);
                        if (x >= pl[i].bx + pl[i].bw)
                            x = pl[i].bx + pl[i].bw - 1;
                        if (y >= pl[i].by + pl[i].bh)
                            y = pl[i].by + pl[i].bh - 1;
                        ink += is_ink(l, x, y);
                    }
                uint32_t g = (uint32_t)(255 - ink * 255 / 16);
                row[pad + ox] = 0xff000000u | g << 16 | g << 8 | g;
            }
        }
    }
    char dir[256], png[300], base[300], tsv[320];
    if (qms_test_tmpdir(dir, sizeof dir, "ocr") != 0) {
        SDL_FreeSurface(s);
        free(pl);
        return -1;
    }
    if (debug_png)
        snprintf(png, sizeof png, "%s", debug_png);
    else
        snprintf(png, sizeof png, "%s/lines.png", dir);
    snprintf(base, sizeof base, "%s/out", dir);
    snprintf(tsv, sizeof tsv, "%s/out.tsv", dir);
    int rc = IMG_SavePNG(s, png);
    /* Each line also as its own image, listed in one file: tesseract reads
     * a list in one run, and reads each image as a single line (psm 7)
     * without guessing the layout of the whole column. */
    char list[320];
    snprintf(list, sizeof list, "%s/lines.txt", dir);
    FILE *lf = rc == 0 ? fopen(list, "w") : NULL;
    int *page_line = calloc((size_t)n + 1, sizeof *page_line);
    int npage = 0;
    for (int i = 0; lf && page_line && i < n; i++) {
        if (!pl[i].oh)
            continue;
        int top = pl[i].top - pad / 2, hh = pl[i].oh + pad;
        if (top < 0)
            top = 0;
        if (top + hh > H)
            hh = H - top;
        SDL_Surface *one = SDL_CreateRGBSurfaceWithFormat(0, pl[i].ow + 2 * pad, hh, 32,
                                                          SDL_PIXELFORMAT_ARGB8888);
        if (!one) {
            rc = -1;
            break;
        }
        SDL_Rect src = {0, top, pl[i].ow + 2 * pad, hh};
        SDL_SetSurfaceBlendMode(s, SDL_BLENDMODE_NONE);
        SDL_BlitSurface(s, &src, one, NULL);
        char p1[320];
        snprintf(p1, sizeof p1, "%s/l%04d.png", dir, i);
        if (IMG_SavePNG(one, p1) != 0)
            rc = -1;
        SDL_FreeSurface(one);
        fprintf(lf, "%s\n", p1);
        page_line[++npage] = i; /* tesseract counts pages from 1 */
    }
    if (lf)
        fclose(lf);
    SDL_FreeSurface(s);
    if (rc != 0 || !lf || !page_line) {
        free(page_line);
        qms_test_rmdir(dir);
        free(pl);
        return -1;
    }
    const char *psm = getenv("QMS_OCR_PSM") && *getenv("QMS_OCR_PSM") ? getenv("QMS_OCR_PSM") : "7";
    int per_line = strcmp(psm, "7") == 0;
    char *argv[] = {"tesseract", per_line ? list : png, base, "-l", (char *)lang, "--psm",
                    (char *)psm, "-c", "tessedit_create_tsv=1", "quiet", NULL};
    char log[320];
    snprintf(log, sizeof log, "%s/tesseract.log", dir);
    /* one thread: on small images tesseract's OpenMP threads only spin */
    setenv("OMP_THREAD_LIMIT", "1", 0);
    pid_t pid = qms_test_spawn(argv, log);
    int st = pid > 0 ? qms_test_wait_pid(pid, 300000) : -1;
    FILE *f = st == 0 ? fopen(tsv, "r") : NULL;
    if (!f) {
        fprintf(stderr, "ocr: tesseract failed (status %d), see %s\n", st, log);
        free(page_line);
        free(pl);
        return -1;
    }
    /* level page block par line word left top width height conf text */
    size_t nw = 0, cw = 256;
    word *w = malloc(cw * sizeof *w);
    char buf[1024];
    while (w && fgets(buf, sizeof buf, f)) {
        int level, page, block, par, ln, wn, left, top, width, height;
        float conf;
        char text[256] = "";
        int k = sscanf(buf, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%f\t%255[^\n]", &level, &page,
                       &block, &par, &ln, &wn, &left, &top, &width, &height, &conf, text);
        if (k < 12 || level != 5 || !text[0])
            continue;
        int cy = top + height / 2, which = -1;
        if (per_line)
            which = page >= 1 && page <= npage ? page_line[page] : -1;
        for (int i = 0; !per_line && i < n; i++)
            if (pl[i].oh && cy >= pl[i].top - pl[i].oh / 2 && cy < pl[i].top + pl[i].oh + pl[i].oh / 2)
                which = i;
        if (which < 0)
            continue;
        if (nw == cw) {
            cw *= 2;
            word *nwp = realloc(w, cw * sizeof *w);
            if (!nwp)
                break;
            w = nwp;
        }
        w[nw].line = which;
        w[nw].left = left;
        snprintf(w[nw].text, sizeof w[nw].text, "%s", text);
        nw++;
    }
    fclose(f);
    if (w) {
        qsort(w, nw, sizeof *w, cmp_word);
        for (size_t k = 0; k < nw; k++) {
            char *t = lines[w[k].line].text;
            size_t len = strlen(t);
            snprintf(t + len, sizeof lines[0].text - len, "%s%s", len ? " " : "", w[k].text);
        }
        for (int i = 0; i < n; i++) {
            char tmp[512];
            ocr_normalize(lines[i].text, tmp, sizeof tmp);
            memcpy(lines[i].text, tmp, sizeof tmp);
        }
    }
    int ok = w != NULL;
    free(page_line);
    free(w);
    free(pl);
    qms_test_rmdir(dir);
    return ok ? 0 : -1;
}

int ocr_read_lines_vote(ocr_line *lines, int n, const char *lang, const int *ink_h, int k)
{
    if (k < 1 || k > 9)
        return -1;
    char(*got)[9][512] = calloc((size_t)n, sizeof *got);
    if (!got)
        return -1;
    for (int s = 0; s < k; s++) {
        for (int i = 0; i < n; i++) {
            lines[i].ink_h = ink_h[s];
            lines[i].scale = 0;
            lines[i].x_h = 0;
        }
        if (ocr_read_lines(lines, n, lang, NULL) != 0) {
            free(got);
            return -1;
        }
        for (int i = 0; i < n; i++)
            memcpy(got[i][s], lines[i].text, sizeof got[i][s]);
    }
    for (int i = 0; i < n; i++) {
        int best = k / 2, best_votes = 0; /* no plurality: the middle size */
        for (int a = 0; a < k; a++) {
            int votes = 0;
            for (int b = 0; b < k; b++)
                votes += strcmp(got[i][a], got[i][b]) == 0;
            if (votes > best_votes || (votes == best_votes && abs(a - k / 2) < abs(best - k / 2))) {
                best = a;
                best_votes = votes;
            }
        }
        if (best_votes == 1)
            best = k / 2;
        memcpy(lines[i].text, got[i][best], sizeof lines[i].text);
    }
    free(got);
    return 0;
}

/* ---- screens -------------------------------------------------------------
 * A screen is flat fills (backgrounds, cards, buttons) with text on them in
 * any colour. Every region of one exact colour is a connected component:
 * the big ones (or solid squares) are fills, the rest - glyph strokes and
 * their anti-aliased edges - is ink. The ink goes black on white for
 * tesseract, whatever the colours were. */

typedef struct comp {
    int n, x0, y0, x1, y1;
    uint32_t col;
} comp;

static int is_fill(const comp *c)
{
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    double fillr = (double)c->n / ((double)bw * bh);
    return c->n > 12000 || bw > 400 || bh > 250 || (fillr > 0.85 && bw > 30 && bh > 30);
}

static uint8_t *screen_ink(SDL_Surface *s)
{
    int w = s->w, h = s->h;
    size_t np = (size_t)w * (size_t)h;
    int *lab = malloc(np * sizeof *lab);
    int *stack = malloc(np * sizeof *stack);
    uint8_t *ink = calloc(np, 1);
    comp *cs = NULL;
    size_t ncs = 0, ccap = 0;
    if (!lab || !stack || !ink)
        goto fail;
    for (size_t i = 0; i < np; i++)
        lab[i] = -1;
#define PIX(x, y) (((const uint32_t *)((const uint8_t *)s->pixels + (y) * s->pitch))[x] & 0xffffffu)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i0 = (size_t)y * (size_t)w + (size_t)x;
            if (lab[i0] >= 0)
                continue;
            if (ncs == ccap) {
                ccap = ccap ? ccap * 2 : 4096;
                comp *nc = realloc(cs, ccap * sizeof *cs);
                if (!nc)
                    goto fail;
                cs = nc;
            }
            comp *c = &cs[ncs];
            uint32_t col = PIX(x, y);
            *c = (comp){0, x, y, x, y, col};
            size_t sp = 0;
            stack[sp++] = (int)i0;
            lab[i0] = (int)ncs;
            while (sp) {
                int i = stack[--sp];
                int px = i % w, py = i / w;
                c->n++;
                if (px < c->x0)
                    c->x0 = px;
                if (px > c->x1)
                    c->x1 = px;
                if (py < c->y0)
                    c->y0 = py;
                if (py > c->y1)
                    c->y1 = py;
                const int nx[4] = {px - 1, px + 1, px, px}, ny[4] = {py, py, py - 1, py + 1};
                for (int k = 0; k < 4; k++) {
                    if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h)
                        continue;
                    size_t j = (size_t)ny[k] * (size_t)w + (size_t)nx[k];
                    if (lab[j] < 0 && PIX(nx[k], ny[k]) == col) {
                        lab[j] = (int)ncs;
                        stack[sp++] = (int)j;
                    }
                }
            }
            ncs++;
        }
    /* A small region is ink unless it has the colour of the fill around it
     * (the hole of an "o" on a white card is card, not ink). The fill
     * around: the first fill met going left (or right) from its first pixel. */
    uint8_t *cink = malloc(ncs ? ncs : 1);
    if (!cink)
        goto fail;
    for (size_t k = 0; k < ncs; k++) {
        comp *c = &cs[k];
        if (is_fill(c)) {
            cink[k] = 0;
            continue;
        }
        int y = c->y0, around = -1;
        int sx = 0;
        for (sx = 0; sx < w && lab[(size_t)y * (size_t)w + (size_t)sx] != (int)k; sx++)
            ;
        for (int x = sx - 1; x >= 0 && around < 0; x--)
            if (is_fill(&cs[lab[(size_t)y * (size_t)w + (size_t)x]]))
                around = lab[(size_t)y * (size_t)w + (size_t)x];
        for (int x = c->x1 + 1; x < w && around < 0; x++)
            if (is_fill(&cs[lab[(size_t)y * (size_t)w + (size_t)x]]))
                around = lab[(size_t)y * (size_t)w + (size_t)x];
        cink[k] = !(around >= 0 && cs[around].col == c->col);
    }
#undef PIX
    for (size_t i = 0; i < np; i++)
        ink[i] = cink[lab[i]];
    free(cink);
    free(lab);
    free(stack);
    free(cs);
    return ink;
fail:
    free(lab);
    free(stack);
    free(ink);
    free(cs);
    return NULL;
}

int ocr_read_screen(const char *png, const char *lang, const double *scales, int nscales, char *out,
                    size_t outlen, const char *debug_dir)
{
    out[0] = '\0';
    SDL_Surface *raw = IMG_Load(png);
    if (!raw) {
        fprintf(stderr, "ocr: cannot load %s: %s\n", png, IMG_GetError());
        return -1;
    }
    SDL_Surface *s = SDL_ConvertSurfaceFormat(raw, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_FreeSurface(raw);
    if (!s)
        return -1;
    uint8_t *ink = screen_ink(s);
    int w = s->w, h = s->h;
    SDL_FreeSurface(s);
    if (!ink)
        return -1;
    char dir[256], list[320], base[320], txt[330], log[330];
    if (qms_test_tmpdir(dir, sizeof dir, "ocrs") != 0) {
        free(ink);
        return -1;
    }
    snprintf(list, sizeof list, "%s/list.txt", dir);
    snprintf(base, sizeof base, "%s/out", dir);
    snprintf(txt, sizeof txt, "%s/out.txt", dir);
    snprintf(log, sizeof log, "%s/tesseract.log", dir);
    FILE *lf = fopen(list, "w");
    int rc = lf ? 0 : -1;
    for (int k = 0; rc == 0 && k < nscales; k++) {
        int ow = (int)(w * scales[k] + 0.5), oh = (int)(h * scales[k] + 0.5);
        SDL_Surface *o = SDL_CreateRGBSurfaceWithFormat(0, ow, oh, 32, SDL_PIXELFORMAT_ARGB8888);
        if (!o) {
            rc = -1;
            break;
        }
        for (int oy = 0; oy < oh; oy++) {
            uint32_t *row = (uint32_t *)((uint8_t *)o->pixels + oy * o->pitch);
            for (int ox = 0; ox < ow; ox++) {
                /* area average of the ink under this pixel */
                int xa = (int)(ox / scales[k]), xb = (int)((ox + 1) / scales[k]);
                int ya = (int)(oy / scales[k]), yb = (int)((oy + 1) / scales[k]);
                if (xb <= xa)
                    xb = xa + 1;
                if (yb <= ya)
                    yb = ya + 1;
                int cnt = 0, tot = 0;
                for (int y = ya; y < yb && y < h; y++)
                    for (int x = xa; x < xb && x < w; x++) {
                        cnt += ink[(size_t)y * (size_t)w + (size_t)x];
                        tot++;
                    }
                uint32_t g = tot ? (uint32_t)(255 - 255 * cnt / tot) : 255;
                row[ox] = 0xff000000u | g << 16 | g << 8 | g;
            }
        }
        char p1[400];
        if (debug_dir)
            snprintf(p1, sizeof p1, "%s/ink-%d.png", debug_dir, k);
        else
            snprintf(p1, sizeof p1, "%s/ink-%d.png", dir, k);
        if (IMG_SavePNG(o, p1) != 0)
            rc = -1;
        SDL_FreeSurface(o);
        fprintf(lf, "%s\n", p1);
    }
    if (lf)
        fclose(lf);
    free(ink);
    if (rc == 0) {
        setenv("OMP_THREAD_LIMIT", "1", 0);
        char *argv[] = {"tesseract", list, base, "-l", (char *)lang, "--psm", "11", NULL};
        pid_t pid = qms_test_spawn(argv, log);
        int st = pid > 0 ? qms_test_wait_pid(pid, 300000) : -1;
        char *text = NULL;
        FILE *f = st == 0 ? fopen(txt, "r") : NULL;
        if (!f) {
            fprintf(stderr, "ocr: tesseract failed on %s (status %d)\n", png, st);
            rc = -1;
        } else {
            char line[1024];
            size_t k = 0;
            while (fgets(line, sizeof line, f)) {
                char nl[1024];
                ocr_normalize(line, nl, sizeof nl);
                if (!nl[0])
                    continue;
                int m = snprintf(out + k, outlen - k, "%s\n", nl);
                if (m < 0 || (size_t)m >= outlen - k)
                    break;
                k += (size_t)m;
            }
            fclose(f);
        }
        free(text);
    }
    qms_test_rmdir(dir);
    return rc;
}

/* ---- finding what was read ---- */

/* want (NFC, whitespace collapsed) is in one line of what was read, or
 * split at a word boundary over two lines (a name the screen wrapped).
 * Spaces are not compared: tesseract sometimes joins a short word to the
 * next ("Y tế" -> "Ytế"); every letter and every mark is. */
static void squeeze(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (; *s && k + 1 < len; s++)
        if (*s != ' ')
            out[k++] = *s;
    out[k] = 0;
}

int ocr_has(const char *read, const char *want)
{
    char w[512], line[1024], sq[1024];
    ocr_normalize(want, w, sizeof w);
    char wsq[512];
    squeeze(w, wsq, sizeof wsq);
    /* whole, on one line */
    const char *p = read;
    while (*p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        squeeze(line, sq, sizeof sq);
        if (strstr(sq, wsq))
            return 1;
        p += n + (p[n] ? 1 : 0);
    }
    /* wrapped: a head of whole words ending one line, the rest starting another */
    for (char *sp = strchr(w, ' '); sp; sp = strchr(sp + 1, ' ')) {
        char head[512], tail[512], hs[512], ts[512];
        snprintf(head, sizeof head, "%.*s", (int)(sp - w), w);
        snprintf(tail, sizeof tail, "%s", sp + 1);
        squeeze(head, hs, sizeof hs);
        squeeze(tail, ts, sizeof ts);
        int h = 0, t = 0;
        for (p = read; *p;) {
            size_t n = strcspn(p, "\n");
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            squeeze(line, sq, sizeof sq);
            size_t ls = strlen(sq), lh = strlen(hs), lt = strlen(ts);
            if (ls >= lh && strcmp(sq + ls - lh, hs) == 0)
                h = 1;
            if (strncmp(sq, ts, lt) == 0)
                t = 1;
            p += n + (p[n] ? 1 : 0);
        }
        if (h && t)
            return 1;
    }
    return 0;
}

