/* qms-counter's terminal mode in a real terminal: tmux (a terminal emulator
 * that keeps the screen and prints it back) runs `qms-counter -i` against a
 * real mosquitto and the real qms-controller; the test presses keys and
 * reads what the screen shows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "counter_fixture.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static fixture F;
static char sock[320];
static char exit_file[320];

/* Run tmux with args; its stdout into out (if not NULL). Returns its status. */
static int tmux(char *out, size_t cap, const char *first, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = "tmux";
    argv[n++] = "-u"; /* UTF-8, whatever the locale says */
    argv[n++] = "-S";
    argv[n++] = sock;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2); /* "no server running" after the session ended */
        close(p[0]);
        close(p[1]);
        setenv("LANG", "C.UTF-8", 1);
        unsetenv("TMUX");
        execvp("tmux", argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    char buf[4096];
    ssize_t k;
    while ((k = read(p[0], buf, sizeof buf)) > 0) {
        if (out && len + (size_t)k < cap) {
            memcpy(out + len, buf, (size_t)k);
            len += (size_t)k;
        }
        /* the test's own MQTT session stays alive meanwhile */
    }
    close(p[0]);
    if (out)
        out[len] = 0;
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Start the terminal in a fresh tmux session "qc" (100x32). A server that
 * is still going away after kill-server refuses a new session for a moment:
 * ask again for up to 5 s. */
static int tmux_start(const char *cmd)
{
    for (int i = 0; i < 50; i++) {
        if (tmux(NULL, 0, "-f", "/dev/null", "new-session", "-d", "-s", "qc", "-x", "100", "-y",
                 "32", cmd, NULL) == 0)
            return 0;
        tmux(NULL, 0, "kill-server", NULL);
        usleep(100 * 1000);
    }
    return -1;
}

static char screen[16384];

static const char *capture(void)
{
    if (tmux(screen, sizeof screen, "capture-pane", "-p", "-t", "qc", NULL) != 0)
        screen[0] = 0;
    return screen;
}

/* Wait until the screen shows want (or, with absent, no longer shows it). */
static void wait_screen_ex(const char *want, int absent, int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    for (;;) {
        capture();
        int has = strstr(screen, want) != NULL;
        if (has != absent)
            return;
        if (qms_mono_ms() > end)
            fail_msg("the screen %s \"%s\":\n%s", absent ? "still shows" : "does not show", want,
                     screen);
        fx_pump(&F, 50);
    }
}

static void wait_screen(const char *want)
{
    wait_screen_ex(want, 0, 20000); /* what must come: generous under load (ASan, ctest -j) */
}

static void keys(const char *k)
{
    assert_int_equal(tmux(NULL, 0, "send-keys", "-t", "qc", "-l", k, NULL), 0);
}

static void key(const char *name) /* "Enter", "Escape" */
{
    assert_int_equal(tmux(NULL, 0, "send-keys", "-t", "qc", name, NULL), 0);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fx_start(&F), 0);
    F.config = NULL; /* the next group's center is the sample one unless it says */
    snprintf(sock, sizeof sock, "%s/tmux.sock", F.dir);
    snprintf(exit_file, sizeof exit_file, "%s/exit", F.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tmux(NULL, 0, "kill-server", NULL);
    fx_stop(&F);
    return 0;
}

static void test_terminal(void **state)
{
    (void)state;
    char l[8][16];
    assert_int_equal(fx_take(&F, "DT", 0, l[0]), 0); /* E001 */
    assert_int_equal(fx_take(&F, "DT", 0, l[1]), 0); /* E002 */
    assert_int_equal(fx_take(&F, "DT", 0, l[2]), 0); /* E003 */
    assert_int_equal(fx_take(&F, "CT", 1, l[3]), 0); /* M001, priority */

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --counter 5 --broker %s --site %s --config %s -i; echo $? > %s",
             qms_test_bin("qms-counter"), F.broker_addr, FX_SITE,
             qms_test_src("examples/center.json"), exit_file);
    assert_int_equal(tmux_start(cmd), 0);

    /* what a clerk sees on arrival: Vietnamese intact, the count, the list */
    wait_screen("QMS · Quầy 5 · Trung tâm Phục vụ hành chính công tỉnh Mẫu");
    wait_screen("Trạng thái: đang mở");
    wait_screen("Số hiện tại: (chưa gọi số nào)");
    wait_screen("Khách chờ cho quầy này: 4");
    /* the controller's list, in call order: the priority ticket first */
    wait_screen("   1. M001   Công Thương");
    wait_screen("   2. E001   Đầu tư");
    wait_screen("   4. E003   Đầu tư");
    wait_screen("[n] gọi tiếp  [r] gọi lại  [s] vắng mặt");
    /* the terminal is the counter's device: online while it runs */
    for (int i = 0; i < 100 && !strstr(F.counter5_status, "online"); i++)
        fx_pump(&F, 50);
    assert_string_equal(F.counter5_status,
                        "{\"state\":\"online\",\"counter\":5,\"mode\":\"terminal\"}");

    /* next: the priority ticket */
    keys("n");
    wait_screen(">> Mời số M001 đến Quầy 5 (Công Thương). Còn 3 khách chờ.");
    wait_screen("Số hiện tại: M001 — Công Thương — đã gọi, chờ khách đến");
    wait_screen("Khách chờ cho quầy này: 3");
    wait_screen("Gọi gần đây: M001→Q5");
    keys("r");
    wait_screen(">> Đã gọi lại số M001 đến Quầy 5.");
    keys("b");
    wait_screen("Số hiện tại: M001 — Công Thương — đang phục vụ");
    keys("d");
    wait_screen(">> Đã phục vụ xong số M001. Còn 3 khách chờ.");
    wait_screen("Số hiện tại: (chưa gọi số nào)");
    keys("4");
    wait_screen(">> Đã ghi đánh giá 4 (Rất hài lòng) cho số M001.");
    keys("7");
    wait_screen("!! Đánh giá từ 1 đến 4");

    /* a citizen takes a ticket elsewhere: the count follows without a key */
    char e4[16];
    assert_int_equal(fx_take(&F, "DT", 0, e4), 0);
    wait_screen("Khách chờ cho quầy này: 4");
    wait_screen("   4. E004   Đầu tư");

    /* transfer, through the prompts */
    keys("n");
    wait_screen(">> Mời số E001 đến Quầy 5 (Đầu tư). Còn 3 khách chờ.");
    keys("t");
    wait_screen("Chuyển sang dịch vụ (mã; Enter = giữ dịch vụ, Esc để thôi): _");
    wait_screen("KD Đăng ký kinh doanh");
    keys("kd");
    wait_screen("Chuyển sang dịch vụ (mã; Enter = giữ dịch vụ, Esc để thôi): kd_");
    key("Enter");
    wait_screen("Đến quầy số (Enter = quầy nào cũng được): _");
    key("Enter");
    wait_screen(">> Đã chuyển số E001 sang Đăng ký kinh doanh; số giữ nguyên thứ tự chờ.");
    wait_screen("Khách chờ cho quầy này: 4");

    /* a prompt left with Esc does nothing */
    keys("c");
    wait_screen("Gọi số (Enter để gọi, Esc để thôi): _");
    keys("e0");
    key("Escape");
    wait_screen_ex("Gọi số (Enter", 1, 20000);
    wait_screen("Số hiện tại: (chưa gọi số nào)");

    /* pause: calls refused until resumed */
    keys("p");
    wait_screen("Trạng thái: tạm dừng");
    keys("n");
    wait_screen("!! Quầy đang tạm dừng hoặc đã đóng");
    keys("p");
    wait_screen("Trạng thái: đang mở");

    /* call a number */
    keys("c");
    keys("e003");
    key("Enter");
    wait_screen(">> Mời số E003 đến Quầy 5 (Đầu tư).");
    wait_screen("Số hiện tại: E003 — Đầu tư — đã gọi, chờ khách đến");
    keys("s");
    wait_screen(">> Đã ghi số E003 vắng mặt");

    /* open with a staff name typed in Vietnamese */
    keys("o");
    wait_screen("Mở quầy — mã hoặc tên nhân viên (Enter để tiếp, Esc để thôi): _");
    keys("Trần Văn Bình");
    wait_screen("Trần Văn Bình_");
    keys("x"); /* a typed letter, not the close key */
    key("BSpace");
    key("Enter");
    /* no staff list at this center: no code needed, Enter sends none */
    wait_screen("Mã đăng nhập của nhân viên (Enter để mở quầy, Esc để thôi): _");
    key("Enter");
    wait_screen("Trạng thái: đang mở · Nhân viên: Trần Văn Bình");
    (void)state;
}

