/* The ticket's layout: turns a qms_ticket_print into ESC/POS bytes.
 * Internal to the printing library (kiosk/printer.h is the public face);
 * tests use it to re-render the exact images the printer should receive. */
#ifndef QMS_TICKET_H
#define QMS_TICKET_H

#include "escpos.h"
#include "printer.h"
#include "raster.h"

typedef struct qms_ticket_enc {
    int width;         /* paper width in dots (576 or 512) */
    int dpi;           /* 203 or 180 */
    int qr_native;     /* GS ( k, or a raster QR */
    TTF_Font *regular; /* center name, labels */
    TTF_Font *bold;    /* service name, priority mark */
    int ttf_inited;    /* this encoder holds a TTF_Init reference */
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

/* The Vietnamese / English label lines (UTF-8) for ahead / expected wait. */
void qms_ticket_label_ahead(const char *lang, int ahead, char *out, size_t outlen);
void qms_ticket_label_wait(const char *lang, int eta_s, char *out, size_t outlen);

#endif
