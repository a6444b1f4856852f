#include "counter_fixture.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_msg(void *ud, const qms_mqtt_msg *msg)
{
    fixture *f = ud;
    char topic[128];
    qms_topic(topic, sizeof topic, FX_SITE, "device/counter/5/status");
    if (strcmp(msg->topic, topic) == 0) {
        int n = msg->len < (int)sizeof f->counter5_status - 1 ? msg->len
                                                              : (int)sizeof f->counter5_status - 1;
        memcpy(f->counter5_status, msg->payload, (size_t)n);
        f->counter5_status[n] = 0;
        return;
    }
    qms_topic(topic, sizeof topic, FX_SITE, "call");
    if (strcmp(msg->topic, topic) != 0 || f->ncalls >= 256)
        return;
    cJSON *o = cJSON_ParseWithLength(msg->payload, (size_t)msg->len);
    if (!o)
        return;
    const cJSON *t = cJSON_GetObjectItem(o, "ticket"), *c = cJSON_GetObjectItem(o, "counter");
    if (cJSON_IsString(t) && cJSON_IsNumber(c)) {
        fx_call *k = &f->calls[f->ncalls++];
        snprintf(k->ticket, sizeof k->ticket, "%s", t->valuestring);
        k->counter = c->valueint;
        k->recall = cJSON_IsTrue(cJSON_GetObjectItem(o, "recall"));
    }
    cJSON_Delete(o);
}

void fx_pump(fixture *f, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    while (qms_mono_ms() < end)
        qms_mqtt_loop(f->m, 20);
}

char *fx_counter_cmd(fixture *f, int counter, const char *json)
{
    char topic[128], suffix[64];
    snprintf(suffix, sizeof suffix, "counter/%d/cmd", counter);
    qms_topic(topic, sizeof topic, FX_SITE, suffix);
    char *reply = NULL;
    if (qms_mqtt_request_sync(f->m, topic, json, 20000, &reply) != QMS_OK)
        return NULL;
    return reply;
}

int fx_ctl_start(fixture *f)
{
    /* a weekday morning inside the center's hours, whatever the time the
     * test runs at */
    f->ctl =
        qms_test_controller_spawn(f->config ? f->config : qms_test_src("examples/center.json"),
                                  f->db, f->broker.port,
                                  f->clock ? f->clock : "2026-11-26T09:00:00", NULL, f->ctl_log);
    if (f->ctl <= 0)
        return -1;
    /* ready when it answers a status request */
    for (int i = 0; i < 50; i++) {
        char *r = fx_counter_cmd(f, 5, "{\"req\":\"fx-ready\",\"op\":\"status\"}");
        if (r && strstr(r, "\"counter\"")) {
            qms_free(r);
            return 0;
        }
        qms_free(r);
        if (qms_test_wait_pid(f->ctl, 100) >= 0)
            return -1; /* it exited */
    }
    return -1;
}

void fx_ctl_kill(fixture *f, int sig)
{
    if (f->ctl > 0) {
        kill(f->ctl, sig);
        qms_test_wait_pid(f->ctl, 10000);
        f->ctl = 0;
    }
}

int fx_start(fixture *f)
{
    const char *config = f->config; /* the one setting the caller gives */
    memset(f, 0, sizeof *f);
    f->config = config;
    qms_log_init("test", QMS_LOG_ERROR);
    if (qms_test_broker_start(&f->broker, 0))
        return -1;
    snprintf(f->broker_addr, sizeof f->broker_addr, "127.0.0.1:%d", f->broker.port);
    if (qms_test_tmpdir(f->dir, sizeof f->dir, "counter"))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/qms.db", f->dir);
    snprintf(f->ctl_log, sizeof f->ctl_log, "%s/controller.log", f->dir);
    qms_mqtt_lib_init();
    qms_mqtt_opts o = {.port = f->broker.port,
                       .client_id = "counter-test",
                       .site = FX_SITE,
                       .device_kind = "test",
                       .device_id = "1"};
    if (qms_mqtt_new(&o, &f->m))
        return -1;
    qms_mqtt_set_callbacks(f->m, on_msg, NULL, f);
    char topic[128];
    qms_topic(topic, sizeof topic, FX_SITE, "call");
    qms_mqtt_subscribe(f->m, topic, 1);
    qms_topic(topic, sizeof topic, FX_SITE, "device/counter/5/status");
    qms_mqtt_subscribe(f->m, topic, 1);
    for (int i = 0; i < 100 && !qms_mqtt_connected(f->m); i++)
        qms_mqtt_loop(f->m, 20);
    if (!qms_mqtt_connected(f->m))
        return -1;
    return fx_ctl_start(f);
}

void fx_stop(fixture *f)
{
    fx_ctl_kill(f, SIGTERM);
    if (f->m)
        qms_mqtt_free(f->m);
    f->m = NULL;
    qms_test_broker_stop(&f->broker);
    if (getenv("QMS_TEST_KEEP"))
        fprintf(stderr, "kept %s\n", f->dir);
    else
        qms_test_rmdir(f->dir);
}

int fx_take(fixture *f, const char *service, int priority, char label[16])
{
    char body[160], topic[128];
    snprintf(body, sizeof body, "{\"req\":\"fx-take-%lu\",\"service\":\"%s\",\"priority\":%s}",
             ++f->seq, service, priority ? "true" : "false");
    qms_topic(topic, sizeof topic, FX_SITE, "ticket/take");
    char *reply = NULL;
    if (qms_mqtt_request_sync(f->m, topic, body, 20000, &reply) != QMS_OK)
        return -1;
    cJSON *o = cJSON_Parse(reply);
    qms_free(reply);
    const cJSON *t = o ? cJSON_GetObjectItem(o, "ticket") : NULL;
    int ok = cJSON_IsString(t);
    if (ok)
        snprintf(label, 16, "%s", t->valuestring);
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

void fx_counter(fixture *f, fx_run *r, int no_defaults, const char *first, ...)
{
    memset(r, 0, sizeof *r);
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)qms_test_bin("qms-counter");
    if (!no_defaults) {
        argv[n++] = "--broker";
        argv[n++] = f->broker_addr;
        argv[n++] = "--site";
        argv[n++] = FX_SITE;
    }
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 39; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    char out[320], err[320];
    snprintf(out, sizeof out, "%s/counter.out", f->dir);
    snprintf(err, sizeof err, "%s/counter.err", f->dir);
    int64_t t0 = qms_mono_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = open("/dev/null", O_RDONLY);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    /* keep our own session alive (and collect call events) meanwhile */
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (qms_mono_ms() - t0 > 60000) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            r->status = -1;
            break;
        }
        qms_mqtt_loop(f->m, 10);
    }
    r->ms = (long)(qms_mono_ms() - t0);
    size_t len;
    if (qms_read_file(out, &r->out, &len, 1 << 20) != QMS_OK)
        r->out = qms_strdup("");
    if (qms_read_file(err, &r->err, &len, 1 << 20) != QMS_OK)
        r->err = qms_strdup("");
}

void fx_run_free(fx_run *r)
{
    qms_free(r->out);
    qms_free(r->err);
    memset(r, 0, sizeof *r);
}
