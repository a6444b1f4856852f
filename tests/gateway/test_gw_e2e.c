/* qms-gateway end to end, with the real parts: mosquitto, qms-controller,
 * the firmware image in qemu-system-arm for counter unit 3, its LED board
 * 103, its rating keys 153 and the hall board 200 (each on its own line
 * through a wire of the test's own, which can add noise), and the real
 * qms-gateway. What the units show is read from their front panels; what
 * the controller did from its events, its store and qms-report.
 *
 * The scenarios run in order on one set of processes (starting QEMU is the
 * slow part): a call, the rating, a silent unit, a power-cycled unit, noise
 * on the line, and kill -9 of the gateway in the middle of a burst. */
#include "gw_harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SITE "gw"
#define UNIT_COUNTER 0
#define UNIT_LED 1
#define UNIT_RATING 2
#define UNIT_HALL 3
#define NUNITS 4

static const char *const center =
    "{\"site\":\"gw\",\"name_vi\":\"Trung tâm thử nghiệm\",\"name_en\":\"Test center\","
    "\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],\"rating_levels\":4,"
    "\"services\":["
    "{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":3,\"name_vi\":\"Tư pháp - Hộ tịch\"},"
    "{\"code\":\"DD\",\"prefix\":\"B\",\"digits\":3,\"name_vi\":\"Đất đai\"}],"
    "\"counters\":["
    "{\"id\":1,\"services\":[\"TP\"]},{\"id\":2,\"services\":[\"TP\"]},"
    "{\"id\":3,\"services\":[\"DD\"]}],"
    "\"bus\":["
    "{\"address\":3,\"kind\":\"counter\",\"counter\":3,\"line\":1},"
    "{\"address\":103,\"kind\":\"led\",\"counter\":3,\"line\":2},"
    "{\"address\":153,\"kind\":\"rating\",\"counter\":3,\"line\":3},"
    "{\"address\":200,\"kind\":\"hall\",\"line\":4}]}";

/* the gateway's options in these tests: QEMU on a shared machine answers in
 * tens of ms, sometimes hundreds */
#define GW_OPTS "--timeout-ms 400 --offline-ms 1500 --gap-ms 25"

static ctl_env E;
static gw_qunit U[NUNITS];
static gw_proc G;
static collector C;
static qms_mqtt *M;

