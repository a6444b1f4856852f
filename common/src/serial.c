#include "qms/serial.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

struct qms_serial {
    int fd;             /* termios backend, else -1 */
    struct sp_port *sp; /* libserialport backend, else NULL */
    char path[256];     /* what was opened */
};

int qms_serial_spec_parse(const char *spec, qms_serial_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) {
        snprintf(err, errlen, "empty printer device");
        return QMS_ERR_INVAL;
    }
    char buf[240];
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, errlen, "printer device name too long");
        return QMS_ERR_INVAL;
    }
    strcpy(buf, spec);
    /* options after the first comma */
    char *comma = strchr(buf, ',');
    if (comma) {
        *comma = '\0';
        for (char *opt = comma + 1; opt && *opt;) {
            char *next = strchr(opt, ',');
            if (next)
                *next++ = '\0';
            if (strcasecmp(opt, "rtscts") == 0)
                out->flow = QMS_SERIAL_FLOW_RTSCTS;
            else if (strcasecmp(opt, "xonxoff") == 0)
                out->flow = QMS_SERIAL_FLOW_XONXOFF;
            else if (strcasecmp(opt, "none") == 0)
                out->flow = QMS_SERIAL_FLOW_NONE;
            else {
                snprintf(err, errlen, "unknown serial option \"%s\" (rtscts, xonxoff, none)", opt);
                return QMS_ERR_INVAL;
            }
            opt = next;
        }
    }
    const char *rest = buf;
    if (strncmp(buf, "usb:", 4) == 0) {
        out->kind = QMS_SERIAL_USB;
        char *end1, *end2;
        unsigned long vid = strtoul(buf + 4, &end1, 16);
        if (end1 == buf + 4 || *end1 != ':') {
            snprintf(err, errlen, "\"%s\": expected usb:VID:PID in hex, e.g. usb:0416:5011", spec);
            return QMS_ERR_INVAL;
        }
        unsigned long pid = strtoul(end1 + 1, &end2, 16);
        if (end2 == end1 + 1 || *end2 != '\0' || vid > 0xffff || pid > 0xffff) {
            snprintf(err, errlen, "\"%s\": expected usb:VID:PID in hex, e.g. usb:0416:5011", spec);
            return QMS_ERR_INVAL;
        }
        out->vid = (unsigned)vid;
        out->pid = (unsigned)pid;
        return QMS_OK;
    }
    if (strncmp(buf, "name:", 5) == 0) {
        out->kind = QMS_SERIAL_NAME;
        rest = buf + 5;
    } else if (strncmp(buf, "termios:", 8) == 0) {
        out->kind = QMS_SERIAL_TERMIOS;
        rest = buf + 8;
    } else if (strncmp(buf, "sp:", 3) == 0) {
        out->kind = QMS_SERIAL_SP;
        rest = buf + 3;
    } else {
        out->kind = QMS_SERIAL_PATH;
    }
    if (!*rest) {
        snprintf(err, errlen, "\"%s\": no device after the prefix", spec);
        return QMS_ERR_INVAL;
    }
    if (out->kind == QMS_SERIAL_NAME && rest[0] != '/')
        snprintf(out->path, sizeof out->path, "/dev/%s", rest);
    else
        snprintf(out->path, sizeof out->path, "%s", rest);
    return QMS_OK;
}

int qms_serial_is_pty(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISCHR(st.st_mode))
        return 0;
    /* Unix98 pty slaves use majors 136..143 (Documentation/admin-guide/devices.txt). */
    unsigned maj = major(st.st_rdev);
    return maj >= 136 && maj <= 143;
}

static speed_t baud_const(int baud)
{
    switch (baud) {
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    case 230400:
        return B230400;
    case 460800:
        return B460800;
    case 921600:
        return B921600;
    default:
        return 0;
    }
}

static int open_termios(const char *path, int baud, qms_serial_flow flow, int *fd_out)
{
    speed_t sp = baud_const(baud);
    if (!sp) {
        QMS_ERROR("serial: unsupported baud rate %d", baud);
        return QMS_ERR_INVAL;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        QMS_ERROR("serial: cannot open %s: %s", path, strerror(errno));
        return QMS_ERR_IO;
    }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        QMS_ERROR("serial: %s is not a terminal: %s", path, strerror(errno));
        close(fd);
        return QMS_ERR_IO;
    }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB);
    t.c_cflag &= ~(tcflag_t)CRTSCTS;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    if (flow == QMS_SERIAL_FLOW_RTSCTS)
        t.c_cflag |= CRTSCTS;
    else if (flow == QMS_SERIAL_FLOW_XONXOFF)
        t.c_iflag |= IXON;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    if (tcsetattr(fd, TCSANOW, &t) != 0) {
        QMS_ERROR("serial: cannot configure %s: %s", path, strerror(errno));
        close(fd);
        return QMS_ERR_IO;
    }
    tcflush(fd, TCIOFLUSH);
    *fd_out = fd;
    return QMS_OK;
}

