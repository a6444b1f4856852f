/* Unit tests of the durable store on real SQLite files: a fresh file, the
 * migration of an old one, a reopened store continuing exactly, the
 * uniqueness of (day, service, number), request de-duplication, day changes,
 * and what a failing commit leaves behind (nothing). */
#include "qms/alloc.h"
#include "qms/err.h"
#include "store_fixture.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *dbof(sfix *f)
{
    return qms_store_db(f->s);
}

static const qms_ticket *take(sfix *f, const char *code, int prio)
{
    qms_take_result r;
    int si = qms_config_service_index(f->cfg, code);
    assert_int_equal(qms_engine_take(f->e, si, prio, NULL, &r), QMS_OK);
    return r.ticket;
}

static int ci_of(sfix *f, int id)
{
    return qms_config_counter_index(f->cfg, id);
}

static void commit(sfix *f)
{
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_OK);
    assert_int_equal(qms_engine_journal_len(f->e), 0);
}

/* Counts of the rows a commit writes, to show a failed one wrote nothing. */
typedef struct counts {
    int64_t tickets, events, replies, counters;
    char meta[256];
} counts;

static counts count_rows(sqlite3 *db)
{
    counts c;
    c.tickets = sql_int(db, "SELECT count(*) FROM tickets");
    c.events = sql_int(db, "SELECT count(*) FROM events");
    c.replies = sql_int(db, "SELECT count(*) FROM replies");
    c.counters = sql_int(db, "SELECT total(since_ms) + total(length(state)) FROM counters");
    snprintf(c.meta, sizeof c.meta, "%s",
             sql_text(db, "SELECT group_concat(key || '=' || value) FROM meta"));
    return c;
}

static void assert_counts_equal(counts a, counts b)
{
    assert_int_equal(a.tickets, b.tickets);
    assert_int_equal(a.events, b.events);
    assert_int_equal(a.replies, b.replies);
    assert_int_equal(a.counters, b.counters);
    assert_string_equal(a.meta, b.meta);
}

/* A busy little morning touching every operation. */
static void morning(sfix *f)
{
    int c1 = ci_of(f, 1), c2 = ci_of(f, 2), c3 = ci_of(f, 3);
    const qms_ticket *t;
    take(f, "A", 0);
    sfix_advance(f, 10);
    take(f, "B", 0);
    take(f, "A", 1);
    sfix_advance(f, 5);
    take(f, "C", 0);
    commit(f);
    sfix_advance(f, 20);
    assert_int_equal(qms_engine_next(f->e, c1, &t), QMS_OK); /* the priority A */
    assert_int_equal(qms_engine_start(f->e, c1), QMS_OK);
    assert_int_equal(qms_engine_next(f->e, c2, &t), QMS_OK);
    assert_int_equal(qms_engine_recall(f->e, c2, &t), QMS_OK);
    sfix_advance(f, 30);
    assert_int_equal(qms_engine_skip(f->e, c2, &t), QMS_OK);
    assert_int_equal(qms_engine_set_staff(f->e, c2, "Nguyễn Thị Hà"), QMS_OK);
    commit(f);
    sfix_advance(f, 200);
    assert_int_equal(qms_engine_done(f->e, c1, &t), QMS_OK);
    assert_int_equal(qms_engine_rate(f->e, c1, 4, &t), QMS_OK);
    assert_int_equal(qms_engine_next(f->e, c3, &t), QMS_OK); /* C1 */
    /* C1 turns out to be an A matter: to service A, counter 1 */
    assert_int_equal(qms_engine_transfer(f->e, c3, qms_config_service_index(f->cfg, "A"), c1, &t),
                     QMS_OK);
    assert_int_equal(qms_engine_pause(f->e, c2), QMS_OK);
    take(f, "A", 2);
    take(f, "B", 0);
    take(f, "C", 0);
    commit(f);
    sfix_advance(f, 60);
    /* ... and one operation left uncommitted would be lost: not here */
}

static void test_fresh_open(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    sqlite3 *db = dbof(f);
    assert_string_equal(sql_text(db, "PRAGMA journal_mode"), "wal");
    assert_int_equal(sql_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(sql_int(db, "SELECT value FROM meta WHERE key='schema_version'"), 6);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM bookings"), 0);
    assert_string_equal(sql_text(db, "SELECT value FROM meta WHERE key='day'"), "2026-11-26");
    /* the settings reports need: only what the caller records (the controller) */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM day_settings"), 0);
    /* every counter has a row of today, by its id, with its name */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM counters WHERE day='2026-11-26'"), 4);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM services"), 3);
    assert_string_equal(sql_text(db, "SELECT name_vi FROM services WHERE code='B'"), "Bê");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM events WHERE kind='new_day'"), 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets"), 0);
    sfix_close(f);

    /* NORMAL for the replay, by option */
    qms_store *s = NULL;
    qms_store_opts o = {QMS_STORE_SYNC_NORMAL, 0};
    assert_int_equal(qms_store_open_ex(f->path, &o, &s), QMS_OK);
    assert_int_equal(sql_int(qms_store_db(s), "PRAGMA synchronous"), 1);
    qms_store_close(s);
    o.sync = (qms_store_sync)7;
    assert_int_equal(qms_store_open_ex(f->path, &o, &s), QMS_ERR_INVAL);
    assert_null(s);
    /* a path that cannot be a database */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.db", f->dir);
    assert_int_equal(qms_store_open(bad, &s), QMS_ERR_DB);
    assert_null(s);
    f->s = NULL;
    sfix_free(f);
}

