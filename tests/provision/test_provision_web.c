/* qms-provision --ws-port: the web broker (docs/provision.md, "The web
 * broker"), started from the mosquitto-web.conf it wrote beside the site
 * broker started from its mosquitto.conf, both real mosquittos:
 *  - the site broker has no websockets listener; the web broker has one and
 *    a bridge to the site's loopback listener as user web-bridge (MQTT v5);
 *  - state and the web users' replies come in, the pages' requests go out,
 *    a v5 request/reply keeps its response topic and correlation data both
 *    ways, and nothing goes round (one copy each side);
 *  - the web broker's ACL: the dashboard reads its topics and replies and
 *    publishes alert/ack and report only; devices and strangers cannot log in;
 *  - the site ACL's web-bridge user may do exactly what the bridge carries;
 *  - the bridge's topic list alone (a web broker with an ACL that lets its
 *    user do anything) carries no request, no device's reply and no forged
 *    state either way.
 * The anonymous pages over websockets: tests/dashboard/browser.test.js,
 * case provisioned. */
#include "prov_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static prov_env E;
static int seq;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    b[n] = 0;
    fclose(f);
    return b;
}

static char *outfile(const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", E.out, name);
    return slurp(path);
}

static char *topic(const char *suffix)
{
    static char t[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(t[k], sizeof t[k], "qms/demo/%s", suffix);
    return t[k];
}

static char *payload(void)
{
    static char p[16][64]; /* a test holds up to 16 at once */
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "{\"web-test\":%d}", ++seq);
    return p[k];
}

/* a PUBACK's "accepted" (16: no one subscribed) */
static void accepted(int rc)
{
    assert_true(rc == 0 || rc == 16);
}

/* A device on the site broker: over TLS, except the web bridge's user,
 * which has no certificate and uses the loopback listener. */
static pcli *site(const char *name)
{
    int reason = -9;
    pcli *c = pcli_open(&E, name, strcmp(name, "web-bridge") != 0, NULL, NULL, &reason);
    if (reason)
        fprintf(stderr, "%s could not connect to the site broker: %d\n", name, reason);
    assert_int_equal(reason, 0);
    return c;
}

/* A user on a web broker's plain listener. */
static pcli *web_at(int port, const char *name)
{
    int reason = -9;
    pcli *c = pcli_open_port(&E, name, port, NULL, NULL, &reason);
    if (reason)
        fprintf(stderr, "%s could not connect to the web broker: %d\n", name, reason);
    assert_int_equal(reason, 0);
    return c;
}

static pcli *web(const char *name)
{
    return web_at(E.web_port, name);
}

/* The bridge is up when a message published on the site reaches the web
 * broker. */
static void wait_bridge(int port)
{
    pcli *ctl = site("controller"), *d = web_at(port, "dashboard");
    assert_int_equal(pcli_sub(d, topic("config")), 0);
    int got = 0;
    for (int i = 0; i < 60 && !got; i++) {
        const char *p = payload();
        int rc = pcli_pub(ctl, topic("config"), p);
        assert_true(rc == 0 || rc == 16); /* 16: the bridge is not subscribed yet */
        got = pcli_got(d, p, 500);
    }
    pcli_close(d);
    pcli_close(ctl);
    assert_true(got);
}

