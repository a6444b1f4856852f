/* The plan's chart (plan.h): per service group, the counters open per hour
 * (bars, against all the group's counters) and the p90 wait that replaying
 * the plan gave (a line, with the target), drawn with SDL's software
 * renderer and SDL_ttf (Noto Sans: every Vietnamese diacritic), saved as
 * PNG. */
#include "plan.h"

#include "qms/err.h"
#include "qms/png.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <stdarg.h>
#include <string.h>

#define W 1200
#define HEAD 110
#define PANEL 380
#define FOOT 60
#define DAY0_S (7 * 3600)

typedef struct draw {
    SDL_Surface *s;
    SDL_Renderer *r;
    TTF_Font *font, *bold, *small;
} draw;

static void text(draw *d, TTF_Font *f, int x, int y, int align, SDL_Color col, const char *fmt,
                 ...) __attribute__((format(printf, 7, 8)));
/* align: 0 left, 1 centre, 2 right of x */
static void text(draw *d, TTF_Font *f, int x, int y, int align, SDL_Color col, const char *fmt,
                 ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    SDL_Surface *t = TTF_RenderUTF8_Blended(f, buf, col);
    if (!t)
        return;
    SDL_Texture *tx = SDL_CreateTextureFromSurface(d->r, t);
    if (tx) {
        SDL_Rect dst = {x - (align == 1 ? t->w / 2 : align == 2 ? t->w : 0), y, t->w, t->h};
        SDL_RenderCopy(d->r, tx, NULL, &dst);
        SDL_DestroyTexture(tx);
    }
    SDL_FreeSurface(t);
}

static void color(draw *d, Uint8 r, Uint8 g, Uint8 b)
{
    SDL_SetRenderDrawColor(d->r, r, g, b, 255);
}

static void thick_line(draw *d, int x0, int y0, int x1, int y1)
{
    for (int o = -1; o <= 1; o++) {
        SDL_RenderDrawLine(d->r, x0, y0 + o, x1, y1 + o);
        SDL_RenderDrawLine(d->r, x0 + o, y0, x1 + o, y1);
    }
}

static void hhmm(int32_t rel_s, char *buf, size_t n)
{
    int32_t t = rel_s + DAY0_S;
    snprintf(buf, n, "%02d:%02d", (int)(t / 3600), (int)(t / 60 % 60));
}

static void panel(draw *d, const qms_plan *p, const qms_config *c, int gi, int top)
{
    const qms_plan_group *g = &p->groups[gi];
    SDL_Color ink = {30, 30, 30, 255}, grey = {110, 110, 110, 255}, blue = {40, 90, 170, 255},
              red = {200, 50, 40, 255};
    char svcs[400] = "";
    for (int j = 0; j < g->nservices && strlen(svcs) < sizeof svcs - 20; j++) {
        strcat(svcs, j ? ", " : "");
        strcat(svcs, c->services[g->services[j]].code);
    }
    text(d, d->bold, 40, top + 8, 0, ink, "Nhóm %d — %d quầy — lĩnh vực: %s", gi + 1,
         g->ncounters, svcs);
    int x0 = 80, x1 = W - 80, y0 = top + 80, y1 = top + PANEL - 60;
    /* the wait axis: up to the largest of the plan's p90, the all-open p90
     * and the target, in whole 20 minutes */
    int32_t wmax = p->target_s;
    for (int h = 0; h < p->nslots; h++) {
        if (p->p90[h][gi] != QMS_PLAN_NEVER && p->p90[h][gi] > wmax)
            wmax = p->p90[h][gi];
        if (p->all_p90[h][gi] != QMS_PLAN_NEVER && p->all_p90[h][gi] > wmax)
            wmax = p->all_p90[h][gi];
    }
    int wmin = (int)((wmax + 1199) / 1200 * 20);
    /* the counters' axis: whole counters per grid line */
    int kstep = (g->ncounters + 3) / 4 > 0 ? (g->ncounters + 3) / 4 : 1, kmax = kstep * 4;
    /* grid and axes */
    color(d, 225, 225, 225);
    for (int q = 0; q <= 4; q++) {
        int y = y1 - (y1 - y0) * q / 4;
        SDL_RenderDrawLine(d->r, x0, y, x1, y);
        text(d, d->small, x0 - 8, y - 11, 2, blue, "%d", kstep * q);
        text(d, d->small, x1 + 8, y - 11, 0, red, "%d", wmin * q / 4);
    }
    text(d, d->font, x0 - 30, y0 - 44, 0, blue, "Số quầy mở (cột; khung: tất cả quầy của nhóm)");
    text(d, d->font, x1 + 30, y0 - 44, 2, red, "Chờ P90 khi mô phỏng kế hoạch (phút)");
    int n = p->nslots, slot_w = (x1 - x0) / (n ? n : 1);
    int px = -1, py = -1;
    for (int h = 0; h < n; h++) {
        int cx = x0 + slot_w * h + slot_w / 2, bw = slot_w * 3 / 5;
        /* all the group's counters: an outline; those open: filled */
        int yk_all = y1 - (y1 - y0) * g->ncounters / kmax;
        int yk = y1 - (y1 - y0) * p->k[h][gi] / kmax;
        SDL_Rect all = {cx - bw / 2, yk_all, bw, y1 - yk_all};
        SDL_Rect bar = {cx - bw / 2, yk, bw, y1 - yk};
        color(d, 70, 120, 200);
        SDL_RenderFillRect(d->r, &bar);
        color(d, 40, 60, 110);
        SDL_RenderDrawRect(d->r, &all);
        SDL_Color white = {255, 255, 255, 255};
        if (p->k[h][gi] > 0 && y1 - yk > 24)
            text(d, d->bold, cx, yk + 2, 1, white, "%d", p->k[h][gi]);
        else
            text(d, d->bold, cx, yk - 26, 1, blue, "%d", p->k[h][gi]);
        char a[16], b[16];
        hhmm(p->from_s[h], a, sizeof a);
        hhmm(p->to_s[h], b, sizeof b);
        text(d, d->small, cx, y1 + 6, 1, grey, "%s–%s", a, b);
        text(d, d->small, cx, y1 + 26, 1, grey, "%d phiếu", p->tickets[h][gi]);
        /* the wait */
        int32_t w = p->p90[h][gi];
        if (w == QMS_PLAN_NEVER || p->tickets[h][gi] == 0) {
            px = -1;
            continue;
        }
        int y = y1 - (int)((int64_t)(y1 - y0) * w / ((int64_t)wmin * 60));
        color(d, 200, 50, 40);
        if (px >= 0)
            thick_line(d, px, py, cx, y);
        SDL_Rect dot = {cx - 5, y - 5, 11, 11};
        SDL_RenderFillRect(d->r, &dot);
        px = cx;
        py = y;
    }
    /* the wait figures last, on white, so no bar hides them */
    for (int h = 0; h < n; h++) {
        int32_t w = p->p90[h][gi];
        if (w == QMS_PLAN_NEVER || p->tickets[h][gi] == 0)
            continue;
        int cx = x0 + slot_w * h + slot_w / 2;
        int y = y1 - (int)((int64_t)(y1 - y0) * w / ((int64_t)wmin * 60));
        SDL_Rect bg = {cx + 9, y - 26, 46, 21};
        color(d, 255, 255, 255);
        SDL_RenderFillRect(d->r, &bg);
        color(d, 200, 50, 40);
        SDL_RenderDrawRect(d->r, &bg);
        text(d, d->small, cx + 32, y - 27, 1, red, "%.0f'", w / 60.0);
    }
    /* the target: a dashed line */
    int yt = y1 - (int)((int64_t)(y1 - y0) * p->target_s / ((int64_t)wmin * 60));
    color(d, 200, 50, 40);
    for (int x = x0; x < x1; x += 16)
        SDL_RenderDrawLine(d->r, x, yt, x + 8 < x1 ? x + 8 : x1, yt);
    text(d, d->small, x1 - 4, yt - 22, 2, red, "mục tiêu %.0f phút", p->target_s / 60.0);
}

