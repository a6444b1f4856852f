#include "escpos.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <string.h>

void qms_escpos_init_buf(qms_escpos_buf *b)
{
    memset(b, 0, sizeof *b);
}

void qms_escpos_free_buf(qms_escpos_buf *b)
{
    qms_free(b->data);
    memset(b, 0, sizeof *b);
}

void qms_escpos_put(qms_escpos_buf *b, const void *p, size_t n)
{
    if (b->err || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = qms_realloc(b->data, cap);
        if (!d) {
            b->err = QMS_ERR_NOMEM;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void qms_escpos_byte(qms_escpos_buf *b, uint8_t c)
{
    qms_escpos_put(b, &c, 1);
}

void qms_escpos_reset(qms_escpos_buf *b)
{
    const uint8_t c[] = {QMS_ESC, '@'};
    qms_escpos_put(b, c, sizeof c);
}

void qms_escpos_align(qms_escpos_buf *b, int align)
{
    const uint8_t c[] = {QMS_ESC, 'a', (uint8_t)(align < 0 ? 0 : align > 2 ? 2 : align)};
    qms_escpos_put(b, c, sizeof c);
}

void qms_escpos_bold(qms_escpos_buf *b, int on)
{
    const uint8_t c[] = {QMS_ESC, 'E', (uint8_t)(on ? 1 : 0)};
    qms_escpos_put(b, c, sizeof c);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void qms_escpos_size(qms_escpos_buf *b, int wmul, int hmul)
{
    wmul = clampi(wmul, 1, 8);
    hmul = clampi(hmul, 1, 8);
    const uint8_t c[] = {QMS_GS, '!', (uint8_t)(((wmul - 1) << 4) | (hmul - 1))};
    qms_escpos_put(b, c, sizeof c);
}

void qms_escpos_feed_dots(qms_escpos_buf *b, int dots)
{
    while (dots > 0) {
        int n = dots > 255 ? 255 : dots;
        const uint8_t c[] = {QMS_ESC, 'J', (uint8_t)n};
        qms_escpos_put(b, c, sizeof c);
        dots -= n;
    }
}

void qms_escpos_text(qms_escpos_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        qms_escpos_byte(b, (c == '\n' || (c >= 0x20 && c < 0x7f)) ? c : '?');
    }
}

void qms_escpos_raster(qms_escpos_buf *b, const uint8_t *bits, int stride, int rows)
{
    qms_escpos_raster_mode(b, bits, stride, rows, 0);
}

void qms_escpos_raster_mode(qms_escpos_buf *b, const uint8_t *bits, int stride, int rows, int mode)
{
    /* GS v 0 takes at most 65535 rows; our images are a few dozen. */
    if (stride <= 0 || rows <= 0 || stride > 0xffff || rows > 0xffff)
        return;
    const uint8_t h[] = {QMS_GS,
                         'v',
                         '0',
                         (uint8_t)(mode & 3),
                         (uint8_t)(stride & 0xff),
                         (uint8_t)(stride >> 8),
                         (uint8_t)(rows & 0xff),
                         (uint8_t)(rows >> 8)};
    qms_escpos_put(b, h, sizeof h);
    size_t at = b->len, n = (size_t)stride * (size_t)rows;
    qms_escpos_put(b, bits, n);
    if (!b->err)
        qms_escpos_rt_safe(b->data + at, n);
}

void qms_escpos_rt_safe(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == QMS_DLE && (p[i + 1] == QMS_EOT || p[i + 1] == 0x05 || p[i + 1] == QMS_DC4))
            p[i] = 0; /* one dot less; 0x10 was a single dot */
}

static void qr_fn(qms_escpos_buf *b, uint8_t fn, const uint8_t *args, size_t n)
{
    size_t plen = n + 2; /* cn, fn, args */
    const uint8_t h[] = {QMS_GS, '(', 'k', (uint8_t)(plen & 0xff), (uint8_t)(plen >> 8), 49, fn};
    qms_escpos_put(b, h, sizeof h);
    qms_escpos_put(b, args, n);
}

void qms_escpos_qr(qms_escpos_buf *b, const char *data, int module, char ecc)
{
    size_t n = strlen(data);
    if (n > 7000)
        n = 7000; /* a QR code holds at most 7089 digits; ours is a URL */
    const uint8_t model[] = {50, 0};
    const uint8_t size[] = {(uint8_t)clampi(module, 1, 16)};
    uint8_t e = ecc == 'L' ? 48 : ecc == 'Q' ? 50 : ecc == 'H' ? 51 : 49;
    const uint8_t print[] = {48};
    qr_fn(b, 65, model, sizeof model);
    qr_fn(b, 67, size, sizeof size);
    qr_fn(b, 69, &e, 1);
    size_t plen = n + 3;
    const uint8_t h[] = {QMS_GS, '(', 'k', (uint8_t)(plen & 0xff), (uint8_t)(plen >> 8),
                         49,     80,  48};
    qms_escpos_put(b, h, sizeof h);
    qms_escpos_put(b, data, n);
    qr_fn(b, 81, print, sizeof print);
}

static void nv_fn(qms_escpos_buf *b, uint8_t fn, const uint8_t *args, size_t n)
{
    size_t plen = n + 2; /* m, fn, args */
    const uint8_t h[] = {QMS_GS, '(', 'L', (uint8_t)(plen & 0xff), (uint8_t)(plen >> 8), 48, fn};
    qms_escpos_put(b, h, sizeof h);
    qms_escpos_put(b, args, n);
}

static int nv_key_ok(uint8_t c)
{
    return c >= QMS_NV_KEY_MIN && c <= QMS_NV_KEY_MAX;
}

void qms_escpos_nv_define(qms_escpos_buf *b, uint8_t kc1, uint8_t kc2, const uint8_t *bits,
                          int stride, int rows)
{
    if (!nv_key_ok(kc1) || !nv_key_ok(kc2) || stride <= 0 || rows <= 0 || stride > 8191 ||
        rows > 0xffff)
        return;
    size_t n = (size_t)stride * (size_t)rows;
    if (n > QMS_NV_MAX_DATA)
        return;
    int x = stride * 8;
    size_t plen = 11 + n; /* m fn a kc1 kc2 b xL xH yL yH c, then the data */
    /* m = 48, fn = 67, a = 48, b = 1 colour, c = 49 (colour 1) */
    const uint8_t h[] = {QMS_GS,
                         '(',
                         'L',
                         (uint8_t)(plen & 0xff),
                         (uint8_t)(plen >> 8),
                         48,
                         67,
                         48,
                         kc1,
                         kc2,
                         1,
                         (uint8_t)(x & 0xff),
                         (uint8_t)(x >> 8),
                         (uint8_t)(rows & 0xff),
                         (uint8_t)(rows >> 8),
                         49};
    qms_escpos_put(b, h, sizeof h);
    size_t at = b->len;
    qms_escpos_put(b, bits, n);
    if (!b->err)
        qms_escpos_rt_safe(b->data + at, n);
}

void qms_escpos_nv_print(qms_escpos_buf *b, uint8_t kc1, uint8_t kc2)
{
    if (!nv_key_ok(kc1) || !nv_key_ok(kc2))
        return;
    const uint8_t a[] = {kc1, kc2, 1, 1};
    nv_fn(b, 69, a, sizeof a);
}

void qms_escpos_nv_delete(qms_escpos_buf *b, uint8_t kc1, uint8_t kc2)
{
    if (!nv_key_ok(kc1) || !nv_key_ok(kc2))
        return;
    const uint8_t a[] = {kc1, kc2};
    nv_fn(b, 66, a, sizeof a);
}

void qms_escpos_nv_delete_all(qms_escpos_buf *b)
{
    const uint8_t a[] = {'C', 'L', 'R'};
    nv_fn(b, 65, a, sizeof a);
}

void qms_escpos_nv_keylist_request(qms_escpos_buf *b)
{
    const uint8_t a[] = {'K', 'C'};
    nv_fn(b, 64, a, sizeof a);
}

void qms_escpos_nv_remaining_request(qms_escpos_buf *b)
{
    nv_fn(b, 51, NULL, 0);
}

void qms_escpos_nv_capacity_request(qms_escpos_buf *b)
{
    nv_fn(b, 48, NULL, 0);
}

int qms_escpos_nv_keylist_decode(const qms_escpos_reader *r, uint8_t (*keys)[2], int max, int *n,
                                 int *more)
{
    *more = 0;
    if (!r->blk_ready || r->blk_len < 2 || r->blk[0] != 0x72 ||
        (r->blk[1] != 0x40 && r->blk[1] != 0x41))
        return QMS_ERR_PROTOCOL;
    int len = r->blk_len - 2;
    if (len % 2 != 0 || len == (int)sizeof r->blk - 2)
        return QMS_ERR_PROTOCOL; /* half a key, or cut off */
    for (int i = 0; i < len; i += 2) {
        uint8_t a = r->blk[2 + i], c = r->blk[3 + i];
        if (!nv_key_ok(a) || !nv_key_ok(c))
            return QMS_ERR_PROTOCOL;
        if (*n < max) {
            keys[*n][0] = a;
            keys[*n][1] = c;
            (*n)++;
        }
    }
    *more = r->blk[1] == 0x41;
    return QMS_OK;
}

int qms_escpos_nv_number_decode(const qms_escpos_reader *r, uint8_t ident, long *bytes)
{
    if (!r->blk_ready || r->blk_len < 2 || r->blk_len > 11 || r->blk[0] != ident)
        return QMS_ERR_PROTOCOL;
    long v = 0;
    for (int i = 1; i < r->blk_len; i++) {
        if (r->blk[i] < '0' || r->blk[i] > '9')
            return QMS_ERR_PROTOCOL;
        v = v * 10 + (r->blk[i] - '0');
    }
    *bytes = v;
    return QMS_OK;
}

void qms_escpos_cut(qms_escpos_buf *b, int feed_dots)
{
    const uint8_t c[] = {QMS_GS, 'V', 66, (uint8_t)clampi(feed_dots, 0, 255)};
    qms_escpos_put(b, c, sizeof c);
}

void qms_escpos_status_request(qms_escpos_buf *b)
{
    const uint8_t c[] = {QMS_DLE, QMS_EOT, 1, QMS_DLE, QMS_EOT, 2, QMS_DLE, QMS_EOT, 4};
    qms_escpos_put(b, c, sizeof c);
}

void qms_escpos_sensor_request(qms_escpos_buf *b)
{
    const uint8_t c[] = {QMS_GS, 'r', 1};
    qms_escpos_put(b, c, sizeof c);
}

void qms_escpos_clear_buffers(qms_escpos_buf *b)
{
    const uint8_t c[] = {QMS_DLE, QMS_DC4, 8, 1, 3, 20, 1, 6, 2, 8};
    qms_escpos_put(b, c, sizeof c);
}

int qms_escpos_is_rt_status(uint8_t c)
{
    return (c & 0x93) == 0x12;
}

int qms_escpos_status_decode(const uint8_t r[3], qms_escpos_status *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 3; i++) {
        if (!qms_escpos_is_rt_status(r[i]))
            return QMS_ERR_PROTOCOL;
        out->raw[i] = r[i];
    }
    out->offline = (r[0] & 0x08) != 0;
    out->cover_open = (r[1] & 0x04) != 0;
    out->feed_button = (r[1] & 0x08) != 0;
    out->paper_stop = (r[1] & 0x20) != 0;
    out->error = (r[1] & 0x40) != 0;
    out->paper_low = (r[2] & 0x0c) != 0;
    out->paper_out = (r[2] & 0x60) != 0;
    return QMS_OK;
}

int qms_escpos_sensor_decode(uint8_t c, int *paper_low, int *paper_out)
{
    if ((c & 0x90) != 0)
        return QMS_ERR_PROTOCOL;
    *paper_low = (c & 0x03) != 0;
    *paper_out = (c & 0x0c) != 0;
    return QMS_OK;
}

void qms_escpos_reader_reset(qms_escpos_reader *r)
{
    memset(r, 0, sizeof *r);
    r->sensor = -1;
}

void qms_escpos_reader_feed(qms_escpos_reader *r, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (r->asb_skip > 0) {
            r->asb_skip--;
            r->skipped++;
        } else if (r->in_block) {
            r->in_block = c != 0x00;
            if (c == 0x00)
                r->blk_ready = 1;
            else if (r->blk_len < (int)sizeof r->blk)
                r->blk[r->blk_len++] = c;
            r->skipped++;
        } else if (c == 0x37 || c == 0x5f) {
            /* header of a NUL-terminated response block (e.g. the "buffer
             * cleared" answer 37 25 00 to DLE DC4 8, the NV graphics
             * answers): kept in blk for whoever asked */
            r->in_block = 1;
            r->blk_len = 0;
            r->blk_ready = 0;
            r->skipped++;
        } else if (qms_escpos_is_rt_status(c)) {
            if (r->nrt == (int)sizeof r->rt) {
                /* more replies than asked for: keep the newest */
                memmove(r->rt, r->rt + 1, sizeof r->rt - 1);
                r->nrt--;
                r->skipped++;
            }
            r->rt[r->nrt++] = c;
        } else if ((c & 0x90) == 0) {
            /* bit 4 is 0 in a sensor byte, so XON (0x11) / XOFF (0x13) and
             * real-time bytes never pass for one */
            r->sensor = c;
        } else if ((c & 0x93) == 0x10) {
            r->asb_skip = 3; /* first byte of an ASB packet: 3 more follow */
            r->skipped++;
        } else {
            r->skipped++;
        }
    }
}

int qms_escpos_reader_take_rt(qms_escpos_reader *r, uint8_t out[3])
{
    if (r->nrt < 3)
        return 0;
    memcpy(out, r->rt, 3);
    memmove(r->rt, r->rt + 3, (size_t)(r->nrt - 3));
    r->nrt -= 3;
    return 1;
}
