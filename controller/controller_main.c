/* qms-controller: the one owner of a center's queue state. Options, the
 * event loop (poll on the broker socket and a signal pipe, timers, and the
 * before-sleep flush that commits a whole burst of requests at once), config
 * reload on SIGHUP, clean stop on SIGTERM. See docs/controller.md. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/conn.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.0.0"
#endif

/* The store's checkpoint runs after this long without a request, or at once
 * when the log has grown to CKPT_LOAD_PAGES (~1 MB of 4 KiB pages) under a
 * load that never pauses, so the log stays bounded whatever the load. */
#define CKPT_QUIET_MS 200
#define CKPT_LOAD_PAGES 256
/* Requests read in one turn of the loop at most; then the turn commits and
 * answers them (and runs due timers) before it reads on. A burst of any size
 * is answered in slices of this many, from the start. */
#define CTL_READ_MAX 128

/* When a checkpoint may run: CKPT_QUIET_MS after the last request arrived
 * and after the last attempt (one a reader held back is not retried at once). */
static int64_t ckpt_due(int64_t last_in_ms, int64_t ckpt_try_ms)
{
    return (last_in_ms > ckpt_try_ms ? last_in_ms : ckpt_try_ms) + CKPT_QUIET_MS;
}

static int sig_pipe[2] = {-1, -1};
static qms_ctl *the_ctl; /* for the signal handler only */

static void on_signal(int sig)
{
    int saved = errno;
    if (the_ctl) {
        if (sig == SIGHUP)
            the_ctl->reload = 1;
        else
            the_ctl->stop = 1;
    }
    char b = (char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* the pipe is full: the loop wakes up anyway */
    }
    errno = saved;
}

/* The wall clock as the controller reads it: the real one, shifted by
 * --clock, plus (tests) the offset in --test-wall-offset-file. */
static int64_t wall_now(const qms_ctl *c)
{
    int64_t extra = 0;
    if (c->wall_offset_file) {
        FILE *f = fopen(c->wall_offset_file, "r");
        long long v;
        if (f && fscanf(f, "%lld", &v) == 1)
            extra = v;
        if (f)
            fclose(f);
    }
    return qms_now(&qms_clock_real) + c->clock_offset_ms + extra;
}

/* The controller's clock: the wall clock read at an anchor (shifted by
 * --clock), then CLOCK_MONOTONIC deltas, run --speed times faster in demos.
 * Every other program can follow it (the status's "clock"). */
static double clock_speed = 1.0;
static int64_t anchor_real_ms; /* the real wall clock at the anchor */

static int64_t anchored_now(void *ctx)
{
    const qms_ctl *c = ctx;
    int64_t d = qms_mono_ms() - c->anchor_mono_ms;
    if (clock_speed != 1.0)
        d = (int64_t)((double)d * clock_speed);
    return c->anchor_wall_ms + d;
}

static void anchor(qms_ctl *c)
{
    c->anchor_wall_ms = wall_now(c);
    c->anchor_mono_ms = qms_mono_ms();
    anchor_real_ms = qms_now(&qms_clock_real);
    c->jump_logged_ms = 0;
}

/* Is any ticket waiting, called or being served? */
static int anything_open(const qms_ctl *c)
{
    for (int si = 0; si < c->cfg->nservices; si++)
        if (c->svc_waiting[si])
            return 1;
    for (int ci = 0; ci < c->cfg->ncounters; ci++)
        if (qms_engine_counter(c->eng, ci)->current)
            return 1;
    return 0;
}

/* Once a second: has the wall clock jumped away from ours? Logged once per
 * jump. Ours follows it again only when no ticket is open, so no duration
 * (a wait, a service) ever spans a jump; order never depended on it. */
