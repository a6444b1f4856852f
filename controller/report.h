/* qms-report: CSV reports for managers from the store (docs/report.md).
 *
 *   report_db.c    reads a date range of tickets from the SQLite store,
 *                  read-only (works while the controller writes: WAL)
 *   report_calc.c  groups them (per service, counter, hour or day) and
 *                  computes the figures
 *   report_csv.c   writes RFC 4180 CSV that a spreadsheet opens as it is
 *   report_main.c  the command line */
#ifndef QMS_REPORT_H
#define QMS_REPORT_H

#include "qms/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_MAX_LEVELS 9 /* rating levels a report can show */

/* ---------- the data read from the store ---------- */

typedef struct report_service {
    char code[QMS_CODE_MAX];
    char *name_vi; /* NULL when the store does not know it */
    char *name_en;
} report_service;

typedef struct report_counter {
    int id; /* the counter's number */
    char *name_vi;
    char *name_en;
} report_counter;

/* One ticket as the store keeps it (its final state, or its state now). */
typedef struct report_ticket {
    int32_t day;             /* local day number it was issued on */
    int orig_svc;            /* index in report_data.svcs: the service that issued it */
    int svc;                 /* index: the service it is in now (differs after a transfer) */
    int counter;             /* index in report_data.ctrs of its last call, -1 if never called */
    int state;               /* qms_tstate: waiting, called, serving, done, noshow, cancelled */
    int64_t taken_ms;        /* when taken */
    int64_t first_called_ms; /* first call, 0 if never called */
    int64_t start_ms;        /* start of its (last) service, 0 if none */
    int64_t end_ms;          /* reached its final state, 0 if not */
    int rating;              /* 0 none, else 1..levels */
    int transfers;           /* how many times it was transferred */
    int levels;              /* the rating scale of its day (top level = very satisfied) */
    int utc_offset_min;      /* the center's UTC offset on its day (places its hour) */
    int settings;            /* where levels/offset came from: REPORT_SET_* */
    int site;                /* index in report_data.sites (0 in a site's own store) */
    int kind;                /* REPORT_KIND_*: how it was taken (normal, appointment, a priority kind) */
    int staff;               /* index in report_data.staff of who was signed in at the counter
                              * that called it last; -1 never called, or not recorded (before
                              * schema 6) */
} report_ticket;

/* How a ticket was taken: a normal ticket, an appointment, or one of the
 * priority kinds (one calling class, recorded apart from schema 6 on; an
 * older priority ticket counts as REPORT_KIND_PRIORITY). */
enum {
    REPORT_KIND_NORMAL = 0,
    REPORT_KIND_APPT,
    REPORT_KIND_PRIORITY, /* "priority" / true: no kind said */
    REPORT_KIND_ELDERLY,
    REPORT_KIND_DISABLED,
    REPORT_KIND_PREGNANT,
    REPORT_KIND_CHILD,
    REPORT_KIND__COUNT
};
/* The kind's code as the protocol spells it ("normal", "appointment",
 * "priority", "elderly"...) and its name for a person. */
const char *report_kind_code(int kind);
const char *report_kind_name(int kind, int en);

/* Where a ticket's day's settings (UTC offset, rating levels) came from. */
enum {
    REPORT_SET_DEFAULT = 0, /* nothing recorded: +07:00 and 4 levels */
    REPORT_SET_LATER,       /* only later days recorded: the first of them */
    REPORT_SET_STORE,       /* recorded on that day, or the last earlier day */
    REPORT_SET_GIVEN,       /* --config / --levels */
};

/* The settings the controller recorded on a day (store table day_settings). */
typedef struct report_setting {
    int32_t day;
    int utc_offset_min;
    int levels;
} report_setting;

/* A transfer made by a counter (from the store's history). */
typedef struct report_transfer {
    int ticket;  /* index in report_data.t */
    int counter; /* index in report_data.ctrs of the counter that transferred it */
} report_transfer;

/* A booking (docs/booking.md; a site's own store, schema 4 on) as the store
 * keeps it. The controller marks a booking no_show only at its next booking
 * request, so one still "booked" may be a no-show already (report_bk_noshow). */
enum { REPORT_BK_BOOKED = 0, REPORT_BK_CANCELLED, REPORT_BK_CHECKED_IN, REPORT_BK_NOSHOW };
typedef struct report_booking {
    int32_t day;    /* local day booked */
    int svc;        /* index in report_data.svcs */
    int32_t slot_s; /* the slot's start, seconds after local midnight */
    int state;      /* REPORT_BK_* */
} report_booking;

