/* The kiosk end to end with real parts: mosquitto on a loopback port, the
 * real qms-controller and SQLite store, qms-vprinter on a pseudo-terminal.
 * - a ticket for each of the 17 sample services through the touch screen:
 *   what the printer received is decoded and checked against the
 *   controller's reply (number, service, QR payload), and the controller's
 *   counters see exactly those tickets waiting;
 * - the technician's --take;
 * - faults: paper out before and during a ticket, cover open, printer gone,
 *   controller down, broker unreachable — each with its screen, its exit
 *   code, and no number left waiting in the controller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kiosk_harness.h"
#include "ocr.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/csv.h"

#include <SDL.h>
#include <SDL_image.h>
#include <cjson/cJSON.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLOCK "2026-11-26T09:00:00"

static kh_world W;
static qms_config *C; /* the sample center */
static char shots[400];

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (qms_config_load_file(QMS_EXAMPLES "/center.json", &C, err, sizeof err))
        return -1;
    if (kh_world_start(&W, NULL) || kh_controller_start(&W, CLOCK) || kh_vprinter_start(&W))
        return -1;
    /* the priority screen is skipped except where a test asks for it */
    kh_kiosk_config(&W, "\"ask_priority\":false");
    snprintf(shots, sizeof shots, "%s/shots", W.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kh_world_stop(&W);
    qms_config_free(C);
    return 0;
}

/* How many tickets wait at each of the 16 sample counters (index = id). */
static void all_waiting(int out[17])
{
    for (int c = 1; c <= 16; c++) {
        out[c] = kh_counter_waiting(&W, c);
        assert_true(out[c] >= 0);
    }
}

/* The "reply" events of a kiosk trace: ticket numbers in order. */
static int trace_replies(const char *path, char tickets[][24], int max)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 1 << 22))
        return -1;
    int n = 0;
    for (char *p = text; (p = strstr(p, "\"ev\":\"reply\"")) && n < max; p++) {
        char *t = strstr(p, "\"ticket\":\"");
        if (!t)
            break;
        t += 10;
        size_t k = strcspn(t, "\"");
        snprintf(tickets[n++], 24, "%.*s", (int)k, t);
    }
    qms_free(text);
    return n;
}

/* One printed page: its number (the big text run), QR payload and the QR
 * scanned back from the picture. */
static void page_facts(int n, char *number, size_t nlen, char *qr, size_t qlen, char *scanned,
                       size_t slen, int *cut)
{
    char *text = kh_vprinter_json(&W, n);
    assert_non_null(text);
    cJSON *js = cJSON_Parse(text);
    qms_free(text);
    assert_non_null(js);
    number[0] = qr[0] = scanned[0] = 0;
    *cut = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(js, "cut"));
    /* the number is the text run printed biggest */
    int best = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(js, "text"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "text");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "hmul");
        int m = cJSON_IsNumber(h) ? (int)h->valuedouble : 1;
        if (cJSON_IsString(t) && m > best) {
            best = m;
            snprintf(number, nlen, "%s", t->valuestring);
        }
    }
    const cJSON *q = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(js, "qr"), 0);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(q, "payload");
    if (cJSON_IsString(p))
        snprintf(qr, qlen, "%s", p->valuestring);
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(js, "qr_scanned"), 0);
    if (cJSON_IsString(s))
        snprintf(scanned, slen, "%s", s->valuestring);
    cJSON_Delete(js);
}

static void trim(char *s)
{
    char *a = s;
    while (*a == ' ')
        a++;
    memmove(s, a, strlen(a) + 1);
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = 0;
}

