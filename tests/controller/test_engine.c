/* Unit tests of the queue engine: every operation, policy and refusal. */
#include "engine.h"
#include "qms/alloc.h"
#include "qms/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Services: A (prefix A), B (prefix B, cap 2), R (range 1001..1003, hours 08:00-09:00).
 * Counters: 1 serves A,B; 2 serves B,A; 3 serves R. */
#define CFG                                                                                        \
    "{\"site\":\"t\",\"name_vi\":\"Trung tâm\",\"utc_offset_min\":420,"                           \
    "\"hours\":[[\"07:30\",\"11:30\"],[\"13:30\",\"17:00\"]],"                                     \
    "\"noshow_window_s\":600,\"rating_levels\":4,"                                                 \
    "\"policy\":{\"priority\":\"%s\",\"interleave_k\":2,\"order\":\"%s\"},"                        \
    "\"services\":["                                                                               \
    "{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"Ả\",\"mean_service_s\":300},"                \
    "{\"code\":\"B\",\"prefix\":\"B\",\"name_vi\":\"Bê\",\"daily_cap\":2,"                        \
    "\"mean_service_s\":600},"                                                                     \
    "{\"code\":\"R\",\"range\":[1001,1003],\"name_vi\":\"Rờ\","                                  \
    "\"hours\":[[\"08:00\",\"09:00\"]]}],"                                                         \
    "\"counters\":[{\"id\":1,\"services\":[\"A\",\"B\"]},"                                         \
    "{\"id\":2,\"services\":[\"B\",\"A\"]},{\"id\":3,\"services\":[\"R\"]}]}"

typedef struct fixture {
    qms_config *cfg;
    qms_vclock clk;
    qms_engine *e;
    int32_t day;
} fixture;

static int64_t at(const fixture *f, int h, int m, int s)
{
    return qms_local_to_epoch_ms(f->day, h * 3600 + m * 60 + s, 420);
}

static fixture *make(const char *prio, const char *order)
{
    fixture *f = calloc(1, sizeof *f);
    char json[4096], err[256];
    snprintf(json, sizeof json, CFG, prio, order);
    assert_int_equal(qms_config_parse_json(json, strlen(json), &f->cfg, err, sizeof err), QMS_OK);
    qms_day_parse("2026-11-26", &f->day);
    qms_vclock_init(&f->clk, at(f, 8, 0, 0));
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &f->e), QMS_OK);
    return f;
}

static void destroy(fixture *f)
{
    qms_engine_free(f->e);
    qms_config_free(f->cfg);
    free(f);
}

static int setup_default(void **state)
{
    *state = make("strict", "oldest");
    return 0;
}

static int setup_counter_order(void **state)
{
    *state = make("strict", "counter");
    return 0;
}

static int teardown(void **state)
{
    destroy(*state);
    return 0;
}

static void advance(fixture *f, int seconds)
{
    qms_vclock_set(&f->clk, f->clk.now + (int64_t)seconds * 1000);
}

static const qms_ticket *take(fixture *f, const char *code, int prio)
{
    qms_take_result r;
    int si = qms_config_service_index(f->cfg, code);
    assert_int_equal(qms_engine_take(f->e, si, prio, NULL, &r), QMS_OK);
    return r.ticket;
}

static int64_t take_id(fixture *f, const char *code, int prio)
{
    return take(f, code, prio)->id;
}

static const char *next_label(fixture *f, int counter_id)
{
    static char buf[16];
    const qms_ticket *t;
    int rc = qms_engine_next(f->e, qms_config_counter_index(f->cfg, counter_id), &t);
    if (rc)
        return qms_err_code(rc);
    snprintf(buf, sizeof buf, "%s", t->label);
    return buf;
}

static void test_take_numbers_labels(void **state)
{
    fixture *f = *state;
    qms_take_result r;
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_OK);
    assert_string_equal(r.ticket->label, "A001");
    assert_int_equal(r.ticket->number, 1);
    assert_int_equal(r.ticket->state, QMS_T_WAITING);
    assert_int_equal(r.ahead, 0);
    assert_int_equal(r.eta_s, 0); /* two open counters serve A and they are idle */
    assert_string_equal(take(f, "A", 0)->label, "A002");
    assert_string_equal(take(f, "R", 0)->label, "1001");
    assert_string_equal(take(f, "R", 0)->label, "1002");
    assert_int_equal(qms_engine_ticket_count(f->e), 4);
    /* journal: one take event per ticket, carrying the row */
    assert_int_equal(qms_engine_journal_len(f->e), 4);
    const qms_event *ev = qms_engine_journal_at(f->e, 2);
    assert_int_equal(ev->kind, QMS_EV_TAKE);
    assert_string_equal(ev->snap.label, "1001");
    assert_int_equal(ev->at_ms, f->clk.now);
}

