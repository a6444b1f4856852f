/* Bookings through the real qms-controller and mosquitto (docs/booking.md):
 * the slots, the rules of booking/make (CCCD, day, slot, K a day, one per
 * service, a full slot), two outside clients (mosquitto_rr) racing for the
 * last place, cancel, and the check-in on ticket/take: a made-up code, a
 * mistyped one, early, on time (ahead of an earlier walk-in), reused, after
 * cancel, wrong service, wrong day, by CCCD number, late and no-show; the
 * "equal" rank; the center's calendar (a holiday refused, a make-up day
 * booked); and that the CCCD number reaches neither a topic nor the
 * store's files. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/bookcode.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

static const char *const CCCD1 = "001099012345";
static const char *const CCCD2 = "079188000777";
static const char *const CCCD3 = "036201999888";

static char center[4096];

/* the harness's center (open all day, 09:00 now) with a booking section */
static const char *center_with(const char *booking)
{
    snprintf(center, sizeof center, "{\"booking\":%s,%s", booking, harness_center_json + 1);
    return center;
}

static void day_str(const ctl_env *e, int plus, char out[11])
{
    qms_day_str(qms_local_day(env_now(e), e->utc_offset_min) + plus, out);
}

/* a request that must be refused with code; returns the reply (caller frees) */
static cJSON *refused(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json,
                      const char *code)
{
    cJSON *o = env_req(e, m, suffix, json);
    if (!o)
        fail_msg("no reply to %s", json);
    const char *err = js_str(o, "error");
    if (!err || strcmp(err, code) != 0)
        fail_msg("%s: got %s, want %s", json, err ? err : "(success)", code);
    assert_non_null(js_str(o, "message"));
    return o;
}

static void expect_refused(const ctl_env *e, qms_mqtt *m, const char *suffix, const char *json,
                           const char *code)
{
    cJSON_Delete(refused(e, m, suffix, json, code));
}

static void make_json(char *out, size_t n, const char *req, const char *svc, const char *day,
                      const char *slot, const char *cccd)
{
    snprintf(out, n,
             "{\"req\":\"%s\",\"service\":\"%s\",\"day\":\"%s\",\"slot\":\"%s\",\"cccd\":\"%s\"}",
             req, svc, day, slot, cccd);
}

static int queue_len(const ctl_env *e, qms_mqtt *m, int counter)
{
    static int n;
    char json[64], suffix[32];
    snprintf(json, sizeof json, "{\"req\":\"st-%d\",\"op\":\"status\"}", ++n);
    snprintf(suffix, sizeof suffix, "counter/%d/cmd", counter);
    cJSON *o = env_req(e, m, suffix, json);
    int q = (int)js_num(o, "queue_len");
    cJSON_Delete(o);
    return q;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    char *buf = malloc(64 << 20);
    *len = buf ? fread(buf, 1, (64 << 20) - 1, f) : 0;
    fclose(f);
    return buf;
}

static int file_holds(const char *path, const char *needle)
{
    size_t len;
    char *b = read_all(path, &len);
    int found = 0;
    size_t nl = strlen(needle);
    for (size_t i = 0; b && i + nl <= len && !found; i++)
        found = memcmp(b + i, needle, nl) == 0;
    free(b);
    return found;
}

