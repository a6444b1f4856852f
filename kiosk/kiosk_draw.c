#include "kiosk_draw.h"

#include "kiosk_text.h"
#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* High contrast: white / yellow on deep navy, dark navy on white tiles
 * (about 14:1), red for faults that stop the kiosk, amber for notices. */
static const SDL_Color C_BG = {0x0B, 0x25, 0x45, 255};
static const SDL_Color C_HEADER = {0x13, 0x31, 0x5C, 255};
static const SDL_Color C_WHITE = {0xFF, 0xFF, 0xFF, 255};
static const SDL_Color C_SOFT = {0xD8, 0xE6, 0xF3, 255};
static const SDL_Color C_INK = {0x0B, 0x25, 0x45, 255};
static const SDL_Color C_YELLOW = {0xFF, 0xD2, 0x3F, 255};
static const SDL_Color C_BADGE = {0x1B, 0x4F, 0x9C, 255};
static const SDL_Color C_BUTTON = {0x1E, 0x4A, 0x80, 255};
static const SDL_Color C_PRIO = {0xDC, 0xEB, 0xFF, 255};
static const SDL_Color C_RED = {0xB0, 0x00, 0x20, 255};
static const SDL_Color C_AMBER = {0xFF, 0xB3, 0x00, 255};
static const SDL_Color C_PRIO_MARK = {0xC6, 0x28, 0x28, 255};
static const SDL_Color C_BOOKED = {0x1B, 0x6E, 0x3A, 255};  /* green: a booked ticket */
static const SDL_Color C_GREY = {0xB8, 0xC2, 0xCC, 255};    /* a closed service's tile */
static const SDL_Color C_GREY_INK = {0x25, 0x30, 0x3C, 255}; /* its words: ~8:1 on C_GREY */
static const SDL_Color C_GREY_BADGE = {0x6B, 0x77, 0x85, 255};

#define FIT_SLOTS 512
#define TEX_SLOTS 160
#define TEX_BUDGET (6u << 20)    /* bytes of cached text textures */
#define TEX_ONE_MAX (256u << 10) /* bigger textures are not cached */
#define MAX_LINES 6
#define LINE_BYTES 512

enum { AL_LEFT = 0, AL_CENTER = 1, AL_RIGHT = 2, AL_HMASK = 3, AL_TOP = 4 /* else middle */ };

struct fit_slot {
    uint64_t key;
    int size;
};

struct tex_slot {
    uint64_t key;
    SDL_Texture *tex;
    int w, h;
    unsigned long used;
};

struct kiosk_draw {
    SDL_Renderer *r;
    TTF_Font *font[2]; /* regular, bold */
    int cur_size[2];
    struct fit_slot fit[FIT_SLOTS];
    struct tex_slot tex[TEX_SLOTS];
    size_t tex_bytes; /* pixels held by the cache */
    unsigned long tick;
};

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t key_of(const char *text, const int *nums, int nn)
{
    uint64_t h = 1469598103934665603ull;
    h = fnv(h, text, strlen(text) + 1);
    return fnv(h, nums, (size_t)nn * sizeof *nums);
}

int kiosk_draw_new(SDL_Renderer *r, const char *font_dir, kiosk_draw **out)
{
    *out = NULL;
    kiosk_draw *d = qms_calloc(1, sizeof *d);
    if (!d)
        return QMS_ERR_NOMEM;
    d->r = r;
    static const char *const files[2] = {"NotoSans-Regular.ttf", "NotoSans-Bold.ttf"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", font_dir, files[i]);
        d->font[i] = TTF_OpenFont(path, 32);
        if (!d->font[i]) {
            QMS_ERROR("cannot open font %s: %s", path, TTF_GetError());
            kiosk_draw_free(d);
            return QMS_ERR_IO;
        }
        d->cur_size[i] = 32;
        /* light hinting keeps the stacked Vietnamese marks in proportion */
        TTF_SetFontHinting(d->font[i], TTF_HINTING_LIGHT);
    }
    *out = d;
    return QMS_OK;
}

void kiosk_draw_flush(kiosk_draw *d)
{
    for (int i = 0; i < TEX_SLOTS; i++) {
        if (d->tex[i].tex)
            SDL_DestroyTexture(d->tex[i].tex);
        memset(&d->tex[i], 0, sizeof d->tex[i]);
    }
    d->tex_bytes = 0;
}

void kiosk_draw_free(kiosk_draw *d)
{
    if (!d)
        return;
    kiosk_draw_flush(d);
    for (int i = 0; i < 2; i++)
        if (d->font[i])
            TTF_CloseFont(d->font[i]);
    qms_free(d);
}

static TTF_Font *font_at(kiosk_draw *d, int bold, int size)
{
    if (size < 6)
        size = 6;
    if (d->cur_size[bold] != size) {
        TTF_SetFontSize(d->font[bold], size);
        d->cur_size[bold] = size;
    }
    return d->font[bold];
}

static int text_w(TTF_Font *f, const char *s)
{
    int w = 0, h = 0;
    if (TTF_SizeUTF8(f, s, &w, &h))
        return 1 << 20;
    return w;
}

/* Greedy word wrap of text into at most MAX_LINES lines no wider than w.
 * Returns the number of lines, or -1 if a line cannot fit (a word wider
 * than w) or more than max_lines are needed. */
