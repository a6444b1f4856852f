#include "ticket.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <SDL2/SDL_ttf.h>
#include <stdio.h>
#include <string.h>

#define FONT_A_W 12 /* the printer's font A: 12 x 24 dots */

static int scaled(const qms_ticket_enc *e, int px203)
{
    return e->dpi == 203 ? px203 : (px203 * e->dpi + 101) / 203;
}

int qms_ticket_enc_init(qms_ticket_enc *e, const qms_printer_opts *o)
{
    memset(e, 0, sizeof *e);
    e->width = o && o->width_dots ? o->width_dots : 576;
    if (e->width != 576 && e->width != 512) {
        QMS_ERROR("printer: paper width %d dots: use 576 (80 mm, 203 dpi) or 512 (180 dpi)",
                  e->width);
        return QMS_ERR_INVAL;
    }
    e->dpi = e->width == 576 ? 203 : 180;
    e->qr_native = o ? o->qr_native : 1;
    const char *dir =
        o && o->font_dir && *o->font_dir ? o->font_dir : "/usr/share/fonts/truetype/noto";
    if (TTF_Init() != 0) {
        QMS_ERROR("printer: TTF_Init: %s", TTF_GetError());
        return QMS_ERR_IO;
    }
    e->ttf_inited = 1;
    char path[512];
    snprintf(path, sizeof path, "%s/NotoSans-Regular.ttf", dir);
    e->regular = TTF_OpenFont(path, scaled(e, QMS_TICKET_PX_REGULAR));
    if (!e->regular) {
        QMS_ERROR("printer: font %s: %s", path, TTF_GetError());
        qms_ticket_enc_free(e);
        return QMS_ERR_IO;
    }
    snprintf(path, sizeof path, "%s/NotoSans-Bold.ttf", dir);
    e->bold = TTF_OpenFont(path, scaled(e, QMS_TICKET_PX_BOLD));
    if (!e->bold) {
        QMS_ERROR("printer: font %s: %s", path, TTF_GetError());
        qms_ticket_enc_free(e);
        return QMS_ERR_IO;
    }
    return QMS_OK;
}

void qms_ticket_enc_free(qms_ticket_enc *e)
{
    if (e->regular)
        TTF_CloseFont(e->regular);
    if (e->bold)
        TTF_CloseFont(e->bold);
    if (e->ttf_inited)
        TTF_Quit(); /* reference counted: the kiosk's own TTF_Init stays */
    memset(e, 0, sizeof *e);
}

int qms_ticket_text_rasters(qms_ticket_enc *e, const char *utf8, int bold, qms_raster **out, int *n)
{
    *out = NULL;
    *n = 0;
    TTF_Font *f = bold ? e->bold : e->regular;
    char **lines = NULL;
    int nl = 0;
    /* a few dots of margin each side: the head does not reach the edge */
    int rc = qms_raster_wrap(f, utf8, e->width - 16, &lines, &nl);
    if (rc)
        return rc;
    qms_raster *r = nl ? qms_calloc((size_t)nl, sizeof *r) : NULL;
    if (nl && !r) {
        qms_raster_free_lines(lines, nl);
        return QMS_ERR_NOMEM;
    }
    int k = 0;
    for (int i = 0; i < nl && rc == QMS_OK; i++) {
        rc = qms_raster_text(f, lines[i], &r[k]);
        if (rc == QMS_ERR_INVAL) {
            rc = QMS_OK; /* nothing to print on this line */
            continue;
        }
        if (rc == QMS_OK)
            k++;
    }
    qms_raster_free_lines(lines, nl);
    if (rc) {
        for (int i = 0; i < k; i++)
            qms_raster_free(&r[i]);
        qms_free(r);
        return rc;
    }
    *out = r;
    *n = k;
    return QMS_OK;
}

/* One raster line as the printer prints it: from its NV memory when it
 * holds exactly these bits (the lookup is by the hash of the bits as they go
 * on the wire, so a changed text, font or width never finds an old image),
 * else as GS v 0. Same pixels either way. */
static void put_raster_line(qms_ticket_enc *e, qms_escpos_buf *b, qms_raster *r)
{
    qms_escpos_rt_safe(r->bits, (size_t)r->stride * (size_t)r->h);
    if (e->nv) {
        const qms_nv_entry *ne = qms_nv_find(e->nv, qms_raster_hash(r), r->stride * 8, r->h, 1);
        if (ne) {
            qms_escpos_nv_print(b, ne->kc[0], ne->kc[1]);
            e->nv_hits++;
            return;
        }
    }
    e->nv_misses++;
    qms_escpos_raster(b, r->bits, r->stride, r->h);
}

