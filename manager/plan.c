/* The staffing planner's search (plan.h, docs/plan.md). */
#include "plan.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DAY0_S (7 * 3600) /* trace times count from 07:00 local */

int qms_plan_parse_duration(const char *s, int32_t *out)
{
    /* one or more <digits><unit> with units h, m, s in that order, or plain
     * digits (seconds) */
    if (!s || !*s)
        return -1;
    int64_t total = 0;
    int last_unit = 0; /* 3 h, 2 m, 1 s: each unit at most once, in order */
    const char *p = s;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        int64_t v = 0;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            if (++nd > 6)
                return -1;
        }
        int unit, mul;
        switch (*p) {
        case 'h':
            unit = 3, mul = 3600;
            break;
        case 'm':
            unit = 2, mul = 60;
            break;
        case 's':
            unit = 1, mul = 1;
            break;
        case '\0':
            if (last_unit) /* "1h30" is ambiguous */
                return -1;
            unit = 0, mul = 1;
            break;
        default:
            return -1;
        }
        if (last_unit && unit >= last_unit)
            return -1;
        if (*p)
            p++;
        total += v * mul;
        if (total > 86400)
            return -1;
        last_unit = unit ? unit : -1;
        if (unit == 0)
            break;
    }
    if (total <= 0)
        return -1;
    *out = (int32_t)total;
    return 0;
}

int qms_plan_slots(const qms_config *c, int32_t *from_s, int32_t *to_s, int max)
{
    int n = 0;
    for (int h = 0; h < c->nhours; h++) {
        int32_t a = c->hours[h].open_s - DAY0_S, b = c->hours[h].close_s - DAY0_S;
        if (a < 0)
            a = 0;
        for (int32_t t = a; t < b; t += 3600) {
            if (n == max)
                return -1;
            from_s[n] = t;
            to_s[n] = t + 3600 < b ? t + 3600 : b;
            n++;
        }
    }
    return n;
}

/* ---- groups ---- */

static int find(int *parent, int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

int qms_plan_init(qms_plan *p, const qms_config *c, const qms_trace *tr, int32_t target_s)
{
    memset(p, 0, sizeof *p);
    p->target_s = target_s;
    p->nslots = qms_plan_slots(c, p->from_s, p->to_s, QMS_PLAN_MAX_SLOTS);
    if (p->nslots <= 0)
        return QMS_ERR_INVAL;
    /* union-find over counters (0..nc-1) and services (nc..nc+ns-1) */
    int nc = c->ncounters, ns = c->nservices;
    int parent[QMS_MAX_COUNTERS + QMS_MAX_SERVICES];
    for (int i = 0; i < nc + ns; i++)
        parent[i] = i;
    for (int ci = 0; ci < nc; ci++)
        for (int j = 0; j < c->counters[ci].nservices; j++) {
            int a = find(parent, ci), b = find(parent, nc + c->counters[ci].services[j]);
            if (a != b)
                parent[b] = a;
        }
    p->groups = qms_calloc((size_t)(nc ? nc : 1), sizeof *p->groups);
    if (!p->groups)
        return QMS_ERR_NOMEM;
    int root_group[QMS_MAX_COUNTERS + QMS_MAX_SERVICES];
    for (int i = 0; i < nc + ns; i++)
        root_group[i] = -1;
    for (int ci = 0; ci < nc; ci++) {
        int r = find(parent, ci);
        if (root_group[r] < 0)
            root_group[r] = p->ngroups++;
    }
    for (int si = 0; si < ns; si++) {
        int r = find(parent, nc + si);
        p->svc_group[si] = root_group[r];
        if (root_group[r] >= 0) {
            qms_plan_group *g = &p->groups[root_group[r]];
            g->services[g->nservices++] = si;
        }
    }
    /* each service's workload in the trace: service time, and the recall
     * and skip time of a no-show (the replay's defaults) */
    double demand[QMS_MAX_SERVICES] = {0};
    for (int i = 0; i < tr->n; i++) {
        int si = qms_config_service_index(c, tr->rows[i].service);
        if (si >= 0)
            demand[si] += tr->rows[i].no_show ? 120 : tr->rows[i].service_s;
    }
    /* opening order: repeatedly the counter with the most workload per
     * counter already serving it (so uncovered services come first) */
    for (int gi = 0; gi < p->ngroups; gi++) {
        qms_plan_group *g = &p->groups[gi];
        int picked[QMS_MAX_COUNTERS] = {0}, cover[QMS_MAX_SERVICES] = {0};
        int members = 0;
        for (int ci = 0; ci < nc; ci++)
            members += root_group[find(parent, ci)] == gi;
        while (g->ncounters < members) {
            int best = -1;
            double best_score = -1;
            for (int ci = 0; ci < nc; ci++) {
                if (picked[ci] || root_group[find(parent, ci)] != gi)
                    continue;
                double score = 0;
                for (int j = 0; j < c->counters[ci].nservices; j++) {
                    int si = c->counters[ci].services[j];
                    score += demand[si] / (1 + cover[si]);
                }
                if (score > best_score) {
                    best_score = score;
                    best = ci;
                }
            }
            picked[best] = 1;
            for (int j = 0; j < c->counters[best].nservices; j++)
                cover[c->counters[best].services[j]]++;
            g->counters[g->ncounters++] = best;
        }
    }
    return QMS_OK;
}

void qms_plan_free(qms_plan *p)
{
    if (!p)
        return;
    qms_free(p->groups);
    p->groups = NULL;
}

void qms_plan_staffing(const qms_plan *p, const qms_config *c, int k[][QMS_MAX_COUNTERS],
                       unsigned char *open, qms_replay_staffing *st)
{
    memset(open, 0, (size_t)p->nslots * (size_t)c->ncounters);
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++)
            for (int j = 0; j < k[h][gi] && j < p->groups[gi].ncounters; j++)
                open[(size_t)h * (size_t)c->ncounters + (size_t)p->groups[gi].counters[j]] = 1;
    st->nslots = p->nslots;
    st->ncounters = c->ncounters;
    st->from_s = p->from_s;
    st->open = open;
}