static void test_all_services(void **state)
{
    (void)state;
    int before[17], after[17];
    all_waiting(before);
    static char s[16384];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    for (int i = 0; i < C->nservices; i++) {
        kh_line(s, sizeof s, "tap 960 540");
        kh_line(s, sizeof s, "wait-screen menu");
        kh_line(s, sizeof s, "tap-service %s", C->services[i].code);
        kh_line(s, sizeof s, "wait-screen ticket 8000");
        kh_line(s, sizeof s, "tap 960 540");
        kh_line(s, sizeof s, "wait-screen idle");
    }
    char log[320], trace[320];
    int st = kh_kiosk_run(&W, s, NULL, 120000, log, sizeof log, trace, sizeof trace);
    if (st != 0)
        fail_msg("kiosk failed (%d), log %s", st, log);
    char tickets[64][24];
    int nrep = trace_replies(trace, tickets, 64);
    assert_int_equal(nrep, C->nservices);
    for (int i = 0; i < C->nservices; i++) {
        const qms_service *sv = &C->services[i];
        int ab = 0;
        int n = kh_vprinter_next_ticket(&W, 5000, &ab);
        if (n < 0)
            fail_msg("no printed ticket for %s", sv->code);
        assert_false(ab);
        char number[64], qr[512], scanned[512];
        int cut = 0;
        page_facts(n, number, sizeof number, qr, sizeof qr, scanned, sizeof scanned, &cut);
        trim(number);
        assert_true(cut);
        /* the number on paper is the controller's answer, of this service */
        assert_string_equal(number, tickets[i]);
        assert_int_equal(strncmp(number, sv->prefix, strlen(sv->prefix)), 0);
        /* the QR says which ticket: site, day, number, id */
        char want[256];
        snprintf(want, sizeof want, "http://qms.test/t/%s/2026-11-26/%s?id=", W.site, number);
        if (strncmp(qr, want, strlen(want)) != 0)
            fail_msg("QR payload \"%s\" is not \"%s<id>\"", qr, want);
        assert_string_equal(scanned, qr); /* and it scans back from the paper */
    }
    /* the controller sees exactly one more waiting ticket per service each
     * counter serves */
    all_waiting(after);
    for (int c = 0; c < C->ncounters; c++) {
        int id = C->counters[c].id;
        assert_int_equal(after[id] - before[id], C->counters[c].nservices);
    }
}

/* Issue 11 #5: a citizen who switched the kiosk to English gets a ticket
 * with the center's and the service's English names (center.json name_en),
 * read back from the printed page by tesseract. */
static void test_english_ticket(void **state)
{
    (void)state;
    static char s[2048];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    kh_line(s, sizeof s, "tap-lang");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen menu");
    kh_line(s, sizeof s, "tap-service TP");
    kh_line(s, sizeof s, "wait-screen ticket 8000");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen idle");
    char log[320], trace[320];
    int st = kh_kiosk_run(&W, s, NULL, 60000, log, sizeof log, trace, sizeof trace);
    if (st != 0)
        fail_msg("kiosk failed (%d), log %s", st, log);
    int ab = 0;
    int n = kh_vprinter_next_ticket(&W, 5000, &ab);
    if (n < 0)
        fail_msg("no printed ticket");
    char png[400];
    snprintf(png, sizeof png, "%s/%d.png", W.vp_dir, n);
    static char read[16384];
    static const double scales[] = {1.0};
    assert_int_equal(ocr_read_screen(png, "vie+eng", scales, 1, read, sizeof read, NULL), 0);
    const qms_service *tp = &C->services[qms_config_service_index(C, "TP")];
    if (!ocr_has(read, tp->name_en) || !ocr_has(read, C->name_en) || ocr_has(read, tp->name_vi))
        fail_msg("the English ticket %s does not read \"%s\" and \"%s\" (and not \"%s\"); "
                 "tesseract read:\n%s",
                 png, C->name_en, tp->name_en, tp->name_vi, read);
    /* QMS_KEEP_TICKET=FILE keeps the page for a person to look at */
    const char *keep = getenv("QMS_KEEP_TICKET");
    if (keep) {
        char *img = NULL;
        size_t len = 0;
        FILE *f = NULL;
        if (qms_read_file(png, &img, &len, 1 << 24) == 0 && (f = fopen(keep, "wb"))) {
            fwrite(img, 1, len, f);
            fclose(f);
        }
        qms_free(img);
    }
}

