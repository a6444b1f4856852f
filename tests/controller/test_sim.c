/* The day replay: the trace reader, what the simulated staff do, the
 * tickets file, and the restart test (half a day, stop, reopen, finish ==
 * one uninterrupted replay, row for row), through the library and through
 * the qms-sim program itself. */
#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "replay.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static qms_config *sample_config(void)
{
    qms_config *c = NULL;
    char err[256];
    int rc = qms_config_load_csv(QMS_EXAMPLES "/services.csv", QMS_EXAMPLES "/counters.csv", &c,
                                 err, sizeof err);
    if (rc != QMS_OK)
        fail_msg("%s", err);
    return c;
}

static void load_trace(const char *name, qms_trace *t)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", QMS_EXAMPLES, name);
    if (qms_trace_load(path, t, err, sizeof err) != QMS_OK)
        fail_msg("%s", err);
}

/* ---------------- the trace reader ---------------- */

static int parse(const char *text, qms_trace *t, char *err, size_t errlen)
{
    return qms_trace_parse(text, strlen(text), t, err, errlen);
}

static void test_trace_parse(void **state)
{
    (void)state;
    qms_trace t;
    char err[256] = "";
    /* BOM, CRLF, other column order, an extra column, a quoted field, a blank line */
    const char *ok = "\xEF\xBB\xBFservice,no_show,arrive_s,note,priority,service_s\r\n"
                     "TP,0,1803,\"a, b\",1,244\r\n"
                     "\r\n"
                     "\"DD\",1,1900,,0,0\r\n";
    assert_int_equal(parse(ok, &t, err, sizeof err), QMS_OK);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.rows[0].service, "TP");
    assert_int_equal(t.rows[0].arrive_s, 1803);
    assert_int_equal(t.rows[0].priority, 1);
    assert_int_equal(t.rows[0].service_s, 244);
    assert_int_equal(t.rows[0].no_show, 0);
    assert_int_equal(t.rows[0].line, 2);
    assert_string_equal(t.rows[1].service, "DD");
    assert_int_equal(t.rows[1].no_show, 1);
    assert_int_equal(t.rows[1].line, 4);
    qms_trace_free(&t);

    /* a header only: an empty day */
    assert_int_equal(parse("arrive_s,service,priority,service_s,no_show\n", &t, err, sizeof err),
                     QMS_OK);
    assert_int_equal(t.n, 0);
    qms_trace_free(&t);

    /* the sample days */
    load_trace("day-500.csv", &t);
    assert_int_equal(t.n, 500);
    qms_trace_free(&t);
    load_trace("day-900.csv", &t);
    assert_int_equal(t.n, 899);
    qms_trace_free(&t);
}

static void expect_error(const char *text, const char *needle)
{
    qms_trace t;
    char err[256] = "";
    int rc = parse(text, &t, err, sizeof err);
    if (rc == QMS_OK)
        fail_msg("accepted: %s", text);
    assert_null(t.rows);
    assert_int_equal(t.n, 0);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not say '%s'", err, needle);
}

static void test_trace_errors(void **state)
{
    (void)state;
    const char *h = "arrive_s,service,priority,service_s,no_show\n";
    char buf[512];
    expect_error("", "empty");
    expect_error("arrive_s,service,priority,service_s\n1,TP,0,1\n", "no_show");
#define ROW(r, needle)                                                                             \
    do {                                                                                           \
        snprintf(buf, sizeof buf, "%s1803,TP,0,10,0\n%s\n", h, r);                                 \
        expect_error(buf, needle);                                                                 \
    } while (0)
    ROW("-5,TP,0,10,0", "line 3: arrive_s");
    ROW("1.5,TP,0,10,0", "line 3: arrive_s");
    ROW("61200,TP,0,10,0", "arrive_s");
    ROW("99999999999999999999,TP,0,10,0", "arrive_s");
    ROW("1900,,0,10,0", "line 3: service code");
    ROW("1900,ABCDEFGHIJKLMNOPQRSTUVWXYZ,0,10,0", "too long");
    ROW("1900,TP,3,10,0", "line 3: priority");
    ROW("1900,TP,x,10,0", "priority");
    ROW("1900,TP,0,,0", "line 3: service_s");
    ROW("1900,TP,0,86401,0", "service_s");
    ROW("1900,TP,0,10,2", "line 3: no_show");
    ROW("1900,TP,0", "line 3: 3 fields");
    ROW("1900,\"TP,0,10,0", "unterminated");
#undef ROW
}

