/* qms-counter: the counter clerk's client for counters without a keypad.
 * One-shot commands (`qms-counter --counter 5 next`) print what happened in
 * plain words and exit 0, or print the refusal and exit non-zero; `-i` runs
 * the interactive terminal mode (counter_tui.c). docs/counter.md. */
#include "counter_client.h"
#include "counter_msg.h"
#include "counter_text.h"
#include "counter_tui.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/err.h"
#include "qms/log.h"
#include "qms/mqtt.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef QMS_VERSION
#define QMS_VERSION "0.1.0"
#endif

/* Exit statuses (docs/counter.md). */
enum {
    EXIT_DONE = 0,      /* the controller did it */
    EXIT_REFUSED = 1,   /* the controller refused, with its reason */
    EXIT_USAGE = 2,     /* bad command line or configuration */
    EXIT_NO_BROKER = 3, /* the broker cannot be reached */
    EXIT_NO_ANSWER = 4, /* connected, but the controller did not answer */
};

static void usage(FILE *f)
{
    fputs("Usage: qms-counter --counter N [options] COMMAND\n"
          "       qms-counter --counter N [options] -i\n"
          "\n"
          "Commands:\n"
          "  next                    finish the current ticket, call the next one\n"
          "  recall                  call the current ticket again\n"
          "  call A023               call that number (waiting, or a recent no-show)\n"
          "  start                   the citizen sat down (called -> serving)\n"
          "  done                    the current ticket is finished\n"
          "  skip                    the called citizen did not come (no-show)\n"
          "  transfer --to-service DD [--to-counter 7]\n"
          "                          send the current ticket to another service/counter\n"
          "  rate 4                  the citizen's rating of the current or last ticket\n"
          "  pause | resume          stop calling for a moment / open again\n"
          "  close                   close the counter\n"
          "  open [--staff NAME]     open the counter (and say who is at it)\n"
          "  status                  show the counter's state\n"
          "  queue                   list the tickets waiting for this counter\n"
          "\n"
          "Options:\n"
          "  -c, --counter N         the counter number (required)\n"
          "  -b, --broker HOST:PORT  MQTT broker (default 127.0.0.1:1883)\n"
          "  -s, --site S            the center's site name (topics qms/S/...)\n"
          "      --config FILE       the center's configuration (gives the site and names)\n"
          "  -l, --lang vi|en        language of what is printed (default vi)\n"
          "  -i, --interactive       the terminal mode (single keys, live view)\n"
          "  -t, --timeout SECONDS   give up waiting for the controller (default 8)\n"
          "      --user U --password P --cafile F --cert F --key F   broker login / TLS\n"
          "  -v, --verbose           log the MQTT session to stderr\n"
          "  -h, --help, -V, --version\n"
          "\n"
          "Exit status: 0 done, 1 refused by the controller, 2 usage, 3 broker\n"
          "unreachable, 4 no answer from the controller.\n",
          f);
}

typedef struct oneshot {
    int done;
    int err;
    counter_info *reply;
    counter_info *state; /* the counter's retained state, as last heard */
    char state_topic[160];
} oneshot;

static void oneshot_reply(void *ud, const counter_req *req, int err, const counter_info *reply)
{
    (void)req;
    oneshot *s = ud;
    s->done = 1;
    s->err = err;
    if (reply) {
        s->reply = qms_malloc(sizeof *s->reply);
        if (s->reply)
            *s->reply = *reply;
    }
}

static void oneshot_msg(void *ud, const qms_mqtt_msg *m)
{
    oneshot *s = ud;
    if (strcmp(m->topic, s->state_topic) != 0 || m->len == 0)
        return;
    if (!s->state && !(s->state = qms_malloc(sizeof *s->state)))
        return;
    if (counter_info_decode(m->payload, (size_t)m->len, s->state) != QMS_OK) {
        qms_free(s->state);
        s->state = NULL;
    }
}

