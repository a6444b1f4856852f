/* The durable store: SQLite in WAL mode, synchronous=FULL, versioned schema.
 * The engine changes state in memory and journals it; the store writes the
 * journal of one or many operations in ONE transaction (group commit). The
 * caller replies to anyone only after qms_store_commit returned QMS_OK. If a
 * commit fails the in-memory state is ahead of the disk: the controller must
 * exit and restart from the store (nothing acknowledged is lost, since nothing
 * was acknowledged). */
#ifndef QMS_STORE_H
#define QMS_STORE_H

#include "engine.h"

typedef struct qms_store qms_store;

/* Open (create if needed) and migrate the database at path. */
int qms_store_open(const char *path, qms_store **out);

/* How often SQLite waits for the disk. FULL (the default) syncs the WAL on
 * every commit: an acknowledged change survives a power cut. NORMAL syncs only
 * at checkpoints (survives a crash of the program, not of the machine); the
 * day replay qms-sim uses it to replay a day in seconds. OFF is for
 * throwaway files only. */
typedef enum { QMS_STORE_SYNC_FULL = 0, QMS_STORE_SYNC_NORMAL, QMS_STORE_SYNC_OFF } qms_store_sync;

typedef struct qms_store_opts {
    qms_store_sync sync; /* default QMS_STORE_SYNC_FULL */
    int busy_ms;         /* wait this long for another connection's lock; 0 = 5000 */
} qms_store_opts;

/* qms_store_open with options (o may be NULL for the defaults). */
int qms_store_open_ex(const char *path, const qms_store_opts *o, qms_store **out);
void qms_store_close(qms_store *s);

/* Checkpoints — copying the write-ahead log back into the database file, an
 * fsync of each — are left to the caller after this: by default SQLite runs
 * one inside the commit that brings the log to 1000 pages, and the requests
 * of that commit wait for it. Then qms_store_wal_pages says how many pages the
 * log holds and qms_store_checkpoint (passive: never waits for a reader)
 * copies what it can. Nothing about durability changes: a commit is on disk
 * once it is in the log. */
void qms_store_defer_checkpoints(qms_store *s);
int qms_store_wal_pages(const qms_store *s);
int qms_store_checkpoint(qms_store *s);
/* The last failed commit failed because the disk (or the file system) is
 * full (SQLITE_FULL), not for another reason. */
int qms_store_disk_full(const qms_store *s);
/* Forget the replies queued for the next commit (the caller gave up on the
 * batch: it reloads the engine from the store). */
void qms_store_discard(qms_store *s);

/* Load the current day's state into a fresh engine (same config). If the store
 * is empty, or its day is not the engine's day, the engine starts a fresh day. */
int qms_store_load(qms_store *s, qms_engine *e);

/* Write the engine's journal (every ticket and counter it touched, plus one
 * history row per event) and the given replies, in one transaction, then clear
 * the journal. */
int qms_store_commit(qms_store *s, qms_engine *e);
/* The same, but the write-ahead log (path + "-wal") is appended and NOT
 * synced: the commit is durable only once the caller has fdatasync'ed that
 * file (the controller does it on a thread while it reads on, and publishes
 * nothing of the commit before: controller_sync.c). On a store opened with
 * another level than FULL, a plain qms_store_commit. */
int qms_store_commit_nosync(qms_store *s, qms_engine *e);

/* Request de-duplication: replies remembered under their request id, written
 * in the same transaction as the change they report (queue them before commit). */
int qms_store_queue_reply(qms_store *s, const char *req_id, const char *reply_json);
/* Look up a remembered reply; *reply is qms_malloc'd or NULL if unknown. */
int qms_store_find_reply(qms_store *s, const char *req_id, char **reply);

/* Record what reports need to read day's rows (local day number): the
 * center's UTC offset (minutes, -840..840) and rating scale (levels 2..9),
 * in their own transaction (call it between commits). The day's row is
 * replaced, so a day keeps the values recorded last on it; days without a
 * row take the last earlier one. The controller calls it after loading the
 * store at start and after a reload. QMS_OK, QMS_ERR_INVAL, QMS_ERR_DB. */
int qms_store_record_settings(qms_store *s, int32_t day, int utc_offset_min, int rating_levels,
                              int64_t at_ms);

/* For reports and tests: the underlying sqlite3 *. */
void *qms_store_db(qms_store *s);

/* Rows of the caller's own (bookings) written in the same transaction as the
 * batch: fn(ud, sqlite3 *db) runs inside every commit, before COMMIT, and
 * returns QMS_OK or QMS_ERR_DB (then nothing of the commit is on disk). */
typedef int (*qms_store_hook_fn)(void *ud, void *db);
void qms_store_set_hook(qms_store *s, qms_store_hook_fn fn, void *ud);

#endif
