/* mkfont: makes the hall board's 1-bit font from a TTF font at build time.
 *   mkfont FONT.ttf FALLBACK.ttf OUT.c [ROWS]
 * Renders only the glyphs the board needs (ASCII, the Vietnamese letters
 * with every diacritic, the arrow; what FONT lacks comes from FALLBACK, e.g.
 * the arrow from NotoSansMono) with SDL2_ttf, at the largest size whose
 * ink fits in ROWS (16) rows, and writes them as C (firmware/core/font.h). */
#include <SDL.h>
#include <SDL_ttf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GLYPHS 400
#define MAX_COLS 40

static uint16_t cps[MAX_GLYPHS];
static int ncp;

static void add(uint16_t cp)
{
    for (int i = 0; i < ncp; i++)
        if (cps[i] == cp)
            return;
    cps[ncp++] = cp;
}

static int cmp(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The Vietnamese letters outside U+1EA0..U+1EF9. */
static const uint16_t viet_extra[] = {
    0xC0, 0xC1, 0xC2, 0xC3, 0xC8, 0xC9, 0xCA, 0xCC, 0xCD, 0xD2, 0xD3, 0xD4, 0xD5,
    0xD9, 0xDA, 0xDD, 0xE0, 0xE1, 0xE2, 0xE3, 0xE8, 0xE9, 0xEA, 0xEC, 0xED, 0xF2,
    0xF3, 0xF4, 0xF5, 0xF9, 0xFA, 0xFD, 0x102, 0x103, 0x110, 0x111, 0x128, 0x129,
    0x168, 0x169, 0x1A0, 0x1A1, 0x1AF, 0x1B0,
};

struct glyph {
    int w;                 /* columns */
    int top, bottom;       /* ink rows (bottom < top: no ink) */
    uint8_t ink[64][MAX_COLS];
};

/* shift: rows to move the glyph down (aligns a fallback font's baseline) */
static int render(TTF_Font *f, uint16_t cp, struct glyph *g, int shift)
{
    SDL_Color white = {255, 255, 255, 255};
    SDL_Surface *s = TTF_RenderGlyph32_Solid(f, cp, white);
    memset(g, 0, sizeof *g);
    g->top = 1000;
    g->bottom = -1;
    if (!s)
        return -1;
    int minx, maxx, miny, maxy, adv;
    if (TTF_GlyphMetrics32(f, cp, &minx, &maxx, &miny, &maxy, &adv) != 0)
        adv = s->w;
    g->w = adv < MAX_COLS ? adv : MAX_COLS;
    for (int sy = 0; sy < s->h; sy++)
        for (int x = 0; x < s->w && x < MAX_COLS; x++) {
            int y = sy + shift;
            uint8_t px = ((uint8_t *)s->pixels)[sy * s->pitch + x];
            if (px && y >= 0 && y < 64) {
                g->ink[y][x] = 1;
                if (y < g->top)
                    g->top = y;
                if (y > g->bottom)
                    g->bottom = y;
                if (x + 1 > g->w)
                    g->w = x + 1;
            }
        }
    SDL_FreeSurface(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: mkfont FONT.ttf FALLBACK.ttf OUT.c [ROWS]\n");
        return 2;
    }
    int rows = argc > 4 ? atoi(argv[4]) : 16;
    if (rows < 8 || rows > 16) {
        fprintf(stderr, "mkfont: ROWS must be 8..16\n");
        return 2;
    }
    for (uint16_t c = 0x20; c < 0x7F; c++)
        add(c);
    for (size_t i = 0; i < sizeof viet_extra / sizeof viet_extra[0]; i++)
        add(viet_extra[i]);
    for (uint16_t c = 0x1EA0; c <= 0x1EF9; c++)
        add(c);
    add(0x2192); /* → */
    qsort(cps, (size_t)ncp, sizeof cps[0], cmp);

    if (TTF_Init() != 0) {
        fprintf(stderr, "mkfont: TTF_Init: %s\n", TTF_GetError());
        return 1;
    }
    static struct glyph gl[MAX_GLYPHS];
    int size, top = 0;
    for (size = rows + 4; size >= 6; size--) {
        /* the fallback (the arrow) a size larger, centred on the digits */
        TTF_Font *f = TTF_OpenFont(argv[1], size), *fb = TTF_OpenFont(argv[2], size * 3 / 2);
        if (!f || !fb) {
            fprintf(stderr, "mkfont: %s: %s\n", f ? argv[2] : argv[1], TTF_GetError());
            return 1;
        }
        int lo = 1000, hi = -1, missing = 0;
        for (int i = 0; i < ncp; i++) {
            TTF_Font *use = TTF_GlyphIsProvided32(f, cps[i]) ? f : fb;
            if (!TTF_GlyphIsProvided32(use, cps[i]))
                missing++;
            render(use, cps[i], &gl[i], 0);
            if (use == fb && gl[i].bottom >= 0) {
                struct glyph zero;
                render(f, '0', &zero, 0);
                int mid0 = (zero.top + zero.bottom) / 2, mid = (gl[i].top + gl[i].bottom) / 2;
                render(fb, cps[i], &gl[i], mid0 - mid);
            }
            if (gl[i].bottom >= 0) {
                lo = gl[i].top < lo ? gl[i].top : lo;
                hi = gl[i].bottom > hi ? gl[i].bottom : hi;
            }
        }
        TTF_CloseFont(f);
        TTF_CloseFont(fb);
        if (missing) {
            fprintf(stderr, "mkfont: %s lacks %d of the glyphs\n", argv[1], missing);
            return 1;
        }
        if (hi - lo + 1 <= rows) {
            top = lo - (rows - (hi - lo + 1)) / 2; /* centre the ink */
            if (top < 0)
                top = 0;
            break;
        }
    }
    if (size < 6) {
        fprintf(stderr, "mkfont: no size fits %d rows\n", rows);
        return 1;
    }
    FILE *out = fopen(argv[3], "w");
    if (!out) {
        perror(argv[3]);
        return 1;
    }
    fprintf(out, "/* Generated by firmware/tools/mkfont from %s (+ %s) at %d px: do not edit. */\n"
                 "#include \"font.h\"\n\nconst uint16_t fw_font_cols[] = {\n",
            argv[1], argv[2], size);
    int offset = 0, offs[MAX_GLYPHS], widths[MAX_GLYPHS];
    for (int i = 0; i < ncp; i++) {
        struct glyph *g = &gl[i];
        /* trim blank columns on the right, then one column of spacing */
        int w = g->w;
        while (w > 0) {
            int any = 0;
            for (int y = 0; y < 64; y++)
                any |= g->ink[y][w - 1];
            if (any)
                break;
            w--;
        }
        w = w == 0 ? (g->w > 2 ? g->w : 3) : w + 1;
        if (w > MAX_COLS)
            w = MAX_COLS;
        offs[i] = offset;
        widths[i] = w;
        fprintf(out, "    /* U+%04X */", cps[i]);
        for (int x = 0; x < w; x++) {
            unsigned col = 0;
            for (int r = 0; r < rows; r++)
                if (top + r < 64 && x < MAX_COLS && g->ink[top + r][x])
                    col |= 1u << r;
            fprintf(out, " 0x%04X,", col);
        }
        fprintf(out, "\n");
        offset += w;
    }
    fprintf(out, "};\n\nconst struct fw_glyph fw_font_glyphs[] = {\n");
    for (int i = 0; i < ncp; i++)
        fprintf(out, "    {0x%04X, %d, %d},\n", cps[i], widths[i], offs[i]);
    fprintf(out, "};\n\nconst uint16_t fw_font_count = %d;\n", ncp);
    fclose(out);
    fprintf(stderr, "mkfont: %d glyphs, %d columns, %d px, %d rows\n", ncp, offset, size,
            rows);
    TTF_Quit();
    return 0;
}
