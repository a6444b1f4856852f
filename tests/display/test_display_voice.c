/* Announcements from a voice pack. The test builds its own pack: every clip
 * is a tone of a length no other clip has, so the order of clips can be
 * read back from the rendered sound alone (segments between silences),
 * without trusting anything the voice module says about itself. */
#include "spell.h"
#include "voice.h"

#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "support.h"
#include "tonepack.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MS(x) TP_MS(x)

static char pack[256], recorded[256], out[256];
static const char *names[256];
static int nnames;

static size_t clip_len(int k)
{
    return tonepack_len(k);
}

/* A 44.1 kHz stereo file, as a recording would be: the display must convert it. */
static void write_stereo_44k(const char *path, size_t lead_ms, size_t tone_ms, size_t tail_ms)
{
    size_t frames = (lead_ms + tone_ms + tail_ms) * 44100 / 1000;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t data = (uint32_t)(frames * 4);
    unsigned char h[44] = "RIFF....WAVEfmt ";
    uint32_t v32;
    uint16_t v16;
#define PUT32(off, v) (v32 = (v), memcpy(h + (off), &v32, 4))
#define PUT16(off, v) (v16 = (v), memcpy(h + (off), &v16, 2))
    PUT32(4, 36 + data);
    PUT32(16, 16);
    PUT16(20, 1);
    PUT16(22, 2);
    PUT32(24, 44100);
    PUT32(28, 44100 * 4);
    PUT16(32, 4);
    PUT16(34, 16);
    memcpy(h + 36, "data", 4);
    PUT32(40, data);
    fwrite(h, 1, 44, f);
    for (size_t i = 0; i < frames; i++) {
        size_t ms = i * 1000 / 44100;
        int16_t s = 0;
        if (ms >= lead_ms && ms < lead_ms + tone_ms)
            s = (int16_t)(12000 * cos(2 * M_PI * 440 * (double)i / 44100));
        fwrite(&s, 2, 1, f);
        fwrite(&s, 2, 1, f);
    }
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    if (qms_test_tmpdir(pack, sizeof pack, "pack") || qms_test_tmpdir(out, sizeof out, "wav") ||
        qms_test_tmpdir(recorded, sizeof recorded, "rec"))
        return -1;
    nnames = tonepack_names(names, 256);
    if (tonepack_make(pack) != QMS_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    qms_test_rmdir(pack);
    qms_test_rmdir(out);
    qms_test_rmdir(recorded);
    return 0;
}

typedef struct seg {
    size_t start, len, gap_after;
} seg;

/* Split PCM at silences of 5 ms or more (near zero: a resampled edge
 * rings a little). */
#define QUIET(x) ((x) > -8 && (x) < 8)
static int segments(const int16_t *p, size_t n, seg *s, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < n && k < max) {
        while (i < n && QUIET(p[i]))
            i++;
        if (i >= n)
            break;
        size_t a = i, zeros = 0;
        while (i < n) {
            if (QUIET(p[i])) {
                zeros++;
                if (zeros >= MS(5))
                    break;
            } else {
                zeros = 0;
            }
            i++;
        }
        size_t end = i < n ? i - zeros + 1 : n - zeros;
        s[k].start = a;
        s[k].len = end - a;
        k++;
    }
    for (int j = 0; j < k; j++)
        s[j].gap_after = (j + 1 < k ? s[j + 1].start : n) - (s[j].start + s[j].len);
    return k;
}

static const char *which(size_t len)
{
    for (int k = 0; k < nnames; k++)
        if (len + 3 >= clip_len(k) && len <= clip_len(k) + 3)
            return names[k];
    return "?";
}

