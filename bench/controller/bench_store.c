/* Durable operations per second: take / next / done through the real engine
 * and the SQLite store with synchronous=FULL, N requests per transaction
 * (group commit: a batch of concurrent requests is applied, committed once,
 * and only then are their replies "sent"). In the same run, on the same
 * disk, the floor: a bare SQLite commit (one-row insert per transaction,
 * WAL, synchronous=FULL). One JSON object per line.
 *
 *   bench_store [--dir DIR] [--seconds S] [--batches 1,4,16,64,256]
 *               [--config center.json]
 */
#include "engine.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"
#include "qms/log.h"
#include "store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "bench_store: %s\n", what);
    exit(1);
}

static void rm_db(const char *path)
{
    char p[600];
    unlink(path);
    if (snprintf(p, sizeof p, "%s-wal", path) < (int)sizeof p)
        unlink(p);
    if (snprintf(p, sizeof p, "%s-shm", path) < (int)sizeof p)
        unlink(p);
}

/* The floor: how many transactions per second this disk gives SQLite. */
/* this process's CPU (user + system, the fsyncs' own kernel work included) */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double bare_commits(const char *dir, double seconds, long *count)
{
    char path[512];
    if (snprintf(path, sizeof path, "%s/bare.db", dir) >= (int)sizeof path)
        die("folder name too long");
    rm_db(path);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     " CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)",
                     NULL, NULL, NULL) != SQLITE_OK)
        die("cannot create the bare database");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES(?1)", -1, &st, NULL);
    long n = 0;
    int64_t t0 = qms_mono_ns(), limit = (int64_t)(seconds * 1e9);
    while (qms_mono_ns() - t0 < limit || n < 50) {
        sqlite3_bind_int64(st, 1, n);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("bare insert failed");
        sqlite3_reset(st);
        n++;
    }
    double s = (double)(qms_mono_ns() - t0) / 1e9;
    sqlite3_finalize(st);
    sqlite3_close(db);
    rm_db(path);
    *count = n;
    return n / s;
}

typedef struct driver {
    const qms_config *c;
    qms_vclock clk;
    qms_engine *e;
    int next_counter; /* round robin */
    int phase;        /* 0 take, 1 next, 2 done */
    int32_t day;
} driver;

/* When the day's numbers or hours run out, the next morning. */
static void next_day(driver *d)
{
    d->day++;
    qms_vclock_set(&d->clk, qms_local_to_epoch_ms(d->day, 7 * 3600 + 30 * 60, 420));
    qms_engine_tick(d->e);
}

/* One request: the three operations a counter cycles through: a citizen
 * takes a ticket for its first service, the clerk calls next, then done. */
static void one_op(driver *d, char *reply, size_t rlen)
{
    int ci = d->next_counter;
    for (int tries = 0; tries < 3; tries++) {
        int rc;
        const qms_ticket *t = NULL;
        qms_vclock_set(&d->clk, d->clk.now + 50);
        if (d->phase == 0) {
            qms_take_result r = {0};
            rc = qms_engine_take(d->e, d->c->counters[ci].services[0], 0, NULL, &r);
            t = r.ticket;
            if (rc == QMS_OK)
                snprintf(reply, rlen, "{\"ok\":true,\"ticket\":\"%s\",\"ahead\":%d,\"eta_s\":%d}",
                         t->label, r.ahead, (int)r.eta_s);
        } else if (d->phase == 1) {
            rc = qms_engine_next(d->e, ci, &t);
            if (rc == QMS_OK)
                snprintf(reply, rlen, "{\"ok\":true,\"ticket\":\"%s\"}", t->label);
        } else {
            rc = qms_engine_done(d->e, ci, &t);
            if (rc == QMS_OK)
                snprintf(reply, rlen, "{\"ok\":true,\"done\":\"%s\"}", t->label);
        }
        if (rc == QMS_OK) {
            if (++d->phase == 3) {
                d->phase = 0;
                d->next_counter = (ci + 1) % d->c->ncounters;
            }
            return;
        }
        if (rc == QMS_ERR_CAP_REACHED || rc == QMS_ERR_OUTSIDE_HOURS) {
            next_day(d);
            continue;
        }
        fprintf(stderr, "bench_store: operation refused: %s\n", qms_err_code(rc));
        exit(1);
    }
    die("operation kept failing");
}

