/* Bytes on the wire are time: for every sample service, the size of its
 * ticket (native QR and raster QR, 576 and 512 dots) and the wire time at
 * 115200 baud (10 bits a byte), plus the CPU time to encode it - sent all
 * as raster, and with the static images (center name, service names,
 * labels) stored in the printer's NV memory ("nv": true; plus the one-time
 * upload those images cost). The floor in the same run: the same ticket
 * with every text in ASCII (no raster at all), i.e. what the fixed parts
 * cost.
 *
 *   bench_printer [--dump DIR] [center.json]     one JSON object per line
 *
 * --dump DIR also writes each ticket's bytes to DIR/<code>-<width>-<qr>.bin
 * (what a technician can `cat` to a printer, or to qms-vprinter's pty). */
#include "printer_nv.h"
#include "ticket.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAUD 115200
#define RUNS 5

static double wire_ms(size_t bytes)
{
    return (double)bytes * 10.0 * 1000.0 / BAUD;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Encode RUNS times; bytes and median encode time. */
static const char *dump_dir;

static void dump(const char *name, const uint8_t *d, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bin", dump_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n)
        fprintf(stderr, "bench_printer: cannot write %s\n", path);
    if (f)
        fclose(f);
}

static int measure(qms_ticket_enc *e, const qms_ticket_print *t, size_t *bytes, size_t *raster,
                   double *enc_ms, const char *name)
{
    int64_t ns[RUNS];
    for (int i = 0; i < RUNS; i++) {
        qms_escpos_buf b;
        qms_escpos_init_buf(&b);
        int64_t t0 = qms_mono_ns();
        int rc = qms_ticket_encode(e, t, &b);
        ns[i] = qms_mono_ns() - t0;
        if (rc) {
            qms_escpos_free_buf(&b);
            return rc;
        }
        *bytes = b.len;
        /* raster payload: walk the GS v 0 headers */
        size_t r = 0;
        for (size_t k = 0; k + 8 <= b.len; k++) {
            if (b.data[k] == 0x1d && b.data[k + 1] == 'v' && b.data[k + 2] == '0') {
                size_t n = (size_t)(b.data[k + 4] | b.data[k + 5] << 8) *
                           (size_t)(b.data[k + 6] | b.data[k + 7] << 8);
                r += n;
                k += 7 + n;
            }
        }
        *raster = r;
        if (dump_dir && i == 0)
            dump(name, b.data, b.len);
        qms_escpos_free_buf(&b);
    }
    qsort(ns, RUNS, sizeof ns[0], cmp_i64);
    *enc_ms = (double)ns[RUNS / 2] / 1e6;
    return QMS_OK;
}

/* The NV record as qms-printer store-nv would leave it, every image
 * present, and the bytes of the define commands that store them. */
static int nv_table_for(qms_ticket_enc *e, const qms_config *cfg, qms_nv_table *t, size_t *upload,
                        size_t *image_bytes, int *nimages)
{
    const char *names[64], *codes[64];
    int ns = cfg->nservices < 64 ? cfg->nservices : 64;
    for (int i = 0; i < ns; i++) {
        names[i] = cfg->services[i].name_vi;
        codes[i] = cfg->services[i].code;
    }
    qms_ticket_image *im = NULL;
    int n = 0;
    int rc = qms_ticket_static_images(e, cfg->name_vi, names, codes, ns, &im, &n);
    if (rc)
        return rc;
    qms_nv_init(t);
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    *image_bytes = 0;
    for (int i = 0; i < n && !rc; i++) {
        uint8_t kc[2];
        rc = qms_nv_pick_key(t, im[i].hash, NULL, 0, kc);
        if (!rc)
            rc = qms_nv_add(t, kc, im[i].hash, im[i].r.stride * 8, im[i].r.h, im[i].what);
        if (!rc) {
            qms_nv_find_key(t, kc)->present = 1;
            qms_escpos_nv_define(&b, kc[0], kc[1], im[i].r.bits, im[i].r.stride, im[i].r.h);
            *image_bytes += (size_t)im[i].r.stride * (size_t)im[i].r.h;
        }
    }
    *upload = b.len;
    *nimages = n;
    qms_escpos_free_buf(&b);
    qms_ticket_images_free(im, n);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = QMS_EXAMPLES "/center.json";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump_dir = argv[++i];
        else
            path = argv[i];
    }
    qms_config *cfg = NULL;
    char err[256];
    if (qms_config_load_file(path, &cfg, err, sizeof err)) {
        fprintf(stderr, "bench_printer: %s: %s\n", path, err);
        return 1;
    }
    int widths[2] = {576, 512};
    for (int wi = 0; wi < 2; wi++) {
        for (int native = 1; native >= 0; native--) {
            qms_printer_opts o = {.width_dots = widths[wi], .qr_native = native};
            qms_ticket_enc e;
            if (qms_ticket_enc_init(&e, &o)) {
                fprintf(stderr, "bench_printer: cannot load fonts\n");
                return 1;
            }
            const char *qr = native ? "native" : "raster";
            qms_nv_table tab;
            size_t upload = 0, image_bytes = 0;
            int nimages = 0;
            if (nv_table_for(&e, cfg, &tab, &upload, &image_bytes, &nimages)) {
                fprintf(stderr, "bench_printer: cannot render the static images\n");
                return 1;
            }
            printf("{\"bench\":\"printer_nv_upload\",\"width\":%d,\"qr\":\"%s\",\"images\":%d,"
                   "\"image_bytes\":%zu,\"upload_bytes\":%zu,\"wire_ms_115200\":%.1f}\n",
                   widths[wi], qr, nimages, image_bytes, upload, wire_ms(upload));
            for (int nv = 0; nv <= 1; nv++) {
                e.nv = nv ? &tab : NULL;
                size_t max_bytes = 0, sum = 0;
                for (int si = 0; si < cfg->nservices; si++) {
                    const qms_service *sv = &cfg->services[si];
                    char num[16], url[160];
                    qms_ticket_label(cfg, si, 23, num, sizeof num);
                    snprintf(url, sizeof url, "https://qms.example.vn/t/%s/2026-11-27/%s",
                             cfg->site, num);
                    qms_ticket_print t = {.center_name = cfg->name_vi,
                                          .service_name = sv->name_vi,
                                          .number = num,
                                          .ahead = 12,
                                          .eta_s = 15 * 60,
                                          .taken_ms = 1795741260000LL,
                                          .utc_offset_min = cfg->utc_offset_min,
                                          .qr_url = url,
                                          .lang = "vi"};
                    size_t bytes = 0, raster = 0;
                    double ms = 0;
                    char name[64];
                    snprintf(name, sizeof name, "%s-%d-%s%s", sv->code, widths[wi], qr,
                             nv ? "-nv" : "");
                    if (measure(&e, &t, &bytes, &raster, &ms, name)) {
                        fprintf(stderr, "bench_printer: encode failed for %s\n", sv->code);
                        return 1;
                    }
                    if (nv && e.nv_misses) {
                        fprintf(stderr, "bench_printer: %s: %d lines not found in NV\n", sv->code,
                                e.nv_misses);
                        return 1;
                    }
                    printf("{\"bench\":\"printer_ticket\",\"width\":%d,\"qr\":\"%s\","
                           "\"nv\":%s,\"service\":\"%s\",\"bytes\":%zu,\"raster_bytes\":%zu,"
                           "\"wire_ms_115200\":%.1f,\"encode_ms\":%.2f}\n",
                           widths[wi], qr, nv ? "true" : "false", sv->code, bytes, raster,
                           wire_ms(bytes), ms);
                    if (bytes > max_bytes)
                        max_bytes = bytes;
                    sum += bytes;
                }
                printf("{\"bench\":\"printer_summary\",\"width\":%d,\"qr\":\"%s\",\"nv\":%s,"
                       "\"services\":%d,\"max_bytes\":%zu,\"mean_bytes\":%.0f,"
                       "\"max_wire_ms_115200\":%.1f}\n",
                       widths[wi], qr, nv ? "true" : "false", cfg->nservices, max_bytes,
                       (double)sum / cfg->nservices, wire_ms(max_bytes));
            }
            e.nv = NULL;
            qms_nv_free(&tab);
            /* the floor: everything ASCII, nothing rastered but the QR fallback */
            qms_ticket_print f = {.center_name = "Provincial Public Administration Service Center",
                                  .service_name = "Justice and civil status",
                                  .number = "A023",
                                  .ahead = 12,
                                  .eta_s = 900,
                                  .taken_ms = 1795741260000LL,
                                  .utc_offset_min = 420,
                                  .qr_url = "https://qms.example.vn/t/demo/2026-11-27/A023",
                                  .lang = "en"};
            size_t fb = 0, fr = 0;
            double fms = 0;
            char fname[64];
            snprintf(fname, sizeof fname, "ascii-%d-%s", widths[wi], qr);
            measure(&e, &f, &fb, &fr, &fms, fname);
            printf("{\"bench\":\"printer_floor_ascii\",\"width\":%d,\"qr\":\"%s\",\"bytes\":%zu,"
                   "\"wire_ms_115200\":%.1f,\"encode_ms\":%.2f}\n",
                   widths[wi], qr, fb, wire_ms(fb), fms);
            qms_ticket_enc_free(&e);
        }
    }
    qms_config_free(cfg);
    return 0;
}
