/* Benchmarks of qms-display. One JSON object per line:
 *   voice_render   build one announcement from the generated pack (µs)
 *   echo_floor     publish -> receive our own message through the broker (ms)
 *   call_to_png    publish a call -> its screenshot file exists (ms)
 *   frame          full frame render time as the display logs it (ms)
 *   cpu_idle       display CPU share over a quiet window (%)
 *   cpu_blink      display CPU share while the current call blinks (%)
 *   cpu_notice     display CPU share with a scrolling notice (%)
 *   png_save       saving a 1920x1080 screenshot (ms; only with --screenshot-dir)
 * Run by hand: build/bin/bench_display [seconds per CPU window, default 10]. */
#include "support.h"
#include "voice.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/mqtt.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static qms_mqtt *pub;
static int64_t echo_at;

static void on_msg(void *ud, const qms_mqtt_msg *m)
{
    (void)ud;
    if (strstr(m->topic, "bench/echo"))
        echo_at = qms_mono_ns();
}

static void pump(int ms)
{
    int64_t end = qms_mono_ms() + ms;
    while (qms_mono_ms() < end)
        qms_mqtt_loop(pub, 5);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats_line(const char *name, const char *unit, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf("{\"bench\":\"%s\",\"unit\":\"%s\",\"n\":%d,\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
           "\"max\":%.3f}\n",
           name, unit, n, sum / n, v[n / 2], v[n * 9 / 10], v[n - 1]);
}

int main(int argc, char **argv)
{
    int window = argc > 1 ? atoi(argv[1]) : 10;
    if (window < 2)
        window = 2;
    signal(SIGPIPE, SIG_IGN);

    /* announcement build time, from the pack the build generated */
    qms_voice_opts vo = {.dirs = {QMS_VOICE_DIR}, .ndirs = 1, .lang = "vi", .repeat = 1};
    qms_voice *v;
    if (qms_voice_new(&vo, &v) == QMS_OK && qms_voice_has_pack(v)) {
        double t[200];
        for (int i = 0; i < 200; i++) {
            char label[8];
            snprintf(label, sizeof label, "A%03d", i * 7 % 1000);
            int16_t *pcm;
            size_t n;
            int64_t a = qms_mono_ns();
            qms_voice_render(v, label, 1 + i % 16, &pcm, &n);
            t[i] = (double)(qms_mono_ns() - a) / 1e3;
            qms_free(pcm);
        }
        stats_line("voice_render", "us", t, 200);
    }
    qms_voice_free(v);

    qms_test_broker b;
    if (qms_test_broker_start(&b, 0) != 0)
        return 1;
    qms_mqtt_lib_init();
    qms_mqtt_opts o = {.port = b.port, .client_id = "bench-display", .site = "demo"};
    qms_mqtt_new(&o, &pub);
    qms_mqtt_set_callbacks(pub, on_msg, NULL, NULL);
    qms_mqtt_subscribe(pub, "qms/demo/bench/echo", 1);
    while (!qms_mqtt_connected(pub))
        qms_mqtt_loop(pub, 20);
    pump(100);
    double echo[50];
    for (int i = 0; i < 50; i++) {
        echo_at = 0;
        int64_t a = qms_mono_ns();
        qms_mqtt_publish(pub, "qms/demo/bench/echo", "x", 1, 1, 0);
        while (!echo_at)
            qms_mqtt_loop(pub, 5);
        echo[i] = (double)(echo_at - a) / 1e6;
    }
    stats_line("echo_floor", "ms", echo, 50);

    char *cfg;
    size_t len;
    qms_read_file(QMS_EXAMPLES "/center.json", &cfg, &len, 1 << 20);
    qms_mqtt_publish(pub, "qms/demo/config", cfg, len, 1, 1);
    qms_free(cfg);
    qms_mqtt_publish(pub, "qms/demo/device/controller/1/status", "{\"state\":\"online\"}", 18, 1,
                     1);
    for (int n = 1; n <= 16; n++) {
        char t[64], p[256];
        snprintf(t, sizeof t, "qms/demo/counter/%d/state", n);
        snprintf(p, sizeof p, "{\"counter\":%d,\"state\":\"open\",\"ticket\":\"A%03d\"}", n, n);
        qms_mqtt_publish(pub, t, p, strlen(p), 1, 1);
    }
    pump(100);

    char dir[256], shots[300], logp[300], port[32];
    qms_test_tmpdir(dir, sizeof dir, "bench-display");
    snprintf(shots, sizeof shots, "%s/shots", dir);
    snprintf(logp, sizeof logp, "%s/display.log", dir);
    snprintf(port, sizeof port, "127.0.0.1:%d", b.port);
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "dummy", 1);
    char *argv_d[] = {(char *)qms_test_bin("qms-display"),
                      "--config",
                      (char *)QMS_EXAMPLES "/center.json",
                      "--broker",
                      port,
                      "--screenshot-dir",
                      shots,
                      "--mute",
                      "--blink-s",
                      "20",
                      NULL};
    pid_t pid = qms_test_spawn(argv_d, logp);
    char first[400];
    snprintf(first, sizeof first, "%s/first.png", shots);
    struct stat st;
    while (stat(first, &st) != 0)
        pump(20);
    pump(1500);

    /* quiet: nothing changes but the clock */
    double c0 = qms_test_cpu_s(pid);
    pump(window * 1000);
    double idle = (qms_test_cpu_s(pid) - c0) / window * 100;
    printf("{\"bench\":\"cpu_idle\",\"unit\":\"%%\",\"window_s\":%d,\"value\":%.3f}\n", window,
           idle);

    /* calls: time until their screenshot exists */
    double lat[20];
    int nl = 0;
    for (int i = 0; i < 20; i++) {
        char p[256], png[400];
        snprintf(p, sizeof p,
                 "{\"ticket\":\"B%03d\",\"counter\":%d,\"recall\":false,\"at_ms\":%lld,\"seq\":%d}",
                 i, 1 + i % 16, (long long)qms_now(&qms_clock_real), 100 + i);
        snprintf(png, sizeof png, "%s/call-%04d-B%03d-c%d.png", shots, i + 1, i, 1 + i % 16);
        int64_t a = qms_mono_ns();
        qms_mqtt_publish(pub, "qms/demo/call", p, strlen(p), 1, 0);
        int64_t end = qms_mono_ms() + 5000;
        while (stat(png, &st) != 0 && qms_mono_ms() < end)
            qms_mqtt_loop(pub, 1);
        if (stat(png, &st) == 0)
            lat[nl++] = (double)(qms_mono_ns() - a) / 1e6;
        pump(300);
    }
    if (nl)
        stats_line("call_to_png", "ms", lat, nl);

    /* the last call blinks for 20 s: CPU while it does */
    c0 = qms_test_cpu_s(pid);
    int bw = window < 15 ? window : 15;
    pump(bw * 1000);
    double blink = (qms_test_cpu_s(pid) - c0) / bw * 100;
    printf("{\"bench\":\"cpu_blink\",\"unit\":\"%%\",\"window_s\":%d,\"value\":%.3f}\n", bw, blink);

    kill(pid, SIGTERM);
    qms_test_wait_pid(pid, 5000);
    /* frame times from the display's own log */
    char *lg;
    double fr[64], pn[64];
    int nf = 0, np = 0;
    if (qms_read_file(logp, &lg, &len, 1 << 24) == QMS_OK) {
        for (char *p = lg; (p = strstr(p, "(frame ")) && nf < 64; p++)
            fr[nf++] = atof(p + 7);
        for (char *p = lg; (p = strstr(p, ", png ")) && np < 64; p++)
            pn[np++] = atof(p + 6);
        qms_free(lg);
    }
    if (nf > 1)
        stats_line("frame_1920x1080_software", "ms", fr + 1, nf - 1); /* the first opens fonts */
    if (np > 1)
        stats_line("png_save_1920x1080", "ms", pn + 1, np - 1);

    /* the same board with a scrolling notice: it redraws at ~30 frames/s */
    char shots2[320];
    snprintf(shots2, sizeof shots2, "%s/shots2", dir);
    char *argv_n[] = {(char *)qms_test_bin("qms-display"),
                      "--config",
                      (char *)QMS_EXAMPLES "/center.json",
                      "--broker",
                      port,
                      "--screenshot-dir",
                      shots2,
                      "--mute",
                      "--notice",
                      "Giờ làm việc: 7:30 – 11:30 và 13:30 – 17:00. Xin cảm ơn quý khách!",
                      NULL};
    pid = qms_test_spawn(argv_n, NULL);
    snprintf(first, sizeof first, "%s/first.png", shots2);
    while (stat(first, &st) != 0)
        pump(20);
    pump(1000);
    c0 = qms_test_cpu_s(pid);
    pump(window * 1000);
    double notice = (qms_test_cpu_s(pid) - c0) / window * 100;
    printf("{\"bench\":\"cpu_notice\",\"unit\":\"%%\",\"window_s\":%d,\"value\":%.3f}\n", window,
           notice);
    kill(pid, SIGTERM);
    qms_test_wait_pid(pid, 5000);
    qms_mqtt_free(pub);
    qms_test_broker_stop(&b);
    qms_test_rmdir(dir);
    qms_mqtt_lib_cleanup();
    return 0;
}
