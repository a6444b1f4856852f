/* The durable store (store.h): one SQLite file in WAL mode, a versioned
 * schema, and one transaction per commit. The schema is documented for report
 * writers in docs/store.md; keep the two in step. */
#include "store.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schema version this code writes. Older files are migrated step by step
 * (migrate_0_1, migrate_1_2, ...); a newer file is refused. */
#define STORE_VERSION 6
/* Replies are kept for de-duplication of redelivered requests; a request is
 * redelivered within seconds, so a week is generous. Pruned when a day starts. */
#define REPLY_KEEP_DAYS 7

enum {
    ST_BEGIN = 0,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_EVENT,
    ST_TICKET,
    ST_COUNTER,
    ST_META,
    ST_REPLY,
    ST_FIND_REPLY,
    ST_CLOSE_EVENTS,
    ST_CLOSE_TICKETS,
    ST_PRUNE_REPLIES,
    ST__COUNT
};

#define OPEN_STATES "('waiting','called','serving')"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_EVENT] = "INSERT INTO events(day, at_ms, kind, ticket_id, label, counter_id, service,"
                 " from_service, rating, counter_state) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [ST_TICKET] =
        "INSERT INTO tickets(id, day, orig_service, service, number, label, priority, appt,"
        " state, counter_id, target_counter_id, taken_ms, first_called_ms, called_ms, start_ms,"
        " end_ms, ncalls, eta_s, rating, transfers, priority_kind, staff)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)"
        " ON CONFLICT(id) DO UPDATE SET service=excluded.service, label=excluded.label,"
        " priority=excluded.priority, appt=excluded.appt, state=excluded.state,"
        " counter_id=excluded.counter_id, target_counter_id=excluded.target_counter_id,"
        " taken_ms=excluded.taken_ms, first_called_ms=excluded.first_called_ms,"
        " called_ms=excluded.called_ms, start_ms=excluded.start_ms, end_ms=excluded.end_ms,"
        " ncalls=excluded.ncalls, eta_s=excluded.eta_s, rating=excluded.rating,"
        " transfers=excluded.transfers, priority_kind=excluded.priority_kind,"
        " staff=excluded.staff",
    [ST_COUNTER] = "INSERT INTO counters(counter_id, day, state, current_ticket, last_done,"
                   " normal_streak, since_ms, staff, name_vi, name_en, acted_ms)"
                   " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
                   " ON CONFLICT(counter_id) DO UPDATE SET day=excluded.day,"
                   " state=excluded.state, current_ticket=excluded.current_ticket,"
                   " last_done=excluded.last_done, normal_streak=excluded.normal_streak,"
                   " since_ms=excluded.since_ms, staff=excluded.staff,"
                   " name_vi=excluded.name_vi, name_en=excluded.name_en,"
                   " acted_ms=excluded.acted_ms",
    [ST_META] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    [ST_REPLY] = "INSERT OR IGNORE INTO replies(req_id, day, reply) VALUES(?1, ?2, ?3)",
    [ST_FIND_REPLY] = "SELECT reply FROM replies WHERE req_id = ?1",
    /* A day that ended with tickets still open: they are cancelled, each with
     * its history row, as the engine does at a rollover. */
    [ST_CLOSE_EVENTS] = "INSERT INTO events(day, at_ms, kind, ticket_id, label, service)"
                        " SELECT day, ?2, 'cancel', id, label, service FROM tickets"
                        " WHERE day < ?1 AND state IN " OPEN_STATES " ORDER BY id",
    [ST_CLOSE_TICKETS] = "UPDATE tickets SET state = 'cancelled', end_ms = ?2"
                         " WHERE day < ?1 AND state IN " OPEN_STATES,
    [ST_PRUNE_REPLIES] = "DELETE FROM replies WHERE day < ?1",
};

typedef struct touch {
    int64_t id; /* ticket id */
    int entry;  /* journal index */
} touch;

typedef struct pending_reply {
    char *req_id;
    char *json;
} pending_reply;

struct qms_store {
    sqlite3 *db;
    int sync; /* qms_store_sync opened with */
    sqlite3_stmt *st[ST__COUNT]; /* prepared once, reset after each use */
    int32_t day;                 /* the day the stored state belongs to; 0 = unknown yet */
    pending_reply *replies;      /* queued for the next commit */
    int nreplies, capreplies;
    /* per-commit scratch, kept to avoid allocating on every commit */
    touch *touches; /* journal entries that touch a ticket */
    size_t cap_ev;
    unsigned char *touched; /* per counter index */
    int cap_counters;
    int wal_pages; /* frames in the write-ahead log, when checkpoints are deferred */
    int disk_full; /* the last failed commit failed for want of space (SQLITE_FULL) */
    qms_store_hook_fn hook; /* more rows for the commit (bookings), or NULL */
    void *hook_ud;
};

void qms_store_set_hook(qms_store *s, qms_store_hook_fn fn, void *ud)
{
    s->hook = fn;
    s->hook_ud = ud;
}

/* ------------------------------------------------------------------ */
/* migrations: migrate_N_M takes a file at version N to version M; each runs
 * inside the transaction that also records the new version. */

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        QMS_ERROR("store: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return QMS_ERR_DB;
    }
    return QMS_OK;
}

