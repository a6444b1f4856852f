#include "spell.h"

#include "qms/err.h"

#include <stdio.h>
#include <string.h>

/* Vietnamese digit words in their plain form. The rules below swap in the
 * variants: "mốt" (1 after mươi), "tư" (4 after mươi), "lăm" (5 after mười
 * or mươi), "mười" (the ten itself) vs "mươi" (a multiple of ten). */
static const char *const VI_DIGIT[10] = {"không", "một", "hai", "ba",  "bốn",
                                         "năm",   "sáu", "bảy", "tám", "chín"};

static const char *const EN_SMALL[20] = {"zero",    "one",     "two",       "three",    "four",
                                         "five",    "six",     "seven",     "eight",    "nine",
                                         "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                         "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const EN_TENS[10] = {"",      "",      "twenty",  "thirty", "forty",
                                        "fifty", "sixty", "seventy", "eighty", "ninety"};

typedef struct words {
    const char **w;
    int n, max, overflow;
} words;

static void put(words *ws, const char *s)
{
    if (ws->n >= ws->max) {
        ws->overflow = 1;
        return;
    }
    ws->w[ws->n++] = s;
}

/* The last two digits t (tens) and u (units) when t > 0. */
static void vi_tens(words *ws, int t, int u)
{
    if (t == 1) {
        put(ws, "mười");
        if (u == 5)
            put(ws, "lăm");
        else if (u)
            put(ws, VI_DIGIT[u]); /* 11 "mười một", 14 "mười bốn" */
        return;
    }
    put(ws, VI_DIGIT[t]);
    put(ws, "mươi");
    if (u == 1)
        put(ws, "mốt");
    else if (u == 4)
        put(ws, "tư");
    else if (u == 5)
        put(ws, "lăm");
    else if (u)
        put(ws, VI_DIGIT[u]);
}

/* n in 0..999. full: the hundreds are spoken even when 0 ("không trăm"),
 * as after "nghìn". */
static void vi_below_1000(words *ws, int n, int full, qms_vi_dialect d)
{
    int h = n / 100, r = n % 100;
    if (full || h) {
        put(ws, VI_DIGIT[h]);
        put(ws, "trăm");
        if (r == 0)
            return;
        if (r < 10) {
            put(ws, d == QMS_VI_SOUTH ? "lẻ" : "linh");
            put(ws, VI_DIGIT[r]); /* 105 "một trăm linh năm", not "lăm" */
            return;
        }
        vi_tens(ws, r / 10, r % 10);
        return;
    }
    if (r < 10)
        put(ws, VI_DIGIT[r]);
    else
        vi_tens(ws, r / 10, r % 10);
}

static int finish(const words *ws)
{
    return ws->overflow ? -QMS_ERR_TOO_LARGE : ws->n;
}

int qms_spell_vi(int n, qms_vi_dialect d, const char *out[], int max)
{
    if (n < 0 || n > QMS_SPELL_MAX)
        return -QMS_ERR_INVAL;
    words ws = {out, 0, max, 0};
    if (n >= 1000) {
        put(&ws, VI_DIGIT[n / 1000]);
        put(&ws, d == QMS_VI_SOUTH ? "ngàn" : "nghìn");
        if (n % 1000)
            vi_below_1000(&ws, n % 1000, 1, d);
    } else {
        vi_below_1000(&ws, n, 0, d);
    }
    return finish(&ws);
}

static void en_below_100(words *ws, int n)
{
    if (n < 20) {
        put(ws, EN_SMALL[n]);
        return;
    }
    put(ws, EN_TENS[n / 10]);
    if (n % 10)
        put(ws, EN_SMALL[n % 10]);
}

int qms_spell_en(int n, const char *out[], int max)
{
    if (n < 0 || n > QMS_SPELL_MAX)
        return -QMS_ERR_INVAL;
    words ws = {out, 0, max, 0};
    if (n == 0) {
        put(&ws, "zero");
        return finish(&ws);
    }
    if (n >= 1000) {
        put(&ws, EN_SMALL[n / 1000]);
        put(&ws, "thousand");
    }
    if (n % 1000 >= 100) {
        put(&ws, EN_SMALL[n % 1000 / 100]);
        put(&ws, "hundred");
    }
    if (n % 100)
        en_below_100(&ws, n % 100);
    return finish(&ws);
}

void qms_words_join(const char *const w[], int n, char *out, size_t outlen)
{
    size_t used = 0;
    if (!outlen)
        return;
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        int k = snprintf(out + used, outlen - used, "%s%s", i ? " " : "", w[i]);
        if (k < 0 || (size_t)k >= outlen - used)
            return;
        used += (size_t)k;
    }
}

