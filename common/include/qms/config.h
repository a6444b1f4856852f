/* The center's configuration: services, counters, hours and calling policy.
 * Read from JSON (examples/center.json, the format of record, see
 * docs/config.md) or from the two CSV files of ../shared/data. */
#ifndef QMS_CONFIG_H
#define QMS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define QMS_MAX_SPANS 8
#define QMS_MAX_SERVICES 64
#define QMS_MAX_COUNTERS 256
#define QMS_CODE_MAX 16

typedef struct qms_span {
    int32_t open_s;  /* seconds after local midnight, inclusive */
    int32_t close_s; /* exclusive */
} qms_span;

typedef enum { QMS_PRIO_STRICT = 0, QMS_PRIO_INTERLEAVE = 1 } qms_prio_mode;
typedef enum { QMS_ORDER_OLDEST = 0, QMS_ORDER_COUNTER = 1 } qms_order_mode;

typedef struct qms_policy {
    qms_prio_mode priority; /* strict: any priority ticket first; interleave: 1 per k normal */
    int interleave_k;       /* with interleave: after k normal calls, one priority call */
    qms_order_mode order;   /* oldest: oldest among the counter's services; counter: the counter's own order */
} qms_policy;

typedef struct qms_service {
    char code[QMS_CODE_MAX]; /* "TP" */
    char prefix[8];          /* "A" (prefix mode); "" in range mode */
    int digits;              /* zero-padded digits after the prefix (default 3) */
    int32_t range_lo;        /* range mode: first number (e.g. 1001); 0 in prefix mode */
    int32_t range_hi;        /* range mode: last number */
    char *name_vi;           /* "Tư pháp - Hộ tịch" (UTF-8, NFC) */
    char *name_en;           /* "Justice and civil status" */
    int32_t mean_service_s;  /* prior for the mean service time */
    int32_t daily_cap;       /* 0 = only the number range limits */
    int nhours;              /* issuing hours; 0 = the center's hours */
    qms_span hours[QMS_MAX_SPANS];
    int32_t alert_wait_s;    /* alert when the longest wait passes this; 0 = the center's */
} qms_service;

typedef struct qms_counter {
    int id;          /* the number staff and citizens know ("quầy số 5") */
    char *name_vi;   /* "Quầy 5" */
    char *name_en;   /* "Counter 5" */
    int nservices;   /* services served, in this counter's order of preference */
    int *services;   /* indices into qms_config.services */
} qms_counter;

/* A unit on the RS-485 line(s) the gateway polls (docs/config.md "bus").
 * The kind numbers are those of the bus contract (input register 0,
 * docs/firmware.md). */
#define QMS_MAX_BUS_UNITS 1024
typedef enum {
    QMS_UNIT_COUNTER = 1, /* counter keypad with its display ("counter") */
    QMS_UNIT_LED = 2,     /* 4-digit LED board above a counter ("led") */
    QMS_UNIT_RATING = 3,  /* rating keys of a counter ("rating") */
    QMS_UNIT_HALL = 4,    /* hall LED board ("hall") */
} qms_unit_kind;

typedef struct qms_bus_unit {
    int address;        /* Modbus unit address 1..247, unique on its line */
    qms_unit_kind kind;
    int counter;        /* counter id (counter, led, rating); 0 for a hall board */
    int line;           /* 1-based index of the gateway's --bus lines (default 1) */
} qms_bus_unit;

/* "counter", "led", "rating", "hall"; NULL for anything else. */
const char *qms_unit_kind_name(int kind);
/* Inverse; 0 when unknown. */
int qms_unit_kind_parse(const char *name);

/* A make-up working day: a date (usually a Saturday) worked with the hours
 * of another weekday (docs/config.md "calendar"). */
typedef struct qms_workday {
    int32_t day;  /* local day number (qms_local_day) */
    int weekday;  /* 0 Monday .. 6 Sunday: whose hours apply */
} qms_workday;

#define QMS_MAX_CAL_DATES 512

