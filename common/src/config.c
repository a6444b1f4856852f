#include "qms/config.h"
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES (4u << 20)

void qms_config_free(qms_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nservices; i++) {
        qms_free(c->services[i].name_vi);
        qms_free(c->services[i].name_en);
    }
    for (int i = 0; i < c->ncounters; i++) {
        qms_free(c->counters[i].name_vi);
        qms_free(c->counters[i].name_en);
        qms_free(c->counters[i].services);
    }
    qms_free(c->services);
    qms_free(c->counters);
    qms_free(c->bus);
    qms_free(c->holidays);
    qms_free(c->workdays);
    qms_free(c->name_vi);
    qms_free(c->name_en);
    qms_free(c->ticket_url);
    qms_free(c);
}

static qms_config *config_new(void)
{
    qms_config *c = qms_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    strcpy(c->site, "default");
    c->utc_offset_min = 420;
    c->nhours = 2;
    c->hours[0] = (qms_span){7 * 3600 + 1800, 11 * 3600 + 1800};
    c->hours[1] = (qms_span){13 * 3600 + 1800, 17 * 3600};
    c->day_reset_s = 0;
    c->policy.priority = QMS_PRIO_STRICT;
    c->policy.interleave_k = 3;
    c->policy.order = QMS_ORDER_OLDEST;
    c->noshow_window_s = 1800;
    c->rating_levels = 4;
    c->counters_start_open = 1;
    c->staffed_grace_s = 60;
    c->alert_wait_s = 1800;
    c->alert_pause_s = 900;
    c->alert_cap_pct = 90;
    return c;
}

int qms_config_service_index(const qms_config *c, const char *code)
{
    if (!code)
        return -1;
    for (int i = 0; i < c->nservices; i++)
        if (strcmp(c->services[i].code, code) == 0)
            return i;
    return -1;
}

int qms_config_counter_index(const qms_config *c, int id)
{
    for (int i = 0; i < c->ncounters; i++)
        if (c->counters[i].id == id)
            return i;
    return -1;
}

int qms_config_counter_serves(const qms_config *c, int ci, int si)
{
    if (ci < 0 || ci >= c->ncounters)
        return 0;
    for (int k = 0; k < c->counters[ci].nservices; k++)
        if (c->counters[ci].services[k] == si)
            return 1;
    return 0;
}

int qms_config_service_open(const qms_config *c, int si, int32_t sec)
{
    const qms_service *s = &c->services[si];
    int n = s->nhours ? s->nhours : c->nhours;
    const qms_span *h = s->nhours ? s->hours : c->hours;
    if (n == 0)
        return 1;
    for (int i = 0; i < n; i++)
        if (sec >= h[i].open_s && sec < h[i].close_s)
            return 1;
    return 0;
}

int32_t qms_config_service_capacity(const qms_config *c, int si)
{
    const qms_service *s = &c->services[si];
    int32_t cap;
    if (s->range_lo > 0) {
        cap = s->range_hi - s->range_lo + 1;
    } else {
        cap = 1;
        for (int i = 0; i < s->digits; i++)
            cap *= 10;
        cap -= 1;
    }
    if (s->daily_cap > 0 && s->daily_cap < cap)
        cap = s->daily_cap;
    return cap;
}

void qms_ticket_label(const qms_config *c, int si, int32_t n, char *out, size_t outlen)
{
    const qms_service *s = &c->services[si];
    if (s->range_lo > 0)
        snprintf(out, outlen, "%d", (int)n);
    else
        snprintf(out, outlen, "%s%0*d", s->prefix, s->digits, (int)n);
}

static int valid_code(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static int valid_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n >= 8)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'A' && s[i] <= 'Z'))
            return 0;
    return 1;
}

/* Parse [["07:30","11:30"], ...] */
static int parse_hours(const cJSON *arr, qms_span *spans, int *n, const char *what, char *err,
                       size_t errlen)
{
    if (!cJSON_IsArray(arr))
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "%s: hours must be a list of [\"HH:MM\",\"HH:MM\"]", what);
    int k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (k >= QMS_MAX_SPANS)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: at most %d hour spans", what,
                            QMS_MAX_SPANS);
        const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsString(a) ||
            !cJSON_IsString(b) || qms_hhmm_parse(a->valuestring, &spans[k].open_s) ||
            qms_hhmm_parse(b->valuestring, &spans[k].close_s) ||
            spans[k].open_s >= spans[k].close_s)
            return qms_fail(
                err, errlen, QMS_ERR_INVAL,
                "%s: hour span %d must be [\"HH:MM\",\"HH:MM\"], opening before closing", what,
                k + 1);
        k++;
    }
    *n = k;
    return QMS_OK;
}

static int get_str(const cJSON *obj, const char *key, int required, char **out, const char *what,
                   char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        if (required)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: missing \"%s\"", what, key);
        *out = qms_strdup("");
        return *out ? QMS_OK : QMS_ERR_NOMEM;
    }
    if (!cJSON_IsString(v))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: \"%s\" must be a string", what, key);
    *out = qms_strdup(v->valuestring);
    return *out ? QMS_OK : QMS_ERR_NOMEM;
}

static int get_int(const cJSON *obj, const char *key, int32_t lo, int32_t hi, int32_t *out,
                   const char *what, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return QMS_OK; /* keep default */
    /* range first: converting an out-of-range double to an integer is undefined */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: \"%s\" must be a whole number %d..%d",
                        what, key, (int)lo, (int)hi);
    *out = (int32_t)v->valuedouble;
    return QMS_OK;
}