/* Version 1: the first layout. Frozen: a file written by it must still open. */
static int migrate_0_1(sqlite3 *db)
{
    return exec_sql(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);"
                        "CREATE TABLE tickets("
                        " id INTEGER PRIMARY KEY,"
                        " day TEXT NOT NULL,"
                        " orig_service TEXT NOT NULL,"
                        " service TEXT NOT NULL,"
                        " number INTEGER NOT NULL,"
                        " label TEXT NOT NULL,"
                        " priority INTEGER NOT NULL,"
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
                        " eta_s INTEGER NOT NULL,"
                        " rating INTEGER,"
                        " UNIQUE(day, orig_service, number));"
                        "CREATE TABLE events("
                        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                        " day TEXT NOT NULL,"
                        " at_ms INTEGER NOT NULL,"
                        " kind TEXT NOT NULL,"
                        " ticket_id INTEGER,"
                        " counter_id INTEGER,"
                        " service TEXT,"
                        " from_service TEXT,"
                        " rating INTEGER,"
                        " counter_state TEXT);"
                        "CREATE TABLE counters("
                        " counter_id INTEGER PRIMARY KEY,"
                        " day TEXT NOT NULL,"
                        " state TEXT NOT NULL,"
                        " current_ticket INTEGER,"
                        " last_done INTEGER,"
                        " normal_streak INTEGER NOT NULL DEFAULT 0,"
                        " since_ms INTEGER NOT NULL DEFAULT 0,"
                        " staff TEXT NOT NULL DEFAULT '');");
}

/* Version 2: request de-duplication (replies), names for reports (services,
 * counter names, event labels), a transfer count per ticket, indexes by day,
 * and the rule that a ticket row is never deleted nor renumbered, so (day,
 * service, number) stays unique forever. */
static int migrate_1_2(sqlite3 *db)
{
    return exec_sql(
        db, "CREATE TABLE replies("
            " req_id TEXT PRIMARY KEY,"
            " day TEXT NOT NULL,"
            " reply TEXT NOT NULL);"
            "CREATE TABLE services("
            " code TEXT PRIMARY KEY,"
            " prefix TEXT NOT NULL,"
            " name_vi TEXT NOT NULL,"
            " name_en TEXT NOT NULL,"
            " mean_service_s INTEGER NOT NULL);"
            "ALTER TABLE counters ADD COLUMN name_vi TEXT NOT NULL DEFAULT '';"
            "ALTER TABLE counters ADD COLUMN name_en TEXT NOT NULL DEFAULT '';"
            "ALTER TABLE events ADD COLUMN label TEXT;"
            "ALTER TABLE tickets ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;"
            "UPDATE tickets SET transfers = (SELECT count(*) FROM events"
            " WHERE events.ticket_id = tickets.id AND events.kind = 'transfer');"
            "UPDATE events SET label = (SELECT label FROM tickets WHERE id = events.ticket_id)"
            " WHERE ticket_id IS NOT NULL;"
            "CREATE INDEX tickets_day_state ON tickets(day, state);"
            "CREATE INDEX events_day_kind ON events(day, kind);"
            "CREATE INDEX events_ticket ON events(ticket_id);"
            "CREATE TRIGGER tickets_keep BEFORE DELETE ON tickets"
            " BEGIN SELECT RAISE(ABORT, 'tickets are kept forever'); END;"
            "CREATE TRIGGER tickets_key BEFORE UPDATE OF id, day, orig_service, number ON tickets"
            " WHEN OLD.id IS NOT NEW.id OR OLD.day IS NOT NEW.day"
            "  OR OLD.orig_service IS NOT NEW.orig_service OR OLD.number IS NOT NEW.number"
            " BEGIN SELECT RAISE(ABORT, 'a ticket keeps its day, service and number'); END;");
}

/* Version 3: what a report needs to read a day's rows without the center's
 * configuration file — its UTC offset (hours of the day) and its rating
 * scale (what level is "satisfied"). One row per local day on which the
 * controller recorded them (start, reload); a day without a row uses the
 * last earlier row (docs/store.md). */
static int migrate_2_3(sqlite3 *db)
{
    return exec_sql(db, "CREATE TABLE day_settings("
                        " day TEXT PRIMARY KEY,"
                        " utc_offset_min INTEGER NOT NULL,"
                        " rating_levels INTEGER NOT NULL,"
                        " recorded_ms INTEGER NOT NULL);");
}

/* Version 4: bookings (docs/booking.md). The citizen is only a keyed hash
 * of the CCCD number (cccd_hash); the number itself is never stored. */
static int migrate_3_4(sqlite3 *db)
{
    return exec_sql(db, "CREATE TABLE bookings("
                        " id INTEGER PRIMARY KEY,"
                        " code TEXT NOT NULL UNIQUE,"
                        " service TEXT NOT NULL,"
                        " day TEXT NOT NULL,"
                        " slot TEXT NOT NULL,"
                        " cccd_hash TEXT NOT NULL,"
                        " state TEXT NOT NULL,"
                        " created_ms INTEGER NOT NULL,"
                        " ticket_id INTEGER);"
                        "CREATE INDEX bookings_day ON bookings(day, service);");
}

/* Version 5: when someone last acted at each counter (the expected wait
 * counts an open counter that leaves people waiting as not staffed,
 * docs/eta.md); 0 for rows written before. */
static int migrate_4_5(sqlite3 *db)
{
    return exec_sql(db, "ALTER TABLE counters ADD COLUMN acted_ms INTEGER NOT NULL DEFAULT 0;");
}

/* Version 6: the priority kind each priority ticket was taken with
 * ("elderly", "child"...; NULL for normal, appointment and older rows) and
 * who was signed in at the counter that called it ('' if nobody, NULL for
 * older rows), for qms-report's per-kind and --by staff figures
 * (docs/report.md). */
