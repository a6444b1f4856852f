/* Check-in at the kiosk and the center's calendar on the kiosk, all real
 * parts: a mosquitto broker, the real qms-controller (its clock set to the
 * moment each case needs), qms-vprinter on a pty, a barcode scanner on a
 * pty of our own (openpty), and qms-kiosk run by a script under SDL's
 * offscreen driver. Every new screen is saved in vi and en and read back
 * with tesseract (vie); QMS_KEEP_TMP=1 keeps the PNGs to look at.
 *
 *   closed day     Sunday 2026-12-06 10:00: "Hôm nay nghỉ, mở lại Thứ Hai 07:30"
 *   greyed menu    Saturday 10:00: VH (13:30-17:00) cannot open on a Saturday
 *                  morning: greyed, "mở lại Thứ Hai 13:30"
 *   keypad         a code typed by taps; a mistyped one (wrong check
 *                  character) is caught before anything is sent; an
 *                  unreadable scan says so */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kiosk_harness.h"
#include "ocr.h"
#include "qms/alloc.h"
#include "qms/bookcode.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/csv.h"

#include <SDL.h>
#include <SDL_image.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/types.h>
#include <unistd.h>

#define SATURDAY "2026-12-05T10:00:00"
#define SUNDAY "2026-12-06T10:00:00"

static kh_world W;
static char shots[400];

/* Read a screenshot back with tesseract; every wanted text must be on it,
 * and no unwanted one. */
static void ocr_screen(const char *name, const char *lang, const char *const *want, int nwant,
                       const char *const *unwanted, int nun)
{
    if (!ocr_available())
        fail_msg("tesseract with its Vietnamese model is needed (scripts/setup.sh)");
    char path[512];
    snprintf(path, sizeof path, "%s/%s.png", shots, name);
    static char read[65536];
    static const double scales[] = {1.0, 0.4};
    assert_int_equal(ocr_read_screen(path, lang, scales, 2, read, sizeof read, NULL), 0);
    int bad = 0;
    for (int i = 0; i < nwant; i++)
        if (!ocr_has(read, want[i])) {
            fprintf(stderr, "%s: '%s' not read\n", name, want[i]);
            bad++;
        }
    for (int i = 0; i < nun; i++)
        if (ocr_has(read, unwanted[i])) {
            fprintf(stderr, "%s: '%s' should not be there\n", name, unwanted[i]);
            bad++;
        }
    if (bad) {
        fprintf(stderr, "%s: tesseract read:\n%s", name, read);
        fail_msg("%s: %d texts wrong", name, bad);
    }
}

static void run_script(const char *script, const char *const *args)
{
    char log[320];
    int st = kh_kiosk_run(&W, script, args, 90000, log, sizeof log, NULL, 0);
    if (st != 0)
        fail_msg("kiosk script failed (%d), log %s", st, log);
}

/* The sample center with this test's own calendar (the sample's is left
 * out, so a change to it does not move these dates): Mon-Fri 07:30-11:30,
 * 13:30-17:00, Saturday mornings, Sunday closed; VH issues 13:30-17:00 only. */
static char *center_json(void)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(QMS_EXAMPLES "/center.json", &text, &len, 1 << 22))
        return NULL;
    qms_config *c = NULL;
    char err[256];
    if (qms_config_parse_json(text, len, &c, err, sizeof err))
        return NULL;
    qms_free(text);
    int vh = qms_config_service_index(c, "VH");
    c->services[vh].nhours = 1;
    c->services[vh].hours[0] = (qms_span){13 * 3600 + 1800, 17 * 3600};
    c->has_week = 0;
    c->nholidays = 0;
    c->nworkdays = 0;
    char *js = qms_config_to_json(c);
    qms_config_free(c);
    static const char cal[] =
        "{\"calendar\":{\"week\":{"
        "\"mon\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"tue\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"wed\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"thu\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"fri\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
        "\"sat\":[[\"07:30\",\"11:30\"]]},\"holidays\":[\"2027-01-01\"]},";
    char *out = qms_malloc(strlen(js) + sizeof cal + 1);
    strcpy(out, cal);
    strcat(out, js + 1); /* js starts with '{' */
    qms_free(js);
    return out;
}

/* Sunday: the kiosk shows the closed screen with the next opening, in both
 * languages, and nothing else. */