/* ---------------- the replay ---------------- */

typedef struct tmp {
    char dir[256];
    char db[300];
} tmp;

static void tmp_make(tmp *t, const char *tag)
{
    assert_int_equal(qms_test_tmpdir(t->dir, sizeof t->dir, tag), 0);
    snprintf(t->db, sizeof t->db, "%s/sim.db", t->dir);
}

static void replay(const qms_config *c, const qms_trace *tr, const char *db, int32_t until_s,
                   qms_replay_result *r)
{
    qms_replay_opts o;
    qms_replay_opts_default(&o);
    o.db_path = db;
    o.until_s = until_s;
    o.sync = QMS_STORE_SYNC_NORMAL;
    char err[256] = "";
    int rc = qms_replay_run(c, tr, &o, r, err, sizeof err);
    if (rc != QMS_OK)
        fail_msg("replay: %s", err);
}

/* Is counter id cid busy (called..end) over all of [from, to)? */
static int busy_over(const qms_replay_result *r, int cid, int32_t from, int32_t to)
{
    int32_t t = from;
    int moved = 1;
    while (t < to && moved) {
        moved = 0;
        for (int i = 0; i < r->n; i++) {
            const qms_replay_ticket *x = &r->t[i];
            if (x->counter == cid && x->called_s <= t && x->end_s > t) {
                t = x->end_s;
                moved = 1;
            }
        }
    }
    return t >= to;
}

/* What the simulated staff promise, checked on a whole day. */
static void check_day(const qms_config *c, const qms_trace *tr, const qms_replay_result *r,
                      int32_t recall_s, int32_t skip_s)
{
    assert_int_equal(r->n + r->refused, tr->n);
    for (int i = 0; i < r->n; i++) {
        const qms_replay_ticket *x = &r->t[i];
        assert_true(x->trace_row >= 0 && x->trace_row < tr->n);
        const qms_trace_row *row = &tr->rows[x->trace_row];
        assert_string_equal(c->services[x->service].code, row->service);
        assert_int_equal(x->arrive_s, row->arrive_s);
        assert_int_equal(x->priority, row->priority);
        /* everyone who took a ticket is called: counters go on after closing */
        assert_true(x->called_s >= x->arrive_s);
        assert_true(x->eta_s >= 0);
        int ci = qms_config_counter_index(c, x->counter);
        assert_true(ci >= 0);
        assert_true(qms_config_counter_serves(c, ci, x->service));
        if (row->no_show) {
            assert_int_equal(x->no_show, 1);
            assert_int_equal(x->state, QMS_T_NOSHOW);
            assert_int_equal(x->end_s, x->called_s + skip_s);
            assert_int_equal(x->start_s, -1);
            assert_int_equal(x->done_s, -1);
        } else {
            assert_int_equal(x->state, QMS_T_DONE);
            assert_int_equal(x->start_s, x->called_s);
            assert_int_equal(x->done_s, x->start_s + row->service_s);
        }
        /* nobody waited while a counter that serves the service was free */
        for (int k = 0; k < c->ncounters; k++)
            if (qms_config_counter_serves(c, k, x->service) && x->called_s > x->arrive_s &&
                !busy_over(r, c->counters[k].id, x->arrive_s, x->called_s))
                fail_msg("%s waited %d..%d while counter %d was free", x->label, x->arrive_s,
                         x->called_s, c->counters[k].id);
    }
    /* a counter serves one citizen at a time */
    for (int i = 0; i < r->n; i++)
        for (int j = i + 1; j < r->n; j++) {
            const qms_replay_ticket *a = &r->t[i], *b = &r->t[j];
            if (a->counter == b->counter && a->called_s < b->end_s && b->called_s < a->end_s)
                fail_msg("%s and %s overlap at counter %d", a->label, b->label, a->counter);
        }
    (void)recall_s;
}