static void test_booking_rules(void **state)
{
    (void)state;
    ctl_env e;
    /* the rules, one web client sending them all: not the per-client limit
     * (test_rate_limit) */
    assert_int_equal(
        env_start(&e, center_with("{\"capacity\":1,\"max_per_day\":2,\"make_per_minute\":100}"),
                  NULL),
        0);
    static const char *const pats[] = {"qms/#", NULL};
    collector all;
    assert_int_equal(coll_start(&all, &e, "watch", pats), 0);
    qms_mqtt *w = env_client(&e, "web");
    qms_mqtt *k = env_client(&e, "kiosk1");
    qms_mqtt *c = env_client(&e, "counters");
    char today[11], tomorrow[11], yesterday[11], far[11], late[11], json[512];
    day_str(&e, 0, today);
    day_str(&e, 1, tomorrow);
    day_str(&e, -1, yesterday);
    day_str(&e, 6, far);
    day_str(&e, 7, late);

    /* slots: today from 09:00 on (08:30's window closed at 08:45), all free */
    snprintf(json, sizeof json, "{\"req\":\"s1\",\"service\":\"TP\",\"day\":\"%s\"}", today);
    cJSON *o = env_req(&e, w, "booking/slots", json);
    cJSON *sl = cJSON_GetObjectItem(o, "slots");
    assert_true(cJSON_GetArraySize(sl) > 10);
    assert_string_equal(js_str(cJSON_GetArrayItem(sl, 0), "slot"), "09:00");
    assert_int_equal((int)js_num(cJSON_GetArrayItem(sl, 0), "free"), 1);
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"s2\",\"service\":\"TP\",\"day\":\"%s\"}", tomorrow);
    o = env_req(&e, w, "booking/slots", json);
    assert_string_equal(js_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "slots"), 0), "slot"),
                        "00:00");
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"s3\",\"service\":\"TP\",\"day\":\"%s\"}", late);
    expect_refused(&e, w, "booking/slots", json, "bad_day");
    snprintf(json, sizeof json, "{\"req\":\"s4\",\"service\":\"ZZ\",\"day\":\"%s\"}", today);
    expect_refused(&e, w, "booking/slots", json, "unknown_service");

    /* make: the CCCD, the day, the slot */
    make_json(json, sizeof json, "m1", "TP", today, "10:00", "00109901234");
    expect_refused(&e, w, "booking/make", json, "bad_cccd");
    make_json(json, sizeof json, "m2", "TP", today, "10:00", "00109901234x");
    expect_refused(&e, w, "booking/make", json, "bad_cccd");
    make_json(json, sizeof json, "m3", "TP", yesterday, "10:00", CCCD1);
    expect_refused(&e, w, "booking/make", json, "bad_day");
    make_json(json, sizeof json, "m4", "TP", late, "10:00", CCCD1);
    expect_refused(&e, w, "booking/make", json, "bad_day");
    make_json(json, sizeof json, "m5", "TP", today, "10:10", CCCD1);
    expect_refused(&e, w, "booking/make", json, "bad_slot");
    make_json(json, sizeof json, "m6", "TP", today, "08:00", CCCD1);
    expect_refused(&e, w, "booking/make", json, "bad_slot"); /* its window is over */

    /* citizen 1: TP today 10:00 (too early to check in at 09:00: window 09:30-10:15) */
    make_json(json, sizeof json, "m7", "TP", today, "10:00", CCCD1);
    o = env_req(&e, w, "booking/make", json);
    assert_non_null(js_str(o, "code"));
    char code_tp[9], shown[10];
    strcpy(code_tp, js_str(o, "code"));
    assert_true(qms_bookcode_parse(code_tp, shown));
    qms_bookcode_format(code_tp, shown);
    assert_string_equal(js_str(o, "code_display"), shown);
    assert_string_equal(js_str(o, "slot"), "10:00");
    assert_string_equal(js_str(o, "day"), today);
    cJSON_Delete(o);
    /* the same request again: the same reply, no second booking */
    o = env_req(&e, w, "booking/make", json);
    assert_string_equal(js_str(o, "code"), code_tp);
    cJSON_Delete(o);
    /* one per service a day; another day is fine */
    make_json(json, sizeof json, "m8", "TP", today, "11:00", CCCD1);
    expect_refused(&e, w, "booking/make", json, "booking_same_service");
    char code_tp_far[9];
    make_json(json, sizeof json, "m9", "TP", far, "11:00", CCCD1);
    o = env_req(&e, w, "booking/make", json);
    assert_non_null(js_str(o, "code"));
    strcpy(code_tp_far, js_str(o, "code"));
    cJSON_Delete(o);
    /* K = 2 a day: DD yes, XD no */
    char code_dd[9];
    assert_int_equal(env_book(&e, w, "DD", "09:00", CCCD1, code_dd), 0);
    make_json(json, sizeof json, "m10", "XD", today, "09:00", CCCD1);
    o = refused(&e, w, "booking/make", json, "booking_limit");
    assert_non_null(strstr(js_str(o, "message"), "2"));
    cJSON_Delete(o);
    /* capacity 1: the 10:00 TP slot is full for citizen 2 */
    make_json(json, sizeof json, "m11", "TP", today, "10:00", CCCD2);
    expect_refused(&e, w, "booking/make", json, "slot_full");
    snprintf(json, sizeof json, "{\"req\":\"s5\",\"service\":\"TP\",\"day\":\"%s\"}", today);
    o = env_req(&e, w, "booking/slots", json);
    sl = cJSON_GetObjectItem(o, "slots");
    for (int i = 0; i < cJSON_GetArraySize(sl); i++)
        if (strcmp(js_str(cJSON_GetArrayItem(sl, i), "slot"), "10:00") == 0)
            assert_int_equal((int)js_num(cJSON_GetArrayItem(sl, i), "free"), 0);
    cJSON_Delete(o);

    /* check-in: an earlier walk-in first */
    o = env_req(&e, k, "ticket/take", "{\"req\":\"t1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "ticket"), "A0001");
    cJSON_Delete(o);
    int q0 = queue_len(&e, c, 1);
    /* the made-up code of the bug report, twice: refused, nobody jumps */
    expect_refused(&e, k, "ticket/take",
                   "{\"req\":\"t2\",\"service\":\"TP\",\"appointment\":\"ANYTHING-NOT-BOOKED\"}",
                   "appt_unknown");
    expect_refused(&e, k, "ticket/take",
                   "{\"req\":\"t3\",\"service\":\"TP\",\"appointment\":\"ANYTHING-NOT-BOOKED\"}",
                   "appt_unknown");
    /* a mistyped code (one character changed) and a code nobody booked */
    char bad[9];
    strcpy(bad, code_dd);
    bad[2] = bad[2] == 'A' ? 'C' : 'A';
    snprintf(json, sizeof json, "{\"req\":\"t4\",\"appointment\":\"%s\"}", bad);
    expect_refused(&e, k, "ticket/take", json, "appt_unknown");
    char nobody[9];
    qms_bookcode_make(12345, nobody);
    snprintf(json, sizeof json, "{\"req\":\"t5\",\"appointment\":\"%s\"}", nobody);
    expect_refused(&e, k, "ticket/take", json, "appt_unknown");
    /* too early, in words and with the window */
    snprintf(json, sizeof json, "{\"req\":\"t6\",\"appointment\":\"%s\",\"lang\":\"en\"}",
             code_tp);
    o = refused(&e, k, "ticket/take", json, "appt_early");
    cJSON *win = cJSON_GetObjectItem(o, "window");
    assert_string_equal(cJSON_GetArrayItem(win, 0)->valuestring, "09:30");
    assert_string_equal(cJSON_GetArrayItem(win, 1)->valuestring, "10:15");
    assert_non_null(strstr(js_str(o, "message"), "09:30"));
    cJSON_Delete(o);
    /* wrong service, wrong day */
    snprintf(json, sizeof json, "{\"req\":\"t7\",\"service\":\"TP\",\"appointment\":\"%s\"}",
             code_dd);
    expect_refused(&e, k, "ticket/take", json, "appt_wrong_service");
    snprintf(json, sizeof json, "{\"req\":\"t8\",\"appointment\":\"%s\"}", code_tp_far);
    expect_refused(&e, k, "ticket/take", json, "appt_wrong_day");
    assert_int_equal(queue_len(&e, c, 1), q0); /* nothing of that changed the queue */

    /* on time (09:00 slot, typed in lower case with a dash): booked, ahead of A0001 */
    char typed[12];
    qms_bookcode_format(code_dd, shown);
    for (int i = 0; i < 10; i++)
        typed[i] = (char)(shown[i] >= 'A' && shown[i] <= 'Z' ? shown[i] + 32 : shown[i]);
    snprintf(json, sizeof json, "{\"req\":\"t9\",\"appointment\":\"%s\"}", typed);
    o = env_req(&e, k, "ticket/take", json);
    assert_string_equal(js_str(o, "ticket"), "B0001");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "booked")));
    assert_string_equal(js_str(o, "slot"), "09:00");
    assert_int_equal((int)js_num(o, "priority"), 2);
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"t10\",\"appointment\":\"%s\"}", code_dd);
    expect_refused(&e, k, "ticket/take", json, "appt_used");
    o = env_req(&e, c, "counter/1/cmd", "{\"req\":\"c1\",\"op\":\"next\"}");
    assert_string_equal(js_str(o, "ticket"), "B0001");
    cJSON_Delete(o);

    /* cancel: needs the code and the same CCCD; then the check-in is refused */
    char code2[9];
    assert_int_equal(env_book(&e, w, "TP", "09:00", CCCD2, code2), 0);
    snprintf(json, sizeof json, "{\"req\":\"x1\",\"code\":\"%s\",\"cccd\":\"%s\"}", code2, CCCD1);
    expect_refused(&e, w, "booking/cancel", json, "unknown_booking");
    snprintf(json, sizeof json, "{\"req\":\"x2\",\"code\":\"%s\"}", code2);
    expect_refused(&e, w, "booking/cancel", json, "bad_cccd");
    snprintf(json, sizeof json, "{\"req\":\"x3\",\"code\":\"%s\",\"cccd\":\"%s\"}", code2, CCCD2);
    o = env_req(&e, w, "booking/cancel", json);
    assert_string_equal(js_str(o, "booking_state"), "cancelled");
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"t11\",\"appointment\":\"%s\"}", code2);
    expect_refused(&e, k, "ticket/take", json, "appt_cancelled");
    /* the cancelled place is free again */
    char code3[9];
    assert_int_equal(env_book(&e, w, "TP", "09:00", CCCD3, code3), 0);

    /* check-in by CCCD number (the kiosk scanned the card): citizen 3's TP */
    snprintf(json, sizeof json, "{\"req\":\"t12\",\"cccd\":\"%s\"}", CCCD3);
    o = env_req(&e, k, "ticket/take", json);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "booked")));
    assert_string_equal(js_str(o, "service"), "TP");
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"t13\",\"cccd\":\"%s\"}", CCCD2);
    expect_refused(&e, k, "ticket/take", json, "appt_cancelled");
    expect_refused(&e, k, "ticket/take", "{\"req\":\"t14\",\"cccd\":\"111111111111\"}",
                   "appt_unknown");
    expect_refused(&e, k, "ticket/take", "{\"req\":\"t15\",\"cccd\":\"12345\"}", "bad_cccd");

    /* the CCCD numbers: on no topic, and (while it runs) in no store file */
    coll_pump(&all, 300);
    for (int i = 0; i < all.n; i++) {
        /* the requests themselves carry it (the broker's ACL lets only the
         * controller read them: docs/provision.md); nothing else may */
        const char *t = all.v[i].topic;
        size_t tl = strlen(t);
        if ((tl > 13 && strcmp(t + tl - 13, "/booking/make") == 0) ||
            (tl > 15 && strcmp(t + tl - 15, "/booking/cancel") == 0) ||
            (tl > 12 && strcmp(t + tl - 12, "/ticket/take") == 0))
            continue;
        assert_null(strstr(all.v[i].payload, CCCD1));
        assert_null(strstr(all.v[i].payload, CCCD2));
        assert_null(strstr(all.v[i].payload, CCCD3));
    }
    assert_true(all.n > 20);
    char wal[400];
    snprintf(wal, sizeof wal, "%s-wal", e.db);
    struct stat stw;
    assert_int_equal(stat(wal, &stw), 0);
    assert_true(stw.st_size > 0);
    assert_true(file_holds(wal, code_tp)); /* the oracle sees what is there */
    assert_false(file_holds(wal, CCCD1));
    assert_false(file_holds(wal, CCCD2));
    assert_false(file_holds(e.db, CCCD1));
    assert_int_equal(env_log_count(&e, CCCD1), 0);
    assert_int_equal(env_log_count(&e, CCCD2), 0);

    /* late: 20 minutes on, citizen 1's 10:00 booking ... is fine (window to
     * 10:15); 80 minutes on it is late, with the window in words */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    e.clock0 += 80 * 60000;
    assert_int_equal(env_controller_start(&e), 0);
    snprintf(json, sizeof json, "{\"req\":\"t16\",\"appointment\":\"%s\"}", code_tp);
    o = refused(&e, k, "ticket/take", json, "appt_late");
    win = cJSON_GetObjectItem(o, "window");
    assert_string_equal(cJSON_GetArrayItem(win, 1)->valuestring, "10:15");
    assert_non_null(strstr(js_str(o, "message"), "10:15"));
    cJSON_Delete(o);
    /* a booking made now and checked in: commits the swept no-show too */
    char code4[9];
    assert_int_equal(env_book(&e, w, "XD", "10:30", CCCD2, code4), 0);
    coll_stop(&all);
    qms_mqtt_free(w);
    qms_mqtt_free(k);
    qms_mqtt_free(c);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    /* after the stop: the store file holds hashes, no numbers */
    assert_true(file_holds(e.db, code_tp));
    assert_false(file_holds(e.db, CCCD1));
    assert_false(file_holds(e.db, CCCD2));
    assert_false(file_holds(e.db, CCCD3));
    char cmd[800];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' \"SELECT state FROM bookings WHERE code='%s'\" | grep -qx no_show", e.db,
             code_tp);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' \"SELECT count(*) FROM bookings WHERE length(cccd_hash)=64\" | grep -qx 6",
             e.db);
    assert_int_equal(system(cmd), 0);
    env_stop(&e);
}

