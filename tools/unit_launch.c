/* qms-unit: runs one firmware unit in QEMU (mps2-an385).
 *
 *   qms-unit --kind counter|board|rating|hall --addr N [--baud 19200|115200]
 *            [--image ELF] [--bus-link PATH] [--panel-link PATH]
 *
 * Prints the unit's bus pty (Modbus RTU, the RS-485 line) on its first line
 * and its front-panel pty (`key next`, `display ...`) on its second, then
 * runs until SIGINT/SIGTERM or until QEMU ends; QEMU ends with it. The
 * kind, address and baud reach the firmware as memory words written by
 * QEMU's loader device (docs/firmware.md). --bus-link/--panel-link also make
 * symlinks to the ptys (a restarted unit keeps its name for qms-busjoin).
 * It holds the bus pty open itself: QEMU drops what a pty carries until it
 * sees it opened (it looks once a second), so the paths are printed only
 * when the bus is live.
 * The image: --image, else $QMS_FW_IMAGE, else the one this build made. */
#include <errno.h>
#include <fcntl.h>
#include <termios.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef QMS_FW_IMAGE_DEFAULT
#define QMS_FW_IMAGE_DEFAULT ""
#endif

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: qms-unit --kind counter|board|rating|hall --addr 1..247 "
                    "[--baud 19200|115200] [--image ELF] [--bus-link PATH] [--panel-link PATH]\n");
    return 2;
}

static int relink(const char *link, const char *target)
{
    if (!link)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", link, (long)getpid());
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        fprintf(stderr, "qms-unit: %s: %s\n", link, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *kind = NULL, *image = getenv("QMS_FW_IMAGE"), *bus_link = NULL,
               *panel_link = NULL;
    long addr = -1, baud = 19200;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        char *end;
        if (!strcmp(a, "--kind"))
            kind = v;
        else if (!strcmp(a, "--addr")) {
            addr = strtol(v, &end, 10);
            if (*end || addr < 1 || addr > 247) {
                fprintf(stderr, "qms-unit: --addr %s: a unit address is 1..247\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--baud")) {
            baud = strtol(v, &end, 10);
            if (*end || (baud != 19200 && baud != 115200)) {
                fprintf(stderr, "qms-unit: --baud %s: 19200 or 115200\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--image"))
            image = v;
        else if (!strcmp(a, "--bus-link"))
            bus_link = v;
        else if (!strcmp(a, "--panel-link"))
            panel_link = v;
        else
            return usage();
    }
    static const char *const kinds[] = {"counter", "board", "rating", "hall"};
    int k = 0;
    for (int j = 0; kind && j < 4; j++)
        if (!strcmp(kind, kinds[j]))
            k = j + 1;
    if (!k || addr < 0) {
        if (kind && !k)
            fprintf(stderr, "qms-unit: --kind %s: counter, board, rating or hall\n", kind);
        return usage();
    }
    if (!image || !*image)
        image = QMS_FW_IMAGE_DEFAULT;
    if (!*image || access(image, R_OK) != 0) {
        fprintf(stderr, "qms-unit: no firmware image (%s): build with arm-none-eabi-gcc "
                        "or give --image\n", *image ? image : "none built");
        return 1;
    }

    char dk[64], da[64], db[64];
    snprintf(dk, sizeof dk, "loader,addr=0x20100000,data=%d,data-len=4", k);
    snprintf(da, sizeof da, "loader,addr=0x20100004,data=%ld,data-len=4", addr);
    snprintf(db, sizeof db, "loader,addr=0x20100008,data=%ld,data-len=4", baud);
    int pfd[2];
    if (pipe(pfd) != 0) {
        perror("qms-unit: pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("qms-unit: fork");
        return 1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* QEMU never outlives us */
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        /* QEMU prints the pty paths with stdio: line-buffered, or they
         * would wait in a pipe's buffer */
        execlp("stdbuf", "stdbuf", "-oL", "qemu-system-arm", "-M", "mps2-an385", "-nographic",
               "-monitor", "none", "-serial", "pty", "-serial", "pty", "-kernel", image,
               "-device", dk, "-device", da, "-device", db, (char *)NULL);
        fprintf(stderr, "qms-unit: qemu-system-arm: %s\n", strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    FILE *q = fdopen(pfd[0], "r");
    char line[512], bus[256] = "", panel[256] = "";
    while (!stop && (!*bus || !*panel) && fgets(line, sizeof line, q)) {
        char path[256], label[32];
        if (sscanf(line, "char device redirected to %255s (label %31[^)])", path, label) == 2 &&
            (!strcmp(label, "serial0") || !strcmp(label, "serial1")))
            snprintf(!strcmp(label, "serial0") ? bus : panel, sizeof bus, "%s", path);
        else
            fputs(line, stderr);
    }
    int rc = 0, hold = -1;
    if (*bus && *panel && relink(bus_link, bus) == 0 && relink(panel_link, panel) == 0) {
        /* QEMU drops a pty's traffic until it notices someone opened it,
         * which it checks once a second. Hold the bus open for the unit's
         * life, and wait out that second, so the first request counts. */
        hold = open(bus, O_RDWR | O_NOCTTY | O_NONBLOCK);
        if (hold >= 0) {
            struct termios t;
            if (tcgetattr(hold, &t) == 0) {
                cfmakeraw(&t);
                tcsetattr(hold, TCSANOW, &t);
            }
            usleep(1100 * 1000);
        }
        printf("%s\n%s\n", bus, panel);
        fflush(stdout);
        /* QEMU's own messages go on to our stderr until it ends */
        while (!stop && fgets(line, sizeof line, q))
            fputs(line, stderr);
    } else if (!stop) {
        fprintf(stderr, "qms-unit: QEMU did not start\n");
        rc = 1;
    }
    if (hold >= 0)
        close(hold);
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    fclose(q);
    return rc;
}
