/* Day replay (replay.h): the trace reader, the simulated staff, the tickets
 * file, the classical expected-wait predictors and the summary. */
#include "replay.h"

#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DAY0_S (7 * 3600) /* trace times count from 07:00 local */
#define LES_NONE 0        /* last-to-enter-service before anyone was called */
#define QL_RECENT 10      /* queue-length: mean of the last this many service times */

/* ------------------------------------------------------------------ */
/* the trace */

/* A plain decimal integer in [lo, hi]: no sign, no spaces, no fraction. */
static int parse_int(const char *s, long lo, long hi, int32_t *out)
{
    if (!s || !*s)
        return QMS_ERR_INVAL;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return QMS_ERR_INVAL;
        v = v * 10 + (*p - '0');
        if (v > hi)
            return QMS_ERR_INVAL;
    }
    if (v < lo)
        return QMS_ERR_INVAL;
    *out = (int32_t)v;
    return QMS_OK;
}

void qms_trace_free(qms_trace *t)
{
    if (!t)
        return;
    qms_free(t->rows);
    t->rows = NULL;
    t->n = 0;
}

int qms_trace_parse(const char *text, size_t len, qms_trace *out, char *err, size_t errlen)
{
    static const char *const cols[] = {"arrive_s", "service", "priority", "service_s", "no_show"};
    memset(out, 0, sizeof *out);
    qms_csv r;
    qms_csv_init(&r, text, len);
    int rc = qms_csv_next(&r);
    if (rc <= 0) {
        qms_say(err, errlen, rc == 0 ? "the trace is empty" : "line 1: unreadable header");
        qms_csv_free(&r);
        return rc == -QMS_ERR_NOMEM ? QMS_ERR_NOMEM : QMS_ERR_INVAL;
    }
    int idx[5];
    for (int k = 0; k < 5; k++) {
        idx[k] = qms_csv_find(&r, cols[k]);
        if (idx[k] < 0) {
            qms_say(err, errlen, "line %d: the header has no column '%s'", r.line, cols[k]);
            qms_csv_free(&r);
            return QMS_ERR_INVAL;
        }
    }
    int cap = 0, ret = QMS_OK;
    while ((rc = qms_csv_next(&r)) == 1) {
        qms_trace_row row;
        memset(&row, 0, sizeof row);
        row.line = r.line;
        int need = 0;
        for (int k = 0; k < 5; k++)
            if (idx[k] >= need)
                need = idx[k] + 1;
        if (r.nfields < need) {
            qms_say(err, errlen, "line %d: %d fields, the header has %d", r.line, r.nfields, need);
            ret = QMS_ERR_INVAL;
            break;
        }
        const char *svc = r.fields[idx[1]];
        int32_t prio = 0, ns = 0;
        if (parse_int(r.fields[idx[0]], 0, 86400 - DAY0_S - 1, &row.arrive_s)) {
            qms_say(err, errlen,
                    "line %d: arrive_s '%.20s' is not a whole number of seconds in 0..%d", r.line,
                    r.fields[idx[0]], 86400 - DAY0_S - 1);
            ret = QMS_ERR_INVAL;
        } else if (!*svc || strlen(svc) >= sizeof row.service) {
            qms_say(err, errlen, "line %d: service code '%.20s' is empty or too long", r.line, svc);
            ret = QMS_ERR_INVAL;
        } else if (parse_int(r.fields[idx[2]], 0, 2, &prio)) {
            qms_say(err, errlen, "line %d: priority '%.20s' is not 0, 1 or 2", r.line,
                    r.fields[idx[2]]);
            ret = QMS_ERR_INVAL;
        } else if (parse_int(r.fields[idx[3]], 0, 86400, &row.service_s)) {
            qms_say(err, errlen, "line %d: service_s '%.20s' is not a whole number of seconds",
                    r.line, r.fields[idx[3]]);
            ret = QMS_ERR_INVAL;
        } else if (parse_int(r.fields[idx[4]], 0, 1, &ns)) {
            qms_say(err, errlen, "line %d: no_show '%.20s' is not 0 or 1", r.line,
                    r.fields[idx[4]]);
            ret = QMS_ERR_INVAL;
        } else if (out->n >= QMS_TRACE_MAX_ROWS) {
            qms_say(err, errlen, "line %d: more than %d arrivals", r.line, QMS_TRACE_MAX_ROWS);
            ret = QMS_ERR_TOO_LARGE;
        }
        if (ret != QMS_OK)
            break;
        snprintf(row.service, sizeof row.service, "%s", svc);
        row.priority = prio;
        row.no_show = ns;
        if (out->n == cap) {
            int ncap = cap ? cap * 2 : 256;
            qms_trace_row *nr = qms_realloc(out->rows, (size_t)ncap * sizeof *nr);
            if (!nr) {
                qms_say(err, errlen, "out of memory");
                ret = QMS_ERR_NOMEM;
                break;
            }
            out->rows = nr;
            cap = ncap;
        }
        out->rows[out->n++] = row;
    }
    if (ret == QMS_OK && rc < 0) {
        qms_say(err, errlen, "line %d: %s", r.line + 1,
                rc == -QMS_ERR_NOMEM ? "out of memory" : "malformed CSV (unterminated quote?)");
        ret = rc == -QMS_ERR_NOMEM ? QMS_ERR_NOMEM : QMS_ERR_INVAL;
    }
    qms_csv_free(&r);
    if (ret != QMS_OK)
        qms_trace_free(out);
    return ret;
}

