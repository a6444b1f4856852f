/* The shared broker options (conn.h). */
#include "qms/conn.h"

#include "qms/err.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qms_conn_init(qms_conn *c)
{
    memset(c, 0, sizeof *c);
}

static int put(char *dst, size_t cap, const char *val, const char *what, char *err, size_t errlen)
{
    if (!val || strlen(val) >= cap)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s is %s", what, val ? "too long" : "missing");
    memcpy(dst, val, strlen(val) + 1);
    return QMS_OK;
}

/* A path, relative to base when base is given and the path is not absolute. */
static int put_path(char *dst, size_t cap, const char *val, const char *base, const char *what,
                    char *err, size_t errlen)
{
    if (!val || !*val)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s is empty", what);
    int n = base && *base && val[0] != '/' ? snprintf(dst, cap, "%s/%s", base, val)
                                           : snprintf(dst, cap, "%s", val);
    if (n < 0 || (size_t)n >= cap)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s is too long", what);
    return QMS_OK;
}

static int read_password_file(qms_conn *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "cannot read the password file %s: %s", path,
                        strerror(errno));
    char line[sizeof c->password + 2];
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "the password file %s is empty", path);
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || strlen(line) >= sizeof c->password)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "the password file %s holds no usable password",
                        path);
    memcpy(c->password, line, strlen(line) + 1);
    c->set |= QMS_CONN_PASS;
    return QMS_OK;
}

static int set_broker(qms_conn *c, const char *val, char *err, size_t errlen)
{
    char host[sizeof c->host];
    int port;
    if (!val || qms_parse_hostport(val, host, sizeof host, &port) != QMS_OK)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "bad broker \"%s\" (want HOST:PORT)",
                        val ? val : "");
    memcpy(c->host, host, sizeof host);
    c->port = port;
    c->set |= QMS_CONN_HOST | QMS_CONN_PORT;
    return QMS_OK;
}

static const char *const names[] = {"broker", "username", "password", "password-file",
                                    "cafile", "certfile", "keyfile",  "client",
                                    "user",   "cert",     "key"};

static int set_one(qms_conn *c, int i, const char *val, char *err, size_t errlen)
{
    switch (i) {
    case 0:
        return set_broker(c, val, err, errlen);
    case 1:
    case 8:
        c->set |= QMS_CONN_USER;
        return put(c->username, sizeof c->username, val, "--username", err, errlen);
    case 2:
        c->set |= QMS_CONN_PASS;
        return put(c->password, sizeof c->password, val, "--password", err, errlen);
    case 3:
        return read_password_file(c, val, err, errlen);
    case 4:
        c->set |= QMS_CONN_CAFILE;
        return put_path(c->cafile, sizeof c->cafile, val, NULL, "--cafile", err, errlen);
    case 5:
    case 9:
        c->set |= QMS_CONN_CERT;
        return put_path(c->certfile, sizeof c->certfile, val, NULL, "--certfile", err, errlen);
    case 6:
    case 10:
        c->set |= QMS_CONN_KEY;
        return put_path(c->keyfile, sizeof c->keyfile, val, NULL, "--keyfile", err, errlen);
    case 7:
        return put_path(c->client_path, sizeof c->client_path, val, NULL, "--client", err, errlen);
    }
    return qms_fail(err, errlen, QMS_ERR_INVAL, "unknown option");
}

int qms_conn_getopt(qms_conn *c, int val, const char *arg, char *err, size_t errlen)
{
    int i = val - QMS_CONN_OPT_BASE;
    if (i < 0 || i >= (int)(sizeof names / sizeof names[0]))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "unknown option");
    if (i >= 8)
        fprintf(stderr, "note: --%s is deprecated, say --%s\n", names[i],
                i == 8   ? "username"
                : i == 9 ? "certfile"
                         : "keyfile");
    return set_one(c, i, arg, err, errlen) == QMS_OK ? QMS_OK : QMS_ERR_INVAL;
}

int qms_conn_option(qms_conn *c, const char *name, const char *val, char *err, size_t errlen)
{
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0) {
            if (!val)
                return qms_fail(err, errlen, QMS_ERR_INVAL, "--%s needs a value", name), -1;
            return qms_conn_getopt(c, QMS_CONN_OPT_BASE + i, val, err, errlen) == QMS_OK ? 1 : -1;
        }
    return 0;
}

