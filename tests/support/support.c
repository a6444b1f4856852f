#include "support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int qms_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return -1;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int qms_test_wait_port(int port, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return 0;
        poll(NULL, 0, 20);
    }
    return -1;
}

int qms_test_tmpdir(char *out, size_t outlen, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, outlen, "%s/qms-%s-XXXXXX", base && *base ? base : "/tmp", tag ? tag : "test");
    return mkdtemp(out) ? 0 : -1;
}

void qms_test_rmdir(const char *path)
{
    if (!path || strncmp(path, "/", 1) != 0 || !strstr(path, "/qms-"))
        return; /* only what qms_test_tmpdir made */
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

pid_t qms_test_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* a test that fails (or crashes) half-way must not leave its broker
         * or daemon running on the shared machine */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        execv(argv[0], argv);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int qms_test_wait_pid(pid_t pid, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        if (now_ms() >= deadline)
            return -1;
        poll(NULL, 0, 10);
    }
}

/* Does process pid hold a socket listening on 127.0.0.1:port? Looked up in
 * the kernel's tables rather than by connecting: a connection would also be
 * accepted by another test's broker that took the port while ours was down,
 * and a test would then talk to the wrong broker. */
static int pid_listens(pid_t pid, int port)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/net/tcp", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long inode = 0;
    while (!inode && fgets(line, sizeof line, f)) {
        unsigned a, p, st;
        unsigned long ino;
        if (sscanf(line, " %*d: %8X:%4X %*8X:%*4X %2X %*s %*s %*s %*d %*d %lu", &a, &p, &st,
                   &ino) == 4 &&
            p == (unsigned)port && st == 0x0A /* LISTEN */)
            inode = ino;
    }
    fclose(f);
    if (!inode)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char fd[320], target[64];
        snprintf(fd, sizeof fd, "%s/%s", path, e->d_name);
        ssize_t n = readlink(fd, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

/* Wait until our mosquitto listens on its port: 0; -1 when it exited (the
 * port is taken: its log says so) or timeout_ms passed. */
static int wait_broker(qms_test_broker *b, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0;
            return -1;
        }
        if (pid_listens(b->pid, b->port))
            return 0;
        if (now_ms() >= deadline)
            return -1;
        poll(NULL, 0, 10);
    }
}

int qms_test_broker_start(qms_test_broker *b, int port_hint)
{
    return qms_test_broker_start_conf(b, port_hint, NULL);
}

int qms_test_broker_start_conf(qms_test_broker *b, int port_hint, const char *extra)
{
    memset(b, 0, sizeof *b);
    if (qms_test_tmpdir(b->dir, sizeof b->dir, "broker"))
        return -1;
    b->port = port_hint ? port_hint : qms_test_free_port();
    char conf[320], log[320];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    snprintf(log, sizeof log, "%s/mosquitto.log", b->dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "listener %d 127.0.0.1\n"
            /* started as root, mosquitto would switch to user mosquitto, and
             * that change of credentials cancels the parent-death signal
             * (qms_test_spawn): stay as the caller, so a failing test's broker
             * dies with it. Ignored when not root. */
            "user root\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence false\n"
            "max_queued_messages 100000\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
            "%s\n",
            b->port, extra ? extra : "");
    fclose(f);
    char *argv[] = {"/usr/sbin/mosquitto", "-c", conf, NULL};
    for (int attempt = 0; attempt < 10; attempt++) {
        b->pid = qms_test_spawn(argv, log);
        if (b->pid < 0)
            return -1;
        /* a generous bound: mosquitto starts in a few ms, but a loaded
         * machine can keep it off the CPU for seconds */
        if (wait_broker(b, 30000) == 0)
            return 0;
        if (b->pid > 0) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
        }
        b->pid = 0;
        /* it exited: the port is held by someone else (for a restart on the
         * same port, possibly for a moment only): try again */
        poll(NULL, 0, 500);
    }
    /* say why, for the test's log */
    FILE *lf = fopen(log, "r");
    if (lf) {
        char line[512];
        while (fgets(line, sizeof line, lf))
            fprintf(stderr, "mosquitto: %s", line);
        fclose(lf);
    }
    return -1;
}

int qms_test_broker_start_file(qms_test_broker *b, const char *conf, int port)
{
    memset(b, 0, sizeof *b);
    b->port = port;
    char log[600];
    snprintf(log, sizeof log, "%s.log", conf);
    char *argv[] = {"/usr/sbin/mosquitto", "-c", (char *)conf, NULL};
    b->pid = qms_test_spawn(argv, log);
    if (b->pid < 0)
        return -1;
    if (wait_broker(b, 30000) == 0)
        return 0;
    FILE *lf = fopen(log, "r");
    if (lf) {
        char line[512];
        while (fgets(line, sizeof line, lf))
            fprintf(stderr, "mosquitto: %s", line);
        fclose(lf);
    }
    return -1;
}

void qms_test_broker_stop(qms_test_broker *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        if (qms_test_wait_pid(b->pid, 5000) < 0) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
        }
        b->pid = 0;
    }
    qms_test_rmdir(b->dir);
}

const char *qms_test_bin(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 1024, "%s/%s", QMS_BIN_DIR, name);
    return p;
}

const char *qms_test_src(const char *rel)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 1024, "%s/%s", QMS_SOURCE_DIR, rel);
    return p;
}

double qms_test_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long ut = 0, st = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
