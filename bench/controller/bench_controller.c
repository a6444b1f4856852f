/* The controller over MQTT, end to end: the real mosquitto and the real
 * qms-controller (SQLite, synchronous=FULL), N kiosks and M counters as
 * concurrent MQTT clients, and a display subscriber.
 *
 *   bench_controller [--kiosks N] [--counters M] [--seconds S] [--paced K] [--dir DIR]
 *                    [--cases paced,load,burst] [--controller PATH]
 * (--controller: another qms-controller binary, e.g. an older build, for an
 * A/B on the same machine state)
 *
 * Prints JSON lines:
 *   floor_echo    the broker's own request/reply round trip to a trivial echo
 *                 responder (the same MQTT v5 response topic + correlation path)
 *   floor_commit  one fsync'd SQLite commit (WAL, synchronous=FULL) in DIR
 *   paced         one kiosk and one counter, one request at a time: take
 *                 latency, next -> call event at the display, against the target
 *                 p99(next -> call) <= echo p99 + commit p99 + 0.5 ms
 *   floor_echo_load  (after the load) the load's own clients, requests and
 *                 QoS, with a one-thread echo responder in place of the
 *                 controller answering with the controller's reply bodies:
 *                 the load case's ceiling at the same concurrency
 *   load          N kiosks take tickets as fast as they are answered; M counters
 *                 call "next" as soon as someone waits (every counter serves
 *                 every service): durable operations/s, take and next -> call
 *                 latency under load, commits and requests per commit, mean
 *                 requests in flight (both), and the ratio to floor_echo_load
 *                 (target >= 0.8); cpu_ms_per_op: the controller's CPU per
 *                 operation, the broker's and clients', the echo's, the echo
 *                 responder thread's own, and the controller's budget at 0.8
 *                 (echo_all / 0.8 - broker_and_clients).
 *   burst         20,000 takes sent in 3 s by 20 kiosks, and a paced probe (a
 *                 counter's status every 10 ms): every take answered, no
 *                 message dropped by the broker (its log), probe p99 within
 *                 10 x its unloaded p99.
 * The broker runs with examples/mosquitto.conf's settings on a free port. */
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/mqtt.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSERVICES 10

static int port;
static char dir[512];
/* the children, stopped when the bench dies (an old controller that froze
 * must not stay behind at 100 % CPU) */
static _Atomic pid_t child_broker, child_ctl;

static void die(const char *what)
{
    fprintf(stderr, "bench_controller: %s\n", what);
    pid_t p = child_ctl;
    if (p > 0)
        kill(p, SIGKILL);
    p = child_broker;
    if (p > 0)
        kill(p, SIGTERM);
    exit(1);
}

/* ---- samples ---- */

typedef struct samples {
    int64_t *v; /* nanoseconds */
    long n, cap;
    pthread_mutex_t mu;
} samples;

static void sample_add(samples *s, int64_t ns)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = ns;
    pthread_mutex_unlock(&s->mu);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(samples *s, double p)
{
    if (!s->n)
        return -1;
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp64);
    long i = (long)(p * (double)(s->n - 1) + 0.5);
    return (double)s->v[i] / 1e6;
}

static void sample_reset(samples *s)
{
    pthread_mutex_lock(&s->mu);
    s->n = 0;
    pthread_mutex_unlock(&s->mu);
}

/* ---- processes ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        die("no free port");
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f))
        die("cannot write a file in the bench folder");
}

/* ---- the floors ---- */

static qms_mqtt *client(const char *id)
{
    qms_mqtt_opts o = {.host = "127.0.0.1",
                       .port = port,
                       .client_id = id,
                       .site = "bench",
                       .device_kind = "bench",
                       .keepalive_s = 30};
    qms_mqtt *m = NULL;
    if (qms_mqtt_new(&o, &m))
        die("mqtt session");
    int64_t end = qms_mono_ms() + 5000;
    while (!qms_mqtt_connected(m) && qms_mono_ms() < end)
        qms_mqtt_loop(m, 10);
    if (!qms_mqtt_connected(m))
        die("cannot connect to the broker");
    return m;
}

static atomic_int echo_stop;

static void echo_msg(void *ud, const qms_mqtt_msg *msg)
{
    if (msg->response_topic)
        qms_mqtt_reply(ud, msg, msg->payload, (size_t)msg->len);
}

/* the echo responder thread's own CPU time (its whole run), in ns */
static atomic_llong echo_cpu_ns;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *echo_main(void *arg)
{
    qms_mqtt *m = arg;
    int64_t t0 = thread_cpu_ns();
    while (!atomic_load(&echo_stop))
        qms_mqtt_loop(m, 10);
    atomic_store(&echo_cpu_ns, thread_cpu_ns() - t0);
    return NULL;
}

