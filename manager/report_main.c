/* qms-report: CSV reports for managers from the controller's store.
 *   qms-report --db qms.db --from 2026-11-26 [--to 2026-11-30] [--by service]
 * docs/report.md. */
#include "report.h"

#include "booking.h"

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
          "  --db FILE             the controller's SQLite store, or qms-hub's (opened\n"
          "                        read-only)\n"
          "  --config FILE         the center's configuration: its UTC offset and rating\n"
          "                        levels override what the store recorded, and it names\n"
          "                        what the store does not\n"
          "  --from DATE           first day (required)\n"
          "  --to DATE             last day (default: the --from day)\n"
          "  --by KIND             service (default), counter, hour, day, site (one row\n"
          "                        per site of a hub's store), priority (a row per ticket\n"
          "                        kind: normal, appointment, elderly...) or staff (who\n"
          "                        served: the counter's signed-in staff)\n"
          "  --site S              a hub's store: only site S's tickets\n"
          "  --bookings            the bookings instead of the tickets: made, checked in,\n"
          "                        not come (no-shows), cancelled, not yet due; --by\n"
          "                        service (default) or day\n"
          "  --out FILE            write there (replaced as a whole), default stdout\n"
          "  --lang vi|en          column titles and names (default vi)\n"
          "  --levels N            rating levels (3..9; default: each day's as the store\n"
          "                        recorded it, or --config's)\n"
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
    enum {
        O_DB = 256,
        O_CONFIG,
        O_FROM,
        O_TO,
        O_BY,
        O_OUT,
        O_LANG,
        O_LEVELS,
        O_DCOMMA,
        O_NOBOM,
        O_SITE,
        O_BOOKINGS,
    };
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
        {"site", required_argument, 0, O_SITE},
        {"bookings", no_argument, 0, O_BOOKINGS},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    const char *db = NULL, *config_path = NULL, *from_s = NULL, *to_s = NULL, *out_path = NULL;
    const char *site = NULL;
    report_by by = REPORT_BY_SERVICE;
    int en = 0, levels = 0, dcomma = 0, bom = 1, bookings = 0;
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
            else if (strcmp(optarg, "site") == 0)
                by = REPORT_BY_SITE;
            else if (strcmp(optarg, "priority") == 0)
                by = REPORT_BY_PRIORITY;
            else if (strcmp(optarg, "staff") == 0)
                by = REPORT_BY_STAFF;
            else {
                fprintf(stderr, "qms-report: --by is service, counter, hour, day, site, priority "
                                "or staff\n");
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
        case O_BOOKINGS:
            bookings = 1;
            break;
        case O_DCOMMA:
            dcomma = 1;
            break;
        case O_NOBOM:
            bom = 0;
            break;
        case O_SITE:
            if (!*optarg || strlen(optarg) >= sizeof(((report_site *)NULL)->name)) {
                fprintf(stderr, "qms-report: --site wants a site name (1 to 63 bytes)\n");
                return EXIT_USAGE;
            }
            site = optarg;
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

    if (bookings && by != REPORT_BY_SERVICE && by != REPORT_BY_DAY) {
        fprintf(stderr, "qms-report: --bookings goes --by service or day\n");
        return EXIT_USAGE;
    }
    /* a booking not checked in is a no-show once its check-in window closes:
     * the slot's start + the center's checkin_grace_min */
    bk_cfg bkc;
    bk_cfg_default(&bkc);
    if (bookings && config_path) {
        char err[256];
        if (bk_cfg_load(config_path, &bkc, err, sizeof err) != QMS_OK) {
            fprintf(stderr, "qms-report: %s: %s\n", config_path, err);
            return EXIT_USAGE;
        }
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
    report_bk bkrep;
    memset(&data, 0, sizeof data);
    memset(&rep, 0, sizeof rep);
    memset(&bkrep, 0, sizeof bkrep);
    char *tmp_path = NULL;
    FILE *out = NULL;
    /* "today" in the center's time: the configuration's, else the offset the
     * controller recorded last */
    int utc_off, latest_levels;
    if (cfg) {
        utc_off = cfg->utc_offset_min;
        latest_levels = cfg->rating_levels;
    } else {
        report_latest_settings(db, &utc_off, &latest_levels);
    }
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
    int given_levels = levels;

    status = EXIT_FAIL;
    char err[512];
    int rc = report_load_site(db, from, to, site, cfg, &data, err, sizeof err);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-report: %s\n", err);
        goto done;
    }
    if (bookings && !data.has_bookings) {
        fprintf(stderr,
                data.hub ? "qms-report: --bookings: a hub's store keeps no bookings (each site's "
                           "own store does)\n"
                         : "qms-report: --bookings: this store is older than the bookings "
                           "(schema version %d, bookings from 4 on)\n",
                data.schema_version);
        goto done;
    }
    if (data.hub && by == REPORT_BY_COUNTER && !site) {
        fprintf(stderr, "qms-report: --by counter on a hub's store wants --site (each site "
                        "numbers its own counters)\n");
        status = EXIT_USAGE;
        goto done;
    }
    /* Each ticket is read with its own day's offset and scale, unless the
     * command line says otherwise. */
    int ndefault = 0, nlater = 0, nabove = 0, lvmin = REPORT_MAX_LEVELS + 1, lvmax = 0;
    for (int i = 0; i < data.nt; i++) {
        report_ticket *t = &data.t[i];
        if (cfg) {
            t->utc_offset_min = cfg->utc_offset_min;
            t->levels = cfg->rating_levels;
            t->settings = REPORT_SET_GIVEN;
        }
        if (given_levels)
            t->levels = given_levels;
        ndefault += t->settings == REPORT_SET_DEFAULT;
        nlater += t->settings == REPORT_SET_LATER;
        nabove += t->rating > t->levels;
        lvmin = t->levels < lvmin ? t->levels : lvmin;
        lvmax = t->levels > lvmax ? t->levels : lvmax;
    }
    if (data.nbadset)
        fprintf(stderr,
                en ? "qms-report: %d day settings in the store make no sense; skipped\n"
                   : "qms-report: %d dòng cài đặt ngày trong kho không hợp lệ; bỏ qua\n",
                data.nbadset);
    if (ndefault && data.hub)
        fprintf(stderr,
                en ? "qms-report: a hub's store does not record the sites' UTC offset and rating "
                     "levels: %d tickets are read as +07:00%s; give --config (or --levels) to be "
                     "sure\n"
                   : "qms-report: kho của hub không ghi múi giờ và số mức đánh giá của các điểm: "
                     "%d phiếu được tính theo +07:00%s; hãy dùng --config (hoặc --levels) cho "
                     "chắc chắn\n",
                ndefault,
                given_levels ? "" : (en ? " with 4 rating levels" : " và 4 mức đánh giá"));
    else if (ndefault)
        fprintf(stderr,
                en ? "qms-report: the store does not record the center's UTC offset and rating "
                     "levels (written before schema version 3, or not by qms-controller): %d "
                     "tickets are read as +07:00%s; give --config to be sure\n"
                   : "qms-report: kho dữ liệu không ghi múi giờ và số mức đánh giá của trung tâm "
                     "(kho cũ hơn phiên bản 3, hoặc không do qms-controller ghi): %d phiếu được "
                     "tính theo +07:00%s; hãy dùng --config cho chắc chắn\n",
                ndefault,
                given_levels ? "" : (en ? " with 4 rating levels" : " và 4 mức đánh giá"));
    if (nlater) {
        char first[11];
        qms_day_str(data.set[0].day, first);
        fprintf(stderr,
                en ? "qms-report: %d tickets are from days before the store first recorded the "
                     "center's settings (%s): read with those\n"
                   : "qms-report: %d phiếu thuộc những ngày trước lần đầu kho ghi cài đặt của "
                     "trung tâm (%s): tính theo cài đặt đó\n",
                nlater, first);
    }
    if (lvmax > 0 && lvmin != lvmax)
        fprintf(stderr,
                en ? "qms-report: the range mixes rating scales (%d to %d levels): the level "
                     "columns count the levels as given, without names; the satisfied share "
                     "takes the top two levels of each day's scale (--levels N reads all as N)\n"
                   : "qms-report: khoảng ngày có nhiều thang đánh giá (%d đến %d mức): các cột "
                     "mức đếm đúng mức đã chấm, không ghi tên mức; tỷ lệ hài lòng lấy hai mức "
                     "cao nhất của thang từng ngày (--levels N để tính tất cả theo N mức)\n",
                lvmin, lvmax);
    if (!levels)
        levels = lvmax > 0 ? lvmax : latest_levels;
    if (nabove) {
        fprintf(stderr,
                en ? "qms-report: %d ratings are above their day's scale (up to %d); counting %d "
                     "levels\n"
                   : "qms-report: %d đánh giá vượt thang của ngày đó (tới mức %d); báo cáo tính "
                     "%d mức\n",
                nabove, data.max_rating, data.max_rating > levels ? data.max_rating : levels);
    }
    if (data.max_rating > levels)
        levels = data.max_rating;
    if (report_build(&data, by, levels, from, to, en, &rep) != QMS_OK) {
        fprintf(stderr, "qms-report: out of memory\n");
        goto done;
    }
    rep.mixed_levels = lvmax > 0 && lvmin != lvmax;
    int64_t now = qms_now(&qms_clock_real);
    if (bookings && report_bk_build(&data, by, from, to, en, qms_local_day(now, utc_off),
                                    qms_local_sec(now, utc_off), bkc.grace_min, &bkrep) != QMS_OK) {
        fprintf(stderr, "qms-report: out of memory\n");
        goto done;
    }
    int no_data = bookings ? data.nbk == 0 : data.nt == 0;
    const char *what = bookings ? (en ? "bookings" : "lịch hẹn") : (en ? "tickets" : "phiếu");
    char dfrom[11], dto[11];
    qms_day_str(from, dfrom);
    qms_day_str(to, dto);
    if (no_data) {
        if (from == to)
            fprintf(stderr,
                    en ? "qms-report: no %s on %s in %s\n"
                       : "qms-report: không có %s nào trong ngày %s (%s)\n",
                    what, dfrom, db);
        else
            fprintf(stderr,
                    en ? "qms-report: no %s from %s to %s in %s\n"
                       : "qms-report: không có %s nào từ %s đến %s (%s)\n",
                    what, dfrom, dto, db);
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
    if (bookings)
        report_write_bk_csv(&bkrep, &w, en, no_data);
    else
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
                en ? "qms-report: %d %s from %s to %s written to %s\n"
                   : "qms-report: đã ghi %d %s từ %s đến %s vào %s\n",
                bookings ? data.nbk : data.nt, what, dfrom, dto, out_path);
    status = EXIT_OK;
done:
    if (out) {
        fclose(out);
        unlink(tmp_path);
    }
    qms_free(tmp_path);
    report_free(&rep);
    report_bk_free(&bkrep);
    report_data_free(&data);
    qms_config_free(cfg);
    return status;
}
