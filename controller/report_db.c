/* Reading the store for reports. The schema is the store's (controller/store.c,
 * docs/store.md); this file only reads, through a read-only connection, so a
 * report can never change the queue, and in WAL mode it neither blocks the
 * controller nor waits for it. */
#include "report.h"

#include "engine.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Schema versions this reader understands (the columns it reads exist in
 * all of them). */
#define SCHEMA_MIN 2
#define SCHEMA_MAX 6
/* From this version on the store records each day's UTC offset and rating
 * levels (table day_settings). */
#define SCHEMA_SETTINGS 3
/* From this version on the store keeps the bookings (table bookings). */
#define SCHEMA_BOOKINGS 4
/* qms-hub's store versions (meta key hub_schema) this reader understands. */
#define HUB_SCHEMA_MAX 1
/* From this version on tickets record their priority kind and who served
 * them (tickets.priority_kind, tickets.staff). */
#define SCHEMA_KIND_STAFF 6
/* What qms-report assumed before the store said: Vietnam's offset and the
 * sample center's 4 levels. */
#define DEFAULT_OFFSET 420
#define DEFAULT_LEVELS 4

void report_data_free(report_data *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nsvcs; i++) {
        qms_free(d->svcs[i].name_vi);
        qms_free(d->svcs[i].name_en);
    }
    for (int i = 0; i < d->nctrs; i++) {
        qms_free(d->ctrs[i].name_vi);
        qms_free(d->ctrs[i].name_en);
    }
    qms_free(d->svcs);
    qms_free(d->ctrs);
    qms_free(d->t);
    qms_free(d->tr);
    qms_free(d->set);
    qms_free(d->sites);
    qms_free(d->bk);
    for (int i = 0; i < d->nstaff; i++)
        qms_free(d->staff[i]);
    qms_free(d->staff);
    memset(d, 0, sizeof *d);
}

/* Grow *arr (of elem bytes each) to hold at least n; QMS_OK or NOMEM. */
static int grow(void **arr, int *cap, int n, size_t elem)
{
    if (n <= *cap)
        return QMS_OK;
    int ncap = *cap ? *cap : 16;
    while (ncap < n)
        ncap *= 2;
    void *p = qms_realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return QMS_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return QMS_OK;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    return v && *v ? qms_strdup(v) : NULL;
}

static int64_t col_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

int report_settings_for(const report_setting *set, int nset, int32_t day, int *utc_offset_min,
                        int *levels)
{
    *utc_offset_min = DEFAULT_OFFSET;
    *levels = DEFAULT_LEVELS;
    if (nset <= 0)
        return REPORT_SET_DEFAULT;
    /* the last row at or before day (rows are few: one per (re)start day) */
    int k = -1;
    for (int i = 0; i < nset && set[i].day <= day; i++)
        k = i;
    int kind = k >= 0 ? REPORT_SET_STORE : REPORT_SET_LATER;
    if (k < 0)
        k = 0;
    *utc_offset_min = set[k].utc_offset_min;
    *levels = set[k].levels;
    return kind;
}

/* A recorded row a report can use: the store checks them on the way in,
 * but the file may come from anywhere. */
static int setting_ok(int off, int levels)
{
    return off >= -14 * 60 && off <= 14 * 60 && levels >= 2 && levels <= REPORT_MAX_LEVELS;
}

