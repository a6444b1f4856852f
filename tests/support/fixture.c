#include "fixture.h"

#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/mqtt.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a program on pipes ---- */

int qms_test_proc_start(qms_test_proc *p, char *const argv[], const char *log_path)
{
    memset(p, 0, sizeof *p);
    p->in_fd = p->out_fd = -1;
    int in[2], out[2];
    if (pipe(in))
        return -1;
    if (pipe(out)) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        /* die with the test: a failed assertion must not leave the program
         * holding ctest's output pipe open */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 2);
                close(fd);
            }
        }
        close(in[1]);
        close(out[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in_fd = in[1];
    p->out_fd = out[0];
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int qms_test_proc_line(qms_test_proc *p, char *line, size_t n, int timeout_ms)
{
    int64_t deadline = qms_mono_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->blen);
        if (nl) {
            size_t len = (size_t)(nl - p->buf);
            snprintf(line, n, "%.*s", (int)len, p->buf);
            memmove(p->buf, nl + 1, p->blen - len - 1);
            p->blen -= len + 1;
            return 0;
        }
        int64_t left = deadline - qms_mono_ms();
        if (left <= 0 || p->out_fd < 0 || p->blen >= sizeof p->buf - 1)
            return -1;
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        if (poll(&pf, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(p->out_fd, p->buf + p->blen, sizeof p->buf - 1 - p->blen);
        if (r == 0)
            return -1;
        if (r > 0)
            p->blen += (size_t)r;
    }
}

int qms_test_proc_send(qms_test_proc *p, const char *text)
{
    char l[1024];
    int n = snprintf(l, sizeof l, "%s\n", text);
    if (n < 0 || n >= (int)sizeof l || p->in_fd < 0)
        return -1;
    return write(p->in_fd, l, (size_t)n) == n ? 0 : -1;
}

int qms_test_proc_stop(qms_test_proc *p, const char *quit, int timeout_ms)
{
    int st = -1;
    if (p->pid > 0) {
        if (!quit || qms_test_proc_send(p, quit) != 0)
            kill(p->pid, SIGTERM);
        st = qms_test_wait_pid(p->pid, timeout_ms);
        if (st < 0) {
            kill(p->pid, SIGKILL);
            st = qms_test_wait_pid(p->pid, 5000);
        }
        p->pid = 0;
    }
    if (p->in_fd >= 0)
        close(p->in_fd);
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->in_fd = p->out_fd = -1;
    p->blen = 0;
    return st;
}

void qms_test_proc_kill(qms_test_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
}

/* ---- the programs ---- */

int qms_test_vprinter_start(qms_test_proc *p, const char *out_dir, int width,
                            const char *const *extra, const char *log_path, char *dev,
                            size_t devlen)
{
    char w[16];
    snprintf(w, sizeof w, "%d", width);
    const char *argv[16] = {qms_test_bin("qms-vprinter"), "--out", out_dir};
    int k = 3;
    if (width > 0) {
        argv[k++] = "--width";
        argv[k++] = w;
    }
    for (int i = 0; extra && extra[i] && k < 15; i++)
        argv[k++] = extra[i];
    argv[k] = NULL;
    if (qms_test_proc_start(p, (char *const *)argv, log_path))
        return -1;
    /* its first line is the pseudo-terminal's path; a loaded machine may
     * keep it off the CPU for a while */
    if (qms_test_proc_line(p, dev, devlen, QMS_TEST_WAIT_MS) || strncmp(dev, "/dev/", 5)) {
        fprintf(stderr, "fixture: qms-vprinter gave no pty (log %s)\n",
                log_path ? log_path : "stderr");
        return -1;
    }
    return 0;
}

pid_t qms_test_controller_spawn(const char *config, const char *db, int port, const char *clock,
                                const char *const *extra, const char *log_path)
{
    char broker[32];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", port);
    const char *argv[32] = {
        qms_test_bin("qms-controller"), "--config", config, "--db", db, "--broker", broker};
    int k = 7;
    if (clock) {
        argv[k++] = "--clock";
        argv[k++] = clock;
    }
    for (int i = 0; extra && extra[i] && k < 31; i++)
        argv[k++] = extra[i];
    argv[k] = NULL;
    return qms_test_spawn((char *const *)argv, log_path);
}

/* ---- MQTT ---- */

qms_mqtt *qms_test_client(const qms_mqtt_opts *o, int wait_ms)
{
    qms_mqtt_lib_init();
    qms_mqtt_opts c = *o;
    if (!c.host)
        c.host = "127.0.0.1";
    qms_mqtt *m = NULL;
    if (qms_mqtt_new(&c, &m))
        return NULL;
    int64_t end = qms_mono_ms() + wait_ms;
    while (!qms_mqtt_connected(m) && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    if (!qms_mqtt_connected(m)) {
        qms_mqtt_free(m);
        return NULL;
    }
    return m;
}

static void watch_on_msg(void *ud, const qms_mqtt_msg *msg)
{
    qms_test_watch *w = ud;
    if (w->n == w->cap) {
        int ncap = w->cap ? w->cap * 2 : 64;
        qms_test_msg *v = realloc(w->v, (size_t)ncap * sizeof *v);
        if (!v)
            return;
        w->v = v;
        w->cap = ncap;
    }
    qms_test_msg *m = &w->v[w->n++];
    m->topic = strdup(msg->topic);
    m->payload = strndup(msg->payload ? msg->payload : "", (size_t)msg->len);
    m->retained = msg->retained;
}

int qms_test_watch_start(qms_test_watch *w, const qms_mqtt_opts *o, const char *const *patterns)
{
    memset(w, 0, sizeof *w);
    w->m = qms_test_client(o, QMS_TEST_WAIT_MS);
    if (!w->m)
        return -1;
    qms_mqtt_set_callbacks(w->m, watch_on_msg, NULL, w);
    for (int i = 0; patterns && patterns[i]; i++)
        qms_mqtt_subscribe(w->m, patterns[i], 1);
    return 0;
}

void qms_test_watch_pump(qms_test_watch *w, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    do {
        qms_mqtt_loop(w->m, 10);
    } while (qms_mono_ms() < end);
}

int qms_test_watch_wait(qms_test_watch *w, int from, const char *topic, const char *needle, int ms)
{
    /* every caller waits for something that must come: a short limit only
     * makes a loaded (ASan, -j2) machine fail, never a correct test pass */
    if (ms < QMS_TEST_WAIT_MS)
        ms = QMS_TEST_WAIT_MS;
    int64_t end = qms_mono_ms() + ms;
    for (;;) {
        for (int i = from; i < w->n; i++)
            if (strcmp(w->v[i].topic, topic) == 0 && (!needle || strstr(w->v[i].payload, needle)))
                return i;
        if (qms_mono_ms() >= end)
            return -1;
        qms_mqtt_loop(w->m, 10);
    }
}

const qms_test_msg *qms_test_watch_last(const qms_test_watch *w, const char *topic)
{
    for (int i = w->n - 1; i >= 0; i--)
        if (strcmp(w->v[i].topic, topic) == 0)
            return &w->v[i];
    return NULL;
}

int qms_test_watch_count(const qms_test_watch *w, const char *topic)
{
    int n = 0;
    for (int i = 0; i < w->n; i++)
        n += strcmp(w->v[i].topic, topic) == 0;
    return n;
}

void qms_test_watch_stop(qms_test_watch *w)
{
    if (w->m)
        qms_mqtt_free(w->m);
    for (int i = 0; i < w->n; i++) {
        free(w->v[i].topic);
        free(w->v[i].payload);
    }
    free(w->v);
    memset(w, 0, sizeof *w);
}

int qms_test_controller_wait_online(const qms_mqtt_opts *o, const char *site, pid_t pid, int ms)
{
    char topic[160], want[64];
    snprintf(topic, sizeof topic, "qms/%s/device/controller/main/status", site);
    snprintf(want, sizeof want, "\"pid\":%ld", (long)pid);
    qms_test_watch w;
    memset(&w, 0, sizeof w);
    w.m = qms_test_client(o, ms);
    if (!w.m)
        return -1;
    qms_mqtt_set_callbacks(w.m, watch_on_msg, NULL, &w);
    qms_mqtt_subscribe(w.m, topic, 1);
    int ok = -1;
    int64_t end = qms_mono_ms() + ms;
    while (ok && qms_mono_ms() < end) {
        qms_test_watch_pump(&w, 20);
        for (int i = 0; i < w.n; i++)
            if (strstr(w.v[i].payload, "\"online\"") && strstr(w.v[i].payload, want))
                ok = 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            ok = -2; /* it exited (and is reaped) */
            break;
        }
    }
    qms_test_watch_stop(&w);
    return ok;
}

/* ---- a site of the province ---- */

int qms_test_site_broker_start(qms_test_site *s, int port)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(s->bridge, &text, &len, 1 << 20) != QMS_OK)
        return -1;
    int rc = qms_test_broker_start_conf(&s->broker, port, text);
    free(text);
    return rc;
}