static void test_take_refusals(void **state)
{
    fixture *f = *state;
    qms_take_result r;
    assert_int_equal(qms_engine_take(f->e, 99, 0, NULL, &r), QMS_ERR_UNKNOWN_SERVICE);
    assert_int_equal(qms_engine_take(f->e, -1, 0, NULL, &r), QMS_ERR_UNKNOWN_SERVICE);
    assert_int_equal(qms_engine_take(f->e, 0, 7, NULL, &r), QMS_ERR_INVAL);
    char big[100];
    memset(big, 'x', sizeof big - 1);
    big[99] = 0;
    assert_int_equal(qms_engine_take(f->e, 0, 0, big, &r), QMS_ERR_TOO_LARGE);
    /* cap: B has daily_cap 2 */
    take(f, "B", 0);
    take(f, "B", 0);
    assert_int_equal(qms_engine_take(f->e, 1, 0, NULL, &r), QMS_ERR_CAP_REACHED);
    /* range of R holds 3 numbers */
    take(f, "R", 0);
    take(f, "R", 0);
    take(f, "R", 0);
    assert_int_equal(qms_engine_take(f->e, 2, 0, NULL, &r), QMS_ERR_CAP_REACHED);
    /* hours: R issues 08:00-09:00 only; the center closes 11:30-13:30 */
    qms_vclock_set(&f->clk, at(f, 9, 0, 0));
    assert_int_equal(qms_engine_take(f->e, 2, 0, NULL, &r), QMS_ERR_OUTSIDE_HOURS);
    qms_vclock_set(&f->clk, at(f, 12, 0, 0));
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_ERR_OUTSIDE_HOURS);
    qms_vclock_set(&f->clk, at(f, 7, 29, 59));
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_ERR_OUTSIDE_HOURS);
    /* refusals changed nothing */
    assert_int_equal(qms_engine_ticket_count(f->e), 5);
    assert_int_equal(qms_engine_journal_len(f->e), 5);
}

static void test_next_oldest_first_strict_priority(void **state)
{
    fixture *f = *state;
    take(f, "B", 0); /* B001 */
    advance(f, 10);
    take(f, "A", 0); /* A001 */
    advance(f, 10);
    take(f, "A", 1); /* A002 priority */
    advance(f, 10);
    take(f, "A", 2); /* A003 appointment */
    /* strict: appointment, then priority, then oldest among the counter's services */
    assert_string_equal(next_label(f, 1), "A003");
    assert_string_equal(next_label(f, 1), "A002");
    assert_string_equal(next_label(f, 1), "B001");
    assert_string_equal(next_label(f, 1), "A001");
    assert_string_equal(next_label(f, 1), "nothing_to_call");
    /* counter 3 serves only R */
    take(f, "A", 0);
    assert_string_equal(next_label(f, 3), "nothing_to_call");
    assert_string_equal(next_label(f, 99), "unknown_counter");
}

static void test_next_counter_order(void **state)
{
    fixture *f = make("strict", "counter");
    take(f, "A", 0); /* A001 oldest */
    advance(f, 5);
    take(f, "B", 0); /* B001 */
    /* counter 2's own order is B before A */
    assert_string_equal(next_label(f, 2), "B001");
    assert_string_equal(next_label(f, 2), "A001");
    take(f, "B", 0); /* B002 */
    advance(f, 5);
    take(f, "A", 0); /* A002 */
    assert_string_equal(next_label(f, 1), "A002");
    destroy(f);
}

static void test_next_interleave(void **state)
{
    fixture *f = make("interleave", "oldest");
    /* k = 2: after two normal tickets, one priority */
    take(f, "A", 0); /* A001 */
    take(f, "A", 0); /* A002 */
    take(f, "A", 0); /* A003 */
    take(f, "A", 1); /* A004 prio */
    take(f, "A", 1); /* A005 prio */
    assert_string_equal(next_label(f, 1), "A001");
    assert_string_equal(next_label(f, 1), "A002");
    assert_string_equal(next_label(f, 1), "A004");
    assert_string_equal(next_label(f, 1), "A003");
    /* no normal ticket left: the priority one is called even before k */
    assert_string_equal(next_label(f, 1), "A005");
    /* the streak is per counter */
    take(f, "A", 0); /* A006 */
    take(f, "A", 1); /* A007 */
    assert_string_equal(next_label(f, 2), "A006");
    assert_string_equal(next_label(f, 2), "A007");
    destroy(f);
}

static void test_next_finishes_current(void **state)
{
    fixture *f = *state;
    int64_t a = take_id(f, "A", 0);
    int64_t b = take_id(f, "A", 0);
    assert_string_equal(next_label(f, 1), "A001");
    advance(f, 100);
    assert_string_equal(next_label(f, 1), "A002");
    const qms_ticket *t = qms_engine_ticket(f->e, a);
    assert_int_equal(t->state, QMS_T_DONE);
    assert_int_equal(t->start_ms, t->called_ms); /* counted as started when called */
    assert_int_equal(t->end_ms, f->clk.now);
    assert_int_equal(qms_engine_counter(f->e, 0)->current, b);
    assert_int_equal(qms_engine_counter(f->e, 0)->last_done, a);
    /* nothing to call: the current ticket is NOT finished by a refused next */
    assert_string_equal(next_label(f, 1), "nothing_to_call");
    assert_int_equal(qms_engine_ticket(f->e, b)->state, QMS_T_CALLED);
}

static void test_recall_start_done_skip(void **state)
{
    fixture *f = *state;
    int64_t a = take_id(f, "A", 0);
    const qms_ticket *t;
    assert_int_equal(qms_engine_recall(f->e, 0, &t), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_start(f->e, 0), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_done(f->e, 0, &t), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_skip(f->e, 0, &t), QMS_ERR_BAD_STATE);
    next_label(f, 1);
    advance(f, 30);
    assert_int_equal(qms_engine_recall(f->e, 0, &t), QMS_OK);
    assert_int_equal(t->ncalls, 2);
    assert_int_equal(t->called_ms, f->clk.now);
    assert_int_equal(qms_engine_start(f->e, 0), QMS_OK);
    assert_int_equal(qms_engine_ticket(f->e, a)->state, QMS_T_SERVING);
    assert_int_equal(qms_engine_recall(f->e, 0, &t), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_skip(f->e, 0, &t), QMS_ERR_BAD_STATE);
    advance(f, 200);
    assert_int_equal(qms_engine_done(f->e, 0, &t), QMS_OK);
    assert_int_equal(t->state, QMS_T_DONE);
    assert_int_equal(t->end_ms - t->start_ms, 200000);
    assert_int_equal(qms_engine_counter(f->e, 0)->current, 0);
}