static void test_faults(void **state)
{
    (void)state;
    /* the broker goes away: a plain line, keys refused, then back */
    int port = F.broker.port;
    qms_test_broker_stop(&F.broker);
    wait_screen("!! Không kết nối được tới máy chủ tin nhắn (broker) 127.0.0.1:");
    keys("n");
    wait_screen("!! Chưa kết nối được máy chủ: lệnh chưa được gửi");
    assert_int_equal(qms_test_broker_start(&F.broker, port), 0);
    wait_screen_ex("Không kết nối được tới máy chủ tin nhắn", 1, 15000);
    /* the controller reconnected too: commands work again */
    for (int i = 0; i < 100 && !qms_mqtt_connected(F.m); i++)
        fx_pump(&F, 50);
    keys("g");
    wait_screen("Trạng thái: đang mở · Nhân viên: Trần Văn Bình");
    keys("n");
    wait_screen(">> Mời số E001 đến Quầy 5 (Đăng ký kinh doanh).");

    /* the controller stops: the clerk is told */
    fx_ctl_kill(&F, SIGTERM);
    wait_screen("!! Bộ điều khiển (qms-controller) đang ngừng hoạt động");
    keys("n");
    wait_screen("!! Bộ điều khiển đang ngừng hoạt động: lệnh chưa được gửi");
    assert_int_equal(fx_ctl_start(&F), 0);
    wait_screen_ex("đang ngừng hoạt động", 1, 20000);

    /* a narrower terminal: every line fits */
    assert_int_equal(tmux(NULL, 0, "resize-window", "-t", "qc", "-x", "60", "-y", "24", NULL), 0);
    wait_screen("[n] gọi tiếp");
    wait_screen("[q] thoát"); /* no key is cut off: the help wraps */
    fx_pump(&F, 1200);        /* a redraw at the new size */
    capture();
    for (char *line = screen; *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        size_t cols = 0;
        for (size_t i = 0; i < n; i++)
            cols += ((unsigned char)line[i] & 0xC0) != 0x80;
        if (cols > 60)
            fail_msg("a line wider than the terminal: %.*s", (int)n, line);
        line = end ? end + 1 : line + n;
    }

    /* q quits, with status 0, and the session ends */
    keys("q");
    int64_t end = qms_mono_ms() + 5000;
    char *text = NULL;
    size_t len;
    while (qms_read_file(exit_file, &text, &len, 64) != QMS_OK && qms_mono_ms() < end)
        fx_pump(&F, 50);
    assert_non_null(text);
    assert_string_equal(text, "0\n");
    qms_free(text);
    for (int i = 0; i < 100 && !strstr(F.counter5_status, "offline"); i++)
        fx_pump(&F, 50);
    assert_string_equal(F.counter5_status, "{\"state\":\"offline\"}");
}

