/* The kiosk's journal: what it asked of the controller and does not yet
 * know to be settled, kept on disk so that a kiosk killed (kill -9, a power
 * cut) never leaves a number waiting in the hall that nobody holds
 * (docs/kiosk.md, "The journal").
 *
 * One small file, append-only, one record a line:
 *
 *   <crc32 hex> T <req> <take payload>      take sent (written + fsync'd first)
 *   <crc32 hex> K <req> <id> <ticket>       its reply: ticket id, not yet on paper
 *   <crc32 hex> C <req> <id> <reason> <creq> cancel of that ticket under way
 *   <crc32 hex> P <req>                     printed (fsync'd): the ticket stands
 *   <crc32 hex> D <req>                     settled otherwise (refused, cancelled)
 *
 * <req> is the take's request id; the crc covers the rest of the line. A
 * take is "open" from T until P or D. The file is emptied whenever nothing
 * is open, so it stays a few hundred bytes. A torn last line (killed while
 * writing: that record's fsync never returned, so what it announced never
 * left) is dropped; a line that does not check out is logged and skipped. */
#ifndef QMS_KIOSK_JOURNAL_H
#define QMS_KIOSK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define KJ_MAX_OPEN 64
#define KJ_PAYLOAD_MAX 512

enum kiosk_journal_state {
    KJ_TAKE = 1, /* sent, outcome unknown */
    KJ_TICKET,   /* a ticket was made; not confirmed printed */
    KJ_CANCEL,   /* its cancel was asked for, not yet acknowledged */
};

typedef struct kiosk_journal_entry {
    int state;
    char req[72];
    char payload[KJ_PAYLOAD_MAX]; /* KJ_TAKE: the take as sent ("" if its line was lost) */
    int64_t id;                   /* KJ_TICKET, KJ_CANCEL */
    char ticket[24];              /* KJ_TICKET: "A023" */
    char reason[32];              /* KJ_CANCEL */
    char creq[72];                /* KJ_CANCEL: the cancel's own request id */
} kiosk_journal_entry;

/* What parsing a journal's text found. */
typedef struct kiosk_journal_scan {
    kiosk_journal_entry open[KJ_MAX_OPEN]; /* takes still open, in journal order */
    int nopen;
    int records;     /* good records read */
    int bad;         /* complete lines that did not check out (skipped) */
    size_t good_len; /* bytes up to the end of the last complete line */
    int torn;        /* 1: the text ends in an unfinished line */
} kiosk_journal_scan;

/* Parse journal text (pure; fuzzed). Never fails: what cannot be read is
 * counted in bad / torn. */
void kiosk_journal_parse(const char *text, size_t len, kiosk_journal_scan *s);

/* Format one record line (with its crc and '\n') into out; returns its
 * length, or 0 if it does not fit / has fields the format cannot hold. */
size_t kiosk_journal_format(char *out, size_t outlen, char kind, const char *req, const char *rest);

typedef struct kiosk_journal kiosk_journal;

/* Open (creating it and its folder) and lock the journal at path, and read
 * what a previous run left open. QMS_ERR_UNAVAILABLE: another process holds
 * it (another qms-kiosk with the same state file); QMS_ERR_IO: it cannot be
 * opened or locked; err says why in a sentence. A damaged file is not an
 * error: it is logged, a copy is kept as <path>.corrupt, and the readable
 * records are used. */
int kiosk_journal_open(const char *path, kiosk_journal **out, char *err, size_t errlen);
void kiosk_journal_close(kiosk_journal *j);
const char *kiosk_journal_path(const kiosk_journal *j);

/* Takes left open by the previous run (valid until the first change). */
int kiosk_journal_count(const kiosk_journal *j);
const kiosk_journal_entry *kiosk_journal_get(const kiosk_journal *j, int i);
/* The open take whose ticket is id, or NULL. */
const kiosk_journal_entry *kiosk_journal_find_id(const kiosk_journal *j, int64_t id);

/* Records. take and printed are on disk (fdatasync) when they return QMS_OK:
 * a take must be on disk before it is sent, and a printed ticket must never
 * be cancelled by a restart. The others need no sync: if lost, the restart
 * repeats a step whose answer the controller remembers. A write that fails
 * is logged and returned (QMS_ERR_IO); the kiosk goes on without it. */
int kiosk_journal_take(kiosk_journal *j, const char *req, const char *payload);
int kiosk_journal_ticket(kiosk_journal *j, const char *req, int64_t id, const char *ticket);
int kiosk_journal_cancel(kiosk_journal *j, const char *req, int64_t id, const char *reason,
                         const char *creq);
int kiosk_journal_printed(kiosk_journal *j, const char *req);
int kiosk_journal_done(kiosk_journal *j, const char *req);

/* The default journal path: $STATE_DIRECTORY (systemd's StateDirectory=),
 * else $XDG_STATE_HOME/qms, else $HOME/.local/state/qms, else fallback_dir;
 * file kiosk-<site>-<kiosk_id>.journal. */
void kiosk_journal_default_path(const char *site, const char *kiosk_id, const char *fallback_dir,
                                char *out, size_t outlen);

/* Test hook: when $QMS_KIOSK_STOP_AT equals point, the process stops itself
 * (SIGSTOP) there, so a test can kill -9 it at exactly that moment. */
void kiosk_test_stop_at(const char *point);

#endif
