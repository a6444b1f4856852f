#include "harness.h"

#include "engine.h"
#include "store.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const harness_center_json =
    "{\"site\":\"t1\",\"name_vi\":\"Trung tâm thử nghiệm\",\"name_en\":\"Test center\","
    "\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],\"noshow_window_s\":1800,"
    "\"rating_levels\":4,"
    "\"services\":["
    "{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":4,\"name_vi\":\"Tư pháp - Hộ tịch\","
    "\"name_en\":\"Justice\",\"mean_service_s\":300},"
    "{\"code\":\"DD\",\"prefix\":\"B\",\"digits\":4,\"name_vi\":\"Đất đai\",\"name_en\":\"Land\","
    "\"mean_service_s\":600},"
    "{\"code\":\"XD\",\"prefix\":\"C\",\"digits\":4,\"name_vi\":\"Xây dựng\","
    "\"name_en\":\"Construction\",\"mean_service_s\":400}],"
    "\"counters\":["
    "{\"id\":1,\"name_vi\":\"Quầy 1\",\"name_en\":\"Counter 1\",\"services\":[\"TP\",\"DD\"]},"
    "{\"id\":2,\"name_vi\":\"Quầy 2\",\"name_en\":\"Counter 2\",\"services\":[\"DD\"]},"
    "{\"id\":3,\"name_vi\":\"Quầy 3\",\"name_en\":\"Counter 3\",\"services\":[\"TP\",\"XD\"]}]}";

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int64_t env_now(const ctl_env *e)
{
    return e->clock0 + (qms_mono_ms() - e->mono0);
}

static int start_custom_broker(qms_test_broker *b, const char *extra)
{
    memset(b, 0, sizeof *b);
    if (qms_test_tmpdir(b->dir, sizeof b->dir, "broker"))
        return -1;
    b->port = qms_test_free_port();
    char conf[320], log[320];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    snprintf(log, sizeof log, "%s/mosquitto.log", b->dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "listener %d 127.0.0.1\nset_tcp_nodelay true\npersistence false\n%s\n", b->port,
            extra);
    fclose(f);
    char *argv[] = {"/usr/sbin/mosquitto", "-c", conf, NULL};
    b->pid = qms_test_spawn(argv, log);
    return b->pid > 0 && qms_test_wait_port(b->port, 5000) == 0 ? 0 : -1;
}

static int env_setup(ctl_env *e, const char *center_json, const char *clock);

int env_start(ctl_env *e, const char *center_json, const char *clock)
{
    memset(e, 0, sizeof *e);
    if (qms_test_broker_start(&e->broker, 0))
        return -1;
    return env_setup(e, center_json, clock);
}

int env_start_custom(ctl_env *e, const char *broker_extra, const char *center_json,
                     const char *clock)
{
    if (start_custom_broker(&e->broker, broker_extra))
        return -1;
    return env_setup(e, center_json, clock);
}

static int env_setup(ctl_env *e, const char *center_json, const char *clock)
{
    if (qms_test_tmpdir(e->dir, sizeof e->dir, "ctl"))
        return -1;
    snprintf(e->config, sizeof e->config, "%s/center.json", e->dir);
    snprintf(e->db, sizeof e->db, "%s/qms.db", e->dir);
    snprintf(e->log, sizeof e->log, "%s/controller.log", e->dir);
    if (write_file(e->config, center_json ? center_json : harness_center_json))
        return -1;
    qms_config *cfg = NULL;
    char err[256];
    if (qms_config_load_file(e->config, &cfg, err, sizeof err)) {
        fprintf(stderr, "harness config: %s\n", err);
        return -1;
    }
    snprintf(e->site, sizeof e->site, "%s", cfg->site);
    e->utc_offset_min = cfg->utc_offset_min;
    qms_config_free(cfg);
    const char *ck = clock ? clock : "2026-11-26T09:00:00";
    char date[11];
    int32_t day, sec;
    memcpy(date, ck, 10);
    date[10] = 0;
    if (qms_day_parse(date, &day) || qms_hhmm_parse(ck + 11, &sec))
        return -1;
    e->clock0 = qms_local_to_epoch_ms(day, sec, e->utc_offset_min);
    e->mono0 = qms_mono_ms();
    return env_controller_start(e);
}