/* The screen line holding label (as "N. label "); fails if none. */
static const char *screen_line(const char *label, char *out, size_t cap)
{
    char want[32];
    snprintf(want, sizeof want, ". %s ", label);
    const char *p = strstr(screen, want);
    if (!p)
        fail_msg("no line for %s:\n%s", label, screen);
    const char *b = p, *e = strchr(p, '\n');
    while (b > screen && b[-1] != '\n')
        b--;
    size_t n = e ? (size_t)(e - b) : strlen(b);
    snprintf(out, cap, "%.*s", (int)n, b);
    return out;
}

static void expect_in(const char *line, const char *want)
{
    if (!strstr(line, want))
        fail_msg("the line \"%s\" does not show \"%s\"", line, want);
}

/* The waiting list as a clerk needs it: priority marks and appointment
 * references, the minutes each citizen has waited (on the controller's
 * clock), and how many more wait than the screen can show. */
static void test_waiting_list(void **state)
{
    (void)state;
    char e1[16], m1[16], e3[16], appt[16];
    assert_int_equal(fx_take(&F, "DT", 0, e1), 0); /* E001 */
    assert_int_equal(fx_take(&F, "CT", 1, m1), 0); /* M001, priority */
    /* a citizen who booked the 09:00 slot checks in with the booking's code */
    char topic[128], *reply = NULL, code[16] = "", json[256];
    qms_topic(topic, sizeof topic, FX_SITE, "booking/make");
    assert_int_equal(qms_mqtt_request_sync(F.m, topic,
                                           "{\"req\":\"wl-book\",\"service\":\"DT\","
                                           "\"day\":\"2026-11-26\",\"slot\":\"09:00\","
                                           "\"cccd\":\"001099012345\"}",
                                           5000, &reply),
                     QMS_OK);
    const char *c = strstr(reply, "\"code\":\"");
    assert_non_null(c);
    assert_int_equal(sscanf(c, "\"code\":\"%15[^\"]", code), 1);
    qms_free(reply);
    qms_topic(topic, sizeof topic, FX_SITE, "ticket/take");
    snprintf(json, sizeof json, "{\"req\":\"wl-appt\",\"service\":\"DT\",\"appointment\":\"%s\"}",
             code);
    assert_int_equal(qms_mqtt_request_sync(F.m, topic, json, 5000, &reply), QMS_OK);
    assert_non_null(strstr(reply, "\"ticket\":\"E002\""));
    qms_free(reply);
    snprintf(appt, sizeof appt, "E002");

    /* twelve and a half minutes later (the controller restarted on a later
     * clock; the store keeps when each ticket was taken), one more citizen */
    fx_ctl_kill(&F, SIGTERM);
    F.clock = "2026-11-26T09:12:30";
    assert_int_equal(fx_ctl_start(&F), 0);
    assert_int_equal(fx_take(&F, "DT", 0, e3), 0); /* E003, just taken */

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --counter 5 --broker %s --site %s --config %s -i; echo $? > %s",
             qms_test_bin("qms-counter"), F.broker_addr, FX_SITE,
             qms_test_src("examples/center.json"), exit_file);
    assert_int_equal(tmux_start(cmd), 0);
    wait_screen("Khách chờ cho quầy này: 4");
    wait_screen("4. E003");
    char l[512];
    /* the appointment first, with its reference; then the priority citizen */
    expect_in(screen_line(appt, l, sizeof l), "   1. E002   Đầu tư");
    char mark[64];
    snprintf(mark, sizeof mark, "chờ 12 phút  [lịch hẹn %s]", code);
    expect_in(l, mark);
    expect_in(screen_line(m1, l, sizeof l), "   2. M001   Công Thương");
    expect_in(l, "chờ 12 phút  [ưu tiên]");
    expect_in(screen_line(e1, l, sizeof l), "   3. E001   Đầu tư");
    expect_in(l, "chờ 12 phút");
    assert_null(strstr(l, "["));
    expect_in(screen_line(e3, l, sizeof l), "   4. E003   Đầu tư");
    expect_in(l, "chờ <1 phút");

    /* the one-shot list says the same, by the controller's clock too */
    fx_run run;
    fx_counter(&F, &run, 0, "--config", qms_test_src("examples/center.json"), "--counter", "5",
               "queue", NULL);
    assert_int_equal(run.status, 0);
    char line2[96];
    snprintf(line2, sizeof line2, "E002   Đầu tư [lịch hẹn %s], chờ 12 phút", code);
    if (!strstr(run.out, line2) ||
        !strstr(run.out, "M001   Công Thương [ưu tiên], chờ 12 phút") ||
        !strstr(run.out, "E003   Đầu tư, chờ 0 phút"))
        fail_msg("qms-counter queue printed:\n%s", run.out);
    fx_run_free(&run);

    /* more than fit: the list is cut, the rest counted; the screen's
     * "and N more" agrees with the rows it shows */
    for (int i = 0; i < 30; i++) {
        char lb[16];
        assert_int_equal(fx_take(&F, "KD", 0, lb), 0);
    }
    wait_screen("Khách chờ cho quầy này: 34");
    wait_screen("... và ");
    int rows = 0;
    for (const char *p = screen; *p;) {
        int n;
        char dot, sp;
        /* a list row starts "  NN. " */
        if (sscanf(p, "%d%c%c", &n, &dot, &sp) == 3 && dot == '.' && sp == ' ' && n == rows + 1)
            rows++;
        const char *e = strchr(p, '\n');
        p = e ? e + 1 : p + strlen(p);
    }
    assert_true(rows >= 10 && rows < 34);
    char more[64];
    snprintf(more, sizeof more, "... và %d số nữa", 34 - rows);
    wait_screen(more);
    keys("q");
    int64_t end = qms_mono_ms() + 5000;
    char *text = NULL;
    size_t len;
    while (qms_read_file(exit_file, &text, &len, 64) != QMS_OK && qms_mono_ms() < end)
        fx_pump(&F, 50);
    assert_non_null(text);
    qms_free(text);
}

