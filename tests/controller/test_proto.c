/* The protocol codec on its own: topics, every op, and a table of bad payloads. */
#include "proto.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int decode(qms_topic_kind k, const char *s, qms_request *r)
{
    char why[160];
    return qms_proto_decode(k, 5, s, strlen(s), r, why, sizeof why);
}

static void test_topics(void **state)
{
    (void)state;
    int n;
    assert_int_equal(qms_proto_topic("qms/demo/ticket/take", "demo", &n), QMS_TOPIC_TAKE);
    assert_int_equal(qms_proto_topic("qms/demo/ticket/cancel", "demo", &n), QMS_TOPIC_CANCEL);
    assert_int_equal(qms_proto_topic("qms/demo/counter/12/cmd", "demo", &n), QMS_TOPIC_COUNTER_CMD);
    assert_int_equal(n, 12);
    assert_int_equal(qms_proto_topic("qms/demo/counter/x1/cmd", "demo", &n), QMS_TOPIC_COUNTER_CMD);
    assert_int_equal(n, -1);
    assert_int_equal(qms_proto_topic("qms/demo/counter//cmd", "demo", &n), QMS_TOPIC_COUNTER_CMD);
    assert_int_equal(n, -1);
    assert_int_equal(qms_proto_topic("qms/demo/counter/0/cmd", "demo", &n), QMS_TOPIC_COUNTER_CMD);
    assert_int_equal(n, -1);
    assert_int_equal(qms_proto_topic("qms/demo/counter/99999999999/cmd", "demo", &n),
                     QMS_TOPIC_COUNTER_CMD);
    assert_int_equal(n, -1);
    assert_int_equal(qms_proto_topic("qms/demo/counter/1/state", "demo", &n), QMS_TOPIC_NONE);
    assert_int_equal(qms_proto_topic("qms/other/ticket/take", "demo", &n), QMS_TOPIC_NONE);
    assert_int_equal(qms_proto_topic("qms/demox/ticket/take", "demo", &n), QMS_TOPIC_NONE);
    assert_int_equal(qms_proto_topic("qms/demo/ticket/take/x", "demo", &n), QMS_TOPIC_NONE);
    assert_int_equal(qms_proto_topic("", "demo", &n), QMS_TOPIC_NONE);
}