/* Two outside clients (mosquitto_rr, two processes) ask for the last place
 * of a slot at the same time: exactly one gets it. */
static void test_last_place_race(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, center_with("{\"capacity\":1}"), NULL), 0);
    char day[11], a[256], b[256], cmd[2048];
    for (int round = 0; round < 5; round++) {
        day_str(&e, 1 + round, day); /* one per service a day: a new day each round */
        make_json(a, sizeof a, "ra", "TP", day, "10:00", CCCD1);
        make_json(b, sizeof b, "rb", "TP", day, "10:00", CCCD2);
        a[8] = b[8] = (char)('0' + round); /* "req":"ra" -> a fresh id each round */
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && (mosquitto_rr -V 5 -h 127.0.0.1 -p %d -i rra -q 1 -W 20 "
                 "-t qms/t1/booking/make -e qms/t1/reply/rra -m '%s' > a.out &"
                 " mosquitto_rr -V 5 -h 127.0.0.1 -p %d -i rrb -q 1 -W 20 "
                 "-t qms/t1/booking/make -e qms/t1/reply/rrb -m '%s' > b.out & wait)",
                 e.dir, e.broker.port, a, e.broker.port, b);
        assert_int_equal(system(cmd), 0);
        char pa[400], pb[400];
        snprintf(pa, sizeof pa, "%s/a.out", e.dir);
        snprintf(pb, sizeof pb, "%s/b.out", e.dir);
        int wa = file_holds(pa, "\"code\""), wb = file_holds(pb, "\"code\"");
        int fa = file_holds(pa, "slot_full"), fb = file_holds(pb, "slot_full");
        if (wa + wb != 1 || fa + fb != 1) {
            snprintf(cmd, sizeof cmd, "cat '%s' '%s' >&2", pa, pb);
            (void)!system(cmd);
        }
        assert_int_equal(wa + wb, 1);
        assert_int_equal(fa + fb, 1);
    }
    env_stop(&e);
}