/* Send a counter-5 command; the reply must not be a refusal. */
static void cmd5(const char *json)
{
    char *r = fx_counter_cmd(&F, 5, json);
    assert_non_null(r);
    if (strstr(r, "\"error\""))
        fail_msg("%s refused: %s", json, r);
    qms_free(r);
}

/* A clerk who starts the terminal mid-morning sees the calls made before it
 * started (the retained calls/recent), newest first, recalls marked; calls
 * made afterwards join the list in front. */
static void test_recent_at_start(void **state)
{
    (void)state;
    char l[3][16];
    assert_int_equal(fx_take(&F, "DT", 0, l[0]), 0); /* E001 */
    assert_int_equal(fx_take(&F, "DT", 0, l[1]), 0); /* E002 */
    assert_int_equal(fx_take(&F, "DT", 0, l[2]), 0); /* E003 */
    cmd5("{\"req\":\"rc-1\",\"op\":\"next\"}");      /* E001 */
    cmd5("{\"req\":\"rc-2\",\"op\":\"recall\"}");    /* E001 again */
    cmd5("{\"req\":\"rc-3\",\"op\":\"next\"}");      /* E002 */

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --counter 5 --broker %s --site %s --config %s -i; echo $? > %s",
             qms_test_bin("qms-counter"), F.broker_addr, FX_SITE,
             qms_test_src("examples/center.json"), exit_file);
    assert_int_equal(tmux_start(cmd), 0);
    wait_screen("Khách chờ cho quầy này: 1");
    wait_screen("Gọi gần đây: E002→Q5  E001→Q5 (gọi lại)  E001→Q5");
    /* a call from the terminal itself goes in front, once */
    keys("n");
    wait_screen(">> Mời số E003 đến Quầy 5 (Đầu tư).");
    wait_screen("Gọi gần đây: E003→Q5  E002→Q5  E001→Q5 (gọi lại)  E001→Q5");
    fx_pump(&F, 300); /* the controller's new calls/recent arrives too: same list */
    wait_screen("Gọi gần đây: E003→Q5  E002→Q5  E001→Q5 (gọi lại)  E001→Q5");
    keys("q");
    int64_t end = qms_mono_ms() + 5000;
    char *text = NULL;
    size_t len;
    while (qms_read_file(exit_file, &text, &len, 64) != QMS_OK && qms_mono_ms() < end)
        fx_pump(&F, 50);
    assert_non_null(text);
    qms_free(text);
}

