/* Test support: real parts for tests (a mosquitto broker on a free loopback
 * port, temporary folders, child processes). */
#ifndef QMS_TEST_SUPPORT_H
#define QMS_TEST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

typedef struct qms_test_broker {
    int port;      /* loopback port it listens on */
    pid_t pid;     /* mosquitto process */
    char dir[256]; /* its temporary folder (config, log) */
} qms_test_broker;

/* Start a private mosquitto on a free 127.0.0.1 port (set_tcp_nodelay, no
 * persistence). port_hint 0 = pick a free one; else reuse that port (for a
 * broker restart test). Returns 0 when it accepts connections. */
int qms_test_broker_start(qms_test_broker *b, int port_hint);
/* Start mosquitto with a given configuration file (e.g. one qms-provision
 * wrote) and wait until it listens on port (one of the config's listeners).
 * b->dir is left empty: the caller owns the folder. */
int qms_test_broker_start_file(qms_test_broker *b, const char *conf, int port);
/* The same with extra configuration lines after the broker's own listener
 * and defaults (TLS listeners, limits, an ACL; NULL or "" for none). */
int qms_test_broker_start_conf(qms_test_broker *b, int port_hint, const char *extra);
/* SIGTERM and wait. */
void qms_test_broker_stop(qms_test_broker *b);

/* Make a fresh temporary folder; path written to out. */
int qms_test_tmpdir(char *out, size_t outlen, const char *tag);
/* rm -rf of a folder made by qms_test_tmpdir. */
void qms_test_rmdir(const char *path);

/* A free TCP port on 127.0.0.1. */
int qms_test_free_port(void);
/* Wait until something accepts TCP connections on 127.0.0.1:port. 0 = yes. */
int qms_test_wait_port(int port, int timeout_ms);

/* Spawn argv (argv[0] a path) with stdout/stderr to log_path (or inherited
 * when NULL). Returns pid or -1. */
pid_t qms_test_spawn(char *const argv[], const char *log_path);
/* Wait for pid up to timeout_ms; returns exit status (>=0), 128+signal, or -1 on timeout. */
int qms_test_wait_pid(pid_t pid, int timeout_ms);

/* CPU seconds (user + system) process pid has used so far, from
 * /proc/<pid>/stat; -1 when it cannot be read. For the benchmarks' CPU
 * figures. */
double qms_test_cpu_s(pid_t pid);

/* Path of a built program, "<build>/bin/<name>" (QMS_BIN_DIR is defined by CMake). */
const char *qms_test_bin(const char *name);
/* Path of a file under the source tree (QMS_SOURCE_DIR). */
const char *qms_test_src(const char *rel);

#endif