int qms_trace_load(const char *path, qms_trace *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = qms_read_file(path, &text, &len, (size_t)256 << 20);
    if (rc != QMS_OK) {
        qms_say(err, errlen, "%s: cannot read (%s)", path, qms_err_code(rc));
        return rc;
    }
    char msg[256];
    rc = qms_trace_parse(text, len, out, msg, sizeof msg);
    if (rc != QMS_OK)
        qms_say(err, errlen, "%s: %s", path, msg);
    qms_free(text);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the replay */

void qms_replay_opts_default(qms_replay_opts *o)
{
    memset(o, 0, sizeof *o);
    o->sync = QMS_STORE_SYNC_FULL;
    qms_day_parse("2026-01-05", &o->date);
    o->until_s = -1;
    o->recall_after_s = 60;
    o->skip_after_s = 120;
}

enum { STAFF_IDLE = 0, STAFF_SERVING, STAFF_CALLING };

/* What the simulated clerk at one counter is doing. */
typedef struct staff {
    int mode;
    int64_t ticket;
    int64_t due_ms;   /* SERVING: when done; CALLING: the next recall or skip */
    int64_t first_ms; /* CALLING: the first call */
    int recalled;
} staff;

typedef struct run {
    const qms_config *c;
    const qms_trace *tr;
    const qms_replay_opts *o;
    qms_replay_result *out;
    qms_vclock clk;
    qms_engine *e;
    qms_store *s;
    int64_t base_ms; /* 07:00 of the day */
    int *order;      /* trace rows by (arrive_s, file order) */
    int *svc;        /* per trace row: service index */
    int64_t *map_id; /* ticket ids in take order ... */
    int *map_row;    /* ... and their trace rows */
    int nmap, capmap;
    staff st[QMS_MAX_COUNTERS];
    unsigned char away[QMS_MAX_COUNTERS]; /* leave_open plans: the clerk is not there */
} run;

static int map_add(run *R, int64_t id, int row)
{
    if (R->nmap == R->capmap) {
        int ncap = R->capmap ? R->capmap * 2 : 256;
        int64_t *ni = qms_realloc(R->map_id, (size_t)ncap * sizeof *ni);
        if (ni)
            R->map_id = ni;
        int *nr = qms_realloc(R->map_row, (size_t)ncap * sizeof *nr);
        if (nr)
            R->map_row = nr;
        if (!ni || !nr)
            return QMS_ERR_NOMEM;
        R->capmap = ncap;
    }
    R->map_id[R->nmap] = id;
    R->map_row[R->nmap] = row;
    R->nmap++;
    return QMS_OK;
}

static int map_row(const run *R, int64_t id)
{
    int lo = 0, hi = R->nmap - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (R->map_id[mid] == id)
            return R->map_row[mid];
        if (R->map_id[mid] < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static const qms_trace *sort_trace; /* qsort has no context argument */

static int cmp_order(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    int32_t ax = sort_trace->rows[x].arrive_s, ay = sort_trace->rows[y].arrive_s;
    if (ax != ay)
        return ax < ay ? -1 : 1;
    return (x > y) - (x < y);
}

static int64_t arrive_ms(const run *R, int k)
{
    return R->base_ms + (int64_t)R->tr->rows[R->order[k]].arrive_s * 1000;
}

/* The clerk called ticket t at counter ci at now: a citizen who comes sits
 * down at once; one who does not is recalled, then skipped. */
static int staff_called(run *R, int ci, const qms_ticket *t, int64_t now)
{
    int row = map_row(R, t->id);
    staff *st = &R->st[ci];
    st->ticket = t->id;
    if (row >= 0 && R->tr->rows[row].no_show) {
        st->mode = STAFF_CALLING;
        st->first_ms = t->first_called_ms ? t->first_called_ms : now;
        st->recalled = t->ncalls >= 2;
        st->due_ms = st->first_ms +
                     (int64_t)(st->recalled ? R->o->skip_after_s : R->o->recall_after_s) * 1000;
        return QMS_OK;
    }
    if (t->state == QMS_T_CALLED) {
        int rc = qms_engine_start(R->e, ci);
        if (rc != QMS_OK)
            return rc;
        R->out->operations++;
    }
    const qms_ticket *now_t = qms_engine_ticket(R->e, st->ticket);
    int32_t service_s = row >= 0 ? R->tr->rows[row].service_s : 0;
    st->mode = STAFF_SERVING;
    st->due_ms = now_t->start_ms + (int64_t)service_s * 1000;
    return QMS_OK;
}

/* Everything that happens at virtual instant now, in a fixed order: the
 * clerks' due actions (done, recall, skip) by counter, then the arrivals in
 * trace order, then every free open counter calls next, by counter; again
 * until nothing changes (a zero-length service frees a counter at once). */
static int play_instant(run *R, int64_t now, int *k)
{
    const qms_config *c = R->c;
    int first = 1;
    for (;;) {
        int progress = 0;
        for (int ci = 0; ci < c->ncounters; ci++) {
            staff *st = &R->st[ci];
            if (st->mode == STAFF_IDLE || st->due_ms > now)
                continue;
            int rc;
            if (st->mode == STAFF_SERVING) {
                rc = qms_engine_done(R->e, ci, NULL);
                st->mode = STAFF_IDLE;
            } else if (!st->recalled) {
                rc = qms_engine_recall(R->e, ci, NULL);
                st->recalled = 1;
                st->due_ms = st->first_ms + (int64_t)R->o->skip_after_s * 1000;
            } else {
                rc = qms_engine_skip(R->e, ci, NULL);
                st->mode = STAFF_IDLE;
            }
            if (rc != QMS_OK)
                return rc;
            R->out->operations++;
            progress = 1;
        }
        while (first && *k < R->tr->n && arrive_ms(R, *k) <= now) {
            int row = R->order[*k];
            const qms_trace_row *tr = &R->tr->rows[row];
            qms_take_result res;
            int rc = qms_engine_take(R->e, R->svc[row], tr->priority, NULL, &res);
            if (rc == QMS_OK) {
                R->out->operations++;
                if ((rc = map_add(R, res.ticket->id, row)) != QMS_OK)
                    return rc;
            } else if (rc == QMS_ERR_NOMEM) {
                return rc;
            } else {
                R->out->refused++;
                R->out->refused_by[rc]++;
            }
            (*k)++;
        }
        first = 0;
        for (int ci = 0; ci < c->ncounters; ci++) {
            if (R->st[ci].mode != STAFF_IDLE || R->away[ci])
                continue;
            const qms_counter_state *cs = qms_engine_counter(R->e, ci);
            if (cs->state != QMS_C_OPEN)
                continue;
            const qms_ticket *t = NULL;
            int rc = qms_engine_next(R->e, ci, &t);
            if (rc == QMS_ERR_NOTHING_TO_CALL)
                continue;
            if (rc != QMS_OK)
                return rc;
            R->out->operations++;
            if ((rc = staff_called(R, ci, t, now)) != QMS_OK)
                return rc;
            progress = 1;
        }
        if (!progress)
            return QMS_OK;
    }
}

/* The staffing plan's slot i starts: counters it closes pause, those it
 * opens resume. */
static int apply_slot(run *R, int i)
{
    const qms_replay_staffing *p = R->o->staffing;
    for (int ci = 0; ci < R->c->ncounters; ci++) {
        const qms_counter_state *cs = qms_engine_counter(R->e, ci);
        int want = p->open[(size_t)i * (size_t)p->ncounters + (size_t)ci] != 0;
        if (p->leave_open) {
            /* the counter's state stays as it is; only the clerk comes or goes */
            R->away[ci] = !want;
            continue;
        }
        int rc = QMS_OK;
        if (want && cs->state != QMS_C_OPEN)
            rc = qms_engine_resume(R->e, ci);
        else if (!want && cs->state == QMS_C_OPEN)
            rc = qms_engine_pause(R->e, ci);
        else
            continue;
        if (rc != QMS_OK)
            return rc;
        R->out->operations++;
    }
    return QMS_OK;
}

static int64_t slot_ms(const run *R, int i)
{
    return R->base_ms + (int64_t)R->o->staffing->from_s[i] * 1000;
}

static int commit(run *R, char *err, size_t errlen)
{
    if (qms_engine_journal_len(R->e) == 0)
        return QMS_OK;
    int rc = qms_store_commit(R->s, R->e);
    if (rc != QMS_OK) {
        qms_say(err, errlen, "%s: the store could not commit (%s)", R->o->db_path,
                qms_err_code(rc));
        return rc;
    }
    R->out->commits++;
    return QMS_OK;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The store already holds this day: tie its tickets back to the trace rows
 * (in order: each ticket is the next row with its arrival, service and
 * priority; rows in between were refused), rebuild what each clerk was doing,
 * and go on from the last moment anything happened. */
static int resume(run *R, int *k, int64_t *now, char *err, size_t errlen)
{
    const qms_config *c = R->c;
    int64_t last = R->base_ms;
    int n = qms_engine_ticket_count(R->e);
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(R->e, i);
        for (;;) {
            if (*k >= R->tr->n || arrive_ms(R, *k) > t->taken_ms) {
                qms_say(err, errlen,
                        "%s holds ticket %s (taken at %+.0f s) that the trace does not have: "
                        "the store belongs to another replay",
                        R->o->db_path, t->label, (double)(t->taken_ms - R->base_ms) / 1000.0);
                return QMS_ERR_INVAL;
            }
            int row = R->order[*k];
            const qms_trace_row *tr = &R->tr->rows[row];
            (*k)++;
            if (arrive_ms(R, *k - 1) == t->taken_ms && R->svc[row] == t->orig_service &&
                tr->priority == t->priority) {
                int rc = map_add(R, t->id, row);
                if (rc != QMS_OK)
                    return rc;
                break;
            }
            R->out->refused++;
            R->out->refused_by[qms_config_service_open(c, R->svc[row], DAY0_S + tr->arrive_s)
                                   ? QMS_ERR_CAP_REACHED
                                   : QMS_ERR_OUTSIDE_HOURS]++;
        }
        last = max64(last, max64(max64(t->taken_ms, t->called_ms), max64(t->start_ms, t->end_ms)));
    }
    for (int ci = 0; ci < c->ncounters; ci++)
        last = max64(last, qms_engine_counter(R->e, ci)->since_ms);
    /* rows up to that moment that have no ticket were refused then */
    while (*k < R->tr->n && arrive_ms(R, *k) <= last) {
        int row = R->order[*k];
        R->out->refused++;
        R->out
            ->refused_by[qms_config_service_open(c, R->svc[row], DAY0_S + R->tr->rows[row].arrive_s)
                             ? QMS_ERR_CAP_REACHED
                             : QMS_ERR_OUTSIDE_HOURS]++;
        (*k)++;
    }
    *now = last;
    qms_vclock_set(&R->clk, last);
    for (int ci = 0; ci < c->ncounters; ci++) {
        const qms_counter_state *cs = qms_engine_counter(R->e, ci);
        if (!cs->current)
            continue;
        const qms_ticket *t = qms_engine_ticket(R->e, cs->current);
        int rc = staff_called(R, ci, t, last);
        if (rc != QMS_OK)
            return rc;
    }
    R->out->resumed = 1;
    R->out->resumed_at_s = (int32_t)((last - R->base_ms) / 1000);
    return QMS_OK;
}

/* The classical predictors for every ticket, from what was known when it was
 * taken (see docs/eta.md): events of one instant happen in play_instant's
 * order, so at a take at time T the calls of T are still to come and the
 * services that ended at T are known. */
void qms_replay_predictors(const qms_config *c, qms_replay_result *r)
{
    /* queue length's servers: every counter that can call the service,
     * shared with other services or not (the multi-skill extension of the
     * predictor; docs/eta.md says why, and what an equal share gave) */
    int servers[QMS_MAX_SERVICES] = {0};
    for (int si = 0; si < c->nservices; si++)
        for (int ci = 0; ci < c->ncounters; ci++)
            servers[si] += qms_config_counter_serves(c, ci, si) != 0;
    for (int y = 0; y < r->n; y++) {
        qms_replay_ticket *Y = &r->t[y];
        int32_t T = Y->arrive_s;
        /* last to enter service: the most recent first call of its service */
        int best = -1;
        /* queue length: of its service, taken before it and not yet called */
        int ahead = 0;
        /* recent mean service time: the last QL_RECENT finished services */
        int32_t rec_end[QL_RECENT], rec_len[QL_RECENT];
        int64_t rec_id[QL_RECENT];
        int nrec = 0;
        for (int x = 0; x < r->n; x++) {
            const qms_replay_ticket *X = &r->t[x];
            if (X->service != Y->service)
                continue;
            if (X->called_s >= 0 && X->called_s < T &&
                (best < 0 || X->called_s > r->t[best].called_s ||
                 (X->called_s == r->t[best].called_s && X->id > r->t[best].id)))
                best = x;
            if (X->id < Y->id && (X->called_s < 0 || X->called_s >= T) &&
                (X->end_s < 0 || X->end_s >= T))
                ahead++;
            if (X->done_s >= 0 && X->done_s <= T && X->start_s >= 0) {
                /* keep the QL_RECENT latest (by end, then id) */
                int pos = nrec;
                if (nrec == QL_RECENT) {
                    int oldest = 0;
                    for (int q = 1; q < nrec; q++)
                        if (rec_end[q] < rec_end[oldest] ||
                            (rec_end[q] == rec_end[oldest] && rec_id[q] < rec_id[oldest]))
                            oldest = q;
                    if (X->done_s < rec_end[oldest] ||
                        (X->done_s == rec_end[oldest] && X->id < rec_id[oldest]))
                        continue;
                    pos = oldest;
                } else {
                    nrec++;
                }
                rec_end[pos] = X->done_s;
                rec_len[pos] = X->done_s - X->start_s;
                rec_id[pos] = X->id;
            }
        }
        Y->les_s = best >= 0 ? r->t[best].called_s - r->t[best].arrive_s : LES_NONE;
        double mean = c->services[Y->service].mean_service_s;
        if (nrec > 0) {
            int64_t sum = 0;
            for (int q = 0; q < nrec; q++)
                sum += rec_len[q];
            mean = (double)sum / nrec;
        }
        Y->queue_s =
            servers[Y->service] ? (int32_t)((ahead + 1) * mean / servers[Y->service] + 0.5) : -1;
    }
}

static int32_t rel_s(int64_t ms, int64_t base)
{
    return ms ? (int32_t)((ms - base) / 1000) : -1;
}

static int collect(run *R)
{
    qms_replay_result *r = R->out;
    int n = qms_engine_ticket_count(R->e);
    r->t = qms_calloc((size_t)(n ? n : 1), sizeof *r->t);
    if (!r->t)
        return QMS_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(R->e, i);
        qms_replay_ticket *o = &r->t[i];
        o->id = t->id;
        snprintf(o->label, sizeof o->label, "%s", t->label);
        o->service = t->orig_service;
        o->priority = t->priority;
        o->arrive_s = rel_s(t->taken_ms, R->base_ms);
        o->eta_s = t->eta_s;
        o->called_s = rel_s(t->first_called_ms, R->base_ms);
        /* the replay never transfers or calls by number: the last call's
         * counter is the first call's */
        o->counter = t->counter >= 0 ? R->c->counters[t->counter].id : -1;
        o->state = t->state;
        o->no_show = t->state == QMS_T_NOSHOW;
        o->start_s = t->state == QMS_T_NOSHOW ? -1 : rel_s(t->start_ms, R->base_ms);
        o->done_s = t->state == QMS_T_DONE ? rel_s(t->end_ms, R->base_ms) : -1;
        o->end_s =
            t->state == QMS_T_DONE || t->state == QMS_T_NOSHOW ? rel_s(t->end_ms, R->base_ms) : -1;
        o->trace_row = map_row(R, t->id);
    }
    r->n = n;
    qms_replay_predictors(R->c, r);
    return QMS_OK;
}

int qms_replay_run(const qms_config *c, const qms_trace *tr, const qms_replay_opts *o,
                   qms_replay_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int64_t wall0 = qms_mono_ns();
    if (!o->db_path) {
        qms_say(err, errlen, "no database file given");
        return QMS_ERR_INVAL;
    }
    const qms_replay_staffing *plan = o->staffing;
    if (plan) {
        int bad =
            plan->nslots < 1 || plan->ncounters != c->ncounters || !plan->from_s || !plan->open;
        for (int i = 1; !bad && i < plan->nslots; i++)
            bad = plan->from_s[i] <= plan->from_s[i - 1];
        if (bad) {
            qms_say(err, errlen,
                    "the staffing plan has no slots, slots out of order, or not %d "
                    "counters",
                    c->ncounters);
            return QMS_ERR_INVAL;
        }
    }
    run *R = qms_calloc(1, sizeof *R);
    if (!R) {
        qms_say(err, errlen, "out of memory");
        return QMS_ERR_NOMEM;
    }
    R->c = c;
    R->tr = tr;
    R->o = o;
    R->out = out;
    R->base_ms = qms_local_to_epoch_ms(o->date, DAY0_S, c->utc_offset_min);
    int rc = QMS_OK;
    R->order = qms_malloc((size_t)(tr->n ? tr->n : 1) * sizeof *R->order);
    R->svc = qms_malloc((size_t)(tr->n ? tr->n : 1) * sizeof *R->svc);
    if (!R->order || !R->svc) {
        qms_say(err, errlen, "out of memory");
        rc = QMS_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < tr->n; i++) {
        R->order[i] = i;
        R->svc[i] = qms_config_service_index(c, tr->rows[i].service);
        if (R->svc[i] < 0) {
            qms_say(err, errlen, "trace line %d: service '%s' is not in the configuration",
                    tr->rows[i].line, tr->rows[i].service);
            rc = QMS_ERR_UNKNOWN_SERVICE;
            goto done;
        }
    }
    sort_trace = tr;
    qsort(R->order, (size_t)tr->n, sizeof *R->order, cmp_order);

    qms_vclock_init(&R->clk, R->base_ms);
    if ((rc = qms_engine_new(c, &R->clk.clock, &R->e)) != QMS_OK) {
        qms_say(err, errlen, "out of memory");
        goto done;
    }
    qms_store_opts so = {o->sync, 0};
    if ((rc = qms_store_open_ex(o->db_path, &so, &R->s)) != QMS_OK) {
        qms_say(err, errlen, "%s: cannot open the store (%s)", o->db_path, qms_err_code(rc));
        goto done;
    }
    if ((rc = qms_store_load(R->s, R->e)) != QMS_OK) {
        qms_say(err, errlen, "%s: cannot load the store (%s)", o->db_path, qms_err_code(rc));
        goto done;
    }
    /* what qms-report needs to read this day: its UTC offset and rating scale */
    if ((rc = qms_store_record_settings(R->s, qms_engine_day(R->e), c->utc_offset_min,
                                        c->rating_levels, R->base_ms)) != QMS_OK) {
        qms_say(err, errlen, "%s: cannot record the day's settings (%s)", o->db_path,
                qms_err_code(rc));
        goto done;
    }
    int k = 0, slot = 0; /* slot: the staffing plan's next slot to start */
    int64_t now = R->base_ms;
    if (qms_engine_ticket_count(R->e) > 0) {
        if ((rc = resume(R, &k, &now, err, errlen)) != QMS_OK)
            goto done;
        /* the slots that started up to then are in the counters' stored states
         * (or, for leave_open, in who is there: the latest such slot) */
        while (plan && slot < plan->nslots && slot_ms(R, slot) <= now)
            slot++;
        if (plan && plan->leave_open)
            for (int ci = 0; ci < c->ncounters; ci++)
                R->away[ci] = !plan->open[(size_t)(slot ? slot - 1 : 0) * (size_t)c->ncounters +
                                          (size_t)ci];
    } else if (plan) {
        /* the staff of the first slot arrive */
        if ((rc = apply_slot(R, 0)) != QMS_OK) {
            qms_say(err, errlen, "the engine refused the staffing plan: %s", qms_err_code(rc));
            goto done;
        }
        slot = 1;
        /* leave_open: every counter is open from the start, staffed or not */
        for (int ci = 0; plan->leave_open && ci < c->ncounters; ci++)
            if (qms_engine_counter(R->e, ci)->state != QMS_C_OPEN &&
                qms_engine_resume(R->e, ci) == QMS_OK)
                out->operations++;
    } else {
        /* the staff arrive: every counter opens */
        for (int ci = 0; ci < c->ncounters; ci++)
            if (qms_engine_counter(R->e, ci)->state != QMS_C_OPEN &&
                qms_engine_resume(R->e, ci) == QMS_OK)
                out->operations++;
    }
    if ((rc = commit(R, err, errlen)) != QMS_OK)
        goto done;
    int64_t until_ms = o->until_s >= 0 ? R->base_ms + (int64_t)o->until_s * 1000 : INT64_MAX;
    for (;;) {
        int64_t next = INT64_MAX;
        if (k < tr->n)
            next = arrive_ms(R, k);
        for (int ci = 0; ci < c->ncounters; ci++)
            if (R->st[ci].mode != STAFF_IDLE && R->st[ci].due_ms < next)
                next = R->st[ci].due_ms;
        if (plan && slot < plan->nslots && slot_ms(R, slot) < next)
            next = slot_ms(R, slot);
        if (next == INT64_MAX)
            break;
        if (next >= until_ms) {
            out->stopped = 1;
            break;
        }
        now = next > now ? next : now;
        qms_vclock_set(&R->clk, now);
        /* a slot's staff change first, then the instant is played */
        while (plan && slot < plan->nslots && slot_ms(R, slot) <= now) {
            if ((rc = apply_slot(R, slot)) != QMS_OK) {
                qms_say(err, errlen, "the engine refused the staffing plan at %+.0f s: %s",
                        (double)(now - R->base_ms) / 1000.0, qms_err_code(rc));
                goto done;
            }
            slot++;
        }
        rc = play_instant(R, now, &k);
        if (rc != QMS_OK) {
            qms_say(err, errlen, "the engine failed at %+.0f s: %s",
                    (double)(now - R->base_ms) / 1000.0, qms_err_code(rc));
            goto done;
        }
        /* one transaction per virtual instant (group commit) */
        if ((rc = commit(R, err, errlen)) != QMS_OK)
            goto done;
    }
    rc = collect(R);
    if (rc != QMS_OK)
        qms_say(err, errlen, "out of memory");
done:
    qms_store_close(R->s);
    qms_engine_free(R->e);
    qms_free(R->order);
    qms_free(R->svc);
    qms_free(R->map_id);
    qms_free(R->map_row);
    qms_free(R);
    out->wall_s = (double)(qms_mono_ns() - wall0) / 1e9;
    return rc;
}

void qms_replay_result_free(qms_replay_result *r)
{
    if (!r)
        return;
    qms_free(r->t);
    r->t = NULL;
    r->n = 0;
}

/* ------------------------------------------------------------------ */
/* output */

static void put_opt(FILE *f, int32_t v)
{
    if (v >= 0)
        fprintf(f, "%d", (int)v);
}

int qms_replay_write_csv(const qms_config *c, const qms_replay_result *r, FILE *f)
{
    fprintf(f, "ticket,service,priority,arrive_s,eta_s,called_s,counter,start_s,done_s,no_show,"
               "wait_s,eta_les_s,eta_queue_s,state\n");
    for (int i = 0; i < r->n; i++) {
        const qms_replay_ticket *t = &r->t[i];
        fprintf(f, "%s,%s,%d,%d,%d,", t->label, c->services[t->service].code, t->priority,
                (int)t->arrive_s, (int)t->eta_s);
        put_opt(f, t->called_s);
        fputc(',', f);
        if (t->counter >= 0)
            fprintf(f, "%d", t->counter);
        fputc(',', f);
        put_opt(f, t->start_s);
        fputc(',', f);
        put_opt(f, t->done_s);
        fprintf(f, ",%d,", t->no_show);
        put_opt(f, t->called_s >= 0 ? t->called_s - t->arrive_s : -1);
        fputc(',', f);
        put_opt(f, t->les_s);
        fputc(',', f);
        put_opt(f, t->queue_s);
        fprintf(f, ",%s\n", qms_tstate_name(t->state));
    }
    return ferror(f) ? QMS_ERR_IO : QMS_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank 90th percentile of n values (sorted in place). */
static int32_t p90(int32_t *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_i32);
    int rank = (9 * n + 9) / 10; /* ceil(0.9 n) */
    return v[rank - 1];
}

typedef struct {
    int32_t from, to;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->from > y->from) - (x->from < y->from);
}

/* Seconds of [from, to) inside the opening hours (trace time, after 07:00). */
static int32_t inside_hours(const qms_config *c, int32_t from, int32_t to)
{
    int32_t in = 0;
    for (int h = 0; h < c->nhours; h++) {
        int32_t a = c->hours[h].open_s - DAY0_S, b = c->hours[h].close_s - DAY0_S;
        if (a < from)
            a = from;
        if (b > to)
            b = to;
        if (b > a)
            in += b - a;
    }
    return in;
}

/* Staff are there during the opening hours, and outside them (over lunch,
 * after closing) for as long as any counter still serves a citizen who took
 * a ticket: the simulated clerks keep calling then. Counting only the
 * opening hours and the time after the last closing made a counter that
 * worked through lunch more than 100 % busy. */
static int32_t staff_available_s(const qms_config *c, const qms_replay_result *r)
{
    int32_t avail = 0;
    for (int h = 0; h < c->nhours; h++)
        avail += c->hours[h].close_s - c->hours[h].open_s;
    span *v = qms_malloc((size_t)(r->n ? r->n : 1) * sizeof *v);
    if (!v)
        return avail;
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->t[i].called_s >= 0 && r->t[i].end_s > r->t[i].called_s)
            v[n++] = (span){r->t[i].called_s, r->t[i].end_s};
    qsort(v, (size_t)n, sizeof *v, cmp_span);
    for (int i = 0; i < n;) {
        span u = v[i++];
        while (i < n && v[i].from <= u.to) {
            if (v[i].to > u.to)
                u.to = v[i].to;
            i++;
        }
        avail += (u.to - u.from) - inside_hours(c, u.from, u.to);
    }
    qms_free(v);
    return avail;
}

