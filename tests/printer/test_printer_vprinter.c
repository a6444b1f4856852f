/* The printing library over a real pseudo-terminal to the real qms-vprinter:
 * tickets for every sample service decoded and checked (the big number as
 * the printer's text, the service name by the exact images it became, the QR
 * code's payload as sent and as scanned back from the printed picture), and
 * the faults: paper out before and during a ticket, cover open, paper low,
 * the printer killed, a line that never answers, commands it refuses. */
#define _XOPEN_SOURCE 700 /* posix_openpt */
#include "ticket.h"
#include "printer.h"
#include "qms/serial.h"
#include "vp_harness.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/err.h"
#include "qms/log.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

static qms_config *cfg;

static int setup_all(void **state)
{
    (void)state;
    char err[256];
    qms_log_init("test_printer_vprinter", QMS_LOG_ERROR);
    return qms_config_load_file(QMS_EXAMPLES "/center.json", &cfg, err, sizeof err);
}

static int teardown_all(void **state)
{
    (void)state;
    qms_config_free(cfg);
    return 0;
}

typedef struct tkt {
    char num[16];
    char url[160];
    qms_ticket_print t;
} tkt;

static void make_ticket(tkt *k, int si, int n, const char *lang)
{
    qms_ticket_label(cfg, si, n, k->num, sizeof k->num);
    snprintf(k->url, sizeof k->url, "https://qms.example.vn/t/%s/2026-11-27/%s", cfg->site, k->num);
    int en = lang && strcmp(lang, "en") == 0;
    k->t = (qms_ticket_print){.center_name = en ? cfg->name_en : cfg->name_vi,
                              .service_name =
                                  en ? cfg->services[si].name_en : cfg->services[si].name_vi,
                              .number = k->num,
                              .ahead = 12 + si,
                              .eta_s = 60 * (5 + si * 7),
                              .taken_ms = 1795741260000LL + si * 61000LL,
                              .utc_offset_min = cfg->utc_offset_min,
                              .qr_url = k->url,
                              .lang = lang};
}

/* Hash of each raster line text becomes, as it goes on the wire. */
static int wire_hashes(qms_ticket_enc *e, const char *text, int bold, char hashes[][20], int max)
{
    qms_raster *r = NULL;
    int n = 0;
    assert_int_equal(qms_ticket_text_rasters(e, text, bold, &r, &n), QMS_OK);
    assert_true(n >= 1 && n <= max);
    for (int i = 0; i < n; i++) {
        qms_escpos_rt_safe(r[i].bits, (size_t)r[i].stride * (size_t)r[i].h);
        snprintf(hashes[i], 20, "%016llx", (unsigned long long)qms_raster_hash(&r[i]));
        qms_raster_free(&r[i]);
    }
    qms_free(r);
    return n;
}

/* Index in the page's rasters where these lines appear, in order and
 * consecutively; -1 if they do not. */
static int find_lines(cJSON *rasters, char hashes[][20], int n)
{
    int total = cJSON_GetArraySize(rasters);
    for (int i = 0; i + n <= total; i++) {
        int ok = 1;
        for (int k = 0; k < n && ok; k++) {
            cJSON *h = cJSON_GetObjectItem(cJSON_GetArrayItem(rasters, i + k), "hash");
            ok = cJSON_IsString(h) && strcmp(h->valuestring, hashes[k]) == 0;
        }
        if (ok)
            return i;
    }
    return -1;
}

static int has_string(cJSON *arr, const char *key, const char *want)
{
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        cJSON *s = key ? cJSON_GetObjectItem(it, key) : it;
        if (cJSON_IsString(s) && strcmp(s->valuestring, want) == 0)
            return 1;
    }
    return 0;
}

static cJSON *text_run(cJSON *page, const char *text)
{
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(page, "text"))
    {
        cJSON *s = cJSON_GetObjectItem(it, "text");
        if (cJSON_IsString(s) && strcmp(s->valuestring, text) == 0)
            return it;
    }
    return NULL;
}