static int check_counters_services(qms_config *c, char *err, size_t errlen)
{
    if (c->nservices == 0)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "no services configured");
    for (int i = 0; i < c->nservices; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(c->services[i].code, c->services[j].code) == 0)
                return qms_fail(err, errlen, QMS_ERR_INVAL, "service code %s appears twice",
                                c->services[i].code);
            if (c->services[i].range_lo == 0 && c->services[j].range_lo == 0 &&
                strcmp(c->services[i].prefix, c->services[j].prefix) == 0)
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "services %s and %s have the same prefix %s", c->services[j].code,
                                c->services[i].code, c->services[i].prefix);
            if (c->services[i].range_lo > 0 && c->services[j].range_lo > 0 &&
                c->services[i].range_lo <= c->services[j].range_hi &&
                c->services[j].range_lo <= c->services[i].range_hi)
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "services %s and %s have overlapping ranges", c->services[j].code,
                                c->services[i].code);
        }
    }
    for (int i = 0; i < c->ncounters; i++)
        for (int j = 0; j < i; j++)
            if (c->counters[i].id == c->counters[j].id)
                return qms_fail(err, errlen, QMS_ERR_INVAL, "counter %d appears twice",
                                c->counters[i].id);
    return QMS_OK;
}

static int parse_service(const cJSON *js, qms_service *s, int idx, char *err, size_t errlen)
{
    char what[48];
    snprintf(what, sizeof what, "service %d", idx + 1);
    if (!cJSON_IsObject(js))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s must be an object", what);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(js, "code");
    if (!cJSON_IsString(code) || !valid_code(code->valuestring, QMS_CODE_MAX))
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "%s: \"code\" must be 1-15 letters, digits, '_' or '-'", what);
    strcpy(s->code, code->valuestring);
    snprintf(what, sizeof what, "service %s", s->code);
    int rc;
    if ((rc = get_str(js, "name_vi", 1, &s->name_vi, what, err, errlen)) ||
        (rc = get_str(js, "name_en", 0, &s->name_en, what, err, errlen)))
        return rc;
    s->digits = 3;
    s->mean_service_s = 600;
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(js, "prefix");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(js, "range");
    if (range) {
        const cJSON *a = cJSON_GetArrayItem(range, 0), *b = cJSON_GetArrayItem(range, 1);
        if (!cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 || !cJSON_IsNumber(a) ||
            !cJSON_IsNumber(b) || !(a->valuedouble >= 1) || !(b->valuedouble <= 99999999) ||
            a->valuedouble > b->valuedouble || a->valuedouble != (double)(int32_t)a->valuedouble ||
            b->valuedouble != (double)(int32_t)b->valuedouble)
            return qms_fail(
                err, errlen, QMS_ERR_INVAL,
                "%s: \"range\" must be [first, last] with 1 <= first <= last <= 99999999", what);
        s->range_lo = (int32_t)a->valuedouble;
        s->range_hi = (int32_t)b->valuedouble;
    } else {
        if (!cJSON_IsString(prefix) || !valid_prefix(prefix->valuestring))
            return qms_fail(
                err, errlen, QMS_ERR_INVAL,
                "%s: needs \"prefix\" (up to 7 capital letters, may be \"\") or \"range\"", what);
        strcpy(s->prefix, prefix->valuestring);
    }
    int32_t digits = s->digits;
    if ((rc = get_int(js, "digits", 1, 6, &digits, what, err, errlen)) ||
        (rc = get_int(js, "mean_service_s", 1, 86400, &s->mean_service_s, what, err, errlen)) ||
        (rc = get_int(js, "daily_cap", 0, 99999999, &s->daily_cap, what, err, errlen)) ||
        (rc = get_int(js, "alert_wait_s", 0, 86400, &s->alert_wait_s, what, err, errlen)))
        return rc;
    s->digits = (int)digits;
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(js, "hours");
    if (hours && (rc = parse_hours(hours, s->hours, &s->nhours, what, err, errlen)))
        return rc;
    return QMS_OK;
}

static int parse_counter(const cJSON *jc, qms_config *c, qms_counter *k, int idx, char *err,
                         size_t errlen)
{
    char what[48];
    snprintf(what, sizeof what, "counter %d", idx + 1);
    if (!cJSON_IsObject(jc))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s must be an object", what);
    int32_t id = -1;
    int rc = get_int(jc, "id", 1, 9999, &id, what, err, errlen);
    if (rc)
        return rc;
    if (id < 1)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: missing \"id\" (1..9999)", what);
    k->id = (int)id;
    snprintf(what, sizeof what, "counter %d", k->id);
    if ((rc = get_str(jc, "name_vi", 0, &k->name_vi, what, err, errlen)) ||
        (rc = get_str(jc, "name_en", 0, &k->name_en, what, err, errlen)))
        return rc;
    if (!k->name_vi[0]) {
        char buf[32];
        snprintf(buf, sizeof buf, "Quầy %d", k->id);
        qms_free(k->name_vi);
        if (!(k->name_vi = qms_strdup(buf)))
            return QMS_ERR_NOMEM;
    }
    if (!k->name_en[0]) {
        char buf[32];
        snprintf(buf, sizeof buf, "Counter %d", k->id);
        qms_free(k->name_en);
        if (!(k->name_en = qms_strdup(buf)))
            return QMS_ERR_NOMEM;
    }
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(jc, "services");
    if (!cJSON_IsArray(sv) || cJSON_GetArraySize(sv) < 1)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: \"services\" must list service codes",
                        what);
    int n = cJSON_GetArraySize(sv);
    if (n > QMS_MAX_SERVICES)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: too many services", what);
    k->services = qms_calloc((size_t)n, sizeof(int));
    if (!k->services)
        return QMS_ERR_NOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, sv)
    {
        int si = cJSON_IsString(it) ? qms_config_service_index(c, it->valuestring) : -1;
        if (si < 0)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: unknown service %s", what,
                            cJSON_IsString(it) ? it->valuestring : "(not a string)");
        for (int j = 0; j < k->nservices; j++)
            if (k->services[j] == si)
                return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: service %s listed twice", what,
                                it->valuestring);
        k->services[k->nservices++] = si;
    }
    return QMS_OK;
}