int qms_plan_chart(const qms_plan *p, const qms_config *c, const char *font_dir,
                   const char *path, char *err, size_t errlen)
{
    int H = HEAD + PANEL * p->ngroups + FOOT;
    draw d = {0};
    int rc = QMS_ERR_IO;
    char fp[512];
    if (TTF_Init() != 0) {
        snprintf(err, errlen, "cannot start SDL_ttf: %s", TTF_GetError());
        return QMS_ERR_IO;
    }
    snprintf(fp, sizeof fp, "%s/NotoSans-Regular.ttf", font_dir);
    d.font = TTF_OpenFont(fp, 20);
    d.small = TTF_OpenFont(fp, 16);
    snprintf(fp, sizeof fp, "%s/NotoSans-Bold.ttf", font_dir);
    d.bold = TTF_OpenFont(fp, 20);
    if (!d.font || !d.small || !d.bold) {
        snprintf(err, errlen, "cannot open the fonts in %s: %s", font_dir, TTF_GetError());
        goto out;
    }
    d.s = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!d.s || !(d.r = SDL_CreateSoftwareRenderer(d.s))) {
        snprintf(err, errlen, "cannot draw: %s", SDL_GetError());
        rc = QMS_ERR_NOMEM;
        goto out;
    }
    SDL_SetRenderDrawColor(d.r, 255, 255, 255, 255);
    SDL_RenderClear(d.r);
    SDL_Color ink = {20, 20, 20, 255}, grey = {90, 90, 90, 255};
    text(&d, d.bold, 40, 18, 0, ink, "Kế hoạch bố trí quầy — %s",
         c->name_vi && *c->name_vi ? c->name_vi : c->site);
    text(&d, d.font, 40, 56, 0, grey,
         "Ít quầy nhất mỗi giờ để 90%% người dân chờ không quá %.0f phút (mô phỏng)",
         p->target_s / 60.0);
    for (int gi = 0; gi < p->ngroups; gi++)
        panel(&d, p, c, gi, HEAD + PANEL * gi);
    int64_t plan_s = qms_plan_counter_s(p, (int(*)[QMS_MAX_COUNTERS])p->k),
            all_s = qms_plan_all_open_s(p);
    text(&d, d.font, 40, H - FOOT + 14, 0, ink,
         "Giờ-quầy: %.1f theo kế hoạch, %.1f khi mở tất cả — tiết kiệm %.1f giờ-quầy",
         plan_s / 3600.0, all_s / 3600.0, (all_s - plan_s) / 3600.0);
    SDL_RenderPresent(d.r);
    if ((rc = qms_png_save(d.s, path)) != QMS_OK)
        snprintf(err, errlen, "cannot write %s: %s", path, SDL_GetError());
out:
    if (d.r)
        SDL_DestroyRenderer(d.r);
    if (d.s)
        SDL_FreeSurface(d.s);
    if (d.font)
        TTF_CloseFont(d.font);
    if (d.small)
        TTF_CloseFont(d.small);
    if (d.bold)
        TTF_CloseFont(d.bold);
    TTF_Quit();
    return rc;
}
