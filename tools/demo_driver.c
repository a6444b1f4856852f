/* qms-demo-driver: simulated citizens and counter staff for the demo. It
 * replays a day of arrivals (examples/day-500.csv) through the broker, as a
 * real kiosk and real counters would: each citizen takes a ticket with a
 * ticket/take request, each counter asks for the next number, starts,
 * serves for the row's service time, finishes, sometimes rates, and skips
 * the no-shows. Time runs `--speed` times faster than the clock.
 *
 * It only speaks the protocol (docs/protocol.md); the controller decides
 * everything. One loop, no threads; requests are asynchronous, matched to
 * their replies by correlation data. */
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/conn.h"
#include "qms/csv.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/mqtt.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROWS 5000
#define CALL_WAIT_S 25   /* a called citizen walks to the counter in this many day-seconds */
#define NOSHOW_WAIT_S 60 /* ... or is skipped after this long */
#define IDLE_RETRY_S 20  /* nothing to call: ask again after this long */
#define REPLY_TIMEOUT_MS 5000

typedef struct row {
    int32_t arrive_s; /* seconds after 07:00 */
    char service[QMS_CODE_MAX];
    int priority;
    int32_t service_s;
    int no_show;
    char ticket[16]; /* given by the controller */
    int taken;       /* 1 request sent, 2 ticket given, -1 refused */
} row;

typedef enum {
    C_IDLE,
    C_WAIT_NEXT,
    C_CALLED,
    C_WAIT_START,
    C_SERVING,
    C_WAIT_DONE,
    C_WAIT_SKIP
} cstate;

typedef struct counter {
    int id;
    cstate st;
    double due;    /* day-second when the next step is due */
    int row;       /* the row being served, -1 if unknown */
    char corr[40]; /* outstanding request */
    int64_t sent_ms;
    int nreq;
} counter;

static struct driver {
    qms_mqtt *m;
    char site[64];
    row rows[MAX_ROWS];
    int nrows, next_row;
    counter *ctr;
    int nctr;
    double speed;
    int64_t t0_ms;          /* monotonic start */
    double start_s;         /* day-second at t0 (seconds after 07:00) */
    char take_corr[64][40]; /* outstanding take requests */
    int take_row[64];
    int ntake;
    int taken, refused, served, skipped, calls;
    volatile sig_atomic_t stop;
} S;

static void on_signal(int sig)
{
    (void)sig;
    S.stop = 1;
}

static double day_now(void)
{
    return S.start_s + (double)(qms_mono_ms() - S.t0_ms) * S.speed / 1000.0;
}

static int find_row_by_ticket(const char *t)
{
    for (int i = 0; i < S.nrows; i++)
        if (S.rows[i].taken == 2 && strcmp(S.rows[i].ticket, t) == 0)
            return i;
    return -1;
}

static int load_trace(const char *path)
{
    char *text;
    size_t len;
    int rc = qms_read_file(path, &text, &len, 64u << 20);
    if (rc) {
        fprintf(stderr, "qms-demo-driver: cannot read %s\n", path);
        return rc;
    }
    qms_csv r;
    qms_csv_init(&r, text, len);
    int ia = -1, isv = -1, ip = -1, iss = -1, ins = -1;
    if (qms_csv_next(&r) == 1) {
        ia = qms_csv_find(&r, "arrive_s");
        isv = qms_csv_find(&r, "service");
        ip = qms_csv_find(&r, "priority");
        iss = qms_csv_find(&r, "service_s");
        ins = qms_csv_find(&r, "no_show");
    }
    if (ia < 0 || isv < 0) {
        fprintf(stderr, "qms-demo-driver: %s: needs arrive_s and service columns\n", path);
        qms_csv_free(&r);
        qms_free(text);
        return QMS_ERR_INVAL;
    }
    while (qms_csv_next(&r) == 1 && S.nrows < MAX_ROWS) {
        if (r.nfields <= ia || r.nfields <= isv)
            continue;
        row *w = &S.rows[S.nrows++];
        memset(w, 0, sizeof *w);
        w->arrive_s = atoi(r.fields[ia]);
        snprintf(w->service, sizeof w->service, "%s", r.fields[isv]);
        w->priority = ip >= 0 && ip < r.nfields ? atoi(r.fields[ip]) : 0;
        w->service_s = iss >= 0 && iss < r.nfields ? atoi(r.fields[iss]) : 300;
        w->no_show = ins >= 0 && ins < r.nfields ? atoi(r.fields[ins]) : 0;
    }
    qms_csv_free(&r);
    qms_free(text);
    return QMS_OK;
}

