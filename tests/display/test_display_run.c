/* qms-display as a program: a real mosquitto on a loopback port, the
 * retained topics and call events published exactly as docs/protocol.md
 * says, the display headless (SDL offscreen) writing a PNG (+ a dump of
 * every text drawn and its box) after each call and status change and a
 * WAV per announcement. */
#include "shots.h"
#include "support.h"
#include "tonepack.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/mqtt.h"

#include <SDL.h>
#include <SDL_image.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SITE "demo"

static qms_test_broker broker;
static qms_mqtt *pub;
static char work[256], shots[300], wavs[300], pack[300], logp[300];
static pid_t disp;

static void loop_ms(int ms)
{
    int64_t end = qms_mono_ms() + ms;
    while (qms_mono_ms() < end)
        qms_mqtt_loop(pub, 10);
}

static void connect_pub(void)
{
    qms_mqtt_opts o = {
        .port = broker.port, .client_id = "test-display-pub", .site = SITE, .device_kind = "test"};
    assert_int_equal(qms_mqtt_new(&o, &pub), QMS_OK);
    int64_t end = qms_mono_ms() + 5000;
    while (!qms_mqtt_connected(pub) && qms_mono_ms() < end)
        qms_mqtt_loop(pub, 20);
    assert_true(qms_mqtt_connected(pub));
}

static int calls_seen; /* call events the test's own client heard */

static void count_call(void *ud, const qms_mqtt_msg *m)
{
    (void)ud;
    (void)m;
    calls_seen++;
}

static void publish(const char *suffix, const char *payload, int retain)
{
    char t[200];
    qms_topic(t, sizeof t, SITE, suffix);
    assert_int_equal(qms_mqtt_publish(pub, t, payload, strlen(payload), 1, retain), QMS_OK);
    qms_mqtt_loop(pub, 5);
}

static int64_t now_ms(void)
{
    return qms_now(&qms_clock_real);
}

static void publish_call(const char *ticket, int counter, int seq, int recall, int64_t at)
{
    char p[300];
    snprintf(p, sizeof p,
             "{\"ticket\":\"%s\",\"counter\":%d,\"counter_name_vi\":\"Quầy %d\",\"service\":\"TP\","
             "\"recall\":%s,\"at_ms\":%lld,\"seq\":%d}",
             ticket, counter, counter, recall ? "true" : "false", (long long)at, seq);
    publish("call", p, 0);
}

/* What a controller would have left retained after a morning's work. */
static void publish_retained_state(int64_t t)
{
    char *cfg;
    size_t len;
    assert_int_equal(qms_read_file(QMS_EXAMPLES "/center.json", &cfg, &len, 1 << 20), QMS_OK);
    publish("config", cfg, 1);
    qms_free(cfg);
    publish("device/controller/main/status", "{\"state\":\"online\"}", 1);
    char p[600];
    for (int n = 1; n <= 6; n++) {
        snprintf(
            p, sizeof p,
            "{\"counter\":%d,\"state\":\"%s\",\"ticket\":\"%s%03d\",\"ticket_state\":\"serving\","
            "\"service\":\"TP\",\"staff\":\"\",\"since_ms\":%lld,\"waiting\":3}",
            n, n == 6 ? "paused" : "open", n % 2 ? "A" : "B", 40 + n, (long long)t);
        char topic[64];
        snprintf(topic, sizeof topic, "counter/%d/state", n);
        publish(topic, p, 1);
    }
    snprintf(
        p, sizeof p,
        "{\"at_ms\":%lld,\"day\":\"x\",\"services\":[{\"code\":\"TP\",\"waiting\":4,"
        "\"longest_wait_s\":610,\"eta_s\":540,\"taken\":40,\"served\":31,\"noshow\":2,"
        "\"transferred\":1,\"mean_wait_s\":420},{\"code\":\"DD\",\"waiting\":11,\"eta_s\":2400}],"
        "\"today\":{\"taken\":40,\"served\":31,\"noshow\":2,\"mean_wait_s\":400,\"ratings\":0,"
        "\"satisfied_share\":null}}",
        (long long)t);
    publish("stats", p, 1);
    snprintf(
        p, sizeof p,
        "{\"calls\":[{\"ticket\":\"A045\",\"counter\":5,\"counter_name_vi\":\"Quầy 5\","
        "\"service\":\"TP\",\"recall\":false,\"at_ms\":%lld,\"seq\":5},"
        "{\"ticket\":\"B044\",\"counter\":4,\"service\":\"DD\",\"recall\":false,\"at_ms\":%lld,"
        "\"seq\":4},"
        "{\"ticket\":\"A043\",\"counter\":3,\"service\":\"TP\",\"recall\":false,\"at_ms\":%lld,"
        "\"seq\":3}]}",
        (long long)(t - 1000), (long long)(t - 2000), (long long)(t - 3000));
    publish("calls/recent", p, 1);
    loop_ms(100);
}

