/* printer/printer.h over the serial layer: status before, the ticket, an
 * in-order confirmation (GS r 1) and status after. */
#include "printer.h"

#include "escpos.h"
#include "printer_nv.h"
#include "qms/serial.h"
#include "ticket.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <stdio.h>
#include <string.h>

struct qms_printer {
    qms_printer_opts o;   /* options with defaults filled in */
    char device[256];     /* o.device points here */
    qms_serial *ser;      /* the line */
    qms_ticket_enc enc;   /* fonts and layout */
    qms_escpos_reader rd; /* replies as they come */
    char nv_state[512];   /* o.nv_state points here */
    qms_nv_table nv;      /* the record of what the printer's NV memory holds */
    int nv_loaded;        /* the record was read: NV graphics in use */
    int nv_checked;       /* the printer's key list was asked since open */
    int nv_missing;       /* no record file yet */
};

/* A printer that writes an image to NV memory is busy for a while (Epson
 * allows up to a second or more per image); wait this long for each. */
#define NV_WRITE_TIMEOUT_MS 30000
#define NV_MAX_KEYS 1024

/* How long the printer may take to print a ticket after the last byte
 * arrived before we call it stuck: a thermal head does 150-250 mm/s, a
 * ticket is under 150 mm, plus the cut. */
#define PRINT_GRACE_MS 3000
/* While waiting for that, ask the real-time status this often, so paper
 * running out mid-ticket is seen at once rather than at the deadline. */
#define POLL_MS 250

const char *qms_printer_state_name(qms_printer_state s)
{
    switch (s) {
    case QMS_PRN_OK:
        return "ok";
    case QMS_PRN_PAPER_LOW:
        return "paper_low";
    case QMS_PRN_PAPER_OUT:
        return "paper_out";
    case QMS_PRN_COVER_OPEN:
        return "cover_open";
    case QMS_PRN_OFFLINE:
        return "offline";
    }
    return "unknown";
}

static void fill_defaults(qms_printer_opts *o)
{
    if (o->baud <= 0)
        o->baud = 115200;
    if (o->width_dots <= 0)
        o->width_dots = 576;
    if (o->status_timeout_ms <= 0)
        o->status_timeout_ms = 500;
}

int qms_printer_open(const qms_printer_opts *o, qms_printer **out)
{
    *out = NULL;
    if (!o || !o->device || !*o->device)
        return QMS_ERR_INVAL;
    qms_printer *p = qms_calloc(1, sizeof *p);
    if (!p)
        return QMS_ERR_NOMEM;
    p->o = *o;
    fill_defaults(&p->o);
    snprintf(p->device, sizeof p->device, "%s", o->device);
    p->o.device = p->device;
    qms_nv_init(&p->nv);
    if (o->nv_state && *o->nv_state) {
        snprintf(p->nv_state, sizeof p->nv_state, "%s", o->nv_state);
        p->o.nv_state = p->nv_state;
        char err[300];
        int missing = 0;
        if (qms_nv_load(p->nv_state, &p->nv, &missing, err, sizeof err) != QMS_OK) {
            /* raster prints the same ticket: a bad record costs bytes, not tickets */
            QMS_ERROR("printer: NV record %s; printing without NV graphics", err);
        } else {
            p->nv_missing = missing;
            p->nv_loaded = 1;
        }
    } else {
        p->o.nv_state = NULL;
    }
    int rc = qms_ticket_enc_init(&p->enc, o);
    if (!rc)
        rc = qms_serial_open(p->device, p->o.baud, &p->ser);
    if (rc) {
        qms_printer_close(p);
        return rc;
    }
    qms_escpos_reader_reset(&p->rd);
    *out = p;
    return QMS_OK;
}

void qms_printer_close(qms_printer *p)
{
    if (!p)
        return;
    qms_serial_close(p->ser);
    qms_ticket_enc_free(&p->enc);
    qms_nv_free(&p->nv);
    qms_free(p);
}

static qms_printer_state state_of(const qms_escpos_status *s)
{
    if (s->cover_open)
        return QMS_PRN_COVER_OPEN;
    if (s->paper_out || s->paper_stop)
        return QMS_PRN_PAPER_OUT;
    if (s->error || s->offline)
        return QMS_PRN_OFFLINE;
    if (s->paper_low)
        return QMS_PRN_PAPER_LOW;
    return QMS_PRN_OK;
}

