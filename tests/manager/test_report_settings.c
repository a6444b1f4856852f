/* qms-report without --config: the real qms-controller records the center's
 * UTC offset and rating scale in the store (at start and on a SIGHUP
 * reload), and the real qms-report reads each day with its own.
 *
 * Day 1: a center at +05:30 with 3 rating levels. Day 2: the center moved
 * to -05:00 (restart), then changed to 5 levels (SIGHUP, before the first
 * rating). Tickets are taken and rated through the protocol; the test keeps
 * the taking times the controller replied and the levels it gave, and
 * computes the hour rows and the satisfied shares itself. */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NT 6 /* tickets a day */

/* The harness's center with another offset and scale. */
static char *center(int utc_offset_min, int levels)
{
    const char *base = harness_center_json;
    const char *p = strstr(base, "\"utc_offset_min\":420");
    const char *q = strstr(base, "\"rating_levels\":4");
    assert_non_null(p);
    assert_non_null(q);
    assert_true(p < q);
    size_t cap = strlen(base) + 64;
    char *s = qms_malloc(cap);
    assert_non_null(s);
    snprintf(s, cap, "%.*s\"utc_offset_min\":%d%.*s\"rating_levels\":%d%s", (int)(p - base), base,
             utc_offset_min, (int)(q - p - strlen("\"utc_offset_min\":420")),
             p + strlen("\"utc_offset_min\":420"), levels, q + strlen("\"rating_levels\":4"));
    return s;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* What the test did on a day. */
typedef struct day_rec {
    const char *date;
    int off, levels;
    int64_t taken[NT];
    int rating[NT];
} day_rec;

static day_rec D[2] = {
    {"2026-11-26", 330, 3, {0}, {3, 2, 3, 1, 3, 2}},
    {"2026-11-27", -300, 5, {0}, {5, 4, 4, 2, 5, 1}},
};

/* Take NT tickets of TP and serve and rate each at counter 1. */
static void run_day(ctl_env *e, day_rec *d, const char *tag)
{
    qms_mqtt *m = env_client(e, tag);
    assert_non_null(m);
    char body[128];
    for (int i = 0; i < NT; i++) {
        snprintf(body, sizeof body, "{\"req\":\"%s-t%d\",\"service\":\"TP\"}", tag, i);
        cJSON *o = env_req(e, m, "ticket/take", body);
        assert_non_null(o);
        assert_true(js_num(o, "taken_ms") > 0);
        d->taken[i] = (int64_t)js_num(o, "taken_ms");
        assert_string_equal(js_str(o, "day"), d->date);
        cJSON_Delete(o);
        poll(NULL, 0, 300); /* spread the takes a little across the hour's edge */
    }
    for (int i = 0; i < NT; i++) {
        const char *ops[3] = {"next", "done", "rate"};
        for (int k = 0; k < 3; k++) {
            if (k == 2)
                snprintf(body, sizeof body, "{\"req\":\"%s-c%d-%d\",\"op\":\"rate\",\"level\":%d}",
                         tag, i, k, d->rating[i]);
            else
                snprintf(body, sizeof body, "{\"req\":\"%s-c%d-%d\",\"op\":\"%s\"}", tag, i, k,
                         ops[k]);
            cJSON *o = env_req(e, m, "counter/1/cmd", body);
            assert_non_null(o);
            if (js_str(o, "error"))
                fail_msg("%s refused: %s", body, js_str(o, "error"));
            cJSON_Delete(o);
        }
    }
    qms_mqtt_free(m);
}

/* ---------- running qms-report, reading its CSV ---------- */

typedef struct out {
    int status;
    char *log;
    int nrows;
    char *cell[16][40];
    int ncols[16];
} out;

static void out_free(out *o)
{
    for (int r = 0; r < o->nrows; r++)
        for (int c = 0; c < o->ncols[r]; c++)
            qms_free(o->cell[r][c]);
    qms_free(o->log);
    memset(o, 0, sizeof *o);
}

static void report(const ctl_env *e, out *o, const char *first, ...)
{
    memset(o, 0, sizeof *o);
    char csv[320], log[320];
    snprintf(csv, sizeof csv, "%s/out.csv", e->dir);
    snprintf(log, sizeof log, "%s/report.log", e->dir);
    unlink(csv);
    unlink(log);
    char *argv[24];
    int n = 0;
    argv[n++] = (char *)qms_test_bin("qms-report");
    argv[n++] = "--db";
    argv[n++] = (char *)e->db;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 20; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n++] = "--out";
    argv[n++] = csv;
    argv[n] = NULL;
    o->status = qms_test_wait_pid(qms_test_spawn(argv, log), 30000);
    size_t len;
    if (qms_read_file(log, &o->log, &len, 1 << 20) != QMS_OK)
        o->log = qms_strdup("");
    char *raw = NULL;
    if (qms_read_file(csv, &raw, &len, 1 << 20) != QMS_OK)
        return;
    qms_csv r;
    qms_csv_init(&r, raw, len);
    while (o->nrows < 16 && qms_csv_next(&r) == 1) {
        for (int c = 0; c < r.nfields && c < 40; c++)
            o->cell[o->nrows][c] = qms_strdup(r.fields[c]);
        o->ncols[o->nrows] = r.nfields < 40 ? r.nfields : 40;
        o->nrows++;
    }
    qms_csv_free(&r);
    qms_free(raw);
}