static void test_technician_take(void **state)
{
    (void)state;
    int before = kh_counter_waiting(&W, 1); /* counter 1 serves TP only */
    char port[32], out[320], err[320];
    snprintf(port, sizeof port, "127.0.0.1:%d", W.broker.port);
    snprintf(out, sizeof out, "%s/take.out", W.dir);
    snprintf(err, sizeof err, "%s/take.err", W.dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s --config %s/kiosk.json --broker %s --printer %s --take TP >%s 2>%s",
             qms_test_bin("qms-kiosk"), W.dir, port, W.pty, out, err);
    int st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(qms_read_file(out, &text, &len, 1 << 16), 0);
    char number[24] = "";
    sscanf(text, "%23s", number);
    assert_int_equal(number[0], 'A');
    assert_non_null(strstr(text, " TP "));
    qms_free(text);
    int ab = 0;
    int n = kh_vprinter_next_ticket(&W, 5000, &ab);
    assert_true(n > 0);
    assert_false(ab);
    char pnum[64], qr[512], scanned[512];
    int cut;
    page_facts(n, pnum, sizeof pnum, qr, sizeof qr, scanned, sizeof scanned, &cut);
    trim(pnum);
    assert_string_equal(pnum, number);
    assert_int_equal(kh_counter_waiting(&W, 1), before + 1);

    /* paper out: exit 2, the reason on stderr, nothing taken */
    assert_int_equal(kh_vprinter_cmd(&W, "paper out"), 0);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_int_equal(qms_read_file(err, &text, &len, 1 << 16), 0);
    assert_non_null(strstr(text, "paper_out"));
    qms_free(text);
    assert_int_equal(kh_counter_waiting(&W, 1), before + 1);
    assert_int_equal(kh_vprinter_cmd(&W, "paper in"), 0);

    /* an unknown service: exit 4 and the list of services */
    snprintf(cmd, sizeof cmd,
             "%s --config %s/kiosk.json --broker %s --printer %s --take ZZ >%s 2>%s",
             qms_test_bin("qms-kiosk"), W.dir, port, W.pty, out, err);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 4);
    assert_int_equal(qms_read_file(err, &text, &len, 1 << 16), 0);
    assert_non_null(strstr(text, "ZZ"));
    assert_non_null(strstr(text, "TRA"));
    qms_free(text);
}

static pid_t last_kiosk;

/* A citizen gets to the priority screen of TP; then the world changes
 * (change()), then they choose "normal". */
static void choose_after(const char *tag, void (*change)(void), const char *expect_screen,
                         char *trace, size_t tlen)
{
    static char s[4096];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen menu");
    kh_line(s, sizeof s, "tap-service TP");
    kh_line(s, sizeof s, "wait-screen priority");
    kh_line(s, sizeof s, "screenshot %s-sync", tag);
    kh_line(s, sizeof s, "wait-file %s-go", tag);
    kh_line(s, sizeof s, "tap-priority normal");
    kh_line(s, sizeof s, "wait-screen %s 8000", expect_screen);
    kh_line(s, sizeof s, "screenshot %s", tag);
    kh_line(s, sizeof s, "screenshot %s-done", tag);
    kh_line(s, sizeof s, "wait-file %s-cleared", tag);
    kh_line(s, sizeof s, "wait-screen idle 8000");
    /* ask_priority on for this run; a huge poll period so the check before
     * the take is what notices the fault, not the periodic poll */
    kh_kiosk_config(&W,
                    "\"ask_priority\":true,\"printer\":{\"poll_s\":3600,\"fault_poll_ms\":200}");
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, trace, tlen);
    assert_true(pid > 0);
    last_kiosk = pid;
    char p[512];
    snprintf(p, sizeof p, "%s/%s-sync.png", shots, tag);
    if (kh_wait_file(p, 20000))
        fail_msg("kiosk did not reach the priority screen (log %s)", log);
    change();
    snprintf(p, sizeof p, "%s/%s-go", shots, tag);
    FILE *f = fopen(p, "w");
    fclose(f);
    snprintf(p, sizeof p, "%s/%s-done.png", shots, tag);
    if (kh_wait_file(p, 20000)) {
        kill(pid, SIGKILL);
        qms_test_wait_pid(pid, 3000);
        fail_msg("kiosk did not show %s (log %s)", expect_screen, log);
    }
}