static int wait_file(const char *path, int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    struct stat st;
    while (qms_mono_ms() < end) {
        if (stat(path, &st) == 0)
            return 0;
        if (pub)
            qms_mqtt_loop(pub, 20);
        else
            poll(NULL, 0, 20);
    }
    return -1;
}

/* The name of the first file in dir starting with prefix and ending with suffix. */
static int find_file(const char *dir, const char *prefix, const char *suffix, char *out, size_t cap,
                     int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    do {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t l = strlen(e->d_name), sl = strlen(suffix);
            if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && l >= sl &&
                strcmp(e->d_name + l - sl, suffix) == 0) {
                snprintf(out, cap, "%s/%s", dir, e->d_name);
                closedir(d);
                return 0;
            }
        }
        if (d)
            closedir(d);
        if (pub)
            qms_mqtt_loop(pub, 20);
        else
            poll(NULL, 0, 20);
    } while (qms_mono_ms() < end);
    return -1;
}

/* Wait for the board's first status shot <status> after shot number after;
 * its number, or -1. */
static int wait_status(int after, const char *status, char *out, size_t cap, int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    int nn;
    while ((nn = status_shot(shots, after, status, out, cap)) < 0 && qms_mono_ms() < end) {
        if (pub)
            qms_mqtt_loop(pub, 20);
        else
            poll(NULL, 0, 20);
    }
    return nn;
}

static char *slurp(const char *path)
{
    char *t = NULL;
    size_t len;
    if (qms_read_file(path, &t, &len, 16 << 20) != QMS_OK)
        return NULL;
    return t;
}

/* Does the dump hold a text of region with exactly s? (s NULL: any) */
static int dump_has(const char *dump, const char *region, const char *s)
{
    char *t = slurp(dump);
    assert_non_null(t);
    int found = 0;
    for (char *line = strtok(t, "\n"); line && !found; line = strtok(NULL, "\n")) {
        char reg[64], str[1024];
        int v[8];
        char st[16];
        if (sscanf(line, "text\t%63[^\t]\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%15[^\t]\t%1023[^\n]",
                   reg, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], st, str) == 11 &&
            strcmp(reg, region) == 0 && (!s || strcmp(str, s) == 0))
            found = 1;
    }
    qms_free(t);
    return found;
}

/* Every text inside its box and the screen, none too big for its box;
 * returns the number of texts shortened with an ellipsis. */
static int dump_check_layout(const char *dump, int *w_out, int *h_out)
{
    char *t = slurp(dump);
    assert_non_null(t);
    int sw = 0, sh = 0, texts = 0, cuts = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (sscanf(line, "screen\t%d\t%d", &sw, &sh) == 2)
            continue;
        char reg[64], st[16], str[1024];
        int x, y, w, h, bx, by, bw, bh;
        if (sscanf(line, "text\t%63[^\t]\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%15[^\t]\t%1023[^\n]",
                   reg, &x, &y, &w, &h, &bx, &by, &bw, &bh, st, str) != 11)
            continue;
        texts++;
        if (x < bx || y < by || x + w > bx + bw || y + h > by + bh || x < 0 || y < 0 ||
            x + w > sw || y + h > sh || strcmp(st, "over") == 0 ||
            strcmp(st, "missing_glyph") == 0) {
            print_error("%s: \"%s\" %d,%d %dx%d outside its box %d,%d %dx%d (%s)\n", dump, str, x,
                        y, w, h, bx, by, bw, bh, st);
            fail();
        }
        if (strcmp(st, "cut") == 0) {
            print_message("shortened: %s \"%s\"\n", reg, str);
            cuts++;
        }
    }
    qms_free(t);
    assert_true(texts > 10);
    if (w_out)
        *w_out = sw;
    if (h_out)
        *h_out = sh;
    return cuts;
}

static void check_png(const char *png, int w, int h)
{
    SDL_Surface *s = IMG_Load(png);
    assert_non_null(s);
    assert_int_equal(s->w, w);
    assert_int_equal(s->h, h);
    SDL_FreeSurface(s);
}