/* Where a reply may go (issue 9 #2, #8). */
static void test_reply_topic(void **state)
{
    (void)state;
    const struct {
        const char *topic;
        qms_rt_check want;
    } rows[] = {
        {"qms/demo/reply/kiosk-1", QMS_RT_OK},
        {"qms/demo/reply/kiosk-1/sub/x", QMS_RT_OK},
        {"qms/demo/reply", QMS_RT_OUTSIDE},
        {"qms/demo/reply/", QMS_RT_OUTSIDE},
        {"qms/demo/reply//x", QMS_RT_OUTSIDE},
        {"qms/demo/reply/k/", QMS_RT_OUTSIDE},
        {"qms/demo/call", QMS_RT_OUTSIDE},
        {"qms/demo/ticket/take", QMS_RT_OUTSIDE},
        {"qms/demo/counter/1/state", QMS_RT_OUTSIDE},
        {"qms/demox/reply/k", QMS_RT_OUTSIDE},
        {"qms/dem/reply/k", QMS_RT_OUTSIDE},
        {"qms/other/reply/k", QMS_RT_OUTSIDE},
        {"/qms/demo/reply/k", QMS_RT_OUTSIDE},
        {"device/controller/x", QMS_RT_OUTSIDE},
        {"", QMS_RT_OUTSIDE},
        {"qms/demo/reply/+", QMS_RT_WILDCARD},
        {"qms/demo/reply/k/#", QMS_RT_WILDCARD},
        {"#", QMS_RT_WILDCARD},
        {"qms/+/reply/k", QMS_RT_WILDCARD},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (qms_proto_reply_topic(rows[i].topic, "demo") != rows[i].want)
            fail_msg("\"%s\": got %d, want %d", rows[i].topic,
                     qms_proto_reply_topic(rows[i].topic, "demo"), rows[i].want);
}

static void test_take(void **state)
{
    (void)state;
    qms_request r;
    assert_int_equal(
        decode(QMS_TOPIC_TAKE, "{\"req\":\"k1-42\",\"service\":\"TP\",\"priority\":false}", &r),
        QMS_OK);
    assert_int_equal(r.op, QMS_OP_TAKE);
    assert_string_equal(r.req, "k1-42");
    assert_string_equal(r.service, "TP");
    assert_int_equal(r.priority, 0);
    assert_int_equal(r.en, 0);
    assert_int_equal(decode(QMS_TOPIC_TAKE,
                            "{\"req\":\"a\",\"service\":\"TP\",\"priority\":true,\"lang\":\"en\"}",
                            &r),
                     QMS_OK);
    assert_int_equal(r.priority, 1);
    assert_int_equal(r.en, 1);
    assert_int_equal(
        decode(QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"priority\":\"pregnant\"}", &r),
        QMS_OK);
    assert_int_equal(r.priority, 1);
    assert_int_equal(
        decode(QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"appointment\":\"HK-1\"}", &r),
        QMS_OK);
    assert_int_equal(r.priority, 2);
    assert_string_equal(r.appt, "HK-1");
    /* unknown extra fields are ignored (newer clients) */
    assert_int_equal(decode(QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"x\":[1,2]}", &r),
                     QMS_OK);
    /* "op" may be given on the take topic, but only as take */
    assert_int_equal(
        decode(QMS_TOPIC_TAKE, "{\"req\":\"a\",\"op\":\"take\",\"service\":\"TP\"}", &r), QMS_OK);
}

static void test_counter_ops(void **state)
{
    (void)state;
    static const char *ops[] = {"next",  "recall", "start", "done", "skip",
                                "pause", "resume", "close", "open", "status"};
    qms_request r;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        char buf[96];
        snprintf(buf, sizeof buf, "{\"req\":\"c-%zu\",\"op\":\"%s\"}", i, ops[i]);
        assert_int_equal(decode(QMS_TOPIC_COUNTER_CMD, buf, &r), QMS_OK);
        assert_string_equal(qms_op_name(r.op), ops[i]);
        assert_int_equal(r.counter, 5);
    }
    assert_int_equal(
        decode(QMS_TOPIC_COUNTER_CMD, "{\"req\":\"c\",\"op\":\"call\",\"ticket\":\"A023\"}", &r),
        QMS_OK);
    assert_string_equal(r.ticket, "A023");
    assert_int_equal(
        decode(QMS_TOPIC_COUNTER_CMD, "{\"req\":\"c\",\"op\":\"transfer\",\"service\":\"DD\"}", &r),
        QMS_OK);
    assert_string_equal(r.service, "DD");
    assert_int_equal(r.to_counter, 0);
    assert_int_equal(
        decode(QMS_TOPIC_COUNTER_CMD, "{\"req\":\"c\",\"op\":\"transfer\",\"to_counter\":7}", &r),
        QMS_OK);
    assert_int_equal(r.to_counter, 7);
    assert_int_equal(
        decode(QMS_TOPIC_COUNTER_CMD, "{\"req\":\"c\",\"op\":\"rate\",\"level\":4}", &r), QMS_OK);
    assert_int_equal(r.level, 4);
    assert_int_equal(decode(QMS_TOPIC_COUNTER_CMD,
                            "{\"req\":\"c\",\"op\":\"open\",\"staff\":\"Nguyễn Văn An\"}", &r),
                     QMS_OK);
    assert_int_equal(r.has_staff, 1);
    assert_string_equal(r.staff, "Nguyễn Văn An");
    assert_int_equal(
        decode(QMS_TOPIC_CANCEL, "{\"req\":\"k\",\"id\":12,\"reason\":\"print_failed\"}", &r),
        QMS_OK);
    assert_int_equal(r.op, QMS_OP_CANCEL);
    assert_int_equal(r.id, 12);
    assert_int_equal(decode(QMS_TOPIC_CANCEL, "{\"req\":\"k\",\"ticket\":\"A001\"}", &r), QMS_OK);
    assert_string_equal(r.ticket, "A001");
    /* "\\u0000" is a backslash and the text u0000, not a NUL: accepted as
     * such (a control character check refuses real control bytes) */
    assert_int_equal(decode(QMS_TOPIC_TAKE, "{\"req\":\"k\\\\u0000\",\"service\":\"TP\"}", &r),
                     QMS_OK);
    assert_string_equal(r.req, "k\\u0000");
}

