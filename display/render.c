#include "render.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <SDL_ttf.h>
#include <stdio.h>
#include <string.h>

/* Colours chosen for a hall: light text on a dark blue ground (contrast
 * above 12:1), the current call in signal yellow. */
static const SDL_Color C_BG = {0x0B, 0x1A, 0x33, 0xFF};
static const SDL_Color C_PANEL = {0x14, 0x28, 0x4B, 0xFF};
static const SDL_Color C_HEAD = {0x00, 0x3A, 0x8C, 0xFF};
static const SDL_Color C_WHITE = {0xFF, 0xFF, 0xFF, 0xFF};
static const SDL_Color C_YELLOW = {0xFF, 0xD4, 0x00, 0xFF};
static const SDL_Color C_DARK = {0x0B, 0x1A, 0x33, 0xFF};
static const SDL_Color C_SOFT = {0x9E, 0xC5, 0xFF, 0xFF};
static const SDL_Color C_GREY = {0x9A, 0xA5, 0xB8, 0xFF};
static const SDL_Color C_RED = {0xC6, 0x28, 0x28, 0xFF};

#define FONT_CACHE 40
#define TEX_CACHE 512

typedef struct font_entry {
    int px, bold;
    TTF_Font *f;
    unsigned long used;
} font_entry;

typedef struct tex_entry {
    char *text;
    int px, bold;
    Uint32 rgba;
    SDL_Texture *t;
    int w, h;
    unsigned long used;
} tex_entry;

struct qms_render {
    SDL_Renderer *r;
    char font_dir[512];
    font_entry fonts[FONT_CACHE];
    tex_entry tex[TEX_CACHE];
    unsigned long tick;
    /* the frame being drawn */
    float s;    /* design px -> output px */
    int ox, oy; /* letterbox offset */
    int dw, dh; /* design size */
    FILE *dump;
};

typedef struct box {
    int x, y, w, h;
} box;

enum { LEFT = 0, CENTER = 1, RIGHT = 2 };

int qms_render_new(SDL_Renderer *r, const char *font_dir, qms_render **out)
{
    *out = NULL;
    if (!TTF_WasInit() && TTF_Init() != 0) {
        QMS_ERROR("SDL_ttf: %s", TTF_GetError());
        return QMS_ERR_IO;
    }
    qms_render *rd = qms_calloc(1, sizeof *rd);
    if (!rd)
        return QMS_ERR_NOMEM;
    rd->r = r;
    snprintf(rd->font_dir, sizeof rd->font_dir, "%s", font_dir);
    /* fail now, not on the first frame, if the fonts are not there */
    char path[600];
    for (int bold = 0; bold < 2; bold++) {
        snprintf(path, sizeof path, "%s/%s", font_dir,
                 bold ? "NotoSans-Bold.ttf" : "NotoSans-Regular.ttf");
        TTF_Font *f = TTF_OpenFont(path, 12);
        if (!f) {
            QMS_ERROR("font %s: %s", path, TTF_GetError());
            qms_free(rd);
            return QMS_ERR_IO;
        }
        TTF_CloseFont(f);
    }
    *out = rd;
    return QMS_OK;
}

void qms_render_free(qms_render *rd)
{
    if (!rd)
        return;
    for (int i = 0; i < FONT_CACHE; i++)
        if (rd->fonts[i].f)
            TTF_CloseFont(rd->fonts[i].f);
    for (int i = 0; i < TEX_CACHE; i++) {
        if (rd->tex[i].t)
            SDL_DestroyTexture(rd->tex[i].t);
        qms_free(rd->tex[i].text);
    }
    qms_free(rd);
}

static TTF_Font *font(qms_render *rd, int px, int bold)
{
    if (px < 6)
        px = 6;
    int lru = 0;
    for (int i = 0; i < FONT_CACHE; i++) {
        font_entry *e = &rd->fonts[i];
        if (e->f && e->px == px && e->bold == bold) {
            e->used = rd->tick;
            return e->f;
        }
        if (!e->f || e->used < rd->fonts[lru].used)
            lru = i;
        if (!e->f)
            break;
    }
    font_entry *e = &rd->fonts[lru];
    if (e->f)
        TTF_CloseFont(e->f);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", rd->font_dir,
             bold ? "NotoSans-Bold.ttf" : "NotoSans-Regular.ttf");
    e->f = TTF_OpenFont(path, px);
    e->px = px;
    e->bold = bold;
    e->used = rd->tick;
    return e->f;
}

