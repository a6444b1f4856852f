/* The model inside qms-vprinter: an ESC/POS decoder for the subset the kiosk
 * sends, laid out on a paper roll like a thermal printer does, with the
 * printer's state (paper, cover) and its replies. No I/O and no SDL here
 * (rendering lives in vprinter_render.c), so the fuzz target runs it whole.
 *
 * Like a real printer, real-time commands (DLE EOT n, DLE DC4 8) are caught
 * in the raw byte stream as it arrives and answered at once, even while
 * printing is stopped; everything else is processed in order, and only
 * while there is paper and the cover is closed. */
#ifndef QMS_VPRINTER_H
#define QMS_VPRINTER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { QMS_VP_TEXT = 0, QMS_VP_RASTER, QMS_VP_QR } qms_vp_kind;

/* One thing printed on the page, at (x, y) dots from the page's top left. */
typedef struct qms_vp_elem {
    qms_vp_kind kind;
    int x, y, w, h; /* where on the page, size in dots */
    /* TEXT: one run of ASCII in the printer's font */
    char *text; /* NUL-terminated */
    int font_b; /* font B (9x17) instead of A (12x24) */
    int bold;
    int wmul, hmul; /* character size multipliers */
    /* RASTER (GS v 0) */
    int stride;    /* bytes a row as received */
    int rows;      /* rows as received */
    int mode;      /* 0 normal, 1 double width, 2 double height, 3 both */
    uint8_t *bits; /* stride * rows bytes */
    uint64_t hash; /* qms_raster_hash_bits(stride * 8, rows, bits) */
    char nv[3];    /* "" for GS v 0; the key code when printed from NV (GS ( L fn 69) */
    /* QR (GS ( k) */
    char *payload; /* the data stored, NUL-terminated */
    int module;    /* dots a module */
    char ecc;      /* 'L' 'M' 'Q' 'H' */
} qms_vp_elem;

/* A ticket: what came out between two cuts. */
typedef struct qms_vp_page {
    int width;  /* paper width in dots */
    int height; /* dots of paper used */
    qms_vp_elem *elems;
    int nelems, cap;
    uint64_t bytes; /* bytes of the stream since the previous page ended */
    char **refused; /* what was refused, one message each */
    int nrefused;
    int cut; /* 1: ended by a cut; 0: abandoned (buffers cleared) */
} qms_vp_page;

typedef struct qms_vp qms_vp;

typedef struct qms_vp_hooks {
    /* bytes the printer sends back (status replies) */
    void (*reply)(void *ud, const uint8_t *p, size_t n);
    /* a finished page; the hook owns nothing: the page is freed after it returns */
    void (*page)(void *ud, const qms_vp_page *pg);
    /* a refusal, for the loud message on stderr */
    void (*refuse)(void *ud, const char *msg);
    /* the NV graphics memory changed (defined or deleted): persist it */
    void (*nv_changed)(void *ud);
    void *ud;
} qms_vp_hooks;

int qms_vp_new(int width_dots, const qms_vp_hooks *hooks, qms_vp **out);
void qms_vp_free(qms_vp *v);

/* Bytes from the line. */
void qms_vp_feed(qms_vp *v, const uint8_t *p, size_t n);

/* The printer's condition, as a technician or a test sets it. */
void qms_vp_set_paper_out(qms_vp *v, int out); /* 0: fresh roll loaded */
void qms_vp_set_paper_low(qms_vp *v, int low); /* near-end sensor */
void qms_vp_set_cover_open(qms_vp *v, int open);
/* Paper runs out after this many more dots of feed (-1: endless). */
void qms_vp_set_paper_left(qms_vp *v, long dots);
/* "ok", "paper_low", "paper_out", "cover_open" (the worst that applies). */
const char *qms_vp_state(const qms_vp *v);
int qms_vp_paper_out(const qms_vp *v);
int qms_vp_cover_open(const qms_vp *v);
uint64_t qms_vp_bytes_total(const qms_vp *v);

/* NV graphics memory (GS ( L): images defined under a two-byte key code,
 * kept across restarts by whoever runs the model (qms-vprinter writes
 * qms_vp_nv_save's bytes to its --nv-store file after every change). */
#define QMS_VP_NV_CAPACITY 262144 /* bytes, like many 80 mm printers */
/* 0: a printer without NV graphics: GS ( L is refused and not answered. */
void qms_vp_set_nv_support(qms_vp *v, int on);
void qms_vp_set_nv_capacity(qms_vp *v, long bytes);
int qms_vp_nv_count(const qms_vp *v);
long qms_vp_nv_used(const qms_vp *v); /* data bytes stored */
/* Key codes, two characters each, space separated, into out. */
void qms_vp_nv_keys(const qms_vp *v, char *out, size_t outlen);
/* The memory as bytes: one GS ( L fn 67 define command per image. *out is
 * qms_free'd by the caller. */
int qms_vp_nv_save(const qms_vp *v, uint8_t **out, size_t *len);
/* Replace the memory with what such bytes define. QMS_ERR_INVAL (memory
 * left empty) when they hold anything but well-formed defines. */
int qms_vp_nv_load(qms_vp *v, const uint8_t *p, size_t n);
int qms_vp_pending(const qms_vp *v); /* bytes received but not yet processed */

#endif
