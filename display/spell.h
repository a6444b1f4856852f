/* Number words for spoken announcements: Vietnamese by its own rules
 * (mười / mươi, mốt, tư, lăm, linh or lẻ, không trăm, nghìn or ngàn) and
 * English, plus how a ticket label is read aloud. espeak-ng reads some
 * Vietnamese numbers wrong (15 -> "mười năm"), so we never hand it a number:
 * it only speaks the single words, and this code decides which words. */
#ifndef QMS_DISPLAY_SPELL_H
#define QMS_DISPLAY_SPELL_H

#include <stddef.h>

#define QMS_SPELL_MAX 0x270F /* 9999: the largest number read as a whole */
#define QMS_WORDS_MAX 64     /* enough for any label we accept */

typedef enum {
    QMS_VI_NORTH = 0, /* "linh", "nghìn" (Hà Nội, the default) */
    QMS_VI_SOUTH = 1  /* "lẻ", "ngàn" */
} qms_vi_dialect;

/* Words of n (0..9999) in Vietnamese, UTF-8 NFC, e.g. 15 -> "mười","lăm";
 * 1005 -> "một","nghìn","không","trăm","linh","năm". Writes at most max
 * pointers to static strings into words. Returns the word count, or
 * -QMS_ERR_INVAL for n out of range, -QMS_ERR_TOO_LARGE if max is too small. */
int qms_spell_vi(int n, qms_vi_dialect d, const char *words[], int max);

/* Words of n (0..9999) in English ("one","thousand","twenty","three").
 * Same return convention as qms_spell_vi. */
int qms_spell_en(int n, const char *words[], int max);

/* Join words with single spaces into out (always NUL-terminated). */
void qms_words_join(const char *const words[], int n, char *out, size_t outlen);

/* How a label's digits are read: as one number ("A hai mươi ba", what most
 * centers do and our default) or digit by digit ("A không hai ba"). */
typedef enum { QMS_READ_WHOLE = 0, QMS_READ_DIGITS = 1 } qms_read_mode;

/* The clip names that speak a ticket label such as "A023" or "1023" in
 * language lang ("vi" or "en"): letter clips ("vi_letter_a"), then the
 * number's word clips ("vi_hai", "vi_muoi_ngang", "vi_ba"). Leading zeros
 * are not read in whole mode; a run of more than 4 digits is read digit by
 * digit. Letters are A-Z (either case) and Đ/đ; any other character is
 * skipped. Returns the clip count, -QMS_ERR_INVAL for an empty or
 * unreadable label, -QMS_ERR_TOO_LARGE if max is too small. */
int qms_spell_label(const char *label, const char *lang, qms_vi_dialect d, qms_read_mode mode,
                    const char *clips[], int max);

/* The clip names of the number n (0..9999) in lang; as qms_spell_vi/en. */
int qms_spell_number_clips(int n, const char *lang, qms_vi_dialect d, const char *clips[], int max);

/* The clip name of one word returned by qms_spell_vi / qms_spell_en
 * ("mươi" -> "vi_muoi_ngang"), or NULL if it is not one of ours. */
const char *qms_spell_clip_of(const char *word, const char *lang);

/* Every clip name a voice pack of lang should have, with the text it says
 * (for the pack generator and for checking a pack). Returns the count and
 * sets *names / *texts to static arrays. */
int qms_spell_pack_list(const char *lang, const char *const **names, const char *const **texts);

#endif
