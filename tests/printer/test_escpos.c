/* ESC/POS encoder bytes, the status reply parser and reader, and the ticket
 * layout's byte-level promises (no accidental real-time commands, ASCII
 * native, diacritics rastered). */
#define _GNU_SOURCE /* memmem */
#include "escpos.h"
#include "printer_nv.h"
#include "raster.h"
#include "ticket.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <SDL2/SDL_ttf.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

static void test_encoder_bytes(void **state)
{
    (void)state;
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_reset(&b);
    qms_escpos_align(&b, 1);
    qms_escpos_size(&b, 6, 6);
    qms_escpos_text(&b, "A\x01\xc3");
    qms_escpos_feed_dots(&b, 300);
    qms_escpos_cut(&b, 24);
    const uint8_t want[] = {0x1b, '@', 0x1b, 'a',  1,   0x1d, '!',  0x55, 'A', '?', '?',
                            0x1b, 'J', 255,  0x1b, 'J', 45,   0x1d, 'V',  66,  24};
    assert_int_equal(b.err, QMS_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    qms_escpos_free_buf(&b);
}

static void test_qr_bytes(void **state)
{
    (void)state;
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_qr(&b, "https://x/1", 6, 'M');
    const uint8_t want[] = {0x1d, '(', 'k', 4,   0,   49,   65,  50,  0, /* model 2 */
                            0x1d, '(', 'k', 3,   0,   49,   67,  6,      /* module 6 */
                            0x1d, '(', 'k', 3,   0,   49,   69,  49,     /* ECC M */
                            0x1d, '(', 'k', 14,  0,   49,   80,  48,  'h', 't', 't', 'p', 's', ':',
                            '/',  '/', 'x', '/', '1', 0x1d, '(', 'k', 3,   0,   49,  81,  48};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    qms_escpos_free_buf(&b);
}

static void test_raster_bytes_are_rt_safe(void **state)
{
    (void)state;
    /* image data that spells DLE EOT 1, DLE DC4 8 and DLE ENQ 2 */
    uint8_t bits[] = {0x10, 0x04, 0x01, 0x10, 0x14, 0x08, 0x10, 0x05, 0x02, 0x10, 0x10, 0xff};
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_raster(&b, bits, 3, 4);
    const uint8_t head[] = {0x1d, 'v', '0', 0, 3, 0, 4, 0};
    assert_memory_equal(b.data, head, 8);
    const uint8_t data[] = {0x00, 0x04, 0x01, 0x00, 0x14, 0x08, 0x00, 0x05, 0x02, 0x10, 0x10, 0xff};
    assert_memory_equal(b.data + 8, data, sizeof data);
    assert_int_equal(bits[0], 0x10); /* the caller's image is untouched */
    qms_escpos_free_buf(&b);
}

static void test_status_decode(void **state)
{
    (void)state;
    qms_escpos_status s;
    const uint8_t ok[3] = {0x12, 0x12, 0x12};
    assert_int_equal(qms_escpos_status_decode(ok, &s), QMS_OK);
    assert_false(s.offline || s.cover_open || s.paper_out || s.paper_low || s.error);
    const uint8_t cover[3] = {0x1a, 0x16, 0x12};
    assert_int_equal(qms_escpos_status_decode(cover, &s), QMS_OK);
    assert_true(s.offline && s.cover_open && !s.paper_out);
    const uint8_t out[3] = {0x1a, 0x32, 0x7e};
    assert_int_equal(qms_escpos_status_decode(out, &s), QMS_OK);
    assert_true(s.offline && s.paper_stop && s.paper_out && s.paper_low && !s.cover_open);
    const uint8_t low[3] = {0x12, 0x12, 0x1e};
    assert_int_equal(qms_escpos_status_decode(low, &s), QMS_OK);
    assert_true(s.paper_low && !s.paper_out && !s.offline);
    const uint8_t bad[3] = {0x12, 0x13, 0x12}; /* bit 0 must be 0 */
    assert_int_equal(qms_escpos_status_decode(bad, &s), QMS_ERR_PROTOCOL);
    const uint8_t bad2[3] = {0x12, 0x12, 0x92}; /* bit 7 must be 0 */
    assert_int_equal(qms_escpos_status_decode(bad2, &s), QMS_ERR_PROTOCOL);
    int lo, po;
    assert_int_equal(qms_escpos_sensor_decode(0x03, &lo, &po), QMS_OK);
    assert_true(lo && !po);
    assert_int_equal(qms_escpos_sensor_decode(0x0f, &lo, &po), QMS_OK);
    assert_true(lo && po);
    assert_int_equal(qms_escpos_sensor_decode(0x12, &lo, &po), QMS_ERR_PROTOCOL);
}

static void test_reader_sorts_bytes(void **state)
{
    (void)state;
    qms_escpos_reader r;
    qms_escpos_reader_reset(&r);
    /* an ASB packet (4 bytes), XON, a stray 0xff, a buffer-clear answer
     * block, then status bytes split across feeds with a GS r byte inside */
    const uint8_t a[] = {0x10, 0x00, 0x0f, 0x00, 0x11, 0xff, 0x37, 0x25, 0x00, 0x12};
    const uint8_t c[] = {0x03, 0x16};
    const uint8_t d[] = {0x1e, 0x12};
    qms_escpos_reader_feed(&r, a, sizeof a);
    uint8_t rt[3];
    assert_false(qms_escpos_reader_take_rt(&r, rt));
    assert_int_equal(r.sensor, -1);
    qms_escpos_reader_feed(&r, c, sizeof c);
    assert_int_equal(r.sensor, 0x03);
    qms_escpos_reader_feed(&r, d, sizeof d);
    assert_true(qms_escpos_reader_take_rt(&r, rt));
    const uint8_t want[3] = {0x12, 0x16, 0x1e};
    assert_memory_equal(rt, want, 3);
    assert_int_equal(r.nrt, 1); /* the fourth waits for the next take */
    assert_int_equal(r.skipped, 9);
}

/* The ticket as bytes: starts with ESC @, ends with a cut, holds no
 * real-time sequence anywhere, and with ASCII names carries the names as
 * text; Vietnamese names never reach the wire as UTF-8. */
static void test_ticket_bytes(void **state)
{
    (void)state;
    qms_printer_opts o = {.width_dots = 576, .qr_native = 1};
    qms_ticket_print t = {.center_name = "Trung tâm Phục vụ hành chính công",
                          .service_name = "Đăng ký kinh doanh",
                          .number = "D007",
                          .ahead = 3,
                          .eta_s = 4000,
                          .taken_ms = 1795741260000LL,
                          .utc_offset_min = 420,
                          .qr_url = "https://qms.example.vn/t/demo/D007",
                          .lang = "vi"};
    uint8_t *d = NULL;
    size_t n = 0;
    assert_int_equal(qms_printer_encode(&o, &t, &d, &n), QMS_OK);
    assert_true(n > 100);
    assert_memory_equal(d, "\x1b@", 2);
    assert_memory_equal(d + n - 4, "\x1dV\x42", 3);
    for (size_t i = 0; i + 1 < n; i++) {
        assert_false(d[i] == 0x10 && (d[i + 1] == 4 || d[i + 1] == 5 || d[i + 1] == 0x14));
    }
    assert_null(memmem(d, n, "\xc4\x90", 2)); /* "Đ" as UTF-8 */
    assert_non_null(memmem(d, n, "D007", 4));
    assert_non_null(memmem(d, n, "27/11/2026  08:01", 17));
    assert_non_null(memmem(d, n, t.qr_url, strlen(t.qr_url)));
    qms_free(d);

    t.lang = "en";
    t.center_name = "Service Center";
    t.service_name = "Business registration";
    assert_int_equal(qms_printer_encode(&o, &t, &d, &n), QMS_OK);
    assert_null(memmem(d, n, "\x1dv0", 3)); /* no raster at all */
    assert_non_null(memmem(d, n, "Business registration", 21));
    assert_non_null(memmem(d, n, "Expected wait: 1 h 07 min", 25));
    qms_free(d);

    /* bad input: no number, a non-ASCII number, a paper width we do not know */
    t.number = "";
    assert_int_equal(qms_printer_encode(&o, &t, &d, &n), QMS_ERR_INVAL);
    t.number = "Á1";
    assert_int_equal(qms_printer_encode(&o, &t, &d, &n), QMS_ERR_INVAL);
    t.number = "A1";
    o.width_dots = 600;
    assert_int_equal(qms_printer_encode(&o, &t, &d, &n), QMS_ERR_INVAL);
    o.width_dots = 576;
    o.font_dir = "/nonexistent";
    assert_int_equal(qms_printer_encode(&o, &t, &d, &n), QMS_ERR_IO);
}

static void test_labels(void **state)
{
    (void)state;
    char s[100], v[32];
    qms_ticket_label_ahead("vi", 0, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "Bạn là người tiếp theo");
    assert_string_equal(v, "");
    /* the Vietnamese label is fixed (it can live in the printer's NV
     * memory); the number goes under it in the printer's font */
    qms_ticket_label_ahead("vi", 12, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "Số người trước bạn:");
    assert_string_equal(v, "12");
    qms_ticket_label_ahead("vi", 3, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "Số người trước bạn:");
    assert_string_equal(v, "3");
    qms_ticket_label_wait("vi", 30, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "Chờ dự kiến (phút):");
    assert_string_equal(v, "< 1");
    qms_ticket_label_wait("vi", 61, s, sizeof s, v, sizeof v);
    assert_string_equal(v, "1");
    qms_ticket_label_wait("vi", 90, s, sizeof s, v, sizeof v);
    assert_string_equal(v, "2");
    qms_ticket_label_wait("vi", 3600 * 2 + 60 * 5, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "Chờ dự kiến (phút):");
    assert_string_equal(v, "125");
    qms_ticket_label_wait("en", 900, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "Expected wait: 15 min");
    assert_string_equal(v, "");
    qms_ticket_label_ahead("en", 4, s, sizeof s, v, sizeof v);
    assert_string_equal(s, "People ahead: 4");
    assert_string_equal(v, "");
}

/* Wrapping keeps every line inside the width, loses no word, and cuts a word
 * longer than a line between characters (never inside a UTF-8 sequence). */
static void test_wrap(void **state)
{
    (void)state;
    qms_printer_opts o = {.width_dots = 512};
    qms_ticket_enc e;
    assert_int_equal(qms_ticket_enc_init(&e, &o), QMS_OK);
    const char *text = "Văn hóa, Thể thao và Du lịch và Nông nghiệp và Phát triển nông thôn";
    char **lines = NULL;
    int n = 0;
    assert_int_equal(qms_raster_wrap(e.bold, text, 300, &lines, &n), QMS_OK);
    assert_true(n >= 3);
    char joined[300] = "";
    for (int i = 0; i < n; i++) {
        int w, h;
        TTF_SizeUTF8(e.bold, lines[i], &w, &h);
        assert_true(w <= 300);
        if (i)
            strcat(joined, " ");
        strcat(joined, lines[i]);
    }
    assert_string_equal(joined, text);
    qms_raster_free_lines(lines, n);

    assert_int_equal(qms_raster_wrap(e.bold, "ĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐĐ", 100, &lines, &n), QMS_OK);
    assert_true(n >= 3);
    for (int i = 0; i < n; i++)
        assert_int_equal(strlen(lines[i]) % 2, 0); /* whole 2-byte characters */
    qms_raster_free_lines(lines, n);

    /* a rendered line is cropped to its ink: black on its four edges */
    qms_raster r;
    assert_int_equal(qms_raster_text(e.regular, "  Ưu tiên  ", &r), QMS_OK);
    int top = 0, bottom = 0, left = 0, right = 0;
    for (int x = 0; x < r.w; x++) {
        top |= qms_raster_get(&r, x, 0);
        bottom |= qms_raster_get(&r, x, r.h - 1);
    }
    for (int y = 0; y < r.h; y++) {
        left |= qms_raster_get(&r, 0, y);
        right |= qms_raster_get(&r, r.w - 1, y);
    }
    assert_true(top && bottom && left && right);
    qms_raster_free(&r);
    assert_int_equal(qms_raster_text(e.regular, "   ", &r), QMS_ERR_INVAL);
    qms_ticket_enc_free(&e);
}

/* NV graphics commands byte for byte (GS ( L, m = 48), and the record file. */
static void test_nv_bytes_and_record(void **state)
{
    (void)state;
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    const uint8_t bits[6] = {1, 2, 0x10, 0x04, 5, 6};
    qms_escpos_nv_define(&b, 'A', 'b', bits, 2, 3);
    const uint8_t def[] = {
        0x1d, '(', 'L', 17, 0,  48, 67, 48, 'A', 'b', 1,
        16,   0,   3,   0,  49, 1,  2,  0,  4,   5,   6}; /* 0x10 0x04 made real-time safe */
    assert_int_equal(b.len, sizeof def);
    assert_memory_equal(b.data, def, sizeof def);
    b.len = 0;
    qms_escpos_nv_print(&b, 'A', 'b');
    qms_escpos_nv_delete(&b, 'A', 'b');
    qms_escpos_nv_keylist_request(&b);
    qms_escpos_nv_remaining_request(&b);
    qms_escpos_nv_delete_all(&b);
    const uint8_t cmds[] = {0x1d, '(', 'L', 6, 0, 48, 69, 'A', 'b', 1,  1, /* print */
                            0x1d, '(', 'L', 4, 0, 48, 66, 'A', 'b',        /* delete */
                            0x1d, '(', 'L', 4, 0, 48, 64, 'K', 'C',        /* key list */
                            0x1d, '(', 'L', 2, 0, 48, 51,                  /* left */
                            0x1d, '(', 'L', 5, 0, 48, 65, 'C', 'L', 'R'};  /* all */
    assert_int_equal(b.len, sizeof cmds);
    assert_memory_equal(b.data, cmds, sizeof cmds);
    b.len = 0;
    qms_escpos_nv_print(&b, 31, 'b'); /* keys are 32..126: nothing sent */
    qms_escpos_nv_define(&b, 'A', 127, bits, 2, 3);
    assert_int_equal(b.len, 0);
    qms_escpos_free_buf(&b);

    qms_nv_table t;
    qms_nv_init(&t);
    char err[200];
    const char *ok = "# c\nqms-nv 1\nZb 1c6a8de3759cc4b5 392 20 center: Trung tâm\n"
                     "sA 0ad5c870d1cf3f00 224 27\n";
    assert_int_equal(qms_nv_parse(ok, strlen(ok), &t, err, sizeof err), QMS_OK);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.e[0].what, "center: Trung tâm");
    assert_non_null(qms_nv_find(&t, 0x1c6a8de3759cc4b5ull, 392, 20, 0));
    assert_null(qms_nv_find(&t, 0x1c6a8de3759cc4b5ull, 392, 20, 1)); /* not seen in the printer */
    assert_null(qms_nv_find(&t, 0x1c6a8de3759cc4b5ull, 392, 21, 0));
    uint8_t kc[2];
    const uint8_t taken[1][2] = {{'Q', 'q'}};
    assert_int_equal(qms_nv_pick_key(&t, 0x1c6a8de3759cc4b5ull, taken, 1, kc), QMS_OK);
    assert_true(isalnum(kc[0]) && isalnum(kc[1]));
    assert_null(qms_nv_find_key(&t, kc));
    const char *bad[] = {"Zb 1c6a8de3759cc4b5 392 20 x\n",          /* no header */
                         "qms-nv 1\nZb 1c6a8de3759cc4b 392 20 x\n", /* short hash */
                         "qms-nv 1\nZ 1c6a8de3759cc4b5 392 20 x\n", /* one-byte key */
                         "qms-nv 1\nZb 1c6a8de3759cc4b5 0 20 x\n",  /* no width */
                         ("qms-nv 1\nZb 1c6a8de3759cc4b5 392 20\nZb "
                          "2c6a8de3759cc4b5 392 20\n")}; /* key twice (one element) */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(qms_nv_parse(bad[i], strlen(bad[i]), &t, err, sizeof err), QMS_ERR_INVAL);
        assert_int_equal(t.n, 0);
        assert_non_null(strstr(err, "line "));
    }
    qms_nv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoder_bytes),
        cmocka_unit_test(test_qr_bytes),
        cmocka_unit_test(test_raster_bytes_are_rt_safe),
        cmocka_unit_test(test_status_decode),
        cmocka_unit_test(test_reader_sorts_bytes),
        cmocka_unit_test(test_ticket_bytes),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_nv_bytes_and_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
