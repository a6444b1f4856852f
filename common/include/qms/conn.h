/* How a program reaches the broker: one set of option names for every QMS
 * program (docs/options.md), the same keys in config files, and the
 * per-device client file written by qms-provision.
 *
 *   --broker HOST:PORT   --site SITE
 *   --username NAME      --password TEXT | --password-file FILE
 *   --cafile FILE        --certfile FILE   --keyfile FILE
 *   --client FILE        (a client file: all of the above at once)
 *   deprecated aliases (one release): --user, --cert, --key
 *
 * Settings come in layers, each overriding the one before: defaults, the
 * program's config file, the client file, the command line. QMS_BROKER_PASSWORD
 * gives the password when a user name has none. */
#ifndef QMS_CONN_H
#define QMS_CONN_H

#include <stddef.h>

#include "qms/mqtt.h"

struct cJSON;

enum {
    QMS_CONN_HOST = 1 << 0,
    QMS_CONN_PORT = 1 << 1,
    QMS_CONN_SITE = 1 << 2,
    QMS_CONN_USER = 1 << 3,
    QMS_CONN_PASS = 1 << 4,
    QMS_CONN_CAFILE = 1 << 5,
    QMS_CONN_CERT = 1 << 6,
    QMS_CONN_KEY = 1 << 7,
    QMS_CONN_ID = 1 << 8,
    QMS_CONN_ROLE = 1 << 9,
};

typedef struct qms_conn {
    unsigned set; /* QMS_CONN_* bits of the fields given in this layer */
    char host[256];
    int port;
    char site[64];
    char username[128];
    char password[256];
    char cafile[512];
    char certfile[512];
    char keyfile[512];
    char device_id[32]; /* from a client file: the device's own id ("3", "k1", "hall") */
    char role[32];      /* from a client file: controller, kiosk, counter, display... */
    char client_path[512]; /* --client FILE / "client": loaded by qms_conn_finish */
} qms_conn;

/* Empty layer (nothing set). */
void qms_conn_init(qms_conn *c);

/* getopt_long entries for the shared options; put QMS_CONN_LONGOPTS in a
 * program's option table and hand every val in [QMS_CONN_OPT_BASE,
 * QMS_CONN_OPT_END) to qms_conn_getopt. */
#define QMS_CONN_OPT_BASE 0x4000
#define QMS_CONN_LONGOPTS                                                                          \
    {"broker", 1, 0, QMS_CONN_OPT_BASE + 0}, {"username", 1, 0, QMS_CONN_OPT_BASE + 1},            \
        {"password", 1, 0, QMS_CONN_OPT_BASE + 2},                                                 \
        {"password-file", 1, 0, QMS_CONN_OPT_BASE + 3}, {"cafile", 1, 0, QMS_CONN_OPT_BASE + 4},   \
        {"certfile", 1, 0, QMS_CONN_OPT_BASE + 5}, {"keyfile", 1, 0, QMS_CONN_OPT_BASE + 6},       \
        {"client", 1, 0, QMS_CONN_OPT_BASE + 7}, {"user", 1, 0, QMS_CONN_OPT_BASE + 8},            \
        {"cert", 1, 0, QMS_CONN_OPT_BASE + 9}, {"key", 1, 0, QMS_CONN_OPT_BASE + 10}
#define QMS_CONN_OPT_END (QMS_CONN_OPT_BASE + 11)
int qms_conn_getopt(qms_conn *c, int val, const char *arg, char *err, size_t errlen);

/* For hand-written argument loops: name without the leading "--". Returns 1
 * when the option is one of ours (and consumed its value), 0 when not ours,
 * -1 on a bad value (err says why). */
int qms_conn_option(qms_conn *c, const char *name, const char *val, char *err, size_t errlen);

/* The same keys in a JSON object (a program's config file): "broker"
 * ("HOST:PORT"), "username", "password", "password_file", "cafile",
 * "certfile", "keyfile", "client" (a client file). Relative paths are taken
 * from base_dir (the config file's folder; NULL: as given). Absent keys
 * leave the layer as it is. QMS_OK or QMS_ERR_INVAL (err says which key). */
int qms_conn_from_json(qms_conn *c, const struct cJSON *o, const char *base_dir, char *err,
                       size_t errlen);

/* A client file written by qms-provision (clients/<role>-<id>.json):
 * {"username","password","cafile","certfile","keyfile","host","port","site",
 *  "role","id"}; relative paths from the file's folder. */
int qms_conn_load_client(qms_conn *c, const char *path, char *err, size_t errlen);

/* The same from text (len bytes); relative paths from base (NULL: as given). */
int qms_conn_parse_client(qms_conn *c, const char *text, size_t len, const char *base, char *err,
                          size_t errlen);

/* Copy into dst what src set. */
void qms_conn_merge(qms_conn *dst, const qms_conn *src);

/* Resolve one layer: load its client file (under what the layer itself set),
 * then check: cert/key need a CA file, a key needs a certificate and the
 * reverse, a password needs a user name; the password comes from
 * QMS_BROKER_PASSWORD when a user name has none. QMS_OK or QMS_ERR_INVAL. */
int qms_conn_finish(qms_conn *c, char *err, size_t errlen);

/* The usual sequence: finish the file layer (a config file's keys) and the
 * command-line layer, put the command line over the file, check the result.
 * The answer is in file. */
int qms_conn_resolve(qms_conn *file, qms_conn *cli, char *err, size_t errlen);

/* Fill the connection fields of a session's options (host, port, username,
 * password, cafile, certfile, keyfile; site when set). Pointers into c. */
void qms_conn_apply(const qms_conn *c, qms_mqtt_opts *o);

/* The shared lines of every program's --help. */
const char *qms_conn_usage(void);

#endif
