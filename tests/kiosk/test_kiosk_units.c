/* Unit tests of the kiosk's pure parts: settings, script parser, layout
 * (touch targets in millimetres), texts, hit testing, reply parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kiosk_config.h"
#include "kiosk_journal.h"
#include "kiosk_layout.h"
#include "kiosk_net.h"
#include "kiosk_script.h"
#include "kiosk_text.h"
#include "kiosk_view.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"

static int parse_cfg(const char *js, kiosk_config *c, char *err)
{
    kiosk_config_defaults(c);
    return kiosk_config_parse(js, strlen(js), c, err, 256);
}

static void test_config(void **state)
{
    (void)state;
    kiosk_config c;
    char err[256];
    assert_int_equal(parse_cfg("{\"site\":\"demo\",\"kiosk_id\":\"k2\",\"lang\":\"en\","
                               "\"screen\":{\"width\":1080,\"height\":1920,\"diagonal_in\":32,"
                               "\"portrait\":true,\"min_target_mm\":18},"
                               "\"printer\":{\"device\":\"/dev/ttyUSB0\",\"baud\":9600,"
                               "\"paper_dots\":512,\"qr_native\":false,"
                               "\"nv_state\":\"/var/lib/qms/nv.state\"},"
                               "\"timeouts\":{\"idle_s\":45}}",
                               &c, err),
                     QMS_OK);
    assert_string_equal(c.site, "demo");
    assert_string_equal(c.kiosk_id, "k2");
    assert_string_equal(c.lang, "en");
    assert_int_equal(c.width, 1080);
    assert_int_equal(c.height, 1920);
    assert_true(fabs(c.diagonal_in - 32) < 1e-9);
    assert_true(c.portrait);
    assert_string_equal(c.printer, "/dev/ttyUSB0");
    assert_int_equal(c.baud, 9600);
    assert_int_equal(c.paper_dots, 512);
    assert_int_equal(c.qr_native, 0);
    assert_string_equal(c.nv_state, "/var/lib/qms/nv.state");
    assert_int_equal(c.idle_timeout_s, 45);
    assert_int_equal(c.ticket_timeout_s, 10); /* default kept */

    /* each mistake is named */
    assert_int_equal(parse_cfg("{\"sreen\":{}}", &c, err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "sreen"));
    assert_int_equal(parse_cfg("{\"screen\":{\"widht\":5}}", &c, err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "screen.widht"));
    assert_int_equal(parse_cfg("{\"screen\":{\"width\":\"big\"}}", &c, err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "screen.width"));
    assert_int_equal(parse_cfg("{\"screen\":{\"width\":100.5}}", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"screen\":{\"rotate\":45}}", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"lang\":\"fr\"}", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"site\":\"a/b\"}", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"qr_base\":\"nope\"}", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("[1]", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"site\":", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"screen\":3}", &c, err), QMS_ERR_INVAL);
    assert_int_equal(parse_cfg("{\"ask_priority\":1}", &c, err), QMS_ERR_INVAL);

    /* a center configuration gives its site and nothing else */
    assert_int_equal(kiosk_config_load(QMS_EXAMPLES "/center.json", &c, err, sizeof err), QMS_OK);
    assert_string_equal(c.site, "demo");
    assert_int_equal(c.width, 1920);
    /* the example kiosk file says what panel it assumes */
    kiosk_config_defaults(&c);
    assert_int_equal(kiosk_config_load(QMS_EXAMPLES "/kiosk.json", &c, err, sizeof err), QMS_OK);
    assert_true(c.diagonal_in > 0);
    assert_true(c.min_target_mm >= 15);
    assert_int_equal(kiosk_config_load("/nonexistent/kiosk.json", &c, err, sizeof err), QMS_ERR_IO);
}