static int wrap(TTF_Font *f, const char *text, int w, int max_lines, char lines[][LINE_BYTES])
{
    int n = 0;
    const char *p = text;
    while (*p == ' ')
        p++;
    while (*p) {
        if (n >= max_lines || n >= MAX_LINES)
            return -1;
        char cur[LINE_BYTES] = "";
        size_t curlen = 0;
        while (*p) {
            const char *we = p;
            while (*we && *we != ' ')
                we++;
            size_t wl = (size_t)(we - p);
            char trial[LINE_BYTES];
            if (curlen + 1 + wl >= sizeof trial)
                return -1;
            memcpy(trial, cur, curlen);
            size_t tl = curlen;
            if (tl)
                trial[tl++] = ' ';
            memcpy(trial + tl, p, wl);
            tl += wl;
            trial[tl] = 0;
            if (text_w(f, trial) > w) {
                if (curlen == 0)
                    return -1; /* a single word wider than the box */
                break;
            }
            memcpy(cur, trial, tl + 1);
            curlen = tl;
            p = we;
            while (*p == ' ')
                p++;
        }
        memcpy(lines[n++], cur, curlen + 1);
    }
    return n;
}

/* A line of text as a texture. Small ones (labels, service names: drawn
 * again and again) are cached within a byte budget, least recently used
 * out first; big one-offs (a ticket's number) are not: *temp says the
 * caller destroys it after use, so memory stays flat however many tickets
 * the kiosk shows. */
static SDL_Texture *text_texture(kiosk_draw *d, const char *s, int bold, int size, SDL_Color c,
                                 int *w, int *h, int *temp)
{
    int nums[6] = {bold, size, c.r, c.g, c.b, 7};
    uint64_t key = key_of(s, nums, 6);
    *temp = 0;
    d->tick++;
    for (int i = 0; i < TEX_SLOTS; i++) {
        if (d->tex[i].tex && d->tex[i].key == key) {
            d->tex[i].used = d->tick;
            *w = d->tex[i].w;
            *h = d->tex[i].h;
            return d->tex[i].tex;
        }
    }
    SDL_Surface *surf = TTF_RenderUTF8_Blended(font_at(d, bold, size), s, c);
    if (!surf)
        return NULL;
    SDL_Texture *t = SDL_CreateTextureFromSurface(d->r, surf);
    *w = surf->w;
    *h = surf->h;
    SDL_FreeSurface(surf);
    if (!t)
        return NULL;
    size_t bytes = (size_t)*w * (size_t)*h * 4;
    if (bytes > TEX_ONE_MAX) {
        *temp = 1;
        return t;
    }
    /* make room: evict least recently used until the budget and a slot allow */
    for (;;) {
        int lru = -1, free_slot = -1;
        for (int i = 0; i < TEX_SLOTS; i++) {
            if (!d->tex[i].tex) {
                if (free_slot < 0)
                    free_slot = i;
            } else if (lru < 0 || d->tex[i].used < d->tex[lru].used) {
                lru = i;
            }
        }
        if (free_slot >= 0 && d->tex_bytes + bytes <= TEX_BUDGET) {
            d->tex[free_slot] = (struct tex_slot){key, t, *w, *h, d->tick};
            d->tex_bytes += bytes;
            return t;
        }
        if (lru < 0) { /* nothing to evict: use it once */
            *temp = 1;
            return t;
        }
        d->tex_bytes -= (size_t)d->tex[lru].w * (size_t)d->tex[lru].h * 4;
        SDL_DestroyTexture(d->tex[lru].tex);
        memset(&d->tex[lru], 0, sizeof d->tex[lru]);
    }
}

/* The largest size in [min_px, max_px] at which text wraps into box within
 * max_lines; min_px if none (the box clips). Cached per (text, box, limits). */
static int fit_size(kiosk_draw *d, const char *text, int bw, int bh, int max_px, int min_px,
                    int bold, int max_lines)
{
    int nums[6] = {bw, bh, max_px, min_px, bold, max_lines};
    uint64_t key = key_of(text, nums, 6);
    struct fit_slot *slot = &d->fit[key % FIT_SLOTS];
    if (slot->key == key && slot->size)
        return slot->size;
    char lines[MAX_LINES][LINE_BYTES];
    int lo = min_px, hi = max_px, best = min_px;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        TTF_Font *f = font_at(d, bold, mid);
        int n = wrap(f, text, bw, max_lines, lines);
        if (n >= 0 && n * TTF_FontLineSkip(f) <= bh) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    slot->key = key;
    slot->size = best;
    return best;
}

/* Draw text fitted into box; returns the size used. */
static int draw_text(kiosk_draw *d, const char *text, kiosk_rect box, int max_px, int min_px,
                     int bold, SDL_Color c, int align, int max_lines)
{
    if (!text || !*text || box.w <= 0 || box.h <= 0)
        return 0;
    if (max_px < min_px)
        max_px = min_px;
    int size = fit_size(d, text, box.w, box.h, max_px, min_px, bold, max_lines);
    TTF_Font *f = font_at(d, bold, size);
    char lines[MAX_LINES][LINE_BYTES];
    int n = wrap(f, text, box.w, max_lines, lines);
    if (n < 0) { /* does not fit even at min_px: one clipped line */
        snprintf(lines[0], LINE_BYTES, "%s", text);
        n = 1;
    }
    int skip = TTF_FontLineSkip(f);
    int y = (align & AL_TOP) ? box.y : box.y + (box.h - n * skip) / 2;
    align &= AL_HMASK;
    SDL_Rect clip = {box.x, box.y, box.w, box.h};
    SDL_RenderSetClipRect(d->r, &clip);
    for (int i = 0; i < n; i++) {
        int tw = 0, th = 0, temp = 0;
        SDL_Texture *t = text_texture(d, lines[i], bold, size, c, &tw, &th, &temp);
        if (t) {
            int x = align == AL_LEFT     ? box.x
                    : align == AL_CENTER ? box.x + (box.w - tw) / 2
                                         : box.x + box.w - tw;
            SDL_Rect dst = {x, y + i * skip, tw, th};
            SDL_RenderCopy(d->r, t, NULL, &dst);
            if (temp)
                SDL_DestroyTexture(t); /* SDL flushes the queued copy first */
        }
    }
    SDL_RenderSetClipRect(d->r, NULL);
    return size;
}