static const char *jstr(const cJSON *o, const char *key, int *bad_type)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v) || !v->valuestring) {
        *bad_type = 1;
        return NULL;
    }
    return v->valuestring;
}

int qms_conn_from_json(qms_conn *c, const cJSON *o, const char *base, char *err, size_t errlen)
{
    static const char *const keys[] = {"broker", "username", "password", "password_file",
                                       "cafile", "certfile", "keyfile",  "client"};
    if (!cJSON_IsObject(o))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "not a JSON object");
    for (int i = 0; i < 8; i++) {
        int bt = 0;
        const char *v = jstr(o, keys[i], &bt);
        if (bt)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\" must be a string", keys[i]);
        if (!v)
            continue;
        int rc;
        char path[512], why[300] = "";
        if (i >= 3) { /* paths: relative to the file's folder */
            rc = put_path(path, sizeof path, v, base, keys[i], why, sizeof why);
            if (!rc)
                rc = set_one(c, i, path, why, sizeof why);
        } else {
            rc = set_one(c, i, v, why, sizeof why);
        }
        if (rc)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\": %s", keys[i], why);
    }
    return QMS_OK;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        qms_fail(err, errlen, QMS_ERR_INVAL, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    int more = buf && fgetc(f) != EOF;
    fclose(f);
    if (!buf || more) {
        free(buf);
        qms_fail(err, errlen, QMS_ERR_INVAL, "%s is too large", path);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

int qms_conn_load_client(qms_conn *c, const char *path, char *err, size_t errlen)
{
    char *text = slurp(path, err, errlen);
    if (!text)
        return QMS_ERR_IO;
    char base[512], why[400];
    snprintf(base, sizeof base, "%s", path);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(base, sizeof base, ".");
    int rc = qms_conn_parse_client(c, text, strlen(text), base, why, sizeof why);
    free(text);
    if (rc)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: %s", path, why);
    return QMS_OK;
}

int qms_conn_parse_client(qms_conn *c, const char *text, size_t len, const char *base, char *err,
                          size_t errlen)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return qms_fail(err, errlen, QMS_ERR_INVAL, "not a JSON object");
    }
    int rc = QMS_OK, bt = 0;
    char why[300] = "";
    const char *v;
    if ((v = jstr(o, "host", &bt))) {
        c->set |= QMS_CONN_HOST;
        rc = put(c->host, sizeof c->host, v, "host", why, sizeof why);
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "port");
    if (!rc && p) {
        if (!cJSON_IsNumber(p) || p->valuedouble < 1 || p->valuedouble > 65535 ||
            p->valuedouble != (int)p->valuedouble)
            rc = qms_fail(why, sizeof why, QMS_ERR_INVAL, "port must be 1..65535");
        c->port = p->valueint;
        c->set |= QMS_CONN_PORT;
    }
    static const struct {
        const char *key;
        unsigned bit;
        size_t off, cap;
        int is_path;
    } f[] = {
        {"site", QMS_CONN_SITE, offsetof(qms_conn, site), sizeof c->site, 0},
        {"username", QMS_CONN_USER, offsetof(qms_conn, username), sizeof c->username, 0},
        {"password", QMS_CONN_PASS, offsetof(qms_conn, password), sizeof c->password, 0},
        {"cafile", QMS_CONN_CAFILE, offsetof(qms_conn, cafile), sizeof c->cafile, 1},
        {"certfile", QMS_CONN_CERT, offsetof(qms_conn, certfile), sizeof c->certfile, 1},
        {"keyfile", QMS_CONN_KEY, offsetof(qms_conn, keyfile), sizeof c->keyfile, 1},
        {"id", QMS_CONN_ID, offsetof(qms_conn, device_id), sizeof c->device_id, 0},
        {"role", QMS_CONN_ROLE, offsetof(qms_conn, role), sizeof c->role, 0},
    };
    for (size_t i = 0; !rc && i < sizeof f / sizeof f[0]; i++) {
        if (!(v = jstr(o, f[i].key, &bt)))
            continue;
        char *dst = (char *)c + f[i].off;
        rc = f[i].is_path ? put_path(dst, f[i].cap, v, base, f[i].key, why, sizeof why)
                          : put(dst, f[i].cap, v, f[i].key, why, sizeof why);
        c->set |= f[i].bit;
    }
    if (!rc && bt)
        rc = qms_fail(why, sizeof why, QMS_ERR_INVAL, "a field is not a string");
    cJSON_Delete(o);
    if (rc)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s", why);
    return QMS_OK;
}

