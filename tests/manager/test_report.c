/* qms-report against real SQLite files written by the real engine and store.
 *
 * A driver replays examples/day-500.csv through the engine and the store
 * (clerks that call, start, finish, skip no-shows, transfer some tickets and
 * record ratings), plus the beginning of a second day left unfinished. While
 * it drives, it writes down what it did to every ticket and when, from its
 * own clock — that record, not the store, is what the figures of the CSV
 * that the real qms-report program writes are checked against. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine.h"
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
#include <sys/stat.h>
#include <unistd.h>

#define MAX_T 2000
#define OFF 420 /* the sample center's UTC offset */

/* What the driver knows about a ticket, from its own actions. */
typedef struct truth {
    int used;
    int32_t day;
    int orig, svc; /* service indices */
    int64_t taken; /* ms */
    int64_t first_call, start, end;
    char state;  /* 'W' waiting, 'C' called, 'S' serving, 'D' done, 'N' no-show, 'X' cancelled */
    int counter; /* counter index of the last call, -1 */
    int rating;
    int transfers;
    int xfer_by[4]; /* counter indices that transferred it */
    int nxfer;
    int noshow_plan; /* the arrival row says it will not come */
    int xfer_plan;   /* the driver will transfer it once */
    int service_s;   /* service time still to do */
} truth;

typedef struct desk {
    int64_t tid;   /* ticket at the desk, 0 = idle */
    int64_t until; /* ms: when the current step ends */
    int64_t next_try;
} desk;

typedef struct world {
    char dir[256];
    char db[300];
    qms_config *cfg;
    qms_vclock clk;
    qms_engine *e;
    qms_store *s;
    truth t[MAX_T];
    int32_t day1, day2;
    int ntaken[2];
} world;

static world W;

static void commit(void)
{
    assert_int_equal(qms_store_commit(W.s, W.e), QMS_OK);
}

static truth *T(int64_t id)
{
    assert_true(id > 0 && id < MAX_T);
    return &W.t[id];
}

typedef struct arrival {
    int arrive_s, si, prio, service_s, no_show;
} arrival;

static int load_day(const char *name, arrival *a, int max)
{
    char *text;
    size_t len;
    assert_int_equal(qms_read_file(qms_test_src(name), &text, &len, 1 << 20), QMS_OK);
    qms_csv r;
    qms_csv_init(&r, text, len);
    assert_int_equal(qms_csv_next(&r), 1);
    int n = 0;
    while (n < max && qms_csv_next(&r) == 1) {
        a[n].arrive_s = atoi(r.fields[0]);
        a[n].si = qms_config_service_index(W.cfg, r.fields[1]);
        assert_true(a[n].si >= 0);
        a[n].prio = atoi(r.fields[2]);
        a[n].service_s = atoi(r.fields[3]);
        a[n].no_show = atoi(r.fields[4]);
        n++;
    }
    qms_csv_free(&r);
    qms_free(text);
    return n;
}

/* A service other than si that some counter serves (for transfers). */
static int other_service(int si)
{
    for (int k = 1; k < W.cfg->nservices; k++) {
        int o = (si + k) % W.cfg->nservices;
        for (int ci = 0; ci < W.cfg->ncounters; ci++)
            if (qms_config_counter_serves(W.cfg, ci, o))
                return o;
    }
    return -1;
}

