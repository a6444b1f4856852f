/* qms-plan: a staffing plan from a forecast day or a day of the store
 * (docs/plan.md). */
#include "plan.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/file.h"
#include "qms/log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.0.0"
#endif
#ifndef QMS_FONT_DIR
#define QMS_FONT_DIR "/usr/share/fonts/truetype/noto"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qms-plan (--config center.json | --services S.csv --counters C.csv)\n"
            "                (--trace DAY.csv | --db STORE --date YYYY-MM-DD)\n"
            "                [--target DURATION] [--out plan.csv] [--chart plan.png]\n"
            "                [--font-dir DIR]\n"
            "\n"
            "For each hour of the opening hours, the fewest open counters per service\n"
            "group such that the 90th-percentile wait of the tickets taken in that hour,\n"
            "replayed through the real queue engine, stays within the target.\n"
            "  --trace FILE    a forecast day (arrive_s,service,priority,service_s,no_show)\n"
            "  --db FILE       or a day of the controller's store (read-only), with --date\n"
            "  --target D      p90 wait at most D: 15m (default), 900s, 1h30m, 600\n"
            "  --out FILE      the plan as CSV (default: standard output)\n"
            "  --chart FILE    the plan as a PNG chart\n"
            "  --font-dir DIR  Noto Sans fonts (default " QMS_FONT_DIR ")\n"
            "  -h, --help, -V, --version\n"
            "Exit status: 0 a plan, 1 a fault (input unreadable, output not written),\n"
            "2 a usage error.\n");
}

static int write_plan(FILE *f, void *ctx)
{
    void **a = ctx;
    return qms_plan_write_csv(a[0], a[1], f);
}

int main(int argc, char **argv)
{
    qms_log_init("qms-plan", QMS_LOG_WARN);
    const char *services = NULL, *counters = NULL, *config = NULL, *trace = NULL, *db = NULL;
    const char *date = NULL, *out = NULL, *chart = NULL, *font_dir = QMS_FONT_DIR;
    int32_t target_s = 15 * 60;
    enum {
        O_SERVICES = 1000,
        O_COUNTERS,
        O_CONFIG,
        O_TRACE,
        O_DB,
        O_DATE,
        O_TARGET,
        O_OUT,
        O_CHART,
        O_FONTS,
        O_HELP,
        O_VERSION
    };
    static const struct option longopts[] = {
        {"services", required_argument, NULL, O_SERVICES},
        {"counters", required_argument, NULL, O_COUNTERS},
        {"config", required_argument, NULL, O_CONFIG},
        {"trace", required_argument, NULL, O_TRACE},
        {"db", required_argument, NULL, O_DB},
        {"date", required_argument, NULL, O_DATE},
        {"target", required_argument, NULL, O_TARGET},
        {"out", required_argument, NULL, O_OUT},
        {"chart", required_argument, NULL, O_CHART},
        {"font-dir", required_argument, NULL, O_FONTS},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (ch) {
        case O_SERVICES:
            services = optarg;
            break;
        case O_COUNTERS:
            counters = optarg;
            break;
        case O_CONFIG:
            config = optarg;
            break;
        case O_TRACE:
            trace = optarg;
            break;
        case O_DB:
            db = optarg;
            break;
        case O_DATE:
            date = optarg;
            break;
        case O_TARGET:
            if (qms_plan_parse_duration(optarg, &target_s)) {
                fprintf(stderr,
                        "qms-plan: --target '%s' is not a duration of 1 s to 24 h "
                        "(e.g. 15m, 900s, 1h30m)\n",
                        optarg);
                return 2;
            }
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_CHART:
            chart = optarg;
            break;
        case O_FONTS:
            font_dir = optarg;
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            return 0;
        case 'V':
        case O_VERSION:
            printf("qms-plan %s\n", QMS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (!config && (!services || !counters)) ||
        (config && (services || counters)) || (!trace == !db) || (db && !date) ||
        (date && !db)) {
        usage(stderr);
        return 2;
    }

    char err[512];
    qms_config *c = NULL;
    int rc = config ? qms_config_load_file(config, &c, err, sizeof err)
                    : qms_config_load_csv(services, counters, &c, err, sizeof err);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-plan: %s\n", err);
        return 1;
    }
    qms_trace tr;
    int skipped = 0;
    rc = trace ? qms_trace_load(trace, &tr, err, sizeof err)
               : qms_plan_trace_from_db(db, date, c, &tr, &skipped, err, sizeof err);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-plan: %s\n", err);
        qms_config_free(c);
        return 1;
    }
    if (skipped)
        fprintf(stderr, "qms-plan: %d tickets of %s left out (cancelled or unfinished)\n",
                skipped, date);
    qms_plan *p = qms_calloc(1, sizeof *p);
    if (!p || qms_plan_init(p, c, &tr, target_s) != QMS_OK) {
        fprintf(stderr, "qms-plan: %s\n",
                p ? "the configuration has no opening hours to plan" : "out of memory");
        qms_free(p);
        qms_trace_free(&tr);
        qms_config_free(c);
        return 1;
    }
    int status = 0;
    rc = qms_plan_search(p, c, &tr, err, sizeof err);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-plan: %s\n", err);
        status = 1;
        goto done;
    }
    if (out && strcmp(out, "-") != 0) {
        /* a device or pipe (/dev/stdout) is written in place (qms/file.h) */
        void *ctx[2] = {p, c};
        if (qms_file_replace(out, write_plan, ctx) != QMS_OK) {
            fprintf(stderr, "qms-plan: cannot write %s: %s\n", out, strerror(errno));
            status = 1;
            goto done;
        }
    } else if (qms_plan_write_csv(p, c, stdout) != QMS_OK || fflush(stdout) != 0) {
        fprintf(stderr, "qms-plan: cannot write the plan: %s\n", strerror(errno));
        status = 1;
        goto done;
    }
    if (chart && qms_plan_chart(p, c, font_dir, chart, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "qms-plan: %s\n", err);
        status = 1;
        goto done;
    }
    int64_t plan_s = qms_plan_counter_s(p, p->k), all_s = qms_plan_all_open_s(p);
    int unmet = 0;
    for (int h = 0; h < p->nslots; h++)
        for (int gi = 0; gi < p->ngroups; gi++)
            unmet += p->p90[h][gi] > p->target_s;
    fprintf(stderr,
            "qms-plan: %d tickets, %d hours, %d groups; counter-hours %.1f planned, %.1f all "
            "open, %.1f saved (%.0f %%)\n",
            tr.n, p->nslots, p->ngroups, plan_s / 3600.0, all_s / 3600.0,
            (all_s - plan_s) / 3600.0, all_s ? 100.0 * (all_s - plan_s) / all_s : 0.0);
    if (unmet)
        fprintf(stderr,
                "qms-plan: %d hour-groups miss the target even with every counter open; "
                "there the plan keeps the p90 within what all open gives (target_met = 0)\n",
                unmet);
    fprintf(stderr, "qms-plan: %d replays (%d answered from the cache) in %.1f s\n", p->replays,
            p->cache_hits, p->wall_s);
done:
    qms_plan_free(p);
    qms_free(p);
    qms_trace_free(&tr);
    qms_config_free(c);
    return status;
}
