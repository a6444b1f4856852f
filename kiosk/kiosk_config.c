#include "kiosk_config.h"

#include "qms/alloc.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define KIOSK_CONFIG_MAX_BYTES (256u << 10)

void kiosk_config_defaults(kiosk_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->site, "default");
    strcpy(c->kiosk_id, "1");
    strcpy(c->lang, "vi");
    /* A 21.5" 1920x1080 touch panel: ~102 px/inch, so 15 mm is ~61 px. */
    c->width = 1920;
    c->height = 1080;
    c->diagonal_in = 21.5;
    c->fullscreen = 0;
    /* The screens change a few times a minute: the software renderer draws
     * them in milliseconds and spares the ~60 MB a GL stack maps. */
    strcpy(c->renderer, "software");
    c->min_target_mm = 15.0;
    c->ask_priority = 1;
    c->baud = 115200;
    c->scanner_baud = 9600;
    c->scanner_hid = 1;
    c->paper_dots = 576;
    c->qr_native = 1;
    c->printer_poll_s = 10;
    c->fault_poll_ms = 1000;
    strcpy(c->qr_base, "http://qms.local/t/{site}/{id}");
    strcpy(c->font_dir, "/usr/share/fonts/truetype/noto");
    c->idle_timeout_s = 30;
    c->ticket_timeout_s = 10;
    c->notice_timeout_s = 8;
    c->take_timeout_ms = 4000;
    c->startup_grace_ms = 4000;
}

double kiosk_px_per_mm(int w, int h, double diag_in)
{
    if (w <= 0 || h <= 0 || !(diag_in > 0))
        return 0;
    return sqrt((double)w * w + (double)h * h) / (diag_in * 25.4);
}

/* One settable field: its JSON key (inside an optional section) and where
 * it goes. Keeping them in a table keeps the unknown-key check honest. */
enum kind { K_STR, K_INT, K_BOOL, K_NUM };
struct field {
    const char *section; /* NULL: top level */
    const char *key;
    enum kind kind;
    size_t off;
    size_t size; /* K_STR: buffer size */
    double lo, hi;
};

#define F(sec, key, kind, member, lo, hi)                                                          \
    {                                                                                              \
        sec, key, kind, offsetof(kiosk_config, member), sizeof(((kiosk_config *)0)->member), lo,   \
            hi                                                                                     \
    }

static const struct field fields[] = {
    F(NULL, "site", K_STR, site, 0, 0),
    F(NULL, "kiosk_id", K_STR, kiosk_id, 0, 0),
    F(NULL, "lang", K_STR, lang, 0, 0),
    F(NULL, "qr_base", K_STR, qr_base, 0, 0),
    F(NULL, "font_dir", K_STR, font_dir, 0, 0),
    F(NULL, "ask_priority", K_BOOL, ask_priority, 0, 1),
    F(NULL, "state_file", K_STR, state_file, 0, 0),
    F("screen", "width", K_INT, width, 200, 16384),
    F("screen", "height", K_INT, height, 200, 16384),
    F("screen", "diagonal_in", K_NUM, diagonal_in, 3, 200),
    F("screen", "portrait", K_BOOL, portrait, 0, 1),
    F("screen", "rotate", K_INT, rotate, 0, 270),
    F("screen", "fullscreen", K_BOOL, fullscreen, 0, 1),
    F("screen", "renderer", K_STR, renderer, 0, 0),
    F("screen", "min_target_mm", K_NUM, min_target_mm, 5, 60),
    F("printer", "device", K_STR, printer, 0, 0),
    F("printer", "baud", K_INT, baud, 1200, 4000000),
    F("printer", "paper_dots", K_INT, paper_dots, 128, 2048),
    F("printer", "qr_native", K_BOOL, qr_native, 0, 1),
    F("printer", "nv_state", K_STR, nv_state, 0, 0),
    F("printer", "poll_s", K_INT, printer_poll_s, 1, 3600),
    F("printer", "fault_poll_ms", K_INT, fault_poll_ms, 100, 60000),
    F("scanner", "port", K_STR, scanner_port, 0, 0),
    F("scanner", "baud", K_INT, scanner_baud, 1200, 4000000),
    F("scanner", "hid", K_BOOL, scanner_hid, 0, 1),
    F("timeouts", "idle_s", K_INT, idle_timeout_s, 3, 3600),
    F("timeouts", "ticket_s", K_INT, ticket_timeout_s, 2, 600),
    F("timeouts", "notice_s", K_INT, notice_timeout_s, 2, 600),
    F("timeouts", "take_ms", K_INT, take_timeout_ms, 200, 60000),
    F("timeouts", "startup_ms", K_INT, startup_grace_ms, 0, 60000),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const struct field *find_field(const char *section, const char *key)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        if (((!section && !f->section) ||
             (section && f->section && !strcmp(section, f->section))) &&
            !strcmp(key, f->key))
            return f;
    }
    return NULL;
}

static int is_section(const char *key)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (fields[i].section && !strcmp(fields[i].section, key))
            return 1;
    return 0;
}

