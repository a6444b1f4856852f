/* qms-plan (docs/plan.md) against the real replay (engine + SQLite store):
 *   - the replay's staffing plan: all open = no plan, ticket for ticket; a
 *     counter closed in a slot calls nobody in it and finishes its citizen;
 *     a stopped and resumed replay with a plan = the uninterrupted one;
 *   - the real qms-plan program on examples/day-900.csv: its CSV read back,
 *     the plan replayed by this test meets the bounds in every hour and
 *     group (p90 computed here, all-open figures from a replay without any
 *     plan), and one counter-hour fewer in any hour and group breaks them;
 *   - the command line: --help, bad --target, unreadable input, a store as
 *     input, the chart read back by tesseract;
 *   - the --target duration parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "plan.h"
#include "replay.h"
#include "support.h"

#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define TARGET_S 900 /* --target 15m */

static qms_config *load_center(void)
{
    char err[256];
    qms_config *c = NULL;
    assert_int_equal(qms_config_load_file(qms_test_src("examples/center.json"), &c, err,
                                          sizeof err),
                     QMS_OK);
    return c;
}

static void load_day(const char *name, qms_trace *tr)
{
    char err[256], rel[64];
    snprintf(rel, sizeof rel, "examples/%s", name);
    assert_int_equal(qms_trace_load(qms_test_src(rel), tr, err, sizeof err), QMS_OK);
}

static int replay(const qms_config *c, const qms_trace *tr, const qms_replay_staffing *st,
                  const char *db, int32_t until_s, qms_replay_result *r)
{
    qms_replay_opts o;
    qms_replay_opts_default(&o);
    o.db_path = db ? db : ":memory:";
    o.sync = QMS_STORE_SYNC_OFF;
    o.staffing = st;
    o.until_s = until_s;
    char err[256] = "";
    int rc = qms_replay_run(c, tr, &o, r, err, sizeof err);
    if (rc != QMS_OK)
        fprintf(stderr, "replay: %s\n", err);
    return rc;
}

/* ---- the replay's staffing plan ---- */

static void test_staffing_all_open_is_no_plan(void **state)
{
    (void)state;
    qms_config *c = load_center();
    qms_trace tr;
    load_day("day-500.csv", &tr);
    int32_t from[3] = {1800, 5400, 23400};
    unsigned char *open = qms_malloc((size_t)3 * c->ncounters);
    memset(open, 1, (size_t)3 * c->ncounters);
    qms_replay_staffing st = {3, c->ncounters, from, open, 0};
    qms_replay_result a, b;
    assert_int_equal(replay(c, &tr, NULL, NULL, -1, &a), QMS_OK);
    assert_int_equal(replay(c, &tr, &st, NULL, -1, &b), QMS_OK);
    assert_int_equal(a.n, b.n);
    for (int i = 0; i < a.n; i++) {
        assert_int_equal(a.t[i].called_s, b.t[i].called_s);
        assert_int_equal(a.t[i].counter, b.t[i].counter);
        assert_int_equal(a.t[i].end_s, b.t[i].end_s);
    }
    qms_replay_result_free(&a);
    qms_replay_result_free(&b);
    qms_free(open);
    qms_trace_free(&tr);
    qms_config_free(c);
}

/* Counter 1 (index 0) and counter 2 (index 1) closed from 08:30 to 09:30:
 * no call by them in that hour, the citizen at the counter at 08:30 is
 * finished, and they call again afterwards. */