/* Print a ticket, wait for its page, return the page's JSON. */
static cJSON *print_one(vp_proc *v, qms_printer *p, const qms_ticket_print *t)
{
    qms_printer_state st = QMS_PRN_OFFLINE;
    assert_int_equal(qms_printer_print(p, t, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_OK);
    int n = 0, cut = 0;
    assert_int_equal(vp_next_page(v, &n, &cut, 10000), 0);
    assert_int_equal(cut, 1);
    cJSON *j = vp_page_json(v, n);
    assert_non_null(j);
    return j;
}

static void check_service_tickets(int width, int native)
{
    vp_proc v;
    assert_int_equal(vp_start(&v, width, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev, .width_dots = width, .qr_native = native};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    qms_ticket_enc e;
    assert_int_equal(qms_ticket_enc_init(&e, &o), QMS_OK);

    for (int si = 0; si < cfg->nservices; si++) {
        tkt k;
        make_ticket(&k, si, 23 + si, "vi");
        cJSON *j = print_one(&v, p, &k.t);

        /* nothing refused, a real cut */
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "refused")), 0);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "cut")));
        /* every byte of the ticket arrived (plus the status requests around it) */
        uint8_t *bytes = NULL;
        size_t len = 0;
        assert_int_equal(qms_printer_encode(&o, &k.t, &bytes, &len), QMS_OK);
        assert_true(cJSON_GetObjectItem(j, "bytes")->valuedouble >= (double)len);
        qms_free(bytes);

        /* the big number: the printer's own font, magnified */
        cJSON *num = text_run(j, k.num);
        assert_non_null(num);
        assert_true(cJSON_GetObjectItem(num, "hmul")->valueint >= 4);

        /* the service name: exactly the images its Vietnamese text renders to */
        cJSON *rasters = cJSON_GetObjectItem(j, "rasters");
        char hs[8][20];
        int n = wire_hashes(&e, cfg->services[si].name_vi, 1, hs, 8);
        int at = find_lines(rasters, hs, n);
        assert_true(at >= 0);
        /* ... which no other service's name matches (the check can fail) */
        int other = (si + 1) % cfg->nservices;
        char ho[8][20];
        int no = wire_hashes(&e, cfg->services[other].name_vi, 1, ho, 8);
        assert_int_equal(find_lines(rasters, ho, no), -1);
        /* the center name comes first, the service name right after it */
        n = wire_hashes(&e, cfg->name_vi, 0, hs, 8);
        assert_int_equal(find_lines(rasters, hs, n), 0);
        assert_int_equal(at, n);
        /* the people-ahead label, its number under it in the printer's font */
        char label[160], value[32];
        qms_ticket_label_ahead("vi", k.t.ahead, label, sizeof label, value, sizeof value);
        n = wire_hashes(&e, label, 0, hs, 8);
        assert_true(find_lines(rasters, hs, n) > at);
        assert_non_null(text_run(j, value));
        qms_ticket_label_wait("vi", k.t.eta_s, label, sizeof label, value, sizeof value);
        assert_non_null(text_run(j, value));

        /* the QR code: the payload sent and the one read back from the paper */
        if (native)
            assert_true(has_string(cJSON_GetObjectItem(j, "qr"), "payload", k.url));
        else
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "qr")), 0);
        assert_true(has_string(cJSON_GetObjectItem(j, "qr_scanned"), NULL, k.url));
        cJSON_Delete(j);
    }
    qms_ticket_enc_free(&e);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

static void test_services_576_native_qr(void **state)
{
    (void)state;
    check_service_tickets(576, 1);
}

static void test_services_512_raster_qr(void **state)
{
    (void)state;
    check_service_tickets(512, 0);
}