/* Word -> clip. Clip names are ASCII file names of the voice pack. */
typedef struct clipword {
    const char *word;
    const char *clip;
} clipword;

static const clipword VI_WORDS[] = {
    {"không", "vi_khong"}, {"một", "vi_mot"},   {"mốt", "vi_mot_sac"},     {"hai", "vi_hai"},
    {"ba", "vi_ba"},       {"bốn", "vi_bon"},   {"tư", "vi_tu"},           {"năm", "vi_nam"},
    {"lăm", "vi_lam"},     {"sáu", "vi_sau"},   {"bảy", "vi_bay"},         {"tám", "vi_tam"},
    {"chín", "vi_chin"},   {"mười", "vi_muoi"}, {"mươi", "vi_muoi_ngang"}, {"trăm", "vi_tram"},
    {"linh", "vi_linh"},   {"lẻ", "vi_le"},     {"nghìn", "vi_nghin"},     {"ngàn", "vi_ngan"},
};

static const clipword EN_WORDS[] = {
    {"zero", "en_zero"},         {"one", "en_one"},           {"two", "en_two"},
    {"three", "en_three"},       {"four", "en_four"},         {"five", "en_five"},
    {"six", "en_six"},           {"seven", "en_seven"},       {"eight", "en_eight"},
    {"nine", "en_nine"},         {"ten", "en_ten"},           {"eleven", "en_eleven"},
    {"twelve", "en_twelve"},     {"thirteen", "en_thirteen"}, {"fourteen", "en_fourteen"},
    {"fifteen", "en_fifteen"},   {"sixteen", "en_sixteen"},   {"seventeen", "en_seventeen"},
    {"eighteen", "en_eighteen"}, {"nineteen", "en_nineteen"}, {"twenty", "en_twenty"},
    {"thirty", "en_thirty"},     {"forty", "en_forty"},       {"fifty", "en_fifty"},
    {"sixty", "en_sixty"},       {"seventy", "en_seventy"},   {"eighty", "en_eighty"},
    {"ninety", "en_ninety"},     {"hundred", "en_hundred"},   {"thousand", "en_thousand"},
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *qms_spell_clip_of(const char *word, const char *lang)
{
    int en = lang && strcmp(lang, "en") == 0;
    const clipword *t = en ? EN_WORDS : VI_WORDS;
    int n = en ? NELEM(EN_WORDS) : NELEM(VI_WORDS);
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].word, word) == 0)
            return t[i].clip;
    return NULL;
}

/* Letter clips: "vi_letter_a" .. "vi_letter_z", "vi_letter_dd" (Đ). How a
 * letter sounds is in the pack text below (Vietnamese letter names: "bê",
 * "xê", "ca" ...), so a recorded pack can differ without code changes. */
static const char *const LETTER_CLIPS_VI[27] = {
    "vi_letter_a", "vi_letter_b", "vi_letter_c", "vi_letter_d", "vi_letter_e", "vi_letter_f",
    "vi_letter_g", "vi_letter_h", "vi_letter_i", "vi_letter_j", "vi_letter_k", "vi_letter_l",
    "vi_letter_m", "vi_letter_n", "vi_letter_o", "vi_letter_p", "vi_letter_q", "vi_letter_r",
    "vi_letter_s", "vi_letter_t", "vi_letter_u", "vi_letter_v", "vi_letter_w", "vi_letter_x",
    "vi_letter_y", "vi_letter_z", "vi_letter_dd"};
