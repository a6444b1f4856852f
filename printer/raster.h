/* 1-bit images for the printer: UTF-8 text rendered with SDL2_ttf (Noto) and
 * cropped to its ink, word wrapping by measured width, QR codes drawn with
 * libqrencode. Bits are packed MSB first, 1 = black (what GS v 0 takes). */
#ifndef QMS_RASTER_H
#define QMS_RASTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct _TTF_Font TTF_Font;

typedef struct qms_raster {
    int w, h;      /* size in dots */
    int stride;    /* bytes a row, (w + 7) / 8 */
    uint8_t *bits; /* h * stride bytes (qms_malloc'd) */
} qms_raster;

/* A blank (white) image. QMS_ERR_INVAL for a size <= 0 or absurd. */
int qms_raster_new(qms_raster *r, int w, int h);
void qms_raster_free(qms_raster *r);
int qms_raster_get(const qms_raster *r, int x, int y);
void qms_raster_set(qms_raster *r, int x, int y, int black);

/* Render one line of UTF-8 text and crop it to the ink. Text with no ink
 * (blank) gives QMS_ERR_INVAL. Needs TTF_Init(). */
int qms_raster_text(TTF_Font *font, const char *utf8, qms_raster *out);

/* Split UTF-8 text into lines no wider than max_w dots when rendered with
 * font, breaking at spaces (a word longer than a line is broken between
 * characters). *lines is an array of *n qms_malloc'd strings; free with
 * qms_raster_free_lines. */
int qms_raster_wrap(TTF_Font *font, const char *utf8, int max_w, char ***lines, int *n);
void qms_raster_free_lines(char **lines, int n);

/* A QR code (libqrencode, 8-bit mode, version chosen by the data) with
 * `module` dots a module and a 4-module quiet zone left out (paper is white). */
int qms_raster_qr(const char *data, int module, char ecc, qms_raster *out);

/* FNV-1a 64 of (width, h, bits) as the image goes on the wire (width =
 * stride * 8): names an image, so a test can tell which text a raster the
 * printer received came from. */
uint64_t qms_raster_hash(const qms_raster *r);
uint64_t qms_raster_hash_bits(int w, int h, const uint8_t *bits, int stride);

/* 1 if every byte is printable ASCII (the printer's own font can print it). */
int qms_text_is_ascii(const char *s);

#endif