static void start_display(char **extra)
{
    char port[32];
    snprintf(port, sizeof port, "127.0.0.1:%d", broker.port);
    char *argv[40] = {(char *)qms_test_bin("qms-display"),
                      "--config",
                      (char *)QMS_EXAMPLES "/center.json",
                      "--broker",
                      port,
                      "--screenshot-dir",
                      shots,
                      "--wav-dir",
                      wavs,
                      "--mute"};
    int n = 10;
    for (int i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    disp = qms_test_spawn(argv, logp);
    assert_true(disp > 0);
}

static void stop_display(void)
{
    if (disp > 0) {
        kill(disp, SIGTERM);
        int rc = qms_test_wait_pid(disp, 10000);
        if (rc < 0) {
            kill(disp, SIGKILL);
            qms_test_wait_pid(disp, 5000);
        }
        disp = 0;
        assert_int_equal(rc, 0); /* a clean stop */
    }
}

static int setup(void **state)
{
    (void)state;
    if (qms_test_tmpdir(work, sizeof work, "display"))
        return -1;
    calls_seen = 0;
    snprintf(shots, sizeof shots, "%s/shots", work);
    snprintf(wavs, sizeof wavs, "%s/wavs", work);
    snprintf(pack, sizeof pack, "%s/pack", work);
    snprintf(logp, sizeof logp, "%s/display.log", work);
    mkdir(pack, 0755);
    if (tonepack_make(pack) != QMS_OK)
        return -1;
    return qms_test_broker_start(&broker, 0);
}

static int teardown(void **state)
{
    (void)state;
    if (disp > 0) {
        kill(disp, SIGKILL);
        qms_test_wait_pid(disp, 5000);
    }
    if (pub)
        qms_mqtt_free(pub);
    pub = NULL;
    qms_test_broker_stop(&broker);
    if (getenv("QMS_KEEP"))
        fprintf(stderr, "kept %s\n", work);
    else
        qms_test_rmdir(work);
    return 0;
}

static void show_log(void)
{
    char *t = slurp(logp);
    if (t)
        print_message("--- display log ---\n%s", t);
    qms_free(t);
}

/* Start after calls already happened; calls, a recall and a duplicate;
 * the announcements; the controller going away; the broker going away. */
static void test_board_follows_the_controller(void **state)
{
    (void)state;
    connect_pub();
    int64_t t = now_ms();
    publish_retained_state(t);
    char *extra[] = {"--voice-dir", pack, "--blink-s", "3", "--page-s", "600", NULL};
    start_display(extra);

    /* 1. the first frame already shows the retained state */
    char first_png[400], first_txt[400];
    snprintf(first_png, sizeof first_png, "%s/first.png", shots);
    snprintf(first_txt, sizeof first_txt, "%s/first.txt", shots);
    if (wait_file(first_png, 30000) != 0)
        show_log();
    assert_int_equal(wait_file(first_txt, 1000), 0);
    assert_true(dump_has(first_txt, "current_ticket", "A045"));
    assert_true(dump_has(first_txt, "current_counter", "đến Quầy 5"));
    assert_true(dump_has(first_txt, "recent_ticket", "B044"));
    assert_true(dump_has(first_txt, "recent_ticket", "A043"));
    assert_true(dump_has(first_txt, "counter_ticket", "A041"));
    assert_true(dump_has(first_txt, "counter_ticket", "B042"));
    assert_true(dump_has(first_txt, "counter_paused", "Tạm dừng"));
    assert_false(dump_has(first_txt, "counter_ticket", "B046")); /* counter 6 is paused */
    assert_true(dump_has(first_txt, "service_name", "Tư pháp - Hộ tịch"));
    assert_true(dump_has(first_txt, "service_waiting", "4"));
    assert_true(dump_has(first_txt, "service_eta", "~9 phút"));
    assert_true(dump_has(first_txt, "name", "Trung tâm Phục vụ hành chính công tỉnh Mẫu"));
    assert_false(dump_has(first_txt, "banner_broker", NULL));
    assert_false(dump_has(first_txt, "banner_controller", NULL));
    int w, h;
    assert_int_equal(dump_check_layout(first_txt, &w, &h), 0);
    assert_int_equal(w, 1920);
    assert_int_equal(h, 1080);
    check_png(first_png, 1920, 1080);

    /* 2. calls faster than speech, a recall, a duplicate delivery. The
     * display is held still while they are published, so all four wait in
     * its socket when it goes on: they come faster than speech however
     * slowly a loaded machine runs it (each screenshot it saves between
     * them takes a few hundred ms, more than a spoken call on a busy
     * machine). */
    char call_topic[200];
    qms_topic(call_topic, sizeof call_topic, SITE, "call");
    qms_mqtt_set_callbacks(pub, count_call, NULL, NULL);
    assert_int_equal(qms_mqtt_subscribe(pub, call_topic, 1), QMS_OK);
    assert_int_equal(kill(disp, SIGSTOP), 0);
    t = now_ms();
    publish_call("A101", 1, 10, 0, t);
    publish_call("B202", 12, 11, 0, t + 1);
    publish_call("B202", 12, 11, 0, t + 1); /* same seq: a redelivery */
    publish_call("A101", 1, 12, 1, t + 2);
    /* the broker hands a message to every subscriber at once: when our copy
     * of the last is back, the display's are on their way too */
    int64_t held = qms_mono_ms() + 30000;
    while (calls_seen < 4 && qms_mono_ms() < held)
        qms_mqtt_loop(pub, 20);
    assert_int_equal(kill(disp, SIGCONT), 0);
    assert_int_equal(calls_seen, 4);
    char png[400], txt[400];
    snprintf(png, sizeof png, "%s/call-0001-A101-c1.png", shots);
    assert_int_equal(wait_file(png, 30000), 0);
    snprintf(txt, sizeof txt, "%s/call-0001-A101-c1.txt", shots);
    assert_true(dump_has(txt, "current_ticket", "A101"));
    assert_true(dump_has(txt, "current_counter", "đến Quầy 1"));
    assert_true(dump_has(txt, "recent_ticket", "A045"));  /* the old current moved down */
    assert_true(dump_has(txt, "counter_ticket", "A101")); /* counter 1 shows it already */
    assert_int_equal(dump_check_layout(txt, NULL, NULL), 0);
    snprintf(png, sizeof png, "%s/call-0002-B202-c12.png", shots);
    assert_int_equal(wait_file(png, 30000), 0);
    snprintf(txt, sizeof txt, "%s/call-0002-B202-c12.txt", shots);
    assert_true(dump_has(txt, "current_ticket", "B202"));
    assert_true(dump_has(txt, "recent_ticket", "A101"));
    snprintf(png, sizeof png, "%s/call-0003-A101-c1-recall.png", shots);
    assert_int_equal(wait_file(png, 30000), 0);
    snprintf(txt, sizeof txt, "%s/call-0003-A101-c1-recall.txt", shots);
    assert_true(dump_has(txt, "current_ticket", "A101"));
    assert_true(dump_has(txt, "current_title", "Mời khách hàng số (gọi lại)"));
    assert_false(dump_has(txt, "recent_ticket", "A101")); /* not twice on the board */
    assert_true(dump_has(txt, "recent_ticket", "B202"));
    check_png(png, 1920, 1080);

    /* 3. three announcements, one after the other, in call order */
    char man[400];
    snprintf(man, sizeof man, "%s/announcements.jsonl", wavs);
    const char *want[3] = {"A101", "B202", "A101"};
    int64_t end = qms_mono_ms() + 60000;
    int lines = 0;
    while (qms_mono_ms() < end) {
        char *m = slurp(man);
        lines = 0;
        for (char *p = m; p && (p = strchr(p, '\n')); p++)
            lines++;
        qms_free(m);
        if (lines >= 3)
            break;
        loop_ms(100);
    }
    assert_int_equal(lines, 3);
    char *m = slurp(man);
    int64_t prev_end = 0;
    int i = 0;
    for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n"), i++) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "ticket")->valuestring, want[i]);
        int64_t st = (int64_t)cJSON_GetObjectItem(j, "start_ms")->valuedouble;
        int64_t en = (int64_t)cJSON_GetObjectItem(j, "end_ms")->valuedouble;
        int64_t q = (int64_t)cJSON_GetObjectItem(j, "queued_ms")->valuedouble;
        assert_true(st >= prev_end);
        if (i > 0)
            assert_true(q < prev_end); /* the call came while the last one was spoken */
        char wav[600];
        snprintf(wav, sizeof wav, "%s/%s", wavs, cJSON_GetObjectItem(j, "file")->valuestring);
        SDL_AudioSpec spec;
        Uint8 *buf;
        Uint32 len;
        assert_non_null(SDL_LoadWAV(wav, &spec, &buf, &len));
        assert_int_equal(spec.freq, QMS_VOICE_RATE);
        assert_int_equal(spec.channels, 1);
        /* its length is what the display says it played */
        assert_int_equal((int64_t)len / 2 * 1000 / QMS_VOICE_RATE, en - st);
        /* chime, "mời khách hàng số", label, "đến quầy số", counter */
        cJSON *clips = cJSON_GetObjectItem(j, "clips");
        assert_string_equal(cJSON_GetArrayItem(clips, 0)->valuestring, "chime");
        assert_string_equal(cJSON_GetArrayItem(clips, 1)->valuestring, "vi_moi");
        SDL_FreeWAV(buf);
        prev_end = en;
        cJSON_Delete(j);
    }
    qms_free(m);
    /* the duplicate made no fourth call */
    assert_int_not_equal(find_file(shots, "call-0004", ".png", png, sizeof png, 300), 0);

    /* 4. the controller goes away (its last will) and comes back */
    publish("device/controller/main/status", "{\"state\":\"offline\"}", 1);
    int down = wait_status(0, "controller_down", txt, sizeof txt, 30000);
    assert_true(down > 0);
    assert_true(dump_has(txt, "banner_controller", NULL));
    assert_true(dump_has(txt, "current_ticket", "A101")); /* last known state stays */
    publish("device/controller/main/status", "{\"state\":\"online\"}", 1);
    char ok1[400];
    int up = wait_status(down, "ok", ok1, sizeof ok1, 30000);
    assert_true(up > down);
    assert_false(dump_has(ok1, "banner_controller", NULL));

    /* 5. the broker goes away, and comes back on the same port (empty: the
     * controller would republish its retained state; here the test does) */
    qms_mqtt_free(pub);
    pub = NULL;
    int port = broker.port;
    qms_test_broker_stop(&broker);
    down = wait_status(up, "broker_down", txt, sizeof txt, 30000);
    assert_true(down > up);
    assert_true(dump_has(txt, "banner_broker", "MẤT KẾT NỐI VỚI MÁY CHỦ — đang kết nối lại…"));
    assert_int_equal(dump_check_layout(txt, NULL, NULL), 0);
    assert_int_equal(qms_test_broker_start(&broker, port), 0);
    connect_pub();
    publish_retained_state(now_ms());
    assert_true(wait_status(down, "ok", txt, sizeof txt, 30000) > down);
    assert_false(dump_has(txt, "banner_broker", NULL));
    /* and follows events again */
    publish_call("C303", 7, 20, 0, now_ms());
    snprintf(png, sizeof png, "%s/call-0004-C303-c7.png", shots);
    if (wait_file(png, 30000) != 0)
        show_log();
    assert_int_equal(wait_file(png, 1), 0);
    stop_display();
}

