/* qms-report on qms-hub's store (docs/province.md, docs/report.md): --by site
 * and --site. The hub's store is built by the hub's own ingest code
 * (hub/hub_ingest.c, hub_store.c) from made-up stream messages of three
 * sites (s3 only on the day before), sent in batches, s2's in reverse order
 * and one batch twice. The figures of the CSV the real qms-report writes are
 * checked against SQL run here directly on the SQLite file — an oracle the
 * report code did not make. Also: a site's own store (qms_store) with
 * --by site and --site. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine.h"
#include "hub.h"
#include "store.h"
#include "report_out.h"
#include "support.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OFF 420
#define DAY "2026-12-05"
#define DAY_BEFORE "2026-12-04"

static char dir[256], hubdb[300], ctldb[300];
static sqlite3 *oracle; /* the hub file, read here with plain SQL */

/* ---------- made-up stream messages, stored by the hub's own code ---------- */

typedef struct gen {
    char site[8];
    int64_t seq;
    int next_id;       /* ticket ids are the site's store's: unique across days */
    char ev[400][512]; /* one event's JSON each */
    int nev;
} gen;

static uint32_t rng = 12345;
static int rnd(int n)
{
    rng = rng * 1103515245u + 12345u;
    return (int)((rng >> 8) % (uint32_t)n);
}

