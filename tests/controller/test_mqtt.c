/* libqms's MQTT session wrapper against a real mosquitto: request/reply with
 * response topic + correlation data, device status and last will, reconnect
 * after a broker restart (resubscribe, status again, a waiting request sent
 * again), and a persistent session that keeps messages sent while we were away. */
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/mqtt.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- a responder running in its own thread: echoes "echo:<payload>" --- */
typedef struct responder {
    qms_mqtt *m;
    atomic_int stop;
    atomic_int seen; /* requests received */
    pthread_t th;
} responder;

static void responder_msg(void *ud, const qms_mqtt_msg *msg)
{
    responder *r = ud;
    if (!msg->response_topic)
        return;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "echo:%.*s", msg->len, msg->payload);
    atomic_fetch_add(&r->seen, 1);
    qms_mqtt_reply(r->m, msg, buf, (size_t)n);
}

static void *responder_main(void *arg)
{
    responder *r = arg;
    while (!atomic_load(&r->stop))
        qms_mqtt_loop(r->m, 20);
    return NULL;
}

static qms_mqtt *session(int port, const char *id, const char *kind, int expiry)
{
    qms_mqtt_opts o = {.host = "127.0.0.1",
                       .port = port,
                       .client_id = id,
                       .site = "t",
                       .device_kind = kind,
                       .device_id = id,
                       .keepalive_s = 5,
                       .session_expiry_s = expiry};
    qms_mqtt *m = NULL;
    assert_int_equal(qms_mqtt_new(&o, &m), QMS_OK);
    return m;
}

static int wait_connected(qms_mqtt *m, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    while (!qms_mqtt_connected(m) && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    return qms_mqtt_connected(m);
}

static void responder_start(responder *r, int port)
{
    memset(r, 0, sizeof *r);
    r->m = session(port, "resp", "test", 0);
    qms_mqtt_set_callbacks(r->m, responder_msg, NULL, r);
    assert_int_equal(qms_mqtt_subscribe(r->m, "qms/t/echo", 1), QMS_OK);
    assert_true(wait_connected(r->m, 3000));
    pthread_create(&r->th, NULL, responder_main, r);
}

static void responder_stop(responder *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
    qms_mqtt_free(r->m);
}

/* --- a collector of messages on a session --- */
typedef struct seen {
    char topic[8][128];
    char payload[8][256];
    int n;
    int ups, downs;
} seen;

static void seen_msg(void *ud, const qms_mqtt_msg *msg)
{
    seen *s = ud;
    if (s->n < 8) {
        snprintf(s->topic[s->n], sizeof s->topic[0], "%s", msg->topic);
        snprintf(s->payload[s->n], sizeof s->payload[0], "%.*s", msg->len, msg->payload);
        s->n++;
    }
}

static void seen_conn(void *ud, int up)
{
    seen *s = ud;
    if (up)
        s->ups++;
    else
        s->downs++;
}

static void coll_more(qms_mqtt *m, int ms)
{
    int64_t end = qms_mono_ms() + ms;
    while (qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
}

static void test_parse_hostport(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(qms_parse_hostport("127.0.0.1:1884", host, sizeof host, &port), QMS_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 1884);
    assert_int_equal(qms_parse_hostport("broker", host, sizeof host, &port), QMS_OK);
    assert_int_equal(port, 1883);
    assert_int_equal(qms_parse_hostport("h:0", host, sizeof host, &port), QMS_ERR_INVAL);
    assert_int_equal(qms_parse_hostport("h:70000", host, sizeof host, &port), QMS_ERR_INVAL);
    assert_int_equal(qms_parse_hostport(":1883", host, sizeof host, &port), QMS_ERR_INVAL);
    assert_int_equal(qms_parse_hostport("h:12x", host, sizeof host, &port), QMS_ERR_INVAL);
    assert_int_equal(qms_parse_hostport("", host, sizeof host, &port), QMS_ERR_INVAL);
}

static void test_request_reply(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    responder r;
    responder_start(&r, b.port);
    qms_mqtt *c = session(b.port, "client1", "test", 0);
    char *reply = NULL;
    for (int i = 0; i < 50; i++) {
        char body[32];
        snprintf(body, sizeof body, "ping %d", i);
        assert_int_equal(qms_mqtt_request_sync(c, "qms/t/echo", body, 3000, &reply), QMS_OK);
        char want[64];
        snprintf(want, sizeof want, "echo:%s", body);
        assert_string_equal(reply, want);
        qms_free(reply);
    }
    assert_int_equal(atomic_load(&r.seen), 50);
    /* nobody answers on another topic: a timeout, not a hang */
    int64_t t0 = qms_mono_ms();
    assert_int_equal(qms_mqtt_request_sync(c, "qms/t/nobody", "x", 300, &reply), QMS_ERR_TIMEOUT);
    assert_null(reply);
    assert_true(qms_mono_ms() - t0 < 30000); /* a bound on a loaded machine, not a speed check */
    qms_mqtt_free(c);
    responder_stop(&r);
    qms_test_broker_stop(&b);
}

static void test_status_and_will(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    qms_mqtt *dev = session(b.port, "dev1", "kiosk", 0);
    qms_mqtt_set_status(dev, "{\"state\":\"online\"}");
    assert_true(wait_connected(dev, 3000));
    qms_mqtt_loop(dev, 50);

    seen s = {0};
    qms_mqtt *watch = session(b.port, "watch", "test", 0);
    qms_mqtt_set_callbacks(watch, seen_msg, NULL, &s);
    qms_mqtt_subscribe(watch, "qms/t/device/kiosk/dev1/status", 1);
    int64_t end = qms_mono_ms() + 3000;
    while (s.n < 1 && qms_mono_ms() < end)
        qms_mqtt_loop(watch, 20);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.payload[0], "{\"state\":\"online\"}");

    /* a clean free publishes "offline" itself */
    qms_mqtt_free(dev);
    end = qms_mono_ms() + 3000;
    while (s.n < 2 && qms_mono_ms() < end)
        qms_mqtt_loop(watch, 20);
    coll_more(watch, 300); /* and nothing else: no last will after a clean stop */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.payload[1], "{\"state\":\"offline\"}");
    qms_mqtt_free(watch);
    qms_test_broker_stop(&b);
}

