/* qms-counter's one-shot commands against a real mosquitto and the real
 * qms-controller (the sample center; counter 5 serves KD, DT and CT, and is
 * the only counter for DT, so DT tickets ("E…") can only be called there). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "counter_fixture.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static fixture F;
static char E[8][16]; /* labels of the DT tickets taken */

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fx_start(&F), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_stop(&F);
    return 0;
}

#define CFG QMS_EXAMPLES "/center.json"

/* The counter as the controller has it now (asked by the test itself). */
static void ctl_state(int counter, char ticket[16], int *waiting, char tstate[16])
{
    char body[96];
    static int n;
    snprintf(body, sizeof body, "{\"req\":\"probe-%d\",\"op\":\"status\"}", ++n);
    char *r = fx_counter_cmd(&F, counter, body);
    assert_non_null(r);
    cJSON *o = cJSON_Parse(r);
    qms_free(r);
    assert_non_null(o);
    const cJSON *t = cJSON_GetObjectItem(o, "ticket"), *w = cJSON_GetObjectItem(o, "waiting");
    const cJSON *ts = cJSON_GetObjectItem(o, "ticket_state");
    snprintf(ticket, 16, "%s", cJSON_IsString(t) ? t->valuestring : "");
    if (tstate)
        snprintf(tstate, 16, "%s", cJSON_IsString(ts) ? ts->valuestring : "");
    *waiting = cJSON_IsNumber(w) ? w->valueint : -1;
    cJSON_Delete(o);
}

/* Run and expect an exact outcome. */
static void expect(int status, const char *out, const char *err, const char *first, ...)
{
    const char *a[16];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s && n < 15; s = va_arg(ap, const char *))
        a[n++] = s;
    va_end(ap);
    a[n] = NULL;
    fx_run r;
    fx_counter(&F, &r, 0, "--config", CFG, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
               a[9], a[10], NULL);
    if (r.status != status || (out && strcmp(r.out, out) != 0) || (err && strcmp(r.err, err) != 0))
        fail_msg("qms-counter %s %s %s %s: status %d (want %d)\nstdout: %s\nstderr: %s", a[0],
                 a[1] ? a[1] : "", a[2] ? a[2] : "", a[3] ? a[3] : "", r.status, status, r.out,
                 r.err);
    fx_run_free(&r);
}

static void test_nothing_to_call(void **state)
{
    (void)state;
    expect(1, "", "Không còn khách chờ cho quầy này\n", "--counter", "5", "next", NULL);
    /* in English, also the controller's own words */
    expect(1, "", "Nobody is waiting for this counter\n", "--counter", "5", "--lang", "en", "next",
           NULL);
    expect(1, "", "Không có quầy này\n", "--counter", "99", "next", NULL);
}