static int sp_fail(const char *what, const char *path)
{
    char *m = sp_last_error_message();
    QMS_ERROR("serial: %s %s: %s", what, path, m ? m : "error");
    if (m)
        sp_free_error_message(m);
    return QMS_ERR_IO;
}

static int open_sp(struct sp_port *port, int baud, qms_serial_flow flow)
{
    const char *name = sp_get_port_name(port);
    if (sp_open(port, SP_MODE_READ_WRITE) != SP_OK)
        return sp_fail("cannot open", name);
    enum sp_flowcontrol fc = flow == QMS_SERIAL_FLOW_RTSCTS    ? SP_FLOWCONTROL_RTSCTS
                             : flow == QMS_SERIAL_FLOW_XONXOFF ? SP_FLOWCONTROL_XONXOFF
                                                               : SP_FLOWCONTROL_NONE;
    if (sp_set_baudrate(port, baud) != SP_OK || sp_set_bits(port, 8) != SP_OK ||
        sp_set_parity(port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(port, 1) != SP_OK ||
        sp_set_flowcontrol(port, fc) != SP_OK) {
        int rc = sp_fail("cannot configure", name);
        sp_close(port);
        return rc;
    }
    sp_flush(port, SP_BUF_BOTH);
    return QMS_OK;
}

/* The first listed port with this USB VID:PID, copied. */
static int find_usb(unsigned vid, unsigned pid, struct sp_port **out)
{
    struct sp_port **list = NULL;
    if (sp_list_ports(&list) != SP_OK)
        return sp_fail("cannot list", "ports");
    int rc = QMS_ERR_IO;
    for (int i = 0; list[i]; i++) {
        int v, p;
        if (sp_get_port_transport(list[i]) != SP_TRANSPORT_USB)
            continue;
        if (sp_get_port_usb_vid_pid(list[i], &v, &p) != SP_OK)
            continue;
        if ((unsigned)v == vid && (unsigned)p == pid) {
            rc = sp_copy_port(list[i], out) == SP_OK ? QMS_OK : QMS_ERR_NOMEM;
            break;
        }
    }
    sp_free_port_list(list);
    if (rc == QMS_ERR_IO)
        QMS_ERROR("serial: no port with USB id %04x:%04x", vid, pid);
    return rc;
}

int qms_serial_open(const char *spec, int baud, qms_serial **out)
{
    *out = NULL;
    qms_serial_spec ps;
    char err[200];
    int rc = qms_serial_spec_parse(spec, &ps, err, sizeof err);
    if (rc) {
        QMS_ERROR("serial: %s", err);
        return rc;
    }
    if (baud <= 0)
        baud = 115200;
    qms_serial *s = qms_calloc(1, sizeof *s);
    if (!s)
        return QMS_ERR_NOMEM;
    s->fd = -1;

    int use_termios =
        ps.kind == QMS_SERIAL_TERMIOS || (ps.kind == QMS_SERIAL_PATH && qms_serial_is_pty(ps.path));
    if (use_termios) {
        snprintf(s->path, sizeof s->path, "%s", ps.path);
        rc = open_termios(ps.path, baud, ps.flow, &s->fd);
    } else {
        struct sp_port *port = NULL;
        if (ps.kind == QMS_SERIAL_USB) {
            rc = find_usb(ps.vid, ps.pid, &port);
        } else if (sp_get_port_by_name(ps.path, &port) != SP_OK) {
            rc = sp_fail("no such port", ps.path);
            port = NULL;
        }
        if (!rc && port) {
            snprintf(s->path, sizeof s->path, "%s", sp_get_port_name(port));
            rc = open_sp(port, baud, ps.flow);
            if (rc) {
                sp_free_port(port);
                port = NULL;
            }
        }
        if (rc && ps.kind == QMS_SERIAL_PATH) {
            /* A tty libserialport cannot handle (no sysfs entry, a
             * containerized /dev): plain termios still drives it. */
            QMS_WARN("serial: libserialport failed on %s; trying termios", ps.path);
            snprintf(s->path, sizeof s->path, "%s", ps.path);
            rc = open_termios(ps.path, baud, ps.flow, &s->fd);
        }
        s->sp = port;
    }
    if (rc) {
        qms_free(s);
        return rc;
    }
    QMS_INFO("serial: %s open (%s, %d baud)", s->path, qms_serial_backend(s), baud);
    *out = s;
    return QMS_OK;
}

void qms_serial_close(qms_serial *s)
{
    if (!s)
        return;
    if (s->sp) {
        sp_close(s->sp);
        sp_free_port(s->sp);
    }
    if (s->fd >= 0)
        close(s->fd);
    qms_free(s);
}

const char *qms_serial_backend(const qms_serial *s)
{
    return s->sp ? "libserialport" : "termios";
}

const char *qms_serial_path(const qms_serial *s)
{
    return s->path;
}

static int remaining(int64_t deadline)
{
    int64_t r = deadline - qms_mono_ms();
    return r < 0 ? 0 : (int)r;
}

int qms_serial_write(qms_serial *s, const void *buf, size_t n, int timeout_ms)
{
    int64_t deadline = qms_mono_ms() + timeout_ms;
    const uint8_t *p = buf;
    if (s->sp) {
        enum sp_return r = sp_blocking_write(s->sp, p, n, (unsigned)timeout_ms);
        if (r < 0)
            return sp_fail("write failed on", s->path);
        if ((size_t)r < n)
            return QMS_ERR_TIMEOUT;
        /* wait until the UART has sent it (sp_drain has no timeout) */
        while (sp_output_waiting(s->sp) > 0) {
            if (remaining(deadline) == 0)
                return QMS_ERR_TIMEOUT;
            poll(NULL, 0, 2);
        }
        return QMS_OK;
    }
    size_t off = 0;
    while (off < n) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return QMS_ERR_IO;
        if (pr == 0)
            return QMS_ERR_TIMEOUT;
        if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            QMS_WARN("serial: %s hung up", s->path);
            return QMS_ERR_IO;
        }
        ssize_t w = write(s->fd, p + off, n - off);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            QMS_WARN("serial: write to %s: %s", s->path, strerror(errno));
            return QMS_ERR_IO;
        }
        off += (size_t)w;
    }
    for (;;) {
        int q = 0;
        if (ioctl(s->fd, TIOCOUTQ, &q) != 0 || q <= 0)
            return QMS_OK;
        if (remaining(deadline) == 0)
            return QMS_ERR_TIMEOUT;
        poll(NULL, 0, 2);
    }
}