static void send_counter(counter *c, const char *op, const char *extra)
{
    char topic[160], suffix[64], body[256];
    snprintf(suffix, sizeof suffix, "counter/%d/cmd", c->id);
    qms_topic(topic, sizeof topic, S.site, suffix);
    snprintf(body, sizeof body, "{\"req\":\"drv-c%d-%d-%ld\",\"op\":\"%s\"%s}", c->id, ++c->nreq,
             (long)getpid(), op, extra ? extra : "");
    if (qms_mqtt_request(S.m, topic, body, strlen(body), c->corr) != QMS_OK)
        c->corr[0] = 0;
    c->sent_ms = qms_mono_ms();
}

static void take(int i)
{
    if (S.ntake >= 64)
        return; /* too many in flight: the next loop turn sends it */
    row *w = &S.rows[i];
    char topic[160], body[200];
    qms_topic(topic, sizeof topic, S.site, "ticket/take");
    snprintf(body, sizeof body,
             "{\"req\":\"drv-t%d-%ld\",\"service\":\"%s\",\"priority\":%s,\"kiosk\":\"sim\"}", i,
             (long)getpid(), w->service, w->priority ? "true" : "false");
    if (qms_mqtt_request(S.m, topic, body, strlen(body), S.take_corr[S.ntake]) != QMS_OK)
        return;
    S.take_row[S.ntake++] = i;
    w->taken = 1;
}

static void on_take_reply(int ti, cJSON *js)
{
    int i = S.take_row[ti];
    S.ntake--;
    memmove(&S.take_corr[ti], &S.take_corr[ti + 1], sizeof S.take_corr[0] * (size_t)(S.ntake - ti));
    memmove(&S.take_row[ti], &S.take_row[ti + 1], sizeof S.take_row[0] * (size_t)(S.ntake - ti));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(js, "ticket");
    if (cJSON_IsString(t)) {
        snprintf(S.rows[i].ticket, sizeof S.rows[i].ticket, "%s", t->valuestring);
        S.rows[i].taken = 2;
        S.taken++;
    } else {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(js, "error");
        QMS_INFO("ticket for %s refused: %s", S.rows[i].service,
                 cJSON_IsString(e) ? e->valuestring : "?");
        S.rows[i].taken = -1;
        S.refused++;
    }
}

static void on_counter_reply(counter *c, cJSON *js)
{
    c->corr[0] = 0;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(js, "error");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(js, "ticket");
    double now = day_now();
    switch (c->st) {
    case C_WAIT_NEXT:
        if (!err && cJSON_IsString(t)) {
            c->row = find_row_by_ticket(t->valuestring);
            c->st = C_CALLED;
            S.calls++;
            int ns = c->row >= 0 && S.rows[c->row].no_show;
            c->due = now + (ns ? NOSHOW_WAIT_S : CALL_WAIT_S);
        } else {
            c->st = C_IDLE;
            c->due = now + IDLE_RETRY_S;
        }
        break;
    case C_WAIT_START:
        c->st = C_SERVING;
        c->due = now + (c->row >= 0 ? S.rows[c->row].service_s : 300);
        break;
    case C_WAIT_DONE:
        S.served++;
        c->st = C_IDLE;
        c->due = now;
        if (!err && rand() % 3 == 0) {
            char extra[32];
            snprintf(extra, sizeof extra, ",\"level\":%d", 2 + rand() % 3);
            send_counter(c, "rate", extra);
            c->corr[0] = 0; /* the reply does not matter */
        }
        break;
    case C_WAIT_SKIP:
        S.skipped++;
        c->st = C_IDLE;
        c->due = now;
        break;
    default:
        break;
    }
}

/* --clock controller: the controller's virtual clock, from its status
 * ({"clock":{"at_ms":..,"real_ms":..,"speed":..}}, docs/controller.md) */
static struct {
    int want, have;
    double at_ms, real_ms, speed;
} CK;

static void on_msg(void *ud, const qms_mqtt_msg *msg)
{
    (void)ud;
    if (CK.want && !CK.have && strstr(msg->topic, "/device/controller/main/status")) {
        cJSON *st = cJSON_ParseWithLength(msg->payload, (size_t)(msg->len > 0 ? msg->len : 0));
        const cJSON *ck = cJSON_GetObjectItemCaseSensitive(st, "clock");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(ck, "at_ms");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(ck, "real_ms");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(ck, "speed");
        if (cJSON_IsNumber(a) && cJSON_IsNumber(r) && cJSON_IsNumber(sp) && sp->valuedouble > 0) {
            CK.at_ms = a->valuedouble;
            CK.real_ms = r->valuedouble;
            CK.speed = sp->valuedouble;
            CK.have = 1;
        }
        cJSON_Delete(st);
        return;
    }
    if (!msg->corr || msg->corr_len <= 0 || msg->corr_len >= 40)
        return;
    char corr[40];
    memcpy(corr, msg->corr, (size_t)msg->corr_len);
    corr[msg->corr_len] = 0;
    cJSON *js = cJSON_ParseWithLength(msg->payload, (size_t)msg->len);
    if (!js)
        return;
    for (int i = 0; i < S.ntake; i++)
        if (strcmp(S.take_corr[i], corr) == 0) {
            on_take_reply(i, js);
            cJSON_Delete(js);
            return;
        }
    for (int i = 0; i < S.nctr; i++)
        if (S.ctr[i].corr[0] && strcmp(S.ctr[i].corr, corr) == 0) {
            on_counter_reply(&S.ctr[i], js);
            break;
        }
    cJSON_Delete(js);
}

