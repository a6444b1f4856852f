/* qms-printer: the technician's tool for the ticket printer.
 *
 *   qms-printer list                                  serial ports libserialport sees
 *   qms-printer status --device D [--baud B]          ask the printer (DLE EOT)
 *   qms-printer test --device D [--baud B] [--width 576|512] [--raster-qr] [--nv-state F]
 *                                                     print a sample ticket (its labels
 *                                                     from NV with --nv-state)
 *   qms-printer encode [--width W] [--raster-qr] [--nv-state F] > t.bin
 *                                                     the sample ticket's bytes
 *   qms-printer store-nv --device D --config center.json --nv-state F [--width W]
 *                                                     store the center's static images in
 *                                                     the printer's NV memory (only what is
 *                                                     missing), record them in F
 *   qms-printer nv-list --device D [--nv-state F]      what the printer's NV memory holds
 *   qms-printer nv-clear --device D --nv-state F       delete ALL NV graphics, empty F
 *
 * Exit status: 0 fine (also paper low), 1 printer fault (the state is
 * printed), 2 usage. See docs/printer.md. */
#include "printer.h"
#include "printer_nv.h"
#include "qms/serial.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/err.h"
#include "qms/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage_to(FILE *f)
{
    fprintf(
        f, "usage: qms-printer list\n"
           "       qms-printer status --device D [--baud B]\n"
           "       qms-printer test --device D [--baud B] [--width 576|512] [--raster-qr]\n"
           "       qms-printer encode [--width 576|512] [--raster-qr] [--nv-state F] > ticket.bin\n"
           "       qms-printer store-nv --device D --config center.json --nv-state F "
           "[--width 576|512]\n"
           "       qms-printer nv-list --device D [--nv-state F]\n"
           "       qms-printer nv-clear --device D --nv-state F\n"
           "D: /dev/ttyUSB0, name:ttyUSB0, usb:VID:PID, termios:PATH; ,rtscts or "
           ",xonxoff after it\n");
}

static void usage(void)
{
    usage_to(stderr);
}

/* A usage error: say what is wrong, then how it is used; exit status 2. */
static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "qms-printer: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
    usage();
    return 2;
}

/* A whole decimal number in [lo, hi], or -1. */
static long number_arg(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= lo && v <= hi ? v : -1;
}

static qms_ticket_print sample(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    qms_ticket_print t = {
        .center_name = "Trung tâm Phục vụ hành chính công - In thử",
        .service_name = "Kiểm tra dấu: ă â đ ê ô ơ ư - á à ả ã ạ - Ễ Ặ Ợ Ữ Ỷ",
        .number = "A000",
        .ahead = 0,
        .eta_s = 0,
        .taken_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
        .utc_offset_min = 420,
        .qr_url = "https://example.vn/qms/test",
        .lang = "vi",
        .priority = 1,
    };
    return t;
}

