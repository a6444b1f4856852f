#include "store_fixture.h"

#include "qms/err.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_A                                                                                      \
    "{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"Ả\",\"name_en\":\"A\",\"mean_service_s\":300}"
#define SVC_B                                                                                      \
    "{\"code\":\"B\",\"prefix\":\"B\",\"name_vi\":\"Bê\",\"name_en\":\"B\",\"mean_service_s\":"   \
    "600}"
#define SVC_C                                                                                      \
    "{\"code\":\"C\",\"prefix\":\"C\",\"digits\":1,\"name_vi\":\"Xê\",\"name_en\":\"C\","         \
    "\"mean_service_s\":200}"
#define CTR_1 "{\"id\":1,\"services\":[\"A\",\"B\"]}"
#define CTR_2 "{\"id\":2,\"services\":[\"B\",\"A\"]}"
#define CTR_3 "{\"id\":3,\"services\":[\"C\",\"A\"]}"
#define CTR_4 "{\"id\":4,\"services\":[\"C\"]}"

qms_config *sfix_config(const char *prio, const char *order, int reversed)
{
    char json[4096], err[256];
    snprintf(json, sizeof json,
             "{\"site\":\"t\",\"name_vi\":\"Trung tâm\",\"utc_offset_min\":420,"
             "\"hours\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"
             "\"noshow_window_s\":600,\"rating_levels\":4,"
             "\"policy\":{\"priority\":\"%s\",\"interleave_k\":2,\"order\":\"%s\"},"
             "\"services\":[%s,%s,%s],\"counters\":[%s,%s,%s,%s]}",
             prio, order, reversed ? SVC_C : SVC_A, SVC_B, reversed ? SVC_A : SVC_C,
             reversed ? CTR_4 : CTR_1, reversed ? CTR_3 : CTR_2, reversed ? CTR_2 : CTR_3,
             reversed ? CTR_1 : CTR_4);
    qms_config *c = NULL;
    int rc = qms_config_parse_json(json, strlen(json), &c, err, sizeof err);
    if (rc != QMS_OK)
        fail_msg("config: %s", err);
    return c;
}

int64_t sfix_at(const sfix *f, int h, int m, int s)
{
    return qms_local_to_epoch_ms(f->day, h * 3600 + m * 60 + s, 420);
}

void sfix_advance(sfix *f, int seconds)
{
    qms_vclock_set(&f->clk, f->clk.now + (int64_t)seconds * 1000);
}

static void open_both(sfix *f)
{
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &f->s), QMS_OK);
    assert_int_equal(qms_store_load(f->s, f->e), QMS_OK);
}

sfix *sfix_new(const char *prio, const char *order)
{
    sfix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(qms_test_tmpdir(f->dir, sizeof f->dir, "store"), 0);
    snprintf(f->path, sizeof f->path, "%s/qms.db", f->dir);
    f->cfg = sfix_config(prio, order, 0);
    qms_day_parse("2026-11-26", &f->day);
    qms_vclock_init(&f->clk, sfix_at(f, 8, 0, 0));
    open_both(f);
    return f;
}

void sfix_close(sfix *f)
{
    qms_store_close(f->s);
    qms_engine_free(f->e);
    f->s = NULL;
    f->e = NULL;
}

void sfix_reopen(sfix *f)
{
    sfix_close(f);
    open_both(f);
}

void sfix_free(sfix *f)
{
    sfix_close(f);
    qms_config_free(f->cfg);
    qms_test_rmdir(f->dir);
    free(f);
}

int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("%s: no row (%s)", sql, sqlite3_errmsg(db));
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

const char *sql_text(sqlite3 *db, const char *sql)
{
    static char buf[4096];
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("%s: no row (%s)", sql, sqlite3_errmsg(db));
    const char *v = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    sqlite3_finalize(st);
    return buf;
}

static void assert_tickets_equal(const qms_ticket *x, const qms_ticket *y)
{
    assert_int_equal(x->id, y->id);
    assert_int_equal(x->day, y->day);
    assert_int_equal(x->orig_service, y->orig_service);
    assert_int_equal(x->service, y->service);
    assert_int_equal(x->number, y->number);
    assert_string_equal(x->label, y->label);
    assert_int_equal(x->priority, y->priority);
    assert_string_equal(x->appt, y->appt);
    assert_int_equal(x->state, y->state);
    assert_int_equal(x->counter, y->counter);
    assert_int_equal(x->target_counter, y->target_counter);
    assert_int_equal(x->taken_ms, y->taken_ms);
    assert_int_equal(x->first_called_ms, y->first_called_ms);
    assert_int_equal(x->called_ms, y->called_ms);
    assert_int_equal(x->start_ms, y->start_ms);
    assert_int_equal(x->end_ms, y->end_ms);
    assert_int_equal(x->ncalls, y->ncalls);
    assert_int_equal(x->eta_s, y->eta_s);
    assert_int_equal(x->eta_now_s, y->eta_now_s);
    assert_int_equal(x->rating, y->rating);
    assert_int_equal(x->transfers, y->transfers);
    assert_string_equal(x->priority_kind, y->priority_kind);
    assert_string_equal(x->staff, y->staff);
}

