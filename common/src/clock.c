#include "qms/clock.h"
#include "qms/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t real_now(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const qms_clock qms_clock_real = {real_now, NULL};

static int64_t virt_now(void *ctx)
{
    return ((qms_vclock *)ctx)->now;
}

void qms_vclock_init(qms_vclock *v, int64_t start_ms)
{
    v->clock.now_ms = virt_now;
    v->clock.ctx = v;
    v->now = start_ms;
}

void qms_vclock_set(qms_vclock *v, int64_t ms)
{
    v->now = ms;
}

int64_t qms_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t qms_mono_ms(void)
{
    return qms_mono_ns() / 1000000;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int32_t qms_local_day(int64_t epoch_ms, int utc_offset_min)
{
    int64_t local_s = floordiv(epoch_ms, 1000) + (int64_t)utc_offset_min * 60;
    return (int32_t)floordiv(local_s, 86400);
}

int32_t qms_local_sec(int64_t epoch_ms, int utc_offset_min)
{
    int64_t local_s = floordiv(epoch_ms, 1000) + (int64_t)utc_offset_min * 60;
    return (int32_t)(local_s - floordiv(local_s, 86400) * 86400);
}

int64_t qms_local_to_epoch_ms(int32_t day, int32_t sec, int utc_offset_min)
{
    return ((int64_t)day * 86400 + sec - (int64_t)utc_offset_min * 60) * 1000;
}

/* Civil-from-days and days-from-civil (H. Hinnant's algorithms). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void qms_day_str(int32_t day, char out[11])
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999) {
        strcpy(out, "0000-00-00");
        return;
    }
    snprintf(out, 11, "%04d-%02u-%02u", y, m % 100, d % 100);
}

int qms_day_parse(const char *s, int32_t *day)
{
    int y, n = 0;
    unsigned m, d;
    if (!s || sscanf(s, "%4d-%2u-%2u%n", &y, &m, &d, &n) != 3 || s[n] != 0 || strlen(s) != 10)
        return QMS_ERR_INVAL;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return QMS_ERR_INVAL;
    int64_t z = days_from_civil(y, m, d);
    int yy;
    unsigned mm, dd;
    civil_from_days(z, &yy, &mm, &dd);
    if (mm != m || dd != d) /* 2026-02-30 */
        return QMS_ERR_INVAL;
    *day = (int32_t)z;
    return QMS_OK;
}

int qms_hhmm_parse(const char *s, int32_t *sec)
{
    unsigned h, m, sc = 0;
    int n = 0;
    if (!s)
        return QMS_ERR_INVAL;
    if (sscanf(s, "%2u:%2u:%2u%n", &h, &m, &sc, &n) == 3 && s[n] == 0) {
    } else if (sc = 0, n = 0, sscanf(s, "%2u:%2u%n", &h, &m, &n) == 2 && s[n] == 0) {
    } else {
        return QMS_ERR_INVAL;
    }
    if (h > 24 || m > 59 || sc > 59 || (h == 24 && (m || sc)))
        return QMS_ERR_INVAL;
    *sec = (int32_t)(h * 3600 + m * 60 + sc);
    return QMS_OK;
}

void qms_hhmm_str(int32_t sec, char out[6])
{
    if (sec < 0)
        sec = 0;
    snprintf(out, 6, "%02d:%02d", (sec / 3600) % 100, (sec / 60) % 60);
}
