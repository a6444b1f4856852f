/* The number speller against an independent table of 0..9999, built here
 * a different way: the naive reading "X trăm Y mươi Z" first, then the
 * spoken-Vietnamese rewrites applied to the text (một mươi -> mười,
 * mươi một -> mươi mốt, mươi bốn -> mươi tư, năm after mười/mươi -> lăm). */
#include "spell.h"
#include "voice.h"

#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static const char *const D[10] = {"không", "một", "hai", "ba",  "bốn",
                                  "năm",   "sáu", "bảy", "tám", "chín"};

static void cat(char *s, size_t cap, const char *w)
{
    size_t l = strlen(s);
    snprintf(s + l, cap - l, " %s", w);
}

/* replace every " from " (whole words) by " to " */
static void rewrite(char *s, size_t cap, const char *from, const char *to)
{
    char pat[64], rep[64], out[512] = "";
    snprintf(pat, sizeof pat, " %s ", from);
    snprintf(rep, sizeof rep, " %s ", to);
    const char *p = s;
    for (;;) {
        const char *q = strstr(p, pat);
        if (!q) {
            strncat(out, p, sizeof out - strlen(out) - 1);
            break;
        }
        strncat(out, p, (size_t)(q - p));
        strncat(out, rep, sizeof out - strlen(out) - 1);
        p = q + strlen(pat) - 1; /* keep the trailing space for the next match */
        if (strlen(out) > 0)
            out[strlen(out) - 1] = 0;
    }
    snprintf(s, cap, "%s", out);
}

static void table_vi(int n, int south, char *out, size_t cap)
{
    char s[512] = "";
    int th = n / 1000, h = n / 100 % 10, t = n / 10 % 10, u = n % 10;
    if (n == 0) {
        snprintf(out, cap, "không");
        return;
    }
    if (th)
        cat(s, sizeof s, D[th]), cat(s, sizeof s, south ? "ngàn" : "nghìn");
    int rest = n % 1000;
    if (th == 0 || rest) {
        if (th || h)
            cat(s, sizeof s, D[h]), cat(s, sizeof s, "trăm");
        if (t == 0 && u) {
            if (th || h)
                cat(s, sizeof s, south ? "lẻ" : "linh");
            cat(s, sizeof s, D[u]);
        } else if (t) {
            cat(s, sizeof s, D[t]);
            cat(s, sizeof s, "mươi");
            if (u)
                cat(s, sizeof s, D[u]);
        }
    }
    cat(s, sizeof s, ""); /* a trailing space so every word has two sides */
    rewrite(s, sizeof s, "một mươi", "mười");
    rewrite(s, sizeof s, "mươi một", "mươi mốt");
    rewrite(s, sizeof s, "mươi bốn", "mươi tư");
    rewrite(s, sizeof s, "mươi năm", "mươi lăm");
    rewrite(s, sizeof s, "mười năm", "mười lăm");
    /* trim the spaces at both ends */
    char *b = s;
    while (*b == ' ')
        b++;
    size_t l = strlen(b);
    while (l && b[l - 1] == ' ')
        b[--l] = 0;
    snprintf(out, cap, "%s", b);
}

static void spell_vi(int n, qms_vi_dialect d, char *out, size_t cap)
{
    const char *w[QMS_WORDS_MAX];
    int k = qms_spell_vi(n, d, w, QMS_WORDS_MAX);
    assert_true(k > 0);
    qms_words_join(w, k, out, cap);
}

static void test_table_0_9999(void **state)
{
    (void)state;
    int bad = 0;
    for (int south = 0; south < 2; south++)
        for (int n = 0; n <= 9999; n++) {
            char want[256], got[256];
            table_vi(n, south, want, sizeof want);
            spell_vi(n, south ? QMS_VI_SOUTH : QMS_VI_NORTH, got, sizeof got);
            if (strcmp(want, got) != 0 && bad++ < 10)
                print_error("%d: table \"%s\", speller \"%s\"\n", n, want, got);
        }
    assert_int_equal(bad, 0);
}