static int migrate_5_6(sqlite3 *db)
{
    return exec_sql(db, "ALTER TABLE tickets ADD COLUMN priority_kind TEXT;"
                        "ALTER TABLE tickets ADD COLUMN staff TEXT;");
}

typedef int (*migration_fn)(sqlite3 *db);
static const migration_fn migrations[STORE_VERSION] = {migrate_0_1, migrate_1_2, migrate_2_3,
                                                       migrate_3_4, migrate_4_5, migrate_5_6};

/* The file's schema version; 0 for a file without the meta table. */
static int read_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    *version = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'", -1,
                           &st, NULL) != SQLITE_OK)
        goto fail;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_DONE)
        return QMS_OK;
    if (rc != SQLITE_ROW)
        goto fail;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    else if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    return QMS_OK;
fail:
    QMS_ERROR("store: reading the schema version: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return QMS_ERR_DB;
}

static int migrate(sqlite3 *db)
{
    int from = -1;
    for (;;) {
        /* Read the version inside the write transaction, so two programs
         * opening a new file at once do not both migrate it. */
        if (exec_sql(db, "BEGIN IMMEDIATE") != QMS_OK)
            return QMS_ERR_DB;
        int v;
        int rc = read_version(db, &v);
        if (rc == QMS_OK && v > STORE_VERSION) {
            QMS_ERROR("store: the file has schema version %d; this program knows up to %d", v,
                      STORE_VERSION);
            rc = QMS_ERR_DB;
        }
        if (from < 0)
            from = v;
        if (rc == QMS_OK && v == STORE_VERSION) {
            exec_sql(db, "ROLLBACK");
            return QMS_OK;
        }
        if (rc == QMS_OK)
            rc = migrations[v](db);
        if (rc == QMS_OK) {
            char sql[128];
            snprintf(sql, sizeof sql,
                     "INSERT INTO meta(key, value) VALUES('schema_version', %d)"
                     " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                     v + 1);
            rc = exec_sql(db, sql);
        }
        if (rc == QMS_OK)
            rc = exec_sql(db, "COMMIT");
        if (rc != QMS_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if (from > 0)
            QMS_INFO("store: migrated the schema from version %d to %d", v, v + 1);
    }
}

/* ------------------------------------------------------------------ */
/* open / close */

static int db_fail(qms_store *s, const char *what)
{
    s->disk_full = (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_FULL;
    QMS_ERROR("store: %s: %s (%d)", what, sqlite3_errmsg(s->db), sqlite3_extended_errcode(s->db));
    return QMS_ERR_DB;
}

int qms_store_open(const char *path, qms_store **out)
{
    return qms_store_open_ex(path, NULL, out);
}

int qms_store_open_ex(const char *path, const qms_store_opts *o, qms_store **out)
{
    *out = NULL;
    if (!path)
        return QMS_ERR_INVAL;
    qms_store_opts def = {QMS_STORE_SYNC_FULL, 0};
    if (!o)
        o = &def;
    if (o->sync < QMS_STORE_SYNC_FULL || o->sync > QMS_STORE_SYNC_OFF)
        return QMS_ERR_INVAL;
    qms_store *s = qms_calloc(1, sizeof *s);
    if (!s)
        return QMS_ERR_NOMEM;
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (s->db)
            QMS_ERROR("store: cannot open %s: %s", path, sqlite3_errmsg(s->db));
        else
            QMS_ERROR("store: cannot open %s: out of memory", path);
        qms_store_close(s);
        return rc == SQLITE_NOMEM ? QMS_ERR_NOMEM : QMS_ERR_DB;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, o->busy_ms > 0 ? o->busy_ms : 5000);
    /* keep the log and its index file when the last connection closes: a
     * restart then needs no new space (on a full disk, creating them again
     * failed and the controller could not start at all) */
    int persist = 1;
    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);

    /* WAL: readers (reports) never block the writer, and a commit is one
     * append + fsync of the log. */
    sqlite3_stmt *st = NULL;
    int wal = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        /* an in-memory database (tests) has no log file: "memory" */
        wal = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
    }
    sqlite3_finalize(st);
    if (!wal) {
        rc = db_fail(s, "cannot switch to WAL mode");
        qms_store_close(s);
        return rc;
    }
    static const char *const sync_sql[] = {"PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL",
                                           "PRAGMA synchronous=OFF"};
    s->sync = (int)o->sync;
    if (exec_sql(s->db, sync_sql[o->sync]) != QMS_OK || migrate(s->db) != QMS_OK) {
        QMS_ERROR("store: cannot open %s", path);
        qms_store_close(s);
        return QMS_ERR_DB;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            rc = db_fail(s, "preparing a statement");
            qms_store_close(s);
            return rc;
        }
    }
    *out = s;
    return QMS_OK;
}

static void drop_replies(qms_store *s)
{
    for (int i = 0; i < s->nreplies; i++) {
        qms_free(s->replies[i].req_id);
        qms_free(s->replies[i].json);
    }
    s->nreplies = 0;
}

static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((qms_store *)ud)->wal_pages = pages;
    return SQLITE_OK;
}

void qms_store_defer_checkpoints(qms_store *s)
{
    /* our hook replaces SQLite's automatic checkpoint, which is itself a
     * WAL hook that checkpoints inside the commit reaching 1000 pages */
    sqlite3_wal_hook(s->db, wal_hook, s);
    /* once a checkpoint has emptied it, the log file is cut back to this
     * size (it is otherwise kept at its longest) */
    exec_sql(s->db, "PRAGMA journal_size_limit=1048576");
}

