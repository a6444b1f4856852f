/* The vprinter's model on its own: layout of text, rasters and QR codes,
 * status replies, printing stopped while paper is out, buffer clearing,
 * refusals, and commands split across reads. */
#include "escpos.h"
#include "raster.h"
#include "vprinter.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct seen {
    uint8_t reply[256];
    size_t nreply;
    int pages, cut, nelems, nrefused, height;
    uint64_t bytes;
    qms_vp_elem elems[16]; /* shallow copies (text/payload copied below) */
    char texts[16][64];
    char last_refused[200];
} seen;

static void on_reply(void *ud, const uint8_t *p, size_t n)
{
    seen *s = ud;
    for (size_t i = 0; i < n && s->nreply < sizeof s->reply; i++)
        s->reply[s->nreply++] = p[i];
}

static void on_page(void *ud, const qms_vp_page *pg)
{
    seen *s = ud;
    s->pages++;
    s->cut = pg->cut;
    s->nelems = pg->nelems;
    s->nrefused = pg->nrefused;
    s->height = pg->height;
    s->bytes = pg->bytes;
    for (int i = 0; i < pg->nelems && i < 16; i++) {
        s->elems[i] = pg->elems[i];
        s->elems[i].bits = NULL;
        s->elems[i].text = NULL;
        s->elems[i].payload = NULL;
        const char *t = pg->elems[i].text ? pg->elems[i].text : pg->elems[i].payload;
        snprintf(s->texts[i], sizeof s->texts[i], "%s", t ? t : "");
    }
    if (pg->nrefused)
        snprintf(s->last_refused, sizeof s->last_refused, "%s", pg->refused[pg->nrefused - 1]);
}

static qms_vp *make(seen *s, int width)
{
    memset(s, 0, sizeof *s);
    qms_vp_hooks h = {.reply = on_reply, .page = on_page, .ud = s};
    qms_vp *v = NULL;
    assert_int_equal(qms_vp_new(width, &h, &v), QMS_OK);
    return v;
}

static void feed(qms_vp *v, const void *p, size_t n)
{
    qms_vp_feed(v, p, n);
}

static void test_text_layout(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 576);
    const uint8_t d[] = {0x1b, 'a', 1,   0x1d, '!',  0x11, 'A', 'B', 0x1d,
                         '!',  0,   'c', '\n', 0x1d, 'V',  66,  10};
    feed(v, d, sizeof d);
    assert_int_equal(s.pages, 1);
    assert_int_equal(s.cut, 1);
    assert_int_equal(s.nelems, 2);
    assert_string_equal(s.texts[0], "AB");
    assert_int_equal(s.elems[0].w, 48);
    assert_int_equal(s.elems[0].h, 48);
    assert_int_equal(s.elems[0].x, (576 - 60) / 2); /* "AB" 2x + "c" 1x centered */
    assert_string_equal(s.texts[1], "c");
    assert_int_equal(s.elems[1].y, 24); /* on the common baseline */
    assert_int_equal(s.height, 48 + 10);
    assert_int_equal(s.bytes, sizeof d);
    qms_vp_free(v);
}

static void test_status_replies(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 576);
    const uint8_t q[] = {0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 3, 0x10, 4, 4};
    feed(v, q, sizeof q);
    const uint8_t ok[] = {0x12, 0x12, 0x12, 0x12};
    assert_int_equal(s.nreply, 4);
    assert_memory_equal(s.reply, ok, 4);
    qms_vp_set_paper_out(v, 1);
    s.nreply = 0;
    feed(v, q, sizeof q);
    const uint8_t out[] = {0x1a, 0x32, 0x12, 0x7e};
    assert_memory_equal(s.reply, out, 4);
    qms_vp_set_paper_out(v, 0);
    qms_vp_set_cover_open(v, 1);
    s.nreply = 0;
    feed(v, q, sizeof q);
    const uint8_t cover[] = {0x1a, 0x16, 0x12, 0x12};
    assert_memory_equal(s.reply, cover, 4);
    qms_vp_set_cover_open(v, 0);
    qms_vp_set_paper_low(v, 1);
    s.nreply = 0;
    feed(v, q, sizeof q);
    const uint8_t low[] = {0x12, 0x12, 0x12, 0x1e};
    assert_memory_equal(s.reply, low, 4);
    /* what the library's decoder makes of them */
    qms_escpos_status st;
    const uint8_t r[3] = {s.reply[0], s.reply[1], s.reply[3]};
    assert_int_equal(qms_escpos_status_decode(r, &st), QMS_OK);
    assert_true(st.paper_low && !st.paper_out);
    qms_vp_free(v);
}

/* While the paper is out nothing prints and GS r waits; DLE EOT is still
 * answered at once. A new roll lets it all through. */