static const char *st_topic(const char *kind, const char *id)
{
    static char t[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(t[k], sizeof t[k], "qms/" SITE "/device/%s/%s/status", kind, id);
    return t[k];
}
#define ST_KEYPAD st_topic("keypad", "3")
#define ST_LED st_topic("led", "2.103")
#define ST_RATING st_topic("rating", "3.153")
#define ST_HALL st_topic("hall", "4.200")

static int nreq;
static void take_dd(char label[16])
{
    char body[96];
    snprintf(body, sizeof body, "{\"req\":\"gw-test-%d\",\"service\":\"DD\"}", ++nreq);
    cJSON *r = env_req(&E, M, "ticket/take", body);
    assert_non_null(r);
    assert_non_null(js_str(r, "ticket"));
    snprintf(label, 16, "%s", js_str(r, "ticket"));
    cJSON_Delete(r);
}

/* Call events for ticket after collector index from. */
static int calls_of(int from, const char *ticket)
{
    char needle[48];
    snprintf(needle, sizeof needle, "\"ticket\":\"%s\"", ticket);
    int n = 0;
    for (int i = from; i < C.n; i++)
        if (strcmp(C.v[i].topic, "qms/" SITE "/call") == 0 && strstr(C.v[i].payload, needle))
            n++;
    return n;
}

static int wait_online(const char *topic)
{
    return coll_wait(&C, 0, topic, "\"online\"", 60000) >= 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    if (!gw_fw_image()[0]) {
        fprintf(stderr, "no firmware image (arm-none-eabi-gcc missing at configure time)\n");
        return -1;
    }
    if (env_start(&E, center, "2026-11-26T09:00:00"))
        return -1;
    static const int kinds[NUNITS] = {1, 2, 3, 4}, addrs[NUNITS] = {3, 103, 153, 200};
    for (int i = 0; i < NUNITS; i++)
        if (qu_start(&U[i], kinds[i], addrs[i], E.dir)) {
            fprintf(stderr, "unit %d did not start (%s)\n", addrs[i], U[i].log);
            return -1;
        }
    static const char *const pats[] = {"qms/" SITE "/device/#", "qms/" SITE "/call",
                                       "qms/" SITE "/stats", "qms/" SITE "/reply/#", NULL};
    if (coll_start(&C, &E, "gw-test-coll", pats))
        return -1;
    M = env_client(&E, "gw-test-client");
    if (!M || gwp_start(&G, &E, U, NUNITS, GW_OPTS))
        return -1;
    if (wait_online(ST_KEYPAD) || wait_online(ST_LED) || wait_online(ST_RATING) ||
        wait_online(ST_HALL)) {
        fprintf(stderr, "the units did not come online (gateway log %s)\n", G.log);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = 0;
    if (gwp_stop(&G, SIGTERM) != 0) {
        fprintf(stderr, "qms-gateway did not stop cleanly on SIGTERM (%s)\n", G.log);
        rc = -1;
    }
    /* an ASan build reports into the gateway's log (leaks at its exit) */
    if (gwp_log_count(&G, "Sanitizer") || gwp_log_count(&G, "runtime error")) {
        fprintf(stderr, "sanitizer report in %s\n", G.log);
        rc = -1;
    }
    /* keep what a person needs to see why a run failed */
    const char *keep = getenv("QMS_GW_TEST_KEEP");
    if (keep) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/*.log '%s'/ 2>/dev/null", keep, E.dir,
                 keep);
        if (system(cmd) != 0)
            fprintf(stderr, "could not keep the logs in %s\n", keep);
        for (int i = 0; i < NUNITS; i++) {
            snprintf(cmd, sizeof cmd, "%s/panel-%d.txt", keep, U[i].addr);
            FILE *f = fopen(cmd, "w");
            if (f && U[i].panel)
                fputs(U[i].panel, f);
            if (f)
                fclose(f);
        }
    }
    for (int i = 0; i < NUNITS; i++)
        qu_stop(&U[i]);
    coll_stop(&C);
    if (M)
        qms_mqtt_free(M);
    if (rc)
        fprintf(stderr, "(set QMS_GW_TEST_KEEP=DIR to keep the logs)\n");
    env_stop(&E);
    return rc;
}

/* `key next` on counter unit 3 calls the next ticket at counter 3; unit 3,
 * LED board 103 and the hall board show it. */
static void test_key_next_calls_and_shows(void **state)
{
    (void)state;
    char t[16];
    take_dd(t);
    assert_string_equal(t, "B001");
    int from = C.n;
    size_t m0 = qu_mark(&U[UNIT_COUNTER]), m1 = qu_mark(&U[UNIT_LED]),
           m3 = qu_mark(&U[UNIT_HALL]);
    qu_key(&U[UNIT_COUNTER], "next");
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", "\"ticket\":\"B001\"", 0) >= 0);
    assert_non_null(strstr(C.v[coll_wait(&C, from, "qms/" SITE "/call", "B001", 0)].payload,
                           "\"counter\":3"));
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, "B001 | Đang gọi", QMS_TEST_WAIT_MS),
                     0);
    assert_int_equal(qu_wait_display(&U[UNIT_LED], m1, "B001", QMS_TEST_WAIT_MS), 0);
    assert_int_equal(qu_wait_display(&U[UNIT_HALL], m3, "B001 → 3", QMS_TEST_WAIT_MS), 0);
    assert_int_equal(calls_of(from, "B001"), 1);
}

/* start, done: the rating keys of counter 3 light up; the citizen's press
 * rates B001; the stats and qms-report's SIPAS share count it. */