static void finish_run(const char *tag, void (*clear)(void))
{
    clear();
    char p[512];
    snprintf(p, sizeof p, "%s/%s-cleared", shots, tag);
    FILE *f = fopen(p, "w");
    fclose(f);
}

static int wait_kiosk_exit(void)
{
    int st = -1;
    int64_t end = qms_mono_ms() + 30000;
    while ((st = qms_test_wait_pid(last_kiosk, 20)) < 0 && qms_mono_ms() < end)
        qms_mqtt_loop(W.m, 0);
    if (st < 0)
        kill(last_kiosk, SIGKILL);
    return st;
}

static void paper_out(void)
{
    assert_int_equal(kh_vprinter_cmd(&W, "paper out"), 0);
}

static void paper_in(void)
{
    assert_int_equal(kh_vprinter_cmd(&W, "paper in"), 0);
}

static void cover_open(void)
{
    assert_int_equal(kh_vprinter_cmd(&W, "cover open"), 0);
}

static void cover_close(void)
{
    assert_int_equal(kh_vprinter_cmd(&W, "cover close"), 0);
}

static void trace_has(const char *trace, const char *needle, int want)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(qms_read_file(trace, &text, &len, 1 << 22), 0);
    int has = strstr(text, needle) != NULL;
    qms_free(text);
    if (has != want)
        fail_msg("trace %s %s %s", trace, want ? "lacks" : "has", needle);
}

static void test_paper_out_before(void **state)
{
    (void)state;
    int before = kh_counter_waiting(&W, 1);
    char trace[320];
    choose_after("paper-before", paper_out, "paper_out", trace, sizeof trace);
    /* the device status tells the manager */
    char st[512];
    assert_int_equal(
        kh_kiosk_status_wait(&W, "k1", "\"printer\":\"paper_out\"", 5000, st, sizeof st), 0);
    finish_run("paper-before", paper_in);
    assert_int_equal(wait_kiosk_exit(), 0);
    /* no request went to the controller, no number waits */
    trace_has(trace, "take_sent", 0);
    assert_int_equal(kh_counter_waiting(&W, 1), before);
}

static void test_cover_open(void **state)
{
    (void)state;
    int before = kh_counter_waiting(&W, 1);
    char trace[320];
    choose_after("cover", cover_open, "cover_open", trace, sizeof trace);
    char st[512];
    assert_int_equal(
        kh_kiosk_status_wait(&W, "k1", "\"printer\":\"cover_open\"", 5000, st, sizeof st), 0);
    finish_run("cover", cover_close);
    assert_int_equal(wait_kiosk_exit(), 0);
    trace_has(trace, "take_sent", 0);
    assert_int_equal(kh_counter_waiting(&W, 1), before);
}

static void paper_runs_out_soon(void)
{
    /* a ticket is several hundred dots long: this runs out inside it */
    assert_int_equal(kh_vprinter_cmd(&W, "paper left 120"), 0);
}

static void test_paper_out_during(void **state)
{
    (void)state;
    int before = kh_counter_waiting(&W, 1);
    char trace[320];
    choose_after("paper-during", paper_runs_out_soon, "paper_out", trace, sizeof trace);
    /* the number was taken, did not come out whole, and was cancelled */
    trace_has(trace, "take_sent", 1);
    trace_has(trace, "print_failed", 1);
    int ab = 0;
    int n = kh_vprinter_next_ticket(&W, 5000, &ab);
    assert_true(n > 0);
    assert_true(ab); /* the vprinter saw a page that was never cut */
    int64_t end = qms_mono_ms() + 5000;
    while (kh_counter_waiting(&W, 1) != before && qms_mono_ms() < end)
        poll(NULL, 0, 50);
    assert_int_equal(kh_counter_waiting(&W, 1), before);
    /* and the hall will not call it: counter 1 (TP only) has nothing */
    if (before == 0) {
        char err[64];
        kh_counter_cmd(&W, 1, "next", err, sizeof err, NULL, 0);
        assert_string_equal(err, "nothing_to_call");
    }
    finish_run("paper-during", paper_in);
    assert_int_equal(wait_kiosk_exit(), 0);
}

/* Lines of the file at path, after the first that contains mark, that
 * contain needle (-1: no mark). */
