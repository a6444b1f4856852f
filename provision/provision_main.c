/* qms-provision: from the center's configuration, everything the broker
 * needs to enforce who may do what (docs/provision.md): a CA and
 * certificates, the password file, the ACL, mosquitto.conf, and one client
 * file per device; with --ws-port, the web broker's files too (a second
 * mosquitto for the web pages, bridged to the site broker). Re-running keeps
 * every existing device's secrets and adds the new ones. */
#include "provision_bridge.h"
#include "provision_crypto.h"

#include "qms/config.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEV 512

typedef struct device {
    char role[16]; /* controller, kiosk, counter, display, gateway, dashboard, web-bridge */
    char id[32];   /* "" for controller and dashboard */
    char name[64]; /* user name and file name: role or role-id */
    char password[64];
    int existed;
} device;

typedef struct prov {
    const char *out;
    char conf_dir[PATH_MAX]; /* where the broker will find the files */
    char site[64];
    const char *host;
    int port, local_port, client_certs, days;
    int ws_port;          /* the web broker's websockets listener, 0 no web broker */
    int web_local_port;   /* ... and its plain loopback listener */
    const char *http_dir; /* ... and the folder it serves */
    const char *bind;
    device dev[MAX_DEV];
    int ndev;
} prov;

static void usage(FILE *f)
{
    fputs("usage: qms-provision --config center.json --out DIR [options]\n"
          "       qms-provision --staff-hash          (reads a staff code on stdin)\n"
          "       qms-provision bridge --help         (the bridge to the province broker)\n"
          "\n"
          "Writes what the center's broker needs (docs/provision.md):\n"
          "  DIR/mosquitto.conf   TLS listener (+ a loopback one with --local-port)\n"
          "  DIR/passwd, DIR/acl  one user per device, each allowed what its role does\n"
          "  DIR/ca.crt, ca.key, broker.crt, broker.key\n"
          "  DIR/clients/<role>-<id>.json (+ .crt/.key, ca.crt): one per device\n"
          "  DIR/mosquitto-web.conf, passwd-web, acl-web   with --ws-port: the web broker\n"
          "Devices: the controller, counter-<n> for each counter of the config, the\n"
          "config's \"devices\" {\"kiosks\",\"displays\",\"gateways\",\"dashboard\"}, the\n"
          "options below, and every device provisioned before (its secrets are kept).\n"
          "\n"
          "  --host H          the broker's address as devices reach it (default 127.0.0.1)\n"
          "  --port N          TLS port (default 8883)\n"
          "  --bind ADDR       the TLS listener's address (default 0.0.0.0: all)\n"
          "  --local-port N    also a plain listener on 127.0.0.1:N (same users and ACL)\n"
          "  --ws-port N       a second mosquitto for the web pages (the web broker):\n"
          "                    DIR/mosquitto-web.conf, passwd-web, acl-web; websockets on\n"
          "                    --bind:N serving the pages (the dashboard logs in; the\n"
          "                    ticket and booking pages are anonymous), bridged to the\n"
          "                    site broker's loopback listener as user web-bridge for\n"
          "                    exactly what the pages read and ask. Needs --local-port\n"
          "  --web-local-port N  the web broker's plain listener on 127.0.0.1:N\n"
          "                    (mosquitto wants one; default --local-port + 1)\n"
          "  --http-dir DIR    the pages it serves (default /usr/share/qms/dashboard)\n"
          "  --kiosk ID, --display ID, --gateway ID   add a device (repeatable)\n"
          "  --no-dashboard    no read-only dashboard user\n"
          "  --no-client-certs passwords over TLS only, no client certificates\n"
          "  --conf-dir PATH   where DIR will be on the broker machine (paths in\n"
          "                    mosquitto.conf; default DIR itself)\n"
          "  --days N          certificate lifetime (default 825)\n",
          f);
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 24)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int add_device(prov *p, const char *role, const char *id)
{
    if (id && !valid_id(id)) {
        fprintf(stderr, "qms-provision: \"%s\" is not a device id (1-24 of A-Z a-z 0-9 _ -)\n",
                id);
        return -1;
    }
    char name[64];
    if (id && *id)
        snprintf(name, sizeof name, "%s-%s", role, id);
    else
        snprintf(name, sizeof name, "%s", role);
    for (int i = 0; i < p->ndev; i++)
        if (!strcmp(p->dev[i].name, name))
            return 0;
    if (p->ndev == MAX_DEV) {
        fprintf(stderr, "qms-provision: more than %d devices\n", MAX_DEV);
        return -1;
    }
    device *d = &p->dev[p->ndev++];
    memset(d, 0, sizeof *d);
    snprintf(d->role, sizeof d->role, "%s", role);
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    memcpy(d->name, name, sizeof d->name);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* Write path atomically (tmp + rename) with mode. */
static int write_file(const char *path, int mode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int write_file(const char *path, int mode, const char *fmt, ...)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "qms-provision: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fchmod(fileno(f), (mode_t)mode);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "qms-provision: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The broker (user mosquitto when started as root) must read its key, the
 * password file and the ACL: group mosquitto when it exists. */
static void broker_readable(const char *path)
{
    struct group *g = getgrnam("mosquitto");
    if (g && chown(path, (uid_t)-1, g->gr_gid) == 0)
        chmod(path, 0640);
    else
        chmod(path, 0644);
}

/* DIR/<file> from a memstream's text (freed here), readable by the broker. */
static int write_broker_file(const prov *p, const char *file, int mode, char *text)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", p->out, file);
    int rc = write_file(path, mode, "%s", text);
    free(text);
    if (!rc)
        broker_readable(path);
    return rc;
}

static void devices_from_config(prov *p, const qms_config *cfg, const cJSON *root)
{
    const cJSON *dv = cJSON_GetObjectItemCaseSensitive(root, "devices");
    static const struct {
        const char *key, *role;
    } lists[] = {{"kiosks", "kiosk"}, {"displays", "display"}, {"gateways", "gateway"}};
    for (size_t k = 0; k < 3; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(dv, lists[k].key), *it;
        cJSON_ArrayForEach(it, a)
        {
            if (cJSON_IsString(it))
                add_device(p, lists[k].role, it->valuestring);
        }
    }
    for (int i = 0; i < cfg->ncounters; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", cfg->counters[i].id);
        add_device(p, "counter", id);
    }
}

/* Devices provisioned before: every clients/<name>.json, with its password. */
static int load_existing(prov *p)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/clients", p->out);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = slurp(path);
        cJSON *o = text ? cJSON_Parse(text) : NULL;
        free(text);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *pw = cJSON_GetObjectItemCaseSensitive(o, "password");
        if (!cJSON_IsString(role) || !cJSON_IsString(pw) || strlen(pw->valuestring) >= 64) {
            fprintf(stderr, "qms-provision: %s is not a client file of ours; move it away\n",
                    path);
            rc = -1;
        } else if (add_device(p, role->valuestring, cJSON_IsString(id) ? id->valuestring : NULL)) {
            rc = -1;
        } else {
            for (int i = 0; i < p->ndev; i++)
                if (!strncmp(p->dev[i].name, e->d_name, n - 5) && !p->dev[i].name[n - 5]) {
                    snprintf(p->dev[i].password, sizeof p->dev[i].password, "%s",
                             pw->valuestring);
                    p->dev[i].existed = 1;
                }
        }
        cJSON_Delete(o);
    }
    closedir(d);
    return rc;
}