/* The table of bad payloads: each must be refused with the stated code, and
 * the request id must come back when it could be read. */
static void test_malformed_table(void **state)
{
    (void)state;
    char big[QMS_PROTO_MAX_PAYLOAD + 64];
    snprintf(big, sizeof big, "{\"req\":\"big\",\"service\":\"TP\",\"pad\":\"");
    size_t l = strlen(big);
    memset(big + l, 'x', sizeof big - l - 3);
    memcpy(big + sizeof big - 3, "\"}", 3);
    char longreq[200];
    memset(longreq, 0, sizeof longreq);
    strcpy(longreq, "{\"req\":\"");
    memset(longreq + 8, 'r', 70);
    strcat(longreq, "\",\"service\":\"TP\"}");
    const struct {
        qms_topic_kind kind;
        const char *payload;
        int err;
        const char *req; /* expected in the refusal, "" if none */
    } rows[] = {
        {QMS_TOPIC_TAKE, "", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "not json", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\"", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "[1,2,3]", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "\"just a string\"", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "null", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{} {}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"service\":\"TP\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":42,\"service\":\"TP\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"\",\"service\":\"TP\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\\nb\",\"service\":\"TP\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, longreq, QMS_ERR_TOO_LARGE, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":7}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"THIS-CODE-IS-TOO-LONG\"}", QMS_ERR_TOO_LARGE,
         "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"priority\":1}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"priority\":\"vip\"}", QMS_ERR_INVAL,
         "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"appointment\":12}", QMS_ERR_INVAL,
         "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"lang\":5}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"op\":\"next\",\"service\":\"TP\"}", QMS_ERR_UNKNOWN_OP,
         "a"},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"T\xc3\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"\xed\xa0\x80\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"\xc0\xaf\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, big, QMS_ERR_TOO_LARGE, ""},
        {QMS_TOPIC_CANCEL, "{\"req\":\"a\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_CANCEL, "{\"req\":\"a\",\"id\":\"12\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_CANCEL, "{\"req\":\"a\",\"id\":-3}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_CANCEL, "{\"req\":\"a\",\"id\":1.5}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_CANCEL, "{\"req\":\"a\",\"id\":1e300}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":5}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"fly\"}", QMS_ERR_UNKNOWN_OP, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"take\"}", QMS_ERR_UNKNOWN_OP, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"NEXT\"}", QMS_ERR_UNKNOWN_OP, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"call\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"call\",\"ticket\":23}", QMS_ERR_INVAL,
         "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"rate\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"rate\",\"level\":\"4\"}", QMS_ERR_INVAL,
         "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"rate\",\"level\":0}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"rate\",\"level\":100}", QMS_ERR_INVAL,
         "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"transfer\"}", QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"transfer\",\"to_counter\":true}",
         QMS_ERR_INVAL, "a"},
        {QMS_TOPIC_COUNTER_CMD, "{\"req\":\"a\",\"op\":\"open\",\"staff\":[]}", QMS_ERR_INVAL, "a"},
        /* a NUL escaped inside a string would cut it short ("TP\0ZZZ" taking a
         * TP ticket, two req ids colliding after the NUL): refused, in values
         * and keys alike; an escaped backslash before "u0000" is no NUL */
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\\u0000ZZZ\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\\u0000b\",\"service\":\"TP\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"TP\",\"x\\u0000\":1}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_TAKE, "{\"req\":\"a\",\"service\":\"\\u0000\"}", QMS_ERR_INVAL, ""},
        /* a UTF-8 byte order mark before the JSON */
        {QMS_TOPIC_TAKE, "\xef\xbb\xbf{\"req\":\"a\",\"service\":\"TP\"}", QMS_ERR_INVAL, ""},
        {QMS_TOPIC_COUNTER_CMD, "\xef\xbb\xbf{\"req\":\"a\",\"op\":\"next\"}", QMS_ERR_INVAL, ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        qms_request r;
        char why[160] = "";
        int rc = qms_proto_decode(rows[i].kind, 5, rows[i].payload, strlen(rows[i].payload), &r,
                                  why, sizeof why);
        if (rc != rows[i].err)
            fail_msg("row %zu (%.60s): got %s, want %s (%s)", i, rows[i].payload, qms_err_code(rc),
                     qms_err_code(rows[i].err), why);
        assert_true(why[0] != 0);
        assert_string_equal(r.req, rows[i].req);
        char *reply = qms_proto_error_reply(r.req, rc, 0);
        cJSON *o = cJSON_Parse(reply);
        assert_non_null(o);
        assert_string_equal(cJSON_GetObjectItem(o, "error")->valuestring,
                            qms_err_code(rows[i].err));
        assert_non_null(cJSON_GetObjectItem(o, "message"));
        cJSON_Delete(o);
        qms_free(reply);
    }

    /* outside_hours with its hours: every span, 24:00 for midnight, and the
     * next opening only when there is one */
    qms_span h[2] = {{7 * 3600 + 30 * 60, 11 * 3600 + 30 * 60}, {13 * 3600 + 30 * 60, 86400}};
    char *reply = qms_proto_error_reply_hours("k-1", QMS_ERR_OUTSIDE_HOURS, 0, "x", h, 2,
                                              13 * 3600 + 30 * 60);
    assert_string_equal(reply, "{\"req\":\"k-1\",\"error\":\"outside_hours\",\"message\":\"x\","
                               "\"hours\":[[\"07:30\",\"11:30\"],[\"13:30\",\"24:00\"]],"
                               "\"next_open\":\"13:30\"}");
    qms_free(reply);
    reply = qms_proto_error_reply_hours("", QMS_ERR_OUTSIDE_HOURS, 1, NULL, h, 1, -1);
    assert_string_equal(reply, "{\"error\":\"outside_hours\",\"message\":\"This service is not "
                               "open now\",\"hours\":[[\"07:30\",\"11:30\"]]}");
    qms_free(reply);

    /* a counter topic whose number is not a number */
    qms_request r;
    char why[160];
    const char *p = "{\"req\":\"a\",\"op\":\"next\"}";
    assert_int_equal(qms_proto_decode(QMS_TOPIC_COUNTER_CMD, -1, p, strlen(p), &r, why, sizeof why),
                     QMS_ERR_UNKNOWN_COUNTER);
    assert_string_equal(r.req, "a");
    /* bytes after a NUL inside the payload are not ignored */
    const char nul[] = "{\"req\":\"a\",\"service\":\"TP\"}\0garbage";
    assert_int_equal(qms_proto_decode(QMS_TOPIC_TAKE, 0, nul, sizeof nul - 1, &r, why, sizeof why),
                     QMS_ERR_INVAL);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    const char *in[] = {
        /* one element: parenthesized, so clang does not ask for a comma */
        ("{\"req\":\"x1\",\"service\":\"TP\",\"priority\":\"child\",\"kiosk\":\"k2\","
         "\"lang\":\"en\"}"),
        "{\"req\":\"x2\",\"service\":\"DD\",\"appointment\":\"A-9\"}",
        "{\"req\":\"x3\",\"id\":99,\"ticket\":\"A099\",\"reason\":\"print_failed\"}",
        "{\"req\":\"x4\",\"op\":\"transfer\",\"service\":\"XD\",\"to_counter\":3}",
        "{\"req\":\"x5\",\"op\":\"open\",\"staff\":\"\"}",
        /* a sign-in with its code (the encoder dropped the code: libFuzzer) */
        "{\"req\":\"x6\",\"op\":\"open\",\"staff\":\"Nyb3\",\"code\":\"CAAA-AAAC\"}",
    };
    qms_topic_kind kinds[] = {QMS_TOPIC_TAKE,        QMS_TOPIC_TAKE,        QMS_TOPIC_CANCEL,
                              QMS_TOPIC_COUNTER_CMD, QMS_TOPIC_COUNTER_CMD, QMS_TOPIC_COUNTER_CMD};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        qms_request a, b;
        assert_int_equal(decode(kinds[i], in[i], &a), QMS_OK);
        char *js = qms_proto_encode_request(&a);
        assert_non_null(js);
        assert_int_equal(decode(kinds[i], js, &b), QMS_OK);
        assert_memory_equal(&a, &b, sizeof a);
        qms_free(js);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_reply_topic),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_counter_ops),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_encode_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