/* ---- measuring ---- */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int slot_of(const qms_plan *p, int32_t t)
{
    int s = 0;
    for (int h = 0; h < p->nslots; h++)
        if (p->from_s[h] <= t)
            s = h;
    return s;
}

void qms_plan_measure(const qms_plan *p, const qms_config *c, const qms_replay_result *r,
                      int32_t p90[][QMS_MAX_COUNTERS], int tickets[][QMS_MAX_COUNTERS])
{
    (void)c;
    int32_t *w = qms_malloc((size_t)(r->n ? r->n : 1) * sizeof *w);
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++) {
            int n = 0;
            for (int i = 0; i < r->n; i++) {
                const qms_replay_ticket *t = &r->t[i];
                if (p->svc_group[t->service] != gi || slot_of(p, t->arrive_s) != h)
                    continue;
                if (w)
                    w[n] = t->called_s >= 0 ? t->called_s - t->arrive_s : QMS_PLAN_NEVER;
                n++;
            }
            tickets[h][gi] = n;
            if (!w) {
                p90[h][gi] = QMS_PLAN_NEVER;
                continue;
            }
            if (n == 0) {
                p90[h][gi] = 0;
                continue;
            }
            qsort(w, (size_t)n, sizeof *w, cmp_i32);
            p90[h][gi] = w[(9 * n + 9) / 10 - 1]; /* nearest rank: ceil(0.9 n) */
        }
    qms_free(w);
}

