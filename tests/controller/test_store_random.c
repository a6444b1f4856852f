/* Long random sequences of operations through the engine and the store,
 * checking invariants as they go: refusals change nothing; numbers are
 * unique; each ticket is in exactly one state and the counters agree; after
 * every commit the store equals the engine; a clean restart continues
 * exactly; a crash loses only what was not committed; and when the days are
 * closed out, every ticket ever taken ends in exactly one final state. */
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

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: reproducible from the seed printed on failure */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* The engine's state at the last commit: what a crash must come back to. */
typedef struct snapshot {
    qms_ticket *t;
    int n;
    qms_counter_state c[8];
    int32_t day;
    int64_t next_id;
} snapshot;

static void snap_take(snapshot *s, qms_engine *e)
{
    s->n = qms_engine_ticket_count(e);
    s->t = realloc(s->t, (size_t)(s->n + 1) * sizeof *s->t);
    for (int i = 0; i < s->n; i++)
        s->t[i] = *qms_engine_ticket_at(e, i);
    for (int ci = 0; ci < qms_engine_config(e)->ncounters; ci++)
        s->c[ci] = *qms_engine_counter(e, ci);
    s->day = qms_engine_day(e);
    s->next_id = qms_engine_next_id(e);
}

static void snap_check(const snapshot *s, qms_engine *e)
{
    assert_int_equal(qms_engine_day(e), s->day);
    assert_int_equal(qms_engine_next_id(e), s->next_id);
    assert_int_equal(qms_engine_ticket_count(e), s->n);
    for (int i = 0; i < s->n; i++) {
        const qms_ticket *a = &s->t[i], *b = qms_engine_ticket_at(e, i);
        assert_int_equal(a->id, b->id);
        assert_string_equal(a->label, b->label);
        assert_int_equal(a->state, b->state);
        assert_int_equal(a->service, b->service);
        assert_int_equal(a->counter, b->counter);
        assert_int_equal(a->target_counter, b->target_counter);
        assert_int_equal(a->called_ms, b->called_ms);
        assert_int_equal(a->end_ms, b->end_ms);
        assert_int_equal(a->ncalls, b->ncalls);
        assert_int_equal(a->rating, b->rating);
        assert_int_equal(a->transfers, b->transfers);
        assert_int_equal(a->eta_s, b->eta_s);
    }
    for (int ci = 0; ci < qms_engine_config(e)->ncounters; ci++) {
        const qms_counter_state *a = &s->c[ci], *b = qms_engine_counter(e, ci);
        assert_int_equal(a->state, b->state);
        assert_int_equal(a->current, b->current);
        assert_int_equal(a->last_done, b->last_done);
        assert_int_equal(a->normal_streak, b->normal_streak);
        assert_string_equal(a->staff, b->staff);
    }
}

/* Each ticket in exactly one state, consistent with the counters. */
static void check_engine(qms_engine *e)
{
    const qms_config *c = qms_engine_config(e);
    int n = qms_engine_ticket_count(e);
    int64_t prev = 0;
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(e, i);
        assert_true(t->id > prev);
        prev = t->id;
        assert_int_equal(t->day, qms_engine_day(e));
        assert_true(t->state >= QMS_T_WAITING && t->state <= QMS_T_CANCELLED);
        for (int j = 0; j < i; j++) {
            const qms_ticket *u = qms_engine_ticket_at(e, j);
            if (u->orig_service == t->orig_service && u->number == t->number)
                fail_msg("%s and %s share a number", t->label, u->label);
        }
        int holders = 0;
        for (int ci = 0; ci < c->ncounters; ci++)
            holders += qms_engine_counter(e, ci)->current == t->id;
        if (t->state == QMS_T_CALLED || t->state == QMS_T_SERVING) {
            assert_int_equal(holders, 1);
            assert_int_equal(qms_engine_counter(e, t->counter)->current, t->id);
            assert_int_equal(t->end_ms, 0);
        } else {
            assert_int_equal(holders, 0);
        }
        if (t->state == QMS_T_WAITING)
            assert_int_equal(t->end_ms, 0);
        if (t->state >= QMS_T_DONE)
            assert_true(t->end_ms > 0);
        if (t->state == QMS_T_SERVING || t->state == QMS_T_DONE)
            assert_true(t->start_ms > 0);
    }
    for (int ci = 0; ci < c->ncounters; ci++) {
        int64_t ids[256];
        int k = qms_engine_waiting_for_counter(e, ci, ids, 256);
        for (int i = 0; i < k && i < 256; i++)
            assert_int_equal(qms_engine_ticket(e, ids[i])->state, QMS_T_WAITING);
    }
}

