/* The queue engine: see engine.h for the contract and docs/eta.md for the
 * expected-wait method.
 *
 * Layout: today's tickets live in one array in id order (ids only grow, so a
 * binary search finds one). The tickets that wait are also kept in `wait`, a
 * list ordered by (taken time, id): the order of arrival, which a transfer
 * keeps because it keeps the taking time. Every choice of "who is next" —
 * the real one and the ones the expected-wait forecast makes — goes through
 * pick(), so the forecast follows exactly the policy the counters follow. */
#include "engine.h"

#include "qms/alloc.h"
#include "qms/calendar.h"
#include "qms/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A waiting ticket as the calling policy sees it. */
typedef struct wait_ent {
    int64_t id;
    int64_t taken_ms;
    int service;  /* service it waits for */
    int priority; /* 0 normal, 1 priority, 2 appointment */
    int target;   /* counter index it was sent to, -1 = any */
    int alive;    /* forecast scratch: still waiting in the simulation */
} wait_ent;

/* What today's finished tickets taught about a service. */
typedef struct svc_learn {
    int64_t occ_sum_ms; /* sum of counter occupancy (first call -> end) */
    int n;              /* how many */
    int32_t *occ_s;     /* each occupancy in seconds, ascending */
    int64_t *tail_s;    /* tail_s[i] = occ_s[i] + ... + occ_s[n-1]; tail_s[n] = 0 */
    int occ_cap, tail_cap;
} svc_learn;

struct qms_engine {
    const qms_config *cfg;
    const qms_clock *clock;
    int32_t day;     /* local day (after day_reset) the tickets belong to */
    int64_t next_id; /* id of the next ticket */
    qms_ticket *t;   /* today's tickets, ascending id */
    int nt, capt;
    wait_ent *wait; /* waiting tickets, ascending id (the order they were taken in) */
    int nw, capw;
    int32_t *issued; /* per service: highest number issued today, 0 if none */
    qms_counter_state *ctr;
    svc_learn *learn;
    qms_event *j; /* journal */
    int nj, capj;
    wait_ent *scratch; /* forecast copy of wait (+1 phantom) */
    int caps;
    /* kept up to date by every change, so that a take costs the same with 1
     * or 10,000 waiting (docs/engine.md, "Cost") */
    int taken_cls[QMS_MAX_SERVICES]
                 [2]; /* today's tickets per service issuing them, normal / priority */
    int nwait_cls[QMS_MAX_SERVICES][3]; /* waiting per service waited for, per priority */
    uint64_t work;                      /* waiting-list entries examined, ever (for tests) */
};

#define PRIOR_WEIGHT 4 /* the configured mean counts as this many observations */
/* Up to this many waiting tickets the forecast plays the policy forward
 * (O(waiting^2) entries examined, bounded by this constant); past it a
 * take's expected wait is O(counters) from the waiting counts, and a refresh
 * is O(waiting). */
#define FORECAST_EXACT 256
#define MAX_ARRIVALS 600 /* at most this many expected arrivals join a forecast */

const char *qms_tstate_name(qms_tstate s)
{
    static const char *n[] = {"waiting", "called", "serving", "done", "noshow", "cancelled"};
    return (unsigned)s < sizeof n / sizeof *n ? n[s] : "unknown";
}

const char *qms_cstate_name(qms_cstate s)
{
    static const char *n[] = {"open", "paused", "closed"};
    return (unsigned)s < sizeof n / sizeof *n ? n[s] : "unknown";
}

const char *qms_event_name(qms_event_kind k)
{
    static const char *n[] = {"take",     "call",   "recall", "start",   "done",   "skip",
                              "transfer", "cancel", "rate",   "counter", "new_day"};
    return (unsigned)k < sizeof n / sizeof *n ? n[k] : "unknown";
}

static int64_t now_ms(const qms_engine *e)
{
    return qms_now(e->clock);
}

/* The day a moment belongs to: the local day, shifted by day_reset so that a
 * center resetting at 05:00 keeps 00:00-04:59 on the previous day. */
static int32_t day_of(const qms_engine *e, int64_t ms)
{
    return qms_local_day(ms - (int64_t)e->cfg->day_reset_s * 1000, e->cfg->utc_offset_min);
}

/* ---------- growth helpers ---------- */

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return QMS_OK;
    int ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = qms_realloc(*p, (size_t)ncap * elem);
    if (!np)
        return QMS_ERR_NOMEM;
    *p = np;
    *cap = ncap;
    return QMS_OK;
}

/* Reserve room for the journal entries and waiting-list slots an operation
 * may add, so that once an operation starts changing state nothing can fail. */
static int reserve(qms_engine *e, int events, int waits, int tickets)
{
    int rc = grow((void **)&e->j, &e->capj, e->nj + events, sizeof *e->j);
    if (!rc)
        rc = grow((void **)&e->wait, &e->capw, e->nw + waits, sizeof *e->wait);
    if (!rc)
        rc = grow((void **)&e->t, &e->capt, e->nt + tickets, sizeof *e->t);
    if (!rc)
        rc = grow((void **)&e->scratch, &e->caps, e->nw + waits + 1 + MAX_ARRIVALS,
                  sizeof *e->scratch);
    return rc;
}

/* ---------- lookups ---------- */

