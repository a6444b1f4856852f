/* Staff sign-in: with a staff list in the center's config (salted hashes
 * from qms-provision --staff-hash), "open" needs a known staff id and its
 * code; a wrong or missing code, or an unknown id, is refused (bad_staff)
 * and changes nothing. qms-counter asks for the code (here on stdin), the
 * counter's state and the call events carry the staff id, and the code is
 * never written to the controller's log. */
#include "harness.h"

#include "qms/alloc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void open_with(ctl_env *e, qms_mqtt *m, const char *body, const char *want_err)
{
    cJSON *o = env_req(e, m, "counter/1/cmd", body);
    assert_non_null(o);
    const char *err = js_str(o, "error");
    if (want_err)
        assert_string_equal(err ? err : "(none)", want_err);
    else
        assert_null(err);
    cJSON_Delete(o);
}

static void test_sign_in(void **state)
{
    (void)state;
    char cmd[600], hash[256] = "";
    snprintf(cmd, sizeof cmd, "echo 4711 | %s --staff-hash", qms_test_bin("qms-provision"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hash, sizeof hash, p));
    pclose(p);
    hash[strcspn(hash, "\n")] = 0;
    char *center = malloc(8192);
    snprintf(center, 8192,
             "{\"staff\":[{\"id\":\"nv01\",\"name\":\"Nguyễn Văn A\",\"code_hash\":\"%s\"}],%s",
             hash, harness_center_json + 1);
    ctl_env e;
    memset(&e, 0, sizeof e);
    assert_int_equal(env_start(&e, center, NULL), 0);
    free(center);
    static const char *const pats[] = {"qms/t1/call", "qms/t1/counter/1/state", NULL};
    collector col;
    assert_int_equal(coll_start(&col, &e, "staff-coll", pats), 0);
    qms_mqtt *m = env_client(&e, "staff-test");
    assert_non_null(m);

    cJSON *t = env_req(&e, m, "ticket/take", "{\"req\":\"k-1\",\"service\":\"TP\"}");
    assert_non_null(t);
    cJSON_Delete(t);
    open_with(&e, m, "{\"req\":\"s-1\",\"op\":\"open\",\"staff\":\"nv01\",\"code\":\"4712\"}",
              "bad_staff");
    open_with(&e, m, "{\"req\":\"s-2\",\"op\":\"open\",\"staff\":\"nv01\"}", "bad_staff");
    open_with(&e, m, "{\"req\":\"s-3\",\"op\":\"open\",\"staff\":\"nv99\",\"code\":\"4711\"}",
              "bad_staff");
    open_with(&e, m, "{\"req\":\"s-4\",\"op\":\"open\"}", "bad_staff");
    /* nothing changed: nobody is signed in at counter 1 */
    cJSON *st = env_req(&e, m, "counter/1/cmd", "{\"req\":\"s-5\",\"op\":\"status\"}");
    assert_non_null(st);
    assert_null(js_str(st, "error"));
    cJSON_Delete(st);
    const coll_msg *last = coll_last(&col, "qms/t1/counter/1/state");
    assert_true(!last || strstr(last->payload, "\"staff\":\"\""));

    /* qms-counter asks for the code (stdin here) */
    char out[400], cmdline[1200];
    snprintf(out, sizeof out, "%s/counter-open.txt", e.dir);
    snprintf(cmdline, sizeof cmdline,
             "echo 4711 | %s --broker 127.0.0.1:%d --site t1 --counter 1 --lang en open "
             "--staff nv01 >%s 2>&1",
             qms_test_bin("qms-counter"), e.broker.port, out);
    assert_int_equal(system(cmdline), 0);
    int from = 0;
    assert_true(coll_wait(&col, from, "qms/t1/counter/1/state", "\"staff\":\"nv01\"", 0) >= 0);
    /* and with a wrong code it is refused (exit 1: refused by the controller) */
    snprintf(cmdline, sizeof cmdline,
             "echo 0000 | %s --broker 127.0.0.1:%d --site t1 --counter 2 --lang en open "
             "--staff nv01 >%s 2>&1",
             qms_test_bin("qms-counter"), e.broker.port, out);
    assert_int_equal(WEXITSTATUS(system(cmdline)), 1);

    /* the call carries who called */
    cJSON *n = env_req(&e, m, "counter/1/cmd", "{\"req\":\"s-6\",\"op\":\"next\"}");
    assert_non_null(n);
    assert_string_equal(js_str(n, "ticket"), "A0001");
    cJSON_Delete(n);
    assert_true(coll_wait(&col, 0, "qms/t1/call", "\"staff\":\"nv01\"", 0) >= 0);

    assert_int_equal(env_log_count(&e, "4711"), 0);
    assert_int_equal(env_log_count(&e, "4712"), 0);
    assert_true(env_log_count(&e, "sign-in refused") >= 4);
    coll_stop(&col);
    qms_mqtt_free(m);
    env_stop(&e);
}