static void test_replay_day500(void **state)
{
    (void)state;
    qms_config *c = sample_config();
    qms_trace tr;
    load_trace("day-500.csv", &tr);
    tmp t;
    tmp_make(&t, "sim");
    qms_replay_result r;
    replay(c, &tr, t.db, -1, &r);
    assert_int_equal(r.refused, 0);
    assert_false(r.resumed);
    assert_false(r.stopped);
    check_day(c, &tr, &r, 60, 120);

    /* the store holds the same day: one row per ticket, a history per event */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM tickets),"
                                        " (SELECT count(*) FROM events WHERE kind='take'),"
                                        " (SELECT count(*) FROM events WHERE kind='recall'),"
                                        " (SELECT count(*) FROM events WHERE kind='skip'),"
                                        " (SELECT count(*) FROM tickets WHERE state='done')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int noshows = 0;
    for (int i = 0; i < tr.n; i++)
        noshows += tr.rows[i].no_show;
    assert_int_equal(sqlite3_column_int(st, 0), 500);
    assert_int_equal(sqlite3_column_int(st, 1), 500);
    assert_int_equal(sqlite3_column_int(st, 2), noshows); /* recalled once */
    assert_int_equal(sqlite3_column_int(st, 3), noshows);
    assert_int_equal(sqlite3_column_int(st, 4), 500 - noshows);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* the summary adds up */
    qms_replay_summary s;
    qms_replay_summarize(c, &r, &s);
    assert_int_equal(s.tickets, 500);
    assert_int_equal(s.called, 500);
    assert_int_equal(s.noshow, noshows);
    int served = 0;
    for (int ci = 0; ci < c->ncounters; ci++) {
        served += s.ctr[ci].served + s.ctr[ci].noshow;
        assert_true(s.ctr[ci].utilisation > 0 && s.ctr[ci].utilisation <= 1.0);
    }
    assert_int_equal(served, 500);
    assert_true(s.wait_p90_s >= s.wait_mean_s);
    assert_true(s.mae_engine_s > 0);
    qms_replay_result_free(&r);
    qms_trace_free(&tr);
    qms_config_free(c);
    qms_test_rmdir(t.dir);
}

/* Issuing stops at closing (and over lunch); calling does not. */
/* day-900's backlog keeps clerks calling through lunch and after closing:
 * that time counts as available, so no counter is more than 100 % busy, and
 * the available time is the opening hours plus the time outside them that
 * some counter served (every busy second lies in one or the other). */
static void test_utilisation_day900(void **state)
{
    (void)state;
    qms_config *c = sample_config();
    qms_trace tr;
    load_trace("day-900.csv", &tr);
    tmp t;
    tmp_make(&t, "sim");
    qms_replay_result r;
    replay(c, &tr, t.db, -1, &r);
    qms_replay_summary s;
    qms_replay_summarize(c, &r, &s);
    int32_t hours = 0;
    for (int h = 0; h < c->nhours; h++)
        hours += c->hours[h].close_s - c->hours[h].open_s;
    assert_true(s.span_s > hours); /* the day ran over */
    int worked_at_lunch = 0;
    for (int i = 0; i < r.n; i++)
        worked_at_lunch |= r.t[i].called_s >= 0 && r.t[i].called_s < 6 * 3600 + 1800 &&
                           r.t[i].end_s > 4 * 3600 + 1800; /* 11:30..13:30 */
    assert_true(worked_at_lunch);
    /* overtime after closing alone (the old measure) is less than what is counted now */
    assert_true(s.span_s > hours + (s.last_end_s - 10 * 3600));
    for (int ci = 0; ci < c->ncounters; ci++)
        assert_true(s.ctr[ci].utilisation > 0 && s.ctr[ci].utilisation <= 1.0);
    qms_replay_result_free(&r);
    qms_trace_free(&tr);
    qms_config_free(c);
    qms_test_rmdir(t.dir);
}

static void test_hours(void **state)
{
    (void)state;
    qms_config *c = sample_config();
    qms_trace tr;
    char err[256];
    /* 07:20 (closed), 11:40 (lunch), 16:55 x3 long TP services, 17:05 (closed) */
    const char *text = "arrive_s,service,priority,service_s,no_show\n"
                       "1200,TP,0,60,0\n"
                       "16800,TP,0,60,0\n"
                       "35700,TP,0,1800,0\n"
                       "35700,TP,0,1800,0\n"
                       "35700,TP,0,1800,0\n"
                       "35700,TP,0,1800,0\n"
                       "35700,TP,0,1800,0\n"
                       "35700,TP,0,1800,0\n"
                       "36300,TP,0,60,0\n";
    assert_int_equal(qms_trace_parse(text, strlen(text), &tr, err, sizeof err), QMS_OK);
    tmp t;
    tmp_make(&t, "sim");
    qms_replay_result r;
    replay(c, &tr, t.db, -1, &r);
    assert_int_equal(r.refused, 3);
    assert_int_equal(r.refused_by[QMS_ERR_OUTSIDE_HOURS], 3);
    assert_int_equal(r.n, 6);
    check_day(c, &tr, &r, 60, 120);
    /* 4 counters serve TP: the fifth and sixth are called at 17:25, after closing */
    int32_t last_call = 0;
    for (int i = 0; i < r.n; i++)
        if (r.t[i].called_s > last_call)
            last_call = r.t[i].called_s;
    assert_int_equal(last_call, 35700 + 1800);
    qms_replay_result_free(&r);
    qms_trace_free(&tr);
    qms_config_free(c);
    qms_test_rmdir(t.dir);
}