static void step_counter(counter *c, double now)
{
    if (c->corr[0]) {
        /* a lost reply (broker restart): ask again; the req id changes, so
         * at worst a step is repeated, which the controller refuses */
        if (qms_mono_ms() - c->sent_ms > REPLY_TIMEOUT_MS) {
            c->corr[0] = 0;
            c->st = C_IDLE;
            c->due = now;
        }
        return;
    }
    if (now < c->due)
        return;
    switch (c->st) {
    case C_IDLE:
        c->st = C_WAIT_NEXT;
        send_counter(c, "next", NULL);
        break;
    case C_CALLED:
        if (c->row >= 0 && S.rows[c->row].no_show) {
            c->st = C_WAIT_SKIP;
            send_counter(c, "skip", NULL);
        } else {
            c->st = C_WAIT_START;
            send_counter(c, "start", NULL);
        }
        break;
    case C_SERVING:
        c->st = C_WAIT_DONE;
        send_counter(c, "done", NULL);
        break;
    default:
        break;
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: qms-demo-driver --config FILE --trace day.csv [--broker HOST:PORT]\n"
               "                       [--site S] [--speed X] [--counters N] [--from HH:MM]\n"
               "  --speed X     day-seconds per real second (default 60)\n"
               "  --counters N  staff only the first N counters of the config (default all)\n"
               "  --from HH:MM  start the day at this time (default 07:30)\n"
               "  --limit N     replay only the first N arrivals\n"
               "  --clock controller  follow the controller's clock (its --clock and --speed);\n"
               "                the demo's one clock: --speed and --from are then ignored\n"
               "%s",
            qms_conn_usage());
}