static void test_commit_writes_history(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    int64_t before = sql_int(dbof(f), "SELECT count(*) FROM events");
    take(f, "A", 0);
    take(f, "B", 0);
    const qms_ticket *t;
    /* counter 2 serves B, A; the policy is oldest first: A001 */
    assert_int_equal(qms_engine_next(f->e, ci_of(f, 2), &t), QMS_OK);
    int nj = qms_engine_journal_len(f->e);
    assert_int_equal(nj, 3);
    commit(f);
    sqlite3 *db = dbof(f);
    /* one history row per event, in order */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM events") - before, nj);
    assert_string_equal(sql_text(db, "SELECT group_concat(kind || ':' || coalesce(label,'-') || ':'"
                                     " || coalesce(counter_id,'-'), ' ') FROM (SELECT * FROM events"
                                     " WHERE kind != 'new_day' ORDER BY seq)"),
                        "take:A001:- take:B001:- call:A001:2");
    assert_string_equal(sql_text(db, "SELECT state FROM tickets WHERE label='A001'"), "called");
    assert_int_equal(sql_int(db, "SELECT current_ticket FROM counters WHERE counter_id=2"), t->id);
    /* the next id is not rewritten by every commit: max(id) + 1 gives it */
    assert_int_equal(sql_int(db, "SELECT max(id) + 1 FROM tickets"), qms_engine_next_id(f->e));
    /* times are epoch ms of the virtual clock */
    assert_int_equal(sql_int(db, "SELECT taken_ms FROM tickets WHERE label='A001'"),
                     sfix_at(f, 8, 0, 0));
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets WHERE label='B001' AND"
                                 " first_called_ms IS NULL AND counter_id IS NULL"),
                     1);
    /* an empty commit is fine and writes nothing */
    counts c0 = count_rows(db);
    commit(f);
    assert_counts_equal(c0, count_rows(db));
    assert_store_matches(db, f->e);
    sfix_free(f);
}

/* The heart of it: a reopened store continues exactly. */
static void reopen_continues(const char *prio, const char *order)
{
    sfix *f = sfix_new(prio, order);
    morning(f);
    assert_store_matches(dbof(f), f->e);

    /* a second engine + store on the same file, as after a restart */
    qms_engine *e2 = NULL;
    qms_store *s2 = NULL;
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &e2), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &s2), QMS_OK);
    assert_int_equal(qms_store_load(s2, e2), QMS_OK);
    assert_engines_equal(f->e, e2);

    /* and both go on the same way: numbering, calls, streaks */
    for (int round = 0; round < 6; round++) {
        qms_engine *es[2] = {f->e, e2};
        const qms_ticket *got[2][4];
        qms_take_result tr[2];
        for (int k = 0; k < 2; k++) {
            qms_engine *e = es[k];
            assert_int_equal(qms_engine_take(e, round % 3, round % 2, NULL, &tr[k]), QMS_OK);
            got[k][0] = tr[k].ticket;
            for (int ci = 0; ci < f->cfg->ncounters; ci++) {
                const qms_ticket *t = NULL;
                int rc = qms_engine_next(e, ci, &t);
                got[k][ci % 4] = rc == QMS_OK ? t : NULL;
            }
        }
        assert_string_equal(tr[0].ticket->label, tr[1].ticket->label);
        assert_int_equal(tr[0].ticket->id, tr[1].ticket->id);
        assert_int_equal(tr[0].eta_s, tr[1].eta_s);
        assert_int_equal(tr[0].ahead, tr[1].ahead);
        for (int ci = 0; ci < 4; ci++) {
            assert_true((got[0][ci] == NULL) == (got[1][ci] == NULL));
            if (got[0][ci])
                assert_int_equal(got[0][ci]->id, got[1][ci]->id);
        }
        commit(f);
        assert_int_equal(qms_store_commit(s2, e2), QMS_OK);
        sfix_advance(f, 97);
    }
    assert_engines_equal(f->e, e2);
    qms_store_close(s2);
    qms_engine_free(e2);

    /* a third load after all that matches as well */
    sfix_close(f);
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &f->s), QMS_OK);
    assert_int_equal(qms_store_load(f->s, f->e), QMS_OK);
    assert_store_matches(dbof(f), f->e);
    sfix_free(f);
}

static void test_reopen_strict_oldest(void **state)
{
    (void)state;
    reopen_continues("strict", "oldest");
}

static void test_reopen_interleave_counter(void **state)
{
    (void)state;
    reopen_continues("interleave", "counter");
}