static qms_mqtt *client_wait(const ctl_env *e, const char *id, int wait_ms);
static void coll_on_msg(void *ud, const qms_mqtt_msg *msg);

static int status_has_pid(const char *payload, pid_t pid)
{
    char want[64];
    snprintf(want, sizeof want, "\"pid\":%ld", (long)pid);
    return strstr(payload, "\"online\"") && strstr(payload, want);
}

int env_controller_start(ctl_env *e)
{
    int64_t now = env_now(e);
    int32_t day = qms_local_day(now, e->utc_offset_min);
    int32_t sec = qms_local_sec(now, e->utc_offset_min);
    int ms = (int)(((now % 1000) + 1000) % 1000);
    char date[11], clock[40], broker[32];
    qms_day_str(day, date);
    snprintf(clock, sizeof clock, "%sT%02d:%02d:%02d.%03d", date, sec / 3600, sec / 60 % 60,
             sec % 60, ms);
    snprintf(broker, sizeof broker, "127.0.0.1:%d", e->broker.port);
    /* the controller's clock continues from here: keep ours in step */
    e->clock0 = now;
    e->mono0 = qms_mono_ms();
    char *argv[24] = {(char *)qms_test_bin("qms-controller"),
                      "--config",
                      e->config,
                      "--db",
                      e->db,
                      "--broker",
                      broker,
                      "--clock",
                      clock};
    int argc = 9;
    for (int i = 0; e->ctl_extra[i] && i < 8; i++)
        argv[argc++] = e->ctl_extra[i];
    argv[argc] = NULL;
    e->pid = qms_test_spawn(argv, e->log);
    if (e->pid < 0)
        return -1;
    return env_wait_online(e, e->online_wait_ms > 0 ? e->online_wait_ms : 10000);
}

int env_wait_online(ctl_env *e, int ms)
{
    /* online = its retained status names this pid */
    char topic[128];
    snprintf(topic, sizeof topic, "qms/%s/device/controller/main/status", e->site);
    collector c;
    memset(&c, 0, sizeof c);
    c.m = client_wait(e, "harness-wait", ms);
    if (!c.m)
        return -1;
    qms_mqtt_set_callbacks(c.m, coll_on_msg, NULL, &c);
    qms_mqtt_subscribe(c.m, topic, 1);
    int ok = -1;
    int64_t end = qms_mono_ms() + ms;
    while (ok && qms_mono_ms() < end) {
        coll_pump(&c, 20);
        for (int i = 0; i < c.n; i++)
            if (status_has_pid(c.v[i].payload, e->pid))
                ok = 0;
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            e->pid = 0;
            break;
        }
    }
    coll_stop(&c);
    return ok;
}

int env_controller_signal(ctl_env *e, int sig)
{
    if (e->pid <= 0)
        return -1;
    kill(e->pid, sig);
    int st = qms_test_wait_pid(e->pid, 10000);
    if (st < 0) {
        kill(e->pid, SIGKILL);
        st = qms_test_wait_pid(e->pid, 5000);
    }
    e->pid = 0;
    return st;
}

void env_stop(ctl_env *e)
{
    if (e->pid > 0)
        env_controller_signal(e, SIGTERM);
    qms_test_broker_stop(&e->broker);
    if (getenv("QMS_KEEP_TMP"))
        fprintf(stderr, "kept %s\n", e->dir);
    else
        qms_test_rmdir(e->dir);
}