static void test_skip_and_recall_window(void **state)
{
    fixture *f = *state;
    int64_t a = take_id(f, "A", 0);
    take(f, "A", 0);
    next_label(f, 1);
    const qms_ticket *t;
    assert_int_equal(qms_engine_skip(f->e, 0, &t), QMS_OK);
    assert_int_equal(t->state, QMS_T_NOSHOW);
    assert_int_equal(qms_engine_counter(f->e, 0)->current, 0);
    /* recallable within 600 s, at any counter */
    advance(f, 300);
    /* the number as a clerk types it, without the leading zeros */
    assert_null(qms_engine_find_label(f->e, "A01x"));
    assert_null(qms_engine_find_label(f->e, "B1"));
    assert_null(qms_engine_find_label(f->e, "1"));
    assert_ptr_equal(qms_engine_find_label(f->e, "A0001"), qms_engine_ticket(f->e, a));
    assert_int_equal(qms_engine_call(f->e, 1, "A1", &t), QMS_OK);
    assert_int_equal(t->id, a);
    assert_int_equal(t->state, QMS_T_CALLED);
    assert_int_equal(t->counter, 1);
    assert_int_equal(qms_engine_skip(f->e, 1, &t), QMS_OK);
    advance(f, 601);
    assert_int_equal(qms_engine_call(f->e, 1, "A001", &t), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_call(f->e, 1, "Z999", &t), QMS_ERR_UNKNOWN_TICKET);
    assert_int_equal(qms_engine_call(f->e, 1, "", &t), QMS_ERR_INVAL);
    /* call a waiting one out of turn */
    assert_int_equal(qms_engine_call(f->e, 0, "A002", &t), QMS_OK);
    assert_int_equal(t->state, QMS_T_CALLED);
    /* calling a done ticket is refused */
    assert_int_equal(qms_engine_done(f->e, 0, &t), QMS_OK);
    assert_int_equal(qms_engine_call(f->e, 0, "A002", &t), QMS_ERR_BAD_STATE);
}

static void test_transfer_keeps_place(void **state)
{
    fixture *f = *state;
    int64_t a = take_id(f, "A", 0); /* 08:00:00 */
    advance(f, 60);
    take(f, "B", 0); /* B001 08:01 */
    advance(f, 60);
    assert_string_equal(next_label(f, 1), "A001");
    const qms_ticket *t;
    /* send A001 on to service B: it is older than B001, so it comes first */
    assert_int_equal(qms_engine_transfer(f->e, 0, 1, -1, &t), QMS_OK);
    assert_int_equal(t->id, a);
    assert_int_equal(t->state, QMS_T_WAITING);
    assert_int_equal(t->service, 1);
    assert_int_equal(t->orig_service, 0);
    assert_string_equal(t->label, "A001");
    assert_int_equal(t->transfers, 1);
    assert_int_equal(qms_engine_counter(f->e, 0)->current, 0);
    assert_string_equal(next_label(f, 2), "A001");
    /* to a given counter: only that counter calls it */
    assert_int_equal(qms_engine_transfer(f->e, 1, -1, 2, &t), QMS_OK);
    assert_string_equal(next_label(f, 1), "B001");
    assert_string_equal(next_label(f, 2), "nothing_to_call");
    assert_int_equal(qms_engine_counter(f->e, 1)->current, 0);
    assert_string_equal(next_label(f, 3), "A001");
    const qms_event *ev = qms_engine_journal_at(f->e, qms_engine_journal_len(f->e) - 1);
    assert_int_equal(ev->kind, QMS_EV_CALL);
    /* refusals */
    assert_int_equal(qms_engine_transfer(f->e, 2, -1, -1, &t), QMS_ERR_INVAL);
    assert_int_equal(qms_engine_transfer(f->e, 2, 42, -1, &t), QMS_ERR_UNKNOWN_SERVICE);
    assert_int_equal(qms_engine_transfer(f->e, 2, -1, 42, &t), QMS_ERR_UNKNOWN_COUNTER);
    assert_int_equal(qms_engine_transfer(f->e, 1, 1, -1, &t), QMS_ERR_BAD_STATE);
}

static void test_rate(void **state)
{
    fixture *f = *state;
    const qms_ticket *t;
    assert_int_equal(qms_engine_rate(f->e, 0, 4, &t), QMS_ERR_BAD_STATE);
    int64_t a = take_id(f, "A", 0);
    next_label(f, 1);
    assert_int_equal(qms_engine_done(f->e, 0, &t), QMS_OK);
    assert_int_equal(qms_engine_rate(f->e, 0, 0, &t), QMS_ERR_INVAL);
    assert_int_equal(qms_engine_rate(f->e, 0, 5, &t), QMS_ERR_INVAL);
    assert_int_equal(qms_engine_rate(f->e, 0, 4, &t), QMS_OK);
    assert_int_equal(t->id, a);
    assert_int_equal(qms_engine_ticket(f->e, a)->rating, 4);
    /* a second press replaces the first */
    assert_int_equal(qms_engine_rate(f->e, 0, 3, &t), QMS_OK);
    assert_int_equal(qms_engine_ticket(f->e, a)->rating, 3);
    const qms_event *ev = qms_engine_journal_at(f->e, qms_engine_journal_len(f->e) - 1);
    assert_int_equal(ev->kind, QMS_EV_RATE);
    assert_int_equal(ev->arg, 3);
}

