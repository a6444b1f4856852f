#include "vprinter.h"

#include "raster.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_REFUSED 64  /* messages kept a page */
#define MAX_ELEMS 20000 /* elements a page (a fuzzer could ask for more) */
#define MAX_RASTER_ROWS 8192
#define MAX_PAGE_H 2000000 /* 250 m of paper without a cut: cut it ourselves */

#define MAX_NV 1024 /* images in the NV memory */

typedef struct nv_image {
    uint8_t kc[2];
    int stride, rows;
    uint8_t *bits;
} nv_image;

/* A run of characters waiting in the line buffer. */
typedef struct line_run {
    char *text;
    size_t len, cap;
    int font_b, bold, wmul, hmul;
    int x; /* offset in the line */
} line_run;

struct qms_vp {
    int width;
    qms_vp_hooks h;

    /* receive buffer: bytes arrived, not yet processed */
    uint8_t *rx;
    size_t rxlen, rxcap, rxoff;
    uint64_t total;      /* bytes ever received */
    uint64_t processed;  /* stream offset of rx[rxoff] */
    uint64_t page_start; /* stream offset where the page began */
    size_t skip;         /* data bytes of a refused command still to skip */

    /* real-time scanner over the raw stream */
    int rt_state;
    int rt_k; /* DLE DC4 8: parameter bytes matched so far */

    /* the printer's condition */
    int paper_out, paper_low, cover_open;
    long paper_left; /* dots, -1 endless */

    /* print modes */
    int align, bold, font_b, wmul, hmul, line_sp;

    /* line buffer */
    line_run *runs;
    int nruns, runcap;
    int line_w;

    /* QR symbol storage */
    char *qr_data;
    int qr_module;
    char qr_ecc;

    /* NV graphics memory */
    int nv_off; /* no NV support */
    long nv_capacity;
    nv_image *nv;
    int nnv, nvcap;
    /* the key list handshake: after a block the printer waits for ACK/NAK/CAN */
    int kl_wait;  /* 1: waiting for the host's answer */
    int kl_start; /* first key of the block sent */
    int kl_count; /* keys in it */

    qms_vp_page page;
    int y;
};

static const uint8_t CLEAR_SEQ[7] = {1, 3, 20, 1, 6, 2, 8};

static void reset_modes(qms_vp *v)
{
    v->align = 0;
    v->bold = 0;
    v->font_b = 0;
    v->wmul = 1;
    v->hmul = 1;
    v->line_sp = 30;
    v->qr_module = 3;
    v->qr_ecc = 'L';
}

int qms_vp_new(int width_dots, const qms_vp_hooks *hooks, qms_vp **out)
{
    *out = NULL;
    if (width_dots < 64 || width_dots > 4096)
        return QMS_ERR_INVAL;
    qms_vp *v = qms_calloc(1, sizeof *v);
    if (!v)
        return QMS_ERR_NOMEM;
    v->width = width_dots;
    if (hooks)
        v->h = *hooks;
    v->paper_left = -1;
    v->nv_capacity = QMS_VP_NV_CAPACITY;
    v->page.width = width_dots;
    reset_modes(v);
    *out = v;
    return QMS_OK;
}

static void free_elem(qms_vp_elem *e)
{
    qms_free(e->text);
    qms_free(e->bits);
    qms_free(e->payload);
}

static void clear_page(qms_vp *v)
{
    for (int i = 0; i < v->page.nelems; i++)
        free_elem(&v->page.elems[i]);
    qms_free(v->page.elems);
    for (int i = 0; i < v->page.nrefused; i++)
        qms_free(v->page.refused[i]);
    qms_free(v->page.refused);
    memset(&v->page, 0, sizeof v->page);
    v->page.width = v->width;
    v->y = 0;
}

static void clear_line(qms_vp *v)
{
    for (int i = 0; i < v->nruns; i++)
        qms_free(v->runs[i].text);
    v->nruns = 0;
    v->line_w = 0;
}

void qms_vp_free(qms_vp *v)
{
    if (!v)
        return;
    clear_line(v);
    qms_free(v->runs);
    clear_page(v);
    qms_free(v->rx);
    qms_free(v->qr_data);
    for (int i = 0; i < v->nnv; i++)
        qms_free(v->nv[i].bits);
    qms_free(v->nv);
    qms_free(v);
}