/* Drive one second of the hall at time now for the desks [0, ndesks). */
static void desks_step(desk *d, int ndesks, int64_t now)
{
    for (int ci = 0; ci < ndesks; ci++) {
        desk *k = &d[ci];
        if (!k->tid) {
            if (now < k->next_try)
                continue;
            const qms_ticket *qt;
            int rc = qms_engine_next(W.e, ci, &qt);
            if (rc == QMS_ERR_NOTHING_TO_CALL) {
                k->next_try = now + 5000;
                continue;
            }
            assert_int_equal(rc, QMS_OK);
            truth *t = T(qt->id);
            assert_true(t->state == 'W');
            if (!t->first_call)
                t->first_call = now;
            t->state = 'C';
            t->counter = ci;
            k->tid = qt->id;
            k->until = now + 20000; /* walks up */
            commit();
            continue;
        }
        if (now < k->until)
            continue;
        truth *t = T(k->tid);
        const qms_ticket *qt;
        if (t->state == 'C') {
            if (t->noshow_plan) {
                assert_int_equal(qms_engine_skip(W.e, ci, &qt), QMS_OK);
                t->state = 'N';
                t->end = now;
                k->tid = 0;
            } else {
                assert_int_equal(qms_engine_start(W.e, ci), QMS_OK);
                t->state = 'S';
                t->start = now;
                int part = t->xfer_plan && !t->transfers ? t->service_s / 2 : t->service_s;
                k->until = now + (int64_t)part * 1000;
                t->service_s -= part;
            }
            commit();
        } else if (t->state == 'S') {
            if (t->xfer_plan && !t->transfers) {
                int to = other_service(t->svc);
                assert_true(to >= 0);
                assert_int_equal(qms_engine_transfer(W.e, ci, to, -1, &qt), QMS_OK);
                t->svc = to;
                t->transfers++;
                t->xfer_by[t->nxfer++] = ci;
                t->state = 'W';
                t->start = 0;
                k->tid = 0;
                commit();
                continue;
            }
            assert_int_equal(qms_engine_done(W.e, ci, &qt), QMS_OK);
            t->state = 'D';
            t->end = now;
            int64_t id = k->tid;
            k->tid = 0;
            commit();
            if (id % 5 != 0) { /* four citizens in five rate the service */
                int level = 1 + (int)((id * 7) % 4);
                assert_int_equal(qms_engine_rate(W.e, ci, level, &qt), QMS_OK);
                assert_true(qt->id == id);
                t->rating = level;
                commit();
            }
        }
    }
}

static void take(const arrival *a, int64_t now, int day_idx)
{
    qms_take_result r;
    int rc = qms_engine_take(W.e, a->si, a->prio ? 1 : 0, NULL, &r);
    if (rc == QMS_ERR_OUTSIDE_HOURS)
        return;
    assert_int_equal(rc, QMS_OK);
    int64_t id = r.ticket->id;
    truth *t = T(id);
    assert_false(t->used);
    t->used = 1;
    t->day = day_idx == 0 ? W.day1 : W.day2;
    t->orig = t->svc = a->si;
    t->taken = now;
    t->state = 'W';
    t->counter = -1;
    t->noshow_plan = a->no_show;
    t->service_s = a->service_s;
    t->xfer_plan = !a->no_show && id % 23 == 0;
    W.ntaken[day_idx]++;
    commit();
    if (id % 97 == 0) { /* its printing failed: the kiosk cancels it */
        assert_int_equal(qms_engine_cancel(W.e, id), QMS_OK);
        t->state = 'X';
        t->end = now;
        commit();
    }
}

