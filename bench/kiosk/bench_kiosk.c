/* bench_kiosk: how fast a tap becomes paper, and what the kiosk costs.
 *
 * Real parts: mosquitto on a loopback port, qms-controller (its clock at
 * 09:00), qms-vprinter on a pty, and qms-kiosk under SDL's offscreen driver
 * driven by a script. Between the kiosk and the vprinter sits a relay (a
 * second pty pair of ours) that timestamps every byte the kiosk sends, on
 * the same monotonic clock as the kiosk's --trace.
 *
 *   bench_kiosk [TICKETS]     (default 120)
 *
 * Prints JSON lines:
 *   floors measured in the same run: the broker's echo round trip, a take
 *     straight to the controller, a status query straight to the vprinter;
 *   kiosk_tap_to_first_byte: tap -> the first byte of the print job (the
 *     first byte sent after the controller's reply arrived) - the headline;
 *   kiosk_tap_to_wire: tap -> the first byte on the line at all (the
 *     printer status check that precedes the take);
 *   kiosk_memory: resident set of the kiosk (now and peak);
 *   kiosk_idle_cpu: CPU time and wakeups of the kiosk on the welcome screen.
 * BENCH_SMAPS=1 also prints where the kiosk's resident memory is (stderr). */
#define _XOPEN_SOURCE 700
#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/config.h"
#include "qms/csv.h"
#include "qms/mqtt.h"
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CLOCK "2026-11-26T09:00:00"
#define MAX_BYTES_T (1 << 20)
#define IDLE_S 10

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static void report(const char *name, double *v, int n, const char *extra)
{
    double p50 = pct(v, n, 0.5), p99 = pct(v, n, 0.99), mx = n ? v[n - 1] : 0;
    printf("{\"bench\":\"%s\",\"n\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f%s%s}\n",
           name, n, p50, p99, mx, extra ? "," : "", extra ? extra : "");
    fflush(stdout);
}

static void raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
}

/* ---- the vprinter, read through a pipe --------------------------------- */

static qms_test_proc vp;

static int start_vprinter(const char *dir, char *pty, size_t ptylen)
{
    return qms_test_vprinter_start(&vp, dir, 0, NULL, "/dev/null", pty, ptylen);
}

/* ---- the relay's record ------------------------------------------------ */

static int64_t *byte_ns; /* arrival time of every byte from the kiosk */
static unsigned char *byte_v;
static size_t nbytes;

/* ---- /proc -------------------------------------------------------------- */

static long status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            v = atol(line + strlen(key) + 1);
    if (f)
        fclose(f);
    return v;
}

/* How many taps and returns to the welcome screen the kiosk's trace holds. */
static void count_trace(const char *path, int *taps, int *idles)
{
    char *text = NULL;
    size_t len = 0;
    *taps = *idles = 0;
    if (qms_read_file(path, &text, &len, 1 << 26))
        return;
    for (char *p = text; (p = strstr(p, "\"ev\":\"tap\"")); p++)
        (*taps)++;
    for (char *p = text; (p = strstr(p, "\"screen\":\"idle\"")); p++)
        (*idles)++;
    qms_free(text);
}

