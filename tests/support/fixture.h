/* The test fixture library: the real parts a test starts and watches, in one
 * place for every folder of tests/ (and bench/). Built on support.h (broker,
 * folders, children):
 *   - a broker with extra configuration (TLS listeners, limits, ACLs);
 *   - a program with its stdin/stdout on pipes, read line by line;
 *   - qms-vprinter on a pseudo-terminal, qms-controller on a broker;
 *   - MQTT clients, and a watch that keeps every message on some topics and
 *     waits for one that must come. */
#ifndef QMS_TEST_FIXTURE_H
#define QMS_TEST_FIXTURE_H

#include "support.h"

#include "qms/mqtt.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sqlite3 sqlite3;

/* How long a test waits for something that must happen (a reply, an event,
 * a screen): generous, since an ASan build under ctest -j2 on a loaded
 * machine can be slow; a passing test never waits it out. */
#define QMS_TEST_WAIT_MS 20000

/* ---- a program on pipes ---- */
typedef struct qms_test_proc {
    pid_t pid;
    int in_fd;      /* its stdin (we write) */
    int out_fd;     /* its stdout (we read) */
    char buf[8192]; /* stdout bytes not yet returned as lines */
    size_t blen;
} qms_test_proc;

/* Start argv[0] (a path) with stdin and stdout on pipes, stderr appended to
 * log_path (or inherited when NULL). 0, or -1. */
int qms_test_proc_start(qms_test_proc *p, char *const argv[], const char *log_path);
/* One line of its stdout without the newline: 0, or -1 after timeout_ms or at
 * its end. */
int qms_test_proc_line(qms_test_proc *p, char *line, size_t n, int timeout_ms);
/* Write text and a newline to its stdin: 0, or -1. */
int qms_test_proc_send(qms_test_proc *p, const char *text);
/* Stop it: the quit line on its stdin (or SIGTERM when quit is NULL or the
 * write fails), then SIGKILL after timeout_ms. Closes the pipes. Returns its
 * exit status as qms_test_wait_pid does. */
int qms_test_proc_stop(qms_test_proc *p, const char *quit, int timeout_ms);
/* SIGKILL and reap (the pipes stay open until qms_test_proc_stop). */
void qms_test_proc_kill(qms_test_proc *p);

/* ---- the programs ---- */

/* qms-vprinter --out out_dir [--width width, when > 0] [extra...] (extra
 * NULL-terminated, may be NULL); returns 0 once it printed its pseudo-terminal's path into
 * dev. Its control lines and events: qms_test_proc_send / _line. */
int qms_test_vprinter_start(qms_test_proc *p, const char *out_dir, int width,
                            const char *const *extra, const char *log_path, char *dev,
                            size_t devlen);

/* qms-controller --config --db --broker 127.0.0.1:port [--clock clock]
 * [extra...], output appended to log_path. Returns its pid, or -1. */
pid_t qms_test_controller_spawn(const char *config, const char *db, int port, const char *clock,
                                const char *const *extra, const char *log_path);

/* ---- MQTT ---- */

/* A client connected with o (host defaults to 127.0.0.1), or NULL when it
 * could not connect within wait_ms. */
qms_mqtt *qms_test_client(const qms_mqtt_opts *o, int wait_ms);

/* Every message published on some patterns, in arrival order. */
typedef struct qms_test_msg {
    char *topic;
    char *payload;
    int retained;
} qms_test_msg;
typedef struct qms_test_watch {
    qms_mqtt *m;
    qms_test_msg *v;
    int n, cap;
} qms_test_watch;

/* Connect with o and subscribe to patterns (NULL-terminated). 0, or -1. */
int qms_test_watch_start(qms_test_watch *w, const qms_mqtt_opts *o, const char *const *patterns);
void qms_test_watch_pump(qms_test_watch *w, int ms);
/* Pump until a message on topic (exact) whose payload contains needle (any
 * when NULL) has arrived at index from or later: its index, or -1 after ms
 * (at least QMS_TEST_WAIT_MS: every caller waits for what must come). */
int qms_test_watch_wait(qms_test_watch *w, int from, const char *topic, const char *needle, int ms);
/* The last message on topic, or NULL. */
const qms_test_msg *qms_test_watch_last(const qms_test_watch *w, const char *topic);
int qms_test_watch_count(const qms_test_watch *w, const char *topic);
void qms_test_watch_stop(qms_test_watch *w);

/* Wait up to ms until the controller pid says online on its retained device
 * status (qms/<site>/device/controller/main/status names its pid); o says
 * how to reach the broker. 0; -1 after ms; -2 when pid exited (it is
 * reaped). */
int qms_test_controller_wait_online(const qms_mqtt_opts *o, const char *site, pid_t pid, int ms);

/* ---- a site of the province (docs/province.md) ---- */

/* A site: its folder, the example center as site <name>, the bridge lines
 * qms-provision bridge writes for it, its mosquitto with them and its
 * qms-controller. */
typedef struct qms_test_site {
    char name[16];
    char dir[300], conf[340], db[340], bridge[340], log[340];
    qms_test_broker broker;
    pid_t ctl;
} qms_test_site;

/* Make tmp/<name> with center.json (examples/center.json as site name),
 * run qms-provision bridge (--remote 127.0.0.1:prov_port, persistence in
 * the folder, --queue 20000), start the site's broker and its controller
 * (--clock clock, --site name) and wait until it is online. 0, or -1. */
int qms_test_site_setup(qms_test_site *s, const char *tmp, const char *name, int prov_port,
                        const char *clock);
/* The site's mosquitto with its bridge lines, on port (0 = a free one). */
int qms_test_site_broker_start(qms_test_site *s, int port);
/* The site's qms-controller, waited for until online. 0, or -1. */
int qms_test_site_ctl_start(qms_test_site *s, const char *clock);
/* Stop the controller (SIGTERM) and the broker. */
void qms_test_site_stop(qms_test_site *s);

/* ---- SQLite ---- */

/* The first column of the first row of sql on db (?1 bound to arg when not
 * NULL), or -1 when there is none or the query fails. */
int64_t qms_test_sql_int(sqlite3 *db, const char *sql, const char *arg);

#endif