static void test_rating_after_done(void **state)
{
    (void)state;
    size_t m0 = qu_mark(&U[UNIT_COUNTER]), m2 = qu_mark(&U[UNIT_RATING]);
    qu_key(&U[UNIT_COUNTER], "start");
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, "Đang phục vụ", QMS_TEST_WAIT_MS), 0);
    qu_key(&U[UNIT_COUNTER], "done");
    assert_int_equal(qu_wait_display(&U[UNIT_RATING], m2, "rating on 1-4", QMS_TEST_WAIT_MS), 0);
    int from = C.n;
    m2 = qu_mark(&U[UNIT_RATING]);
    qu_key(&U[UNIT_RATING], "rate4");
    assert_true(coll_wait(&C, from, "qms/" SITE "/stats", "\"ratings\":1,", 0) >= 0);
    assert_true(coll_wait(&C, from, "qms/" SITE "/stats", "\"satisfied_share\":1", 0) >= 0);
    /* the keys go dark again: one rating per ask */
    assert_int_equal(qu_wait_display(&U[UNIT_RATING], m2, "rating off", QMS_TEST_WAIT_MS), 0);

    /* qms-report (an outside reader of the store): 1 rating, 100 % satisfied */
    char out[400], cmd[1400];
    snprintf(out, sizeof out, "%s/report.csv", E.dir);
    snprintf(cmd, sizeof cmd, "'%s' --db '%s' --config '%s' --from 2026-11-26 > '%s' 2>/dev/null",
             qms_test_bin("qms-report"), E.db, E.config, out);
    assert_int_equal(system(cmd), 0);
    char *csv = NULL;
    size_t len = 0;
    assert_int_equal(qms_read_file(out, &csv, &len, 1 << 20), QMS_OK);
    /* the header names the columns; the counter 3 row holds one rating of 4, 100 % */
    const char *hdr = strstr(csv, "Tỷ lệ hài lòng (%)");
    assert_non_null(hdr);
    int col_share = 0, col_n = -1, col = 0;
    for (const char *p = csv; p < hdr; p++)
        if (*p == ',')
            col++;
    col_share = col;
    const char *nh = strstr(csv, "Số lượt đánh giá");
    assert_non_null(nh);
    col = 0;
    for (const char *p = csv; p < nh; p++)
        if (*p == ',')
            col++;
    col_n = col;
    int rows_ok = 0;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[64];
        int nf = 0;
        for (char *p = line; nf < 64;) {
            f[nf++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = 0;
            p = c + 1;
        }
        if (nf > col_share && strcmp(f[col_n], "1") == 0 && strncmp(f[col_share], "100", 3) == 0)
            rows_ok++;
    }
    qms_free(csv);
    assert_true(rows_ok >= 1); /* at least the counter's or the total's row */
}

/* The citizen presses a rating key, but the gateway reads the press only
 * after the clerk called the next citizen (here: the gateway held while the
 * press is made and the next ticket is called from another client). The
 * rating still rates the ticket it was asked for, not the new one and not
 * nothing: the press carries its ask's token, the gateway sends the ticket,
 * the controller checks it was the counter's last finished one. */