/* What the dashboard reads (docs/protocol.md, "Roles"): the site ACL's
 * dashboard user, the web broker's, and what the bridge brings in from the
 * site for it are this one list, so they cannot drift apart. qos: the
 * bridge's (0 for retained state, each message replacing the last; 1 for
 * events). counters, not counter/+/state: one message per interval, not per
 * call. */
static const struct {
    const char *topic;
    int qos;
} DASH_READ[] = {{"config", 1},   {"call", 1},         {"calls/recent", 0},
                 {"counters", 0}, {"counter/+/queue", 0}, {"stats", 0},
                 {"stats/hourly", 0}, {"alerts", 0},   {"alert/event", 1},
                 {"device/+/+/status", 0}};
#define NDASH_READ (sizeof DASH_READ / sizeof DASH_READ[0])
/* The requests the web pages make: the dashboard's (alert/ack, report) and
 * the citizen's booking page's (booking/...): all the bridge carries out. */
static const char *const WEB_OUT[] = {"alert/ack", "report", "booking/slots", "booking/make",
                                      "booking/cancel"};
#define NWEB_OUT (sizeof WEB_OUT / sizeof WEB_OUT[0])
static int has_dashboard(const prov *p)
{
    for (int i = 0; i < p->ndev; i++)
        if (!strcmp(p->dev[i].role, "dashboard"))
            return 1;
    return 0;
}

typedef void (*topic_emit)(FILE *f, const char *site, const char *topic, int in, int qos);

/* Every topic the web broker's bridge carries, in (site -> web) or out, with
 * its QoS: the site ACL's web-bridge user and the bridge section of
 * mosquitto-web.conf are both written from this. In: the dashboard's state,
 * the ticket page's status topics (the web broker's ACL hands each page only
 * its own), the replies to the web users only (reply/dashboard/... and the
 * booking page's reply/web/..., not the devices' replies). Out: the requests
 * the pages make. Without a dashboard user, only the booking and ticket
 * pages'. */