static void assert_results_equal(const qms_replay_result *a, const qms_replay_result *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->refused, b->refused);
    for (int i = 0; i < a->n; i++) {
        const qms_replay_ticket *x = &a->t[i], *y = &b->t[i];
        assert_string_equal(x->label, y->label);
        assert_int_equal(x->id, y->id);
        assert_int_equal(x->arrive_s, y->arrive_s);
        assert_int_equal(x->eta_s, y->eta_s);
        assert_int_equal(x->called_s, y->called_s);
        assert_int_equal(x->counter, y->counter);
        assert_int_equal(x->start_s, y->start_s);
        assert_int_equal(x->done_s, y->done_s);
        assert_int_equal(x->end_s, y->end_s);
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->les_s, y->les_s);
        assert_int_equal(x->queue_s, y->queue_s);
        assert_int_equal(x->trace_row, y->trace_row);
    }
}

/* Restart test through the library: stop at several moments, go on each
 * time from the store alone, end with the uninterrupted day. */
static void test_restart_library(void **state)
{
    (void)state;
    qms_config *c = sample_config();
    qms_trace tr;
    load_trace("day-900.csv", &tr);
    tmp a, b;
    tmp_make(&a, "sim");
    tmp_make(&b, "sim");
    qms_replay_result whole, part;
    replay(c, &tr, a.db, -1, &whole);
    /* 08:10, 10:00:01, in the lunch break, just before closing, after closing */
    const int32_t cuts[] = {4200, 10801, 18000, 35999, 38000};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        replay(c, &tr, b.db, cuts[i], &part);
        assert_true(part.stopped);
        assert_int_equal(part.resumed, i > 0);
        qms_replay_result_free(&part);
    }
    replay(c, &tr, b.db, -1, &part);
    assert_true(part.resumed);
    assert_false(part.stopped);
    assert_results_equal(&whole, &part);
    /* running a finished day again changes nothing */
    qms_replay_result again;
    replay(c, &tr, b.db, -1, &again);
    assert_results_equal(&whole, &again);
    assert_int_equal(again.commits, 0);
    qms_replay_result_free(&again);
    qms_replay_result_free(&part);
    qms_replay_result_free(&whole);

    /* a store of another day's replay is recognised as such */
    qms_trace t5;
    load_trace("day-500.csv", &t5);
    qms_replay_opts o;
    qms_replay_opts_default(&o);
    o.db_path = b.db;
    char err[256] = "";
    assert_int_equal(qms_replay_run(c, &t5, &o, &part, err, sizeof err), QMS_ERR_INVAL);
    assert_non_null(strstr(err, "another replay"));
    qms_replay_result_free(&part);
    qms_trace_free(&t5);

    qms_trace_free(&tr);
    qms_config_free(c);
    qms_test_rmdir(a.dir);
    qms_test_rmdir(b.dir);
}

/* ---------------- the program ---------------- */

static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 64 << 20) != QMS_OK)
        fail_msg("cannot read %s", path);
    return text;
}

/* Run qms-sim with the sample center and extra arguments; exit status. */
static int sim(const char *log, const char *a1, const char *a2, const char *a3, const char *a4,
               const char *a5, const char *a6, const char *a7, const char *a8)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)qms_test_bin("qms-sim");
    argv[n++] = "--services";
    argv[n++] = QMS_EXAMPLES "/services.csv";
    argv[n++] = "--counters";
    argv[n++] = QMS_EXAMPLES "/counters.csv";
    const char *extra[] = {a1, a2, a3, a4, a5, a6, a7, a8};
    for (int i = 0; i < 8 && extra[i]; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    pid_t pid = qms_test_spawn(argv, log);
    assert_true(pid > 0);
    return qms_test_wait_pid(pid, 120000);
}