/* Raster lines of text, centered (ESC a 1 is in force), `gap` dots apart. */
static int put_raster_text(qms_ticket_enc *e, qms_escpos_buf *b, const char *utf8, int bold,
                           int gap)
{
    qms_raster *r = NULL;
    int n = 0;
    int rc = qms_ticket_text_rasters(e, utf8, bold, &r, &n);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        if (i > 0)
            qms_escpos_feed_dots(b, gap);
        put_raster_line(e, b, &r[i]);
        qms_raster_free(&r[i]);
    }
    qms_free(r);
    return QMS_OK;
}

/* ASCII text in the printer's font, wrapped at word boundaries to the
 * columns that fit at this character width, one LF a line. */
static void put_native_text(qms_ticket_enc *e, qms_escpos_buf *b, const char *s, int wmul)
{
    int cols = e->width / (FONT_A_W * wmul);
    char line[256];
    size_t len = strlen(s), start = 0;
    while (start < len) {
        while (start < len && s[start] == ' ')
            start++;
        if (start >= len)
            break;
        size_t end = start + (size_t)cols;
        if (end >= len) {
            end = len;
        } else {
            size_t sp = end;
            while (sp > start && s[sp] != ' ')
                sp--;
            if (sp > start)
                end = sp;
        }
        size_t n = end - start;
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, s + start, n);
        line[n] = '\0';
        qms_escpos_text(b, line);
        qms_escpos_byte(b, '\n');
        start = end;
    }
}

static int is_en(const char *lang)
{
    return lang && strcmp(lang, "en") == 0;
}

/* The fixed Vietnamese labels: the numbers go on their own line in the
 * printer's font, so these lines are the same on every ticket. */
#define VI_AHEAD "Số người trước bạn:"
#define VI_NEXT "Bạn là người tiếp theo"
#define VI_WAIT "Chờ dự kiến (phút):"
#define VI_PRIORITY "Ưu tiên"
#define VI_BOOKED "ĐÃ ĐẶT LỊCH — khung giờ"

void qms_ticket_label_ahead(const char *lang, int ahead, char *label, size_t labellen, char *value,
                            size_t valuelen)
{
    if (ahead < 0)
        ahead = 0;
    value[0] = '\0';
    if (is_en(lang)) {
        if (ahead == 0)
            snprintf(label, labellen, "You are next");
        else
            snprintf(label, labellen, "People ahead: %d", ahead);
    } else {
        snprintf(label, labellen, "%s", ahead == 0 ? VI_NEXT : VI_AHEAD);
        if (ahead > 0)
            snprintf(value, valuelen, "%d", ahead);
    }
}

void qms_ticket_label_wait(const char *lang, int eta_s, char *label, size_t labellen, char *value,
                           size_t valuelen)
{
    /* under a minute says so; otherwise the nearest minute */
    int min = eta_s < 60 ? 0 : (eta_s + 30) / 60;
    int h = min / 60, m = min % 60;
    value[0] = '\0';
    if (is_en(lang)) {
        if (min < 1)
            snprintf(label, labellen, "Expected wait: under 1 min");
        else if (h == 0)
            snprintf(label, labellen, "Expected wait: %d min", m);
        else
            snprintf(label, labellen, "Expected wait: %d h %02d min", h, m);
    } else {
        /* minutes only: the unit is in the fixed label */
        snprintf(label, labellen, "%s", VI_WAIT);
        if (min < 1)
            snprintf(value, valuelen, "< 1");
        else
            snprintf(value, valuelen, "%d", min);
    }
}

/* Text that needs diacritics goes as raster lines, ASCII in the printer's font. */
static int put_text(qms_ticket_enc *e, qms_escpos_buf *b, const char *s, int bold, int gap)
{
    if (!s || !*s)
        return QMS_OK;
    if (qms_text_is_ascii(s)) {
        qms_escpos_bold(b, bold);
        qms_escpos_size(b, 1, bold ? 2 : 1);
        put_native_text(e, b, s, 1);
        qms_escpos_size(b, 1, 1);
        qms_escpos_bold(b, 0);
        return QMS_OK;
    }
    return put_raster_text(e, b, s, bold, gap);
}