/* stderr has only the line saying the file was written. */
static void expect_quiet(const out *o)
{
    const char *nl = strchr(o->log, '\n');
    if (strncmp(o->log, "qms-report: đã ghi ", strlen("qms-report: đã ghi ")) != 0 || !nl || nl[1])
        fail_msg("qms-report said more than that it wrote the file:\n%s", o->log);
}

static int col(const out *o, const char *title)
{
    for (int c = 0; c < o->ncols[0]; c++)
        if (strcmp(o->cell[0][c], title) == 0)
            return c;
    fail_msg("no column '%s'", title);
    return -1;
}

/* The columns whose title starts with "Đánh giá mức". */
static int level_columns(const out *o)
{
    int n = 0;
    for (int c = 0; c < o->ncols[0]; c++)
        n += strncmp(o->cell[0][c], "Đánh giá mức ", strlen("Đánh giá mức ")) == 0;
    return n;
}

static int row(const out *o, const char *key)
{
    for (int r = 1; r < o->nrows; r++)
        if (strcmp(o->cell[r][0], key) == 0)
            return r;
    return -1;
}

static void expect_int(const out *o, int r, const char *title, int want)
{
    assert_true(r > 0);
    const char *v = o->cell[r][col(o, title)];
    if (!*v || atoi(v) != want)
        fail_msg("row %s, %s: '%s', expected %d\n%s", o->cell[r][0], title, v, want, o->log);
}

static void expect_share(const out *o, int r, int sat, int n)
{
    const char *v = o->cell[r][col(o, "Tỷ lệ hài lòng (%)")];
    double want = 100.0 * sat / n;
    if (!*v || fabs(atof(v) - want) > 0.05 + 1e-9)
        fail_msg("row %s, satisfied: '%s', expected %.2f\n%s", o->cell[r][0], v, want, o->log);
}

/* Ratings of the day at or above level. */
static int at_least(const day_rec *d, int level)
{
    int n = 0;
    for (int i = 0; i < NT; i++)
        n += d->rating[i] >= level;
    return n;
}

static int with_level(const day_rec *d, int level)
{
    int n = 0;
    for (int i = 0; i < NT; i++)
        n += d->rating[i] == level;
    return n;
}

static int local_hour(int64_t ms, int off)
{
    int64_t s = ms / 1000 + (int64_t)off * 60;
    return (int)(((s % 86400) + 86400) % 86400 / 3600);
}

/* The by-hour rows expected when day k is read with offset off[k]. */
static void expect_hours(const out *o, const int *off, int ndays)
{
    int count[24] = {0}, lo = 24, hi = -1;
    for (int k = 0; k < ndays; k++)
        for (int i = 0; i < NT; i++) {
            int h = local_hour(D[k].taken[i], off[k]);
            count[h]++;
            lo = h < lo ? h : lo;
            hi = h > hi ? h : hi;
        }
    assert_int_equal(o->nrows, 1 + (hi - lo + 1) + 1); /* header, hours, total */
    for (int h = lo; h <= hi; h++) {
        char key[32];
        snprintf(key, sizeof key, "%02d:00-%02d:00", h, h + 1);
        int r = row(o, key);
        if (r < 0)
            fail_msg("no row %s", key);
        expect_int(o, r, "Số phiếu đã lấy", count[h]);
    }
}

