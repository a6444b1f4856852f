#include "kiosk_layout.h"

#include <math.h>
#include <string.h>

static kiosk_rect rect(int x, int y, int w, int h)
{
    kiosk_rect r = {x, y, w, h};
    return r;
}

static int imax(int a, int b)
{
    return a > b ? a : b;
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}

int kiosk_rect_hit(const kiosk_rect *r, int x, int y)
{
    return r->w > 0 && r->h > 0 && x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
}

/* The largest text size (px) that fits a name of `chars` characters into a
 * text box tw x th, on one line or wrapped on two. Noto Sans Bold averages
 * about 0.56 em per character of Vietnamese text and needs ~1.4 em a line
 * (stacked diacritics); wrapping costs a few characters of slack. */
static double fit_font(int tw, int th, int chars)
{
    if (tw <= 0 || th <= 0)
        return 0;
    double one = fmin(th / 1.4, tw / (0.56 * chars));
    double two = fmin(th / 2.8, tw / (0.56 * (chars / 2.0 + 4)));
    return fmax(one, two);
}

/* Choose the service grid: fewest pages first, then the biggest text;
 * tiles at least 1.5 x the minimum target tall (comfortable for a finger)
 * and text no smaller than ~5.5 mm em. */
static void layout_grid(kiosk_layout *l, int max_chars)
{
    const kiosk_rect *b = &l->body;
    int n = l->nservices > 0 ? l->nservices : 1;
    int comfy_h = (int)ceil(l->min_px * 1.5);
    double font_min = fmax(20.0, 5.5 * l->ppmm);
    int max_h = (int)(l->min_px * 3.2);
    int best_pages = 1 << 30, best_cols = 1, best_rows = 1;
    double best_font = -1;
    for (int cols = 1; cols <= 6; cols++) {
        int cell_w = (b->w - (cols - 1) * l->gap) / cols;
        if (cell_w < l->min_px * 3)
            break;
        int max_rows = (n + cols - 1) / cols;
        for (int rows = 1; rows <= max_rows; rows++) {
            int cell_h = (b->h - (rows - 1) * l->gap) / rows;
            if (cell_h < comfy_h)
                break;
            if (cell_h > max_h)
                cell_h = max_h; /* tiles are not stretched beyond this */
            int per_page = rows * cols;
            if (per_page > KIOSK_GRID_MAX)
                break;
            int pages = (n + per_page - 1) / per_page;
            /* text box: the tile minus its prefix badge and padding */
            int badge = (int)(cell_h * 0.62);
            int tw = cell_w - badge - (int)(cell_h * 0.45);
            double f = fit_font(tw, (int)(cell_h * 0.8), max_chars > 0 ? max_chars : 1);
            int ok = f >= font_min;
            /* legible beats not; then fewer pages; then bigger text */
            int better;
            if (best_font < 0)
                better = 1;
            else if (ok != (best_font >= font_min))
                better = ok;
            else if (ok && pages != best_pages)
                better = pages < best_pages;
            else
                better = f > best_font + 0.5;
            if (better) {
                best_pages = pages;
                best_cols = cols;
                best_rows = rows;
                best_font = f;
            }
        }
    }
    /* keep single-page grids from stretching a few tiles over the screen */
    int rows_used = imin(best_rows, (n + best_cols - 1) / best_cols);
    l->cols = best_cols;
    l->rows = best_rows;
    l->per_page = best_cols * best_rows;
    l->pages = (n + l->per_page - 1) / l->per_page;
    l->tile_font_px = best_font > 0 ? (int)best_font : 0;
    int cell_w = (b->w - (best_cols - 1) * l->gap) / best_cols;
    int cell_h = (b->h - (best_rows - 1) * l->gap) / best_rows;
    if (l->pages == 1 && cell_h > max_h)
        cell_h = max_h;
    int grid_h = rows_used * cell_h + (rows_used - 1) * l->gap;
    int y0 = b->y + (l->pages == 1 ? (b->h - grid_h) / 2 : 0);
    int x0 = b->x + (b->w - (best_cols * cell_w + (best_cols - 1) * l->gap)) / 2;
    memset(l->tiles, 0, sizeof l->tiles);
    for (int i = 0; i < l->per_page && i < KIOSK_GRID_MAX; i++) {
        int r = i / best_cols, c = i % best_cols;
        l->tiles[i] = rect(x0 + c * (cell_w + l->gap), y0 + r * (cell_h + l->gap), cell_w, cell_h);
    }
}

/* Try the priority screen with or without the explanatory note and with
 * the four classes in `cols` columns; -1 if a button would be too small. */
static int prio_try(kiosk_layout *l, int with_note, int cols, int force)
{
    int portrait = l->h > l->w;
    int note_h = with_note ? imax(l->body.h / 8, l->min_px) : 0;
    kiosk_rect b = rect(l->body.x, l->body.y + note_h + (with_note ? l->gap : 0), l->body.w,
                        l->body.h - note_h - (with_note ? l->gap : 0));
    int rows = 4 / cols;
    /* normal first and a little taller: most citizens take it */
    double normal_w = portrait ? 1.0 : 1.2;
    int cap = (int)(l->min_px * (portrait ? 4.0 : 3.0));
    int unit = (int)((b.h - rows * l->gap) / (normal_w + rows));
    if (unit > cap)
        unit = cap;
    int normal_h = (int)(unit * normal_w);
    int cell_w = (b.w - (cols - 1) * l->gap) / cols;
    int comfy = (int)(l->min_px * 1.1);
    if (!force && (unit < comfy || cell_w < comfy))
        return -1;
    int total = normal_h + rows * (unit + l->gap);
    int y = b.y + (b.h - total) / (portrait ? 3 : 2);
    l->prio_note = rect(l->body.x, l->body.y, l->body.w, note_h);
    l->prio[0] = rect(b.x, y, b.w, normal_h);
    y += normal_h + l->gap;
    for (int i = 0; i < 4; i++) {
        int r = i / cols, c = i % cols;
        l->prio[1 + i] = rect(b.x + c * (cell_w + l->gap), y + r * (unit + l->gap), cell_w, unit);
    }
    return 0;
}