static void test_hard_cases(void **state)
{
    (void)state;
    static const struct {
        int n;
        const char *vi;
    } cases[] = {
        {0, "không"},
        {5, "năm"},
        {10, "mười"},
        {11, "mười một"},
        {14, "mười bốn"},
        {15, "mười lăm"},
        {20, "hai mươi"},
        {21, "hai mươi mốt"},
        {24, "hai mươi tư"},
        {25, "hai mươi lăm"},
        {101, "một trăm linh một"},
        {104, "một trăm linh bốn"},
        {105, "một trăm linh năm"},
        {110, "một trăm mười"},
        {115, "một trăm mười lăm"},
        {1000, "một nghìn"},
        {1005, "một nghìn không trăm linh năm"},
        {1010, "một nghìn không trăm mười"},
        {1100, "một nghìn một trăm"},
        {2024, "hai nghìn không trăm hai mươi tư"},
        {9999, "chín nghìn chín trăm chín mươi chín"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[256];
        spell_vi(cases[i].n, QMS_VI_NORTH, got, sizeof got);
        if (strcmp(got, cases[i].vi) != 0)
            print_error("%d: \"%s\" want \"%s\"\n", cases[i].n, got, cases[i].vi);
        assert_string_equal(got, cases[i].vi);
    }
    char got[256];
    spell_vi(105, QMS_VI_SOUTH, got, sizeof got);
    assert_string_equal(got, "một trăm lẻ năm");
    spell_vi(1000, QMS_VI_SOUTH, got, sizeof got);
    assert_string_equal(got, "một ngàn");
    const char *w[4];
    assert_int_equal(qms_spell_vi(10000, QMS_VI_NORTH, w, 4), -QMS_ERR_INVAL);
    assert_int_equal(qms_spell_vi(-1, QMS_VI_NORTH, w, 4), -QMS_ERR_INVAL);
    assert_int_equal(qms_spell_vi(2024, QMS_VI_NORTH, w, 4), -QMS_ERR_TOO_LARGE);
}

static void test_english(void **state)
{
    (void)state;
    static const struct {
        int n;
        const char *en;
    } cases[] = {{0, "zero"},
                 {5, "five"},
                 {13, "thirteen"},
                 {20, "twenty"},
                 {21, "twenty one"},
                 {100, "one hundred"},
                 {105, "one hundred five"},
                 {110, "one hundred ten"},
                 {1000, "one thousand"},
                 {1005, "one thousand five"},
                 {2024, "two thousand twenty four"},
                 {9999, "nine thousand nine hundred ninety nine"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *w[16];
        char got[256];
        int k = qms_spell_en(cases[i].n, w, 16);
        assert_true(k > 0);
        qms_words_join(w, k, got, sizeof got);
        assert_string_equal(got, cases[i].en);
    }
}

static void expect_clips(const char *label, const char *lang, qms_read_mode mode, const char *want)
{
    const char *c[QMS_WORDS_MAX];
    int k = qms_spell_label(label, lang, QMS_VI_NORTH, mode, c, QMS_WORDS_MAX);
    assert_true(k > 0);
    char got[1024];
    qms_words_join(c, k, got, sizeof got);
    assert_string_equal(got, want);
}

static void test_labels(void **state)
{
    (void)state;
    expect_clips("A023", "vi", QMS_READ_WHOLE, "vi_letter_a vi_hai vi_muoi_ngang vi_ba");
    expect_clips("A023", "vi", QMS_READ_DIGITS, "vi_letter_a vi_khong vi_hai vi_ba");
    expect_clips("A015", "vi", QMS_READ_WHOLE, "vi_letter_a vi_muoi vi_lam");
    expect_clips("1023", "vi", QMS_READ_WHOLE,
                 "vi_mot vi_nghin vi_khong vi_tram vi_hai vi_muoi_ngang vi_ba");
    expect_clips("A000", "vi", QMS_READ_WHOLE, "vi_letter_a vi_khong");
    expect_clips("\xC4\x90"
                 "12",
                 "vi", QMS_READ_WHOLE, "vi_letter_dd vi_muoi vi_hai");
    expect_clips("b-21", "en", QMS_READ_WHOLE, "en_letter_b en_twenty en_one");
    expect_clips("123456", "vi", QMS_READ_WHOLE, "vi_mot vi_hai vi_ba vi_bon vi_nam vi_sau");
    const char *c[4];
    assert_int_equal(qms_spell_label("", "vi", QMS_VI_NORTH, QMS_READ_WHOLE, c, 4), -QMS_ERR_INVAL);
    assert_int_equal(qms_spell_label("--", "vi", QMS_VI_NORTH, QMS_READ_WHOLE, c, 4),
                     -QMS_ERR_INVAL);
    assert_int_equal(qms_spell_label("A1234", "vi", QMS_VI_NORTH, QMS_READ_WHOLE, c, 4),
                     -QMS_ERR_TOO_LARGE);
}

/* Every clip the speller can ask for is in the pack list the generator
 * reads, so a generated pack is never missing a word. */
static int in_pack(const char *lang, const char *clip)
{
    const char *const *names, *const *texts;
    int n = qms_spell_pack_list(lang, &names, &texts);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], clip) == 0)
            return 1;
    return 0;
}