int main(int argc, char **argv)
{
    qms_log_init("bench_store", QMS_LOG_WARN);
    const char *dir_arg = NULL, *config = QMS_EXAMPLES "/center.json";
    const char *batches = "1,4,16,64,256";
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir_arg = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
            batches = argv[++i];
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else {
            fprintf(stderr, "usage: bench_store [--dir DIR] [--seconds S] [--batches 1,4,...]"
                            " [--config center.json]\n");
            return 2;
        }
    }
    /* a folder on the disk under test (the current directory by default) */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench-store-XXXXXX", dir_arg ? dir_arg : ".");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_store: cannot make %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char err[256];
    qms_config *c = NULL;
    if (qms_config_load_file(config, &c, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }

    long bare_n = 0;
    double bare = bare_commits(dir, seconds, &bare_n);
    printf("{\"bench\":\"store\",\"case\":\"bare_commit\",\"sync\":\"full\",\"commits\":%ld,"
           "\"commits_per_s\":%.0f,\"dir\":\"%s\"}\n",
           bare_n, bare, dir);
    fflush(stdout);

    const char *p = batches;
    while (*p) {
        int batch = atoi(p);
        if (batch < 1)
            batch = 1;
        char path[600];
        snprintf(path, sizeof path, "%s/ops-%d.db", dir, batch);
        rm_db(path);
        driver d;
        memset(&d, 0, sizeof d);
        d.c = c;
        qms_day_parse("2026-01-05", &d.day);
        qms_vclock_init(&d.clk, qms_local_to_epoch_ms(d.day, 7 * 3600 + 30 * 60, 420));
        qms_store *s = NULL;
        if (qms_engine_new(c, &d.clk.clock, &d.e) != QMS_OK || qms_store_open(path, &s) != QMS_OK ||
            qms_store_load(s, d.e) != QMS_OK)
            die("cannot set up the engine and store");
        long ops = 0, commits = 0, sent = 0;
        int64_t worst_ns = 0;
        char reply[160], req[32];
        int64_t t0 = qms_mono_ns(), limit = (int64_t)(seconds * 1e9), cpu0 = cpu_ns();
        while (qms_mono_ns() - t0 < limit || commits < 20) {
            int64_t b0 = qms_mono_ns();
            for (int k = 0; k < batch; k++) {
                one_op(&d, reply, sizeof reply);
                snprintf(req, sizeof req, "r%ld", ops);
                if (qms_store_queue_reply(s, req, reply) != QMS_OK)
                    die("queue reply");
                ops++;
            }
            if (qms_store_commit(s, d.e) != QMS_OK)
                die("commit failed");
            commits++;
            /* only now may the replies go out */
            sent += batch;
            int64_t dt = qms_mono_ns() - b0;
            if (dt > worst_ns)
                worst_ns = dt;
        }
        double sec = (double)(qms_mono_ns() - t0) / 1e9;
        double cpu_ms_op = (double)(cpu_ns() - cpu0) / 1e6 / (double)ops;
        qms_store_close(s);
        qms_engine_free(d.e);
        rm_db(path);
        double rate = ops / sec;
        printf("{\"bench\":\"store\",\"case\":\"durable_ops\",\"sync\":\"full\",\"batch\":%d,"
               "\"ops\":%ld,\"commits\":%ld,\"replies_after_commit\":%ld,\"seconds\":%.3f,"
               "\"ops_per_s\":%.0f,\"commits_per_s\":%.0f,\"cpu_ms_per_op\":%.4f,\"worst_batch_ms\":%.2f,"
               "\"bare_commits_per_s\":%.0f,\"ratio_to_bare\":%.2f,\"target_ops_per_s\":5000,"
               "\"meets_target\":%s}\n",
               batch, ops, commits, sent, sec, rate, commits / sec, cpu_ms_op, worst_ns / 1e6, bare,
               rate / bare, rate >= 5000 && rate >= 2 * bare ? "true" : "false");
        fflush(stdout);
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
    }
    qms_config_free(c);
    rmdir(dir);
    return 0;
}
