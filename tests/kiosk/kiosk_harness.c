#include "kiosk_harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STATUS 16

/* Retained device statuses seen by the test's client, by topic. */
static struct {
    char topic[160];
    char payload[512];
} statuses[MAX_STATUS];
static int ctrl_online;

#define MAX_WATCH 8
static struct {
    char topic[160];
    int count;
    char last[1024]; /* the last payload seen (cut to fit) */
} watched[MAX_WATCH];

static void on_msg(void *ud, const qms_mqtt_msg *msg)
{
    (void)ud;
    for (int i = 0; i < MAX_WATCH; i++)
        if (watched[i].topic[0] && !strcmp(watched[i].topic, msg->topic)) {
            watched[i].count++;
            int n = msg->len < (int)sizeof watched[i].last - 1 ? msg->len
                                                               : (int)sizeof watched[i].last - 1;
            memcpy(watched[i].last, msg->payload, (size_t)n);
            watched[i].last[n] = 0;
            return;
        }
    int slot = -1;
    for (int i = 0; i < MAX_STATUS; i++)
        if (!strcmp(statuses[i].topic, msg->topic) || (slot < 0 && !statuses[i].topic[0]))
            slot = i;
    char text[512];
    int n = msg->len < (int)sizeof text - 1 ? msg->len : (int)sizeof text - 1;
    memcpy(text, msg->payload, n > 0 ? (size_t)n : 0);
    text[n > 0 ? n : 0] = 0;
    if (strstr(msg->topic, "/device/controller/"))
        ctrl_online = strstr(text, "\"online\"") != NULL;
    if (slot < 0)
        return;
    snprintf(statuses[slot].topic, sizeof statuses[slot].topic, "%s", msg->topic);
    snprintf(statuses[slot].payload, sizeof statuses[slot].payload, "%s", text);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

void kh_line(char *s, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s + n, cap - n, fmt, ap);
    va_end(ap);
    n = strlen(s);
    if (n + 1 < cap) {
        s[n] = '\n';
        s[n + 1] = 0;
    }
}

int kh_world_start(kh_world *w, const char *center_json)
{
    memset(w, 0, sizeof *w);
    memset(statuses, 0, sizeof statuses);
    memset(watched, 0, sizeof watched);
    ctrl_online = 0;
    w->vp.in_fd = w->vp.out_fd = -1;
    if (qms_test_tmpdir(w->dir, sizeof w->dir, "kiosk"))
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (!center_json) {
        if (qms_read_file(QMS_EXAMPLES "/center.json", &text, &len, 1 << 22))
            return -1;
        center_json = text;
    }
    qms_config *c = NULL;
    char err[256];
    int rc = qms_config_parse_json(center_json, strlen(center_json), &c, err, sizeof err);
    if (rc) {
        fprintf(stderr, "harness: bad center config: %s\n", err);
        qms_free(text);
        return -1;
    }
    snprintf(w->site, sizeof w->site, "%s", c->site);
    qms_config_free(c);
    snprintf(w->center_path, sizeof w->center_path, "%s/center.json", w->dir);
    rc = write_file(w->center_path, center_json);
    qms_free(text);
    if (rc)
        return -1;
    snprintf(w->vp_dir, sizeof w->vp_dir, "%s/paper", w->dir);
    mkdir(w->vp_dir, 0755);
    if (qms_test_broker_start(&w->broker, 0))
        return -1;
    qms_mqtt_lib_init();
    char id[64];
    snprintf(id, sizeof id, "kiosk-test-%d", (int)getpid());
    qms_mqtt_opts o = {.host = "127.0.0.1",
                       .port = w->broker.port,
                       .client_id = id,
                       .site = w->site,
                       .device_kind = "test"};
    if (qms_mqtt_new(&o, &w->m))
        return -1;
    qms_mqtt_set_callbacks(w->m, on_msg, NULL, w);
    char t[160];
    snprintf(t, sizeof t, "qms/%s/device/+/+/status", w->site);
    qms_mqtt_subscribe(w->m, t, 1);
    int64_t end = qms_mono_ms() + 5000;
    while (!qms_mqtt_connected(w->m) && qms_mono_ms() < end)
        qms_mqtt_loop(w->m, 20);
    return qms_mqtt_connected(w->m) ? 0 : -1;
}

void kh_world_stop(kh_world *w)
{
    kh_vprinter_stop(w);
    kh_controller_stop(w);
    if (w->m)
        qms_mqtt_free(w->m);
    w->m = NULL;
    qms_test_broker_stop(&w->broker);
    if (!getenv("QMS_KEEP_TMP"))
        qms_test_rmdir(w->dir);
    else
        fprintf(stderr, "harness: kept %s\n", w->dir);
}

