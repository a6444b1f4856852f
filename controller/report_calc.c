/* Grouping tickets into report rows and computing the figures. The rules
 * (docs/report.md) follow the controller's live statistics, so the report of
 * a day agrees with what the dashboard showed at its end:
 *   - taken and transferred count under the service that ISSUED the ticket;
 *   - served, no-shows, cancelled, unfinished, waits, service times and
 *     ratings count under the service the ticket is in at the end (after a
 *     transfer, the service it was transferred to);
 *   - per counter: the counter that called the ticket last (the one that
 *     finished it, marked it a no-show, or rated it); "transferred" counts the
 *     tickets the counter transferred; "taken" does not apply;
 *   - per hour and per day: every figure of a row is about the tickets TAKEN
 *     in that hour / on that day;
 *   - per site (a hub's store): every figure is about that site's tickets;
 *   - per priority kind: every figure is about the tickets taken as that kind;
 *   - per staff member: who was signed in at the counter that called the
 *     ticket last (as per counter); "taken" and "transferred" do not apply. */
#include "report.h"

#include "engine.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_wait(report_fig *f, int64_t w)
{
    if (f->nwait == f->capwait) {
        int ncap = f->capwait ? f->capwait * 2 : 16;
        int64_t *p = qms_realloc(f->waits, (size_t)ncap * sizeof *p);
        if (!p)
            return QMS_ERR_NOMEM;
        f->waits = p;
        f->capwait = ncap;
    }
    f->waits[f->nwait++] = w;
    return QMS_OK;
}

/* Count ticket t into f: everything except taken/transferred (the caller
 * decides where those go). */