/* The last will: a child process dies without a word; the broker says offline. */
static void test_last_will(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    pid_t pid = fork();
    if (pid == 0) {
        qms_mqtt *dev = session(b.port, "dying", "display", 0);
        qms_mqtt_set_status(dev, "{\"state\":\"online\"}");
        for (;;)
            qms_mqtt_loop(dev, 100);
    }
    seen s = {0};
    qms_mqtt *watch = session(b.port, "watch2", "test", 0);
    qms_mqtt_set_callbacks(watch, seen_msg, NULL, &s);
    qms_mqtt_subscribe(watch, "qms/t/device/display/dying/status", 1);
    int64_t end = qms_mono_ms() + 5000;
    while ((s.n < 1 || strstr(s.payload[s.n - 1], "online") == NULL) && qms_mono_ms() < end)
        qms_mqtt_loop(watch, 20);
    assert_non_null(strstr(s.payload[s.n - 1], "online"));
    kill(pid, SIGKILL);
    qms_test_wait_pid(pid, 3000);
    int before = s.n;
    end = qms_mono_ms() + 5000;
    while (s.n == before && qms_mono_ms() < end)
        qms_mqtt_loop(watch, 20);
    assert_int_equal(s.n, before + 1);
    assert_string_equal(s.payload[s.n - 1], "{\"state\":\"offline\"}");
    qms_mqtt_free(watch);
    qms_test_broker_stop(&b);
}

/* Broker restart: the session notices, reconnects with backoff, subscribes
 * again and republishes its status. */
