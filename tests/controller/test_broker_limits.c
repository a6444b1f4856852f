/* The broker limits of the shipped configs (issue 9 #7), on a real
 * mosquitto running with exactly the limit lines of examples/mosquitto.conf
 * (and the same lines in examples/mosquitto-tls.conf):
 *  - subscribers to everything that never read (raw sockets with a small
 *    receive buffer) do not grow the broker past what the limits allow,
 *    measured as the broker's resident memory while 80 MB are published;
 *  - a message over message_size_limit is not forwarded;
 *  - connections past max_connections are refused. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The limit lines of a config file (max_*, message_size_limit), in order. */
static void limit_lines(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    out[0] = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "max_", 4) == 0 || strncmp(line, "message_size_limit", 18) == 0)
            strncat(out, line, cap - strlen(out) - 1);
    fclose(f);
}

static long long limit_value(const char *lines, const char *name)
{
    const char *p = strstr(lines, name);
    assert_non_null(p);
    return atoll(p + strlen(name));
}

static long broker_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    fclose(f);
    return kib;
}

/* An MQTT 3.1.1 client by hand: CONNECT (and SUBSCRIBE filter, QoS 0, when
 * given), with a small receive buffer. Returns the socket once CONNACK (and
 * SUBACK) arrived, -1 if the broker refused or closed. It is never read
 * again. */