typedef struct qms_config {
    char site[64];          /* MQTT topic segment, [A-Za-z0-9_-] */
    char *name_vi;          /* center name */
    char *name_en;
    int utc_offset_min;     /* 420 for Vietnam */
    int nhours;             /* the center's issuing hours */
    qms_span hours[QMS_MAX_SPANS];
    int32_t day_reset_s;    /* numbers restart at this local time (default 00:00 = new day) */
    qms_policy policy;
    int32_t noshow_window_s;   /* a skipped ticket stays recallable this long (default 1800) */
    int rating_levels;         /* 3, 4 (default) or 5 */
    int counters_start_open;   /* counters are open at the start of the day (default 1) */
    int32_t staffed_grace_s;   /* an idle open counter that leaves someone it could call waiting
                                * longer than this is not staffed (default 60; docs/eta.md) */
    int32_t alert_wait_s;      /* default wait threshold of a service's alert (1800; 0 = none) */
    int32_t alert_pause_s;     /* alert when a counter is paused this long (900; 0 = none) */
    int32_t alert_cap_pct;     /* alert when a service used this % of its day (90; 0 = none) */
    char *ticket_url;          /* base URL of the citizen's ticket page ("" = no link) */
    int nservices;
    qms_service *services;
    int ncounters;
    qms_counter *counters;
    int nbus;                  /* units of the "bus" section (0 = none) */
    qms_bus_unit *bus;
    /* the calendar (docs/config.md "calendar"; qms/calendar.h answers) */
    int has_week;              /* 0: every day has `hours` (the old behaviour) */
    int week_n[7];             /* spans per weekday, 0 Monday .. 6 Sunday; 0 = closed */
    qms_span week[7][QMS_MAX_SPANS];
    int nholidays;             /* closed dates, sorted */
    int32_t *holidays;
    int nworkdays;             /* make-up working days, sorted by day */
    qms_workday *workdays;
} qms_config;

/* Parse the JSON format. On error returns QMS_ERR_INVAL (or NOMEM) and writes
 * a sentence naming the offending field into err. */
int qms_config_parse_json(const char *text, size_t len, qms_config **out, char *err,
                          size_t errlen);
int qms_config_load_file(const char *path, qms_config **out, char *err, size_t errlen);
/* The center file as a JSON tree, for the sections their owners read
 * themselves (the controller's staff list and booking rules). The caller
 * frees it with cJSON_Delete. On error returns QMS_ERR_IO (not readable),
 * QMS_ERR_INVAL (not JSON) or NOMEM, with a sentence in err. */
struct cJSON;
int qms_config_json_file(const char *path, struct cJSON **out, char *err, size_t errlen);
/* Build a config from services.csv / counters.csv text (the shared/data
 * format); center-wide fields get their defaults (hours 07:30-11:30,
 * 13:30-17:00; offset +420). */
int qms_config_parse_csv(const char *services_csv, size_t slen, const char *counters_csv,
                         size_t clen, qms_config **out, char *err, size_t errlen);
int qms_config_load_csv(const char *services_path, const char *counters_path, qms_config **out,
                        char *err, size_t errlen);
void qms_config_free(qms_config *c);
/* Serialize to the JSON format (same shape parse_json reads). qms_free it. */
char *qms_config_to_json(const qms_config *c);

int qms_config_service_index(const qms_config *c, const char *code); /* -1 if unknown */
int qms_config_counter_index(const qms_config *c, int id);           /* -1 if unknown */
/* Does counter index ci serve service index si? */
int qms_config_counter_serves(const qms_config *c, int ci, int si);
/* Is local second-of-day sec within the service's issuing hours? */
int qms_config_service_open(const qms_config *c, int si, int32_t sec);
/* Largest number a service can issue in a day (range size or 10^digits - 1),
 * further limited by daily_cap. */
int32_t qms_config_service_capacity(const qms_config *c, int si);
/* The printed label of number n of service si, e.g. "A023" or "1023". */
void qms_ticket_label(const qms_config *c, int si, int32_t n, char *out, size_t outlen);

/* The words of rating `level` on a scale of `levels` (3..5; level 1 is the
 * worst, `levels` "very satisfied"), Vietnamese or English (en); "?" outside
 * the scale. The same words on every screen, report and key. */
const char *qms_rating_text(int level, int levels, int en);

#endif