static int is_conn_key(const char *k)
{
    static const char *const keys[] = {"broker",   "username", "password", "password_file",
                                       "cafile",   "certfile", "keyfile",  "client"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

static int set_field(const struct field *f, const cJSON *v, kiosk_config *c, char *err,
                     size_t errlen)
{
    char name[80];
    snprintf(name, sizeof name, "%s%s%s", f->section ? f->section : "", f->section ? "." : "",
             f->key);
    char *dst = (char *)c + f->off;
    switch (f->kind) {
    case K_STR:
        if (!cJSON_IsString(v))
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\" must be a string", name);
        if (strlen(v->valuestring) >= f->size)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\" is too long (at most %zu bytes)",
                            name, f->size - 1);
        memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
        return QMS_OK;
    case K_BOOL:
        if (!cJSON_IsBool(v))
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\" must be true or false", name);
        *(int *)dst = cJSON_IsTrue(v) ? 1 : 0;
        return QMS_OK;
    case K_INT:
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble < f->lo || v->valuedouble > f->hi)
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "\"%s\" must be a whole number from %.0f to %.0f", name, f->lo, f->hi);
        *(int *)dst = (int)v->valuedouble;
        return QMS_OK;
    case K_NUM:
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= f->lo && v->valuedouble <= f->hi))
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\" must be a number from %g to %g",
                            name, f->lo, f->hi);
        *(double *)dst = v->valuedouble;
        return QMS_OK;
    }
    return QMS_ERR_INVAL;
}

static int parse_object(const cJSON *obj, const char *section, kiosk_config *c, char *err,
                        size_t errlen)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (!it->string)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "malformed object");
        if (!section && is_section(it->string)) {
            if (!cJSON_IsObject(it))
                return qms_fail(err, errlen, QMS_ERR_INVAL, "\"%s\" must be an object", it->string);
            int rc = parse_object(it, it->string, c, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        if (!section && is_conn_key(it->string))
            continue; /* read by qms_conn_from_json */
        const struct field *f = find_field(section, it->string);
        if (!f)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "unknown setting \"%s%s%s\"",
                            section ? section : "", section ? "." : "", it->string);
        int rc = set_field(f, it, c, err, errlen);
        if (rc)
            return rc;
    }
    return QMS_OK;
}

int kiosk_config_parse(const char *text, size_t len, kiosk_config *c, char *err, size_t errlen)
{
    if (len > KIOSK_CONFIG_MAX_BYTES)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "configuration larger than %u bytes",
                        KIOSK_CONFIG_MAX_BYTES);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "not valid JSON");
    int rc = QMS_OK;
    if (!cJSON_IsObject(root)) {
        rc = qms_fail(err, errlen, QMS_ERR_INVAL, "the configuration must be a JSON object");
    } else if (cJSON_GetObjectItemCaseSensitive(root, "services")) {
        /* A center configuration: the kiosk only needs to know its site;
         * services, names and hours come from the controller's retained copy. */
        const cJSON *site = cJSON_GetObjectItemCaseSensitive(root, "site");
        if (site)
            rc = set_field(find_field(NULL, "site"), site, c, err, errlen);
    } else {
        rc = parse_object(root, NULL, c, err, errlen);
        if (!rc)
            rc = qms_conn_from_json(&c->conn, root, c->dir[0] ? c->dir : NULL, err, errlen);
    }
    cJSON_Delete(root);
    if (rc == QMS_OK)
        rc = kiosk_config_check(c, err, errlen);
    return rc;
}

int kiosk_config_load(const char *path, kiosk_config *c, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = qms_read_file(path, &text, &len, KIOSK_CONFIG_MAX_BYTES);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read %s (%s)", path, qms_err_code(rc));
        return rc == QMS_ERR_NOMEM ? rc : QMS_ERR_IO;
    }
    snprintf(c->dir, sizeof c->dir, "%s", path);
    char *slash = strrchr(c->dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(c->dir, sizeof c->dir, ".");
    char why[600];
    rc = kiosk_config_parse(text, len, c, why, sizeof why);
    if (rc && err && errlen)
        snprintf(err, errlen, "%s: %s", path, why);
    qms_free(text);
    return rc;
}

static int valid_site(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

int kiosk_config_check(const kiosk_config *c, char *err, size_t errlen)
{
    if (!valid_site(c->site))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"site\" must be letters, digits, '_' or '-'");
    if (!valid_site(c->kiosk_id))
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "\"kiosk_id\" must be letters, digits, '_' or '-'");
    if (strcmp(c->lang, "vi") && strcmp(c->lang, "en"))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"lang\" must be \"vi\" or \"en\"");
    if (strcmp(c->renderer, "software") && strcmp(c->renderer, "auto") &&
        strcmp(c->renderer, "opengl") && strcmp(c->renderer, "opengles2"))
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "\"screen.renderer\" must be software, auto, opengl or opengles2");
    if (c->rotate % 90)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"screen.rotate\" must be 0, 90, 180 or 270");
    if (c->width < 200 || c->height < 200)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "the screen must be at least 200x200 pixels");
    if (!strstr(c->qr_base, "://"))
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "\"qr_base\" must be a URL (http://... or https://...)");
    return QMS_OK;
}
