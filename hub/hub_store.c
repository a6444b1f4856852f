/* The hub's store (hub.h): SQLite in WAL mode, synchronous=FULL; one
 * transaction per batch of stream messages. The tables are the controller's
 * (docs/store.md) with a site column: events keyed by (site, seq), tickets
 * by (site, id), so qms-report reads them. docs/province.md. */
#include "hub.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUB_SCHEMA 1

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_EVENT,
    S_NEXT,
    S_TAKE,
    S_CALL,
    S_START,
    S_END,
    S_TRANSFER,
    S_RATE,
    S_SITE,
    S_COUNTS,
    S_PAST,
    S__N
};

static const char *const sql[S__N] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_EVENT] = "INSERT OR IGNORE INTO events(site, seq, day, at_ms, kind, ticket_id, label,"
                " counter_id, service, from_service, rating, counter_state, priority, number,"
                " recv_ms, taken_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
    [S_NEXT] = "SELECT seq, day, at_ms, kind, ticket_id, label, counter_id, service, rating,"
               " priority, number, coalesce(taken_ms, at_ms) FROM events WHERE site = ?1 AND seq > ?2 ORDER BY seq LIMIT 5000",
    [S_TAKE] = "INSERT OR IGNORE INTO tickets(site, id, day, orig_service, service, number, label,"
               " priority, state, taken_ms, ncalls, eta_s, transfers)"
               " VALUES(?1,?2,?3,?4,?4,?5,?6,?7,'waiting',?8,0,0,0)",
    [S_CALL] = "UPDATE tickets SET state = 'called', counter_id = ?3, called_ms = ?4,"
               " first_called_ms = coalesce(first_called_ms, ?4), ncalls = ncalls + 1"
               " WHERE site = ?1 AND id = ?2",
    [S_START] = "UPDATE tickets SET state = 'serving', start_ms = ?4,"
                " counter_id = coalesce(?3, counter_id) WHERE site = ?1 AND id = ?2",
    [S_END] = "UPDATE tickets SET state = ?3, end_ms = ?4 WHERE site = ?1 AND id = ?2",
    [S_TRANSFER] = "UPDATE tickets SET state = 'waiting', service = ?3, transfers = transfers + 1"
                   " WHERE site = ?1 AND id = ?2",
    [S_RATE] = "UPDATE tickets SET rating = ?3 WHERE site = ?1 AND id = ?2",
    [S_SITE] = "INSERT INTO sites(site, applied, max_seen, head, nstored, ndup, last_event_at_ms)"
               " VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(site) DO UPDATE SET"
               " applied=excluded.applied, max_seen=excluded.max_seen, head=excluded.head,"
               " nstored=excluded.nstored, ndup=excluded.ndup,"
               " last_event_at_ms=excluded.last_event_at_ms",
    [S_COUNTS] = "SELECT count(*), sum(state = 'done'), sum(state IN ('waiting','called','serving')),"
                 " sum(state = 'noshow'), sum(rating IS NOT NULL), sum(rating >= 3)"
                 " FROM tickets WHERE site = ?1 AND day = ?2",
    [S_PAST] = "SELECT seq FROM events WHERE site = ?1 AND seq > ?2 ORDER BY seq LIMIT 50000",
};

struct hub_store {
    sqlite3 *db;
    sqlite3_stmt *st[S__N];
};

static int exec(sqlite3 *db, const char *q)
{
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        QMS_ERROR("hub store: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return QMS_ERR_DB;
    }
    return QMS_OK;
}