/* The alerts that concern the clerk, and only those (issue 13): the center
 * alerts on a wait over 3 s and a pause over 2 s; tickets wait for DT
 * (counter 5's service) and DD (not its service), counter 3 is paused. The
 * screen of counter 5 shows the DT wait alert, not DD's nor counter 3's
 * pause; when counter 5 itself pauses, its pause alert appears, and goes
 * when it resumes. */
static char alert_dir[300], alert_cfg[400];

static int setup_alerts(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(qms_test_src("examples/center.json"), &text, &len, 1 << 22))
        return -1;
    char *brace = strchr(text, '{');
    if (!brace)
        return -1;
    memset(&F, 0, sizeof F);
    if (qms_test_tmpdir(alert_dir, sizeof alert_dir, "counter-alerts"))
        return -1;
    snprintf(alert_cfg, sizeof alert_cfg, "%s/center.json", alert_dir);
    FILE *f = fopen(alert_cfg, "w");
    if (!f)
        return -1;
    /* and a staff list: nv01 signs in with code 4711 (its hash by qms-provision) */
    char hash[256] = "", cmd[600];
    snprintf(cmd, sizeof cmd, "echo 4711 | %s --staff-hash", qms_test_bin("qms-provision"));
    FILE *h = popen(cmd, "r");
    if (!h || !fgets(hash, sizeof hash, h))
        return -1;
    pclose(h);
    hash[strcspn(hash, "\n")] = 0;
    fprintf(f,
            "{\"alert_wait_s\":3,\"alert_pause_s\":2,\"staff\":[{\"id\":\"nv01\",\"name\":"
            "\"Nguyễn Văn A\",\"code_hash\":\"%s\"}],%s",
            hash, brace + 1);
    fclose(f);
    qms_free(text);
    F.config = alert_cfg;
    assert_int_equal(fx_start(&F), 0);
    F.config = NULL;
    snprintf(sock, sizeof sock, "%s/tmux.sock", F.dir);
    snprintf(exit_file, sizeof exit_file, "%s/exit", F.dir);
    return 0;
}

static int teardown_alerts(void **state)
{
    teardown(state);
    qms_test_rmdir(alert_dir);
    return 0;
}