int qms_serial_read(qms_serial *s, void *buf, size_t n, int timeout_ms, size_t *got)
{
    *got = 0;
    if (n == 0)
        return QMS_OK;
    if (s->sp) {
        enum sp_return r = sp_blocking_read_next(s->sp, buf, n, (unsigned)timeout_ms);
        if (r < 0)
            return sp_fail("read failed on", s->path);
        *got = (size_t)r;
        return r > 0 ? QMS_OK : QMS_ERR_TIMEOUT;
    }
    int64_t deadline = qms_mono_ms() + timeout_ms;
    for (;;) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return QMS_ERR_IO;
        if (pr == 0)
            return QMS_ERR_TIMEOUT;
        ssize_t r = read(s->fd, buf, n);
        if (r > 0) {
            *got = (size_t)r;
            return QMS_OK;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        /* EOF or EIO: the other side of the pty is gone, or the adapter. */
        if (pfd.revents & (POLLHUP | POLLERR) || r == 0 || errno == EIO)
            return QMS_ERR_IO;
        return QMS_ERR_IO;
    }
}

void qms_serial_drain_input(qms_serial *s)
{
    if (s->sp) {
        sp_flush(s->sp, SP_BUF_INPUT);
        return;
    }
    uint8_t tmp[256];
    while (read(s->fd, tmp, sizeof tmp) > 0) {
    }
}

int qms_serial_list(char **text, int *n)
{
    *text = NULL;
    *n = 0;
    struct sp_port **list = NULL;
    if (sp_list_ports(&list) != SP_OK)
        return sp_fail("cannot list", "ports");
    size_t cap = 64, len = 0;
    char *out = qms_malloc(cap);
    if (!out) {
        sp_free_port_list(list);
        return QMS_ERR_NOMEM;
    }
    out[0] = '\0';
    for (int i = 0; list[i]; i++) {
        char line[512];
        int v = 0, p = 0;
        char usb[32] = "-";
        if (sp_get_port_transport(list[i]) == SP_TRANSPORT_USB &&
            sp_get_port_usb_vid_pid(list[i], &v, &p) == SP_OK)
            snprintf(usb, sizeof usb, "usb %04x:%04x", (unsigned)v, (unsigned)p);
        const char *desc = sp_get_port_description(list[i]);
        int ln = snprintf(line, sizeof line, "%s\t%s\t%s\n", sp_get_port_name(list[i]),
                          desc ? desc : "", usb);
        if (ln < 0)
            continue;
        if ((size_t)ln >= sizeof line)
            ln = (int)sizeof line - 1;
        if (len + (size_t)ln + 1 > cap) {
            while (len + (size_t)ln + 1 > cap)
                cap *= 2;
            char *o2 = qms_realloc(out, cap);
            if (!o2) {
                qms_free(out);
                sp_free_port_list(list);
                return QMS_ERR_NOMEM;
            }
            out = o2;
        }
        memcpy(out + len, line, (size_t)ln + 1);
        len += (size_t)ln;
        (*n)++;
    }
    sp_free_port_list(list);
    *text = out;
    return QMS_OK;
}