static void test_rating_after_next_call(void **state)
{
    (void)state;
    char t1[16], t2[16];
    take_dd(t1);
    take_dd(t2);
    size_t m0 = qu_mark(&U[UNIT_COUNTER]), m2 = qu_mark(&U[UNIT_RATING]);
    qu_key(&U[UNIT_COUNTER], "next");
    char want[64];
    snprintf(want, sizeof want, "%s | Đang gọi", t1);
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, want, QMS_TEST_WAIT_MS), 0);
    qu_key(&U[UNIT_COUNTER], "done");
    assert_int_equal(qu_wait_display(&U[UNIT_RATING], m2, "rating on 1-4", QMS_TEST_WAIT_MS), 0);

    /* the press is in the unit's FIFO, unread, when the next call happens */
    assert_int_equal(kill(G.pid, SIGSTOP), 0);
    m2 = qu_mark(&U[UNIT_RATING]);
    qu_key(&U[UNIT_RATING], "rate2");
    assert_int_equal(qu_wait_display(&U[UNIT_RATING], m2, "rating off", QMS_TEST_WAIT_MS), 0);
    int from = C.n;
    cJSON *r = env_req(&E, M, "counter/3/cmd", "{\"req\":\"gw-test-next-late\",\"op\":\"next\"}");
    assert_non_null(r);
    assert_string_equal(js_str(r, "ticket"), t2);
    cJSON_Delete(r);
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", t2, 0) >= 0);
    assert_int_equal(kill(G.pid, SIGCONT), 0);

    /* the controller's reply to the gateway's rate names t1 */
    int64_t end = qms_mono_ms() + QMS_TEST_WAIT_MS;
    const char *rated = NULL;
    while (!rated && qms_mono_ms() < end) {
        coll_pump(&C, 200);
        for (int i = from; i < C.n && !rated; i++)
            if (strncmp(C.v[i].topic, "qms/" SITE "/reply/", strlen("qms/" SITE "/reply/")) == 0 &&
                strstr(C.v[i].payload, "\"req\":\"gw3.153-"))
                rated = C.v[i].payload;
    }
    if (!rated)
        fail_msg("the late rating was not sent (gateway log %s)", G.log);
    snprintf(want, sizeof want, "\"ticket\":\"%s\"", t1);
    if (!strstr(rated, want) || strstr(rated, "\"error\""))
        fail_msg("the late rating did not rate %s: %s", t1, rated);
    /* the controller counts it: two ratings now (4 and 2), half satisfied */
    assert_true(coll_wait(&C, from, "qms/" SITE "/stats", "\"ratings\":2,", 0) >= 0);

    /* a rating for a ticket the counter did not just finish is refused in words */
    r = env_req(&E, M, "counter/3/cmd",
                "{\"req\":\"gw-test-rate-wrong\",\"op\":\"rate\",\"level\":4,\"ticket\":\"B999\"}");
    assert_non_null(r);
    assert_string_equal(js_str(r, "error"), "unknown_ticket");
    assert_non_null(strstr(js_str(r, "message"), "B999"));
    cJSON_Delete(r);
    /* the clerk finishes t2: the counter is free for the next tests */
    r = env_req(&E, M, "counter/3/cmd", "{\"req\":\"gw-test-done-late\",\"op\":\"done\"}");
    cJSON_Delete(r);
}

/* A unit that goes silent (its QEMU stopped) is published offline within
 * 3 s, and online again when it answers. */
static void test_unit_silent_offline(void **state)
{
    (void)state;
    int from = C.n;
    kill(U[UNIT_LED].pid, SIGSTOP);
    int64_t t0 = qms_mono_ms();
    int i = coll_wait(&C, from, ST_LED, "\"offline\"", 0);
    int64_t dt = qms_mono_ms() - t0;
    kill(U[UNIT_LED].pid, SIGCONT);
    assert_true(i >= 0);
    fprintf(stderr, "LED board silent -> offline status in %lld ms\n", (long long)dt);
    assert_true(dt <= 3000);
    assert_true(coll_wait(&C, i, ST_LED, "\"online\"", 0) >= 0);
}

/* Power-cycle counter unit 3 in the middle of the day: it comes back with a
 * new session, shows the current ticket again, and its keys work. */
static void test_power_cycle(void **state)
{
    (void)state;
    char t2[16], t3[16];
    take_dd(t2);
    take_dd(t3);
    size_t m0 = qu_mark(&U[UNIT_COUNTER]);
    qu_key(&U[UNIT_COUNTER], "next");
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, t2, QMS_TEST_WAIT_MS), 0);
    int from = C.n;
    qu_power_off(&U[UNIT_COUNTER]);
    assert_true(coll_wait(&C, from, ST_KEYPAD, "\"offline\"", 0) >= 0);
    assert_int_equal(qu_power_on(&U[UNIT_COUNTER], E.dir), 0);
    assert_true(coll_wait(&C, from, ST_KEYPAD, "\"online\"", 0) >= 0);
    /* the fresh unit shows "----" by itself; the gateway writes the call again */
    m0 = qu_mark(&U[UNIT_COUNTER]);
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, t2, QMS_TEST_WAIT_MS), 0);
    from = C.n;
    qu_key(&U[UNIT_COUNTER], "next");
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", t3, 0) >= 0);
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, t3, QMS_TEST_WAIT_MS), 0);
    assert_true(gwp_log_count(&G, "the unit restarted") >= 1);
    assert_true(coll_wait(&C, from, ST_KEYPAD, "\"restarts\":1", 0) >= 0);
}