/* A site: a hub store's sites (table sites), or the one site of a
 * controller's store (named by --config's site, else ""). */
typedef struct report_site {
    char name[64];
} report_site;

typedef struct report_data {
    report_service *svcs;
    int nsvcs;
    report_counter *ctrs;
    int nctrs;
    report_ticket *t;
    int nt;
    report_transfer *tr;
    int ntr;
    int max_rating; /* the highest rating level met */
    int schema_version;
    report_setting *set; /* recorded settings, by day ascending (schema 3 on) */
    int nset;
    int nbadset; /* recorded rows that make no sense (skipped) */
    int hub;     /* the file is qms-hub's store (meta hub_schema): many sites */
    report_site *sites; /* hub: the sites it knows, by name (only the --site one
                         * when filtered); a site's store: one */
    int nsites;
    report_booking *bk; /* the bookings of the range's days (a site's own store) */
    int nbk;
    int has_bookings; /* the store keeps bookings (a controller's store of schema 4 on) */
    char **staff; /* who served (schema 6 on), in the order first met; "" = nobody signed in */
    int nstaff;
} report_data;

/* Open the store at path read-only and read the tickets of local days
 * from..to (inclusive), in one read transaction (a consistent snapshot even
 * while the controller commits). Names come from the store; cfg (may be
 * NULL) fills in what the store does not name. Each ticket gets its day's
 * recorded UTC offset and rating levels (report_settings_for). On error
 * returns QMS_ERR_DB (or NOMEM) with a sentence for a person in err. */
int report_load(const char *path, int32_t from, int32_t to, const qms_config *cfg, report_data *out,
                char *err, size_t errlen);
/* The same, also for qms-hub's store (docs/province.md): detected by its
 * meta key hub_schema; site (NULL: all) keeps that site's tickets only, and
 * is an error for a site the hub does not know or on a site's own store
 * (unless it is cfg's site). The hub records no day settings: its tickets
 * are read as REPORT_SET_DEFAULT unless cfg/--levels say. */
int report_load_site(const char *path, int32_t from, int32_t to, const char *site,
                     const qms_config *cfg, report_data *out, char *err, size_t errlen);
void report_data_free(report_data *d);
/* The settings of day from the recorded ones: the row of that day or the
 * last earlier one (REPORT_SET_STORE); for a day before the first row, that
 * first row (REPORT_SET_LATER); none recorded: +07:00, 4 levels
 * (REPORT_SET_DEFAULT). Returns the REPORT_SET_* kind. */
int report_settings_for(const report_setting *set, int nset, int32_t day, int *utc_offset_min,
                        int *levels);
/* The last settings recorded in the store at path (to read "today" in the
 * center's time before the range is known): REPORT_SET_STORE, or
 * REPORT_SET_DEFAULT when nothing is recorded or the file cannot be read
 * (report_load then says why). */
int report_latest_settings(const char *path, int *utc_offset_min, int *levels);

/* ---------- grouping and figures ---------- */

typedef enum {
    REPORT_BY_SERVICE = 0,
    REPORT_BY_COUNTER,
    REPORT_BY_HOUR,
    REPORT_BY_DAY,
    REPORT_BY_SITE, /* one row per site (report_data.sites), sites without tickets too */
    REPORT_BY_PRIORITY, /* a row per REPORT_KIND_* */
    REPORT_BY_STAFF,    /* a row per staff member, by name; "" last */
} report_by;

/* The figures of one row. Times are in milliseconds. */
typedef struct report_fig {
    int taken;       /* tickets issued (-1: does not apply, e.g. per counter or staff) */
    int served;      /* finished as done */
    int noshow;      /* finished as no-show (did not come when called) */
    int cancelled;   /* cancelled (printing failed, or left open at the day's end) */
    int unfinished;  /* still waiting, called or being served (a day still running) */
    int transferred; /* tickets transferred (at least once; -1: does not apply, per staff) */
    int nwait;       /* tickets called, whose wait is known */
    int64_t *waits;  /* their waits (first call - taken), sorted ascending after report_build */
    int capwait;
    int64_t service_sum_ms; /* sum of service times of the done tickets that have one */
    int nservice;
    int ratings[REPORT_MAX_LEVELS + 1]; /* ratings[level], 1..levels */
    int nratings;
    int nsatisfied; /* ratings in the top two levels of their own day's scale */
} report_fig;