static int ticket_index(const qms_engine *e, int64_t id)
{
    int lo = 0, hi = e->nt - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (e->t[mid].id == id)
            return mid;
        if (e->t[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const qms_ticket *qms_engine_ticket(const qms_engine *e, int64_t id)
{
    int i = ticket_index(e, id);
    return i < 0 ? NULL : &e->t[i];
}

static qms_ticket *ticket_mut(qms_engine *e, int64_t id)
{
    int i = ticket_index(e, id);
    return i < 0 ? NULL : &e->t[i];
}

/* Split a label into its prefix (the leading non-digits) and the value of
 * its digits; -1 when the rest is not all digits (or too many of them). */
static long label_number(const char *label, size_t *prefix_len)
{
    size_t p = 0;
    while (label[p] && (label[p] < '0' || label[p] > '9'))
        p++;
    *prefix_len = p;
    if (!label[p] || strlen(label + p) > 9)
        return -1;
    long v = 0;
    for (const char *d = label + p; *d; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        v = v * 10 + (*d - '0');
    }
    return v;
}

const qms_ticket *qms_engine_find_label(const qms_engine *e, const char *label)
{
    if (!label)
        return NULL;
    /* newest first: after a transfer labels stay unique within a day anyway */
    for (int i = e->nt - 1; i >= 0; i--)
        if (strcmp(e->t[i].label, label) == 0)
            return &e->t[i];
    /* a clerk types "A23" or "A0023" for "A023": the same prefix and number
     * is the same ticket (numbers are unique per prefix within a day) */
    size_t plen, tlen;
    long v = label_number(label, &plen);
    if (v < 0)
        return NULL;
    for (int i = e->nt - 1; i >= 0; i--)
        if (label_number(e->t[i].label, &tlen) == v && tlen == plen &&
            strncmp(e->t[i].label, label, plen) == 0)
            return &e->t[i];
    return NULL;
}

const qms_counter_state *qms_engine_counter(const qms_engine *e, int ci)
{
    if (ci < 0 || ci >= e->cfg->ncounters)
        return NULL;
    return &e->ctr[ci];
}

int qms_engine_ticket_count(const qms_engine *e)
{
    return e->nt;
}

const qms_ticket *qms_engine_ticket_at(const qms_engine *e, int i)
{
    return (i >= 0 && i < e->nt) ? &e->t[i] : NULL;
}

const qms_config *qms_engine_config(const qms_engine *e)
{
    return e->cfg;
}

int32_t qms_engine_day(const qms_engine *e)
{
    return e->day;
}

int64_t qms_engine_next_id(const qms_engine *e)
{
    return e->next_id;
}

uint64_t qms_engine_work(const qms_engine *e)
{
    return e->work;
}

/* ---------- journal ---------- */

static void journal(qms_engine *e, qms_event_kind kind, const qms_ticket *t, int ci, int arg,
                    int arg2)
{
    /* an action at a counter: somebody is there */
    if (ci >= 0 && kind != QMS_EV_TAKE && kind != QMS_EV_CANCEL && kind != QMS_EV_NEW_DAY)
        e->ctr[ci].acted_ms = now_ms(e);
    /* room was reserved by the operation before it changed anything */
    qms_event *ev = &e->j[e->nj++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->ticket = t ? t->id : 0;
    ev->counter = ci;
    /* the moment the operation stamped on the ticket, so that a history row
     * and its ticket row agree to the millisecond (the clock may have moved
     * on since the operation read it) */
    int64_t at = 0;
    if (t) {
        switch (kind) {
        case QMS_EV_TAKE: at = t->taken_ms; break;
        case QMS_EV_CALL:
        case QMS_EV_RECALL: at = t->called_ms; break;
        case QMS_EV_START: at = t->start_ms; break;
        case QMS_EV_DONE:
        case QMS_EV_SKIP:
        case QMS_EV_CANCEL: at = t->end_ms; break;
        default: break;
        }
    }
    ev->at_ms = at > 0 ? at : now_ms(e);
    ev->arg = arg;
    ev->arg2 = arg2;
    if (t)
        ev->snap = *t;
}

int qms_engine_journal_len(const qms_engine *e)
{
    return e->nj;
}

const qms_event *qms_engine_journal_at(const qms_engine *e, int i)
{
    return (i >= 0 && i < e->nj) ? &e->j[i] : NULL;
}

void qms_engine_journal_clear(qms_engine *e)
{
    e->nj = 0;
}

/* ---------- waiting list ---------- */

/* Arrival order is the order of ids (a sequence), never the wall clock: a
 * clock set back an hour must not put a later citizen first. A transfer
 * keeps the id, hence its place. */
static int wait_before(const wait_ent *a, int64_t id)
{
    return a->id < id;
}

static int counter_rank(const qms_config *c, int ci, int si);

/* How long open counter ci has left someone it could call waiting while
 * idle, if longer than the grace (then it is not staffed); else 0. Counted
 * from the later of its last action and the taking of the oldest ticket it
 * could call, and not before the start of the issuing span now is in (the
 * break between spans - lunch - is nobody's absence). O(waiting before that
 * ticket): only the exact forecast (a bounded queue) asks. */
static double unattended_s(qms_engine *e, int ci, int64_t now)
{
    const qms_config *c = e->cfg;
    const qms_counter_state *cs = &e->ctr[ci];
    if (cs->state != QMS_C_OPEN || cs->current)
        return 0;
    int64_t since = -1;
    for (int i = 0; i < e->nw && since < 0; i++) {
        const wait_ent *w = &e->wait[i];
        e->work++;
        if (w->target >= 0 ? w->target == ci : counter_rank(c, ci, w->service) >= 0)
            since = w->taken_ms;
    }
    if (since < 0)
        return 0; /* nobody waits for it: idle is no sign of absence */
    if (cs->acted_ms > since)
        since = cs->acted_ms;
    int32_t sec = qms_local_sec(now, c->utc_offset_min), from = -1;
    for (int i = 0; i < c->nhours; i++)
        if (c->hours[i].open_s <= sec && c->hours[i].open_s > from)
            from = c->hours[i].open_s;
    if (from >= 0 && now - (int64_t)(sec - from) * 1000 > since)
        since = now - (int64_t)(sec - from) * 1000;
    double away = (double)(now - since) / 1000.0;
    return away > c->staffed_grace_s ? away : 0;
}

int qms_engine_counter_staffed(qms_engine *e, int ci)
{
    if (ci < 0 || ci >= e->cfg->ncounters || e->ctr[ci].state != QMS_C_OPEN)
        return 0;
    return unattended_s(e, ci, now_ms(e)) == 0;
}

static void wait_insert(qms_engine *e, const qms_ticket *t)
{
    int pos = e->nw;
    while (pos > 0 && !wait_before(&e->wait[pos - 1], t->id))
        pos--;
    memmove(&e->wait[pos + 1], &e->wait[pos], (size_t)(e->nw - pos) * sizeof *e->wait);
    e->wait[pos] = (wait_ent){.id = t->id,
                              .taken_ms = t->taken_ms,
                              .service = t->service,
                              .priority = t->priority,
                              .target = t->target_counter,
                              .alive = 1};
    e->nw++;
    e->nwait_cls[t->service][t->priority]++;
}

/* Remove waiting ticket t: found by binary search on its id. */
static void wait_remove(qms_engine *e, const qms_ticket *t)
{
    int lo = 0, hi = e->nw;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (wait_before(&e->wait[mid], t->id))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= e->nw || e->wait[lo].id != t->id)
        return;
    const wait_ent *w = &e->wait[lo];
    e->nwait_cls[w->service][w->priority]--;
    memmove(&e->wait[lo], &e->wait[lo + 1], (size_t)(e->nw - lo - 1) * sizeof *e->wait);
    e->nw--;
}

/* ---------- the calling policy ---------- */

static int counter_rank(const qms_config *c, int ci, int si)
{
    const qms_counter *k = &c->counters[ci];
    for (int r = 0; r < k->nservices; r++)
        if (k->services[r] == si)
            return r;
    return -1;
}

static int eligible(const qms_config *c, int ci, const wait_ent *w, int64_t avail_ms)
{
    if (!w->alive || w->taken_ms > avail_ms)
        return 0;
    if (w->target >= 0)
        return w->target == ci;
    return counter_rank(c, ci, w->service) >= 0;
}

/* Who counter ci calls next among list[0..n) (ordered by arrival) that were
 * taken by avail_ms (the forecast's expected arrivals come later), given how
 * many normal tickets it called since its last priority one. Returns the
 * index in list, or -1 if nobody waits for this counter.
 *  - priority strict: the highest class first (appointment 2, then 1), then
 *    normal tickets;
 *  - interleave: one priority ticket after every k normal ones (or when no
 *    normal ticket waits);
 *  - within a class: the oldest (order "oldest"), or the counter's first
 *    service in its own order, oldest within it (order "counter"). */
static int pick(const qms_config *c, int ci, int streak, const wait_ent *list, int n,
                int64_t avail_ms, uint64_t *work)
{
    int best_p = -1, best_n = -1, rank_p = 0, rank_n = 0;
    int by_counter = c->policy.order == QMS_ORDER_COUNTER;
    *work += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        const wait_ent *w = &list[i];
        if (!eligible(c, ci, w, avail_ms))
            continue;
        /* a ticket sent to this very counter ranks as its first service */
        int rank = by_counter ? (w->target == ci ? -1 : counter_rank(c, ci, w->service)) : 0;
        if (w->priority > 0) {
            if (best_p < 0 || w->priority > list[best_p].priority ||
                (w->priority == list[best_p].priority && rank < rank_p)) {
                best_p = i;
                rank_p = rank;
            }
        } else if (best_n < 0 || rank < rank_n) {
            best_n = i;
            rank_n = rank;
        }
    }
    if (c->policy.priority == QMS_PRIO_STRICT)
        return best_p >= 0 ? best_p : best_n;
    if (best_p >= 0 && (best_n < 0 || streak >= c->policy.interleave_k))
        return best_p;
    return best_n;
}

/* ---------- learning service times ---------- */

/* First index in l->occ_s whose value is greater than v (upper bound). */
static int learn_upper(const svc_learn *l, double v)
{
    int lo = 0, hi = l->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (l->occ_s[mid] > v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void learn_tails(svc_learn *l)
{
    l->tail_s[l->n] = 0;
    for (int i = l->n - 1; i >= 0; i--)
        l->tail_s[i] = l->tail_s[i + 1] + l->occ_s[i];
}

static void learn_add(qms_engine *e, const qms_ticket *t)
{
    if (!t->first_called_ms || t->end_ms < t->first_called_ms)
        return;
    if (t->state != QMS_T_DONE && t->state != QMS_T_NOSHOW)
        return;
    svc_learn *l = &e->learn[t->service];
    int64_t occ = t->end_ms - t->first_called_ms;
    if (grow((void **)&l->occ_s, &l->occ_cap, l->n + 1, sizeof *l->occ_s) ||
        grow((void **)&l->tail_s, &l->tail_cap, l->n + 2, sizeof *l->tail_s))
        return; /* estimates only: losing a sample under memory pressure is harmless */
    int32_t v = (int32_t)((occ + 500) / 1000);
    int k = learn_upper(l, v);
    memmove(&l->occ_s[k + 1], &l->occ_s[k], (size_t)(l->n - k) * sizeof *l->occ_s);
    l->occ_s[k] = v;
    l->n++;
    l->occ_sum_ms += occ;
    learn_tails(l);
}

/* A no-show called again is not finished after all: forget its sample. */
static void learn_remove(qms_engine *e, const qms_ticket *t)
{
    if (!t->first_called_ms || t->end_ms < t->first_called_ms)
        return;
    svc_learn *l = &e->learn[t->service];
    int64_t occ = t->end_ms - t->first_called_ms;
    int32_t v = (int32_t)((occ + 500) / 1000);
    int k = learn_upper(l, v) - 1;
    if (k < 0 || l->occ_s[k] != v)
        return;
    memmove(&l->occ_s[k], &l->occ_s[k + 1], (size_t)(l->n - k - 1) * sizeof *l->occ_s);
    l->n--;
    l->occ_sum_ms -= occ;
    learn_tails(l);
}

/* Mean counter occupancy per ticket of service si, in seconds: today's
 * observations blended with the configured mean. */
static double occ_mean_s(const qms_engine *e, int si)
{
    const svc_learn *l = &e->learn[si];
    double prior = e->cfg->services[si].mean_service_s;
    return (prior * PRIOR_WEIGHT + (double)l->occ_sum_ms / 1000.0) / (PRIOR_WEIGHT + l->n);
}

/* Expected time left for a ticket of service si that has occupied its counter
 * for elapsed_s: the mean of (d - elapsed) over today's occupancies d longer
 * than elapsed, when there are enough; otherwise the mean less what passed,
 * but never less than a third of the mean (it is taking long: it goes on). */
static double remaining_s(const qms_engine *e, int si, double elapsed_s)
{
    const svc_learn *l = &e->learn[si];
    double mean = occ_mean_s(e, si);
    /* integer sums: the result must not depend on the order samples came in,
     * so that an engine reloaded from the store forecasts exactly the same */
    int k = learn_upper(l, elapsed_s);
    int n = l->n - k;
    if (n >= 5)
        return (double)l->tail_s[k] / n - elapsed_s;
    double r = mean - elapsed_s;
    return r > mean / 3 ? r : mean / 3;
}

/* ---------- the forecast ----------
 * Plays the calling policy forward from now: each counter that is open
 * becomes free when its current citizen is expected to leave, calls whom
 * pick() says, and is busy for that service's mean occupancy. The moment a
 * ticket is called in this play is its expected call time. New arrivals are
 * not invented: a ticket's forecast only counts those already waiting. */
typedef struct fc_counter {
    int ci;
    double free_at; /* seconds from now */
    int streak;
    int active;
} fc_counter;

typedef struct fc_out {
    int32_t eta_s; /* -1 if no counter will call it */
    int ahead;
} fc_out;

static int counter_usable(const qms_engine *e, int ci, int pass)
{
    qms_cstate s = e->ctr[ci].state;
    return pass == 0 ? s == QMS_C_OPEN : s != QMS_C_CLOSED;
}

/* Forecast list[0..n): the first n_real entries are tickets (copied from the
 * waiting list, maybe with the one being taken), the rest expected arrivals
 * in arrival order. Writes out[i].eta_s for the tickets, and
 * out[ahead_of].ahead (-1: none). */
static void forecast(qms_engine *e, wait_ent *list, int n_real, int n, fc_out *out, int ahead_of)
{
    const qms_config *c = e->cfg;
    int64_t now = now_ms(e);
    fc_counter fc[QMS_MAX_COUNTERS];
    int nfc = 0;
    for (int i = 0; i < n; i++) {
        list[i].alive = 1;
        out[i].eta_s = -1;
        out[i].ahead = 0;
    }
    /* open counters; if none is open at all, count paused ones (they come back) */
    for (int pass = 0; pass < 2 && nfc == 0; pass++) {
        for (int ci = 0; ci < c->ncounters; ci++) {
            if (!counter_usable(e, ci, pass))
                continue;
            const qms_counter_state *cs = &e->ctr[ci];
            double free_at = 0;
            const qms_ticket *cur = cs->current ? qms_engine_ticket(e, cs->current) : NULL;
            if (cur) {
                double elapsed = (double)(now - cur->first_called_ms) / 1000.0;
                free_at = remaining_s(e, cur->service, elapsed < 0 ? 0 : elapsed);
            } else {
                /* open but not staffed: nobody has called whom it could for
                 * `away` seconds; expect it back after as long again */
                free_at = unattended_s(e, ci, now);
            }
            fc[nfc++] = (fc_counter){ci, free_at, cs->normal_streak, 1};
        }
    }
    int left = n_real, order = 0;
    /* per entry: the order in which it was called and by whom, to count who
     * is ahead (room for both follows out[n]; see fc_alloc) */
    int *called_order = (int *)(out + n);
    int *called_by = called_order + n;
    while (left > 0) {
        int best = -1;
        for (int k = 0; k < nfc; k++)
            if (fc[k].active && (best < 0 || fc[k].free_at < fc[best].free_at))
                best = k;
        if (best < 0)
            break;
        fc_counter *f = &fc[best];
        /* rounded up: a counter waiting for an arrival at ms X must see it */
        int64_t at = now + (int64_t)ceil(f->free_at * 1000);
        int i = pick(c, f->ci, f->streak, list, n, at, &e->work);
        if (i < 0) {
            /* nobody yet: wait for the next expected arrival it could call */
            int64_t next = INT64_MAX;
            for (int k = n_real; k < n; k++)
                if (list[k].taken_ms < next && eligible(c, f->ci, &list[k], INT64_MAX))
                    next = list[k].taken_ms;
            if (next == INT64_MAX)
                f->active = 0;
            else
                f->free_at = (double)(next - now) / 1000.0;
            continue;
        }
        list[i].alive = 0;
        if (i < n_real)
            left--;
        out[i].eta_s = (int32_t)(f->free_at + 0.5);
        called_order[i] = order;
        called_by[i] = f->ci;
        order++;
        f->streak = list[i].priority > 0 ? 0 : f->streak + 1;
        f->free_at += occ_mean_s(e, list[i].service);
    }
    /* ahead: those called before it by counters that serve its service */
    int i = ahead_of;
    if (i >= 0 && i < n && out[i].eta_s >= 0) {
        int a = 0;
        for (int k = 0; k < n; k++)
            if (k != i && k < n_real && out[k].eta_s >= 0 && called_order[k] < called_order[i] &&
                (list[i].target >= 0 ? called_by[k] == list[i].target
                                     : qms_config_counter_serves(c, called_by[k], list[i].service)))
                a++;
        out[i].ahead = a;
    }
}

/* Room for a forecast of the waiting list plus one: the results and the
 * forecast's own work space, in one allocation so it fails or succeeds whole. */
static fc_out *fc_alloc(const qms_engine *e)
{
    size_t n = (size_t)e->nw + 1 + MAX_ARRIVALS;
    return qms_malloc(n * sizeof(fc_out) + 2 * n * sizeof(int));
}

/* Counters that would call a ticket of service si: the open ones, or if
 * none is open, the paused ones (they come back), as the forecast does. */
static int servers_of(const qms_engine *e, int si)
{
    const qms_config *c = e->cfg;
    for (int pass = 0; pass < 2; pass++) {
        int n = 0;
        for (int ci = 0; ci < c->ncounters; ci++)
            if (counter_usable(e, ci, pass) && counter_rank(c, ci, si) >= 0)
                n++;
        if (n)
            return n;
    }
    return 0;
}

/* The linear estimate for a long queue: a ticket with `ahead` tickets of its
 * service before it is called when its service's counters have worked
 * through them, servers at a time (each for the service's mean occupancy). */
static int32_t simple_eta(const qms_engine *e, int si, int servers, int ahead)
{
    if (!servers)
        return -1;
    return (int32_t)((double)(ahead / servers) * occ_mean_s(e, si) + 0.5);
}

/* The linear estimate over list[0..n) (arrival order): O(n + counters x
 * services). "Ahead" counts the same service's tickets before it, of its
 * priority or higher (higher ones first). */
static void forecast_simple(qms_engine *e, wait_ent *list, int n, fc_out *out, int ahead_of)
{
    const qms_config *c = e->cfg;
    int servers[QMS_MAX_SERVICES], seen[QMS_MAX_SERVICES][3];
    memset(seen, 0, sizeof seen);
    for (int si = 0; si < c->nservices; si++)
        servers[si] = servers_of(e, si);
    e->work += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        int si = list[i].service, p = list[i].priority;
        int ahead = seen[si][p];
        for (int q = p + 1; q < 3; q++)
            ahead += e->nwait_cls[si][q]; /* every higher class goes first (strict) */
        seen[si][p]++;
        out[i].ahead = i == ahead_of ? ahead : 0;
        out[i].eta_s = simple_eta(e, si, servers[si], ahead);
    }
}

/* Seconds of issuing time of service si from the start of the day to t. */
static double open_seconds_until(const qms_engine *e, int si, int64_t t)
{
    const qms_config *c = e->cfg;
    qms_span h[QMS_MAX_SPANS];
    int n = qms_calendar_day(c, si, qms_local_day(t, c->utc_offset_min), h);
    int32_t sec = qms_local_sec(t, c->utc_offset_min);
    double total = 0;
    for (int i = 0; i < n; i++) {
        int32_t end = sec < h[i].close_s ? sec : h[i].close_s;
        if (end > h[i].open_s)
            total += end - h[i].open_s;
    }
    return n ? total : sec;
}

/* Append to list (from index n) the arrivals to expect between now and
 * horizon_s from now: for each service and for normal / priority tickets, the
 * rate seen so far today (tickets / issuing time elapsed, at least half an
 * hour), as evenly spaced arrivals within the service's issuing hours.
 * Returns the new n. */
static int add_expected_arrivals(const qms_engine *e, wait_ent *list, int n, double horizon_s)
{
    const qms_config *c = e->cfg;
    int64_t now = now_ms(e);
    int first = n;
    const int(*counts)[2] = e->taken_cls;
    for (int si = 0; si < c->nservices; si++) {
        double elapsed = open_seconds_until(e, si, now);
        if (elapsed < 1800)
            elapsed = 1800;
        for (int p = 0; p < 2; p++) {
            if (!counts[si][p])
                continue;
            double gap = elapsed / counts[si][p];
            for (double t = gap / 2; t < horizon_s && n - first < MAX_ARRIVALS; t += gap) {
                int64_t at = now + (int64_t)(t * 1000);
                if (!qms_calendar_open(c, si, at))
                    continue;
                list[n++] = (wait_ent){.id = INT64_MAX,
                                       .taken_ms = at,
                                       .service = si,
                                       .priority = p,
                                       .target = -1,
                                       .alive = 1};
            }
        }
    }
    /* arrival order, as pick() expects */
    for (int i = first + 1; i < n; i++) {
        wait_ent w = list[i];
        int k = i;
        while (k > first && list[k - 1].taken_ms > w.taken_ms) {
            list[k] = list[k - 1];
            k--;
        }
        list[k] = w;
    }
    return n;
}

/* Forecast the current waiting list plus, if phantom_si >= 0, a ticket of
 * that service and priority taken now (as the last ticket). out comes from
 * fc_alloc. Returns the number of tickets forecast. */
static int forecast_now(qms_engine *e, int phantom_si, int phantom_prio, fc_out *out)
{
    int n = e->nw;
    memcpy(e->scratch, e->wait, (size_t)n * sizeof *e->wait);
    /* a ticket waiting is there now, whatever its (wall clock) taking time
     * says: only the expected arrivals wait for theirs */
    int64_t now = now_ms(e);
    for (int i = 0; i < n; i++)
        if (e->scratch[i].taken_ms > now)
            e->scratch[i].taken_ms = now;
    if (phantom_si >= 0)
        e->scratch[n++] = (wait_ent){.id = e->next_id,
                                     .taken_ms = now_ms(e),
                                     .service = phantom_si,
                                     .priority = phantom_prio,
                                     .target = -1,
                                     .alive = 1};
    int ahead_of = phantom_si >= 0 ? n - 1 : -1;
    if (n > FORECAST_EXACT) {
        forecast_simple(e, e->scratch, n, out, ahead_of);
        return n;
    }
    forecast(e, e->scratch, n, n, out, ahead_of);
    if (e->cfg->policy.order == QMS_ORDER_OLDEST)
        return n;
    /* Under the counter's own order, later arrivals for a counter's first
     * services go ahead of tickets for its later ones: add those expected
     * before the moment the forecast without them calls the last ticket.
     * (Under "oldest", later arrivals only matter when they are priority
     * ones; adding those made the error worse on day-900: the
     * typical day has fewer jump-ins than the mean rate, and the error is
     * measured as a mean absolute one.) */
    int32_t horizon = 0;
    for (int i = 0; i < n; i++)
        if (out[i].eta_s > horizon)
            horizon = out[i].eta_s;
    int total = add_expected_arrivals(e, e->scratch, n, horizon);
    forecast(e, e->scratch, n, total, out, ahead_of);
    return n;
}

void qms_engine_refresh_etas(qms_engine *e)
{
    if (grow((void **)&e->scratch, &e->caps, e->nw + 1 + MAX_ARRIVALS, sizeof *e->scratch))
        return;
    fc_out *out = fc_alloc(e);
    if (!out)
        return;
    forecast_now(e, -1, 0, out);
    for (int i = 0; i < e->nw; i++) {
        qms_ticket *t = ticket_mut(e, e->wait[i].id);
        if (t)
            t->eta_now_s = out[i].eta_s;
    }
    qms_free(out);
}

/* ---------- lifecycle ---------- */

static void reset_day(qms_engine *e, int32_t day)
{
    e->day = day;
    e->nt = 0;
    e->nw = 0;
    memset(e->taken_cls, 0, sizeof e->taken_cls);
    memset(e->nwait_cls, 0, sizeof e->nwait_cls);
    for (int s = 0; s < e->cfg->nservices; s++) {
        e->issued[s] = 0;
        e->learn[s].n = 0;
        e->learn[s].occ_sum_ms = 0;
    }
    for (int ci = 0; ci < e->cfg->ncounters; ci++) {
        qms_counter_state *cs = &e->ctr[ci];
        char staff[sizeof cs->staff];
        memcpy(staff, cs->staff, sizeof staff);
        memset(cs, 0, sizeof *cs);
        cs->state = e->cfg->counters_start_open ? QMS_C_OPEN : QMS_C_CLOSED;
        cs->since_ms = now_ms(e);
        memcpy(cs->staff, staff, sizeof staff);
    }
}

int qms_engine_new(const qms_config *c, const qms_clock *clock, qms_engine **out)
{
    *out = NULL;
    qms_engine *e = qms_calloc(1, sizeof *e);
    if (!e)
        return QMS_ERR_NOMEM;
    e->cfg = c;
    e->clock = clock;
    e->next_id = 1;
    e->issued = qms_calloc((size_t)c->nservices, sizeof *e->issued);
    e->ctr = qms_calloc((size_t)c->ncounters, sizeof *e->ctr);
    e->learn = qms_calloc((size_t)c->nservices, sizeof *e->learn);
    if (!e->issued || !e->ctr || !e->learn || reserve(e, 16, 16, 16)) {
        qms_engine_free(e);
        return QMS_ERR_NOMEM;
    }
    reset_day(e, day_of(e, now_ms(e)));
    *out = e;
    return QMS_OK;
}

void qms_engine_free(qms_engine *e)
{
    if (!e)
        return;
    if (e->learn)
        for (int s = 0; s < e->cfg->nservices; s++) {
            qms_free(e->learn[s].occ_s);
            qms_free(e->learn[s].tail_s);
        }
    qms_free(e->learn);
    qms_free(e->issued);
    qms_free(e->ctr);
    qms_free(e->t);
    qms_free(e->wait);
    qms_free(e->j);
    qms_free(e->scratch);
    qms_free(e);
}

int qms_engine_tick(qms_engine *e)
{
    int32_t today = day_of(e, now_ms(e));
    if (today <= e->day)
        return 0;
    int open = 0;
    for (int i = 0; i < e->nt; i++)
        if (e->t[i].state <= QMS_T_SERVING)
            open++;
    if (reserve(e, open + 1, 0, 0))
        return 0; /* try again at the next tick */
    /* Yesterday's unfinished tickets end as cancelled: nobody will call them. */
    for (int i = 0; i < e->nt; i++) {
        qms_ticket *t = &e->t[i];
        if (t->state > QMS_T_SERVING)
            continue;
        t->state = QMS_T_CANCELLED;
        t->end_ms = now_ms(e);
        t->eta_now_s = -1;
        journal(e, QMS_EV_CANCEL, t, t->counter, 1, 0);
    }
    reset_day(e, today);
    journal(e, QMS_EV_NEW_DAY, NULL, -1, today, 0);
    return 1;
}

/* ---------- operations ---------- */

static int check_counter(const qms_engine *e, int ci)
{
    return (ci < 0 || ci >= e->cfg->ncounters) ? QMS_ERR_UNKNOWN_COUNTER : QMS_OK;
}

int qms_priority_kind_valid(const char *s)
{
    static const char *const kinds[] = {"priority", "elderly", "disabled", "pregnant", "child"};
    for (size_t i = 0; s && i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(s, kinds[i]) == 0)
            return 1;
    return 0;
}

int qms_engine_take(qms_engine *e, int si, int priority, const char *appt, qms_take_result *out)
{
    return qms_engine_take_kind(e, si, priority, NULL, appt, out);
}

int qms_engine_take_kind(qms_engine *e, int si, int priority, const char *kind, const char *appt,
                         qms_take_result *out)
{
    qms_engine_tick(e);
    if (kind && *kind && !qms_priority_kind_valid(kind))
        return QMS_ERR_INVAL;
    const qms_config *c = e->cfg;
    if (si < 0 || si >= c->nservices)
        return QMS_ERR_UNKNOWN_SERVICE;
    if (priority < 0 || priority > 2)
        return QMS_ERR_INVAL;
    if (appt && strlen(appt) >= sizeof(((qms_ticket *)0)->appt))
        return QMS_ERR_TOO_LARGE;
    int64_t now = now_ms(e);
    if (!qms_calendar_open(c, si, now))
        return QMS_ERR_OUTSIDE_HOURS;
    const qms_service *s = &c->services[si];
    int32_t first = s->range_lo > 0 ? s->range_lo : 1;
    int32_t number = e->issued[si] ? e->issued[si] + 1 : first;
    if (number - first + 1 > qms_config_service_capacity(c, si))
        return QMS_ERR_CAP_REACHED;
    if (reserve(e, 1, 1, 1))
        return QMS_ERR_NOMEM;
    int prio = appt && *appt ? 2 : priority;
    fc_out *fo = NULL;
    int n = 0, ahead = 0;
    int32_t eta;
    if (e->nw + 1 <= FORECAST_EXACT) {
        fo = fc_alloc(e);
        if (!fo)
            return QMS_ERR_NOMEM;
        /* forecast with this ticket as a phantom first: the same result as
         * after adding it, and nothing changed yet if it fails */
        n = forecast_now(e, si, prio, fo);
        eta = fo[n - 1].eta_s;
        ahead = fo[n - 1].ahead;
    } else {
        /* a long queue: O(counters), from the waiting counts; the others'
         * expected waits stay as the last refresh left them */
        for (int q = prio; q < 3; q++)
            ahead += e->nwait_cls[si][q];
        eta = simple_eta(e, si, servers_of(e, si), ahead);
    }
    qms_ticket *t = &e->t[e->nt++];
    memset(t, 0, sizeof *t);
    t->id = e->next_id++;
    t->day = e->day;
    t->orig_service = si;
    t->service = si;
    t->number = number;
    qms_ticket_label(c, si, number, t->label, sizeof t->label);
    t->priority = prio;
    if (prio == 1)
        snprintf(t->priority_kind, sizeof t->priority_kind, "%s",
                 kind && *kind ? kind : "priority");
    if (appt)
        snprintf(t->appt, sizeof t->appt, "%s", appt);
    t->state = QMS_T_WAITING;
    t->counter = -1;
    t->target_counter = -1;
    t->taken_ms = now;
    t->eta_s = eta;
    t->eta_now_s = t->eta_s;
    e->issued[si] = number;
    e->taken_cls[si][prio > 0]++;
    /* the exact forecast also refreshed everyone else's */
    for (int i = 0; fo && i < e->nw; i++) {
        qms_ticket *w = ticket_mut(e, e->wait[i].id);
        if (w)
            w->eta_now_s = fo[i].eta_s;
    }
    wait_insert(e, t);
    journal(e, QMS_EV_TAKE, t, -1, 0, 0);
    if (out) {
        out->ticket = t;
        out->ahead = ahead;
        out->eta_s = t->eta_s;
    }
    qms_free(fo);
    return QMS_OK;
}

/* Finish the counter's current ticket (called or serving) as done. */
static void finish_current(qms_engine *e, int ci, qms_ticket *cur)
{
    int64_t now = now_ms(e);
    if (!cur->start_ms)
        cur->start_ms = cur->called_ms;
    cur->state = QMS_T_DONE;
    cur->end_ms = now;
    e->ctr[ci].current = 0;
    e->ctr[ci].last_done = cur->id;
    learn_add(e, cur);
    journal(e, QMS_EV_DONE, cur, ci, 0, 0);
}

static qms_ticket *current_of(qms_engine *e, int ci)
{
    return e->ctr[ci].current ? ticket_mut(e, e->ctr[ci].current) : NULL;
}

/* Make ticket t the counter's called ticket. */
static void call_ticket(qms_engine *e, int ci, qms_ticket *t, int by_policy)
{
    int64_t now = now_ms(e);
    if (t->state == QMS_T_NOSHOW)
        learn_remove(e, t);
    else
        wait_remove(e, t);
    t->state = QMS_T_CALLED;
    t->counter = ci;
    memcpy(t->staff, e->ctr[ci].staff, sizeof t->staff);
    t->target_counter = -1;
    if (!t->first_called_ms)
        t->first_called_ms = now;
    t->called_ms = now;
    t->end_ms = 0;
    t->ncalls++;
    t->eta_now_s = -1;
    qms_counter_state *cs = &e->ctr[ci];
    cs->current = t->id;
    if (by_policy)
        cs->normal_streak = t->priority > 0 ? 0 : cs->normal_streak + 1;
    journal(e, QMS_EV_CALL, t, ci, by_policy, 0);
}

int qms_engine_next(qms_engine *e, int ci, const qms_ticket **out)
{
    qms_engine_tick(e);
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (e->ctr[ci].state != QMS_C_OPEN)
        return QMS_ERR_COUNTER_CLOSED;
    for (int i = 0; i < e->nw; i++)
        e->wait[i].alive = 1;
    int i = pick(e->cfg, ci, e->ctr[ci].normal_streak, e->wait, e->nw, INT64_MAX, &e->work);
    if (i < 0)
        return QMS_ERR_NOTHING_TO_CALL;
    if (reserve(e, 2, 0, 0))
        return QMS_ERR_NOMEM;
    qms_ticket *t = ticket_mut(e, e->wait[i].id);
    qms_ticket *cur = current_of(e, ci);
    if (cur)
        finish_current(e, ci, cur);
    call_ticket(e, ci, t, 1);
    if (out)
        *out = t;
    return QMS_OK;
}

/* The prelude of an operation on a counter's current ticket: the counter
 * exists, it has a current ticket (CALLED, if called_only), and room for one
 * journal entry is reserved. */
static int current_for_op(qms_engine *e, int ci, int called_only, qms_ticket **cur)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    *cur = current_of(e, ci);
    if (!*cur || (called_only && (*cur)->state != QMS_T_CALLED))
        return QMS_ERR_BAD_STATE;
    return reserve(e, 1, 0, 0) ? QMS_ERR_NOMEM : QMS_OK;
}

int qms_engine_recall(qms_engine *e, int ci, const qms_ticket **out)
{
    qms_ticket *cur;
    int rc = current_for_op(e, ci, 1, &cur);
    if (rc)
        return rc;
    cur->ncalls++;
    cur->called_ms = now_ms(e);
    journal(e, QMS_EV_RECALL, cur, ci, 0, 0);
    if (out)
        *out = cur;
    return QMS_OK;
}

int qms_engine_call(qms_engine *e, int ci, const char *label, const qms_ticket **out)
{
    qms_engine_tick(e);
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (!label || !*label)
        return QMS_ERR_INVAL;
    if (e->ctr[ci].state != QMS_C_OPEN)
        return QMS_ERR_COUNTER_CLOSED;
    qms_ticket *t = (qms_ticket *)qms_engine_find_label(e, label);
    if (!t)
        return QMS_ERR_UNKNOWN_TICKET;
    int64_t now = now_ms(e);
    int recallable =
        t->state == QMS_T_NOSHOW && now - t->end_ms <= (int64_t)e->cfg->noshow_window_s * 1000;
    if (t->state != QMS_T_WAITING && !recallable)
        return QMS_ERR_BAD_STATE;
    if (reserve(e, 2, 0, 0))
        return QMS_ERR_NOMEM;
    qms_ticket *cur = current_of(e, ci);
    if (cur)
        finish_current(e, ci, cur);
    call_ticket(e, ci, t, 0);
    if (out)
        *out = t;
    return QMS_OK;
}

int qms_engine_start(qms_engine *e, int ci)
{
    qms_ticket *cur;
    int rc = current_for_op(e, ci, 1, &cur);
    if (rc)
        return rc;
    cur->state = QMS_T_SERVING;
    cur->start_ms = now_ms(e);
    memcpy(cur->staff, e->ctr[ci].staff, sizeof cur->staff);
    journal(e, QMS_EV_START, cur, ci, 0, 0);
    return QMS_OK;
}

int qms_engine_done(qms_engine *e, int ci, const qms_ticket **out)
{
    qms_ticket *cur;
    int rc = current_for_op(e, ci, 0, &cur);
    if (rc)
        return rc;
    finish_current(e, ci, cur);
    if (out)
        *out = cur;
    return QMS_OK;
}

int qms_engine_skip(qms_engine *e, int ci, const qms_ticket **out)
{
    qms_ticket *cur;
    int rc = current_for_op(e, ci, 1, &cur);
    if (rc)
        return rc;
    cur->state = QMS_T_NOSHOW;
    cur->end_ms = now_ms(e);
    e->ctr[ci].current = 0;
    learn_add(e, cur);
    journal(e, QMS_EV_SKIP, cur, ci, 0, 0);
    if (out)
        *out = cur;
    return QMS_OK;
}

int qms_engine_transfer(qms_engine *e, int ci, int to_si, int to_ci, const qms_ticket **out)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (to_si < -1 || to_si >= e->cfg->nservices)
        return QMS_ERR_UNKNOWN_SERVICE;
    if (to_ci < -1 || to_ci >= e->cfg->ncounters)
        return QMS_ERR_UNKNOWN_COUNTER;
    if (to_si < 0 && to_ci < 0)
        return QMS_ERR_INVAL;
    qms_ticket *cur = current_of(e, ci);
    if (!cur)
        return QMS_ERR_BAD_STATE;
    if (to_ci == ci && (to_si < 0 || to_si == cur->service))
        return QMS_ERR_BAD_STATE; /* to itself: nothing would change */
    if (reserve(e, 1, 1, 0))
        return QMS_ERR_NOMEM;
    int from = cur->service;
    cur->state = QMS_T_WAITING;
    if (to_si >= 0)
        cur->service = to_si;
    cur->target_counter = to_ci;
    cur->start_ms = 0;
    cur->transfers++;
    e->ctr[ci].current = 0;
    wait_insert(e, cur);
    journal(e, QMS_EV_TRANSFER, cur, ci, cur->service, from);
    if (out)
        *out = cur;
    return QMS_OK;
}

int qms_engine_rate(qms_engine *e, int ci, int level, const qms_ticket **out)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (level < 1 || level > e->cfg->rating_levels)
        return QMS_ERR_INVAL;
    qms_ticket *t = current_of(e, ci);
    if (!t && e->ctr[ci].last_done)
        t = ticket_mut(e, e->ctr[ci].last_done);
    if (!t)
        return QMS_ERR_BAD_STATE;
    if (reserve(e, 1, 0, 0))
        return QMS_ERR_NOMEM;
    t->rating = level;
    journal(e, QMS_EV_RATE, t, ci, level, 0);
    if (out)
        *out = t;
    return QMS_OK;
}