static void test_staffing_closed_counter_calls_nobody(void **state)
{
    (void)state;
    qms_config *c = load_center();
    qms_trace tr;
    load_day("day-900.csv", &tr);
    int32_t from[3] = {0, 5400, 9000};
    unsigned char *open = qms_malloc((size_t)3 * c->ncounters);
    memset(open, 1, (size_t)3 * c->ncounters);
    open[(size_t)1 * c->ncounters + 0] = 0;
    open[(size_t)1 * c->ncounters + 1] = 0;
    qms_replay_staffing st = {3, c->ncounters, from, open, 0};
    qms_replay_result r;
    assert_int_equal(replay(c, &tr, &st, NULL, -1, &r), QMS_OK);
    int in_slot = 0, before_ends_in = 0, after = 0;
    for (int i = 0; i < r.n; i++) {
        const qms_replay_ticket *t = &r.t[i];
        if (t->counter != 1 && t->counter != 2)
            continue;
        assert_true(t->end_s >= 0); /* nothing left half done */
        if (t->called_s >= 5400 && t->called_s < 9000)
            in_slot++;
        if (t->called_s < 5400 && t->end_s > 5400)
            before_ends_in++;
        if (t->called_s >= 9000)
            after++;
    }
    assert_int_equal(in_slot, 0);
    assert_true(before_ends_in >= 1);
    assert_true(after > 0);
    /* and without the plan they do call in that hour: the test can fail */
    qms_replay_result a;
    assert_int_equal(replay(c, &tr, NULL, NULL, -1, &a), QMS_OK);
    int base = 0;
    for (int i = 0; i < a.n; i++)
        base += (a.t[i].counter == 1 || a.t[i].counter == 2) && a.t[i].called_s >= 5400 &&
                a.t[i].called_s < 9000;
    assert_true(base > 0);
    qms_replay_result_free(&a);
    qms_replay_result_free(&r);
    qms_free(open);
    qms_trace_free(&tr);
    qms_config_free(c);
}

/* Stopped at 09:00 (inside a slot with counters closed) and resumed from the
 * store: identical to the uninterrupted replay with the same plan. */
static void test_staffing_resume(void **state)
{
    (void)state;
    qms_config *c = load_center();
    qms_trace tr;
    load_day("day-500.csv", &tr);
    int32_t from[4] = {1800, 5400, 9000, 23400};
    unsigned char *open = qms_malloc((size_t)4 * c->ncounters);
    for (int h = 0; h < 4; h++)
        for (int ci = 0; ci < c->ncounters; ci++)
            open[(size_t)h * c->ncounters + ci] = (ci + h) % 3 != 0;
    qms_replay_staffing st = {4, c->ncounters, from, open, 0};
    char dir[256], db[300];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "plan-resume"), 0);
    snprintf(db, sizeof db, "%s/day.db", dir);
    qms_replay_result whole, part, rest;
    assert_int_equal(replay(c, &tr, &st, NULL, -1, &whole), QMS_OK);
    assert_int_equal(replay(c, &tr, &st, db, 7200, &part), QMS_OK);
    assert_true(part.stopped);
    assert_int_equal(replay(c, &tr, &st, db, -1, &rest), QMS_OK);
    assert_true(rest.resumed);
    assert_int_equal(whole.n, rest.n);
    for (int i = 0; i < whole.n; i++) {
        assert_int_equal(whole.t[i].called_s, rest.t[i].called_s);
        assert_int_equal(whole.t[i].counter, rest.t[i].counter);
        assert_int_equal(whole.t[i].end_s, rest.t[i].end_s);
    }
    qms_replay_result_free(&whole);
    qms_replay_result_free(&part);
    qms_replay_result_free(&rest);
    qms_test_rmdir(dir);
    qms_free(open);
    qms_trace_free(&tr);
    qms_config_free(c);
}

static void test_staffing_refused(void **state)
{
    (void)state;
    qms_config *c = load_center();
    qms_trace tr;
    load_day("day-500.csv", &tr);
    int32_t from[2] = {5400, 1800}; /* out of order */
    unsigned char open[2 * QMS_MAX_COUNTERS] = {0};
    qms_replay_staffing st = {2, c->ncounters, from, open, 0};
    qms_replay_result r;
    assert_int_equal(replay(c, &tr, &st, NULL, -1, &r), QMS_ERR_INVAL);
    qms_replay_result_free(&r);
    st.from_s = (int32_t[2]){1800, 5400};
    st.ncounters = c->ncounters - 1;
    assert_int_equal(replay(c, &tr, &st, NULL, -1, &r), QMS_ERR_INVAL);
    qms_replay_result_free(&r);
    qms_trace_free(&tr);
    qms_config_free(c);
}

/* ---- running programs ---- */

static int run(char *const argv[], const char *log)
{
    pid_t pid = qms_test_spawn(argv, log);
    assert_true(pid > 0);
    return qms_test_wait_pid(pid, 900000); /* qms-plan under ASan on a loaded machine */
}