static const char *const LETTER_CLIPS_EN[27] = {
    "en_letter_a", "en_letter_b", "en_letter_c", "en_letter_d", "en_letter_e", "en_letter_f",
    "en_letter_g", "en_letter_h", "en_letter_i", "en_letter_j", "en_letter_k", "en_letter_l",
    "en_letter_m", "en_letter_n", "en_letter_o", "en_letter_p", "en_letter_q", "en_letter_r",
    "en_letter_s", "en_letter_t", "en_letter_u", "en_letter_v", "en_letter_w", "en_letter_x",
    "en_letter_y", "en_letter_z", "en_letter_dd"};

int qms_spell_number_clips(int n, const char *lang, qms_vi_dialect d, const char *clips[], int max)
{
    const char *w[16];
    int en = lang && strcmp(lang, "en") == 0;
    int k = en ? qms_spell_en(n, w, 16) : qms_spell_vi(n, d, w, 16);
    if (k < 0)
        return k;
    if (k > max)
        return -QMS_ERR_TOO_LARGE;
    for (int i = 0; i < k; i++)
        clips[i] = qms_spell_clip_of(w[i], en ? "en" : "vi");
    return k;
}

int qms_spell_label(const char *label, const char *lang, qms_vi_dialect d, qms_read_mode mode,
                    const char *clips[], int max)
{
    if (!label)
        return -QMS_ERR_INVAL;
    int en = lang && strcmp(lang, "en") == 0;
    const char *const *letters = en ? LETTER_CLIPS_EN : LETTER_CLIPS_VI;
    int n = 0;
    const unsigned char *p = (const unsigned char *)label;
    while (*p) {
        if (*p >= '0' && *p <= '9') {
            const unsigned char *q = p;
            while (*q >= '0' && *q <= '9')
                q++;
            int len = (int)(q - p);
            if (mode == QMS_READ_WHOLE && len <= 4) {
                int v = 0;
                for (const unsigned char *r = p; r < q; r++)
                    v = v * 10 + (*r - '0');
                int k = qms_spell_number_clips(v, en ? "en" : "vi", d, clips + n, max - n);
                if (k < 0)
                    return k;
                n += k;
            } else {
                for (const unsigned char *r = p; r < q; r++) {
                    int k =
                        qms_spell_number_clips(*r - '0', en ? "en" : "vi", d, clips + n, max - n);
                    if (k < 0)
                        return k;
                    n += k;
                }
            }
            p = q;
            continue;
        }
        int li = -1;
        if (*p >= 'A' && *p <= 'Z')
            li = *p - 'A';
        else if (*p >= 'a' && *p <= 'z')
            li = *p - 'a';
        else if (p[0] == 0xC4 && (p[1] == 0x90 || p[1] == 0x91)) /* Đ đ */
            li = 26;
        if (li >= 0) {
            if (n >= max)
                return -QMS_ERR_TOO_LARGE;
            clips[n++] = letters[li];
            p += li == 26 ? 2 : 1;
            continue;
        }
        p++; /* a dash, a space, or a byte we cannot say: skipped */
    }
    return n ? n : -QMS_ERR_INVAL;
}

/* The pack: every clip and what it says. espeak-ng -v vi speaks each text
 * on its own, so its number reading never matters. */
static const char *const VI_NAMES[] = {
    "vi_moi",      "vi_den_quay",   "vi_letter_a", "vi_letter_b", "vi_letter_c",  "vi_letter_d",
    "vi_letter_e", "vi_letter_f",   "vi_letter_g", "vi_letter_h", "vi_letter_i",  "vi_letter_j",
    "vi_letter_k", "vi_letter_l",   "vi_letter_m", "vi_letter_n", "vi_letter_o",  "vi_letter_p",
    "vi_letter_q", "vi_letter_r",   "vi_letter_s", "vi_letter_t", "vi_letter_u",  "vi_letter_v",
    "vi_letter_w", "vi_letter_x",   "vi_letter_y", "vi_letter_z", "vi_letter_dd", "vi_khong",
    "vi_mot",      "vi_mot_sac",    "vi_hai",      "vi_ba",       "vi_bon",       "vi_tu",
    "vi_nam",      "vi_lam",        "vi_sau",      "vi_bay",      "vi_tam",       "vi_chin",
    "vi_muoi",     "vi_muoi_ngang", "vi_tram",     "vi_linh",     "vi_le",        "vi_nghin",
    "vi_ngan"};