int qms_engine_rate_ticket(qms_engine *e, int ci, const char *label, int level,
                           const qms_ticket **out)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (level < 1 || level > e->cfg->rating_levels)
        return QMS_ERR_INVAL;
    qms_ticket *t = current_of(e, ci);
    if (!t || strcmp(t->label, label) != 0) {
        t = e->ctr[ci].last_done ? ticket_mut(e, e->ctr[ci].last_done) : NULL;
        if (!t || strcmp(t->label, label) != 0)
            return QMS_ERR_UNKNOWN_TICKET;
        if (now_ms(e) - t->end_ms > QMS_RATE_LATE_MS)
            return QMS_ERR_BAD_STATE;
    }
    if (reserve(e, 1, 0, 0))
        return QMS_ERR_NOMEM;
    t->rating = level;
    journal(e, QMS_EV_RATE, t, ci, level, 0);
    if (out)
        *out = t;
    return QMS_OK;
}

int qms_engine_cancel(qms_engine *e, int64_t id)
{
    qms_ticket *t = ticket_mut(e, id);
    if (!t)
        return QMS_ERR_UNKNOWN_TICKET;
    if (t->state != QMS_T_WAITING)
        return QMS_ERR_BAD_STATE;
    if (reserve(e, 1, 0, 0))
        return QMS_ERR_NOMEM;
    wait_remove(e, t);
    t->state = QMS_T_CANCELLED;
    t->end_ms = now_ms(e);
    t->eta_now_s = -1;
    journal(e, QMS_EV_CANCEL, t, -1, 0, 0);
    return QMS_OK;
}