static void web_bridge_topics(const prov *p, FILE *f, topic_emit emit)
{
    int dash = has_dashboard(p);
    for (size_t i = 0; dash && i < NDASH_READ; i++)
        emit(f, p->site, DASH_READ[i].topic, 1, DASH_READ[i].qos);
    if (!dash) /* the booking page's services and hours */
        emit(f, p->site, "config", 1, 1);
    emit(f, p->site, "ticket/+/status", 1, 1);
    if (dash)
        emit(f, p->site, "reply/dashboard/#", 1, 1);
    emit(f, p->site, "reply/web/#", 1, 1);
    for (size_t i = 0; i < NWEB_OUT; i++)
        if (dash || strncmp(WEB_OUT[i], "booking/", 8) == 0)
            emit(f, p->site, WEB_OUT[i], 0, 1);
}

static void emit_acl(FILE *f, const char *site, const char *topic, int in, int qos)
{
    (void)qos;
    fprintf(f, "topic %s qms/%s/%s\n", in ? "read" : "write", site, topic);
}

static void emit_bridge(FILE *f, const char *site, const char *topic, int in, int qos)
{
    fprintf(f, "topic qms/%s/%s %s %d\n", site, topic, in ? "in" : "out", qos);
}

/* What each role may do: docs/protocol.md, "Roles". */
static void acl_for(FILE *f, const prov *p, const device *d)
{
    const char *s = p->site;
    fprintf(f, "\n# %s\nuser %s\n", d->name, d->name);
    if (!strcmp(d->role, "controller")) {
        /* requests, and every device's status (alerts: a device offline, a
         * printer out of paper) */
        static const char *const rd[] = {"ticket/take",    "ticket/cancel",  "counter/+/cmd",
                                         "alert/ack",      "report",         "device/+/+/status",
                                         "booking/slots",  "booking/make",   "booking/cancel",
                                         "stream/replay"};
        static const char *const wr[] = {
            "config",          "call",  "calls/recent", "counter/+/state", "counter/+/queue",
            "counters",        "stats", "stats/hourly", "alerts",          "alert/event",
            "ticket/+/status", "reply/#", "stream"};
        for (size_t i = 0; i < sizeof rd / sizeof rd[0]; i++)
            fprintf(f, "topic read qms/%s/%s\n", s, rd[i]);
        for (size_t i = 0; i < sizeof wr / sizeof wr[0]; i++)
            fprintf(f, "topic write qms/%s/%s\n", s, wr[i]);
        fprintf(f, "topic readwrite qms/%s/device/controller/main/status\n", s);
        return;
    }
    if (!strcmp(d->role, "dashboard")) {
        /* the manager's view: reads the center's state and alerts; may only
         * acknowledge an alert and ask for a report (its replies: the pattern
         * above) */
        for (size_t i = 0; i < NDASH_READ; i++)
            fprintf(f, "topic read qms/%s/%s\n", s, DASH_READ[i].topic);
        fprintf(f, "topic write qms/%s/alert/ack\n", s);
        fprintf(f, "topic write qms/%s/report\n", s);
        return;
    }
    if (!strcmp(d->role, "web-bridge")) {
        /* the web broker's bridge (mosquitto-web.conf): reads what it brings
         * in for the pages, writes the requests it carries out; nothing
         * else, so a web broker taken over cannot act as a device */
        web_bridge_topics(p, f, emit_acl);
        return;
    }
    fprintf(f, "topic readwrite qms/%s/device/%s/%s/status\n", s, d->role, d->id);
    fprintf(f, "topic read qms/%s/config\n", s);
    fprintf(f, "topic read qms/%s/device/controller/+/status\n", s);
    if (!strcmp(d->role, "kiosk")) {
        fprintf(f, "topic write qms/%s/ticket/take\n", s);
        fprintf(f, "topic write qms/%s/ticket/cancel\n", s);
    } else if (!strcmp(d->role, "counter")) {
        /* the terminal is device counter/<n>, a one-shot command counter/<n>-cli */
        fprintf(f, "topic readwrite qms/%s/device/counter/%s-cli/status\n", s, d->id);
        fprintf(f, "topic write qms/%s/counter/%s/cmd\n", s, d->id);
        fprintf(f, "topic read qms/%s/counter/%s/state\n", s, d->id);
        fprintf(f, "topic read qms/%s/counter/%s/queue\n", s, d->id);
        fprintf(f, "topic read qms/%s/call\n", s);
        fprintf(f, "topic read qms/%s/calls/recent\n", s);
        fprintf(f, "topic read qms/%s/stats\n", s);
        /* the active alerts: qms-counter -i shows those of its services and its own */
        fprintf(f, "topic read qms/%s/alerts\n", s);
    } else if (!strcmp(d->role, "display")) {
        fprintf(f, "topic read qms/%s/call\n", s);
        fprintf(f, "topic read qms/%s/calls/recent\n", s);
        fprintf(f, "topic read qms/%s/counter/+/state\n", s);
        fprintf(f, "topic read qms/%s/stats\n", s);
    } else if (!strcmp(d->role, "gateway")) {
        /* the keypads of every counter on its RS-485 line, and the LED boards */
        fprintf(f, "topic write qms/%s/counter/+/cmd\n", s);
        fprintf(f, "topic read qms/%s/counter/+/state\n", s);
        fprintf(f, "topic read qms/%s/call\n", s);
        fprintf(f, "topic read qms/%s/stats\n", s);
    }
}