static void set_color(kiosk_draw *d, SDL_Color c)
{
    SDL_SetRenderDrawColor(d->r, c.r, c.g, c.b, c.a);
}

static void fill(kiosk_draw *d, kiosk_rect r, SDL_Color c)
{
    set_color(d, c);
    SDL_Rect s = {r.x, r.y, r.w, r.h};
    SDL_RenderFillRect(d->r, &s);
}

/* A filled rectangle with rounded corners of radius rad, row by row. */
static void fill_round(kiosk_draw *d, kiosk_rect r, int rad, SDL_Color c)
{
    if (rad * 2 > r.w)
        rad = r.w / 2;
    if (rad * 2 > r.h)
        rad = r.h / 2;
    set_color(d, c);
    SDL_Rect mid = {r.x, r.y + rad, r.w, r.h - 2 * rad};
    SDL_RenderFillRect(d->r, &mid);
    for (int i = 0; i < rad; i++) {
        double dy = rad - i - 0.5;
        int dx = rad - (int)floor(sqrt((double)rad * rad - dy * dy) + 0.5);
        SDL_Rect top = {r.x + dx, r.y + i, r.w - 2 * dx, 1};
        SDL_Rect bot = {r.x + dx, r.y + r.h - 1 - i, r.w - 2 * dx, 1};
        SDL_RenderFillRect(d->r, &top);
        SDL_RenderFillRect(d->r, &bot);
    }
}

static void fill_circle(kiosk_draw *d, int cx, int cy, int rad, SDL_Color c)
{
    kiosk_rect r = {cx - rad, cy - rad, 2 * rad, 2 * rad};
    fill_round(d, r, rad, c);
}

static kiosk_rect inset(kiosk_rect r, int dx, int dy)
{
    kiosk_rect o = {r.x + dx, r.y + dy, r.w - 2 * dx, r.h - 2 * dy};
    return o;
}

static int pressed(const kiosk_view *v, kiosk_target_kind k, int idx)
{
    return v->pressed.kind == k && v->pressed.index == idx;
}

/* An outlined button: light border, filled face, centered label. */
static void button(kiosk_draw *d, const kiosk_layout *l, kiosk_rect r, const char *label,
                   SDL_Color face, SDL_Color ink, int is_pressed)
{
    int rad = r.h / 5;
    int border = l->w > 1200 || l->h > 1200 ? 4 : 3;
    fill_round(d, r, rad, is_pressed ? C_YELLOW : C_WHITE);
    fill_round(d, inset(r, border, border), rad - border, is_pressed ? C_YELLOW : face);
    draw_text(d, label, inset(r, r.h / 4, r.h / 8), r.h * 2 / 5, 12, 1, is_pressed ? C_INK : ink,
              AL_CENTER, 2);
}

static int s_of(const kiosk_layout *l)
{
    return l->w < l->h ? l->w : l->h;
}

static void header(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v, int with_name)
{
    fill(d, l->header, C_HEADER);
    if (with_name) {
        kiosk_rect box = {l->margin, l->header.y + l->margin / 3, l->lang.x - 2 * l->margin,
                          l->header.h - 2 * (l->margin / 3)};
        draw_text(d, v->center_name, box, l->header.h * 2 / 5, 14, 1, C_WHITE, AL_LEFT, 2);
    }
    button(d, l, l->lang, kiosk_text(KT_OTHER_LANG, v->lang), C_BUTTON, C_WHITE,
           pressed(v, KTG_LANG, 0));
}

static void footer_note(kiosk_draw *d, const kiosk_layout *l, const char *text, SDL_Color c)
{
    kiosk_rect box = inset(l->footer, l->margin, l->margin / 2);
    draw_text(d, text, box, l->footer.h / 3, 12, 0, c, AL_CENTER, 2);
}