const char *qms_unit_kind_name(int kind)
{
    switch (kind) {
    case QMS_UNIT_COUNTER:
        return "counter";
    case QMS_UNIT_LED:
        return "led";
    case QMS_UNIT_RATING:
        return "rating";
    case QMS_UNIT_HALL:
        return "hall";
    default:
        return NULL;
    }
}

int qms_unit_kind_parse(const char *name)
{
    for (int k = QMS_UNIT_COUNTER; k <= QMS_UNIT_HALL; k++)
        if (name && strcmp(name, qms_unit_kind_name(k)) == 0)
            return k;
    return 0;
}

/* "bus": [{"address":3,"kind":"counter","counter":3,"line":1}, ...] */
static int parse_bus(const cJSON *arr, qms_config *c, char *err, size_t errlen)
{
    if (!cJSON_IsArray(arr))
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "\"bus\" must be a list of units {\"address\", \"kind\", \"counter\"}");
    int n = cJSON_GetArraySize(arr);
    if (n > QMS_MAX_BUS_UNITS)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "bus: at most %d units", QMS_MAX_BUS_UNITS);
    if (n == 0)
        return QMS_OK;
    c->bus = qms_calloc((size_t)n, sizeof *c->bus);
    if (!c->bus)
        return QMS_ERR_NOMEM;
    const cJSON *it;
    int rc;
    cJSON_ArrayForEach(it, arr)
    {
        qms_bus_unit *u = &c->bus[c->nbus];
        char what[48];
        snprintf(what, sizeof what, "bus unit %d", c->nbus + 1);
        if (!cJSON_IsObject(it))
            return qms_fail(err, errlen, QMS_ERR_INVAL, "%s must be an object", what);
        int32_t addr = 0, counter = 0, line = 1;
        if ((rc = get_int(it, "address", 1, 247, &addr, what, err, errlen)))
            return rc;
        if (addr == 0)
            return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: missing \"address\" (1..247)", what);
        snprintf(what, sizeof what, "bus unit %d", (int)addr);
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
        int k = cJSON_IsString(kind) ? qms_unit_kind_parse(kind->valuestring) : 0;
        if (!k)
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "%s: \"kind\" must be \"counter\", \"led\", \"rating\" or \"hall\"",
                            what);
        if ((rc = get_int(it, "counter", 1, 9999, &counter, what, err, errlen)) ||
            (rc = get_int(it, "line", 1, 16, &line, what, err, errlen)))
            return rc;
        if (k == QMS_UNIT_HALL) {
            if (counter)
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "%s: a hall board belongs to no counter (no \"counter\")", what);
        } else {
            if (!counter)
                return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: a %s unit needs \"counter\"", what,
                                qms_unit_kind_name(k));
            if (qms_config_counter_index(c, (int)counter) < 0)
                return qms_fail(err, errlen, QMS_ERR_INVAL, "%s: unknown counter %d", what,
                                (int)counter);
        }
        for (int j = 0; j < c->nbus; j++)
            if (c->bus[j].address == (int)addr && c->bus[j].line == (int)line)
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "bus: address %d appears twice on line %d", (int)addr, (int)line);
        u->address = (int)addr;
        u->kind = (qms_unit_kind)k;
        u->counter = (int)counter;
        u->line = (int)line;
        c->nbus++;
    }
    return QMS_OK;
}