/* A rating that names its ticket rates that citizen even after the next
 * call (the rating keys are slower than the clerk), within the time limit. */
static void test_rate_ticket(void **state)
{
    fixture *f = *state;
    const qms_ticket *t;
    int64_t a = take_id(f, "A", 0);
    int64_t b = take_id(f, "A", 0);
    assert_string_equal(next_label(f, 1), "A001");
    /* the one being served can be rated by name */
    assert_int_equal(qms_engine_rate_ticket(f->e, 0, "A001", 2, &t), QMS_OK);
    assert_int_equal(qms_engine_ticket(f->e, a)->rating, 2);
    assert_int_equal(qms_engine_done(f->e, 0, &t), QMS_OK);
    advance(f, 20);
    assert_string_equal(next_label(f, 1), "A002");
    /* after the next call: the rating of A001 is A001's, not A002's */
    assert_int_equal(qms_engine_rate_ticket(f->e, 0, "A001", 4, &t), QMS_OK);
    assert_int_equal(t->id, a);
    assert_int_equal(qms_engine_ticket(f->e, a)->rating, 4);
    assert_int_equal(qms_engine_ticket(f->e, b)->rating, 0);
    const qms_event *ev = qms_engine_journal_at(f->e, qms_engine_journal_len(f->e) - 1);
    assert_int_equal(ev->kind, QMS_EV_RATE);
    assert_int_equal(ev->ticket, a);
    /* a ticket the counter did not just finish, or a bad level: refused */
    assert_int_equal(qms_engine_rate_ticket(f->e, 0, "A009", 4, &t), QMS_ERR_UNKNOWN_TICKET);
    assert_int_equal(qms_engine_rate_ticket(f->e, 1, "A001", 4, &t), QMS_ERR_UNKNOWN_TICKET);
    assert_int_equal(qms_engine_rate_ticket(f->e, 0, "A001", 5, &t), QMS_ERR_INVAL);
    /* too late */
    advance(f, QMS_RATE_LATE_MS / 1000 + 1);
    assert_int_equal(qms_engine_rate_ticket(f->e, 0, "A001", 1, &t), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_ticket(f->e, a)->rating, 4);
    assert_int_equal(qms_engine_ticket(f->e, b)->rating, 0);
}

static void test_counter_states(void **state)
{
    fixture *f = *state;
    take(f, "A", 0);
    assert_int_equal(qms_engine_resume(f->e, 0), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_pause(f->e, 0), QMS_OK);
    assert_int_equal(qms_engine_pause(f->e, 0), QMS_ERR_BAD_STATE);
    assert_string_equal(next_label(f, 1), "counter_closed");
    const qms_ticket *t;
    assert_int_equal(qms_engine_call(f->e, 0, "A001", &t), QMS_ERR_COUNTER_CLOSED);
    assert_int_equal(qms_engine_resume(f->e, 0), QMS_OK);
    assert_string_equal(next_label(f, 1), "A001");
    /* cannot close with a citizen at the counter; can pause */
    assert_int_equal(qms_engine_close(f->e, 0), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_done(f->e, 0, &t), QMS_OK);
    assert_int_equal(qms_engine_close(f->e, 0), QMS_OK);
    assert_int_equal(qms_engine_counter(f->e, 0)->state, QMS_C_CLOSED);
    assert_int_equal(qms_engine_close(f->e, 0), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_resume(f->e, 0), QMS_OK);
    assert_int_equal(qms_engine_set_staff(f->e, 0, "Nguyễn Thị Hoa"), QMS_OK);
    assert_string_equal(qms_engine_counter(f->e, 0)->staff, "Nguyễn Thị Hoa");
    assert_int_equal(qms_engine_pause(f->e, 7), QMS_ERR_UNKNOWN_COUNTER);
}

static void test_cancel(void **state)
{
    fixture *f = *state;
    int64_t a = take_id(f, "A", 0);
    int64_t b = take_id(f, "A", 0);
    assert_int_equal(qms_engine_cancel(f->e, a), QMS_OK);
    assert_int_equal(qms_engine_ticket(f->e, a)->state, QMS_T_CANCELLED);
    assert_int_equal(qms_engine_cancel(f->e, a), QMS_ERR_BAD_STATE);
    assert_int_equal(qms_engine_cancel(f->e, 12345), QMS_ERR_UNKNOWN_TICKET);
    assert_string_equal(next_label(f, 1), "A002");
    assert_int_equal(qms_engine_cancel(f->e, b), QMS_ERR_BAD_STATE);
    /* the cancelled number is not given again */
    assert_string_equal(take(f, "A", 0)->label, "A003");
}

static void test_daily_restart(void **state)
{
    fixture *f = *state;
    take(f, "A", 0);
    take(f, "A", 0);
    next_label(f, 1);
    int32_t day0 = qms_engine_day(f->e);
    qms_engine_journal_clear(f->e);
    assert_int_equal(qms_engine_tick(f->e), 0);
    /* the next morning */
    qms_vclock_set(&f->clk, qms_local_to_epoch_ms(f->day + 1, 8 * 3600, 420));
    assert_int_equal(qms_engine_tick(f->e), 1);
    assert_int_equal(qms_engine_day(f->e), day0 + 1);
    assert_int_equal(qms_engine_ticket_count(f->e), 0);
    assert_int_equal(qms_engine_counter(f->e, 0)->current, 0);
    /* both open tickets were journaled as cancelled, then the new day */
    assert_int_equal(qms_engine_journal_len(f->e), 3);
    assert_int_equal(qms_engine_journal_at(f->e, 0)->kind, QMS_EV_CANCEL);
    assert_int_equal(qms_engine_journal_at(f->e, 0)->snap.state, QMS_T_CANCELLED);
    assert_int_equal(qms_engine_journal_at(f->e, 2)->kind, QMS_EV_NEW_DAY);
    /* numbers restart; ids do not */
    const qms_ticket *t = take(f, "A", 0);
    assert_string_equal(t->label, "A001");
    assert_int_equal(t->id, 3);
    assert_int_equal(t->day, day0 + 1);
}