static Uint32 rgba(SDL_Color c)
{
    return (Uint32)c.r << 24 | (Uint32)c.g << 16 | (Uint32)c.b << 8 | c.a;
}

/* A texture of text, cached: most frames redraw the same strings. */
static tex_entry *text_tex(qms_render *rd, const char *s, int px, int bold, SDL_Color c)
{
    Uint32 k = rgba(c);
    int lru = 0;
    for (int i = 0; i < TEX_CACHE; i++) {
        tex_entry *e = &rd->tex[i];
        if (e->t && e->px == px && e->bold == bold && e->rgba == k && strcmp(e->text, s) == 0) {
            e->used = rd->tick;
            return e;
        }
        if (!e->t) {
            lru = i;
            break;
        }
        if (e->used < rd->tex[lru].used)
            lru = i;
    }
    TTF_Font *f = font(rd, px, bold);
    if (!f)
        return NULL;
    SDL_Surface *surf = TTF_RenderUTF8_Blended(f, s, c);
    if (!surf)
        return NULL;
    tex_entry *e = &rd->tex[lru];
    if (e->t)
        SDL_DestroyTexture(e->t);
    qms_free(e->text);
    e->t = SDL_CreateTextureFromSurface(rd->r, surf);
    e->w = surf->w;
    e->h = surf->h;
    SDL_FreeSurface(surf);
    e->text = qms_strdup(s);
    if (!e->t || !e->text) {
        if (e->t)
            SDL_DestroyTexture(e->t);
        qms_free(e->text);
        memset(e, 0, sizeof *e);
        return NULL;
    }
    e->px = px;
    e->bold = bold;
    e->rgba = k;
    e->used = rd->tick;
    return e;
}

static SDL_Rect out_rect(const qms_render *rd, box b)
{
    SDL_Rect o;
    o.x = rd->ox + (int)((float)b.x * rd->s + 0.5f);
    o.y = rd->oy + (int)((float)b.y * rd->s + 0.5f);
    o.w = (int)((float)(b.x + b.w) * rd->s + 0.5f) + rd->ox - o.x;
    o.h = (int)((float)(b.y + b.h) * rd->s + 0.5f) + rd->oy - o.y;
    return o;
}

static void fill(qms_render *rd, box b, SDL_Color c)
{
    SDL_Rect o = out_rect(rd, b);
    SDL_SetRenderDrawColor(rd->r, c.r, c.g, c.b, c.a);
    SDL_RenderFillRect(rd->r, &o);
}

static void frame_rect(qms_render *rd, box b, int t, SDL_Color c)
{
    fill(rd, (box){b.x, b.y, b.w, t}, c);
    fill(rd, (box){b.x, b.y + b.h - t, b.w, t}, c);
    fill(rd, (box){b.x, b.y, t, b.h}, c);
    fill(rd, (box){b.x + b.w - t, b.y, t, b.h}, c);
}

/* Cut a UTF-8 string to keep bytes and add an ellipsis. */
static void ellipsize(char *buf, size_t cap, const char *s, size_t keep)
{
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--;
    snprintf(buf, cap, "%.*s…", (int)keep, s);
}

/* The text's vertical extent used for fitting and centring. "tight" texts
 * (ticket labels, the clock: capitals and digits only) are measured from
 * the cap height, not the full line with room for accents and
 * descenders, so the number can be as large as its box allows. */
typedef struct vext {
    int top, h; /* rows of the rendered surface to show */
} vext;