static const char *const wd_keys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int wd_key(const char *s)
{
    for (int i = 0; i < 7; i++)
        if (!strcmp(s, wd_keys[i]))
            return i;
    return -1;
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* "calendar": {"week":{"mon":[[..]],...},"holidays":["YYYY-MM-DD"],
 * "workdays":[{"date":"YYYY-MM-DD","as":"mon"}]} (docs/config.md) */
static int parse_calendar(const cJSON *cal, qms_config *c, char *err, size_t errlen)
{
    if (!cJSON_IsObject(cal))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"calendar\" must be an object");
    const cJSON *it;
    cJSON_ArrayForEach(it, cal)
    {
        if (strcmp(it->string, "week") && strcmp(it->string, "holidays") &&
            strcmp(it->string, "workdays"))
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "calendar: unknown key \"%.40s\" (week, holidays, workdays)",
                            it->string);
    }
    int rc;
    const cJSON *week = cJSON_GetObjectItemCaseSensitive(cal, "week");
    if (week) {
        if (!cJSON_IsObject(week))
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "calendar.week must be an object of weekdays (\"mon\"..\"sun\")");
        c->has_week = 1;
        cJSON_ArrayForEach(it, week)
        {
            int wd = wd_key(it->string);
            if (wd < 0)
                return qms_fail(
                    err, errlen, QMS_ERR_INVAL,
                    "calendar.week: \"%.40s\" is not a weekday (mon tue wed thu fri sat sun)",
                    it->string);
            char what[32];
            snprintf(what, sizeof what, "calendar.week.%s", wd_keys[wd]);
            if ((rc = parse_hours(it, c->week[wd], &c->week_n[wd], what, err, errlen)))
                return rc;
        }
    }
    const cJSON *hol = cJSON_GetObjectItemCaseSensitive(cal, "holidays");
    if (hol) {
        int n = cJSON_GetArraySize(hol);
        if (!cJSON_IsArray(hol) || n > QMS_MAX_CAL_DATES)
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "calendar.holidays must be a list of at most %d \"YYYY-MM-DD\" dates",
                            QMS_MAX_CAL_DATES);
        c->holidays = qms_calloc((size_t)n + 1, sizeof *c->holidays);
        if (!c->holidays)
            return QMS_ERR_NOMEM;
        cJSON_ArrayForEach(it, hol)
        {
            if (!cJSON_IsString(it) || qms_day_parse(it->valuestring, &c->holidays[c->nholidays]))
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "calendar.holidays[%d] must be a date \"YYYY-MM-DD\"",
                                c->nholidays + 1);
            c->nholidays++;
        }
        qsort(c->holidays, (size_t)c->nholidays, sizeof *c->holidays, cmp_day);
    }
    const cJSON *wk = cJSON_GetObjectItemCaseSensitive(cal, "workdays");
    if (wk) {
        int n = cJSON_GetArraySize(wk);
        if (!cJSON_IsArray(wk) || n > QMS_MAX_CAL_DATES)
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "calendar.workdays must be a list of at most %d "
                            "{\"date\":\"YYYY-MM-DD\",\"as\":\"mon\"}",
                            QMS_MAX_CAL_DATES);
        c->workdays = qms_calloc((size_t)n + 1, sizeof *c->workdays);
        if (!c->workdays)
            return QMS_ERR_NOMEM;
        cJSON_ArrayForEach(it, wk)
        {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "date");
            const cJSON *as = cJSON_GetObjectItemCaseSensitive(it, "as");
            qms_workday *w = &c->workdays[c->nworkdays];
            if (!cJSON_IsObject(it) || !cJSON_IsString(d) || !cJSON_IsString(as) ||
                qms_day_parse(d->valuestring, &w->day) || (w->weekday = wd_key(as->valuestring)) < 0)
                return qms_fail(
                    err, errlen, QMS_ERR_INVAL,
                    "calendar.workdays[%d] must be {\"date\":\"YYYY-MM-DD\",\"as\":\"mon\"} "
                    "(as: the weekday whose hours apply)",
                    c->nworkdays + 1);
            c->nworkdays++;
        }
        qsort(c->workdays, (size_t)c->nworkdays, sizeof *c->workdays, cmp_day);
    }
    return QMS_OK;
}

