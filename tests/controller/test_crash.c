/* Crash safety through the real programs: kill -9 of the controller during a
 * burst of requests from several kiosks and counters at once, and a broker
 * restart. Checked against the store and against every reply received. */
#include "harness.h"

#include "engine.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKIOSK 4
#define NCOUNTER 3
#define MAXREQ 4000

typedef struct result {
    char req[48];
    char ticket[16]; /* "" when refused */
    int64_t id;
    char error[32];
} result;

typedef struct client {
    const ctl_env *e;
    int kiosk; /* 1: takes tickets; 0: counter calling next */
    int n;     /* kiosk index or counter number */
    pthread_t th;
    result *res;
    int nres;
    int retries; /* requests that needed more than one attempt */
    int failed;  /* requests never answered (must stay 0) */
} client;

static atomic_int stop_flag;

static void *client_main(void *arg)
{
    client *c = arg;
    char id[24], suffix[64];
    snprintf(id, sizeof id, "%s%d", c->kiosk ? "kiosk" : "counter", c->n);
    qms_mqtt *m = env_client(c->e, id);
    if (!m) {
        c->failed++;
        return NULL;
    }
    static const char *const svc[] = {"TP", "DD", "XD"};
    if (c->kiosk)
        snprintf(suffix, sizeof suffix, "ticket/take");
    else
        snprintf(suffix, sizeof suffix, "counter/%d/cmd", c->n);
    char topic[128];
    qms_topic(topic, sizeof topic, c->e->site, suffix);
    for (int i = 0; !atomic_load(&stop_flag) && c->nres < MAXREQ; i++) {
        result *r = &c->res[c->nres];
        memset(r, 0, sizeof *r);
        snprintf(r->req, sizeof r->req, "%s-%d", id, i);
        char body[160];
        if (c->kiosk)
            snprintf(body, sizeof body, "{\"req\":\"%s\",\"service\":\"%s\",\"priority\":%s}",
                     r->req, svc[(i + c->n) % 3], i % 7 == 0 ? "true" : "false");
        else
            snprintf(body, sizeof body, "{\"req\":\"%s\",\"op\":\"next\"}", r->req);
        /* a client keeps asking with the same id until it hears back (up to 30 s) */
        char *reply = NULL;
        int64_t give_up = qms_mono_ms() + 30000;
        int attempts = 0;
        while (!reply && qms_mono_ms() < give_up) {
            attempts++;
            qms_mqtt_request_sync(m, topic, body, 700, &reply);
        }
        if (!reply) {
            c->failed++;
            break;
        }
        c->retries += attempts > 1;
        cJSON *o = cJSON_Parse(reply);
        if (js_str(o, "ticket")) {
            snprintf(r->ticket, sizeof r->ticket, "%s", js_str(o, "ticket"));
            r->id = (int64_t)js_num(o, "id");
        }
        if (js_str(o, "error"))
            snprintf(r->error, sizeof r->error, "%s", js_str(o, "error"));
        if (!js_str(o, "req") || strcmp(js_str(o, "req"), r->req) != 0)
            c->failed++; /* a reply to someone else's request */
        cJSON_Delete(o);
        qms_free(reply);
        c->nres++;
        if (!c->kiosk && r->error[0])
            poll(NULL, 0, 3); /* nobody waiting: a clerk would not hammer the key */
    }
    qms_mqtt_free(m);
    return NULL;
}

static void run_for(int ms)
{
    poll(NULL, 0, ms);
}

