/* NV graphics over a real pseudo-terminal to the real qms-vprinter: the
 * static images stored once (qms_printer_nv_store), then tickets that print
 * them with GS ( L fn 69 - the same paper, pixel for pixel, as the raster
 * path - and the defined outcomes around it: a service the printer does not
 * hold yet, a printer that lost its images, a corrupt record, an unknown
 * key, a printer without NV graphics, a full NV memory, a restart of the
 * printer, and a second store that writes nothing. */
#include "printer.h"
#include "printer_nv.h"
#include "ticket.h"
#include "vp_harness.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/err.h"
#include "qms/log.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qms/serial.h"
#include "support.h"

static qms_config *cfg;
static const char *names[64], *codes[64];

static int setup_all(void **state)
{
    (void)state;
    char err[256];
    qms_log_init("test_printer_nv", QMS_LOG_ERROR);
    int rc = qms_config_load_file(QMS_EXAMPLES "/center.json", &cfg, err, sizeof err);
    if (rc)
        return rc;
    for (int i = 0; i < cfg->nservices && i < 64; i++) {
        names[i] = cfg->services[i].name_vi;
        codes[i] = cfg->services[i].code;
    }
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    qms_config_free(cfg);
    return 0;
}

typedef struct tkt {
    char num[16];
    char url[160];
    qms_ticket_print t;
} tkt;

static void make_ticket(tkt *k, int si, int n)
{
    qms_ticket_label(cfg, si, n, k->num, sizeof k->num);
    snprintf(k->url, sizeof k->url, "https://qms.example.vn/t/%s/2026-11-27/%s", cfg->site, k->num);
    k->t = (qms_ticket_print){.center_name = cfg->name_vi,
                              .service_name = cfg->services[si].name_vi,
                              .number = k->num,
                              .ahead = 3 + si,
                              .eta_s = 60 * (4 + si * 5),
                              .taken_ms = 1795741260000LL + si * 61000LL,
                              .utc_offset_min = cfg->utc_offset_min,
                              .qr_url = k->url,
                              .lang = "vi",
                              .priority = si % 4 == 1};
}

/* Open the printer, print one ticket, close: the page's number. */
static int print_page(vp_proc *v, const qms_printer_opts *o, const qms_ticket_print *t,
                      int *from_nv, int *as_raster)
{
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(o, &p), QMS_OK);
    qms_printer_state st = QMS_PRN_OFFLINE;
    assert_int_equal(qms_printer_print(p, t, &st), QMS_OK);
    assert_int_equal(st, QMS_PRN_OK);
    int a = 0, b = 0;
    qms_printer_nv_last(p, &a, &b);
    if (from_nv)
        *from_nv = a;
    if (as_raster)
        *as_raster = b;
    qms_printer_close(p);
    int n = 0, cut = 0;
    assert_int_equal(vp_next_page(v, &n, &cut, 10000), 0);
    assert_int_equal(cut, 1);
    return n;
}