static void check_clock(qms_ctl *c)
{
    int64_t mono = qms_mono_ms();
    if (clock_speed != 1.0 || mono < c->next_clock_check_ms)
        return; /* a demo's fast clock does not follow the wall */
    c->next_clock_check_ms = mono + 1000;
    int64_t d = wall_now(c) - anchored_now(c);
    if (d > -1000 && d < 1000)
        return; /* drift: followed when nothing is open */
    if (!anything_open(c)) {
        if (d <= -2000 || d >= 2000)
            QMS_WARN("the wall clock jumped by %+.1f s; no ticket is open, so the controller's "
                     "clock follows it now",
                     (double)d / 1000);
        anchor(c);
        return;
    }
    if (d - c->jump_logged_ms <= -2000 || d - c->jump_logged_ms >= 2000) {
        QMS_WARN("the wall clock jumped by %+.1f s (now %+.1f s from the controller's clock); "
                 "tickets are open, so the controller keeps its monotonic clock (queue order "
                 "and waits stay right) and follows the wall clock once none is open",
                 (double)(d - c->jump_logged_ms) / 1000, (double)d / 1000);
        c->jump_logged_ms = d;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qms-controller --config FILE --db FILE [--broker HOST:PORT] [--site SITE]\n"
            "                      [--client FILE] [--username U --password P]\n"
            "                      [--cafile F [--certfile F --keyfile F]]\n"
            "                      [--clock YYYY-MM-DDTHH:MM:SS[.mmm]] [--verbose] [--help] "
            "[--version]\n"
            "\n"
            "The one owner of a service center's queue: takes requests from kiosks and counters\n"
            "over MQTT (docs/protocol.md), keeps every change in an SQLite file before answering,\n"
            "and publishes calls, counter states and statistics.\n"
            "\n"
            "  --config FILE    the center (JSON, docs/config.md); SIGHUP reloads it\n"
            "  --db FILE        the SQLite store (created if missing)\n"
            "  --site SITE      topic root qms/SITE/ (default: the config's \"site\")\n"
            "  --clock T        run the clock from local time T (tests and demos)\n"
            "  --speed X        run the clock X times faster (demos; 0.1..1000, default 1)\n"
            "  --disk-reserve B refuse takes while the store's disk has fewer than B bytes\n"
            "                   free (default 1048576; 0: only a failing commit stops them)\n"
            "  --web-counters-ms MS  publish qms/SITE/counters (all counter states, for\n"
            "                   the dashboards) at most every MS ms (default 150)\n"
            "  --verbose        debug logging\n"
            "%s",
            qms_conn_usage());
}

/* "2026-11-26T09:00:00[.mmm]" local time of the center -> epoch ms */
static int parse_clock(const char *s, int utc_offset_min, int64_t *out)
{
    char date[11], hms[9];
    int32_t day, sec;
    size_t len = strlen(s);
    if (len < 16 || s[10] != 'T')
        return QMS_ERR_INVAL;
    memcpy(date, s, 10);
    date[10] = 0;
    const char *dot = strchr(s + 11, '.');
    size_t hl = dot ? (size_t)(dot - (s + 11)) : len - 11;
    if (hl >= sizeof hms)
        return QMS_ERR_INVAL;
    memcpy(hms, s + 11, hl);
    hms[hl] = 0;
    if (qms_day_parse(date, &day) || qms_hhmm_parse(hms, &sec))
        return QMS_ERR_INVAL;
    int ms = 0;
    if (dot) {
        if (strlen(dot) != 4 || dot[1] < '0' || dot[1] > '9' || dot[2] < '0' || dot[2] > '9' ||
            dot[3] < '0' || dot[3] > '9')
            return QMS_ERR_INVAL;
        ms = atoi(dot + 1);
    }
    *out = qms_local_to_epoch_ms(day, sec, utc_offset_min) + ms;
    return QMS_OK;
}

/* Can the new config take over today's state? Every service and counter an
 * open ticket refers to must still exist. Writes the reason into why. */