static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(path, &text, &len, 1 << 24) != QMS_OK)
        return NULL;
    return text;
}

/* ---- the plan read back from qms-plan's CSV ---- */

#define MAXROWS 64

typedef struct row {
    int32_t from, to; /* seconds after 07:00 */
    int group, counters, of, tickets, met;
    int open[QMS_MAX_COUNTERS]; /* counter ids */
    char services[256];
    int32_t p90, all_p90; /* -1 = empty */
} row;

typedef struct plan_csv {
    row r[MAXROWS];
    int n;
    int32_t slot_from[MAXROWS], slot_to[MAXROWS];
    int nslots;
} plan_csv;

static int32_t hm(const char *s)
{
    int h, m;
    assert_int_equal(sscanf(s, "%d:%d", &h, &m), 2);
    return h * 3600 + m * 60 - 7 * 3600;
}

static void read_plan(const char *path, plan_csv *P)
{
    static const char *const cols[] = {"hour",          "group",       "services",
                                       "counters",      "of",          "open_counters",
                                       "tickets",       "p90_wait_s",  "p90_wait_min",
                                       "all_open_p90_wait_s", "target_met"};
    char *text = slurp(path);
    assert_non_null(text);
    qms_csv r;
    qms_csv_init(&r, text, strlen(text));
    assert_int_equal(qms_csv_next(&r), 1);
    assert_int_equal(r.nfields, 11);
    for (int k = 0; k < 11; k++)
        assert_int_equal(qms_csv_find(&r, cols[k]), k);
    memset(P, 0, sizeof *P);
    while (qms_csv_next(&r) == 1) {
        assert_int_equal(r.nfields, 11);
        assert_true(P->n < MAXROWS);
        row *x = &P->r[P->n++];
        char *dash = strchr(r.fields[0], '-');
        assert_non_null(dash);
        x->from = hm(r.fields[0]);
        x->to = hm(dash + 1);
        x->group = atoi(r.fields[1]);
        snprintf(x->services, sizeof x->services, "%s", r.fields[2]);
        x->counters = atoi(r.fields[3]);
        x->of = atoi(r.fields[4]);
        int n = 0;
        for (char *tok = strtok(r.fields[5], " "); tok; tok = strtok(NULL, " "))
            x->open[n++] = atoi(tok);
        assert_int_equal(n, x->counters);
        assert_true(x->counters <= x->of);
        x->tickets = atoi(r.fields[6]);
        x->p90 = *r.fields[7] ? atoi(r.fields[7]) : -1;
        if (x->p90 >= 0) /* the minutes agree with the seconds */
            assert_true(abs((int)(atof(r.fields[8]) * 60) - x->p90) <= 3);
        x->all_p90 = *r.fields[9] ? atoi(r.fields[9]) : -1;
        x->met = atoi(r.fields[10]);
        if (P->nslots == 0 || P->slot_from[P->nslots - 1] != x->from) {
            P->slot_from[P->nslots] = x->from;
            P->slot_to[P->nslots] = x->to;
            P->nslots++;
        }
    }
    qms_csv_free(&r);
    qms_free(text);
}

static int slot_index(const plan_csv *P, int32_t from)
{
    for (int h = 0; h < P->nslots; h++)
        if (P->slot_from[h] == from)
            return h;
    fail();
    return -1;
}