/* ---- priority kinds and who served, through the real broker, and
 * qms-report's --by priority / --by staff against SQL on the same file ---- */

static void cmd_ok(ctl_env *e, qms_mqtt *m, const char *topic, const char *body,
                   const char *want_ticket)
{
    cJSON *o = env_req(e, m, topic, body);
    assert_non_null(o);
    const char *err = js_str(o, "error");
    assert_null(err);
    if (want_ticket)
        assert_string_equal(js_str(o, "ticket"), want_ticket);
    cJSON_Delete(o);
}

static void sign_in(ctl_env *e, int counter, const char *who)
{
    char cmdline[1200], out[400];
    snprintf(out, sizeof out, "%s/sign-in.txt", e->dir);
    snprintf(cmdline, sizeof cmdline,
             "echo 4711 | %s --broker 127.0.0.1:%d --site t1 --counter %d --lang en open "
             "--staff %s >%s 2>&1",
             qms_test_bin("qms-counter"), e->broker.port, counter, who, out);
    assert_int_equal(system(cmdline), 0);
}

/* qms-report's CSV (English, no BOM) as rows of fields. */
typedef struct csv {
    char cell[16][24][80];
    int nrows, ncols;
} csv;

static void run_report(const ctl_env *e, const char *day, const char *by, csv *c)
{
    char cmdline[1200];
    snprintf(cmdline, sizeof cmdline, "%s --db %s --from %s --by %s --lang en --no-bom",
             qms_test_bin("qms-report"), e->db, day, by);
    FILE *p = popen(cmdline, "r");
    assert_non_null(p);
    memset(c, 0, sizeof *c);
    char line[2048];
    while (fgets(line, sizeof line, p) && c->nrows < 16) {
        line[strcspn(line, "\r\n")] = 0;
        int col = 0;
        /* our fields hold no ',' or '"' but maybe quotes around them; empty
         * fields count */
        for (char *f = line; f && col < 24; col++) {
            char *comma = strchr(f, ',');
            if (comma)
                *comma = 0;
            if (*f == '"')
                f++;
            snprintf(c->cell[c->nrows][col], 80, "%.79s", f);
            c->cell[c->nrows][col][strcspn(c->cell[c->nrows][col], "\"")] = 0;
            f = comma ? comma + 1 : NULL;
        }
        if (c->nrows == 0)
            c->ncols = col;
        c->nrows++;
    }
    assert_int_equal(pclose(p), 0);
}

static int csv_col(const csv *c, const char *title)
{
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->cell[0][i], title) == 0)
            return i;
    fail_msg("no column '%s'", title);
    return -1;
}

static int csv_row(const csv *c, const char *key)
{
    for (int r = 1; r < c->nrows; r++)
        if (strcmp(c->cell[r][0], key) == 0)
            return r;
    return -1;
}

/* The row of key says what the SQL, run here on the store, counts: tickets
 * taken (if has_taken), served, ratings and the mean service time. */