/* store-nv, nv-list, nv-clear: exit status 0, or 1 with the reason on stderr. */
static int nv_command(qms_printer *p, const char *cmd, const char *config,
                      const qms_printer_opts *o)
{
    if (strcmp(cmd, "nv-list") == 0) {
        uint8_t keys[1024][2];
        int n = 0;
        if (qms_printer_nv_keys(p, keys, 1024, &n) != QMS_OK) {
            fprintf(stderr, "qms-printer: no answer to the NV key list query (GS ( L fn 64): "
                            "the printer has no NV graphics, or is busy or offline\n");
            return 1;
        }
        qms_nv_table t;
        qms_nv_init(&t);
        char err[300] = "";
        if (o->nv_state && qms_nv_load(o->nv_state, &t, NULL, err, sizeof err) != QMS_OK)
            fprintf(stderr, "qms-printer: %s\n", err);
        long left = -1;
        qms_printer_nv_remaining(p, &left);
        printf("%d NV images in the printer, %ld bytes free\n", n, left);
        for (int i = 0; i < n; i++) {
            qms_nv_entry *e = qms_nv_find_key(&t, keys[i]);
            printf("%c%c  %s\n", keys[i][0], keys[i][1],
                   e ? e->what : "(not ours: another program's image)");
        }
        for (int i = 0; i < t.n; i++) {
            int found = 0;
            for (int k = 0; k < n && !found; k++)
                found = keys[k][0] == t.e[i].kc[0] && keys[k][1] == t.e[i].kc[1];
            if (!found)
                printf("%c%c  MISSING from the printer (prints as raster): %s\n", t.e[i].kc[0],
                       t.e[i].kc[1], t.e[i].what);
        }
        qms_nv_free(&t);
        return 0;
    }
    if (strcmp(cmd, "nv-clear") == 0) {
        int rc = qms_printer_nv_clear(p);
        if (rc) {
            fprintf(stderr, "qms-printer: nv-clear: %s\n", qms_err_code(rc));
            return 1;
        }
        printf("all NV graphics deleted; %s emptied\n", o->nv_state);
        return 0;
    }
    qms_config *cfg = NULL;
    char err[300];
    if (qms_config_load_file(config, &cfg, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "qms-printer: %s: %s\n", config, err);
        return 1;
    }
    const char **names = qms_calloc((size_t)cfg->nservices + 1, sizeof *names);
    const char **codes = qms_calloc((size_t)cfg->nservices + 1, sizeof *codes);
    int rc = names && codes ? QMS_OK : QMS_ERR_NOMEM;
    for (int i = 0; i < cfg->nservices && !rc; i++) {
        names[i] = cfg->services[i].name_vi;
        codes[i] = cfg->services[i].code;
    }
    qms_nv_report r = {0};
    err[0] = '\0';
    if (!rc)
        rc = qms_printer_nv_store(p, cfg->name_vi, names, codes, cfg->nservices, &r, err,
                                  sizeof err);
    if (rc == QMS_OK || r.stored > 0)
        printf("%d static images: %d already in the printer, %d stored now (%zu bytes, %.1f s "
               "at %d baud), %d stale deleted, %d lost from the printer; %ld bytes of NV "
               "memory free\n",
               r.images, r.kept, r.stored, r.upload_bytes, (double)r.upload_bytes * 10.0 / o->baud,
               o->baud, r.deleted, r.lost, r.remaining);
    if (rc)
        fprintf(stderr, "qms-printer: store-nv: %s (%s)\n", err, qms_err_code(rc));
    qms_free(names);
    qms_free(codes);
    qms_config_free(cfg);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_to(stdout); /* asked for: not an error */
            return 0;
        }
    const char *config = NULL;
    qms_printer_opts o = {.baud = 115200, .width_dots = 576, .qr_native = 1};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o.device = argv[++i];
        else if (strcmp(argv[i], "--baud") == 0 && i + 1 < argc) {
            long b = number_arg(argv[++i], 1, 4000000);
            if (b < 0)
                return bad_usage("--baud is a number of bits per second, not", argv[i]);
            o.baud = (int)b;
        } else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc) {
            long w = number_arg(argv[++i], 0, 100000);
            if (w != 576 && w != 512)
                return bad_usage("--width is 576 or 512 (dots), not", argv[i]);
            o.width_dots = (int)w;
        } else if (strcmp(argv[i], "--raster-qr") == 0)
            o.qr_native = 0;
        else if (strcmp(argv[i], "--font-dir") == 0 && i + 1 < argc)
            o.font_dir = argv[++i];
        else if (strcmp(argv[i], "--nv-state") == 0 && i + 1 < argc)
            o.nv_state = argv[++i];
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else
            return bad_usage(argv[i][0] == '-' && i + 1 == argc ? "a value is missing after"
                                                                : "unknown option",
                             argv[i]);
    }
    qms_log_init("qms-printer", QMS_LOG_WARN);

    if (strcmp(cmd, "list") == 0) {
        char *text = NULL;
        int n = 0;
        if (qms_serial_list(&text, &n) != QMS_OK)
            return 1;
        printf("%s", text);
        if (n == 0)
            fprintf(stderr, "no serial ports found (a printer on USB shows up as "
                            "/dev/ttyUSB* or /dev/ttyACM*)\n");
        qms_free(text);
        return 0;
    }
    if (strcmp(cmd, "encode") == 0) {
        qms_ticket_print t = sample();
        uint8_t *d = NULL;
        size_t len = 0;
        int rc = o.nv_state ? qms_printer_encode_nv(&o, &t, &d, &len)
                            : qms_printer_encode(&o, &t, &d, &len);
        if (rc) {
            fprintf(stderr, "qms-printer: %s\n", qms_err_code(rc));
            return 1;
        }
        fwrite(d, 1, len, stdout);
        fprintf(stderr, "%zu bytes, %.0f ms at 115200 baud\n", len, len * 10.0 * 1000 / 115200);
        qms_free(d);
        return 0;
    }
    int nv_cmd =
        strcmp(cmd, "store-nv") == 0 || strcmp(cmd, "nv-list") == 0 || strcmp(cmd, "nv-clear") == 0;
    if (strcmp(cmd, "status") != 0 && strcmp(cmd, "test") != 0 && !nv_cmd)
        return bad_usage("unknown command", cmd);
    if (strcmp(cmd, "store-nv") == 0 && !config)
        return bad_usage("store-nv needs --config (the center file)", NULL);
    if ((strcmp(cmd, "store-nv") == 0 || strcmp(cmd, "nv-clear") == 0) && !o.nv_state)
        return bad_usage(cmd, "needs --nv-state (the NV record file)");
    if (!o.device)
        return bad_usage(cmd, "needs --device (see qms-printer list)");
    qms_printer *p = NULL;
    int rc = qms_printer_open(&o, &p);
    if (rc) {
        fprintf(stderr, "qms-printer: cannot open %s (%s)\n", o.device, qms_err_code(rc));
        return 1;
    }
    if (nv_cmd) {
        rc = nv_command(p, cmd, config, &o);
        qms_printer_close(p);
        return rc;
    }
    qms_printer_state st = QMS_PRN_OFFLINE;
    if (strcmp(cmd, "status") == 0) {
        rc = qms_printer_status(p, &st);
    } else {
        qms_ticket_print t = sample();
        rc = qms_printer_print(p, &t, &st);
    }
    printf("%s\n", qms_printer_state_name(st));
    qms_printer_close(p);
    return rc == QMS_OK && st != QMS_PRN_PAPER_OUT && st != QMS_PRN_COVER_OPEN &&
                   st != QMS_PRN_OFFLINE
               ? 0
               : 1;
}