static void draw_idle(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    int s = s_of(l), m = l->margin;
    fill(d, l->header, C_HEADER);
    kiosk_rect date = {m, 0, l->lang.x - 2 * m, l->header.h};
    draw_text(d, v->date, date, l->header.h * 2 / 5, 14, 0, C_WHITE, AL_LEFT, 1);
    button(d, l, l->lang, kiosk_text(KT_OTHER_LANG, v->lang), C_BUTTON, C_WHITE,
           pressed(v, KTG_LANG, 0));
    int top = l->header.h + m;
    int avail = l->start.y - m - top;
    kiosk_rect welcome = {m, top, l->w - 2 * m, avail * 14 / 100};
    kiosk_rect name = {m * 2, welcome.y + welcome.h, l->w - 4 * m, avail * 36 / 100};
    kiosk_rect clock = {m, name.y + name.h, l->w - 2 * m, avail - welcome.h - name.h};
    draw_text(d, kiosk_text(KT_WELCOME, v->lang), welcome, s / 16, 14, 0, C_SOFT, AL_CENTER, 1);
    draw_text(d, v->center_name, name, s / 13, 16, 1, C_WHITE, AL_CENTER, 3);
    draw_text(d, v->clock, clock, s / 4, 20, 1, C_YELLOW, AL_CENTER, 1);
    kiosk_rect st = l->start;
    fill_round(d, st, st.h / 5, pressed(v, KTG_START, 0) ? C_WHITE : C_YELLOW);
    draw_text(d, kiosk_text(KT_TOUCH_TO_START, v->lang), inset(st, st.h / 4, st.h / 6),
              st.h * 2 / 5, 14, 1, C_INK, AL_CENTER, 2);
    button(d, l, l->checkin, kiosk_text(KT_CHECKIN_BUTTON, v->lang), C_BUTTON, C_WHITE,
           pressed(v, KTG_CHECKIN, 0));
    char kid[64];
    kiosk_text_fill(kid, sizeof kid, KT_KIOSK, v->lang, v->kiosk_id, 0, 0);
    kiosk_rect kb = {m, l->footer.y + m / 2, l->checkin.x - 2 * m, l->footer.h - m};
    draw_text(d, kid, kb, l->footer.h / 3, 12, 0, C_SOFT, AL_LEFT, 1);
}

static void draw_menu(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    header(d, l, v, 1);
    draw_text(d, kiosk_text(KT_CHOOSE_SERVICE, v->lang), l->title, l->title.h * 55 / 100, 14, 1,
              C_YELLOW, AL_CENTER, 1);
    int first = v->page * l->per_page;
    int tile_max = l->tile_font_px > 0 ? l->tile_font_px * 13 / 10 : 40;
    /* one text size for every tile on the page: the smallest of their fits,
     * so the grid reads as one list instead of a ransom note */
    int size = 1 << 20;
    for (int i = 0; i < l->per_page && first + i < v->nservices; i++) {
        kiosk_rect t = l->tiles[i];
        int badge = t.h * 62 / 100;
        int tw = t.w - badge - t.h * 45 / 100;
        int f = fit_size(d, v->service_names[first + i], tw, t.h * 85 / 100, tile_max, 12, 1, 3);
        if (f < size)
            size = f;
    }
    for (int i = 0; i < l->per_page && first + i < v->nservices; i++) {
        int si = first + i;
        kiosk_rect t = l->tiles[i];
        int on = pressed(v, KTG_SERVICE, si);
        int closed = v->service_closed[si];
        fill_round(d, t, t.h / 7, on ? C_YELLOW : closed ? C_GREY : C_WHITE);
        int badge = t.h * 62 / 100;
        kiosk_rect b = {t.x + t.h * 15 / 100, t.y + (t.h - badge) / 2, badge, badge};
        fill_round(d, b, badge / 5, closed ? C_GREY_BADGE : C_BADGE);
        draw_text(d, v->service_badges[si], inset(b, badge / 10, badge / 8), badge * 6 / 10, 10, 1,
                  C_WHITE, AL_CENTER, 1);
        kiosk_rect tb = {b.x + b.w + t.h * 15 / 100, t.y + t.h * 75 / 1000, 0, t.h * 85 / 100};
        tb.w = t.x + t.w - t.h * 15 / 100 - tb.x;
        if (closed && v->service_notes[si] && v->service_notes[si][0]) {
            /* the name above, when it opens below */
            kiosk_rect nb = tb;
            nb.h = tb.h * 58 / 100;
            kiosk_rect ob = {tb.x, nb.y + nb.h, tb.w, tb.h - nb.h};
            draw_text(d, v->service_names[si], nb, size, 10, 1, C_GREY_INK, AL_LEFT, 2);
            draw_text(d, v->service_notes[si], ob, size * 8 / 10, 10, 0, C_GREY_INK, AL_LEFT, 1);
        } else {
            draw_text(d, v->service_names[si], tb, size, size, 1, C_INK, AL_LEFT, 3);
        }
    }
    button(d, l, l->back, kiosk_text(KT_BACK, v->lang), C_BUTTON, C_WHITE, pressed(v, KTG_BACK, 0));
    if (l->pages > 1) {
        if (v->page > 0)
            button(d, l, l->prev, kiosk_text(KT_PREV_PAGE, v->lang), C_BUTTON, C_WHITE,
                   pressed(v, KTG_PREV, 0));
        if (v->page + 1 < l->pages)
            button(d, l, l->next, kiosk_text(KT_NEXT_PAGE, v->lang), C_BUTTON, C_WHITE,
                   pressed(v, KTG_NEXT, 0));
        char pg[64];
        kiosk_text_fill(pg, sizeof pg, KT_PAGE, v->lang, NULL, v->page + 1, l->pages);
        draw_text(d, pg, l->page, l->page.h * 4 / 10, 12, 0, C_WHITE, AL_CENTER, 1);
    }
}