void qms_replay_summarize(const qms_config *c, const qms_replay_result *r, qms_replay_summary *s)
{
    memset(s, 0, sizeof *s);
    s->tickets = r->n;
    s->refused = r->refused;
    int32_t *all = qms_malloc((size_t)(r->n ? r->n : 1) * sizeof *all);
    int32_t *one = qms_malloc((size_t)(r->n ? r->n : 1) * sizeof *one);
    int nall = 0;
    int64_t wsum = 0;
    double ae = 0, al = 0, aq = 0, be = 0, bl = 0, bq = 0;
    s->last_end_s = 0;
    for (int i = 0; i < r->n; i++) {
        const qms_replay_ticket *t = &r->t[i];
        qms_replay_svc *sv = &s->svc[t->service];
        sv->taken++;
        if (t->end_s > s->last_end_s)
            s->last_end_s = t->end_s;
        if (t->no_show) {
            s->noshow++;
            sv->noshow++;
        }
        if (t->called_s < 0) {
            s->waiting++;
            sv->waiting++;
            continue;
        }
        int32_t w = t->called_s - t->arrive_s;
        s->called++;
        sv->called++;
        wsum += w;
        sv->wait_mean_s += w;
        if (all)
            all[nall++] = w;
        ae += abs(t->eta_s - w);
        be += t->eta_s - w;
        al += abs(t->les_s - w);
        bl += t->les_s - w;
        sv->mae_engine_s += abs(t->eta_s - w);
        if (t->queue_s >= 0) {
            aq += abs(t->queue_s - w);
            bq += t->queue_s - w;
        }
        int ci = qms_config_counter_index(c, t->counter);
        if (ci >= 0 && t->end_s >= 0) {
            s->ctr[ci].busy_s += t->end_s - t->called_s;
            if (t->no_show)
                s->ctr[ci].noshow++;
            else
                s->ctr[ci].served++;
        }
    }
    s->mae_n = s->called;
    if (s->called) {
        s->wait_mean_s = (double)wsum / s->called;
        s->mae_engine_s = ae / s->called;
        s->mae_les_s = al / s->called;
        s->mae_queue_s = aq / s->called;
        s->bias_engine_s = be / s->called;
        s->bias_les_s = bl / s->called;
        s->bias_queue_s = bq / s->called;
    }
    if (all)
        s->wait_p90_s = p90(all, nall);
    for (int si = 0; si < c->nservices; si++) {
        qms_replay_svc *sv = &s->svc[si];
        if (sv->called) {
            sv->wait_mean_s /= sv->called;
            sv->mae_engine_s /= sv->called;
        }
        int n = 0;
        for (int i = 0; i < r->n && one; i++)
            if (r->t[i].service == si && r->t[i].called_s >= 0)
                one[n++] = r->t[i].called_s - r->t[i].arrive_s;
        sv->wait_p90_s = p90(one, n);
    }
    s->span_s = staff_available_s(c, r);
    for (int ci = 0; ci < c->ncounters; ci++)
        s->ctr[ci].utilisation = s->span_s > 0 ? (double)s->ctr[ci].busy_s / s->span_s : 0;
    qms_free(all);
    qms_free(one);
}