/* Print text for a terminal or a pipe: control characters from the network
 * are dropped (counter_text_fit). */
static void print_clean(FILE *f, const char *text)
{
    size_t cap = strlen(text) * 1 + 8;
    char *buf = qms_malloc(cap);
    if (!buf)
        return;
    counter_text_fit(text, (size_t)-1, buf, cap);
    fputs(buf, f);
    fputc('\n', f);
    qms_free(buf);
}

static void print_queue(const counter_info *r, const qms_config *cfg, int en)
{
    /* waits by the controller's clock when it says it, not ours */
    int64_t now = r->at_ms > 0 ? r->at_ms : qms_now(&qms_clock_real);
    for (int i = 0; i < r->nqueue; i++) {
        const counter_qentry *q = &r->queue[i];
        const char *svc = q->service[0] ? q->service : counter_service_of_label(cfg, q->ticket);
        char line[512];
        int n = snprintf(line, sizeof line, "%3d. %-6s %s", i + 1, q->ticket,
                         svc ? counter_service_name(cfg, svc, en) : "");
        if (q->priority > 0 && n > 0 && (size_t)n < sizeof line)
            n += snprintf(line + n, sizeof line - (size_t)n, " [%s%s%s]",
                          q->priority >= 2 ? (en ? "appointment" : "lịch hẹn")
                                           : (en ? "priority" : "ưu tiên"),
                          q->priority >= 2 && q->appt[0] ? " " : "",
                          q->priority >= 2 ? q->appt : "");
        if (q->taken_ms > 0 && now >= q->taken_ms && n > 0 && (size_t)n < sizeof line)
            snprintf(line + n, sizeof line - (size_t)n,
                     en ? ", waiting %lld min" : ", chờ %lld phút",
                     (long long)((now - q->taken_ms) / 60000));
        print_clean(stdout, line);
    }
    int total = r->queue_len >= 0 ? r->queue_len : r->waiting;
    if (total > r->nqueue)
        printf(en ? "... and %d more.\n" : "... và %d số nữa.\n", total - r->nqueue);
}

/* Send req and wait for its outcome (in s). QMS_OK, or why nothing was sent. */
static int ask(counter_client *cl, counter_req *req, oneshot *s)
{
    qms_free(s->reply);
    s->reply = NULL;
    s->done = 0;
    int rc = counter_client_send(cl, req);
    if (rc != QMS_OK)
        return rc;
    while (!s->done)
        counter_client_poll(cl, 100);
    return QMS_OK;
}

