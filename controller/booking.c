/* Booking rules (booking.h). */
#include "booking.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/calendar.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void bk_cfg_default(bk_cfg *o)
{
    memset(o, 0, sizeof *o);
    o->enabled = 1;
    o->slot_min = 30;
    o->capacity = 2;
    o->days_ahead = 6;
    o->max_per_day = 2;
    o->one_per_service = 1;
    o->early_min = 30;
    o->grace_min = 15;
    o->rank_ahead = 1;
    o->make_per_min = 10;
}

static int get_int(const cJSON *b, const char *name, int lo, int hi, int *dst, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, name);
    if (!v)
        return QMS_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
        v->valuedouble < lo || v->valuedouble > hi) {
        snprintf(err, errlen, "booking.%s must be a whole number %d..%d", name, lo, hi);
        return QMS_ERR_INVAL;
    }
    *dst = (int)v->valuedouble;
    return QMS_OK;
}

static int get_bool(const cJSON *b, const char *name, int *dst, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, name);
    if (!v)
        return QMS_OK;
    if (!cJSON_IsBool(v)) {
        snprintf(err, errlen, "booking.%s must be true or false", name);
        return QMS_ERR_INVAL;
    }
    *dst = cJSON_IsTrue(v);
    return QMS_OK;
}

int bk_cfg_load(const char *path, bk_cfg *out, char *err, size_t errlen)
{
    bk_cfg_default(out);
    cJSON *root;
    int rc0 = qms_config_json_file(path, &root, err, errlen);
    if (rc0)
        return rc0;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "booking");
    int rc = QMS_OK;
    if (b && !cJSON_IsObject(b)) {
        snprintf(err, errlen, "\"booking\" must be an object");
        rc = QMS_ERR_INVAL;
    }
    if (!rc && b) {
        if (!rc)
            rc = get_bool(b, "enabled", &out->enabled, err, errlen);
        if (!rc)
            rc = get_int(b, "slot_min", 5, 240, &out->slot_min, err, errlen);
        if (!rc)
            rc = get_int(b, "capacity", 1, 10000, &out->capacity, err, errlen);
        if (!rc)
            rc = get_int(b, "days_ahead", 0, 60, &out->days_ahead, err, errlen);
        if (!rc)
            rc = get_int(b, "max_per_day", 1, 100, &out->max_per_day, err, errlen);
        if (!rc)
            rc = get_bool(b, "one_per_service", &out->one_per_service, err, errlen);
        if (!rc)
            rc = get_int(b, "checkin_early_min", 0, 240, &out->early_min, err, errlen);
        if (!rc)
            rc = get_int(b, "checkin_grace_min", 0, 240, &out->grace_min, err, errlen);
        if (!rc)
            rc = get_int(b, "make_per_minute", 0, 10000, &out->make_per_min, err, errlen);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "booked_rank");
        if (!rc && r) {
            if (cJSON_IsString(r) && strcmp(r->valuestring, "ahead") == 0)
                out->rank_ahead = 1;
            else if (cJSON_IsString(r) && strcmp(r->valuestring, "equal") == 0)
                out->rank_ahead = 0;
            else {
                snprintf(err, errlen, "booking.booked_rank must be \"ahead\" or \"equal\"");
                rc = QMS_ERR_INVAL;
            }
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(b, "key_file");
        if (!rc && k) {
            if (!cJSON_IsString(k) || !k->valuestring[0] ||
                strlen(k->valuestring) >= sizeof out->key_file) {
                snprintf(err, errlen, "booking.key_file must be a path");
                rc = QMS_ERR_INVAL;
            } else {
                snprintf(out->key_file, sizeof out->key_file, "%s", k->valuestring);
            }
        }
    }
    cJSON_Delete(root);
    return rc;
}

static const char *const state_names[] = {"booked", "cancelled", "checked_in", "no_show"};

const char *bk_state_name(int state)
{
    return state >= 0 && state < 4 ? state_names[state] : "?";
}

int bk_state_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

void bk_set_free(bk_set *s)
{
    qms_free(s->v);
    memset(s, 0, sizeof *s);
}

bk_entry *bk_set_add(bk_set *s, const bk_entry *e)
{
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 256;
        bk_entry *nv = qms_realloc(s->v, (size_t)ncap * sizeof *nv);
        if (!nv)
            return NULL;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n] = *e;
    if (e->id >= s->next_id)
        s->next_id = e->id + 1;
    return &s->v[s->n++];
}

bk_entry *bk_find_code(bk_set *s, const char *code)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].code, code) == 0)
            return &s->v[i];
    return NULL;
}

int bk_slots(const bk_cfg *b, const qms_config *c, int si, int32_t day, int32_t *starts, int max)
{
    qms_span h[QMS_MAX_SPANS];
    int n = qms_calendar_day(c, si, day, h);
    int32_t len = b->slot_min * 60;
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int32_t t = h[i].open_s; t + len <= h[i].close_s && k < max; t += len)
            starts[k++] = t;
    return k; /* qms_calendar_day sorts the spans: the starts ascend */
}

static int holds_place(const bk_entry *e)
{
    return e->state == BK_BOOKED || e->state == BK_CHECKED_IN;
}

int bk_taken(const bk_set *s, const char *svc, int32_t day, int32_t slot_s)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const bk_entry *e = &s->v[i];
        if (e->day == day && e->slot_s == slot_s && holds_place(e) && strcmp(e->service, svc) == 0)
            n++;
    }
    return n;
}