static vext text_vext(qms_render *rd, int px, int bold, int tight, int tex_h)
{
    vext v = {0, tex_h};
    if (!tight)
        return v;
    TTF_Font *f = font(rd, px, bold);
    int minx, maxx, miny, maxy, adv;
    if (!f || TTF_GlyphMetrics32(f, 'H', &minx, &maxx, &miny, &maxy, &adv) != 0)
        return v;
    int pad = px / 12 + 1;
    int asc = TTF_FontAscent(f);
    v.top = asc - maxy - pad;
    if (v.top < 0)
        v.top = 0;
    v.h = maxy + 2 * pad;
    if (v.top + v.h > tex_h)
        v.h = tex_h - v.top;
    return v;
}

/* Does the font have every character of s? A missing one would show as
 * an empty box, so the dump reports it and tests fail on it. */
static int all_glyphs(TTF_Font *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        Uint32 cp;
        int n;
        if (*p < 0x80)
            cp = *p, n = 1;
        else if ((*p & 0xE0) == 0xC0)
            cp = *p & 0x1F, n = 2;
        else if ((*p & 0xF0) == 0xE0)
            cp = *p & 0x0F, n = 3;
        else
            cp = *p & 0x07, n = 4;
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        if (cp >= 0x20 && !TTF_GlyphIsProvided32(f, cp))
            return 0;
        p += n;
    }
    return 1;
}

/* Draw s fitted into b: at design size `size`, smaller down to `min`
 * if it is too wide or tall, then cut with an ellipsis. */
static void text(qms_render *rd, const char *region, box b, const char *s, int size, int min,
                 int bold, SDL_Color c, int align, int tight)
{
    if (!s || !*s)
        return;
    SDL_Rect ob = out_rect(rd, b);
    int px = (int)((float)size * rd->s + 0.5f);
    int minpx = (int)((float)min * rd->s + 0.5f);
    if (minpx < 6)
        minpx = 6;
    if (px < minpx)
        px = minpx;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    int fitted = 0, cut = 0;
    tex_entry *e = NULL;
    vext ve = {0, 0};
    for (int tries = 0; tries < 60; tries++) {
        TTF_Font *f = font(rd, px, bold);
        int w = 0, h = 0;
        if (!f || TTF_SizeUTF8(f, buf, &w, &h) != 0)
            return;
        ve = text_vext(rd, px, bold, tight, h);
        if (w <= ob.w && ve.h <= ob.h) {
            fitted = 1;
            break;
        }
        if (px > minpx) {
            /* jump close to the size that fits, then step down */
            float kx = (float)ob.w / (float)(w ? w : 1),
                  ky = (float)ob.h / (float)(ve.h ? ve.h : 1);
            float k = kx < ky ? kx : ky;
            int next = (int)((float)px * k);
            px = next < px - 1 ? next : px - 1;
            if (px < minpx)
                px = minpx;
            continue;
        }
        /* at the smallest size and still too wide: shorten */
        size_t len = strlen(buf);
        if (len <= 1 || ve.h > ob.h)
            break;
        size_t keep = (size_t)((float)len * (float)ob.w / (float)w);
        if (keep >= len - 1 || keep == 0)
            keep = len > 4 ? len - 4 : 1;
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", buf);
        ellipsize(buf, sizeof buf, tmp, keep > 3 ? keep - 3 : keep);
        cut = 1;
    }
    e = text_tex(rd, buf, px, bold, c);
    if (!e)
        return;
    ve = text_vext(rd, px, bold, tight, e->h);
    SDL_Rect src = {0, ve.top, e->w, ve.h};
    SDL_Rect dst = {ob.x, ob.y + (ob.h - ve.h) / 2, e->w, ve.h};
    if (align == CENTER)
        dst.x = ob.x + (ob.w - e->w) / 2;
    else if (align == RIGHT)
        dst.x = ob.x + ob.w - e->w;
    SDL_RenderCopy(rd->r, e->t, &src, &dst);
    if (rd->dump) {
        TTF_Font *f = font(rd, px, bold);
        int glyphs = f && all_glyphs(f, buf);
        fprintf(rd->dump, "text\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", region, dst.x,
                dst.y, dst.w, dst.h, ob.x, ob.y, ob.w, ob.h,
                !glyphs ? "missing_glyph"
                : cut   ? "cut"
                        : (fitted ? "fit" : "over"),
                buf);
    }
}