static void ev(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev(gen *g, const char *fmt, ...)
{
    assert_true(g->nev < 400);
    char body[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(g->ev[g->nev++], sizeof g->ev[0], "{\"seq\":%lld,%s}", (long long)++g->seq, body);
}

/* n tickets of day (local) at a site: served, no-shows, waiting, cancelled,
 * transferred, rated on a 4-level scale. */
static void make_day(gen *g, const char *day, int n)
{
    int32_t d;
    assert_int_equal(qms_day_parse(day, &d), QMS_OK);
    int64_t t0 = qms_local_to_epoch_ms(d, 8 * 3600, OFF);
    for (int k = 1; k <= n; k++) {
        int i = ++g->next_id;
        const char *svc = rnd(3) ? "TP" : "DD";
        int64_t at = t0 + (int64_t)k * 41000 + rnd(20000);
        int ctr = 1 + rnd(3);
        ev(g,
           "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"take\",\"ticket\":%d,\"label\":\"A%03d\","
           "\"service\":\"%s\",\"priority\":0,\"number\":%d,\"taken_ms\":%lld",
           day, (long long)at, i, k, svc, k, (long long)at);
        int fate = rnd(20);
        if (fate == 0) { /* its printing failed */
            ev(g, "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"cancel\",\"ticket\":%d", day,
               (long long)at + 500, i);
            continue;
        }
        if (fate <= 2) /* still waiting */
            continue;
        int64_t call = at + 1000LL * (30 + rnd(1500));
        if (fate == 3) { /* transferred once, then served in the other service */
            ev(g,
               "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"call\",\"ticket\":%d,\"counter\":%d,"
               "\"service\":\"%s\"",
               day, (long long)call, i, ctr, svc);
            const char *to = svc[0] == 'T' ? "DD" : "TP";
            call += 60000;
            ev(g,
               "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"transfer\",\"ticket\":%d,\"counter\":%d,"
               "\"service\":\"%s\",\"from_service\":\"%s\"",
               day, (long long)call, i, ctr, to, svc);
            svc = to;
            call += 1000LL * (30 + rnd(600));
        }
        ev(g,
           "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"call\",\"ticket\":%d,\"counter\":%d,"
           "\"service\":\"%s\"",
           day, (long long)call, i, ctr, svc);
        if (fate <= 5) { /* did not come */
            ev(g, "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"skip\",\"ticket\":%d,\"counter\":%d",
               day, (long long)call + 120000, i, ctr);
            continue;
        }
        int64_t start = call + 1000LL * (5 + rnd(60));
        ev(g, "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"start\",\"ticket\":%d,\"counter\":%d", day,
           (long long)start, i, ctr);
        int64_t end = start + 1000LL * (60 + rnd(900));
        ev(g, "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"done\",\"ticket\":%d,\"counter\":%d", day,
           (long long)end, i, ctr);
        if (rnd(2))
            ev(g, "\"day\":\"%s\",\"at_ms\":%lld,\"kind\":\"rate\",\"ticket\":%d,\"rating\":%d",
               day, (long long)end + 5000, i, 1 + rnd(4));
    }
}

/* The site's events as messages of 25, into the hub store. */
static void send_all(hub_store *st, hub_sites *set, gen *g, int reverse)
{
    int nmsg = (g->nev + 24) / 25;
    static char msg[25 * 512 + 256];
    for (int k = 0; k < nmsg; k++) {
        int m = reverse ? nmsg - 1 - k : k;
        int a = m * 25, b = a + 25 < g->nev ? a + 25 : g->nev;
        size_t len = (size_t)snprintf(msg, sizeof msg, "{\"site\":\"%s\",\"head\":%lld,\"events\":[",
                                      g->site, (long long)g->seq);
        for (int i = a; i < b; i++)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", i > a ? "," : "",
                                    g->ev[i]);
        len += (size_t)snprintf(msg + len, sizeof msg - len, "]}");
        assert_true(len < sizeof msg);
        int64_t nbad = 0;
        assert_int_equal(hub_ingest(st, set, msg, len, 1, &nbad), QMS_OK);
        if (k == 1) /* a repeat, as a replay through a bridge brings */
            assert_int_equal(hub_ingest(st, set, msg, len, 2, &nbad), QMS_OK);
        assert_int_equal(nbad, 0);
    }
}

static gen G[3];

static void make_ctl_store(void)
{
    qms_config *cfg = NULL;
    char err[256];
    assert_int_equal(
        qms_config_load_file(qms_test_src("examples/center.json"), &cfg, err, sizeof err), QMS_OK);
    int32_t d;
    assert_int_equal(qms_day_parse(DAY, &d), QMS_OK);
    qms_vclock clk;
    qms_vclock_init(&clk, qms_local_to_epoch_ms(d, 9 * 3600, cfg->utc_offset_min));
    qms_engine *e = NULL;
    qms_store *s = NULL;
    assert_int_equal(qms_engine_new(cfg, &clk.clock, &e), QMS_OK);
    assert_int_equal(qms_store_open(ctldb, &s), QMS_OK);
    assert_int_equal(qms_store_load(s, e), QMS_OK);
    for (int i = 0; i < 3; i++) {
        qms_take_result r;
        assert_int_equal(qms_engine_take(e, 0, 0, NULL, &r), QMS_OK);
        assert_int_equal(qms_store_commit(s, e), QMS_OK);
    }
    qms_store_close(s);
    qms_engine_free(e);
    qms_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "report-site"), 0);
    snprintf(hubdb, sizeof hubdb, "%s/hub.db", dir);
    snprintf(ctldb, sizeof ctldb, "%s/qms.db", dir);
    snprintf(G[0].site, sizeof G[0].site, "s1");
    snprintf(G[1].site, sizeof G[1].site, "s2");
    snprintf(G[2].site, sizeof G[2].site, "s3");
    make_day(&G[0], DAY_BEFORE, 20);
    make_day(&G[0], DAY, 70);
    make_day(&G[1], DAY, 45);
    make_day(&G[2], DAY_BEFORE, 12);
    hub_store *st = NULL;
    hub_sites set = {0};
    assert_int_equal(hub_store_open(hubdb, &st), QMS_OK);
    assert_int_equal(hub_store_begin(st), QMS_OK);
    for (int i = 0; i < 3; i++)
        send_all(st, &set, &G[i], i == 1);
    for (int i = 0; i < set.n; i++) {
        assert_int_equal(hub_store_apply(st, set.v[i]), QMS_OK);
        assert_int_equal(set.v[i]->applied, G[i].seq); /* no hole left */
    }
    assert_int_equal(hub_store_commit(st, set.v, set.n), QMS_OK);
    hub_sites_free(&set);
    hub_store_close(st);
    assert_int_equal(sqlite3_open_v2(hubdb, &oracle, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    make_ctl_store();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sqlite3_close(oracle);
    if (!getenv("QMS_TEST_KEEP"))
        qms_test_rmdir(dir);
    return 0;
}

/* ---------- the oracle: SQL on the hub's file ---------- */

typedef struct want {
    int taken, served, noshow, cancelled, unfinished, transferred, nratings;
    double mean_wait, p90_wait, mean_service, satisfied; /* minutes, %; < 0 = empty */
} want;

/* SELECT col FROM tickets of DAY (and site, unless NULL) [AND extra]. */
static double q1(const char *site, const char *col, const char *extra)
{
    char q[1024];
    snprintf(q, sizeof q, "SELECT %s FROM tickets WHERE day = ?1%s%s%s", col,
             site ? " AND site = ?2" : "", extra ? " AND " : "", extra ? extra : "");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(oracle, q, -1, &st, NULL) != SQLITE_OK)
        fail_msg("oracle: %s: %s", q, sqlite3_errmsg(oracle));
    sqlite3_bind_text(st, 1, DAY, -1, SQLITE_STATIC);
    if (site)
        sqlite3_bind_text(st, 2, site, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The figures of site's tickets on DAY (site NULL: all sites). */
static want oracle_for(const char *site)
{
    want o;
    o.taken = (int)q1(site, "count(*)", NULL);
    o.served = (int)q1(site, "coalesce(sum(state = 'done'), 0)", NULL);
    o.noshow = (int)q1(site, "coalesce(sum(state = 'noshow'), 0)", NULL);
    o.cancelled = (int)q1(site, "coalesce(sum(state = 'cancelled'), 0)", NULL);
    o.unfinished = (int)q1(site, "coalesce(sum(state IN ('waiting','called','serving')), 0)", NULL);
    o.transferred = (int)q1(site, "coalesce(sum(transfers > 0), 0)", NULL);
    o.nratings = (int)q1(site, "count(rating)", NULL);
    o.mean_wait = q1(site, "avg(first_called_ms - taken_ms) / 60000.0", NULL);
    o.mean_service =
        q1(site, "avg(CASE WHEN state = 'done' THEN end_ms - start_ms END) / 60000.0", NULL);
    /* 4 levels: satisfied = 3 and 4 */
    o.satisfied = q1(site, "100.0 * sum(rating >= 3) / count(rating)", NULL);
    /* nearest rank: the ceil(0.9 n)-th smallest wait */
    char q[1024];
    snprintf(q, sizeof q,
             "SELECT (first_called_ms - taken_ms) / 60000.0 FROM tickets WHERE day = ?1%s"
             " AND first_called_ms IS NOT NULL ORDER BY first_called_ms - taken_ms"
             " LIMIT 1 OFFSET (SELECT (9 * count(*) + 9) / 10 - 1 FROM tickets WHERE day = ?1%s"
             " AND first_called_ms IS NOT NULL)",
             site ? " AND site = ?2" : "", site ? " AND site = ?2" : "");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(oracle, q, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, DAY, -1, SQLITE_STATIC);
    if (site)
        sqlite3_bind_text(st, 2, site, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    o.p90_wait = rc == SQLITE_ROW ? sqlite3_column_double(st, 0) : -1;
    sqlite3_finalize(st);
    return o;
}

/* ---------- reading qms-report's CSV (report_out.h) ---------- */

static int row_of(const qms_report_out *o, const char *key)
{
    int r = qms_report_row(o, key);
    if (r > 0)
        return r;
    fail_msg("no row '%s' in:\n%s", key, o->raw ? o->raw : "(no CSV)");
    return -1;
}

static void eq_int(const qms_report_out *o, int r, const char *title, int want_v)
{
    const char *c = qms_report_cell(o, r, title);
    if (!*c || atoi(c) != want_v)
        fail_msg("row %s, %s: CSV says '%s', SQL says %d", o->cells[r][0], title, c, want_v);
}

static void eq_dec(const qms_report_out *o, int r, const char *title, double want_v)
{
    const char *c = qms_report_cell(o, r, title);
    if (want_v < 0 ? *c != 0 : (!*c || fabs(atof(c) - want_v) > 0.05 + 1e-9))
        fail_msg("row %s, %s: CSV says '%s', SQL says %.3f", o->cells[r][0], title, c, want_v);
}

static void eq_want(const qms_report_out *o, int r, const want *w)
{
    eq_int(o, r, "Tickets taken", w->taken);
    eq_int(o, r, "Served", w->served);
    eq_int(o, r, "No-shows", w->noshow);
    eq_int(o, r, "Cancelled", w->cancelled);
    eq_int(o, r, "Unfinished", w->unfinished);
    eq_int(o, r, "Transferred", w->transferred);
    eq_int(o, r, "Ratings", w->nratings);
    eq_dec(o, r, "Mean wait (min)", w->mean_wait);
    eq_dec(o, r, "P90 wait (min)", w->p90_wait);
    eq_dec(o, r, "Mean service time (min)", w->mean_service);
    eq_dec(o, r, "Satisfied (%)", w->satisfied);
}

/* ---------- the tests ---------- */

static void test_by_site(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--by", "site", "--lang", "en", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[0][0], "Site");
    /* every site the hub knows, s3 too (nothing that day), and the total */
    assert_int_equal(o.nrows, 5);
    assert_string_equal(o.cells[1][0], "s1");
    assert_string_equal(o.cells[2][0], "s2");
    assert_string_equal(o.cells[3][0], "s3");
    assert_string_equal(o.cells[4][0], "Total");
    want s1 = oracle_for("s1"), s2 = oracle_for("s2"), all = oracle_for(NULL);
    /* the oracle agrees with what was generated, and the data is not thin */
    assert_int_equal(s1.taken, 70);
    assert_int_equal(s2.taken, 45);
    assert_true(s1.noshow > 0 && s1.transferred > 0 && s1.nratings > 5 && s1.cancelled >= 0);
    eq_want(&o, row_of(&o, "s1"), &s1);
    eq_want(&o, row_of(&o, "s2"), &s2);
    eq_int(&o, 3, "Tickets taken", 0);
    eq_want(&o, 4, &all);
    /* the hub records no day settings: stderr says how the tickets are read */
    assert_non_null(strstr(o.log, "hub's store does not record"));
    qms_report_out_free(&o);

    /* Vietnamese titles, the day before: s1 and s3 */
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY_BEFORE, "--by", "site", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[0][0], "Điểm");
    assert_string_equal(o.cells[1][1], "20");
    assert_string_equal(o.cells[2][1], "0");
    assert_string_equal(o.cells[3][1], "12");
    assert_string_equal(o.cells[4][1], "32");
    qms_report_out_free(&o);
}

static void test_site_filter(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--site", "s2", "--lang", "en", NULL);
    assert_int_equal(o.status, 0);
    want s2 = oracle_for("s2");
    eq_want(&o, row_of(&o, "Total"), &s2);
    /* per service, as the ticket was issued (SQL on orig_service) */
    eq_int(&o, row_of(&o, "TP"), "Tickets taken",
           (int)q1("s2", "count(*)", "orig_service = 'TP'"));
    qms_report_out_free(&o);

    /* --by site with --site: one row */
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--site", "s1", "--by", "site", "--lang",
                   "en", NULL);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.nrows, 3);
    want s1 = oracle_for("s1");
    eq_want(&o, row_of(&o, "s1"), &s1);
    eq_want(&o, row_of(&o, "Total"), &s1);
    qms_report_out_free(&o);

    /* per counter needs one site; then its counters' served add up */
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--by", "counter", NULL);
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.log, "--site"));
    qms_report_out_free(&o);
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--by", "counter", "--site", "s1",
                   "--lang", "en", NULL);
    assert_int_equal(o.status, 0);
    int served = 0, xfer = 0;
    for (int r = 1; r < o.nrows - 1; r++) {
        served += atoi(qms_report_cell(&o, r, "Served"));
        xfer += atoi(qms_report_cell(&o, r, "Transferred"));
    }
    assert_int_equal(served, s1.served);
    assert_int_equal(xfer, s1.transferred); /* each transferred once, by one counter */
    qms_report_out_free(&o);

    /* a site the hub does not know: a clear error, no file */
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--site", "s9", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.log, "no site 's9'"));
    assert_null(o.raw);
    qms_report_out_free(&o);
    qms_report_run(&o, dir, "--db", hubdb, "--from", DAY, "--site", "", NULL);
    assert_int_equal(o.status, 2);
    qms_report_out_free(&o);
}

static void test_site_store(void **state)
{
    (void)state;
    qms_report_out o;
    /* a site's own store: one row, named by --config's site when given */
    qms_report_run(&o, dir, "--db", ctldb, "--from", DAY, "--by", "site", "--lang", "en", NULL);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.nrows, 3);
    assert_string_equal(o.cells[1][0], "(this store)");
    assert_string_equal(o.cells[1][1], "3");
    qms_report_out_free(&o);
    qms_report_run(&o, dir, "--db", ctldb, "--from", DAY, "--by", "site", "--config",
                   qms_test_src("examples/center.json"), "--site", "demo", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[1][0], "demo");
    assert_string_equal(o.cells[1][1], "3");
    qms_report_out_free(&o);
    /* --site on a site's own store (not its own name): an error */
    qms_report_run(&o, dir, "--db", ctldb, "--from", DAY, "--site", "s1", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.log, "not qms-hub's"));
    qms_report_out_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_site),
        cmocka_unit_test(test_site_filter),
        cmocka_unit_test(test_site_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