int qms_store_disk_full(const qms_store *s)
{
    return s->disk_full;
}

void qms_store_discard(qms_store *s)
{
    drop_replies(s);
}

int qms_store_wal_pages(const qms_store *s)
{
    return s ? s->wal_pages : 0;
}

int qms_store_checkpoint(qms_store *s)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK)
        return db_fail(s, "checkpointing the log");
    /* a reader on an old snapshot keeps the rest in the log: count it */
    s->wal_pages = log > done ? log - done : 0;
    return QMS_OK;
}

void qms_store_close(qms_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    if (s->db)
        sqlite3_close(s->db);
    drop_replies(s);
    qms_free(s->replies);
    qms_free(s->touches);
    qms_free(s->touched);
    qms_free(s);
}

void *qms_store_db(qms_store *s)
{
    return s ? s->db : NULL;
}

/* ------------------------------------------------------------------ */
/* small helpers */

static int run(qms_store *s, int which)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(s, stmt_sql[which]);
    return QMS_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Zero means "not yet" in the engine and NULL in the store. */
static void bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static const char *svc_code(const qms_config *c, int si)
{
    return si >= 0 && si < c->nservices ? c->services[si].code : NULL;
}

static void bind_counter(sqlite3_stmt *st, int i, const qms_config *c, int ci)
{
    if (ci >= 0 && ci < c->ncounters)
        sqlite3_bind_int(st, i, c->counters[ci].id);
    else
        sqlite3_bind_null(st, i);
}

static int set_meta_int(qms_store *s, const char *key, int64_t v)
{
    sqlite3_bind_text(s->st[ST_META], 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->st[ST_META], 2, v);
    return run(s, ST_META);
}

static int set_meta_day(qms_store *s, int32_t day)
{
    char d[11];
    qms_day_str(day, d);
    sqlite3_bind_text(s->st[ST_META], 1, "day", -1, SQLITE_STATIC);
    sqlite3_bind_text(s->st[ST_META], 2, d, -1, SQLITE_TRANSIENT);
    return run(s, ST_META);
}

static int write_ticket(qms_store *s, const qms_config *c, const qms_ticket *t)
{
    sqlite3_stmt *st = s->st[ST_TICKET];
    char d[11];
    qms_day_str(t->day, d);
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
    bind_text(st, 3, svc_code(c, t->orig_service));
    bind_text(st, 4, svc_code(c, t->service));
    sqlite3_bind_int(st, 5, t->number);
    sqlite3_bind_text(st, 6, t->label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, t->priority);
    bind_text(st, 8, t->appt[0] ? t->appt : NULL);
    sqlite3_bind_text(st, 9, qms_tstate_name(t->state), -1, SQLITE_STATIC);
    bind_counter(st, 10, c, t->counter);
    bind_counter(st, 11, c, t->target_counter);
    sqlite3_bind_int64(st, 12, t->taken_ms);
    bind_opt(st, 13, t->first_called_ms);
    bind_opt(st, 14, t->called_ms);
    bind_opt(st, 15, t->start_ms);
    bind_opt(st, 16, t->end_ms);
    sqlite3_bind_int(st, 17, t->ncalls);
    sqlite3_bind_int(st, 18, t->eta_s);
    bind_opt(st, 19, t->rating);
    sqlite3_bind_int(st, 20, t->transfers);
    bind_text(st, 21, t->priority_kind[0] ? t->priority_kind : NULL);
    if (t->counter >= 0)
        sqlite3_bind_text(st, 22, t->staff, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 22);
    return run(s, ST_TICKET);
}

static int write_counter(qms_store *s, const qms_config *c, int ci, const qms_counter_state *cs,
                         int32_t day)
{
    sqlite3_stmt *st = s->st[ST_COUNTER];
    char d[11];
    qms_day_str(day, d);
    sqlite3_bind_int(st, 1, c->counters[ci].id);
    sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, qms_cstate_name(cs->state), -1, SQLITE_STATIC);
    bind_opt(st, 4, cs->current);
    bind_opt(st, 5, cs->last_done);
    sqlite3_bind_int(st, 6, cs->normal_streak);
    sqlite3_bind_int64(st, 7, cs->since_ms);
    sqlite3_bind_text(st, 8, cs->staff, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, c->counters[ci].name_vi ? c->counters[ci].name_vi : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 10, c->counters[ci].name_en ? c->counters[ci].name_en : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, cs->acted_ms);
    return run(s, ST_COUNTER);
}

static int write_all_counters(qms_store *s, qms_engine *e, int32_t day)
{
    const qms_config *c = qms_engine_config(e);
    for (int ci = 0; ci < c->ncounters; ci++) {
        const qms_counter_state *cs = qms_engine_counter(e, ci);
        int rc = cs ? write_counter(s, c, ci, cs, day) : QMS_OK;
        if (rc != QMS_OK)
            return rc;
    }
    return QMS_OK;
}

/* Close every day before new_day: open tickets become cancelled at end_ms,
 * each with a history row; old replies are pruned. */
static int close_old_days(qms_store *s, int32_t new_day, int64_t end_ms)
{
    char d[11];
    qms_day_str(new_day, d);
    for (int w = ST_CLOSE_EVENTS; w <= ST_CLOSE_TICKETS; w++) {
        sqlite3_bind_text(s->st[w], 1, d, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s->st[w], 2, end_ms);
        int rc = run(s, w);
        if (rc != QMS_OK)
            return rc;
    }
    qms_day_str(new_day - REPLY_KEEP_DAYS, d);
    sqlite3_bind_text(s->st[ST_PRUNE_REPLIES], 1, d, -1, SQLITE_TRANSIENT);
    return run(s, ST_PRUNE_REPLIES);
}