/* Portrait, English, no voice pack, and a broker that is not there yet. */
static void test_portrait_english_no_pack_late_broker(void **state)
{
    (void)state;
    int port = broker.port;
    qms_test_broker_stop(&broker);
    char none[400];
    snprintf(none, sizeof none, "%s/no-pack", work);
    char *extra[] = {"--voice-dir",
                     none,
                     "--portrait",
                     "--lang",
                     "en",
                     "--page-s",
                     "600",
                     "--notice",
                     "Giờ làm việc: 7:30 – 11:30 và 13:30 – 17:00. Xin cảm ơn quý khách!",
                     NULL};
    broker.port = port;
    start_display(extra);
    char png[400], txt[400];
    snprintf(png, sizeof png, "%s/first.png", shots);
    snprintf(txt, sizeof txt, "%s/first.txt", shots);
    assert_int_equal(wait_file(txt, 30000), 0);
    int w, h;
    dump_check_layout(txt, &w, &h);
    assert_int_equal(w, 1080);
    assert_int_equal(h, 1920);
    assert_true(dump_has(txt, "banner_broker", "NO CONNECTION TO THE SERVER — reconnecting…"));
    assert_int_equal(wait_file(png, 30000), 0);
    check_png(png, 1080, 1920);
    /* the broker arrives: the board fills in by itself */
    assert_int_equal(qms_test_broker_start(&broker, port), 0);
    connect_pub();
    publish_retained_state(now_ms());
    assert_true(wait_status(0, "ok", txt, sizeof txt, 30000) > 0);
    assert_true(dump_has(txt, "current_ticket", "A045"));
    assert_true(dump_has(txt, "service_name", "Justice and civil status"));
    assert_true(dump_has(txt, "service_eta", "~9 min"));
    assert_true(dump_has(txt, "counters_title", "Counters"));
    assert_int_equal(dump_check_layout(txt, NULL, NULL), 0);
    publish_call("A102", 2, 30, 0, now_ms());
    snprintf(png, sizeof png, "%s/call-0001-A102-c2.png", shots);
    assert_int_equal(wait_file(png, 30000), 0);
    snprintf(txt, sizeof txt, "%s/call-0001-A102-c2.txt", shots);
    assert_true(dump_has(txt, "current_counter", "at Counter 2"));
    assert_int_equal(dump_check_layout(txt, NULL, NULL), 0);
    /* silent: a line says so, no WAV is written */
    char man[400];
    snprintf(man, sizeof man, "%s/announcements.jsonl", wavs);
    assert_int_equal(wait_file(man, 30000), 0);
    char *m = slurp(man);
    assert_non_null(strstr(m, "\"silent\":true"));
    qms_free(m);
    assert_int_not_equal(find_file(wavs, "", ".wav", png, sizeof png, 200), 0);
    stop_display();
    char *lg = slurp(logp);
    assert_non_null(strstr(lg, "no voice pack found"));
    qms_free(lg);
}