/* The restart test as a user would do it: the same tickets.csv, row for row. */
static void test_restart_program(void **state)
{
    (void)state;
    tmp t;
    tmp_make(&t, "simcli");
    char one[400], two[400], db[400], log[400], part[400];
    snprintf(one, sizeof one, "%s/one.csv", t.dir);
    snprintf(two, sizeof two, "%s/two.csv", t.dir);
    snprintf(part, sizeof part, "%s/part.csv", t.dir);
    snprintf(db, sizeof db, "%s/day.db", t.dir);
    snprintf(log, sizeof log, "%s/log.txt", t.dir);
    const char *trace = QMS_EXAMPLES "/day-900.csv";
    assert_int_equal(sim(log, "--trace", trace, "--out", one, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(sim(log, "--trace", trace, "--out", part, "--db", db, "--until", "12:00"), 0);
    assert_int_equal(sim(log, "--trace", trace, "--out", two, "--db", db, NULL, NULL), 0);
    char *a = slurp(one), *b = slurp(two), *p = slurp(part);
    assert_string_equal(a, b);
    /* the half day really was half: fewer rows, some not finished yet */
    assert_true(strlen(p) < strlen(a));
    assert_non_null(strstr(a, "ticket,service,priority,arrive_s,eta_s,called_s,counter,start_s,"
                              "done_s,no_show"));
    /* 899 tickets + header */
    int lines = 0;
    for (const char *q = a; *q; q++)
        lines += *q == '\n';
    assert_int_equal(lines, 900);
    char *l = slurp(log);
    assert_non_null(strstr(l, "(stopped early)"));
    assert_non_null(strstr(l, "(resumed at 11:"));
    qms_free(a);
    qms_free(b);
    qms_free(p);
    qms_free(l);
    qms_test_rmdir(t.dir);
}

static void test_program_json_and_errors(void **state)
{
    (void)state;
    tmp t;
    tmp_make(&t, "simcli");
    char log[400], bad[400];
    snprintf(log, sizeof log, "%s/log.txt", t.dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", t.dir);
    assert_int_equal(sim(log, "--trace", QMS_EXAMPLES "/day-500.csv", "--json", "--policy",
                         "interleave:2,counter", NULL, NULL, NULL),
                     0);
    char *l = slurp(log);
    assert_non_null(strstr(l, "{\"tickets\":500,"));
    assert_non_null(strstr(l, "\"eta_mae_s\":{\"engine\":"));
    qms_free(l);
    /* usage errors: 2 */
    assert_int_equal(sim(log, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(sim(log, "--trace", "x", "--policy", "fastest", NULL, NULL, NULL, NULL), 2);
    assert_int_equal(sim(log, "--trace", "x", "--until", "25:00", NULL, NULL, NULL, NULL), 2);
    /* --version: the name and version on stdout, exit 0 */
    unlink(log);
    assert_int_equal(sim(log, "--version", NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
    l = slurp(log);
    assert_non_null(strstr(l, "qms-sim " QMS_VERSION "\n"));
    qms_free(l);
    /* a bad trace: 1, with the line */
    FILE *f = fopen(bad, "w");
    fputs("arrive_s,service,priority,service_s,no_show\n1900,TP,0,10,0\n1901,TP,7,10,0\n", f);
    fclose(f);
    unlink(log);
    assert_int_equal(sim(log, "--trace", bad, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    l = slurp(log);
    assert_non_null(strstr(l, "line 3: priority"));
    qms_free(l);
    /* a service the center does not have */
    f = fopen(bad, "w");
    fputs("arrive_s,service,priority,service_s,no_show\n1900,ZZ,0,10,0\n", f);
    fclose(f);
    unlink(log);
    assert_int_equal(sim(log, "--trace", bad, NULL, NULL, NULL, NULL, NULL, NULL), 1);
    l = slurp(log);
    assert_non_null(strstr(l, "line 2: service 'ZZ' is not in the configuration"));
    qms_free(l);
    qms_test_rmdir(t.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_parse),     cmocka_unit_test(test_trace_errors),
        cmocka_unit_test(test_replay_day500),   cmocka_unit_test(test_utilisation_day900),
        cmocka_unit_test(test_hours),           cmocka_unit_test(test_restart_library),
        cmocka_unit_test(test_restart_program), cmocka_unit_test(test_program_json_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