static void floor_echo(int n, double *p99)
{
    qms_mqtt *resp = client("bench-echo");
    qms_mqtt_set_callbacks(resp, echo_msg, NULL, resp);
    qms_mqtt_subscribe(resp, "qms/bench/echo", 1);
    for (int i = 0; i < 20; i++)
        qms_mqtt_loop(resp, 5);
    pthread_t th;
    pthread_create(&th, NULL, echo_main, resp);
    qms_mqtt *req = client("bench-echo-client");
    samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    const char *body = "{\"req\":\"echo-0000000\",\"service\":\"S0\",\"priority\":false}";
    for (int i = 0; i < n + 100; i++) {
        char *reply = NULL;
        int64_t t0 = qms_mono_ns();
        if (qms_mqtt_request_sync(req, "qms/bench/echo", body, 5000, &reply))
            die("echo responder does not answer");
        if (i >= 100) /* warm-up */
            sample_add(&s, qms_mono_ns() - t0);
        qms_free(reply);
    }
    atomic_store(&echo_stop, 1);
    pthread_join(th, NULL);
    qms_mqtt_free(req);
    qms_mqtt_free(resp);
    double p50 = pct_ms(&s, 0.5);
    *p99 = pct_ms(&s, 0.99);
    printf("{\"bench\":\"controller\",\"case\":\"floor_echo\",\"n\":%ld,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f}\n",
           s.n, p50, *p99);
    fflush(stdout);
    free(s.v);
}

