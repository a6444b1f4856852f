/* Every sample service's ticket, read back the way a citizen reads it: the
 * ESC/POS bytes go through a decoder written from the ESC/POS manual
 * (tests/support/escpos_decode.c, which shares no code with printer/), the
 * raster and NV lines on the decoded paper are read by tesseract (vie), and
 * what it reads must be exactly (NFC, whitespace collapsed) the center name,
 * the service name and the labels. The printer's own font lines (the number,
 * the values, the date, the English tickets) are read from the bytes, and
 * the QR code's data must be the ticket's address.
 *
 * Both paper widths (576 dots at 203 dpi, 512 at 180), the raster path and
 * the NV path (the images stored by qms_printer_nv_store, recorded on their
 * way to the real qms-vprinter through a pty relay, and printed by key),
 * normal and priority tickets, Vietnamese and English.
 *
 * Identical pixels read the same, so each distinct line image is read once
 * (all of them in one tesseract run per width). QMS_OCR_KEEP=DIR keeps the
 * decoded pages and the image tesseract read. */
#define _GNU_SOURCE
#include "escpos_decode.h"
#include "ocr.h"
#include "printer.h"
#include "vp_harness.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/err.h"
#include "qms/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

/* The labels as the ticket's specification words them (docs/printer.md),
 * typed here, not taken from the encoder. */
#define VI_AHEAD "Số người trước bạn:"
#define VI_NEXT "Bạn là người tiếp theo"
#define VI_WAIT "Chờ dự kiến (phút):"
#define VI_PRIORITY "Ưu tiên"

static qms_config *cfg;

static int setup_all(void **state)
{
    (void)state;
    char err[256];
    qms_log_init("test_ticket_ocr", QMS_LOG_ERROR);
    return qms_config_load_file(QMS_EXAMPLES "/center.json", &cfg, err, sizeof err);
}

static int teardown_all(void **state)
{
    (void)state;
    qms_config_free(cfg);
    return 0;
}

/* ---- a relay between the library and qms-vprinter that records what the
 * library sends (the NV define commands on their way to the printer) ---- */

typedef struct relay {
    int master, slave_keep, dev, stop[2];
    char name[128];
    uint8_t *rec;
    size_t len, cap;
    pthread_t th;
} relay;

static void *relay_run(void *arg)
{
    relay *r = arg;
    uint8_t buf[4096];
    for (;;) {
        struct pollfd p[3] = {{r->master, POLLIN, 0}, {r->dev, POLLIN, 0}, {r->stop[0], POLLIN, 0}};
        if (poll(p, 3, 1000) < 0 && errno != EINTR)
            break;
        if (p[2].revents)
            break;
        if (p[0].revents & POLLIN) {
            ssize_t k = read(r->master, buf, sizeof buf);
            if (k > 0) {
                if (r->len + (size_t)k > r->cap) {
                    size_t nc = (r->cap ? r->cap * 2 : 65536) + (size_t)k;
                    uint8_t *np = realloc(r->rec, nc);
                    if (!np)
                        break;
                    r->rec = np;
                    r->cap = nc;
                }
                memcpy(r->rec + r->len, buf, (size_t)k);
                r->len += (size_t)k;
                for (ssize_t o = 0; o < k;) {
                    ssize_t w = write(r->dev, buf + o, (size_t)(k - o));
                    if (w < 0 && errno != EAGAIN && errno != EINTR)
                        break;
                    if (w > 0)
                        o += w;
                }
            }
        }
        if (p[1].revents & POLLIN) {
            ssize_t k = read(r->dev, buf, sizeof buf);
            for (ssize_t o = 0; k > 0 && o < k;) {
                ssize_t w = write(r->master, buf + o, (size_t)(k - o));
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                    break;
                if (w > 0)
                    o += w;
            }
        }
    }
    return NULL;
}

static void raw_tty(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
}