/* Read from the line into the reader until cond() holds or the deadline. */
static int pump(qms_printer *p, int64_t deadline, int (*cond)(const qms_escpos_reader *))
{
    while (!cond(&p->rd)) {
        int64_t left = deadline - qms_mono_ms();
        if (left <= 0)
            return QMS_ERR_TIMEOUT;
        uint8_t buf[64];
        size_t got = 0;
        int rc = qms_serial_read(p->ser, buf, sizeof buf, (int)left, &got);
        if (rc == QMS_ERR_TIMEOUT)
            return rc;
        if (rc)
            return rc;
        qms_escpos_reader_feed(&p->rd, buf, got);
    }
    return QMS_OK;
}

static int have_rt(const qms_escpos_reader *r)
{
    return r->nrt >= 3;
}

static int have_sensor(const qms_escpos_reader *r)
{
    return r->sensor >= 0;
}

static int send(qms_printer *p, const uint8_t *d, size_t n)
{
    /* 10 bits a byte on the wire; twice that plus a second of slack */
    int ms = (int)((double)n * 10.0 * 1000.0 / p->o.baud) * 2 + 1000;
    int rc = qms_serial_write(p->ser, d, n, ms);
    if (rc)
        QMS_WARN("printer: write of %zu bytes failed: %s", n, qms_err_code(rc));
    return rc;
}

/* One real-time status round: DLE EOT 1, 2, 4 and their three replies. */
static int query(qms_printer *p, qms_escpos_status *s)
{
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_status_request(&b);
    int rc = b.err ? b.err : send(p, b.data, b.len);
    qms_escpos_free_buf(&b);
    if (rc)
        return rc;
    p->rd.nrt = 0;
    rc = pump(p, qms_mono_ms() + p->o.status_timeout_ms, have_rt);
    if (rc)
        return rc;
    uint8_t r[3];
    qms_escpos_reader_take_rt(&p->rd, r);
    rc = qms_escpos_status_decode(r, s);
    if (rc)
        QMS_WARN("printer: status bytes %02x %02x %02x are not status replies", r[0], r[1], r[2]);
    return rc;
}

int qms_printer_status(qms_printer *p, qms_printer_state *st)
{
    qms_escpos_status s;
    qms_serial_drain_input(p->ser);
    qms_escpos_reader_reset(&p->rd);
    int rc = query(p, &s);
    if (rc) {
        *st = QMS_PRN_OFFLINE;
        QMS_WARN("printer: no status answer (%s)", qms_err_code(rc));
        return QMS_ERR_PRINTER;
    }
    *st = state_of(&s);
    return QMS_OK;
}

/* Drop what the printer still holds of a failed ticket, so it does not come
 * out on its own when the paper is replaced or the cover closed. */
static void abandon(qms_printer *p)
{
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_clear_buffers(&b);
    if (!b.err)
        qms_serial_write(p->ser, b.data, b.len, 500);
    qms_escpos_free_buf(&b);
}

static int have_block(const qms_escpos_reader *r)
{
    return r->blk_ready;
}

static int send_buf(qms_printer *p, qms_escpos_buf *b)
{
    int rc = b->err ? b->err : send(p, b->data, b->len);
    qms_escpos_free_buf(b);
    return rc;
}

static int send_byte(qms_printer *p, uint8_t c)
{
    return send(p, &c, 1);
}

/* Wait until the printer has worked through everything sent (GS r 1). */
static int nv_sync(qms_printer *p, int timeout_ms)
{
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_sensor_request(&b);
    p->rd.sensor = -1;
    int rc = send_buf(p, &b);
    if (!rc)
        rc = pump(p, qms_mono_ms() + timeout_ms, have_sensor);
    return rc;
}

int qms_printer_nv_keys(qms_printer *p, uint8_t (*keys)[2], int max, int *n)
{
    *n = 0;
    qms_serial_drain_input(p->ser);
    qms_escpos_reader_reset(&p->rd);
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_nv_keylist_request(&b);
    int rc = send_buf(p, &b);
    /* at most 40 keys a block; a printer holds a few hundred images at most */
    for (int block = 0; rc == QMS_OK && block < 64; block++) {
        rc = pump(p, qms_mono_ms() + p->o.status_timeout_ms, have_block);
        if (rc)
            break;
        int more = 0;
        rc = qms_escpos_nv_keylist_decode(&p->rd, keys, max, n, &more);
        p->rd.blk_ready = 0;
        if (rc) {
            send_byte(p, QMS_NV_CAN);
            QMS_WARN("printer: NV key list reply is malformed");
            return QMS_ERR_PROTOCOL;
        }
        /* the printer waits for the host's word after every block */
        rc = send_byte(p, QMS_NV_ACK);
        if (!more) {
            /* and in order after it: once this is answered the printer took
             * the ACK (a line closed right away could lose it: the next
             * open flushes what the printer has not read yet) */
            return rc ? rc : nv_sync(p, p->o.status_timeout_ms);
        }
    }
    if (rc == QMS_OK)
        rc = QMS_ERR_PROTOCOL; /* blocks without end */
    return rc;
}