static void test_stopped_printing(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 576);
    qms_vp_set_paper_out(v, 1);
    const uint8_t d[] = {'H', 'i', '\n', 0x1d, 'V', 66, 0, 0x1d, 'r', 1, 0x10, 4, 4};
    feed(v, d, sizeof d);
    assert_int_equal(s.pages, 0);
    assert_int_equal(s.nreply, 1);
    assert_int_equal(s.reply[0], 0x7e);
    assert_true(qms_vp_pending(v) > 0);
    qms_vp_set_paper_out(v, 0);
    assert_int_equal(s.pages, 1);
    assert_int_equal(s.nreply, 2);
    assert_int_equal(s.reply[1], 0x00); /* GS r 1: paper fine */
    assert_int_equal(qms_vp_pending(v), 0);
    qms_vp_free(v);
}

/* The roll ends mid-ticket; DLE DC4 8 drops the rest and answers 37 25 00. */
static void test_paper_runs_out_and_clear(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 576);
    qms_vp_set_paper_left(v, 50);
    const uint8_t d[] = {'o', 'n', 'e', '\n', 't',  'w',  'o', '\n', 't',
                         'h', 'r', 'e', 'e',  '\n', 0x1d, 'V', 66,   0};
    feed(v, d, sizeof d);
    assert_string_equal(qms_vp_state(v), "paper_out");
    assert_int_equal(s.pages, 0);
    const uint8_t clr[] = {0x10, 0x14, 8, 1, 3, 20, 1, 6, 2, 8};
    feed(v, clr, sizeof clr);
    assert_int_equal(s.pages, 1);
    assert_int_equal(s.cut, 0);
    assert_int_equal(s.nelems, 2); /* "one", "two"; "three" never printed */
    assert_string_equal(s.texts[1], "two");
    const uint8_t ack[] = {0x37, 0x25, 0x00};
    assert_int_equal(s.nreply, 3);
    assert_memory_equal(s.reply, ack, 3);
    assert_int_equal(qms_vp_pending(v), 0);
    qms_vp_set_paper_out(v, 0);
    const uint8_t d2[] = {'n', 'e', 'w', '\n', 0x1d, 'V', 66, 0};
    feed(v, d2, sizeof d2);
    assert_int_equal(s.pages, 2);
    assert_int_equal(s.nelems, 1);
    assert_string_equal(s.texts[0], "new");
    qms_vp_free(v);
}

static void test_raster_and_qr(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 512);
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_align(&b, 1);
    uint8_t bits[2 * 3] = {0xff, 0x00, 0x81, 0x18, 0x0f, 0xf0};
    qms_escpos_raster_mode(&b, bits, 2, 3, 3);
    qms_escpos_qr(&b, "https://q/1", 4, 'Q');
    qms_escpos_cut(&b, 0);
    /* one byte at a time: commands split across reads must come out the same */
    for (size_t i = 0; i < b.len; i++)
        feed(v, b.data + i, 1);
    assert_int_equal(s.pages, 1);
    assert_int_equal(s.nrefused, 0);
    assert_int_equal(s.nelems, 2);
    assert_int_equal(s.elems[0].kind, QMS_VP_RASTER);
    assert_int_equal(s.elems[0].w, 32);
    assert_int_equal(s.elems[0].h, 6);
    assert_int_equal(s.elems[0].x, (512 - 32) / 2);
    assert_true(s.elems[0].hash == qms_raster_hash_bits(16, 3, bits, 2));
    assert_int_equal(s.elems[1].kind, QMS_VP_QR);
    assert_string_equal(s.texts[1], "https://q/1");
    assert_int_equal(s.elems[1].module, 4);
    assert_int_equal(s.elems[1].ecc, 'Q');
    assert_int_equal(s.elems[1].w % 4, 0);
    assert_int_equal(s.elems[1].y, 6);
    qms_escpos_free_buf(&b);
    qms_vp_free(v);
}

static void test_refusals(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 512);
    /* a raster wider than the paper, then a PDF417 symbol, then a cut */
    uint8_t wide[8 + 65] = {0x1d, 'v', '0', 0, 65, 0, 1, 0};
    feed(v, wide, sizeof wide);
    const uint8_t pdf[] = {0x1d, '(', 'k', 3, 0, 48, 65, 0, 0x1d, 'V', 0};
    feed(v, pdf, sizeof pdf);
    assert_int_equal(s.pages, 1);
    assert_int_equal(s.nelems, 0);
    assert_int_equal(s.nrefused, 2);
    assert_non_null(strstr(s.last_refused, "other than QR"));
    /* a raster while text waits in the line buffer */
    const uint8_t mixed[] = {'x', 0x1d, 'v', '0', 0, 1, 0, 1, 0, 0xff, '\n', 0x1d, 'V', 0};
    feed(v, mixed, sizeof mixed);
    assert_int_equal(s.pages, 2);
    assert_int_equal(s.nrefused, 1);
    assert_non_null(strstr(s.last_refused, "line buffer"));
    qms_vp_free(v);
}

/* NV graphics in the model: a define and a print give the same raster
 * element as GS v 0 of the same bits; the key list comes in blocks of 40
 * with the ACK / NAK / CAN handshake; the memory saves and loads back; an
 * unknown key and a full memory are refused. */