/* English labels and names are ASCII: all of it in the printer's font. */
static void test_english_ticket_is_native_text(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev, .qr_native = 1};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    tkt k;
    make_ticket(&k, 0, 7, "en");
    k.t.priority = 1;
    cJSON *j = print_one(&v, p, &k.t);
    assert_non_null(text_run(j, k.num));
    assert_non_null(text_run(j, cfg->services[0].name_en));
    assert_non_null(text_run(j, "PRIORITY"));
    assert_non_null(text_run(j, "People ahead: 12"));
    assert_non_null(text_run(j, "Expected wait: 5 min"));
    assert_non_null(text_run(j, "27/11/2026  08:01"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rasters")), 0);
    cJSON_Delete(j);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

/* A long service name wraps to several raster lines, all inside the paper. */
static void test_long_name_wraps(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 512, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev, .width_dots = 512, .qr_native = 1};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    tkt k;
    make_ticket(&k, 5, 99, "vi");
    k.t.service_name = "Lao động - Thương binh và Xã hội, Bảo hiểm xã hội và Người có công "
                       "với cách mạng (hồ sơ ưu đãi)";
    k.t.priority = 1;
    cJSON *j = print_one(&v, p, &k.t);
    qms_ticket_enc e;
    assert_int_equal(qms_ticket_enc_init(&e, &o), QMS_OK);
    char hs[8][20];
    int n = wire_hashes(&e, k.t.service_name, 1, hs, 8);
    assert_true(n >= 3);
    assert_true(find_lines(cJSON_GetObjectItem(j, "rasters"), hs, n) > 0);
    n = wire_hashes(&e, "Ưu tiên", 1, hs, 8);
    assert_true(find_lines(cJSON_GetObjectItem(j, "rasters"), hs, n) > 0);
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "rasters"))
    {
        int x = cJSON_GetObjectItem(it, "x")->valueint, w = cJSON_GetObjectItem(it, "w")->valueint;
        assert_true(x >= 0 && x + w <= 512);
    }
    qms_ticket_enc_free(&e);
    cJSON_Delete(j);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

static int count_pages(vp_proc *v)
{
    int n = 0;
    for (int i = 1; i < 1000; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%d.json", v->dir, i);
        if (access(path, F_OK) != 0)
            break;
        n++;
    }
    return n;
}

/* Paper out or cover open before the ticket: nothing is printed, the state
 * says why; when it clears, printing works again. */
