/* qms-sim: replay a day of arrivals through the real queue engine and a real
 * SQLite store under a virtual clock (replay.h, docs/sim.md). */
#include "replay.h"

#include "qms/alloc.h"
#include "qms/err.h"
#include "qms/log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: qms-sim (--services S.csv --counters C.csv | --config center.json)\n"
               "               --trace T.csv [--out tickets.csv] [--db FILE] [--policy SPEC]\n"
               "               [--date YYYY-MM-DD] [--until TIME] [--sync full|normal|off]\n"
               "               [--recall-after S] [--skip-after S] [--json]\n"
               "\n"
               "Replays the trace (arrive_s,service,priority,service_s,no_show) through the\n"
               "queue engine and an SQLite store, writes one row per ticket to --out and\n"
               "prints a summary (--json: one JSON object).\n"
               "  --policy SPEC   comma-separated: strict | interleave[:K], oldest | counter\n"
               "                  (default: the configuration's policy)\n"
               "  --db FILE       keep the store in FILE; a FILE that already holds the day\n"
               "                  resumes it (default: a temporary file, removed at the end)\n"
               "  --date DAY      the day replayed (default 2026-01-05)\n"
               "  --until TIME    stop before TIME: seconds after 07:00, or HH:MM[:SS]\n"
               "  --sync LEVEL    SQLite synchronous level (default full; see docs/sim.md)\n"
               "  --recall-after  seconds from the first call to the recall of a no-show (60)\n"
               "  --skip-after    seconds from the first call to skipping a no-show (120)\n"
               "  --json          the summary as one JSON object\n"
               "  -h, --help, -V, --version\n");
}

static int parse_policy(const char *spec, qms_policy *p)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "strict") == 0) {
            p->priority = QMS_PRIO_STRICT;
        } else if (strncmp(tok, "interleave", 10) == 0) {
            p->priority = QMS_PRIO_INTERLEAVE;
            if (tok[10] == ':') {
                char *end;
                long k = strtol(tok + 11, &end, 10);
                if (*end || k < 1 || k > 1000)
                    return -1;
                p->interleave_k = (int)k;
            } else if (tok[10]) {
                return -1;
            }
        } else if (strcmp(tok, "oldest") == 0) {
            p->order = QMS_ORDER_OLDEST;
        } else if (strcmp(tok, "counter") == 0) {
            p->order = QMS_ORDER_COUNTER;
        } else {
            return -1;
        }
    }
    return 0;
}

static int parse_secs(const char *s, long lo, long hi, int32_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int32_t)v;
    return 0;
}

static int parse_until(const char *s, int32_t *out)
{
    if (strchr(s, ':')) {
        int32_t sec;
        if (qms_hhmm_parse(s, &sec) != QMS_OK || sec < 7 * 3600)
            return -1;
        *out = sec - 7 * 3600;
        return 0;
    }
    return parse_secs(s, 0, 86400, out);
}