static void test_reconnect(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    int port = b.port;
    seen s = {0};
    qms_mqtt *m = session(port, "recon", "counter", 0);
    qms_mqtt_set_callbacks(m, seen_msg, seen_conn, &s);
    qms_mqtt_set_status(m, "{\"state\":\"online\"}");
    qms_mqtt_subscribe(m, "qms/t/ping", 1);
    assert_true(wait_connected(m, 3000));
    assert_int_equal(s.ups, 1);

    kill(b.pid, SIGKILL);
    qms_test_wait_pid(b.pid, 3000);
    b.pid = 0;
    int64_t end = qms_mono_ms() + 5000;
    while (qms_mqtt_connected(m) && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    assert_false(qms_mqtt_connected(m));
    assert_int_equal(s.downs, 1);
    assert_int_equal(qms_mqtt_loop(m, 20), QMS_ERR_UNAVAILABLE);
    /* a while down: attempts fail and back off, no crash, no busy loop */
    for (int i = 0; i < 20; i++)
        qms_mqtt_loop(m, 20);

    qms_test_rmdir(b.dir);
    assert_int_equal(qms_test_broker_start(&b, port), 0);
    assert_true(wait_connected(m, 8000));
    assert_int_equal(s.ups, 2);

    /* resubscribed: a publish from someone else reaches us */
    qms_mqtt *p = session(port, "pinger", "test", 0);
    assert_true(wait_connected(p, 3000));
    qms_mqtt_publish(p, "qms/t/ping", "hello", 5, 1, 0);
    qms_mqtt_loop(p, 50);
    end = qms_mono_ms() + 3000;
    while (s.n < 1 && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.payload[0], "hello");

    /* and our status is there again (the broker had no persistence) */
    seen w = {0};
    qms_mqtt_set_callbacks(p, seen_msg, NULL, &w);
    qms_mqtt_subscribe(p, "qms/t/device/counter/recon/status", 1);
    end = qms_mono_ms() + 3000;
    while (w.n < 1 && qms_mono_ms() < end)
        qms_mqtt_loop(p, 20);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.payload[0], "{\"state\":\"online\"}");
    qms_mqtt_free(p);
    qms_mqtt_free(m);
    qms_test_broker_stop(&b);
}

/* A persistent session: messages published while we are away (process gone)
 * are delivered when we come back with the same client id. */
/* read_max: at most that many messages reach on_msg per qms_mqtt_io, the
 * rest are held (in order, nothing lost) and qms_mqtt_more says so. */
typedef struct sliced {
    int n, in_call, max_in_call, in_order;
} sliced;

static void sliced_msg(void *ud, const qms_mqtt_msg *msg)
{
    sliced *s = ud;
    char want[32];
    snprintf(want, sizeof want, "m-%d", s->n);
    if (msg->len != (int)strlen(want) || memcmp(msg->payload, want, (size_t)msg->len) != 0)
        s->in_order = 0;
    s->n++;
    if (++s->in_call > s->max_in_call)
        s->max_in_call = s->in_call;
}

static void test_read_max(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    qms_mqtt_opts o = {.host = "127.0.0.1",
                       .port = b.port,
                       .client_id = "slicer",
                       .site = "t",
                       .device_kind = "test",
                       .keepalive_s = 5,
                       .session_expiry_s = 60,
                       .inflight_max = 200,
                       .read_max = 5};
    qms_mqtt *m = NULL;
    assert_int_equal(qms_mqtt_new(&o, &m), QMS_OK);
    sliced s = {.in_order = 1};
    qms_mqtt_set_callbacks(m, sliced_msg, NULL, &s);
    qms_mqtt_subscribe(m, "qms/t/many", 1);
    assert_true(wait_connected(m, 3000));
    qms_mqtt_loop(m, 50);
    /* 300 messages arrive while the receiver does not read */
    qms_mqtt *p = session(b.port, "many-sender", "test", 0);
    assert_true(wait_connected(p, 3000));
    for (int i = 0; i < 300; i++) {
        char body[32];
        snprintf(body, sizeof body, "m-%d", i);
        assert_int_equal(qms_mqtt_publish(p, "qms/t/many", body, strlen(body), 1, 0), QMS_OK);
    }
    assert_int_equal(qms_mqtt_drain(p, 5000), QMS_OK);
    poll(NULL, 0, 200);
    int held_seen = 0;
    int64_t end = qms_mono_ms() + 10000;
    while (s.n < 300 && qms_mono_ms() < end) {
        s.in_call = 0;
        qms_mqtt_loop(m, qms_mqtt_more(m) ? 0 : 20);
        held_seen |= qms_mqtt_more(m);
    }
    assert_int_equal(s.n, 300);
    assert_true(s.in_order);
    assert_true(s.max_in_call <= 5);
    assert_true(held_seen); /* libmosquitto read more than 5 at once: held, then handed over */
    qms_mqtt_free(p);
    qms_mqtt_free(m);
    qms_test_broker_stop(&b);
}

