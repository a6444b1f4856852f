/* Reading text back from pixels with an OCR nobody here wrote: the
 * tesseract command-line program with its Vietnamese model (Debian
 * tesseract-ocr, tesseract-ocr-vie). Many lines go into one image and one
 * tesseract run (it takes about a second to start); each line is cropped to
 * its ink and scaled so its ink is about `ink_h` dots tall (tesseract misreads
 * very large and very small glyphs), then the words tesseract finds are
 * given back to the line they lie on. */
#ifndef QMS_TEST_OCR_H
#define QMS_TEST_OCR_H

#include <stddef.h>
#include <stdint.h>

typedef struct ocr_line {
    /* in: an 8-bit image, 1 byte a pixel; `ink` says which bytes are ink */
    const uint8_t *pix;
    int stride;       /* bytes a row */
    int x, y, w, h;   /* the region to read */
    int dark_is_ink;  /* 1: bytes < 128 are ink (a screen); 0: bytes != 0 are ink (a page) */
    int invert;       /* 1: bytes >= 128 are ink (light text on a dark screen) */
    int ink_h;        /* target height in pixels of the line's ink; 0: 40 */
    double scale;     /* > 0: scale by this instead (same-size text stays same-size) */
    int x_h;          /* > 0: scale so that the x-height (the band of rows dense with
                       * ink, which diacritics and capitals leave alone) is this */
    /* out */
    char text[512];   /* what tesseract read, NFC, whitespace collapsed */
} ocr_line;

/* Read every line in one tesseract run (lang "vie", or "vie+eng").
 * debug_png: when not NULL, the composed image is kept there (to look at).
 * 0, or -1 when tesseract could not run. */
int ocr_read_lines(ocr_line *lines, int n, const char *lang, const char *debug_png);

/* Read every line at k sizes (ink heights ink_h[0..k-1], one tesseract run
 * each) and keep, for each line, the reading most sizes agree on (the middle
 * size's when none repeats). Tesseract's misreadings of a clean glyph come
 * and go with the size; a glyph that is wrong on the paper reads wrong at
 * every size. Decided without the expected text. */
int ocr_read_lines_vote(ocr_line *lines, int n, const char *lang, const int *ink_h, int k);

/* Read a screenshot (PNG): every exact-colour region that is a fill
 * (large, or a solid square) is taken out, the rest is ink, black on white,
 * at each of the scales (1 for normal text, ~0.3 for a huge number), all in
 * one tesseract run (sparse text, psm 11). out: the lines read, NFC,
 * whitespace collapsed, one a line. debug_dir: keep the ink images there. */
int ocr_read_screen(const char *png, const char *lang, const double *scales, int nscales, char *out,
                    size_t outlen, const char *debug_dir);

/* want (NFC, whitespace collapsed) is in one line of read (lines as
 * ocr_read_screen gives them), or split at a word boundary over two lines
 * (a name the screen wrapped). Spaces are not compared: tesseract sometimes
 * joins a short word to the next ("Y tế" -> "Ytế"); every letter and every
 * mark is. 1 or 0. */
int ocr_has(const char *read, const char *want);

/* NFC and whitespace-collapsed copy of s into out (trimmed). */
void ocr_normalize(const char *s, char *out, size_t outlen);

/* 1 when tesseract and its Vietnamese model are installed. */
int ocr_available(void);

#endif