/* Interleave streaks are counter state: they survive a restart. */
static void test_streak_survives(void **state)
{
    (void)state;
    sfix *f = sfix_new("interleave", "oldest"); /* k = 2 */
    int c1 = ci_of(f, 1);
    const qms_ticket *t;
    take(f, "A", 0);
    take(f, "A", 0);
    take(f, "A", 0);
    take(f, "A", 1);
    /* streak 0 < k: normal ones first, A001 then A002 */
    assert_int_equal(qms_engine_next(f->e, c1, &t), QMS_OK);
    assert_string_equal(t->label, "A001");
    assert_int_equal(qms_engine_next(f->e, c1, &t), QMS_OK);
    assert_string_equal(t->label, "A002");
    commit(f);
    int streak = qms_engine_counter(f->e, c1)->normal_streak;
    assert_int_equal(streak, 2);
    sfix_reopen(f);
    assert_int_equal(qms_engine_counter(f->e, c1)->normal_streak, streak);
    assert_int_equal(sql_int(dbof(f), "SELECT normal_streak FROM counters WHERE counter_id=1"),
                     streak);
    /* so the reloaded counter now owes the priority ticket its turn */
    assert_int_equal(qms_engine_next(f->e, c1, &t), QMS_OK);
    assert_string_equal(t->label, "A004");
    sfix_free(f);
}

/* Services are stored by code and counters by id: a config listing them in
 * another order (other indices) loads the same state. */
static void test_config_reordered(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    morning(f);
    qms_config *rc = sfix_config("strict", "oldest", 1);
    assert_int_not_equal(qms_config_service_index(rc, "A"), qms_config_service_index(f->cfg, "A"));
    qms_engine *e2 = NULL;
    qms_store *s2 = NULL;
    assert_int_equal(qms_engine_new(rc, &f->clk.clock, &e2), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &s2), QMS_OK);
    assert_int_equal(qms_store_load(s2, e2), QMS_OK);
    assert_int_equal(qms_engine_ticket_count(e2), qms_engine_ticket_count(f->e));
    for (int i = 0; i < qms_engine_ticket_count(e2); i++) {
        const qms_ticket *a = qms_engine_ticket_at(f->e, i), *b = qms_engine_ticket_at(e2, i);
        assert_string_equal(a->label, b->label);
        assert_string_equal(f->cfg->services[a->service].code, rc->services[b->service].code);
        assert_int_equal(a->state, b->state);
        if (a->counter >= 0)
            assert_int_equal(f->cfg->counters[a->counter].id, rc->counters[b->counter].id);
        else
            assert_int_equal(b->counter, -1);
    }
    for (int ci = 0; ci < f->cfg->ncounters; ci++) {
        int cj = qms_config_counter_index(rc, f->cfg->counters[ci].id);
        assert_int_equal(qms_engine_counter(f->e, ci)->state, qms_engine_counter(e2, cj)->state);
        assert_int_equal(qms_engine_counter(f->e, ci)->current,
                         qms_engine_counter(e2, cj)->current);
    }
    /* the next A number continues */
    qms_take_result tr;
    assert_int_equal(qms_engine_take(e2, qms_config_service_index(rc, "A"), 0, NULL, &tr), QMS_OK);
    const qms_ticket *t = take(f, "A", 0);
    assert_string_equal(tr.ticket->label, t->label);
    qms_store_close(s2);
    qms_engine_free(e2);
    qms_config_free(rc);
    sfix_free(f);
}

/* (day, orig service, number) is unique forever: a constraint, and ticket
 * rows can be neither deleted nor renumbered. */
static void test_uniqueness(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    take(f, "A", 0);
    commit(f);
    sqlite3 *db = dbof(f);
    char *msg = NULL;
    assert_int_not_equal(
        sqlite3_exec(db,
                     "INSERT INTO tickets(id, day, orig_service, service, number, label, priority,"
                     " state, taken_ms, eta_s) VALUES(100, '2026-11-26', 'A', 'A', 1, 'A001', 0,"
                     " 'waiting', 0, 0)",
                     NULL, NULL, &msg),
        SQLITE_OK);
    assert_non_null(strstr(msg, "UNIQUE"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM tickets", NULL, NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "kept forever"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE tickets SET number = 7", NULL, NULL, &msg),
                         SQLITE_OK);
    sqlite3_free(msg);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets"), 1);

    /* Another writer put an A002 of today in (say, a second controller by
     * mistake): the engine's A002 cannot commit, and nothing of that commit
     * is written. */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO tickets(id, day, orig_service, service, number,"
                                  " label, priority, state, taken_ms, eta_s) VALUES(500,"
                                  " '2026-11-26', 'A', 'A', 2, 'A002', 0, 'waiting', 0, 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    counts before = count_rows(db);
    take(f, "B", 0);
    take(f, "A", 0); /* A002 */
    assert_int_equal(qms_store_queue_reply(f->s, "req-1", "{\"ok\":true}"), QMS_OK);
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_ERR_DB);
    assert_counts_equal(before, count_rows(db));
    assert_int_equal(qms_engine_journal_len(f->e), 2); /* kept for a retry */
    char *reply = NULL;
    assert_int_equal(qms_store_find_reply(f->s, "req-1", &reply), QMS_OK);
    assert_null(reply);
    assert_int_equal(sql_int(db, "SELECT id FROM tickets WHERE label='A002'"), 500);
    sfix_free(f);
}