static void test_nv_graphics(void **state)
{
    (void)state;
    seen s;
    qms_vp *v = make(&s, 576);
    const uint8_t bits[6] = {0xff, 0x0f, 0x81, 0x81, 0xf0, 0xff};
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_align(&b, 1);
    qms_escpos_nv_define(&b, 'A', 'b', bits, 2, 3);
    qms_escpos_nv_print(&b, 'A', 'b');
    qms_escpos_raster(&b, bits, 2, 3);
    qms_escpos_nv_print(&b, 'Z', 'z');
    qms_escpos_cut(&b, 0);
    assert_int_equal(b.err, QMS_OK);
    feed(v, b.data, b.len);
    qms_escpos_free_buf(&b);
    assert_int_equal(s.pages, 1);
    assert_int_equal(s.nelems, 2);
    assert_int_equal(s.elems[0].kind, QMS_VP_RASTER);
    assert_string_equal(s.elems[0].nv, "Ab");
    assert_string_equal(s.elems[1].nv, "");
    assert_true(s.elems[0].hash == s.elems[1].hash);
    assert_int_equal(s.elems[0].x, s.elems[1].x);
    assert_int_equal(s.elems[0].w, 16);
    assert_int_equal(s.nrefused, 1);
    assert_non_null(strstr(s.last_refused, "no image at key 'Zz'"));
    assert_int_equal(qms_vp_nv_count(v), 1);
    assert_int_equal(qms_vp_nv_used(v), 6);

    /* 45 images: the key list takes two blocks */
    qms_escpos_init_buf(&b);
    for (int i = 1; i < 45; i++)
        qms_escpos_nv_define(&b, 'k', (uint8_t)('0' + i), bits, 1, 1);
    qms_escpos_nv_keylist_request(&b);
    feed(v, b.data, b.len);
    qms_escpos_free_buf(&b);
    assert_int_equal(qms_vp_nv_count(v), 45);
    qms_escpos_reader r;
    qms_escpos_reader_reset(&r);
    qms_escpos_reader_feed(&r, s.reply, s.nreply);
    uint8_t keys[64][2];
    int n = 0, more = 0;
    assert_int_equal(qms_escpos_nv_keylist_decode(&r, keys, 64, &n, &more), QMS_OK);
    assert_int_equal(n, 40);
    assert_int_equal(more, 1);
    assert_int_equal(keys[0][0], 'A');
    s.nreply = 0;
    feed(v, "\x15", 1); /* NAK: the same block again */
    assert_int_equal(s.nreply, 4 + 80);
    s.nreply = 0;
    feed(v, "\x06", 1); /* ACK: the rest */
    qms_escpos_reader_reset(&r);
    qms_escpos_reader_feed(&r, s.reply, s.nreply);
    n = 0;
    assert_int_equal(qms_escpos_nv_keylist_decode(&r, keys, 64, &n, &more), QMS_OK);
    assert_int_equal(n, 5);
    assert_int_equal(more, 0);
    s.nreply = 0;
    feed(v, "\x06", 1); /* ACK of the last block: done, nothing more */
    assert_int_equal(s.nreply, 0);

    /* the remaining capacity */
    qms_escpos_init_buf(&b);
    qms_escpos_nv_remaining_request(&b);
    feed(v, b.data, b.len);
    qms_escpos_free_buf(&b);
    qms_escpos_reader_reset(&r);
    qms_escpos_reader_feed(&r, s.reply, s.nreply);
    long left = 0;
    assert_int_equal(qms_escpos_nv_number_decode(&r, 0x31, &left), QMS_OK);
    assert_int_equal(left, QMS_VP_NV_CAPACITY - 6 - 44);

    /* saved and loaded into another printer: the same images */
    uint8_t *saved = NULL;
    size_t len = 0;
    assert_int_equal(qms_vp_nv_save(v, &saved, &len), QMS_OK);
    seen s2;
    qms_vp *v2 = make(&s2, 576);
    assert_int_equal(qms_vp_nv_load(v2, saved, len), QMS_OK);
    assert_int_equal(qms_vp_nv_count(v2), 45);
    /* a truncated store is refused whole */
    assert_int_equal(qms_vp_nv_load(v2, saved, len - 1), QMS_ERR_INVAL);
    assert_int_equal(qms_vp_nv_count(v2), 0);
    qms_free(saved);
    qms_vp_free(v2);

    /* a full memory refuses a define */
    qms_vp_set_nv_capacity(v, 53);
    s.pages = 0;
    qms_escpos_init_buf(&b);
    qms_escpos_nv_define(&b, 'Q', 'q', bits, 2, 3);
    qms_escpos_cut(&b, 0);
    feed(v, b.data, b.len);
    qms_escpos_free_buf(&b);
    assert_int_equal(s.pages, 1);
    assert_non_null(strstr(s.last_refused, "only 3 left"));
    assert_int_equal(qms_vp_nv_count(v), 45);
    qms_vp_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_layout),      cmocka_unit_test(test_status_replies),
        cmocka_unit_test(test_stopped_printing), cmocka_unit_test(test_paper_runs_out_and_clear),
        cmocka_unit_test(test_raster_and_qr),    cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nv_graphics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