static void test_expected_wait(void **state)
{
    fixture *f = *state;
    /* A: mean 300 s, counters 1 and 2 (both also serve B, mean 600 s). */
    qms_take_result r;
    int etas[6], aheads[6];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_OK);
        etas[i] = r.eta_s;
        aheads[i] = r.ahead;
    }
    /* two idle counters: the first two are called at once, then one every
     * 150 s on average (two counters, 300 s each) */
    assert_int_equal(etas[0], 0);
    assert_int_equal(etas[1], 0);
    assert_int_equal(etas[2], 300);
    assert_int_equal(etas[3], 300);
    assert_int_equal(etas[4], 600);
    for (int i = 0; i < 6; i++)
        assert_int_equal(aheads[i], i);
    /* a priority ticket goes ahead of all of them */
    assert_int_equal(qms_engine_take(f->e, 0, 1, NULL, &r), QMS_OK);
    assert_int_equal(r.eta_s, 0);
    assert_int_equal(r.ahead, 0);
    /* pausing a counter slows everyone; refresh keeps waiting tickets current */
    qms_engine_pause(f->e, 1);
    qms_engine_refresh_etas(f->e);
    const qms_ticket *last = qms_engine_ticket_at(f->e, 5);
    assert_int_equal(last->eta_now_s, 6 * 300);
    qms_service_stats st;
    assert_int_equal(qms_engine_service_stats(f->e, 0, &st), QMS_OK);
    assert_int_equal(st.waiting, 7);
    assert_int_equal(st.taken, 7);
    assert_int_equal(st.eta_s, 7 * 300);
    assert_int_equal(st.mean_service_s, 300);
    /* a counter that is busy: its citizen is expected to leave at the mean */
    qms_engine_resume(f->e, 1);
    next_label(f, 1);
    advance(f, 50);
    qms_engine_refresh_etas(f->e);
    /* waiting now: A001..A006 with counter 1 busy 250 s more and counter 2
     * idle (for 50 s: within staffed_grace_s, so still presumed staffed) */
    assert_int_equal(qms_engine_ticket_at(f->e, 0)->eta_now_s, 0);
    assert_int_equal(qms_engine_ticket_at(f->e, 1)->eta_now_s, 250);
}

/* Issue 11 #4: an open counter nobody is at must not count as serving. A
 * was taken at 08:00 and nobody called it: 105 s later both counters that
 * serve A are open and idle, so the old forecast told the next A ticket
 * "ahead 1, eta 0" although A001 had already waited 105 s. */
static void test_unstaffed_open_counter(void **state)
{
    fixture *f = *state;
    int c1 = qms_config_counter_index(f->cfg, 1), c2 = qms_config_counter_index(f->cfg, 2);
    qms_take_result r;
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_OK);
    assert_int_equal(r.eta_s, 0); /* the start of the day: counters open, presumed staffed */
    assert_true(qms_engine_counter_staffed(f->e, c1));
    /* within the grace (60 s) an idle counter is still presumed there */
    advance(f, 30);
    assert_true(qms_engine_counter_staffed(f->e, c1));
    advance(f, 75); /* A001 has waited 105 s; nobody called it */
    assert_false(qms_engine_counter_staffed(f->e, c1));
    assert_false(qms_engine_counter_staffed(f->e, c2));
    assert_false(qms_engine_counter_staffed(f->e, qms_config_counter_index(f->cfg, 99)));
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_OK);
    assert_int_equal(r.ahead, 1);
    /* not "now": the counters have been away 105 s and are expected back no sooner */
    if (r.eta_s < 105)
        fail_msg("ahead 1 with both counters unstaffed for 105 s, but eta_s %d", r.eta_s);
    assert_int_equal(r.eta_s, 105);
    /* somebody signs in at counter 2: it is staffed again, the wait is short */
    assert_int_equal(qms_engine_set_staff(f->e, c2, "lan"), QMS_OK);
    assert_true(qms_engine_counter_staffed(f->e, c2));
    assert_false(qms_engine_counter_staffed(f->e, c1));
    qms_engine_refresh_etas(f->e);
    assert_int_equal(qms_engine_ticket_at(f->e, 0)->eta_now_s, 0);   /* counter 2 calls it */
    assert_int_equal(qms_engine_ticket_at(f->e, 1)->eta_now_s, 105); /* counter 1 is away */
    /* a counter that calls is staffed; when nobody waits, idle is no sign of absence */
    assert_string_equal(next_label(f, 1), "A001");
    assert_string_equal(next_label(f, 2), "A002");
    advance(f, 3600);
    assert_int_equal(qms_engine_done(f->e, c1, NULL), QMS_OK);
    assert_int_equal(qms_engine_done(f->e, c2, NULL), QMS_OK);
    advance(f, 3600);
    assert_true(qms_engine_counter_staffed(f->e, c1));
    assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r), QMS_OK);
    assert_int_equal(r.eta_s, 0);
    /* a paused or closed counter is not staffed */
    assert_int_equal(qms_engine_pause(f->e, c1), QMS_OK);
    assert_false(qms_engine_counter_staffed(f->e, c1));
}

