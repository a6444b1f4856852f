#include "prov_fixture.h"

#include "qms/conn.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAXMSG 256

struct pcli {
    struct mosquitto *m;
    int connack;  /* -2 none yet */
    int broke;
    int last_mid, puback_mid, puback_rc, suback_mid;
    int nmsg;
    char *msgs[MAXMSG];
    char *topics[MAXMSG];
    char *rts[MAXMSG];   /* response topic, or NULL */
    char *corrs[MAXMSG]; /* correlation data (as text), or NULL */
};

static long ms_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000L + tv.tv_usec / 1000;
}

static int run_provision(prov_env *e, const char *const *extra)
{
    char tls[16], local[16];
    snprintf(tls, sizeof tls, "%d", e->tls_port);
    snprintf(local, sizeof local, "%d", e->local_port);
    char ws[16], web[16];
    snprintf(ws, sizeof ws, "%d", e->ws_port);
    snprintf(web, sizeof web, "%d", e->web_port);
    const char *argv[48] = {qms_test_bin("qms-provision"), "--config", e->center, "--out", e->out,
                            "--host", "127.0.0.1", "--port", tls, "--local-port", local};
    int n = 11;
    if (e->ws_port) {
        argv[n++] = "--ws-port";
        argv[n++] = ws;
        argv[n++] = "--web-local-port";
        argv[n++] = web;
        argv[n++] = "--bind";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--http-dir"; /* mosquitto wants it to exist */
        argv[n++] = qms_test_src("dashboard");
    }
    for (int i = 0; extra && extra[i] && n < 46; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    char log[400];
    snprintf(log, sizeof log, "%s/provision.log", e->dir);
    pid_t pid = qms_test_spawn((char *const *)argv, log);
    return pid > 0 ? qms_test_wait_pid(pid, 60000) : -1;
}

int prov_rerun(prov_env *e, const char *const *extra)
{
    return run_provision(e, extra);
}

const char *prov_client(const prov_env *e, const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/clients/%s.json", e->out, name);
    return path[k];
}

int prov_start_conf(prov_env *e, qms_test_broker *b, const char *name,
                    const char *const *subst, int port)
{
    /* the provisioned configuration as written, plus "user root": a test's
     * broker must not change user (it would lose the parent-death signal) */
    char conf[400], test_conf[400];
    snprintf(conf, sizeof conf, "%s/%s", e->out, name);
    snprintf(test_conf, sizeof test_conf, "%s/test-%s", e->dir, name);
    FILE *in = fopen(conf, "r"), *out = fopen(test_conf, "w");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return -1;
    }
    char line[1024];
    while (fgets(line, sizeof line, in)) {
        const char *put = line;
        for (int i = 0; subst && subst[i]; i += 2)
            if (!strncmp(line, subst[i], strlen(subst[i])))
                put = subst[i + 1];
        fputs(put, out);
        if (put != line)
            fputc('\n', out);
    }
    fputs("user root\n", out);
    fclose(in);
    fclose(out);
    return qms_test_broker_start_file(b, test_conf, port);
}

static int start(prov_env *e, const char *const *extra, int web)
{
    memset(e, 0, sizeof *e);
    if (qms_test_tmpdir(e->dir, sizeof e->dir, "prov"))
        return -1;
    snprintf(e->out, sizeof e->out, "%s/broker", e->dir);
    snprintf(e->center, sizeof e->center, "%s", qms_test_src("examples/center.json"));
    int *ports[] = {&e->tls_port, &e->local_port, &e->ws_port, &e->web_port};
    for (int i = 0; i < (web ? 4 : 2); i++) {
        int again;
        do {
            *ports[i] = qms_test_free_port();
            again = 0;
            for (int j = 0; j < i; j++)
                again |= *ports[j] == *ports[i];
        } while (again);
    }
    if (run_provision(e, extra) != 0) {
        fprintf(stderr, "qms-provision failed (see %s/provision.log)\n", e->dir);
        return -1;
    }
    if (prov_start_conf(e, &e->broker, "mosquitto.conf", NULL, e->tls_port) ||
        qms_test_wait_port(e->local_port, 10000))
        return -1;
    if (!web)
        return 0;
    if (prov_start_conf(e, &e->web, "mosquitto-web.conf", NULL, e->web_port) ||
        qms_test_wait_port(e->ws_port, 10000))
        return -1;
    return 0;
}