static void draw_priority(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    header(d, l, v, 1);
    draw_text(d, kiosk_text(KT_PRIO_TITLE, v->lang), l->title, l->title.h * 55 / 100, 14, 1,
              C_YELLOW, AL_CENTER, 1);
    draw_text(d, kiosk_text(KT_PRIO_NOTE, v->lang), l->prio_note, l->prio_note.h * 40 / 100, 12, 0,
              C_WHITE, AL_CENTER, 2);
    static const kiosk_text_id ids[KIOSK_PRIO_N] = {
        KT_PRIO_NORMAL, KT_PRIO_ELDERLY, KT_PRIO_DISABLED, KT_PRIO_PREGNANT, KT_PRIO_CHILD};
    for (int i = 0; i < KIOSK_PRIO_N; i++) {
        kiosk_rect r = l->prio[i];
        int on = pressed(v, KTG_PRIO, i);
        fill_round(d, r, r.h / 7, on ? C_YELLOW : (i == 0 ? C_WHITE : C_PRIO));
        int max = i == 0 ? r.h * 32 / 100 : r.h * 24 / 100;
        draw_text(d, kiosk_text(ids[i], v->lang), inset(r, r.h / 5, r.h / 8), max, 14, 1, C_INK,
                  AL_CENTER, 2);
    }
    button(d, l, l->back, kiosk_text(KT_BACK, v->lang), C_BUTTON, C_WHITE, pressed(v, KTG_BACK, 0));
    if (v->chosen_service)
        draw_text(d, v->chosen_service, l->info, l->info.h * 4 / 10, 12, 1, C_WHITE, AL_CENTER, 2);
}

static void draw_busy(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    fill(d, l->header, C_HEADER);
    kiosk_rect box = {l->margin, l->header.y, l->w - 2 * l->margin, l->header.h};
    draw_text(d, v->center_name, box, l->header.h * 2 / 5, 14, 1, C_WHITE, AL_LEFT, 2);
    int s = s_of(l);
    kiosk_rect msg = {l->margin * 2, l->h * 35 / 100, l->w - 4 * l->margin, l->h * 15 / 100};
    draw_text(d, kiosk_text(KT_BUSY, v->lang), msg, s / 14, 16, 1, C_YELLOW, AL_CENTER, 2);
    kiosk_rect svc = {l->margin * 2, msg.y + msg.h + l->margin, msg.w, l->h * 12 / 100};
    draw_text(d, v->chosen_service, svc, s / 18, 14, 0, C_WHITE, AL_CENTER, 2);
}

static int text_height(kiosk_draw *d, const char *text, int bw, int bh, int max_px, int min_px,
                       int bold, int max_lines);

static void draw_ticket(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    int s = s_of(l), m = l->margin;
    int portrait = l->h > l->w;
    fill(d, l->header, C_HEADER);
    kiosk_rect hbox = {m, l->header.y, l->w - 2 * m, l->header.h};
    draw_text(d, v->center_name, hbox, l->header.h * 2 / 5, 14, 1, C_WHITE, AL_LEFT, 2);
    draw_text(d, kiosk_text(KT_TAKE_TICKET, v->lang), l->title, l->title.h * 6 / 10, 14, 1,
              C_YELLOW, AL_CENTER, 1);
    /* a card like the paper: number, service, priority mark; then the
     * wait; the whole stack centered in the space between title and footer */
    char ahead[200], eta[200], wait[80];
    if (v->ahead > 0)
        kiosk_text_fill(ahead, sizeof ahead, KT_AHEAD, v->lang, NULL, v->ahead, 0);
    else
        snprintf(ahead, sizeof ahead, "%s", kiosk_text(KT_AHEAD_NONE, v->lang));
    kiosk_text_wait(v->eta_s, v->lang, wait, sizeof wait);
    kiosk_text_fill(eta, sizeof eta, KT_ETA, v->lang, wait, 0, 0);
    int top = l->title.y + l->title.h + m / 2, bottom = l->footer.y - m / 2;
    int avail = bottom - top;
    int card_w = portrait ? l->w - 2 * m : l->w * 55 / 100;
    int inner = card_w - 2 * m;
    int num_h = portrait ? avail * 26 / 100 : avail * 36 / 100;
    int svc_max = s / 20;
    int svc_h = text_height(d, v->chosen_service, inner, svc_max * 3, svc_max, 14, 1, 2);
    int pill_h = v->priority ? s / 18 : 0;
    int book_h = v->booked ? s / 18 : 0;
    int card_h = m / 2 + num_h + svc_h + (pill_h ? m / 2 + pill_h : 0) +
                 (book_h ? m / 2 + book_h : 0) + m;
    int line_max = s / 20;
    int ah = text_height(d, ahead, l->w - 2 * m, line_max * 3, line_max, 14, 0, 2);
    int eh = text_height(d, eta, l->w - 2 * m, line_max * 3, line_max, 14, 0, 2);
    int group = card_h + m + ah + m / 2 + eh;
    int y = top + (avail - group) / 2;
    if (y < top)
        y = top;
    kiosk_rect card = {(l->w - card_w) / 2, y, card_w, card_h};
    fill_round(d, card, s / 40, C_WHITE);
    kiosk_rect num = {card.x + m, y + m / 2, inner, num_h};
    draw_text(d, v->number, num, num_h * 95 / 100, 20, 1, C_INK, AL_CENTER, 1);
    kiosk_rect svc = {card.x + m, num.y + num_h, inner, svc_h};
    draw_text(d, v->chosen_service, svc, svc_max, 14, 1, C_INK, AL_CENTER, 2);
    if (pill_h) {
        int pw = card_w / 3 > pill_h * 4 ? card_w / 3 : pill_h * 4;
        kiosk_rect pill = {card.x + (card_w - pw) / 2, svc.y + svc_h + m / 2, pw, pill_h};
        fill_round(d, pill, pill_h / 2, C_PRIO_MARK);
        draw_text(d, kiosk_text(KT_PRIORITY_MARK, v->lang), inset(pill, pill_h / 3, pill_h / 8),
                  pill_h * 7 / 10, 10, 1, C_WHITE, AL_CENTER, 1);
    }
    if (book_h) {
        char mark[96];
        if (v->slot[0])
            kiosk_text_fill(mark, sizeof mark, KT_BOOKED_MARK, v->lang, v->slot, 0, 0);
        else /* no slot given: the mark alone, without " — ..." */
            snprintf(mark, sizeof mark, "%s", strcmp(v->lang, "en") ? "ĐÃ ĐẶT LỊCH" : "BOOKED");
        int pw = card_w - 2 * m;
        int py = svc.y + svc_h + (pill_h ? m / 2 + pill_h : 0) + m / 2;
        kiosk_rect pill = {card.x + m, py, pw, book_h};
        fill_round(d, pill, book_h / 2, C_BOOKED);
        draw_text(d, mark, inset(pill, book_h / 3, book_h / 8), book_h * 7 / 10, 10, 1, C_WHITE,
                  AL_CENTER, 1);
    }
    y = card.y + card_h + m;
    kiosk_rect l1 = {m, y, l->w - 2 * m, ah};
    draw_text(d, ahead, l1, line_max, 14, 0, C_WHITE, AL_CENTER, 2);
    kiosk_rect l2 = {m, y + ah + m / 2, l->w - 2 * m, eh};
    draw_text(d, eta, l2, line_max, 14, 0, C_WHITE, AL_CENTER, 2);
    char note[300];
    snprintf(note, sizeof note, "%s  ·  %s", kiosk_text(KT_WATCH_BOARD, v->lang),
             kiosk_text(KT_TOUCH_TO_FINISH, v->lang));
    footer_note(d, l, note, C_SOFT);
}

