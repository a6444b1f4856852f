/* qms-controller: the one owner of a center's queue state. Options, the
 * event loop (poll on the broker socket and a signal pipe, timers, and the
 * before-sleep flush that commits a whole burst of requests at once), config
 * reload on SIGHUP, clean stop on SIGTERM. See docs/controller.md. */
#include "ctl.h"

#include "qms/alloc.h"
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
#include <sys/resource.h>
#include <unistd.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.0.0"
#endif

/* The store's checkpoint runs after this long without a request, or at once
 * when the log has grown to CKPT_FORCE_PAGES (~40 MB) under unbroken load. */
#define CKPT_QUIET_MS 200
#define CKPT_FORCE_PAGES 10000

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

/* The controller's clock: real time, shifted by --clock, run --speed times
 * faster (demos). Every other program can follow it (the status's "clock"). */
static double clock_speed = 1.0;
static int64_t clock_real0, clock_virt0;

static int64_t shifted_now(void *ctx)
{
    const qms_ctl *c = ctx;
    int64_t real = qms_now(&qms_clock_real);
    if (clock_speed == 1.0)
        return real + c->clock_offset_ms;
    return clock_virt0 + (int64_t)((double)(real - clock_real0) * clock_speed);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qms-controller --config FILE --db FILE [--broker HOST:PORT] [--site SITE]\n"
            "                      [--username U --password P] [--cafile F [--certfile F --keyfile "
            "F]]\n"
            "                      [--clock YYYY-MM-DDTHH:MM:SS[.mmm]] [--verbose] [--help] "
            "[--version]\n"
            "\n"
            "The one owner of a service center's queue: takes requests from kiosks and counters\n"
            "over MQTT (docs/protocol.md), keeps every change in an SQLite file before answering,\n"
            "and publishes calls, counter states and statistics.\n"
            "\n"
            "  --config FILE    the center (JSON, docs/config.md); SIGHUP reloads it\n"
            "  --db FILE        the SQLite store (created if missing)\n"
            "  --broker H:P     MQTT broker (default 127.0.0.1:1883)\n"
            "  --site SITE      topic root qms/SITE/ (default: the config's \"site\")\n"
            "  --username U, --password P   broker credentials (or QMS_BROKER_PASSWORD)\n"
            "  --cafile F       TLS with this CA; --certfile/--keyfile for a client certificate\n"
            "  --clock T        run the clock from local time T (tests and demos)\n"
            "  --speed X        run the clock X times faster (demos; 0.1..1000, default 1)\n"
            "  --verbose        debug logging\n");
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
    if (!reload_allowed(c, nc, why, sizeof why)) {
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
        return;
    }
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
    QMS_INFO("config reloaded: %d services, %d counters", nc->nservices, nc->ncounters);
}

static void status_json(qms_ctl *c)
{
    char buf[384];
    /* "clock": the controller's time at a real instant and its speed, so that
     * every program of a demo can run on this one clock */
    snprintf(buf, sizeof buf,
             "{\"state\":\"online\",\"version\":\"%s\",\"pid\":%ld,\"since_ms\":%lld,"
             "\"clock\":{\"at_ms\":%lld,\"real_ms\":%lld,\"speed\":%g}}",
             QMS_VERSION, (long)getpid(), (long long)c->started_ms, (long long)clock_virt0,
             (long long)clock_real0, clock_speed);
    qms_mqtt_set_status(c->mqtt, buf);
}

static void *cjson_malloc(size_t n)
{
    return qms_malloc(n);
}