static void expect_row(const csv *c, sqlite3 *db, const char *key, const char *where, int has_taken)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT n, served, rated, CASE WHEN svc IS NULL THEN '' ELSE printf('%%.1f', svc) END"
             " FROM (SELECT count(*) n, coalesce(sum(state='done'),0) served, count(rating) rated,"
             " avg(CASE WHEN state='done' AND start_ms IS NOT NULL"
             " THEN (end_ms - start_ms) / 60000.0 END) svc FROM tickets WHERE %s)",
             where);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int r = csv_row(c, key);
    if (sqlite3_column_int(st, 0) == 0) {
        /* nothing of that kind: the row says 0 served (or is not listed, for staff) */
        assert_true(r < 0 || strcmp(c->cell[r][csv_col(c, "Served")], "0") == 0);
        sqlite3_finalize(st);
        return;
    }
    assert_true(r > 0);
    char want[32];
    if (has_taken) {
        snprintf(want, sizeof want, "%d", sqlite3_column_int(st, 0));
        assert_string_equal(c->cell[r][csv_col(c, "Tickets taken")], want);
    }
    snprintf(want, sizeof want, "%d", sqlite3_column_int(st, 1));
    assert_string_equal(c->cell[r][csv_col(c, "Served")], want);
    snprintf(want, sizeof want, "%d", sqlite3_column_int(st, 2));
    assert_string_equal(c->cell[r][csv_col(c, "Ratings")], want);
    assert_string_equal(c->cell[r][csv_col(c, "Mean service time (min)")],
                        (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
}

static void test_kinds_and_staff(void **state)
{
    (void)state;
    char cmd[600], hash[256] = "";
    snprintf(cmd, sizeof cmd, "echo 4711 | %s --staff-hash", qms_test_bin("qms-provision"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hash, sizeof hash, p));
    pclose(p);
    hash[strcspn(hash, "\n")] = 0;
    char *center = malloc(8192);
    snprintf(center, 8192,
             "{\"staff\":[{\"id\":\"nv01\",\"name\":\"Nguyễn Văn A\",\"code_hash\":\"%s\"},"
             "{\"id\":\"nv02\",\"name\":\"Trần Thị B\",\"code_hash\":\"%s\"}],%s",
             hash, hash, harness_center_json + 1);
    ctl_env e;
    memset(&e, 0, sizeof e);
    assert_int_equal(env_start(&e, center, NULL), 0);
    free(center);
    qms_mqtt *m = env_client(&e, "kinds-test");
    assert_non_null(m);

    /* the kinds, one calling class: taken after a normal one, called first */
    cmd_ok(&e, m, "ticket/take", "{\"req\":\"k-0\",\"service\":\"TP\"}", "A0001");
    cmd_ok(&e, m, "ticket/take", "{\"req\":\"k-1\",\"service\":\"TP\",\"priority\":\"elderly\"}",
           "A0002");
    cmd_ok(&e, m, "ticket/take", "{\"req\":\"k-2\",\"service\":\"TP\",\"priority\":\"child\"}",
           "A0003");
    cmd_ok(&e, m, "ticket/take", "{\"req\":\"k-3\",\"service\":\"DD\",\"priority\":\"pregnant\"}",
           "B0001");
    cmd_ok(&e, m, "ticket/take", "{\"req\":\"k-4\",\"service\":\"DD\",\"priority\":true}",
           "B0002");
    cJSON *bad = env_req(&e, m, "ticket/take",
                         "{\"req\":\"k-5\",\"service\":\"TP\",\"priority\":\"vip\"}");
    assert_non_null(bad);
    assert_non_null(js_str(bad, "error"));
    cJSON_Delete(bad);

    sign_in(&e, 1, "nv01");
    sign_in(&e, 3, "nv02");
    /* nv01 serves the elderly citizen, then the child (rated 4) */
    cmd_ok(&e, m, "counter/1/cmd", "{\"req\":\"c-1\",\"op\":\"next\"}", "A0002");
    cmd_ok(&e, m, "counter/1/cmd", "{\"req\":\"c-2\",\"op\":\"start\"}", NULL);
    cmd_ok(&e, m, "counter/1/cmd", "{\"req\":\"c-3\",\"op\":\"next\"}", "A0003");
    cmd_ok(&e, m, "counter/1/cmd", "{\"req\":\"c-4\",\"op\":\"start\"}", NULL);
    cmd_ok(&e, m, "counter/1/cmd", "{\"req\":\"c-5\",\"op\":\"done\"}", NULL);
    cmd_ok(&e, m, "counter/1/cmd", "{\"req\":\"c-6\",\"op\":\"rate\",\"level\":4}", NULL);
    /* nv02 serves the normal one (rated 2) */
    cmd_ok(&e, m, "counter/3/cmd", "{\"req\":\"c-7\",\"op\":\"next\"}", "A0001");
    cmd_ok(&e, m, "counter/3/cmd", "{\"req\":\"c-8\",\"op\":\"done\"}", NULL);
    cmd_ok(&e, m, "counter/3/cmd", "{\"req\":\"c-9\",\"op\":\"rate\",\"level\":2}", NULL);
    /* counter 2, nobody signed in: the pregnant citizen served, B0002 called */
    cmd_ok(&e, m, "counter/2/cmd", "{\"req\":\"c-10\",\"op\":\"next\"}", "B0001");
    cmd_ok(&e, m, "counter/2/cmd", "{\"req\":\"c-11\",\"op\":\"next\"}", "B0002");

    /* the store, read directly */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(e.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    static const char *const want[][4] = {
        {"A0001", "", "nv02", "0"},     {"A0002", "elderly", "nv01", "1"},
        {"A0003", "child", "nv01", "1"}, {"B0001", "pregnant", "", "1"},
        {"B0002", "priority", "", "1"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char sql[300];
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(priority_kind,'') || '|' || coalesce(staff,'(null)') || '|' ||"
                 " priority FROM tickets WHERE label='%s'",
                 want[i][0]);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        char w[160];
        snprintf(w, sizeof w, "%s|%s|%s", want[i][1], want[i][2], want[i][3]);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), w);
        sqlite3_finalize(st);
    }

    /* qms-report against SQL on the same file */
    char day[16] = "";
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT min(day) FROM tickets", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(day, sizeof day, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    csv *c = malloc(sizeof *c);
    assert_non_null(c);
    run_report(&e, day, "priority", c);
    assert_int_equal(c->nrows, 1 + 7 + 1); /* header, 7 kinds, total */
    expect_row(c, db, "normal", "priority = 0", 1);
    expect_row(c, db, "appointment", "priority = 2", 1);
    static const char *const kinds[] = {"priority", "elderly", "disabled", "pregnant", "child"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        char where[120];
        snprintf(where, sizeof where, "priority = 1 AND coalesce(priority_kind,'priority') = '%s'",
                 kinds[i]);
        expect_row(c, db, kinds[i], where, 1);
    }
    assert_string_equal(c->cell[csv_row(c, "elderly")][1], "Elderly");
    assert_string_equal(c->cell[csv_row(c, "child")][csv_col(c, "Tickets taken")], "1");

    run_report(&e, day, "staff", c);
    assert_int_equal(c->nrows, 1 + 3 + 1); /* header, nv01, nv02, not signed in, total */
    expect_row(c, db, "nv01", "staff = 'nv01'", 0);
    expect_row(c, db, "nv02", "staff = 'nv02'", 0);
    expect_row(c, db, "(not signed in)", "staff = '' AND counter_id IS NOT NULL", 0);
    /* by name, nobody signed in last */
    assert_string_equal(c->cell[1][0], "nv01");
    assert_string_equal(c->cell[3][0], "(not signed in)");
    assert_string_equal(c->cell[1][csv_col(c, "Served")], "2");
    assert_string_equal(c->cell[1][csv_col(c, "Rating 4 (Very satisfied)")], "1");
    free(c);
    sqlite3_close(db);
    qms_mqtt_free(m);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_in),
        cmocka_unit_test(test_kinds_and_staff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