void bk_window(const bk_cfg *b, int32_t slot_s, int32_t *from, int32_t *to)
{
    *from = slot_s - b->early_min * 60;
    *to = slot_s + b->grace_min * 60;
}

int bk_make(bk_set *s, const bk_cfg *b, const qms_config *c, int si, int32_t day, int32_t slot_s,
            const char *hash, const char *code, int32_t today, int32_t now_s, int64_t now_ms,
            bk_entry **out)
{
    *out = NULL;
    if (si < 0 || si >= c->nservices)
        return QMS_ERR_UNKNOWN_SERVICE;
    if (day < today || day > today + b->days_ahead)
        return QMS_ERR_BAD_DAY;
    int32_t starts[BK_MAX_SLOTS];
    int n = bk_slots(b, c, si, day, starts, BK_MAX_SLOTS), found = 0;
    if (n == 0)
        return QMS_ERR_BAD_DAY; /* the center (or the service) is closed that day */
    for (int i = 0; i < n; i++)
        found |= starts[i] == slot_s;
    if (!found)
        return QMS_ERR_BAD_SLOT;
    /* today: a slot whose check-in window has ended cannot be booked */
    int32_t from, to;
    bk_window(b, slot_s, &from, &to);
    if (day == today && now_s > to)
        return QMS_ERR_BAD_SLOT;
    const char *svc = c->services[si].code;
    int same_day = 0, same_service = 0;
    for (int i = 0; i < s->n; i++) {
        const bk_entry *e = &s->v[i];
        if (e->day != day || !holds_place(e) || strcmp(e->hash, hash) != 0)
            continue;
        same_day++;
        if (strcmp(e->service, svc) == 0)
            same_service++;
    }
    if (b->one_per_service && same_service)
        return QMS_ERR_BOOKING_SAME_SERVICE;
    if (same_day >= b->max_per_day)
        return QMS_ERR_BOOKING_LIMIT;
    if (bk_taken(s, svc, day, slot_s) >= b->capacity)
        return QMS_ERR_SLOT_FULL;
    bk_entry e;
    memset(&e, 0, sizeof e);
    e.id = s->next_id > 0 ? s->next_id : 1;
    snprintf(e.code, sizeof e.code, "%s", code);
    snprintf(e.service, sizeof e.service, "%s", svc);
    e.day = day;
    e.slot_s = slot_s;
    snprintf(e.hash, sizeof e.hash, "%s", hash);
    e.state = BK_BOOKED;
    e.created_ms = now_ms;
    e.dirty = 1;
    bk_entry *p = bk_set_add(s, &e);
    if (!p)
        return QMS_ERR_NOMEM;
    *out = p;
    return QMS_OK;
}

int bk_checkin_check(const bk_cfg *b, const bk_entry *e, const char *svc, int32_t today,
                     int32_t now_s)
{
    if (e->state == BK_CANCELLED)
        return QMS_ERR_APPT_CANCELLED;
    if (e->state == BK_CHECKED_IN)
        return QMS_ERR_APPT_USED;
    if (e->day != today)
        return QMS_ERR_APPT_WRONG_DAY;
    if (svc && strcmp(svc, e->service) != 0)
        return QMS_ERR_APPT_WRONG_SERVICE;
    if (e->state == BK_NO_SHOW)
        return QMS_ERR_APPT_LATE;
    int32_t from, to;
    bk_window(b, e->slot_s, &from, &to);
    if (now_s < from)
        return QMS_ERR_APPT_EARLY;
    if (now_s > to)
        return QMS_ERR_APPT_LATE;
    return QMS_OK;
}

/* how helpful a refusal is to the citizen: lower is better */
static int refusal_rank(int rc)
{
    switch (rc) {
    case QMS_OK:
        return 0;
    case QMS_ERR_APPT_EARLY:
        return 1;
    case QMS_ERR_APPT_WRONG_SERVICE:
        return 2;
    case QMS_ERR_APPT_LATE:
        return 3;
    case QMS_ERR_APPT_USED:
        return 4;
    default:
        return 5;
    }
}

bk_entry *bk_find_citizen_today(bk_set *s, const bk_cfg *b, const char *hash, const char *svc,
                                int32_t today, int32_t now_s)
{
    bk_entry *best = NULL;
    int best_rank = 99;
    for (int i = 0; i < s->n; i++) {
        bk_entry *e = &s->v[i];
        if (e->day != today || strcmp(e->hash, hash) != 0)
            continue;
        int r = refusal_rank(bk_checkin_check(b, e, svc, today, now_s));
        if (r < best_rank || (r == best_rank && best && e->slot_s < best->slot_s)) {
            best = e;
            best_rank = r;
        }
    }
    return best;
}

int bk_sweep(bk_set *s, const bk_cfg *b, int32_t today, int32_t now_s)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        bk_entry *e = &s->v[i];
        if (e->state != BK_BOOKED)
            continue;
        int32_t from, to;
        bk_window(b, e->slot_s, &from, &to);
        if (e->day < today || (e->day == today && now_s > to)) {
            e->state = BK_NO_SHOW;
            e->dirty = 1;
            n++;
        }
    }
    return n;
}

int bk_cccd_valid(const char *t)
{
    int n = 0;
    for (; t && *t; t++, n++)
        if (*t < '0' || *t > '9')
            return 0;
    return n == 12;
}