static void floor_commit(int n, double *p99)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bare.db", dir);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     " CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK)
        die("cannot create the bare database");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES(?1)", -1, &st, NULL);
    samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 0; i < n + 50; i++) {
        int64_t t0 = qms_mono_ns();
        sqlite3_bind_text(st, 1, "{\"req\":\"k1-42\",\"ticket\":\"A023\"}", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("bare insert failed");
        sqlite3_reset(st);
        if (i >= 50)
            sample_add(&s, qms_mono_ns() - t0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    double p50 = pct_ms(&s, 0.5);
    *p99 = pct_ms(&s, 0.99);
    printf("{\"bench\":\"controller\",\"case\":\"floor_commit\",\"n\":%ld,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f}\n",
           s.n, p50, *p99);
    fflush(stdout);
    free(s.v);
}

/* ---- the load ---- */

static int nkiosks = 20, ncounters = 100;
static atomic_int running;   /* clients keep going */
static atomic_int measuring; /* samples count */
static samples take_lat = {.mu = PTHREAD_MUTEX_INITIALIZER};
static samples call_lat = {.mu = PTHREAD_MUTEX_INITIALIZER};
static samples next_lat = {.mu = PTHREAD_MUTEX_INITIALIZER};
static atomic_long n_takes, n_calls, n_refused, n_all_ops;
static _Atomic int64_t *next_sent; /* per counter: when its pending "next" left, 0 if none */
/* Little's law: the latencies of the requests answered while measuring,
 * summed, over the time measured = the mean number of requests in flight */
static _Atomic int64_t busy_ns;
/* floor_echo_load: the same clients send the same requests to an echo
 * responder instead of the controller, which answers with the bodies the
 * controller last gave (same sizes) */
static atomic_int echo_mode;
static pthread_mutex_t body_mu = PTHREAD_MUTEX_INITIALIZER;
static char take_body[2048], next_body[2048];

static void keep_body(char *dst, const char *reply)
{
    if (atomic_load(&echo_mode) || strlen(reply) >= sizeof take_body)
        return;
    pthread_mutex_lock(&body_mu);
    strcpy(dst, reply);
    pthread_mutex_unlock(&body_mu);
}

/* tickets waiting, as the kiosks and counters know them: counters call only
 * when someone waits, as a clerk does */
static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tok_cv = PTHREAD_COND_INITIALIZER;
static long tokens;

static void *kiosk_main(void *arg)
{
    int k = (int)(intptr_t)arg;
    char id[32], body[160];
    snprintf(id, sizeof id, "bench-kiosk-%d", k);
    qms_mqtt *m = client(id);
    for (long i = 0; atomic_load(&running); i++) {
        snprintf(body, sizeof body, "{\"req\":\"%s-%ld\",\"service\":\"S%d\",\"priority\":%s}", id,
                 i, (int)((i + k) % NSERVICES), i % 10 == 0 ? "true" : "false");
        char *reply = NULL;
        int64_t t0 = qms_mono_ns();
        if (qms_mqtt_request_sync(
                m, atomic_load(&echo_mode) ? "qms/bench/echo/take" : "qms/bench/ticket/take",
                body, 10000, &reply))
            die("a take was not answered in 10 s");
        int64_t dt = qms_mono_ns() - t0;
        if (!strstr(reply, "\"ticket\""))
            die("a take was refused");
        keep_body(take_body, reply);
        qms_free(reply);
        atomic_fetch_add(&n_all_ops, 1);
        if (atomic_load(&measuring)) {
            atomic_fetch_add(&busy_ns, dt);
            sample_add(&take_lat, dt);
            atomic_fetch_add(&n_takes, 1);
        }
        pthread_mutex_lock(&tok_mu);
        tokens++;
        pthread_cond_signal(&tok_cv);
        pthread_mutex_unlock(&tok_mu);
    }
    qms_mqtt_free(m);
    return NULL;
}

static void *counter_main(void *arg)
{
    int c = (int)(intptr_t)arg; /* counter number 1..M */
    char id[32], body[96], topic[64];
    snprintf(id, sizeof id, "bench-counter-%d", c);
    snprintf(topic, sizeof topic, "qms/bench/%scounter/%d/cmd",
             atomic_load(&echo_mode) ? "echo/" : "", c);
    qms_mqtt *m = client(id);
    for (long i = 0;; i++) {
        pthread_mutex_lock(&tok_mu);
        while (tokens == 0 && atomic_load(&running))
            pthread_cond_wait(&tok_cv, &tok_mu);
        if (!atomic_load(&running)) {
            pthread_mutex_unlock(&tok_mu);
            break;
        }
        tokens--;
        pthread_mutex_unlock(&tok_mu);
        snprintf(body, sizeof body, "{\"req\":\"%s-%ld\",\"op\":\"next\"}", id, i);
        char *reply = NULL;
        int64_t t0 = qms_mono_ns();
        atomic_store(&next_sent[c], t0);
        if (qms_mqtt_request_sync(m, topic, body, 10000, &reply))
            die("a next was not answered in 10 s");
        int64_t dt = qms_mono_ns() - t0;
        int called = strstr(reply, "\"ticket_state\":\"called\"") != NULL;
        if (called)
            keep_body(next_body, reply);
        qms_free(reply);
        atomic_fetch_add(&n_all_ops, 1);
        if (atomic_load(&measuring)) {
            atomic_fetch_add(&busy_ns, dt);
            sample_add(&next_lat, dt);
            atomic_fetch_add(called ? &n_calls : &n_refused, 1);
        }
    }
    qms_mqtt_free(m);
    return NULL;
}

/* The display: each call event closes the latency of its counter's "next". */
static void display_msg(void *ud, const qms_mqtt_msg *msg)
{
    (void)ud;
    int64_t now = qms_mono_ns();
    char buf[1024];
    int n = msg->len < (int)sizeof buf - 1 ? msg->len : (int)sizeof buf - 1;
    memcpy(buf, msg->payload, (size_t)n);
    buf[n] = 0;
    const char *p = strstr(buf, "\"counter\":");
    if (!p)
        return;
    int c = atoi(p + 10);
    if (c < 1 || c > ncounters)
        return;
    int64_t t0 = atomic_exchange(&next_sent[c], 0);
    if (t0 && atomic_load(&measuring))
        sample_add(&call_lat, now - t0);
}

static atomic_int display_stop;

static void *display_main(void *arg)
{
    qms_mqtt *m = arg;
    while (!atomic_load(&display_stop))
        qms_mqtt_loop(m, 10);
    return NULL;
}

static char *center_json(int ncount)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "site", "bench");
    cJSON_AddStringToObject(o, "name_vi", "Trung tâm đo tải");
    cJSON_AddStringToObject(o, "name_en", "Benchmark center");
    cJSON *hours = cJSON_AddArrayToObject(o, "hours");
    cJSON *span = cJSON_CreateArray();
    cJSON_AddItemToArray(span, cJSON_CreateString("00:00"));
    cJSON_AddItemToArray(span, cJSON_CreateString("24:00"));
    cJSON_AddItemToArray(hours, span);
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    for (int i = 0; i < NSERVICES; i++) {
        cJSON *s = cJSON_CreateObject();
        char code[8], prefix[4];
        snprintf(code, sizeof code, "S%d", i);
        snprintf(prefix, sizeof prefix, "%c", 'A' + i);
        cJSON_AddStringToObject(s, "code", code);
        cJSON_AddStringToObject(s, "prefix", prefix);
        cJSON_AddNumberToObject(s, "digits", 6);
        cJSON_AddStringToObject(s, "name_vi", "Dịch vụ");
        cJSON_AddStringToObject(s, "name_en", "Service");
        cJSON_AddNumberToObject(s, "mean_service_s", 300);
        cJSON_AddItemToArray(svcs, s);
    }
    cJSON *ctrs = cJSON_AddArrayToObject(o, "counters");
    for (int c = 1; c <= ncount; c++) {
        cJSON *k = cJSON_CreateObject();
        char name[32];
        cJSON_AddNumberToObject(k, "id", c);
        snprintf(name, sizeof name, "Quầy %d", c);
        cJSON_AddStringToObject(k, "name_vi", name);
        cJSON *ks = cJSON_AddArrayToObject(k, "services");
        for (int i = 0; i < NSERVICES; i++) {
            char code[8];
            snprintf(code, sizeof code, "S%d", i);
            cJSON_AddItemToArray(ks, cJSON_CreateString(code));
        }
        cJSON_AddItemToArray(ctrs, k);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* CPU seconds (user + system) a child has used so far. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long log_commits(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    long commits = -1;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "), ");
        if (strstr(line, "stopping:") && p)
            commits = atol(p + 3);
    }
    if (f)
        fclose(f);
    return commits;
}

/* The controller's own figures of its log's syncs (a controller with the
 * sync thread says them when it stops): count and mean ms; -1 without. */
static void log_syncs(const char *log, long *n, double *mean_ms)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    *n = -1;
    *mean_ms = -1;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "log syncs: ");
        if (p && sscanf(p, "log syncs: %ld, mean %lf", n, mean_ms) != 2) {
            *n = -1;
            *mean_ms = -1;
        }
    }
    if (f)
        fclose(f);
}

