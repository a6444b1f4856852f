/* Bookings (docs/booking.md): the rules, over an in-memory set of the
 * bookings from yesterday on. No I/O and no clock of its own, so the unit
 * tests drive it alone; controller_booking.c keeps the set in the store and
 * answers the booking topics and the check-in on ticket/take. A citizen is
 * known only by a keyed hash of the CCCD number (64 hex characters). */
#ifndef QMS_CTL_BOOKING_H
#define QMS_CTL_BOOKING_H

#include "qms/config.h"

#include <stddef.h>
#include <stdint.h>

#define BK_MAX_SLOTS 96 /* per service and day */

/* center.json "booking" (docs/config.md) */
typedef struct bk_cfg {
    int enabled;         /* "enabled" (default true) */
    int slot_min;        /* "slot_min": minutes per slot (30) */
    int capacity;        /* "capacity": bookings per slot per service (2) */
    int days_ahead;      /* "days_ahead": today and this many days after (6) */
    int max_per_day;     /* "max_per_day": bookings per citizen a day (2) */
    int one_per_service; /* "one_per_service": at most one per service a day (true) */
    int early_min;       /* "checkin_early_min": check-in opens this long before the slot (30) */
    int grace_min;       /* "checkin_grace_min": and closes this long after its start (15) */
    int rank_ahead;      /* "booked_rank": "ahead" (1, default) or "equal" (0) */
    int make_per_min;    /* "make_per_minute": booking/make requests one client id may send
                          * a minute (10; 0 = no limit) */
    char key_file[512];  /* "key_file": the CCCD hash key ("" = <store>.booking-key) */
} bk_cfg;

/* Read the "booking" object of the center config file (absent: defaults).
 * QMS_OK or QMS_ERR_INVAL with err saying which field. */
int bk_cfg_load(const char *config_path, bk_cfg *out, char *err, size_t errlen);
void bk_cfg_default(bk_cfg *out);

typedef enum { BK_BOOKED = 0, BK_CANCELLED, BK_CHECKED_IN, BK_NO_SHOW } bk_state;
const char *bk_state_name(int state);
int bk_state_parse(const char *name); /* -1 if unknown */

typedef struct bk_entry {
    int64_t id;
    char code[9];
    char service[16]; /* service code */
    int32_t day;      /* local day */
    int32_t slot_s;   /* slot start, local second of day */
    char hash[65];    /* HMAC-SHA256(key, CCCD number), hex */
    int state;        /* bk_state */
    int64_t created_ms;
    int64_t ticket_id; /* the check-in's ticket, 0 = none */
    int dirty;         /* changed since the last commit */
} bk_entry;

typedef struct bk_set {
    bk_entry *v;
    int n, cap;
    int64_t next_id;
} bk_set;

void bk_set_free(bk_set *s);
/* Append a copy (loading from the store); returns it or NULL (no memory). */
bk_entry *bk_set_add(bk_set *s, const bk_entry *e);
bk_entry *bk_find_code(bk_set *s, const char *code);

/* The slot starts of service si on local day `day`, ascending: cut from the
 * service's issuing spans that day by the center's calendar (qms/calendar.h:
 * weekday hours, holidays, make-up working days, the service's own hours
 * cut to the day). Slots lie wholly inside a span. Returns how many (<= max);
 * 0 on a closed day. */
int bk_slots(const bk_cfg *b, const qms_config *c, int si, int32_t day, int32_t *starts, int max);
/* Bookings of service code svc, day, slot that hold a place (booked or checked in). */
int bk_taken(const bk_set *s, const char *svc, int32_t day, int32_t slot_s);
/* The check-in window of a slot, local seconds [from, to]. */
void bk_window(const bk_cfg *b, int32_t slot_s, int32_t *from, int32_t *to);

/* The rules of a new booking at local day today, second now_s. On QMS_OK a
 * new entry (state booked, dirty) is added with the given code and *out
 * points to it. Errors: QMS_ERR_UNKNOWN_SERVICE, QMS_ERR_BAD_DAY (outside
 * today .. today + days_ahead, or a day the calendar closes for the service:
 * no slots), QMS_ERR_BAD_SLOT, QMS_ERR_BOOKING_SAME_SERVICE, QMS_ERR_BOOKING_LIMIT,
 * QMS_ERR_SLOT_FULL, QMS_ERR_NOMEM; nothing changes then. */
int bk_make(bk_set *s, const bk_cfg *b, const qms_config *c, int si, int32_t day, int32_t slot_s,
            const char *hash, const char *code, int32_t today, int32_t now_s, int64_t now_ms,
            bk_entry **out);

/* May booking e check in now (service si or -1 = any)? QMS_OK or one of
 * QMS_ERR_APPT_WRONG_DAY, _WRONG_SERVICE, _USED, _CANCELLED, _EARLY, _LATE. */
int bk_checkin_check(const bk_cfg *b, const bk_entry *e, const char *svc, int32_t today,
                     int32_t now_s);

/* Today's booking of a citizen (by hash) to check in: the one that may check
 * in now if any (for service svc when not NULL), else the one whose refusal
 * says most. NULL when the citizen has no booking today. */
bk_entry *bk_find_citizen_today(bk_set *s, const bk_cfg *b, const char *hash, const char *svc,
                                int32_t today, int32_t now_s);

/* Bookings whose check-in window ended unused become no_show (dirty).
 * Returns how many changed. */
int bk_sweep(bk_set *s, const bk_cfg *b, int32_t today, int32_t now_s);

/* Is text exactly 12 ASCII digits? */
int bk_cccd_valid(const char *text);

#endif