/* ---- layout ---- */

typedef struct layout {
    int dw, dh;
    box header, name, clock, date;
    box cur, cur_title, cur_ticket, cur_counter;
    box rec, rec_title, rec_grid;
    int rec_cols, rec_rows;
    box ctr, ctr_title, ctr_grid;
    box svc, svc_title, svc_rows;
    int svc_per_page;
    box footer;
} layout;

static void make_layout(layout *l, int portrait)
{
    memset(l, 0, sizeof *l);
    if (!portrait) {
        l->dw = 1920, l->dh = 1080;
        l->header = (box){0, 0, 1920, 110};
        l->name = (box){30, 8, 1380, 94};
        l->clock = (box){1430, 6, 460, 62};
        l->date = (box){1430, 68, 460, 38};
        l->cur = (box){20, 125, 1000, 420};
        l->cur_title = (box){40, 132, 960, 58};
        l->cur_ticket = (box){40, 192, 960, 238};
        l->cur_counter = (box){40, 432, 960, 104};
        l->rec = (box){20, 560, 1000, 440};
        l->rec_title = (box){40, 565, 960, 50};
        l->rec_grid = (box){40, 620, 960, 370};
        l->rec_cols = 2, l->rec_rows = 4;
        l->ctr = (box){1040, 125, 860, 420};
        l->ctr_title = (box){1060, 130, 820, 50};
        l->ctr_grid = (box){1060, 185, 820, 350};
        l->svc = (box){1040, 560, 860, 440};
        l->svc_title = (box){1060, 565, 820, 50};
        l->svc_rows = (box){1060, 622, 820, 370};
        l->svc_per_page = 6;
        l->footer = (box){0, 1010, 1920, 70};
    } else {
        l->dw = 1080, l->dh = 1920;
        l->header = (box){0, 0, 1080, 170};
        l->name = (box){30, 8, 1020, 92};
        l->clock = (box){30, 104, 420, 60};
        l->date = (box){450, 108, 600, 52};
        l->cur = (box){20, 185, 1040, 520};
        l->cur_title = (box){40, 195, 1000, 62};
        l->cur_ticket = (box){40, 260, 1000, 300};
        l->cur_counter = (box){40, 570, 1000, 120};
        l->rec = (box){20, 720, 1040, 400};
        l->rec_title = (box){40, 725, 1000, 50};
        l->rec_grid = (box){40, 780, 1000, 330};
        l->rec_cols = 2, l->rec_rows = 4;
        l->ctr = (box){20, 1135, 1040, 390};
        l->ctr_title = (box){40, 1140, 1000, 50};
        l->ctr_grid = (box){40, 1195, 1000, 320};
        l->svc = (box){20, 1540, 1040, 300};
        l->svc_title = (box){40, 1545, 1000, 50};
        l->svc_rows = (box){40, 1600, 1000, 236};
        l->svc_per_page = 4;
        l->footer = (box){0, 1850, 1080, 70};
    }
}

/* "Today" is the controller's day (its clock may be a demo's virtual one),
 * known from its statistics; without them every call counts. */
static int stale(const qms_board *b, const qms_board_call *c)
{
    return b->stats_at_ms && c->at_ms &&
           qms_local_day(c->at_ms, b->utc_offset_min) <
               qms_local_day(b->stats_at_ms, b->utc_offset_min);
}

const qms_board_call *qms_render_current(const qms_board *b, int64_t now_ms)
{
    (void)now_ms;
    if (b->nrecent == 0 || stale(b, &b->recent[0]))
        return NULL; /* yesterday's last call is not "now serving" this morning */
    return &b->recent[0];
}

static const char *counter_name(const qms_board *b, int id, const char *event_name, int en,
                                char *buf, size_t cap)
{
    int ci = qms_board_counter_find(b, id);
    if (ci >= 0)
        return en ? b->counters[ci].name_en : b->counters[ci].name_vi;
    if (event_name && *event_name && !en)
        return event_name;
    snprintf(buf, cap, en ? "Counter %d" : "Quầy %d", id);
    return buf;
}