static void test_order_gaps_duration(void **state)
{
    (void)state;
    qms_voice_opts o = {.dirs = {pack}, .ndirs = 1, .lang = "vi", .repeat = 1};
    qms_voice *v;
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    assert_true(qms_voice_has_pack(v));
    assert_int_equal(qms_voice_clip_count(v), 1 + 49);
    int16_t *pcm;
    size_t n;
    assert_int_equal(qms_voice_render(v, "A015", 15, &pcm, &n), QMS_OK);
    seg s[64];
    int k = segments(pcm, n, s, 64);
    static const char *const want[] = {"chime",  "vi_moi",      "vi_letter_a", "vi_muoi",
                                       "vi_lam", "vi_den_quay", "vi_muoi",     "vi_lam"};
    static const int gaps[] = {QMS_GAP_CHIME,  QMS_GAP_PHRASE, QMS_GAP_WORD, QMS_GAP_WORD,
                               QMS_GAP_PHRASE, QMS_GAP_PHRASE, QMS_GAP_WORD, 0};
    assert_int_equal(k, 8);
    size_t total = 0;
    for (int i = 0; i < k; i++) {
        assert_string_equal(which(s[i].len), want[i]);
        assert_true(s[i].gap_after + 2 >= MS(gaps[i]) && s[i].gap_after <= MS(gaps[i]) + 2);
        total += s[i].len + s[i].gap_after;
    }
    /* the whole announcement is its clips and its silences, nothing more */
    size_t expect = 0;
    for (int i = 0; i < k; i++)
        for (int c = 0; c < nnames; c++)
            if (strcmp(names[c], want[i]) == 0)
                expect += clip_len(c) + MS(gaps[i]);
    assert_int_equal(n, expect);
    assert_int_equal(total + s[0].start, n);
    qms_free(pcm);

    /* said twice, in Vietnamese then English */
    qms_voice_free(v);
    o.lang = "vi+en";
    o.repeat = 2;
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    assert_int_equal(qms_voice_render(v, "B7", 21, &pcm, &n), QMS_OK);
    k = segments(pcm, n, s, 64);
    static const char *const want2[] = {
        "chime",     "vi_moi",        "vi_letter_b", "vi_bay",        "vi_den_quay",
        "vi_hai",    "vi_muoi_ngang", "vi_mot_sac",  "vi_moi",        "vi_letter_b",
        "vi_bay",    "vi_den_quay",   "vi_hai",      "vi_muoi_ngang", "vi_mot_sac",
        "en_ticket", "en_letter_b",   "en_seven",    "en_counter",    "en_twenty",
        "en_one",    "en_ticket",     "en_letter_b", "en_seven",      "en_counter",
        "en_twenty", "en_one"};
    assert_int_equal(k, (int)(sizeof want2 / sizeof want2[0]));
    for (int i = 0; i < k; i++)
        assert_string_equal(which(s[i].len), want2[i]);
    assert_true(s[7].gap_after + 2 >= MS(QMS_GAP_REPEAT)); /* pause between the sayings */
    qms_free(pcm);
    qms_voice_free(v);
}

/* A recorded clip (44.1 kHz stereo, with silence around it) replaces the
 * generated one; the rest still comes from the generated pack. */
static void test_recorded_override(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/vi_den_quay.wav", recorded);
    write_stereo_44k(path, 200, 500, 300);
    qms_voice_opts o = {.dirs = {recorded, pack}, .ndirs = 2, .lang = "vi", .repeat = 1};
    qms_voice *v;
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    int16_t *pcm;
    size_t n;
    assert_int_equal(qms_voice_render(v, "A1", 2, &pcm, &n), QMS_OK);
    seg s[16];
    int k = segments(pcm, n, s, 16);
    /* chime, moi, a, mot, den_quay (recorded), hai */
    assert_int_equal(k, 6);
    assert_string_equal(which(s[0].len), "chime");
    assert_string_equal(which(s[1].len), "vi_moi");
    assert_string_equal(which(s[3].len), "vi_mot");
    assert_string_equal(which(s[5].len), "vi_hai");
    /* 500 ms of tone; the 200 ms / 300 ms of silence around it trimmed to
     * 10 ms each (the resampler's edges blur a few ms) */
    print_message("recorded clip: %zu samples, gaps %zu %zu\n", s[4].len, s[3].gap_after,
                  s[4].gap_after);
    assert_true(s[4].len > MS(490) && s[4].len < MS(525));
    assert_true(s[3].gap_after > MS(QMS_GAP_PHRASE) && s[3].gap_after < MS(QMS_GAP_PHRASE + 20));
    assert_true(s[4].gap_after > MS(QMS_GAP_PHRASE) && s[4].gap_after < MS(QMS_GAP_PHRASE + 20));
    qms_free(pcm);
    qms_voice_free(v);
}