int main(int argc, char **argv)
{
    static qms_ctl ctl;
    qms_ctl *c = &ctl;
    const char *broker = "127.0.0.1:1883", *clock_start = NULL;
    int verbose = 0;
    static const struct option longopts[] = {
        {"config", required_argument, 0, 'c'},   {"db", required_argument, 0, 'd'},
        {"broker", required_argument, 0, 'b'},   {"site", required_argument, 0, 's'},
        {"username", required_argument, 0, 'u'}, {"password", required_argument, 0, 'p'},
        {"cafile", required_argument, 0, 'A'},   {"certfile", required_argument, 0, 'C'},
        {"keyfile", required_argument, 0, 'K'},  {"clock", required_argument, 0, 'T'},
        {"verbose", no_argument, 0, 'v'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {"speed", required_argument, 0, 'S'},
        {0, 0, 0, 0},
    };
    qms_mqtt_opts *mo = &c->mopts;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:d:b:s:u:p:A:C:K:T:vhVS:", longopts, NULL)) != -1) {
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
        case 'b':
            broker = optarg;
            break;
        case 's':
            c->site_override = optarg;
            break;
        case 'u':
            mo->username = optarg;
            break;
        case 'p':
            mo->password = optarg;
            break;
        case 'A':
            mo->cafile = optarg;
            break;
        case 'C':
            mo->certfile = optarg;
            break;
        case 'K':
            mo->keyfile = optarg;
            break;
        case 'T':
            clock_start = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
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
    if (optind < argc || !c->config_path || !c->db_path) {
        fprintf(stderr, "qms-controller: --config and --db are required\n");
        usage(stderr);
        return 2;
    }
    if (mo->username && !mo->password)
        mo->password = getenv("QMS_BROKER_PASSWORD");
    if ((mo->certfile || mo->keyfile) && !mo->cafile) {
        fprintf(stderr, "qms-controller: --certfile/--keyfile need --cafile\n");
        return 2;
    }
    qms_log_init("qms-controller", verbose ? QMS_LOG_DEBUG : QMS_LOG_INFO);
    cJSON_Hooks hooks = {cjson_malloc, qms_free};
    cJSON_InitHooks(&hooks);

    char host[256], err[256];
    int port;
    if (qms_parse_hostport(broker, host, sizeof host, &port)) {
        fprintf(stderr, "qms-controller: bad --broker \"%s\" (want host:port)\n", broker);
        return 2;
    }
    if (qms_config_load_file(c->config_path, &c->cfg, err, sizeof err)) {
        QMS_ERROR("config: %s", err);
        return 1;
    }
    const char *site = c->site_override ? c->site_override : c->cfg->site;
    for (const char *p = site; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            site = "";
    if (!*site || strlen(site) >= sizeof c->site) {
        QMS_ERROR("the site must be 1-63 letters, digits, '_' or '-'");
        return 2;
    }
    snprintf(c->site, sizeof c->site, "%s", site);

    c->clock.now_ms = shifted_now;
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
    clock_real0 = qms_now(&qms_clock_real);
    clock_virt0 = clock_real0 + c->clock_offset_ms;
    if (clock_speed != 1.0)
        QMS_INFO("clock runs %gx faster than real time", clock_speed);
    c->started_ms = qms_now(&c->clock);

    int rc = qms_store_open(c->db_path, &c->store);
    if (rc) {
        QMS_ERROR("cannot open the store %s: %s", c->db_path, qms_err_code(rc));
        return 1;
    }
    qms_store_defer_checkpoints(c->store); /* run when no request waits: see the loop */
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
    mo->host = host;
    mo->port = port;
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
    if (qms_mqtt_new(mo, &c->mqtt)) {
        QMS_ERROR("cannot set up the MQTT session");
        return 1;
    }
    qms_mqtt_set_callbacks(c->mqtt, ctl_on_message, ctl_on_connect, c);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "ticket/take"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "ticket/cancel"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "counter/+/cmd"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "device/+/+/status"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "alert/ack"), 1);
    qms_mqtt_subscribe(c->mqtt, ctl_topic(c, "report"), 1);
    status_json(c);
    QMS_INFO("qms-controller %s started (broker %s:%d, store %s)", QMS_VERSION, host, port,
             c->db_path);

    int exit_code = 0;
    int64_t last_in_ms = qms_mono_ms(), ckpt_try_ms = 0;
    while (!c->stop) {
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
        if (mfd >= 0) {
            struct pollfd pin = {.fd = mfd, .events = POLLIN};
            busy = poll(&pin, 1, 0) > 0;
        }
        ctl_timers(c, busy);
        /* the before-sleep hook: commit what this iteration did, then tell */
        if (ctl_flush(c) || c->fatal) {
            exit_code = 1;
            break;
        }
        ctl_alerts_run(c); /* derived state: after the flush, never in a batch's way */
        ctl_tickets_run(c);
        ctl_hourly_run(c);
        /* the store's checkpoint (two fsyncs) when requests have paused, so
         * that none waits for it; under a load that never pauses, once the
         * log is long */
        int pages = qms_store_wal_pages(c->store);
        int64_t now = qms_mono_ms();
        if (pages >= CKPT_FORCE_PAGES ||
            (pages > 0 && !busy && now >= ckpt_due(last_in_ms, ckpt_try_ms))) {
            ckpt_try_ms = now;
            if (qms_store_checkpoint(c->store))
                QMS_WARN("store: checkpoint failed (the log stays; tried again later)");
        }
        short events;
        int sleep_ms;
        int fd = qms_mqtt_pollfd(c->mqtt, &events, &sleep_ms);
        int t = ctl_next_timer_ms(c);
        if (t < sleep_ms)
            sleep_ms = t;
        if (qms_store_wal_pages(c->store) > 0) {
            int64_t wait = ckpt_due(last_in_ms, ckpt_try_ms) - qms_mono_ms();
            if (wait < sleep_ms)
                sleep_ms = wait < 0 ? 0 : (int)wait;
        }
        struct pollfd p[2] = {{.fd = sig_pipe[0], .events = POLLIN}, {.fd = fd, .events = events}};
        int n = poll(p, fd >= 0 ? 2 : 1, sleep_ms);
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
        if (n > 0 && fd >= 0 && (p[1].revents & POLLIN))
            last_in_ms = qms_mono_ms();
        qms_mqtt_io(c->mqtt, n > 0 && fd >= 0 ? p[1].revents : 0);
    }
    if (!exit_code && ctl_flush(c))
        exit_code = 1;
    /* the last replies (or the db_error answers) must leave before we do */
    qms_mqtt_drain(c->mqtt, 2000);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    QMS_INFO("stopping: %llu requests (%llu refused, %llu malformed, %llu repeated), %llu commits, "
             "cpu %.2f s user + %.2f s system",
             (unsigned long long)c->nreq, (unsigned long long)c->nrefused,
             (unsigned long long)c->nmalformed, (unsigned long long)c->ndup,
             (unsigned long long)c->ncommits, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
             ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    qms_mqtt_free(c->mqtt);
    qms_mqtt_lib_cleanup();
    ctl_alerts_free(c);
    ctl_ticket_free(c);
    ctl_state_free(c);
    qms_engine_free(c->eng);
    qms_store_close(c->store);
    qms_config_free(c->cfg);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    return exit_code;
}