void assert_engines_equal(qms_engine *a, qms_engine *b)
{
    const qms_config *c = qms_engine_config(a);
    assert_int_equal(qms_engine_day(a), qms_engine_day(b));
    assert_int_equal(qms_engine_next_id(a), qms_engine_next_id(b));
    /* the forecast of both from the same moment: the estimator's state too */
    qms_engine_refresh_etas(a);
    qms_engine_refresh_etas(b);
    int n = qms_engine_ticket_count(a);
    assert_int_equal(n, qms_engine_ticket_count(b));
    for (int i = 0; i < n; i++)
        assert_tickets_equal(qms_engine_ticket_at(a, i), qms_engine_ticket_at(b, i));
    for (int ci = 0; ci < c->ncounters; ci++) {
        const qms_counter_state *x = qms_engine_counter(a, ci), *y = qms_engine_counter(b, ci);
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->current, y->current);
        assert_int_equal(x->last_done, y->last_done);
        assert_int_equal(x->normal_streak, y->normal_streak);
        assert_int_equal(x->since_ms, y->since_ms);
        assert_int_equal(x->acted_ms, y->acted_ms);
        assert_string_equal(x->staff, y->staff);
        int64_t wa[512], wb[512];
        int na = qms_engine_waiting_for_counter(a, ci, wa, 512);
        int nb = qms_engine_waiting_for_counter(b, ci, wb, 512);
        assert_int_equal(na, nb);
        for (int k = 0; k < na && k < 512; k++)
            assert_int_equal(wa[k], wb[k]);
    }
    for (int si = 0; si < c->nservices; si++) {
        qms_service_stats x, y;
        assert_int_equal(qms_engine_service_stats(a, si, &x), QMS_OK);
        assert_int_equal(qms_engine_service_stats(b, si, &y), QMS_OK);
        assert_memory_equal(&x, &y, sizeof x);
    }
}

static int64_t col_or0(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static int col_counter(const qms_config *c, sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1
               : qms_config_counter_index(c, sqlite3_column_int(st, i));
}

void assert_store_matches(sqlite3 *db, qms_engine *e)
{
    const qms_config *c = qms_engine_config(e);
    char day[11];
    qms_day_str(qms_engine_day(e), day);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT id, orig_service, service, number, label, priority,"
                           " coalesce(appt,''), state, counter_id, target_counter_id, taken_ms,"
                           " first_called_ms, called_ms, start_ms, end_ms, ncalls, eta_s, rating,"
                           " transfers, coalesce(priority_kind,''), coalesce(staff,'')"
                           " FROM tickets WHERE day = ?1 ORDER BY id",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
    int i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const qms_ticket *t = qms_engine_ticket_at(e, i++);
        assert_non_null(t);
        assert_int_equal(sqlite3_column_int64(st, 0), t->id);
        assert_string_equal(sqlite3_column_text(st, 1), c->services[t->orig_service].code);
        assert_string_equal(sqlite3_column_text(st, 2), c->services[t->service].code);
        assert_int_equal(sqlite3_column_int(st, 3), t->number);
        assert_string_equal(sqlite3_column_text(st, 4), t->label);
        assert_int_equal(sqlite3_column_int(st, 5), t->priority);
        assert_string_equal(sqlite3_column_text(st, 6), t->appt);
        assert_string_equal(sqlite3_column_text(st, 7), qms_tstate_name(t->state));
        assert_int_equal(col_counter(c, st, 8), t->counter);
        assert_int_equal(col_counter(c, st, 9), t->target_counter);
        assert_int_equal(sqlite3_column_int64(st, 10), t->taken_ms);
        assert_int_equal(col_or0(st, 11), t->first_called_ms);
        assert_int_equal(col_or0(st, 12), t->called_ms);
        assert_int_equal(col_or0(st, 13), t->start_ms);
        assert_int_equal(col_or0(st, 14), t->end_ms);
        assert_int_equal(sqlite3_column_int(st, 15), t->ncalls);
        assert_int_equal(sqlite3_column_int(st, 16), t->eta_s);
        assert_int_equal(col_or0(st, 17), t->rating);
        assert_int_equal(sqlite3_column_int(st, 18), t->transfers);
        assert_string_equal(sqlite3_column_text(st, 19), t->priority_kind);
        assert_string_equal(sqlite3_column_text(st, 20), t->staff);
    }
    sqlite3_finalize(st);
    assert_int_equal(i, qms_engine_ticket_count(e));
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT state, coalesce(current_ticket,0), coalesce(last_done,0),"
                           " normal_streak, since_ms, staff, day, acted_ms FROM counters"
                           " WHERE counter_id = ?1",
                           -1, &st, NULL),
        SQLITE_OK);
    for (int ci = 0; ci < c->ncounters; ci++) {
        const qms_counter_state *cs = qms_engine_counter(e, ci);
        sqlite3_bind_int(st, 1, c->counters[ci].id);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal(sqlite3_column_text(st, 0), qms_cstate_name(cs->state));
        assert_int_equal(sqlite3_column_int64(st, 1), cs->current);
        assert_int_equal(sqlite3_column_int64(st, 2), cs->last_done);
        assert_int_equal(sqlite3_column_int(st, 3), cs->normal_streak);
        assert_int_equal(sqlite3_column_int64(st, 4), cs->since_ms);
        assert_string_equal(sqlite3_column_text(st, 5), cs->staff);
        assert_string_equal(sqlite3_column_text(st, 6), day);
        assert_int_equal(sqlite3_column_int64(st, 7), cs->acted_ms);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}