static int parse_root(const cJSON *root, qms_config *c, char *err, size_t errlen)
{
    if (!cJSON_IsObject(root))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "the configuration must be a JSON object");
    int rc;
    const cJSON *site = cJSON_GetObjectItemCaseSensitive(root, "site");
    if (site) {
        if (!cJSON_IsString(site) || !valid_code(site->valuestring, sizeof c->site))
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "\"site\" must be 1-63 letters, digits, '_' or '-'");
        strcpy(c->site, site->valuestring);
    }
    if ((rc = get_str(root, "name_vi", 1, &c->name_vi, "center", err, errlen)) ||
        (rc = get_str(root, "name_en", 0, &c->name_en, "center", err, errlen)))
        return rc;
    int32_t v = c->utc_offset_min;
    if ((rc = get_int(root, "utc_offset_min", -720, 840, &v, "center", err, errlen)))
        return rc;
    c->utc_offset_min = (int)v;
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(root, "hours");
    if (hours && (rc = parse_hours(hours, c->hours, &c->nhours, "center", err, errlen)))
        return rc;
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(root, "calendar");
    if (cal && (rc = parse_calendar(cal, c, err, errlen)))
        return rc;
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive(root, "day_reset");
    if (reset && (!cJSON_IsString(reset) || qms_hhmm_parse(reset->valuestring, &c->day_reset_s) ||
                  c->day_reset_s >= 86400))
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"day_reset\" must be \"HH:MM\"");
    if ((rc = get_int(root, "noshow_window_s", 0, 86400, &c->noshow_window_s, "center", err,
                      errlen)))
        return rc;
    v = c->rating_levels;
    if ((rc = get_int(root, "rating_levels", 3, 5, &v, "center", err, errlen)))
        return rc;
    c->rating_levels = (int)v;
    if ((rc = get_int(root, "staffed_grace_s", 1, 86400, &c->staffed_grace_s, "center", err,
                      errlen)))
        return rc;
    if ((rc = get_int(root, "alert_wait_s", 0, 86400, &c->alert_wait_s, "center", err, errlen)) ||
        (rc = get_int(root, "alert_pause_s", 0, 86400, &c->alert_pause_s, "center", err, errlen)) ||
        (rc = get_int(root, "alert_cap_pct", 0, 100, &c->alert_cap_pct, "center", err, errlen)) ||
        (rc = get_str(root, "ticket_url", 0, &c->ticket_url, "center", err, errlen)))
        return rc;
    if (strlen(c->ticket_url) > 200)
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "center: \"ticket_url\" is longer than 200 bytes");
    for (const char *p = c->ticket_url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == 0x7f)
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "center: \"ticket_url\" must be a URL without spaces or quotes");
    const cJSON *cso = cJSON_GetObjectItemCaseSensitive(root, "counters_start_open");
    if (cso) {
        if (!cJSON_IsBool(cso))
            return qms_fail(err, errlen, QMS_ERR_INVAL,
                            "\"counters_start_open\" must be true or false");
        c->counters_start_open = cJSON_IsTrue(cso);
    }
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(root, "policy");
    if (pol) {
        if (!cJSON_IsObject(pol))
            return qms_fail(err, errlen, QMS_ERR_INVAL, "\"policy\" must be an object");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(pol, "priority");
        if (p) {
            if (cJSON_IsString(p) && strcmp(p->valuestring, "strict") == 0)
                c->policy.priority = QMS_PRIO_STRICT;
            else if (cJSON_IsString(p) && strcmp(p->valuestring, "interleave") == 0)
                c->policy.priority = QMS_PRIO_INTERLEAVE;
            else
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "policy.priority must be \"strict\" or \"interleave\"");
        }
        v = c->policy.interleave_k;
        if ((rc = get_int(pol, "interleave_k", 1, 100, &v, "policy", err, errlen)))
            return rc;
        c->policy.interleave_k = (int)v;
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(pol, "order");
        if (o) {
            if (cJSON_IsString(o) && strcmp(o->valuestring, "oldest") == 0)
                c->policy.order = QMS_ORDER_OLDEST;
            else if (cJSON_IsString(o) && strcmp(o->valuestring, "counter") == 0)
                c->policy.order = QMS_ORDER_COUNTER;
            else
                return qms_fail(err, errlen, QMS_ERR_INVAL,
                                "policy.order must be \"oldest\" or \"counter\"");
        }
    }
    const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(root, "services");
    if (!cJSON_IsArray(svcs) || cJSON_GetArraySize(svcs) < 1)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"services\" must be a non-empty list");
    int ns = cJSON_GetArraySize(svcs);
    if (ns > QMS_MAX_SERVICES)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "at most %d services", QMS_MAX_SERVICES);
    c->services = qms_calloc((size_t)ns, sizeof *c->services);
    if (!c->services)
        return QMS_ERR_NOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, svcs)
    {
        rc = parse_service(it, &c->services[c->nservices], c->nservices, err, errlen);
        c->nservices++;
        if (rc)
            return rc;
    }
    const cJSON *ctrs = cJSON_GetObjectItemCaseSensitive(root, "counters");
    if (!cJSON_IsArray(ctrs) || cJSON_GetArraySize(ctrs) < 1)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "\"counters\" must be a non-empty list");
    int nc = cJSON_GetArraySize(ctrs);
    if (nc > QMS_MAX_COUNTERS)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "at most %d counters", QMS_MAX_COUNTERS);
    c->counters = qms_calloc((size_t)nc, sizeof *c->counters);
    if (!c->counters)
        return QMS_ERR_NOMEM;
    cJSON_ArrayForEach(it, ctrs)
    {
        rc = parse_counter(it, c, &c->counters[c->ncounters], c->ncounters, err, errlen);
        c->ncounters++;
        if (rc)
            return rc;
    }
    if ((rc = check_counters_services(c, err, errlen)))
        return rc;
    const cJSON *bus = cJSON_GetObjectItemCaseSensitive(root, "bus");
    return bus ? parse_bus(bus, c, err, errlen) : QMS_OK;
}

int qms_config_parse_json(const char *text, size_t len, qms_config **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return qms_fail(err, errlen, QMS_ERR_INVAL, "not valid JSON (near byte %ld)",
                        cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - text) : 0L);
    qms_config *c = config_new();
    if (!c) {
        cJSON_Delete(root);
        return QMS_ERR_NOMEM;
    }
    int rc = parse_root(root, c, err, errlen);
    cJSON_Delete(root);
    if (rc) {
        if (rc == QMS_ERR_NOMEM)
            qms_fail(err, errlen, rc, "out of memory");
        qms_config_free(c);
        return rc;
    }
    *out = c;
    return QMS_OK;
}

int qms_config_load_file(const char *path, qms_config **out, char *err, size_t errlen)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = qms_read_file(path, &text, &len, CONFIG_MAX_BYTES);
    if (rc)
        return qms_fail(err, errlen, rc, "cannot read %s", path);
    rc = qms_config_parse_json(text, len, out, err, errlen);
    qms_free(text);
    return rc;
}

int qms_config_json_file(const char *path, cJSON **out, char *err, size_t errlen)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = qms_read_file(path, &text, &len, CONFIG_MAX_BYTES);
    if (rc)
        return qms_fail(err, errlen, rc, "cannot read %s", path);
    *out = cJSON_ParseWithLength(text, len);
    qms_free(text);
    return *out ? QMS_OK : qms_fail(err, errlen, QMS_ERR_INVAL, "%s is not JSON", path);
}

