/* The plan as CSV, and one day of a store as a trace (plan.h). */
#include "plan.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>

#define DAY0_S (7 * 3600)

static void hhmm(int32_t rel_s, char *buf, size_t n)
{
    int32_t t = rel_s + DAY0_S;
    snprintf(buf, n, "%02d:%02d", (int)(t / 3600), (int)(t / 60 % 60));
}

int qms_plan_write_csv(const qms_plan *p, const qms_config *c, FILE *f)
{
    fprintf(f, "hour,group,services,counters,of,open_counters,tickets,p90_wait_s,p90_wait_min,"
               "all_open_p90_wait_s,target_met\n");
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++) {
            const qms_plan_group *g = &p->groups[gi];
            char a[16], b[16];
            hhmm(p->from_s[h], a, sizeof a);
            hhmm(p->to_s[h], b, sizeof b);
            fprintf(f, "%s-%s,%d,", a, b, gi + 1);
            for (int j = 0; j < g->nservices; j++)
                fprintf(f, "%s%s", j ? " " : "", c->services[g->services[j]].code);
            fprintf(f, ",%d,%d,", p->k[h][gi], g->ncounters);
            for (int j = 0; j < p->k[h][gi]; j++)
                fprintf(f, "%s%d", j ? " " : "", c->counters[g->counters[j]].id);
            int32_t w = p->p90[h][gi];
            fprintf(f, ",%d,", p->tickets[h][gi]);
            if (w == QMS_PLAN_NEVER)
                fprintf(f, ",,");
            else
                fprintf(f, "%d,%.1f,", (int)w, w / 60.0);
            if (p->all_p90[h][gi] != QMS_PLAN_NEVER)
                fprintf(f, "%d", (int)p->all_p90[h][gi]);
            fprintf(f, ",%d\n", w <= p->target_s);
        }
    return ferror(f) ? QMS_ERR_IO : QMS_OK;
}

int qms_plan_trace_from_db(const char *path, const char *day, const qms_config *c, qms_trace *out,
                           int *skipped, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    *skipped = 0;
    int32_t dnum;
    if (qms_day_parse(day, &dnum) != QMS_OK) {
        qms_say(err, errlen, "'%s' is not a day (YYYY-MM-DD)", day);
        return QMS_ERR_INVAL;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        qms_say(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return QMS_ERR_DB;
    }
    sqlite3_stmt *st = NULL;
    int rc = QMS_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT orig_service, priority, state, taken_ms, called_ms, start_ms,"
                           " end_ms FROM tickets WHERE day = ?1 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        qms_say(err, errlen, "%s is not a QMS store: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return QMS_ERR_DB;
    }
    sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
    int64_t base = qms_local_to_epoch_ms(dnum, DAY0_S, c->utc_offset_min);
    int cap = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *svc = (const char *)sqlite3_column_text(st, 0);
        const char *state = (const char *)sqlite3_column_text(st, 2);
        int noshow = state && strcmp(state, "noshow") == 0;
        int done = state && strcmp(state, "done") == 0;
        int64_t taken = sqlite3_column_int64(st, 3);
        int64_t from = sqlite3_column_type(st, 5) != SQLITE_NULL ? sqlite3_column_int64(st, 5)
                                                                 : sqlite3_column_int64(st, 4);
        int64_t end = sqlite3_column_int64(st, 6);
        int64_t rel = (taken - base) / 1000;
        if (!svc || (!noshow && !done) || rel < 0 || rel > 86400 - DAY0_S - 1 ||
            (done && (from <= 0 || end < from))) {
            (*skipped)++;
            continue;
        }
        if (qms_config_service_index(c, svc) < 0) {
            qms_say(err, errlen, "%s: service '%s' of %s is not in the configuration", path, svc,
                    day);
            rc = QMS_ERR_UNKNOWN_SERVICE;
            break;
        }
        if (out->n == cap) {
            int ncap = cap ? cap * 2 : 256;
            qms_trace_row *nr = qms_realloc(out->rows, (size_t)ncap * sizeof *nr);
            if (!nr) {
                qms_say(err, errlen, "out of memory");
                rc = QMS_ERR_NOMEM;
                break;
            }
            out->rows = nr;
            cap = ncap;
        }
        qms_trace_row *r = &out->rows[out->n++];
        memset(r, 0, sizeof *r);
        r->arrive_s = (int32_t)rel;
        snprintf(r->service, sizeof r->service, "%s", svc);
        r->priority = sqlite3_column_int(st, 1);
        if (r->priority < 0 || r->priority > 2)
            r->priority = 0;
        r->service_s = done ? (int32_t)((end - from) / 1000) : 0;
        if (r->service_s > 86400)
            r->service_s = 86400;
        r->no_show = noshow;
        r->line = out->n;
    }
    if (rc == QMS_OK && s != SQLITE_DONE) {
        qms_say(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        rc = QMS_ERR_DB;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc == QMS_OK && out->n == 0) {
        qms_say(err, errlen, "%s has no finished ticket on %s", path, day);
        rc = QMS_ERR_INVAL;
    }
    if (rc != QMS_OK)
        qms_trace_free(out);
    return rc;
}
