/* An LD_PRELOAD recorder for the kiosk journal's durability test: it
 * writes one line to $JSPY_LOG for each of
 *   W <bytes> <first bytes>   a write() to the journal ($JSPY_JOURNAL) returned
 *   S                         fdatasync()/fsync() of the journal returned 0
 *                             (or a write to a journal opened O_SYNC/O_DSYNC)
 *   P <bytes>                 bytes holding the topic ".../ticket/take" are about
 *                             to go out on a socket (the take leaves the kiosk)
 * in the order the calls happen, then calls the real function. It knows
 * nothing of the kiosk: files are told apart by /proc/self/fd, sockets by
 * fstat, the take by its MQTT topic in the bytes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int log_fd = -1;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    if (log_fd < 0) {
        const char *p = getenv("JSPY_LOG");
        if (!p)
            return;
        log_fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                              0644);
        if (log_fd < 0)
            return;
    }
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    syscall(SYS_write, log_fd, line, (size_t)n);
}

static int is_journal(int fd)
{
    const char *want = getenv("JSPY_JOURNAL");
    if (!want || fd < 0 || fd == log_fd)
        return 0;
    char p[64], t[1024];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(p, t, sizeof t - 1);
    if (k <= 0)
        return 0;
    t[k] = '\0';
    return strcmp(t, want) == 0;
}

static int is_socket(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int has_take(const void *buf, size_t n)
{
    static const char topic[] = "/ticket/take";
    return buf && n >= sizeof topic - 1 && memmem(buf, n, topic, sizeof topic - 1) != NULL;
}

static void note_write(int fd, const void *buf, ssize_t done)
{
    char head[41];
    size_t k = done > 40 ? 40 : (size_t)(done > 0 ? done : 0);
    for (size_t i = 0; i < k; i++) {
        char c = ((const char *)buf)[i];
        head[i] = c >= 0x20 && c < 0x7f ? c : '.';
    }
    head[k] = '\0';
    note("W %zd %s", done, head);
    int fl = fcntl(fd, F_GETFL);
    if (done > 0 && fl >= 0 && (fl & (O_SYNC | O_DSYNC)))
        note("S");
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    int j = is_journal(fd);
    if (!j && is_socket(fd) && has_take(buf, n))
        note("P %zu", n);
    ssize_t r = real(fd, buf, n);
    if (j)
        note_write(fd, buf, r);
    return r;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
    if (has_take(buf, n))
        note("P %zu", n);
    return real(fd, buf, n, flags);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
               socklen_t alen)
{
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
                           socklen_t))dlsym(RTLD_NEXT, "sendto");
    if (has_take(buf, n))
        note("P %zu", n);
    return real(fd, buf, n, flags, a, alen);
}

static int iov_has_take(const struct iovec *iov, int cnt)
{
    for (int i = 0; i < cnt; i++)
        if (has_take(iov[i].iov_base, iov[i].iov_len))
            return 1;
    return 0;
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    static ssize_t (*real)(int, const struct msghdr *, int);
    if (!real)
        real = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
    if (m && iov_has_take(m->msg_iov, (int)m->msg_iovlen))
        note("P msg");
    return real(fd, m, flags);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real)
        real = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    int j = is_journal(fd);
    if (!j && is_socket(fd) && iov_has_take(iov, cnt))
        note("P iov");
    ssize_t r = real(fd, iov, cnt);
    if (j)
        note("W %zd (writev)", r);
    return r;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    if (r == 0 && is_journal(fd))
        note("S");
    return r;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    if (r == 0 && is_journal(fd))
        note("S");
    return r;
}