static int set_counter_state(qms_engine *e, int ci, qms_cstate to)
{
    if (reserve(e, 1, 0, 0))
        return QMS_ERR_NOMEM;
    e->ctr[ci].state = to;
    e->ctr[ci].since_ms = now_ms(e);
    journal(e, QMS_EV_COUNTER, NULL, ci, (int)to, 0);
    return QMS_OK;
}

int qms_engine_pause(qms_engine *e, int ci)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (e->ctr[ci].state != QMS_C_OPEN)
        return QMS_ERR_BAD_STATE;
    return set_counter_state(e, ci, QMS_C_PAUSED);
}

int qms_engine_resume(qms_engine *e, int ci)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (e->ctr[ci].state == QMS_C_OPEN)
        return QMS_ERR_BAD_STATE;
    return set_counter_state(e, ci, QMS_C_OPEN);
}

int qms_engine_close(qms_engine *e, int ci)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (e->ctr[ci].state == QMS_C_CLOSED || e->ctr[ci].current)
        return QMS_ERR_BAD_STATE;
    return set_counter_state(e, ci, QMS_C_CLOSED);
}

int qms_engine_set_staff(qms_engine *e, int ci, const char *staff)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    if (!staff || strlen(staff) >= sizeof e->ctr[ci].staff)
        return staff ? QMS_ERR_TOO_LARGE : QMS_ERR_INVAL;
    if (reserve(e, 1, 0, 0))
        return QMS_ERR_NOMEM;
    snprintf(e->ctr[ci].staff, sizeof e->ctr[ci].staff, "%s", staff);
    journal(e, QMS_EV_COUNTER, NULL, ci, (int)e->ctr[ci].state, 0);
    return QMS_OK;
}

