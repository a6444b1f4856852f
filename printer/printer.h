/* Ticket printing on an ESC/POS thermal printer over a serial line.
 * The contract between the kiosk app and the printing library.
 *
 * Text that needs diacritics (center name, service name, labels) goes as 1-bit
 * raster lines rendered with SDL2_ttf (Noto), cropped to ink; digits/ASCII in
 * the printer's own font; the QR code with the printer's QR command (raster
 * fallback via libqrencode). Real-time status (DLE EOT) before and after. */
#ifndef QMS_PRINTER_H
#define QMS_PRINTER_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    QMS_PRN_OK = 0,
    QMS_PRN_PAPER_LOW, /* near end: still prints; reported to the manager */
    QMS_PRN_PAPER_OUT,
    QMS_PRN_COVER_OPEN,
    QMS_PRN_OFFLINE, /* not answering, device gone */
} qms_printer_state;

typedef struct qms_printer_opts {
    const char *device;    /* "/dev/ttyUSB0", a pty path, "name:ttyUSB0" or "usb:0416:5011" */
    int baud;              /* default 115200 */
    int width_dots;        /* 576 (80 mm, 203 dpi, default) or 512 (180 dpi) */
    const char *font_dir;  /* Noto fonts folder, default /usr/share/fonts/truetype/noto */
    int qr_native;         /* 1 (default): GS ( k; 0: raster QR */
    int status_timeout_ms; /* per status query, default 500 */
    /* NV graphics: the record of the images stored in the printer (written
     * by qms_printer_nv_store / `qms-printer store-nv`). NULL or "": the
     * printer has no NV graphics (or they are not used): every static image
     * goes as raster. Set: images listed there and present in the printer's
     * key list (asked once per open) print from NV; the rest as raster. */
    const char *nv_state;
} qms_printer_opts;

typedef struct qms_ticket_print {
    const char *center_name;  /* UTF-8 */
    const char *service_name; /* UTF-8, wrapped if long */
    const char *number;       /* "A023" */
    int ahead;                /* people ahead */
    int eta_s;                /* expected wait, seconds */
    int64_t taken_ms;         /* epoch ms */
    int utc_offset_min;       /* for printing local date/time */
    const char *qr_url;       /* full status URL for the QR code */
    const char *lang;         /* "vi" (default) or "en": labels */
    int priority;             /* 1: print an "Ưu tiên" / "Priority" mark */
    const char *booked_slot;  /* a booked check-in: "09:00" prints "ĐÃ ĐẶT LỊCH — khung giờ
                                 09:00" / "BOOKED - slot 09:00" ("" without the slot); NULL: none */
} qms_ticket_print;

typedef struct qms_printer qms_printer;

const char *qms_printer_state_name(qms_printer_state s); /* "ok", "paper_low", ... */

int qms_printer_open(const qms_printer_opts *o, qms_printer **out);
void qms_printer_close(qms_printer *p);
/* Ask the printer (DLE EOT n); QMS_OK with *st, or QMS_ERR_PRINTER with
 * *st = QMS_PRN_OFFLINE when it does not answer. */
int qms_printer_status(qms_printer *p, qms_printer_state *st);
/* Print one ticket: status check, bytes, cut, an in-order confirmation (GS r 1,
 * answered only once the printer got through the cut), status check.
 * QMS_OK when the printer was fine before and confirmed the ticket: it is in
 * the citizen's hand. *st is then the state after it - normally OK or
 * PAPER_LOW, but PAPER_OUT / COVER_OPEN when that happened right after the
 * cut (the ticket stands; show the fault for the next citizen).
 * QMS_ERR_PRINTER when no ticket (or only part of one) came out: *st says
 * why (OFFLINE when it stopped answering); the printer's buffer is cleared
 * so the rest does not print later. Then cancel the ticket. */
int qms_printer_print(qms_printer *p, const qms_ticket_print *t, qms_printer_state *st);
/* What qms_printer_nv_store did. */
typedef struct qms_nv_report {
    int images;          /* static images of the center's tickets */
    int kept;            /* already in the printer: not written again */
    int stored;          /* written now */
    int deleted;         /* images of ours no ticket shows any more, removed */
    int lost;            /* listed in the record but gone from the printer */
    size_t upload_bytes; /* bytes of the define commands sent */
    long remaining;      /* NV bytes free afterwards, -1 if the printer does not say */
} qms_nv_report;

/* The technician's step: store the static images of this center's tickets
 * (center name, service names, fixed labels) in the printer's NV memory,
 * writing only those it does not hold yet (NV memory wears with writes),
 * and deleting images of ours that no ticket shows any more. The record
 * goes to opts.nv_state, rewritten after each image. QMS_ERR_INVAL without
 * nv_state or with a corrupt record (err says why); QMS_ERR_PRINTER when the
 * printer is not ready or does not answer the NV queries (no NV support);
 * QMS_ERR_TOO_LARGE when the images do not fit in what is left (nothing is
 * written). */
int qms_printer_nv_store(qms_printer *p, const char *center_name, const char *const *service_names,
                         const char *const *service_codes, int nservices, qms_nv_report *rep,
                         char *err, size_t errlen);
/* Delete every NV graphics image in the printer (also other programs'!)
 * and empty the record. */
int qms_printer_nv_clear(qms_printer *p);
/* The printer's key code list (GS ( L fn 64 with its ACK handshake). */
int qms_printer_nv_keys(qms_printer *p, uint8_t (*keys)[2], int max, int *n);
/* NV bytes left (fn 51); QMS_ERR_PRINTER when the printer does not say. */
int qms_printer_nv_remaining(qms_printer *p, long *bytes);
/* Of the last ticket printed or encoded: raster lines printed from NV and
 * sent as raster. */
void qms_printer_nv_last(const qms_printer *p, int *from_nv, int *as_raster);

/* Encode a ticket to ESC/POS bytes without a device (for benches and tests).
 * *out is qms_free'd by the caller. */
int qms_printer_encode(const qms_printer_opts *o, const qms_ticket_print *t, uint8_t **out,
                       size_t *len);
/* The same, printing from NV every image the record at o->nv_state lists
 * (as if the printer held them all: for benches and tests). */
int qms_printer_encode_nv(const qms_printer_opts *o, const qms_ticket_print *t, uint8_t **out,
                          size_t *len);

#endif