/* Issue 9 #1: a take must not cost more with a long queue. 10,000 waiting,
 * then a take: the engine's cost counter (waiting-list entries examined)
 * must not move by anything near the queue's length; the refresh of every
 * expected wait is linear, not quadratic. Not a timing test. */
static void test_take_cost_independent_of_queue(void **state)
{
    (void)state;
    const char *json =
        "{\"site\":\"t\",\"name_vi\":\"T\",\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]]"
        ","
        "\"services\":[{\"code\":\"A\",\"name_vi\":\"A\",\"prefix\":\"A\",\"digits\":5,\"mean_"
        "service_s\":300},"
        "{\"code\":\"B\",\"name_vi\":\"B\",\"prefix\":\"B\",\"digits\":5,\"mean_service_s\":600}],"
        "\"counters\":[{\"id\":1,\"services\":[\"A\",\"B\"]},{\"id\":2,\"services\":[\"A\"]}]}";
    qms_config *cfg;
    char err[256];
    if (qms_config_parse_json(json, strlen(json), &cfg, err, sizeof err))
        fail_msg("config: %s", err);
    int32_t day;
    qms_day_parse("2026-11-26", &day);
    qms_vclock clk;
    qms_vclock_init(&clk, qms_local_to_epoch_ms(day, 8 * 3600, 420));
    qms_engine *e;
    assert_int_equal(qms_engine_new(cfg, &clk.clock, &e), QMS_OK);
    qms_take_result r;
    uint64_t w0 = 0;
    for (int i = 0; i < 10000; i++) {
        if (i == 1)
            w0 = qms_engine_work(e);
        assert_int_equal(qms_engine_take(e, i % 10 == 9, 0, NULL, &r), QMS_OK);
        if (i == 0)
            assert_int_equal(r.eta_s, 0);
        if (i == 1) /* with a short queue the exact forecast runs, and costs */
            assert_true(qms_engine_work(e) > w0);
        if (i % 1000 == 999)
            qms_vclock_set(&clk, clk.now + 1000);
    }
    /* 9,000 A and 1,000 B wait; one more A */
    w0 = qms_engine_work(e);
    assert_int_equal(qms_engine_take(e, 0, 0, NULL, &r), QMS_OK);
    uint64_t dw = qms_engine_work(e) - w0;
    if (dw > 100)
        fail_msg("a take with 10,000 waiting examined %llu waiting entries",
                 (unsigned long long)dw);
    assert_int_equal(r.ahead, 9000);
    assert_int_equal(r.eta_s, 9000 / 2 * 300); /* two counters serve A */
    /* a priority ticket goes ahead of the normal ones */
    assert_int_equal(qms_engine_take(e, 0, 1, NULL, &r), QMS_OK);
    assert_int_equal(r.ahead, 0);
    assert_int_equal(r.eta_s, 0);
    /* the refresh of every waiting ticket: linear */
    w0 = qms_engine_work(e);
    qms_engine_refresh_etas(e);
    dw = qms_engine_work(e) - w0;
    assert_true(dw <= 2 * 10002);
    const qms_ticket *last = qms_engine_ticket_at(e, 10000); /* the 9,001st A */
    assert_int_equal(last->eta_now_s, 9001 / 2 * 300);       /* the priority one goes first */
    /* the statistics' expected wait: no forecast over the queue either */
    qms_service_stats st;
    w0 = qms_engine_work(e);
    assert_int_equal(qms_engine_service_stats(e, 1, &st), QMS_OK);
    assert_true(qms_engine_work(e) - w0 <= 100);
    assert_int_equal(st.waiting, 1000);
    assert_int_equal(st.eta_s, 1000 * 600); /* one counter serves B */
    /* a counter's list: the first 10 in call order, all of them counted */
    int64_t ids[10];
    w0 = qms_engine_work(e);
    assert_int_equal(qms_engine_waiting_for_counter(e, 1, ids, 10), 9002);
    assert_true(qms_engine_work(e) - w0 <= 11 * 10002);
    assert_int_equal(ids[0], qms_engine_ticket_at(e, 10001)->id); /* the priority one */
    assert_int_equal(ids[1], qms_engine_ticket_at(e, 0)->id);
    qms_engine_free(e);
    qms_config_free(cfg);
}

/* Issue 9 #4: the clock goes back an hour: a ticket taken after the jump
 * has an earlier taking time, but it came later and is called later. */
static void test_order_survives_clock_going_back(void **state)
{
    fixture *f = *state;
    advance(f, 2 * 3600); /* 10:00 */
    int64_t a = take_id(f, "A", 0);
    advance(f, 60);
    int64_t b = take_id(f, "A", 0);
    qms_vclock_set(&f->clk, f->clk.now - 3600 * 1000); /* back one hour */
    int64_t c = take_id(f, "A", 0);
    assert_true(qms_engine_ticket(f->e, c)->taken_ms < qms_engine_ticket(f->e, a)->taken_ms);
    int64_t ids[3];
    assert_int_equal(qms_engine_waiting_for_counter(f->e, 0, ids, 3), 3);
    assert_true(ids[0] == a && ids[1] == b && ids[2] == c);
    /* the forecast too: the late one is expected last */
    qms_engine_refresh_etas(f->e);
    assert_true(qms_engine_ticket(f->e, c)->eta_now_s >= qms_engine_ticket(f->e, b)->eta_now_s);
    assert_string_equal(next_label(f, 1), "A001");
    assert_string_equal(next_label(f, 2), "A002");
    assert_string_equal(next_label(f, 1), "A003");
}