int main(int argc, char **argv)
{
    int tickets = argc > 1 ? atoi(argv[1]) : 120;
    if (tickets < 1 || tickets > 2000) {
        fprintf(stderr, "usage: bench_kiosk [TICKETS 1..2000]\n");
        return 2;
    }
    byte_ns = calloc(MAX_BYTES_T, sizeof *byte_ns);
    byte_v = calloc(MAX_BYTES_T, 1);
    char dir[256];
    if (qms_test_tmpdir(dir, sizeof dir, "bench-kiosk"))
        return 1;
    qms_test_broker br;
    if (qms_test_broker_start(&br, 0)) {
        fprintf(stderr, "bench_kiosk: no broker\n");
        return 1;
    }
    char broker[64], db[320], clog[320], paper[320];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", br.port);
    snprintf(db, sizeof db, "%s/ctrl.db", dir);
    snprintf(clog, sizeof clog, "%s/ctrl.log", dir);
    snprintf(paper, sizeof paper, "%s/paper", dir);
    mkdir(paper, 0755);
    pid_t ctrl =
        qms_test_controller_spawn(QMS_EXAMPLES "/center.json", db, br.port, CLOCK, NULL, clog);

    /* our own client: floors, and waiting for the controller */
    qms_mqtt_lib_init();
    qms_mqtt *m = NULL;
    qms_mqtt_opts mo = {.host = "127.0.0.1",
                        .port = br.port,
                        .client_id = "bench-kiosk",
                        .site = "demo",
                        .device_kind = "bench"};
    if (qms_mqtt_new(&mo, &m))
        return 1;
    int64_t end = qms_mono_ms() + 5000;
    while (!qms_mqtt_connected(m) && qms_mono_ms() < end)
        qms_mqtt_loop(m, 20);
    /* floor 1: the broker's echo round trip (request to our own reply topic) */
    double *v = calloc(2000, sizeof *v);
    int n = 0;
    for (int i = 0; i < 200; i++) {
        char *reply = NULL;
        int64_t t0 = qms_mono_ns();
        /* a request on the reply topic: it comes straight back as its own reply */
        if (qms_mqtt_request_sync(m, qms_mqtt_reply_topic(m), "{}", 2000, &reply) == 0)
            v[n++] = (double)(qms_mono_ns() - t0) / 1e6;
        qms_free(reply);
    }
    report("kiosk_floor_broker_echo", v, n, NULL);
    /* floor 2: a take straight to the controller (after it is up) */
    n = 0;
    for (int i = 0; i < 200 && n < 100; i++) {
        char *reply = NULL, body[128];
        snprintf(body, sizeof body, "{\"req\":\"bench-floor-%d-%d\",\"service\":\"TRA\"}",
                 (int)getpid(), i);
        int64_t t0 = qms_mono_ns();
        int rc = qms_mqtt_request_sync(m, "qms/demo/ticket/take", body, 3000, &reply);
        double ms = (double)(qms_mono_ns() - t0) / 1e6;
        if (rc == 0 && strstr(reply, "\"ticket\""))
            v[n++] = ms;
        else
            poll(NULL, 0, 100); /* still starting */
        qms_free(reply);
    }
    report("kiosk_floor_controller_take", v, n, "\"service\":\"TRA\"");

    char pty[128];
    if (start_vprinter(paper, pty, sizeof pty)) {
        fprintf(stderr, "bench_kiosk: no vprinter\n");
        return 1;
    }
    int printer = open(pty, O_RDWR | O_NOCTTY);
    if (printer < 0)
        return 1;
    raw(printer);
    /* floor 3: a real-time status query straight to the vprinter */
    n = 0;
    for (int i = 0; i < 200; i++) {
        unsigned char q[3] = {0x10, 0x04, 1}, a;
        int64_t t0 = qms_mono_ns();
        if (write(printer, q, 3) != 3)
            break;
        struct pollfd p = {printer, POLLIN, 0};
        if (poll(&p, 1, 1000) == 1 && read(printer, &a, 1) == 1)
            v[n++] = (double)(qms_mono_ns() - t0) / 1e6;
    }
    report("kiosk_floor_printer_status", v, n, NULL);

    /* the relay's pty: the kiosk prints to its slave */
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master))
        return 1;
    char relay_path[128];
    snprintf(relay_path, sizeof relay_path, "%s", ptsname(master));
    int keep = open(relay_path, O_RDWR | O_NOCTTY); /* the master never sees a hangup */
    raw(keep);

    /* the kiosk's script: tap a service (no priority screen), wait for the
     * ticket screen, back to the welcome screen; then sit idle */
    char kcfg[320], script[320], trace[320], klog[320];
    snprintf(kcfg, sizeof kcfg, "%s/kiosk.json", dir);
    snprintf(script, sizeof script, "%s/script.txt", dir);
    snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
    snprintf(klog, sizeof klog, "%s/kiosk.log", dir);
    FILE *f = fopen(kcfg, "w");
    fprintf(f, "{\"site\":\"demo\",\"kiosk_id\":\"bench\",\"ask_priority\":false,"
               "\"state_file\":\"kiosk.journal\",\"printer\":{\"poll_s\":3600}}");
    fclose(f);
    qms_config *c = NULL;
    char err[256];
    if (qms_config_load_file(QMS_EXAMPLES "/center.json", &c, err, sizeof err))
        return 1;
    f = fopen(script, "w");
    fprintf(f, "wait-screen idle 10000\nwait 500\n");
    for (int i = 0; i < tickets; i++)
        fprintf(f,
                "tap 960 540\nwait-screen menu\ntap-service %s\nwait-screen ticket 8000\n"
                "tap 960 540\nwait-screen idle\n",
                c->services[i % c->nservices].code);
    fprintf(f, "wait %d\n", IDLE_S * 1000);
    fclose(f);
    qms_config_free(c);
    const char *kargv[] = {qms_test_bin("qms-kiosk"),
                           "--config",
                           kcfg,
                           "--broker",
                           broker,
                           "--printer",
                           relay_path,
                           "--script",
                           script,
                           "--screenshot-dir",
                           dir,
                           "--trace",
                           trace,
                           NULL};
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    pid_t kiosk = qms_test_spawn((char *const *)kargv, klog);

    /* the relay runs here, and watches the kiosk's idle phase too */
    int taps_seen = 0, idles_seen = 0;
    double cpu0 = -1;
    long vol0 = -1, rss = -1, hwm = -1, rss0 = -1;
    int64_t idle_t0 = 0;
    int done = 0, st = -1;
    while (!done) {
        unsigned char buf[4096];
        struct pollfd p[2] = {{master, POLLIN, 0}, {printer, POLLIN, 0}};
        if (poll(p, 2, 20) > 0) {
            if (p[0].revents & POLLIN) {
                ssize_t r = read(master, buf, sizeof buf);
                int64_t t = qms_mono_ns();
                for (ssize_t i = 0; i < r && nbytes < MAX_BYTES_T; i++) {
                    byte_ns[nbytes] = t;
                    byte_v[nbytes++] = buf[i];
                }
                for (ssize_t off = 0; r > 0 && off < r;) {
                    ssize_t w = write(printer, buf + off, (size_t)(r - off));
                    if (w > 0)
                        off += w;
                    else if (errno != EAGAIN && errno != EINTR)
                        break;
                }
            }
            if (p[1].revents & POLLIN) {
                ssize_t r = read(printer, buf, sizeof buf);
                if (r > 0 && write(master, buf, (size_t)r) != r)
                    break;
            }
        }
        /* drain the vprinter's stdout so it never blocks */
        struct pollfd q = {vp.out_fd, POLLIN, 0};
        while (poll(&q, 1, 0) == 1 && read(vp.out_fd, buf, sizeof buf) > 0)
            ;
        /* the idle window: from 1 s after the welcome screen's screenshot
         * (so its PNG encoding is not counted) for IDLE_S - 2 seconds */
        /* follow the trace: the last ticket's return to the welcome screen
         * starts the idle phase */
        if (!idle_t0) {
            count_trace(trace, &taps_seen, &idles_seen);
            if (rss0 < 0 && idles_seen >= 1)
                rss0 = status_kb(kiosk, "VmRSS:");
            if (taps_seen >= tickets && idles_seen >= tickets + 1)
                idle_t0 = qms_mono_ms() + 1000;
        }
        if (idle_t0 && cpu0 < 0 && qms_mono_ms() >= idle_t0) {
            cpu0 = qms_test_cpu_s(kiosk);
            vol0 = status_kb(kiosk, "voluntary_ctxt_switches:") +
                   status_kb(kiosk, "nonvoluntary_ctxt_switches:");
        }
        if (cpu0 >= 0 && rss < 0 && qms_mono_ms() >= idle_t0 + (IDLE_S - 2) * 1000) {
            double cpu1 = qms_test_cpu_s(kiosk);
            long vol1 = status_kb(kiosk, "voluntary_ctxt_switches:") +
                        status_kb(kiosk, "nonvoluntary_ctxt_switches:");
            double secs = (double)(qms_mono_ms() - idle_t0) / 1000.0;
            rss = status_kb(kiosk, "VmRSS:");
            hwm = status_kb(kiosk, "VmHWM:");
            double cpu = cpu1 - cpu0;
            printf("{\"bench\":\"kiosk_idle_cpu\",\"seconds\":%.1f,\"cpu_s\":%.3f,"
                   "\"cpu_pct\":%.3f,\"wakeups_per_s\":%.2f,\"video\":\"offscreen\"}\n",
                   secs, cpu, 100.0 * cpu / secs, (double)(vol1 - vol0) / secs);
            printf("{\"bench\":\"kiosk_memory\",\"rss_kb\":%ld,\"peak_rss_kb\":%ld,"
                   "\"start_rss_kb\":%ld,\"screen\":\"1920x1080\",\"tickets\":%d}\n",
                   rss, hwm, rss0, tickets);
            fflush(stdout);
            if (getenv("BENCH_SMAPS")) {
                char cmd[256];
                snprintf(cmd, sizeof cmd,
                         "awk '/^[0-9a-f]+-/{name=$6} /^Rss:/{rss[name]+=$2} "
                         "END{for(n in rss) if (rss[n]>500) print rss[n], n}' /proc/%d/smaps | "
                         "sort -rn | head -12 >&2",
                         (int)kiosk);
                if (system(cmd) != 0)
                    fprintf(stderr, "smaps failed\n");
            }
        }
        st = qms_test_wait_pid(kiosk, 0);
        if (st >= 0)
            done = 1;
    }
    if (st != 0)
        fprintf(stderr, "bench_kiosk: the kiosk exited %d (log %s)\n", st, klog);

    /* match taps with bytes: each "tap" is followed by a "reply"; the first
     * byte after the tap is the status check, the first byte after the
     * reply starts the ticket */
    char *text = NULL;
    size_t len = 0;
    if (qms_read_file(trace, &text, &len, 1 << 26))
        return 1;
    double *to_ticket = calloc((size_t)tickets + 16, sizeof(double));
    double *to_wire = calloc((size_t)tickets + 16, sizeof(double));
    int nt = 0, nw = 0;
    int64_t tap = -1;
    size_t bi = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        long long ns = 0;
        char *q = strstr(p, "\"ns\":");
        if (q)
            ns = atoll(q + 5);
        if (strstr(p, "\"ev\":\"tap\"") && (!nl || strstr(p, "\"ev\":\"tap\"") < nl)) {
            tap = ns;
            while (bi < nbytes && byte_ns[bi] < tap)
                bi++;
            if (bi < nbytes)
                to_wire[nw++] = (double)(byte_ns[bi] - tap) / 1e6;
        } else if (tap >= 0 && strstr(p, "\"ev\":\"reply\"") &&
                   (!nl || strstr(p, "\"ev\":\"reply\"") < nl)) {
            size_t k = bi;
            while (k < nbytes && byte_ns[k] < ns)
                k++;
            if (k < nbytes)
                to_ticket[nt++] = (double)(byte_ns[k] - tap) / 1e6;
            tap = -1;
        }
        p = nl ? nl + 1 : NULL;
    }
    qms_free(text);
    report("kiosk_tap_to_first_byte", to_ticket, nt, "\"what\":\"first byte of the print job\"");
    report("kiosk_tap_to_wire", to_wire, nw, "\"what\":\"first byte on the line (status check)\"");

    kill(ctrl, SIGTERM);
    qms_test_wait_pid(ctrl, 10000);
    qms_test_proc_stop(&vp, "quit", 5000);
    qms_mqtt_free(m);
    qms_test_broker_stop(&br);
    if (!getenv("QMS_KEEP_TMP"))
        qms_test_rmdir(dir);
    return st == 0 ? 0 : 1;
}