static int insert_event(qms_store *s, const qms_config *c, int32_t day, const qms_event *ev)
{
    sqlite3_stmt *st = s->st[ST_EVENT];
    char d[11];
    qms_day_str(day, d);
    sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ev->at_ms);
    sqlite3_bind_text(st, 3, qms_event_name(ev->kind), -1, SQLITE_STATIC);
    bind_opt(st, 4, ev->ticket);
    bind_text(st, 5, ev->ticket ? ev->snap.label : NULL);
    bind_counter(st, 6, c, ev->counter);
    /* the service the ticket was in right after the event (a transfer's target) */
    bind_text(st, 7, ev->ticket ? svc_code(c, ev->snap.service) : NULL);
    bind_text(st, 8, ev->kind == QMS_EV_TRANSFER ? svc_code(c, ev->arg2) : NULL);
    if (ev->kind == QMS_EV_RATE)
        sqlite3_bind_int(st, 9, ev->arg);
    bind_text(st, 10,
              ev->kind == QMS_EV_COUNTER && ev->arg >= QMS_C_OPEN && ev->arg <= QMS_C_CLOSED
                  ? qms_cstate_name((qms_cstate)ev->arg)
                  : NULL);
    return run(s, ST_EVENT);
}

static int cmp_touch(const void *a, const void *b)
{
    const touch *x = a, *y = b;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (y->entry > x->entry) - (y->entry < x->entry);
}

/* ------------------------------------------------------------------ */
/* commit */

int qms_store_commit_nosync(qms_store *s, qms_engine *e)
{
    if (s->sync != QMS_STORE_SYNC_FULL)
        return qms_store_commit(s, e);
    /* WAL with synchronous=NORMAL: the log is appended, not synced (a
     * checkpoint still syncs it first); the caller syncs the log file */
    int rc = exec_sql(s->db, "PRAGMA synchronous=NORMAL");
    if (rc != QMS_OK)
        return rc;
    rc = qms_store_commit(s, e);
    if (exec_sql(s->db, "PRAGMA synchronous=FULL") != QMS_OK)
        QMS_WARN("store: cannot set synchronous=FULL again");
    return rc;
}

int qms_store_commit(qms_store *s, qms_engine *e)
{
    const qms_config *c = qms_engine_config(e);
    int n = qms_engine_journal_len(e);
    if (n == 0 && s->nreplies == 0)
        return QMS_OK;

    /* Scratch: the journal entries that touch a ticket, as (id, entry). */
    if ((size_t)n > s->cap_ev) {
        size_t ncap = s->cap_ev ? s->cap_ev : 64;
        while (ncap < (size_t)n)
            ncap *= 2;
        touch *np = qms_realloc(s->touches, ncap * sizeof *np);
        if (!np)
            return QMS_ERR_NOMEM;
        s->touches = np;
        s->cap_ev = ncap;
    }
    if (s->cap_counters < c->ncounters) {
        unsigned char *nt = qms_realloc(s->touched, (size_t)c->ncounters);
        if (!nt)
            return QMS_ERR_NOMEM;
        s->touched = nt;
        s->cap_counters = c->ncounters;
    }
    memset(s->touched, 0, (size_t)c->ncounters);
    int ntouch = 0, new_day = 0;
    for (int i = 0; i < n; i++) {
        const qms_event *ev = qms_engine_journal_at(e, i);
        if (ev->ticket)
            s->touches[ntouch++] = (touch){ev->ticket, i};
        if (ev->counter >= 0 && ev->counter < c->ncounters)
            s->touched[ev->counter] = 1;
        if (ev->kind == QMS_EV_NEW_DAY)
            new_day = 1;
    }
    /* by id, latest entry first: that entry's snapshot is the ticket's row */
    if (ntouch > 1)
        qsort(s->touches, (size_t)ntouch, sizeof *s->touches, cmp_touch);

    int32_t today = qms_engine_day(e);
    int32_t day = s->day ? s->day : today; /* the day counter events belong to */
    s->disk_full = 0;
    int rc = run(s, ST_BEGIN);
    if (rc != QMS_OK)
        return rc;
    int64_t new_day_ms = 0;
    for (int i = 0; i < n && rc == QMS_OK; i++) {
        const qms_event *ev = qms_engine_journal_at(e, i);
        if (ev->kind == QMS_EV_NEW_DAY) {
            day = ev->arg > 0 ? ev->arg : today;
            new_day_ms = ev->at_ms;
        }
        rc = insert_event(s, c, ev->ticket ? ev->snap.day : day, ev);
    }
    for (int k = 0; k < ntouch && rc == QMS_OK; k++) {
        if (k > 0 && s->touches[k].id == s->touches[k - 1].id)
            continue;
        rc = write_ticket(s, c, &qms_engine_journal_at(e, s->touches[k].entry)->snap);
    }
    /* The engine cancels what a day left open (journalled above); this only
     * catches a row that somehow stayed open, so no day stays open forever. */
    if (rc == QMS_OK && new_day)
        rc = close_old_days(s, today, new_day_ms);
    for (int ci = 0; ci < c->ncounters && rc == QMS_OK; ci++) {
        if (!new_day && !s->touched[ci])
            continue;
        const qms_counter_state *cs = qms_engine_counter(e, ci);
        if (cs)
            rc = write_counter(s, c, ci, cs, today);
    }
    /* meta changes with the day only: the next id is max(id) + 1 anyway,
     * since ids are spent by takes alone and a take commits its row */
    if (rc == QMS_OK && (today != s->day || new_day))
        rc = set_meta_day(s, today);
    if (rc == QMS_OK && (today != s->day || new_day))
        rc = set_meta_int(s, "next_id", qms_engine_next_id(e));
    char d[11];
    qms_day_str(today, d);
    for (int i = 0; i < s->nreplies && rc == QMS_OK; i++) {
        sqlite3_stmt *st = s->st[ST_REPLY];
        sqlite3_bind_text(st, 1, s->replies[i].req_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, s->replies[i].json, -1, SQLITE_STATIC);
        rc = run(s, ST_REPLY);
    }
    if (rc == QMS_OK && s->hook)
        rc = s->hook(s->hook_ud, s->db);
    if (rc == QMS_OK)
        rc = run(s, ST_COMMIT);
    if (rc != QMS_OK) {
        /* Nothing of this commit is on disk. The journal and the queued
         * replies stay, so the caller may retry (or exit and reload). */
        if (!sqlite3_get_autocommit(s->db))
            run(s, ST_ROLLBACK);
        return QMS_ERR_DB;
    }
    s->day = today;
    drop_replies(s);
    qms_engine_journal_clear(e);
    return QMS_OK;
}