static int setup_world(void **state)
{
    (void)state;
    memset(&W, 0, sizeof W);
    assert_int_equal(qms_test_tmpdir(W.dir, sizeof W.dir, "report"), 0);
    snprintf(W.db, sizeof W.db, "%s/qms.db", W.dir);
    char err[256];
    assert_int_equal(qms_config_load_file(QMS_EXAMPLES "/center.json", &W.cfg, err, sizeof err),
                     QMS_OK);
    assert_int_equal(qms_day_parse("2026-11-26", &W.day1), QMS_OK);
    W.day2 = W.day1 + 1;
    int64_t t0 = qms_local_to_epoch_ms(W.day1, 7 * 3600, OFF);
    qms_vclock_init(&W.clk, t0);
    assert_int_equal(qms_engine_new(W.cfg, &W.clk.clock, &W.e), QMS_OK);
    assert_int_equal(qms_store_open(W.db, &W.s), QMS_OK);
    /* a test file: the disk need not be synced after every commit */
    sqlite3_exec(qms_store_db(W.s), "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    assert_int_equal(qms_store_load(W.s, W.e), QMS_OK);
    commit();

    /* day 1: the whole sample day */
    static arrival a[1000];
    int n = load_day("examples/day-500.csv", a, 1000);
    desk d[QMS_MAX_COUNTERS];
    memset(d, 0, sizeof d);
    int next_a = 0;
    int64_t end = qms_local_to_epoch_ms(W.day1, 20 * 3600, OFF);
    for (int64_t now = t0; now < end; now += 1000) {
        qms_vclock_set(&W.clk, now);
        while (next_a < n && t0 + (int64_t)a[next_a].arrive_s * 1000 <= now)
            take(&a[next_a++], now, 0);
        desks_step(d, W.cfg->ncounters, now);
        int busy = next_a < n;
        for (int ci = 0; ci < W.cfg->ncounters && !busy; ci++)
            busy = d[ci].tid != 0;
        if (!busy && now > qms_local_to_epoch_ms(W.day1, 17 * 3600, OFF))
            break;
    }
    /* day 2: 40 arrivals, three counters work for half an hour, the rest is
     * still waiting when the report is made */
    int64_t t2 = qms_local_to_epoch_ms(W.day2, 7 * 3600, OFF);
    qms_vclock_set(&W.clk, t2);
    assert_int_equal(qms_engine_tick(W.e), 1);
    /* what the day left open is cancelled at the rollover (docs/engine.md) */
    for (int i = 1; i < MAX_T; i++)
        if (W.t[i].used && W.t[i].day == W.day1 && strchr("WCS", W.t[i].state))
            W.t[i].state = 'X';
    commit();
    n = load_day("examples/day-900.csv", a, 40);
    memset(d, 0, sizeof d);
    next_a = 0;
    int64_t end2 = t2 + 3600 * 1000;
    int64_t stop_desks = qms_local_to_epoch_ms(W.day2, 8 * 3600, OFF);
    for (int64_t now = t2; now < end2; now += 1000) {
        qms_vclock_set(&W.clk, now);
        while (next_a < n && t2 + (int64_t)a[next_a].arrive_s * 1000 <= now)
            take(&a[next_a++], now, 1);
        if (now < stop_desks)
            desks_step(d, 3, now);
    }
    assert_true(W.ntaken[0] > 400);
    assert_true(W.ntaken[1] > 10);
    /* the store stays open, as the controller's would: reports read beside it */
    return 0;
}

static int teardown_world(void **state)
{
    (void)state;
    qms_store_close(W.s);
    qms_engine_free(W.e);
    qms_config_free(W.cfg);
    if (getenv("QMS_TEST_KEEP")) /* to look at the store and the CSV by hand */
        fprintf(stderr, "kept %s (%d + %d tickets)\n", W.dir, W.ntaken[0], W.ntaken[1]);
    else
        qms_test_rmdir(W.dir);
    return 0;
}

/* ---------- expected figures, from the driver's record ---------- */

typedef struct fig {
    int taken, served, noshow, cancelled, unfinished, transferred;
    int64_t waits[MAX_T];
    int nwait;
    int64_t svc_sum;
    int nsvc;
    int ratings[6];
    int nratings;
} fig;

static void outcome(fig *f, const truth *t)
{
    switch (t->state) {
    case 'D':
        f->served++;
        f->svc_sum += t->end - t->start;
        f->nsvc++;
        break;
    case 'N':
        f->noshow++;
        break;
    case 'X':
        f->cancelled++;
        break;
    default:
        f->unfinished++;
    }
    if (t->first_call)
        f->waits[f->nwait++] = t->first_call - t->taken;
    if (t->rating) {
        f->ratings[t->rating]++;
        f->nratings++;
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---------- running qms-report and reading its CSV ---------- */

static void expect_int(const qms_report_out *o, int r, const char *title, int want)
{
    const char *cell = o->cells[r][qms_report_col(o, title)];
    if (atoi(cell) != want || !*cell)
        fail_msg("row %s, %s: CSV says '%s', expected %d", o->cells[r][0], title, cell, want);
}

/* A figure printed with one decimal: within half a unit of the last digit. */
static void expect_dec(const qms_report_out *o, int r, const char *title, double want)
{
    const char *cell = o->cells[r][qms_report_col(o, title)];
    if (want < 0) {
        if (*cell)
            fail_msg("row %s, %s: CSV says '%s', expected an empty cell", o->cells[r][0], title,
                     cell);
        return;
    }
    if (!*cell || fabs(atof(cell) - want) > 0.05 + 1e-9)
        fail_msg("row %s, %s: CSV says '%s', expected %.3f", o->cells[r][0], title, cell, want);
}

static const char *const LV[] = {NULL, "Đánh giá mức 1 (Không hài lòng)",
                                 "Đánh giá mức 2 (Bình thường)", "Đánh giá mức 3 (Hài lòng)",
                                 "Đánh giá mức 4 (Rất hài lòng)"};

static void expect_fig(const qms_report_out *o, int r, fig *f, int has_taken)
{
    if (has_taken)
        expect_int(o, r, "Số phiếu đã lấy", f->taken);
    else
        assert_string_equal(o->cells[r][qms_report_col(o, "Số phiếu đã lấy")], "");
    expect_int(o, r, "Đã phục vụ", f->served);
    expect_int(o, r, "Vắng mặt", f->noshow);
    expect_int(o, r, "Đã hủy", f->cancelled);
    expect_int(o, r, "Chưa xong", f->unfinished);
    expect_int(o, r, "Đã chuyển", f->transferred);
    double mean = -1, p90 = -1, svc = -1, share = -1;
    if (f->nwait) {
        qsort(f->waits, (size_t)f->nwait, sizeof f->waits[0], cmp64);
        int64_t sum = 0;
        for (int i = 0; i < f->nwait; i++)
            sum += f->waits[i];
        mean = (double)sum / f->nwait / 60000.0;
        /* nearest rank: the smallest wait with at least 90 % of waits <= it */
        int k = 0;
        while ((double)(k + 1) < 0.9 * f->nwait - 1e-9)
            k++;
        p90 = (double)f->waits[k] / 60000.0;
    }
    if (f->nsvc)
        svc = (double)f->svc_sum / f->nsvc / 60000.0;
    if (f->nratings)
        share = 100.0 * (f->ratings[3] + f->ratings[4]) / f->nratings;
    expect_dec(o, r, "Thời gian chờ TB (phút)", mean);
    expect_dec(o, r, "Thời gian chờ P90 (phút)", p90);
    expect_dec(o, r, "Thời gian phục vụ TB (phút)", svc);
    for (int l = 1; l <= 4; l++)
        expect_int(o, r, LV[l], f->ratings[l]);
    expect_int(o, r, "Số lượt đánh giá", f->nratings);
    expect_dec(o, r, "Tỷ lệ hài lòng (%)", share);
}

static fig *figs_new(int n)
{
    fig *f = calloc((size_t)n, sizeof *f);
    assert_non_null(f);
    return f;
}

/* ---------- tests ---------- */

static void test_by_service(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", NULL);
    assert_int_equal(o.status, 0);
    /* opens in a spreadsheet as it is: BOM, CRLF records */
    assert_true(o.len > 3 && memcmp(o.raw, "\xEF\xBB\xBF", 3) == 0);
    assert_non_null(strstr(o.raw, "\r\n"));
    int ns = W.cfg->nservices;
    fig *f = figs_new(ns + 1);
    for (int i = 1; i < MAX_T; i++) {
        const truth *t = &W.t[i];
        if (!t->used || t->day != W.day1)
            continue;
        f[t->orig].taken++;
        f[t->orig].transferred += t->transfers > 0;
        outcome(&f[t->svc], t);
        f[ns].taken++;
        f[ns].transferred += t->transfers > 0;
        outcome(&f[ns], t);
    }
    /* one row per service of the center, in its order, with its name intact */
    assert_int_equal(o.nrows, 1 + ns + 1);
    int transfers = 0;
    for (int si = 0; si < ns; si++) {
        int r = qms_report_row(&o, W.cfg->services[si].code);
        assert_int_equal(r, 1 + si);
        assert_string_equal(o.cells[r][1], W.cfg->services[si].name_vi);
        expect_fig(&o, r, &f[si], 1);
        transfers += f[si].transferred;
    }
    assert_true(transfers > 5); /* the driver's transfers are in it */
    assert_true(f[ns].noshow > 5 && f[ns].cancelled > 0 && f[ns].nratings > 100);
    int r = qms_report_row(&o, "Tổng cộng");
    assert_int_equal(r, o.nrows - 1);
    expect_fig(&o, r, &f[ns], 1);
    assert_int_equal(f[ns].taken, W.ntaken[0]);
    free(f);
    qms_report_out_free(&o);
}

static void test_by_counter(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", "--by", "counter", NULL);
    assert_int_equal(o.status, 0);
    int nc = W.cfg->ncounters;
    fig *f = figs_new(nc + 1);
    for (int i = 1; i < MAX_T; i++) {
        const truth *t = &W.t[i];
        if (!t->used || t->day != W.day1)
            continue;
        if (t->counter >= 0)
            outcome(&f[t->counter], t);
        for (int k = 0; k < t->nxfer; k++) {
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= t->xfer_by[j] == t->xfer_by[k];
            f[t->xfer_by[k]].transferred += !dup;
        }
        f[nc].taken++;
        f[nc].transferred += t->transfers > 0;
        outcome(&f[nc], t);
    }
    assert_int_equal(o.nrows, 1 + nc + 1);
    assert_string_equal(o.cells[0][0], "Quầy số");
    for (int ci = 0; ci < nc; ci++) {
        char key[40];
        snprintf(key, sizeof key, "%d", W.cfg->counters[ci].id);
        int r = qms_report_row(&o, key);
        assert_true(r > 0);
        assert_string_equal(o.cells[r][1], W.cfg->counters[ci].name_vi);
        expect_fig(&o, r, &f[ci], 0);
    }
    expect_fig(&o, o.nrows - 1, &f[nc], 1);
    free(f);
    qms_report_out_free(&o);
}

static void test_by_hour(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", "--by", "hour", NULL);
    assert_int_equal(o.status, 0);
    fig *f = figs_new(25);
    int lo = 24, hi = -1;
    for (int i = 1; i < MAX_T; i++) {
        const truth *t = &W.t[i];
        if (!t->used || t->day != W.day1)
            continue;
        int h = (int)(((t->taken / 1000 + OFF * 60) % 86400) / 3600);
        lo = h < lo ? h : lo;
        hi = h > hi ? h : hi;
        f[h].taken++;
        f[h].transferred += t->transfers > 0;
        outcome(&f[h], t);
        f[24].taken++;
        f[24].transferred += t->transfers > 0;
        outcome(&f[24], t);
    }
    assert_string_equal(o.cells[0][0], "Giờ lấy số");
    assert_int_equal(o.nrows, 1 + (hi - lo + 1) + 1);
    for (int h = lo; h <= hi; h++) {
        char key[40];
        snprintf(key, sizeof key, "%02d:00-%02d:00", h, h + 1);
        int r = qms_report_row(&o, key);
        assert_int_equal(r, 1 + h - lo);
        expect_fig(&o, r, &f[h], 1);
    }
    /* lunch: the center does not issue 11:30-13:30, the 12:00 row is empty */
    int r12 = qms_report_row(&o, "12:00-13:00");
    assert_true(r12 > 0);
    expect_int(&o, r12, "Số phiếu đã lấy", 0);
    expect_dec(&o, r12, "Thời gian chờ TB (phút)", -1);
    expect_fig(&o, o.nrows - 1, &f[24], 1);
    free(f);
    qms_report_out_free(&o);
}

static void test_by_day_range(void **state)
{
    (void)state;
    qms_report_out o;
    /* three days: the full one, the unfinished one, one without tickets */
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", "--to", "2026-11-28", "--by",
                   "day", NULL);
    assert_int_equal(o.status, 0);
    fig *f = figs_new(4);
    for (int i = 1; i < MAX_T; i++) {
        const truth *t = &W.t[i];
        if (!t->used)
            continue;
        int k = t->day - W.day1;
        f[k].taken++;
        f[k].transferred += t->transfers > 0;
        outcome(&f[k], t);
        f[3].taken++;
        f[3].transferred += t->transfers > 0;
        outcome(&f[3], t);
    }
    assert_int_equal(o.nrows, 1 + 3 + 1);
    const char *days[] = {"2026-11-26", "2026-11-27", "2026-11-28"};
    for (int k = 0; k < 3; k++) {
        int r = qms_report_row(&o, days[k]);
        assert_int_equal(r, 1 + k);
        expect_fig(&o, r, &f[k], 1);
    }
    assert_true(f[1].unfinished > 0); /* day 2 is still running */
    assert_int_equal(f[2].taken, 0);
    expect_fig(&o, 4, &f[3], 1);
    free(f);
    qms_report_out_free(&o);

    /* the same range per service adds up to the same total */
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", "--to", "2026-11-28", NULL);
    assert_int_equal(o.status, 0);
    int sum = 0, c = qms_report_col(&o, "Số phiếu đã lấy");
    for (int r = 1; r < o.nrows - 1; r++)
        sum += atoi(o.cells[r][c]);
    assert_int_equal(sum, W.ntaken[0] + W.ntaken[1]);
    expect_int(&o, o.nrows - 1, "Số phiếu đã lấy", W.ntaken[0] + W.ntaken[1]);
    qms_report_out_free(&o);
}

static void test_no_data(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-12-01", NULL);
    assert_int_equal(o.status, 0);
    /* it says so, in the file and on the terminal */
    assert_non_null(strstr(o.log, "không có phiếu nào trong ngày 2026-12-01"));
    assert_string_equal(o.cells[o.nrows - 1][0], "Tổng cộng (không có dữ liệu)");
    expect_int(&o, o.nrows - 1, "Số phiếu đã lấy", 0);
    expect_dec(&o, o.nrows - 1, "Thời gian chờ TB (phút)", -1);
    expect_dec(&o, o.nrows - 1, "Tỷ lệ hài lòng (%)", -1);
    qms_report_out_free(&o);
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-12-01", "--by", "hour", "--lang", "en",
                   NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.log, "no tickets on 2026-12-01"));
    assert_int_equal(o.nrows, 2); /* header and the total */
    assert_string_equal(o.cells[1][0], "Total (no data)");
    qms_report_out_free(&o);
}