static int has_service(const row *x, const char *code)
{
    size_t n = strlen(code);
    for (const char *p = x->services; (p = strstr(p, code)); p += n)
        if ((p == x->services || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* This test's own p90 (nearest rank) of the tickets of row x's group taken
 * in its hour; never called = INT32_MAX. */
static int32_t p90_of(const qms_config *c, const qms_replay_result *r, const row *x)
{
    int *w = qms_malloc((size_t)r->n * sizeof *w), n = 0;
    for (int i = 0; i < r->n; i++) {
        const qms_replay_ticket *t = &r->t[i];
        if (t->arrive_s < x->from || t->arrive_s >= x->to ||
            !has_service(x, c->services[t->service].code))
            continue;
        w[n++] = t->called_s >= 0 ? t->called_s - t->arrive_s : INT32_MAX;
    }
    int32_t v = 0;
    if (n) {
        qsort(w, (size_t)n, sizeof *w, cmp_int);
        int rank = (9 * n + 9) / 10; /* the smallest wait at least 90 % do not exceed */
        v = w[rank - 1];
    }
    qms_free(w);
    return v;
}

static int count_of(const qms_config *c, const qms_replay_result *r, const row *x)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        n += r->t[i].arrive_s >= x->from && r->t[i].arrive_s < x->to &&
             has_service(x, c->services[r->t[i].service].code);
    return n;
}

static unsigned char *staffing_of(const qms_config *c, const plan_csv *P,
                                  qms_replay_staffing *st)
{
    unsigned char *open = qms_calloc((size_t)P->nslots, (size_t)c->ncounters);
    for (int i = 0; i < P->n; i++) {
        int h = slot_index(P, P->r[i].from);
        for (int j = 0; j < P->r[i].counters; j++) {
            int ci = qms_config_counter_index(c, P->r[i].open[j]);
            assert_true(ci >= 0);
            open[(size_t)h * c->ncounters + ci] = 1;
        }
    }
    st->nslots = P->nslots;
    st->ncounters = c->ncounters;
    st->from_s = P->slot_from;
    st->open = open;
    return open;
}

/* The bound of a row: the target, or, where even every counter open misses
 * it, what every counter open gives (from a replay without any plan). */
static int32_t bound_of(const qms_config *c, const qms_replay_result *all, const row *x)
{
    int32_t a = p90_of(c, all, x);
    return a > TARGET_S ? a : TARGET_S;
}

static void test_plan_day900(void **state)
{
    (void)state;
    char dir[256], out[300], log[300];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "plan-900"), 0);
    snprintf(out, sizeof out, "%s/plan.csv", dir);
    snprintf(log, sizeof log, "%s/plan.log", dir);
    char *argv[] = {(char *)qms_test_bin("qms-plan"),
                    "--config",
                    (char *)qms_test_src("examples/center.json"),
                    "--trace",
                    (char *)qms_test_src("examples/day-900.csv"),
                    "--target",
                    "15m",
                    "--out",
                    out,
                    NULL};
    assert_int_equal(run(argv, log), 0);
    char *msg = slurp(log);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "saved"));
    fprintf(stderr, "%s", msg);
    qms_free(msg);

    plan_csv *P = qms_calloc(1, sizeof *P);
    read_plan(out, P);
    qms_config *c = load_center();
    qms_trace tr;
    load_day("day-900.csv", &tr);
    assert_int_equal(P->nslots, 8); /* 07:30-11:30 and 13:30-17:00 in hours */
    assert_true(P->n >= P->nslots);

    /* every counter open, without a staffing plan: the bounds */
    qms_replay_result all;
    assert_int_equal(replay(c, &tr, NULL, NULL, -1, &all), QMS_OK);
    int64_t plan_s = 0, all_s = 0;
    for (int i = 0; i < P->n; i++) {
        const row *x = &P->r[i];
        assert_int_equal(x->all_p90, p90_of(c, &all, x));
        plan_s += (int64_t)x->counters * (x->to - x->from);
        all_s += (int64_t)x->of * (x->to - x->from);
    }
    assert_true(plan_s < all_s); /* it saves something on day-900 */

    /* the plan, replayed by this test: within the bounds, the figures as the
     * CSV says; target_met exactly where the p90 is within the target */
    qms_replay_staffing st;
    unsigned char *open = staffing_of(c, P, &st);
    qms_replay_result r;
    assert_int_equal(replay(c, &tr, &st, NULL, -1, &r), QMS_OK);
    int called = 0;
    for (int i = 0; i < r.n; i++)
        called += r.t[i].called_s >= 0;
    assert_int_equal(called, r.n); /* nobody is left waiting */
    int met = 0;
    for (int i = 0; i < P->n; i++) {
        const row *x = &P->r[i];
        int32_t w = p90_of(c, &r, x);
        assert_int_equal(x->tickets, count_of(c, &r, x));
        assert_int_equal(x->p90, w);
        assert_true(w <= bound_of(c, &all, x));
        assert_int_equal(x->met, w <= TARGET_S);
        met += x->met;
    }
    assert_true(met > 0);
    qms_replay_result_free(&r);

    /* minimality: one counter-hour fewer in any hour and group (the last of
     * that row's open counters) breaks a bound of that group */
    for (int i = 0; i < P->n; i++) {
        const row *x = &P->r[i];
        if (x->counters == 0)
            continue;
        int h = slot_index(P, x->from);
        int ci = qms_config_counter_index(c, x->open[x->counters - 1]);
        unsigned char *cell = &open[(size_t)h * c->ncounters + ci];
        *cell = 0;
        assert_int_equal(replay(c, &tr, &st, NULL, -1, &r), QMS_OK);
        int broken = 0;
        for (int j = 0; j < P->n; j++)
            if (P->r[j].group == x->group && p90_of(c, &r, &P->r[j]) > bound_of(c, &all, &P->r[j]))
                broken = 1;
        if (!broken)
            fprintf(stderr, "closing counter %d in %d..%d keeps every bound\n",
                    x->open[x->counters - 1], x->from, x->to);
        assert_true(broken);
        qms_replay_result_free(&r);
        *cell = 1;
    }
    qms_free(open);
    qms_replay_result_free(&all);
    qms_trace_free(&tr);
    qms_config_free(c);
    qms_free(P);
    qms_test_rmdir(dir);
}