static void test_day_at_the_counter(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx_take(&F, "DT", 0, E[i]), 0);
    assert_string_equal(E[0], "E001");
    int calls0 = F.ncalls;
    expect(0, "Mời số E001 đến Quầy 5 (Đầu tư). Còn 2 khách chờ.\n", "", "--counter", "5", "next",
           NULL);
    /* it really happened: the controller has it called, the hall heard it */
    char t[16], ts[16];
    int w;
    ctl_state(5, t, &w, ts);
    assert_string_equal(t, "E001");
    assert_string_equal(ts, "called");
    assert_int_equal(w, 2);
    fx_pump(&F, 200);
    assert_int_equal(F.ncalls, calls0 + 1);
    assert_string_equal(F.calls[calls0].ticket, "E001");
    assert_int_equal(F.calls[calls0].counter, 5);

    expect(0, "Đã gọi lại số E001 đến Quầy 5.\n", "", "--counter", "5", "recall", NULL);
    fx_pump(&F, 200);
    assert_int_equal(F.ncalls, calls0 + 2);
    assert_true(F.calls[calls0 + 1].recall);

    expect(0, "Bắt đầu phục vụ số E001 (Đầu tư).\n", "", "--counter", "5", "start", NULL);
    ctl_state(5, t, &w, ts);
    assert_string_equal(ts, "serving");
    expect(0, "Đã phục vụ xong số E001. Còn 2 khách chờ.\n", "", "--counter", "5", "done", NULL);
    expect(0, "Đã ghi đánh giá 4 (Rất hài lòng) cho số E001.\n", "", "--counter", "5", "rate", "4",
           NULL);
    /* a level the center does not have: the controller refuses */
    expect(1, "", "Không có mức đánh giá này: các mức từ 1 (kém nhất) đến 4 (tốt nhất)\n",
           "--counter", "5", "rate", "9", NULL);

    /* no-show, then called back by number */
    expect(0, "Mời số E002 đến Quầy 5 (Đầu tư). Còn 1 khách chờ.\n", "", "--counter", "5", "next",
           NULL);
    expect(0,
           "Đã ghi số E002 vắng mặt (có thể gọi lại bằng lệnh \"call E002\"). Còn 1 khách chờ.\n",
           "", "--counter", "5", "skip", NULL);
    expect(0, "Mời số E002 đến Quầy 5 (Đầu tư). Còn 1 khách chờ.\n", "", "--counter", "5", "call",
           "e002", NULL);
    expect(1, "", "Không tìm thấy số thứ tự này\n", "--counter", "5", "call", "Z999", NULL);

    /* transfer to another service this counter also serves (KD) */
    expect(1, "", "Không có dịch vụ này\n", "--counter", "5", "transfer", "--to-service", "XX",
           NULL);
    expect(0, "Đã chuyển số E002 sang Đăng ký kinh doanh; số giữ nguyên thứ tự chờ.\n", "",
           "--counter", "5", "transfer", "--to-service", "KD", NULL);
    expect(0, "Quầy 5: đang mở. Chưa gọi số nào. Còn 2 khách chờ.\n", "", "--counter", "5",
           "status", NULL);
    /* the transferred ticket kept its place: it was taken before E003 */
    expect(0, "Mời số E002 đến Quầy 5 (Đăng ký kinh doanh). Còn 1 khách chờ.\n", "", "--counter",
           "5", "next", NULL);
}

static void test_counter_states(void **state)
{
    (void)state;
    expect(0, "Quầy 5 tạm dừng: không gọi số cho đến khi tiếp tục.\n", "", "--counter", "5",
           "pause", NULL);
    expect(1, "", "Quầy đang tạm dừng hoặc đã đóng\n", "--counter", "5", "next", NULL);
    expect(0, "Quầy 5 đã mở lại. Còn 1 khách chờ.\n", "", "--counter", "5", "resume", NULL);
    /* closing with a citizen at the counter is refused; finish first */
    expect(1, "", "Quầy 5 vẫn đang gọi số E002: hãy hoàn thành hoặc bỏ qua trước.\n", "--counter",
           "5", "close", NULL);
    expect(0, NULL, "", "--counter", "5", "done", NULL);
    expect(0, "Quầy 5 đã đóng.\n", "", "--counter", "5", "close", NULL);
    expect(0, "Quầy 5 đã mở (nhân viên: Nguyễn Thị Lan). Còn 1 khách chờ.\n", "", "--counter", "5",
           "open", "--staff", "Nguyễn Thị Lan", NULL);
    expect(0, "Quầy 5: đang mở, nhân viên Nguyễn Thị Lan. Chưa gọi số nào. Còn 1 khách chờ.\n", "",
           "--counter", "5", "status", NULL);
    expect(0, "Counter 5: open, staff Nguyễn Thị Lan. No current ticket. 1 waiting.\n", "",
           "--counter", "5", "--lang", "en", "status", NULL);
}

static void test_queue(void **state)
{
    (void)state;
    assert_int_equal(fx_take(&F, "CT", 1, E[3]), 0); /* a priority ticket: called first */
    fx_run run;
    fx_counter(&F, &run, 0, "--config", CFG, "--counter", "5", "queue", NULL);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    /* the state, then the controller's list in call order, the priority
     * ticket first, with the service of each number */
    const char *want = "Quầy 5: đang mở, nhân viên Nguyễn Thị Lan. Chưa gọi số nào. Còn 2 khách "
                       "chờ.\n"
                       "  1. M001   Công Thương [ưu tiên], chờ 0 phút\n"
                       "  2. E003   Đầu tư, chờ ";
    /* (how long E003 has waited depends on how fast the tests before ran:
     * test_counter_tui checks the minutes on a controller clock set ahead) */
    if (strncmp(run.out, want, strlen(want)) != 0 || !strstr(run.out, " phút\n") ||
        strchr(run.out + strlen(want), '\n') != run.out + strlen(run.out) - 1)
        fail_msg("qms-counter queue printed:\n%s", run.out);
    fx_run_free(&run);
}