static pid_t start_controller(char *const argv[], const char *log)
{
    pid_t pid = spawn(argv, log);
    child_ctl = pid;
    qms_mqtt *probe = client("bench-probe-start");
    char *reply = NULL;
    for (int i = 0; i < 50 && !reply; i++)
        qms_mqtt_request_sync(probe, "qms/bench/counter/1/cmd",
                              "{\"req\":\"probe\",\"op\":\"status\"}", 200, &reply);
    if (!reply)
        die("the controller does not answer");
    qms_free(reply);
    qms_mqtt_free(probe);
    return pid;
}

/* ---- the broker's own message counts ($SYS, published every second) ---- */

static atomic_long sys_pub_in, sys_pub_out;
static atomic_int sys_stop;

static void sys_msg(void *ud, const qms_mqtt_msg *msg)
{
    (void)ud;
    char buf[32];
    int n = msg->len < (int)sizeof buf - 1 ? msg->len : (int)sizeof buf - 1;
    memcpy(buf, msg->payload, (size_t)(n > 0 ? n : 0));
    buf[n > 0 ? n : 0] = 0;
    if (strstr(msg->topic, "publish/messages/received"))
        atomic_store(&sys_pub_in, atol(buf));
    else if (strstr(msg->topic, "publish/messages/sent"))
        atomic_store(&sys_pub_out, atol(buf));
}

static void *sys_main(void *arg)
{
    qms_mqtt *m = arg;
    while (!atomic_load(&sys_stop))
        qms_mqtt_loop(m, 10);
    return NULL;
}

/* The broker's PUBLISH counts so far (in, out), as of its last $SYS update:
 * both ends of a steady window lag by the same up-to-a-second. */
static void sys_counts(long *in, long *out)
{
    *in = atomic_load(&sys_pub_in);
    *out = atomic_load(&sys_pub_out);
}

/* ---- the load's client population, against the controller or an echo ---- */

typedef struct {
    double el, cpu_ctl, cpu_brk, cpu_cli;
    long in, out; /* broker PUBLISHes received / sent while measuring */
} pop_res;

/* N kiosks and M counters, each a closed loop of requests (the load case):
 * warm up 0.5 s, measure `seconds`, stop and join them. */
static void population(pid_t ctl, pid_t broker, double seconds, pop_res *r)
{
    atomic_store(&n_takes, 0);
    atomic_store(&n_calls, 0);
    atomic_store(&n_refused, 0);
    atomic_store(&n_all_ops, 0);
    atomic_store(&busy_ns, 0);
    sample_reset(&take_lat);
    sample_reset(&next_lat);
    sample_reset(&call_lat);
    tokens = 0;
    for (int c = 0; c <= ncounters; c++)
        atomic_store(&next_sent[c], 0);
    atomic_store(&running, 1);
    pthread_t *th = calloc((size_t)(nkiosks + ncounters), sizeof *th);
    for (int c = 1; c <= ncounters; c++)
        pthread_create(&th[nkiosks + c - 1], NULL, counter_main, (void *)(intptr_t)c);
    for (int k = 0; k < nkiosks; k++)
        pthread_create(&th[k], NULL, kiosk_main, (void *)(intptr_t)k);
    poll(NULL, 0, 500); /* connect and warm up */
    double cpu_ctl0 = ctl ? proc_cpu_s(ctl) : 0, cpu_brk0 = proc_cpu_s(broker),
           cpu_cli0 = self_cpu_s();
    long in0, out0, in1, out1;
    sys_counts(&in0, &out0);
    int64_t t0 = qms_mono_ns();
    atomic_store(&measuring, 1);
    poll(NULL, 0, (int)(seconds * 1000));
    atomic_store(&measuring, 0);
    r->el = (double)(qms_mono_ns() - t0) / 1e9;
    sys_counts(&in1, &out1);
    r->cpu_ctl = ctl ? proc_cpu_s(ctl) - cpu_ctl0 : 0;
    r->cpu_brk = proc_cpu_s(broker) - cpu_brk0;
    r->cpu_cli = self_cpu_s() - cpu_cli0;
    r->in = in1 - in0;
    r->out = out1 - out0;
    atomic_store(&running, 0);
    pthread_mutex_lock(&tok_mu);
    pthread_cond_broadcast(&tok_cv);
    pthread_mutex_unlock(&tok_mu);
    for (int i = 0; i < nkiosks + ncounters; i++)
        pthread_join(th[i], NULL);
    free(th);
}

/* The echo responder of floor_echo_load: answers a take with the last take
 * reply the controller gave and a counter command with its last "next"
 * reply (the same sizes), QoS 1 as the controller. */
static void echo_load_msg(void *ud, const qms_mqtt_msg *msg)
{
    if (!msg->response_topic)
        return;
    const char *t = msg->topic;
    size_t n = strlen(t);
    const char *body = n >= 5 && !strcmp(t + n - 5, "/take") ? take_body : next_body;
    qms_mqtt_reply(ud, msg, body, strlen(body));
}

typedef struct {
    double rate, inflight;
    double cpu_ms_per_op;       /* broker + clients + responder, per echoed op */
    double responder_ms_per_op; /* the echo thread alone (warm-up included) */
} echo_res;

/* floor_echo_load: the load case's clients, requests, concurrency and QoS
 * with a trivial responder in place of the controller (one thread, as the
 * controller's loop): the load case's ceiling on this machine, now. */