static int run_oneshot(counter_client *cl, counter_req *req, int list, int timeout_ms, int en,
                       const char *broker, int has_cert)
{
    oneshot s = {0};
    char suffix[64];
    snprintf(suffix, sizeof suffix, "counter/%d/state", counter_client_counter(cl));
    qms_topic(s.state_topic, sizeof s.state_topic, counter_client_site(cl), suffix);
    /* the retained state fills in what a reply leaves out (who is at the counter) */
    counter_client_subscribe(cl, suffix);
    counter_client_set_callbacks(cl, oneshot_reply, oneshot_msg, NULL, &s);
    /* wait for the broker, within the same budget */
    int64_t deadline = qms_mono_ms() + (timeout_ms < 3000 ? timeout_ms : 3000);
    while (!counter_client_connected(cl) && qms_mono_ms() < deadline)
        counter_client_poll(cl, 50);
    if (!counter_client_connected(cl)) {
        /* why, when the session knows (TLS, login), else the plain words */
        char why[512];
        counter_link_text(counter_client_link_failure(cl), broker, has_cert, en, why, sizeof why);
        fprintf(stderr, "%s\n", why);
        return EXIT_NO_BROKER;
    }
    if (req->op == COUNTER_OP_TRANSFER && req->to_service[0]) {
        /* the code as the center spells it ("dd" -> "DD"): wait a moment for
         * the retained configuration when no file gave it */
        int64_t cfg_deadline = qms_mono_ms() + 500;
        while (!counter_client_config(cl) && qms_mono_ms() < cfg_deadline)
            counter_client_poll(cl, 20);
        char code[QMS_CODE_MAX];
        counter_copy(code, sizeof code,
                     counter_service_code(counter_client_config(cl), req->to_service));
        memcpy(req->to_service, code, sizeof code);
    }
    int rc = ask(cl, req, &s);
    if (rc != QMS_OK) {
        fprintf(stderr, "%s\n", qms_err_message(rc, en ? "en" : "vi"));
        qms_free(s.state);
        return rc == QMS_ERR_UNAVAILABLE ? EXIT_NO_BROKER : EXIT_USAGE;
    }
    int status;
    if (s.err == QMS_ERR_UNAVAILABLE) {
        fprintf(stderr,
                en ? "Lost the connection to the broker %s; the command may not have been done. "
                     "Check with \"status\".\n"
                   : "Mất kết nối tới máy chủ tin nhắn %s; lệnh có thể chưa được thực hiện. "
                     "Kiểm tra lại bằng lệnh \"status\".\n",
                broker);
        status = EXIT_NO_BROKER;
    } else if (s.err != QMS_OK || !s.reply) {
        if (counter_client_controller_online(cl) == 0)
            fputs(en ? "The controller (qms-controller) is offline: nothing was done.\n"
                     : "Bộ điều khiển (qms-controller) đang ngừng hoạt động: lệnh chưa được thực "
                       "hiện.\n",
                  stderr);
        else if (counter_client_controller_online(cl) < 0)
            /* no controller status on this site at all: most often the wrong
             * --site (or none, and no --config to give it) */
            fprintf(stderr,
                    en ? "The controller did not answer within %d s, and no controller has "
                         "announced itself on site \"%s\" (topics qms/%s/...): is that the "
                         "center's site? Give --site or --config.\n"
                       : "Bộ điều khiển không trả lời sau %d giây, và không có bộ điều khiển "
                         "nào của trung tâm \"%s\" (chủ đề qms/%s/...): đó có đúng là tên "
                         "trung tâm (site) không? Hãy dùng --site hoặc --config.\n",
                    timeout_ms / 1000, counter_client_site(cl), counter_client_site(cl));
        else
            fprintf(stderr,
                    en ? "The controller did not answer within %d s.\n"
                       : "Bộ điều khiển không trả lời sau %d giây.\n",
                    timeout_ms / 1000);
        status = EXIT_NO_ANSWER;
    } else if (s.reply->err != QMS_OK) {
        const char *m = s.reply->message[0] ? s.reply->message
                                            : qms_err_message(s.reply->err, en ? "en" : "vi");
        print_clean(stderr, m);
        status = EXIT_REFUSED;
    } else {
        const qms_config *cfg = counter_client_config(cl);
        if (!s.reply->staff[0] && s.state && s.state->staff[0])
            memcpy(s.reply->staff, s.state->staff, sizeof s.reply->staff);
        char text[1024];
        counter_describe(req, s.reply, cfg, counter_client_counter(cl), en, text, sizeof text);
        print_clean(stdout, text);
        if (list) {
            if (!s.reply->has_queue)
                puts(en ? "(the controller sent no list)" : "(bộ điều khiển không gửi danh sách)");
            else
                print_queue(s.reply, cfg, en);
        }
        status = EXIT_DONE;
    }
    qms_free(s.reply);
    qms_free(s.state);
    return status;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_CONFIG = 256, O_USER, O_PASS, O_CAFILE, O_CERT, O_KEY, O_TO_SVC, O_TO_CTR, O_STAFF };
    static const struct option opts[] = {
        {"counter", required_argument, 0, 'c'},
        {"broker", required_argument, 0, 'b'},
        {"site", required_argument, 0, 's'},
        {"config", required_argument, 0, O_CONFIG},
        {"lang", required_argument, 0, 'l'},
        {"interactive", no_argument, 0, 'i'},
        {"timeout", required_argument, 0, 't'},
        {"user", required_argument, 0, O_USER},
        {"password", required_argument, 0, O_PASS},
        {"cafile", required_argument, 0, O_CAFILE},
        {"cert", required_argument, 0, O_CERT},
        {"key", required_argument, 0, O_KEY},
        {"to-service", required_argument, 0, O_TO_SVC},
        {"to-counter", required_argument, 0, O_TO_CTR},
        {"staff", required_argument, 0, O_STAFF},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int counter = -1, interactive = 0, en = 0, verbose = 0, timeout_s = 8;
    const char *broker = "127.0.0.1:1883", *site = NULL, *config_path = NULL;
    const char *user = NULL, *pass = NULL, *cafile = NULL, *cert = NULL, *key = NULL;
    const char *to_service = NULL, *staff = NULL;
    int to_counter = 0, list = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:b:s:l:it:vhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (parse_int(optarg, 1, 99999, &counter)) {
                fprintf(stderr, "qms-counter: --counter wants a counter number, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'b':
            broker = optarg;
            break;
        case 's':
            site = optarg;
            break;
        case O_CONFIG:
            config_path = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "en") != 0 && strcmp(optarg, "vi") != 0) {
                fprintf(stderr, "qms-counter: --lang is vi or en\n");
                return EXIT_USAGE;
            }
            en = strcmp(optarg, "en") == 0;
            break;
        case 'i':
            interactive = 1;
            break;
        case 't':
            if (parse_int(optarg, 1, 3600, &timeout_s)) {
                fprintf(stderr, "qms-counter: --timeout wants seconds (1..3600)\n");
                return EXIT_USAGE;
            }
            break;
        case O_USER:
            user = optarg;
            break;
        case O_PASS:
            pass = optarg;
            break;
        case O_CAFILE:
            cafile = optarg;
            break;
        case O_CERT:
            cert = optarg;
            break;
        case O_KEY:
            key = optarg;
            break;
        case O_TO_SVC:
            to_service = optarg;
            break;
        case O_TO_CTR:
            if (parse_int(optarg, 1, 99999, &to_counter)) {
                fprintf(stderr, "qms-counter: --to-counter wants a counter number\n");
                return EXIT_USAGE;
            }
            break;
        case O_STAFF:
            staff = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_DONE;
        case 'V':
            printf("qms-counter %s\n", QMS_VERSION);
            return EXIT_DONE;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (counter < 0) {
        fprintf(stderr, "qms-counter: say which counter: --counter N\n");
        usage(stderr);
        return EXIT_USAGE;
    }

    counter_req req;
    memset(&req, 0, sizeof req);
    if (!interactive) {
        if (optind >= argc) {
            fprintf(stderr, "qms-counter: no command given\n");
            usage(stderr);
            return EXIT_USAGE;
        }
        const char *cmd = argv[optind++];
        /* "queue" is "status" with the waiting list printed */
        list = strcmp(cmd, "queue") == 0;
        int op = counter_op_parse(list ? "status" : cmd);
        if (op < 0) {
            fprintf(stderr, "qms-counter: unknown command '%s'\n", cmd);
            usage(stderr);
            return EXIT_USAGE;
        }
        req.op = (counter_op)op;
        const char *arg = optind < argc ? argv[optind++] : NULL;
        int wants_arg = req.op == COUNTER_OP_CALL || req.op == COUNTER_OP_RATE;
        if ((wants_arg && !arg) || (!wants_arg && arg) || optind < argc) {
            fprintf(stderr, "qms-counter: %s %s\n", cmd,
                    wants_arg ? "needs one argument (call A023, rate 4)" : "takes no argument");
            return EXIT_USAGE;
        }
        if (req.op == COUNTER_OP_CALL) {
            if (strlen(arg) >= sizeof req.ticket) {
                fprintf(stderr, "qms-counter: '%s' is not a ticket number\n", arg);
                return EXIT_USAGE;
            }
            snprintf(req.ticket, sizeof req.ticket, "%s", arg);
            counter_ticket_upcase(req.ticket);
        }
        if (req.op == COUNTER_OP_RATE && parse_int(arg, 1, 9, &req.level)) {
            fprintf(stderr, "qms-counter: rate wants a level, 1 (worst) to the center's "
                            "rating_levels (3, 4 or 5: best)\n");
            return EXIT_USAGE;
        }
        if (req.op == COUNTER_OP_TRANSFER) {
            if (!to_service && !to_counter) {
                fprintf(stderr, "qms-counter: transfer needs --to-service CODE and/or "
                                "--to-counter N\n");
                return EXIT_USAGE;
            }
            if (to_service && strlen(to_service) >= sizeof req.to_service) {
                fprintf(stderr, "qms-counter: '%s' is not a service code\n", to_service);
                return EXIT_USAGE;
            }
            snprintf(req.to_service, sizeof req.to_service, "%s", to_service ? to_service : "");
            req.to_counter = to_counter;
        }
        if (req.op == COUNTER_OP_OPEN && staff)
            snprintf(req.staff, sizeof req.staff, "%s", staff);
    }

    char host[256];
    int port;
    if (qms_parse_hostport(broker, host, sizeof host, &port) != QMS_OK) {
        fprintf(stderr, "qms-counter: --broker wants host:port, not '%s'\n", broker);
        return EXIT_USAGE;
    }
    qms_config *cfg = NULL;
    if (config_path) {
        char err[256];
        if (qms_config_load_file(config_path, &cfg, err, sizeof err) != QMS_OK) {
            fprintf(stderr, "qms-counter: %s: %s\n", config_path, err);
            return EXIT_USAGE;
        }
        if (!site)
            site = cfg->site;
    }
    /* The library logs connection events; a clerk's terminal shows only our
     * own sentences unless asked for more. */
    qms_log_init("qms-counter", verbose ? QMS_LOG_DEBUG : QMS_LOG_ERROR + 1);

    char device_id[32];
    /* The terminal mode is the counter's software keypad: device counter/<n>.
     * A one-shot command gets its own id, so it never marks a running
     * terminal of the same counter offline when it exits. */
    snprintf(device_id, sizeof device_id, interactive ? "%d" : "%d-cli", counter);
    qms_mqtt_lib_init();
    counter_client_opts co = {
        .host = host,
        .port = port,
        .site = site,
        .counter = counter,
        .username = user,
        .password = pass,
        .cafile = cafile,
        .certfile = cert,
        .keyfile = key,
        .device_id = device_id,
        .mode = interactive ? "terminal" : "cli",
        .cfg = cfg,
        .retry_ms = 2000,
        .give_up_ms = interactive ? 10000 : timeout_s * 1000,
        .lang_en = en,
    };
    counter_client *cl = NULL;
    int rc = counter_client_new(&co, &cl);
    if (rc != QMS_OK) {
        fprintf(stderr, "qms-counter: %s\n", qms_err_message(rc, en ? "en" : "vi"));
        qms_config_free(cfg);
        qms_mqtt_lib_cleanup();
        return EXIT_USAGE;
    }
    int status;
    if (interactive) {
        counter_tui_opts to = {
            .in_fd = 0, .out_fd = 1, .lang_en = en, .broker = broker, .has_cert = cert != NULL};
        status = counter_tui_run(cl, &to);
    } else {
        status = run_oneshot(cl, &req, list, timeout_s * 1000, en, broker, cert != NULL);
    }
    counter_client_free(cl);
    qms_mqtt_lib_cleanup();
    return status;
}