/* qms_mqtt_gate: publications wait, in order, until released up to their
 * generation; gate 0 sends at once again. */
/* qms_mqtt corks the socket while it writes a batch (TCP_CORK) and must
 * always take the cork out again: left in, what follows waits up to 200 ms */
static int corked(qms_mqtt *m)
{
    int on = -1;
    socklen_t len = sizeof on;
    int fd = qms_mqtt_socket(m, NULL);
    assert_true(fd >= 0);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, &len), 0);
    return on;
}

static void test_gate_release(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    qms_mqtt *m = session(b.port, "gate-recv", "test", 0);
    sliced s = {.in_order = 1};
    qms_mqtt_set_callbacks(m, sliced_msg, NULL, &s);
    qms_mqtt_subscribe(m, "qms/t/many", 1);
    assert_true(wait_connected(m, 3000));
    qms_mqtt_loop(m, 50);
    qms_mqtt *p = session(b.port, "gate-send", "test", 0);
    assert_true(wait_connected(p, 3000));
    qms_mqtt_gate(p, 1);
    assert_int_equal(qms_mqtt_publish(p, "qms/t/many", "m-0", 3, 1, 0), QMS_OK);
    assert_int_equal(qms_mqtt_publish(p, "qms/t/many", "m-1", 3, 1, 0), QMS_OK);
    qms_mqtt_gate(p, 2);
    assert_int_equal(qms_mqtt_publish(p, "qms/t/many", "m-2", 3, 1, 0), QMS_OK);
    assert_int_equal(qms_mqtt_waiting(p), 3);
    int64_t end = qms_mono_ms() + 300;
    while (qms_mono_ms() < end) {
        qms_mqtt_loop(p, 10);
        qms_mqtt_loop(m, 10);
    }
    assert_int_equal(s.n, 0); /* nothing left while gated */
    assert_int_equal(qms_mqtt_release(p, 1), 1);
    assert_int_equal(corked(p), 0); /* the batch of two went out corked, then pushed */
    end = qms_mono_ms() + 5000;
    while (s.n < 2 && qms_mono_ms() < end) {
        qms_mqtt_loop(p, 10);
        qms_mqtt_loop(m, 10);
    }
    end = qms_mono_ms() + 200;
    while (qms_mono_ms() < end) {
        qms_mqtt_loop(p, 10);
        qms_mqtt_loop(m, 10);
    }
    assert_int_equal(s.n, 2); /* generation 1 only */
    assert_int_equal(corked(m), 0); /* its acknowledgements, corked while it read */
    assert_int_equal(qms_mqtt_release(p, 2), 0);
    qms_mqtt_gate(p, 0);
    assert_int_equal(qms_mqtt_publish(p, "qms/t/many", "m-3", 3, 1, 0), QMS_OK);
    assert_int_equal(qms_mqtt_waiting(p), 0);
    end = qms_mono_ms() + 5000;
    while (s.n < 4 && qms_mono_ms() < end) {
        qms_mqtt_loop(p, 10);
        qms_mqtt_loop(m, 10);
    }
    assert_int_equal(s.n, 4);
    assert_true(s.in_order);
    /* what still waits when the session goes is freed with it (ASan) */
    qms_mqtt_gate(p, 3);
    assert_int_equal(qms_mqtt_publish(p, "qms/t/many", "m-4", 3, 1, 0), QMS_OK);
    qms_mqtt_free(p);
    qms_mqtt_free(m);
    qms_test_broker_stop(&b);
}