/* The two pages' PNGs have the same size and the same pixels. */
static int same_png(vp_proc *v, int n1, int n2)
{
    char p1[400], p2[400];
    snprintf(p1, sizeof p1, "%s/%d.png", v->dir, n1);
    snprintf(p2, sizeof p2, "%s/%d.png", v->dir, n2);
    SDL_Surface *a = IMG_Load(p1), *b = IMG_Load(p2);
    assert_non_null(a);
    assert_non_null(b);
    SDL_Surface *ca = SDL_ConvertSurfaceFormat(a, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_Surface *cb = SDL_ConvertSurfaceFormat(b, SDL_PIXELFORMAT_ARGB8888, 0);
    int same = ca && cb && ca->w == cb->w && ca->h == cb->h;
    long black = 0;
    for (int y = 0; same && y < ca->h; y++) {
        const uint32_t *ra = (const uint32_t *)((const uint8_t *)ca->pixels + y * ca->pitch);
        const uint32_t *rb = (const uint32_t *)((const uint8_t *)cb->pixels + y * cb->pitch);
        for (int x = 0; x < ca->w; x++) {
            if (ra[x] != rb[x]) {
                same = 0;
                break;
            }
            black += (ra[x] & 0xffffff) == 0;
        }
    }
    if (same)
        assert_true(black > 1000); /* not two blank pages */
    SDL_FreeSurface(a);
    SDL_FreeSurface(b);
    SDL_FreeSurface(ca);
    SDL_FreeSurface(cb);
    return same;
}

/* Rasters of a page: how many, how many from NV, and their hashes joined. */
static void page_rasters(vp_proc *v, int n, int *count, int *nv, char *hashes, size_t hlen,
                         int *refused, double *bytes)
{
    cJSON *j = vp_page_json(v, n);
    assert_non_null(j);
    *count = *nv = 0;
    hashes[0] = '\0';
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "rasters"))
    {
        (*count)++;
        if (cJSON_GetObjectItem(it, "nv"))
            (*nv)++;
        size_t k = strlen(hashes);
        snprintf(hashes + k, hlen - k, "%s,", cJSON_GetObjectItem(it, "hash")->valuestring);
    }
    *refused = cJSON_GetArraySize(cJSON_GetObjectItem(j, "refused"));
    if (bytes)
        *bytes = cJSON_GetObjectItem(j, "bytes")->valuedouble;
    cJSON_Delete(j);
}

static const char *refused_text(vp_proc *v, int n, int i, char *buf, size_t len)
{
    cJSON *j = vp_page_json(v, n);
    assert_non_null(j);
    cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "refused"), i);
    snprintf(buf, len, "%s", cJSON_IsString(r) ? r->valuestring : "");
    cJSON_Delete(j);
    return buf;
}

static void store(const qms_printer_opts *o, int nservices, qms_nv_report *r, int want_rc)
{
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(o, &p), QMS_OK);
    char err[300] = "";
    int rc = qms_printer_nv_store(p, cfg->name_vi, names, codes, nservices, r, err, sizeof err);
    if (rc != want_rc)
        fprintf(stderr, "store: %s\n", err);
    assert_int_equal(rc, want_rc);
    qms_printer_close(p);
}

static int printer_keys(const qms_printer_opts *o)
{
    qms_printer *p = NULL;
    assert_int_equal(qms_printer_open(o, &p), QMS_OK);
    uint8_t keys[256][2];
    int n = -1;
    assert_int_equal(qms_printer_nv_keys(p, keys, 256, &n), QMS_OK);
    qms_printer_close(p);
    return n;
}

/* Every sample service: the ticket via NV is the ticket via raster, pixel for
 * pixel, with every raster line taken from NV and a fraction of the bytes. */