static const char *clock_str(int32_t rel_s, char *buf, size_t n)
{
    int32_t t = rel_s + DAY0_S;
    snprintf(buf, n, "%02d:%02d:%02d", (int)(t / 3600), (int)(t / 60 % 60), (int)(t % 60));
    return buf;
}

static void print_json(const qms_config *c, const qms_replay_result *r, const qms_replay_summary *s,
                       FILE *f)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "tickets", s->tickets);
    cJSON_AddNumberToObject(j, "called", s->called);
    cJSON_AddNumberToObject(j, "noshow", s->noshow);
    cJSON_AddNumberToObject(j, "never_called", s->waiting);
    cJSON_AddNumberToObject(j, "refused", s->refused);
    cJSON_AddBoolToObject(j, "resumed", r->resumed);
    if (r->resumed)
        cJSON_AddNumberToObject(j, "resumed_at_s", r->resumed_at_s);
    cJSON_AddBoolToObject(j, "stopped", r->stopped);
    cJSON_AddNumberToObject(j, "wait_mean_s", s->wait_mean_s);
    cJSON_AddNumberToObject(j, "wait_p90_s", s->wait_p90_s);
    cJSON_AddNumberToObject(j, "last_end_s", s->last_end_s);
    cJSON_AddNumberToObject(j, "available_s", s->span_s);
    cJSON *eta = cJSON_AddObjectToObject(j, "eta_mae_s");
    cJSON_AddNumberToObject(eta, "engine", s->mae_engine_s);
    cJSON_AddNumberToObject(eta, "last_to_enter_service", s->mae_les_s);
    cJSON_AddNumberToObject(eta, "queue_length", s->mae_queue_s);
    cJSON *bias = cJSON_AddObjectToObject(j, "eta_bias_s");
    cJSON_AddNumberToObject(bias, "engine", s->bias_engine_s);
    cJSON_AddNumberToObject(bias, "last_to_enter_service", s->bias_les_s);
    cJSON_AddNumberToObject(bias, "queue_length", s->bias_queue_s);
    cJSON *svcs = cJSON_AddArrayToObject(j, "services");
    for (int si = 0; si < c->nservices; si++) {
        const qms_replay_svc *sv = &s->svc[si];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "service", c->services[si].code);
        cJSON_AddNumberToObject(o, "taken", sv->taken);
        cJSON_AddNumberToObject(o, "called", sv->called);
        cJSON_AddNumberToObject(o, "noshow", sv->noshow);
        cJSON_AddNumberToObject(o, "wait_mean_s", sv->wait_mean_s);
        cJSON_AddNumberToObject(o, "wait_p90_s", sv->wait_p90_s);
        cJSON_AddNumberToObject(o, "eta_mae_s", sv->mae_engine_s);
        cJSON_AddItemToArray(svcs, o);
    }
    cJSON *ctrs = cJSON_AddArrayToObject(j, "counters");
    for (int ci = 0; ci < c->ncounters; ci++) {
        const qms_replay_ctr *ct = &s->ctr[ci];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "counter", c->counters[ci].id);
        cJSON_AddNumberToObject(o, "served", ct->served);
        cJSON_AddNumberToObject(o, "noshow", ct->noshow);
        cJSON_AddNumberToObject(o, "busy_s", (double)ct->busy_s);
        cJSON_AddNumberToObject(o, "utilisation", ct->utilisation);
        cJSON_AddItemToArray(ctrs, o);
    }
    cJSON_AddNumberToObject(j, "commits", (double)r->commits);
    cJSON_AddNumberToObject(j, "operations", (double)r->operations);
    cJSON_AddNumberToObject(j, "wall_s", r->wall_s);
    char *txt = cJSON_PrintUnformatted(j);
    if (txt)
        fprintf(f, "%s\n", txt);
    cJSON_free(txt);
    cJSON_Delete(j);
}