/* The tables keep the controller's column names (docs/store.md) plus site. */
static const char *const schema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sites("
    " site TEXT PRIMARY KEY,"
    " applied INTEGER NOT NULL,"
    " max_seen INTEGER NOT NULL,"
    " head INTEGER NOT NULL,"
    " nstored INTEGER NOT NULL,"
    " ndup INTEGER NOT NULL,"
    " last_event_at_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events("
    " site TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " day TEXT,"
    " at_ms INTEGER,"
    " kind TEXT NOT NULL,"
    " ticket_id INTEGER,"
    " label TEXT,"
    " counter_id INTEGER,"
    " service TEXT,"
    " from_service TEXT,"
    " rating INTEGER,"
    " counter_state TEXT,"
    " priority INTEGER,"
    " number INTEGER,"
    " recv_ms INTEGER NOT NULL,"
    " taken_ms INTEGER,"
    " PRIMARY KEY(site, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tickets("
    " site TEXT NOT NULL,"
    " id INTEGER NOT NULL,"
    " day TEXT NOT NULL,"
    " orig_service TEXT NOT NULL,"
    " service TEXT NOT NULL,"
    " number INTEGER,"
    " label TEXT NOT NULL,"
    " priority INTEGER,"
    " appt TEXT,"
    " state TEXT NOT NULL,"
    " counter_id INTEGER,"
    " target_counter_id INTEGER,"
    " taken_ms INTEGER NOT NULL,"
    " first_called_ms INTEGER,"
    " called_ms INTEGER,"
    " start_ms INTEGER,"
    " end_ms INTEGER,"
    " ncalls INTEGER NOT NULL DEFAULT 0,"
    " eta_s INTEGER NOT NULL DEFAULT 0,"
    " rating INTEGER,"
    " transfers INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(site, id));"
    "CREATE INDEX IF NOT EXISTS tickets_site_day ON tickets(site, day);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('hub_schema', 1);";

int hub_store_open(const char *path, hub_store **out)
{
    *out = NULL;
    hub_store *s = qms_calloc(1, sizeof *s);
    if (!s)
        return QMS_ERR_NOMEM;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        QMS_ERROR("hub store %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        hub_store_close(s);
        return QMS_ERR_DB;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") ||
        exec(s->db, "BEGIN IMMEDIATE") || exec(s->db, schema) || exec(s->db, "COMMIT")) {
        hub_store_close(s);
        return QMS_ERR_DB;
    }
    for (int i = 0; i < S__N; i++)
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            QMS_ERROR("hub store: %s", sqlite3_errmsg(s->db));
            hub_store_close(s);
            return QMS_ERR_DB;
        }
    *out = s;
    return QMS_OK;
}

void hub_store_close(hub_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < S__N; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    qms_free(s);
}

static int step(hub_store *s, int k)
{
    int rc = sqlite3_step(s->st[k]);
    sqlite3_reset(s->st[k]);
    sqlite3_clear_bindings(s->st[k]);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        QMS_ERROR("hub store: %s", sqlite3_errmsg(s->db));
        return QMS_ERR_DB;
    }
    return QMS_OK;
}

int hub_store_begin(hub_store *s)
{
    return step(s, S_BEGIN);
}

void hub_store_rollback(hub_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        step(s, S_ROLLBACK);
}