static void check_same_pixels(int width)
{
    char tmp[256], state[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(state, sizeof state, "%s/nv.state", tmp);
    vp_proc v;
    assert_int_equal(vp_start(&v, width, NULL, NULL), 0);
    qms_printer_opts raster = {.device = v.dev, .width_dots = width, .qr_native = 1};
    qms_printer_opts nv = raster;
    nv.nv_state = state;

    qms_nv_report r;
    store(&nv, cfg->nservices, &r, QMS_OK);
    assert_true(r.images >= cfg->nservices + 3);
    assert_int_equal(r.stored, r.images);
    assert_int_equal(r.kept, 0);
    assert_true(r.upload_bytes > 5000);
    assert_int_equal(printer_keys(&nv), r.images);

    for (int si = 0; si < cfg->nservices; si++) {
        tkt k;
        make_ticket(&k, si, 10 + si);
        int hits = 0, misses = 0;
        int a = print_page(&v, &nv, &k.t, &hits, &misses);
        assert_true(hits >= 4); /* center, service, two labels */
        assert_int_equal(misses, 0);
        int b = print_page(&v, &raster, &k.t, NULL, NULL);
        int ca, na, ra, cb, nb, rb;
        double ba, bb;
        char ha[1200], hb[1200];
        page_rasters(&v, a, &ca, &na, ha, sizeof ha, &ra, &ba);
        page_rasters(&v, b, &cb, &nb, hb, sizeof hb, &rb, &bb);
        assert_int_equal(ra, 0);
        assert_int_equal(rb, 0);
        assert_int_equal(ca, cb);
        assert_int_equal(na, ca); /* every raster line came from NV */
        assert_int_equal(nb, 0);
        assert_string_equal(ha, hb); /* the same images, in the same order */
        assert_true(same_png(&v, a, b));
        /* and far fewer bytes (the first NV page also counts the upload) */
        if (si > 0)
            assert_true(ba < 0.6 * bb);
        uint8_t *d1 = NULL, *d2 = NULL;
        size_t l1 = 0, l2 = 0;
        assert_int_equal(qms_printer_encode_nv(&nv, &k.t, &d1, &l1), QMS_OK);
        assert_int_equal(qms_printer_encode(&raster, &k.t, &d2, &l2), QMS_OK);
        assert_true(l1 < l2 / 2);
        qms_free(d1);
        qms_free(d2);
    }
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

static void test_nv_same_pixels_576(void **state)
{
    (void)state;
    check_same_pixels(576);
}

static void test_nv_same_pixels_512(void **state)
{
    (void)state;
    check_same_pixels(512);
}

/* A second store writes nothing (NV memory wears with writes); a renamed
 * service stores its new name and deletes the old one; the ticket of a
 * service the printer does not hold yet prints its name as raster and the
 * rest from NV - the same paper either way. */
static void test_nv_store_again_and_new_service(void **state)
{
    (void)state;
    char tmp[256], st[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(st, sizeof st, "%s/nv.state", tmp);
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts raster = {.device = v.dev, .qr_native = 1};
    qms_printer_opts nv = raster;
    nv.nv_state = st;

    qms_nv_report r1, r2;
    store(&nv, 5, &r1, QMS_OK); /* the first five services only */
    store(&nv, 5, &r2, QMS_OK);
    assert_int_equal(r2.stored, 0);
    assert_int_equal(r2.kept, r1.images);
    assert_int_equal(r2.upload_bytes, 0);
    assert_int_equal(r2.deleted, 0);

    /* service 7 is not stored: its name goes as raster */
    tkt k;
    make_ticket(&k, 7, 1);
    int hits = 0, misses = 0;
    int a = print_page(&v, &nv, &k.t, &hits, &misses);
    assert_true(misses >= 1);
    assert_true(hits >= 3);
    int b = print_page(&v, &raster, &k.t, NULL, NULL);
    assert_true(same_png(&v, a, b));
    int c, n, rf;
    char h[1200];
    page_rasters(&v, a, &c, &n, h, sizeof h, &rf, NULL);
    assert_int_equal(rf, 0);
    assert_int_equal(c - n, misses);

    /* service 2 renamed: the new name is stored, the old one deleted */
    const char *saved = names[2];
    names[2] = "Xây dựng và Quy hoạch đô thị";
    qms_nv_report r3;
    store(&nv, 5, &r3, QMS_OK);
    assert_true(r3.stored >= 1);
    assert_true(r3.deleted >= 1);
    assert_int_equal(printer_keys(&nv), r3.images);
    tkt k2;
    make_ticket(&k2, 2, 5);
    k2.t.service_name = names[2];
    names[2] = saved;
    a = print_page(&v, &nv, &k2.t, &hits, &misses);
    assert_int_equal(misses, 0);
    b = print_page(&v, &raster, &k2.t, NULL, NULL);
    assert_true(same_png(&v, a, b));
    /* and the old name, no longer stored, goes as raster: never a stale image */
    make_ticket(&k, 2, 6);
    a = print_page(&v, &nv, &k.t, &hits, &misses);
    assert_true(misses >= 1);
    b = print_page(&v, &raster, &k.t, NULL, NULL);
    assert_true(same_png(&v, a, b));
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

/* A restarted vprinter keeps its NV memory (the --nv-store file); a printer
 * that lost it (a fresh store file: swapped or wiped) prints the whole
 * ticket as raster - the record is checked against the key list - and a
 * store then writes everything again. */
static void test_nv_restart_and_lost(void **state)
{
    (void)state;
    char tmp[256], st[300], store_file[300], arg[310];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(st, sizeof st, "%s/nv.state", tmp);
    snprintf(store_file, sizeof store_file, "%s/printer-nv.bin", tmp);
    snprintf(arg, sizeof arg, "%s", store_file);
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, "--nv-store", arg), 0);
    qms_printer_opts o = {.device = v.dev, .qr_native = 1, .nv_state = st};
    qms_nv_report r;
    store(&o, cfg->nservices, &r, QMS_OK);
    int stored = r.stored;
    vp_stop(&v, 0);

    assert_int_equal(vp_start(&v, 576, "--nv-store", arg), 0);
    o.device = v.dev;
    assert_int_equal(printer_keys(&o), stored);
    tkt k;
    make_ticket(&k, 11, 3);
    int hits = 0, misses = 0;
    int a = print_page(&v, &o, &k.t, &hits, &misses);
    assert_int_equal(misses, 0);
    int c, n, rf;
    char h[1200];
    page_rasters(&v, a, &c, &n, h, sizeof h, &rf, NULL);
    assert_int_equal(rf, 0);
    assert_int_equal(n, c);
    assert_int_equal(n, hits);
    vp_stop(&v, 0);

    /* the printer's memory is gone; the record still lists everything */
    unlink(store_file);
    assert_int_equal(vp_start(&v, 576, "--nv-store", arg), 0);
    o.device = v.dev;
    a = print_page(&v, &o, &k.t, &hits, &misses);
    assert_int_equal(hits, 0);
    qms_printer_opts raster = {.device = v.dev, .qr_native = 1};
    int b = print_page(&v, &raster, &k.t, NULL, NULL);
    assert_true(same_png(&v, a, b));
    page_rasters(&v, a, &c, &n, h, sizeof h, &rf, NULL);
    assert_int_equal(rf, 0); /* no print of a key the printer does not have */
    assert_int_equal(n, 0);
    store(&o, cfg->nservices, &r, QMS_OK);
    assert_int_equal(r.lost, stored);
    assert_int_equal(r.stored, stored);
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

/* A printer without NV graphics: it does not answer the key list query, so
 * tickets go as raster (one refusal logged by the vprinter for the query);
 * storing is refused with QMS_ERR_PRINTER and writes no record. */
static void test_nv_printer_without_support(void **state)
{
    (void)state;
    char tmp[256], st[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(st, sizeof st, "%s/nv.state", tmp);
    /* a record that lists images: as if copied from another kiosk */
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {
        .device = v.dev, .qr_native = 1, .nv_state = st, .status_timeout_ms = 300};
    qms_nv_report r;
    store(&o, 3, &r, QMS_OK);
    vp_stop(&v, 0);

    assert_int_equal(vp_start(&v, 576, "--no-nv", NULL), 0);
    o.device = v.dev;
    tkt k;
    make_ticket(&k, 0, 9);
    int hits = 1, misses = 0;
    int a = print_page(&v, &o, &k.t, &hits, &misses);
    assert_int_equal(hits, 0);
    qms_printer_opts raster = {.device = v.dev, .qr_native = 1};
    int b = print_page(&v, &raster, &k.t, NULL, NULL);
    assert_true(same_png(&v, a, b));
    int c, n, rf;
    char h[1200], msg[300];
    page_rasters(&v, a, &c, &n, h, sizeof h, &rf, NULL);
    assert_int_equal(n, 0);
    assert_int_equal(rf, 1);
    assert_non_null(strstr(refused_text(&v, a, 0, msg, sizeof msg), "no NV graphics"));

    char st2[300];
    snprintf(st2, sizeof st2, "%s/other.state", tmp);
    o.nv_state = st2;
    store(&o, 3, &r, QMS_ERR_PRINTER);
    assert_int_equal(r.stored, 0);
    assert_int_not_equal(access(st2, F_OK), 0);
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

/* A print of a key the printer does not hold is refused loudly by the
 * vprinter (a real printer prints nothing); a corrupt record makes the
 * library print raster and the store step refuse. */
static void test_nv_unknown_key_and_corrupt_record(void **state)
{
    (void)state;
    char tmp[256], st[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(st, sizeof st, "%s/nv.state", tmp);
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);

    qms_serial *s = NULL;
    assert_int_equal(qms_serial_open(v.dev, 115200, &s), QMS_OK);
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_reset(&b);
    qms_escpos_nv_print(&b, 'Z', 'z');
    qms_escpos_text(&b, "after\n");
    qms_escpos_cut(&b, 10);
    assert_int_equal(qms_serial_write(s, b.data, b.len, 2000), QMS_OK);
    qms_escpos_free_buf(&b);
    qms_serial_close(s);
    int n = 0, cut = 0;
    assert_int_equal(vp_next_page(&v, &n, &cut, 5000), 0);
    char msg[300];
    assert_non_null(strstr(refused_text(&v, n, 0, msg, sizeof msg), "no image at key 'Zz'"));

    FILE *f = fopen(st, "w");
    assert_non_null(f);
    fputs("qms-nv 1\nZb nothex 392 20 center\n", f);
    fclose(f);
    qms_printer_opts o = {.device = v.dev, .qr_native = 1, .nv_state = st};
    tkt k;
    make_ticket(&k, 4, 2);
    int hits = 1, misses = 0;
    print_page(&v, &o, &k.t, &hits, &misses);
    assert_int_equal(hits, 0);
    qms_nv_report r;
    store(&o, 3, &r, QMS_ERR_INVAL);
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

/* NV memory too small for the images: nothing is written, the reason is
 * QMS_ERR_TOO_LARGE. */
static void test_nv_full(void **state)
{
    (void)state;
    char tmp[256], st[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(st, sizeof st, "%s/nv.state", tmp);
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, "--nv-capacity", "4000"), 0);
    qms_printer_opts o = {.device = v.dev, .qr_native = 1, .nv_state = st};
    qms_nv_report r;
    store(&o, cfg->nservices, &r, QMS_ERR_TOO_LARGE);
    assert_int_equal(r.stored, 0);
    assert_int_equal(printer_keys(&o), 0);
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

/* More images than one key-list block holds (40): the ACK handshake brings
 * them all. */
static void test_nv_keylist_blocks(void **state)
{
    (void)state;
    char tmp[256], st[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "nv"), 0);
    snprintf(st, sizeof st, "%s/nv.state", tmp);
    vp_proc v;
    assert_int_equal(vp_start(&v, 576, NULL, NULL), 0);
    qms_printer_opts o = {.device = v.dev, .qr_native = 1, .nv_state = st};
    static char extra[50][48];
    const char *saved[64];
    memcpy(saved, names, sizeof saved);
    int nsv = 50;
    for (int i = 0; i < nsv; i++) {
        snprintf(extra[i], sizeof extra[i], "Dịch vụ thử số %d", i + 1);
        names[i] = extra[i];
        codes[i] = "X";
    }
    qms_nv_report r;
    store(&o, nsv, &r, QMS_OK);
    memcpy(names, saved, sizeof saved);
    for (int i = 0; i < cfg->nservices; i++)
        codes[i] = cfg->services[i].code;
    assert_true(r.stored > 50);
    assert_int_equal(printer_keys(&o), r.stored);
    vp_stop(&v, 0);
    qms_test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nv_same_pixels_576),
        cmocka_unit_test(test_nv_same_pixels_512),
        cmocka_unit_test(test_nv_store_again_and_new_service),
        cmocka_unit_test(test_nv_restart_and_lost),
        cmocka_unit_test(test_nv_printer_without_support),
        cmocka_unit_test(test_nv_unknown_key_and_corrupt_record),
        cmocka_unit_test(test_nv_full),
        cmocka_unit_test(test_nv_keylist_blocks),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
