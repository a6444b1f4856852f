/* Expected-wait accuracy: replays day-500 and day-900 (qms-sim's replay,
 * the real engine and store) and compares the engine's expected wait with
 * two classical predictors computed from the same replay: last-to-enter-
 * service and queue-length (docs/eta.md). One JSON object per line; the
 * target is engine MAE <= 0.6 x the better classical predictor.
 *
 *   bench_eta [--services S.csv --counters C.csv] [trace.csv ...]
 */
#include "qms/err.h"
#include "qms/log.h"
#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const policies[] = {
    "strict,oldest", /* the sample center's own policy */
    "interleave:3,oldest",
    "strict,counter",
};

static void set_policy(qms_config *c, const char *spec)
{
    c->policy.priority =
        strncmp(spec, "interleave", 10) == 0 ? QMS_PRIO_INTERLEAVE : QMS_PRIO_STRICT;
    if (c->policy.priority == QMS_PRIO_INTERLEAVE)
        c->policy.interleave_k = atoi(spec + 11);
    c->policy.order = strstr(spec, "counter") ? QMS_ORDER_COUNTER : QMS_ORDER_OLDEST;
}

int main(int argc, char **argv)
{
    qms_log_init("bench_eta", QMS_LOG_WARN);
    const char *services = QMS_EXAMPLES "/services.csv", *counters = QMS_EXAMPLES "/counters.csv";
    const char *traces[16];
    int ntraces = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--services") == 0 && i + 1 < argc)
            services = argv[++i];
        else if (strcmp(argv[i], "--counters") == 0 && i + 1 < argc)
            counters = argv[++i];
        else if (argv[i][0] != '-' && ntraces < 16)
            traces[ntraces++] = argv[i];
        else {
            fprintf(stderr,
                    "usage: bench_eta [--services S.csv --counters C.csv] [trace.csv ...]\n");
            return 2;
        }
    }
    if (ntraces == 0) {
        traces[ntraces++] = QMS_EXAMPLES "/day-500.csv";
        traces[ntraces++] = QMS_EXAMPLES "/day-900.csv";
    }
    char err[512];
    qms_config *c = NULL;
    if (qms_config_load_csv(services, counters, &c, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "bench_eta: %s\n", err);
        return 1;
    }
    char dir[] = "/tmp/bench-eta-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_eta: %s\n", strerror(errno));
        return 1;
    }
    int status = 0;
    for (int ti = 0; ti < ntraces; ti++) {
        qms_trace tr;
        if (qms_trace_load(traces[ti], &tr, err, sizeof err) != QMS_OK) {
            fprintf(stderr, "bench_eta: %s\n", err);
            status = 1;
            continue;
        }
        char name[128];
        snprintf(name, sizeof name, "%s",
                 strrchr(traces[ti], '/') ? strrchr(traces[ti], '/') + 1 : traces[ti]);
        char *dot = strrchr(name, '.');
        if (dot && strcmp(dot, ".csv") == 0)
            *dot = 0;
        for (size_t pi = 0; pi < sizeof policies / sizeof *policies; pi++) {
            set_policy(c, policies[pi]);
            char db[600], p[640];
            snprintf(db, sizeof db, "%s/%s-%zu.db", dir, name, pi);
            qms_replay_opts o;
            qms_replay_opts_default(&o);
            o.db_path = db;
            o.sync = QMS_STORE_SYNC_OFF; /* accuracy only: the disk does not matter here */
            qms_replay_result r;
            if (qms_replay_run(c, &tr, &o, &r, err, sizeof err) != QMS_OK) {
                fprintf(stderr, "bench_eta: %s\n", err);
                status = 1;
                continue;
            }
            qms_replay_summary s;
            qms_replay_summarize(c, &r, &s);
            double best = s.mae_les_s < s.mae_queue_s ? s.mae_les_s : s.mae_queue_s;
            double ratio = best > 0 ? s.mae_engine_s / best : 0;
            printf("{\"bench\":\"eta\",\"day\":\"%s\",\"policy\":\"%s\",\"tickets\":%d,"
                   "\"called\":%d,\"wait_mean_s\":%.1f,\"mae_engine_s\":%.1f,"
                   "\"mae_last_to_enter_service_s\":%.1f,\"mae_queue_length_s\":%.1f,"
                   "\"bias_engine_s\":%.1f,\"bias_last_to_enter_service_s\":%.1f,"
                   "\"bias_queue_length_s\":%.1f,\"ratio_to_best_classical\":%.3f,"
                   "\"target_ratio\":0.6,\"meets_target\":%s}\n",
                   name, policies[pi], s.tickets, s.called, s.wait_mean_s, s.mae_engine_s,
                   s.mae_les_s, s.mae_queue_s, s.bias_engine_s, s.bias_les_s, s.bias_queue_s, ratio,
                   ratio <= 0.6 ? "true" : "false");
            fflush(stdout);
            qms_replay_result_free(&r);
            unlink(db);
            snprintf(p, sizeof p, "%s-wal", db);
            unlink(p);
            snprintf(p, sizeof p, "%s-shm", db);
            unlink(p);
        }
        qms_trace_free(&tr);
    }
    rmdir(dir);
    qms_config_free(c);
    return status;
}