int qms_test_site_ctl_start(qms_test_site *s, const char *clock)
{
    const char *extra[] = {"--site", s->name, "-v", NULL};
    s->ctl = qms_test_controller_spawn(s->conf, s->db, s->broker.port, clock, extra, s->log);
    if (s->ctl <= 0)
        return -1;
    qms_mqtt_opts o = {.port = s->broker.port, .client_id = "w", .site = s->name};
    return qms_test_controller_wait_online(&o, s->name, s->ctl, 60000) == 0 ? 0 : -1;
}

int qms_test_site_setup(qms_test_site *s, const char *tmp, const char *name, int prov_port,
                        const char *clock)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->dir, sizeof s->dir, "%s/%s", tmp, name);
    if (mkdir(s->dir, 0755))
        return -1;
    snprintf(s->conf, sizeof s->conf, "%s/center.json", s->dir);
    snprintf(s->db, sizeof s->db, "%s/qms.db", s->dir);
    snprintf(s->bridge, sizeof s->bridge, "%s/bridge.conf", s->dir);
    snprintf(s->log, sizeof s->log, "%s/controller.log", s->dir);
    /* the example center, as site <name> */
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(qms_test_src("examples/center.json"), &text, &len, 1 << 22) != QMS_OK)
        return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o)
        return -1;
    cJSON_ReplaceItemInObject(o, "site", cJSON_CreateString(name));
    char *out = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *f = out ? fopen(s->conf, "w") : NULL;
    if (f) {
        fputs(out, f);
        fclose(f);
    }
    free(out);
    if (!f)
        return -1;
    /* the bridge section, as a technician makes it */
    char remote[32], persist[320], plog[340];
    snprintf(remote, sizeof remote, "127.0.0.1:%d", prov_port);
    snprintf(persist, sizeof persist, "%s/", s->dir);
    snprintf(plog, sizeof plog, "%s/provision.log", s->dir);
    char *argv[] = {(char *)qms_test_bin("qms-provision"), "bridge", "--config", s->conf,
                    "--remote", remote, "--out", s->bridge, "--persistence", persist,
                    "--queue", "20000", NULL};
    pid_t p = qms_test_spawn(argv, plog);
    if (p <= 0 || qms_test_wait_pid(p, 30000) != 0)
        return -1;
    if (qms_test_site_broker_start(s, 0))
        return -1;
    return qms_test_site_ctl_start(s, clock);
}

void qms_test_site_stop(qms_test_site *s)
{
    if (s->ctl > 0) {
        kill(s->ctl, SIGTERM);
        qms_test_wait_pid(s->ctl, 20000);
        s->ctl = 0;
    }
    qms_test_broker_stop(&s->broker);
}

/* ---- SQLite ---- */

int64_t qms_test_sql_int(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (arg)
            sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}