static int add_outcome(report_fig *f, const report_ticket *t, int levels)
{
    switch (t->state) {
    case QMS_T_DONE:
        f->served++;
        /* service time: from the start of its (last) service to done; the
         * engine records a ticket finished without "start" as started when
         * it was called */
        if (t->start_ms > 0 && t->end_ms >= t->start_ms) {
            f->service_sum_ms += t->end_ms - t->start_ms;
            f->nservice++;
        }
        break;
    case QMS_T_NOSHOW:
        f->noshow++;
        break;
    case QMS_T_CANCELLED:
        f->cancelled++;
        break;
    default:
        f->unfinished++;
        break;
    }
    if (t->first_called_ms > 0 && t->first_called_ms >= t->taken_ms &&
        add_wait(f, t->first_called_ms - t->taken_ms) != QMS_OK)
        return QMS_ERR_NOMEM;
    if (t->rating >= 1 && t->rating <= levels) {
        f->ratings[t->rating]++;
        f->nratings++;
        /* "satisfied" + "very satisfied" on the scale the citizen was shown */
        f->nsatisfied += t->rating >= t->levels - 1;
    }
    return QMS_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_transfer(const void *a, const void *b)
{
    const report_transfer *x = a, *y = b;
    if (x->counter != y->counter)
        return (x->counter > y->counter) - (x->counter < y->counter);
    return (x->ticket > y->ticket) - (x->ticket < y->ticket);
}

static void fig_finish(report_fig *f)
{
    if (f->nwait > 1)
        qsort(f->waits, (size_t)f->nwait, sizeof *f->waits, cmp_i64);
}

static void fig_free(report_fig *f)
{
    qms_free(f->waits);
    f->waits = NULL;
}

double report_mean_wait_ms(const report_fig *f)
{
    if (f->nwait == 0)
        return -1;
    double sum = 0;
    for (int i = 0; i < f->nwait; i++)
        sum += (double)f->waits[i];
    return sum / f->nwait;
}

double report_p90_wait_ms(const report_fig *f)
{
    if (f->nwait == 0)
        return -1;
    /* nearest rank: the ceil(0.9 n)-th smallest */
    int rank = (int)ceil(0.9 * f->nwait);
    if (rank < 1)
        rank = 1;
    return (double)f->waits[rank - 1];
}

double report_mean_service_ms(const report_fig *f)
{
    return f->nservice ? (double)f->service_sum_ms / f->nservice : -1;
}

double report_satisfied_share(const report_fig *f)
{
    if (f->nratings == 0)
        return -1;
    return (double)f->nsatisfied / f->nratings;
}

void report_free(report *r)
{
    for (int i = 0; i < r->nrows; i++)
        fig_free(&r->rows[i].fig);
    qms_free(r->rows);
    fig_free(&r->total.fig);
    memset(r, 0, sizeof *r);
}

/* Staff rows by name, "" (nobody signed in) last. */
static const report_data *sort_staff_d;
static int cmp_staff(const void *a, const void *b)
{
    const char *x = sort_staff_d->staff[*(const int *)a], *y = sort_staff_d->staff[*(const int *)b];
    if (!*x || !*y)
        return !*x - !*y;
    return strcmp(x, y);
}

static const char *pick_name(const char *vi, const char *en, int want_en)
{
    const char *n = want_en ? (en ? en : vi) : (vi ? vi : en);
    return n ? n : "";
}

int report_build(const report_data *d, report_by by, int levels, int32_t from, int32_t to, int en,
                 report *out)
{
    memset(out, 0, sizeof *out);
    out->by = by;
    out->levels = levels < 2 ? 2 : levels > REPORT_MAX_LEVELS ? REPORT_MAX_LEVELS : levels;
    levels = out->levels;

    /* the rows, in the order a manager reads them */
    int nrows = 0, first_hour = 24, last_hour = -1;
    int *staff_row = NULL, *staff_order = NULL; /* staff index -> row, row -> staff index */
    switch (by) {
    case REPORT_BY_SERVICE:
        nrows = d->nsvcs;
        break;
    case REPORT_BY_COUNTER:
        nrows = d->nctrs;
        break;
    case REPORT_BY_HOUR:
        for (int i = 0; i < d->nt; i++) {
            int h = qms_local_sec(d->t[i].taken_ms, d->t[i].utc_offset_min) / 3600;
            first_hour = h < first_hour ? h : first_hour;
            last_hour = h > last_hour ? h : last_hour;
        }
        nrows = last_hour >= first_hour ? last_hour - first_hour + 1 : 0;
        break;
    case REPORT_BY_DAY:
        nrows = to >= from ? to - from + 1 : 0;
        break;
    case REPORT_BY_SITE:
        nrows = d->nsites;
        break;
    case REPORT_BY_PRIORITY:
        nrows = REPORT_KIND__COUNT;
        break;
    case REPORT_BY_STAFF:
        nrows = d->nstaff;
        if (nrows > 0) {
            staff_row = qms_malloc((size_t)nrows * sizeof *staff_row);
            staff_order = qms_malloc((size_t)nrows * sizeof *staff_order);
            if (!staff_row || !staff_order)
                goto nomem;
            for (int i = 0; i < nrows; i++)
                staff_order[i] = i;
            sort_staff_d = d;
            qsort(staff_order, (size_t)nrows, sizeof *staff_order, cmp_staff);
            for (int i = 0; i < nrows; i++)
                staff_row[staff_order[i]] = i;
        }
        break;
    }
    if (nrows > 0) {
        out->rows = qms_calloc((size_t)nrows, sizeof *out->rows);
        if (!out->rows)
            goto nomem;
    }
    out->nrows = nrows;
    for (int i = 0; i < nrows; i++) {
        report_row *r = &out->rows[i];
        switch (by) {
        case REPORT_BY_SERVICE:
            snprintf(r->key, sizeof r->key, "%s", d->svcs[i].code);
            snprintf(r->name, sizeof r->name, "%s",
                     pick_name(d->svcs[i].name_vi, d->svcs[i].name_en, en));
            break;
        case REPORT_BY_COUNTER:
            snprintf(r->key, sizeof r->key, "%d", d->ctrs[i].id);
            snprintf(r->name, sizeof r->name, "%s",
                     pick_name(d->ctrs[i].name_vi, d->ctrs[i].name_en, en));
            r->fig.taken = -1; /* a counter does not take tickets */
            break;
        case REPORT_BY_HOUR:
            snprintf(r->key, sizeof r->key, "%02d:00-%02d:00", first_hour + i, first_hour + i + 1);
            break;
        case REPORT_BY_DAY:
            qms_day_str(from + i, r->key);
            break;
        case REPORT_BY_SITE:
            /* a site's own store without --config does not know its name */
            snprintf(r->key, sizeof r->key, "%s",
                     d->sites[i].name[0] ? d->sites[i].name : en ? "(this store)" : "(kho này)");
            break;
        case REPORT_BY_PRIORITY:
            snprintf(r->key, sizeof r->key, "%s", report_kind_code(i));
            snprintf(r->name, sizeof r->name, "%s", report_kind_name(i, en));
            break;
        case REPORT_BY_STAFF: {
            const char *who = d->staff[staff_order[i]];
            snprintf(r->key, sizeof r->key, "%s",
                     *who ? who : en ? "(not signed in)" : "(không đăng nhập)");
            r->fig.taken = -1; /* staff do not take tickets */
            r->fig.transferred = -1;
            break;
        }
        }
    }

    report_fig *tot = &out->total.fig;
    for (int i = 0; i < d->nt; i++) {
        const report_ticket *t = &d->t[i];
        report_fig *taken_in = NULL, *outcome_in = NULL;
        switch (by) {
        case REPORT_BY_SERVICE:
            taken_in = &out->rows[t->orig_svc].fig;
            outcome_in = &out->rows[t->svc].fig;
            break;
        case REPORT_BY_COUNTER:
            outcome_in = t->counter >= 0 ? &out->rows[t->counter].fig : NULL;
            break;
        case REPORT_BY_HOUR: {
            int h = qms_local_sec(t->taken_ms, t->utc_offset_min) / 3600;
            taken_in = outcome_in = &out->rows[h - first_hour].fig;
            break;
        }
        case REPORT_BY_DAY:
            if (t->day >= from && t->day <= to)
                taken_in = outcome_in = &out->rows[t->day - from].fig;
            break;
        case REPORT_BY_SITE:
            if (t->site >= 0 && t->site < out->nrows)
                taken_in = outcome_in = &out->rows[t->site].fig;
            break;
        case REPORT_BY_PRIORITY:
            taken_in = outcome_in = &out->rows[t->kind].fig;
            break;
        case REPORT_BY_STAFF:
            outcome_in = t->staff >= 0 ? &out->rows[staff_row[t->staff]].fig : NULL;
            break;
        }
        if (taken_in) {
            taken_in->taken++;
            taken_in->transferred += t->transfers > 0;
        }
        if (outcome_in && add_outcome(outcome_in, t, levels) != QMS_OK)
            goto nomem;
        tot->taken++;
        tot->transferred += t->transfers > 0;
        if (add_outcome(tot, t, levels) != QMS_OK)
            goto nomem;
    }
    if (by == REPORT_BY_COUNTER && d->ntr > 0) {
        /* tickets each counter transferred, each ticket once per counter */
        report_transfer *tr = qms_malloc((size_t)d->ntr * sizeof *tr);
        if (!tr)
            goto nomem;
        memcpy(tr, d->tr, (size_t)d->ntr * sizeof *tr);
        qsort(tr, (size_t)d->ntr, sizeof *tr, cmp_transfer);
        for (int i = 0; i < d->ntr; i++)
            if (i == 0 || cmp_transfer(&tr[i - 1], &tr[i]) != 0)
                out->rows[tr[i].counter].fig.transferred++;
        qms_free(tr);
    }
    for (int i = 0; i < out->nrows; i++)
        fig_finish(&out->rows[i].fig);
    fig_finish(tot);
    qms_free(staff_row);
    qms_free(staff_order);
    return QMS_OK;
nomem:
    qms_free(staff_row);
    qms_free(staff_order);
    report_free(out);
    return QMS_ERR_NOMEM;
}