static void test_replies(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    char *reply = NULL;
    assert_int_equal(qms_store_find_reply(f->s, "k-1", &reply), QMS_OK);
    assert_null(reply);
    take(f, "A", 0);
    assert_int_equal(qms_store_queue_reply(f->s, "k-1", "{\"ticket\":\"A001\"}"), QMS_OK);
    /* not visible before the commit: nobody may be told before it is on disk */
    assert_int_equal(qms_store_find_reply(f->s, "k-1", &reply), QMS_OK);
    assert_null(reply);
    commit(f);
    assert_int_equal(qms_store_find_reply(f->s, "k-1", &reply), QMS_OK);
    assert_string_equal(reply, "{\"ticket\":\"A001\"}");
    qms_free(reply);
    /* a refusal changes nothing but its reply is remembered too */
    assert_int_equal(qms_store_queue_reply(f->s, "k-2", "{\"error\":\"nothing_to_call\"}"), QMS_OK);
    commit(f);
    /* a second reply under the same id does not replace the first */
    assert_int_equal(qms_store_queue_reply(f->s, "k-1", "{\"ticket\":\"A999\"}"), QMS_OK);
    commit(f);
    assert_int_equal(qms_store_find_reply(f->s, "k-1", &reply), QMS_OK);
    assert_string_equal(reply, "{\"ticket\":\"A001\"}");
    qms_free(reply);
    /* Vietnamese text and quotes survive */
    assert_int_equal(qms_store_queue_reply(f->s, "k-3", "{\"msg\":\"Mời khách \\\"A001\\\"\"}"),
                     QMS_OK);
    assert_int_equal(qms_store_queue_reply(f->s, "", "{}"), QMS_ERR_INVAL);
    assert_int_equal(qms_store_queue_reply(f->s, NULL, "{}"), QMS_ERR_INVAL);
    assert_int_equal(qms_store_queue_reply(f->s, "k-4", NULL), QMS_ERR_INVAL);
    commit(f);
    /* they survive a restart */
    sfix_reopen(f);
    assert_int_equal(qms_store_find_reply(f->s, "k-3", &reply), QMS_OK);
    assert_string_equal(reply, "{\"msg\":\"Mời khách \\\"A001\\\"\"}");
    qms_free(reply);
    assert_int_equal(qms_store_find_reply(f->s, "k-2", &reply), QMS_OK);
    assert_string_equal(reply, "{\"error\":\"nothing_to_call\"}");
    qms_free(reply);
    assert_int_equal(sql_int(dbof(f), "SELECT count(*) FROM replies"), 3);
    sfix_free(f);
}

/* A full disk (the database may not grow): the commit fails with
 * QMS_ERR_DB, nothing of it is written, and a retry once there is room
 * writes all of it. */
static void test_commit_full(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    take(f, "A", 0);
    commit(f);
    sqlite3 *db = dbof(f);
    int64_t pages = sql_int(db, "PRAGMA page_count");
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)pages);
    sql_int(db, sql);
    counts before = count_rows(db);
    for (int i = 0; i < 3; i++)
        take(f, "B", 0);
    /* a reply big enough to need new pages */
    size_t big = 64 * 1024;
    char *blob = malloc(big + 1);
    memset(blob, 'x', big);
    blob[big] = 0;
    assert_int_equal(qms_store_queue_reply(f->s, "big", blob), QMS_OK);
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_ERR_DB);
    assert_counts_equal(before, count_rows(db));
    assert_int_equal(qms_engine_journal_len(f->e), 3);
    /* room again: the retry writes everything, including the reply */
    sql_int(db, "PRAGMA max_page_count=1000000");
    commit(f);
    assert_store_matches(db, f->e);
    char *reply = NULL;
    assert_int_equal(qms_store_find_reply(f->s, "big", &reply), QMS_OK);
    assert_non_null(reply);
    assert_int_equal(strlen(reply), big);
    qms_free(reply);
    free(blob);
    sfix_free(f);
}

/* A database that refuses writes (read-only) and one locked by another
 * program: QMS_ERR_DB, nothing written, the journal kept. */
static void test_commit_readonly_and_locked(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    take(f, "A", 0);
    commit(f);
    sqlite3 *db = dbof(f);
    counts before = count_rows(db);
    take(f, "A", 0);
    assert_int_equal(sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_ERR_DB);
    assert_int_equal(sqlite3_exec(db, "PRAGMA query_only=0", NULL, NULL, NULL), SQLITE_OK);
    assert_counts_equal(before, count_rows(db));
    assert_int_equal(qms_engine_journal_len(f->e), 1);

    /* another connection holds the write lock */
    qms_store_close(f->s);
    qms_store_opts o = {QMS_STORE_SYNC_FULL, 100};
    assert_int_equal(qms_store_open_ex(f->path, &o, &f->s), QMS_OK);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_ERR_DB);
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_counts_equal(before, count_rows(dbof(f)));
    commit(f);
    assert_store_matches(dbof(f), f->e);
    sfix_free(f);
}