static int count_after(const char *path, const char *mark, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[4096];
    int n = -1;
    while (fgets(buf, sizeof buf, f))
        if (n < 0 && strstr(buf, mark))
            n = 0;
        else if (n >= 0 && strstr(buf, needle))
            n++;
    fclose(f);
    return n;
}

static void test_printer_gone(void **state)
{
    (void)state;
    static char s[2048];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    kh_line(s, sizeof s, "screenshot gone-sync");
    kh_line(s, sizeof s, "wait-screen printer_offline 10000");
    kh_line(s, sizeof s, "screenshot printer-gone");
    kh_line(s, sizeof s, "wait-file gone-checked");
    kh_kiosk_config(&W, "\"ask_priority\":false,\"printer\":{\"poll_s\":1,\"fault_poll_ms\":200}");
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, NULL, 0);
    char p[512];
    snprintf(p, sizeof p, "%s/gone-sync.png", shots);
    assert_int_equal(kh_wait_file(p, 20000), 0);
    kh_vprinter_stop(&W); /* the pty goes away */
    snprintf(p, sizeof p, "%s/printer-gone.png", shots);
    int shown = kh_wait_file(p, 20000);
    /* the manager sees it in the kiosk's retained status */
    char st[512];
    int status = kh_kiosk_status_wait(&W, "k1", "\"printer\":\"offline\"", 5000, st, sizeof st);
    /* it keeps trying (0.25, 0.5, 1, 2 s ...) but said why once: the
     * retries' own lines (cannot open ...) stay out of the log */
    poll(NULL, 0, 3000);
    int retries = count_after(log, "offline; trying again", "serial:");
    snprintf(p, sizeof p, "%s/gone-checked", shots);
    FILE *f = fopen(p, "w");
    fclose(f);
    int rc = qms_test_wait_pid(pid, 30000);
    assert_int_equal(kh_vprinter_start(&W), 0); /* for the next tests, whatever happened */
    if (shown)
        fail_msg("no printer_offline screen (log %s)", log);
    if (status)
        fail_msg("kiosk status \"%s\" does not say printer offline", st);
    if (retries != 0)
        fail_msg("%d serial lines logged after the printer went offline (log %s)", retries, log);
    assert_int_equal(rc, 0);
}

static void test_controller_down(void **state)
{
    (void)state;
    static char s[2048];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    kh_line(s, sizeof s, "screenshot ctrl-sync");
    kh_line(s, sizeof s, "wait-screen controller_down 10000");
    kh_line(s, sizeof s, "screenshot ctrl-down");
    kh_line(s, sizeof s, "screenshot ctrl-sync2");
    kh_line(s, sizeof s, "wait-screen idle 15000");
    kh_kiosk_config(&W, "\"ask_priority\":false");
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, NULL, 0);
    char p[512];
    snprintf(p, sizeof p, "%s/ctrl-sync.png", shots);
    assert_int_equal(kh_wait_file(p, 20000), 0);
    kh_controller_stop(&W);
    snprintf(p, sizeof p, "%s/ctrl-sync2.png", shots);
    assert_int_equal(kh_wait_file(p, 20000), 0);
    /* while it is down the technician's command says so (as another kiosk:
     * the running kiosk holds k1's state file, and its broker identity) */
    char port[32], cmd[1024];
    snprintf(port, sizeof port, "127.0.0.1:%d", W.broker.port);
    snprintf(cmd, sizeof cmd,
             "%s --config %s/kiosk.json --broker %s --printer %s --take TP --kiosk-id tech "
             "--state-file %s/tech.journal >/dev/null 2>&1",
             qms_test_bin("qms-kiosk"), W.dir, port, W.pty, W.dir);
    assert_int_equal(WEXITSTATUS(system(cmd)), 3);
    /* the same kiosk id twice: refused, with the reason, before anything is taken */
    char err[320];
    snprintf(err, sizeof err, "%s/twice.err", W.dir);
    snprintf(cmd, sizeof cmd,
             "%s --config %s/kiosk.json --broker %s --printer %s --take TP >/dev/null 2>%s",
             qms_test_bin("qms-kiosk"), W.dir, port, W.pty, err);
    assert_int_equal(WEXITSTATUS(system(cmd)), 1);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(qms_read_file(err, &text, &len, 1 << 16), 0);
    if (!strstr(text, "in use by another qms-kiosk"))
        fail_msg("no clear reason for a second kiosk k1: %s", text);
    qms_free(text);
    /* back up: the kiosk recovers by itself */
    assert_int_equal(kh_controller_start(&W, CLOCK), 0);
    assert_int_equal(qms_test_wait_pid(pid, 30000), 0);
    (void)log;
}

