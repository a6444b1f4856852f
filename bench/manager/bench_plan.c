/* The staffing planner's search time (docs/plan.md): qms_plan_search on
 * day-500 and day-900 for a few targets, against the floor measured in the
 * same run: one replay of the day with every counter open (the search is a
 * number of such replays). One JSON object per line.
 *
 *   bench_plan [trace.csv ...]
 */
#include "plan.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    qms_log_init("bench_plan", QMS_LOG_WARN);
    const char *def[] = {QMS_EXAMPLES "/day-500.csv", QMS_EXAMPLES "/day-900.csv"};
    const char **traces = argc > 1 ? (const char **)argv + 1 : def;
    int ntraces = argc > 1 ? argc - 1 : 2;
    const int32_t targets[] = {600, 900, 1800};
    char err[512];
    qms_config *c = NULL;
    if (qms_config_load_file(QMS_EXAMPLES "/center.json", &c, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "bench_plan: %s\n", err);
        return 1;
    }
    for (int ti = 0; ti < ntraces; ti++) {
        qms_trace tr;
        if (qms_trace_load(traces[ti], &tr, err, sizeof err) != QMS_OK) {
            fprintf(stderr, "bench_plan: %s\n", err);
            qms_config_free(c);
            return 1;
        }
        const char *name = strrchr(traces[ti], '/') ? strrchr(traces[ti], '/') + 1 : traces[ti];
        for (size_t k = 0; k < sizeof targets / sizeof *targets; k++) {
            qms_plan *p = qms_calloc(1, sizeof *p);
            if (!p || qms_plan_init(p, c, &tr, targets[k]) != QMS_OK)
                return 1;
            /* the floor: one replay with every counter open */
            int all[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
            for (int h = 0; h < p->nslots; h++)
                for (int gi = 0; gi < p->ngroups; gi++)
                    all[h][gi] = p->groups[gi].ncounters;
            int64_t t0 = qms_mono_ns();
            if (qms_plan_replay(p, c, &tr, all, p->p90, p->tickets, err, sizeof err) != QMS_OK)
                return 1;
            double floor_s = (double)(qms_mono_ns() - t0) / 1e9;
            p->replays = 0;
            if (qms_plan_search(p, c, &tr, err, sizeof err) != QMS_OK) {
                fprintf(stderr, "bench_plan: %s\n", err);
                return 1;
            }
            int64_t plan_s = qms_plan_counter_s(p, p->k), all_s = qms_plan_all_open_s(p);
            printf("{\"bench\":\"plan\",\"trace\":\"%s\",\"target_s\":%d,\"replays\":%d,"
                   "\"cache_hits\":%d,\"wall_s\":%.2f,\"one_replay_s\":%.3f,"
                   "\"wall_over_replays_floor\":%.2f,\"counter_hours_plan\":%.1f,"
                   "\"counter_hours_all_open\":%.1f,\"counter_hours_saved\":%.1f}\n",
                   name, (int)targets[k], p->replays, p->cache_hits, p->wall_s, floor_s,
                   p->wall_s / (floor_s * p->replays), plan_s / 3600.0, all_s / 3600.0,
                   (all_s - plan_s) / 3600.0);
            fflush(stdout);
            qms_plan_free(p);
            qms_free(p);
        }
        qms_trace_free(&tr);
    }
    qms_config_free(c);
    return 0;
}