int main(int argc, char **argv)
{
    qms_log_init("qms-demo-driver", QMS_LOG_INFO);
    const char *cfg_path = NULL, *trace = NULL, *site = NULL;
    static qms_conn conn;
    qms_conn_init(&conn);
    char cerr[600];
    const char *from = "07:30";
    int ncounters = 0, limit = 0;
    S.speed = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v && strcmp(a, "--help") != 0) {
            usage(stderr);
            return 2;
        }
        int cr = strncmp(a, "--", 2) == 0 ? qms_conn_option(&conn, a + 2, v, cerr, sizeof cerr) : 0;
        if (cr < 0) {
            fprintf(stderr, "qms-demo-driver: %s\n", cerr);
            return 2;
        }
        if (cr > 0)
            i++;
        else if (strcmp(a, "--config") == 0)
            cfg_path = v, i++;
        else if (strcmp(a, "--trace") == 0)
            trace = v, i++;
        else if (strcmp(a, "--site") == 0)
            site = v, i++;
        else if (strcmp(a, "--speed") == 0)
            S.speed = atof(v), i++;
        else if (strcmp(a, "--counters") == 0)
            ncounters = atoi(v), i++;
        else if (strcmp(a, "--limit") == 0)
            limit = atoi(v), i++;
        else if (strcmp(a, "--from") == 0)
            from = v, i++;
        else if (strcmp(a, "--clock") == 0 && strcmp(v, "controller") == 0)
            CK.want = 1, i++;
        else {
            usage(strcmp(a, "--help") == 0 ? stdout : stderr);
            return strcmp(a, "--help") == 0 ? 0 : 2;
        }
    }
    qms_config *cfg = NULL;
    char err[256];
    int32_t from_s;
    if (!cfg_path || !trace || S.speed <= 0 || S.speed > 10000 || qms_hhmm_parse(from, &from_s)) {
        usage(stderr);
        return 2;
    }
    if (qms_conn_finish(&conn, cerr, sizeof cerr)) {
        fprintf(stderr, "qms-demo-driver: %s\n", cerr);
        return 2;
    }
    qms_mqtt_opts mo = {0};
    qms_conn_apply(&conn, &mo);
    if (qms_config_load_file(cfg_path, &cfg, err, sizeof err) != QMS_OK) {
        fprintf(stderr, "qms-demo-driver: %s: %s\n", cfg_path, err);
        return 2;
    }
    if (load_trace(trace) != QMS_OK) {
        qms_config_free(cfg);
        return 2;
    }
    if (limit > 0 && limit < S.nrows)
        S.nrows = limit;
    snprintf(S.site, sizeof S.site, "%s", site ? site : cfg->site);
    S.nctr = ncounters > 0 && ncounters < cfg->ncounters ? ncounters : cfg->ncounters;
    S.ctr = qms_calloc((size_t)S.nctr, sizeof *S.ctr);
    for (int i = 0; i < S.nctr; i++) {
        S.ctr[i].id = cfg->counters[i].id;
        S.ctr[i].row = -1;
        S.ctr[i].due = (double)(from_s - 7 * 3600) + i * 3; /* staff sit down one by one */
    }
    int utc_offset = cfg->utc_offset_min;
    qms_config_free(cfg);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    qms_mqtt_lib_init();
    char cid[64];
    snprintf(cid, sizeof cid, "qms-demo-driver-%ld", (long)getpid());
    mo.client_id = cid;
    mo.site = S.site;
    mo.device_kind = "counter";
    mo.device_id = "sim";
    if (qms_mqtt_new(&mo, &S.m) != QMS_OK)
        return 1;
    qms_mqtt_set_callbacks(S.m, on_msg, NULL, NULL);
    qms_mqtt_set_status(S.m, "{\"state\":\"online\",\"kind\":\"simulated staff\"}");
    while (!qms_mqtt_connected(S.m) && !S.stop)
        qms_mqtt_loop(S.m, 100);
    S.t0_ms = qms_mono_ms();
    S.start_s = from_s - 7 * 3600;
    if (CK.want) {
        /* one clock for the whole demo: the controller's (its speed, its time) */
        char topic[160];
        qms_topic(topic, sizeof topic, S.site, "device/controller/main/status");
        qms_mqtt_subscribe(S.m, topic, 1);
        int64_t end = qms_mono_ms() + 10000;
        while (!CK.have && !S.stop && qms_mono_ms() < end)
            qms_mqtt_loop(S.m, 50);
        if (!CK.have) {
            QMS_ERROR("--clock controller: the controller's status has no clock (is it running?)");
            return 1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double real = (double)ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
        double vnow = CK.at_ms + (real - CK.real_ms) * CK.speed;
        S.speed = CK.speed;
        S.t0_ms = qms_mono_ms();
        S.start_s = qms_local_sec((int64_t)vnow, utc_offset) - 7 * 3600;
        QMS_INFO("following the controller's clock: speed %gx", S.speed);
    }
    QMS_INFO("replaying %d arrivals from %s at %gx with %d counters", S.nrows, from, S.speed,
             S.nctr);
    int64_t last_report = S.t0_ms;
    while (!S.stop) {
        qms_mqtt_loop(S.m, 20);
        double now = day_now();
        while (S.next_row < S.nrows && S.rows[S.next_row].arrive_s <= now && S.ntake < 64)
            take(S.next_row++);
        int busy = 0;
        for (int i = 0; i < S.nctr; i++) {
            step_counter(&S.ctr[i], now);
            busy += S.ctr[i].st != C_IDLE;
        }
        if (qms_mono_ms() - last_report > 10000) {
            last_report = qms_mono_ms();
            char hhmm[6];
            qms_hhmm_str((int32_t)now + 7 * 3600, hhmm);
            QMS_INFO("%s  taken %d (refused %d)  called %d  served %d  skipped %d", hhmm, S.taken,
                     S.refused, S.calls, S.served, S.skipped);
        }
        /* the day is over when every arrival has been refused, served or
         * skipped and no counter is in the middle of a citizen; or, whatever
         * happened, two hours after the last arrival */
        int inflight = 0;
        for (int i = 0; i < S.nctr; i++)
            inflight += S.ctr[i].st == C_CALLED || S.ctr[i].st == C_SERVING ||
                        S.ctr[i].st == C_WAIT_START || S.ctr[i].st == C_WAIT_DONE ||
                        S.ctr[i].st == C_WAIT_SKIP;
        if (S.next_row >= S.nrows && S.ntake == 0 &&
            ((S.served + S.skipped + S.refused >= S.nrows && inflight == 0) ||
             (S.nrows > 0 && now > S.rows[S.nrows - 1].arrive_s + 7200)))
            break;
        (void)busy;
    }
    QMS_INFO("done: taken %d (refused %d), called %d, served %d, skipped %d", S.taken, S.refused,
             S.calls, S.served, S.skipped);
    printf("{\"taken\":%d,\"refused\":%d,\"called\":%d,\"served\":%d,\"skipped\":%d}\n", S.taken,
           S.refused, S.calls, S.served, S.skipped);
    qms_mqtt_free(S.m);
    qms_mqtt_lib_cleanup();
    qms_free(S.ctr);
    return 0;
}