/* ---------- queries ---------- */

/* Counter ci's whole call order in one pass, not one pick() per place (that
 * was O(waiting^2) per counter, and the ticket pages ask it for every
 * counter: minutes at 20,000 waiting). pick() takes, among eligible
 * tickets, the highest priority class, then the lowest rank (order
 * "counter"), then the oldest; so a stable bucket sort by (class, rank) over
 * the list in arrival order gives the same order, and the interleave policy
 * merges the priority and normal runs as pick() alternates between them.
 * Tested against the calls qms_engine_next really makes (test_engine). */
int qms_engine_waiting_for_counter(qms_engine *e, int ci, int64_t *ids, int max)
{
    if (ci < 0 || ci >= e->cfg->ncounters || e->nw == 0)
        return 0;
    const qms_config *c = e->cfg;
    int by_counter = c->policy.order == QMS_ORDER_COUNTER;
    int nr = by_counter ? c->nservices + 1 : 1; /* ranks -1 .. nservices-1 */
    int nb = 3 * nr;                            /* bucket = class * nr + rank + 1 */
    int *start = qms_calloc((size_t)nb + 1, sizeof *start);
    int *bucket = qms_malloc((size_t)e->nw * sizeof *bucket);
    int *order = qms_malloc((size_t)e->nw * sizeof *order);
    if (!start || !bucket || !order) {
        qms_free(start);
        qms_free(bucket);
        qms_free(order);
        return 0;
    }
    e->work += (uint64_t)e->nw;
    int total = 0;
    for (int i = 0; i < e->nw; i++) {
        wait_ent w = e->wait[i];
        w.alive = 1;
        bucket[i] = -1;
        if (!eligible(c, ci, &w, INT64_MAX))
            continue;
        int rank = by_counter ? (w.target == ci ? -1 : counter_rank(c, ci, w.service)) : 0;
        int cls = w.priority < 0 ? 0 : w.priority > 2 ? 2 : w.priority;
        bucket[i] = cls * nr + (by_counter ? rank + 1 : 0);
        start[bucket[i] + 1]++;
        total++;
    }
    for (int b = 0; b < nb; b++)
        start[b + 1] += start[b];
    /* order[]: normal tickets (class 0) first by rank, then class 1, class 2 */
    for (int i = 0; i < e->nw; i++)
        if (bucket[i] >= 0)
            order[start[bucket[i]]++] = i;
    /* start[b] is now the end of bucket b: the normal run is order[0 .. nn),
     * the priority run is classes 2 then 1, each in rank order */
    int nn = start[nr - 1];
    int n1 = start[2 * nr - 1] - nn; /* class 1: order[nn .. nn + n1) */
    int n2 = total - nn - n1;        /* class 2: order[nn + n1 .. total) */
    int pi = 0, ni = 0, np = n1 + n2, n = 0;
    int streak = e->ctr[ci].normal_streak;
    int strict = c->policy.priority == QMS_PRIO_STRICT;
    while (n < max && n < total) {
        int take_p = pi < np && (ni >= nn || strict || streak >= c->policy.interleave_k);
        int i;
        if (take_p) {
            i = pi < n2 ? order[nn + n1 + pi] : order[nn + pi - n2];
            pi++;
            streak = 0;
        } else {
            i = order[ni++];
            streak++;
        }
        ids[n++] = e->wait[i].id;
    }
    qms_free(start);
    qms_free(bucket);
    qms_free(order);
    return total;
}