static int pick_counter(const qms_config *c)
{
    return (int)rnd((uint32_t)c->ncounters);
}

/* One random operation. Returns its result. */
static int random_op(sfix *f)
{
    qms_engine *e = f->e;
    const qms_config *c = f->cfg;
    const qms_ticket *t = NULL;
    int n = qms_engine_ticket_count(e);
    uint32_t r = rnd(100);
    if (r < 30) {
        qms_take_result tr;
        const char *appt = rnd(10) == 0 ? "HEN-2026-0042" : NULL;
        return qms_engine_take(e, (int)rnd((uint32_t)c->nservices + 1) - (rnd(20) == 0),
                               (int)rnd(3), appt, &tr);
    }
    if (r < 50)
        return qms_engine_next(e, pick_counter(c), &t);
    if (r < 54)
        return qms_engine_recall(e, pick_counter(c), &t);
    if (r < 58) {
        char label[16] = "Z999";
        if (n && rnd(5))
            snprintf(label, sizeof label, "%s",
                     qms_engine_ticket_at(e, (int)rnd((uint32_t)n))->label);
        return qms_engine_call(e, pick_counter(c), label, &t);
    }
    if (r < 66)
        return qms_engine_start(e, pick_counter(c));
    if (r < 74)
        return qms_engine_done(e, pick_counter(c), &t);
    if (r < 79)
        return qms_engine_skip(e, pick_counter(c), &t);
    if (r < 83)
        return qms_engine_transfer(e, pick_counter(c), (int)rnd((uint32_t)c->nservices + 1) - 1,
                                   (int)rnd((uint32_t)c->ncounters + 1) - 1, &t);
    if (r < 87)
        return qms_engine_rate(e, pick_counter(c), (int)rnd(6), &t);
    if (r < 90)
        return qms_engine_cancel(e, n ? qms_engine_ticket_at(e, (int)rnd((uint32_t)n))->id : 77);
    if (r < 93)
        return qms_engine_pause(e, pick_counter(c));
    if (r < 97)
        return qms_engine_resume(e, pick_counter(c));
    if (r < 99)
        return qms_engine_close(e, pick_counter(c));
    static const char *const names[] = {"Hà", "Minh", "Nguyễn Văn An", ""};
    return qms_engine_set_staff(e, pick_counter(c), names[rnd(4)]);
}

/* Move the clock on; past closing, to the next morning (the engine rolls
 * the day over at its next operation or tick). */
static void advance(sfix *f)
{
    int64_t now = f->clk.now + (int64_t)rnd(240) * 1000 + rnd(1000);
    int32_t sec = qms_local_sec(now, 420);
    if (sec > 17 * 3600 || rnd(400) == 0) {
        int32_t day = qms_local_day(now, 420);
        now = qms_local_to_epoch_ms(day + 1, 7 * 3600 + 30 * 60 + (int32_t)rnd(600), 420);
    }
    qms_vclock_set(&f->clk, now);
}

static void reload(sfix *f)
{
    qms_store_close(f->s);
    qms_engine_free(f->e);
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    assert_int_equal(qms_store_open(f->path, &f->s), QMS_OK);
    assert_int_equal(qms_store_load(f->s, f->e), QMS_OK);
}