static void relay_start(relay *r, const char *dev)
{
    memset(r, 0, sizeof *r);
    r->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(r->master >= 0);
    assert_int_equal(grantpt(r->master), 0);
    assert_int_equal(unlockpt(r->master), 0);
    snprintf(r->name, sizeof r->name, "%s", ptsname(r->master));
    r->slave_keep = open(r->name, O_RDWR | O_NOCTTY);
    assert_true(r->slave_keep >= 0);
    raw_tty(r->slave_keep);
    r->dev = open(dev, O_RDWR | O_NOCTTY);
    assert_true(r->dev >= 0);
    raw_tty(r->dev);
    assert_int_equal(pipe(r->stop), 0);
    assert_int_equal(pthread_create(&r->th, NULL, relay_run, r), 0);
}

static void relay_stop(relay *r)
{
    assert_int_equal(write(r->stop[1], "x", 1), 1);
    pthread_join(r->th, NULL);
    close(r->stop[0]);
    close(r->stop[1]);
    close(r->dev);
    close(r->slave_keep);
    close(r->master);
    /* r->rec stays: the caller reads it, then frees it */
}

/* ---- the tickets ---- */

typedef struct tkt {
    char num[16], url[160];
    qms_ticket_print t;
    char want_img[1024];  /* the raster lines' text, in order */
    char want_text[1024]; /* the printer-font lines, in order */
} tkt;

static void cat(char *dst, size_t len, const char *s)
{
    size_t k = strlen(dst);
    snprintf(dst + k, len - k, "%s%s", k ? " " : "", s);
}

