/* qms-provision bridge: the bridge section of a site's mosquitto.conf that
 * carries the site's outward topics to the province broker and the replay
 * requests back (docs/province.md). With --province DIR, the link is TLS
 * with the site's own certificate from the province's CA (DIR/ca.crt,
 * made there if missing) and its own user; DIR/sites/<site>.passwd and
 * .acl are the lines the province broker needs for it. */
#include "provision_bridge.h"
#include "provision_crypto.h"

#include "qms/config.h"
#include "qms/err.h"
#include "qms/mqtt.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("usage: qms-provision bridge --config center.json --remote HOST:PORT --out FILE\n"
          "                            [--province DIR] [--queue N] [--persistence DIR]\n"
          "\n"
          "Writes the bridge section for the site of center.json (docs/province.md):\n"
          "out to the province, QoS 1: qms/<site>/stream, stats, stats/hourly, alerts,\n"
          "config, device/+/+/status; in from the province: qms/<site>/stream/replay.\n"
          "Never the requests (ticket/take, counter/+/cmd, ...).\n"
          "\n"
          "  --province DIR    TLS with a certificate for this site from the province's\n"
          "                    CA in DIR (made if missing) and a user site-<site>;\n"
          "                    DIR/sites/<site>.passwd and .acl: the province broker's lines\n"
          "                    (without it: plain MQTT, for one machine or a VPN)\n"
          "  --queue N         messages the site broker keeps for the province while the\n"
          "                    link is down (max_queued_messages, default 100000)\n"
          "  --persistence DIR the site broker's persistence folder: the queue survives\n"
          "                    its restart (default /var/lib/mosquitto/)\n",
          f);
}