int kh_controller_start(kh_world *w, const char *clock_iso)
{
    char db[320], log[320];
    snprintf(db, sizeof db, "%s/ctrl.db", w->dir);
    snprintf(log, sizeof log, "%s/ctrl-%d.log", w->dir, ++w->ctrl_runs);
    ctrl_online = 0;
    w->ctrl = qms_test_controller_spawn(w->center_path, db, w->broker.port, clock_iso, NULL, log);
    if (w->ctrl <= 0)
        return -1;
    int64_t end = qms_mono_ms() + 10000;
    while (!ctrl_online && qms_mono_ms() < end)
        qms_mqtt_loop(w->m, 20);
    if (!ctrl_online)
        fprintf(stderr, "harness: controller did not come online (log %s)\n", log);
    return ctrl_online ? 0 : -1;
}

void kh_controller_stop(kh_world *w)
{
    if (w->ctrl <= 0)
        return;
    kill(w->ctrl, SIGTERM);
    if (qms_test_wait_pid(w->ctrl, 10000) < 0) {
        kill(w->ctrl, SIGKILL);
        qms_test_wait_pid(w->ctrl, 5000);
    }
    w->ctrl = 0;
    /* its clean stop publishes "offline"; see it arrive */
    int64_t end = qms_mono_ms() + 3000;
    while (ctrl_online && qms_mono_ms() < end)
        qms_mqtt_loop(w->m, 20);
}

static int vp_line(kh_world *w, char *out, size_t outlen, int timeout_ms)
{
    return qms_test_proc_line(&w->vp, out, outlen, timeout_ms);
}

int kh_vprinter_start(kh_world *w)
{
    char log[320];
    snprintf(log, sizeof log, "%s/vprinter.log", w->dir);
    w->tickets = 0;
    return qms_test_vprinter_start(&w->vp, w->vp_dir, 0, NULL, log, w->pty, sizeof w->pty);
}

void kh_vprinter_stop(kh_world *w)
{
    qms_test_proc_stop(&w->vp, "quit", 3000);
}

/* Ticket lines that arrive while we wait for something else. */
static int ticket_q[256], abandoned_q[256], qh, qt;

static void note_line(const char *line)
{
    int n;
    if (sscanf(line, "ticket %d", &n) == 1 || sscanf(line, "abandoned %d", &n) == 1) {
        ticket_q[qt % 256] = n;
        abandoned_q[qt % 256] = line[0] == 'a';
        qt++;
    }
}

int kh_vprinter_cmd(kh_world *w, const char *line)
{
    if (qms_test_proc_send(&w->vp, line))
        return -1;
    for (;;) {
        char l[512];
        if (vp_line(w, l, sizeof l, 3000))
            return -1;
        if (!strncmp(l, "state ", 6))
            return 0;
        note_line(l);
    }
}

int kh_vprinter_next_ticket(kh_world *w, int timeout_ms, int *abandoned)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    while (qh == qt) {
        char l[512];
        int64_t left = end - qms_mono_ms();
        if (left <= 0 || vp_line(w, l, sizeof l, (int)left))
            return -1;
        note_line(l);
    }
    int n = ticket_q[qh % 256];
    if (abandoned)
        *abandoned = abandoned_q[qh % 256];
    qh++;
    w->tickets++;
    return n;
}

char *kh_vprinter_json(kh_world *w, int n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%d.json", w->vp_dir, n);
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 1 << 22))
        return NULL;
    return text;
}

const char *kh_kiosk_config(kh_world *w, const char *extra)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/kiosk.json", w->dir);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"site\":\"%s\",\"kiosk_id\":\"k1\",\"lang\":\"vi\","
             "\"qr_base\":\"http://qms.test/t/{site}/{day}/{ticket}?id={id}\","
             "\"printer\":{\"poll_s\":2,\"fault_poll_ms\":200},"
             "\"timeouts\":{\"startup_ms\":3000,\"take_ms\":3000},"
             "\"state_file\":\"kiosk.journal\"%s%s}",
             w->site, extra && *extra ? "," : "", extra ? extra : "");
    write_file(path, text);
    return path;
}