void qms_conn_merge(qms_conn *dst, const qms_conn *s)
{
#define TAKE(bit, field)                                                                           \
    if (s->set & (bit))                                                                            \
    memcpy(dst->field, s->field, sizeof dst->field)
    TAKE(QMS_CONN_HOST, host);
    TAKE(QMS_CONN_SITE, site);
    TAKE(QMS_CONN_USER, username);
    TAKE(QMS_CONN_PASS, password);
    TAKE(QMS_CONN_CAFILE, cafile);
    TAKE(QMS_CONN_CERT, certfile);
    TAKE(QMS_CONN_KEY, keyfile);
    TAKE(QMS_CONN_ID, device_id);
    TAKE(QMS_CONN_ROLE, role);
#undef TAKE
    if (s->set & QMS_CONN_PORT)
        dst->port = s->port;
    dst->set |= s->set;
}

int qms_conn_finish(qms_conn *c, char *err, size_t errlen)
{
    if (c->client_path[0]) {
        qms_conn file, mine = *c;
        qms_conn_init(&file);
        int rc = qms_conn_load_client(&file, c->client_path, err, errlen);
        if (rc)
            return rc;
        /* what this layer said itself wins over its client file */
        *c = file;
        qms_conn_merge(c, &mine);
        c->client_path[0] = 0;
    }
    if ((c->set & QMS_CONN_USER) && !(c->set & QMS_CONN_PASS)) {
        const char *env = getenv("QMS_BROKER_PASSWORD");
        if (env && *env) {
            if (put(c->password, sizeof c->password, env, "QMS_BROKER_PASSWORD", err, errlen))
                return QMS_ERR_INVAL;
            c->set |= QMS_CONN_PASS;
        }
    }
    if ((c->set & QMS_CONN_PASS) && !(c->set & QMS_CONN_USER))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "a password needs a user name (--username)");
    if ((c->set & (QMS_CONN_CERT | QMS_CONN_KEY)) && !(c->set & QMS_CONN_CAFILE))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "--certfile/--keyfile need --cafile");
    if (!(c->set & QMS_CONN_CERT) != !(c->set & QMS_CONN_KEY))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "--certfile and --keyfile go together");
    return QMS_OK;
}

int qms_conn_resolve(qms_conn *file, qms_conn *cli, char *err, size_t errlen)
{
    int rc = qms_conn_finish(file, err, errlen);
    if (!rc)
        rc = qms_conn_finish(cli, err, errlen);
    if (rc)
        return rc;
    qms_conn_merge(file, cli);
    return qms_conn_finish(file, err, errlen);
}

void qms_conn_apply(const qms_conn *c, qms_mqtt_opts *o)
{
    o->host = c->set & QMS_CONN_HOST ? c->host : "127.0.0.1";
    o->port = c->set & QMS_CONN_PORT ? c->port : 1883;
    o->username = c->set & QMS_CONN_USER ? c->username : NULL;
    o->password = c->set & QMS_CONN_PASS ? c->password : NULL;
    o->cafile = c->set & QMS_CONN_CAFILE ? c->cafile : NULL;
    o->certfile = c->set & QMS_CONN_CERT ? c->certfile : NULL;
    o->keyfile = c->set & QMS_CONN_KEY ? c->keyfile : NULL;
    if (c->set & QMS_CONN_SITE)
        o->site = c->site;
}

const char *qms_conn_usage(void)
{
    return "broker, credentials and TLS (the same in every QMS program, docs/options.md):\n"
           "  --broker HOST:PORT      MQTT broker (default 127.0.0.1:1883)\n"
           "  --client FILE           a client file from qms-provision (all of the below)\n"
           "  --username NAME         broker user name\n"
           "  --password TEXT         its password (or QMS_BROKER_PASSWORD in the environment)\n"
           "  --password-file FILE    the password, first line of FILE\n"
           "  --cafile FILE           the center's CA: connect with TLS\n"
           "  --certfile FILE         client certificate (with --keyfile, needs --cafile)\n"
           "  --keyfile FILE          its private key\n";
}