static const char *const VI_TEXTS[] = {"Mời khách hàng số",
                                       "đến quầy số",
                                       "a",
                                       "bê",
                                       "xê",
                                       "dê",
                                       "e",
                                       "ép",
                                       "giê",
                                       "hát",
                                       "i",
                                       "gi",
                                       "ca",
                                       "e lờ",
                                       "em mờ",
                                       "en nờ",
                                       "o",
                                       "pê",
                                       "quy",
                                       "e rờ",
                                       "ét xì",
                                       "tê",
                                       "u",
                                       "vê",
                                       "vê kép",
                                       "ích xì",
                                       "i dài",
                                       "dét",
                                       "đê",
                                       "không",
                                       "một",
                                       "mốt",
                                       "hai",
                                       "ba",
                                       "bốn",
                                       "tư",
                                       "năm",
                                       "lăm",
                                       "sáu",
                                       "bảy",
                                       "tám",
                                       "chín",
                                       "mười",
                                       "mươi",
                                       "trăm",
                                       "linh",
                                       "lẻ",
                                       "nghìn",
                                       "ngàn"};
static const char *const EN_NAMES[] = {
    "en_ticket",   "en_counter",  "en_letter_a", "en_letter_b", "en_letter_c",  "en_letter_d",
    "en_letter_e", "en_letter_f", "en_letter_g", "en_letter_h", "en_letter_i",  "en_letter_j",
    "en_letter_k", "en_letter_l", "en_letter_m", "en_letter_n", "en_letter_o",  "en_letter_p",
    "en_letter_q", "en_letter_r", "en_letter_s", "en_letter_t", "en_letter_u",  "en_letter_v",
    "en_letter_w", "en_letter_x", "en_letter_y", "en_letter_z", "en_letter_dd", "en_zero",
    "en_one",      "en_two",      "en_three",    "en_four",     "en_five",      "en_six",
    "en_seven",    "en_eight",    "en_nine",     "en_ten",      "en_eleven",    "en_twelve",
    "en_thirteen", "en_fourteen", "en_fifteen",  "en_sixteen",  "en_seventeen", "en_eighteen",
    "en_nineteen", "en_twenty",   "en_thirty",   "en_forty",    "en_fifty",     "en_sixty",
    "en_seventy",  "en_eighty",   "en_ninety",   "en_hundred",  "en_thousand"};
static const char *const EN_TEXTS[] = {"Ticket number",
                                       "please go to counter",
                                       "ay",
                                       "bee",
                                       "see",
                                       "dee",
                                       "ee",
                                       "eff",
                                       "jee",
                                       "aitch",
                                       "eye",
                                       "jay",
                                       "kay",
                                       "ell",
                                       "em",
                                       "en",
                                       "oh",
                                       "pee",
                                       "cue",
                                       "are",
                                       "ess",
                                       "tee",
                                       "you",
                                       "vee",
                                       "double you",
                                       "ex",
                                       "why",
                                       "zed",
                                       "dee",
                                       "zero",
                                       "one",
                                       "two",
                                       "three",
                                       "four",
                                       "five",
                                       "six",
                                       "seven",
                                       "eight",
                                       "nine",
                                       "ten",
                                       "eleven",
                                       "twelve",
                                       "thirteen",
                                       "fourteen",
                                       "fifteen",
                                       "sixteen",
                                       "seventeen",
                                       "eighteen",
                                       "nineteen",
                                       "twenty",
                                       "thirty",
                                       "forty",
                                       "fifty",
                                       "sixty",
                                       "seventy",
                                       "eighty",
                                       "ninety",
                                       "hundred",
                                       "thousand"};

_Static_assert(NELEM(VI_NAMES) == NELEM(VI_TEXTS), "vi pack list");
_Static_assert(NELEM(EN_NAMES) == NELEM(EN_TEXTS), "en pack list");

int qms_spell_pack_list(const char *lang, const char *const **names, const char *const **texts)
{
    if (lang && strcmp(lang, "en") == 0) {
        *names = EN_NAMES;
        *texts = EN_TEXTS;
        return NELEM(EN_NAMES);
    }
    *names = VI_NAMES;
    *texts = VI_TEXTS;
    return NELEM(VI_NAMES);
}