/* A label line and, under it, its value in the printer's font (bold). */
static int put_label_value(qms_ticket_enc *e, qms_escpos_buf *b, const char *label,
                           const char *value, int gap)
{
    int rc = put_text(e, b, label, 0, gap);
    if (rc)
        return rc;
    int raster = !qms_text_is_ascii(label);
    if (value[0]) {
        if (raster)
            qms_escpos_feed_dots(b, gap);
        qms_escpos_bold(b, 1);
        qms_escpos_size(b, 2, 2);
        qms_escpos_text(b, value);
        qms_escpos_byte(b, '\n');
        qms_escpos_size(b, 1, 1);
        qms_escpos_bold(b, 0);
        qms_escpos_feed_dots(b, scaled(e, 8));
    } else if (raster) {
        qms_escpos_feed_dots(b, scaled(e, 8));
    }
    return QMS_OK;
}

int qms_ticket_encode(qms_ticket_enc *e, const qms_ticket_print *t, qms_escpos_buf *b)
{
    if (!t || !t->number || !*t->number || !qms_text_is_ascii(t->number))
        return QMS_ERR_INVAL;
    int rc;
    char line[160];
    int gap = scaled(e, 6); /* between wrapped raster lines */
    e->nv_hits = e->nv_misses = 0;

    qms_escpos_reset(b);
    qms_escpos_align(b, 1);
    if ((rc = put_text(e, b, t->center_name, 0, gap)))
        return rc;
    qms_escpos_feed_dots(b, scaled(e, 20));
    if ((rc = put_text(e, b, t->service_name, 1, gap)))
        return rc;
    qms_escpos_feed_dots(b, scaled(e, 12));

    /* The big number in the printer's own font: as large as fits, up to 6x. */
    int len = (int)strlen(t->number);
    int mul = e->width / (FONT_A_W * len);
    if (mul > 6)
        mul = 6;
    if (mul < 1)
        mul = 1;
    qms_escpos_bold(b, 1);
    qms_escpos_size(b, mul, mul);
    qms_escpos_text(b, t->number);
    qms_escpos_byte(b, '\n');
    qms_escpos_size(b, 1, 1);
    qms_escpos_bold(b, 0);

    if (t->priority) {
        if ((rc = put_text(e, b, is_en(t->lang) ? "PRIORITY" : VI_PRIORITY, 1, gap)))
            return rc;
        qms_escpos_feed_dots(b, scaled(e, 8));
    }
    if (t->booked_slot) {
        /* a booked check-in: "ĐÃ ĐẶT LỊCH — khung giờ" (the same image on
         * every booked ticket, so it can live in NV memory) and the slot
         * under it in the printer's font; English in the printer's font */
        if (is_en(t->lang)) {
            char mark[64];
            snprintf(mark, sizeof mark, "BOOKED%s%.8s", t->booked_slot[0] ? " - slot " : "",
                     t->booked_slot);
            if ((rc = put_text(e, b, mark, 1, gap)))
                return rc;
        } else {
            if ((rc = put_text(e, b, t->booked_slot[0] ? VI_BOOKED : "ĐÃ ĐẶT LỊCH", 1, gap)))
                return rc;
            if (t->booked_slot[0] && qms_text_is_ascii(t->booked_slot)) {
                qms_escpos_feed_dots(b, gap);
                qms_escpos_bold(b, 1);
                qms_escpos_size(b, 2, 2);
                char slot[9];
                snprintf(slot, sizeof slot, "%.8s", t->booked_slot);
                qms_escpos_text(b, slot);
                qms_escpos_byte(b, '\n');
                qms_escpos_size(b, 1, 1);
                qms_escpos_bold(b, 0);
            }
        }
        qms_escpos_feed_dots(b, scaled(e, 8));
    }
    char value[32];
    qms_ticket_label_ahead(t->lang, t->ahead, line, sizeof line, value, sizeof value);
    if ((rc = put_label_value(e, b, line, value, gap)))
        return rc;
    qms_ticket_label_wait(t->lang, t->eta_s, line, sizeof line, value, sizeof value);
    if ((rc = put_label_value(e, b, line, value, gap)))
        return rc;

    /* Date and time: digits, the printer's font. */
    int32_t day = qms_local_day(t->taken_ms, t->utc_offset_min);
    int32_t sec = qms_local_sec(t->taken_ms, t->utc_offset_min);
    char ymd[11], hm[6];
    qms_day_str(day, ymd);
    qms_hhmm_str(sec, hm);
    snprintf(line, sizeof line, "%.2s/%.2s/%.4s  %s\n", ymd + 8, ymd + 5, ymd, hm);
    qms_escpos_text(b, line);

    if (t->qr_url && *t->qr_url) {
        qms_escpos_feed_dots(b, scaled(e, 12));
        if (e->qr_native) {
            qms_escpos_qr(b, t->qr_url, QMS_TICKET_QR_MODULE, 'M');
        } else {
            qms_raster q;
            if ((rc = qms_raster_qr(t->qr_url, QMS_TICKET_QR_RASTER_MODULE, 'M', &q)))
                return rc;
            /* m = 3: the printer doubles each bit both ways, a quarter of the bytes */
            qms_escpos_raster_mode(b, q.bits, q.stride, q.h, 3);
            qms_raster_free(&q);
        }
    }
    qms_escpos_align(b, 0);
    qms_escpos_cut(b, scaled(e, 24));
    return b->err;
}