int qms_plan_replay(qms_plan *p, const qms_config *c, const qms_trace *tr,
                    int k[][QMS_MAX_COUNTERS], int32_t p90[][QMS_MAX_COUNTERS],
                    int tickets[][QMS_MAX_COUNTERS], char *err, size_t errlen)
{
    unsigned char *open = qms_malloc((size_t)p->nslots * (size_t)c->ncounters);
    if (!open) {
        qms_say(err, errlen, "out of memory");
        return QMS_ERR_NOMEM;
    }
    qms_replay_staffing st;
    qms_plan_staffing(p, c, k, open, &st);
    qms_replay_opts o;
    qms_replay_opts_default(&o);
    o.db_path = ":memory:"; /* the real store, in memory: nothing of it is kept */
    o.sync = QMS_STORE_SYNC_OFF;
    o.staffing = &st;
    qms_replay_result r;
    int rc = qms_replay_run(c, tr, &o, &r, err, errlen);
    if (rc == QMS_OK)
        qms_plan_measure(p, c, &r, p90, tickets);
    qms_replay_result_free(&r);
    qms_free(open);
    p->replays++;
    return rc;
}

/* ---- the search ---- */

/* Does group gi meet its bounds in every slot? */
static int group_ok(const qms_plan *p, int gi, int32_t p90[][QMS_MAX_COUNTERS])
{
    for (int h = 0; h < p->nslots; h++)
        if (p90[h][gi] > p->bound[h][gi])
            return 0;
    return 1;
}