pid_t kh_kiosk_spawn(kh_world *w, const char *script, const char *const *args, char *log_out,
                     size_t log_len, char *trace_out, size_t trace_len)
{
    int run = ++w->kiosk_runs;
    char spath[320], log[320], trace[320], shots[320], port[32];
    snprintf(spath, sizeof spath, "%s/script-%d.txt", w->dir, run);
    snprintf(log, sizeof log, "%s/kiosk-%d.log", w->dir, run);
    snprintf(trace, sizeof trace, "%s/trace-%d.jsonl", w->dir, run);
    snprintf(shots, sizeof shots, "%s/shots", w->dir);
    snprintf(port, sizeof port, "127.0.0.1:%d", w->broker.port);
    if (write_file(spath, script))
        return -1;
    char kcfg[400];
    snprintf(kcfg, sizeof kcfg, "%s/kiosk.json", w->dir);
    if (access(kcfg, R_OK))
        kh_kiosk_config(w, NULL);
    char noprinter[320];
    snprintf(noprinter, sizeof noprinter, "%s/no-printer", w->dir);
    const char *argv[40];
    int k = 0;
    argv[k++] = qms_test_bin("qms-kiosk");
    argv[k++] = "--config";
    argv[k++] = kcfg;
    argv[k++] = "--broker";
    argv[k++] = port;
    argv[k++] = "--printer";
    argv[k++] = w->vp.pid > 0 ? w->pty : noprinter;
    argv[k++] = "--script";
    argv[k++] = spath;
    argv[k++] = "--screenshot-dir";
    argv[k++] = shots;
    argv[k++] = "--trace";
    argv[k++] = trace;
    argv[k++] = "--log-level";
    argv[k++] = "info";
    for (int i = 0; args && args[i] && k < 39; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    if (log_out)
        snprintf(log_out, log_len, "%s", log);
    if (trace_out)
        snprintf(trace_out, trace_len, "%s", trace);
    setenv("SDL_VIDEODRIVER", "offscreen", 0);
    return qms_test_spawn((char *const *)argv, log);
}

int kh_kiosk_run(kh_world *w, const char *script, const char *const *args, int timeout_ms,
                 char *log_out, size_t log_len, char *trace_out, size_t trace_len)
{
    char log[320];
    pid_t pid = kh_kiosk_spawn(w, script, args, log, sizeof log, trace_out, trace_len);
    if (log_out)
        snprintf(log_out, log_len, "%s", log);
    if (pid <= 0)
        return -1;
    /* keep our own client alive while the kiosk runs */
    int64_t end = qms_mono_ms() + timeout_ms;
    for (;;) {
        int st = qms_test_wait_pid(pid, 20);
        if (st >= 0)
            return st;
        qms_mqtt_loop(w->m, 0);
        if (qms_mono_ms() >= end) {
            kill(pid, SIGKILL);
            qms_test_wait_pid(pid, 3000);
            fprintf(stderr, "harness: kiosk killed after %d ms (log %s)\n", timeout_ms, log);
            return -1;
        }
    }
}

/* Is the file there and whole? The kiosk writes its screenshots in place,
 * so a PNG is whole once it ends with its IEND chunk (saving one can take
 * far longer than any fixed pause on a loaded machine). */
static int file_whole(const char *path)
{
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 4, ".png") != 0)
        return access(path, F_OK) == 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char tail[8];
    int ok = fseek(f, -8, SEEK_END) == 0 && fread(tail, 1, 8, f) == 8 &&
             memcmp(tail, "IEND\xae\x42\x60\x82", 8) == 0;
    fclose(f);
    return ok;
}

int kh_wait_file(const char *path, int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    while (!file_whole(path)) {
        if (qms_mono_ms() >= end)
            return -1;
        poll(NULL, 0, 10);
    }
    return 0;
}

int kh_counter_cmd(kh_world *w, int counter, const char *op, char *err, size_t errlen, char *ticket,
                   size_t ticketlen)
{
    static int seq;
    char topic[160], body[200];
    snprintf(topic, sizeof topic, "qms/%s/counter/%d/cmd", w->site, counter);
    snprintf(body, sizeof body, "{\"req\":\"kt-%d-%d\",\"op\":\"%s\"}", (int)getpid(), ++seq, op);
    char *reply = NULL;
    if (qms_mqtt_request_sync(w->m, topic, body, 5000, &reply))
        return -1;
    cJSON *js = cJSON_Parse(reply);
    qms_free(reply);
    if (!js)
        return -1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(js, "error");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(js, "ticket");
    const cJSON *wt = cJSON_GetObjectItemCaseSensitive(js, "waiting");
    if (err)
        snprintf(err, errlen, "%s", cJSON_IsString(e) ? e->valuestring : "");
    if (ticket)
        snprintf(ticket, ticketlen, "%s", cJSON_IsString(t) ? t->valuestring : "");
    int waiting = cJSON_IsNumber(wt) ? (int)wt->valuedouble : -1;
    cJSON_Delete(js);
    return waiting;
}

int kh_counter_waiting(kh_world *w, int counter)
{
    return kh_counter_cmd(w, counter, "status", NULL, 0, NULL, 0);
}

