#include "kiosk_take.h"

#include "kiosk_journal.h"
#include "kiosk_net.h"
#include "kiosk_prn.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <stdio.h>
#include <string.h>

#define CONNECT_WAIT_MS 5000
#define CONFIG_WAIT_MS 3000
#define SETTLE_WAIT_MS 5000

struct take_state {
    int done;
    kiosk_take_reply r;
};

static void on_take(void *ud, int take_id, const kiosk_take_reply *r)
{
    (void)take_id;
    struct take_state *s = ud;
    s->r = *r;
    s->done = 1;
}

/* Run the network until cond() holds or ms pass; returns cond(). */
static int run_until(kiosk_net *n, int ms, int (*cond)(kiosk_net *, void *), void *arg)
{
    int64_t end = qms_mono_ms() + ms;
    while (!cond(n, arg)) {
        int64_t left = end - qms_mono_ms();
        if (left <= 0)
            return 0;
        kiosk_net_poll(n, left < 20 ? (int)left : 20);
    }
    return 1;
}

static int c_connected(kiosk_net *n, void *arg)
{
    (void)arg;
    return kiosk_net_connected(n);
}

static int c_ready(kiosk_net *n, void *arg)
{
    (void)arg;
    return kiosk_net_config(n) && kiosk_net_controller_online(n);
}

static int c_done(kiosk_net *n, void *arg)
{
    (void)n;
    return ((struct take_state *)arg)->done;
}

static int c_settled(kiosk_net *n, void *arg)
{
    (void)arg;
    return kiosk_net_unsettled(n) == 0;
}

int kiosk_take_main(const kiosk_config *cfg, const char *host, int port, const char *code,
                    const char *prio)
{
    struct take_state st = {0};
    /* the same journal as the kiosk on screen: a --take killed midway is
     * settled by the next start of either (docs/kiosk.md) */
    kiosk_journal *j = NULL;
    if (cfg->state_file[0]) {
        char err[600];
        int jrc = kiosk_journal_open(cfg->state_file, &j, err, sizeof err);
        if (jrc == QMS_ERR_UNAVAILABLE) {
            fprintf(stderr, "qms-kiosk: %s\n", err);
            return KIOSK_EXIT_USAGE;
        }
        if (jrc)
            fprintf(stderr, "qms-kiosk: WARNING: %s; going on without it\n", err);
    }
    kiosk_net_opts no = {
        .host = host,
        .port = port,
        .site = cfg->site,
        .kiosk_id = cfg->kiosk_id,
        .take_timeout_ms = cfg->take_timeout_ms,
        .on_take = on_take,
        .ud = &st,
        .journal = j,
        .conn = &cfg->conn,
    };
    kiosk_net *n = NULL;
    if (kiosk_net_new(&no, &n)) {
        fprintf(stderr, "qms-kiosk: cannot start the MQTT session\n");
        kiosk_journal_close(j);
        return KIOSK_EXIT_NETWORK;
    }
    kiosk_prn prn;
    kiosk_prn_init(&prn, cfg);
    int rc = KIOSK_EXIT_OK;
    if (!run_until(n, CONNECT_WAIT_MS, c_connected, NULL)) {
        fprintf(stderr, "qms-kiosk: broker %s:%d unreachable\n", host, port);
        rc = KIOSK_EXIT_NETWORK;
        goto out;
    }
    if (!run_until(n, CONFIG_WAIT_MS, c_ready, NULL)) {
        if (!kiosk_net_controller_online(n))
            fprintf(stderr, "qms-kiosk: controller of site \"%s\" is offline\n", cfg->site);
        else
            fprintf(stderr, "qms-kiosk: no configuration on qms/%s/config\n", cfg->site);
        rc = KIOSK_EXIT_NETWORK;
        goto out;
    }
    const qms_config *c = kiosk_net_config(n);
    if (qms_config_service_index(c, code) < 0) {
        fprintf(stderr, "qms-kiosk: unknown service \"%s\"; the services are:", code);
        for (int i = 0; i < c->nservices; i++)
            fprintf(stderr, " %s", c->services[i].code);
        fprintf(stderr, "\n");
        rc = KIOSK_EXIT_REFUSED;
        goto out;
    }
    /* printer first: a ticket is only asked for when it can be printed */
    qms_printer_state ps = kiosk_prn_check(&prn);
    kiosk_net_set_printer(n, qms_printer_state_name(ps));
    if (!kiosk_prn_usable(ps)) {
        fprintf(stderr, "qms-kiosk: printer %s: %s; no ticket taken\n", cfg->printer,
                qms_printer_state_name(ps));
        rc = KIOSK_EXIT_PRINTER;
        goto out;
    }
    int take_id = 0;
    int trc = kiosk_net_take(n, code, prio, cfg->lang, &take_id);
    if (trc) {
        fprintf(stderr, "qms-kiosk: cannot send the request: %s\n", qms_err_code(trc));
        rc = KIOSK_EXIT_NETWORK;
        goto out;
    }
    run_until(n, cfg->take_timeout_ms + 1000, c_done, &st);
    if (!st.done || st.r.err == QMS_ERR_TIMEOUT || st.r.err == QMS_ERR_UNAVAILABLE) {
        fprintf(stderr, "qms-kiosk: the controller did not answer in %d ms\n",
                cfg->take_timeout_ms);
        rc = KIOSK_EXIT_NETWORK;
        goto out;
    }
    if (st.r.err != QMS_OK) {
        fprintf(stderr, "qms-kiosk: refused: %s%s%s\n", st.r.code, st.r.message[0] ? ": " : "",
                st.r.message);
        rc = KIOSK_EXIT_REFUSED;
        goto out;
    }
    char url[512];
    kiosk_qr_url(cfg->qr_base, cfg->site, &st.r, url, sizeof url);
    qms_ticket_print t;
    kiosk_ticket_fill(&t, &st.r, c, cfg->lang, url);
    kiosk_test_stop_at("reply");
    if (kiosk_prn_print(&prn, &t) != QMS_OK) {
        kiosk_net_set_printer(n, qms_printer_state_name(prn.state));
        kiosk_net_cancel(n, st.r.id, "print_failed");
        fprintf(stderr, "qms-kiosk: printer %s: %s; ticket %s not printed, cancelling it\n",
                cfg->printer, qms_printer_state_name(prn.state), st.r.ticket);
        rc = KIOSK_EXIT_PRINTER;
        goto out;
    }
    kiosk_net_printed(n, st.r.req); /* the cut is confirmed: a restart keeps it */
    kiosk_net_set_printer(n, qms_printer_state_name(prn.state));
    if (!kiosk_prn_usable(prn.state))
        fprintf(stderr, "qms-kiosk: ticket printed; the printer is now %s\n",
                qms_printer_state_name(prn.state));
    printf("%s %s %s ahead=%d eta_s=%d id=%lld\n", st.r.ticket, st.r.service, st.r.name_vi,
           st.r.ahead, st.r.eta_s, (long long)st.r.id);
    fflush(stdout);
out:
    /* settle what must not be left behind (a cancel, a take that timed out) */
    if (kiosk_net_unsettled(n) && !run_until(n, SETTLE_WAIT_MS, c_settled, NULL))
        fprintf(stderr, "qms-kiosk: WARNING: a request is unsettled (see the log)%s%s%s\n",
                j ? "; it is kept in "
                  : "; check the controller for a waiting ticket from "
                    "this kiosk",
                kiosk_journal_path(j), j ? " and settled at the next start" : "");
    kiosk_prn_close(&prn);
    kiosk_net_free(n);
    kiosk_journal_close(j);
    return rc;
}