/* Running out of memory before the transaction: a clean error, nothing written. */
static void test_commit_nomem(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    counts before = count_rows(dbof(f));
    /* enough events to need more scratch than any earlier commit */
    for (int i = 0; i < 70; i++)
        take(f, i % 2 ? "A" : "B", 0);
    qms_alloc_fail_after(0);
    int rc = qms_store_commit(f->s, f->e);
    qms_alloc_fail_after(-1);
    assert_int_equal(rc, QMS_ERR_NOMEM);
    assert_counts_equal(before, count_rows(dbof(f)));
    commit(f);
    assert_store_matches(dbof(f), f->e);
    sfix_free(f);
}

/* The v1 layout, as a file written by the first version holds it. Frozen. */
static const char v1_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);"
    "CREATE TABLE tickets(id INTEGER PRIMARY KEY, day TEXT NOT NULL, orig_service TEXT NOT NULL,"
    " service TEXT NOT NULL, number INTEGER NOT NULL, label TEXT NOT NULL, priority INTEGER NOT"
    " NULL, appt TEXT, state TEXT NOT NULL, counter_id INTEGER, target_counter_id INTEGER,"
    " taken_ms INTEGER NOT NULL, first_called_ms INTEGER, called_ms INTEGER, start_ms INTEGER,"
    " end_ms INTEGER, ncalls INTEGER NOT NULL DEFAULT 0, eta_s INTEGER NOT NULL, rating INTEGER,"
    " UNIQUE(day, orig_service, number));"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL, at_ms INTEGER"
    " NOT NULL, kind TEXT NOT NULL, ticket_id INTEGER, counter_id INTEGER, service TEXT,"
    " from_service TEXT, rating INTEGER, counter_state TEXT);"
    "CREATE TABLE counters(counter_id INTEGER PRIMARY KEY, day TEXT NOT NULL, state TEXT NOT NULL,"
    " current_ticket INTEGER, last_done INTEGER, normal_streak INTEGER NOT NULL DEFAULT 0,"
    " since_ms INTEGER NOT NULL DEFAULT 0, staff TEXT NOT NULL DEFAULT '');"
    "INSERT INTO meta VALUES('schema_version', 1);";

static void test_migrate_from_v1(void **state)
{
    (void)state;
    char dir[256], path[300], sql[2048];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "migrate"), 0);
    snprintf(path, sizeof path, "%s/old.db", dir);
    qms_config *cfg = sfix_config("strict", "oldest", 0);
    int32_t day;
    qms_day_parse("2026-11-26", &day);
    int64_t t0 = qms_local_to_epoch_ms(day, 8 * 3600, 420);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    /* A001 was taken as a B ticket, transferred to A, and waits; B001 is at
     * counter 2 */
    snprintf(sql, sizeof sql,
             "INSERT INTO meta VALUES('day','2026-11-26'),('next_id',3);"
             "INSERT INTO tickets(id, day, orig_service, service, number, label, priority, state,"
             " counter_id, taken_ms, first_called_ms, called_ms, ncalls, eta_s) VALUES"
             " (1,'2026-11-26','A','B',1,'A001',0,'waiting',1,%lld,%lld,%lld,1,60),"
             " (2,'2026-11-26','B','B',1,'B001',0,'called',2,%lld,%lld,%lld,1,0);"
             "INSERT INTO events(day, at_ms, kind, ticket_id, counter_id, service, from_service)"
             " VALUES('2026-11-26',%lld,'transfer',1,1,'B','A');"
             "INSERT INTO counters(counter_id, day, state, current_ticket) VALUES"
             " (1,'2026-11-26','open',NULL),(2,'2026-11-26','open',2),"
             " (3,'2026-11-26','paused',NULL),(4,'2026-11-26','open',NULL);",
             (long long)t0, (long long)t0 + 1000, (long long)t0 + 1000, (long long)t0 + 2000,
             (long long)t0 + 3000, (long long)t0 + 3000, (long long)t0 + 2500);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    qms_vclock clk;
    qms_vclock_init(&clk, t0 + 60000);
    qms_engine *e = NULL;
    qms_store *s = NULL;
    assert_int_equal(qms_engine_new(cfg, &clk.clock, &e), QMS_OK);
    assert_int_equal(qms_store_open(path, &s), QMS_OK);
    db = qms_store_db(s);
    assert_int_equal(sql_int(db, "SELECT value FROM meta WHERE key='schema_version'"), 6);
    /* version 6's kind and staff: not known for the old rows */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets WHERE priority_kind IS NULL"
                                 " AND staff IS NULL"),
                     2);
    /* version 4's bookings table starts empty */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM bookings"), 0);
    /* version 5's acted_ms: 0 for counters stored before (nobody acted, as far as we know) */
    assert_int_equal(sql_int(db, "SELECT acted_ms FROM counters WHERE counter_id=3"), 0);
    /* version 3's settings table starts empty: nobody recorded them before */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM day_settings"), 0);
    /* what version 2 adds was derived from the old rows */
    assert_int_equal(sql_int(db, "SELECT transfers FROM tickets WHERE id=1"), 1);
    assert_string_equal(sql_text(db, "SELECT label FROM events WHERE ticket_id=1"), "A001");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM replies"), 0);
    assert_int_equal(qms_store_load(s, e), QMS_OK);
    assert_int_equal(qms_engine_ticket_count(e), 2);
    const qms_ticket *a = qms_engine_ticket(e, 1);
    assert_non_null(a);
    assert_int_equal(a->state, QMS_T_WAITING);
    assert_int_equal(a->service, qms_config_service_index(cfg, "B"));
    assert_int_equal(a->transfers, 1);
    assert_int_equal(qms_engine_counter(e, qms_config_counter_index(cfg, 2))->current, 2);
    assert_int_equal(qms_engine_counter(e, qms_config_counter_index(cfg, 3))->state, QMS_C_PAUSED);
    /* numbering and ids continue */
    qms_take_result r;
    assert_int_equal(qms_engine_take(e, qms_config_service_index(cfg, "A"), 0, NULL, &r), QMS_OK);
    assert_string_equal(r.ticket->label, "A002");
    assert_int_equal(r.ticket->id, 3);
    assert_int_equal(qms_store_commit(s, e), QMS_OK);
    assert_store_matches(db, e);
    /* names were filled in for reports */
    assert_string_equal(sql_text(db, "SELECT name_vi FROM services WHERE code='A'"), "Ả");
    qms_store_close(s);
    qms_engine_free(e);

    /* reopening a migrated file migrates nothing more */
    assert_int_equal(qms_store_open(path, &s), QMS_OK);
    assert_int_equal(sql_int(qms_store_db(s), "SELECT value FROM meta WHERE key='schema_version'"),
                     6);
    qms_store_close(s);
    qms_config_free(cfg);
    qms_test_rmdir(dir);
}