int report_latest_settings(const char *path, int *utc_offset_min, int *levels)
{
    *utc_offset_min = DEFAULT_OFFSET;
    *levels = DEFAULT_LEVELS;
    sqlite3 *db = NULL;
    int kind = REPORT_SET_DEFAULT;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st = NULL;
        /* an older store has no such table: the prepare fails, defaults stay */
        if (sqlite3_prepare_v2(db,
                               "SELECT utc_offset_min, rating_levels FROM day_settings"
                               " ORDER BY day DESC LIMIT 1",
                               -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            int off = sqlite3_column_int(st, 0), lv = sqlite3_column_int(st, 1);
            if (setting_ok(off, lv)) {
                *utc_offset_min = off;
                *levels = lv;
                kind = REPORT_SET_STORE;
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return kind;
}

typedef struct loader {
    report_data *d;
    int capsvcs, capctrs, capt, captr, capset, capsites, capstaff, capbk;
    const qms_config *cfg;
    const char *site; /* --site: only its tickets (NULL: all) */
} loader;

/* Index of site name, adding it if new; -1 on no memory. */
static int site_index(loader *L, const char *name)
{
    report_data *d = L->d;
    if (!name)
        name = "";
    for (int i = 0; i < d->nsites; i++)
        if (strcmp(d->sites[i].name, name) == 0)
            return i;
    if (grow((void **)&d->sites, &L->capsites, d->nsites + 1, sizeof *d->sites))
        return -1;
    snprintf(d->sites[d->nsites].name, sizeof d->sites[d->nsites].name, "%s", name);
    return d->nsites++;
}

/* Index of staff member name, adding it if new; -1 on no memory. */
static int staff_index(loader *L, const char *name)
{
    report_data *d = L->d;
    for (int i = 0; i < d->nstaff; i++)
        if (strcmp(d->staff[i], name) == 0)
            return i;
    if (grow((void **)&d->staff, &L->capstaff, d->nstaff + 1, sizeof *d->staff))
        return -1;
    if (!(d->staff[d->nstaff] = qms_strdup(name)))
        return -1;
    return d->nstaff++;
}

static const char *const kind_codes[REPORT_KIND__COUNT] = {
    "normal", "appointment", "priority", "elderly", "disabled", "pregnant", "child"};

const char *report_kind_code(int kind)
{
    return kind >= 0 && kind < REPORT_KIND__COUNT ? kind_codes[kind] : "?";
}

const char *report_kind_name(int kind, int en)
{
    static const char *const vi[REPORT_KIND__COUNT] = {
        "Thường", "Đặt lịch hẹn", "Ưu tiên (không nói rõ)", "Người cao tuổi",
        "Người khuyết tật", "Phụ nữ mang thai", "Trẻ em"};
    static const char *const eng[REPORT_KIND__COUNT] = {
        "Normal", "Appointment", "Priority (kind not given)", "Elderly",
        "Disabled", "Pregnant", "Child"};
    if (kind < 0 || kind >= REPORT_KIND__COUNT)
        return "?";
    return en ? eng[kind] : vi[kind];
}

/* The kind of a ticket from its priority class and recorded kind. */
static int ticket_kind(int priority, const char *kind)
{
    if (priority == 2)
        return REPORT_KIND_APPT;
    if (priority != 1)
        return REPORT_KIND_NORMAL;
    for (int k = REPORT_KIND_PRIORITY; kind && k < REPORT_KIND__COUNT; k++)
        if (strcmp(kind, kind_codes[k]) == 0)
            return k;
    return REPORT_KIND_PRIORITY; /* before schema 6, or a kind this reader does not know */
}


/* Index of service code, adding it (named from cfg) if new; -1 on no memory. */
static int svc_index(loader *L, const char *code)
{
    report_data *d = L->d;
    if (!code)
        code = "?";
    for (int i = 0; i < d->nsvcs; i++)
        if (strcmp(d->svcs[i].code, code) == 0)
            return i;
    if (grow((void **)&d->svcs, &L->capsvcs, d->nsvcs + 1, sizeof *d->svcs))
        return -1;
    report_service *s = &d->svcs[d->nsvcs];
    memset(s, 0, sizeof *s);
    snprintf(s->code, sizeof s->code, "%s", code);
    return d->nsvcs++;
}

static int ctr_index(loader *L, int id)
{
    report_data *d = L->d;
    for (int i = 0; i < d->nctrs; i++)
        if (d->ctrs[i].id == id)
            return i;
    if (grow((void **)&d->ctrs, &L->capctrs, d->nctrs + 1, sizeof *d->ctrs))
        return -1;
    report_counter *c = &d->ctrs[d->nctrs];
    memset(c, 0, sizeof *c);
    c->id = id;
    return d->nctrs++;
}

static int tstate_parse(const char *s)
{
    for (int k = QMS_T_WAITING; k <= QMS_T_CANCELLED; k++)
        if (s && strcmp(s, qms_tstate_name((qms_tstate)k)) == 0)
            return k;
    return -1;
}

/* Fill names the store left empty from the configuration. */
static int names_from_config(loader *L)
{
    const qms_config *c = L->cfg;
    if (!c)
        return QMS_OK;
    report_data *d = L->d;
    for (int i = 0; i < c->nservices; i++) {
        int k = svc_index(L, c->services[i].code);
        if (k < 0)
            return QMS_ERR_NOMEM;
        if (!d->svcs[k].name_vi && c->services[i].name_vi &&
            !(d->svcs[k].name_vi = qms_strdup(c->services[i].name_vi)))
            return QMS_ERR_NOMEM;
        if (!d->svcs[k].name_en && c->services[i].name_en &&
            !(d->svcs[k].name_en = qms_strdup(c->services[i].name_en)))
            return QMS_ERR_NOMEM;
    }
    for (int i = 0; i < c->ncounters; i++) {
        int k = ctr_index(L, c->counters[i].id);
        if (k < 0)
            return QMS_ERR_NOMEM;
        if (!d->ctrs[k].name_vi && c->counters[i].name_vi &&
            !(d->ctrs[k].name_vi = qms_strdup(c->counters[i].name_vi)))
            return QMS_ERR_NOMEM;
        if (!d->ctrs[k].name_en && c->counters[i].name_en &&
            !(d->ctrs[k].name_en = qms_strdup(c->counters[i].name_en)))
            return QMS_ERR_NOMEM;
    }
    return QMS_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Run the reads; the caller holds the read transaction. */
static int load_all(sqlite3 *db, loader *L, int32_t from, int32_t to, char *err, size_t errlen)
{
    report_data *d = L->d;
    sqlite3_stmt *st = NULL;
    int rc = QMS_OK;
    char dfrom[11], dto[11];
    qms_day_str(from, dfrom);
    qms_day_str(to, dto);
    int64_t *ids = NULL; /* ticket ids in d->t order (ascending), to find transfer rows' tickets */

#define PREP(sql)                                                                                  \
    do {                                                                                           \
        sqlite3_finalize(st);                                                                      \
        st = NULL;                                                                                 \
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {                             \
            rc = qms_fail(err, errlen, QMS_ERR_DB, "cannot read the store: %s",                    \
                          sqlite3_errmsg(db));                                                     \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

    /* the schema: is this a QMS store, and one we can read? */
    PREP("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'");
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        rc = qms_fail(err, errlen, QMS_ERR_DB, "this file is not a QMS store (no meta table)");
        goto out;
    }
    if (s != SQLITE_ROW) {
        rc = qms_fail(err, errlen, QMS_ERR_DB, "cannot read the store: %s", sqlite3_errmsg(db));
        goto out;
    }
    /* qms-hub's store (hub/hub_store.c): the controller's tickets columns
     * plus site; no day settings, names or counters of its own */
    PREP("SELECT value FROM meta WHERE key='hub_schema'");
    if (sqlite3_step(st) == SQLITE_ROW) {
        int v = sqlite3_column_int(st, 0);
        if (v < 1 || v > HUB_SCHEMA_MAX) {
            rc = qms_fail(
                err, errlen, QMS_ERR_DB,
                "the hub store has schema version %d; this qms-report reads version 1 to %d", v,
                HUB_SCHEMA_MAX);
            goto out;
        }
        d->hub = 1;
        goto hub;
    }
    if (L->site && !(L->cfg && strcmp(L->cfg->site, L->site) == 0)) {
        rc = qms_fail(err, errlen, QMS_ERR_DB,
                      "--site %s: this is a site's own store (qms-controller), not qms-hub's; "
                      "--site picks a site in a hub's store",
                      L->site);
        goto out;
    }
    if (site_index(L, L->cfg ? L->cfg->site : "") < 0)
        goto nomem;
    PREP("SELECT value FROM meta WHERE key='schema_version'");
    d->schema_version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    if (d->schema_version < SCHEMA_MIN || d->schema_version > SCHEMA_MAX) {
        rc = qms_fail(err, errlen, QMS_ERR_DB,
                      "the store has schema version %d; this qms-report reads versions %d to %d%s",
                      d->schema_version, SCHEMA_MIN, SCHEMA_MAX,
                      d->schema_version > SCHEMA_MAX ? " (use the qms-report of the same release)"
                                                     : "");
        goto out;
    }

    /* each day's UTC offset and rating levels, as the controller recorded them */
    if (d->schema_version >= SCHEMA_SETTINGS) {
        PREP("SELECT day, utc_offset_min, rating_levels FROM day_settings ORDER BY day");
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            const char *day = (const char *)sqlite3_column_text(st, 0);
            report_setting rs = {0, sqlite3_column_int(st, 1), sqlite3_column_int(st, 2)};
            if (!day || qms_day_parse(day, &rs.day) != QMS_OK ||
                !setting_ok(rs.utc_offset_min, rs.levels)) {
                d->nbadset++; /* not ours: skipped, and qms-report says so */
                continue;
            }
            if (grow((void **)&d->set, &L->capset, d->nset + 1, sizeof *d->set))
                goto nomem;
            d->set[d->nset++] = rs;
        }
        if (s != SQLITE_DONE)
            goto dberr;
    }

    /* names, in the order the center lists them */
    PREP("SELECT code, name_vi, name_en FROM services ORDER BY rowid");
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int k = svc_index(L, (const char *)sqlite3_column_text(st, 0));
        if (k < 0)
            goto nomem;
        qms_free(d->svcs[k].name_vi);
        qms_free(d->svcs[k].name_en);
        d->svcs[k].name_vi = dup_col(st, 1);
        d->svcs[k].name_en = dup_col(st, 2);
    }
    if (s != SQLITE_DONE)
        goto dberr;
    PREP("SELECT counter_id, name_vi, name_en FROM counters ORDER BY counter_id");
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int k = ctr_index(L, sqlite3_column_int(st, 0));
        if (k < 0)
            goto nomem;
        qms_free(d->ctrs[k].name_vi);
        qms_free(d->ctrs[k].name_en);
        d->ctrs[k].name_vi = dup_col(st, 1);
        d->ctrs[k].name_en = dup_col(st, 2);
    }
    if (s != SQLITE_DONE)
        goto dberr;
    goto tickets;

hub:
    /* the sites it knows, in name order: a row each, tickets or not */
    PREP("SELECT site FROM sites WHERE ?1 IS NULL OR site = ?1 ORDER BY site");
    if (L->site)
        sqlite3_bind_text(st, 1, L->site, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        if (site_index(L, (const char *)sqlite3_column_text(st, 0)) < 0)
            goto nomem;
    if (s != SQLITE_DONE)
        goto dberr;
    if (L->site && d->nsites == 0) {
        rc = qms_fail(err, errlen, QMS_ERR_DB, "the hub store has no site '%s'", L->site);
        goto out;
    }

tickets:
    if (names_from_config(L) != QMS_OK)
        goto nomem;
    /* columns 12-15: priority, priority_kind and staff (schema 6 on), site (a hub;
     * a hub's ticket ids are per site: ordered by site, then id) */
    int kind_staff = !d->hub && d->schema_version >= SCHEMA_KIND_STAFF;
    PREP(d->hub ? "SELECT id, day, orig_service, service, counter_id, state, taken_ms,"
                  " first_called_ms, start_ms, end_ms, rating, transfers, priority, NULL, NULL,"
                  " site FROM tickets"
                  " WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR site = ?3) ORDER BY site, id"
         : kind_staff ? "SELECT id, day, orig_service, service, counter_id, state, taken_ms,"
                        " first_called_ms, start_ms, end_ms, rating, transfers, priority,"
                        " priority_kind, staff, NULL FROM tickets"
                        " WHERE day BETWEEN ?1 AND ?2 ORDER BY id"
                      : "SELECT id, day, orig_service, service, counter_id, state, taken_ms,"
                        " first_called_ms, start_ms, end_ms, rating, transfers, priority,"
                        " NULL, NULL, NULL FROM tickets"
                        " WHERE day BETWEEN ?1 AND ?2 ORDER BY id");
    sqlite3_bind_text(st, 1, dfrom, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dto, -1, SQLITE_STATIC);
    if (d->hub && L->site)
        sqlite3_bind_text(st, 3, L->site, -1, SQLITE_STATIC);
    int capids = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&d->t, &L->capt, d->nt + 1, sizeof *d->t) ||
            grow((void **)&ids, &capids, d->nt + 1, sizeof *ids))
            goto nomem;
        report_ticket *t = &d->t[d->nt];
        memset(t, 0, sizeof *t);
        ids[d->nt] = sqlite3_column_int64(st, 0);
        const char *day = (const char *)sqlite3_column_text(st, 1);
        if (!day || qms_day_parse(day, &t->day) != QMS_OK) {
            rc = qms_fail(err, errlen, QMS_ERR_DB, "ticket %lld has a bad day '%s'",
                          (long long)ids[d->nt], day ? day : "");
            goto out;
        }
        t->orig_svc = svc_index(L, (const char *)sqlite3_column_text(st, 2));
        t->svc = svc_index(L, (const char *)sqlite3_column_text(st, 3));
        if (t->orig_svc < 0 || t->svc < 0)
            goto nomem;
        t->counter = -1;
        if (sqlite3_column_type(st, 4) != SQLITE_NULL &&
            (t->counter = ctr_index(L, sqlite3_column_int(st, 4))) < 0)
            goto nomem;
        const char *state = (const char *)sqlite3_column_text(st, 5);
        t->state = tstate_parse(state);
        if (t->state < 0) {
            rc = qms_fail(err, errlen, QMS_ERR_DB, "ticket %lld has an unknown state '%s'",
                          (long long)ids[d->nt], state ? state : "");
            goto out;
        }
        t->taken_ms = sqlite3_column_int64(st, 6);
        t->first_called_ms = col_opt(st, 7);
        t->start_ms = col_opt(st, 8);
        t->end_ms = col_opt(st, 9);
        int64_t rating = col_opt(st, 10);
        t->rating = rating >= 1 && rating <= REPORT_MAX_LEVELS ? (int)rating : 0;
        if (t->rating > d->max_rating)
            d->max_rating = t->rating;
        t->transfers = (int)col_opt(st, 11);
        t->kind = ticket_kind(sqlite3_column_int(st, 12), (const char *)sqlite3_column_text(st, 13));
        t->staff = -1;
        const char *who = (const char *)sqlite3_column_text(st, 14);
        if (who && t->counter >= 0 && (t->staff = staff_index(L, who)) < 0)
            goto nomem;
        t->settings = report_settings_for(d->set, d->nset, t->day, &t->utc_offset_min, &t->levels);
        if (d->hub && (t->site = site_index(L, (const char *)sqlite3_column_text(st, 15))) < 0)
            goto nomem;
        d->nt++;
    }
    if (s != SQLITE_DONE)
        goto dberr;

    /* the bookings of the range (schema 4 on; a hub keeps none) */
    if (!d->hub && d->schema_version >= SCHEMA_BOOKINGS) {
        d->has_bookings = 1;
        PREP("SELECT day, service, slot, state FROM bookings WHERE day BETWEEN ?1 AND ?2"
             " ORDER BY id");
        sqlite3_bind_text(st, 1, dfrom, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, dto, -1, SQLITE_STATIC);
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            static const char *const states[] = {"booked", "cancelled", "checked_in", "no_show"};
            report_booking b = {0, 0, 0, -1};
            const char *day = (const char *)sqlite3_column_text(st, 0);
            const char *slot = (const char *)sqlite3_column_text(st, 2);
            const char *state = (const char *)sqlite3_column_text(st, 3);
            for (int k = 0; k < 4 && state; k++)
                if (strcmp(state, states[k]) == 0)
                    b.state = k;
            if (!day || qms_day_parse(day, &b.day) != QMS_OK || !slot ||
                qms_hhmm_parse(slot, &b.slot_s) != QMS_OK || b.state < 0) {
                rc = qms_fail(err, errlen, QMS_ERR_DB,
                              "a booking has a bad day, slot or state "
                              "('%s', '%s', '%s')",
                              day ? day : "", slot ? slot : "", state ? state : "");
                goto out;
            }
            if ((b.svc = svc_index(L, (const char *)sqlite3_column_text(st, 1))) < 0 ||
                grow((void **)&d->bk, &L->capbk, d->nbk + 1, sizeof *d->bk))
                goto nomem;
            d->bk[d->nbk++] = b;
        }
        if (s != SQLITE_DONE)
            goto dberr;
    }

    /* which counter transferred which ticket (per-counter "transferred");
     * in a hub only for one site (ids and counter numbers are per site) */
    if (d->hub && !L->site) {
        rc = QMS_OK;
        goto out;
    }
    PREP(d->hub ? "SELECT ticket_id, counter_id FROM events"
                  " WHERE kind = 'transfer' AND day BETWEEN ?1 AND ?2 AND ticket_id IS NOT NULL"
                  " AND counter_id IS NOT NULL AND site = ?3 ORDER BY seq"
                : "SELECT ticket_id, counter_id FROM events"
                  " WHERE kind = 'transfer' AND day BETWEEN ?1 AND ?2 AND ticket_id IS NOT NULL"
                  " AND counter_id IS NOT NULL ORDER BY seq");
    sqlite3_bind_text(st, 1, dfrom, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dto, -1, SQLITE_STATIC);
    if (d->hub)
        sqlite3_bind_text(st, 3, L->site, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int64_t *hit = d->nt ? bsearch(&id, ids, (size_t)d->nt, sizeof *ids, cmp_i64) : NULL;
        if (!hit)
            continue; /* a ticket of a day outside the range */
        if (grow((void **)&d->tr, &L->captr, d->ntr + 1, sizeof *d->tr))
            goto nomem;
        int c = ctr_index(L, sqlite3_column_int(st, 1));
        if (c < 0)
            goto nomem;
        d->tr[d->ntr].ticket = (int)(hit - ids);
        d->tr[d->ntr].counter = c;
        d->ntr++;
    }
    if (s != SQLITE_DONE)
        goto dberr;
    rc = QMS_OK;
    goto out;