static void test_formats(void **state)
{
    (void)state;
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", "--lang", "en",
                   "--decimal-comma", "--no-bom", "--config", QMS_EXAMPLES "/center.json", NULL);
    assert_int_equal(o.status, 0);
    assert_false(memcmp(o.raw, "\xEF\xBB\xBF", 3) == 0);
    /* ';' between fields, decimal commas: the reader sees one field per line */
    assert_int_equal(o.ncols[0], 1);
    assert_non_null(strstr(o.raw, "Service code;Service;Tickets taken;Served;"));
    assert_non_null(strstr(o.raw, "Rating 4 (Very satisfied);Ratings;Satisfied (%)\r\n"));
    assert_non_null(strstr(o.raw, "TP;Justice and civil status;"));
    /* every decimal has a comma: "12,3" */
    const char *tp = strstr(o.raw, "\r\nTP;");
    assert_non_null(tp);
    int fields = 1, commas = 0;
    for (const char *p = tp + 2; *p != '\r'; p++) {
        fields += *p == ';';
        commas += *p == ',';
        assert_true(*p != '.');
    }
    assert_int_equal(fields, 2 + 9 + 4 + 2);
    assert_true(commas >= 3);
    qms_report_out_free(&o);
}

static void test_while_writing(void **state)
{
    (void)state;
    /* The controller writes while a manager reads: an open write transaction
     * (not committed) must neither block the report nor show in it. */
    sqlite3 *db = qms_store_db(W.s);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO tickets(id, day, orig_service, service, number, label,"
                     " priority, state, taken_ms, eta_s) VALUES(1999, '2026-11-26', 'TP', 'TP',"
                     " 999, 'A999', 0, 'waiting', 1764130000000, 0)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", NULL);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(o.status, 0);
    expect_int(&o, o.nrows - 1, "Số phiếu đã lấy", W.ntaken[0]);
    qms_report_out_free(&o);
    /* the report left the store as it was: nothing written, no file created */
    struct stat st;
    char p[320];
    snprintf(p, sizeof p, "%s/nothing.db", W.dir);
    qms_report_run(&o, W.dir, "--db", p, "--from", "2026-11-26", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.log, "nothing.db"));
    assert_int_not_equal(stat(p, &st), 0);
    qms_report_out_free(&o);
}