/* ---- the command line ---- */

static void test_cli(void **state)
{
    (void)state;
    char dir[256], log[300], out[300], db[300], png[300], bad[300];
    assert_int_equal(qms_test_tmpdir(dir, sizeof dir, "plan-cli"), 0);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(out, sizeof out, "%s/plan.csv", dir);
    snprintf(db, sizeof db, "%s/day.db", dir);
    snprintf(png, sizeof png, "%s/plan.png", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    char bin[1024], cfg[1024], d500[1024], txt[300], cmd[1400];
    snprintf(bin, sizeof bin, "%s", qms_test_bin("qms-plan"));
    snprintf(cfg, sizeof cfg, "%s", qms_test_src("examples/center.json"));
    snprintf(d500, sizeof d500, "%s", qms_test_src("examples/day-500.csv"));

    char *help[] = {bin, "--help", NULL};
    assert_int_equal(run(help, log), 0);
    char *text = slurp(log);
    assert_non_null(strstr(text, "usage: qms-plan"));
    qms_free(text);

    const char *targets[] = {"15x", "0", "-5m", "25h", "m", "1h30", "15m15m", ""};
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        char *a[] = {bin, "--config", cfg, "--trace", d500, "--target", (char *)targets[i],
                     NULL};
        unlink(log);
        assert_int_equal(run(a, log), 2);
        text = slurp(log);
        assert_non_null(strstr(text, "--target"));
        qms_free(text);
    }
    char *noinput[] = {bin, "--config", cfg, NULL};
    assert_int_equal(run(noinput, log), 2);
    char *both[] = {bin, "--config", cfg, "--trace", d500, "--db", db, "--date", "2026-01-05",
                    NULL};
    assert_int_equal(run(both, log), 2);

    /* unreadable or malformed input: exit 1, the file named, nothing written */
    char *missing[] = {bin, "--config", cfg, "--trace", "/nonexistent/day.csv", "--out", out,
                       NULL};
    unlink(log);
    assert_int_equal(run(missing, log), 1);
    text = slurp(log);
    assert_non_null(strstr(text, "/nonexistent/day.csv"));
    qms_free(text);
    FILE *f = fopen(bad, "w");
    fputs("arrive_s,service,priority,service_s,no_show\n1900,TP,7,300,0\n", f);
    fclose(f);
    char *malformed[] = {bin, "--config", cfg, "--trace", bad, "--out", out, NULL};
    unlink(log);
    assert_int_equal(run(malformed, log), 1);
    text = slurp(log);
    assert_non_null(strstr(text, "line 2"));
    qms_free(text);
    char *nodb[] = {bin, "--config", cfg, "--db", "/nonexistent/qms.db", "--date", "2026-01-05",
                    NULL};
    assert_int_equal(run(nodb, log), 1);
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);

    /* a day of a store (written by qms-sim) as the input, and the chart */
    char *sim[] = {(char *)qms_test_bin("qms-sim"), "--config", cfg, "--trace", d500, "--db", db,
                   "--sync", "off", NULL};
    assert_int_equal(run(sim, log), 0);
    char *fromdb[] = {bin,  "--config", cfg,   "--db",    db,  "--date", "2026-01-05",
                      "--out", out,     "--chart", png, NULL};
    unlink(log);
    assert_int_equal(run(fromdb, log), 0);
    plan_csv *P = qms_calloc(1, sizeof *P);
    read_plan(out, P);
    int tickets = 0;
    for (int i = 0; i < P->n; i++)
        tickets += P->r[i].tickets;
    assert_int_equal(tickets, 500);
    qms_free(P);
    char *nodate[] = {bin, "--config", cfg, "--db", db, "--date", "2026-01-06", NULL};
    assert_int_equal(run(nodate, log), 1);

    /* --out naming a pipe (as /dev/stdout or /dev/null would be): written
     * into it, not replaced by a file renamed over it (qms-plan run as root
     * with --out /dev/null once did that to /dev/null) */
    char fifo[300], got[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(got, sizeof got, "%s/got.csv", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *reader[] = {"/bin/cat", fifo, NULL};
    pid_t cat = qms_test_spawn(reader, got);
    assert_true(cat > 0);
    char *tofifo[] = {bin, "--config", cfg, "--trace", d500, "--out", fifo, NULL};
    int st = run(tofifo, log);
    int fifo_kept = stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode);
    /* cat ends when qms-plan closes the pipe; if it was never opened, end it */
    if (qms_test_wait_pid(cat, 10000) < 0) {
        kill(cat, SIGKILL);
        qms_test_wait_pid(cat, 10000);
    }
    assert_int_equal(st, 0);
    assert_true(fifo_kept);
    text = slurp(got);
    assert_non_null(text);
    assert_true(strncmp(text, "hour,group,", 11) == 0);
    assert_non_null(strstr(text, "16:30-17:00,2,"));
    qms_free(text);

    /* the chart, read by tesseract (Vietnamese) */
    assert_int_equal(stat(png, &sb), 0);
    snprintf(txt, sizeof txt, "%s/ocr", dir);
    snprintf(cmd, sizeof cmd, "tesseract '%s' '%s' -l vie >/dev/null 2>&1", png, txt);
    assert_int_equal(system(cmd), 0);
    snprintf(txt, sizeof txt, "%s/ocr.txt", dir);
    text = slurp(txt);
    assert_non_null(text);
    assert_non_null(strstr(text, "Kế hoạch bố trí quầy"));
    assert_non_null(strstr(text, "tiết kiệm"));
    assert_non_null(strstr(text, "Nhóm 2"));
    qms_free(text);
    qms_test_rmdir(dir);
}