dberr:
    rc = qms_fail(err, errlen, QMS_ERR_DB, "cannot read the store: %s", sqlite3_errmsg(db));
    goto out;
nomem:
    rc = qms_fail(err, errlen, QMS_ERR_NOMEM, "out of memory");
out:
    sqlite3_finalize(st);
    qms_free(ids);
    return rc;
#undef PREP
}

int report_load(const char *path, int32_t from, int32_t to, const qms_config *cfg, report_data *out,
                char *err, size_t errlen)
{
    return report_load_site(path, from, to, NULL, cfg, out, err, errlen);
}

int report_load_site(const char *path, int32_t from, int32_t to, const char *site,
                     const qms_config *cfg, report_data *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = NULL;
    /* Read-only: a report cannot change the store, and does not create a
     * file where a wrong path was given. */
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int code = qms_fail(err, errlen, QMS_ERR_DB, "cannot open %s: %s", path,
                            db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return code;
    }
    /* The controller holds its write lock only for a commit; in WAL mode
     * readers do not wait for it, but a checkpoint or recovery might. */
    sqlite3_busy_timeout(db, 5000);
    loader L = {.d = out, .cfg = cfg, .site = site};
    /* one read transaction: every query sees the same snapshot */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = qms_fail(err, errlen, QMS_ERR_DB, "cannot read %s: %s", path, sqlite3_errmsg(db));
    } else {
        rc = load_all(db, &L, from, to, err, errlen);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    if (rc != QMS_OK) {
        /* "file is not a database" and friends read better with the path */
        if (rc == QMS_ERR_DB && err && errlen) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s: %s", path, err);
            snprintf(err, errlen, "%s", tmp);
        }
        report_data_free(out);
    }
    return rc;
}