typedef struct report_row {
    char key[72];   /* service code, counter number, "07:00-08:00", "2026-11-26", site, priority
                     * kind, staff member, or "" */
    char name[256]; /* service or counter name in the report's language, or "" */
    report_fig fig;
} report_row;

typedef struct report {
    report_by by;
    int levels;       /* rating level columns shown */
    int mixed_levels; /* the tickets' days have different scales: no level names */
    report_row *rows;
    int nrows;
    report_row total; /* every ticket of the range */
} report;

/* Group d's tickets. levels = rating level columns (2..9; a ticket's own
 * levels and utc_offset_min say what its rating means and which hour it was
 * taken in); from/to bound the days listed by REPORT_BY_DAY; en picks
 * English names. QMS_OK or QMS_ERR_NOMEM. */
int report_build(const report_data *d, report_by by, int levels, int32_t from, int32_t to, int en,
                 report *out);
void report_free(report *r);

/* Mean wait in ms, < 0 when nobody was called. */
double report_mean_wait_ms(const report_fig *f);
/* 90th percentile of the waits (nearest rank: the smallest wait that at
 * least 90 % of the waits do not exceed), < 0 when none. */
double report_p90_wait_ms(const report_fig *f);
double report_mean_service_ms(const report_fig *f);
/* SIPAS-style: ratings in the top two levels (of each rating's own day's
 * scale) over all ratings, < 0 if none. */
double report_satisfied_share(const report_fig *f);

/* ---------- bookings (qms-report --bookings) ---------- */

typedef struct report_bk_fig {
    int made;       /* every booking of the row (any state) */
    int checked_in; /* a ticket was issued for it */
    int noshow;     /* not checked in, and its check-in window has closed */
    int cancelled;
    int pending; /* booked, its window not closed yet (today later, or a day ahead) */
} report_bk_fig;

typedef struct report_bk_row {
    char key[72];   /* service code or "2026-11-26" */
    char name[256]; /* service name (per service) or "" */
    report_bk_fig fig;
} report_bk_row;

typedef struct report_bk {
    report_by by; /* REPORT_BY_SERVICE or REPORT_BY_DAY */
    report_bk_row *rows;
    int nrows;
    report_bk_row total;
} report_bk;

/* Is b a no-show at local day today, second now_s? Its state says so, or it
 * is still "booked" and its window (the slot's start + grace_min, the
 * center's booking.checkin_grace_min) closed before now. */
int report_bk_noshow(const report_booking *b, int32_t today, int32_t now_s, int grace_min);
/* Group d's bookings per service (every service d knows) or per day (every
 * day from..to). QMS_OK or QMS_ERR_NOMEM. */
int report_bk_build(const report_data *d, report_by by, int32_t from, int32_t to, int en,
                    int32_t today, int32_t now_s, int grace_min, report_bk *out);
void report_bk_free(report_bk *r);
/* no-shows over (checked in + no-shows), < 0 when none of them was due */
double report_bk_noshow_share(const report_bk_fig *f);

/* ---------- CSV ---------- */

typedef struct report_csv {
    FILE *f;
    char sep;     /* ',' (default) or ';' */
    char decimal; /* '.' (default) or ',' */
    int col;      /* fields written on the current row */
    int err;      /* a write failed */
} report_csv;

/* Start a CSV stream: the UTF-8 byte order mark (so that spreadsheets read
 * the text as UTF-8), then fields. decimal_comma: decimals with ',' and
 * fields separated by ';' (spreadsheets set to Vietnamese conventions). */
void report_csv_begin(report_csv *w, FILE *f, int decimal_comma, int bom);
void report_csv_str(report_csv *w, const char *s);
void report_csv_int(report_csv *w, long long v);
/* A decimal with the given digits after the point; an empty field if v < 0. */
void report_csv_dec(report_csv *w, double v, int digits);
void report_csv_empty(report_csv *w);
void report_csv_end_row(report_csv *w);

/* Write the whole report: header row, rows, total row. */
void report_write_csv(const report *r, report_csv *w, int en, int no_data);
/* The bookings report: header row, rows, total row. */
void report_write_bk_csv(const report_bk *r, report_csv *w, int en, int no_data);

#endif
