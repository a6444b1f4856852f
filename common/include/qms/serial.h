/* The serial line to the printer, behind one small interface with two
 * backends:
 *   - libserialport for real ports (USB-serial adapters, on-board UARTs),
 *     found by path, by libserialport name, or by USB VID:PID;
 *   - termios directly for pseudo-terminals, which libserialport 0.1.1
 *     cannot open (its open fails on TIOCMGET and its name lookup needs
 *     sysfs) - this is how tests and qms-vprinter are reached.
 *
 * Device specs (qms_serial_open):
 *   "/dev/ttyUSB0"        a path: ptys go to termios, the rest to libserialport
 *   "name:ttyUSB0"        a port libserialport lists under that name ("/dev/" optional)
 *   "usb:0416:5011"       the first port libserialport lists with that USB VID:PID (hex)
 *   "termios:/dev/ttyS0"  force the termios backend for any tty
 *   "sp:/dev/ttyS0"       force libserialport (no fallback)
 * A suffix ",rtscts" or ",xonxoff" selects flow control (default none). */
#ifndef QMS_SERIAL_H
#define QMS_SERIAL_H

#include <stddef.h>

typedef struct qms_serial qms_serial;

typedef enum {
    QMS_SERIAL_FLOW_NONE = 0,
    QMS_SERIAL_FLOW_RTSCTS,
    QMS_SERIAL_FLOW_XONXOFF
} qms_serial_flow;

typedef enum {
    QMS_SERIAL_PATH = 0, /* decide by what the path is */
    QMS_SERIAL_NAME,     /* libserialport name */
    QMS_SERIAL_USB,      /* VID:PID */
    QMS_SERIAL_TERMIOS,  /* forced termios */
    QMS_SERIAL_SP,       /* forced libserialport */
} qms_serial_kind;

/* A parsed device spec. */
typedef struct qms_serial_spec {
    qms_serial_kind kind;
    char path[256];       /* path or name (PATH, NAME, TERMIOS, SP) */
    unsigned vid, pid;    /* USB */
    qms_serial_flow flow; /* from the ",rtscts" / ",xonxoff" suffix */
} qms_serial_spec;

/* Parse a device spec; QMS_ERR_INVAL with a reason in err on garbage. */
int qms_serial_spec_parse(const char *spec, qms_serial_spec *out, char *err, size_t errlen);

/* Is this path a pseudo-terminal (Unix98 pty slave)? */
int qms_serial_is_pty(const char *path);

/* Open a device (see the spec forms above) at baud, 8N1, raw. QMS_ERR_INVAL
 * for a bad spec, QMS_ERR_IO when the port is missing or cannot be opened. */
int qms_serial_open(const char *spec, int baud, qms_serial **out);
void qms_serial_close(qms_serial *s);
/* "termios" or "libserialport", and the device path actually opened. */
const char *qms_serial_backend(const qms_serial *s);
const char *qms_serial_path(const qms_serial *s);

/* Write all n bytes within timeout_ms and wait until they left the buffer.
 * QMS_ERR_TIMEOUT if the line did not take them in time, QMS_ERR_IO when the
 * device is gone (pty closed, adapter unplugged). */
int qms_serial_write(qms_serial *s, const void *buf, size_t n, int timeout_ms);
/* Read what is there, waiting up to timeout_ms for the first byte.
 * QMS_OK with *got >= 1, QMS_ERR_TIMEOUT with *got = 0, QMS_ERR_IO when gone. */
int qms_serial_read(qms_serial *s, void *buf, size_t n, int timeout_ms, size_t *got);
/* Throw away unread input (stale replies). */
void qms_serial_drain_input(qms_serial *s);

/* The ports libserialport sees: one line "name\tdescription\tusb VID:PID"
 * per port into a qms_malloc'd text (caller frees); count in *n. */
int qms_serial_list(char **text, int *n);

#endif