/* Noise on counter 3's line: replies and requests with flipped bits are
 * dropped and counted on both ends; one press is still one call. */
static double unit_error(const char *topic, const char *name)
{
    const coll_msg *st = coll_last(&C, topic);
    assert_non_null(st);
    cJSON *j = cJSON_Parse(st->payload);
    assert_non_null(j);
    double v = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errors"), name));
    cJSON_Delete(j);
    return v;
}

static void test_noise_no_wrong_call(void **state)
{
    (void)state;
    char t4[16];
    take_dd(t4);
    int from = C.n;
    double crc0 = unit_error(ST_KEYPAD, "crc"),
           bad0 = unit_error(ST_KEYPAD, "bad_replies") + unit_error(ST_KEYPAD, "timeouts");
    atomic_store(&U[UNIT_COUNTER].noise, 150); /* about one frame in four */
    size_t m0 = qu_mark(&U[UNIT_COUNTER]);
    qu_key(&U[UNIT_COUNTER], "next");
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, t4, QMS_TEST_WAIT_MS), 0);
    /* then only what the unit hears, so its own CRC counter moves for sure */
    atomic_store(&U[UNIT_COUNTER].noise_dir, 1);
    atomic_store(&U[UNIT_COUNTER].noise, 5);
    coll_pump(&C, 1500);
    atomic_store(&U[UNIT_COUNTER].noise, 0);
    atomic_store(&U[UNIT_COUNTER].noise_dir, 0);
    coll_pump(&C, 3000); /* a late double would come now; counters go out every 2 s */
    fprintf(stderr, "noise: %u bits flipped\n", atomic_load(&U[UNIT_COUNTER].flips));
    assert_true(atomic_load(&U[UNIT_COUNTER].flips) > 0);
    assert_int_equal(calls_of(from, t4), 1);
    int others = 0;
    for (int i = from; i < C.n; i++)
        if (strcmp(C.v[i].topic, "qms/" SITE "/call") == 0 && !strstr(C.v[i].payload, t4))
            others++;
    assert_int_equal(others, 0);
    /* counted: the unit's CRC errors and the gateway's bad replies */
    /* a damaged reply is a bad CRC, or a timeout when the damage hit its
     * length (the gateway waits for bytes that never come) */
    double crc = unit_error(ST_KEYPAD, "crc") - crc0,
           bad = unit_error(ST_KEYPAD, "bad_replies") + unit_error(ST_KEYPAD, "timeouts") - bad0;
    fprintf(stderr, "noise: unit CRC errors +%.0f, gateway bad replies and timeouts +%.0f\n", crc,
            bad);
    assert_true(crc > 0);
    assert_true(bad > 0);
    /* the unit is online and clean again */
    from = C.n;
    char t5[16];
    take_dd(t5);
    m0 = qu_mark(&U[UNIT_COUNTER]);
    qu_key(&U[UNIT_COUNTER], "next");
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, t5, QMS_TEST_WAIT_MS), 0);
}

/* The adapter of counter 3's line unplugged and plugged in again: the line
 * is lost (logged once), the unit offline, then both back, and a press
 * works. */
static void test_adapter_replug(void **state)
{
    (void)state;
    int from = C.n;
    int lost0 = gwp_log_count(&G, "lost");
    qu_unplug(&U[UNIT_COUNTER]);
    int64_t t0 = qms_mono_ms();
    assert_true(coll_wait(&C, from, ST_KEYPAD, "\"offline\"", 0) >= 0);
    fprintf(stderr, "adapter unplugged -> offline status in %lld ms\n",
            (long long)(qms_mono_ms() - t0));
    coll_pump(&C, 2500); /* while it stays unplugged, it is tried again quietly */
    assert_int_equal(gwp_log_count(&G, "lost") - lost0, 1);
    assert_int_equal(qu_replug(&U[UNIT_COUNTER]), 0);
    assert_true(coll_wait(&C, from, ST_KEYPAD, "\"online\"", 0) >= 0);
    assert_true(gwp_log_count(&G, "open again") >= 1);
    char t[16];
    take_dd(t);
    size_t m0 = qu_mark(&U[UNIT_COUNTER]);
    qu_key(&U[UNIT_COUNTER], "next");
    assert_int_equal(qu_wait_display(&U[UNIT_COUNTER], m0, t, QMS_TEST_WAIT_MS), 0);
}

