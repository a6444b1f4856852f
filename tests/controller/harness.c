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
    if (qms_test_broker_start_conf(&e->broker, 0, broker_extra))
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

/* How the test's clients reach the broker. */
static qms_mqtt_opts env_opts(const ctl_env *e, const char *id)
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
    return o;
}

int env_controller_start(ctl_env *e)
{
    int64_t now = env_now(e);
    int32_t day = qms_local_day(now, e->utc_offset_min);
    int32_t sec = qms_local_sec(now, e->utc_offset_min);
    int ms = (int)(((now % 1000) + 1000) % 1000);
    char date[11], clock[40];
    qms_day_str(day, date);
    snprintf(clock, sizeof clock, "%sT%02d:%02d:%02d.%03d", date, sec / 3600, sec / 60 % 60,
             sec % 60, ms);
    /* the controller's clock continues from here: keep ours in step */
    e->clock0 = now;
    e->mono0 = qms_mono_ms();
    e->pid = qms_test_controller_spawn(e->config, e->db, e->broker.port, clock,
                                       (const char *const *)e->ctl_extra, e->log);
    if (e->pid < 0)
        return -1;
    return env_wait_online(e, e->online_wait_ms > 0 ? e->online_wait_ms : 10000);
}

int env_wait_online(ctl_env *e, int ms)
{
    qms_mqtt_opts o = env_opts(e, "harness-wait");
    int rc = qms_test_controller_wait_online(&o, e->site, e->pid, ms);
    if (rc == -2)
        e->pid = 0;
    return rc ? -1 : 0;
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
    qms_mqtt_opts o = env_opts(e, id);
    return qms_test_client(&o, QMS_TEST_WAIT_MS);
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

int coll_start(collector *c, const ctl_env *e, const char *id, const char *const *patterns)
{
    qms_mqtt_opts o = env_opts(e, id);
    return qms_test_watch_start(c, &o, patterns);
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

int env_book(const ctl_env *e, qms_mqtt *m, const char *service, const char *slot,
             const char *cccd, char code[9])
{
    static int n;
    char day[11], json[256];
    qms_day_str(qms_local_day(env_now(e), e->utc_offset_min), day);
    snprintf(json, sizeof json,
             "{\"req\":\"book-%d-%lld\",\"service\":\"%s\",\"day\":\"%s\",\"slot\":\"%s\","
             "\"cccd\":\"%s\"}",
             ++n, (long long)env_now(e), service, day, slot, cccd);
    cJSON *o = env_req(e, m, "booking/make", json);
    const char *c = js_str(o, "code");
    int rc = c && strlen(c) == 8 ? 0 : -1;
    if (!rc) {
        memcpy(code, c, 9);
    } else {
        char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
        fprintf(stderr, "env_book %s %s: %s\n", service, slot, txt ? txt : "no reply");
        free(txt);
    }
    cJSON_Delete(o);
    return rc;
}
