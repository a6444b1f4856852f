/* The ticket's layout: turns a qms_ticket_print into ESC/POS bytes.
 * Internal to the printing library (printer/printer.h is the public face);
 * tests use it to re-render the exact images the printer should receive. */
#ifndef QMS_TICKET_H
#define QMS_TICKET_H

#include "escpos.h"
#include "printer.h"
#include "printer_nv.h"
#include "raster.h"

typedef struct qms_ticket_enc {
    int width;         /* paper width in dots (576 or 512) */
    int dpi;           /* 203 or 180 */
    int qr_native;     /* GS ( k, or a raster QR */
    TTF_Font *regular; /* center name, labels */
    TTF_Font *bold;    /* service name, priority mark */
    int ttf_inited;    /* this encoder holds a TTF_Init reference */
    /* NV graphics: the images the printer holds (entries with present = 1
     * are printed with GS ( L fn 69, the rest goes as GS v 0). NULL: all
     * raster. Not owned. */
    const qms_nv_table *nv;
    int nv_hits, nv_misses; /* raster lines of the last ticket from NV / sent as raster */
} qms_ticket_enc;

/* Sizes in dots at 203 dpi (scaled for 180 dpi). Chosen by printing all 17
 * sample services and looking at them: the smallest sizes at which every
 * stacked diacritic ("ễ", "ặ", "ợ") stays distinct on paper. */
#define QMS_TICKET_PX_REGULAR 18
#define QMS_TICKET_PX_BOLD 26
#define QMS_TICKET_QR_MODULE 6        /* native QR: dots a module */
#define QMS_TICKET_QR_RASTER_MODULE 2 /* raster QR: bits a module, doubled by GS v 0 m=3 */

/* Load fonts (opts->font_dir or the default Noto folder). QMS_ERR_IO when a
 * font is missing, QMS_ERR_INVAL for a width other than 512/576. */
int qms_ticket_enc_init(qms_ticket_enc *e, const qms_printer_opts *o);
void qms_ticket_enc_free(qms_ticket_enc *e);

/* Append the ticket (from ESC @ to the cut) to b. */
int qms_ticket_encode(qms_ticket_enc *e, const qms_ticket_print *t, qms_escpos_buf *b);

/* The raster lines a UTF-8 text becomes with the bold (service name) or
 * regular font, wrapped to the paper: exactly the images sent. Free each
 * with qms_raster_free and the array with qms_free. */
int qms_ticket_text_rasters(qms_ticket_enc *e, const char *utf8, int bold, qms_raster **out,
                            int *n);

/* The people-ahead and expected-wait parts: a label line and a value line
 * under it ("" when there is none). In Vietnamese the label is the same on
 * every ticket (so it can be stored in the printer) and the value is
 * digits in the printer's font ("Số người trước bạn:" / "12"); in
 * English both fit one ASCII line ("People ahead: 12" / ""). */
void qms_ticket_label_ahead(const char *lang, int ahead, char *label, size_t labellen, char *value,
                            size_t valuelen);
void qms_ticket_label_wait(const char *lang, int eta_s, char *label, size_t labellen, char *value,
                           size_t valuelen);

/* One image that is the same on every ticket that shows it: its bits as
 * they go on the wire (after qms_escpos_rt_safe) and what it is. */
typedef struct qms_ticket_image {
    qms_raster r;
    uint64_t hash; /* qms_raster_hash(&r) */
    char what[96]; /* "center: Trung tâm ...", "service TP: ...", "label: ..." */
} qms_ticket_image;

/* Every static raster line of this center's Vietnamese tickets: the center
 * name, each service name (wrapped as printed), the priority mark and the
 * fixed labels - without duplicates. ASCII texts print in the printer's font
 * and need no image. Free with qms_ticket_images_free. */
int qms_ticket_static_images(qms_ticket_enc *e, const char *center_name,
                             const char *const *service_names, const char *const *service_codes,
                             int nservices, qms_ticket_image **out, int *n);
void qms_ticket_images_free(qms_ticket_image *im, int n);

#endif