int qms_engine_service_stats(qms_engine *e, int si, qms_service_stats *out)
{
    if (si < 0 || si >= e->cfg->nservices)
        return QMS_ERR_UNKNOWN_SERVICE;
    memset(out, 0, sizeof *out);
    int64_t now = now_ms(e);
    int64_t wait_sum = 0;
    int called = 0;
    for (int i = 0; i < e->nt; i++) {
        const qms_ticket *t = &e->t[i];
        if (t->orig_service == si) {
            out->taken++;
            out->transferred += t->transfers > 0;
        }
        if (t->service != si)
            continue;
        if (t->state == QMS_T_WAITING) {
            out->waiting++;
            int32_t w = (int32_t)((now - t->taken_ms) / 1000);
            if (w > out->longest_wait_s)
                out->longest_wait_s = w;
        }
        out->served += t->state == QMS_T_DONE;
        out->noshow += t->state == QMS_T_NOSHOW;
        if (t->first_called_ms) {
            wait_sum += t->first_called_ms - t->taken_ms;
            called++;
        }
    }
    out->mean_wait_s = called ? (int32_t)(wait_sum / called / 1000) : 0;
    out->mean_service_s = (int32_t)(occ_mean_s(e, si) + 0.5);
    if (e->nw + 1 > FORECAST_EXACT) {
        out->eta_s = simple_eta(e, si, servers_of(e, si),
                                e->nwait_cls[si][0] + e->nwait_cls[si][1] + e->nwait_cls[si][2]);
        return QMS_OK;
    }
    if (grow((void **)&e->scratch, &e->caps, e->nw + 1 + MAX_ARRIVALS, sizeof *e->scratch))
        return QMS_ERR_NOMEM;
    fc_out *fo = fc_alloc(e);
    if (!fo)
        return QMS_ERR_NOMEM;
    int n = forecast_now(e, si, 0, fo);
    out->eta_s = fo[n - 1].eta_s;
    qms_free(fo);
    return QMS_OK;
}

