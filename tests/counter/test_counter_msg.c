/* qms-counter's protocol encoding/decoding and wording (no network). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "counter_msg.h"
#include "counter_text.h"
#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static cJSON *encode_parse(const counter_req *r)
{
    char *js = counter_req_encode(r);
    assert_non_null(js);
    cJSON *o = cJSON_Parse(js);
    qms_free(js);
    assert_non_null(o);
    return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_encode(void **state)
{
    (void)state;
    counter_req r = {.op = COUNTER_OP_NEXT};
    /* no request id: refused, the controller would refuse it too */
    assert_null(counter_req_encode(&r));
    strcpy(r.req, "qc5-abc-1");
    cJSON *o = encode_parse(&r);
    assert_string_equal(jstr(o, "req"), "qc5-abc-1");
    assert_string_equal(jstr(o, "op"), "next");
    assert_null(cJSON_GetObjectItem(o, "lang"));
    assert_int_equal(cJSON_GetArraySize(o), 2);
    cJSON_Delete(o);

    r.op = COUNTER_OP_CALL;
    assert_null(counter_req_encode(&r)); /* call without a number */
    strcpy(r.ticket, "A023");
    r.lang_en = 1;
    o = encode_parse(&r);
    assert_string_equal(jstr(o, "op"), "call");
    assert_string_equal(jstr(o, "ticket"), "A023");
    assert_string_equal(jstr(o, "lang"), "en");
    cJSON_Delete(o);

    memset(&r, 0, sizeof r);
    strcpy(r.req, "x-2");
    r.op = COUNTER_OP_TRANSFER;
    strcpy(r.to_service, "DD");
    r.to_counter = 7;
    o = encode_parse(&r);
    assert_string_equal(jstr(o, "service"), "DD");
    assert_int_equal(cJSON_GetObjectItem(o, "to_counter")->valueint, 7);
    cJSON_Delete(o);
    r.to_service[0] = 0; /* counter only */
    o = encode_parse(&r);
    assert_null(cJSON_GetObjectItem(o, "service"));
    assert_int_equal(cJSON_GetObjectItem(o, "to_counter")->valueint, 7);
    cJSON_Delete(o);

    r.op = COUNTER_OP_RATE;
    r.level = 0;
    assert_null(counter_req_encode(&r));
    r.level = 4;
    o = encode_parse(&r);
    assert_int_equal(cJSON_GetObjectItem(o, "level")->valueint, 4);
    cJSON_Delete(o);

    r.op = COUNTER_OP_OPEN;
    strcpy(r.staff, "Nguyễn Thị \"Lan\"");
    o = encode_parse(&r);
    assert_string_equal(jstr(o, "staff"), "Nguyễn Thị \"Lan\"");
    cJSON_Delete(o);

    /* every op name round-trips */
    for (int i = 0; i < COUNTER_OP__COUNT; i++)
        assert_int_equal(counter_op_parse(counter_op_name((counter_op)i)), i);
    assert_int_equal(counter_op_parse("frobnicate"), -1);
    assert_null(counter_op_name(COUNTER_OP__COUNT));
}