static void make_ticket(tkt *k, int si, int variant)
{
    int en = variant & 1, prio = (variant >> 1) & 1;
    /* every third service's "priority" ticket is a booked check-in instead */
    int booked = prio && si % 3 == 2;
    if (booked)
        prio = 0;
    memset(k, 0, sizeof *k);
    qms_ticket_label(cfg, si, 7 + si * 13, k->num, sizeof k->num);
    snprintf(k->url, sizeof k->url, "https://qms.example.vn/t/%s/2026-12-05/%s", cfg->site, k->num);
    /* people ahead 0 on some tickets ("next"), waits under a minute, minutes, hours */
    int ahead = si % 5 == 0 ? 0 : si * 3 + variant;
    int eta = si % 6 == 1 ? 40 : si % 6 == 5 ? 3600 + 60 * (si + 2) : 60 * (2 + si * 4);
    int64_t taken = 1796444160000LL + si * 61000LL; /* 2026-12-05 ... UTC */
    k->t = (qms_ticket_print){.center_name = en ? cfg->name_en : cfg->name_vi,
                              .service_name = en ? cfg->services[si].name_en
                                                 : cfg->services[si].name_vi,
                              .number = k->num,
                              .ahead = ahead,
                              .eta_s = eta,
                              .taken_ms = taken,
                              .utc_offset_min = cfg->utc_offset_min,
                              .qr_url = k->url,
                              .lang = en ? "en" : "vi",
                              .priority = prio,
                              .booked_slot = booked ? "09:00" : NULL};
    /* local date and time (UTC+7 in the sample) */
    int64_t local_s = taken / 1000 + cfg->utc_offset_min * 60;
    time_t tt = (time_t)local_s;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char when[64];
    snprintf(when, sizeof when, "%02d/%02d/%04d %02d:%02d", tm.tm_mday, tm.tm_mon + 1,
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
    int min = eta < 60 ? 0 : (eta + 30) / 60;
    char v[64];
    if (en) {
        cat(k->want_text, sizeof k->want_text, cfg->name_en);
        cat(k->want_text, sizeof k->want_text, cfg->services[si].name_en);
        cat(k->want_text, sizeof k->want_text, k->num);
        if (prio)
            cat(k->want_text, sizeof k->want_text, "PRIORITY");
        if (booked)
            cat(k->want_text, sizeof k->want_text, "BOOKED - slot 09:00");
        if (ahead == 0)
            snprintf(v, sizeof v, "You are next");
        else
            snprintf(v, sizeof v, "People ahead: %d", ahead);
        cat(k->want_text, sizeof k->want_text, v);
        if (min < 1)
            snprintf(v, sizeof v, "Expected wait: under 1 min");
        else if (min < 60)
            snprintf(v, sizeof v, "Expected wait: %d min", min);
        else
            snprintf(v, sizeof v, "Expected wait: %d h %02d min", min / 60, min % 60);
        cat(k->want_text, sizeof k->want_text, v);
    } else {
        cat(k->want_img, sizeof k->want_img, cfg->name_vi);
        cat(k->want_img, sizeof k->want_img, cfg->services[si].name_vi);
        cat(k->want_text, sizeof k->want_text, k->num);
        if (prio)
            cat(k->want_img, sizeof k->want_img, VI_PRIORITY);
        if (booked) {
            cat(k->want_img, sizeof k->want_img, "ĐÃ ĐẶT LỊCH — khung giờ");
            cat(k->want_text, sizeof k->want_text, "09:00");
        }
        cat(k->want_img, sizeof k->want_img, ahead == 0 ? VI_NEXT : VI_AHEAD);
        if (ahead > 0) {
            snprintf(v, sizeof v, "%d", ahead);
            cat(k->want_text, sizeof k->want_text, v);
        }
        cat(k->want_img, sizeof k->want_img, VI_WAIT);
        if (min < 1)
            snprintf(v, sizeof v, "< 1");
        else
            snprintf(v, sizeof v, "%d", min);
        cat(k->want_text, sizeof k->want_text, v);
    }
    cat(k->want_text, sizeof k->want_text, when);
}

/* a and b are equal once every space is taken out */
static int same_but_spaces(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

/* The distinct line images of all pages, to be read once each. */
typedef struct band {
    uint8_t *pix; /* w * h, 1 = black */
    int w, h;
} band;

typedef struct run {
    band b[512];
    int nb;
    /* per page: which bands, in order */
    int page_bands[300][24];
    int page_nb[300];
    tkt tk[300];
    int path[300]; /* 0 raster, 1 NV */
    int npages;
} run;

static int band_of(run *r, const ed_page *pg, const ed_item *it)
{
    for (int i = 0; i < r->nb; i++) {
        band *b = &r->b[i];
        if (b->w != it->w || b->h != it->h)
            continue;
        int same = 1;
        for (int y = 0; y < b->h && same; y++)
            same = memcmp(b->pix + (size_t)y * (size_t)b->w,
                          pg->pix + (size_t)(it->y + y) * (size_t)pg->width + (size_t)it->x,
                          (size_t)b->w) == 0;
        if (same)
            return i;
    }
    assert_true(r->nb < 512);
    band *b = &r->b[r->nb];
    b->w = it->w;
    b->h = it->h;
    b->pix = malloc((size_t)it->w * (size_t)it->h);
    assert_non_null(b->pix);
    for (int y = 0; y < b->h; y++)
        memcpy(b->pix + (size_t)y * (size_t)b->w,
               pg->pix + (size_t)(it->y + y) * (size_t)pg->width + (size_t)it->x, (size_t)b->w);
    return r->nb++;
}

/* Decode one ticket's bytes; record its bands; check the printer-font text
 * and the QR code now. Returns the number of mismatches. */
static int decode_page(run *r, int width, ed_nv *nv, const uint8_t *bytes, size_t len,
                       const tkt *k, int path, const char *keep)
{
    ed_page pg;
    assert_int_equal(ed_page_init(&pg, width), 0);
    char err[200];
    size_t used = 0;
    int rc = ed_decode(bytes, len, nv, &pg, &used, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "decode %s: %s\n", k->num, err);
    assert_int_equal(rc, 0);
    assert_int_equal(pg.cut, 1);
    assert_int_equal(used, len); /* nothing after the cut */
    int bad = 0, p = r->npages++;
    assert_true(p < 300);
    r->tk[p] = *k;
    r->path[p] = path;
    char text[1024] = "", qr[256] = "";
    int nqr = 0;
    for (int i = 0; i < pg.nitems; i++) {
        const ed_item *it = &pg.items[i];
        if (it->kind == ED_RASTER || it->kind == ED_NV) {
            assert_true(r->page_nb[p] < 24);
            r->page_bands[p][r->page_nb[p]++] = band_of(r, &pg, it);
            /* NV path: every image line comes from the printer's memory */
            if (path == 1 && it->kind != ED_NV) {
                fprintf(stderr, "%s NV: a raster line sent as GS v 0\n", k->num);
                bad++;
            }
        } else if (it->kind == ED_TEXT) {
            cat(text, sizeof text, it->text);
        } else if (it->kind == ED_QR) {
            snprintf(qr, sizeof qr, "%s", it->text);
            nqr++;
        }
    }
    char a[1024], b[1024];
    ocr_normalize(text, a, sizeof a);
    ocr_normalize(k->want_text, b, sizeof b);
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "%s %s w%d: printer-font text\n  read: %s\n  want: %s\n", k->num,
                k->t.lang, width, a, b);
        bad++;
    }
    if (nqr != 1 || strcmp(qr, k->url) != 0) {
        fprintf(stderr, "%s: QR data '%s' (%d codes), want '%s'\n", k->num, qr, nqr, k->url);
        bad++;
    }
    if (keep) {
        char path_png[512];
        snprintf(path_png, sizeof path_png, "%s/%d-%s-%s-%s%s.png", keep, width, k->num,
                 k->t.lang, path ? "nv" : "raster", k->t.priority ? "-prio" : "");
        ed_page_png(&pg, path_png);
    }
    ed_page_free(&pg);
    return bad;
}