static void test_pack_covers_speller(void **state)
{
    (void)state;
    const char *langs[2] = {"vi", "en"};
    for (int l = 0; l < 2; l++) {
        for (int n = 0; n <= 9999; n++)
            for (int d = 0; d < 2; d++) {
                const char *c[16];
                int k = qms_spell_number_clips(n, langs[l], d ? QMS_VI_SOUTH : QMS_VI_NORTH, c, 16);
                assert_true(k > 0);
                for (int i = 0; i < k; i++) {
                    assert_non_null(c[i]);
                    assert_true(in_pack(langs[l], c[i]));
                }
            }
        const char *c[QMS_WORDS_MAX];
        int k = qms_spell_label("ABCDEFGHIJKLMNOPQRSTUVWXYZ\xC4\x91", langs[l], QMS_VI_NORTH,
                                QMS_READ_WHOLE, c, QMS_WORDS_MAX);
        assert_int_equal(k, 27);
        for (int i = 0; i < k; i++)
            assert_true(in_pack(langs[l], c[i]));
    }
    assert_true(in_pack("vi", "vi_moi") && in_pack("vi", "vi_den_quay"));
    assert_true(in_pack("en", "en_ticket") && in_pack("en", "en_counter"));
}

static void test_script(void **state)
{
    (void)state;
    qms_voice_opts o = {.lang = "vi", .repeat = 2};
    qms_voice_piece p[128];
    int n = qms_voice_script(&o, "A015", 5, p, 128);
    /* chime, then twice: moi, a, muoi, lam, den_quay, nam */
    assert_int_equal(n, 1 + 2 * 6);
    static const char *const want[] = {
        "chime",  "vi_moi",      "vi_letter_a", "vi_muoi", "vi_lam",      "vi_den_quay", "vi_nam",
        "vi_moi", "vi_letter_a", "vi_muoi",     "vi_lam",  "vi_den_quay", "vi_nam"};
    for (int i = 0; i < n; i++)
        assert_string_equal(p[i].clip, want[i]);
    assert_int_equal(p[0].gap_ms, QMS_GAP_CHIME);
    assert_int_equal(p[6].gap_ms, QMS_GAP_REPEAT);
    assert_int_equal(p[n - 1].gap_ms, 0);
    o.lang = "vi+en";
    o.repeat = 1;
    n = qms_voice_script(&o, "B7", 12, p, 128);
    /* chime; moi b bay den_quay muoi hai; ticket b seven counter twelve */
    assert_int_equal(n, 1 + 6 + 5);
    assert_string_equal(p[6].clip, "vi_hai");
    assert_int_equal(p[6].gap_ms, QMS_GAP_REPEAT);
    assert_string_equal(p[7].clip, "en_ticket");
    assert_string_equal(p[9].clip, "en_seven");
    assert_string_equal(p[11].clip, "en_twelve");
    assert_int_equal(qms_voice_script(&o, "A1", 10000, p, 128), -QMS_ERR_INVAL);
    assert_int_equal(qms_voice_script(&o, "??", 1, p, 128), -QMS_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_0_9999),
        cmocka_unit_test(test_hard_cases),
        cmocka_unit_test(test_english),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_pack_covers_speller),
        cmocka_unit_test(test_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