static void test_script(void **state)
{
    (void)state;
    kiosk_script s;
    char err[256];
    const char *ok = "# a comment\n"
                     "\n"
                     "tap 10 20\r\n"
                     "  tap-service TP   # trailing comment\n"
                     "tap-priority elderly\n"
                     "tap-lang\ntap-back\ntap-next\ntap-prev\n"
                     "wait 250\n"
                     "wait-screen menu\n"
                     "wait-screen ticket 3000\n"
                     "expect-screen idle\n"
                     "screenshot menu-vi_1.land\n"
                     "quit\n"
                     "wait-file go-1 500\n";
    assert_int_equal(kiosk_script_parse(ok, strlen(ok), &s, err, sizeof err), QMS_OK);
    assert_int_equal(s.n, 14);
    assert_int_equal(s.cmds[0].op, KS_TAP);
    assert_int_equal(s.cmds[0].x, 10);
    assert_int_equal(s.cmds[0].y, 20);
    assert_int_equal(s.cmds[0].line, 3);
    assert_int_equal(s.cmds[1].op, KS_TAP_SERVICE);
    assert_string_equal(s.cmds[1].arg, "TP");
    assert_int_equal(s.cmds[2].op, KS_TAP_PRIORITY);
    assert_string_equal(s.cmds[2].arg, "elderly");
    assert_int_equal(s.cmds[7].op, KS_WAIT);
    assert_int_equal(s.cmds[7].ms, 250);
    assert_int_equal(s.cmds[8].op, KS_WAIT_SCREEN);
    assert_int_equal(s.cmds[8].ms, 10000);
    assert_int_equal(s.cmds[9].ms, 3000);
    assert_int_equal(s.cmds[10].op, KS_EXPECT_SCREEN);
    assert_int_equal(s.cmds[11].op, KS_SCREENSHOT);
    assert_string_equal(s.cmds[11].arg, "menu-vi_1.land");
    assert_int_equal(s.cmds[12].op, KS_QUIT);
    assert_int_equal(s.cmds[13].op, KS_WAIT_FILE);
    assert_string_equal(s.cmds[13].arg, "go-1");
    assert_int_equal(s.cmds[13].ms, 500);
    kiosk_script_free(&s);
    /* the check-in commands; typed text comes as hex (any byte but NUL) */
    const char *ci = "tap-checkin\ntap-key A\ntap-key del\ntap-ok\ntype 417c0d\n";
    assert_int_equal(kiosk_script_parse(ci, strlen(ci), &s, err, sizeof err), QMS_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.cmds[0].op, KS_TAP_CHECKIN);
    assert_int_equal(s.cmds[1].op, KS_TAP_KEY);
    assert_string_equal(s.cmds[2].arg, "del");
    assert_int_equal(s.cmds[3].op, KS_TAP_OK);
    assert_int_equal(s.cmds[4].op, KS_TYPE);
    assert_string_equal(s.cmds[4].text, "A|\r");
    kiosk_script_free(&s);
    static const char *const badtype[] = {"type 41f\n", "type 4100\n", "type zz\n", "type\n"};
    for (size_t i = 0; i < sizeof badtype / sizeof badtype[0]; i++)
        assert_int_equal(kiosk_script_parse(badtype[i], strlen(badtype[i]), &s, err, sizeof err),
                         QMS_ERR_INVAL);

    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"tap 10\n", "line 1"},
        {"\n\ntap x 3\n", "line 3"},
        {"tap -1 5\n", "line 1"},
        {"wait\n", "line 1"},
        {"wait 99999999999\n", "line 1"},
        {"screenshot ../etc/passwd\n", "bad name"},
        {"screenshot .hidden\n", "bad name"},
        {"screenshot a/b\n", "bad name"},
        {"jump 1 2\n", "unknown command"},
        {"tap-lang now\n", "line 1"},
        {"wait-screen a 1 2\n", "line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(kiosk_script_parse(bad[i].text, strlen(bad[i].text), &s, err, sizeof err),
                         QMS_ERR_INVAL);
        assert_non_null(strstr(err, bad[i].why));
        assert_null(s.cmds);
    }
    /* a NUL inside a line is refused, not silently cut */
    const char nul[] = "tap 1 2\0tap 3 4\n";
    assert_int_equal(kiosk_script_parse(nul, sizeof nul - 1, &s, err, sizeof err), QMS_ERR_INVAL);
    /* an empty script is fine: nothing to do */
    assert_int_equal(kiosk_script_parse("", 0, &s, err, sizeof err), QMS_OK);
    assert_int_equal(s.n, 0);
}