int prov_start(prov_env *e, const char *const *extra)
{
    return start(e, extra, 0);
}

int prov_start_web(prov_env *e, const char *const *extra)
{
    return start(e, extra, 1);
}

void prov_stop(prov_env *e)
{
    qms_test_broker_stop(&e->web);
    qms_test_broker_stop(&e->broker);
    qms_test_rmdir(e->dir);
}

static void on_connect(struct mosquitto *m, void *ud, int rc, int flags, const mosquitto_property *p)
{
    (void)m, (void)flags, (void)p;
    ((pcli *)ud)->connack = rc;
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc, const mosquitto_property *p)
{
    (void)m, (void)rc, (void)p;
    ((pcli *)ud)->broke = 1;
}

static void on_publish(struct mosquitto *m, void *ud, int mid, int rc, const mosquitto_property *p)
{
    (void)m, (void)p;
    pcli *c = ud;
    c->puback_mid = mid;
    c->puback_rc = rc;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *q,
                         const mosquitto_property *p)
{
    (void)m, (void)n, (void)q, (void)p;
    ((pcli *)ud)->suback_mid = mid;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *p)
{
    (void)m;
    pcli *c = ud;
    if (c->nmsg < MAXMSG) {
        char *s = malloc((size_t)msg->payloadlen + 1);
        if (!s)
            return;
        memcpy(s, msg->payload, (size_t)msg->payloadlen);
        s[msg->payloadlen] = 0;
        c->topics[c->nmsg] = strdup(msg->topic);
        char *rt = NULL;
        void *cd = NULL;
        uint16_t cdlen = 0;
        mosquitto_property_read_string(p, MQTT_PROP_RESPONSE_TOPIC, &rt, false);
        mosquitto_property_read_binary(p, MQTT_PROP_CORRELATION_DATA, &cd, &cdlen, false);
        c->rts[c->nmsg] = rt;
        c->corrs[c->nmsg] = cd ? strndup(cd, cdlen) : NULL;
        free(cd);
        c->msgs[c->nmsg++] = s;
    }
}

static void loop_until(pcli *c, int ms, int (*done)(pcli *, int), int arg)
{
    long end = ms_now() + ms;
    while (!(done && done(c, arg)) && ms_now() < end && !c->broke)
        mosquitto_loop(c->m, 20, 1);
}

static int connected_or_refused(pcli *c, int arg)
{
    (void)arg;
    return c->connack != -2;
}

static pcli *open_at(prov_env *e, const char *name, int tls, int port, const char *user,
                     const char *pass, int *reason);

pcli *pcli_open(prov_env *e, const char *name, int tls, const char *user, const char *pass,
                int *reason)
{
    return open_at(e, name, tls, tls ? e->tls_port : e->local_port, user, pass, reason);
}

pcli *pcli_open_port(prov_env *e, const char *name, int port, const char *user,
                     const char *pass, int *reason)
{
    return open_at(e, name, 0, port, user, pass, reason);
}