/* Bad command lines are refused with a message, not a crash. */
static void test_bad_arguments(void **state)
{
    (void)state;
    char *a1[] = {(char *)qms_test_bin("qms-display"),
                  "--config",
                  "/nonexistent.json",
                  "--broker",
                  "127.0.0.1:1",
                  NULL};
    pid_t p = qms_test_spawn(a1, logp);
    assert_int_equal(qms_test_wait_pid(p, 10000), 2);
    char *a2[] = {(char *)qms_test_bin("qms-display"),
                  "--config",
                  (char *)QMS_EXAMPLES "/center.json",
                  "--broker",
                  "127.0.0.1:99999",
                  NULL};
    p = qms_test_spawn(a2, logp);
    assert_int_equal(qms_test_wait_pid(p, 10000), 2);
    char *a3[] = {(char *)qms_test_bin("qms-display"),
                  "--config",
                  (char *)QMS_EXAMPLES "/center.json",
                  "--broker",
                  "127.0.0.1:1",
                  "--repeat",
                  "0",
                  NULL};
    p = qms_test_spawn(a3, logp);
    assert_int_equal(qms_test_wait_pid(p, 10000), 2);
    /* a value that is not one of the documented words is refused, not
     * silently taken as the default */
    char *a4[] = {(char *)qms_test_bin("qms-display"),
                  "--config",
                  (char *)QMS_EXAMPLES "/center.json",
                  "--broker",
                  "127.0.0.1:1",
                  "--read",
                  "digit",
                  NULL};
    p = qms_test_spawn(a4, logp);
    assert_int_equal(qms_test_wait_pid(p, 10000), 2);
    char *lg = slurp(logp);
    assert_non_null(strstr(lg, "--read is whole or digits"));
    qms_free(lg);
    a4[5] = "--dialect";
    a4[6] = "southern";
    p = qms_test_spawn(a4, logp);
    assert_int_equal(qms_test_wait_pid(p, 10000), 2);
    /* the same in a display file, named */
    char file[400];
    snprintf(file, sizeof file, "%s/display.json", work);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("{\"site\":\"demo\",\"display\":{\"lang\":\"vi\",\"dialect\":\"sud\"}}", f);
    fclose(f);
    char *a5[] = {
        (char *)qms_test_bin("qms-display"), "--config", file, "--broker", "127.0.0.1:1", NULL};
    p = qms_test_spawn(a5, logp);
    assert_int_equal(qms_test_wait_pid(p, 10000), 2);
    lg = slurp(logp);
    assert_non_null(strstr(lg, "\"dialect\""));
    qms_free(lg);
    /* --help is an answer, not an error: exit 0, even without --config */
    char *a6[] = {(char *)qms_test_bin("qms-display"), "--help", NULL};
    char helplog[400];
    snprintf(helplog, sizeof helplog, "%s/help.log", work);
    p = qms_test_spawn(a6, helplog);
    assert_int_equal(qms_test_wait_pid(p, 10000), 0);
    lg = slurp(helplog);
    assert_non_null(strstr(lg, "usage: qms-display"));
    qms_free(lg);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    qms_mqtt_lib_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_board_follows_the_controller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portrait_english_no_pack_late_broker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