/* kill -9 of the gateway in the middle of a burst of presses: after its
 * restart every press was done once, none twice, none lost.
 * First the narrow window made wide: the controller is held (SIGSTOP) so
 * the gateway's request for the first press is out but not answered (so not
 * acknowledged); the gateway is killed, the controller goes on and does the
 * press, and the new gateway reads the same press again: its request must
 * carry the same id, or the press is done twice. Then a kill at a random
 * point of a burst. */
static int called_count_ok(int from, char t[][16], int n_called, int n)
{
    int ok = 1;
    for (int i = 0; i < n; i++) {
        int c = calls_of(from, t[i]);
        if (c != (i < n_called ? 1 : 0)) {
            fprintf(stderr, "%s called %d times\n", t[i], c);
            ok = 0;
        }
    }
    return ok;
}

static void test_kill_gateway_mid_burst(void **state)
{
    (void)state;
    enum { N = 5, K = 3 };
    char t[N + K + 1][16];
    for (int i = 0; i <= N + K; i++)
        take_dd(t[i]);

    /* (1) the request is out, the reply not: kill */
    int from = C.n;
    int sent0 = gwp_log_count(&G, "-> {");
    kill(E.pid, SIGSTOP);
    for (int i = 0; i < N; i++)
        qu_key(&U[UNIT_COUNTER], "next");
    int64_t end = qms_mono_ms() + QMS_TEST_WAIT_MS;
    while (gwp_log_count(&G, "-> {") == sent0 && qms_mono_ms() < end)
        usleep(20000);
    assert_true(gwp_log_count(&G, "-> {") > sent0);
    gwp_stop(&G, SIGKILL);
    kill(E.pid, SIGCONT);
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", t[0], 0) >= 0); /* done while we were away */
    assert_int_equal(gwp_start(&G, &E, U, NUNITS, GW_OPTS), 0);
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", t[N - 1], 60000) >= 0);
    coll_pump(&C, 3000); /* a press done twice would call one more now */
    assert_true(called_count_ok(from, t, N, N + K + 1));

    /* (2) kill as soon as the first of a burst was done */
    for (int i = 0; i < K; i++)
        qu_key(&U[UNIT_COUNTER], "next");
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", t[N], 0) >= 0);
    gwp_stop(&G, SIGKILL);
    assert_int_equal(gwp_start(&G, &E, U, NUNITS, GW_OPTS), 0);
    assert_true(coll_wait(&C, from, "qms/" SITE "/call", t[N + K - 1], 60000) >= 0);
    coll_pump(&C, 3000);
    assert_true(called_count_ok(from, t, N + K, N + K + 1));

    /* the store agrees: each called once, the last still waiting */
    assert_int_equal(env_controller_signal(&E, SIGTERM), 0);
    store_ticket *st = NULL;
    int n = env_store_tickets(&E, &st);
    assert_true(n > 0);
    for (int k = 0; k < n; k++)
        for (int i = 0; i <= N + K; i++)
            if (strcmp(st[k].label, t[i]) == 0)
                assert_int_equal(st[k].ncalls, i < N + K ? 1 : 0);
    free(st);
    assert_int_equal(env_controller_start(&E), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_next_calls_and_shows),
        cmocka_unit_test(test_rating_after_done),
        cmocka_unit_test(test_rating_after_next_call),
        cmocka_unit_test(test_unit_silent_offline),
        cmocka_unit_test(test_power_cycle),
        cmocka_unit_test(test_noise_no_wrong_call),
        cmocka_unit_test(test_adapter_replug),
        cmocka_unit_test(test_kill_gateway_mid_burst),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