/* CSV: services.csv "code,prefix,name_vi,name_en,mean_service_min";
 *      counters.csv "counter,name_vi,services" (services space separated). */
static int csv_services(qms_config *c, const char *text, size_t len, char *err, size_t errlen)
{
    qms_csv r;
    qms_csv_init(&r, text, len);
    int rc = qms_csv_next(&r);
    if (rc <= 0) {
        qms_csv_free(&r);
        return qms_fail(err, errlen, QMS_ERR_INVAL, "services.csv: missing header");
    }
    int icode = qms_csv_find(&r, "code"), ipre = qms_csv_find(&r, "prefix"),
        ivi = qms_csv_find(&r, "name_vi"), ien = qms_csv_find(&r, "name_en"),
        imean = qms_csv_find(&r, "mean_service_min");
    if (icode < 0 || ipre < 0 || ivi < 0) {
        qms_csv_free(&r);
        return qms_fail(err, errlen, QMS_ERR_INVAL,
                        "services.csv: header needs code, prefix, name_vi (and optionally name_en, "
                        "mean_service_min)");
    }
    int cap = 0;
    while ((rc = qms_csv_next(&r)) > 0) {
        if (c->nservices >= QMS_MAX_SERVICES) {
            rc = qms_fail(err, errlen, QMS_ERR_INVAL, "services.csv: at most %d services",
                          QMS_MAX_SERVICES);
            goto out;
        }
        if (c->nservices == cap) {
            int ncap = cap ? cap * 2 : 16;
            qms_service *ns = qms_realloc(c->services, (size_t)ncap * sizeof *ns);
            if (!ns) {
                rc = QMS_ERR_NOMEM;
                goto out;
            }
            c->services = ns;
            cap = ncap;
        }
        qms_service *s = &c->services[c->nservices];
        memset(s, 0, sizeof *s);
        c->nservices++;
        s->digits = 3;
        s->mean_service_s = 600;
        int need = icode > ipre ? icode : ipre;
        if (ivi > need)
            need = ivi;
        if (r.nfields <= need || !valid_code(r.fields[icode], QMS_CODE_MAX) ||
            !valid_prefix(r.fields[ipre])) {
            rc = qms_fail(
                err, errlen, QMS_ERR_INVAL,
                "services.csv line %d: needs a code (letters/digits) and a prefix (capital "
                "letters)",
                r.line);
            goto out;
        }
        strcpy(s->code, r.fields[icode]);
        strcpy(s->prefix, r.fields[ipre]);
        s->name_vi = qms_strdup(r.fields[ivi]);
        s->name_en = qms_strdup(ien >= 0 && ien < r.nfields ? r.fields[ien] : "");
        if (!s->name_vi || !s->name_en) {
            rc = QMS_ERR_NOMEM;
            goto out;
        }
        if (imean >= 0 && imean < r.nfields && r.fields[imean][0]) {
            char *end;
            double m = strtod(r.fields[imean], &end);
            if (*end || !(m > 0 && m <= 1440)) {
                rc = qms_fail(err, errlen, QMS_ERR_INVAL,
                              "services.csv line %d: mean_service_min must be a number of minutes",
                              r.line);
                goto out;
            }
            s->mean_service_s = (int32_t)(m * 60 + 0.5);
        }
    }
    if (rc < 0) {
        rc = qms_fail(err, errlen, -rc, "services.csv line %d: malformed CSV", r.line);
        goto out;
    }
    rc = QMS_OK;
out:
    qms_csv_free(&r);
    return rc;
}

static int csv_counters(qms_config *c, const char *text, size_t len, char *err, size_t errlen)
{
    qms_csv r;
    qms_csv_init(&r, text, len);
    int rc = qms_csv_next(&r);
    if (rc <= 0) {
        qms_csv_free(&r);
        return qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv: missing header");
    }
    int iid = qms_csv_find(&r, "counter"), ivi = qms_csv_find(&r, "name_vi"),
        isv = qms_csv_find(&r, "services");
    if (iid < 0 || isv < 0) {
        qms_csv_free(&r);
        return qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv: header needs counter, services");
    }
    int cap = 0;
    while ((rc = qms_csv_next(&r)) > 0) {
        if (c->ncounters >= QMS_MAX_COUNTERS) {
            rc = qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv: at most %d counters",
                          QMS_MAX_COUNTERS);
            goto out;
        }
        if (c->ncounters == cap) {
            int ncap = cap ? cap * 2 : 16;
            qms_counter *nk = qms_realloc(c->counters, (size_t)ncap * sizeof *nk);
            if (!nk) {
                rc = QMS_ERR_NOMEM;
                goto out;
            }
            c->counters = nk;
            cap = ncap;
        }
        qms_counter *k = &c->counters[c->ncounters];
        memset(k, 0, sizeof *k);
        c->ncounters++;
        if (r.nfields <= iid || r.nfields <= isv) {
            rc = qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv line %d: missing fields",
                          r.line);
            goto out;
        }
        char *end;
        long id = strtol(r.fields[iid], &end, 10);
        if (*end || id < 1 || id > 9999) {
            rc = qms_fail(err, errlen, QMS_ERR_INVAL,
                          "counters.csv line %d: counter must be 1..9999", r.line);
            goto out;
        }
        k->id = (int)id;
        char buf[32];
        snprintf(buf, sizeof buf, "Quầy %d", k->id);
        k->name_vi = qms_strdup(ivi >= 0 && ivi < r.nfields && r.fields[ivi][0] ? r.fields[ivi]
                                                                                : buf);
        snprintf(buf, sizeof buf, "Counter %d", k->id);
        k->name_en = qms_strdup(buf);
        k->services = qms_calloc(QMS_MAX_SERVICES, sizeof(int));
        if (!k->name_vi || !k->name_en || !k->services) {
            rc = QMS_ERR_NOMEM;
            goto out;
        }
        char *list = r.fields[isv];
        char *save = NULL;
        for (char *tok = strtok_r(list, " ;", &save); tok; tok = strtok_r(NULL, " ;", &save)) {
            int si = qms_config_service_index(c, tok);
            if (si < 0) {
                rc = qms_fail(err, errlen, QMS_ERR_INVAL,
                              "counters.csv line %d: unknown service %s", r.line, tok);
                goto out;
            }
            for (int j = 0; j < k->nservices; j++)
                if (k->services[j] == si) {
                    rc = qms_fail(err, errlen, QMS_ERR_INVAL,
                                  "counters.csv line %d: service %s listed twice", r.line, tok);
                    goto out;
                }
            if (k->nservices >= QMS_MAX_SERVICES) {
                rc = qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv line %d: too many services",
                              r.line);
                goto out;
            }
            k->services[k->nservices++] = si;
        }
        if (k->nservices == 0) {
            rc = qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv line %d: no services", r.line);
            goto out;
        }
    }
    if (rc < 0) {
        rc = qms_fail(err, errlen, -rc, "counters.csv line %d: malformed CSV", r.line);
        goto out;
    }
    rc = c->ncounters ? QMS_OK : qms_fail(err, errlen, QMS_ERR_INVAL, "counters.csv: no counters");