static void fault_texts(const kiosk_view *v, kiosk_text_id *title, char *body, size_t bodylen)
{
    const char *lang = v->lang;
    char extra[240] = "";
    switch (v->fault) {
    case KF_PAPER_OUT:
        *title = KT_F_PAPER_OUT;
        break;
    case KF_COVER_OPEN:
        *title = KT_F_COVER_OPEN;
        break;
    case KF_PRINTER_OFFLINE:
        *title = KT_F_PRINTER_OFFLINE;
        break;
    case KF_BROKER:
        *title = KT_F_BROKER;
        break;
    case KF_CONTROLLER:
        *title = KT_F_CONTROLLER;
        break;
    case KF_NO_CONFIG:
        *title = KT_F_NO_CONFIG;
        break;
    case KF_CLOSED:
        *title = KT_F_CLOSED;
        if (v->fault_detail[0])
            kiosk_text_fill(extra, sizeof extra, KT_B_HOURS, lang, v->fault_detail, 0, 0);
        char again[96] = "";
        if (extra[0] && v->fault_next[0])
            kiosk_text_fill(again, sizeof again, KT_B_NEXT_OPEN, lang, v->fault_next, 0, 0);
        snprintf(body, bodylen, "%s%s%s%s%s", extra, again[0] ? "; " : "", again,
                 extra[0] ? ". " : "", kiosk_text(KT_B_NO_TICKET, lang));
        return;
    case KF_CAP:
        *title = KT_F_CAP;
        snprintf(body, bodylen, "%s %s", kiosk_text(KT_B_CAP, lang),
                 kiosk_text(KT_B_NO_TICKET, lang));
        return;
    case KF_APPT: {
        const char *c = v->appt_code;
        char win[40] = "";
        if (v->window[0][0] && v->window[1][0])
            snprintf(win, sizeof win, "%s–%s", v->window[0], v->window[1]);
        kiosk_text_id why = KT_AB_CHECK;
        if (!strcmp(c, "appt_unknown")) {
            *title = v->by_card ? KT_A_UNKNOWN_CARD : KT_A_UNKNOWN;
        } else if (!strcmp(c, "appt_wrong_day")) {
            *title = KT_A_WRONG_DAY;
        } else if (!strcmp(c, "appt_wrong_service")) {
            *title = KT_A_WRONG_SERVICE;
        } else if (!strcmp(c, "appt_used")) {
            *title = KT_A_USED;
        } else if (!strcmp(c, "appt_cancelled")) {
            *title = KT_A_CANCELLED;
            why = KT_AB_WALKIN;
        } else if (!strcmp(c, "appt_early")) {
            *title = KT_A_EARLY;
            why = KT_AB_EARLY;
        } else if (!strcmp(c, "appt_late")) {
            *title = KT_A_LATE;
            why = KT_AB_LATE;
        } else {
            /* a refusal this kiosk has no words for: the controller's */
            *title = KT_A_REFUSED;
            snprintf(body, bodylen, "%s %s", v->appt_message, kiosk_text(KT_B_NO_TICKET, lang));
            return;
        }
        if ((why == KT_AB_EARLY || why == KT_AB_LATE) && win[0])
            kiosk_text_fill(extra, sizeof extra, why, lang, win, 0, 0);
        else
            snprintf(extra, sizeof extra, "%s",
                     kiosk_text(why == KT_AB_EARLY || why == KT_AB_LATE ? KT_AB_WALKIN : why, lang));
        snprintf(body, bodylen, "%s %s", extra, kiosk_text(KT_B_NO_TICKET, lang));
        return;
    }
    case KF_TAKE_FAILED:
    default:
        *title = KT_F_TAKE_FAILED;
        snprintf(body, bodylen, "%s %s", kiosk_text(KT_B_TRY_AGAIN, lang),
                 kiosk_text(KT_B_NO_TICKET, lang));
        return;
    }
    /* the kiosk is stopped: say so, say it comes back, and if a number was
     * taken and could not be printed, say it was cancelled */
    if (v->fault_detail[0])
        kiosk_text_fill(extra, sizeof extra, KT_B_CANCELLED, lang, v->fault_detail, 0, 0);
    snprintf(body, bodylen, "%s%s%s %s", extra, extra[0] ? " " : "",
             kiosk_text(KT_B_KIOSK_STOPPED, lang), kiosk_text(KT_B_RECOVERS, lang));
}