static void test_kill9_during_burst(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    client cl[NKIOSK + NCOUNTER];
    memset(cl, 0, sizeof cl);
    atomic_store(&stop_flag, 0);
    for (int i = 0; i < NKIOSK + NCOUNTER; i++) {
        cl[i].e = &e;
        cl[i].kiosk = i < NKIOSK;
        cl[i].n = i < NKIOSK ? i + 1 : i - NKIOSK + 1;
        cl[i].res = calloc(MAXREQ, sizeof(result));
        pthread_create(&cl[i].th, NULL, client_main, &cl[i]);
    }
    /* kill -9 at three moments of the burst, restarting each time */
    int kills = 0;
    for (int round = 0; round < 3; round++) {
        run_for(300 + 170 * round);
        assert_int_equal(env_controller_signal(&e, SIGKILL), 128 + SIGKILL);
        kills++;
        run_for(150);
        assert_int_equal(env_controller_start(&e), 0);
    }
    run_for(400);
    atomic_store(&stop_flag, 1);
    int takes = 0, nexts = 0, retries = 0;
    for (int i = 0; i < NKIOSK + NCOUNTER; i++) {
        pthread_join(cl[i].th, NULL);
        assert_int_equal(cl[i].failed, 0);
        retries += cl[i].retries;
        for (int k = 0; k < cl[i].nres; k++)
            if (cl[i].res[k].ticket[0])
                *(cl[i].kiosk ? &takes : &nexts) += 1;
    }
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    fprintf(stderr,
            "kill -9 x%d during a burst: %d tickets taken, %d called, %d requests retried\n", kills,
            takes, nexts, retries);
    assert_true(takes > 50);
    assert_true(nexts > 20);

    store_ticket *st;
    int n = env_store_tickets(&e, &st);
    assert_true(n >= 0);
    /* every acknowledged ticket is in the store, under its number; and since
     * every client asked until it heard back, nothing is there that nobody
     * was told about */
    assert_int_equal(n, takes);
    for (int i = 0; i < NKIOSK; i++)
        for (int k = 0; k < cl[i].nres; k++) {
            const result *r = &cl[i].res[k];
            assert_true(r->ticket[0]);
            const store_ticket *t = NULL;
            for (int j = 0; j < n && !t; j++)
                if (st[j].id == r->id)
                    t = &st[j];
            if (!t)
                fail_msg("acknowledged ticket %s (id %lld, req %s) not in the store", r->ticket,
                         (long long)r->id, r->req);
            assert_string_equal(t->label, r->ticket);
        }
    /* no number given twice */
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (strcmp(st[a].label, st[b].label) == 0)
                fail_msg("number %s given twice (ids %lld, %lld)", st[a].label, (long long)st[a].id,
                         (long long)st[b].id);
    /* every acknowledged call is stored as called (or finished by a later next),
     * and no ticket was called by two acknowledged nexts */
    for (int i = NKIOSK; i < NKIOSK + NCOUNTER; i++)
        for (int k = 0; k < cl[i].nres; k++) {
            const result *r = &cl[i].res[k];
            if (!r->ticket[0]) {
                assert_string_equal(r->error, "nothing_to_call");
                continue;
            }
            int found = 0;
            for (int j = 0; j < n; j++)
                if (st[j].id == r->id) {
                    found = 1;
                    assert_true(st[j].state == QMS_T_CALLED || st[j].state == QMS_T_DONE);
                    assert_int_equal(st[j].ncalls, 1);
                }
            assert_true(found);
            for (int i2 = NKIOSK; i2 < NKIOSK + NCOUNTER; i2++)
                for (int k2 = 0; k2 < cl[i2].nres; k2++)
                    if ((i2 != i || k2 != k) && cl[i2].res[k2].id == r->id && r->id)
                        fail_msg("ticket %s called by two acknowledged nexts", r->ticket);
        }
    free(st);
    for (int i = 0; i < NKIOSK + NCOUNTER; i++)
        free(cl[i].res);
    env_stop(&e);
}

typedef struct waiter {
    const ctl_env *e;
    char *reply;
    pthread_t th;
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    qms_mqtt *m = env_client(w->e, "patient-kiosk");
    char topic[128];
    qms_topic(topic, sizeof topic, w->e->site, "ticket/take");
    poll(NULL, 0, 100); /* the broker goes down meanwhile */
    qms_mqtt_request_sync(m, topic, "{\"req\":\"b-2\",\"service\":\"TP\"}", 15000, &w->reply);
    qms_mqtt_free(m);
    return NULL;
}