static void test_closed_day(void **state)
{
    (void)state;
    assert_int_equal(kh_controller_start(&W, SUNDAY), 0);
    static char s[4096];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen closed 15000");
    kh_line(s, sizeof s, "screenshot vi-closed");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "wait 300");
    kh_line(s, sizeof s, "screenshot en-closed");
    kh_line(s, sizeof s, "expect-screen closed");
    run_script(s, NULL);
    kh_controller_stop(&W);
    static const char *const vi[] = {"Hôm nay nghỉ, mở lại Thứ Hai 07:30", "Hiện đã hết giờ cấp số"};
    static const char *const en[] = {"Closed today, open Monday 07:30"};
    static const char *const none[] = {"Chạm vào màn hình"};
    ocr_screen("vi-closed", "vie", vi, 2, none, 1);
    ocr_screen("en-closed", "vie+eng", en, 1, NULL, 0);
}

/* Saturday morning: the menu greys VH with when it opens; other services
 * are not greyed. The keypad: a code typed by taps shows as XXXX-XXXX; a
 * wrong check character is caught on the kiosk (no take leaves); an
 * unreadable scan (keyboard wedge) says so. */
static void test_menu_and_keypad(void **state)
{
    (void)state;
    assert_int_equal(kh_controller_start(&W, SATURDAY), 0);
    assert_int_equal(kh_watch(&W, "ticket/take"), 0);
    /* a right code, then the same with its last character changed */
    char good[9], bad[9];
    qms_bookcode_make(0x1234567ull, good);
    memcpy(bad, good, sizeof bad);
    bad[7] = bad[7] == 'A' ? 'C' : 'A';
    char tmp[9];
    assert_false(qms_bookcode_parse(bad, tmp));
    static char s[8192];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 15000");
    kh_line(s, sizeof s, "screenshot vi-idle");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen menu");
    kh_line(s, sizeof s, "screenshot vi-menu-greyed");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot en-menu-greyed");
    kh_line(s, sizeof s, "tap-back");
    kh_line(s, sizeof s, "wait-screen idle");
    kh_line(s, sizeof s, "tap-checkin");
    kh_line(s, sizeof s, "wait-screen checkin");
    /* back on the welcome screen the kiosk speaks its own language again */
    for (int i = 0; i < 5; i++)
        kh_line(s, sizeof s, "tap-key %c", bad[i]);
    kh_line(s, sizeof s, "screenshot vi-keypad");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot en-keypad");
    for (int i = 5; i < 8; i++)
        kh_line(s, sizeof s, "tap-key %c", bad[i]);
    kh_line(s, sizeof s, "tap-ok");
    kh_line(s, sizeof s, "expect-screen checkin");
    kh_line(s, sizeof s, "screenshot en-keypad-badcode");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot vi-keypad-badcode");
    /* delete the last character, type the right one: the error goes */
    kh_line(s, sizeof s, "tap-key del");
    kh_line(s, sizeof s, "tap-key %c", good[7]);
    kh_line(s, sizeof s, "screenshot vi-keypad-full");
    /* a scan that is neither a code nor a card */
    kh_line(s, sizeof s, "type 68656c6c6f2d776f726c642d31323334");
    kh_line(s, sizeof s, "expect-screen checkin");
    kh_line(s, sizeof s, "screenshot vi-keypad-badscan");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot en-keypad-badscan");
    kh_line(s, sizeof s, "tap-back");
    kh_line(s, sizeof s, "wait-screen idle");
    run_script(s, NULL);
    kh_controller_stop(&W);
    /* nothing was sent: every mistake was caught on the kiosk */
    assert_int_equal(kh_seen(&W, "ticket/take", 1, 500), 0);
    char fmt[10], part[16];
    qms_bookcode_format(good, fmt);
    snprintf(part, sizeof part, "%.4s-%c", bad, bad[4]); /* the blanks "___" are not read */
    static const char *const menu_vi[] = {"Văn hóa", "mở lại Thứ Hai 13:30", "Tư pháp"};
    static const char *const menu_en[] = {"opens Monday 13:30"};
    ocr_screen("vi-menu-greyed", "vie", menu_vi, 3, NULL, 0);
    ocr_screen("en-menu-greyed", "vie+eng", menu_en, 1, NULL, 0);
    static const char *const idle[] = {"Tôi đã đặt lịch"};
    ocr_screen("vi-idle", "vie", idle, 1, NULL, 0);
    const char *kp_vi[] = {"Nhập mã đặt lịch", "Mã đặt lịch gồm 8 ký tự", "Xác nhận", part};
    ocr_screen("vi-keypad", "vie", kp_vi, 4, NULL, 0);
    static const char *const kp_en[] = {"Type your booking code", "OK"};
    ocr_screen("en-keypad", "vie+eng", kp_en, 2, NULL, 0);
    static const char *const bad_vi[] = {"Mã chưa đúng, xin kiểm tra lại từng ký tự"};
    ocr_screen("vi-keypad-badcode", "vie", bad_vi, 1, NULL, 0);
    static const char *const bad_en[] = {"This code is not right"};
    ocr_screen("en-keypad-badcode", "vie+eng", bad_en, 1, NULL, 0);
    const char *full[] = {fmt, "Mã đặt lịch gồm 8 ký tự"};
    static const char *const nobad[] = {"Mã chưa đúng"};
    ocr_screen("vi-keypad-full", "vie", full, 2, nobad, 1);
    static const char *const scan_vi[] = {"Không đọc được mã vừa quét"};
    ocr_screen("vi-keypad-badscan", "vie", scan_vi, 1, NULL, 0);
    static const char *const scan_en[] = {"Could not read that code"};
    ocr_screen("en-keypad-badscan", "vie+eng", scan_en, 1, NULL, 0);
}