static int write_acl(const prov *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    fprintf(f,
            "# mosquitto ACL for QMS site \"%s\", written by qms-provision: each device may do\n"
            "# what its role does (docs/protocol.md, \"Roles\") and nothing else. Anonymous\n"
            "# clients are refused (mosquitto.conf). Re-run qms-provision to change it.\n"
            "\n"
            "# Everyone reads the replies to its own requests, and only those: a client's\n"
            "# reply topic is qms/<site>/reply/<its user name>/<client id>.\n"
            "pattern read qms/%s/reply/%%u/#\n"
            "\n"
            "# The citizen's ticket page (anonymous, where a listener lets it in) reads\n"
            "# one ticket's status: the one whose token is its client id. A pattern, not\n"
            "# \"ticket/+/status\", which would let anyone subscribe to every ticket.\n"
            "pattern read qms/%s/ticket/%%c/status\n"
            "\n"
            "# The citizen's booking page (anonymous, where a listener lets it in; these\n"
            "# topic lines come before any user line, so they are the anonymous client's):\n"
            "# it reads the center's config (services, hours), may ask for slots, book and\n"
            "# cancel, and reads only the replies under\n"
            "# qms/<site>/reply/web/<its client id> (no device is named \"web\"). It cannot\n"
            "# read the booking requests, so nobody sees another citizen's CCCD number.\n"
            "# Devices do not book: docs/provision.md, \"Bookings\".\n"
            "topic read qms/%s/config\n"
            "topic write qms/%s/booking/slots\n"
            "topic write qms/%s/booking/make\n"
            "topic write qms/%s/booking/cancel\n"
            "pattern read qms/%s/reply/web/%%c/#\n",
            p->site, p->site, p->site, p->site, p->site, p->site, p->site, p->site);
    for (int i = 0; i < p->ndev; i++)
        acl_for(f, p, &p->dev[i]);
    fclose(f);
    return write_broker_file(p, "acl", 0644, buf);
}

/* A password file: every device's user (file "passwd", the site broker), or
 * only those of one role ("passwd-web": the dashboard's, with the same
 * password as on the site broker, its clients/dashboard.json). */
static int write_passwd(const prov *p, const char *file, const char *role)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    int rc = 0;
    for (int i = 0; i < p->ndev && !rc; i++) {
        if (role && strcmp(p->dev[i].role, role))
            continue;
        char h[256];
        rc = prov_mosquitto_hash(p->dev[i].password, h, sizeof h);
        fprintf(f, "%s:%s\n", p->dev[i].name, h);
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    return write_broker_file(p, file, 0600, buf);
}

/* The same limits on both brokers (docs/protocol.md): a client that stops
 * reading cannot make the broker grow without bound, and no message is
 * larger than a center needs. */
#define LIMITS                                                                                    \
    "\n"                                                                                          \
    "# Limits (docs/protocol.md): a client that stops reading cannot make the\n"                  \
    "# broker grow without bound, and no message is larger than a center needs.\n"                \
    "set_tcp_nodelay true\n"                                                                      \
    "max_inflight_messages 1000\n"                                                                \
    "max_queued_messages 10000\n"                                                                 \
    "max_queued_bytes 16777216\n"                                                                 \
    "max_packet_size 262144\n"                                                                    \
    "max_keepalive 120\n"                                                                         \
    "\n"                                                                                          \
    "log_dest stderr\n"                                                                           \
    "log_type error\n"                                                                            \
    "log_type warning\n"                                                                          \
    "log_type notice\n"                                                                           \
    "connection_messages true\n"