static void run_seed(uint64_t seed, const char *prio, const char *order, int ops)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    sfix *f = sfix_new(prio, order);
    qms_vclock_set(&f->clk, sfix_at(f, 7, 30, 0));
    qms_engine_tick(f->e);
    snapshot snap = {0};
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_OK);
    snap_take(&snap, f->e);
    int refused = 0, done = 0, restarts = 0, crashes = 0;
    for (int i = 0; i < ops; i++) {
        if (rnd(3) == 0)
            advance(f);
        int before = qms_engine_journal_len(f->e), nt = qms_engine_ticket_count(f->e);
        int32_t day = qms_engine_day(f->e);
        int rc = random_op(f);
        if (rc != QMS_OK && qms_engine_day(f->e) == day) {
            /* a refusal changes nothing (a rollover by the clock is not the refusal's doing) */
            assert_int_equal(qms_engine_journal_len(f->e), before);
            assert_int_equal(qms_engine_ticket_count(f->e), nt);
            refused++;
        } else if (rc == QMS_OK) {
            done++;
        }
        uint32_t r = rnd(100);
        if (r < 30) {
            /* a group commit; then the store equals the engine */
            assert_int_equal(qms_store_commit(f->s, f->e), QMS_OK);
            check_engine(f->e);
            assert_store_matches(qms_store_db(f->s), f->e);
            snap_take(&snap, f->e);
        } else if (r == 30) {
            /* a clean restart continues exactly */
            assert_int_equal(qms_store_commit(f->s, f->e), QMS_OK);
            qms_engine *old = f->e;
            f->e = NULL;
            qms_store_close(f->s);
            assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
            assert_int_equal(qms_store_open(f->path, &f->s), QMS_OK);
            assert_int_equal(qms_store_load(f->s, f->e), QMS_OK);
            qms_engine_tick(old); /* the reloaded one may have started a new day */
            qms_engine_journal_clear(old);
            if (qms_engine_day(old) == qms_engine_day(f->e))
                assert_engines_equal(old, f->e);
            qms_engine_free(old);
            snap_take(&snap, f->e);
            restarts++;
        } else if (r == 31) {
            /* a crash: what was not committed is lost, nothing else */
            int32_t day_now = qms_local_day(f->clk.now, 420);
            reload(f);
            if (snap.day == day_now)
                snap_check(&snap, f->e);
            else
                assert_int_equal(qms_engine_ticket_count(f->e), 0); /* a new day began */
            snap_take(&snap, f->e);
            crashes++;
        }
    }
    /* close out: the next day starts; every day before it is over */
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_OK);
    qms_vclock_set(&f->clk, f->clk.now + 86400 * 1000LL);
    qms_engine_tick(f->e);
    assert_int_equal(qms_store_commit(f->s, f->e), QMS_OK);
    sqlite3 *db = qms_store_db(f->s);
    char today[11];
    qms_day_str(qms_engine_day(f->e), today);
    char q[512];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM tickets WHERE day < '%s' AND state NOT IN"
             " ('done','noshow','cancelled')",
             today);
    assert_int_equal(sql_int(db, q), 0);
    int64_t total = sql_int(db, "SELECT count(*) FROM tickets");
    assert_true(total > 50);
    /* one take each; the last state-changing event matches the final state */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM"
                                 " events WHERE ticket_id = t.id AND kind = 'take') != 1"),
                     0);
    assert_int_equal(
        sql_int(db, "SELECT count(*) FROM tickets t WHERE (SELECT kind FROM events WHERE"
                    " ticket_id = t.id AND kind IN ('take','call','recall','start','done','skip',"
                    "'transfer','cancel') ORDER BY seq DESC LIMIT 1) != CASE t.state WHEN 'done'"
                    " THEN 'done' WHEN 'noshow' THEN 'skip' WHEN 'cancelled' THEN 'cancel' END"),
        0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM (SELECT 1 FROM tickets GROUP BY day,"
                                 " orig_service, number HAVING count(*) > 1)"),
                     0);
    assert_int_equal(sql_int(db, "SELECT count(DISTINCT id) FROM tickets"), total);
    /* a ticket's history, replayed, ends where its row says */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM"
                                 " events WHERE ticket_id = t.id AND kind = 'transfer') !="
                                 " t.transfers"),
                     0);
    print_message("seed %llu %s/%s: %d ops done, %d refused, %lld tickets, %d restarts, "
                  "%d crashes\n",
                  (unsigned long long)seed, prio, order, done, refused, (long long)total, restarts,
                  crashes);
    assert_true(done > ops / 5 && refused > ops / 10);
    free(snap.t);
    sfix_free(f);
}

static void test_random_strict_oldest(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_seed(seed, "strict", "oldest", 2500);
}

static void test_random_interleave_counter(void **state)
{
    (void)state;
    for (uint64_t seed = 11; seed <= 13; seed++)
        run_seed(seed, "interleave", "counter", 2500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_strict_oldest),
        cmocka_unit_test(test_random_interleave_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