static void test_bad_input(void **state)
{
    (void)state;
    qms_report_out o;
    char p[320];
    /* a file that is not a database, and a database that is not a store */
    snprintf(p, sizeof p, "%s/junk.db", W.dir);
    FILE *f = fopen(p, "w");
    fputs("this is not sqlite\n", f);
    fclose(f);
    qms_report_run(&o, W.dir, "--db", p, "--from", "2026-11-26", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.log, "junk.db"));
    assert_null(o.raw); /* no half-written report left behind */
    qms_report_out_free(&o);
    snprintf(p, sizeof p, "%s/other.db", W.dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL);
    sqlite3_close(db);
    qms_report_run(&o, W.dir, "--db", p, "--from", "2026-11-26", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.log, "not a QMS store"));
    qms_report_out_free(&o);
    /* a store from a newer release */
    snprintf(p, sizeof p, "%s/newer.db", W.dir);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_exec(db,
                 "CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);"
                 "INSERT INTO meta VALUES('schema_version', 99)",
                 NULL, NULL, NULL);
    sqlite3_close(db);
    qms_report_run(&o, W.dir, "--db", p, "--from", "2026-11-26", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.log, "schema version 99"));
    qms_report_out_free(&o);
    /* an output that cannot be written: exit 1, nothing left behind */
    char log[320];
    snprintf(log, sizeof log, "%s/out-fail.log", W.dir);
    char *argv[] = {
        (char *)qms_test_bin("qms-report"), "--db", W.db, "--from", "2026-11-26", "--out",
        "/nonexistent-qms-dir/r.csv",       NULL};
    pid_t pid = qms_test_spawn(argv, log);
    assert_int_equal(qms_test_wait_pid(pid, 30000), 1);
    char *text;
    size_t len;
    assert_int_equal(qms_read_file(log, &text, &len, 1 << 16), QMS_OK);
    assert_non_null(strstr(text, "cannot write /nonexistent-qms-dir/r.csv"));
    qms_free(text);
    /* usage */
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "26/11/2026", NULL);
    assert_int_equal(o.status, 2);
    qms_report_out_free(&o);
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-27", "--to", "2026-11-26", NULL);
    assert_int_equal(o.status, 2);
    qms_report_out_free(&o);
    qms_report_run(&o, W.dir, "--db", W.db, "--from", "2026-11-26", "--by", "week", NULL);
    assert_int_equal(o.status, 2);
    qms_report_out_free(&o);
}