/* ------------------------------------------------------------------ */
/* replies */

int qms_store_queue_reply(qms_store *s, const char *req_id, const char *reply_json)
{
    if (!req_id || !reply_json || !req_id[0])
        return QMS_ERR_INVAL;
    if (s->nreplies == s->capreplies) {
        int ncap = s->capreplies ? s->capreplies * 2 : 16;
        pending_reply *np = qms_realloc(s->replies, (size_t)ncap * sizeof *np);
        if (!np)
            return QMS_ERR_NOMEM;
        s->replies = np;
        s->capreplies = ncap;
    }
    char *id = qms_strdup(req_id);
    char *js = qms_strdup(reply_json);
    if (!id || !js) {
        qms_free(id);
        qms_free(js);
        return QMS_ERR_NOMEM;
    }
    s->replies[s->nreplies].req_id = id;
    s->replies[s->nreplies].json = js;
    s->nreplies++;
    return QMS_OK;
}

int qms_store_find_reply(qms_store *s, const char *req_id, char **reply)
{
    *reply = NULL;
    if (!req_id)
        return QMS_ERR_INVAL;
    sqlite3_stmt *st = s->st[ST_FIND_REPLY];
    sqlite3_bind_text(st, 1, req_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int ret = QMS_OK;
    if (rc == SQLITE_ROW) {
        const char *txt = (const char *)sqlite3_column_text(st, 0);
        *reply = qms_strdup(txt ? txt : "");
        if (!*reply)
            ret = QMS_ERR_NOMEM;
    } else if (rc != SQLITE_DONE) {
        ret = db_fail(s, "looking up a reply");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

/* ------------------------------------------------------------------ */
/* load */

static int64_t col_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static int tstate_parse(const char *s, qms_tstate *out)
{
    for (int k = QMS_T_WAITING; k <= QMS_T_CANCELLED; k++) {
        if (s && strcmp(s, qms_tstate_name((qms_tstate)k)) == 0) {
            *out = (qms_tstate)k;
            return QMS_OK;
        }
    }
    return QMS_ERR_DB;
}

static int cstate_parse(const char *s, qms_cstate *out)
{
    for (int k = QMS_C_OPEN; k <= QMS_C_CLOSED; k++) {
        if (s && strcmp(s, qms_cstate_name((qms_cstate)k)) == 0) {
            *out = (qms_cstate)k;
            return QMS_OK;
        }
    }
    return QMS_ERR_DB;
}

static int counter_index_or_none(const qms_config *c, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return -1;
    return qms_config_counter_index(c, sqlite3_column_int(st, i));
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int i)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", v ? v : "");
}

/* The stored state: its day (0 if none) and the next ticket id. */
static int read_head(qms_store *s, int32_t *day, int64_t *next_id)
{
    sqlite3_stmt *st = NULL;
    *day = 0;
    *next_id = 1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT value FROM meta WHERE key='day'),"
                           " (SELECT value FROM meta WHERE key='next_id'),"
                           " (SELECT max(id) FROM tickets)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading the stored day");
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(s, "reading the stored day");
    }
    const char *d = (const char *)sqlite3_column_text(st, 0);
    int ret = QMS_OK;
    if (d && qms_day_parse(d, day) != QMS_OK) {
        QMS_ERROR("store: meta day '%s' is not a YYYY-MM-DD date", d);
        ret = QMS_ERR_DB;
    }
    int64_t nid = col_opt(st, 1), maxid = col_opt(st, 2);
    if (nid > *next_id)
        *next_id = nid;
    if (maxid + 1 > *next_id)
        *next_id = maxid + 1;
    sqlite3_finalize(st);
    return ret;
}