/* A version-5 file (the tickets table without priority_kind and staff, as
 * version 5 wrote it): opening it adds both columns, NULL for the old rows,
 * which load as before; what happens next records the kind and who served. */
static void test_migrate_from_v5(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    qms_take_result r;
    int sa = qms_config_service_index(f->cfg, "A");
    assert_int_equal(qms_engine_take_kind(f->e, sa, 1, "elderly", NULL, &r), QMS_OK);
    take(f, "A", 0);
    const qms_ticket *t = NULL;
    assert_int_equal(qms_engine_next(f->e, ci_of(f, 1), &t), QMS_OK);
    commit(f);
    sfix_close(f);
    /* back to version 5's layout: what migrate_5_6 adds, dropped */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "ALTER TABLE tickets DROP COLUMN priority_kind;"
                                  "ALTER TABLE tickets DROP COLUMN staff;"
                                  "UPDATE meta SET value=5 WHERE key='schema_version';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    sfix_reopen(f);
    db = dbof(f);
    assert_int_equal(sql_int(db, "SELECT value FROM meta WHERE key='schema_version'"), 6);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets WHERE priority_kind IS NULL"
                                 " AND staff IS NULL"),
                     2);
    /* the old rows: the priority class stays, its kind is not known */
    const qms_ticket *a1 = qms_engine_ticket(f->e, 1);
    assert_non_null(a1);
    assert_int_equal(a1->priority, 1);
    assert_string_equal(a1->priority_kind, "");
    assert_int_equal(a1->state, QMS_T_CALLED);
    /* new tickets carry their kind; a signed-in clerk's calls carry the clerk */
    assert_int_equal(qms_engine_set_staff(f->e, ci_of(f, 2), "nv02"), QMS_OK);
    assert_int_equal(qms_engine_take_kind(f->e, sa, 1, "child", NULL, &r), QMS_OK);
    int64_t child = r.ticket->id;
    assert_int_equal(qms_engine_take_kind(f->e, sa, 1, "alien", NULL, &r), QMS_ERR_INVAL);
    assert_int_equal(qms_engine_next(f->e, ci_of(f, 2), &t), QMS_OK);
    assert_int_equal(t->id, child);
    assert_int_equal(qms_engine_start(f->e, ci_of(f, 2)), QMS_OK);
    assert_int_equal(qms_engine_next(f->e, ci_of(f, 1), &t), QMS_OK); /* nobody signed in */
    commit(f);
    assert_store_matches(db, f->e);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT priority_kind || '/' || staff FROM tickets WHERE id=%lld",
             (long long)child);
    assert_string_equal(sql_text(db, sql), "child/nv02");
    snprintf(sql, sizeof sql, "SELECT '[' || staff || ']' FROM tickets WHERE id=%lld",
             (long long)t->id);
    assert_string_equal(sql_text(db, sql), "[]");
    /* and they come back as they were */
    qms_engine *before = f->e;
    f->e = NULL;
    sfix_reopen(f);
    assert_engines_equal(before, f->e);
    qms_engine_free(before);
    sfix_free(f);
}

/* The settings reports need: one row per day, the last recording wins,
 * bad values refused, nothing of the queue touched. */