out:
    qms_csv_free(&r);
    return rc;
}

int qms_config_parse_csv(const char *services_csv, size_t slen, const char *counters_csv,
                         size_t clen, qms_config **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    qms_config *c = config_new();
    if (!c)
        return QMS_ERR_NOMEM;
    c->name_vi = qms_strdup("Trung tâm Phục vụ hành chính công");
    c->name_en = qms_strdup("Public Administration Service Center");
    int rc = (!c->name_vi || !c->name_en) ? QMS_ERR_NOMEM : QMS_OK;
    if (!rc)
        rc = csv_services(c, services_csv, slen, err, errlen);
    if (!rc)
        rc = csv_counters(c, counters_csv, clen, err, errlen);
    if (!rc)
        rc = check_counters_services(c, err, errlen);
    if (rc) {
        if (rc == QMS_ERR_NOMEM)
            qms_fail(err, errlen, rc, "out of memory");
        qms_config_free(c);
        return rc;
    }
    *out = c;
    return QMS_OK;
}

int qms_config_load_csv(const char *services_path, const char *counters_path, qms_config **out,
                        char *err, size_t errlen)
{
    char *s = NULL, *k = NULL;
    size_t sl = 0, kl = 0;
    *out = NULL;
    int rc = qms_read_file(services_path, &s, &sl, CONFIG_MAX_BYTES);
    if (rc)
        return qms_fail(err, errlen, rc, "cannot read %s", services_path);
    rc = qms_read_file(counters_path, &k, &kl, CONFIG_MAX_BYTES);
    if (rc) {
        qms_free(s);
        return qms_fail(err, errlen, rc, "cannot read %s", counters_path);
    }
    rc = qms_config_parse_csv(s, sl, k, kl, out, err, errlen);
    qms_free(s);
    qms_free(k);
    return rc;
}

static cJSON *hours_json(const qms_span *h, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        char a[6], b[6];
        qms_hhmm_str(h[i].open_s, a);
        qms_hhmm_str(h[i].close_s, b);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(a));
        cJSON_AddItemToArray(pair, cJSON_CreateString(b));
        cJSON_AddItemToArray(arr, pair);
    }
    return arr;
}