static void test_names_from_the_controller(void **state)
{
    (void)state;
    /* without --config: names from the controller's retained configuration */
    fx_run r;
    fx_counter(&F, &r, 0, "--counter", "5", "next", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "Mời số M001 đến Quầy 5 (Công Thương). Còn 1 khách chờ.\n");
    fx_run_free(&r);
}

/* The clerk left out --site and --config (the site is then "default") or
 * mistyped it: nobody answers, and the message says which site was asked. */
static void test_wrong_site(void **state)
{
    (void)state;
    fx_run r;
    fx_counter(&F, &r, 1, "--broker", F.broker_addr, "--timeout", "2", "--counter", "5", "next",
               NULL);
    assert_int_equal(r.status, 4);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "Bộ điều khiển không trả lời sau 2 giây, và không có bộ điều "
                                  "khiển nào của trung tâm \"default\" (chủ đề qms/default/...)"));
    assert_non_null(strstr(r.err, "--site hoặc --config"));
    fx_run_free(&r);
    fx_counter(&F, &r, 1, "--broker", F.broker_addr, "--site", "dmeo", "--lang", "en", "--timeout",
               "2", "--counter", "5", "status", NULL);
    assert_int_equal(r.status, 4);
    assert_non_null(strstr(r.err, "no controller has announced itself on site \"dmeo\""));
    fx_run_free(&r);
}

static void test_unreachable_broker(void **state)
{
    (void)state;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", qms_test_free_port());
    fx_run r;
    fx_counter(&F, &r, 1, "--broker", addr, "--site", FX_SITE, "--counter", "5", "next", NULL);
    assert_int_equal(r.status, 3);
    assert_string_equal(r.out, "");
    char want[200];
    snprintf(want, sizeof want, "Không kết nối được tới máy chủ tin nhắn (broker) %s.", addr);
    assert_non_null(strstr(r.err, want));
    assert_true(r.ms < 6000);
    fx_run_free(&r);
}

/* The controller is frozen (SIGSTOP) when the clerk presses "next": the
 * client sends the request again with the same id; when the controller
 * thaws, it sees it twice and acts once. */
static void test_retry_acts_once(void **state)
{
    (void)state;
    char t0[16];
    int w0;
    assert_int_equal(fx_take(&F, "DT", 0, E[4]), 0);
    expect(0, NULL, "", "--counter", "5", "done", NULL); /* M001 finished */
    ctl_state(5, t0, &w0, NULL);
    assert_int_equal(w0, 2); /* E003 and the new one */
    fx_pump(&F, 100);
    int calls0 = F.ncalls;
    kill(F.ctl, SIGSTOP);
    pid_t thaw = fork();
    if (thaw == 0) {
        usleep(4500 * 1000); /* two resends at 2 s and 4 s */
        kill(F.ctl, SIGCONT);
        _exit(0);
    }
    fx_run r;
    fx_counter(&F, &r, 0, "--config", CFG, "-v", "--timeout", "15", "--counter", "5", "next", NULL);
    waitpid(thaw, NULL, 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Mời số E003 đến Quầy 5 (Đầu tư). Còn 1 khách chờ."));
    assert_non_null(strstr(r.err, "sending it again")); /* it did resend */
    assert_true(r.ms >= 4000);
    fx_run_free(&r);
    fx_pump(&F, 300);
    char t[16];
    int w;
    ctl_state(5, t, &w, NULL);
    assert_string_equal(t, "E003");
    assert_int_equal(w, w0 - 1); /* one citizen called, not three */
    assert_int_equal(F.ncalls, calls0 + 1);
}

/* The controller is down: the clerk is told so, and the request, which the
 * broker may hold for the controller, expires with the client's patience —
 * when the controller comes back it does not call anybody on its own. */
static void test_controller_down(void **state)
{
    (void)state;
    char t0[16];
    int w0;
    ctl_state(5, t0, &w0, NULL);
    fx_ctl_kill(&F, SIGKILL); /* its last will says "offline" */
    fx_pump(&F, 300);
    int calls0 = F.ncalls;
    fx_run r;
    fx_counter(&F, &r, 0, "--config", CFG, "--timeout", "2", "--counter", "5", "next", NULL);
    assert_int_equal(r.status, 4);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "Bộ điều khiển (qms-controller) đang ngừng hoạt động: lệnh chưa "
                               "được thực hiện.\n");
    fx_run_free(&r);
    fx_counter(&F, &r, 0, "--config", CFG, "--timeout", "2", "--lang", "en", "--counter", "5",
               "status", NULL);
    assert_int_equal(r.status, 4);
    assert_string_equal(r.err, "The controller (qms-controller) is offline: nothing was done.\n");
    fx_run_free(&r);
    usleep(1500 * 1000); /* past the requests' expiry */
    assert_int_equal(fx_ctl_start(&F), 0);
    fx_pump(&F, 500);
    char t[16];
    int w;
    ctl_state(5, t, &w, NULL);
    assert_string_equal(t, t0);
    assert_int_equal(w, w0);
    assert_int_equal(F.ncalls, calls0);
    /* and the counter works again */
    expect(0, NULL, "", "--counter", "5", "next", NULL);
}