/* Replays are cached by their counts: the search asks for some twice. */
typedef struct cache_entry {
    int k[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
    int32_t p90[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
    int tickets[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
} cache_entry;

typedef struct cache {
    cache_entry **e;
    int n, cap;
} cache;

static size_t k_bytes(const qms_plan *p)
{
    (void)p;
    return sizeof(int[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS]);
}

static int eval(qms_plan *p, cache *C, const qms_config *c, const qms_trace *tr,
                int k[][QMS_MAX_COUNTERS], int32_t p90[][QMS_MAX_COUNTERS],
                int tickets[][QMS_MAX_COUNTERS], char *err, size_t errlen)
{
    for (int i = 0; i < C->n; i++)
        if (memcmp(C->e[i]->k, k, k_bytes(p)) == 0) {
            memcpy(p90, C->e[i]->p90, sizeof C->e[i]->p90);
            memcpy(tickets, C->e[i]->tickets, sizeof C->e[i]->tickets);
            p->cache_hits++;
            return QMS_OK;
        }
    int rc = qms_plan_replay(p, c, tr, k, p90, tickets, err, errlen);
    if (rc != QMS_OK)
        return rc;
    if (C->n == C->cap) {
        int ncap = C->cap ? C->cap * 2 : 32;
        cache_entry **ne = qms_realloc(C->e, (size_t)ncap * sizeof *ne);
        if (!ne)
            return QMS_OK; /* no room to remember: just not cached */
        C->e = ne;
        C->cap = ncap;
    }
    cache_entry *x = qms_malloc(sizeof *x);
    if (!x)
        return QMS_OK;
    memcpy(x->k, k, k_bytes(p));
    memcpy(x->p90, p90, sizeof x->p90);
    memcpy(x->tickets, tickets, sizeof x->tickets);
    C->e[C->n++] = x;
    return QMS_OK;
}

typedef struct work {
    int k[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
    int32_t p90[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
    int tickets[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
} work;

int qms_plan_search(qms_plan *p, const qms_config *c, const qms_trace *tr, char *err, size_t errlen)
{
    int64_t t0 = qms_mono_ns();
    cache C = {0};
    work *W = qms_calloc(1, sizeof *W);
    int lo[QMS_MAX_COUNTERS], hi[QMS_MAX_COUNTERS];
    int rc = QMS_OK;
    if (!W) {
        qms_say(err, errlen, "out of memory");
        return QMS_ERR_NOMEM;
    }
    /* 1. every counter open: where even that misses the target, the bound
     * of that slot and group is what all open gives (the plan must not make
     * it worse) */
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++)
            p->k[h][gi] = p->groups[gi].ncounters;
    if ((rc = eval(p, &C, c, tr, p->k, p->all_p90, p->tickets, err, errlen)) != QMS_OK)
        goto done;
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++)
            p->bound[h][gi] = p->all_p90[h][gi] > p->target_s ? p->all_p90[h][gi] : p->target_s;

    /* 2. hour by hour: with the earlier hours fixed and the later ones all
     * open, the fewest counters of each group in this hour that keep every
     * hour of the group within its bound -- a binary search, all groups at
     * once (they are independent) */
    for (int h = 0; h < p->nslots; h++) {
        for (int gi = 0; gi < p->ngroups; gi++) {
            lo[gi] = 0;
            hi[gi] = p->groups[gi].ncounters; /* known good */
        }
        for (;;) {
            int more = 0;
            memcpy(W->k, p->k, sizeof W->k);
            for (int gi = 0; gi < p->ngroups; gi++) {
                if (lo[gi] < hi[gi])
                    more = 1;
                W->k[h][gi] = lo[gi] < hi[gi] ? lo[gi] + (hi[gi] - lo[gi]) / 2 : hi[gi];
            }
            if (!more)
                break;
            if ((rc = eval(p, &C, c, tr, W->k, W->p90, W->tickets, err, errlen)) != QMS_OK)
                goto done;
            for (int gi = 0; gi < p->ngroups; gi++) {
                if (lo[gi] >= hi[gi])
                    continue;
                if (group_ok(p, gi, W->p90))
                    hi[gi] = W->k[h][gi];
                else
                    lo[gi] = W->k[h][gi] + 1;
            }
        }
        for (int gi = 0; gi < p->ngroups; gi++)
            p->k[h][gi] = hi[gi];
    }

    /* 3. the final check, and minimality: one counter fewer in any single
     * hour and group must break a bound. Waits need not be monotone in the
     * counters (a later hour's backlog, the priority order), so whatever
     * single removal still keeps the bounds is taken and the round
     * repeated. One removal per group per replay (groups are independent). */
    if ((rc = eval(p, &C, c, tr, p->k, p->p90, p->tickets, err, errlen)) != QMS_OK)
        goto done;
    for (int gi = 0; gi < p->ngroups; gi++)
        if (!group_ok(p, gi, p->p90)) {
            qms_say(err, errlen, "internal: the plan of group %d misses its bound", gi + 1);
            rc = QMS_ERR_BAD_STATE;
            goto done;
        }
    for (int changed = 1; changed;) {
        changed = 0;
        int next[QMS_MAX_COUNTERS]; /* per group: the next slot to try */
        for (int gi = 0; gi < p->ngroups; gi++)
            next[gi] = 0;
        for (;;) {
            int tried[QMS_MAX_COUNTERS], any = 0;
            memcpy(W->k, p->k, sizeof W->k);
            for (int gi = 0; gi < p->ngroups; gi++) {
                tried[gi] = -1;
                while (next[gi] < p->nslots && p->k[next[gi]][gi] == 0)
                    next[gi]++;
                if (next[gi] < p->nslots) {
                    tried[gi] = next[gi]++;
                    W->k[tried[gi]][gi]--;
                    any = 1;
                }
            }
            if (!any)
                break;
            if ((rc = eval(p, &C, c, tr, W->k, W->p90, W->tickets, err, errlen)) != QMS_OK)
                goto done;
            for (int gi = 0; gi < p->ngroups; gi++)
                if (tried[gi] >= 0 && group_ok(p, gi, W->p90)) {
                    p->k[tried[gi]][gi]--;
                    changed = 1;
                }
        }
        if ((rc = eval(p, &C, c, tr, p->k, p->p90, p->tickets, err, errlen)) != QMS_OK)
            goto done;
    }
done:
    for (int i = 0; i < C.n; i++)
        qms_free(C.e[i]);
    qms_free(C.e);
    qms_free(W);
    p->wall_s = (double)(qms_mono_ns() - t0) / 1e9;
    return rc;
}

int64_t qms_plan_counter_s(const qms_plan *p, int k[][QMS_MAX_COUNTERS])
{
    int64_t s = 0;
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++)
            s += (int64_t)k[h][gi] * (p->to_s[h] - p->from_s[h]);
    return s;
}

int64_t qms_plan_all_open_s(const qms_plan *p)
{
    int64_t s = 0;
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++)
            s += (int64_t)p->groups[gi].ncounters * (p->to_s[h] - p->from_s[h]);
    return s;
}
