/* No hidden clock: code that depends on time reads it from a qms_clock, which
 * is either the real clock or a virtual one that a test or a replay drives.
 * Times are milliseconds since the Unix epoch (UTC). Calendar questions
 * (which day, how late in the day) use the center's fixed UTC offset
 * (Vietnam: +420 minutes, no daylight saving). */
#ifndef QMS_CLOCK_H
#define QMS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct qms_clock {
    int64_t (*now_ms)(void *ctx); /* current time, ms since epoch */
    void *ctx;                    /* passed to now_ms */
} qms_clock;

/* The wall clock (CLOCK_REALTIME). */
extern const qms_clock qms_clock_real;

/* A clock that only moves when told to. */
typedef struct qms_vclock {
    qms_clock clock; /* pass &v.clock wherever a qms_clock is wanted */
    int64_t now;     /* current virtual time, ms since epoch */
} qms_vclock;

void qms_vclock_init(qms_vclock *v, int64_t start_ms);
void qms_vclock_set(qms_vclock *v, int64_t ms);

/* A clock that follows the controller's ("clock" in its retained device
 * status, docs/protocol.md): at the real instant real_ms the controller read
 * at_ms, and its clock runs speed times faster than real time. Until a status
 * with a clock arrives it reads the real clock. Boards and kiosks show this
 * time, so a demo (--clock, --speed) shows one time everywhere. */
typedef struct qms_fclock {
    qms_clock clock; /* pass &f.clock wherever a qms_clock is wanted */
    int64_t at_ms, real_ms;
    double speed;
    int have; /* a controller's clock is known */
} qms_fclock;

void qms_fclock_init(qms_fclock *f);
/* Take the clock from a controller's status payload (JSON). Returns 1 when the
 * clock changed, 0 when the payload has no clock or the same one, and
 * -QMS_ERR_INVAL for a clock out of range (speed outside 0.1..1000, times before
 * 2000 or after 2200), which is ignored. */
int qms_fclock_from_status(qms_fclock *f, const char *json, size_t len);

static inline int64_t qms_now(const qms_clock *c)
{
    return c->now_ms(c->ctx);
}

/* Monotonic milliseconds/nanoseconds for measuring durations (not calendar). */
int64_t qms_mono_ms(void);
int64_t qms_mono_ns(void);

/* Local calendar day number (days since 1970-01-01 in local time). */
int32_t qms_local_day(int64_t epoch_ms, int utc_offset_min);
/* Seconds since local midnight, 0..86399. */
int32_t qms_local_sec(int64_t epoch_ms, int utc_offset_min);
/* Epoch ms of local (day, second of day). */
int64_t qms_local_to_epoch_ms(int32_t day, int32_t sec, int utc_offset_min);
/* "YYYY-MM-DD" of a local day number; out must hold 11 bytes. */
void qms_day_str(int32_t day, char out[11]);
/* Parse "YYYY-MM-DD"; returns QMS_OK or QMS_ERR_INVAL. */
int qms_day_parse(const char *s, int32_t *day);
/* Parse "HH:MM" or "HH:MM:SS" into seconds of day; QMS_OK or QMS_ERR_INVAL. */
int qms_hhmm_parse(const char *s, int32_t *sec);
/* "HH:MM" of seconds of day; out must hold 6 bytes. */
void qms_hhmm_str(int32_t sec, char out[6]);

#endif