int qms_printer_nv_remaining(qms_printer *p, long *bytes)
{
    qms_escpos_reader_reset(&p->rd);
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_nv_remaining_request(&b);
    int rc = send_buf(p, &b);
    if (!rc)
        rc = pump(p, qms_mono_ms() + p->o.status_timeout_ms, have_block);
    if (!rc)
        rc = qms_escpos_nv_number_decode(&p->rd, 0x31, bytes);
    return rc ? QMS_ERR_PRINTER : QMS_OK;
}

/* Mark the record's entries the printer lists. */
static int nv_mark_present(qms_printer *p, uint8_t (*keys)[2], int nkeys)
{
    int present = 0;
    for (int i = 0; i < p->nv.n; i++) {
        qms_nv_entry *e = &p->nv.e[i];
        e->present = 0;
        for (int k = 0; k < nkeys && !e->present; k++)
            e->present = keys[k][0] == e->kc[0] && keys[k][1] == e->kc[1];
        present += e->present;
    }
    return present;
}

/* Once per open: which of the recorded images the printer really holds (a
 * printer swapped or wiped must not print blanks where the center name
 * was). No answer: raster for as long as this printer stays open. */
static void nv_check(qms_printer *p)
{
    p->nv_checked = 1;
    if (p->nv_missing) {
        QMS_WARN("printer: no NV record at %s yet (qms-printer store-nv writes it); "
                 "printing raster",
                 p->nv_state);
        return;
    }
    uint8_t keys[NV_MAX_KEYS][2];
    int nkeys = 0;
    if (qms_printer_nv_keys(p, keys, NV_MAX_KEYS, &nkeys) != QMS_OK) {
        QMS_WARN("printer: no answer to the NV key list query; printing raster");
        nkeys = 0;
    }
    int present = nv_mark_present(p, keys, nkeys);
    if (present < p->nv.n)
        QMS_WARN("printer: %d of %d recorded NV images are not in the printer: they go as "
                 "raster (run qms-printer store-nv)",
                 p->nv.n - present, p->nv.n);
    else
        QMS_INFO("printer: %d NV images in the printer", present);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

int qms_printer_nv_store(qms_printer *p, const char *center_name, const char *const *service_names,
                         const char *const *service_codes, int nservices, qms_nv_report *rep,
                         char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    rep->remaining = -1;
    if (!p->o.nv_state) {
        set_err(err, errlen, "no NV record file given");
        return QMS_ERR_INVAL;
    }
    char lerr[300];
    int rc = qms_nv_load(p->nv_state, &p->nv, NULL, lerr, sizeof lerr);
    if (rc) {
        set_err(err, errlen, lerr);
        return rc;
    }
    p->nv_loaded = 1;
    p->nv_checked = 1;
    qms_printer_state st;
    if (qms_printer_status(p, &st) != QMS_OK || (st != QMS_PRN_OK && st != QMS_PRN_PAPER_LOW)) {
        snprintf(lerr, sizeof lerr, "printer not ready (%s)", qms_printer_state_name(st));
        set_err(err, errlen, lerr);
        return QMS_ERR_PRINTER;
    }
    uint8_t keys[NV_MAX_KEYS][2];
    int nkeys = 0;
    if (qms_printer_nv_keys(p, keys, NV_MAX_KEYS, &nkeys) != QMS_OK) {
        set_err(err, errlen,
                "the printer does not answer the NV graphics key list query (GS ( L fn 64): "
                "no NV graphics support?");
        return QMS_ERR_PRINTER;
    }
    nv_mark_present(p, keys, nkeys);

    qms_ticket_image *im = NULL;
    int nim = 0;
    rc = qms_ticket_static_images(&p->enc, center_name, service_names, service_codes, nservices,
                                  &im, &nim);
    if (rc) {
        set_err(err, errlen, "cannot render the images");
        return rc;
    }
    rep->images = nim;

    /* the record follows the printer: forget what it lost, delete what no
     * ticket shows any more (only ours: keys in the record) */
    int changed = 0;
    for (int i = p->nv.n - 1; i >= 0 && !rc; i--) {
        qms_nv_entry *e = &p->nv.e[i];
        int wanted = 0;
        for (int k = 0; k < nim && !wanted; k++)
            wanted = im[k].hash == e->hash && im[k].r.stride * 8 == e->w && im[k].r.h == e->h;
        if (!e->present) {
            rep->lost++;
            qms_nv_remove(&p->nv, e->kc);
            changed = 1;
        } else if (!wanted) {
            qms_escpos_buf b;
            qms_escpos_init_buf(&b);
            qms_escpos_nv_delete(&b, e->kc[0], e->kc[1]);
            rc = send_buf(p, &b);
            if (!rc)
                rc = nv_sync(p, NV_WRITE_TIMEOUT_MS);
            if (!rc) {
                rep->deleted++;
                qms_nv_remove(&p->nv, e->kc);
                changed = 1;
            }
        }
    }
    if (changed && !rc && qms_nv_save(p->nv_state, &p->nv) != QMS_OK) {
        set_err(err, errlen, "cannot write the NV record file");
        rc = QMS_ERR_IO;
    }

    /* what is missing, and does it fit */
    size_t need = 0;
    for (int k = 0; k < nim && !rc; k++)
        if (!qms_nv_find(&p->nv, im[k].hash, im[k].r.stride * 8, im[k].r.h, 1))
            need += (size_t)im[k].r.stride * (size_t)im[k].r.h;
    long left = -1;
    if (!rc && qms_printer_nv_remaining(p, &left) == QMS_OK && need > 0 && (long)need > left) {
        snprintf(lerr, sizeof lerr, "the images need %zu bytes of NV memory, the printer has %ld",
                 need, left);
        set_err(err, errlen, lerr);
        rc = QMS_ERR_TOO_LARGE;
    }

    for (int k = 0; k < nim && !rc; k++) {
        qms_ticket_image *m = &im[k];
        int w = m->r.stride * 8;
        if (qms_nv_find(&p->nv, m->hash, w, m->r.h, 1)) {
            rep->kept++;
            continue;
        }
        uint8_t kc[2];
        rc = qms_nv_pick_key(&p->nv, m->hash, keys, nkeys, kc);
        if (rc) {
            set_err(err, errlen, "no free NV key code");
            break;
        }
        qms_escpos_buf b;
        qms_escpos_init_buf(&b);
        qms_escpos_nv_define(&b, kc[0], kc[1], m->r.bits, m->r.stride, m->r.h);
        size_t len = b.len;
        rc = send_buf(p, &b);
        if (!rc)
            rc = nv_sync(p, NV_WRITE_TIMEOUT_MS);
        if (rc) {
            snprintf(lerr, sizeof lerr, "the printer did not confirm storing %s", m->what);
            set_err(err, errlen, lerr);
            break;
        }
        rep->upload_bytes += len;
        rep->stored++;
        rc = qms_nv_add(&p->nv, kc, m->hash, w, m->r.h, m->what);
        if (!rc) {
            qms_nv_find_key(&p->nv, kc)->present = 1;
            /* saved after each image: an interrupted run leaves a true record */
            if (qms_nv_save(p->nv_state, &p->nv) != QMS_OK) {
                set_err(err, errlen, "cannot write the NV record file");
                rc = QMS_ERR_IO;
            }
        }
    }
    qms_ticket_images_free(im, nim);
    long after = -1;
    if (qms_printer_nv_remaining(p, &after) == QMS_OK)
        rep->remaining = after;
    return rc;
}

int qms_printer_nv_clear(qms_printer *p)
{
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    qms_escpos_nv_delete_all(&b);
    int rc = send_buf(p, &b);
    if (!rc)
        rc = nv_sync(p, NV_WRITE_TIMEOUT_MS);
    if (rc)
        return QMS_ERR_PRINTER;
    qms_nv_free(&p->nv);
    if (p->o.nv_state && qms_nv_save(p->nv_state, &p->nv) != QMS_OK)
        return QMS_ERR_IO;
    return QMS_OK;
}

void qms_printer_nv_last(const qms_printer *p, int *from_nv, int *as_raster)
{
    *from_nv = p->enc.nv_hits;
    *as_raster = p->enc.nv_misses;
}

int qms_printer_print(qms_printer *p, const qms_ticket_print *t, qms_printer_state *st)
{
    int rc = qms_printer_status(p, st);
    if (rc)
        return rc;
    if (*st != QMS_PRN_OK && *st != QMS_PRN_PAPER_LOW) {
        QMS_WARN("printer: %s, no ticket printed", qms_printer_state_name(*st));
        return QMS_ERR_PRINTER;
    }

    if (p->nv_loaded && !p->nv_checked)
        nv_check(p);
    p->enc.nv = p->nv_loaded ? &p->nv : NULL;
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    rc = qms_ticket_encode(&p->enc, t, &b);
    if (p->nv_loaded && p->enc.nv_misses > 0)
        QMS_INFO("printer: %d image(s) of this ticket not in NV, sent as raster "
                 "(qms-printer store-nv stores them)",
                 p->enc.nv_misses);
    qms_escpos_sensor_request(&b); /* answered only once the ticket went through */
    if (!rc)
        rc = b.err;
    if (rc) {
        qms_escpos_free_buf(&b);
        return rc;
    }
    p->rd.sensor = -1;
    rc = send(p, b.data, b.len);
    int64_t deadline = qms_mono_ms() + PRINT_GRACE_MS + (int64_t)b.len * 10 * 1000 / p->o.baud;
    qms_escpos_free_buf(&b);
    if (rc) {
        *st = QMS_PRN_OFFLINE;
        return QMS_ERR_PRINTER;
    }

    /* Wait for the in-order reply; meanwhile ask what the printer is up to. */
    qms_escpos_status s;
    for (;;) {
        int64_t step = qms_mono_ms() + POLL_MS;
        rc = pump(p, step < deadline ? step : deadline, have_sensor);
        if (rc == QMS_OK)
            break;
        if (rc != QMS_ERR_TIMEOUT) {
            *st = QMS_PRN_OFFLINE;
            return QMS_ERR_PRINTER;
        }
        if (query(p, &s)) {
            *st = QMS_PRN_OFFLINE;
            return QMS_ERR_PRINTER;
        }
        qms_printer_state now = state_of(&s);
        if (now != QMS_PRN_OK && now != QMS_PRN_PAPER_LOW) {
            *st = now;
            QMS_WARN("printer: %s while printing; ticket abandoned", qms_printer_state_name(now));
            abandon(p);
            return QMS_ERR_PRINTER;
        }
        if (qms_mono_ms() >= deadline) {
            *st = QMS_PRN_OFFLINE;
            QMS_WARN("printer: ticket not confirmed within %d ms", PRINT_GRACE_MS);
            abandon(p);
            return QMS_ERR_PRINTER;
        }
    }
    /* The ticket is out (GS r answers only past the cut): it stands whatever
     * comes next. The state after it tells the kiosk about the next one. */
    int low = 0, out = 0;
    qms_escpos_sensor_decode((uint8_t)p->rd.sensor, &low, &out);
    if (query(p, &s)) {
        *st = out ? QMS_PRN_PAPER_OUT : low ? QMS_PRN_PAPER_LOW : QMS_PRN_OFFLINE;
        QMS_WARN("printer: ticket printed, then no status answer");
        return QMS_OK;
    }
    *st = state_of(&s);
    if (*st != QMS_PRN_OK && *st != QMS_PRN_PAPER_LOW)
        QMS_WARN("printer: ticket printed; %s right after it", qms_printer_state_name(*st));
    return QMS_OK;
}

static int encode(const qms_printer_opts *o, const qms_ticket_print *t, int nv, uint8_t **out,
                  size_t *len)
{
    *out = NULL;
    *len = 0;
    qms_nv_table tab;
    qms_nv_init(&tab);
    if (nv) {
        char err[300];
        int rc =
            o->nv_state ? qms_nv_load(o->nv_state, &tab, NULL, err, sizeof err) : QMS_ERR_INVAL;
        if (rc)
            return rc;
        for (int i = 0; i < tab.n; i++)
            tab.e[i].present = 1;
    }
    qms_ticket_enc e;
    int rc = qms_ticket_enc_init(&e, o);
    if (rc) {
        qms_nv_free(&tab);
        return rc;
    }
    e.nv = nv ? &tab : NULL;
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    rc = qms_ticket_encode(&e, t, &b);
    qms_ticket_enc_free(&e);
    qms_nv_free(&tab);
    if (rc) {
        qms_escpos_free_buf(&b);
        return rc;
    }
    *out = b.data;
    *len = b.len;
    return QMS_OK;
}

int qms_printer_encode(const qms_printer_opts *o, const qms_ticket_print *t, uint8_t **out,
                       size_t *len)
{
    return encode(o, t, 0, out, len);
}

int qms_printer_encode_nv(const qms_printer_opts *o, const qms_ticket_print *t, uint8_t **out,
                          size_t *len)
{
    return encode(o, t, 1, out, len);
}