static int reload_allowed(const qms_ctl *c, const qms_config *nc, char *why, size_t whylen)
{
    const qms_config *oc = c->cfg;
    int n = qms_engine_ticket_count(c->eng);
    for (int i = 0; i < n; i++) {
        const qms_ticket *t = qms_engine_ticket_at(c->eng, i);
        if (t->state == QMS_T_DONE || t->state == QMS_T_CANCELLED)
            continue;
        int svcs[2] = {t->service, t->orig_service};
        for (int k = 0; k < 2; k++)
            if (qms_config_service_index(nc, oc->services[svcs[k]].code) < 0) {
                snprintf(why, whylen, "service %s is gone but ticket %s (%s) is open",
                         oc->services[svcs[k]].code, t->label, qms_tstate_name(t->state));
                return 0;
            }
        int ctrs[2] = {t->counter, t->target_counter};
        for (int k = 0; k < 2; k++)
            if (ctrs[k] >= 0 && t->state != QMS_T_NOSHOW && (k == 1 || t->state != QMS_T_WAITING) &&
                qms_config_counter_index(nc, oc->counters[ctrs[k]].id) < 0) {
                snprintf(why, whylen, "counter %d is gone but ticket %s (%s) is at it",
                         oc->counters[ctrs[k]].id, t->label, qms_tstate_name(t->state));
                return 0;
            }
    }
    for (int ci = 0; ci < oc->ncounters; ci++) {
        const qms_counter_state *cs = qms_engine_counter(c->eng, ci);
        if (cs->current && qms_config_counter_index(nc, oc->counters[ci].id) < 0) {
            snprintf(why, whylen, "counter %d is gone but has a ticket", oc->counters[ci].id);
            return 0;
        }
    }
    return 1;
}

/* Tell the store the center's UTC offset and rating scale under today's
 * date, so qms-report reads the day's rows right without the config file.
 * A failure costs reports only (they fall back to an earlier day's values):
 * logged, not fatal. */
static void record_settings(qms_ctl *c)
{
    int rc = qms_store_record_settings(c->store, qms_engine_day(c->eng), c->cfg->utc_offset_min,
                                       c->cfg->rating_levels, qms_now(&c->clock));
    if (rc)
        QMS_ERROR("store: could not record the UTC offset and rating levels for reports (%s)",
                  qms_err_code(rc));
}

/* SIGHUP: load the config again; take it only if today's state fits it. The
 * engine is rebuilt from the store (the truth) under the new config. */
static void reload(qms_ctl *c)
{
    char err[256], why[256];
    qms_config *nc = NULL;
    if (qms_config_load_file(c->config_path, &nc, err, sizeof err)) {
        QMS_ERROR("reload refused: %s (keeping the running config)", err);
        return;
    }
    if (!c->site_override && strcmp(nc->site, c->site) != 0) {
        QMS_ERROR("reload refused: the site changed (%s -> %s); that needs a restart", c->site,
                  nc->site);
        qms_config_free(nc);
        return;
    }
    ctl_staff_list ns;
    if (ctl_staff_load(c->config_path, &ns, err, sizeof err)) {
        QMS_ERROR("reload refused: %s (keeping the running config)", err);
        qms_config_free(nc);
        return;
    }
    if (!reload_allowed(c, nc, why, sizeof why)) {
        ctl_staff_free(&ns);
        QMS_ERROR("reload refused: %s (keeping the running config)", why);
        qms_config_free(nc);
        return;
    }
    qms_engine *ne = NULL;
    int rc = qms_engine_new(nc, &c->clock, &ne);
    if (!rc)
        rc = qms_store_load(c->store, ne);
    if (rc) {
        QMS_ERROR("reload refused: today's tickets do not load under the new config (%s)",
                  qms_err_code(rc));
        qms_engine_free(ne);
        qms_config_free(nc);
        ctl_staff_free(&ns);
        return;
    }
    ctl_staff_free(&c->staff);
    c->staff = ns;
    qms_engine_free(c->eng);
    qms_config_free(c->cfg);
    c->eng = ne;
    c->cfg = nc;
    c->jscanned = 0;
    if (ctl_state_rebuild(c)) {
        QMS_ERROR("out of memory after reload; exiting to restart");
        c->fatal = QMS_ERR_NOMEM;
        return;
    }
    record_settings(c);
    ctl_booking_reload_config(c);
    QMS_INFO("config reloaded: %d services, %d counters", nc->nservices, nc->ncounters);
}

/* Free space for the store: takes stop below CTL_DISK_RESERVE (logged when
 * that starts and ends). Cheap (one statvfs); run every turn of the loop. */
