/* The clock that follows the controller's (qms/clock.h). */
#include "qms/clock.h"
#include "qms/err.h"

#include <cjson/cJSON.h>

#define EPOCH_2000_MS 946684800000LL
#define EPOCH_2200_MS 7258118400000LL

static int64_t follow_now(void *ctx)
{
    const qms_fclock *f = ctx;
    int64_t real = qms_now(&qms_clock_real);
    if (!f->have)
        return real;
    return f->at_ms + (int64_t)((double)(real - f->real_ms) * f->speed);
}

void qms_fclock_init(qms_fclock *f)
{
    f->clock.now_ms = follow_now;
    f->clock.ctx = f;
    f->at_ms = f->real_ms = 0;
    f->speed = 1.0;
    f->have = 0;
}

static int in_range(const cJSON *n)
{
    return cJSON_IsNumber(n) && n->valuedouble >= (double)EPOCH_2000_MS &&
           n->valuedouble <= (double)EPOCH_2200_MS;
}

int qms_fclock_from_status(qms_fclock *f, const char *json, size_t len)
{
    if (!json || !len)
        return 0;
    cJSON *st = cJSON_ParseWithLength(json, len);
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(st, "clock");
    if (!ck) {
        cJSON_Delete(st);
        return 0;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(ck, "at_ms");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ck, "real_ms");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(ck, "speed");
    if (!in_range(a) || !in_range(r) || !cJSON_IsNumber(sp) || !(sp->valuedouble >= 0.1) ||
        !(sp->valuedouble <= 1000)) {
        cJSON_Delete(st);
        return -QMS_ERR_INVAL;
    }
    int64_t at = (int64_t)a->valuedouble, real = (int64_t)r->valuedouble;
    double speed = sp->valuedouble;
    cJSON_Delete(st);
    if (f->have && f->at_ms == at && f->real_ms == real && f->speed == speed)
        return 0;
    f->at_ms = at;
    f->real_ms = real;
    f->speed = speed;
    f->have = 1;
    return 1;
}