/* ---------- restore ---------- */

int qms_engine_restore_begin(qms_engine *e, int32_t day, int64_t next_id)
{
    reset_day(e, day);
    e->next_id = next_id > 0 ? next_id : 1;
    e->nj = 0;
    return QMS_OK;
}

int qms_engine_restore_ticket(qms_engine *e, const qms_ticket *t)
{
    if (t->service < 0 || t->service >= e->cfg->nservices || t->orig_service < 0 ||
        t->orig_service >= e->cfg->nservices)
        return QMS_ERR_UNKNOWN_SERVICE;
    if (e->nt > 0 && t->id <= e->t[e->nt - 1].id)
        return QMS_ERR_INVAL; /* must come in id order */
    if (t->priority < 0 || t->priority > 2)
        return QMS_ERR_INVAL;
    if (grow((void **)&e->t, &e->capt, e->nt + 1, sizeof *e->t))
        return QMS_ERR_NOMEM;
    e->t[e->nt++] = *t;
    e->taken_cls[t->orig_service][t->priority > 0]++;
    if (t->number > e->issued[t->orig_service])
        e->issued[t->orig_service] = t->number;
    if (t->id >= e->next_id)
        e->next_id = t->id + 1;
    return QMS_OK;
}

int qms_engine_restore_counter(qms_engine *e, int ci, const qms_counter_state *cs)
{
    int rc = check_counter(e, ci);
    if (rc)
        return rc;
    e->ctr[ci] = *cs;
    return QMS_OK;
}