static void test_record_settings(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    sqlite3 *db = dbof(f);
    morning(f);
    int64_t now = sfix_at(f, 9, 0, 0);
    assert_int_equal(qms_store_record_settings(f->s, f->day, 330, 3, now), QMS_OK);
    assert_int_equal(sql_int(db, "SELECT utc_offset_min FROM day_settings WHERE day='2026-11-26'"),
                     330);
    assert_int_equal(sql_int(db, "SELECT rating_levels FROM day_settings WHERE day='2026-11-26'"),
                     3);
    /* recorded again the same day (a reload): replaced */
    assert_int_equal(qms_store_record_settings(f->s, f->day, -300, 5, now + 1000), QMS_OK);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM day_settings"), 1);
    assert_int_equal(sql_int(db, "SELECT utc_offset_min FROM day_settings"), -300);
    assert_int_equal(sql_int(db, "SELECT rating_levels FROM day_settings"), 5);
    assert_int_equal(sql_int(db, "SELECT recorded_ms FROM day_settings"), now + 1000);
    /* another day: a row of its own */
    assert_int_equal(qms_store_record_settings(f->s, f->day + 1, 420, 4, now + 86400000), QMS_OK);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM day_settings"), 2);
    /* out of range: refused, nothing written */
    assert_int_equal(qms_store_record_settings(f->s, f->day, 900, 4, now), QMS_ERR_INVAL);
    assert_int_equal(qms_store_record_settings(f->s, f->day, 420, 1, now), QMS_ERR_INVAL);
    assert_int_equal(qms_store_record_settings(f->s, f->day, 420, 10, now), QMS_ERR_INVAL);
    assert_int_equal(sql_int(db, "SELECT utc_offset_min FROM day_settings WHERE day='2026-11-26'"),
                     -300);
    /* the queue goes on: commits after it work, and a reload matches */
    take(f, "A", 0);
    commit(f);
    assert_store_matches(db, f->e);
    sfix_reopen(f);
    assert_store_matches(dbof(f), f->e);
    sfix_free(f);
}

/* A file from a newer program is refused, untouched. */
static void test_newer_version_refused(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    sql_int(dbof(f), "SELECT 1");
    assert_int_equal(sqlite3_exec(dbof(f), "UPDATE meta SET value=99 WHERE key='schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sfix_close(f);
    qms_store *s = NULL;
    assert_int_equal(qms_store_open(f->path, &s), QMS_ERR_DB);
    assert_null(s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, "SELECT value FROM meta WHERE key='schema_version'"), 99);
    sqlite3_close(db);
    sfix_free(f);
}

/* A store whose day is over: the engine starts a new day, numbers restart,
 * ids go on, and the old day's unfinished tickets end as cancelled. */
static void test_new_day_on_load(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    morning(f);
    assert_int_equal(qms_engine_set_staff(f->e, ci_of(f, 4), "Lê Văn Tám"), QMS_OK);
    commit(f);
    int64_t next_id = qms_engine_next_id(f->e);
    int open = 0;
    for (int i = 0; i < qms_engine_ticket_count(f->e); i++)
        open += qms_engine_ticket_at(f->e, i)->state <= QMS_T_SERVING;
    assert_true(open > 0);
    /* an old reply, from 10 days ago, and a recent one */
    sqlite3_exec(dbof(f),
                 "INSERT INTO replies VALUES('old','2026-11-16','{}'),('new','2026-11-25','{}')",
                 NULL, NULL, NULL);
    sfix_close(f);
    qms_vclock_set(&f->clk, sfix_at(f, 24 + 7, 45, 0)); /* next morning 07:45 */
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &f->s), QMS_OK);
    assert_int_equal(qms_store_load(f->s, f->e), QMS_OK);
    sqlite3 *db = dbof(f);
    assert_int_equal(qms_engine_day(f->e), f->day + 1);
    assert_int_equal(qms_engine_ticket_count(f->e), 0);
    assert_string_equal(sql_text(db, "SELECT value FROM meta WHERE key='day'"), "2026-11-27");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets WHERE day='2026-11-26' AND"
                                 " state IN ('waiting','called','serving')"),
                     0);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM tickets WHERE day='2026-11-26' AND state='cancelled' AND"
             " end_ms=%lld",
             (long long)qms_local_to_epoch_ms(f->day + 1, 0, 420));
    assert_int_equal(sql_int(db, q), open);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM events WHERE kind='cancel'"), open);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM events WHERE kind='new_day'"), 2);
    /* staff signed in carries over (as the engine does at a rollover) */
    assert_string_equal(qms_engine_counter(f->e, ci_of(f, 4))->staff, "Lê Văn Tám");
    assert_int_equal(qms_engine_counter(f->e, ci_of(f, 2))->state, QMS_C_OPEN);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM replies WHERE req_id='old'"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM replies WHERE req_id='new'"), 1);
    const qms_ticket *t = take(f, "A", 0);
    assert_string_equal(t->label, "A001");
    assert_int_equal(t->id, next_id);
    commit(f);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets WHERE label='A001'"), 2);
    assert_store_matches(db, f->e);
    sfix_free(f);
}