/* A serial 2D scanner on a pty of our own: the kiosk reads it by termios.
 * A line that is neither a code nor a card opens the keypad saying so; a
 * CCCD card's QR checks in with the 12-digit number only: the take carries
 * "cccd" and nothing else of the card, and neither the journal on disk nor
 * the log holds the number or the name. Nobody booked: the refusal in words. */
static const char CARD_NUMBER[] = "001090012345";
static const char CARD[] = "001090012345|123456789|Nguyễn Văn An|15031990|Nam|Số 1 Tràng "
                           "Tiền, Hoàn Kiếm, Hà Nội|20062021";

static int scanner_master = -1;

static void scanner_write(const char *text)
{
    size_t n = strlen(text);
    assert_int_equal(write(scanner_master, text, n), (ssize_t)n);
}

static int wait_shot(const char *name, int ms)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.png", shots, name);
    return kh_wait_file(path, ms);
}

static void test_serial_scanner(void **state)
{
    (void)state;
    int slave = -1;
    char name[128];
    assert_int_equal(openpty(&scanner_master, &slave, name, NULL, NULL), 0);
    char extra[400];
    snprintf(extra, sizeof extra, "\"ask_priority\":false,\"scanner\":{\"port\":\"%s\"}", name);
    kh_kiosk_config(&W, extra);
    assert_int_equal(kh_controller_start(&W, SATURDAY), 0);
    assert_int_equal(kh_watch(&W, "ticket/take"), 0);
    int before = kh_seen(&W, "ticket/take", 1 << 20, 300);
    static char s[4096];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 15000");
    kh_line(s, sizeof s, "screenshot sync-scan-1");
    kh_line(s, sizeof s, "wait-screen checkin 10000");
    kh_line(s, sizeof s, "screenshot vi-serial-badscan");
    kh_line(s, sizeof s, "tap-back");
    kh_line(s, sizeof s, "wait-screen idle");
    kh_line(s, sizeof s, "screenshot sync-scan-2");
    kh_line(s, sizeof s, "wait-screen appt_refused 15000");
    kh_line(s, sizeof s, "screenshot vi-card-unknown");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot en-card-unknown");
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, NULL, 0);
    assert_true(pid > 0);
    if (wait_shot("sync-scan-1", 30000))
        fail_msg("the kiosk never reached its idle screen (log %s)", log);
    scanner_write("https://example.invalid/not-a-code\r");
    if (wait_shot("sync-scan-2", 30000))
        fail_msg("the bad scan did not open the keypad (log %s)", log);
    /* a card, ended by CR LF like most scanners */
    char card[300];
    snprintf(card, sizeof card, "%s\r\n", CARD);
    scanner_write(card);
    int st = -1;
    int64_t end = qms_mono_ms() + 60000;
    while ((st = qms_test_wait_pid(pid, 20)) < 0 && qms_mono_ms() < end)
        qms_mqtt_loop(W.m, 0);
    if (st < 0)
        kill(pid, SIGKILL);
    kh_controller_stop(&W);
    close(scanner_master);
    close(slave);
    scanner_master = -1;
    if (st != 0)
        fail_msg("kiosk script failed (%d), log %s", st, log);
    /* the take: the number, nothing else of the card, no service */
    assert_int_equal(kh_seen(&W, "ticket/take", before + 1, 5000), before + 1);
    const char *take = kh_seen_last(&W, "ticket/take");
    char want[64];
    snprintf(want, sizeof want, "\"cccd\":\"%s\"", CARD_NUMBER);
    if (!strstr(take, want) || strstr(take, "Nguy") || strstr(take, "123456789\"") ||
        strstr(take, "15031990") || strstr(take, "\"service\"") || strstr(take, "appointment"))
        fail_msg("the take carries more or less than the number: %s", take);
    /* nothing of the card on disk or in the log */
    const char *files[2];
    char jpath[400];
    snprintf(jpath, sizeof jpath, "%s/kiosk.journal", W.dir);
    files[0] = jpath;
    files[1] = log;
    for (int i = 0; i < 2; i++) {
        char *text = NULL;
        size_t len = 0;
        if (qms_read_file(files[i], &text, &len, 1 << 24))
            continue; /* no journal yet is fine */
        if (memmem(text, len, CARD_NUMBER, strlen(CARD_NUMBER)) ||
            memmem(text, len, "Nguy", 4) || memmem(text, len, "15031990", 8))
            fail_msg("%s holds the card's data", files[i]);
        qms_free(text);
    }
    static const char *const bad[] = {"Không đọc được mã vừa quét"};
    ocr_screen("vi-serial-badscan", "vie", bad, 1, NULL, 0);
    static const char *const vi[] = {"Không tìm thấy lịch hẹn hôm nay của thẻ này",
                                     "Không có số thứ tự nào được cấp"};
    ocr_screen("vi-card-unknown", "vie", vi, 2, NULL, 0);
    static const char *const en[] = {"No booking today for this card"};
    ocr_screen("en-card-unknown", "vie+eng", en, 1, NULL, 0);
    kh_kiosk_config(&W, "\"ask_priority\":false");
}

