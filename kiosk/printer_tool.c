/* qms-printer: the technician's tool for the ticket printer.
 *
 *   qms-printer list                                  serial ports libserialport sees
 *   qms-printer status --device D [--baud B]          ask the printer (DLE EOT)
 *   qms-printer test --device D [--baud B] [--width 576|512] [--raster-qr]
 *                                                     print a sample ticket
 *   qms-printer encode [--width W] [--raster-qr] > t.bin
 *                                                     the sample ticket's bytes
 *
 * Exit status: 0 fine (also paper low), 1 printer fault (the state is
 * printed), 2 usage. See docs/printer.md. */
#include "printer.h"
#include "serial.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: qms-printer list\n"
            "       qms-printer status --device D [--baud B]\n"
            "       qms-printer test --device D [--baud B] [--width 576|512] [--raster-qr]\n"
            "       qms-printer encode [--width 576|512] [--raster-qr] > ticket.bin\n"
            "D: /dev/ttyUSB0, name:ttyUSB0, usb:VID:PID, termios:PATH; ,rtscts or "
            ",xonxoff after it\n");
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    qms_printer_opts o = {.baud = 115200, .width_dots = 576, .qr_native = 1};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o.device = argv[++i];
        else if (strcmp(argv[i], "--baud") == 0 && i + 1 < argc)
            o.baud = atoi(argv[++i]);
        else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc)
            o.width_dots = atoi(argv[++i]);
        else if (strcmp(argv[i], "--raster-qr") == 0)
            o.qr_native = 0;
        else if (strcmp(argv[i], "--font-dir") == 0 && i + 1 < argc)
            o.font_dir = argv[++i];
        else {
            usage();
            return 2;
        }
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
        int rc = qms_printer_encode(&o, &t, &d, &len);
        if (rc) {
            fprintf(stderr, "qms-printer: %s\n", qms_err_code(rc));
            return 1;
        }
        fwrite(d, 1, len, stdout);
        fprintf(stderr, "%zu bytes, %.0f ms at 115200 baud\n", len, len * 10.0 * 1000 / 115200);
        qms_free(d);
        return 0;
    }
    if (strcmp(cmd, "status") != 0 && strcmp(cmd, "test") != 0) {
        usage();
        return 2;
    }
    if (!o.device) {
        usage();
        return 2;
    }
    qms_printer *p = NULL;
    int rc = qms_printer_open(&o, &p);
    if (rc) {
        fprintf(stderr, "qms-printer: cannot open %s (%s)\n", o.device, qms_err_code(rc));
        return 1;
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
