/* kiosk/printer.h over the serial layer: status before, the ticket, an
 * in-order confirmation (GS r 1) and status after. */
#include "printer.h"

#include "escpos.h"
#include "serial.h"
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
};

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

int qms_printer_print(qms_printer *p, const qms_ticket_print *t, qms_printer_state *st)
{
    int rc = qms_printer_status(p, st);
    if (rc)
        return rc;
    if (*st != QMS_PRN_OK && *st != QMS_PRN_PAPER_LOW) {
        QMS_WARN("printer: %s, no ticket printed", qms_printer_state_name(*st));
        return QMS_ERR_PRINTER;
    }

    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    rc = qms_ticket_encode(&p->enc, t, &b);
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

int qms_printer_encode(const qms_printer_opts *o, const qms_ticket_print *t, uint8_t **out,
                       size_t *len)
{
    *out = NULL;
    *len = 0;
    qms_ticket_enc e;
    int rc = qms_ticket_enc_init(&e, o);
    if (rc)
        return rc;
    qms_escpos_buf b;
    qms_escpos_init_buf(&b);
    rc = qms_ticket_encode(&e, t, &b);
    qms_ticket_enc_free(&e);
    if (rc) {
        qms_escpos_free_buf(&b);
        return rc;
    }
    *out = b.data;
    *len = b.len;
    return QMS_OK;
}
