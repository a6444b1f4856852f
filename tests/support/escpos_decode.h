/* An ESC/POS reader for tests, written from the Epson ESC/POS command
 * reference and independent of printer/ (it never calls the encoder, the
 * raster code or qms-vprinter): it turns the bytes a printer would receive
 * into the paper a printer would print - a 1-bit page, and the list of what
 * went where (raster images, NV images, lines of the printer's own font,
 * the QR code's data) - so that an OCR can read the paper back.
 *
 * Commands understood (anything else is an error: a strict printer):
 *   ESC @  ESC a n  ESC E n  ESC ! n  ESC J n  ESC d n  LF  GS ! n
 *   GS v 0 m xL xH yL yH d...        (raster bit image, m 0..3)
 *   GS ( k pL pH 49 fn ...           (QR code: model, size, ecc, store, print)
 *   GS ( L pL pH 48 fn ...           (graphics: 67 define NV raster, 69 print NV,
 *                                     48/51/64 queries, 65/66 delete)
 *   GS V 66 n  GS V 65 n  GS V 0/1   (cut)   GS r n   (status: no ink)
 *   DLE EOT n  DLE ENQ n  DLE DC4 ... (real-time: no ink) */
#ifndef QMS_ESCPOS_DECODE_H
#define QMS_ESCPOS_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Images defined in the printer's NV memory (GS ( L fn 67), by key code. */
typedef struct ed_nv_image {
    uint8_t kc[2];
    int w, h;      /* dots */
    uint8_t *bits; /* w * h bytes, 1 = black */
} ed_nv_image;

typedef struct ed_nv {
    ed_nv_image img[256];
    int n;
} ed_nv;

enum { ED_RASTER = 1, ED_NV = 2, ED_TEXT = 3, ED_QR = 4 };

/* One thing printed on the page. */
typedef struct ed_item {
    int kind;        /* ED_RASTER, ED_NV, ED_TEXT, ED_QR */
    int x, y, w, h;  /* where on the page, dots */
    char text[256];  /* ED_TEXT: the characters; ED_QR: the data (cut at 255) */
    int wmul, hmul;  /* ED_TEXT: character size */
    int bold;        /* ED_TEXT */
    uint8_t kc[2];   /* ED_NV */
} ed_item;

typedef struct ed_page {
    int width;        /* dots */
    int h;            /* dots used */
    uint8_t *pix;     /* width * cap rows, 1 = black */
    int cap;          /* rows allocated */
    ed_item items[128];
    int nitems;
    int cut;          /* 1: a cut command ended the page */
} ed_page;

void ed_nv_init(ed_nv *nv);
void ed_nv_free(ed_nv *nv);

/* Decode bytes onto page (ed_page_init'ed) until a cut or the end. nv keeps
 * the NV images across calls (may be NULL: NV print is then an error).
 * *used = bytes consumed. 0, or -1 with a message in err. Printer-font text
 * is drawn as a solid bar of its cell size (the font itself is the
 * printer's: its characters are reported in items[].text). */
int ed_decode(const uint8_t *p, size_t n, ed_nv *nv, ed_page *page, size_t *used, char *err,
              size_t errlen);
int ed_page_init(ed_page *page, int width);
void ed_page_free(ed_page *page);

/* The page (rows 0..h) as a 8-bit PNG, white paper, black ink. 0 or -1. */
int ed_page_png(const ed_page *page, const char *path);

#endif