static int write_conf(const prov *p)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/mosquitto.conf", p->out);
    const char *c = p->conf_dir;
    char local[PATH_MAX + 512] = "";
    if (p->local_port)
        snprintf(local, sizeof local,
                 "\n# Plain MQTT for programs on this machine only (the controller, tools%s);\n"
                 "# the same users and ACL.\n"
                 "listener %d 127.0.0.1\n"
                 "max_connections 64\n",
                 p->ws_port ? ",\n# the web broker's bridge: mosquitto-web.conf" : "", p->local_port);
    return write_file(
        path, 0644,
        "# mosquitto 2.0 configuration for QMS site \"%s\", written by qms-provision\n"
        "# (docs/provision.md). Start: mosquitto -c %s/mosquitto.conf\n"
        "# Re-run qms-provision to add devices; it rewrites this file.\n"
        "%s"
        "\n"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        "password_file %s/passwd\n"
        "acl_file %s/acl\n"
        "\n"
        "# The center's LAN: TLS%s.\n"
        "listener %d %s\n"
        "cafile %s/ca.crt\n"
        "certfile %s/broker.crt\n"
        "keyfile %s/broker.key\n"
        "tls_version tlsv1.2\n"
        "require_certificate %s\n"
        "max_connections 500\n"
        "%s"
        "%s",
        p->site, c,
        p->ws_port ? "# The web pages are served by a second mosquitto, the web broker\n"
                     "# (mosquitto-web.conf), bridged to this one: no browser connects here.\n"
                   : "",
        c, c, p->client_certs ? ", and a client certificate from the center's CA" : "", p->port,
        p->bind, c, c, c, p->client_certs ? "true" : "false", local, LIMITS);
}

/* The web broker's ACL: the lines of the site ACL that concern the web
 * pages, and nothing for any device (none logs in there). */
static int write_web_acl(const prov *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    const char *s = p->site;
    fprintf(f,
            "# mosquitto ACL of the web broker of QMS site \"%s\", written by qms-provision\n"
            "# (docs/provision.md): the web pages' rights, as on the site broker.\n"
            "\n"
            "# The dashboard user reads the replies to its own requests, and only those:\n"
            "# qms/<site>/reply/<its user name>/<client id>.\n"
            "pattern read qms/%s/reply/%%u/#\n"
            "\n"
            "# The citizen's ticket page (anonymous) reads one ticket's status: the one\n"
            "# whose token is its client id (a pattern, not \"ticket/+/status\").\n"
            "pattern read qms/%s/ticket/%%c/status\n"
            "\n"
            "# The citizen's booking page (anonymous; topic lines before any user line\n"
            "# are the anonymous client's): reads the config, asks for slots, books,\n"
            "# cancels, and reads only its replies under qms/<site>/reply/web/<client id>.\n"
            "topic read qms/%s/config\n"
            "topic write qms/%s/booking/slots\n"
            "topic write qms/%s/booking/make\n"
            "topic write qms/%s/booking/cancel\n"
            "pattern read qms/%s/reply/web/%%c/#\n",
            s, s, s, s, s, s, s, s);
    for (int i = 0; i < p->ndev; i++)
        if (!strcmp(p->dev[i].role, "dashboard"))
            acl_for(f, p, &p->dev[i]);
    fclose(f);
    return write_broker_file(p, "acl-web", 0644, buf);
}

/* The web broker: websockets for the pages, a plain loopback listener
 * (mosquitto 2.0 does not start with a websockets listener alone), and the
 * bridge to the site broker's loopback listener. Holds the web-bridge
 * user's password: readable by the broker only. */
static int write_web_conf(const prov *p, const char *bridge_password)
{
    char path[PATH_MAX + 32], *topics = NULL;
    size_t len = 0;
    FILE *t = open_memstream(&topics, &len);
    if (!t)
        return -1;
    web_bridge_topics(p, t, emit_bridge);
    fclose(t);
    snprintf(path, sizeof path, "%s/mosquitto-web.conf", p->out);
    const char *c = p->conf_dir, *s = p->site;
    /* The bridge's client id on the web broker is a secret: the websockets
     * listener lets anonymous clients in, and one that connected with the
     * bridge's id would make mosquitto close the bridge's connection (MQTT:
     * a client id is one session), again and again. Fresh at every run. */
    char local_id[32];
    if (prov_random_password(local_id, sizeof local_id, 24)) {
        free(topics);
        return -1;
    }
    int rc = write_file(
        path, 0600,
        "# mosquitto 2.0 configuration of the WEB broker of QMS site \"%s\", written by\n"
        "# qms-provision (docs/provision.md, docs/dashboard.md). A second mosquitto for\n"
        "# the web pages, so that no browser shares the site broker's one thread with\n"
        "# the controller's requests. Start: mosquitto -c %s/mosquitto-web.conf\n"
        "# (systemd: qms-web-broker). Holds the web-bridge user's password.\n"
        "\n"
        "# Each listener says who may connect: anonymous clients only on websockets.\n"
        "per_listener_settings true\n"
        "\n"
        "# Plain MQTT on this machine only (mosquitto does not start with a websockets\n"
        "# listener alone; tools and tests): the web users, no anonymous client.\n"
        "listener %d 127.0.0.1\n"
        "max_connections 16\n"
        "allow_anonymous false\n"
        "password_file %s/passwd-web\n"
        "acl_file %s/acl-web\n"
        "\n"
        "# The web pages (docs/dashboard.md): HTTP for the files of http_dir and MQTT\n"
        "# over websockets on the same port. The dashboard logs in as the dashboard\n"
        "# user; the citizen's ticket and booking pages are anonymous (acl-web).\n"
        "listener %d %s\n"
        "protocol websockets\n"
        "http_dir %s\n"
        "max_connections 1000\n"
        "allow_anonymous true\n"
        "password_file %s/passwd-web\n"
        "acl_file %s/acl-web\n"
        "%s"
        "\n"
        "# The bridge to the site broker's loopback listener, as its user web-bridge\n"
        "# (the site ACL lets it read and write exactly the topics below). MQTT v5:\n"
        "# the requests' response topic and correlation data cross it. In and out\n"
        "# are disjoint, so nothing bridged in goes back out.\n"
        "connection qms-web-%s\n"
        "address 127.0.0.1:%d\n"
        "bridge_protocol_version mqttv50\n"
        "remote_clientid qms-web-bridge-%s\n"
        "# secret (anonymous web clients cannot take it over): qms-provision's own\n"
        "local_clientid qms-web-bridge-%s\n"
        "remote_username web-bridge\n"
        "remote_password %s\n"
        "cleansession true\n"
        "keepalive_interval 20\n"
        "restart_timeout 1 10\n"
        "notifications false\n"
        "# in: site -> web pages (QoS 0: retained state, each message replacing the\n"
        "# last; 1: events, replies); out: the pages' requests\n"
        "%s",
        s, c, p->web_local_port, c, c, p->ws_port, p->bind, p->http_dir, c, c, LIMITS, s,
        p->local_port, s, local_id, bridge_password, topics);
    free(topics);
    if (!rc)
        broker_readable(path);
    return rc;
}

