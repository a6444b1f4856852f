/* Shared by the store tests: a small center, a virtual clock, an engine and
 * a store on a real SQLite file in a temporary folder, and comparisons of
 * two engines (the one that ran and the one reloaded from the store). */
#ifndef QMS_STORE_FIXTURE_H
#define QMS_STORE_FIXTURE_H

#include "engine.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "store.h"

#include <sqlite3.h>
#include <stdint.h>

/* Services: A (prefix A), B (prefix B), C (prefix C, 1 digit: A cap of 9).
 * Counters: 1 serves A,B; 2 serves B,A; 3 serves C,A; 4 serves C. */
typedef struct sfix {
    qms_config *cfg;
    qms_vclock clk;
    qms_engine *e;
    qms_store *s;
    int32_t day;
    char dir[256];
    char path[300];
} sfix;

/* A config with the given policy ("strict"/"interleave", "oldest"/"counter"). */
qms_config *sfix_config(const char *prio, const char *order, int reversed);
/* Fresh folder, config, clock at day 2026-11-26 08:00, engine, store opened + loaded. */
sfix *sfix_new(const char *prio, const char *order);
/* Close engine and store (the file stays). */
void sfix_close(sfix *f);
/* A new engine on the same config and clock, store reopened and loaded. */
void sfix_reopen(sfix *f);
void sfix_free(sfix *f);

int64_t sfix_at(const sfix *f, int h, int m, int s);
void sfix_advance(sfix *f, int seconds);

/* Integer result of a one-value query on db (fails the test on error). */
int64_t sql_int(sqlite3 *db, const char *sql);
/* Text result (static buffer) or "" for NULL. */
const char *sql_text(sqlite3 *db, const char *sql);

/* Every ticket, counter and waiting order equal (a reloaded engine). */
void assert_engines_equal(qms_engine *a, qms_engine *b);
/* The store's rows for the engine's day equal the engine's state. */
void assert_store_matches(sqlite3 *db, qms_engine *e);

#endif