/* mosquitto_rr as client id, its reply under qms/t1/reply/<rt>: the
 * reply's text in out */
static void rr_make(const ctl_env *e, const char *id, const char *rt, const char *json,
                    const char *out)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "mosquitto_rr -V 5 -h 127.0.0.1 -p %d -i %s -q 1 -W 20 "
             "-t qms/t1/booking/make -e qms/t1/reply/%s -m '%s' > '%s'",
             e->broker.port, id, rt, json, out);
    assert_int_equal(system(cmd), 0);
}

/* One client id may send make_per_minute booking/make requests a minute,
 * refused or not: an outside client (mosquitto_rr) replying under the
 * booking page's prefix (reply/web/<client id>) with a fresh CCCD number
 * each time gets rate_limited on its 4th, in words and with when to ask
 * again, and nothing is booked; another page (another client id under the
 * same "web" prefix) and a device still book. */
static void test_rate_limit(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, center_with("{\"make_per_minute\":3}"), NULL), 0);
    static const char *const cccd[] = {"001099100001", "001099100002", "001099100003",
                                       "001099100004", "001099100005", "001099100006"};
    static const char *const slot[] = {"10:00", "10:30", "11:00", "11:30", "12:00", "12:30"};
    char day[11], json[256], out[400];
    day_str(&e, 1, day);
    snprintf(out, sizeof out, "%s/rr.out", e.dir);
    for (int i = 0; i < 5; i++) {
        char req[8];
        snprintf(req, sizeof req, "f%d", i);
        make_json(json, sizeof json, req, "TP", day, slot[i], cccd[i]);
        if (i == 4) /* English words */
            snprintf(json + strlen(json) - 1, sizeof json - strlen(json) + 1, ",\"lang\":\"en\"}");
        rr_make(&e, "flood", "web/flood", json, out);
        if (i < 3) {
            assert_true(file_holds(out, "\"code\""));
        } else {
            assert_true(file_holds(out, "\"error\":\"rate_limited\""));
            assert_true(file_holds(out, "\"retry_after_s\":"));
            assert_true(file_holds(out, i == 3 ? "tối đa 3 mỗi phút" : "at most 3 a minute"));
        }
    }
    /* another page is not held back */
    make_json(json, sizeof json, "o1", "TP", day, slot[3], cccd[3]);
    rr_make(&e, "other", "web/other", json, out);
    assert_true(file_holds(out, "\"code\""));
    /* nor a device; the refused 12:00 is free */
    qms_mqtt *w = env_client(&e, "desk");
    make_json(json, sizeof json, "d1", "TP", day, slot[5], cccd[5]);
    cJSON *o = env_req(&e, w, "booking/make", json);
    assert_non_null(js_str(o, "code"));
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"s1\",\"service\":\"TP\",\"day\":\"%s\"}", day);
    o = env_req(&e, w, "booking/slots", json);
    cJSON *it;
    int seen = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "slots"))
    {
        if (strcmp(js_str(it, "slot"), "12:00") == 0) {
            assert_int_equal((int)js_num(it, "free"), 2);
            seen = 1;
        }
    }
    assert_true(seen);
    cJSON_Delete(o);
    qms_mqtt_free(w);
    assert_int_equal(env_log_count(&e, "client 'web/flood' refused: more than 3 a minute"), 2);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"SELECT count(*) FROM bookings\" | grep -qx 5", e.db);
    assert_int_equal(system(cmd), 0);
    env_stop(&e);
}

