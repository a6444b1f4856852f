/* A small world for kiosk tests, all real parts: a mosquitto broker on a
 * free loopback port, the real qms-controller with its own SQLite file,
 * qms-vprinter on a pseudo-terminal (controlled through its stdin), and
 * qms-kiosk run with a script under SDL's offscreen driver. */
#ifndef QMS_KIOSK_HARNESS_H
#define QMS_KIOSK_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "fixture.h"
#include "qms/mqtt.h"

typedef struct kh_world {
    char dir[256]; /* temporary folder of this world */
    qms_test_broker broker;
    char center_path[320]; /* the center configuration the controller runs */
    char site[64];
    pid_t ctrl;       /* qms-controller, 0 when not running */
    int ctrl_runs;    /* to name its logs */
    qms_test_proc vp; /* qms-vprinter (vp.pid 0 when not running) */
    char pty[128];    /* the printer's device path */
    char vp_dir[320]; /* where it writes N.png / N.json */
    int tickets;      /* tickets the vprinter reported so far */
    qms_mqtt *m;      /* the test's own MQTT client (counter requests) */
    int kiosk_runs;
} kh_world;

/* Make the world: a tmp folder, a broker, the test's MQTT client. center_json
 * is the center configuration text (NULL: examples/center.json). */
/* Append a printf-formatted line (and its newline) to a script buffer. */
void kh_line(char *s, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int kh_world_start(kh_world *w, const char *center_json);
void kh_world_stop(kh_world *w);

/* The controller, its clock at local time clock_iso ("2026-11-26T09:00:00")
 * or the real clock (NULL); returns when its device status says online. */
int kh_controller_start(kh_world *w, const char *clock_iso);
void kh_controller_stop(kh_world *w);

/* The virtual printer; returns when its pty path is known. */
int kh_vprinter_start(kh_world *w);
void kh_vprinter_stop(kh_world *w);
/* A control line ("paper out", "cover close", "paper left 200"); returns
 * when the vprinter acknowledged it with its state line. */
int kh_vprinter_cmd(kh_world *w, const char *line);
/* Wait for the next "ticket N ..." line; returns N, or -1 after timeout_ms.
 * Abandoned pages (a print that stopped) are reported in *abandoned. */
int kh_vprinter_next_ticket(kh_world *w, int timeout_ms, int *abandoned);
/* Read DIR/N.json of the vprinter (qms_free the text). */
char *kh_vprinter_json(kh_world *w, int n);

/* Write a kiosk settings file (site, short timeouts) into the world and
 * return its path. extra: more top-level JSON members ("" for none). */
const char *kh_kiosk_config(kh_world *w, const char *extra);

/* Run qms-kiosk with a script until it exits (or timeout_ms, then killed):
 * returns its exit status. args: extra arguments (NULL-terminated, may be
 * NULL). log / trace paths are written to log_out / trace_out (optional). */
int kh_kiosk_run(kh_world *w, const char *script, const char *const *args, int timeout_ms,
                 char *log_out, size_t log_len, char *trace_out, size_t trace_len);
/* The same, started in the background: returns the pid. */
pid_t kh_kiosk_spawn(kh_world *w, const char *script, const char *const *args, char *log_out,
                     size_t log_len, char *trace_out, size_t trace_len);

/* Wait until a file exists (a screenshot as a sync point). 0 = it does. */
int kh_wait_file(const char *path, int timeout_ms);

/* Counter n's "status": how many wait for it (-1 on failure). */
int kh_counter_waiting(kh_world *w, int counter);
/* Send counter n a command op; the reply's "error" code or "" (written to
 * err), the "ticket" it acted on to ticket. */
int kh_counter_cmd(kh_world *w, int counter, const char *op, char *err, size_t errlen, char *ticket,
                   size_t ticketlen);

/* Wait until kiosk id's retained device status contains needle; 0 = it
 * does. The last status seen is written to out. */
int kh_kiosk_status_wait(kh_world *w, const char *kiosk_id, const char *needle, int timeout_ms,
                         char *out, size_t outlen);

/* Count what the broker carries on qms/<site>/<suffix> (e.g. "ticket/take"):
 * kh_watch subscribes the test's client; kh_seen runs it for up to
 * timeout_ms until at least min messages were seen, and returns the count. */
int kh_watch(kh_world *w, const char *suffix);
int kh_seen(kh_world *w, const char *suffix, int min, int timeout_ms);
/* The last payload kh_seen saw on qms/<site>/<suffix> ("" if none). */
const char *kh_seen_last(kh_world *w, const char *suffix);

/* Freeze (SIGSTOP) or thaw (SIGCONT) the controller. */
void kh_controller_freeze(kh_world *w, int frozen);

/* Wait until child pid is stopped (a SIGSTOP, e.g. a test hook); 0 = it is. */
int kh_wait_stopped(pid_t pid, int timeout_ms);
/* kill -9 a child and reap it. */
void kh_kill9(pid_t pid);

/* The controller's store, read directly (SQLite, the file it runs on). */
typedef struct kh_ticket {
    long long id;
    char label[24];
    char state[16];
} kh_ticket;
/* The newest ticket; 0 = found. */
int kh_store_newest(kh_world *w, kh_ticket *t);
/* Ticket by id; 0 = found. */
int kh_store_ticket(kh_world *w, long long id, kh_ticket *t);
/* The labels of all waiting tickets, sorted, comma-separated; their count. */
int kh_store_waiting(kh_world *w, char *out, size_t outlen);

#endif