static double echo_load(pid_t broker, double seconds, echo_res *er)
{
    if (!take_body[0] || !next_body[0])
        die("no controller reply to echo (the load case answered nothing)");
    qms_mqtt *resp = client("bench-echo-load");
    qms_mqtt_set_callbacks(resp, echo_load_msg, NULL, resp);
    qms_mqtt_subscribe(resp, "qms/bench/echo/#", 1);
    for (int i = 0; i < 20; i++)
        qms_mqtt_loop(resp, 5);
    atomic_store(&echo_stop, 0);
    pthread_t eth;
    pthread_create(&eth, NULL, echo_main, resp);
    atomic_store(&echo_mode, 1);
    pop_res r;
    population(0, broker, seconds, &r);
    atomic_store(&echo_mode, 0);
    atomic_store(&echo_stop, 1);
    pthread_join(eth, NULL);
    qms_mqtt_free(resp);
    long takes = atomic_load(&n_takes), calls = atomic_load(&n_calls), ops = takes + calls;
    double rate = (double)ops / r.el;
    er->rate = rate;
    er->inflight = (double)atomic_load(&busy_ns) / 1e9 / r.el;
    er->cpu_ms_per_op = ops ? 1000.0 * (r.cpu_brk + r.cpu_cli) / (double)ops : 0;
    /* the responder ran through the warm-up too: per op of its whole run */
    long all = atomic_load(&n_all_ops);
    er->responder_ms_per_op = all ? (double)atomic_load(&echo_cpu_ns) / 1e6 / (double)all : 0;
    printf("{\"bench\":\"controller\",\"case\":\"floor_echo_load\",\"kiosks\":%d,"
           "\"counters\":%d,\"seconds\":%.2f,\"takes\":%ld,\"calls\":%ld,"
           "\"echo_per_s\":%.0f,\"mean_in_flight\":%.1f,\"take_p50_ms\":%.3f,"
           "\"next_p50_ms\":%.3f,\"take_reply_bytes\":%zu,\"next_reply_bytes\":%zu,"
           "\"cpu_s\":{\"broker\":%.2f,\"clients_and_echo\":%.2f},"
           "\"all_cpu_ms_per_op\":%.4f,\"echo_responder_cpu_ms_per_op\":%.4f,"
           "\"broker_publishes_in_per_op\":%.2f,\"broker_publishes_out_per_op\":%.2f}\n",
           nkiosks, ncounters, r.el, takes, calls, rate, er->inflight, pct_ms(&take_lat, 0.5),
           pct_ms(&next_lat, 0.5), strlen(take_body), strlen(next_body), r.cpu_brk, r.cpu_cli,
           er->cpu_ms_per_op, er->responder_ms_per_op, ops ? (double)r.in / (double)ops : 0,
           ops ? (double)r.out / (double)ops : 0);
    fflush(stdout);
    return rate;
}

/* ---- burst: 20,000 takes in 3 s, and a paced probe ---- */

#define BURST_TAKES 20000
#define BURST_THREADS 20
#define BURST_SECONDS 3.0

static atomic_long burst_ok, burst_err;

static void burst_msg(void *ud, const qms_mqtt_msg *msg)
{
    (void)ud;
    char head[64];
    int n = msg->len < (int)sizeof head - 1 ? msg->len : (int)sizeof head - 1;
    memcpy(head, msg->payload, (size_t)(n > 0 ? n : 0));
    head[n > 0 ? n : 0] = 0;
    /* a take reply is {"req":"...","ticket":"A000123",...}; a refusal has "error" */
    if (!strstr(head, "\"error\""))
        atomic_fetch_add(&burst_ok, 1);
    else
        atomic_fetch_add(&burst_err, 1);
}

static void *burst_main(void *arg)
{
    int k = (int)(intptr_t)arg;
    char id[40], body[160], corr[40];
    snprintf(id, sizeof id, "bench-burst-%d", k);
    qms_mqtt *m = client(id);
    qms_mqtt_set_callbacks(m, burst_msg, NULL, NULL);
    int per = BURST_TAKES / BURST_THREADS;
    int64_t t0 = qms_mono_ns();
    for (int i = 0; i < per; i++) {
        int64_t due = t0 + (int64_t)(BURST_SECONDS * 1e9 * i / per);
        while (qms_mono_ns() < due)
            qms_mqtt_loop(m, (int)((due - qms_mono_ns()) / 1000000));
        snprintf(body, sizeof body, "{\"req\":\"%s-%d\",\"service\":\"S%d\"}", id, i,
                 (i + k) % NSERVICES);
        while (qms_mqtt_request(m, "qms/bench/ticket/take", body, strlen(body), corr) != QMS_OK)
            qms_mqtt_loop(m, 5);
        qms_mqtt_loop(m, 0);
    }
    /* the answers: every one of the burst's takes (a minute at most) */
    int64_t end = qms_mono_ns() + 60 * (int64_t)1000000000;
    while (atomic_load(&burst_ok) + atomic_load(&burst_err) < BURST_TAKES && qms_mono_ns() < end)
        qms_mqtt_loop(m, 10);
    qms_mqtt_free(m);
    return NULL;
}

/* Lines of the broker log saying it dropped messages for a client. */
static long broker_drops(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    long n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, "dropped") != NULL;
    if (f)
        fclose(f);
    return n;
}