static int write_names(qms_store *s, const qms_config *c)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO services(code, prefix, name_vi, name_en, mean_service_s)"
                           " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(code) DO UPDATE SET"
                           " prefix=excluded.prefix, name_vi=excluded.name_vi,"
                           " name_en=excluded.name_en, mean_service_s=excluded.mean_service_s",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "writing service names");
    for (int i = 0; i < c->nservices; i++) {
        const qms_service *sv = &c->services[i];
        char prefix[32];
        if (sv->prefix[0])
            snprintf(prefix, sizeof prefix, "%s", sv->prefix);
        else
            snprintf(prefix, sizeof prefix, "%d-%d", (int)sv->range_lo, (int)sv->range_hi);
        sqlite3_bind_text(st, 1, sv->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, sv->name_vi ? sv->name_vi : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, sv->name_en ? sv->name_en : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, sv->mean_service_s);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(st);
            return db_fail(s, "writing service names");
        }
    }
    sqlite3_finalize(st);
    return QMS_OK;
}

static int restore_tickets(qms_store *s, qms_engine *e, int32_t day)
{
    const qms_config *c = qms_engine_config(e);
    char d[11];
    qms_day_str(day, d);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, orig_service, service, number, label, priority, appt,"
                           " state, counter_id, target_counter_id, taken_ms, first_called_ms,"
                           " called_ms, start_ms, end_ms, ncalls, eta_s, rating, transfers,"
                           " priority_kind, staff FROM tickets WHERE day = ?1 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading tickets");
    sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
    int ret = QMS_OK, step;
    while (ret == QMS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        qms_ticket t;
        memset(&t, 0, sizeof t);
        t.id = sqlite3_column_int64(st, 0);
        t.day = day;
        t.orig_service = qms_config_service_index(c, (const char *)sqlite3_column_text(st, 1));
        t.service = qms_config_service_index(c, (const char *)sqlite3_column_text(st, 2));
        if (t.orig_service < 0 || t.service < 0) {
            /* the service left the configuration: nobody could serve it */
            QMS_WARN("store: ticket %lld (%s) is for service %s, which the configuration no "
                     "longer has; not loaded",
                     (long long)t.id, (const char *)sqlite3_column_text(st, 4),
                     (const char *)sqlite3_column_text(st, t.orig_service < 0 ? 1 : 2));
            continue;
        }
        t.number = sqlite3_column_int(st, 3);
        copy_col(t.label, sizeof t.label, st, 4);
        t.priority = sqlite3_column_int(st, 5);
        copy_col(t.appt, sizeof t.appt, st, 6);
        if (tstate_parse((const char *)sqlite3_column_text(st, 7), &t.state) != QMS_OK) {
            QMS_ERROR("store: ticket %lld has an unknown state", (long long)t.id);
            ret = QMS_ERR_DB;
            break;
        }
        t.counter = counter_index_or_none(c, st, 8);
        t.target_counter = counter_index_or_none(c, st, 9);
        t.taken_ms = sqlite3_column_int64(st, 10);
        t.first_called_ms = col_opt(st, 11);
        t.called_ms = col_opt(st, 12);
        t.start_ms = col_opt(st, 13);
        t.end_ms = col_opt(st, 14);
        t.ncalls = sqlite3_column_int(st, 15);
        t.eta_s = sqlite3_column_int(st, 16);
        t.eta_now_s = -1;
        t.rating = (int)col_opt(st, 17);
        t.transfers = sqlite3_column_int(st, 18);
        copy_col(t.priority_kind, sizeof t.priority_kind, st, 19);
        copy_col(t.staff, sizeof t.staff, st, 20);
        ret = qms_engine_restore_ticket(e, &t);
        if (ret != QMS_OK)
            QMS_ERROR("store: the engine refused stored ticket %lld (%s): %s", (long long)t.id,
                      t.label, qms_err_code(ret));
    }
    if (ret == QMS_OK && step != SQLITE_DONE)
        ret = db_fail(s, "reading tickets");
    sqlite3_finalize(st);
    return ret;
}

/* Restore the counters stored for day. With staff_only (a new day), only
 * who is signed in carries over, as it does when the engine rolls over. */
static int restore_counters(qms_store *s, qms_engine *e, int32_t day, int staff_only)
{
    const qms_config *c = qms_engine_config(e);
    char d[11];
    qms_day_str(day, d);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT counter_id, state, current_ticket, last_done, normal_streak,"
                           " since_ms, staff, acted_ms FROM counters WHERE day = ?1"
                           " ORDER BY counter_id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading counters");
    sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
    int ret = QMS_OK, step;
    while (ret == QMS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int ci = qms_config_counter_index(c, sqlite3_column_int(st, 0));
        if (ci < 0) {
            QMS_WARN("store: counter %d is no longer in the configuration",
                     sqlite3_column_int(st, 0));
            continue;
        }
        qms_counter_state cs;
        if (staff_only) {
            cs = *qms_engine_counter(e, ci);
            copy_col(cs.staff, sizeof cs.staff, st, 6);
            ret = qms_engine_restore_counter(e, ci, &cs);
            continue;
        }
        memset(&cs, 0, sizeof cs);
        if (cstate_parse((const char *)sqlite3_column_text(st, 1), &cs.state) != QMS_OK) {
            QMS_ERROR("store: counter %d has an unknown state", c->counters[ci].id);
            ret = QMS_ERR_DB;
            break;
        }
        cs.current = col_opt(st, 2);
        cs.last_done = col_opt(st, 3);
        /* a ticket that was not loaded cannot be the counter's */
        if (cs.current && !qms_engine_ticket(e, cs.current))
            cs.current = 0;
        if (cs.last_done && !qms_engine_ticket(e, cs.last_done))
            cs.last_done = 0;
        cs.normal_streak = sqlite3_column_int(st, 4);
        cs.since_ms = sqlite3_column_int64(st, 5);
        copy_col(cs.staff, sizeof cs.staff, st, 6);
        cs.acted_ms = sqlite3_column_int64(st, 7);
        ret = qms_engine_restore_counter(e, ci, &cs);
        if (ret != QMS_OK)
            QMS_ERROR("store: the engine refused the stored state of counter %d: %s",
                      c->counters[ci].id, qms_err_code(ret));
    }
    if (ret == QMS_OK && step != SQLITE_DONE)
        ret = db_fail(s, "reading counters");
    sqlite3_finalize(st);
    return ret;
}