static int overlap(kiosk_rect a, kiosk_rect b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static void check_target(const kiosk_layout *l, kiosk_rect r, const char *what)
{
    if (r.w < l->min_px || r.h < l->min_px || r.x < 0 || r.y < 0 || r.x + r.w > l->w ||
        r.y + r.h > l->h)
        fail_msg("%s %dx%d at %d,%d: below %d px or off a %dx%d screen", what, r.w, r.h, r.x, r.y,
                 l->min_px, l->w, l->h);
}

/* Every target at least min_px on each side, on screen, not overlapping. */
static void check_layout(const kiosk_layout *l, int n)
{
    kiosk_rect all[KIOSK_GRID_MAX + 16];
    int k = 0;
    all[k++] = l->lang;
    all[k++] = l->back;
    for (int i = 0; i < l->per_page && i < n; i++) {
        check_target(l, l->tiles[i], "service tile");
        all[k++] = l->tiles[i];
    }
    check_target(l, l->lang, "language toggle");
    check_target(l, l->back, "back");
    check_target(l, l->start, "start");
    if (l->pages > 1) {
        check_target(l, l->prev, "previous page");
        check_target(l, l->next, "next page");
        all[k++] = l->prev;
        all[k++] = l->next;
    }
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            if (overlap(all[i], all[j]))
                fail_msg("%dx%d, %d services: targets %d and %d overlap", l->w, l->h, n, i, j);
    for (int i = 0; i < KIOSK_PRIO_N; i++) {
        check_target(l, l->prio[i], "priority button");
        assert_false(overlap(l->prio[i], l->back));
        assert_false(overlap(l->prio[i], l->prio_note));
        for (int j = i + 1; j < KIOSK_PRIO_N; j++)
            assert_false(overlap(l->prio[i], l->prio[j]));
    }
    assert_int_equal(l->pages, (n + l->per_page - 1) / l->per_page);
    /* the check-in keypad: every key, OK, back; the welcome screen's button */
    check_target(l, l->checkin, "check-in button");
    assert_false(overlap(l->checkin, l->start));
    check_target(l, l->ok, "OK");
    for (int i = 0; i < KIOSK_KEYS; i++) {
        check_target(l, l->keys[i], "code key");
        assert_false(overlap(l->keys[i], l->ok));
        assert_false(overlap(l->keys[i], l->back));
        assert_false(overlap(l->keys[i], l->lang));
        assert_false(overlap(l->keys[i], l->code_msg));
        for (int j = i + 1; j < KIOSK_KEYS; j++)
            if (overlap(l->keys[i], l->keys[j]))
                fail_msg("%dx%d: keys %d and %d overlap", l->w, l->h, i, j);
    }
}

static void test_layout_sample_center(void **state)
{
    (void)state;
    /* the assumed panel: 21.5" 1920x1080, 15 mm targets */
    double ppmm = kiosk_px_per_mm(1920, 1080, 21.5);
    assert_true(ppmm > 3.9 && ppmm < 4.2); /* ~102 dpi */
    kiosk_layout l;
    /* the longest sample name: "Nông nghiệp và Phát triển nông thôn" (35) */
    assert_int_equal(kiosk_layout_compute(&l, 1920, 1080, ppmm, 15, 17, 35), 0);
    assert_int_equal(l.min_px, (int)ceil(15 * ppmm));
    assert_int_equal(l.pages, 1); /* all 17 on one screen */
    check_layout(&l, 17);
    assert_true(l.tile_font_px * 1.0 / ppmm >= 5.5); /* legible: >= 5.5 mm text */
    /* portrait, the same panel turned */
    assert_int_equal(kiosk_layout_compute(&l, 1080, 1920, ppmm, 15, 17, 35), 0);
    assert_int_equal(l.pages, 1);
    check_layout(&l, 17);
    assert_true(l.tile_font_px * 1.0 / ppmm >= 5.5);
}

static void test_layout_pages_and_small(void **state)
{
    (void)state;
    kiosk_layout l;
    /* a center with 60 services pages, and every page's tiles stay big */
    double ppmm = kiosk_px_per_mm(1920, 1080, 21.5);
    assert_int_equal(kiosk_layout_compute(&l, 1920, 1080, ppmm, 15, 60, 40), 0);
    assert_true(l.pages > 1);
    check_layout(&l, 60);
    /* a 10" 1280x800 tablet */
    ppmm = kiosk_px_per_mm(1280, 800, 10.1);
    for (int n = 1; n <= 40; n += 13) {
        assert_int_equal(kiosk_layout_compute(&l, 1280, 800, ppmm, 15, n, 35), 0);
        check_layout(&l, n);
        assert_int_equal(kiosk_layout_compute(&l, 800, 1280, ppmm, 15, n, 35), 0);
        check_layout(&l, n);
    }
    /* a screen too small for 15 mm targets says so */
    ppmm = kiosk_px_per_mm(320, 240, 3.5);
    assert_int_equal(kiosk_layout_compute(&l, 320, 240, ppmm, 15, 17, 35), -1);
}

static void test_texts(void **state)
{
    (void)state;
    char b[128];
    kiosk_text_fill(b, sizeof b, KT_AHEAD, "vi", NULL, 4, 0);
    assert_string_equal(b, "Số người đang chờ trước quý khách: 4");
    kiosk_text_fill(b, sizeof b, KT_PAGE, "en", NULL, 1, 2);
    assert_string_equal(b, "Page 1 of 2");
    kiosk_text_fill(b, sizeof b, KT_B_CANCELLED, "en", "A023", 0, 0);
    assert_non_null(strstr(b, "Number A023 could not be printed"));
    kiosk_text_fill(b, 8, KT_AHEAD, "en", NULL, 4, 0); /* truncated, terminated */
    assert_int_equal(strlen(b), 7);
    kiosk_text_wait(30, "vi", b, sizeof b);
    assert_string_equal(b, "dưới 1 phút");
    kiosk_text_wait(540, "vi", b, sizeof b);
    assert_string_equal(b, "khoảng 9 phút");
    kiosk_text_wait(3900, "vi", b, sizeof b);
    assert_string_equal(b, "khoảng 1 giờ 5 phút");
    kiosk_text_wait(60, "en", b, sizeof b);
    assert_string_equal(b, "about 1 minute");
    int32_t day;
    assert_int_equal(qms_day_parse("2026-11-26", &day), QMS_OK);
    kiosk_text_date(day, "vi", b, sizeof b);
    assert_string_equal(b, "Thứ Năm, 26/11/2026");
    kiosk_text_date(day, "en", b, sizeof b);
    assert_string_equal(b, "Thursday, 26 November 2026");
    qms_span h[2] = {{7 * 3600 + 1800, 11 * 3600 + 1800}, {13 * 3600 + 1800, 17 * 3600}};
    kiosk_text_hours(h, 2, b, sizeof b);
    assert_string_equal(b, "07:30–11:30, 13:30–17:00");
    /* every text exists in both languages */
    for (int i = 0; i < KT__COUNT; i++) {
        assert_true(strlen(kiosk_text((kiosk_text_id)i, "vi")) > 0);
        assert_true(strlen(kiosk_text((kiosk_text_id)i, "en")) > 0);
    }
}

static void test_view_hits(void **state)
{
    (void)state;
    kiosk_layout l;
    double ppmm = kiosk_px_per_mm(1920, 1080, 21.5);
    assert_int_equal(kiosk_layout_compute(&l, 1920, 1080, ppmm, 15, 17, 35), 0);
    kiosk_view v;
    memset(&v, 0, sizeof v);
    v.screen = KV_MENU;
    v.nservices = 17;
    int x, y;
    for (int i = 0; i < 17; i++) {
        kiosk_target t = {KTG_SERVICE, i};
        assert_int_equal(kiosk_view_target_point(&l, &v, t, &x, &y), 0);
        kiosk_target h = kiosk_view_hit(&l, &v, x, y);
        assert_int_equal(h.kind, KTG_SERVICE);
        assert_int_equal(h.index, i);
    }
    kiosk_target next = {KTG_NEXT, 0};
    assert_int_equal(kiosk_view_target_point(&l, &v, next, &x, &y), -1); /* one page only */
    /* the gap between two tiles is no target */
    kiosk_rect a = l.tiles[0];
    assert_int_equal(kiosk_view_hit(&l, &v, a.x + a.w + l.gap / 2, a.y + 5).kind, KTG_NONE);
    /* welcome: anywhere starts, except the language toggle */
    v.screen = KV_IDLE;
    assert_int_equal(kiosk_view_hit(&l, &v, 5, 500).kind, KTG_START);
    assert_int_equal(kiosk_view_hit(&l, &v, l.lang.x + 2, l.lang.y + 2).kind, KTG_LANG);
    /* a blocking fault has nothing to touch but the language */
    v.screen = KV_FAULT;
    v.fault = KF_PAPER_OUT;
    assert_int_equal(kiosk_view_hit(&l, &v, 960, 540).kind, KTG_NONE);
    assert_string_equal(kiosk_view_name(v.screen, v.fault), "paper_out");
    v.fault = KF_CAP;
    assert_int_equal(kiosk_view_hit(&l, &v, 960, 540).kind, KTG_DISMISS);
    assert_string_equal(kiosk_view_name(v.screen, v.fault), "cap_reached");
    v.screen = KV_BUSY;
    assert_int_equal(kiosk_view_hit(&l, &v, 960, 540).kind, KTG_NONE);
}

static void test_replies(void **state)
{
    (void)state;
    kiosk_take_reply r;
    const char *ok = "{\"req\":\"k1-x-1\",\"ticket\":\"A023\",\"id\":1234,\"service\":\"TP\","
                     "\"service_name_vi\":\"Tư pháp - Hộ tịch\",\"service_name_en\":\"Justice\","
                     "\"priority\":1,\"ahead\":4,\"eta_s\":540,\"taken_ms\":1764140000000,"
                     "\"day\":\"2026-11-26\"}";
    assert_int_equal(kiosk_take_reply_parse(ok, strlen(ok), &r), QMS_OK);
    assert_int_equal(r.err, QMS_OK);
    assert_string_equal(r.req, "k1-x-1");
    assert_string_equal(r.ticket, "A023");
    assert_int_equal(r.id, 1234);
    assert_string_equal(r.name_vi, "Tư pháp - Hộ tịch");
    assert_int_equal(r.priority, 1);
    assert_int_equal(r.ahead, 4);
    assert_int_equal(r.eta_s, 540);
    assert_true(r.taken_ms == 1764140000000LL);
    char url[256];
    kiosk_qr_url("https://x.vn/t/{site}/{day}/{ticket}?id={id}", "demo", &r, url, sizeof url);
    assert_string_equal(url, "https://x.vn/t/demo/2026-11-26/A023?id=1234");
    kiosk_qr_url("http://a/{site}", "demo", &r, url, 10); /* truncated, terminated */
    assert_int_equal(strlen(url), 9);

    /* a booked check-in, and the check-in refusals with their window */
    const char *booked = "{\"req\":\"k1-x-9\",\"ticket\":\"A030\",\"id\":9,\"booked\":true,"
                         "\"slot\":\"09:00\"}";
    assert_int_equal(kiosk_take_reply_parse(booked, strlen(booked), &r), QMS_OK);
    assert_int_equal(r.booked, 1);
    assert_string_equal(r.slot, "09:00");
    const char *early = "{\"req\":\"k\",\"error\":\"appt_early\",\"message\":\"x\","
                        "\"window\":[\"08:45\",\"09:30\"]}";
    assert_int_equal(kiosk_take_reply_parse(early, strlen(early), &r), QMS_OK);
    assert_string_equal(r.code, "appt_early");
    assert_string_equal(r.window[0], "08:45");
    assert_string_equal(r.window[1], "09:30");
    const char *sunday = "{\"req\":\"k\",\"error\":\"outside_hours\",\"message\":\"x\","
                         "\"next_open_at\":\"2026-12-07 07:30\"}";
    assert_int_equal(kiosk_take_reply_parse(sunday, strlen(sunday), &r), QMS_OK);
    assert_string_equal(r.next_open_at, "2026-12-07 07:30");
    assert_string_equal(r.next_open, "");
    /* the controller's ticket page URL (center ticket_url) wins over the template */
    const char *withurl = "{\"req\":\"k1-x-3\",\"ticket\":\"A024\",\"id\":1235,\"day\":\"2026-11-26\","
                          "\"token\":\"AbC-_9\",\"url\":\"http://q.vn/ticket.html#s=demo&t=AbC-_9\"}";
    assert_int_equal(kiosk_take_reply_parse(withurl, strlen(withurl), &r), QMS_OK);
    kiosk_qr_url("https://x.vn/t/{site}/{id}", "demo", &r, url, sizeof url);
    assert_string_equal(url, "http://q.vn/ticket.html#s=demo&t=AbC-_9");
    r.url[0] = 0;
    kiosk_qr_url("https://x.vn/t/{token}", "demo", &r, url, sizeof url);
    assert_string_equal(url, "https://x.vn/t/AbC-_9");
    /* a URL that is not plain (a space, another scheme) or a token with odd
     * characters is not put on paper */
    const char *notplain = "{\"req\":\"k1-x-4\",\"ticket\":\"A025\",\"id\":1236,\"day\":\"2026-11-26\","
                           "\"token\":\"a/b\",\"url\":\"http://q.vn/a b\"}";
    assert_int_equal(kiosk_take_reply_parse(notplain, strlen(notplain), &r), QMS_OK);
    assert_string_equal(r.url, "");
    assert_string_equal(r.token, "");
    const char *jsurl = "{\"req\":\"k1-x-5\",\"ticket\":\"A026\",\"id\":1237,\"day\":\"2026-11-26\","
                        "\"url\":\"javascript:alert(1)\"}";
    assert_int_equal(kiosk_take_reply_parse(jsurl, strlen(jsurl), &r), QMS_OK);
    assert_string_equal(r.url, "");

    const char *refused = "{\"req\":\"k1-x-2\",\"error\":\"cap_reached\",\"message\":\"Hết số\"}";
    assert_int_equal(kiosk_take_reply_parse(refused, strlen(refused), &r), QMS_OK);
    assert_int_equal(r.err, QMS_ERR_CAP_REACHED);
    assert_string_equal(r.code, "cap_reached");
    /* a message longer than the kiosk keeps is cut between letters: 200 × "ữ"
     * (3 bytes each) in 512 bytes keeps 170 whole letters, not 170 and a third */
    char lng[800] = "{\"req\":\"k\",\"error\":\"outside_hours\",\"message\":\"";
    for (int i = 0; i < 200; i++)
        strcat(lng, "\xe1\xbb\xaf");
    strcat(lng, "\"}");
    assert_int_equal(kiosk_take_reply_parse(lng, strlen(lng), &r), QMS_OK);
    assert_int_equal(strlen(r.message), 510);
    assert_memory_equal(r.message + 507, "\xe1\xbb\xaf", 3);
    const char *closed = "{\"req\":\"k\",\"error\":\"outside_hours\",\"message\":\"x\","
                         "\"hours\":[[\"13:30\",\"17:00\"]],\"next_open\":\"13:30\"}";
    assert_int_equal(kiosk_take_reply_parse(closed, strlen(closed), &r), QMS_OK);
    assert_int_equal(r.err, QMS_ERR_OUTSIDE_HOURS);
    assert_string_equal(r.next_open, "13:30");
    const char *odd = "{\"req\":\"k\",\"error\":\"something_new\"}";
    assert_int_equal(kiosk_take_reply_parse(odd, strlen(odd), &r), QMS_OK);
    assert_int_equal(r.err, QMS_ERR_PROTOCOL);
    static const char *const bad[] = {"",
                                      "[]",
                                      "{\"ticket\":5,\"id\":1}",
                                      "{\"ticket\":\"A1\"}",
                                      "{\"ticket\":\"\",\"id\":1}",
                                      "{\"error\":3}",
                                      "{\"ticket\":\"A1\",\"id\":1e300}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kiosk_take_reply_parse(bad[i], strlen(bad[i]), &r), QMS_ERR_PROTOCOL);

    assert_int_equal(kiosk_status_online("{\"state\":\"online\"}", 18), 1);
    assert_int_equal(kiosk_status_online("{\"state\":\"offline\"}", 19), 0);
    assert_int_equal(kiosk_status_online("", 0), 0);
    assert_int_equal(kiosk_status_online("online", 6), 0);
}

static long fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

/* The journal: records round-trip, damage is detected (a flipped digit in a
 * ticket id must not cancel somebody else's number), a torn last line is
 * dropped, the file empties when nothing is open, and a second holder is
 * refused. */
static void test_journal(void **state)
{
    (void)state;
    char line[1200];
    const char *pay = "{\"req\":\"k1-x-1\",\"service\":\"TP\"}";
    size_t n = kiosk_journal_format(line, sizeof line, 'T', "k1-x-1", pay);
    assert_true(n > 0);
    kiosk_journal_scan s;
    kiosk_journal_parse(line, n, &s);
    assert_int_equal(s.nopen, 1);
    assert_int_equal(s.bad, 0);
    assert_string_equal(s.open[0].payload, pay);
    /* what the writer refuses: a payload for another req, a space in a
     * token, a newline, a non-positive id */
    assert_int_equal(kiosk_journal_format(line, sizeof line, 'T', "k1-x-2", pay), 0);
    assert_int_equal(kiosk_journal_format(line, sizeof line, 'K', "k1 x", "5 A001"), 0);
    assert_int_equal(kiosk_journal_format(line, sizeof line, 'K', "k1-x-1", "5 A0\n01"), 0);
    assert_int_equal(kiosk_journal_format(line, sizeof line, 'K', "k1-x-1", "0 A001"), 0);

    char text[4096] = "";
    size_t at = 0;
    at += kiosk_journal_format(text + at, sizeof text - at, 'T', "k1-x-1", pay);
    at += kiosk_journal_format(text + at, sizeof text - at, 'K', "k1-x-1", "1234 A023");
    size_t k_line = at;
    at += kiosk_journal_format(text + at, sizeof text - at, 'T', "k1-x-2",
                               "{\"req\":\"k1-x-2\",\"service\":\"KD\"}");
    at += kiosk_journal_format(text + at, sizeof text - at, 'D', "k1-x-2", NULL);
    kiosk_journal_parse(text, at, &s);
    assert_int_equal(s.nopen, 1);
    assert_int_equal(s.open[0].state, KJ_TICKET);
    assert_int_equal(s.open[0].id, 1234);
    assert_string_equal(s.open[0].ticket, "A023");
    assert_int_equal(s.records, 4);
    /* flip a digit of the id: that line is skipped, not believed */
    char bad[4096];
    memcpy(bad, text, at);
    char *id = strstr(bad, " 1234 ");
    assert_non_null(id);
    id[1] = '7';
    kiosk_journal_parse(bad, at, &s);
    assert_int_equal(s.bad, 1);
    assert_int_equal(s.nopen, 1);
    assert_int_equal(s.open[0].state, KJ_TAKE); /* still known: its take is resent */
    /* torn: the last line cut short */
    kiosk_journal_parse(text, k_line - 3, &s);
    assert_true(s.torn);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.open[0].state, KJ_TAKE);
    assert_true(s.good_len < k_line);

    /* the file */
    char dir[256], path[400];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "journal"), 0);
    snprintf(path, sizeof path, "%s/state/sub/k.journal", dir); /* folders are made */
    kiosk_journal *j = NULL, *j2 = NULL;
    char err[600];
    assert_int_equal(kiosk_journal_open(path, &j, err, sizeof err), QMS_OK);
    assert_int_equal(kiosk_journal_count(j), 0);
    assert_int_equal(kiosk_journal_open(path, &j2, err, sizeof err), QMS_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "in use by another qms-kiosk"));
    assert_int_equal(kiosk_journal_take(j, "k1-x-1", pay), QMS_OK);
    assert_int_equal(kiosk_journal_ticket(j, "k1-x-1", 1234, "A023"), QMS_OK);
    assert_non_null(kiosk_journal_find_id(j, 1234));
    assert_int_equal(kiosk_journal_take(j, "k1-x-3", "{\"req\":\"k1-x-3\"}"), QMS_OK);
    assert_int_equal(kiosk_journal_printed(j, "k1-x-3"), QMS_OK);
    assert_true(fsize(path) > 0);
    kiosk_journal_close(j); /* as if killed: k1-x-1 stays open */
    assert_int_equal(kiosk_journal_open(path, &j, err, sizeof err), QMS_OK);
    assert_int_equal(kiosk_journal_count(j), 1);
    const kiosk_journal_entry *e = kiosk_journal_get(j, 0);
    assert_string_equal(e->req, "k1-x-1");
    assert_int_equal(e->state, KJ_TICKET);
    assert_int_equal(kiosk_journal_cancel(j, "k1-x-1", 1234, "kiosk_restart", "k1-y-1"), QMS_OK);
    assert_int_equal(kiosk_journal_done(j, "k1-x-1"), QMS_OK);
    assert_int_equal(kiosk_journal_count(j), 0);
    assert_int_equal(fsize(path), 0); /* nothing open: emptied */
    kiosk_journal_close(j);
    /* damaged and torn on disk: opened anyway, a copy kept, the tail cut */
    FILE *f = fopen(path, "w");
    fwrite(text, 1, at, f);
    fputs("nonsense\n0123", f);
    fclose(f);
    assert_int_equal(kiosk_journal_open(path, &j, err, sizeof err), QMS_OK);
    assert_int_equal(kiosk_journal_count(j), 1);
    assert_int_equal(fsize(path), (long)at + 9); /* the torn "0123" is gone */
    char copy[420];
    snprintf(copy, sizeof copy, "%s.corrupt", path);
    assert_true(fsize(copy) > 0);
    /* a new record after it reads back (a clean line) */
    assert_int_equal(kiosk_journal_printed(j, "k1-x-1"), QMS_OK);
    assert_int_equal(fsize(path), 0);
    kiosk_journal_close(j);
    /* a path that cannot be a file (under a regular file): an error with
     * the reason, which the kiosk logs before serving without a journal */
    char under[600];
    snprintf(under, sizeof under, "%s/j", path);
    assert_int_equal(kiosk_journal_open(under, &j2, err, sizeof err), QMS_ERR_IO);
    assert_null(j2);
    assert_non_null(strstr(err, "cannot open the state file"));
    /* the default place */
    char def[512];
    kiosk_journal_default_path("demo", "k1", "/etc/qms", def, sizeof def);
    assert_non_null(strstr(def, "/kiosk-demo-k1.journal"));
    qms_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_layout_sample_center),
        cmocka_unit_test(test_layout_pages_and_small),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_view_hits),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_journal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