static void check_width(int width)
{
    const char *keep = getenv("QMS_OCR_KEEP");
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    char tmp[256], state[300];
    assert_int_equal(qms_test_tmpdir(tmp, sizeof tmp, "tocr"), 0);
    snprintf(state, sizeof state, "%s/nv.state", tmp);

    /* The static images go to the printer's NV memory once: record the
     * bytes on their way and keep the images the decoder sees defined. */
    vp_proc v;
    assert_int_equal(vp_start(&v, width, NULL, NULL), 0);
    relay rl;
    relay_start(&rl, v.dev);
    qms_printer_opts nvo = {.device = rl.name, .width_dots = width, .qr_native = 1,
                            .nv_state = state};
    const char *names[64], *codes[64];
    for (int i = 0; i < cfg->nservices; i++) {
        names[i] = cfg->services[i].name_vi;
        codes[i] = cfg->services[i].code;
    }
    qms_printer *pr = NULL;
    assert_int_equal(qms_printer_open(&nvo, &pr), QMS_OK);
    qms_nv_report rep;
    char err[300] = "";
    int rc = qms_printer_nv_store(pr, cfg->name_vi, names, codes, cfg->nservices, &rep, err,
                                  sizeof err);
    if (rc)
        fprintf(stderr, "nv store: %s\n", err);
    assert_int_equal(rc, QMS_OK);
    qms_printer_close(pr);
    relay_stop(&rl); /* joins the relay thread: rl.rec is complete */
    ed_nv nv;
    ed_nv_init(&nv);
    {
        ed_page scratch;
        assert_int_equal(ed_page_init(&scratch, width), 0);
        size_t used = 0;
        rc = ed_decode(rl.rec, rl.len, &nv, &scratch, &used, err, sizeof err);
        if (rc)
            fprintf(stderr, "decode NV upload: %s\n", err);
        assert_int_equal(rc, 0);
        assert_int_equal(scratch.nitems, 0); /* storing prints nothing */
        ed_page_free(&scratch);
    }
    free(rl.rec);
    assert_int_equal(nv.n, rep.images);
    vp_stop(&v, 0);

    qms_printer_opts ro = {.width_dots = width, .qr_native = 1};
    int bad = 0;
    for (int si = 0; si < cfg->nservices; si++)
        for (int variant = 0; variant < 4; variant++) {
            tkt k;
            make_ticket(&k, si, variant);
            uint8_t *d = NULL;
            size_t len = 0;
            assert_int_equal(qms_printer_encode(&ro, &k.t, &d, &len), QMS_OK);
            bad += decode_page(r, width, NULL, d, len, &k, 0, keep);
            qms_free(d);
            /* NV: Vietnamese tickets (English ones have no image lines) */
            if (!(variant & 1)) {
                assert_int_equal(qms_printer_encode_nv(&nvo, &k.t, &d, &len), QMS_OK);
                bad += decode_page(r, width, &nv, d, len, &k, 1, keep);
                qms_free(d);
            }
        }

    /* Read every distinct line image once. */
    ocr_line *ol = calloc((size_t)r->nb, sizeof *ol);
    assert_non_null(ol);
    for (int i = 0; i < r->nb; i++)
        ol[i] = (ocr_line){.pix = r->b[i].pix, .stride = r->b[i].w, .w = r->b[i].w,
                           .h = r->b[i].h, .ink_h = 32};
    if (keep) { /* the image tesseract reads, at the middle size, to look at */
        char dbg[512];
        snprintf(dbg, sizeof dbg, "%s/ocr-%d.png", keep, width);
        assert_int_equal(ocr_read_lines(ol, r->nb, "vie", dbg), 0);
    }
    /* Each line is cropped to its ink and read with its ink 28..36 pixels
     * tall (the printed text is 16..33 dots), five sizes, plurality kept. */
    static const int sizes[] = {28, 30, 32, 34, 36};
    assert_int_equal(ocr_read_lines_vote(ol, r->nb, "vie", sizes, 5), 0);

    int checked = 0, spaces_only = 0;
    for (int p = 0; p < r->npages; p++) {
        char got[2048] = "", a[2048], b[2048];
        for (int j = 0; j < r->page_nb[p]; j++)
            cat(got, sizeof got, ol[r->page_bands[p][j]].text);
        ocr_normalize(got, a, sizeof a);
        ocr_normalize(r->tk[p].want_img, b, sizeof b);
        if (strcmp(a, b) != 0 && same_but_spaces(a, b)) {
            /* tesseract sometimes joins a short word to the next ("Y tế"
             * read "Ytế", the space plainly on the paper): every letter and
             * mark still has to match */
            spaces_only++;
        } else if (strcmp(a, b) != 0) {
            fprintf(stderr, "%s %s%s w%d %s: the paper reads\n  '%s'\n  want\n  '%s'\n",
                    r->tk[p].num, r->tk[p].t.lang, r->tk[p].t.priority ? " priority" : "", width,
                    r->path[p] ? "NV" : "raster", a, b);
            for (int j = 0; j < r->page_nb[p]; j++)
                fprintf(stderr, "    line %d: '%s'\n", j, ol[r->page_bands[p][j]].text);
            bad++;
        }
        checked++;
    }
    fprintf(stderr,
            "width %d: %d tickets, %d distinct line images read, %d mismatches"
            " (%d read with a word space missing)\n",
            width, checked, r->nb, bad, spaces_only);
    /* not a blank decode: 17 services x (4 + 2) pages */
    assert_int_equal(checked, cfg->nservices * 6);
    assert_true(r->nb >= cfg->nservices + 4);
    for (int i = 0; i < r->nb; i++)
        free(r->b[i].pix);
    free(ol);
    free(r);
    ed_nv_free(&nv);
    qms_test_rmdir(tmp);
    assert_int_equal(bad, 0);
}

static void test_ocr_tickets_576(void **state)
{
    (void)state;
    if (!ocr_available())
        skip();
    check_width(576);
}

static void test_ocr_tickets_512(void **state)
{
    (void)state;
    if (!ocr_available())
        skip();
    check_width(512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ocr_tickets_576),
        cmocka_unit_test(test_ocr_tickets_512),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