static void test_decode_reply(void **state)
{
    (void)state;
    counter_info *i = qms_malloc(sizeof *i);
    const char *ok = "{\"req\":\"c5-9\",\"counter\":5,\"state\":\"open\",\"ticket\":\"A023\","
                     "\"ticket_state\":\"called\",\"service\":\"TP\",\"waiting\":7,"
                     "\"staff\":\"Lan\",\"since_ms\":1764140000000,\"extra\":[1,2]}";
    assert_int_equal(counter_info_decode(ok, strlen(ok), i), QMS_OK);
    assert_int_equal(i->err, QMS_OK);
    assert_string_equal(i->req, "c5-9");
    assert_int_equal(i->counter, 5);
    assert_string_equal(i->state, "open");
    assert_string_equal(i->ticket, "A023");
    assert_string_equal(i->ticket_state, "called");
    assert_string_equal(i->service, "TP");
    assert_string_equal(i->staff, "Lan");
    assert_int_equal(i->waiting, 7);
    assert_true(i->since_ms == 1764140000000LL);
    assert_false(i->has_queue);

    const char *no = "{\"req\":\"c5-10\",\"error\":\"nothing_to_call\","
                     "\"message\":\"Không còn khách chờ cho quầy này\"}";
    assert_int_equal(counter_info_decode(no, strlen(no), i), QMS_OK);
    assert_int_equal(i->err, QMS_ERR_NOTHING_TO_CALL);
    assert_string_equal(i->message, "Không còn khách chờ cho quầy này");
    assert_int_equal(i->counter, -1);
    assert_int_equal(i->waiting, -1);

    /* a code this client does not know is still a refusal */
    const char *odd = "{\"req\":\"r\",\"error\":\"brand_new\",\"message\":\"x\"}";
    assert_int_equal(counter_info_decode(odd, strlen(odd), i), QMS_OK);
    assert_int_equal(i->err, QMS_ERR_PROTOCOL);
    const char *odd2 = "{\"req\":\"r\",\"error\":17}";
    assert_int_equal(counter_info_decode(odd2, strlen(odd2), i), QMS_OK);
    assert_int_not_equal(i->err, QMS_OK);

    /* wrong types are ignored, not trusted */
    const char *bad = "{\"req\":5,\"counter\":\"5\",\"waiting\":-3,\"ticket\":[\"A1\"],"
                      "\"since_ms\":1e300}";
    assert_int_equal(counter_info_decode(bad, strlen(bad), i), QMS_OK);
    assert_string_equal(i->req, "");
    assert_int_equal(i->counter, -1);
    assert_int_equal(i->waiting, -1);
    assert_string_equal(i->ticket, "");
    assert_true(i->since_ms == 0);

    /* not an object, or not JSON */
    assert_int_equal(counter_info_decode("[1]", 3, i), QMS_ERR_INVAL);
    assert_int_equal(counter_info_decode("{\"req\":", 7, i), QMS_ERR_INVAL);
    assert_int_equal(counter_info_decode("", 0, i), QMS_ERR_INVAL);
    assert_int_equal(counter_info_decode(NULL, 0, i), QMS_ERR_INVAL);
    /* the length is respected: what follows is not read */
    const char *two = "{\"req\":\"a\"}{\"req\":\"b\"}";
    assert_int_equal(counter_info_decode(two, 11, i), QMS_OK);
    assert_string_equal(i->req, "a");

    /* a long name is cut on a character boundary, not inside "ễ" */
    char big[400];
    strcpy(big, "{\"req\":\"r\",\"staff\":\"");
    size_t n = strlen(big);
    n += (size_t)snprintf(big + n, sizeof big - n, "%s", "N");
    for (int k = 0; k < 40; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s", "ễ"); /* 3 bytes each */
    snprintf(big + n, sizeof big - n, "\"}");
    assert_int_equal(counter_info_decode(big, strlen(big), i), QMS_OK);
    assert_true(strlen(i->staff) < sizeof i->staff);
    assert_int_equal(strlen(i->staff), 1 + 3 * 20); /* 63 bytes hold N + 20 whole "ễ" */
    qms_free(i);
}

static void test_decode_queue(void **state)
{
    (void)state;
    counter_info *i = qms_malloc(sizeof *i);
    const char *q = "{\"req\":\"q1\",\"counter\":5,\"waiting\":3,\"queue\":["
                    "{\"ticket\":\"A024\",\"service\":\"TP\",\"priority\":0,\"taken_ms\":100},"
                    "{\"service\":\"TP\"},7,"
                    "{\"ticket\":\"B003\",\"service\":\"DD\",\"priority\":1},"
                    "{\"ticket\":\"B004\",\"priority\":2,\"appointment\":\"HK-42\","
                    "\"taken_ms\":-5},"
                    "{\"ticket\":\"B005\",\"priority\":\"high\",\"appointment\":7,"
                    "\"taken_ms\":\"now\"}]}";
    assert_int_equal(counter_info_decode(q, strlen(q), i), QMS_OK);
    assert_true(i->has_queue);
    assert_int_equal(i->nqueue, 4); /* the entry without a number and the 7 are skipped */
    assert_string_equal(i->queue[0].ticket, "A024");
    assert_true(i->queue[0].taken_ms == 100);
    assert_string_equal(i->queue[0].appt, "");
    assert_string_equal(i->queue[1].ticket, "B003");
    assert_int_equal(i->queue[1].priority, 1);
    assert_string_equal(i->queue[2].appt, "HK-42");
    assert_int_equal(i->queue[2].priority, 2);
    assert_true(i->queue[2].taken_ms == 0); /* a negative time is no time */
    /* wrong types: the entry stays, its bad fields read as absent */
    assert_string_equal(i->queue[3].ticket, "B005");
    assert_int_equal(i->queue[3].priority, 0);
    assert_string_equal(i->queue[3].appt, "");
    assert_true(i->queue[3].taken_ms == 0);
    assert_int_equal(i->waiting, 3);

    /* more entries than the client keeps: the count still tells them all */
    char *big = qms_malloc(20000);
    size_t n = (size_t)snprintf(big, 20000, "{\"req\":\"q2\",\"queue\":[");
    for (int k = 0; k < 80; k++)
        n += (size_t)snprintf(big + n, 20000 - n, "%s{\"ticket\":\"A%03d\"}", k ? "," : "", k);
    snprintf(big + n, 20000 - n, "]}");
    assert_int_equal(counter_info_decode(big, strlen(big), i), QMS_OK);
    assert_int_equal(i->nqueue, COUNTER_QUEUE_MAX);
    assert_int_equal(i->waiting, 80);
    assert_string_equal(i->queue[COUNTER_QUEUE_MAX - 1].ticket, "A049");
    qms_free(big);

    /* a list of bare labels (a controller's status), its count in queue_len */
    const char *labels = "{\"req\":\"s1\",\"ticket\":\"A1\",\"current\":null,"
                         "\"queue\":[\"E003\",\"\",\"M001\",\"A-very-long-label-x\"],"
                         "\"queue_len\":9,\"at_ms\":5000}";
    assert_int_equal(counter_info_decode(labels, strlen(labels), i), QMS_OK);
    assert_int_equal(i->nqueue, 2); /* an empty label and one too long to be one are dropped */
    assert_string_equal(i->queue[0].ticket, "E003");
    assert_string_equal(i->queue[0].service, "");
    assert_string_equal(i->queue[1].ticket, "M001");
    assert_int_equal(i->waiting, 9);
    assert_int_equal(i->queue_len, 9);
    assert_true(i->at_ms == 5000);
    assert_true(i->has_current);
    assert_string_equal(i->current, "");
    assert_string_equal(i->ticket, "A1");
    const char *cur = "{\"req\":\"s2\",\"current\":\"E004\"}";
    assert_int_equal(counter_info_decode(cur, strlen(cur), i), QMS_OK);
    assert_true(i->has_current);
    assert_string_equal(i->current, "E004");
    assert_int_equal(counter_info_decode("{\"current\":5}", 13, i), QMS_OK);
    assert_false(i->has_current);
    qms_free(i);
}

static void test_decode_events(void **state)
{
    (void)state;
    counter_stats st;
    const char *s = "{\"at_ms\":1,\"day\":\"2026-11-26\",\"services\":[{\"code\":\"TP\","
                    "\"waiting\":4,\"longest_wait_s\":610,\"eta_s\":540},{\"waiting\":1}],"
                    "\"today\":{\"taken\":400,\"served\":350,\"noshow\":12,\"mean_wait_s\":515,"
                    "\"ratings\":4,\"satisfied_share\":0.75}}";
    assert_int_equal(counter_stats_decode(s, strlen(s), &st), QMS_OK);
    assert_string_equal(st.day, "2026-11-26");
    assert_int_equal(st.taken, 400);
    assert_int_equal(st.served, 350);
    assert_int_equal(st.noshow, 12);
    assert_int_equal(st.mean_wait_s, 515);
    assert_true(st.satisfied_share > 0.749 && st.satisfied_share < 0.751);
    assert_int_equal(st.nservices, 1);
    assert_string_equal(st.services[0].code, "TP");
    assert_int_equal(st.services[0].longest_wait_s, 610);
    const char *s2 = "{\"today\":{\"taken\":1,\"satisfied_share\":null}}";
    assert_int_equal(counter_stats_decode(s2, strlen(s2), &st), QMS_OK);
    assert_true(st.satisfied_share < 0);
    assert_int_equal(st.served, -1);
    assert_int_equal(counter_stats_decode("null", 4, &st), QMS_ERR_INVAL);

    counter_call c;
    const char *call = "{\"ticket\":\"A023\",\"counter\":5,\"recall\":true,\"at_ms\":9,\"seq\":57}";
    assert_int_equal(counter_call_decode(call, strlen(call), &c), QMS_OK);
    assert_string_equal(c.ticket, "A023");
    assert_int_equal(c.counter, 5);
    assert_true(c.recall);
    assert_true(c.seq == 57);
    assert_int_equal(counter_call_decode("{\"counter\":5}", 13, &c), QMS_ERR_INVAL);

    /* the retained recent calls: newest first, kept in order; entries that
     * show nothing are left out; no more than asked for */
    counter_call rc[3];
    int n = -1;
    const char *recent = "{\"calls\":[{\"ticket\":\"E002\",\"counter\":6,\"seq\":3},"
                         "{\"counter\":5},\"E9\",{\"ticket\":\"E001\",\"counter\":5,"
                         "\"recall\":true,\"seq\":2},{\"ticket\":\"A001\",\"counter\":1},"
                         "{\"ticket\":\"A000\",\"counter\":1}]}";
    assert_int_equal(counter_calls_decode(recent, strlen(recent), rc, 3, &n), QMS_OK);
    assert_int_equal(n, 3);
    assert_string_equal(rc[0].ticket, "E002");
    assert_int_equal(rc[0].counter, 6);
    assert_false(rc[0].recall);
    assert_string_equal(rc[1].ticket, "E001");
    assert_true(rc[1].recall);
    assert_true(rc[1].seq == 2);
    assert_string_equal(rc[2].ticket, "A001");
    assert_int_equal(counter_calls_decode("{\"calls\":[]}", 12, rc, 3, &n), QMS_OK);
    assert_int_equal(n, 0);
    n = -1;
    assert_int_equal(counter_calls_decode("{\"calls\":{}}", 12, rc, 3, &n), QMS_ERR_INVAL);
    assert_int_equal(n, 0);
    n = -1;
    assert_int_equal(counter_calls_decode("[]", 2, rc, 3, &n), QMS_ERR_INVAL);
    assert_int_equal(n, 0);

    assert_int_equal(counter_status_online("{\"state\":\"online\"}", 18), 1);
    assert_int_equal(counter_status_online("{\"state\":\"offline\"}", 19), 0);
    assert_int_equal(counter_status_online("online", 6), 0);
}

static void test_text_fit(void **state)
{
    (void)state;
    char out[64];
    /* escape sequences from the network never reach the terminal */
    counter_text_fit("A\x1b[2JB\x07"
                     "C\x7f",
                     80, out, sizeof out);
    assert_string_equal(out, "A[2JBC");
    /* C1 controls (U+009B is a CSI on some terminals) are dropped too */
    counter_text_fit("x\xc2\x9b"
                     "1m\xc2\xa0y",
                     80, out, sizeof out);
    assert_string_equal(out, "x1m\xc2\xa0y");
    /* cut by columns, not bytes: "Đất đai" is 7 columns */
    counter_text_fit("Đất đai", 4, out, sizeof out);
    assert_string_equal(out, "Đất ");
    assert_int_equal(counter_text_width("Đất đai"), 7);
    /* broken UTF-8 becomes '?' */
    counter_text_fit("a\xe1\xba"
                     "b\xff",
                     80, out, sizeof out);
    assert_string_equal(out, "a?b?");
    /* the buffer bound holds whole characters only */
    char small[5];
    counter_text_fit("ĐĐĐ", 80, small, sizeof small);
    assert_string_equal(small, "ĐĐ");
    counter_copy(small, sizeof small, "aĐĐ");
    assert_string_equal(small, "aĐ");
}

static void test_describe(void **state)
{
    (void)state;
    qms_config *cfg = NULL;
    char err[200];
    assert_int_equal(qms_config_load_file(QMS_EXAMPLES "/center.json", &cfg, err, sizeof err),
                     QMS_OK);
    counter_req r = {.op = COUNTER_OP_NEXT};
    counter_info *rep = qms_calloc(1, sizeof *rep);
    rep->counter = 5;
    rep->waiting = 7;
    strcpy(rep->ticket, "A023");
    strcpy(rep->service, "TP");
    char out[512];
    counter_describe(&r, rep, cfg, 5, 0, out, sizeof out);
    assert_string_equal(out, "Mời số A023 đến Quầy 5 (Tư pháp - Hộ tịch). Còn 7 khách chờ.");
    counter_describe(&r, rep, cfg, 5, 1, out, sizeof out);
    assert_string_equal(out, "Calling A023 to Counter 5 (Justice and civil status). 7 waiting.");
    /* without a configuration: codes and numbers */
    counter_describe(&r, rep, NULL, 5, 0, out, sizeof out);
    assert_string_equal(out, "Mời số A023 đến Quầy 5 (TP). Còn 7 khách chờ.");
    r.op = COUNTER_OP_RATE;
    r.level = 4;
    counter_describe(&r, rep, cfg, 5, 0, out, sizeof out);
    assert_string_equal(out, "Đã ghi đánh giá 4 (Rất hài lòng) cho số A023.");
    r.op = COUNTER_OP_TRANSFER;
    strcpy(r.to_service, "DD");
    counter_describe(&r, rep, cfg, 5, 0, out, sizeof out);
    assert_string_equal(out, "Đã chuyển số A023 sang Đất đai; số giữ nguyên thứ tự chờ.");
    /* status names the current ticket, not the one an earlier op acted on */
    memset(&r, 0, sizeof r);
    r.op = COUNTER_OP_STATUS;
    strcpy(rep->state, "open");
    rep->has_current = 1;
    strcpy(rep->current, "");
    counter_describe(&r, rep, cfg, 5, 0, out, sizeof out);
    assert_string_equal(out, "Quầy 5: đang mở. Chưa gọi số nào. Còn 7 khách chờ.");
    /* open: the staff sent, when the reply leaves it out */
    r.op = COUNTER_OP_OPEN;
    strcpy(r.staff, "Lan");
    counter_describe(&r, rep, cfg, 5, 0, out, sizeof out);
    assert_string_equal(out, "Quầy 5 đã mở (nhân viên: Lan). Còn 7 khách chờ.");

    /* typed input as the center spells it */
    assert_string_equal(counter_service_code(cfg, "dd"), "DD");
    assert_string_equal(counter_service_code(cfg, "zz"), "zz");
    assert_string_equal(counter_service_code(NULL, "dd"), "dd");
    assert_string_equal(counter_service_of_label(cfg, "E003"), "DT");
    assert_string_equal(counter_service_of_label(cfg, "A1"), "TP");
    assert_null(counter_service_of_label(cfg, "AB1"));
    assert_null(counter_service_of_label(cfg, "Z001"));
    assert_null(counter_service_of_label(NULL, "A001"));
    char typed[16] = "a23x";
    counter_ticket_upcase(typed);
    assert_string_equal(typed, "A23X");
    qms_free(rep);
    qms_config_free(cfg);
}

/* The alert set, and which alerts concern counter 5 (KD, DT, CT in the
 * sample center): its services' waits and caps, its own pause and devices. */
static void test_alerts(void **state)
{
    (void)state;
    qms_config *cfg = NULL;
    char err[256];
    assert_int_equal(qms_config_load_file(QMS_EXAMPLES "/center.json", &cfg, err, sizeof err), 0);
    const char *js =
        "{\"alerts\":[{\"kind\":\"wait\",\"subject\":\"DT\",\"level\":\"critical\","
        "\"message_vi\":\"Đầu tư: có người chờ quá 31 phút\",\"acked_by\":null},"
        "{\"kind\":\"wait\",\"subject\":\"DD\",\"level\":\"warning\"},"
        "{\"kind\":\"cap\",\"subject\":\"KD\",\"level\":\"warning\",\"acked_by\":\"Lan\"},"
        "{\"kind\":\"counter_paused\",\"subject\":\"5\"},{\"kind\":\"counter_paused\",\"subject\":\"15\"},"
        "{\"kind\":\"device_offline\",\"subject\":\"counter/5\"},"
        "{\"kind\":\"printer\",\"subject\":\"counter/5-prn\"},"
        "{\"kind\":\"device_offline\",\"subject\":\"counter/55\"},"
        "{\"kind\":\"printer\",\"subject\":\"kiosk/k1\"},7,{\"kind\":\"wait\"}]}";
    counter_alert a[COUNTER_ALERTS_MAX];
    int n = -1;
    assert_int_equal(counter_alerts_decode(js, strlen(js), a, COUNTER_ALERTS_MAX, &n), QMS_OK);
    assert_int_equal(n, 9);
    assert_true(a[0].critical);
    assert_string_equal(a[0].message_vi, "Đầu tư: có người chờ quá 31 phút");
    assert_false(a[0].acked);
    assert_true(a[2].acked);
    const int want[9] = {1, 0, 1, 1, 0, 1, 1, 0, 0};
    for (int i = 0; i < n; i++)
        assert_int_equal(counter_alert_concerns(&a[i], 5, cfg), want[i]);
    assert_int_equal(counter_alerts_decode(js, strlen(js), a, 2, &n), QMS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(counter_alerts_decode("{\"alerts\":5}", 12, a, 4, &n), QMS_ERR_INVAL);
    assert_int_equal(n, 0);
    assert_int_equal(counter_alerts_decode("[]", 2, a, 4, &n), QMS_ERR_INVAL);
    qms_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),       cmocka_unit_test(test_decode_reply),
        cmocka_unit_test(test_decode_queue), cmocka_unit_test(test_decode_events),
        cmocka_unit_test(test_text_fit),     cmocka_unit_test(test_describe),
        cmocka_unit_test(test_alerts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