static void test_duration(void **state)
{
    (void)state;
    int32_t v = 0;
    assert_int_equal(qms_plan_parse_duration("15m", &v), 0);
    assert_int_equal(v, 900);
    assert_int_equal(qms_plan_parse_duration("900s", &v), 0);
    assert_int_equal(v, 900);
    assert_int_equal(qms_plan_parse_duration("900", &v), 0);
    assert_int_equal(v, 900);
    assert_int_equal(qms_plan_parse_duration("1h30m", &v), 0);
    assert_int_equal(v, 5400);
    assert_int_equal(qms_plan_parse_duration("1h0m5s", &v), 0);
    assert_int_equal(v, 3605);
    assert_int_equal(qms_plan_parse_duration("24h", &v), 0);
    assert_int_equal(v, 86400);
    const char *bad[] = {"", "0", "0m", "m", "15", "-1", "1h30", "30m1h", "1m1m", "25h",
                         "86401", "15 m", "1.5h", "9999999s", "15mm"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = qms_plan_parse_duration(bad[i], &v);
        if (strcmp(bad[i], "15") == 0) { /* plain seconds are fine */
            assert_int_equal(rc, 0);
            continue;
        }
        if (rc == 0)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
        assert_int_equal(rc, -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_staffing_all_open_is_no_plan),
        cmocka_unit_test(test_staffing_closed_counter_calls_nobody),
        cmocka_unit_test(test_staffing_resume),
        cmocka_unit_test(test_staffing_refused),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_plan_day900),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