static void draw_header(qms_render *rd, const layout *l, const qms_board *b, const qms_view *v)
{
    fill(rd, l->header, C_HEAD);
    const char *name = v->en ? b->name_en : b->name_vi;
    if (!*name)
        name = v->en ? "Public Administration Service Center" : "Trung tâm Phục vụ hành chính công";
    text(rd, "name", l->name, name, v->portrait ? 50 : 54, 26, 1, C_WHITE, LEFT, 0);
    int32_t sec = qms_local_sec(v->now_ms, b->utc_offset_min);
    int32_t day = qms_local_day(v->now_ms, b->utc_offset_min);
    char hhmm[6], ds[11], date[64];
    qms_hhmm_str(sec, hhmm);
    qms_day_str(day, ds);
    static const char *const WD_VI[7] = {"Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư",
                                         "Thứ Năm",  "Thứ Sáu", "Thứ Bảy"};
    static const char *const WD_EN[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
    int wd = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    /* ds is YYYY-MM-DD; people here read DD/MM/YYYY */
    snprintf(date, sizeof date, "%s, %.2s/%.2s/%.4s", v->en ? WD_EN[wd] : WD_VI[wd], ds + 8, ds + 5,
             ds);
    text(rd, "clock", l->clock, hhmm, 60, 30, 1, C_WHITE, v->portrait ? LEFT : RIGHT, 1);
    text(rd, "date", l->date, date, 30, 18, 0, C_SOFT, RIGHT, 0);
}

static void draw_current(qms_render *rd, const layout *l, const qms_board *b, const qms_view *v)
{
    const qms_board_call *c = qms_render_current(b, v->now_ms);
    int inv = c && v->highlight_inverse;
    SDL_Color bg = inv ? C_YELLOW : C_PANEL, fg = inv ? C_DARK : C_YELLOW;
    fill(rd, l->cur, bg);
    frame_rect(rd, l->cur, 6, C_YELLOW);
    if (!c) {
        text(rd, "current_title", l->cur_title, v->en ? "Now serving" : "Mời khách hàng số", 44, 24,
             0, C_WHITE, CENTER, 0);
        text(rd, "current_ticket", l->cur_ticket, "—", 200, 40, 1, C_GREY, CENTER, 0);
        text(rd, "current_counter", l->cur_counter,
             v->en ? "No number called yet" : "Chưa gọi số nào", 56, 24, 0, C_GREY, CENTER, 0);
        return;
    }
    char title[128];
    snprintf(title, sizeof title, "%s%s", v->en ? "Now serving" : "Mời khách hàng số",
             c->recall ? (v->en ? " (called again)" : " (gọi lại)") : "");
    text(rd, "current_title", l->cur_title, title, 44, 24, 0, inv ? C_DARK : C_WHITE, CENTER, 0);
    text(rd, "current_ticket", l->cur_ticket, c->ticket, 400, 60, 1, fg, CENTER, 1);
    char nb[64], line[256];
    const char *cn = counter_name(b, c->counter, c->counter_name, v->en, nb, sizeof nb);
    snprintf(line, sizeof line, "%s %s", v->en ? "at" : "đến", cn);
    text(rd, "current_counter", l->cur_counter, line, 84, 30, 1, inv ? C_DARK : C_WHITE, CENTER, 0);
}

static void draw_recent(qms_render *rd, const layout *l, const qms_board *b, const qms_view *v)
{
    fill(rd, l->rec, C_PANEL);
    text(rd, "recent_title", l->rec_title, v->en ? "Called before" : "Các số đã gọi", 36, 20, 1,
         C_SOFT, LEFT, 0);
    const qms_board_call *cur = qms_render_current(b, v->now_ms);
    if (!cur)
        return;
    const qms_board_call *shown[8];
    int n = 0;
    for (int i = 1; i < b->nrecent && n < l->rec_cols * l->rec_rows; i++) {
        const qms_board_call *c = &b->recent[i];
        if (stale(b, c))
            break;
        int dup = strcmp(c->ticket, cur->ticket) == 0;
        for (int j = 0; j < n && !dup; j++)
            dup = strcmp(shown[j]->ticket, c->ticket) == 0; /* a recall: once is enough */
        if (!dup)
            shown[n++] = c;
    }
    int gap = 12;
    int cw = (l->rec_grid.w - gap * (l->rec_cols - 1)) / l->rec_cols;
    int ch = (l->rec_grid.h - gap * (l->rec_rows - 1)) / l->rec_rows;
    for (int i = 0; i < n; i++) {
        /* down the first column, then the second: reading order */
        int col = i / l->rec_rows, row = i % l->rec_rows;
        box t = {l->rec_grid.x + col * (cw + gap), l->rec_grid.y + row * (ch + gap), cw, ch};
        fill(rd, t, C_BG);
        char nb[64];
        const char *cn =
            counter_name(b, shown[i]->counter, shown[i]->counter_name, v->en, nb, sizeof nb);
        text(rd, "recent_ticket", (box){t.x + 14, t.y + 4, cw * 48 / 100, ch - 8}, shown[i]->ticket,
             72, 30, 1, C_WHITE, LEFT, 1);
        text(rd, "recent_counter", (box){t.x + cw * 50 / 100, t.y + 4, cw * 50 / 100 - 14, ch - 8},
             cn, 44, 22, 0, C_SOFT, RIGHT, 0);
    }
}

static void draw_counters(qms_render *rd, const layout *l, const qms_board *b, const qms_view *v)
{
    fill(rd, l->ctr, C_PANEL);
    text(rd, "counters_title", l->ctr_title, v->en ? "Counters" : "Quầy đang phục vụ", 36, 20, 1,
         C_SOFT, LEFT, 0);
    const qms_board_counter *shown[QMS_MAX_COUNTERS];
    int n = 0;
    for (int i = 0; i < b->ncounters; i++) {
        const qms_board_counter *k = &b->counters[i];
        if (b->have_config && !k->in_config)
            continue;
        if (k->state == QMS_CTR_OPEN || k->state == QMS_CTR_PAUSED)
            shown[n++] = k;
    }
    if (n == 0) {
        text(rd, "counters_none", l->ctr_grid, v->en ? "No counter open" : "Chưa có quầy mở", 44,
             20, 0, C_GREY, CENTER, 0);
        return;
    }
    int cols = 4, rows = (n + 3) / 4;
    if (rows > 4) {
        cols = 5;
        rows = (n + 4) / 5;
    }
    if (rows > 5) {
        cols = 6;
        rows = (n + 5) / 6;
    }
    if (rows > 6)
        rows = 6; /* at most 36 tiles; a center that large needs a second board */
    int gap = 10;
    int tw = (l->ctr_grid.w - gap * (cols - 1)) / cols;
    /* few counters: tiles keep the height of a 4-row grid, not giant ones */
    int th = (l->ctr_grid.h - gap * ((rows < 4 ? 4 : rows) - 1)) / (rows < 4 ? 4 : rows);
    for (int i = 0; i < n && i < cols * rows; i++) {
        const qms_board_counter *k = shown[i];
        box t = {l->ctr_grid.x + (i % cols) * (tw + gap), l->ctr_grid.y + (i / cols) * (th + gap),
                 tw, th};
        fill(rd, t, C_BG);
        const char *name = v->en ? k->name_en : k->name_vi;
        text(rd, "counter_name", (box){t.x + 8, t.y + 2, tw - 16, th * 36 / 100}, name, 28, 14, 0,
             C_SOFT, CENTER, 0);
        box nb = {t.x + 8, t.y + th * 38 / 100, tw - 16, th * 60 / 100};
        if (k->state == QMS_CTR_PAUSED)
            text(rd, "counter_paused", nb, v->en ? "Paused" : "Tạm dừng", 30, 14, 0, C_GREY, CENTER,
                 0);
        else if (k->ticket[0])
            text(rd, "counter_ticket", nb, k->ticket, 56, 20, 1, C_WHITE, CENTER, 1);
        else
            text(rd, "counter_ticket", nb, "—", 44, 20, 1, C_GREY, CENTER, 0);
    }
}

static void fmt_wait(char *out, size_t cap, int eta_s, int en)
{
    int min = (eta_s + 59) / 60;
    if (eta_s < 60)
        snprintf(out, cap, en ? "< 1 min" : "< 1 phút");
    else if (min < 60)
        snprintf(out, cap, en ? "~%d min" : "~%d phút", min);
    else
        snprintf(out, cap, en ? "~%d h %02d" : "~%d giờ %02d", min / 60, min % 60);
}

int qms_render_service_pages(const qms_board *b, const qms_view *v)
{
    layout l;
    make_layout(&l, v->portrait);
    int n = b->nservices;
    return n <= l.svc_per_page ? 1 : (n + l.svc_per_page - 1) / l.svc_per_page;
}

static void draw_services(qms_render *rd, const layout *l, const qms_board *b, const qms_view *v)
{
    fill(rd, l->svc, C_PANEL);
    box t = l->svc_title;
    int wq = t.w * 16 / 100, we = t.w * 22 / 100, wn = t.w - wq - we - 20;
    text(rd, "services_title", (box){t.x, t.y, wn, t.h}, v->en ? "Waiting" : "Đang chờ", 36, 20, 1,
         C_SOFT, LEFT, 0);
    text(rd, "services_head", (box){t.x + wn + 10, t.y, wq, t.h}, v->en ? "People" : "Số người", 26,
         14, 0, C_SOFT, RIGHT, 0);
    text(rd, "services_head", (box){t.x + wn + wq + 20, t.y, we, t.h},
         v->en ? "Expected" : "Dự kiến", 26, 14, 0, C_SOFT, RIGHT, 0);
    int pages = qms_render_service_pages(b, v);
    int page = pages ? v->page % pages : 0;
    if (pages > 1) {
        char pg[32];
        snprintf(pg, sizeof pg, "%d/%d", page + 1, pages);
        text(rd, "services_page", (box){t.x + wn - 120, t.y, 120, t.h}, pg, 26, 14, 0, C_GREY,
             RIGHT, 0);
    }
    if (b->nservices == 0)
        return;
    int per = l->svc_per_page;
    int rh = l->svc_rows.h / per;
    for (int i = 0; i < per; i++) {
        int si = page * per + i;
        if (si >= b->nservices)
            break;
        const qms_board_service *s = &b->services[si];
        box r = {l->svc_rows.x, l->svc_rows.y + i * rh, l->svc_rows.w, rh - 6};
        fill(rd, r, C_BG);
        text(rd, "service_name", (box){r.x + 12, r.y, wn - 12, r.h},
             v->en ? s->name_en : s->name_vi, 34, 20, 0, C_WHITE, LEFT, 0);
        char wq_s[16], eta[48];
        if (s->have_stats)
            snprintf(wq_s, sizeof wq_s, "%d", s->waiting);
        else
            snprintf(wq_s, sizeof wq_s, "—");
        if (s->have_stats && s->waiting > 0 && s->eta_s >= 0)
            fmt_wait(eta, sizeof eta, s->eta_s, v->en);
        else
            snprintf(eta, sizeof eta, "—");
        text(rd, "service_waiting", (box){r.x + wn + 10, r.y, wq, r.h}, wq_s, 42, 20, 1,
             s->waiting > 0 ? C_YELLOW : C_GREY, RIGHT, 0);
        text(rd, "service_eta", (box){r.x + wn + wq + 20, r.y, we - 12, r.h}, eta, 34, 18, 0,
             C_WHITE, RIGHT, 0);
    }
}

int qms_render_notice_width(qms_render *rd, const qms_view *v)
{
    if (!v->notice || !*v->notice)
        return 0;
    TTF_Font *f = font(rd, 44, 0);
    int w = 0, h = 0;
    if (!f || TTF_SizeUTF8(f, v->notice, &w, &h) != 0)
        return 0;
    return w;
}

static void draw_footer(qms_render *rd, const layout *l, const qms_board *b, const qms_view *v)
{
    (void)b;
    box f = l->footer;
    if (!v->broker_up || !v->controller_up) {
        /* plain to see from across the hall: a red bar and a red frame */
        fill(rd, f, C_RED);
        frame_rect(rd, (box){0, 0, l->dw, l->dh}, 10, C_RED);
        const char *msg;
        if (!v->broker_up)
            msg = v->en ? "NO CONNECTION TO THE SERVER — reconnecting…"
                        : "MẤT KẾT NỐI VỚI MÁY CHỦ — đang kết nối lại…";
        else
            msg = v->en ? "CALLING SYSTEM NOT RESPONDING — numbers shown may be out of date"
                        : "HỆ THỐNG GỌI SỐ KHÔNG PHẢN HỒI — thông tin có thể chưa cập nhật";
        text(rd, v->broker_up ? "banner_controller" : "banner_broker",
             (box){f.x + 20, f.y + 4, f.w - 40, f.h - 8}, msg, 40, 20, 1, C_WHITE, CENTER, 0);
        return;
    }
    fill(rd, f, C_HEAD);
    if (!v->notice || !*v->notice)
        return;
    /* the notice scrolls right to left; the box clips it */
    TTF_Font *font44 = font(rd, (int)(44.0f * rd->s + 0.5f), 0);
    if (!font44)
        return;
    tex_entry *e = text_tex(rd, v->notice, (int)(44.0f * rd->s + 0.5f), 0, C_WHITE);
    if (!e)
        return;
    SDL_Rect ob = out_rect(rd, f);
    SDL_RenderSetClipRect(rd->r, &ob);
    int x = ob.x + ob.w - (int)((float)v->notice_x * rd->s);
    SDL_Rect dst = {x, ob.y + (ob.h - e->h) / 2, e->w, e->h};
    SDL_RenderCopy(rd->r, e->t, NULL, &dst);
    SDL_RenderSetClipRect(rd->r, NULL);
    if (rd->dump)
        fprintf(rd->dump, "notice\t%d\t%s\n", v->notice_x, v->notice);
}

int qms_render_footer(qms_render *rd, const qms_board *b, const qms_view *v)
{
    if (rd->s <= 0)
        return QMS_ERR_INVAL;
    rd->tick++;
    layout l;
    make_layout(&l, v->portrait);
    draw_footer(rd, &l, b, v);
    return QMS_OK;
}

int qms_render_frame(qms_render *rd, const qms_board *b, const qms_view *v)
{
    rd->tick++;
    layout l;
    make_layout(&l, v->portrait);
    int ow = 0, oh = 0;
    if (SDL_GetRendererOutputSize(rd->r, &ow, &oh) != 0 || ow <= 0 || oh <= 0)
        return QMS_ERR_IO;
    float sx = (float)ow / (float)l.dw, sy = (float)oh / (float)l.dh;
    rd->s = sx < sy ? sx : sy;
    rd->ox = (int)(((float)ow - (float)l.dw * rd->s) / 2);
    rd->oy = (int)(((float)oh - (float)l.dh * rd->s) / 2);
    rd->dw = l.dw;
    rd->dh = l.dh;
    rd->dump = v->dump;
    if (rd->dump)
        fprintf(rd->dump, "screen\t%d\t%d\t%d\t%d\t%s\t%s\n", ow, oh, l.dw, l.dh,
                v->portrait ? "portrait" : "landscape",
                !v->broker_up ? "broker_down" : (!v->controller_up ? "controller_down" : "ok"));
    SDL_SetRenderDrawColor(rd->r, 0, 0, 0, 255);
    SDL_RenderClear(rd->r);
    fill(rd, (box){0, 0, l.dw, l.dh}, C_BG);
    draw_header(rd, &l, b, v);
    draw_current(rd, &l, b, v);
    draw_recent(rd, &l, b, v);
    draw_counters(rd, &l, b, v);
    draw_services(rd, &l, b, v);
    draw_footer(rd, &l, b, v);
    rd->dump = NULL;
    return QMS_OK;
}