static pcli *open_at(prov_env *e, const char *name, int tls, int port, const char *user,
                     const char *pass, int *reason)
{
    static int seq;
    pcli *c = calloc(1, sizeof *c);
    c->connack = -2;
    char id[64];
    snprintf(id, sizeof id, "acl-test-%s-%d", name ? name : "anon", ++seq);
    c->m = mosquitto_new(id, true, c);
    mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(c->m, on_connect);
    mosquitto_disconnect_v5_callback_set(c->m, on_disconnect);
    mosquitto_publish_v5_callback_set(c->m, on_publish);
    mosquitto_subscribe_v5_callback_set(c->m, on_subscribe);
    mosquitto_message_v5_callback_set(c->m, on_message);
    qms_conn cn;
    qms_conn_init(&cn);
    char err[600];
    if (name && qms_conn_load_client(&cn, prov_client(e, name), err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        *reason = -3;
        return c;
    }
    const char *u = user ? user : (cn.set & QMS_CONN_USER) ? cn.username : NULL;
    const char *pw = pass ? pass : (cn.set & QMS_CONN_PASS) ? cn.password : NULL;
    if (u)
        mosquitto_username_pw_set(c->m, u, pw);
    if (tls) {
        char ca[400];
        snprintf(ca, sizeof ca, "%s/ca.crt", e->out);
        mosquitto_tls_set(c->m, ca, NULL, (cn.set & QMS_CONN_CERT) ? cn.certfile : NULL,
                          (cn.set & QMS_CONN_KEY) ? cn.keyfile : NULL, NULL);
    }
    if (mosquitto_connect(c->m, "127.0.0.1", port, 30) !=
        MOSQ_ERR_SUCCESS) {
        *reason = -1;
        return c;
    }
    loop_until(c, 10000, connected_or_refused, 0);
    *reason = c->connack == -2 ? -1 : c->connack;
    return c;
}

void pcli_close(pcli *c)
{
    if (!c)
        return;
    if (c->connack == 0 && !c->broke) {
        mosquitto_disconnect(c->m);
        mosquitto_loop(c->m, 10, 1);
    }
    mosquitto_destroy(c->m);
    for (int i = 0; i < c->nmsg; i++) {
        free(c->msgs[i]);
        free(c->topics[i]);
        free(c->rts[i]);
        free(c->corrs[i]);
    }
    free(c);
}

static int acked(pcli *c, int mid)
{
    return c->puback_mid == mid;
}

int pcli_pub(pcli *c, const char *topic, const char *payload)
{
    int mid = 0;
    c->puback_mid = 0;
    if (mosquitto_publish_v5(c->m, &mid, topic, (int)strlen(payload), payload, 1, false, NULL))
        return -1;
    loop_until(c, 10000, acked, mid);
    return c->puback_mid == mid ? c->puback_rc : -1;
}

int pcli_pub_req(pcli *c, const char *topic, const char *payload, const char *response_topic,
                 const char *corr)
{
    mosquitto_property *props = NULL;
    if (response_topic)
        mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic);
    if (corr)
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                      (uint16_t)strlen(corr));
    int mid = 0;
    c->puback_mid = 0;
    int rc = mosquitto_publish_v5(c->m, &mid, topic, (int)strlen(payload), payload, 1, false, props);
    mosquitto_property_free_all(&props);
    if (rc)
        return -1;
    loop_until(c, 10000, acked, mid);
    return c->puback_mid == mid ? c->puback_rc : -1;
}

static int subacked(pcli *c, int mid)
{
    return c->suback_mid == mid;
}

int pcli_sub(pcli *c, const char *filter)
{
    int mid = 0;
    if (mosquitto_subscribe_v5(c->m, &mid, filter, 1, 0, NULL))
        return -1;
    loop_until(c, 10000, subacked, mid);
    return c->suback_mid == mid ? 0 : -1;
}

static const char *want;
static int has(pcli *c, int arg)
{
    (void)arg;
    for (int i = 0; i < c->nmsg; i++)
        if (!strcmp(c->msgs[i], want))
            return 1;
    return 0;
}

int pcli_got(pcli *c, const char *payload, int ms)
{
    want = payload;
    loop_until(c, ms, has, 0);
    return has(c, 0);
}

static const char *want_topic;
static int has_like(pcli *c, int arg)
{
    (void)arg;
    for (int i = 0; i < c->nmsg; i++)
        if (c->topics[i] && !strcmp(c->topics[i], want_topic) && strstr(c->msgs[i], want))
            return 1;
    return 0;
}

int pcli_got_like(pcli *c, const char *topic, const char *needle, int ms)
{
    want = needle;
    want_topic = topic;
    loop_until(c, ms, has_like, 0);
    return has_like(c, 0);
}

void pcli_pump(pcli *a, pcli *b, int ms)
{
    long end = ms_now() + ms;
    while (ms_now() < end) {
        if (a)
            mosquitto_loop(a->m, 10, 1);
        if (b)
            mosquitto_loop(b->m, 10, 1);
    }
}

int pcli_count(pcli *c, const char *payload, int ms)
{
    pcli_pump(c, NULL, ms);
    int n = 0;
    for (int i = 0; i < c->nmsg; i++)
        n += !strcmp(c->msgs[i], payload);
    return n;
}

int pcli_props(pcli *c, const char *payload, int ms, char *rt, size_t rtlen, char *corr,
               size_t corrlen)
{
    if (!pcli_got(c, payload, ms))
        return -1;
    for (int i = 0; i < c->nmsg; i++)
        if (!strcmp(c->msgs[i], payload)) {
            snprintf(rt, rtlen, "%s", c->rts[i] ? c->rts[i] : "");
            snprintf(corr, corrlen, "%s", c->corrs[i] ? c->corrs[i] : "");
            return 0;
        }
    return -1;
}