int env_log_count(const ctl_env *e, const char *needle)
{
    FILE *f = fopen(e->log, "r");
    if (!f)
        return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

qms_mqtt *env_client(const ctl_env *e, const char *id)
{
    return client_wait(e, id, QMS_TEST_WAIT_MS);
}

static qms_mqtt *client_wait(const ctl_env *e, const char *id, int wait_ms)
{
    qms_mqtt_opts o = {.host = "127.0.0.1",
                       .port = e->broker.port,
                       .client_id = id,
                       .site = e->site,
                       .device_kind = "test",
                       .keepalive_s = 5,
                       .username = e->username,
                       .password = e->password,
                       .cafile = e->cafile,
                       .certfile = e->certfile,
                       .keyfile = e->keyfile};
    qms_mqtt *m = NULL;
    if (qms_mqtt_new(&o, &m))
        return NULL;
    int64_t end = qms_mono_ms() + wait_ms;
    while (!qms_mqtt_connected(m) && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    return m;
}

cJSON *env_req(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json)
{
    char topic[160], *reply = NULL;
    qms_topic(topic, sizeof topic, e->site, suffix);
    if (qms_mqtt_request_sync(m, topic, json, QMS_TEST_WAIT_MS, &reply))
        return NULL;
    cJSON *o = cJSON_Parse(reply);
    qms_free(reply);
    return o;
}

const char *js_str(const cJSON *o, const char *name)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double js_num(const cJSON *o, const char *name)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void coll_on_msg(void *ud, const qms_mqtt_msg *msg)
{
    collector *c = ud;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, (size_t)c->cap * sizeof *c->v);
    }
    coll_msg *m = &c->v[c->n++];
    m->topic = strdup(msg->topic);
    m->payload = strndup(msg->payload ? msg->payload : "", (size_t)msg->len);
    m->retained = msg->retained;
}

int coll_start(collector *c, const ctl_env *e, const char *id, const char *const *patterns)
{
    memset(c, 0, sizeof *c);
    c->m = env_client(e, id);
    if (!c->m)
        return -1;
    qms_mqtt_set_callbacks(c->m, coll_on_msg, NULL, c);
    for (int i = 0; patterns[i]; i++)
        qms_mqtt_subscribe(c->m, patterns[i], 1);
    return 0;
}

void coll_pump(collector *c, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    do {
        qms_mqtt_loop(c->m, 10);
    } while (qms_mono_ms() < end);
}

int coll_wait(collector *c, int from, const char *topic, const char *needle, int ms)
{
    /* every caller waits for something that must come: a short limit only
     * makes a loaded (ASan, -j2) machine fail, never a correct test pass */
    if (ms < QMS_TEST_WAIT_MS)
        ms = QMS_TEST_WAIT_MS;
    int64_t end = qms_mono_ms() + ms;
    for (;;) {
        for (int i = from; i < c->n; i++)
            if (strcmp(c->v[i].topic, topic) == 0 && (!needle || strstr(c->v[i].payload, needle)))
                return i;
        if (qms_mono_ms() >= end)
            return -1;
        qms_mqtt_loop(c->m, 10);
    }
}

const coll_msg *coll_last(const collector *c, const char *topic)
{
    for (int i = c->n - 1; i >= 0; i--)
        if (strcmp(c->v[i].topic, topic) == 0)
            return &c->v[i];
    return NULL;
}

int coll_count(const collector *c, const char *topic)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += strcmp(c->v[i].topic, topic) == 0;
    return n;
}

void coll_stop(collector *c)
{
    if (c->m)
        qms_mqtt_free(c->m);
    for (int i = 0; i < c->n; i++) {
        free(c->v[i].topic);
        free(c->v[i].payload);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

int env_store_tickets(const ctl_env *e, store_ticket **out)
{
    *out = NULL;
    qms_config *cfg = NULL;
    char err[256];
    if (qms_config_load_file(e->config, &cfg, err, sizeof err))
        return -1;
    qms_vclock vc;
    qms_vclock_init(&vc, env_now(e));
    qms_store *s = NULL;
    qms_engine *eng = NULL;
    int n = -1;
    if (qms_store_open(e->db, &s) == QMS_OK && qms_engine_new(cfg, &vc.clock, &eng) == QMS_OK &&
        qms_store_load(s, eng) == QMS_OK) {
        n = qms_engine_ticket_count(eng);
        *out = calloc((size_t)n + 1, sizeof **out);
        for (int i = 0; i < n; i++) {
            const qms_ticket *t = qms_engine_ticket_at(eng, i);
            store_ticket *st = &(*out)[i];
            st->id = t->id;
            snprintf(st->label, sizeof st->label, "%s", t->label);
            st->state = t->state;
            st->service = t->service;
            st->ncalls = t->ncalls;
            st->rating = t->rating;
        }
    }
    qms_engine_free(eng);
    qms_store_close(s);
    qms_config_free(cfg);
    return n;
}