static void test_waiting_for_counter_matches_next(void **state)
{
    fixture *f = make("interleave", "counter");
    const char *codes[] = {"A", "B", "A", "A", "B", "A"};
    int prios[] = {0, 0, 1, 0, 1, 0};
    for (int i = 0; i < 6; i++) {
        take(f, codes[i], prios[i]);
        advance(f, 7);
    }
    int64_t ids[16];
    int n = qms_engine_waiting_for_counter(f->e, 1, ids, 16);
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++) {
        const qms_ticket *t;
        assert_int_equal(qms_engine_next(f->e, 1, &t), QMS_OK);
        assert_int_equal(t->id, ids[i]);
    }
    destroy(f);
}

/* The whole call order of every counter, under each policy, with priority
 * and appointment tickets and tickets sent to a counter, against what
 * qms_engine_next really calls at that counter (a fresh engine each time);
 * and its cost: one pass over the waiting list, not one per place (it was
 * O(waiting^2) per counter: the ticket pages froze the controller for
 * minutes after a burst of 20,000 takes). */
#define CFG3                                                                                       \
    "{\"site\":\"t\",\"name_vi\":\"T\",\"utc_offset_min\":420,\"hours\":[[\"00:00\",\"24:00\"]],"  \
    "\"policy\":{\"priority\":\"%s\",\"interleave_k\":2,\"order\":\"%s\"},"                        \
    "\"services\":[{\"code\":\"A\",\"prefix\":\"A\",\"name_vi\":\"A\",\"digits\":5},"              \
    "{\"code\":\"B\",\"prefix\":\"B\",\"name_vi\":\"B\",\"digits\":5},"                           \
    "{\"code\":\"C\",\"prefix\":\"C\",\"name_vi\":\"C\",\"digits\":5}],"                           \
    "\"counters\":[{\"id\":1,\"services\":[\"A\",\"B\"]},{\"id\":2,\"services\":[\"B\",\"C\","    \
    "\"A\"]},{\"id\":3,\"services\":[\"C\"]},{\"id\":4,\"services\":[\"C\",\"A\"]}]}"

static qms_engine *random_day(qms_config *cfg, qms_vclock *clk, unsigned seed, int n)
{
    int32_t day;
    qms_day_parse("2026-11-26", &day);
    qms_vclock_init(clk, qms_local_to_epoch_ms(day, 8 * 3600, 420));
    qms_engine *e;
    assert_int_equal(qms_engine_new(cfg, &clk->clock, &e), QMS_OK);
    srand(seed);
    for (int i = 0; i < n; i++) {
        int r = rand() % 100;
        qms_take_result tr;
        const qms_ticket *t;
        if (r < 80) {
            int prio = rand() % 10 < 2;
            char appt[16];
            snprintf(appt, sizeof appt, "H%d", i);
            int rc = qms_engine_take(e, rand() % 3, prio, rand() % 10 == 0 ? appt : NULL, &tr);
            assert_int_equal(rc, QMS_OK);
        } else if (r < 90) {
            qms_engine_next(e, rand() % 4, &t);
        } else {
            /* what counter k has now goes to counter `to` (keeping its place) */
            int k = rand() % 4, to = rand() % 4;
            if (qms_engine_counter(e, k)->current && to != k)
                qms_engine_transfer(e, k, -1, to, &t);
        }
        qms_vclock_set(clk, clk->now + 1000 + rand() % 5000);
    }
    return e;
}

static void test_waiting_for_counter_every_policy(void **state)
{
    (void)state;
    const char *prios[] = {"strict", "interleave"}, *orders[] = {"oldest", "counter"};
    for (int p = 0; p < 2; p++)
        for (int o = 0; o < 2; o++)
            for (unsigned seed = 1; seed <= 4; seed++) {
                char json[2048], err[256];
                snprintf(json, sizeof json, CFG3, prios[p], orders[o]);
                qms_config *cfg;
                if (qms_config_parse_json(json, strlen(json), &cfg, err, sizeof err))
                    fail_msg("config: %s", err);
                for (int ci = 0; ci < 4; ci++) {
                    qms_vclock clk;
                    qms_engine *e = random_day(cfg, &clk, seed, 300);
                    int64_t ids[400];
                    int n = qms_engine_waiting_for_counter(e, ci, ids, 400);
                    int part = qms_engine_waiting_for_counter(e, ci, ids, 5);
                    assert_int_equal(part, n); /* all counted, only 5 listed */
                    n = qms_engine_waiting_for_counter(e, ci, ids, 400);
                    assert_true(n > 10);
                    for (int i = 0; i < n; i++) {
                        const qms_ticket *t;
                        assert_int_equal(qms_engine_next(e, ci, &t), QMS_OK);
                        if (t->id != ids[i])
                            fail_msg("%s/%s seed %u counter %d: place %d is %lld, next called "
                                     "%lld (%s)",
                                     prios[p], orders[o], seed, ci + 1, i, (long long)ids[i],
                                     (long long)t->id, t->label);
                    }
                    const qms_ticket *t;
                    assert_int_not_equal(qms_engine_next(e, ci, &t), QMS_OK); /* nobody left */
                    qms_engine_free(e);
                }
                qms_config_free(cfg);
            }
}