static void test_broker_unreachable(void **state)
{
    (void)state;
    int dead = qms_test_free_port();
    char broker[32];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", dead);
    const char *args[] = {"--broker", broker, "--printer", W.pty, NULL};
    char log[320];
    int st =
        kh_kiosk_run(&W, "wait-screen broker_down 10000\n", args, 30000, log, sizeof log, NULL, 0);
    assert_int_equal(st, 0);
    char port[32], cmd[1024];
    snprintf(port, sizeof port, "127.0.0.1:%d", dead);
    snprintf(cmd, sizeof cmd,
             "%s --config %s/kiosk.json --broker %s --printer %s --take TP "
             ">/dev/null 2>&1",
             qms_test_bin("qms-kiosk"), W.dir, port, W.pty);
    assert_int_equal(WEXITSTATUS(system(cmd)), 3);
}

/* The other two ways the loop can sleep (docs/kiosk.md): the watcher thread
 * that wakes SDL_WaitEventTimeout on broker traffic (X11, Wayland), and the
 * 15 ms input tick (KMSDRM). Each must carry takes and replies as well. */
static void test_wait_modes(void **state)
{
    (void)state;
    kh_kiosk_config(&W, "\"ask_priority\":false");
    static const char *const modes[] = {"sdl", "tick"};
    for (int k = 0; k < 2; k++) {
        static char s[4096];
        s[0] = 0;
        kh_line(s, sizeof s, "wait-screen idle 10000");
        for (int i = 0; i < 3; i++) {
            kh_line(s, sizeof s, "tap 960 540");
            kh_line(s, sizeof s, "wait-screen menu");
            kh_line(s, sizeof s, "tap-service KD");
            kh_line(s, sizeof s, "wait-screen ticket 8000");
            kh_line(s, sizeof s, "tap 960 540");
            kh_line(s, sizeof s, "wait-screen idle");
        }
        setenv("QMS_KIOSK_WAIT", modes[k], 1);
        char log[320], trace[320];
        int st = kh_kiosk_run(&W, s, NULL, 60000, log, sizeof log, trace, sizeof trace);
        unsetenv("QMS_KIOSK_WAIT");
        if (st != 0)
            fail_msg("wait mode %s: kiosk failed (%d), log %s", modes[k], st, log);
        char tickets[8][24];
        assert_int_equal(trace_replies(trace, tickets, 8), 3);
        for (int i = 0; i < 3; i++) {
            int ab = 0;
            assert_true(kh_vprinter_next_ticket(&W, 5000, &ab) > 0);
            assert_false(ab);
        }
    }
}

/* Paper near its end: the manager sees it in the kiosk's status, and the
 * kiosk keeps giving numbers. */
static void test_paper_low(void **state)
{
    (void)state;
    kh_kiosk_config(&W, "\"ask_priority\":false,\"printer\":{\"poll_s\":1}");
    assert_int_equal(kh_vprinter_cmd(&W, "paper low"), 0);
    static char s[2048];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    kh_line(s, sizeof s, "screenshot low-sync");
    kh_line(s, sizeof s, "wait-file low-checked");
    kh_line(s, sizeof s, "tap 960 540");
    kh_line(s, sizeof s, "wait-screen menu");
    kh_line(s, sizeof s, "tap-service YT");
    kh_line(s, sizeof s, "wait-screen ticket 8000");
    char log[320];
    pid_t pid = kh_kiosk_spawn(&W, s, NULL, log, sizeof log, NULL, 0);
    char p[512];
    snprintf(p, sizeof p, "%s/low-sync.png", shots);
    assert_int_equal(kh_wait_file(p, 20000), 0);
    char st[512];
    int status = kh_kiosk_status_wait(&W, "k1", "\"printer\":\"paper_low\"", 5000, st, sizeof st);
    snprintf(p, sizeof p, "%s/low-checked", shots);
    FILE *f = fopen(p, "w");
    fclose(f);
    int rc = qms_test_wait_pid(pid, 30000);
    assert_int_equal(kh_vprinter_cmd(&W, "paper ok"), 0);
    if (status)
        fail_msg("kiosk status \"%s\" does not say paper_low", st);
    if (rc != 0)
        fail_msg("no ticket with the paper low (%d), log %s", rc, log);
    int ab = 0;
    assert_true(kh_vprinter_next_ticket(&W, 5000, &ab) > 0);
    assert_false(ab);
}