static int site_ok(const char *s)
{
    if (!*s || strlen(s) > 48)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

int prov_bridge_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", 1, 0, 'c'}, {"remote", 1, 0, 'r'},      {"out", 1, 0, 'o'},
        {"province", 1, 0, 'p'}, {"queue", 1, 0, 'q'},     {"persistence", 1, 0, 's'},
        {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *config = NULL, *remote = NULL, *out = NULL, *province = NULL;
    const char *persist = "/var/lib/mosquitto/";
    long queue = 100000;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'r': remote = optarg; break;
        case 'o': out = optarg; break;
        case 'p': province = optarg; break;
        case 's': persist = optarg; break;
        case 'q': {
            char *end;
            queue = strtol(optarg, &end, 10);
            if (*end || queue < 100 || queue > 10000000) {
                fprintf(stderr, "qms-provision bridge: --queue wants 100..10000000\n");
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !config || !remote || !out) {
        usage(stderr);
        return 2;
    }
    char host[256];
    int port;
    if (qms_parse_hostport(remote, host, sizeof host, &port) || strpbrk(host, " \t\n")) {
        fprintf(stderr, "qms-provision bridge: bad --remote \"%s\" (want HOST:PORT)\n", remote);
        return 2;
    }
    if (strpbrk(persist, "\n")) {
        fprintf(stderr, "qms-provision bridge: bad --persistence\n");
        return 2;
    }
    qms_config *cfg = NULL;
    char err[512];
    if (qms_config_load_file(config, &cfg, err, sizeof err)) {
        fprintf(stderr, "qms-provision bridge: %s: %s\n", config, err);
        return 2;
    }
    char site[64];
    snprintf(site, sizeof site, "%s", cfg->site);
    qms_config_free(cfg);
    if (!site_ok(site)) {
        fprintf(stderr,
                "qms-provision bridge: the site \"%s\" is not a plain name (letters, digits, -, _)\n",
                site);
        return 2;
    }

    char tls[3 * PATH_MAX + 512] = "";
    if (province) {
        char dir[PATH_MAX], crt[PATH_MAX + 80], key[PATH_MAX + 80], pw[64], hash[256];
        snprintf(dir, sizeof dir, "%s/sites", province);
        if ((mkdir(province, 0755) && errno != EEXIST) || (mkdir(dir, 0700) && errno != EEXIST)) {
            fprintf(stderr, "qms-provision bridge: cannot make %s: %s\n", dir, strerror(errno));
            return 1;
        }
        char abs[PATH_MAX];
        if (!realpath(province, abs)) {
            fprintf(stderr, "qms-provision bridge: %s: %s\n", province, strerror(errno));
            return 1;
        }
        prov_ca *ca = NULL;
        if (prov_ca_open(province, "province", &ca, err, sizeof err)) {
            fprintf(stderr, "qms-provision bridge: %s\n", err);
            return 1;
        }
        snprintf(crt, sizeof crt, "%s/sites/site-%s.crt", abs, site);
        snprintf(key, sizeof key, "%s/sites/site-%s.key", abs, site);
        char cn[80];
        snprintf(cn, sizeof cn, "site-%s", site);
        int rc = access(crt, F_OK) != 0 &&
                 prov_ca_issue(ca, cn, NULL, 825, crt, key, err, sizeof err);
        prov_ca_free(ca);
        if (rc) {
            fprintf(stderr, "qms-provision bridge: %s\n", err);
            return 1;
        }
        if (prov_random_password(pw, sizeof pw, 24) || prov_mosquitto_hash(pw, hash, sizeof hash))
            return 1;
        char path[PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/sites/%s.passwd", abs, site);
        FILE *f = fopen(path, "w");
        if (!f || fprintf(f, "site-%s:%s\n", site, hash) < 0 || fclose(f)) {
            fprintf(stderr, "qms-provision bridge: %s: %s\n", path, strerror(errno));
            return 1;
        }
        snprintf(path, sizeof path, "%s/sites/%s.acl", abs, site);
        f = fopen(path, "w");
        if (!f ||
            fprintf(f,
                    "# the bridge of site %s: publishes its own subtree, reads its replay requests\n"
                    "user site-%s\n"
                    "topic write qms/%s/#\n"
                    "topic read qms/%s/stream/replay\n\n",
                    site, site, site, site) < 0 ||
            fclose(f)) {
            fprintf(stderr, "qms-provision bridge: %s: %s\n", path, strerror(errno));
            return 1;
        }
        snprintf(tls, sizeof tls,
                 "# TLS with the site's own certificate from the province's CA\n"
                 "bridge_cafile %s/ca.crt\n"
                 "bridge_certfile %s\n"
                 "bridge_keyfile %s\n"
                 "bridge_tls_version tlsv1.2\n"
                 "remote_username site-%s\n"
                 "remote_password %s\n",
                 abs, crt, key, site, pw);
    }
    FILE *f = fopen(out, "w");
    if (!f) {
        fprintf(stderr, "qms-provision bridge: %s: %s\n", out, strerror(errno));
        return 1;
    }
    fprintf(f,
            "# Bridge of QMS site \"%s\" to the province broker, written by\n"
            "# qms-provision bridge (docs/province.md). Append to the site's\n"
            "# mosquitto.conf (or put it in its include_dir).\n"
            "\n"
            "# The queue for the province survives a restart of this broker.\n"
            "persistence true\n"
            "persistence_location %s\n"
            "autosave_interval 10\n"
            "# Kept for the province while the link is down; past it the hub fills\n"
            "# the hole by replay from the controller's store.\n"
            "max_queued_messages %ld\n"
            "\n"
            "connection qms-province-%s\n"
            "address %s:%d\n"
            "bridge_protocol_version mqttv311\n"
            "clientid qms-bridge-%s\n"
            "local_clientid qms-bridge-%s-local\n"
            "cleansession false\n"
            "try_private true\n"
            "keepalive_interval 20\n"
            "restart_timeout 1 10\n"
            "notifications true\n"
            "notification_topic qms/%s/bridge/state\n"
            "# out: what the province sees (QoS 1); never the requests. Each line:\n"
            "# topic PATTERN DIRECTION QOS LOCAL-PREFIX REMOTE-PREFIX (same tree both sides)\n"
            "topic stream out 1 qms/%s/ qms/%s/\n"
            "topic stats out 1 qms/%s/ qms/%s/\n"
            "topic stats/hourly out 1 qms/%s/ qms/%s/\n"
            "topic alerts out 1 qms/%s/ qms/%s/\n"
            "topic config out 1 qms/%s/ qms/%s/\n"
            "topic device/+/+/status out 1 qms/%s/ qms/%s/\n"
            "# in: the hub's replay requests\n"
            "topic stream/replay in 1 qms/%s/ qms/%s/\n"
            "%s",
            site, persist, queue, site, host, port, site, site, site, site, site, site, site,
            site, site, site, site, site, site, site, site, site, site, tls);
    if (fclose(f)) {
        fprintf(stderr, "qms-provision bridge: %s: %s\n", out, strerror(errno));
        return 1;
    }
    printf("%s: bridge of site %s to %s:%d%s\n", out, site, host, port,
           province ? " over TLS (province lines in DIR/sites/)" : " (plain MQTT)");
    return 0;
}