static void test_waiting_for_counter_cost(void **state)
{
    (void)state;
    char json[2048], err[256];
    snprintf(json, sizeof json, CFG3, "interleave", "counter");
    qms_config *cfg;
    if (qms_config_parse_json(json, strlen(json), &cfg, err, sizeof err))
        fail_msg("config: %s", err);
    int32_t day;
    qms_day_parse("2026-11-26", &day);
    qms_vclock clk;
    qms_vclock_init(&clk, qms_local_to_epoch_ms(day, 8 * 3600, 420));
    qms_engine *e;
    assert_int_equal(qms_engine_new(cfg, &clk.clock, &e), QMS_OK);
    qms_take_result tr;
    for (int i = 0; i < 20000; i++)
        assert_int_equal(qms_engine_take(e, i % 3, i % 7 == 0, NULL, &tr), QMS_OK);
    int64_t *ids = malloc(20000 * sizeof *ids);
    uint64_t w0 = qms_engine_work(e);
    int n = qms_engine_waiting_for_counter(e, 1, ids, 20000); /* counter 2 serves all */
    uint64_t dw = qms_engine_work(e) - w0;
    assert_int_equal(n, 20000);
    if (dw > 2 * 20000)
        fail_msg("the full call order of 20,000 waiting examined %llu entries",
                 (unsigned long long)dw);
    free(ids);
    qms_engine_free(e);
    qms_config_free(cfg);
}

static void test_restore_roundtrip(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        take(f, i % 2 ? "B" : "A", i == 3);
        advance(f, 20);
    }
    next_label(f, 1);
    qms_engine_start(f->e, 0);
    next_label(f, 2);
    const qms_ticket *t;
    qms_engine_skip(f->e, 1, &t);
    qms_engine_pause(f->e, 1);
    /* copy state into a second engine through the restore API */
    qms_engine *g;
    assert_int_equal(qms_engine_new(f->cfg, &f->clk.clock, &g), QMS_OK);
    assert_int_equal(qms_engine_restore_begin(g, qms_engine_day(f->e), qms_engine_next_id(f->e)),
                     QMS_OK);
    for (int i = 0; i < qms_engine_ticket_count(f->e); i++)
        assert_int_equal(qms_engine_restore_ticket(g, qms_engine_ticket_at(f->e, i)), QMS_OK);
    for (int ci = 0; ci < f->cfg->ncounters; ci++)
        assert_int_equal(qms_engine_restore_counter(g, ci, qms_engine_counter(f->e, ci)), QMS_OK);
    assert_int_equal(qms_engine_restore_end(g), QMS_OK);
    /* out-of-order ids are refused */
    assert_int_equal(qms_engine_restore_ticket(g, qms_engine_ticket_at(f->e, 0)), QMS_ERR_INVAL);
    /* both continue identically */
    qms_engine_resume(f->e, 1);
    qms_engine_resume(g, 1);
    for (int k = 0; k < 4; k++) {
        qms_take_result r1, r2;
        assert_int_equal(qms_engine_take(f->e, 0, 0, NULL, &r1), QMS_OK);
        assert_int_equal(qms_engine_take(g, 0, 0, NULL, &r2), QMS_OK);
        assert_string_equal(r1.ticket->label, r2.ticket->label);
        assert_int_equal(r1.ticket->id, r2.ticket->id);
        assert_int_equal(r1.eta_s, r2.eta_s);
        assert_int_equal(r1.ahead, r2.ahead);
        const qms_ticket *a, *b;
        int ci = k % 2;
        int rc1 = qms_engine_next(f->e, ci, &a), rc2 = qms_engine_next(g, ci, &b);
        assert_int_equal(rc1, rc2);
        if (!rc1)
            assert_int_equal(a->id, b->id);
        advance(f, 45);
    }
    qms_engine_free(g);
}

/* Every allocation failure inside an operation ends in QMS_ERR_NOMEM with
 * nothing changed, and the same operation then succeeds. */
static void test_alloc_failures(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 40; i++)
        take(f, "A", i % 5 == 0);
    qms_engine_journal_clear(f->e);
    for (long n = 0; n < 10; n++) {
        int before = qms_engine_ticket_count(f->e);
        qms_take_result r;
        qms_alloc_fail_after(n);
        int rc = qms_engine_take(f->e, 0, 0, NULL, &r);
        qms_alloc_fail_after(-1);
        if (rc == QMS_OK) {
            assert_int_equal(qms_engine_ticket_count(f->e), before + 1);
            continue;
        }
        assert_int_equal(rc, QMS_ERR_NOMEM);
        assert_int_equal(qms_engine_ticket_count(f->e), before);
        assert_int_equal(qms_engine_journal_len(f->e), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_numbers_labels, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_take_refusals, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_next_oldest_first_strict_priority, setup_default,
                                        teardown),
        cmocka_unit_test(test_next_counter_order),
        cmocka_unit_test(test_next_interleave),
        cmocka_unit_test_setup_teardown(test_next_finishes_current, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_recall_start_done_skip, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_skip_and_recall_window, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_keeps_place, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_rate_ticket, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_rate, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_counter_states, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_daily_restart, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_expected_wait, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_unstaffed_open_counter, setup_default, teardown),
        cmocka_unit_test(test_take_cost_independent_of_queue),
        cmocka_unit_test_setup_teardown(test_order_survives_clock_going_back, setup_default,
                                        teardown),
        cmocka_unit_test(test_waiting_for_counter_matches_next),
        cmocka_unit_test(test_waiting_for_counter_every_policy),
        cmocka_unit_test(test_waiting_for_counter_cost),
        cmocka_unit_test_setup_teardown(test_restore_roundtrip, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_restore_roundtrip, setup_counter_order, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup_default, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