/* A paced probe (a counter's status, every 10 ms) alone, then during the
 * burst; the probe's p99 under the burst against 10 x its unloaded p99. */
static void burst_case(const char *blog)
{
    qms_mqtt *probe = client("bench-burst-probe");
    samples idle = {.mu = PTHREAD_MUTEX_INITIALIZER}, busy = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char *reply = NULL;
    for (int i = 0; i < 300; i++) {
        int64_t t0 = qms_mono_ns();
        if (qms_mqtt_request_sync(probe, "qms/bench/counter/1/cmd",
                                  "{\"req\":\"bp\",\"op\":\"status\"}", 5000, &reply))
            die("burst probe: no answer");
        sample_add(&idle, qms_mono_ns() - t0);
        qms_free(reply);
        poll(NULL, 0, 10);
    }
    long drops0 = broker_drops(blog);
    pthread_t th[BURST_THREADS];
    int64_t b0 = qms_mono_ns();
    for (int k = 0; k < BURST_THREADS; k++)
        pthread_create(&th[k], NULL, burst_main, (void *)(intptr_t)k);
    long timeouts = 0;
    while (atomic_load(&burst_ok) + atomic_load(&burst_err) < BURST_TAKES &&
           qms_mono_ns() - b0 < 60 * (int64_t)1000000000) {
        int64_t t0 = qms_mono_ns();
        if (qms_mqtt_request_sync(probe, "qms/bench/counter/1/cmd",
                                  "{\"req\":\"bp\",\"op\":\"status\"}", 5000, &reply)) {
            timeouts++;
            sample_add(&busy, 5000 * (int64_t)1000000);
        } else {
            sample_add(&busy, qms_mono_ns() - t0);
            qms_free(reply);
        }
        poll(NULL, 0, 10);
    }
    double all_answered_s = (double)(qms_mono_ns() - b0) / 1e9;
    for (int k = 0; k < BURST_THREADS; k++)
        pthread_join(th[k], NULL);
    /* a single take now that 20,000 wait (the paced case's takes find ~1) */
    samples deep = {.mu = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 0; i < 200; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"req\":\"deep-%d\",\"service\":\"S%d\"}", i, i % NSERVICES);
        int64_t t0 = qms_mono_ns();
        if (qms_mqtt_request_sync(probe, "qms/bench/ticket/take", body, 5000, &reply))
            die("a take after the burst was not answered");
        sample_add(&deep, qms_mono_ns() - t0);
        qms_free(reply);
    }
    qms_mqtt_free(probe);
    poll(NULL, 0, 200);
    long drops = broker_drops(blog) - drops0;
    long ok = atomic_load(&burst_ok), err = atomic_load(&burst_err);
    double ip99 = pct_ms(&idle, 0.99), bp99 = pct_ms(&busy, 0.99);
    int met = ok == BURST_TAKES && drops == 0 && timeouts == 0 && bp99 <= 10 * ip99;
    printf("{\"bench\":\"controller\",\"case\":\"burst\",\"takes\":%d,\"sent_in_s\":%.1f,"
           "\"answered_ok\":%ld,\"answered_error\":%ld,\"all_answered_after_s\":%.2f,"
           "\"broker_drop_lines\":%ld,\"probe_n\":%ld,\"probe_timeouts\":%ld,"
           "\"probe_idle_p50_ms\":%.3f,\"probe_idle_p99_ms\":%.3f,\"probe_p50_ms\":%.3f,"
           "\"probe_p99_ms\":%.3f,\"probe_p99_ratio\":%.2f,\"target_ratio\":10,"
           "\"take_with_20000_waiting_p50_ms\":%.3f,\"take_with_20000_waiting_p99_ms\":%.3f,"
           "\"met\":%s}\n",
           BURST_TAKES, BURST_SECONDS, ok, err, all_answered_s, drops, busy.n, timeouts,
           pct_ms(&idle, 0.5), ip99, pct_ms(&busy, 0.5), bp99, ip99 > 0 ? bp99 / ip99 : 0,
           pct_ms(&deep, 0.5), pct_ms(&deep, 0.99), met ? "true" : "false");
    free(deep.v);
    fflush(stdout);
    free(idle.v);
    free(busy.v);
}