void qms_ticket_images_free(qms_ticket_image *im, int n)
{
    for (int i = 0; i < n; i++)
        qms_raster_free(&im[i].r);
    qms_free(im);
}

/* Add the raster lines of one text (none if it is ASCII) to the list,
 * skipping lines already in it. */
static int add_static(qms_ticket_enc *e, const char *utf8, int bold, const char *what,
                      qms_ticket_image **im, int *n, int *cap)
{
    if (!utf8 || !*utf8 || qms_text_is_ascii(utf8))
        return QMS_OK;
    qms_raster *r = NULL;
    int nr = 0;
    int rc = qms_ticket_text_rasters(e, utf8, bold, &r, &nr);
    if (rc)
        return rc;
    for (int i = 0; i < nr; i++) {
        qms_escpos_rt_safe(r[i].bits, (size_t)r[i].stride * (size_t)r[i].h);
        uint64_t h = qms_raster_hash(&r[i]);
        int dup = 0;
        for (int k = 0; k < *n && !dup; k++)
            dup = (*im)[k].hash == h && (*im)[k].r.w == r[i].w && (*im)[k].r.h == r[i].h;
        if (dup || rc) {
            qms_raster_free(&r[i]);
            continue;
        }
        if (*n == *cap) {
            int nc = *cap ? *cap * 2 : 16;
            qms_ticket_image *m = qms_realloc(*im, (size_t)nc * sizeof *m);
            if (!m) {
                qms_raster_free(&r[i]);
                rc = QMS_ERR_NOMEM;
                continue;
            }
            *im = m;
            *cap = nc;
        }
        qms_ticket_image *m = &(*im)[(*n)++];
        memset(m, 0, sizeof *m);
        m->r = r[i]; /* takes the bits */
        m->hash = h;
        if (nr > 1)
            snprintf(m->what, sizeof m->what, "%s (line %d): %s", what, i + 1, utf8);
        else
            snprintf(m->what, sizeof m->what, "%s: %s", what, utf8);
    }
    qms_free(r);
    return rc;
}

int qms_ticket_static_images(qms_ticket_enc *e, const char *center_name,
                             const char *const *service_names, const char *const *service_codes,
                             int nservices, qms_ticket_image **out, int *n)
{
    *out = NULL;
    *n = 0;
    qms_ticket_image *im = NULL;
    int cnt = 0, cap = 0;
    int rc = add_static(e, center_name, 0, "center", &im, &cnt, &cap);
    for (int i = 0; i < nservices && !rc; i++) {
        char what[32];
        snprintf(what, sizeof what, "service %s", service_codes ? service_codes[i] : "");
        rc = add_static(e, service_names[i], 1, what, &im, &cnt, &cap);
    }
    /* the same order as on the paper */
    if (!rc)
        rc = add_static(e, VI_PRIORITY, 1, "label", &im, &cnt, &cap);
    if (!rc)
        rc = add_static(e, VI_BOOKED, 1, "label", &im, &cnt, &cap);
    if (!rc)
        rc = add_static(e, VI_AHEAD, 0, "label", &im, &cnt, &cap);
    if (!rc)
        rc = add_static(e, VI_NEXT, 0, "label", &im, &cnt, &cap);
    if (!rc)
        rc = add_static(e, VI_WAIT, 0, "label", &im, &cnt, &cap);
    if (rc) {
        qms_ticket_images_free(im, cnt);
        return rc;
    }
    *out = im;
    *n = cnt;
    return QMS_OK;
}
