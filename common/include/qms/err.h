/* One error convention for all of QMS: functions return int, 0 is success,
 * otherwise one of these codes. Refusals of the queue engine are codes here
 * too, so the controller turns any of them into a protocol reply in one place. */
#ifndef QMS_ERR_H
#define QMS_ERR_H

#include <stddef.h>

enum {
    QMS_OK = 0,
    QMS_ERR_NOMEM,           /* allocation failed */
    QMS_ERR_INVAL,           /* malformed input (bad JSON, wrong type, missing field) */
    QMS_ERR_UNKNOWN_SERVICE, /* no such service code */
    QMS_ERR_UNKNOWN_COUNTER, /* no such counter */
    QMS_ERR_UNKNOWN_TICKET,  /* no such ticket (today) */
    QMS_ERR_UNKNOWN_OP,      /* no such operation */
    QMS_ERR_CAP_REACHED,     /* the service's daily cap or number range is used up */
    QMS_ERR_OUTSIDE_HOURS,   /* the service does not issue tickets now */
    QMS_ERR_COUNTER_CLOSED,  /* the counter is not open (paused or closed) */
    QMS_ERR_NOTHING_TO_CALL, /* no ticket waits for this counter */
    QMS_ERR_BAD_STATE,       /* operation not valid in the ticket's or counter's state */
    QMS_ERR_TOO_LARGE,       /* payload or field too large */
    QMS_ERR_IO,              /* file / device / socket error */
    QMS_ERR_DB,              /* SQLite error */
    QMS_ERR_PROTOCOL,        /* peer spoke something we do not understand */
    QMS_ERR_TIMEOUT,         /* no answer in time */
    QMS_ERR_UNAVAILABLE,     /* broker or controller unreachable */
    QMS_ERR_PRINTER,         /* printer fault (paper out, cover open, not answering) */
    QMS_ERR_BAD_STAFF,       /* staff sign-in: unknown staff id or wrong code */
    /* booking (docs/booking.md) */
    QMS_ERR_BAD_CCCD,             /* not a 12-digit CCCD number */
    QMS_ERR_BAD_DAY,              /* past, beyond the booking window, or closed that day */
    QMS_ERR_BAD_SLOT,             /* not a slot of that service and day */
    QMS_ERR_SLOT_FULL,            /* the slot has no free place */
    QMS_ERR_BOOKING_LIMIT,        /* the citizen has the most bookings allowed that day */
    QMS_ERR_BOOKING_SAME_SERVICE, /* the citizen has a booking for that service that day */
    QMS_ERR_UNKNOWN_BOOKING,      /* no such booking (cancel) */
    /* check-in with a booking on ticket/take */
    QMS_ERR_APPT_UNKNOWN,       /* not a valid code, or no such booking */
    QMS_ERR_APPT_WRONG_DAY,     /* the booking is for another day */
    QMS_ERR_APPT_WRONG_SERVICE, /* the booking is for another service */
    QMS_ERR_APPT_USED,          /* the booking was checked in already */
    QMS_ERR_APPT_CANCELLED,     /* the booking was cancelled */
    QMS_ERR_APPT_EARLY,         /* before the booking's check-in window */
    QMS_ERR_APPT_LATE,          /* after the booking's check-in window */
    QMS_ERR_RATE_LIMITED,       /* too many requests from one client (booking/make) */
    QMS_ERR__COUNT
};

/* Stable machine-readable code, e.g. "unknown_service" (used in replies). */
const char *qms_err_code(int err);
/* Text for a person, lang "vi" (default) or "en". Never NULL. */
const char *qms_err_message(int err, const char *lang);
/* Inverse of qms_err_code; returns QMS_ERR_PROTOCOL for an unknown code. */
int qms_err_from_code(const char *code);

/* Write a message for the caller into err (errlen bytes, always terminated;
 * nothing when err is NULL or errlen 0): the error out-parameter of the
 * parsers and loaders ("day-900.csv line 12: bad time"). */
void qms_say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, then return code: `return qms_fail(err, errlen, QMS_ERR_INVAL,
 * "line %d: bad time", n);` in a loader that fails with a QMS_ERR_*. */
int qms_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