int main(int argc, char **argv)
{
    double seconds = 5;
    int paced = 1000;
    const char *dir_arg = ".";
    const char *cases = "paced,load,burst";
    char *ctl_bin = QMS_BIN_DIR "/qms-controller";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kiosks") && i + 1 < argc)
            nkiosks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--counters") && i + 1 < argc)
            ncounters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--paced") && i + 1 < argc)
            paced = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir_arg = argv[++i];
        else if (!strcmp(argv[i], "--cases") && i + 1 < argc)
            cases = argv[++i];
        else if (!strcmp(argv[i], "--controller") && i + 1 < argc)
            ctl_bin = argv[++i];
        else {
            fprintf(stderr, "usage: bench_controller [--kiosks N] [--counters M] [--seconds S]"
                            " [--paced K] [--dir DIR] [--cases paced,load,burst]"
                            " [--controller PATH]\n");
            return 2;
        }
    }
    if (nkiosks < 1 || ncounters < 1 || ncounters > 256 || seconds <= 0)
        die("bad arguments");
    int do_load = strstr(cases, "load") != NULL, do_burst = strstr(cases, "burst") != NULL;
    if (!strstr(cases, "paced"))
        paced = 0;
    qms_log_init("bench_controller", QMS_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "%s/bench-controller-XXXXXX", dir_arg);
    if (!mkdtemp(dir))
        die("cannot make the bench folder");
    next_sent = calloc((size_t)ncounters + 1, sizeof *next_sent);

    /* the broker, with the settings of examples/mosquitto.conf */
    port = free_port();
    char conf[700], blog[700], clog[700], cfg[700], db[700];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
    snprintf(blog, sizeof blog, "%s/mosquitto.log", dir);
    snprintf(clog, sizeof clog, "%s/controller.log", dir);
    snprintf(cfg, sizeof cfg, "%s/center.json", dir);
    snprintf(db, sizeof db, "%s/qms.db", dir);
    /* the limit lines of examples/mosquitto.conf (the burst must fit in
     * them: nothing dropped) */
    char limits[2048] = "";
    {
        FILE *ef = fopen(QMS_EXAMPLES "/mosquitto.conf", "r");
        char line[512];
        while (ef && fgets(line, sizeof line, ef))
            if (strncmp(line, "max_", 4) == 0 || strncmp(line, "message_size_limit", 18) == 0)
                strncat(limits, line, sizeof limits - strlen(limits) - 1);
        if (ef)
            fclose(ef);
        if (!strstr(limits, "max_queued_messages"))
            die("examples/mosquitto.conf has no max_queued_messages");
    }
    char text[3072];
    snprintf(text, sizeof text,
             "listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
             "persistence false\nsys_interval 1\n%s"
             "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n",
             port, limits);
    write_text(conf, text);
    char *bargv[] = {"/usr/sbin/mosquitto", "-c", conf, NULL};
    pid_t broker = spawn(bargv, blog);
    child_broker = broker;
    for (int i = 0; i < 250 && !port_open(port); i++)
        poll(NULL, 0, 20);
    if (!port_open(port))
        die("mosquitto did not start");
    qms_mqtt_lib_init();
    qms_mqtt *sysm = client("bench-sys");
    qms_mqtt_set_callbacks(sysm, sys_msg, NULL, NULL);
    qms_mqtt_subscribe(sysm, "$SYS/broker/publish/messages/+", 0);
    pthread_t systh;
    pthread_create(&systh, NULL, sys_main, sysm);

    double echo_p99, commit_p99;
    floor_echo(2000, &echo_p99);
    floor_commit(2000, &commit_p99);

    /* the controller */
    char *cj = center_json(ncounters);
    write_text(cfg, cj);
    free(cj);
    char broker_arg[32];
    snprintf(broker_arg, sizeof broker_arg, "127.0.0.1:%d", port);
    char *cargv[] = {ctl_bin,
                     "--config",
                     cfg,
                     "--db",
                     db,
                     "--broker",
                     broker_arg,
                     "--clock",
                     "2026-11-26T08:00:00",
                     NULL};
    pid_t ctl = start_controller(cargv, clog);

    qms_mqtt *disp = client("bench-display");
    qms_mqtt_set_callbacks(disp, display_msg, NULL, NULL);
    qms_mqtt_subscribe(disp, "qms/bench/call", 1);
    pthread_t dth;
    pthread_create(&dth, NULL, display_main, disp);

    qms_mqtt *probe = client("bench-probe");
    char *reply = NULL;

    /* paced: one request at a time */
    if (paced > 0) {
        atomic_store(&measuring, 1);
        for (int i = 0; i < paced; i++) {
            char body[128];
            snprintf(body, sizeof body, "{\"req\":\"p-t-%d\",\"service\":\"S%d\"}", i,
                     i % NSERVICES);
            int64_t t0 = qms_mono_ns();
            if (qms_mqtt_request_sync(probe, "qms/bench/ticket/take", body, 5000, &reply))
                die("paced take not answered");
            sample_add(&take_lat, qms_mono_ns() - t0);
            qms_free(reply);
            snprintf(body, sizeof body, "{\"req\":\"p-n-%d\",\"op\":\"next\"}", i);
            t0 = qms_mono_ns();
            atomic_store(&next_sent[1], t0);
            if (qms_mqtt_request_sync(probe, "qms/bench/counter/1/cmd", body, 5000, &reply))
                die("paced next not answered");
            sample_add(&next_lat, qms_mono_ns() - t0);
            qms_free(reply);
        }
        poll(NULL, 0, 50);
        atomic_store(&measuring, 0);
        double target = echo_p99 + commit_p99 + 0.5, cp99 = pct_ms(&call_lat, 0.99);
        printf("{\"bench\":\"controller\",\"case\":\"paced\",\"n\":%d,\"take_p50_ms\":%.3f,"
               "\"take_p99_ms\":%.3f,\"next_p50_ms\":%.3f,\"next_p99_ms\":%.3f,"
               "\"call_n\":%ld,\"call_p50_ms\":%.3f,\"call_p99_ms\":%.3f,"
               "\"target_call_p99_ms\":%.3f,\"met\":%s}\n",
               paced, pct_ms(&take_lat, 0.5), pct_ms(&take_lat, 0.99), pct_ms(&next_lat, 0.5),
               pct_ms(&next_lat, 0.99), call_lat.n, pct_ms(&call_lat, 0.5), cp99, target,
               cp99 <= target ? "true" : "false");
        fflush(stdout);
        sample_reset(&take_lat);
        sample_reset(&next_lat);
        sample_reset(&call_lat);
        /* a fresh controller for the load, so its commit count is the load's */
        stop(ctl);
        ctl = start_controller(cargv, clog);
    }
    qms_mqtt_free(probe);

    /* load: everyone at once; then the same population against an echo */
    if (do_load) {
        pop_res r;
        population(ctl, broker, seconds, &r);
        stop(ctl);
        long commits = log_commits(clog), nsyncs;
        double sync_ms;
        log_syncs(clog, &nsyncs, &sync_ms);
        long takes = atomic_load(&n_takes), calls = atomic_load(&n_calls);
        long ops = takes + calls;
        double inflight = (double)atomic_load(&busy_ns) / 1e9 / r.el;
        /* the controller's own count: the whole load phase, warm-up included */
        long all_ops = atomic_load(&n_all_ops);
        char line[2048];
        snprintf(line, sizeof line,
                 "{\"bench\":\"controller\",\"case\":\"load\",\"kiosks\":%d,\"counters\":%d,"
                 "\"seconds\":%.2f,\"takes\":%ld,\"calls\":%ld,\"refused\":%ld,\"ops_per_s\":%.0f,"
                 "\"mean_in_flight\":%.1f,"
                 "\"take_p50_ms\":%.3f,\"take_p99_ms\":%.3f,\"next_p50_ms\":%.3f,\"next_p99_ms\":%.3f,"
                 "\"call_n\":%ld,\"call_p50_ms\":%.3f,\"call_p99_ms\":%.3f,\"commits_total\":%ld,"
                 "\"load_requests\":%ld,\"requests_per_commit\":%.1f,\"log_syncs\":%ld,"
                 "\"log_sync_mean_ms\":%.3f,\"cpu_s\":{\"controller\":%.2f,"
                 "\"broker\":%.2f,\"clients\":%.2f},\"broker_publishes_in_per_op\":%.2f,"
                 "\"broker_publishes_out_per_op\":%.2f",
                 nkiosks, ncounters, r.el, takes, calls, atomic_load(&n_refused), ops / r.el,
                 inflight, pct_ms(&take_lat, 0.5), pct_ms(&take_lat, 0.99), pct_ms(&next_lat, 0.5),
                 pct_ms(&next_lat, 0.99), call_lat.n, pct_ms(&call_lat, 0.5),
                 pct_ms(&call_lat, 0.99), commits, all_ops,
                 commits > 0 ? (double)all_ops / (double)commits : 0, nsyncs, sync_ms, r.cpu_ctl, r.cpu_brk,
                 r.cpu_cli, ops ? (double)r.in / (double)ops : 0,
                 ops ? (double)r.out / (double)ops : 0);
        echo_res er;
        double echo_rate = echo_load(broker, seconds, &er);
        /* Where the CPU goes, per op (both cores are shared by the broker,
         * the clients and the responder): at 0.8 of the echo's rate with the
         * same CPU, the whole of an op may cost echo_cpu / 0.8; what the
         * broker and the clients take of it in this load leaves the
         * controller's budget. The echo responder's own cost is what a
         * libmosquitto responder that does nothing at all spends. */
        double ctl_ms = ops ? 1000.0 * r.cpu_ctl / (double)ops : 0,
               rest_ms = ops ? 1000.0 * (r.cpu_brk + r.cpu_cli) / (double)ops : 0,
               echo_ms = er.cpu_ms_per_op; /* its clients_and_echo holds the responder */
        printf("%s,\"echo_per_s\":%.0f,\"echo_mean_in_flight\":%.1f,\"ratio_to_echo\":%.2f,"
               "\"cpu_ms_per_op\":{\"controller\":%.4f,\"broker_and_clients\":%.4f,"
               "\"echo_all\":%.4f,\"echo_responder\":%.4f,\"controller_budget_at_0_8\":%.4f},"
               "\"target_ratio\":0.8,\"met\":%s}\n",
               line, echo_rate, er.inflight, ops / r.el / echo_rate, ctl_ms, rest_ms, echo_ms,
               er.responder_ms_per_op, echo_ms / 0.8 - rest_ms,
               ops / r.el >= 0.8 * echo_rate ? "true" : "false");
        fflush(stdout);
    } else {
        stop(ctl);
    }
    atomic_store(&display_stop, 1);
    pthread_join(dth, NULL);
    qms_mqtt_free(disp);

    /* burst: a fresh controller, 20,000 takes in 3 s and a paced probe */
    if (do_burst) {
        ctl = start_controller(cargv, clog);
        burst_case(blog);
        stop(ctl);
    }
    atomic_store(&sys_stop, 1);
    pthread_join(systh, NULL);
    qms_mqtt_free(sysm);
    stop(broker);
    qms_mqtt_lib_cleanup();
    if (!getenv("QMS_BENCH_KEEP")) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_controller: could not remove %s\n", dir);
    } else {
        fprintf(stderr, "kept %s\n", dir);
    }
    return 0;
}