/* Height text takes when fitted into a bw x bh box (for stacking blocks). */
static int text_height(kiosk_draw *d, const char *text, int bw, int bh, int max_px, int min_px,
                       int bold, int max_lines)
{
    if (!text || !*text || bw <= 0 || bh <= 0)
        return 0;
    int size =
        fit_size(d, text, bw, bh, max_px < min_px ? min_px : max_px, min_px, bold, max_lines);
    TTF_Font *f = font_at(d, bold, size);
    char lines[MAX_LINES][LINE_BYTES];
    int n = wrap(f, text, bw, max_lines, lines);
    int h = (n < 0 ? 1 : n) * TTF_FontLineSkip(f);
    return h < bh ? h : bh;
}

static void draw_fault(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    int s = s_of(l), m = l->margin;
    int blocking = kiosk_fault_blocking(v->fault);
    int portrait = l->h > l->w;
    header(d, l, v, 1);
    SDL_Color band = blocking ? C_RED : C_AMBER;
    SDL_Color ink = blocking ? C_WHITE : C_INK;
    kiosk_text_id title;
    char body[600];
    fault_texts(v, &title, body, sizeof body);
    const char *svc = !blocking && v->chosen_service && *v->chosen_service ? v->chosen_service : "";

    /* stack icon, title, service and explanation; size the panel to them */
    kiosk_rect area = {m, l->header.h + m, l->w - 2 * m, l->footer.y - l->header.h - 2 * m};
    int icon = portrait ? area.w / 5 : area.h / 4;
    int tw = area.w - 4 * m, bw = area.w - 6 * m;
    int tmax = s / 12;
    int th = text_height(d, kiosk_text(title, v->lang), tw, tmax * 28 / 10, tmax, 16, 1, 2);
    int sh = text_height(d, svc, tw, s / 20 * 14 / 10, s / 20, 14, 1, 1);
    int room = area.h - (m + icon + m + th + (sh ? m / 2 + sh : 0) + m + m);
    int bh = text_height(d, body, bw, room, s / 24, 14, 0, 6);
    int content = m + icon + m + th + (sh ? m / 2 + sh : 0) + m + bh + m;
    int ph = content > area.h * 45 / 100 ? content : area.h * 45 / 100;
    if (ph > area.h)
        ph = area.h;
    kiosk_rect panel = {area.x, area.y + (area.h - ph) / 2, area.w, ph};
    fill_round(d, panel, s / 30, band);
    int y = panel.y + (ph - content) / 2 + m;
    int cx = panel.x + panel.w / 2;
    fill_circle(d, cx, y + icon / 2, icon / 2, ink);
    kiosk_rect bang = {cx - icon / 2, y, icon, icon};
    draw_text(d, "!", bang, icon * 8 / 10, 10, 1, band, AL_CENTER, 1);
    y += icon + m;
    kiosk_rect tbox = {panel.x + 2 * m, y, tw, th};
    draw_text(d, kiosk_text(title, v->lang), tbox, tmax, 16, 1, ink, AL_CENTER, 2);
    y += th;
    if (sh) {
        kiosk_rect sbox = {panel.x + 2 * m, y + m / 2, tw, sh};
        draw_text(d, svc, sbox, s / 20, 14, 1, ink, AL_CENTER, 1);
        y += m / 2 + sh;
    }
    kiosk_rect bbox = {panel.x + 3 * m, y + m, bw, bh};
    draw_text(d, body, bbox, s / 24, 14, 0, ink, AL_CENTER | AL_TOP, 6);
    if (blocking) {
        char kid[64];
        kiosk_text_fill(kid, sizeof kid, KT_KIOSK, v->lang, v->kiosk_id, 0, 0);
        footer_note(d, l, kid, C_SOFT);
    } else {
        footer_note(d, l,
                    kiosk_text(v->fault == KF_APPT ? KT_B_TOUCH_RETRY : KT_B_TOUCH_BACK, v->lang),
                    C_WHITE);
    }
}

/* The booking code keypad: the instruction in the header, the code in
 * big letters, a hint or an error in words, the keys, back and OK. */