int kh_kiosk_status_wait(kh_world *w, const char *kiosk_id, const char *needle, int timeout_ms,
                         char *out, size_t outlen)
{
    char topic[160];
    snprintf(topic, sizeof topic, "qms/%s/device/kiosk/%s/status", w->site, kiosk_id);
    int64_t end = qms_mono_ms() + timeout_ms;
    out[0] = 0;
    for (;;) {
        for (int i = 0; i < MAX_STATUS; i++)
            if (!strcmp(statuses[i].topic, topic)) {
                snprintf(out, outlen, "%s", statuses[i].payload);
                if (strstr(out, needle))
                    return 0;
            }
        if (qms_mono_ms() >= end)
            return -1;
        qms_mqtt_loop(w->m, 20);
    }
}

int kh_watch(kh_world *w, const char *suffix)
{
    for (int i = 0; i < MAX_WATCH; i++)
        if (!watched[i].topic[0]) {
            snprintf(watched[i].topic, sizeof watched[i].topic, "qms/%s/%s", w->site, suffix);
            watched[i].count = 0;
            if (qms_mqtt_subscribe(w->m, watched[i].topic, 1))
                return -1;
            /* let the subscription reach the broker */
            int64_t end = qms_mono_ms() + 300;
            while (qms_mono_ms() < end)
                qms_mqtt_loop(w->m, 20);
            return 0;
        }
    return -1;
}

int kh_seen(kh_world *w, const char *suffix, int min, int timeout_ms)
{
    char topic[160];
    snprintf(topic, sizeof topic, "qms/%s/%s", w->site, suffix);
    int64_t end = qms_mono_ms() + timeout_ms;
    for (;;) {
        qms_mqtt_loop(w->m, 10);
        for (int i = 0; i < MAX_WATCH; i++)
            if (!strcmp(watched[i].topic, topic) &&
                (watched[i].count >= min || qms_mono_ms() >= end))
                return watched[i].count;
        if (qms_mono_ms() >= end)
            return -1;
    }
}

const char *kh_seen_last(kh_world *w, const char *suffix)
{
    char topic[160];
    snprintf(topic, sizeof topic, "qms/%s/%s", w->site, suffix);
    for (int i = 0; i < MAX_WATCH; i++)
        if (!strcmp(watched[i].topic, topic))
            return watched[i].last;
    return "";
}

void kh_controller_freeze(kh_world *w, int frozen)
{
    if (w->ctrl > 0)
        kill(w->ctrl, frozen ? SIGSTOP : SIGCONT);
}

int kh_wait_stopped(pid_t pid, int timeout_ms)
{
    int64_t end = qms_mono_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WUNTRACED | WNOHANG);
        if (r == pid)
            return WIFSTOPPED(st) ? 0 : -1; /* exited instead */
        if (r < 0 || qms_mono_ms() >= end)
            return -1;
        poll(NULL, 0, 10);
    }
}

void kh_kill9(pid_t pid)
{
    kill(pid, SIGKILL);
    qms_test_wait_pid(pid, 5000);
}

static sqlite3 *store_open(kh_world *w)
{
    char db[320];
    snprintf(db, sizeof db, "%s/ctrl.db", w->dir);
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, 5000);
    return h;
}

static int store_one(kh_world *w, const char *sql, long long id, kh_ticket *t)
{
    sqlite3 *h = store_open(w);
    if (!h)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (id)
            sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            t->id = sqlite3_column_int64(st, 0);
            snprintf(t->label, sizeof t->label, "%s", (const char *)sqlite3_column_text(st, 1));
            snprintf(t->state, sizeof t->state, "%s", (const char *)sqlite3_column_text(st, 2));
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rc;
}

int kh_store_newest(kh_world *w, kh_ticket *t)
{
    memset(t, 0, sizeof *t);
    return store_one(w, "SELECT id, label, state FROM tickets ORDER BY id DESC LIMIT 1", 0, t);
}

int kh_store_ticket(kh_world *w, long long id, kh_ticket *t)
{
    memset(t, 0, sizeof *t);
    return store_one(w, "SELECT id, label, state FROM tickets WHERE id = ?1", id, t);
}

int kh_store_waiting(kh_world *w, char *out, size_t outlen)
{
    out[0] = 0;
    sqlite3 *h = store_open(w);
    if (!h)
        return -1;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(h, "SELECT label FROM tickets WHERE state = 'waiting' ORDER BY label",
                           -1, &st, NULL) == SQLITE_OK) {
        n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            size_t k = strlen(out);
            snprintf(out + k, outlen - k, "%s%s", n ? "," : "", sqlite3_column_text(st, 0));
            n++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}