static void test_persistent_session(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    qms_mqtt *m = session(b.port, "keeper", "controller", 60);
    qms_mqtt_subscribe(m, "qms/t/inbox", 1);
    assert_true(wait_connected(m, 3000));
    qms_mqtt_loop(m, 50);
    qms_mqtt_free(m);

    qms_mqtt *p = session(b.port, "sender", "test", 0);
    assert_true(wait_connected(p, 3000));
    qms_mqtt_publish(p, "qms/t/inbox", "while away", 10, 1, 0);
    for (int i = 0; i < 5; i++)
        qms_mqtt_loop(p, 20);

    seen s = {0};
    m = session(b.port, "keeper", "controller", 60);
    qms_mqtt_set_callbacks(m, seen_msg, NULL, &s);
    qms_mqtt_subscribe(m, "qms/t/inbox", 1);
    int64_t end = qms_mono_ms() + 3000;
    while (s.n < 1 && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.payload[0], "while away");
    qms_mqtt_free(m);
    qms_mqtt_free(p);
    qms_test_broker_stop(&b);
}

/* request_sync sends its request again when the link comes back while it
 * waits (here the responder is started only after a broker restart). */
static void test_request_survives_restart(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    int port = b.port;
    qms_mqtt *c = session(port, "patient", "test", 0);
    assert_true(wait_connected(c, 3000));
    /* the child answers until the parent closes this pipe (it may have to
     * wait for the client's reconnect backoff, up to 5 s, on a slow machine) */
    int done[2];
    assert_int_equal(pipe(done), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* child: restart the broker in a moment, then answer requests */
        close(done[1]);
        poll(NULL, 0, 300);
        kill(b.pid, SIGKILL);
        poll(NULL, 0, 500);
        qms_test_broker nb;
        if (qms_test_broker_start(&nb, port))
            _exit(2);
        responder r;
        responder_start(&r, port);
        struct pollfd pf = {.fd = done[0], .events = POLLIN};
        poll(&pf, 1, 120000);
        responder_stop(&r);
        qms_test_broker_stop(&nb);
        _exit(0);
    }
    close(done[0]);
    char *reply = NULL;
    int rc = qms_mqtt_request_sync(c, "qms/t/echo", "late", 30000, &reply);
    close(done[1]);
    assert_int_equal(rc, QMS_OK);
    assert_string_equal(reply, "echo:late");
    qms_free(reply);
    qms_mqtt_free(c);
    assert_int_equal(qms_test_wait_pid(pid, 30000), 0);
    qms_test_wait_pid(b.pid, 1000);
    qms_test_rmdir(b.dir);
}

/* A request that reached the broker while nobody listened is sent again on
 * the same link: the responder subscribes only 1.5 s after the request. */
static void test_request_resent_until_answered(void **state)
{
    (void)state;
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    qms_mqtt *c = session(b.port, "patient2", "test", 0);
    assert_true(wait_connected(c, 3000));
    pid_t pid = fork();
    if (pid == 0) {
        poll(NULL, 0, 1500);
        responder r;
        responder_start(&r, b.port);
        poll(NULL, 0, 30000); /* until killed once answered; slow starts on a loaded machine */
        responder_stop(&r);
        _exit(0);
    }
    char *reply = NULL;
    assert_int_equal(qms_mqtt_request_sync(c, "qms/t/echo", "early", 30000, &reply), QMS_OK);
    assert_string_equal(reply, "echo:early");
    qms_free(reply);
    qms_mqtt_free(c);
    kill(pid, SIGTERM);
    qms_test_wait_pid(pid, 10000);
    qms_test_broker_stop(&b);
}

int main(void)
{
    qms_log_init("test_mqtt", QMS_LOG_WARN);
    qms_mqtt_lib_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_hostport),
        cmocka_unit_test(test_request_reply),
        cmocka_unit_test(test_status_and_will),
        cmocka_unit_test(test_last_will),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_persistent_session),
        cmocka_unit_test(test_read_max),
        cmocka_unit_test(test_gate_release),
        cmocka_unit_test(test_request_survives_restart),
        cmocka_unit_test(test_request_resent_until_answered),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