static void test_broker_restart(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    int port = e.broker.port;
    qms_mqtt *a = env_client(&e, "kiosk-a");
    cJSON *r1 = env_req(&e, a, "ticket/take", "{\"req\":\"b-1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(r1, "ticket"), "A0001");

    /* a request published just before the broker dies, and one sent while it is down */
    char topic[128], corr[40];
    qms_topic(topic, sizeof topic, e.site, "ticket/take");
    const char *b3 = "{\"req\":\"b-3\",\"service\":\"DD\"}";
    qms_mqtt_request(a, topic, b3, strlen(b3), corr);
    qms_mqtt_loop(a, 0);
    waiter w = {.e = &e};
    pthread_create(&w.th, NULL, waiter_main, &w);
    kill(e.broker.pid, SIGKILL);
    qms_test_wait_pid(e.broker.pid, 3000);
    qms_test_rmdir(e.broker.dir);
    run_for(700);
    assert_int_equal(qms_test_broker_start(&e.broker, port), 0);

    /* the waiting kiosk is answered */
    pthread_join(w.th, NULL);
    assert_non_null(w.reply);
    cJSON *r2 = cJSON_Parse(w.reply);
    assert_non_null(js_str(r2, "ticket"));
    assert_string_equal(js_str(r2, "req"), "b-2");
    /* b-3 sent again: whether or not it ran before, it runs once */
    cJSON *r3 = env_req(&e, a, "ticket/take", b3);
    assert_non_null(r3);
    assert_string_equal(js_str(r3, "ticket"), "B0001");
    cJSON *r3b = env_req(&e, a, "ticket/take", b3);
    assert_string_equal(js_str(r3b, "ticket"), "B0001");
    /* b-1 again: the same answer as before the restart */
    cJSON *r1b = env_req(&e, a, "ticket/take", "{\"req\":\"b-1\",\"service\":\"TP\"}");
    char *s1 = cJSON_PrintUnformatted(r1), *s1b = cJSON_PrintUnformatted(r1b);
    assert_string_equal(s1, s1b);

    /* the new broker knows every retained topic again */
    const char *pats[] = {"qms/t1/#", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "newcomer", pats), 0);
    assert_true(coll_wait(&col, 0, "qms/t1/config", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/stats", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/calls/recent", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/1/state", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/counter/3/queue", NULL, 3000) >= 0);
    assert_true(coll_wait(&col, 0, "qms/t1/device/controller/main/status", "online", 3000) >= 0);
    coll_stop(&col);
    assert_true(env_log_count(&e, "connected to broker") >= 2);
    assert_true(env_log_count(&e, "lost broker connection") >= 1);

    qms_mqtt_free(a);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    store_ticket *st;
    assert_int_equal(env_store_tickets(&e, &st), 3); /* b-1, b-2, b-3: once each */
    free(st);
    cJSON_free(s1);
    cJSON_free(s1b);
    cJSON_Delete(r1);
    cJSON_Delete(r1b);
    cJSON_Delete(r2);
    cJSON_Delete(r3);
    cJSON_Delete(r3b);
    qms_free(w.reply);
    env_stop(&e);
}

/* The controller starts before the broker: it keeps trying, and serves as
 * soon as the broker is there. */
static void test_broker_late(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    int port = e.broker.port;
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    qms_test_broker_stop(&e.broker);
    e.online_wait_ms = 300;
    assert_int_not_equal(env_controller_start(&e), 0); /* no broker: not online */
    assert_true(e.pid > 0 && kill(e.pid, 0) == 0);
    run_for(800);
    assert_int_equal(qms_test_broker_start(&e.broker, port), 0);
    assert_int_equal(env_wait_online(&e, 10000), 0);
    qms_mqtt *k = env_client(&e, "kiosk-late");
    cJSON *o = env_req(&e, k, "ticket/take", "{\"req\":\"late-1\",\"service\":\"TP\"}");
    assert_non_null(o);
    assert_string_equal(js_str(o, "ticket"), "A0001");
    cJSON_Delete(o);
    qms_mqtt_free(k);
    assert_true(env_log_count(&e, "cannot reach broker") >= 1);
    env_stop(&e);
}

int main(void)
{
    qms_log_init("test_crash", getenv("QMS_TEST_LOG") ? QMS_LOG_DEBUG : QMS_LOG_ERROR);
    qms_mqtt_lib_init();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_during_burst),
        cmocka_unit_test(test_broker_restart),
        cmocka_unit_test(test_broker_late),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