static void test_fault_before_ticket(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    tkt k;
    make_ticket(&k, 1, 1, "vi");
    qms_printer_state st;

    char s[64];
    assert_int_equal(vp_cmd(&v, "paper out", s, sizeof s), 0);
    assert_string_equal(s, "paper_out");
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_PAPER_OUT);
    assert_int_equal(qms_printer_print(p, &k.t, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_PAPER_OUT);
    assert_int_equal(vp_cmd(&v, "paper in", s, sizeof s), 0);

    assert_int_equal(vp_cmd(&v, "cover open", s, sizeof s), 0);
    assert_string_equal(s, "cover_open");
    assert_int_equal(qms_printer_print(p, &k.t, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_COVER_OPEN);
    assert_int_equal(vp_cmd(&v, "cover close", s, sizeof s), 0);
    assert_string_equal(s, "ok");
    assert_int_equal(count_pages(&v), 0); /* no ticket came out */

    cJSON *j = print_one(&v, p, &k.t);
    assert_non_null(text_run(j, k.num));
    cJSON_Delete(j);
    assert_int_equal(count_pages(&v), 1);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

/* The technician's tool: the state on stdout and the exit status docs/printer.md
 * gives (0 fine, 1 printer fault, 2 usage, with the reason named). */
static int run_tool(char **argv, const char *out, char *text, size_t n)
{
    pid_t p = qms_test_spawn(argv, out);
    int rc = qms_test_wait_pid(p, 20000);
    text[0] = 0;
    FILE *f = fopen(out, "r");
    if (f) {
        size_t k = fread(text, 1, n - 1, f);
        text[k] = 0;
        fclose(f);
    }
    unlink(out);
    return rc;
}

static void test_printer_tool_exit_status(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    char out[400], text[4096], s[64];
    snprintf(out, sizeof out, "%s/tool.out", v.dir);
    char *bin = (char *)qms_test_bin("qms-printer");
    char *st[] = {bin, "status", "--device", v.dev, NULL};
    assert_int_equal(run_tool(st, out, text, sizeof text), 0);
    assert_non_null(strstr(text, "ok"));
    assert_int_equal(vp_cmd(&v, "paper out", s, sizeof s), 0);
    assert_int_equal(run_tool(st, out, text, sizeof text), 1);
    assert_non_null(strstr(text, "paper_out"));
    assert_int_equal(vp_cmd(&v, "paper in", s, sizeof s), 0);

    char *help[] = {bin, "--help", NULL};
    assert_int_equal(run_tool(help, out, text, sizeof text), 0);
    assert_non_null(strstr(text, "usage: qms-printer"));
    char *nodev[] = {bin, "status", NULL};
    assert_int_equal(run_tool(nodev, out, text, sizeof text), 2);
    assert_non_null(strstr(text, "status needs --device"));
    char *width[] = {bin, "test", "--device", v.dev, "--width", "58mm", NULL};
    assert_int_equal(run_tool(width, out, text, sizeof text), 2);
    assert_non_null(strstr(text, "--width is 576 or 512"));
    char *nocfg[] = {bin, "store-nv", "--device", v.dev, "--nv-state", out, NULL};
    assert_int_equal(run_tool(nocfg, out, text, sizeof text), 2);
    assert_non_null(strstr(text, "needs --config"));
    assert_int_equal(count_pages(&v), 0); /* none of these printed anything */
    vp_stop(&v, 0);
}

/* The roll ends in the middle of a ticket: the print fails with paper_out,
 * the half ticket is abandoned (buffer cleared), and after a new roll the
 * next ticket is whole and holds nothing of the old one. */
static void test_paper_out_during_ticket(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev, .qr_native = 1};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    tkt k;
    make_ticket(&k, 3, 41, "vi");
    qms_printer_state st;
    char s[64];
    assert_int_equal(vp_cmd(&v, "paper left 60", s, sizeof s), 0);
    assert_string_equal(s, "ok"); /* still paper at the start */
    assert_int_equal(qms_printer_print(p, &k.t, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_PAPER_OUT);
    int n = 0, cut = 1;
    assert_int_equal(vp_next_page(&v, &n, &cut, 5000), 0);
    assert_int_equal(cut, 0); /* abandoned: the rest of it will not print */
    cJSON *j = vp_page_json(&v, n);
    assert_non_null(j);
    assert_null(text_run(j, k.num)); /* the roll ended before the number */
    cJSON_Delete(j);

    assert_int_equal(vp_cmd(&v, "paper in", s, sizeof s), 0);
    assert_string_equal(s, "ok");
    tkt k2;
    make_ticket(&k2, 4, 42, "vi");
    j = print_one(&v, p, &k2.t);
    assert_non_null(text_run(j, k2.num));
    assert_null(text_run(j, k.num));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "qr")), 1);
    assert_true(has_string(cJSON_GetObjectItem(j, "qr"), "payload", k2.url));
    cJSON_Delete(j);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

/* Paper near its end: the ticket prints and the state says paper_low. */
static void test_paper_low_reported(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    tkt k;
    make_ticket(&k, 6, 3, "vi");
    qms_printer_state st;
    assert_int_equal(vp_cmd(&v, "paper low", NULL, 0), 0);
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_PAPER_LOW);
    assert_int_equal(qms_printer_print(p, &k.t, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_PAPER_LOW);
    int n, cut;
    assert_int_equal(vp_next_page(&v, &n, &cut, 5000), 0);
    assert_int_equal(cut, 1);
    assert_int_equal(vp_cmd(&v, "paper ok", NULL, 0), 0);
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_OK);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

/* The documented signals: SIGUSR1 toggles paper out, SIGUSR2 the cover. */
static void test_signals_toggle_faults(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    qms_printer_state st;
    char l[128];
    kill(v.proc.pid, SIGUSR1);
    assert_int_equal(vp_line(&v, l, sizeof l, 5000), 0);
    assert_string_equal(l, "state paper_out");
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_PAPER_OUT);
    kill(v.proc.pid, SIGUSR1);
    assert_int_equal(vp_line(&v, l, sizeof l, 5000), 0);
    assert_string_equal(l, "state ok");
    kill(v.proc.pid, SIGUSR2);
    assert_int_equal(vp_line(&v, l, sizeof l, 5000), 0);
    assert_string_equal(l, "state cover_open");
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_COVER_OPEN);
    kill(v.proc.pid, SIGUSR2);
    assert_int_equal(vp_line(&v, l, sizeof l, 5000), 0);
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_OK);
    qms_printer_close(p);
    vp_stop(&v, 0);
}