static void draw_checkin(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    int m = l->margin;
    fill(d, l->header, C_HEADER);
    kiosk_rect hb = {m, l->header.y + m / 3, l->lang.x - 2 * m, l->header.h - 2 * (m / 3)};
    draw_text(d, kiosk_text(KT_CHECKIN_TITLE, v->lang), hb, l->header.h * 2 / 5, 14, 1, C_WHITE,
              AL_LEFT, 2);
    button(d, l, l->lang, kiosk_text(KT_OTHER_LANG, v->lang), C_BUTTON, C_WHITE,
           pressed(v, KTG_LANG, 0));
    kiosk_rect cb = l->code_box;
    fill_round(d, cb, cb.h / 5, C_WHITE);
    draw_text(d, v->code, inset(cb, cb.h / 4, cb.h / 10), cb.h * 8 / 10, 16, 1, C_INK, AL_CENTER,
              1);
    static const kiosk_text_id msgs[4] = {KT_CHECKIN_HINT, KT_CHECKIN_SHORT, KT_CHECKIN_BAD,
                                          KT_CHECKIN_BADSCAN};
    int mi = v->code_msg >= 0 && v->code_msg < 4 ? v->code_msg : 0;
    draw_text(d, kiosk_text(msgs[mi], v->lang), l->code_msg, l->code_msg.h * 7 / 10, 12, mi != 0,
              mi ? C_AMBER : C_SOFT, AL_CENTER, 1);
    for (int i = 0; i < KIOSK_KEYS; i++) {
        kiosk_rect k = l->keys[i];
        int on = pressed(v, KTG_KEY, i);
        if (i < KIOSK_CODE_CHARS) {
            char ch[2] = {KIOSK_CODE_ALPHABET[i], 0};
            fill_round(d, k, k.h / 6, on ? C_YELLOW : C_WHITE);
            draw_text(d, ch, inset(k, k.h / 8, k.h / 8), k.h * 6 / 10, 12, 1, C_INK, AL_CENTER, 1);
        } else {
            button(d, l, k, kiosk_text(KT_KEY_DELETE, v->lang), C_BUTTON, C_WHITE, on);
        }
    }
    button(d, l, l->back, kiosk_text(KT_BACK, v->lang), C_BUTTON, C_WHITE, pressed(v, KTG_BACK, 0));
    fill_round(d, l->ok, l->ok.h / 5, pressed(v, KTG_OK, 0) ? C_WHITE : C_YELLOW);
    draw_text(d, kiosk_text(KT_KEY_OK, v->lang), inset(l->ok, l->ok.h / 4, l->ok.h / 8),
              l->ok.h * 2 / 5, 12, 1, C_INK, AL_CENTER, 1);
}

/* Nothing issues again today: when it opens next, in words. */
static void draw_closed(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    int s = s_of(l), m = l->margin;
    fill(d, l->header, C_HEADER);
    kiosk_rect date = {m, 0, l->lang.x - 2 * m, l->header.h};
    draw_text(d, v->date, date, l->header.h * 2 / 5, 14, 0, C_WHITE, AL_LEFT, 1);
    button(d, l, l->lang, kiosk_text(KT_OTHER_LANG, v->lang), C_BUTTON, C_WHITE,
           pressed(v, KTG_LANG, 0));
    int top = l->header.h + m, avail = l->footer.y - m - top;
    kiosk_rect name = {2 * m, top, l->w - 4 * m, avail * 22 / 100};
    kiosk_rect title = {2 * m, name.y + name.h, l->w - 4 * m, avail * 22 / 100};
    kiosk_rect words = {2 * m, title.y + title.h + m, l->w - 4 * m, avail * 30 / 100};
    kiosk_rect note = {2 * m, words.y + words.h + m, l->w - 4 * m, avail * 14 / 100};
    draw_text(d, v->center_name, name, s / 16, 14, 1, C_SOFT, AL_CENTER, 2);
    draw_text(d, kiosk_text(KT_CLOSED_TITLE, v->lang), title, s / 12, 16, 1, C_WHITE, AL_CENTER, 2);
    fill_round(d, words, s / 40, C_YELLOW);
    draw_text(d, v->closed_words, inset(words, m, m / 2), s / 13, 16, 1, C_INK, AL_CENTER, 2);
    draw_text(d, kiosk_text(KT_CLOSED_NOTE, v->lang), note, s / 22, 14, 0, C_SOFT, AL_CENTER, 1);
    char kid[64];
    kiosk_text_fill(kid, sizeof kid, KT_KIOSK, v->lang, v->kiosk_id, 0, 0);
    footer_note(d, l, kid, C_SOFT);
}

static void draw_starting(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    int s = s_of(l);
    fill(d, l->header, C_HEADER);
    kiosk_rect box = {l->margin, l->header.y, l->w - 2 * l->margin, l->header.h};
    draw_text(d, v->center_name, box, l->header.h * 2 / 5, 14, 1, C_WHITE, AL_LEFT, 2);
    kiosk_rect msg = {l->margin, l->h * 40 / 100, l->w - 2 * l->margin, l->h * 15 / 100};
    draw_text(d, kiosk_text(KT_STARTING, v->lang), msg, s / 12, 16, 1, C_WHITE, AL_CENTER, 1);
}

void kiosk_draw_frame(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v)
{
    set_color(d, C_BG);
    SDL_RenderClear(d->r);
    switch (v->screen) {
    case KV_STARTING:
        draw_starting(d, l, v);
        break;
    case KV_IDLE:
        draw_idle(d, l, v);
        break;
    case KV_MENU:
        draw_menu(d, l, v);
        break;
    case KV_PRIORITY:
        draw_priority(d, l, v);
        break;
    case KV_BUSY:
        draw_busy(d, l, v);
        break;
    case KV_TICKET:
        draw_ticket(d, l, v);
        break;
    case KV_FAULT:
        draw_fault(d, l, v);
        break;
    case KV_CHECKIN:
        draw_checkin(d, l, v);
        break;
    case KV_CLOSED:
        draw_closed(d, l, v);
        break;
    }
}