static void test_alerts_for_this_counter(void **state)
{
    (void)state;
    char l[2][16];
    assert_int_equal(fx_take(&F, "DT", 0, l[0]), 0);
    assert_int_equal(fx_take(&F, "DD", 0, l[1]), 0);
    char *r = fx_counter_cmd(&F, 3, "{\"req\":\"al-p3\",\"op\":\"pause\"}");
    assert_non_null(r);
    qms_free(r);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --counter 5 --broker %s --site %s --config %s -i; echo $? > %s",
             qms_test_bin("qms-counter"), F.broker_addr, FX_SITE, alert_cfg, exit_file);
    assert_int_equal(tmux_start(cmd), 0);
    wait_screen("Cảnh báo: Đầu tư: có người chờ quá");
    fx_pump(&F, 4000); /* long enough for counter 3's pause and DD's wait to be alerts too */
    capture();
    if (strstr(screen, "Đất đai: có người chờ") || strstr(screen, "Quầy 3 tạm dừng"))
        fail_msg("counter 5 shows another counter's alerts:\n%s", screen);
    keys("p");
    wait_screen("Cảnh báo: Quầy 5 tạm dừng quá");
    printf("%s\n", screen);
    keys("p");
    wait_screen_ex("Quầy 5 tạm dừng quá", 1, 20000);
    keys("q");
}

/* Signing in with a staff code (issue 9) at a center with a staff list: the
 * code is asked after the id, shown as stars; a wrong code is refused with
 * the controller's reason and the counter stays as it was; the right one
 * opens the counter with the staff id, which the controller's retained
 * state carries. */
static void test_sign_in_with_code(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --counter 4 --broker %s --site %s --config %s -i; echo $? > %s",
             qms_test_bin("qms-counter"), F.broker_addr, FX_SITE, alert_cfg, exit_file);
    tmux(NULL, 0, "kill-server", NULL);
    assert_int_equal(tmux_start(cmd), 0);
    wait_screen("Quầy 4");
    keys("o");
    wait_screen("Mở quầy — mã hoặc tên nhân viên");
    keys("nv01");
    key("Enter");
    wait_screen("Mã đăng nhập của nhân viên (Enter để mở quầy, Esc để thôi): _");
    keys("4712");
    wait_screen("Esc để thôi): ****_");
    capture();
    if (strstr(screen, "4712"))
        fail_msg("the code is shown:\n%s", screen);
    key("Enter");
    wait_screen("!! Mã nhân viên hoặc mã đăng nhập không đúng");
    capture();
    if (strstr(screen, "Nhân viên: nv01"))
        fail_msg("a wrong code signed nv01 in:\n%s", screen);
    printf("wrong code:\n%s\n", screen);
    keys("o");
    wait_screen("Mở quầy — mã hoặc tên nhân viên");
    keys("nv01");
    key("Enter");
    wait_screen("Mã đăng nhập của nhân viên");
    keys("4711");
    key("Enter");
    wait_screen("Nhân viên: nv01");
    /* the controller says so too (its retained state, read by mosquitto_sub) */
    char sub[512], got[2048] = "";
    snprintf(sub, sizeof sub, "mosquitto_sub -h 127.0.0.1 -p %d -t %s/counter/4/state -C 1 -W 10",
             F.broker.port, "qms/" FX_SITE);
    FILE *p = popen(sub, "r");
    assert_non_null(p);
    size_t n = fread(got, 1, sizeof got - 1, p);
    got[n] = 0;
    pclose(p);
    if (!strstr(got, "\"staff\":\"nv01\""))
        fail_msg("the controller's state: %s", got);
    keys("q");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminal),
        cmocka_unit_test(test_faults),
    };
    /* a fresh center for the waiting list */
    const struct CMUnitTest list_tests[] = {
        cmocka_unit_test(test_waiting_list),
    };
    /* and one for the calls made before the terminal started */
    const struct CMUnitTest recent_tests[] = {
        cmocka_unit_test(test_recent_at_start),
    };
    /* and one whose alerts come within seconds */
    const struct CMUnitTest alert_tests[] = {
        cmocka_unit_test(test_alerts_for_this_counter),
        cmocka_unit_test(test_sign_in_with_code),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    rc += cmocka_run_group_tests(alert_tests, setup_alerts, teardown_alerts);
    rc += cmocka_run_group_tests(list_tests, setup, teardown);
    rc += cmocka_run_group_tests(recent_tests, setup, teardown);
    return rc;
}
