#include "kiosk_prn.h"

#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <stdio.h>
#include <string.h>

void kiosk_prn_init(kiosk_prn *k, const kiosk_config *c)
{
    memset(k, 0, sizeof *k);
    snprintf(k->device, sizeof k->device, "%s", c->printer);
    snprintf(k->font_dir, sizeof k->font_dir, "%s", c->font_dir);
    k->opts.device = k->device;
    k->opts.baud = c->baud;
    k->opts.width_dots = c->paper_dots;
    k->opts.font_dir = k->font_dir;
    k->opts.qr_native = c->qr_native;
    snprintf(k->nv_state, sizeof k->nv_state, "%s", c->nv_state);
    k->opts.nv_state = k->nv_state[0] ? k->nv_state : NULL; /* static parts from NV */
    k->opts.status_timeout_ms = 500;
    k->state = QMS_PRN_OFFLINE;
}

void kiosk_prn_close(kiosk_prn *k)
{
    if (k->p)
        qms_printer_close(k->p);
    k->p = NULL;
}

int kiosk_prn_usable(qms_printer_state s)
{
    return s == QMS_PRN_OK || s == QMS_PRN_PAPER_LOW;
}

static void note(kiosk_prn *k, qms_printer_state st)
{
    if (st != k->state || (st == QMS_PRN_OFFLINE && !k->offline_told))
        QMS_INFO("printer %s: %s%s", k->device, qms_printer_state_name(st),
                 st == QMS_PRN_OFFLINE ? "; trying again every few seconds, quietly" : "");
    k->offline_told = st == QMS_PRN_OFFLINE;
    k->state = st;
}

/* An unplugged printer is retried every 4 s all day: once the reason was
 * logged, the retries' own lines (cannot open, no status answer) would be
 * ~65,000 a day. They are quiet until the printer answers again, unless the
 * log is at debug level. Returns the level to restore. */
static int quiet_begin(const kiosk_prn *k)
{
    int lvl = qms_log_level();
    if (k->offline_told && lvl > QMS_LOG_DEBUG)
        qms_log_set_level(QMS_LOG_ERROR + 1);
    return lvl;
}

/* Open the device unless a recent attempt failed: a missing device is
 * tried again after 0.25 s, 0.5 s, 1 s ... 4 s, not at every poll. */
static int try_open(kiosk_prn *k)
{
    int64_t now = qms_mono_ms();
    if (k->next_open_ms && now < k->next_open_ms)
        return QMS_ERR_PRINTER;
    if (qms_printer_open(&k->opts, &k->p) != QMS_OK) {
        k->p = NULL;
        k->open_backoff_ms = k->open_backoff_ms ? k->open_backoff_ms * 2 : 250;
        if (k->open_backoff_ms > 4000)
            k->open_backoff_ms = 4000;
        k->next_open_ms = now + k->open_backoff_ms;
        return QMS_ERR_PRINTER;
    }
    k->open_backoff_ms = 0;
    k->next_open_ms = 0;
    return QMS_OK;
}

qms_printer_state kiosk_prn_check(kiosk_prn *k)
{
    int lvl = quiet_begin(k);
    qms_printer_state st = QMS_PRN_OFFLINE;
    if (k->p || try_open(k) == QMS_OK) {
        if (qms_printer_status(k->p, &st) != QMS_OK)
            st = QMS_PRN_OFFLINE;
        if (st == QMS_PRN_OFFLINE)
            kiosk_prn_close(k);
    }
    qms_log_set_level(lvl);
    note(k, st);
    return st;
}

int kiosk_prn_print(kiosk_prn *k, const qms_ticket_print *t)
{
    if (!k->p && kiosk_prn_check(k) == QMS_PRN_OFFLINE)
        return QMS_ERR_PRINTER;
    qms_printer_state st = QMS_PRN_OFFLINE;
    int rc = qms_printer_print(k->p, t, &st);
    if (rc != QMS_OK && kiosk_prn_usable(st))
        st = QMS_PRN_OFFLINE; /* failed yet "fine": the line itself broke */
    if (st == QMS_PRN_OFFLINE)
        kiosk_prn_close(k);
    note(k, st);
    return rc == QMS_OK ? QMS_OK : QMS_ERR_PRINTER;
}

void kiosk_ticket_fill(qms_ticket_print *t, const kiosk_take_reply *r, const qms_config *center,
                       const char *lang, const char *url)
{
    memset(t, 0, sizeof *t);
    /* in the citizen's language: English names where the config has them
     * (else the Vietnamese ones, which the hall's board shows anyway) */
    int en = lang && strcmp(lang, "en") == 0;
    t->center_name = center && center->name_vi ? center->name_vi : "";
    if (en && center && center->name_en && *center->name_en)
        t->center_name = center->name_en;
    t->service_name = r->name_vi[0] ? r->name_vi : r->service;
    if (en && r->name_en[0])
        t->service_name = r->name_en;
    t->number = r->ticket;
    t->ahead = r->ahead;
    t->eta_s = r->eta_s;
    t->taken_ms = r->taken_ms;
    t->utc_offset_min = center ? center->utc_offset_min : 420;
    t->qr_url = url;
    t->lang = lang;
    t->priority = r->priority > 0;
}