char *qms_config_to_json(const qms_config *c)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "site", c->site);
    cJSON_AddStringToObject(root, "name_vi", c->name_vi);
    cJSON_AddStringToObject(root, "name_en", c->name_en);
    cJSON_AddNumberToObject(root, "utc_offset_min", c->utc_offset_min);
    cJSON_AddItemToObject(root, "hours", hours_json(c->hours, c->nhours));
    char reset[6];
    qms_hhmm_str(c->day_reset_s, reset);
    cJSON_AddStringToObject(root, "day_reset", reset);
    cJSON_AddNumberToObject(root, "noshow_window_s", c->noshow_window_s);
    cJSON_AddNumberToObject(root, "rating_levels", c->rating_levels);
    cJSON_AddBoolToObject(root, "counters_start_open", c->counters_start_open);
    cJSON_AddNumberToObject(root, "staffed_grace_s", c->staffed_grace_s);
    cJSON_AddNumberToObject(root, "alert_wait_s", c->alert_wait_s);
    cJSON_AddNumberToObject(root, "alert_pause_s", c->alert_pause_s);
    cJSON_AddNumberToObject(root, "alert_cap_pct", c->alert_cap_pct);
    cJSON_AddStringToObject(root, "ticket_url", c->ticket_url ? c->ticket_url : "");
    cJSON *pol = cJSON_AddObjectToObject(root, "policy");
    cJSON_AddStringToObject(pol, "priority",
                            c->policy.priority == QMS_PRIO_STRICT ? "strict" : "interleave");
    cJSON_AddNumberToObject(pol, "interleave_k", c->policy.interleave_k);
    cJSON_AddStringToObject(pol, "order", c->policy.order == QMS_ORDER_OLDEST ? "oldest" : "counter");
    if (c->has_week || c->nholidays || c->nworkdays) {
        cJSON *cal = cJSON_AddObjectToObject(root, "calendar");
        if (c->has_week) {
            cJSON *w = cJSON_AddObjectToObject(cal, "week");
            for (int d = 0; d < 7; d++)
                if (c->week_n[d])
                    cJSON_AddItemToObject(w, wd_keys[d], hours_json(c->week[d], c->week_n[d]));
        }
        cJSON *h = cJSON_AddArrayToObject(cal, "holidays");
        for (int i = 0; i < c->nholidays; i++) {
            char d[11];
            qms_day_str(c->holidays[i], d);
            cJSON_AddItemToArray(h, cJSON_CreateString(d));
        }
        cJSON *wk = cJSON_AddArrayToObject(cal, "workdays");
        for (int i = 0; i < c->nworkdays; i++) {
            char d[11];
            qms_day_str(c->workdays[i].day, d);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "date", d);
            cJSON_AddStringToObject(o, "as", wd_keys[c->workdays[i].weekday]);
            cJSON_AddItemToArray(wk, o);
        }
    }
    cJSON *svcs = cJSON_AddArrayToObject(root, "services");
    for (int i = 0; i < c->nservices; i++) {
        const qms_service *s = &c->services[i];
        cJSON *js = cJSON_CreateObject();
        cJSON_AddStringToObject(js, "code", s->code);
        if (s->range_lo > 0) {
            cJSON *r = cJSON_AddArrayToObject(js, "range");
            cJSON_AddItemToArray(r, cJSON_CreateNumber(s->range_lo));
            cJSON_AddItemToArray(r, cJSON_CreateNumber(s->range_hi));
        } else {
            cJSON_AddStringToObject(js, "prefix", s->prefix);
            cJSON_AddNumberToObject(js, "digits", s->digits);
        }
        cJSON_AddStringToObject(js, "name_vi", s->name_vi);
        cJSON_AddStringToObject(js, "name_en", s->name_en);
        cJSON_AddNumberToObject(js, "mean_service_s", s->mean_service_s);
        cJSON_AddNumberToObject(js, "daily_cap", s->daily_cap);
        if (s->alert_wait_s)
            cJSON_AddNumberToObject(js, "alert_wait_s", s->alert_wait_s);
        if (s->nhours)
            cJSON_AddItemToObject(js, "hours", hours_json(s->hours, s->nhours));
        cJSON_AddItemToArray(svcs, js);
    }
    cJSON *ctrs = cJSON_AddArrayToObject(root, "counters");
    for (int i = 0; i < c->ncounters; i++) {
        const qms_counter *k = &c->counters[i];
        cJSON *jk = cJSON_CreateObject();
        cJSON_AddNumberToObject(jk, "id", k->id);
        cJSON_AddStringToObject(jk, "name_vi", k->name_vi);
        cJSON_AddStringToObject(jk, "name_en", k->name_en);
        cJSON *l = cJSON_AddArrayToObject(jk, "services");
        for (int j = 0; j < k->nservices; j++)
            cJSON_AddItemToArray(l, cJSON_CreateString(c->services[k->services[j]].code));
        cJSON_AddItemToArray(ctrs, jk);
    }
    if (c->nbus) {
        cJSON *bus = cJSON_AddArrayToObject(root, "bus");
        for (int i = 0; i < c->nbus; i++) {
            const qms_bus_unit *u = &c->bus[i];
            cJSON *ju = cJSON_CreateObject();
            cJSON_AddNumberToObject(ju, "address", u->address);
            cJSON_AddStringToObject(ju, "kind", qms_unit_kind_name(u->kind));
            if (u->counter)
                cJSON_AddNumberToObject(ju, "counter", u->counter);
            if (u->line != 1)
                cJSON_AddNumberToObject(ju, "line", u->line);
            cJSON_AddItemToArray(bus, ju);
        }
    }
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!txt)
        return NULL;
    /* hand out memory owned by our allocator */
    char *copy = qms_strdup(txt);
    cJSON_free(txt);
    return copy;
}

const char *qms_rating_text(int level, int levels, int en)
{
    /* Level 1 is the worst, `levels` the best (docs/protocol.md, rate). */
    static const char *const vi5[] = {"Rất không hài lòng", "Không hài lòng", "Bình thường",
                                      "Hài lòng", "Rất hài lòng"};
    static const char *const en5[] = {"Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied",
                                      "Very satisfied"};
    if (levels < 3 || levels > 5 || level < 1 || level > levels)
        return "?";
    /* The top level is always "very satisfied" (docs/protocol.md, rate), so
     * the SIPAS share (top two) is "satisfied" + "very satisfied" whatever
     * the scale: 4 levels drop "very unsatisfied"; 3 drop "neutral" too. */
    static const int idx3[] = {0, 1, 3, 4}, idx4[] = {0, 1, 2, 3, 4};
    int idx = levels == 5 ? level - 1 : levels == 4 ? idx4[level] : idx3[level];
    return en ? en5[idx] : vi5[idx];
}
