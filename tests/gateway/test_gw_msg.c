/* qms-gateway's pure parts: request ids, key event -> counter request,
 * display texts. */
#include "gw.h"
#include "regs.h"

#include "qms/alloc.h"
#include "qms/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const center =
    "{\"name_vi\":\"X\",\"rating_levels\":4,\"services\":["
    "{\"code\":\"TP\",\"prefix\":\"A\",\"digits\":3,\"name_vi\":\"a\"},"
    "{\"code\":\"DD\",\"range\":[1001,1999],\"name_vi\":\"d\"}],"
    "\"counters\":[{\"id\":3,\"services\":[\"DD\",\"TP\"]},{\"id\":5,\"services\":[\"TP\"]}],"
    "\"bus\":[{\"address\":3,\"kind\":\"counter\",\"counter\":3},"
    "{\"address\":153,\"kind\":\"rating\",\"counter\":3},"
    "{\"address\":7,\"kind\":\"counter\",\"counter\":5,\"line\":2}]}";

static qms_config *cfg;

static int setup(void **state)
{
    (void)state;
    char err[256];
    return qms_config_parse_json(center, strlen(center), &cfg, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    qms_config_free(cfg);
    return 0;
}

static gw_unit unit(int i)
{
    gw_unit u;
    memset(&u, 0, sizeof u);
    u.cfg = cfg->bus[i];
    return u;
}

static void test_req_id(void **state)
{
    (void)state;
    char a[48], b[48];
    gw_unit u = unit(0), w = unit(2);
    gw_req_id(&u, 0x13e76488u, 7, a, sizeof a);
    assert_string_equal(a, "gw3-13e76488-7");
    /* the same event gets the same id (a retry, a restarted gateway) */
    gw_req_id(&u, 0x13e76488u, 7, b, sizeof b);
    assert_string_equal(a, b);
    /* another session (the unit restarted) or sequence: another id */
    gw_req_id(&u, 0x13e76489u, 7, b, sizeof b);
    assert_string_not_equal(a, b);
    gw_req_id(&u, 0x13e76488u, 8, b, sizeof b);
    assert_string_not_equal(a, b);
    /* the line is part of it when it is not the first */
    gw_req_id(&w, 1, 1, b, sizeof b);
    assert_string_equal(b, "gw2.7-00000001-1");
    /* sessions are never 0 and never the previous one */
    uint32_t s = gw_new_session(0);
    assert_true(s != 0);
    assert_true(gw_new_session(s) != s);
}

static char *req(int unit_i, uint16_t key, uint16_t arg, const char **why)
{
    gw_unit u = unit(unit_i);
    gw_event ev = {.state = GW_PEND_NEW, .session = 1, .seq = 1, .key = key, .arg = arg};
    return gw_key_request(cfg, &u, &ev, "r1", why);
}

static void expect(int unit_i, uint16_t key, uint16_t arg, const char *json)
{
    const char *why;
    char *j = req(unit_i, key, arg, &why);
    assert_non_null(j);
    assert_string_equal(j, json);
    qms_free(j);
}

static void expect_none(int unit_i, uint16_t key, uint16_t arg, const char *why_want)
{
    const char *why;
    char *j = req(unit_i, key, arg, &why);
    assert_null(j);
    assert_string_equal(why, why_want);
}

static void test_keys(void **state)
{
    (void)state;
    expect(0, QMS_KEY_NEXT, QMS_ARG_NONE, "{\"req\":\"r1\",\"op\":\"next\"}");
    expect(0, QMS_KEY_RECALL, QMS_ARG_NONE, "{\"req\":\"r1\",\"op\":\"recall\"}");
    expect(0, QMS_KEY_SKIP, QMS_ARG_NONE, "{\"req\":\"r1\",\"op\":\"skip\"}");
    expect(0, QMS_KEY_START, QMS_ARG_NONE, "{\"req\":\"r1\",\"op\":\"start\"}");
    expect(0, QMS_KEY_DONE, 12, "{\"req\":\"r1\",\"op\":\"done\"}");
    expect(0, QMS_KEY_PAUSE, QMS_ARG_NONE, "{\"req\":\"r1\",\"op\":\"pause\"}");
    expect(0, QMS_KEY_RESUME, QMS_ARG_NONE, "{\"req\":\"r1\",\"op\":\"resume\"}");
    expect(0, QMS_KEY_TRANSFER, 5, "{\"req\":\"r1\",\"op\":\"transfer\",\"to_counter\":5}");
    expect_none(0, QMS_KEY_TRANSFER, QMS_ARG_NONE, "Nhập số quầy, bấm chuyển");
    expect_none(0, QMS_KEY_TRANSFER, 9, "Không có quầy này");
    /* a typed number: the counter's range service when it is in range, else
     * its first prefix service */
    expect(0, QMS_KEY_OK, 1023, "{\"req\":\"r1\",\"op\":\"call\",\"ticket\":\"1023\"}");
    expect(0, QMS_KEY_OK, 23, "{\"req\":\"r1\",\"op\":\"call\",\"ticket\":\"A023\"}");
    expect_none(0, QMS_KEY_OK, 5000, "Không có số này");
    expect_none(0, QMS_KEY_OK, 0, "Không có số này");
    expect_none(0, QMS_KEY_OK, QMS_ARG_NONE, "Không có số này");
    /* a rating key on a counter unit, an unknown key: nothing */
    expect_none(0, QMS_KEY_RATE, 4, "");
    expect_none(0, 77, 0, "");
    /* rating keys: only rate, levels 1..rating_levels */
    expect(1, QMS_KEY_RATE, 4, "{\"req\":\"r1\",\"op\":\"rate\",\"level\":4}");
    expect(1, QMS_KEY_RATE, 1, "{\"req\":\"r1\",\"op\":\"rate\",\"level\":1}");
    expect_none(1, QMS_KEY_RATE, 5, "");
    expect_none(1, QMS_KEY_RATE, 0, "");
    expect_none(1, QMS_KEY_NEXT, QMS_ARG_NONE, "");
    /* the ticket the ask was for goes with the rating */
    gw_unit u = unit(1);
    gw_event ev = {.state = GW_PEND_NEW, .seq = 1, .key = QMS_KEY_RATE, .arg = 3, .tag = 9,
                   .ticket = "A023"};
    const char *why;
    char *j = gw_key_request(cfg, &u, &ev, "r2", &why);
    assert_non_null(j);
    assert_string_equal(j, "{\"req\":\"r2\",\"op\":\"rate\",\"level\":3,\"ticket\":\"A023\"}");
    qms_free(j);
}

static void test_text(void **state)
{
    (void)state;
    char out[GW_TEXT_BYTES];
    gw_text(out, "B001 → 3");
    assert_string_equal(out, "B001 → 3");
    for (int i = (int)strlen(out); i < GW_TEXT_BYTES; i++)
        assert_int_equal(out[i], 0);
    /* 31 bytes at most, never half a letter: "ệ" is 3 bytes */
    gw_text(out, "Không làm được lúc này, thử lại sau");
    assert_true(strlen(out) <= GW_TEXT_BYTES - 1);
    assert_string_equal(out, "Không làm được lúc này,"); /* 31 bytes would end inside "ử" */
    gw_text(out, "ệệệệệệệệệệệệ"); /* 36 bytes: 10 letters fit (30 bytes) */
    assert_string_equal(out, "ệệệệệệệệệệ");
    assert_string_equal(gw_refusal_text("nothing_to_call"), "Không có người chờ");
    assert_string_equal(gw_refusal_text("whatever"), "Lệnh bị từ chối");
    assert_string_equal(gw_refusal_text(NULL), "Lệnh bị từ chối");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_id),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