static void test_quoting(void **state)
{
    (void)state;
    /* Names with the separator, quotes and a line break: a store made by the
     * real store from a configuration that has them. */
    char err[256], p[320];
    qms_config *cfg = NULL;
    assert_int_equal(qms_config_load_file(QMS_EXAMPLES "/center.json", &cfg, err, sizeof err),
                     QMS_OK);
    const char *odd = "Tư pháp, \"Hộ tịch\"\nvà chứng thực";
    qms_free(cfg->services[0].name_vi);
    cfg->services[0].name_vi = qms_strdup(odd);
    const char *spaced = " Đất đai ";
    qms_free(cfg->services[1].name_vi);
    cfg->services[1].name_vi = qms_strdup(spaced);
    snprintf(p, sizeof p, "%s/odd.db", W.dir);
    qms_vclock clk;
    qms_vclock_init(&clk, qms_local_to_epoch_ms(W.day1, 9 * 3600, OFF));
    qms_engine *e;
    qms_store *s;
    assert_int_equal(qms_engine_new(cfg, &clk.clock, &e), QMS_OK);
    assert_int_equal(qms_store_open(p, &s), QMS_OK);
    assert_int_equal(qms_store_load(s, e), QMS_OK);
    qms_take_result tr;
    assert_int_equal(qms_engine_take(e, 0, 0, NULL, &tr), QMS_OK);
    assert_int_equal(qms_store_commit(s, e), QMS_OK);
    qms_store_close(s);
    qms_engine_free(e);
    qms_report_out o;
    qms_report_run(&o, W.dir, "--db", p, "--from", "2026-11-26", NULL);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.cells[1][1], odd);
    assert_string_equal(o.cells[2][1], spaced);
    assert_non_null(strstr(o.raw, "\"Tư pháp, \"\"Hộ tịch\"\"\nvà chứng thực\""));
    expect_int(&o, 1, "Số phiếu đã lấy", 1);
    expect_int(&o, 1, "Chưa xong", 1);
    qms_report_out_free(&o);
    qms_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_service),    cmocka_unit_test(test_by_counter),
        cmocka_unit_test(test_by_hour),       cmocka_unit_test(test_by_day_range),
        cmocka_unit_test(test_no_data),       cmocka_unit_test(test_formats),
        cmocka_unit_test(test_while_writing), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_quoting),
    };
    return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