static int json_out(const char *path, cJSON *o, int mode)
{
    char *text = cJSON_Print(o);
    int rc = text ? write_file(path, mode, "%s\n", text) : -1;
    free(text);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    char *text = slurp(from);
    int rc = text ? write_file(to, 0644, "%s", text) : -1;
    free(text);
    return rc;
}

static int provision(prov *p)
{
    char path[PATH_MAX + 64], key[PATH_MAX + 64], err[512];
    snprintf(path, sizeof path, "%s/clients", p->out);
    if ((mkdir(p->out, 0755) && errno != EEXIST) || (mkdir(path, 0700) && errno != EEXIST)) {
        fprintf(stderr, "qms-provision: cannot make %s: %s\n", path, strerror(errno));
        return 1;
    }
    prov_ca *ca = NULL;
    if (prov_ca_open(p->out, p->site, &ca, err, sizeof err)) {
        fprintf(stderr, "qms-provision: %s\n", err);
        return 1;
    }
    int rc = 0;
    snprintf(path, sizeof path, "%s/broker.crt", p->out);
    snprintf(key, sizeof key, "%s/broker.key", p->out);
    if (access(path, F_OK) != 0) {
        char sans[400];
        int is_ip = strspn(p->host, "0123456789.") == strlen(p->host) || strchr(p->host, ':');
        snprintf(sans, sizeof sans, "%s:%s,IP:127.0.0.1,DNS:localhost", is_ip ? "IP" : "DNS",
                 p->host);
        if (prov_ca_issue(ca, "qms-broker", sans, p->days, path, key, err, sizeof err)) {
            fprintf(stderr, "qms-provision: broker certificate: %s\n", err);
            rc = 1;
        }
        broker_readable(key);
        printf("made the broker's certificate for %s\n", p->host);
    }
    snprintf(path, sizeof path, "%s/ca.crt", p->out);
    snprintf(key, sizeof key, "%s/clients/ca.crt", p->out);
    if (!rc)
        rc = copy_file(path, key);
    int added = 0;
    for (int i = 0; i < p->ndev && !rc; i++) {
        device *d = &p->dev[i];
        if (!d->existed && prov_random_password(d->password, sizeof d->password, 24)) {
            rc = 1;
            break;
        }
        char crt[PATH_MAX + 128], k[PATH_MAX + 128];
        snprintf(crt, sizeof crt, "%s/clients/%s.crt", p->out, d->name);
        snprintf(k, sizeof k, "%s/clients/%s.key", p->out, d->name);
        /* the web broker's bridge reaches the site broker on its loopback
         * listener: a password, no certificate */
        int bridge = !strcmp(d->role, "web-bridge");
        if (p->client_certs && !bridge && access(crt, F_OK) != 0 &&
            prov_ca_issue(ca, d->name, NULL, p->days, crt, k, err, sizeof err)) {
            fprintf(stderr, "qms-provision: %s: %s\n", d->name, err);
            rc = 1;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", d->role);
        if (d->id[0])
            cJSON_AddStringToObject(o, "id", d->id);
        cJSON_AddStringToObject(o, "site", p->site);
        cJSON_AddStringToObject(o, "host", bridge ? "127.0.0.1" : p->host);
        cJSON_AddNumberToObject(o, "port", bridge ? p->local_port : p->port);
        cJSON_AddStringToObject(o, "username", d->name);
        cJSON_AddStringToObject(o, "password", d->password);
        if (!bridge)
            cJSON_AddStringToObject(o, "cafile", "ca.crt");
        if (p->client_certs && !bridge) {
            char n[96];
            snprintf(n, sizeof n, "%s.crt", d->name);
            cJSON_AddStringToObject(o, "certfile", n);
            snprintf(n, sizeof n, "%s.key", d->name);
            cJSON_AddStringToObject(o, "keyfile", n);
        }
        snprintf(path, sizeof path, "%s/clients/%s.json", p->out, d->name);
        rc = json_out(path, o, 0600);
        cJSON_Delete(o);
        if (!d->existed)
            printf("added %s\n", d->name);
        added += !d->existed;
    }
    prov_ca_free(ca);
    if (!rc)
        rc = write_passwd(p, "passwd", NULL) || write_acl(p) || write_conf(p);
    if (!rc && p->ws_port) {
        const char *bridge_pw = NULL;
        for (int i = 0; i < p->ndev; i++)
            if (!strcmp(p->dev[i].role, "web-bridge"))
                bridge_pw = p->dev[i].password;
        rc = !bridge_pw || write_passwd(p, "passwd-web", "dashboard") || write_web_acl(p) ||
             write_web_conf(p, bridge_pw);
    }
    if (rc)
        return 1;
    printf("%s: %d devices (%d new); clients/<name>.json for each; "
           "start the broker with mosquitto -c %s/mosquitto.conf\n",
           p->out, p->ndev, added, p->conf_dir);
    if (p->ws_port)
        printf("the web pages: mosquitto -c %s/mosquitto-web.conf (websockets on %s:%d, "
               "bridged to 127.0.0.1:%d)\n",
               p->conf_dir, p->bind, p->ws_port, p->local_port);
    return 0;
}

static int staff_hash(void)
{
    char code[256];
    if (!fgets(code, sizeof code, stdin)) {
        fprintf(stderr, "qms-provision: give the staff code on stdin\n");
        return 2;
    }
    code[strcspn(code, "\r\n")] = 0;
    if (strlen(code) < 4) {
        fprintf(stderr, "qms-provision: a staff code has at least 4 characters\n");
        return 2;
    }
    char h[256];
    if (prov_staff_hash(code, h, sizeof h))
        return 1;
    puts(h);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bridge") == 0)
        return prov_bridge_main(argc - 1, argv + 1);
    enum { O_HOST = 256, O_PORT, O_BIND, O_LOCAL, O_KIOSK, O_DISPLAY, O_GATEWAY, O_NODASH,
           O_NOCERT, O_CONFDIR, O_DAYS, O_STAFF, O_WS, O_HTTPDIR, O_WEBLOCAL };
    static const struct option opts[] = {
        {"config", 1, 0, 'c'},       {"out", 1, 0, 'o'},           {"host", 1, 0, O_HOST},
        {"port", 1, 0, O_PORT},      {"bind", 1, 0, O_BIND},       {"local-port", 1, 0, O_LOCAL},
        {"kiosk", 1, 0, O_KIOSK},    {"display", 1, 0, O_DISPLAY}, {"gateway", 1, 0, O_GATEWAY},
        {"no-dashboard", 0, 0, O_NODASH}, {"no-client-certs", 0, 0, O_NOCERT},
        {"conf-dir", 1, 0, O_CONFDIR}, {"days", 1, 0, O_DAYS},   {"staff-hash", 0, 0, O_STAFF},
        {"ws-port", 1, 0, O_WS},     {"http-dir", 1, 0, O_HTTPDIR},
        {"web-local-port", 1, 0, O_WEBLOCAL},
        {"help", 0, 0, 'h'},         {0, 0, 0, 0},
    };
    static prov P;
    prov *p = &P;
    p->host = "127.0.0.1";
    p->bind = "0.0.0.0";
    p->port = 8883;
    p->client_certs = 1;
    p->days = 825;
    p->http_dir = "/usr/share/qms/dashboard";
    const char *config = NULL, *conf_dir = NULL;
    const char *extra_role[64], *extra_id[64];
    int nextra = 0, dashboard = 1, ch;
    while ((ch = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        char *end = NULL;
        long v = 0;
        if (ch == O_PORT || ch == O_LOCAL || ch == O_DAYS || ch == O_WS || ch == O_WEBLOCAL) {
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > (ch == O_DAYS ? 36500 : 65535)) {
                fprintf(stderr, "qms-provision: bad number \"%s\"\n", optarg);
                return 2;
            }
        }
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'o':
            p->out = optarg;
            break;
        case O_HOST:
            p->host = optarg;
            break;
        case O_PORT:
            p->port = (int)v;
            break;
        case O_LOCAL:
            p->local_port = (int)v;
            break;
        case O_DAYS:
            p->days = (int)v;
            break;
        case O_WS:
            p->ws_port = (int)v;
            break;
        case O_WEBLOCAL:
            p->web_local_port = (int)v;
            break;
        case O_HTTPDIR:
            p->http_dir = optarg;
            break;
        case O_BIND:
            p->bind = optarg;
            break;
        case O_KIOSK:
        case O_DISPLAY:
        case O_GATEWAY:
            if (nextra == 64) {
                fprintf(stderr, "qms-provision: too many devices on the command line\n");
                return 2;
            }
            extra_role[nextra] = ch == O_KIOSK ? "kiosk" : ch == O_DISPLAY ? "display" : "gateway";
            extra_id[nextra++] = optarg;
            break;
        case O_NODASH:
            dashboard = 0;
            break;
        case O_NOCERT:
            p->client_certs = 0;
            break;
        case O_CONFDIR:
            conf_dir = optarg;
            break;
        case O_STAFF:
            return staff_hash();
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !config || !p->out) {
        usage(stderr);
        return 2;
    }
    if (p->ws_port && !p->local_port) {
        fprintf(stderr, "qms-provision: --ws-port needs --local-port: the web broker's bridge "
                        "reaches the site broker on its loopback listener\n");
        return 2;
    }
    if (p->web_local_port && !p->ws_port) {
        fprintf(stderr, "qms-provision: --web-local-port is the web broker's: give --ws-port\n");
        return 2;
    }
    if (p->ws_port && !p->web_local_port) {
        p->web_local_port = p->local_port + 1;
        if (p->web_local_port > 65535) {
            fprintf(stderr, "qms-provision: give --web-local-port\n");
            return 2;
        }
    }
    if (p->ws_port) {
        const int ports[] = {p->port, p->local_port, p->ws_port, p->web_local_port};
        for (int i = 0; i < 4; i++)
            for (int j = i + 1; j < 4; j++)
                if (ports[i] == ports[j]) {
                    fprintf(stderr,
                            "qms-provision: port %d given twice (--port %d, --local-port %d, "
                            "--ws-port %d, --web-local-port %d)\n",
                            ports[i], p->port, p->local_port, p->ws_port, p->web_local_port);
                    return 2;
                }
    }
    if (!*p->http_dir || strpbrk(p->http_dir, "\n\r")) {
        fprintf(stderr, "qms-provision: bad --http-dir\n");
        return 2;
    }
    if (strpbrk(p->host, " \t\n,") || !*p->host) {
        fprintf(stderr, "qms-provision: bad --host \"%s\"\n", p->host);
        return 2;
    }
    qms_config *cfg = NULL;
    char err[512];
    if (qms_config_load_file(config, &cfg, err, sizeof err)) {
        fprintf(stderr, "qms-provision: %s: %s\n", config, err);
        return 2;
    }
    snprintf(p->site, sizeof p->site, "%s", cfg->site);
    char *text = slurp(config);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *dv = cJSON_GetObjectItemCaseSensitive(root, "devices");
    if (dv && !cJSON_IsObject(dv)) {
        fprintf(stderr, "qms-provision: %s: \"devices\" must be an object\n", config);
        return 2;
    }
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(dv, "dashboard");
    if (cJSON_IsFalse(db))
        dashboard = 0;
    add_device(p, "controller", NULL);
    devices_from_config(p, cfg, root);
    cJSON_Delete(root);
    qms_config_free(cfg);
    for (int i = 0; i < nextra; i++)
        if (add_device(p, extra_role[i], extra_id[i]))
            return 2;
    if (dashboard)
        add_device(p, "dashboard", NULL);
    if (p->ws_port)
        add_device(p, "web-bridge", NULL);
    if (mkdir(p->out, 0755) && errno != EEXIST) {
        fprintf(stderr, "qms-provision: cannot make %s: %s\n", p->out, strerror(errno));
        return 1;
    }
    if (load_existing(p))
        return 1;
    for (int i = 0; i < p->ndev && !p->ws_port; i++)
        if (!strcmp(p->dev[i].role, "web-bridge"))
            fprintf(stderr,
                    "qms-provision: note: the user web-bridge (an earlier --ws-port) is kept; "
                    "to retire the web broker's access, delete %s/clients/web-bridge.json and "
                    "run again\n",
                    p->out);
    if (conf_dir) {
        snprintf(p->conf_dir, sizeof p->conf_dir, "%s", conf_dir);
    } else if (!realpath(p->out, p->conf_dir)) {
        fprintf(stderr, "qms-provision: %s: %s\n", p->out, strerror(errno));
        return 1;
    }
    return provision(p);
}