static int raw_client(int port, const char *id, const char *filter)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    unsigned char p[256];
    size_t idl = strlen(id), n = 0;
    p[n++] = 0x10;
    p[n++] = (unsigned char)(10 + 2 + idl);
    memcpy(p + n, "\0\4MQTT\4\2\0\74", 10);
    n += 10;
    p[n++] = 0;
    p[n++] = (unsigned char)idl;
    memcpy(p + n, id, idl);
    n += idl;
    if (filter) {
        size_t fl = strlen(filter);
        p[n++] = 0x82;
        p[n++] = (unsigned char)(2 + 2 + fl + 1);
        p[n++] = 0;
        p[n++] = 1;
        p[n++] = 0;
        p[n++] = (unsigned char)fl;
        memcpy(p + n, filter, fl);
        n += fl;
        p[n++] = 0;
    }
    if (write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    /* CONNACK (4 bytes, return code 0) and SUBACK (5 bytes) */
    size_t want = filter ? 9 : 4, got = 0;
    int64_t end = qms_mono_ms() + 5000;
    while (got < want && qms_mono_ms() < end) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, p + got, want - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < want || p[0] != 0x20 || p[3] != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_limits_in_shipped_configs(void **state)
{
    (void)state;
    char lines[2048], tls[2048];
    limit_lines(QMS_EXAMPLES "/mosquitto.conf", lines, sizeof lines);
    limit_lines(QMS_EXAMPLES "/mosquitto-tls.conf", tls, sizeof tls);
    assert_string_equal(lines, tls); /* the same limits for both setups */
    long long qbytes = limit_value(lines, "max_queued_bytes");
    long long qmsgs = limit_value(lines, "max_queued_messages");
    long long msize = limit_value(lines, "message_size_limit");
    long long conns = limit_value(lines, "max_connections");
    assert_true(qbytes > 0 && qmsgs >= 20000 && msize >= 8192 && conns > 0);

    char extra[2300];
    snprintf(extra, sizeof extra, "allow_anonymous true\n%s", lines);
    ctl_env e;
    assert_int_equal(env_start_custom(&e, extra, NULL, NULL), 0);
    int port = e.broker.port;

    /* four subscribers to everything that never read */
    enum { ROGUES = 4 };
    int rogue[ROGUES];
    for (int i = 0; i < ROGUES; i++) {
        char id[32];
        snprintf(id, sizeof id, "rogue-%d", i);
        rogue[i] = raw_client(port, id, "#");
        assert_true(rogue[i] >= 0);
    }
    collector seen;
    const char *const pats[] = {"qms/lim/marker", "qms/lim/big", "qms/lim/after", NULL};
    assert_int_equal(coll_start(&seen, &e, "lim-watch", pats), 0);
    coll_pump(&seen, 200);
    long rss0 = broker_rss_kib(e.broker.pid);

    /* more 1 KiB messages than a client's queue holds (QoS 1; the rogues
     * take them at QoS 0), then a marker */
    qms_mqtt *pub = env_client(&e, "lim-pub");
    assert_non_null(pub);
    static char payload[1024];
    memset(payload, 'x', sizeof payload);
    int NMSG = (int)qmsgs + 5000;
    for (int i = 0; i < NMSG; i++) {
        while (qms_mqtt_publish(pub, "qms/lim/flood", payload, sizeof payload, 1, 0) != QMS_OK)
            qms_mqtt_loop(pub, 5);
        if (i % 64 == 63) {
            qms_mqtt_loop(pub, 0);
            coll_pump(&seen, 0);
        }
    }
    if (qms_mqtt_drain(pub, QMS_TEST_WAIT_MS) != QMS_OK)
        fail_msg("the publisher could not send everything (connected %d)", qms_mqtt_connected(pub));
    assert_int_equal(qms_mqtt_publish(pub, "qms/lim/marker", "end", 3, 1, 0), QMS_OK);
    assert_true(coll_wait(&seen, 0, "qms/lim/marker", "end", QMS_TEST_WAIT_MS) >= 0);
    long rss1 = broker_rss_kib(e.broker.pid);
    /* each rogue may hold max_queued_messages messages (QoS 0 deliveries are
     * bounded by count alone in mosquitto 2.0.11), 1 KiB each plus the
     * packet and bookkeeping; the publisher's 25,000 are spread thin */
    long bound_kib = (long)(ROGUES * qmsgs * 3 / 2) + 32 * 1024;
    (void)qbytes;
    printf("broker RSS %ld KiB -> %ld KiB (+%ld KiB) with %d subscribers that never read, "
           "%d x 1 KiB published; bound %ld KiB\n",
           rss0, rss1, rss1 - rss0, ROGUES, NMSG, bound_kib);
    assert_true(rss1 - rss0 <= bound_kib);
    assert_int_equal(kill(e.broker.pid, 0), 0);

    /* an oversize message is not forwarded; the next one is */
    char *big = qms_malloc((size_t)msize + 1024);
    memset(big, 'y', (size_t)msize + 1024);
    int from = seen.n;
    assert_int_equal(qms_mqtt_publish(pub, "qms/lim/big", big, (size_t)msize + 1024, 1, 0), QMS_OK);
    assert_int_equal(qms_mqtt_publish(pub, "qms/lim/after", "small", 5, 1, 0), QMS_OK);
    qms_mqtt_drain(pub, QMS_TEST_WAIT_MS);
    assert_true(coll_wait(&seen, from, "qms/lim/after", "small", QMS_TEST_WAIT_MS) >= 0);
    assert_int_equal(coll_count(&seen, "qms/lim/big"), 0);
    qms_free(big);

    /* max_connections: the broker's own tally includes the harness's clients
     * (controller, watcher, publisher) and the rogues; count how many more
     * get in */
    int *fds = calloc((size_t)conns + 8, sizeof *fds);
    int in = 0, refused = 0;
    for (int i = 0; i < conns + 8; i++) {
        char id[32];
        snprintf(id, sizeof id, "conn-%d", i);
        fds[i] = raw_client(port, id, NULL);
        if (fds[i] >= 0)
            in++;
        else
            refused++;
    }
    printf("max_connections %lld: %d more connected, %d refused\n", conns, in, refused);
    assert_true(refused >= 8);
    assert_true(in <= conns);
    for (int i = 0; i < conns + 8; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    for (int i = 0; i < ROGUES; i++)
        close(rogue[i]);
    qms_mqtt_free(pub);
    coll_stop(&seen);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_in_shipped_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