static void test_long_queue(void **state)
{
    (void)state;
    char label[16], t[16];
    for (int i = 0; i < 22; i++)
        assert_int_equal(fx_take(&F, "CT", 0, label), 0);
    int w;
    ctl_state(5, t, &w, NULL);
    assert_true(w >= 22);
    fx_run r;
    fx_counter(&F, &r, 0, "--config", CFG, "--counter", "5", "queue", NULL);
    assert_int_equal(r.status, 0);
    /* the controller lists the next twenty; the rest is counted */
    assert_non_null(strstr(r.out, "\n 20. "));
    assert_null(strstr(r.out, "\n 21. "));
    char more[64];
    snprintf(more, sizeof more, "... và %d số nữa.\n", w - 20);
    assert_non_null(strstr(r.out, more));
    fx_run_free(&r);
}

/* Issue 11 #5: one-shot runs leave no retained device status behind (before,
 * each left qms/<site>/device/counter/<n>-cli/status "offline" forever, also
 * for counters that do not exist). Checked after these and all the earlier
 * one-shot runs of this file by an outside client, mosquitto_sub. */
static void test_no_retained_status_left(void **state)
{
    (void)state;
    static const char *const counters[] = {"5", "77", "5", "12"};
    for (int i = 0; i < 4; i++) {
        fx_run r;
        fx_counter(&F, &r, 0, "--config", CFG, "--counter", counters[i], "status", NULL);
        fx_run_free(&r);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mosquitto_sub -h 127.0.0.1 -p %d -V 5 -i retained-probe -t 'qms/%s/device/#'"
             " --retained-only -W 2 -v 2>&1",
             F.broker.port, FX_SITE);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    /* mosquitto_sub must have run (exit 27: its -W timeout, nothing more came) */
    if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 27))
        fail_msg("mosquitto_sub failed (status %d): %s", st, out);
    /* the controller's own status stays (it runs); no counter's does */
    if (strstr(out, "/device/counter/"))
        fail_msg("retained counter device statuses left behind:\n%s", out);
    assert_non_null(strstr(out, "/device/controller/"));
}

static void test_usage(void **state)
{
    (void)state;
    fx_run r;
    fx_counter(&F, &r, 0, "--counter", "5", "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
    fx_run_free(&r);
    fx_counter(&F, &r, 0, "next", NULL);
    assert_int_equal(r.status, 2);
    fx_run_free(&r);
    fx_counter(&F, &r, 0, "--counter", "5", "transfer", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--to-service"));
    fx_run_free(&r);
    fx_counter(&F, &r, 0, "--counter", "5", "rate", NULL);
    assert_int_equal(r.status, 2);
    fx_run_free(&r);
    fx_counter(&F, &r, 0, "--counter", "5", "-i", NULL); /* stdin is not a terminal here */
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "cần chạy trong một terminal"));
    fx_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_to_call),
        cmocka_unit_test(test_day_at_the_counter),
        cmocka_unit_test(test_counter_states),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_names_from_the_controller),
        cmocka_unit_test(test_wrong_site),
        cmocka_unit_test(test_unreachable_broker),
        cmocka_unit_test(test_retry_acts_once),
        cmocka_unit_test(test_controller_down),
        cmocka_unit_test(test_long_queue),
        cmocka_unit_test(test_no_retained_status_left),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