void qms_replay_print_summary(const qms_config *c, const qms_replay_result *r,
                              const qms_replay_summary *s, int json, FILE *f)
{
    if (json) {
        print_json(c, r, s, f);
        return;
    }
    char b1[16], b2[16];
    fprintf(f, "%d tickets, %d refused, %d no-shows, %d never called", s->tickets, s->refused,
            s->noshow, s->waiting);
    if (r->resumed)
        fprintf(f, " (resumed at %s)", clock_str(r->resumed_at_s, b1, sizeof b1));
    if (r->stopped)
        fprintf(f, " (stopped early)");
    fprintf(f, "\nlast citizen left at %s; %lld operations in %lld commits, %.2f s\n",
            clock_str(s->last_end_s, b2, sizeof b2), (long long)r->operations,
            (long long)r->commits, r->wall_s);
    fprintf(f, "\nwait (minutes)   taken  called  no-show    mean     p90  eta MAE\n");
    for (int si = 0; si < c->nservices; si++) {
        const qms_replay_svc *sv = &s->svc[si];
        if (!sv->taken)
            continue;
        fprintf(f, "  %-12s %7d %7d %8d %7.1f %7.1f %8.1f\n", c->services[si].code, sv->taken,
                sv->called, sv->noshow, sv->wait_mean_s / 60, sv->wait_p90_s / 60.0,
                sv->mae_engine_s / 60);
    }
    fprintf(f, "  %-12s %7d %7d %8d %7.1f %7.1f %8.1f\n", "all", s->tickets, s->called, s->noshow,
            s->wait_mean_s / 60, s->wait_p90_s / 60.0, s->mae_engine_s / 60);
    fprintf(f,
            "\ncounter   served  no-show  busy (h)  utilisation (of %.2f h: opening hours"
            " + serving outside them)\n",
            s->span_s / 3600.0);
    for (int ci = 0; ci < c->ncounters; ci++) {
        const qms_replay_ctr *ct = &s->ctr[ci];
        fprintf(f, "  %-6d %7d %8d %9.2f %11.0f %%\n", c->counters[ci].id, ct->served, ct->noshow,
                ct->busy_s / 3600.0, ct->utilisation * 100);
    }
    fprintf(f,
            "\nexpected wait, mean absolute error over %d called tickets (bias):\n"
            "  engine                  %7.1f min (%+.1f)\n"
            "  last-to-enter-service   %7.1f min (%+.1f)\n"
            "  queue-length            %7.1f min (%+.1f)\n",
            s->mae_n, s->mae_engine_s / 60, s->bias_engine_s / 60, s->mae_les_s / 60,
            s->bias_les_s / 60, s->mae_queue_s / 60, s->bias_queue_s / 60);
}