static void bind_t(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_i(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
}

int hub_store_event(hub_store *s, hub_site *site, const hub_event *e, int64_t recv_ms)
{
    sqlite3_stmt *st = s->st[S_EVENT];
    sqlite3_bind_text(st, 1, site->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, e->seq);
    bind_t(st, 3, e->day);
    bind_i(st, 4, e->at_ms);
    sqlite3_bind_text(st, 5, e->kind, -1, SQLITE_TRANSIENT);
    bind_i(st, 6, e->ticket);
    bind_t(st, 7, e->label);
    bind_i(st, 8, e->counter);
    bind_t(st, 9, e->service);
    bind_t(st, 10, e->from_service);
    bind_i(st, 11, e->rating);
    bind_t(st, 12, e->counter_state);
    bind_i(st, 13, e->priority);
    bind_i(st, 14, e->number);
    sqlite3_bind_int64(st, 15, recv_ms);
    bind_i(st, 16, e->taken_ms);
    int rc = step(s, S_EVENT);
    if (rc)
        return rc;
    if (sqlite3_changes(s->db) == 0) {
        site->ndup++;
        site->changed = 1;
        return QMS_OK;
    }
    site->nstored++;
    site->changed = 1;
    if (e->seq > site->max_seen)
        site->max_seen = e->seq;
    site->dirty = 1;
    return QMS_OK;
}

/* Apply one stored event (the row under S_NEXT) to the tickets. */
static int apply_row(hub_store *s, const char *site, sqlite3_stmt *r)
{
    const char *kind = (const char *)sqlite3_column_text(r, 3);
    if (sqlite3_column_type(r, 4) == SQLITE_NULL || !kind)
        return QMS_OK; /* a counter's or the day's event: nothing of a ticket */
    int64_t id = sqlite3_column_int64(r, 4), at = sqlite3_column_int64(r, 2);
    int k;
    if (strcmp(kind, "take") == 0) {
        sqlite3_stmt *st = s->st[S_TAKE];
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_value(st, 3, sqlite3_column_value(r, 1));
        sqlite3_bind_value(st, 4, sqlite3_column_value(r, 7));
        sqlite3_bind_value(st, 5, sqlite3_column_value(r, 10));
        sqlite3_bind_value(st, 6, sqlite3_column_value(r, 5));
        sqlite3_bind_value(st, 7, sqlite3_column_value(r, 9));
        sqlite3_bind_int64(st, 8, sqlite3_column_int64(r, 11));
        return step(s, S_TAKE);
    }
    if (strcmp(kind, "call") == 0 || strcmp(kind, "recall") == 0)
        k = S_CALL;
    else if (strcmp(kind, "start") == 0)
        k = S_START;
    else if (strcmp(kind, "done") == 0 || strcmp(kind, "skip") == 0 ||
             strcmp(kind, "cancel") == 0)
        k = S_END;
    else if (strcmp(kind, "transfer") == 0)
        k = S_TRANSFER;
    else if (strcmp(kind, "rate") == 0)
        k = S_RATE;
    else
        return QMS_OK;
    sqlite3_stmt *st = s->st[k];
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    if (k == S_CALL || k == S_START) {
        sqlite3_bind_value(st, 3, sqlite3_column_value(r, 6));
        sqlite3_bind_int64(st, 4, at);
    } else if (k == S_END) {
        sqlite3_bind_text(st, 3,
                          kind[0] == 'd'   ? "done"
                          : kind[0] == 's' ? "noshow"
                                           : "cancelled",
                          -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, at);
    } else if (k == S_TRANSFER) {
        sqlite3_bind_value(st, 3, sqlite3_column_value(r, 7));
    } else {
        sqlite3_bind_value(st, 3, sqlite3_column_value(r, 8));
    }
    return step(s, k);
}

int hub_store_apply(hub_store *s, hub_site *site)
{
    if (site->max_seen <= site->applied)
        return QMS_OK;
    sqlite3_stmt *r = s->st[S_NEXT];
    int more = 1, rc = QMS_OK;
    while (more && rc == QMS_OK) {
        more = 0;
        int n = 0;
        sqlite3_bind_text(r, 1, site->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(r, 2, site->applied);
        int src;
        while ((src = sqlite3_step(r)) == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(r, 0);
            if (seq != site->applied + 1)
                break; /* a hole: the rest waits for the replay */
            rc = apply_row(s, site->name, r);
            if (rc)
                break;
            site->applied = seq;
            if (sqlite3_column_type(r, 2) != SQLITE_NULL)
                site->last_event_at_ms = sqlite3_column_int64(r, 2);
            n++;
        }
        if (src != SQLITE_ROW && src != SQLITE_DONE) {
            QMS_ERROR("hub store: %s", sqlite3_errmsg(s->db));
            rc = QMS_ERR_DB;
        }
        sqlite3_reset(r);
        sqlite3_clear_bindings(r);
        more = n == 5000;
    }
    site->dirty = 1;
    site->changed = 1;
    return rc;
}

int64_t hub_site_missing(const hub_site *s)
{
    int64_t upto = s->head > s->max_seen ? s->head : s->max_seen;
    int64_t m = upto - s->nstored;
    return m > 0 ? m : 0;
}

int hub_store_holes(hub_store *s, const hub_site *site, hub_range *r, int max, int *n)
{
    *n = 0;
    if (max <= 0 || (site->max_seen <= site->applied && site->head <= site->applied))
        return QMS_OK;
    sqlite3_stmt *st = s->st[S_PAST];
    sqlite3_bind_text(st, 1, site->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, site->applied);
    int64_t prev = site->applied, rows = 0;
    int src = SQLITE_DONE;
    while (*n < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        rows++;
        if (seq > prev + 1)
            r[(*n)++] = (hub_range){prev + 1, seq - 1};
        prev = seq;
    }
    int full = *n == max || rows == 50000; /* stopped early: the tail is not known yet */
    if (*n < max && src != SQLITE_DONE && src != SQLITE_ROW) {
        QMS_ERROR("hub store: %s", sqlite3_errmsg(s->db));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return QMS_ERR_DB;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!full && site->head > prev)
        r[(*n)++] = (hub_range){prev + 1, site->head};
    return QMS_OK;
}

int hub_store_commit(hub_store *s, hub_site *const *sites, int nsites)
{
    int rc = QMS_OK;
    for (int i = 0; i < nsites && rc == QMS_OK; i++) {
        hub_site *h = sites[i];
        if (!h->changed)
            continue;
        h->changed = 0;
        sqlite3_stmt *st = s->st[S_SITE];
        sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, h->applied);
        sqlite3_bind_int64(st, 3, h->max_seen);
        sqlite3_bind_int64(st, 4, h->head);
        sqlite3_bind_int64(st, 5, h->nstored);
        sqlite3_bind_int64(st, 6, h->ndup);
        sqlite3_bind_int64(st, 7, h->last_event_at_ms);
        rc = step(s, S_SITE);
    }
    if (rc == QMS_OK)
        rc = step(s, S_COMMIT);
    if (rc)
        hub_store_rollback(s);
    return rc;
}

int hub_store_sites(hub_store *s, hub_site **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT site, applied, max_seen, head, nstored, ndup, last_event_at_ms"
                           " FROM sites ORDER BY site",
                           -1, &st, NULL) != SQLITE_OK)
        return QMS_ERR_DB;
    int cap = 0, rc = QMS_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            hub_site *np = qms_realloc(*out, (size_t)cap * sizeof *np);
            if (!np) {
                rc = QMS_ERR_NOMEM;
                break;
            }
            *out = np;
        }
        hub_site *h = &(*out)[(*n)++];
        memset(h, 0, sizeof *h);
        snprintf(h->name, sizeof h->name, "%s", (const char *)sqlite3_column_text(st, 0));
        h->applied = sqlite3_column_int64(st, 1);
        h->max_seen = sqlite3_column_int64(st, 2);
        h->head = sqlite3_column_int64(st, 3);
        h->nstored = sqlite3_column_int64(st, 4);
        h->ndup = sqlite3_column_int64(st, 5);
        h->last_event_at_ms = sqlite3_column_int64(st, 6);
        h->dirty = 1;
    }
    sqlite3_finalize(st);
    return rc;
}

int hub_store_counts(hub_store *s, const char *site, const char *day, int *taken, int *served,
                     int *waiting, int *noshow, int *ratings, int *satisfied)
{
    sqlite3_stmt *st = s->st[S_COUNTS];
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *taken = sqlite3_column_int(st, 0);
        *served = sqlite3_column_int(st, 1);
        *waiting = sqlite3_column_int(st, 2);
        *noshow = sqlite3_column_int(st, 3);
        *ratings = sqlite3_column_int(st, 4);
        *satisfied = sqlite3_column_int(st, 5);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? QMS_OK : QMS_ERR_DB;
}

int64_t hub_store_count_events(hub_store *s)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}