/* A booking made over MQTT (booking/make); its code, or fail. */
static void book(const char *svc, const char *day, const char *slot, const char *cccd,
                 char code[16])
{
    char topic[160], body[256], *reply = NULL;
    snprintf(topic, sizeof topic, "qms/%s/booking/make", W.site);
    snprintf(body, sizeof body,
             "{\"req\":\"t-%s-%s\",\"service\":\"%s\",\"day\":\"%s\",\"slot\":\"%s\","
             "\"cccd\":\"%s\"}",
             svc, slot, svc, day, slot, cccd);
    assert_int_equal(qms_mqtt_request_sync(W.m, topic, body, 5000, &reply), 0);
    const char *c = strstr(reply, "\"code\":\"");
    if (!c)
        fail_msg("booking refused: %s", reply);
    snprintf(code, 16, "%.*s", (int)strcspn(c + 8, "\""), c + 8);
    qms_free(reply);
}

/* Typing a code on the keypad: its 8 characters (the dash is drawn). */
static void type_code(char *s, size_t cap, const char *code)
{
    for (const char *p = code; *p; p++)
        if (*p != '-')
            kh_line(s, cap, "tap-key %c", *p);
}

/* Check-in by code on the keypad against the real controller's bookings:
 * a booked ticket (screen and paper), an early arrival with its window, a
 * right-looking code nobody booked; and a booking found by scanning the
 * holder's CCCD card through the keyboard wedge. */