/* "equal": a booked ticket is an ordinary one once in (as Hà Nội ranks them) */
static void test_equal_rank(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, center_with("{\"booked_rank\":\"equal\"}"), NULL), 0);
    qms_mqtt *k = env_client(&e, "kiosk1");
    char code[9], json[128];
    assert_int_equal(env_book(&e, k, "TP", "09:00", CCCD1, code), 0);
    cJSON *o = env_req(&e, k, "ticket/take", "{\"req\":\"t1\",\"service\":\"TP\"}");
    assert_string_equal(js_str(o, "ticket"), "A0001");
    cJSON_Delete(o);
    snprintf(json, sizeof json, "{\"req\":\"t2\",\"appointment\":\"%s\"}", code);
    o = env_req(&e, k, "ticket/take", json);
    assert_string_equal(js_str(o, "ticket"), "A0002");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "booked")));
    assert_int_equal((int)js_num(o, "priority"), 0);
    assert_int_equal((int)js_num(o, "ahead"), 1);
    cJSON_Delete(o);
    o = env_req(&e, k, "counter/1/cmd", "{\"req\":\"c1\",\"op\":\"next\"}");
    assert_string_equal(js_str(o, "ticket"), "A0001");
    cJSON_Delete(o);
    qms_mqtt_free(k);
    env_stop(&e);
}

