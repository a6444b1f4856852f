/* qms-report: CSV reports for managers from the controller's store.
 *   qms-report --db qms.db --from 2026-11-26 [--to 2026-11-30] [--by service]
 * docs/report.md. */
#include "report.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.1.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fputs("Usage: qms-report --db FILE --from DATE [--to DATE] [options]\n"
          "\n"
          "Writes a CSV report (UTF-8 with BOM, RFC 4180) of the tickets taken from\n"
          "DATE to DATE (inclusive; YYYY-MM-DD, or \"today\" / \"yesterday\").\n"
          "\n"
          "Options:\n"
          "  --db FILE             the controller's SQLite store (opened read-only)\n"
          "  --config FILE         the center's configuration: time zone offset, rating\n"
          "                        levels, and names the store does not have\n"
          "  --from DATE           first day (required)\n"
          "  --to DATE             last day (default: the --from day)\n"
          "  --by KIND             service (default), counter, hour or day\n"
          "  --out FILE            write there (replaced as a whole), default stdout\n"
          "  --lang vi|en          column titles and names (default vi)\n"
          "  --levels N            rating levels (3..9; default: --config's, else 4)\n"
          "  --decimal-comma       decimals as 8,5 and ';' between fields (spreadsheets\n"
          "                        set to Vietnamese number format)\n"
          "  --no-bom              leave out the UTF-8 byte order mark\n"
          "  -h, --help, -V, --version\n"
          "\n"
          "Exit status: 0 written (also when the range has no tickets: the total row\n"
          "then says so), 1 the store or the output failed, 2 usage.\n",
          f);
}

/* "YYYY-MM-DD", "today" or "yesterday" (the center's local day). */
static int parse_day(const char *s, int utc_offset_min, int32_t *out)
{
    int32_t today = qms_local_day(qms_now(&qms_clock_real), utc_offset_min);
    if (strcmp(s, "today") == 0) {
        *out = today;
        return QMS_OK;
    }
    if (strcmp(s, "yesterday") == 0) {
        *out = today - 1;
        return QMS_OK;
    }
    return qms_day_parse(s, out);
}

