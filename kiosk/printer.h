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
    QMS_PRN_PAPER_LOW,  /* near end: still prints; reported to the manager */
    QMS_PRN_PAPER_OUT,
    QMS_PRN_COVER_OPEN,
    QMS_PRN_OFFLINE,    /* not answering, device gone */
} qms_printer_state;

typedef struct qms_printer_opts {
    const char *device;   /* "/dev/ttyUSB0", a pty path, "name:ttyUSB0" or "usb:0416:5011" */
    int baud;             /* default 115200 */
    int width_dots;       /* 576 (80 mm, 203 dpi, default) or 512 (180 dpi) */
    const char *font_dir; /* Noto fonts folder, default /usr/share/fonts/truetype/noto */
    int qr_native;        /* 1 (default): GS ( k; 0: raster QR */
    int status_timeout_ms;/* per status query, default 500 */
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
/* Encode a ticket to ESC/POS bytes without a device (for benches and tests).
 * *out is qms_free'd by the caller. */
int qms_printer_encode(const qms_printer_opts *o, const qms_ticket_print *t, uint8_t **out,
                       size_t *len);

#endif