static void test_settings_from_the_store(void **state)
{
    (void)state;
    ctl_env e;
    memset(&e, 0, sizeof e);
    /* day 1 at +05:30, 3 levels; three seconds before ten, local time */
    char *c1 = center(D[0].off, D[0].levels);
    assert_int_equal(env_start(&e, c1, "2026-11-26T09:59:57"), 0);
    qms_free(c1);
    run_day(&e, &D[0], "d1");
    /* a 5 is not on a 3-level scale: the controller refuses it */
    qms_mqtt *m = env_client(&e, "probe");
    cJSON *o = env_req(&e, m, "counter/1/cmd", "{\"req\":\"p1\",\"op\":\"rate\",\"level\":5}");
    assert_non_null(o);
    assert_non_null(js_str(o, "error"));
    cJSON_Delete(o);
    qms_mqtt_free(m);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);

    /* day 2: the center at -05:00 (a restart), then 5 levels (a reload) */
    char *c2 = center(D[1].off, 3);
    write_text(e.config, c2);
    qms_free(c2);
    int32_t day2;
    assert_int_equal(qms_day_parse(D[1].date, &day2), QMS_OK);
    e.utc_offset_min = D[1].off;
    e.clock0 = qms_local_to_epoch_ms(day2, 10 * 3600 - 3, D[1].off);
    e.mono0 = qms_mono_ms();
    assert_int_equal(env_controller_start(&e), 0);
    c2 = center(D[1].off, D[1].levels);
    write_text(e.config, c2);
    qms_free(c2);
    int before = env_log_count(&e, "config reloaded");
    kill(e.pid, SIGHUP);
    for (int i = 0; i < 100 && env_log_count(&e, "config reloaded") == before; i++)
        poll(NULL, 0, 50);
    assert_int_equal(env_log_count(&e, "config reloaded"), before + 1);
    run_day(&e, &D[1], "d2");
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);

    out r;
    /* day 1 alone: 3 named levels, the top two satisfied */
    report(&e, &r, "--from", D[0].date, NULL);
    assert_int_equal(r.status, 0);
    expect_quiet(&r); /* nothing assumed, nothing to warn about */
    assert_int_equal(level_columns(&r), 3);
    col(&r, "Đánh giá mức 1 (Không hài lòng)");
    col(&r, "Đánh giá mức 2 (Hài lòng)");
    col(&r, "Đánh giá mức 3 (Rất hài lòng)");
    int tot = r.nrows - 1;
    for (int l = 1; l <= 3; l++) {
        char t[64];
        snprintf(t, sizeof t, "Đánh giá mức %d (%s)", l,
                 l == 1   ? "Không hài lòng"
                 : l == 2 ? "Hài lòng"
                          : "Rất hài lòng");
        expect_int(&r, tot, t, with_level(&D[0], l));
    }
    expect_share(&r, tot, at_least(&D[0], D[0].levels - 1), NT);
    out_free(&r);

    /* day 2 alone: 5 levels */
    report(&e, &r, "--from", D[1].date, NULL);
    assert_int_equal(r.status, 0);
    expect_quiet(&r);
    assert_int_equal(level_columns(&r), 5);
    col(&r, "Đánh giá mức 3 (Bình thường)");
    expect_int(&r, r.nrows - 1, "Đánh giá mức 5 (Rất hài lòng)", with_level(&D[1], 5));
    expect_share(&r, r.nrows - 1, at_least(&D[1], D[1].levels - 1), NT);
    out_free(&r);

    /* both days, per day: each with its own scale; the columns are bare
     * level numbers, and stderr says why */
    report(&e, &r, "--from", D[0].date, "--to", D[1].date, "--by", "day", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.log, "3 đến 5 mức"));
    assert_int_equal(level_columns(&r), 5);
    for (int k = 0; k < 2; k++) {
        int rr = row(&r, D[k].date);
        for (int l = 1; l <= 5; l++) {
            char t[32];
            snprintf(t, sizeof t, "Đánh giá mức %d", l);
            expect_int(&r, rr, t, with_level(&D[k], l));
        }
        expect_share(&r, rr, at_least(&D[k], D[k].levels - 1), NT);
    }
    expect_share(&r, r.nrows - 1,
                 at_least(&D[0], D[0].levels - 1) + at_least(&D[1], D[1].levels - 1), 2 * NT);
    out_free(&r);

    /* per hour: each day's tickets placed with its day's offset */
    const int own[2] = {D[0].off, D[1].off};
    report(&e, &r, "--from", D[0].date, "--to", D[1].date, "--by", "hour", NULL);
    assert_int_equal(r.status, 0);
    expect_hours(&r, own, 2);
    out_free(&r);

    /* --config still overrides: +07:00 and 4 levels for every day */
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/override.json", e.dir);
    write_text(cfg, harness_center_json);
    const int seven[2] = {420, 420};
    report(&e, &r, "--from", D[0].date, "--to", D[1].date, "--by", "hour", "--config", cfg, NULL);
    assert_int_equal(r.status, 0);
    expect_hours(&r, seven, 2);
    out_free(&r);
    report(&e, &r, "--from", D[0].date, "--config", cfg, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(level_columns(&r), 4);
    expect_share(&r, r.nrows - 1, at_least(&D[0], 3), NT);
    out_free(&r);
    /* and --levels alone: day 1 read on a 5-level scale */
    report(&e, &r, "--from", D[0].date, "--levels", "5", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(level_columns(&r), 5);
    expect_share(&r, r.nrows - 1, at_least(&D[0], 4), NT);
    out_free(&r);

    /* a store without recorded settings (an older one): the old assumption,
     * said on stderr */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(e.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM day_settings", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    report(&e, &r, "--from", D[0].date, "--by", "hour", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.log, "+07:00"));
    const int dflt[1] = {420};
    expect_hours(&r, dflt, 1);
    out_free(&r);
    env_stop(&e);
}

int main(void)
{
    qms_log_init("test_report_settings", QMS_LOG_ERROR);
    qms_mqtt_lib_init();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_from_the_store),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qms_mqtt_lib_cleanup();
    return rc;
}