int qms_engine_restore_end(qms_engine *e)
{
    e->nw = 0;
    memset(e->nwait_cls, 0, sizeof e->nwait_cls);
    int waiting = 0;
    for (int i = 0; i < e->nt; i++)
        waiting += e->t[i].state == QMS_T_WAITING;
    if (grow((void **)&e->wait, &e->capw, waiting + 16, sizeof *e->wait) ||
        grow((void **)&e->scratch, &e->caps, waiting + 17 + MAX_ARRIVALS, sizeof *e->scratch))
        return QMS_ERR_NOMEM;
    for (int i = 0; i < e->nt; i++) {
        if (e->t[i].state == QMS_T_WAITING)
            wait_insert(e, &e->t[i]);
        else
            learn_add(e, &e->t[i]);
    }
    /* a counter's current ticket must really be at that counter */
    for (int ci = 0; ci < e->cfg->ncounters; ci++) {
        const qms_ticket *cur =
            e->ctr[ci].current ? qms_engine_ticket(e, e->ctr[ci].current) : NULL;
        if (e->ctr[ci].current && (!cur || cur->counter != ci ||
                                   (cur->state != QMS_T_CALLED && cur->state != QMS_T_SERVING)))
            return QMS_ERR_INVAL;
    }
    qms_engine_refresh_etas(e);
    e->nj = 0;
    return QMS_OK;
}