/* The printer goes away (its end of the pty closes): offline, no ticket. */
static void test_printer_gone(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev, .status_timeout_ms = 300};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    qms_printer_state st;
    assert_int_equal(qms_printer_status(p, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_OK);
    vp_kill(&v);
    assert_int_equal(qms_printer_status(p, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_OFFLINE);
    tkt k;
    make_ticket(&k, 0, 1, "vi");
    st = QMS_PRN_OK;
    assert_int_equal(qms_printer_print(p, &k.t, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_OFFLINE);
    qms_printer_close(p);
    vp_stop(&v, 0);
    /* and a device that is not there at all does not open */
    o.device = "/dev/pts/999999";
    assert_int_not_equal(qms_printer_open(&o, &p), QMS_OK);
}

/* A line where nobody answers (a pty whose master never replies): offline
 * after the status timeout, never a hang. */
static void test_silent_line_is_offline(void **state)
{
    (void)state;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    qms_printer_opts o = {.device = ptsname(m), .status_timeout_ms = 200};
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(&o, &p), QMS_OK);
    qms_printer_state st = QMS_PRN_OK;
    assert_int_equal(qms_printer_status(p, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_OFFLINE);
    /* what it got was exactly the three status requests */
    uint8_t buf[64];
    ssize_t r = read(m, buf, sizeof buf);
    assert_int_equal(r, 9);
    const uint8_t want[9] = {0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 4};
    assert_memory_equal(buf, want, 9);
    tkt k;
    make_ticket(&k, 0, 1, "vi");
    assert_int_equal(qms_printer_print(p, &k.t, &st), QMS_ERR_PRINTER);
    assert_int_equal(st, QMS_PRN_OFFLINE);
    qms_printer_close(p);
    close(m);
}

static int any_contains(cJSON *arr, const char *needle)
{
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && strstr(it->valuestring, needle))
            return 1;
    }
    return 0;
}

/* Bytes outside the subset are refused loudly: in the page's JSON. */
static void test_vprinter_refuses_unknown(void **state)
{
    (void)state;
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_serial *s = NULL;
    assert_int_equal(qms_serial_open(v.dev, 115200, &s), QMS_OK);
    assert_string_equal(qms_serial_backend(s), "termios");
    /* ESC G 1 (double strike), UTF-8 text, a code page switch, then a cut */
    const uint8_t junk[] = {0x1b, 'G',  1,   'O', 'K',  '\n', 0xc3, 0xa9,
                            '\n', 0x1b, 't', 0,   0x1d, 'V',  66,   0};
    assert_int_equal(qms_serial_write(s, junk, sizeof junk, 2000), QMS_OK);
    int n, cut;
    assert_int_equal(vp_next_page(&v, &n, &cut, 5000), 0);
    cJSON *j = vp_page_json(&v, n);
    assert_non_null(j);
    cJSON *ref = cJSON_GetObjectItem(j, "refused");
    assert_true(cJSON_GetArraySize(ref) >= 3);
    assert_true(any_contains(ref, "ESC 0x47"));
    assert_true(any_contains(ref, "0xc3: not ASCII"));
    assert_true(any_contains(ref, "ESC 0x74"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "cut")));
    assert_non_null(text_run(j, "OK"));
    cJSON_Delete(j);
    qms_serial_close(s);
    vp_stop(&v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_services_576_native_qr),
        cmocka_unit_test(test_services_512_raster_qr),
        cmocka_unit_test(test_english_ticket_is_native_text),
        cmocka_unit_test(test_long_name_wraps),
        cmocka_unit_test(test_fault_before_ticket),
        cmocka_unit_test(test_printer_tool_exit_status),
        cmocka_unit_test(test_paper_out_during_ticket),
        cmocka_unit_test(test_paper_low_reported),
        cmocka_unit_test(test_signals_toggle_faults),
        cmocka_unit_test(test_printer_gone),
        cmocka_unit_test(test_silent_line_is_offline),
        cmocka_unit_test(test_vprinter_refuses_unknown),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