static int setup(void **state)
{
    (void)state;
    mosquitto_lib_init();
    static const char *const extra[] = {"--kiosk", "k1", "--display", "hall", NULL};
    assert_int_equal(prov_start_web(&E, extra), 0);
    wait_bridge(E.web_port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    prov_stop(&E);
    mosquitto_lib_cleanup();
    return 0;
}

/* The topics of the bridge section, "in" or "out", one per line. */
static void bridge_topics(const char *conf, const char *dir, char *out, size_t len)
{
    out[0] = 0;
    for (const char *l = conf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char t[200], d[8];
        int q;
        if (sscanf(l, "topic %199s %7s %d", t, d, &q) == 3 && !strcmp(d, dir)) {
            strncat(out, t, len - strlen(out) - 2);
            strcat(out, "\n");
        }
    }
}

static void test_files(void **state)
{
    (void)state;
    char *site_conf = outfile("mosquitto.conf"), *web_conf = outfile("mosquitto-web.conf");
    char *acl_web = outfile("acl-web"), *pw_web = outfile("passwd-web");
    assert_non_null(site_conf);
    assert_non_null(web_conf);
    assert_non_null(acl_web);
    assert_non_null(pw_web);
    /* no browser on the site broker */
    assert_null(strstr(site_conf, "websockets"));
    assert_null(strstr(site_conf, "allow_anonymous true"));
    assert_non_null(strstr(web_conf, "protocol websockets"));
    assert_non_null(strstr(web_conf, "bridge_protocol_version mqttv50"));
    char want[80];
    snprintf(want, sizeof want, "address 127.0.0.1:%d\n", E.local_port);
    assert_non_null(strstr(web_conf, want));
    /* the bridge's password is web-bridge's of clients/web-bridge.json */
    char *bj = slurp(prov_client(&E, "web-bridge"));
    assert_non_null(bj);
    const char *pw = strstr(web_conf, "remote_password ");
    assert_non_null(pw);
    char secret[64] = "";
    sscanf(pw, "remote_password %63s", secret);
    assert_true(strlen(secret) >= 16);
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", secret);
    assert_non_null(strstr(bj, quoted));
    /* the bridge's client id on the web broker is a secret (anonymous web
     * clients connecting with it would close the bridge's session): not the
     * site's name and a guessable suffix, but 24 random letters and digits */
    const char *lid = strstr(web_conf, "\nlocal_clientid ");
    assert_non_null(lid);
    char id[80] = "";
    sscanf(lid, "\nlocal_clientid %79s", id);
    assert_int_equal(strncmp(id, "qms-web-bridge-", 15), 0);
    assert_int_equal(strlen(id + 15), 24);
    assert_int_equal(strspn(id + 15, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                     24);
    assert_null(strstr(id, "demo"));
    /* the web broker knows the dashboard, no device */
    assert_non_null(strstr(pw_web, "dashboard:$7$"));
    assert_null(strstr(pw_web, "kiosk"));
    assert_null(strstr(pw_web, "controller"));
    assert_null(strstr(acl_web, "user kiosk"));
    /* out: exactly the pages' requests; in: no request, no device's reply */
    char out[2000], in[2000];
    bridge_topics(web_conf, "out", out, sizeof out);
    assert_string_equal(out, "qms/demo/alert/ack\nqms/demo/report\nqms/demo/booking/slots\n"
                             "qms/demo/booking/make\nqms/demo/booking/cancel\n");
    bridge_topics(web_conf, "in", in, sizeof in);
    assert_null(strstr(in, "ticket/take"));
    assert_null(strstr(in, "ticket/cancel"));
    assert_null(strstr(in, "/cmd"));
    assert_null(strstr(in, "replay"));
    assert_null(strstr(in, "qms/demo/reply/#"));
    assert_null(strstr(in, "qms/demo/#"));
    assert_non_null(strstr(in, "qms/demo/reply/dashboard/#\n"));
    assert_non_null(strstr(in, "qms/demo/reply/web/#\n"));
    assert_non_null(strstr(in, "qms/demo/ticket/+/status\n"));
    assert_non_null(strstr(in, "qms/demo/stats\n"));
    free(site_conf), free(web_conf), free(acl_web), free(pw_web), free(bj);
}

static void test_bad_options(void **state)
{
    (void)state;
    char cmd[1200];
    /* --ws-port without --local-port: a clear error, nothing written */
    snprintf(cmd, sizeof cmd,
             "%s --config %s --out %s/nolocal --ws-port 9001 2>&1 | grep -q 'needs --local-port'"
             " && test ! -e %s/nolocal",
             qms_test_bin("qms-provision"), E.center, E.dir, E.dir);
    assert_int_equal(system(cmd), 0);
    /* the same port twice */
    snprintf(cmd, sizeof cmd,
             "%s --config %s --out %s/twice --local-port 9001 --ws-port 9001 2>&1 | grep -q "
             "'port 9001 given twice' && test ! -e %s/twice",
             qms_test_bin("qms-provision"), E.center, E.dir, E.dir);
    assert_int_equal(system(cmd), 0);
}

/* State and the dashboard's replies reach the web broker; a v5 request's
 * response topic and correlation data cross the bridge out, the reply's
 * correlation data back in; one copy each side. */
static void test_request_reply_through_the_bridge(void **state)
{
    (void)state;
    pcli *ctl = site("controller"), *dash = web("dashboard"), *c3 = site("counter-3");
    assert_int_equal(pcli_sub(ctl, topic("report")), 0);
    assert_int_equal(pcli_sub(c3, topic("stats")), 0); /* on the site: does it come back? */
    assert_int_equal(pcli_sub(dash, "qms/demo/#"), 0);
    const char *st = payload();
    assert_int_equal(pcli_pub(ctl, topic("stats"), st), 0);
    assert_true(pcli_got(dash, st, 10000));
    /* the request, as the dashboard page makes it */
    const char *rq = payload();
    assert_int_equal(pcli_pub_req(dash, topic("report"), rq, "qms/demo/reply/dashboard/page-1/r1",
                                  "corr-r1"),
                     0);
    char rt[200], corr[64];
    assert_int_equal(pcli_props(ctl, rq, 10000, rt, sizeof rt, corr, sizeof corr), 0);
    assert_string_equal(rt, "qms/demo/reply/dashboard/page-1/r1");
    assert_string_equal(corr, "corr-r1");
    /* the controller's reply */
    const char *rp = payload();
    assert_int_equal(pcli_pub_req(ctl, rt, rp, NULL, corr), 0);
    assert_int_equal(pcli_props(dash, rp, 10000, rt, sizeof rt, corr, sizeof corr), 0);
    assert_string_equal(corr, "corr-r1");
    /* nothing went round */
    assert_int_equal(pcli_count(ctl, rq, 1000), 1);
    assert_int_equal(pcli_count(dash, rp, 0), 1);
    assert_int_equal(pcli_count(dash, st, 0), 1);
    assert_int_equal(pcli_count(c3, st, 500), 1); /* bridged in, not back out */
    assert_int_equal(pcli_count(dash, rq, 0), 0); /* it cannot read requests */
    pcli_close(c3);
    pcli_close(dash);
    pcli_close(ctl);
}

/* What a user of the web broker may publish: accepted (and it reaches the
 * controller on the site broker) or refused by the web broker (135), and
 * then nobody on the site sees it either. */
static int web_writes(const char *suffix, const char *observer)
{
    pcli *obs = site(observer), *w = web("dashboard");
    assert_int_equal(pcli_sub(obs, topic(suffix)), 0);
    const char *p = payload();
    int rc = pcli_pub(w, topic(suffix), p);
    assert_true(rc == 0 || rc == 16 || rc == 135);
    int arrived = pcli_got(obs, p, rc == 135 ? 1000 : 10000);
    if ((rc != 135) != arrived)
        fprintf(stderr, "dashboard (web) -> %s: web broker said %d, %s on the site\n", suffix, rc,
                arrived ? "arrived" : "did not arrive");
    /* what the web broker accepts reaches the site, what it refuses does not:
     * an ACL that accepts more than the bridge carries fails here too */
    assert_int_equal(rc != 135, arrived);
    pcli_close(w);
    pcli_close(obs);
    return arrived;
}

/* Does the dashboard on the web broker receive what writer publishes on the
 * site (legit, on the site, proves it was published)? */
static int web_reads(const char *filter, const char *writer, const char *suffix,
                     const char *legit)
{
    pcli *r = web("dashboard"), *l = site(legit), *w = site(writer);
    assert_int_equal(pcli_sub(r, filter), 0);
    assert_int_equal(pcli_sub(l, topic(suffix)), 0);
    const char *p = payload();
    int rc = pcli_pub(w, topic(suffix), p);
    assert_true(rc == 0 || rc == 16);
    assert_true(pcli_got(l, p, 10000));
    int got = pcli_got(r, p, 1000);
    pcli_close(w);
    pcli_close(l);
    pcli_close(r);
    return got;
}

static void test_web_acl(void **state)
{
    (void)state;
    assert_true(web_writes("alert/ack", "controller"));
    assert_true(web_writes("report", "controller"));
    /* the dashboard is read-only otherwise: no request of a device, no
     * forged state, no booking (the citizen's), no reply */
    assert_false(web_writes("ticket/take", "controller"));
    assert_false(web_writes("counter/1/cmd", "controller"));
    assert_false(web_writes("stream/replay", "controller"));
    assert_false(web_writes("booking/make", "controller"));
    assert_false(web_writes("call", "display-hall"));
    assert_false(web_writes("reply/kiosk-k1/x", "kiosk-k1"));
    /* it reads the center's state and its own replies */
    assert_true(web_reads(topic("alerts"), "controller", "alerts", "counter-3"));
    assert_true(web_reads("qms/demo/reply/dashboard/#", "controller", "reply/dashboard/p/1",
                          "dashboard"));
    /* and nobody else's: not a ticket's status, not a device's reply */
    assert_false(web_reads("qms/demo/#", "controller", "reply/kiosk-k1/k/2", "kiosk-k1"));
    assert_false(web_reads("qms/demo/ticket/+/status", "controller", "ticket/TOKEN123/status",
                           "web-bridge"));
    /* who logs in: the dashboard only */
    int reason;
    pcli *c = pcli_open_port(&E, NULL, E.web_port, NULL, NULL, &reason);
    assert_int_not_equal(reason, 0); /* anonymous, on the plain listener */
    pcli_close(c);
    c = pcli_open_port(&E, "dashboard", E.web_port, NULL, "wrong", &reason);
    assert_int_not_equal(reason, 0);
    pcli_close(c);
    static const char *const devices[] = {"controller", "kiosk-k1", "counter-3", "web-bridge"};
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        c = pcli_open_port(&E, devices[i], E.web_port, NULL, NULL, &reason);
        if (!reason)
            fprintf(stderr, "%s logged in on the web broker\n", devices[i]);
        assert_int_not_equal(reason, 0);
        pcli_close(c);
    }
}

/* writes/reads of the web-bridge user on the site broker, judged by a
 * device allowed to see it */
static int bridge_writes(const char *suffix, const char *observer)
{
    pcli *obs = site(observer), *w = site("web-bridge");
    assert_int_equal(pcli_sub(obs, topic(suffix)), 0);
    const char *p = payload();
    int rc = pcli_pub(w, topic(suffix), p);
    int got = pcli_got(obs, p, rc == 135 ? 500 : 10000);
    assert_int_equal(rc != 135, got);
    pcli_close(w);
    pcli_close(obs);
    return got;
}

/* legit: a device that must receive it (NULL: none but the bridge reads it;
 * then only a "yes" is meaningful) */
static int bridge_reads(const char *writer, const char *suffix, const char *legit)
{
    pcli *r = site("web-bridge"), *l = legit ? site(legit) : NULL, *w = site(writer);
    assert_int_equal(pcli_sub(r, topic(suffix)), 0);
    if (l)
        assert_int_equal(pcli_sub(l, topic(suffix)), 0);
    const char *p = payload();
    assert_int_equal(pcli_pub(w, topic(suffix), p), 0);
    if (l)
        assert_true(pcli_got(l, p, 10000));
    int got = pcli_got(r, p, l ? 500 : 10000);
    pcli_close(w);
    pcli_close(l);
    pcli_close(r);
    return got;
}

static void test_site_acl_of_the_bridge(void **state)
{
    (void)state;
    assert_true(bridge_writes("alert/ack", "controller"));
    assert_true(bridge_writes("booking/make", "controller"));
    assert_false(bridge_writes("ticket/take", "controller"));
    assert_false(bridge_writes("counter/3/cmd", "controller"));
    assert_false(bridge_writes("stream/replay", "controller"));
    assert_false(bridge_writes("call", "display-hall"));
    assert_false(bridge_writes("config", "kiosk-k1"));
    assert_false(bridge_writes("device/kiosk/k1/status", "controller"));
    assert_false(bridge_writes("reply/kiosk-k1/x", "kiosk-k1"));
    assert_true(bridge_reads("controller", "stats", "dashboard"));
    assert_true(bridge_reads("controller", "ticket/T0K3N/status", NULL));
    assert_true(bridge_reads("controller", "reply/web/w1/r", NULL));
    assert_false(bridge_reads("kiosk-k1", "ticket/take", "controller"));
    assert_false(bridge_reads("counter-3", "counter/3/cmd", "controller"));
    assert_false(bridge_reads("controller", "reply/kiosk-k1/k/1", "kiosk-k1"));
    assert_false(bridge_reads("controller", "counter/3/state", "counter-3"));
}

/* The bridge's topic list on its own: the web broker's config with an ACL
 * that lets the dashboard user read and write anything (a web broker whose
 * ACL failed), its own ports and client ids, beside the real one. */
static void test_topic_list_alone(void **state)
{
    (void)state;
    char acl[400], acl_line[460], l1[64], l1new[64], l2[64], l2new[64];
    snprintf(acl, sizeof acl, "%s/acl-open", E.dir);
    FILE *f = fopen(acl, "w");
    assert_non_null(f);
    fputs("user dashboard\ntopic readwrite #\n", f);
    fclose(f);
    int p1 = qms_test_free_port(), p2;
    do
        p2 = qms_test_free_port();
    while (p2 == p1);
    snprintf(acl_line, sizeof acl_line, "acl_file %s", acl);
    snprintf(l1, sizeof l1, "listener %d ", E.web_port);
    snprintf(l1new, sizeof l1new, "listener %d 127.0.0.1", p1);
    snprintf(l2, sizeof l2, "listener %d ", E.ws_port);
    snprintf(l2new, sizeof l2new, "listener %d 127.0.0.1", p2);
    const char *subst[] = {"acl_file ",        acl_line,
                           l1,                 l1new,
                           l2,                 l2new,
                           "remote_clientid ", "remote_clientid qms-web-open",
                           "local_clientid ",  "local_clientid qms-web-open-local",
                           NULL};
    qms_test_broker open;
    assert_int_equal(prov_start_conf(&E, &open, "mosquitto-web.conf", subst, p1), 0);
    wait_bridge(p1);
    pcli *w = web_at(p1, "dashboard");
    assert_int_equal(pcli_sub(w, "#"), 0);
    /* in: state yes; requests, devices' replies, per-counter state no */
    pcli *ctl = site("controller"), *k1 = site("kiosk-k1"), *c3 = site("counter-3");
    const char *st = payload(), *take = payload(), *rk = payload(), *cmd = payload();
    accepted(pcli_pub(ctl, topic("stats"), st));
    accepted(pcli_pub(k1, topic("ticket/take"), take));
    accepted(pcli_pub(ctl, topic("reply/kiosk-k1/k/9"), rk));
    accepted(pcli_pub(c3, topic("counter/3/cmd"), cmd));
    assert_true(pcli_got(w, st, 10000));
    assert_int_equal(pcli_count(w, take, 1000), 0);
    assert_int_equal(pcli_count(w, rk, 0), 0);
    assert_int_equal(pcli_count(w, cmd, 0), 0);
    /* out: the pages' requests yes (once, and not back); anything else no */
    pcli *disp = site("display-hall");
    assert_int_equal(pcli_sub(ctl, "qms/demo/#"), 0);
    assert_int_equal(pcli_sub(disp, topic("call")), 0);
    assert_int_equal(pcli_sub(k1, "qms/demo/#"), 0);
    const char *ack = payload(), *fcall = payload(), *ftake = payload(), *fcmd = payload();
    const char *freplay = payload(), *freply = payload();
    accepted(pcli_pub(w, topic("alert/ack"), ack));
    accepted(pcli_pub(w, topic("call"), fcall));
    accepted(pcli_pub(w, topic("ticket/take"), ftake));
    accepted(pcli_pub(w, topic("counter/3/cmd"), fcmd));
    accepted(pcli_pub(w, topic("stream/replay"), freplay));
    accepted(pcli_pub(w, topic("reply/kiosk-k1/k/9"), freply));
    assert_true(pcli_got(ctl, ack, 10000));
    pcli_pump(ctl, disp, 1000);
    pcli_pump(k1, w, 200);
    assert_int_equal(pcli_count(ctl, ack, 0), 1);
    assert_int_equal(pcli_count(w, ack, 0), 1); /* its own, not echoed back */
    const char *forged[] = {ftake, fcmd, freplay};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pcli_count(ctl, forged[i], 0), 0);
    assert_int_equal(pcli_count(disp, fcall, 0), 0);
    assert_int_equal(pcli_count(k1, freply, 0), 0);
    pcli_close(disp);
    pcli_close(c3);
    pcli_close(k1);
    pcli_close(ctl);
    pcli_close(w);
    qms_test_broker_stop(&open);
}

/* Re-running keeps the bridge's secret (and so the running web broker's
 * link) and the dashboard's. */
static void test_rerun_keeps_secrets(void **state)
{
    (void)state;
    char *b1 = slurp(prov_client(&E, "web-bridge")), *d1 = slurp(prov_client(&E, "dashboard"));
    assert_int_equal(prov_rerun(&E, NULL), 0);
    char *b2 = slurp(prov_client(&E, "web-bridge")), *d2 = slurp(prov_client(&E, "dashboard"));
    assert_non_null(b1);
    assert_non_null(b2);
    assert_string_equal(b1, b2);
    assert_string_equal(d1, d2);
    /* both brokers re-read their files: the bridge and the dashboard still in */
    kill(E.broker.pid, SIGHUP);
    kill(E.web.pid, SIGHUP);
    pcli_pump(NULL, NULL, 500);
    wait_bridge(E.web_port);
    free(b1), free(b2), free(d1), free(d2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_request_reply_through_the_bridge),
        cmocka_unit_test(test_web_acl),
        cmocka_unit_test(test_site_acl_of_the_bridge),
        cmocka_unit_test(test_topic_list_alone),
        cmocka_unit_test(test_rerun_keeps_secrets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
