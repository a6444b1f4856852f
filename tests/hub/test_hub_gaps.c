/* qms-hub with holes in a site's stream (a real mosquitto, the real hub, an
 * outside-made stream): a site says head 12 but the hub got 1-3, 6-7 and 10.
 * The hub must say "missing":6 (4, 5, 8, 9, 11, 12 — the stored 6, 7, 10
 * are not missing), ask for exactly those ranges ({"from":4,"max":2},
 * {"from":8,"max":2}, {"from":11,"max":2}), not for up to 1000 events
 * from the first hole, and once they come apply everything: "missing":0,
 * "gap":false, applied 12. docs/province.md, "Gaps". */
#include "fixture.h"
#include "support.h"

#include "qms/clock.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define STATE "qms/province/site/s9/state"
#define REPLAY "qms/s9/stream/replay"

/* A stream message of site s9 with the events seqs (ticket i's take). */
static void publish(qms_mqtt *m, int head, const int *seqs, int n)
{
    char body[4096];
    int k = snprintf(body, sizeof body, "{\"site\":\"s9\",\"from\":%d,\"to\":%d,\"head\":%d,\"events\":[",
                     seqs[0], seqs[n - 1], head);
    for (int i = 0; i < n; i++)
        k += snprintf(body + k, sizeof body - (size_t)k,
                      "%s{\"seq\":%d,\"day\":\"2026-12-05\",\"at_ms\":%d,\"kind\":\"take\","
                      "\"ticket\":%d,\"label\":\"A%03d\",\"service\":\"TP\",\"number\":%d}",
                      i ? "," : "", seqs[i], 1000 + seqs[i], seqs[i], seqs[i], seqs[i]);
    snprintf(body + k, sizeof body - (size_t)k, "]}");
    assert_int_equal(qms_mqtt_publish(m, "qms/s9/stream", body, strlen(body), 1, 0), 0);
    assert_int_equal(qms_mqtt_drain(m, 10000), 0);
}

/* The replay requests seen since index from: does one ask {"from":f,"max":m}? */
static int asked(const qms_test_watch *w, int from, int f, int m)
{
    for (int i = from; i < w->n; i++) {
        if (strcmp(w->v[i].topic, REPLAY) != 0)
            continue;
        cJSON *o = cJSON_Parse(w->v[i].payload);
        const cJSON *jf = cJSON_GetObjectItem(o, "from"), *jm = cJSON_GetObjectItem(o, "max");
        int hit = cJSON_IsNumber(jf) && cJSON_IsNumber(jm) && jf->valueint == f &&
                  jm->valueint == m;
        cJSON_Delete(o);
        if (hit)
            return 1;
    }
    return 0;
}

static void test_missing_ranges(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    char tmp[256], db[320], log[320], broker[32];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "hub-gaps"), 0);
    qms_test_broker b;
    assert_int_equal(qms_test_broker_start(&b, 0), 0);
    snprintf(db, sizeof db, "%s/hub.db", tmp);
    snprintf(log, sizeof log, "%s/hub.log", tmp);
    snprintf(broker, sizeof broker, "127.0.0.1:%d", b.port);

    qms_test_watch w;
    const char *pats[] = {STATE, REPLAY, NULL};
    qms_mqtt_opts wo = {.port = b.port, .client_id = "watch", .site = "province"};
    assert_int_equal(qms_test_watch_start(&w, &wo, pats), 0);
    char *argv[] = {(char *)qms_test_bin("qms-hub"), "--broker", broker, "--db", db, "-v", NULL};
    pid_t hub = qms_test_spawn(argv, log);
    assert_true(hub > 0);
    qms_test_watch_pump(&w, 1500); /* the hub subscribes */

    qms_mqtt_opts so = {.port = b.port, .client_id = "site-s9", .site = "s9"};
    qms_mqtt *site = qms_test_client(&so, 30000);
    assert_non_null(site);
    const int first[] = {1, 2, 3, 6, 7, 10};
    publish(site, 12, first, 6);
    int at = qms_test_watch_wait(&w, 0, STATE, "\"missing\":6,", 30000);
    if (at < 0 && qms_test_watch_last(&w, STATE))
        fprintf(stderr, "state: %s\n", qms_test_watch_last(&w, STATE)->payload);
    assert_true(at >= 0);
    assert_non_null(strstr(w.v[at].payload, "\"applied\":3,"));
    assert_non_null(strstr(w.v[at].payload, "\"gap\":true"));
    /* the replay requests: the three holes, nothing else */
    int64_t end = qms_mono_ms() + 30000;
    while (!(asked(&w, 0, 4, 2) && asked(&w, 0, 8, 2) && asked(&w, 0, 11, 2)) &&
           qms_mono_ms() < end)
        qms_test_watch_pump(&w, 200);
    for (int i = 0; i < w.n; i++)
        if (strcmp(w.v[i].topic, REPLAY) == 0)
            fprintf(stderr, "asked: %s\n", w.v[i].payload);
    assert_true(asked(&w, 0, 4, 2));
    assert_true(asked(&w, 0, 8, 2));
    assert_true(asked(&w, 0, 11, 2));
    for (int i = 0; i < w.n; i++)
        if (strcmp(w.v[i].topic, REPLAY) == 0)
            assert_null(strstr(w.v[i].payload, "\"max\":1000"));

    /* the site answers (a replay message: the three ranges) */
    const int rest[] = {4, 5, 8, 9, 11, 12};
    int mark = w.n;
    publish(site, 12, rest, 6);
    at = qms_test_watch_wait(&w, mark, STATE, "\"applied\":12,", 30000);
    assert_true(at >= 0);
    fprintf(stderr, "state: %s\n", w.v[at].payload);
    assert_non_null(strstr(w.v[at].payload, "\"missing\":0,"));
    assert_non_null(strstr(w.v[at].payload, "\"gap\":false"));
    assert_non_null(strstr(w.v[at].payload, "\"stored\":12,"));

    qms_mqtt_free(site);
    qms_test_watch_stop(&w);
    kill(hub, SIGTERM);
    assert_int_equal(qms_test_wait_pid(hub, 20000), 0);
    qms_test_broker_stop(&b);
    qms_test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_missing_ranges)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