/* The engine rolls over while running: the cancellations and the new day
 * are committed like any change. */
static void test_rollover_while_running(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    take(f, "A", 0);
    take(f, "B", 0);
    const qms_ticket *t;
    assert_int_equal(qms_engine_next(f->e, ci_of(f, 1), &t), QMS_OK);
    commit(f);
    qms_vclock_set(&f->clk, sfix_at(f, 24, 0, 5));
    assert_int_equal(qms_engine_tick(f->e), 1);
    commit(f);
    sqlite3 *db = dbof(f);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM tickets WHERE day='2026-11-26' AND state='cancelled' AND"
             " end_ms=%lld",
             (long long)sfix_at(f, 24, 0, 5));
    assert_int_equal(sql_int(db, q), 2);
    assert_string_equal(sql_text(db, "SELECT group_concat(kind || ':' || day, ' ') FROM (SELECT"
                                     " * FROM events WHERE seq > 4 ORDER BY seq)"),
                        "cancel:2026-11-26 cancel:2026-11-26 new_day:2026-11-27");
    assert_string_equal(sql_text(db, "SELECT value FROM meta WHERE key='day'"), "2026-11-27");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM counters WHERE day='2026-11-27' AND"
                                 " current_ticket IS NULL"),
                     4);
    qms_vclock_set(&f->clk, sfix_at(f, 24 + 7, 45, 0));
    t = take(f, "A", 0);
    assert_string_equal(t->label, "A001");
    assert_int_equal(t->id, 3);
    commit(f);
    assert_store_matches(db, f->e);
    qms_engine *e2 = NULL;
    qms_store *s2 = NULL;
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &e2), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &s2), QMS_OK);
    assert_int_equal(qms_store_load(s2, e2), QMS_OK);
    assert_engines_equal(f->e, e2);
    qms_store_close(s2);
    qms_engine_free(e2);
    sfix_free(f);
}

/* A clock behind the store's day (issue 9 #4): refusing made systemd
 * restart the controller forever. The load keeps the stored day: its
 * numbers continue (no number twice), the day rolls over only once the
 * clock has passed it. */
static void test_clock_behind_keeps_stored_day(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    take(f, "A", 0);
    commit(f);
    sfix_close(f);
    qms_vclock_set(&f->clk, sfix_at(f, -24 + 9, 0, 0));
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &f->s), QMS_OK);
    assert_int_equal(qms_store_load(f->s, f->e), QMS_OK);
    char day[11];
    qms_day_str(qms_engine_day(f->e), day);
    assert_string_equal(day, "2026-11-26");
    assert_int_equal(qms_engine_ticket_count(f->e), 1);
    assert_int_equal(qms_engine_tick(f->e), 0); /* no rollover backwards */
    qms_take_result r;
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_OK);
    assert_string_equal(r.ticket->label, "A002");
    commit(f);
    assert_string_equal(sql_text(dbof(f), "SELECT value FROM meta WHERE key='day'"), "2026-11-26");
    sfix_free(f);
}

/* With checkpoints deferred, no commit runs one (the log grows past SQLite's
 * automatic 1000 pages); qms_store_checkpoint empties it; nothing is lost. */
static void test_deferred_checkpoint(void **state)
{
    (void)state;
    sfix *f = sfix_new("strict", "oldest");
    qms_store_defer_checkpoints(f->s);
    int n = 0;
    while (qms_store_wal_pages(f->s) <= 1100 && n < 1900) {
        take(f, n % 2 ? "B" : "A", 0);
        commit(f);
        n++;
    }
    assert_true(qms_store_wal_pages(f->s) > 1100);
    assert_int_equal(qms_store_checkpoint(f->s), QMS_OK);
    assert_int_equal(qms_store_wal_pages(f->s), 0);
    /* the log starts again from its beginning */
    take(f, "A", 0);
    commit(f);
    assert_true(qms_store_wal_pages(f->s) > 0);
    assert_true(qms_store_wal_pages(f->s) < 50);
    assert_store_matches(dbof(f), f->e);
    sfix_reopen(f);
    assert_int_equal(qms_engine_ticket_count(f->e), n + 1);
    assert_store_matches(dbof(f), f->e);
    sfix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_open),
        cmocka_unit_test(test_commit_writes_history),
        cmocka_unit_test(test_reopen_strict_oldest),
        cmocka_unit_test(test_reopen_interleave_counter),
        cmocka_unit_test(test_streak_survives),
        cmocka_unit_test(test_config_reordered),
        cmocka_unit_test(test_uniqueness),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_commit_full),
        cmocka_unit_test(test_commit_readonly_and_locked),
        cmocka_unit_test(test_commit_nomem),
        cmocka_unit_test(test_migrate_from_v1),
        cmocka_unit_test(test_migrate_from_v5),
        cmocka_unit_test(test_record_settings),
        cmocka_unit_test(test_deferred_checkpoint),
        cmocka_unit_test(test_newer_version_refused),
        cmocka_unit_test(test_new_day_on_load),
        cmocka_unit_test(test_rollover_while_running),
        cmocka_unit_test(test_clock_behind_keeps_stored_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