static void test_queue_never_overlaps(void **state)
{
    (void)state;
    qms_voice_opts o = {.dirs = {pack}, .ndirs = 1, .lang = "vi", .repeat = 1, .wav_dir = out};
    qms_voice *v;
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    /* three calls within 20 ms, each announcement far longer */
    qms_voice_enqueue(v, "A001", 1, 0, 1, 1000);
    qms_voice_enqueue(v, "A002", 2, 0, 2, 1010);
    qms_voice_enqueue(v, "A001", 1, 1, 3, 1020);
    int64_t t = 1020;
    int guard = 0;
    int w;
    while ((w = qms_voice_tick(v, t)) >= 0 && guard++ < 100)
        t += w > 7 ? w / 2 : w; /* wake early too: it must still wait */
    assert_true(guard < 100);
    assert_int_equal(qms_voice_pending(v), 0);
    qms_voice_free(v);
    char path[512];
    snprintf(path, sizeof path, "%s/announcements.jsonl", out);
    char *text;
    size_t len;
    assert_int_equal(qms_read_file(path, &text, &len, 1 << 20), QMS_OK);
    const char *tickets[3] = {"A001", "A002", "A001"};
    int64_t prev_end = 0;
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "ticket")->valuestring, tickets[lines]);
        int64_t st = (int64_t)cJSON_GetObjectItem(j, "start_ms")->valuedouble;
        int64_t en = (int64_t)cJSON_GetObjectItem(j, "end_ms")->valuedouble;
        int64_t q = (int64_t)cJSON_GetObjectItem(j, "queued_ms")->valuedouble;
        assert_true(st >= prev_end); /* never two at once */
        assert_true(en > st);
        if (lines > 0)
            assert_true(q < prev_end); /* it did come while the previous one spoke */
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(j, "recall")), lines == 2);
        /* the WAV holds exactly what was played */
        char wav[600];
        snprintf(wav, sizeof wav, "%s/%s", out, cJSON_GetObjectItem(j, "file")->valuestring);
        struct stat stt;
        assert_int_equal(stat(wav, &stt), 0);
        double samples = cJSON_GetObjectItem(j, "samples")->valuedouble;
        assert_int_equal((long long)stt.st_size, 44 + 2 * (long long)samples);
        assert_int_equal(en - st, (int64_t)samples * 1000 / QMS_VOICE_RATE);
        prev_end = en;
        cJSON_Delete(j);
    }
    assert_int_equal(lines, 3);
    qms_free(text);
}

static void test_missing_pack_is_silent(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/none", out);
    qms_voice_opts o = {.dirs = {dir}, .ndirs = 1, .lang = "vi", .wav_dir = out};
    qms_voice *v;
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    assert_false(qms_voice_has_pack(v));
    qms_voice_enqueue(v, "A001", 1, 0, 1, 0);
    assert_int_equal(qms_voice_tick(v, 0), -1); /* nothing to wait for */
    qms_voice_free(v);
}

/* The pack the build made with espeak-ng: complete, every clip audible,
 * an announcement of a sensible length. */
static void test_generated_pack(void **state)
{
    (void)state;
    struct stat st;
    if (stat(QMS_VOICE_DIR "/.complete", &st) != 0) {
        print_message("no generated pack in %s (espeak-ng missing?)\n", QMS_VOICE_DIR);
        skip();
    }
    qms_voice_opts o = {.dirs = {QMS_VOICE_DIR}, .ndirs = 1, .lang = "vi+en", .repeat = 1};
    qms_voice *v;
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    assert_int_equal(qms_voice_clip_count(v), nnames);
    int16_t *pcm;
    size_t n;
    o.lang = "vi";
    qms_voice_free(v);
    assert_int_equal(qms_voice_new(&o, &v), QMS_OK);
    assert_int_equal(qms_voice_render(v, "A023", 5, &pcm, &n), QMS_OK);
    double secs = (double)n / QMS_VOICE_RATE;
    print_message("A023 at counter 5: %.2f s\n", secs);
    assert_true(secs > 2.0 && secs < 10.0);
    int peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = pcm[i] > peak ? pcm[i] : peak;
    assert_true(peak > 8000); /* normalised to -3 dB: loud enough for a hall */
    qms_free(pcm);
    qms_voice_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_gaps_duration),  cmocka_unit_test(test_recorded_override),
        cmocka_unit_test(test_queue_never_overlaps), cmocka_unit_test(test_missing_pack_is_silent),
        cmocka_unit_test(test_generated_pack),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