static void check_disk(qms_ctl *c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", c->db_path);
    struct statvfs v;
    if (statvfs(dirname(path), &v) != 0) {
        c->disk_free = -1;
        return; /* cannot tell: do not refuse for it */
    }
    c->disk_free = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
    int low = c->disk_free < c->disk_reserve;
    if (low && !c->disk_low)
        QMS_ERROR("the disk holding %s has %lld KiB free (under %lld KiB): refusing takes with "
                  "db_error until there is room; calling and serving go on",
                  c->db_path, (long long)(c->disk_free / 1024),
                  (long long)(c->disk_reserve / 1024));
    else if (!low && c->disk_low)
        QMS_INFO("the disk has room again (%lld KiB free): taking tickets again",
                 (long long)(c->disk_free / 1024));
    c->disk_low = low;
}

/* A commit failed for want of space: the engine holds changes that are not
 * on disk and never will be. Reload today from the store (the truth), as a
 * restart would, but without leaving. */
static int undo_from_store(qms_ctl *c)
{
    qms_store_discard(c->store);
    qms_engine *ne = NULL;
    int rc = qms_engine_new(c->cfg, &c->clock, &ne);
    if (!rc)
        rc = qms_store_load(c->store, ne);
    if (rc) {
        QMS_ERROR("cannot reload today's state after a full disk (%s); exiting to restart",
                  qms_err_code(rc));
        qms_engine_free(ne);
        return rc;
    }
    qms_engine_free(c->eng);
    c->eng = ne;
    c->jscanned = 0;
    if (ctl_booking_reload(c)) {
        QMS_ERROR("cannot reload the bookings after a full disk; exiting to restart");
        return QMS_ERR_DB;
    }
    rc = ctl_state_rebuild(c);
    if (rc) {
        QMS_ERROR("out of memory after a full disk; exiting to restart");
        return rc;
    }
    c->republish = 1; /* the retained state is the committed one again */
    QMS_INFO("reloaded the last committed state: %d tickets today",
             qms_engine_ticket_count(c->eng));
    return QMS_OK;
}

static void status_json(qms_ctl *c)
{
    char buf[384];
    /* "clock": the controller's time at a real instant and its speed, so that
     * every program of a demo can run on this one clock */
    snprintf(buf, sizeof buf,
             "{\"state\":\"online\",\"version\":\"%s\",\"pid\":%ld,\"since_ms\":%lld,"
             "\"clock\":{\"at_ms\":%lld,\"real_ms\":%lld,\"speed\":%g}}",
             QMS_VERSION, (long)getpid(), (long long)c->started_ms, (long long)c->anchor_wall_ms,
             (long long)anchor_real_ms, clock_speed);
    /* the counters' session first: its "online" follows its subscription on
     * the same link, so whoever sees it can send commands at once */
    if (c->mqtt_cmd) {
        qms_mqtt_set_status(c->mqtt_cmd, buf); /* the same topic: its will says offline too */
        qms_mqtt_flush(c->mqtt_cmd);
    }
    qms_mqtt_set_status(c->mqtt, buf);
}

/* The counters' commands on a session of their own (same user, same status
 * topic and will): the broker queues per session, so a burst of takes does
 * not hold a clerk's "next" back. Opened once the main session is up, so a
 * broker that refuses us is reported once, by the main session. */
static int open_cmd_session(qms_ctl *c)
{
    if (snprintf(c->cmd_client_id, sizeof c->cmd_client_id, "%.120s-cmd", c->client_id) >=
        (int)sizeof c->cmd_client_id)
        return QMS_ERR_INVAL;
    qms_mqtt_opts co = c->mopts;
    co.client_id = c->cmd_client_id;
    if (qms_mqtt_new(&co, &c->mqtt_cmd))
        return QMS_ERR_NOMEM;
    qms_mqtt_set_callbacks(c->mqtt_cmd, ctl_on_cmd_message, NULL, c);
    qms_mqtt_subscribe(c->mqtt_cmd, ctl_topic(c, "counter/+/cmd"), 1);
    return QMS_OK;
}