/* The same day on a full disk: what the load writes (names, today's counter
 * rows, the head) is there already from the last run, so read only, and
 * start (serving what needs no write) rather than fail for want of space. */
static int load_read_only(qms_store *s, qms_engine *e, int32_t today, int64_t next_id)
{
    QMS_WARN("store: the disk is full: today's state is loaded without writing anything");
    int rc = qms_engine_restore_begin(e, today, next_id);
    if (rc == QMS_OK)
        rc = restore_tickets(s, e, today);
    if (rc == QMS_OK)
        rc = restore_counters(s, e, today, 0);
    if (rc == QMS_OK)
        rc = qms_engine_restore_end(e);
    if (rc != QMS_OK)
        return rc;
    s->day = today;
    qms_engine_journal_clear(e);
    return QMS_OK;
}

int qms_store_load(qms_store *s, qms_engine *e)
{
    const qms_config *c = qms_engine_config(e);
    int32_t today = qms_engine_day(e);
    int32_t stored;
    int64_t next_id;
    int rc = read_head(s, &stored, &next_id);
    if (rc != QMS_OK)
        return rc;
    if (stored > today) {
        /* the clock is behind (a machine without a clock battery, a wrong
         * time zone): refusing would make systemd restart us forever. Go on
         * with the stored day; its numbers continue, and the day rolls over
         * when the clock has passed it. */
        char a[11], b[11];
        qms_day_str(stored, a);
        qms_day_str(today, b);
        QMS_ERROR("store: the clock says %s, before the stored day %s: is the clock wrong? "
                  "Going on with %s",
                  b, a, a);
        today = stored;
    }
    if ((rc = run(s, ST_BEGIN)) != QMS_OK)
        return rc;
    rc = write_names(s, c);
    if (rc == QMS_OK)
        rc = qms_engine_restore_begin(e, today, next_id);
    if (rc == QMS_OK && stored == today) {
        rc = restore_tickets(s, e, today);
        if (rc == QMS_OK)
            rc = restore_counters(s, e, today, 0);
    } else if (rc == QMS_OK) {
        /* A new day: what the old day left open is cancelled at the moment
         * the day ended; its rows stay for reports. */
        int64_t start = qms_local_to_epoch_ms(today, c->day_reset_s, c->utc_offset_min);
        if (stored) {
            int64_t end = qms_local_to_epoch_ms(stored + 1, c->day_reset_s, c->utc_offset_min);
            rc = close_old_days(s, today, end);
            if (rc == QMS_OK)
                rc = restore_counters(s, e, stored, 1);
        }
        qms_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = QMS_EV_NEW_DAY;
        ev.counter = -1;
        ev.at_ms = start;
        ev.arg = today;
        if (rc == QMS_OK)
            rc = insert_event(s, c, today, &ev);
    }
    if (rc == QMS_OK)
        rc = qms_engine_restore_end(e);
    /* Every counter gets a row of today (and its names), so a reload sees
     * the same counter states whatever happened before. */
    if (rc == QMS_OK)
        rc = write_all_counters(s, e, today);
    if (rc == QMS_OK)
        rc = set_meta_day(s, today);
    if (rc == QMS_OK)
        rc = set_meta_int(s, "next_id", qms_engine_next_id(e));
    if (rc == QMS_OK)
        rc = run(s, ST_COMMIT);
    if (rc != QMS_OK) {
        int full = s->disk_full;
        if (!sqlite3_get_autocommit(s->db))
            run(s, ST_ROLLBACK);
        if (full && stored == today)
            return load_read_only(s, e, today, next_id);
        return rc;
    }
    s->day = today;
    qms_engine_journal_clear(e);
    return QMS_OK;
}

int qms_store_record_settings(qms_store *s, int32_t day, int utc_offset_min, int rating_levels,
                              int64_t at_ms)
{
    if (!s || day <= 0 || utc_offset_min < -14 * 60 || utc_offset_min > 14 * 60 ||
        rating_levels < 2 || rating_levels > 9)
        return QMS_ERR_INVAL;
    char d[11];
    qms_day_str(day, d);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO day_settings(day, utc_offset_min, rating_levels,"
                           " recorded_ms) VALUES(?1,?2,?3,?4) ON CONFLICT(day) DO UPDATE SET"
                           " utc_offset_min=excluded.utc_offset_min,"
                           " rating_levels=excluded.rating_levels,"
                           " recorded_ms=excluded.recorded_ms",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "recording the day's settings");
    sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, utc_offset_min);
    sqlite3_bind_int(st, 3, rating_levels);
    sqlite3_bind_int64(st, 4, at_ms);
    /* its own transaction: called between commits, never inside one */
    int rc = run(s, ST_BEGIN);
    if (rc == QMS_OK) {
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(s, "recording the day's settings");
        if (rc == QMS_OK)
            rc = run(s, ST_COMMIT);
        if (rc != QMS_OK && !sqlite3_get_autocommit(s->db))
            run(s, ST_ROLLBACK);
    }
    sqlite3_finalize(st);
    return rc;
}
