/* Booking codes (qms/bookcode.h): the check character catches every single
 * substitution and every adjacent transposition, tried exhaustively. */
#include "qms/bookcode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static const char A[] = QMS_BOOKCODE_ALPHABET;

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_alphabet(void **state)
{
    (void)state;
    assert_int_equal(strlen(A), 23);
    const char *lookalikes = "0O1IL2Z5S8B6G";
    for (const char *p = lookalikes; *p; p++)
        assert_null(strchr(A, *p));
    for (int i = 0; i < 23; i++) {
        assert_int_equal(qms_bookcode_value(A[i]), i);
        assert_null(strchr(A + i + 1, A[i])); /* no duplicates */
    }
    assert_int_equal(qms_bookcode_value('\0'), -1);
}

static void test_make_parse_format(void **state)
{
    (void)state;
    char code[9], back[9], shown[10];
    for (int n = 0; n < 10000; n++) {
        qms_bookcode_make(next_rand(), code);
        assert_int_equal(strlen(code), 8);
        for (int i = 0; i < 8; i++)
            assert_true(qms_bookcode_value(code[i]) >= 0);
        assert_true(qms_bookcode_parse(code, back));
        assert_string_equal(back, code);
        qms_bookcode_format(code, shown);
        assert_int_equal(shown[4], '-');
        assert_true(qms_bookcode_parse(shown, back));
        assert_string_equal(back, code);
    }
    /* a known value: all-zero bits give "AAAAAAA" + check A */
    qms_bookcode_make(0, code);
    assert_string_equal(code, "AAAAAAAA");
    /* value(C)=1 at position 0: check = 1 -> 'C' */
    assert_true(qms_bookcode_parse("CAAAAAAC", back));
    assert_false(qms_bookcode_parse("CAAAAAAA", back));
}

static void test_input_forms(void **state)
{
    (void)state;
    char code[9], out[9], shown[10], s[64];
    qms_bookcode_make(123456789u, code);
    qms_bookcode_format(code, shown);
    /* lower case */
    for (int i = 0; i < 10; i++)
        s[i] = (char)((shown[i] >= 'A' && shown[i] <= 'Z') ? shown[i] - 'A' + 'a' : shown[i]);
    assert_true(qms_bookcode_parse(s, out));
    assert_string_equal(out, code);
    /* spaces anywhere */
    snprintf(s, sizeof s, "  %.4s %.4s ", code, code + 4);
    assert_true(qms_bookcode_parse(s, out));
    assert_string_equal(out, code);
    /* two dashes, other separators, wrong lengths, look-alikes: refused */
    snprintf(s, sizeof s, "%.2s-%.2s-%.4s", code, code + 2, code + 4);
    assert_false(qms_bookcode_parse(s, out));
    assert_string_equal(out, "");
    snprintf(s, sizeof s, "%.4s_%.4s", code, code + 4);
    assert_false(qms_bookcode_parse(s, out));
    snprintf(s, sizeof s, "%s%c", code, code[0]);
    assert_false(qms_bookcode_parse(s, out));
    assert_false(qms_bookcode_parse(code + 1, out));
    assert_false(qms_bookcode_parse("", out));
    assert_false(qms_bookcode_parse(NULL, out));
    assert_false(qms_bookcode_parse("ANYTHING-NOT-BOOKED", out));
    assert_false(qms_bookcode_parse("00000000", out));
    assert_false(qms_bookcode_parse("AAAA\tAAAA", out));
    assert_false(qms_bookcode_parse("AAAAAAA\xC3\x80", out));
}

/* Every single substitution at every position of many codes is refused, and
 * so is every swap of two different adjacent characters. */
static void check_all_errors(const char code[9])
{
    char bad[9], out[9];
    for (int pos = 0; pos < 8; pos++) {
        for (int v = 0; v < 23; v++) {
            if (A[v] == code[pos])
                continue;
            memcpy(bad, code, 9);
            bad[pos] = A[v];
            assert_false(qms_bookcode_parse(bad, out));
        }
        if (pos < 7 && code[pos] != code[pos + 1]) {
            memcpy(bad, code, 9);
            bad[pos] = code[pos + 1];
            bad[pos + 1] = code[pos];
            assert_false(qms_bookcode_parse(bad, out));
        }
    }
}

static void test_detects_substitution_and_transposition(void **state)
{
    (void)state;
    char code[9];
    for (int n = 0; n < 20000; n++) {
        qms_bookcode_make(next_rand(), code);
        check_all_errors(code);
    }
    /* exhaustively over the characters: for each position pair and every
     * pair of characters (a, b) placed there (the rest fixed), the code made
     * valid, then every substitution and the swap refused. The check is
     * linear, so the rest of the code cannot matter; it is varied anyway. */
    for (int pos = 0; pos < 7; pos++)
        for (int a = 0; a < 23; a++)
            for (int b = 0; b < 23; b++) {
                qms_bookcode_make(next_rand(), code);
                code[pos] = A[a];
                if (pos < 6)
                    code[pos + 1] = A[b];
                char body[8];
                memcpy(body, code, 7);
                body[7] = '\0';
                /* recompute the check: make from the chosen characters */
                uint64_t bits = 0;
                for (int i = 6; i >= 0; i--)
                    bits = bits * 23 + (uint64_t)qms_bookcode_value(body[i]);
                qms_bookcode_make(bits, code);
                assert_int_equal(memcmp(code, body, 7), 0);
                check_all_errors(code);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alphabet),
        cmocka_unit_test(test_make_parse_format),
        cmocka_unit_test(test_input_forms),
        cmocka_unit_test(test_detects_substitution_and_transposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