/* The center's calendar through the controller (harness clock: Thursday
 * 2026-11-26 09:00): Friday 27 a holiday, Saturday 28 closed (no "sat"),
 * Sunday 29 a make-up working day as a Monday. The holiday has no slots and
 * refuses a booking with bad_day in words; the make-up Sunday is bookable. */
static void test_calendar(void **state)
{
    (void)state;
    ctl_env e;
    snprintf(center, sizeof center,
             "{\"calendar\":{\"week\":{\"mon\":[[\"07:30\",\"11:30\"]],"
             "\"tue\":[[\"07:30\",\"11:30\"]],\"wed\":[[\"07:30\",\"11:30\"]],"
             "\"thu\":[[\"07:30\",\"11:30\"]],\"fri\":[[\"07:30\",\"11:30\"]]},"
             "\"holidays\":[\"2026-11-27\"],"
             "\"workdays\":[{\"date\":\"2026-11-29\",\"as\":\"mon\"}]},%s",
             harness_center_json + 1);
    assert_int_equal(env_start(&e, center, NULL), 0);
    qms_mqtt *w = env_client(&e, "web");
    char json[512];
    /* the holiday: no slots, marked closed; a booking refused in words */
    cJSON *o = env_req(&e, w, "booking/slots",
                       "{\"req\":\"s1\",\"service\":\"TP\",\"day\":\"2026-11-27\"}");
    assert_null(js_str(o, "error"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "slots")), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "closed")));
    cJSON_Delete(o);
    make_json(json, sizeof json, "m1", "TP", "2026-11-27", "09:00", CCCD1);
    o = refused(&e, w, "booking/make", json, "bad_day");
    assert_string_equal(js_str(o, "message"), "Ngày 2026-11-27 trung tâm nghỉ, không nhận đặt lịch");
    cJSON_Delete(o);
    snprintf(json, sizeof json,
             "{\"req\":\"m2\",\"service\":\"TP\",\"day\":\"2026-11-28\",\"slot\":\"09:00\","
             "\"cccd\":\"%s\",\"lang\":\"en\"}",
             CCCD1);
    o = refused(&e, w, "booking/make", json, "bad_day");
    assert_non_null(strstr(js_str(o, "message"), "closed on 2026-11-28"));
    cJSON_Delete(o);
    /* the make-up Sunday: a Monday's hours, bookable */
    o = env_req(&e, w, "booking/slots",
                "{\"req\":\"s2\",\"service\":\"TP\",\"day\":\"2026-11-29\"}");
    cJSON *sl = cJSON_GetObjectItem(o, "slots");
    assert_int_equal(cJSON_GetArraySize(sl), 8);
    assert_string_equal(js_str(cJSON_GetArrayItem(sl, 0), "slot"), "07:30");
    assert_null(cJSON_GetObjectItem(o, "closed"));
    cJSON_Delete(o);
    make_json(json, sizeof json, "m3", "TP", "2026-11-29", "07:30", CCCD1);
    o = env_req(&e, w, "booking/make", json);
    assert_non_null(js_str(o, "code"));
    cJSON_Delete(o);
    qms_mqtt_free(w);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_booking_rules), cmocka_unit_test(test_last_place_race),
        cmocka_unit_test(test_rate_limit),    cmocka_unit_test(test_equal_rank),
        cmocka_unit_test(test_calendar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