static void remove_db(const char *path)
{
    char p[4200];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

int main(int argc, char **argv)
{
    qms_log_init("qms-sim", QMS_LOG_WARN);
    const char *services = NULL, *counters = NULL, *config = NULL, *trace = NULL, *out = NULL;
    const char *db = NULL, *policy = NULL;
    int json = 0;
    qms_replay_opts o;
    qms_replay_opts_default(&o);
    enum {
        O_SERVICES = 1000,
        O_COUNTERS,
        O_CONFIG,
        O_TRACE,
        O_OUT,
        O_DB,
        O_POLICY,
        O_DATE,
        O_UNTIL,
        O_SYNC,
        O_RECALL,
        O_SKIP,
        O_JSON,
        O_HELP,
        O_VERSION
    };
    static const struct option longopts[] = {
        {"services", required_argument, NULL, O_SERVICES},
        {"counters", required_argument, NULL, O_COUNTERS},
        {"config", required_argument, NULL, O_CONFIG},
        {"trace", required_argument, NULL, O_TRACE},
        {"out", required_argument, NULL, O_OUT},
        {"db", required_argument, NULL, O_DB},
        {"policy", required_argument, NULL, O_POLICY},
        {"date", required_argument, NULL, O_DATE},
        {"until", required_argument, NULL, O_UNTIL},
        {"sync", required_argument, NULL, O_SYNC},
        {"recall-after", required_argument, NULL, O_RECALL},
        {"skip-after", required_argument, NULL, O_SKIP},
        {"json", no_argument, NULL, O_JSON},
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
        case O_OUT:
            out = optarg;
            break;
        case O_DB:
            db = optarg;
            break;
        case O_POLICY:
            policy = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_DATE:
            if (qms_day_parse(optarg, &o.date) != QMS_OK) {
                fprintf(stderr, "qms-sim: --date '%s' is not YYYY-MM-DD\n", optarg);
                return 2;
            }
            break;
        case O_UNTIL:
            if (parse_until(optarg, &o.until_s)) {
                fprintf(stderr, "qms-sim: --until '%s': seconds after 07:00 or HH:MM[:SS]\n",
                        optarg);
                return 2;
            }
            break;
        case O_SYNC:
            if (strcmp(optarg, "full") == 0)
                o.sync = QMS_STORE_SYNC_FULL;
            else if (strcmp(optarg, "normal") == 0)
                o.sync = QMS_STORE_SYNC_NORMAL;
            else if (strcmp(optarg, "off") == 0)
                o.sync = QMS_STORE_SYNC_OFF;
            else {
                fprintf(stderr, "qms-sim: --sync is full, normal or off\n");
                return 2;
            }
            break;
        case O_RECALL:
        case O_SKIP:
            if (parse_secs(optarg, 0, 86400,
                           ch == O_RECALL ? &o.recall_after_s : &o.skip_after_s)) {
                fprintf(stderr, "qms-sim: %s '%s' is not a number of seconds\n",
                        ch == O_RECALL ? "--recall-after" : "--skip-after", optarg);
                return 2;
            }
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            return 0;
        case 'V':
        case O_VERSION:
            printf("qms-sim %s\n", QMS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !trace || (!config && (!services || !counters)) ||
        (config && (services || counters))) {
        usage(stderr);
        return 2;
    }
    if (o.skip_after_s < o.recall_after_s) {
        fprintf(stderr, "qms-sim: --skip-after must not be before --recall-after\n");
        return 2;
    }

    char err[512];
    qms_config *c = NULL;
    int rc = config ? qms_config_load_file(config, &c, err, sizeof err)
                    : qms_config_load_csv(services, counters, &c, err, sizeof err);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-sim: %s\n", err);
        return 1;
    }
    if (policy && parse_policy(policy, &c->policy)) {
        fprintf(stderr, "qms-sim: --policy '%s': strict | interleave[:K], oldest | counter\n",
                policy);
        qms_config_free(c);
        return 2;
    }
    qms_trace tr;
    if (qms_trace_load(trace, &tr, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "qms-sim: %s\n", err);
        qms_config_free(c);
        return 1;
    }

    char tmpdir[256] = "", tmpdb[300];
    if (!db) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/qms-sim-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "qms-sim: cannot make a temporary folder: %s\n", strerror(errno));
            qms_trace_free(&tr);
            qms_config_free(c);
            return 1;
        }
        snprintf(tmpdb, sizeof tmpdb, "%s/sim.db", tmpdir);
        db = tmpdb;
    }
    o.db_path = db;
    qms_replay_result r;
    rc = qms_replay_run(c, &tr, &o, &r, err, sizeof err);
    int status = 0;
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-sim: %s\n", err);
        status = 1;
    }
    if (status == 0 && out) {
        FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
        if (!f || qms_replay_write_csv(c, &r, f) != QMS_OK || (f != stdout && fclose(f) != 0)) {
            fprintf(stderr, "qms-sim: cannot write %s: %s\n", out, strerror(errno));
            status = 1;
        }
    }
    if (status == 0) {
        qms_replay_summary s;
        qms_replay_summarize(c, &r, &s);
        qms_replay_print_summary(c, &r, &s, json, stdout);
    }
    qms_replay_result_free(&r);
    if (tmpdir[0]) {
        remove_db(tmpdb);
        rmdir(tmpdir);
    }
    qms_trace_free(&tr);
    qms_config_free(c);
    return status;
}