int main(int argc, char **argv)
{
    enum { O_DB = 256, O_CONFIG, O_FROM, O_TO, O_BY, O_OUT, O_LANG, O_LEVELS, O_DCOMMA, O_NOBOM };
    static const struct option opts[] = {
        {"db", required_argument, 0, O_DB},
        {"config", required_argument, 0, O_CONFIG},
        {"from", required_argument, 0, O_FROM},
        {"to", required_argument, 0, O_TO},
        {"by", required_argument, 0, O_BY},
        {"out", required_argument, 0, O_OUT},
        {"lang", required_argument, 0, O_LANG},
        {"levels", required_argument, 0, O_LEVELS},
        {"decimal-comma", no_argument, 0, O_DCOMMA},
        {"no-bom", no_argument, 0, O_NOBOM},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    const char *db = NULL, *config_path = NULL, *from_s = NULL, *to_s = NULL, *out_path = NULL;
    report_by by = REPORT_BY_SERVICE;
    int en = 0, levels = 0, dcomma = 0, bom = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (ch) {
        case O_DB:
            db = optarg;
            break;
        case O_CONFIG:
            config_path = optarg;
            break;
        case O_FROM:
            from_s = optarg;
            break;
        case O_TO:
            to_s = optarg;
            break;
        case O_BY:
            if (strcmp(optarg, "service") == 0)
                by = REPORT_BY_SERVICE;
            else if (strcmp(optarg, "counter") == 0)
                by = REPORT_BY_COUNTER;
            else if (strcmp(optarg, "hour") == 0)
                by = REPORT_BY_HOUR;
            else if (strcmp(optarg, "day") == 0)
                by = REPORT_BY_DAY;
            else {
                fprintf(stderr, "qms-report: --by is service, counter, hour or day\n");
                return EXIT_USAGE;
            }
            break;
        case O_OUT:
            out_path = optarg;
            break;
        case O_LANG:
            if (strcmp(optarg, "vi") != 0 && strcmp(optarg, "en") != 0) {
                fprintf(stderr, "qms-report: --lang is vi or en\n");
                return EXIT_USAGE;
            }
            en = strcmp(optarg, "en") == 0;
            break;
        case O_LEVELS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 3 || v > REPORT_MAX_LEVELS) {
                fprintf(stderr, "qms-report: --levels is 3 to %d\n", REPORT_MAX_LEVELS);
                return EXIT_USAGE;
            }
            levels = (int)v;
            break;
        }
        case O_DCOMMA:
            dcomma = 1;
            break;
        case O_NOBOM:
            bom = 0;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("qms-report %s\n", QMS_VERSION);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qms-report: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!db || !from_s) {
        fprintf(stderr, "qms-report: --db and --from are required (qms-report --help)\n");
        return EXIT_USAGE;
    }

    qms_config *cfg = NULL;
    if (config_path) {
        char err[256];
        if (qms_config_load_file(config_path, &cfg, err, sizeof err) != QMS_OK) {
            fprintf(stderr, "qms-report: %s: %s\n", config_path, err);
            return EXIT_USAGE;
        }
    }
    int status = EXIT_USAGE;
    report_data data;
    report rep;
    memset(&data, 0, sizeof data);
    memset(&rep, 0, sizeof rep);
    char *tmp_path = NULL;
    FILE *out = NULL;
    int utc_off = cfg ? cfg->utc_offset_min : 420;
    int32_t from, to;
    if (parse_day(from_s, utc_off, &from) != QMS_OK) {
        fprintf(stderr, "qms-report: --from wants a date YYYY-MM-DD, not '%s'\n", from_s);
        goto done;
    }
    if (parse_day(to_s ? to_s : from_s, utc_off, &to) != QMS_OK) {
        fprintf(stderr, "qms-report: --to wants a date YYYY-MM-DD, not '%s'\n", to_s);
        goto done;
    }
    if (to < from) {
        fprintf(stderr, "qms-report: --to is before --from\n");
        goto done;
    }
    if (!levels)
        levels = cfg ? cfg->rating_levels : 4;

    status = EXIT_FAIL;
    char err[512];
    int rc = report_load(db, from, to, cfg, &data, err, sizeof err);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-report: %s\n", err);
        goto done;
    }
    if (data.max_rating > levels) {
        fprintf(stderr,
                en ? "qms-report: the store has ratings up to %d; counting %d levels (--levels)\n"
                   : "qms-report: có đánh giá tới mức %d; báo cáo tính %d mức (--levels)\n",
                data.max_rating, data.max_rating);
        levels = data.max_rating;
    }
    if (report_build(&data, by, levels, utc_off, from, to, en, &rep) != QMS_OK) {
        fprintf(stderr, "qms-report: out of memory\n");
        goto done;
    }
    int no_data = data.nt == 0;
    char dfrom[11], dto[11];
    qms_day_str(from, dfrom);
    qms_day_str(to, dto);
    if (no_data) {
        if (from == to)
            fprintf(stderr,
                    en ? "qms-report: no tickets on %s in %s\n"
                       : "qms-report: không có phiếu nào trong ngày %s (%s)\n",
                    dfrom, db);
        else
            fprintf(stderr,
                    en ? "qms-report: no tickets from %s to %s in %s\n"
                       : "qms-report: không có phiếu nào từ %s đến %s (%s)\n",
                    dfrom, dto, db);
    }

    if (out_path) {
        /* Write aside and rename: whoever opens the file sees the old
         * report or the new one, never half of one. */
        size_t n = strlen(out_path) + 32;
        tmp_path = qms_malloc(n);
        if (!tmp_path)
            goto done;
        snprintf(tmp_path, n, "%s.tmp-%ld", out_path, (long)getpid());
        out = fopen(tmp_path, "wb");
        if (!out) {
            fprintf(stderr, "qms-report: cannot write %s: %m\n", tmp_path);
            goto done;
        }
    }
    report_csv w;
    report_csv_begin(&w, out ? out : stdout, dcomma, bom);
    report_write_csv(&rep, &w, en, no_data);
    if (out) {
        if (fflush(out) != 0 || fsync(fileno(out)) != 0)
            w.err = 1;
        if (fclose(out) != 0)
            w.err = 1;
        out = NULL;
        if (!w.err && rename(tmp_path, out_path) != 0) {
            fprintf(stderr, "qms-report: cannot write %s: %m\n", out_path);
            unlink(tmp_path);
            goto done;
        }
    } else if (fflush(stdout) != 0) {
        w.err = 1;
    }
    if (w.err) {
        fprintf(stderr, "qms-report: writing the report failed: %m\n");
        if (tmp_path)
            unlink(tmp_path);
        goto done;
    }
    if (out_path && !no_data)
        fprintf(stderr,
                en ? "qms-report: %d tickets from %s to %s written to %s\n"
                   : "qms-report: đã ghi %d phiếu từ %s đến %s vào %s\n",
                data.nt, dfrom, dto, out_path);
    status = EXIT_OK;
done:
    if (out) {
        fclose(out);
        unlink(tmp_path);
    }
    qms_free(tmp_path);
    report_free(&rep);
    report_data_free(&data);
    qms_config_free(cfg);
    return status;
}