static void test_checkin_code(void **state)
{
    (void)state;
    assert_int_equal(kh_controller_start(&W, SATURDAY), 0);
    char ok[16], early[16], card[16], nobody[16];
    book("TP", "2026-12-05", "10:00", "079303000111", ok);
    book("DD", "2026-12-05", "11:00", "079303000222", early);
    book("XD", "2026-12-05", "10:00", CARD_NUMBER, card);
    char raw[9];
    qms_bookcode_make(0x7777777ull, raw);
    qms_bookcode_format(raw, nobody);
    int tickets_before = W.tickets;
    static char s[8192];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 15000");
    kh_line(s, sizeof s, "tap-checkin");
    kh_line(s, sizeof s, "wait-screen checkin");
    type_code(s, sizeof s, ok);
    kh_line(s, sizeof s, "tap-ok");
    kh_line(s, sizeof s, "wait-screen ticket 10000");
    kh_line(s, sizeof s, "screenshot vi-booked-ticket");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen idle");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "tap-checkin");
    kh_line(s, sizeof s, "wait-screen checkin");
    type_code(s, sizeof s, early);
    kh_line(s, sizeof s, "tap-ok");
    kh_line(s, sizeof s, "wait-screen appt_refused 10000");
    kh_line(s, sizeof s, "screenshot en-appt-early");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot vi-appt-early");
    kh_line(s, sizeof s, "tap 960 540"); /* back to the keypad */
    kh_line(s, sizeof s, "wait-screen checkin");
    type_code(s, sizeof s, nobody);
    kh_line(s, sizeof s, "tap-ok");
    kh_line(s, sizeof s, "wait-screen appt_refused 10000");
    kh_line(s, sizeof s, "screenshot vi-appt-unknown");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "screenshot en-appt-unknown");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen checkin");
    kh_line(s, sizeof s, "tap-back");
    kh_line(s, sizeof s, "wait-screen idle");
    /* the card through a USB scanner (keyboard wedge) on the welcome screen */
    char hex[300] = "";
    for (const char *p = "001090012345|123456789|Nguyen Van An|15031990|Nam|Ha Noi|20062021"; *p;
         p++)
        snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x", (unsigned char)*p);
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "type %s", hex);
    kh_line(s, sizeof s, "wait-screen ticket 10000");
    kh_line(s, sizeof s, "screenshot en-booked-ticket-card");
    run_script(s, NULL);
    kh_controller_stop(&W);
    /* two booked tickets came out of the printer */
    int abandoned = 0;
    int first = kh_vprinter_next_ticket(&W, 10000, &abandoned);
    int second = kh_vprinter_next_ticket(&W, 10000, &abandoned);
    assert_true(first > tickets_before && second > first);
    static const char *const tk_vi[] = {"ĐÃ ĐẶT LỊCH — khung giờ 10:00", "Tư pháp"};
    static const char *const prio[] = {"Ưu tiên"};
    ocr_screen("vi-booked-ticket", "vie", tk_vi, 2, prio, 1);
    static const char *const tk_en[] = {"BOOKED — slot 10:00"};
    ocr_screen("en-booked-ticket-card", "vie+eng", tk_en, 1, NULL, 0);
    /* (tesseract reads the en dash of "10:30–11:15" as a hyphen) */
    static const char *const early_vi[] = {"Quý khách đến sớm hơn giờ hẹn",
                                           "Xin mời quay lại trong khung giờ 10:30", "11:15"};
    ocr_screen("vi-appt-early", "vie", early_vi, 3, NULL, 0);
    static const char *const early_en[] = {"You are early for your booking"};
    ocr_screen("en-appt-early", "vie+eng", early_en, 1, NULL, 0);
    static const char *const unk_vi[] = {"Không tìm thấy lịch hẹn với mã này"};
    ocr_screen("vi-appt-unknown", "vie", unk_vi, 1, NULL, 0);
    static const char *const unk_en[] = {"No booking has this code"};
    ocr_screen("en-appt-unknown", "vie+eng", unk_en, 1, NULL, 0);
    /* the paper: the booked mark is printed (read from the page's picture) */
    char png[400];
    snprintf(png, sizeof png, "%s/%d.png", W.vp_dir, first);
    static char read[65536];
    static const double one[] = {1.0};
    assert_int_equal(ocr_read_screen(png, "vie", one, 1, read, sizeof read, NULL), 0);
    if (!ocr_has(read, "ĐÃ ĐẶT LỊCH — khung giờ"))
        fail_msg("the booked mark is not on the paper; tesseract read:\n%s", read);
}

static int setup(void **state)
{
    (void)state;
    char *js = center_json();
    if (!js)
        return -1;
    int rc = kh_world_start(&W, js);
    qms_free(js);
    if (rc || kh_vprinter_start(&W))
        return -1;
    kh_kiosk_config(&W, "\"ask_priority\":false");
    snprintf(shots, sizeof shots, "%s/shots", W.dir);
    if (SDL_Init(0) || !IMG_Init(IMG_INIT_PNG))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kh_world_stop(&W);
    IMG_Quit();
    SDL_Quit();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* the store's days only go forward: Saturday first, then Sunday */
        cmocka_unit_test(test_menu_and_keypad),
        cmocka_unit_test(test_serial_scanner),
        cmocka_unit_test(test_checkin_code),
        cmocka_unit_test(test_closed_day),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
