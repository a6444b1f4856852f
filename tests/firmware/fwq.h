/* Test fixture: firmware units in QEMU (through qms-unit), their front
 * panels, and the bus. */
#ifndef QMS_TEST_FWQ_H
#define QMS_TEST_FWQ_H
#include <stddef.h>
#include <sys/types.h>

/* How long a test waits for what must come (a loaded host is slow). */
#define FWQ_WAIT_MS 15000

struct fwq_unit {
    pid_t pid;        /* qms-unit */
    char bus[256];    /* the bus pty */
    char panel[256];  /* the front panel pty */
    int panel_fd;     /* open, raw, non-blocking */
    char pending[4096]; /* panel bytes not yet a whole line */
    size_t plen;
};

/* Starts qms-unit --kind kind --addr addr [--baud baud]; 0 when both ptys
 * are known and the panel said hello. */
int fwq_start(struct fwq_unit *u, const char *kind, int addr, int baud);
/* The same, with --bus-link bus_link (a name that survives a restart). */
int fwq_start_link(struct fwq_unit *u, const char *kind, int addr, int baud,
                   const char *bus_link);
void fwq_stop(struct fwq_unit *u);
/* Sends one line to the panel ("key next"). */
void fwq_panel(struct fwq_unit *u, const char *line);
/* Waits up to timeout_ms for a panel line starting with prefix; copies it
 * (without the newline) to OUT: out. Returns 0 when found. */
int fwq_wait(struct fwq_unit *u, const char *prefix, char *out, size_t outlen, int timeout_ms);
/* Runs a shell command, its stdout into OUT: out; returns its exit status. */
int fwq_run(const char *cmd, char *out, size_t outlen);
/* Milliseconds on a monotonic clock. */
long fwq_ms(void);

#endif