/* The counters' session, or nothing while it is not open yet. */
static int cmd_pollfd(qms_ctl *c, short *events, int *sleep_ms)
{
    if (c->mqtt_cmd)
        return qms_mqtt_pollfd(c->mqtt_cmd, events, sleep_ms);
    *events = 0;
    *sleep_ms = 1000;
    return -1;
}

static void *cjson_malloc(size_t n)
{
    return qms_malloc(n);
}

int main(int argc, char **argv)
{
    static qms_ctl ctl;
    qms_ctl *c = &ctl;
    const char *clock_start = NULL;
    int verbose = 0, reserve_set = 0;
    static qms_conn conn;
    qms_conn_init(&conn);
    char cerr[600];
    static const struct option longopts[] = {
        {"config", required_argument, 0, 'c'},
        {"db", required_argument, 0, 'd'},
        {"site", required_argument, 0, 's'},
        {"clock", required_argument, 0, 'T'},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {"speed", required_argument, 0, 'S'},
        {"disk-reserve", required_argument, 0, 'R'},
        {"web-counters-ms", required_argument, 0, 'M'},
        {"test-wall-offset-file", required_argument, 0, 'W'},
        QMS_CONN_LONGOPTS,
        {0, 0, 0, 0},
    };
    /* the old short letters of the broker options */
    static const char shorts[] = "bupACK";
    static const int short_val[] = {0, 1, 2, 4, 5, 6};
    qms_mqtt_opts *mo = &c->mopts;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:d:b:s:u:p:A:C:K:T:R:W:S:M:vhV", longopts, NULL)) != -1) {
        const char *sl = opt > 0 && opt < 128 ? strchr(shorts, opt) : NULL;
        if (sl)
            opt = QMS_CONN_OPT_BASE + short_val[sl - shorts];
        if (opt >= QMS_CONN_OPT_BASE && opt < QMS_CONN_OPT_END) {
            if (qms_conn_getopt(&conn, opt, optarg, cerr, sizeof cerr)) {
                fprintf(stderr, "qms-controller: %s\n", cerr);
                return 2;
            }
            continue;
        }
        switch (opt) {
        case 'S': {
            char *end = NULL;
            clock_speed = strtod(optarg, &end);
            if (!end || *end || !(clock_speed >= 0.1 && clock_speed <= 1000)) {
                fprintf(stderr, "qms-controller: bad --speed \"%s\" (want 0.1..1000)\n", optarg);
                return 2;
            }
            break;
        }
        case 'c':
            c->config_path = optarg;
            break;
        case 'd':
            c->db_path = optarg;
            break;
        case 's':
            c->site_override = optarg;
            break;
        case 'T':
            clock_start = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'W':
            c->wall_offset_file = optarg;
            break;
        case 'R': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "qms-controller: bad --disk-reserve \"%s\" (want bytes)\n", optarg);
                return 2;
            }
            c->disk_reserve = v;
            reserve_set = 1;
            break;
        }
        case 'M': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 50 || v > 60000) {
                fprintf(stderr,
                        "qms-controller: bad --web-counters-ms \"%s\" (want 50 to 60000 ms)\n",
                        optarg);
                return 2;
            }
            c->web_ms = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("qms-controller %s\n", QMS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!c->web_ms)
        c->web_ms = CTL_WEB_COUNTERS_MS;
    if (!reserve_set)
        c->disk_reserve = CTL_DISK_RESERVE;
    if (optind < argc || !c->config_path || !c->db_path) {
        fprintf(stderr, "qms-controller: --config and --db are required\n");
        usage(stderr);
        return 2;
    }
    if (qms_conn_finish(&conn, cerr, sizeof cerr)) {
        fprintf(stderr, "qms-controller: %s\n", cerr);
        return 2;
    }
    qms_conn_apply(&conn, mo);
    qms_log_init("qms-controller", verbose ? QMS_LOG_DEBUG : QMS_LOG_INFO);
    cJSON_Hooks hooks = {cjson_malloc, qms_free};
    cJSON_InitHooks(&hooks);

    char err[256];
    const char *host = mo->host;
    int port = mo->port;
    if (qms_config_load_file(c->config_path, &c->cfg, err, sizeof err)) {
        QMS_ERROR("config: %s", err);
        return 1;
    }
    if (ctl_staff_load(c->config_path, &c->staff, err, sizeof err)) {
        QMS_ERROR("config: %s", err);
        return 1;
    }
    if (c->staff.n)
        QMS_INFO("%d staff may sign in at the counters", c->staff.n);
    const char *site = c->site_override ? c->site_override
                       : (conn.set & QMS_CONN_SITE) ? conn.site
                                                    : c->cfg->site;
    for (const char *p = site; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            site = "";
    if (!*site || strlen(site) >= sizeof c->site) {
        QMS_ERROR("the site must be 1-63 letters, digits, '_' or '-'");
        return 2;
    }
    snprintf(c->site, sizeof c->site, "%s", site);

    c->clock.now_ms = anchored_now;
    c->clock.ctx = c;
    if (clock_start) {
        int64_t start;
        if (parse_clock(clock_start, c->cfg->utc_offset_min, &start)) {
            fprintf(stderr, "qms-controller: bad --clock \"%s\" (want YYYY-MM-DDTHH:MM:SS[.mmm])\n",
                    clock_start);
            return 2;
        }
        c->clock_offset_ms = start - qms_now(&qms_clock_real);
        QMS_INFO("clock runs from %s (offset %lld ms)", clock_start, (long long)c->clock_offset_ms);
    }
    anchor(c);
    if (clock_speed != 1.0)
        QMS_INFO("clock runs %gx faster than real time", clock_speed);
    c->started_ms = qms_now(&c->clock);

    int rc = qms_store_open(c->db_path, &c->store);
    if (rc) {
        QMS_ERROR("cannot open the store %s: %s", c->db_path, qms_err_code(rc));
        return 1;
    }
    qms_store_defer_checkpoints(c->store); /* run when no request waits: see the loop */
    if (ctl_sync_start(c)) {
        QMS_ERROR("cannot start the thread that syncs the store's log");
        return 1;
    }
    rc = qms_engine_new(c->cfg, &c->clock, &c->eng);
    if (!rc)
        rc = qms_store_load(c->store, c->eng);
    if (!rc)
        rc = ctl_state_rebuild(c);
    if (rc) {
        QMS_ERROR("cannot load today's state from %s: %s", c->db_path, qms_err_code(rc));
        return 1;
    }
    record_settings(c);
    if (ctl_ticket_init(c)) {
        QMS_ERROR("cannot read or make the ticket token secret in %s", c->db_path);
        return 1;
    }
    if (ctl_alerts_init(c)) {
        QMS_ERROR("cannot set up alerts in %s", c->db_path);
        return 1;
    }
    if (ctl_booking_init(c)) {
        QMS_ERROR("cannot set up bookings (rules in %s, store %s)", c->config_path, c->db_path);
        return 1;
    }
    ctl_stream_init(c);
    {
        char day[11];
        qms_day_str(qms_engine_day(c->eng), day);
        QMS_INFO("site %s, day %s: %d tickets loaded, %d services, %d counters", c->site, day,
                 qms_engine_ticket_count(c->eng), c->cfg->nservices, c->cfg->ncounters);
    }

    if (pipe(sig_pipe) || fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK) ||
        fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK)) {
        QMS_ERROR("pipe: %s", strerror(errno));
        return 1;
    }
    the_ctl = c;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* over a file size limit a write should fail (EFBIG) and the commit with
     * it, answered db_error, rather than kill us mid-batch */
    signal(SIGXFSZ, SIG_IGN);

    qms_mqtt_lib_init();
    if (snprintf(c->client_id, sizeof c->client_id, "qms-controller-%s", c->site) >=
        (int)sizeof c->client_id) {
        QMS_ERROR("site name too long for a client id: %s", c->site);
        return 2;
    }
    mo->client_id = c->client_id;
    mo->site = c->site;
    mo->device_kind = "controller";
    mo->device_id = "main";
    mo->keepalive_s = 10;
    /* requests sent while we restart wait for us at the broker (their own
     * message expiry drops those nobody waits for any more) */
    mo->session_expiry_s = 600;
    /* a burst of requests should reach us in one read, to be committed at once */
    mo->inflight_max = 1000;
    mo->read_max = CTL_READ_MAX;
    if (qms_mqtt_new(mo, &c->mqtt)) {
        QMS_ERROR("cannot set up the MQTT session");
        return 1;
    }
    qms_mqtt_set_callbacks(c->mqtt, ctl_on_message, ctl_on_connect, c);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "ticket/take"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "ticket/cancel"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "booking/slots"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "booking/make"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "booking/cancel"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "device/+/+/status"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "alert/ack"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "report"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "stream/replay"), 1);
    status_json(c);
    QMS_INFO("qms-controller %s started (broker %s:%d, store %s)", QMS_VERSION, host, port,
             c->db_path);

    int exit_code = 0, status_said = 0;
    int64_t last_in_ms = qms_mono_ms(), ckpt_try_ms = 0;
    while (!c->stop) {
        if (!c->mqtt_cmd && qms_mqtt_connected(c->mqtt) && open_cmd_session(c)) {
            QMS_ERROR("cannot set up the MQTT session for counter commands");
            exit_code = 1;
            break;
        }
        /* "online" once both sessions are up (then each says it again on
         * every reconnect) */
        if (!status_said && c->mqtt_cmd && qms_mqtt_connected(c->mqtt_cmd)) {
            status_json(c);
            status_said = 1;
        }
        if (c->reload) {
            c->reload = 0;
            ctl_flush(c); /* nothing half-done while the engine is swapped */
            if (!c->fatal)
                reload(c);
        }
        /* requests waiting on the socket go first: periodic publishing (stats,
         * queues) costs milliseconds, and a request should not wait for it */
        short ev;
        int dummy, busy = 0;
        int mfd = qms_mqtt_pollfd(c->mqtt, &ev, &dummy);
        int mcfd = cmd_pollfd(c, &ev, &dummy);
        if (qms_mqtt_more(c->mqtt) || (c->mqtt_cmd && qms_mqtt_more(c->mqtt_cmd))) {
            busy = 1;
        } else if (mfd >= 0 || mcfd >= 0) {
            struct pollfd pin[2] = {{.fd = mfd, .events = POLLIN}, {.fd = mcfd, .events = POLLIN}};
            busy = poll(pin, 2, 0) > 0;
        }
        check_clock(c);
        ctl_timers(c, busy);
        /* the before-sleep hook: commit what this iteration did, then tell.
         * Group commit: while the log's sync of the last commit runs, the
         * batch grows (up to CTL_READ_MAX requests) and commits when the
         * sync is done -- its replies could not leave before that anyway */
        int defer = c->sync && c->commit_gen > c->synced_gen && c->batch_reqs < CTL_READ_MAX &&
                    !c->fatal && !c->stop;
        if ((!defer && ctl_flush(c)) || c->fatal) {
            exit_code = 1;
            break;
        }
        if (c->undo) {
            c->undo = 0;
            if (undo_from_store(c)) {
                exit_code = 1;
                break;
            }
        }
        ctl_alerts_run(c); /* derived state: after the flush, never in a batch's way */
        ctl_tickets_run(c);
        ctl_hourly_run(c);
        /* the store's checkpoint (two fsyncs) when requests have paused, so
         * that none waits for it; under a load that never pauses, once the
         * log is long */
        int pages = qms_store_wal_pages(c->store);
        int64_t now = qms_mono_ms();
        if (pages >= CKPT_LOAD_PAGES ||
            (pages > 0 && !busy && now >= ckpt_due(last_in_ms, ckpt_try_ms))) {
            ckpt_try_ms = now;
            if (qms_store_checkpoint(c->store))
                QMS_WARN("store: checkpoint failed (the log stays; tried again later)");
        }
        short events, cevents;
        int sleep_ms, csleep_ms;
        int fd = qms_mqtt_pollfd(c->mqtt, &events, &sleep_ms);
        int cfd = cmd_pollfd(c, &cevents, &csleep_ms);
        if (csleep_ms < sleep_ms)
            sleep_ms = csleep_ms;
        int t = ctl_next_timer_ms(c);
        if (t < sleep_ms)
            sleep_ms = t;
        if (qms_store_wal_pages(c->store) > 0) {
            int64_t wait = ckpt_due(last_in_ms, ckpt_try_ms) - qms_mono_ms();
            if (wait < sleep_ms)
                sleep_ms = wait < 0 ? 0 : (int)wait;
        }
        /* the last read stopped at CTL_READ_MAX */
        int more = qms_mqtt_more(c->mqtt), cmore = c->mqtt_cmd && qms_mqtt_more(c->mqtt_cmd);
        if (more || cmore)
            sleep_ms = 0;
        struct pollfd p[4] = {{.fd = sig_pipe[0], .events = POLLIN},
                              {.fd = fd, .events = events},
                              {.fd = cfd, .events = cevents},
                              {.fd = ctl_sync_fd(c), .events = POLLIN}};
        int n = poll(p, 4, sleep_ms); /* a negative fd is left out by poll */
        if (n < 0 && errno != EINTR) {
            QMS_ERROR("poll: %s", strerror(errno));
            exit_code = 1;
            break;
        }
        if (n > 0 && (p[0].revents & POLLIN)) {
            char buf[64];
            while (read(sig_pipe[0], buf, sizeof buf) > 0) {
            }
        }
        /* commits now on disk: what waited for them goes out */
        if (n > 0 && (p[3].revents & POLLIN) && ctl_sync_poll(c)) {
            exit_code = 1;
            break;
        }
        short rev = n > 0 && fd >= 0 ? p[1].revents : 0;
        short crev = n > 0 && cfd >= 0 ? p[2].revents : 0;
        if (more && fd >= 0)
            rev |= POLLIN;
        if (cmore && cfd >= 0)
            crev |= POLLIN;
        if ((rev | crev) & POLLIN)
            last_in_ms = qms_mono_ms();
        check_disk(c); /* right before the requests are read */
        /* the counters first: a clerk's command is in this turn's batch even
         * when the kiosks' session has a backlog */
        /* a batch carried over (group commit) takes in at most what fills
         * it to CTL_READ_MAX */
        int room = CTL_READ_MAX - c->batch_reqs;
        if (c->mqtt_cmd) {
            qms_mqtt_set_read_max(c->mqtt_cmd, room > 0 ? room : 1);
            qms_mqtt_io(c->mqtt_cmd, crev);
        }
        room = CTL_READ_MAX - c->batch_reqs;
        qms_mqtt_set_read_max(c->mqtt, room > 0 ? room : 1);
        qms_mqtt_io(c->mqtt, rev);
    }
    if (!exit_code && ctl_flush(c))
        exit_code = 1;
    if (ctl_sync_wait(c)) /* the last commits on disk, then their replies */
        exit_code = 1;
    /* the last replies (or the db_error answers) must leave before we do */
    if (c->mqtt_cmd)
        qms_mqtt_drain(c->mqtt_cmd, 1000);
    qms_mqtt_drain(c->mqtt, 2000);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    QMS_INFO("stopping: %llu requests (%llu refused, %llu malformed, %llu with a bad response "
             "topic, %llu repeated), %llu commits, largest batch %d requests, cpu %.2f s user + "
             "%.2f s system",
             (unsigned long long)c->nreq, (unsigned long long)c->nrefused,
             (unsigned long long)c->nmalformed, (unsigned long long)c->nbadrt,
             (unsigned long long)c->ndup, (unsigned long long)c->ncommits, c->max_batch,
             ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
             ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    ctl_sync_stop(c);
    qms_mqtt_free(c->mqtt_cmd);
    qms_mqtt_free(c->mqtt);
    qms_mqtt_lib_cleanup();
    ctl_alerts_free(c);
    ctl_booking_free(c);
    ctl_ticket_free(c);
    ctl_state_free(c);
    qms_engine_free(c->eng);
    ctl_stream_free(c);
    qms_store_close(c->store);
    qms_config_free(c->cfg);
    ctl_staff_free(&c->staff);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    return exit_code;
}