static void refuse(qms_vp *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(qms_vp *v, const char *fmt, ...)
{
    char msg[200];
    int k = snprintf(msg, sizeof msg, "byte %llu: ", (unsigned long long)v->processed);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    if (v->h.refuse)
        v->h.refuse(v->h.ud, msg);
    if (v->page.nrefused >= MAX_REFUSED)
        return;
    char **r = qms_realloc(v->page.refused, (size_t)(v->page.nrefused + 1) * sizeof *r);
    if (!r)
        return;
    v->page.refused = r;
    char *m = qms_strdup(msg);
    if (m)
        r[v->page.nrefused++] = m;
}

static qms_vp_elem *add_elem(qms_vp *v, qms_vp_kind kind)
{
    if (v->page.nelems >= MAX_ELEMS)
        return NULL;
    if (v->page.nelems == v->page.cap) {
        int nc = v->page.cap ? v->page.cap * 2 : 32;
        qms_vp_elem *e = qms_realloc(v->page.elems, (size_t)nc * sizeof *e);
        if (!e)
            return NULL;
        v->page.elems = e;
        v->page.cap = nc;
    }
    qms_vp_elem *e = &v->page.elems[v->page.nelems++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static void emit_page(qms_vp *v, int cut)
{
    v->page.cut = cut;
    v->page.height = v->y;
    v->page.bytes = v->processed - v->page_start;
    if (v->h.page)
        v->h.page(v->h.ud, &v->page);
    clear_page(v);
    v->page_start = v->processed;
}

/* Move the paper; the roll may end here. */
static void advance(qms_vp *v, int dots)
{
    if (dots <= 0)
        return;
    v->y += dots;
    if (v->paper_left >= 0) {
        v->paper_left -= dots;
        if (v->paper_left <= 0) {
            v->paper_left = 0;
            v->paper_out = 1;
        }
    }
    if (v->y > MAX_PAGE_H)
        emit_page(v, 0);
}

static int align_x(const qms_vp *v, int w)
{
    if (w >= v->width)
        return 0;
    return v->align == 1 ? (v->width - w) / 2 : v->align == 2 ? v->width - w : 0;
}

static int char_w(int font_b, int wmul)
{
    return (font_b ? 9 : 12) * wmul;
}

static int char_h(int font_b, int hmul)
{
    return (font_b ? 17 : 24) * hmul;
}

/* Print the line buffer (advance = max(line height, spacing) unless tight). */
static void print_line(qms_vp *v, int tight)
{
    if (v->nruns == 0) {
        if (!tight)
            advance(v, v->line_sp);
        return;
    }
    int lh = 0;
    for (int i = 0; i < v->nruns; i++) {
        int hh = char_h(v->runs[i].font_b, v->runs[i].hmul);
        if (hh > lh)
            lh = hh;
    }
    int x0 = align_x(v, v->line_w);
    for (int i = 0; i < v->nruns; i++) {
        line_run *r = &v->runs[i];
        qms_vp_elem *e = add_elem(v, QMS_VP_TEXT);
        if (!e)
            break;
        e->text = r->text;
        r->text = NULL;
        e->font_b = r->font_b;
        e->bold = r->bold;
        e->wmul = r->wmul;
        e->hmul = r->hmul;
        e->w = char_w(r->font_b, r->wmul) * (int)r->len;
        e->h = char_h(r->font_b, r->hmul);
        e->x = x0 + r->x;
        e->y = v->y + (lh - e->h); /* characters stand on a common baseline */
    }
    clear_line(v);
    advance(v, tight || v->line_sp < lh ? lh : v->line_sp);
}

static void put_char(qms_vp *v, char c)
{
    int cw = char_w(v->font_b, v->wmul);
    if (v->line_w + cw > v->width)
        print_line(v, 0); /* the line is full: it prints, like a real printer */
    line_run *r = v->nruns ? &v->runs[v->nruns - 1] : NULL;
    if (!r || r->font_b != v->font_b || r->bold != v->bold || r->wmul != v->wmul ||
        r->hmul != v->hmul) {
        if (v->nruns == v->runcap) {
            int nc = v->runcap ? v->runcap * 2 : 8;
            line_run *nr = qms_realloc(v->runs, (size_t)nc * sizeof *nr);
            if (!nr)
                return;
            v->runs = nr;
            v->runcap = nc;
        }
        r = &v->runs[v->nruns++];
        memset(r, 0, sizeof *r);
        r->font_b = v->font_b;
        r->bold = v->bold;
        r->wmul = v->wmul;
        r->hmul = v->hmul;
        r->x = v->line_w;
    }
    if (r->len + 2 > r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 32;
        char *t = qms_realloc(r->text, nc);
        if (!t)
            return;
        r->text = t;
        r->cap = nc;
    }
    r->text[r->len++] = c;
    r->text[r->len] = '\0';
    v->line_w += cw;
}

static void do_raster(qms_vp *v, int mode, int stride, int rows, const uint8_t *data,
                      const uint8_t *nv_key)
{
    int sx = (mode & 1) ? 2 : 1, sy = (mode & 2) ? 2 : 1;
    const char *cmd = nv_key ? "GS ( L print NV graphics" : "GS v 0";
    if (v->nruns) {
        refuse(v, "%s while the line buffer holds text (a printer ignores it)", cmd);
        return;
    }
    if (stride * 8 * sx > v->width) {
        refuse(v, "%s image %d dots wide on %d-dot paper", cmd, stride * 8 * sx, v->width);
        return;
    }
    qms_vp_elem *e = add_elem(v, QMS_VP_RASTER);
    if (!e)
        return;
    size_t n = (size_t)stride * (size_t)rows;
    e->bits = qms_malloc(n);
    if (!e->bits) {
        v->page.nelems--;
        return;
    }
    memcpy(e->bits, data, n);
    e->stride = stride;
    e->rows = rows;
    e->mode = mode;
    e->w = stride * 8 * sx;
    e->h = rows * sy;
    e->x = align_x(v, e->w);
    e->y = v->y;
    e->hash = qms_raster_hash_bits(stride * 8, rows, data, stride);
    if (nv_key) {
        e->nv[0] = (char)nv_key[0];
        e->nv[1] = (char)nv_key[1];
    }
    advance(v, e->h);
}

static void do_qr_print(qms_vp *v)
{
    if (!v->qr_data || !*v->qr_data) {
        refuse(v, "GS ( k print with no QR data stored");
        return;
    }
    QRecLevel lv = v->qr_ecc == 'M'   ? QR_ECLEVEL_M
                   : v->qr_ecc == 'Q' ? QR_ECLEVEL_Q
                   : v->qr_ecc == 'H' ? QR_ECLEVEL_H
                                      : QR_ECLEVEL_L;
    QRcode *q =
        QRcode_encodeData((int)strlen(v->qr_data), (const unsigned char *)v->qr_data, 0, lv);
    if (!q) {
        refuse(v, "GS ( k: %zu bytes do not fit a QR code", strlen(v->qr_data));
        return;
    }
    int w = q->width * v->qr_module;
    QRcode_free(q);
    if (w > v->width) {
        refuse(v, "GS ( k: QR code %d dots wide on %d-dot paper", w, v->width);
        return;
    }
    qms_vp_elem *e = add_elem(v, QMS_VP_QR);
    if (!e)
        return;
    e->payload = qms_strdup(v->qr_data);
    if (!e->payload) {
        v->page.nelems--;
        return;
    }
    e->module = v->qr_module;
    e->ecc = v->qr_ecc;
    e->w = e->h = w;
    e->x = align_x(v, w);
    e->y = v->y;
    advance(v, w);
}

/* GS ( k with its parameter bytes p[0..n-1] (cn fn ...). */
static void do_qr(qms_vp *v, const uint8_t *p, size_t n)
{
    if (n < 2 || p[0] != 49) {
        refuse(v, "GS ( k for a symbol other than QR (cn %d)", n ? p[0] : -1);
        return;
    }
    uint8_t fn = p[1];
    if (fn == 65 && n == 4) {
        if (p[2] != 50)
            refuse(v, "GS ( k: QR model %d (only model 2)", p[2]);
    } else if (fn == 67 && n == 3) {
        if (p[2] >= 1 && p[2] <= 16)
            v->qr_module = p[2];
        else
            refuse(v, "GS ( k: QR module size %d", p[2]);
    } else if (fn == 69 && n == 3) {
        if (p[2] >= 48 && p[2] <= 51)
            v->qr_ecc = "LMQH"[p[2] - 48];
        else
            refuse(v, "GS ( k: QR error correction %d", p[2]);
    } else if (fn == 80 && n >= 3 && p[2] == 48) {
        char *d = qms_strndup((const char *)p + 3, n - 3);
        if (!d)
            return;
        if (strlen(d) != n - 3)
            refuse(v, "GS ( k: QR data holds a NUL byte");
        qms_free(v->qr_data);
        v->qr_data = d;
    } else if (fn == 81 && n == 3 && p[2] == 48) {
        print_line(v, 1);
        do_qr_print(v);
    } else {
        refuse(v, "GS ( k: QR function %d (%zu bytes) not supported", fn, n);
    }
}

static int nv_find(const qms_vp *v, uint8_t kc1, uint8_t kc2)
{
    for (int i = 0; i < v->nnv; i++)
        if (v->nv[i].kc[0] == kc1 && v->nv[i].kc[1] == kc2)
            return i;
    return -1;
}

long qms_vp_nv_used(const qms_vp *v)
{
    long used = 0;
    for (int i = 0; i < v->nnv; i++)
        used += (long)v->nv[i].stride * v->nv[i].rows;
    return used;
}

static void nv_delete(qms_vp *v, int i)
{
    qms_free(v->nv[i].bits);
    memmove(&v->nv[i], &v->nv[i + 1], (size_t)(v->nnv - 1 - i) * sizeof v->nv[0]);
    v->nnv--;
}

static void nv_clear(qms_vp *v)
{
    while (v->nnv)
        nv_delete(v, v->nnv - 1);
}

static void nv_changed(qms_vp *v)
{
    if (v->h.nv_changed)
        v->h.nv_changed(v->h.ud);
}

static void reply(qms_vp *v, const uint8_t *p, size_t n)
{
    if (v->h.reply)
        v->h.reply(v->h.ud, p, n);
}

/* "37 id <decimal> 00": the capacity answers. */
static void reply_number(qms_vp *v, uint8_t id, long val)
{
    char d[24];
    int k = snprintf(d, sizeof d, "%ld", val < 0 ? 0 : val);
    uint8_t out[32] = {0x37, id};
    memcpy(out + 2, d, (size_t)k);
    out[2 + k] = 0;
    reply(v, out, (size_t)k + 3);
}

/* One block of the key list from key `start`: at most 40 keys. */
static void keylist_block(qms_vp *v, int start)
{
    int count = v->nnv - start;
    if (count > 40)
        count = 40;
    if (count < 0)
        count = 0;
    uint8_t out[4 + 80];
    size_t k = 0;
    out[k++] = 0x37;
    out[k++] = 0x72;
    out[k++] = start + count < v->nnv ? 0x41 : 0x40;
    for (int i = 0; i < count; i++) {
        out[k++] = v->nv[start + i].kc[0];
        out[k++] = v->nv[start + i].kc[1];
    }
    out[k++] = 0;
    reply(v, out, k);
    v->kl_wait = 1;
    v->kl_start = start;
    v->kl_count = count;
}

/* A define: p[0..n-1] = a kc1 kc2 b xL xH yL yH c d1..dk (after m fn).
 * Returns the image index, or -1 after a refusal. Shared with loading. */
static int nv_define(qms_vp *v, const uint8_t *p, size_t n, int quiet)
{
    if (n < 10 || p[0] != 48 || p[3] != 1 || p[8] != 49) {
        if (!quiet)
            refuse(v, "GS ( L define NV graphics: a = %d, b = %d, c = %d (one colour only)",
                   n ? p[0] : -1, n > 3 ? p[3] : -1, n > 8 ? p[8] : -1);
        return -1;
    }
    uint8_t kc1 = p[1], kc2 = p[2];
    int x = p[4] | (p[5] << 8), y = p[6] | (p[7] << 8);
    int stride = (x + 7) / 8;
    if (kc1 < 32 || kc1 > 126 || kc2 < 32 || kc2 > 126 || x < 1 || x > 8192 || y < 1 || y > 2304 ||
        (size_t)stride * (size_t)y != n - 9) {
        if (!quiet)
            refuse(v, "GS ( L define NV graphics: key %d %d, %d x %d dots, %zu data bytes", kc1,
                   kc2, x, y, n - 9);
        return -1;
    }
    size_t k = n - 9;
    int old = nv_find(v, kc1, kc2);
    long used = qms_vp_nv_used(v) - (old >= 0 ? (long)v->nv[old].stride * v->nv[old].rows : 0);
    if (used + (long)k > v->nv_capacity) {
        if (!quiet)
            refuse(v, "GS ( L define NV graphics '%c%c': %zu bytes, only %ld left", kc1, kc2, k,
                   v->nv_capacity - used);
        return -1;
    }
    uint8_t *bits = qms_malloc(k);
    if (!bits)
        return -1;
    memcpy(bits, p + 9, k);
    if (old >= 0) { /* the same key again: the new image replaces the old */
        qms_free(v->nv[old].bits);
        v->nv[old].bits = bits;
        v->nv[old].stride = stride;
        v->nv[old].rows = y;
        return old;
    }
    if (v->nnv >= MAX_NV) {
        qms_free(bits);
        if (!quiet)
            refuse(v, "GS ( L define NV graphics: %d images already", MAX_NV);
        return -1;
    }
    if (v->nnv == v->nvcap) {
        int nc = v->nvcap ? v->nvcap * 2 : 16;
        nv_image *a = qms_realloc(v->nv, (size_t)nc * sizeof *a);
        if (!a) {
            qms_free(bits);
            return -1;
        }
        v->nv = a;
        v->nvcap = nc;
    }
    nv_image *im = &v->nv[v->nnv++];
    im->kc[0] = kc1;
    im->kc[1] = kc2;
    im->stride = stride;
    im->rows = y;
    im->bits = bits;
    return v->nnv - 1;
}

/* GS ( L with its parameter bytes p[0..n-1] (m fn ...). */
static void do_nv(qms_vp *v, const uint8_t *p, size_t n)
{
    if (v->nv_off) {
        refuse(v, "GS ( L: this printer has no NV graphics");
        return;
    }
    if (n < 2 || (p[0] != 48 && p[0] != 0)) {
        refuse(v, "GS ( L m = %d", n ? p[0] : -1);
        return;
    }
    uint8_t fn = p[1];
    const uint8_t *a = p + 2;
    size_t na = n - 2;
    if ((fn == 48 || fn == 0) && na == 0) {
        reply_number(v, 0x30, v->nv_capacity);
    } else if ((fn == 51 || fn == 3) && na == 0) {
        reply_number(v, 0x31, v->nv_capacity - qms_vp_nv_used(v));
    } else if (fn == 64 && na == 2 && a[0] == 'K' && a[1] == 'C') {
        keylist_block(v, 0);
    } else if (fn == 65 && na == 3 && memcmp(a, "CLR", 3) == 0) {
        nv_clear(v);
        nv_changed(v);
    } else if (fn == 66 && na == 2) {
        int i = nv_find(v, a[0], a[1]);
        if (i < 0) {
            refuse(v, "GS ( L delete NV graphics: no image at key 0x%02x 0x%02x", a[0], a[1]);
            return;
        }
        nv_delete(v, i);
        nv_changed(v);
    } else if (fn == 67) {
        if (nv_define(v, a, na, 0) >= 0)
            nv_changed(v);
    } else if (fn == 69 && na == 4) {
        if (a[2] < 1 || a[2] > 2 || a[3] < 1 || a[3] > 2) {
            refuse(v, "GS ( L print NV graphics: scale %d x %d", a[2], a[3]);
            return;
        }
        int i = nv_find(v, a[0], a[1]);
        if (i < 0) {
            /* a real printer prints nothing here: say it loudly */
            refuse(v, "GS ( L print NV graphics: no image at key '%c%c' (0x%02x 0x%02x)",
                   a[0] >= 32 && a[0] < 127 ? a[0] : '?', a[1] >= 32 && a[1] < 127 ? a[1] : '?',
                   a[0], a[1]);
            return;
        }
        const nv_image *im = &v->nv[i];
        int mode = (a[2] == 2 ? 1 : 0) | (a[3] == 2 ? 2 : 0);
        uint8_t kc[2] = {im->kc[0], im->kc[1]};
        do_raster(v, mode, im->stride, im->rows, im->bits, kc);
    } else {
        refuse(v, "GS ( L function %d (%zu bytes) not supported", fn, n);
    }
}

/* The host's answer to a key list block. Returns bytes consumed (0: the
 * byte is not an answer; the handshake ends and it is processed as usual). */
static size_t keylist_answer(qms_vp *v, uint8_t c)
{
    if (c == 0x06) { /* ACK: the next block, or the end */
        v->kl_wait = 0;
        if (v->kl_start + v->kl_count < v->nnv)
            keylist_block(v, v->kl_start + v->kl_count);
        return 1;
    }
    if (c == 0x15) { /* NAK: the same block again */
        keylist_block(v, v->kl_start);
        return 1;
    }
    v->kl_wait = 0;
    if (c == 0x18) /* CAN */
        return 1;
    refuse(v, "byte 0x%02x where the NV key list handshake wants ACK, NAK or CAN", c);
    return 0;
}

static void rt_reply(qms_vp *v, int n)
{
    uint8_t c = 0x12;
    int stopped = v->paper_out || v->cover_open;
    if (n == 1 && stopped)
        c |= 0x08;
    if (n == 2) {
        if (v->cover_open)
            c |= 0x04;
        if (v->paper_out)
            c |= 0x20;
    }
    if (n == 4) {
        if (v->paper_low || v->paper_out)
            c |= 0x0c;
        if (v->paper_out)
            c |= 0x60;
    }
    if (v->h.reply)
        v->h.reply(v->h.ud, &c, 1);
}

/* DLE DC4 8 caught on arrival: forget what was received and not printed. */
static void clear_buffers(qms_vp *v)
{
    v->processed += v->rxlen - v->rxoff;
    v->rxoff = v->rxlen = 0;
    v->skip = 0;
    clear_line(v);
    if (v->page.nelems > 0 || v->y > 0)
        emit_page(v, 0); /* what came out stays on the paper: an abandoned ticket */
    v->page_start = v->processed;
    const uint8_t ack[3] = {0x37, 0x25, 0x00};
    if (v->h.reply)
        v->h.reply(v->h.ud, ack, sizeof ack);
}

/* The real-time scanner: sees every byte as it arrives. Returns 1 when the
 * byte completed a buffer clear (it and what came before are gone). */
static int rt_scan(qms_vp *v, uint8_t c)
{
    switch (v->rt_state) {
    case 1: /* after DLE */
        v->rt_state = c == 0x04 ? 2 : c == 0x14 ? 3 : c == 0x10 ? 1 : 0;
        return 0;
    case 2: /* DLE EOT */
        if (c >= 1 && c <= 4) {
            rt_reply(v, c);
            v->rt_state = 0;
        } else {
            v->rt_state = c == 0x10 ? 1 : 0;
        }
        return 0;
    case 3: /* DLE DC4 */
        v->rt_state = c == 8 ? 4 : c == 0x10 ? 1 : 0;
        v->rt_k = 0;
        return 0;
    case 4: /* DLE DC4 8 d1..d7 */
        if (c == CLEAR_SEQ[v->rt_k]) {
            if (++v->rt_k == 7) {
                v->rt_state = 0;
                return 1;
            }
        } else {
            v->rt_state = c == 0x10 ? 1 : 0;
        }
        return 0;
    default:
        v->rt_state = c == 0x10 ? 1 : 0;
        return 0;
    }
}

static int stopped(const qms_vp *v)
{
    return v->paper_out || v->cover_open;
}

/* Process one command at p (avail bytes). Returns bytes consumed, or 0 when
 * the command is not complete yet. */
static size_t step(qms_vp *v, const uint8_t *p, size_t avail)
{
    uint8_t c = p[0];
    /* real-time commands may come in the middle of the handshake */
    if (v->kl_wait && c != 0x10) {
        size_t used = keylist_answer(v, c);
        if (used)
            return used;
    }
    if (c >= 0x20 && c < 0x7f) {
        put_char(v, (char)c);
        return 1;
    }
    if (c == '\n') {
        print_line(v, 0);
        return 1;
    }
    if (c == '\r')
        return 1;
    if (c == 0x1b) {
        if (avail < 2)
            return 0;
        uint8_t k = p[1];
        if (k == '@') {
            clear_line(v);
            reset_modes(v);
            return 2;
        }
        if (k == '2') {
            v->line_sp = 30;
            return 2;
        }
        if (strchr("aE!M3Jd-", k) && k) {
            if (avail < 3)
                return 0;
            uint8_t n = p[2];
            switch (k) {
            case 'a':
                if (n <= 2 || (n >= 48 && n <= 50))
                    v->align = n % 48;
                else
                    refuse(v, "ESC a %d", n);
                break;
            case 'E':
                v->bold = n & 1;
                break;
            case '!':
                v->font_b = n & 1;
                v->bold = (n >> 3) & 1;
                v->hmul = (n & 0x10) ? 2 : 1;
                v->wmul = (n & 0x20) ? 2 : 1;
                break;
            case 'M':
                if (n == 0 || n == 1 || n == 48 || n == 49)
                    v->font_b = n & 1;
                else
                    refuse(v, "ESC M %d (fonts A and B only)", n);
                break;
            case '3':
                v->line_sp = n;
                break;
            case 'J':
                print_line(v, 1);
                advance(v, n);
                break;
            case 'd':
                print_line(v, 0);
                advance(v, n * v->line_sp);
                break;
            case '-':
                break; /* underline: accepted, not drawn */
            }
            return 3;
        }
        refuse(v, "unsupported command ESC 0x%02x", k);
        return 2;
    }
    if (c == 0x1d) {
        if (avail < 2)
            return 0;
        uint8_t k = p[1];
        if (k == '!' || k == 'r') {
            if (avail < 3)
                return 0;
            if (k == '!') {
                v->wmul = ((p[2] >> 4) & 7) + 1;
                v->hmul = (p[2] & 7) + 1;
            } else if (p[2] == 1 || p[2] == 49) {
                uint8_t s = (uint8_t)((v->paper_low || v->paper_out ? 0x03 : 0) |
                                      (v->paper_out ? 0x0c : 0));
                if (v->h.reply)
                    v->h.reply(v->h.ud, &s, 1);
            } else {
                refuse(v, "GS r %d (paper sensor, n = 1, only)", p[2]);
            }
            return 3;
        }
        if (k == 'v') {
            if (avail < 8)
                return 0;
            if (p[2] != '0') {
                refuse(v, "GS v 0x%02x (only GS v 0)", p[2]);
                return 3;
            }
            int mode = p[3] >= 48 ? p[3] - 48 : p[3];
            int stride = p[4] | (p[5] << 8), rows = p[6] | (p[7] << 8);
            size_t n = (size_t)stride * (size_t)rows;
            if (mode < 0 || mode > 3 || stride == 0 || rows == 0 || rows > MAX_RASTER_ROWS) {
                refuse(v, "GS v 0 mode %d, %d x %d bytes", p[3], stride, rows);
                v->skip = n;
                return 8;
            }
            if (avail < 8 + n)
                return 0;
            do_raster(v, mode, stride, rows, p + 8, NULL);
            return 8 + n;
        }
        if (k == '(') {
            if (avail < 5)
                return 0;
            size_t n = (size_t)(p[3] | (p[4] << 8));
            if (p[2] == 'L') {
                if (avail < 5 + n)
                    return 0;
                do_nv(v, p + 5, n);
                return 5 + n;
            }
            if (p[2] != 'k') {
                refuse(v, "unsupported command GS ( %c", p[2] >= 0x20 && p[2] < 0x7f ? p[2] : '?');
                v->skip = n;
                return 5;
            }
            if (avail < 5 + n)
                return 0;
            do_qr(v, p + 5, n);
            return 5 + n;
        }
        if (k == 'V') {
            if (avail < 3)
                return 0;
            uint8_t m = p[2];
            size_t used = 3;
            int feed = 0;
            if (m == 65 || m == 66) {
                if (avail < 4)
                    return 0;
                feed = p[3];
                used = 4;
            } else if (!(m == 0 || m == 1 || m == 48 || m == 49)) {
                refuse(v, "GS V %d", m);
                return 3;
            }
            print_line(v, 1);
            advance(v, feed);
            v->processed += used; /* the cut belongs to this page */
            emit_page(v, 1);
            v->processed -= used;
            return used;
        }
        refuse(v, "unsupported command GS 0x%02x", k);
        return 2;
    }
    if (c == 0x10) {
        if (avail < 3)
            return 0;
        if (p[1] == 0x04 && p[2] >= 1 && p[2] <= 4)
            return 3; /* answered on arrival */
        if (p[1] == 0x14) {
            if (p[2] == 8) {
                if (avail < 10)
                    return 0;
                return 10; /* acted on at arrival when complete */
            }
            refuse(v, "DLE DC4 %d", p[2]);
            return 3;
        }
        refuse(v, "unsupported real-time command DLE 0x%02x 0x%02x", p[1], p[2]);
        return 3;
    }
    if (c >= 0x80)
        refuse(v, "byte 0x%02x: not ASCII (text with diacritics must come as raster)", c);
    else
        refuse(v, "control byte 0x%02x", c);
    return 1;
}

static void process(qms_vp *v)
{
    while (v->rxoff < v->rxlen && !stopped(v)) {
        size_t avail = v->rxlen - v->rxoff;
        if (v->skip) {
            size_t k = v->skip < avail ? v->skip : avail;
            v->skip -= k;
            v->rxoff += k;
            v->processed += k;
            continue;
        }
        size_t used = step(v, v->rx + v->rxoff, avail);
        if (used == 0)
            break;
        v->rxoff += used;
        v->processed += used;
    }
    if (v->rxoff == v->rxlen) {
        v->rxoff = v->rxlen = 0;
    } else if (v->rxoff > 65536) {
        memmove(v->rx, v->rx + v->rxoff, v->rxlen - v->rxoff);
        v->rxlen -= v->rxoff;
        v->rxoff = 0;
    }
}

static void rx_push(qms_vp *v, uint8_t c)
{
    if (v->rxlen == v->rxcap) {
        size_t nc = v->rxcap ? v->rxcap * 2 : 4096;
        uint8_t *r = qms_realloc(v->rx, nc);
        if (!r)
            return; /* the receive buffer overflows: the byte is lost, as on a printer */
        v->rx = r;
        v->rxcap = nc;
    }
    v->rx[v->rxlen++] = c;
}

void qms_vp_feed(qms_vp *v, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v->total++;
        rx_push(v, p[i]);
        if (rt_scan(v, p[i]))
            clear_buffers(v);
    }
    process(v);
}

void qms_vp_set_paper_out(qms_vp *v, int out)
{
    v->paper_out = out != 0;
    if (!out && v->paper_left == 0)
        v->paper_left = -1; /* a fresh roll */
    process(v);
}

void qms_vp_set_paper_low(qms_vp *v, int low)
{
    v->paper_low = low != 0;
}

void qms_vp_set_cover_open(qms_vp *v, int open)
{
    v->cover_open = open != 0;
    process(v);
}

void qms_vp_set_paper_left(qms_vp *v, long dots)
{
    v->paper_left = dots < 0 ? -1 : dots;
    if (dots == 0)
        v->paper_out = 1;
}

const char *qms_vp_state(const qms_vp *v)
{
    if (v->cover_open)
        return "cover_open";
    if (v->paper_out)
        return "paper_out";
    if (v->paper_low)
        return "paper_low";
    return "ok";
}

int qms_vp_paper_out(const qms_vp *v)
{
    return v->paper_out;
}

int qms_vp_cover_open(const qms_vp *v)
{
    return v->cover_open;
}

uint64_t qms_vp_bytes_total(const qms_vp *v)
{
    return v->total;
}

int qms_vp_pending(const qms_vp *v)
{
    return (int)(v->rxlen - v->rxoff);
}

void qms_vp_set_nv_support(qms_vp *v, int on)
{
    v->nv_off = !on;
}

void qms_vp_set_nv_capacity(qms_vp *v, long bytes)
{
    v->nv_capacity = bytes < 0 ? 0 : bytes;
}

int qms_vp_nv_count(const qms_vp *v)
{
    return v->nnv;
}

void qms_vp_nv_keys(const qms_vp *v, char *out, size_t outlen)
{
    size_t k = 0;
    if (outlen)
        out[0] = '\0';
    for (int i = 0; i < v->nnv && k + 4 <= outlen; i++) {
        out[k++] = (char)v->nv[i].kc[0];
        out[k++] = (char)v->nv[i].kc[1];
        out[k++] = i + 1 < v->nnv ? ' ' : '\0';
        out[k] = '\0';
    }
}

int qms_vp_nv_save(const qms_vp *v, uint8_t **out, size_t *len)
{
    size_t total = 0;
    for (int i = 0; i < v->nnv; i++)
        total += 16 + (size_t)v->nv[i].stride * (size_t)v->nv[i].rows;
    uint8_t *d = qms_malloc(total ? total : 1);
    if (!d)
        return QMS_ERR_NOMEM;
    size_t k = 0;
    for (int i = 0; i < v->nnv; i++) {
        const nv_image *im = &v->nv[i];
        size_t data = (size_t)im->stride * (size_t)im->rows;
        size_t plen = 11 + data;
        int x = im->stride * 8;
        const uint8_t h[16] = {0x1d,
                               '(',
                               'L',
                               (uint8_t)plen,
                               (uint8_t)(plen >> 8),
                               48,
                               67,
                               48,
                               im->kc[0],
                               im->kc[1],
                               1,
                               (uint8_t)x,
                               (uint8_t)(x >> 8),
                               (uint8_t)im->rows,
                               (uint8_t)(im->rows >> 8),
                               49};
        memcpy(d + k, h, sizeof h);
        k += sizeof h;
        memcpy(d + k, im->bits, data);
        k += data;
    }
    *out = d;
    *len = k;
    return QMS_OK;
}

int qms_vp_nv_load(qms_vp *v, const uint8_t *p, size_t n)
{
    nv_clear(v);
    size_t at = 0;
    while (at < n) {
        if (n - at < 7 || p[at] != 0x1d || p[at + 1] != '(' || p[at + 2] != 'L' ||
            p[at + 5] != 48 || p[at + 6] != 67)
            break;
        size_t plen = (size_t)(p[at + 3] | (p[at + 4] << 8));
        if (plen < 2 || n - at - 5 < plen)
            break;
        if (nv_define(v, p + at + 7, plen - 2, 1) < 0)
            break;
        at += 5 + plen;
    }
    if (at != n) {
        nv_clear(v);
        return QMS_ERR_INVAL;
    }
    return QMS_OK;
}