static void layout_priority(kiosk_layout *l)
{
    int portrait = l->h > l->w;
    static const int tries[][2] = {{1, 2}, {1, 4}, {0, 2}, {0, 4}};
    static const int tries_portrait[][2] = {{1, 1}, {1, 2}, {0, 2}, {0, 4}};
    for (int i = 0; i < 4; i++) {
        const int *t = portrait ? tries_portrait[i] : tries[i];
        if (prio_try(l, t[0], t[1], 0) == 0)
            return;
    }
    prio_try(l, 0, 4, 1);
}

/* The check-in keypad: the code in the title band, a message line, then
 * the keys (8 x 3 landscape, 6 x 4 portrait) as big as the body allows, up
 * to twice the minimum target; OK replaces "next page" in the footer. */
static void layout_keypad(kiosk_layout *l)
{
    int portrait = l->h > l->w;
    int cols = portrait ? 6 : 8, rows = (KIOSK_KEYS + cols - 1) / cols;
    l->key_cols = cols;
    l->key_rows = rows;
    int code_w = imin(l->title.w, imax(l->min_px * 6, l->w * 6 / 10));
    l->code_box = rect(l->title.x + (l->title.w - code_w) / 2, l->title.y, code_w, l->title.h);
    int msg_h = imax(l->body.h / 10, 20);
    l->code_msg = rect(l->body.x, l->body.y, l->body.w, msg_h);
    int top = l->body.y + msg_h + l->gap / 2;
    int avail_h = l->body.y + l->body.h - top;
    int kw = (l->body.w - (cols - 1) * l->gap) / cols;
    int kh = (avail_h - (rows - 1) * l->gap) / rows;
    kw = imin(kw, l->min_px * 3);
    kh = imin(kh, l->min_px * 2);
    int gw = cols * kw + (cols - 1) * l->gap, gh = rows * kh + (rows - 1) * l->gap;
    int x0 = l->body.x + (l->body.w - gw) / 2, y0 = top + (avail_h - gh) / 2;
    for (int i = 0; i < KIOSK_KEYS; i++)
        l->keys[i] = rect(x0 + (i % cols) * (kw + l->gap), y0 + (i / cols) * (kh + l->gap), kw, kh);
    l->ok = l->next;
}

int kiosk_layout_compute(kiosk_layout *l, int w, int h, double ppmm, double min_target_mm,
                         int nservices, int max_chars)
{
    memset(l, 0, sizeof *l);
    l->w = w;
    l->h = h;
    l->ppmm = ppmm;
    l->nservices = nservices;
    l->min_px = (int)ceil(min_target_mm * ppmm);
    int s = imin(w, h);
    l->margin = imax(8, s / 40);
    l->gap = imax(6, s / 60);
    int m = l->margin;
    if (l->min_px * 4 > s || l->min_px < 1)
        return -1;

    int header_h = imax(l->min_px + 2 * (m / 2), s / 9);
    l->header = rect(0, 0, w, header_h);
    int lang_w = imax(l->min_px * 3, w / 7);
    l->lang = rect(w - m - lang_w, (header_h - imax(l->min_px, header_h * 6 / 10)) / 2, lang_w,
                   imax(l->min_px, header_h * 6 / 10));

    int footer_h = imax((int)(l->min_px * 1.5), s / 9);
    l->footer = rect(0, h - footer_h, w, footer_h);
    int btn_h = footer_h - m;
    /* back, previous, next side by side; narrower on a narrow screen */
    int btn_w = imin(imax(l->min_px * 3, w / 5), (w - 2 * m - 2 * l->gap) / 3);
    l->back = rect(m, h - footer_h + m / 2, btn_w, btn_h);
    l->next = rect(w - m - btn_w, h - footer_h + m / 2, btn_w, btn_h);
    l->prev = rect(l->next.x - l->gap - btn_w, h - footer_h + m / 2, btn_w, btn_h);
    l->page = rect(l->back.x + btn_w + l->gap, h - footer_h + m / 2,
                   imax(0, l->prev.x - l->gap - (l->back.x + btn_w + l->gap)), btn_h);

    l->info = rect(l->back.x + btn_w + l->gap, h - footer_h + m / 2,
                   w - m - (l->back.x + btn_w + l->gap), btn_h);

    int title_h = imax(s / 10, l->min_px);
    l->title = rect(m, header_h + m / 2, w - 2 * m, title_h);
    int body_y = l->title.y + title_h + m / 2;
    l->body = rect(m, body_y, w - 2 * m, h - footer_h - m / 2 - body_y);
    if (l->body.h < l->min_px * 2)
        return -1;

    int start_h = imax(l->min_px * 2, s / 6);
    int start_w = imin(w - 2 * m, imax(l->min_px * 6, w * 2 / 3));
    l->start = rect((w - start_w) / 2, h - footer_h - start_h, start_w, start_h);

    /* "I have an appointment": the footer's right part on the welcome screen */
    int cw = imin(w - 2 * m, imax(l->min_px * 5, w * 2 / 5));
    l->checkin = rect(w - m - cw, h - footer_h + m / 2, cw, btn_h);

    layout_grid(l, max_chars);
    layout_priority(l);
    layout_keypad(l);
    return 0;
}