/* A portrait kiosk on a landscape panel mounted turned (--rotate 90): the
 * citizen's taps land on what they see, and the panel shows the screen
 * turned a quarter clockwise. */
static void test_rotated_panel(void **state)
{
    (void)state;
    kh_kiosk_config(&W, "\"ask_priority\":false");
    static char s[2048];
    s[0] = 0;
    kh_line(s, sizeof s, "wait-screen idle 10000");
    kh_line(s, sizeof s, "tap 540 960");
    kh_line(s, sizeof s, "wait-screen menu");
    kh_line(s, sizeof s, "screenshot rot-menu");
    kh_line(s, sizeof s, "tap-service GD");
    kh_line(s, sizeof s, "wait-screen ticket 8000");
    const char *args[] = {"--portrait", "--rotate", "90", NULL};
    char log[320], trace[320];
    int st = kh_kiosk_run(&W, s, args, 60000, log, sizeof log, trace, sizeof trace);
    if (st != 0)
        fail_msg("rotated kiosk failed (%d), log %s", st, log);
    trace_has(trace, "\"ticket\":\"G", 1); /* the tap on GD took a GD number */
    int ab = 0;
    assert_true(kh_vprinter_next_ticket(&W, 5000, &ab) > 0);
    /* the logical screen is portrait, the panel landscape, turned clockwise:
     * logical (x, y) shows at panel (W - 1 - y, x) */
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/rot-menu.png", shots);
    snprintf(p2, sizeof p2, "%s/rot-menu.panel.png", shots);
    SDL_Surface *a = IMG_Load(p1), *b = IMG_Load(p2);
    assert_non_null(a);
    assert_non_null(b);
    SDL_Surface *la = SDL_ConvertSurfaceFormat(a, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_Surface *pb = SDL_ConvertSurfaceFormat(b, SDL_PIXELFORMAT_ARGB8888, 0);
    assert_int_equal(la->w, 1080);
    assert_int_equal(la->h, 1920);
    assert_int_equal(pb->w, 1920);
    assert_int_equal(pb->h, 1080);
    int same = 0, total = 0;
    for (int y = 5; y < la->h; y += 37)
        for (int x = 5; x < la->w; x += 37) {
            uint32_t pl = ((uint32_t *)((uint8_t *)la->pixels + y * la->pitch))[x];
            int px = pb->w - 1 - y, py = x;
            uint32_t pp = ((uint32_t *)((uint8_t *)pb->pixels + py * pb->pitch))[px];
            same += pl == pp;
            total++;
        }
    if (same < total * 98 / 100)
        fail_msg("the panel is not the screen turned clockwise (%d of %d pixels agree)", same,
                 total);
    SDL_FreeSurface(a);
    SDL_FreeSurface(b);
    SDL_FreeSurface(la);
    SDL_FreeSurface(pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_services),     cmocka_unit_test(test_technician_take),
        cmocka_unit_test(test_english_ticket),
        cmocka_unit_test(test_paper_out_before), cmocka_unit_test(test_cover_open),
        cmocka_unit_test(test_paper_out_during), cmocka_unit_test(test_printer_gone),
        cmocka_unit_test(test_controller_down),  cmocka_unit_test(test_broker_unreachable),
        cmocka_unit_test(test_rotated_panel),    cmocka_unit_test(test_paper_low),
        cmocka_unit_test(test_wait_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
