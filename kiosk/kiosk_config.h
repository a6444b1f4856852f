/* The kiosk's own settings: which center and kiosk it is, the screen it
 * drives (size and physical diagonal, so touch targets can be sized in
 * millimetres), the printer, the QR status URL and the timeouts.
 * Read from a JSON file (examples/kiosk.json, docs/kiosk.md); command-line
 * options override it. The list of services is NOT here: it comes from the
 * controller's retained configuration. */
#ifndef QMS_KIOSK_CONFIG_H
#define QMS_KIOSK_CONFIG_H

#include <stddef.h>

#include "qms/conn.h"

typedef struct kiosk_config {
    char site[64];     /* topic root qms/<site>/ */
    char kiosk_id[32]; /* device id: qms/<site>/device/kiosk/<id>/status */
    char lang[3];      /* "vi" or "en": the language the kiosk returns to when idle */
    /* screen */
    int width;            /* px, as the window / panel is used (after --portrait) */
    int height;           /* px */
    double diagonal_in;   /* physical diagonal of the panel, inches (21.5) */
    int portrait;         /* 1: taller than wide */
    int rotate;           /* 0, 90, 180, 270: panel mounted rotated, no OS rotation */
    int fullscreen;       /* 1: take the whole display */
    char renderer[16];    /* SDL render driver: "software" (default: small, no GPU) or "auto" */
    double min_target_mm; /* smallest touch target side, millimetres (15) */
    int ask_priority;     /* 1: ask the priority class after the service */
    /* printer */
    char printer[256];  /* device path, "name:ttyUSB0" or "usb:VID:PID" */
    int baud;           /* 115200 */
    int paper_dots;     /* 576 (80 mm, 203 dpi) or 512 */
    int qr_native;      /* 1: printer's QR command; 0: raster QR */
    char nv_state[256]; /* NV graphics record (qms-printer store-nv); "": no NV graphics */
    int printer_poll_s; /* poll the printer's status this often while healthy */
    int fault_poll_ms;  /* ... and this often while it is faulted */
    /* barcode scanners (docs/kiosk.md "Check-in") */
    char scanner_port[256]; /* serial 2D scanner: a device spec (qms/serial.h); "" = none */
    int scanner_baud;       /* 9600 */
    int scanner_hid;        /* 1: a USB scanner typing as a keyboard is listened to */
    /* behaviour */
    char qr_base[256];    /* status URL template, {site} {id} {day} {ticket} */
    char font_dir[256];   /* Noto fonts folder */
    int idle_timeout_s;   /* menu / priority back to the welcome screen */
    int ticket_timeout_s; /* "take your ticket" screen back to welcome */
    int notice_timeout_s; /* "service closed" and similar notices back to the menu */
    int take_timeout_ms;  /* wait for the controller's reply to a take */
    int startup_grace_ms; /* how long "starting" may last before a fault shows */
    char state_file[512]; /* the journal (docs/kiosk.md); "" = the default place */
    /* broker, credentials and TLS: the shared keys ("broker", "username",
     * "password", "password_file", "cafile", "certfile", "keyfile",
     * "client"; docs/options.md), relative paths from the file's folder */
    qms_conn conn;
    char dir[512]; /* the folder of the file being read (set by kiosk_config_load) */
} kiosk_config;

/* Defaults: site "default", kiosk "1", 1920x1080 landscape 21.5", 15 mm. */
void kiosk_config_defaults(kiosk_config *c);

/* Parse the kiosk JSON text over the defaults already in *c. A center
 * configuration (examples/center.json: it has "services") is accepted too:
 * only its "site" is taken. Unknown keys, wrong types and out-of-range values
 * are QMS_ERR_INVAL with a sentence naming the field in err. */
int kiosk_config_parse(const char *text, size_t len, kiosk_config *c, char *err, size_t errlen);

/* Read and parse a file (QMS_ERR_IO if unreadable). */
int kiosk_config_load(const char *path, kiosk_config *c, char *err, size_t errlen);

/* Check the combination after the command line was applied (sizes, rotate,
 * language, site characters). */
int kiosk_config_check(const kiosk_config *c, char *err, size_t errlen);

/* Pixels per millimetre of a w x h px panel of diagonal diag_in inches. */
double kiosk_px_per_mm(int w, int h, double diag_in);

#endif
