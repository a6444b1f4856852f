/* The gateway's bus, measured (docs/performance.md): the poll cycle of
 * N counter units + N LED boards + N rating keys against the wire-time
 * floor of the same cycle (bytes x 11 bits / baud, the bytes the gateway
 * counted), at 19200 and 115200 baud; then a key press on a counter unit ->
 * the called ticket shown on that unit, p50/p99, against one poll cycle +
 * the controller's next -> call p99 (measured in the same run, by an MQTT
 * client of our own on another counter) + 20 ms. Real mosquitto,
 * qms-controller and qms-gateway; the units either
 *   farm: the firmware's portable core on the host, all units behind one
 *         pty that holds every reply for the wire time (unit_farm.h) --
 *         16 + 16 + 16 units cost nothing;
 *   qemu: the firmware image in qemu-system-arm, one process per unit,
 *         joined by qms-busjoin --baud (wire time too); a 2-core machine
 *         takes a few of them, not 48.
 * JSON lines on stdout.
 *
 *   bench_gateway [farm|qemu] [PER_KIND (16 farm, 2 qemu)] [PRESSES (20)] [hall]
 *
 * "hall" adds the hall board (address 200): qemu 5 ... hall is 16 QEMU
 * units on the line. The key -> shown bound is printed twice: the issue's
 * (one cycle + the controller's p99 + 20 ms) and the design's, which also
 * counts what a press waits for besides the cycle (docs/performance.md):
 * the unit's own read, the transaction in flight when the reply comes, and
 * the write of the new text, each its wire time plus the mean fixed cost
 * of a transaction measured in the same run ((cycle - floor) / reads).
 * BENCH_GW_KEY_POLLS=K (default 2) is the gateway's --key-polls: counter
 * units read K times a poll cycle, the wait for the next read ~cycle / K. */
#include "gw_harness.h"
#include "keys.h"
#include "unit_farm.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/csv.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int k = (int)(p * n + 0.999999) - 1; /* nearest rank */
    return v[k < 0 ? 0 : (k >= n ? n - 1 : k)];
}

/* The sample center with its bus limited to n counter units, n LED boards
 * and n rating keys (no hall board), all on one line. */
static char *center_json(int n, int hall)
{
    char *text;
    size_t len;
    if (qms_read_file(QMS_EXAMPLES "/center.json", &text, &len, 1 << 22))
        return NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    qms_free(text);
    cJSON *bus = cJSON_CreateArray();
    for (int k = 0; k < 3; k++)
        for (int c = 1; c <= n; c++) {
            cJSON *u = cJSON_CreateObject();
            cJSON_AddNumberToObject(u, "address", (k == 0 ? 0 : k == 1 ? 100 : 150) + c);
            cJSON_AddStringToObject(u, "kind", k == 0 ? "counter" : k == 1 ? "led" : "rating");
            cJSON_AddNumberToObject(u, "counter", c);
            cJSON_AddItemToArray(bus, u);
        }
    if (hall) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "address", 200);
        cJSON_AddStringToObject(u, "kind", "hall");
        cJSON_AddItemToArray(bus, u);
    }
    cJSON_ReplaceItemInObject(root, "bus", bus);
    /* open all day, so the bench runs at any hour */
    cJSON *hours = cJSON_Parse("[[\"00:00\",\"24:00\"]]");
    cJSON_ReplaceItemInObject(root, "hours", hours);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

typedef struct gw_status {
    double cycle_ms;
    double wire_bytes;
    int online;
    long long cycles;
} gw_status;

/* The gateway's status (its lines[0]) once it has been online with all
 * units through two status periods. */
static int read_status(collector *c, const char *topic, int want_online, gw_status *out)
{
    int from = c->n, seen = 0;
    int64_t end = qms_mono_ms() + 180000;
    while (qms_mono_ms() < end) {
        int i = coll_wait(c, from, topic, NULL, 30000);
        if (i < 0)
            return -1;
        from = i + 1;
        cJSON *j = cJSON_Parse(c->v[i].payload);
        cJSON *l0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "lines"), 0);
        int on = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(l0, "online"));
        out->cycle_ms = cJSON_GetNumberValue(cJSON_GetObjectItem(l0, "cycle_ms"));
        out->wire_bytes = cJSON_GetNumberValue(cJSON_GetObjectItem(l0, "wire_bytes"));
        out->cycles = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(l0, "cycles"));
        out->online = on;
        cJSON_Delete(j);
        if (on >= want_online && ++seen >= 2)
            return 0;
        if (on < want_online)
            seen = 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    int qemu = argc > 1 && strcmp(argv[1], "qemu") == 0;
    if (argc > 1 && !qemu && strcmp(argv[1], "farm") != 0) {
        fprintf(stderr, "usage: bench_gateway [farm|qemu] [PER_KIND 1..16] [PRESSES 2..500] [hall]\n");
        return 2;
    }
    int hall = argc > 4 && strcmp(argv[4], "hall") == 0;
    int per = argc > 2 ? atoi(argv[2]) : (qemu ? 2 : 16), presses = argc > 3 ? atoi(argv[3]) : 20;
    if (per < 1 || per > 16 || presses < 2 || presses > 500) {
        fprintf(stderr, "usage: bench_gateway [farm|qemu] [PER_KIND 1..16] [PRESSES 2..500]\n");
        return 2;
    }
    if (qemu && !gw_fw_image()[0]) {
        fprintf(stderr, "bench_gateway: no firmware image\n");
        return 1;
    }
    char *cj = center_json(per, hall);
    static ctl_env E;
    if (!cj || env_start(&E, cj, "2026-11-26T09:00:00")) {
        fprintf(stderr, "bench_gateway: no broker/controller\n");
        return 1;
    }
    qms_free(cj);
    int nu = 3 * per + hall;
    gw_qunit *U = calloc((size_t)nu, sizeof *U);
    int *kinds = calloc((size_t)nu, sizeof *kinds), *addrs = calloc((size_t)nu, sizeof *addrs);
    for (int i = 0; i < nu; i++) {
        int k = i / per, c = i % per + 1;
        kinds[i] = k + 1;
        addrs[i] = (k == 0 ? 0 : k == 1 ? 100 : 150) + c;
        if (i == 3 * per) { /* the hall board */
            kinds[i] = 4;
            addrs[i] = 200;
        }
        if (qemu && qu_start(&U[i], kinds[i], addrs[i], E.dir)) {
            fprintf(stderr, "bench_gateway: unit %d did not start\n", i);
            return 1;
        }
    }
    static const char *const pats[] = {"qms/demo/device/gateway/main/status", "qms/demo/call",
                                       NULL};
    collector C;
    if (coll_start(&C, &E, "bench-coll", pats))
        return 1;
    qms_mqtt *m = env_client(&E, "bench-client");
    static const int bauds[2] = {19200, 115200};
    int nreq = 0;
    /* the gateway's --key-polls: counter units read K times a poll cycle */
    int kp = getenv("BENCH_GW_KEY_POLLS") ? atoi(getenv("BENCH_GW_KEY_POLLS")) : 2;
    if (kp < 1 || kp > 8) {
        fprintf(stderr, "bench_gateway: BENCH_GW_KEY_POLLS must be 1..8\n");
        return 2;
    }
    for (int b = 0; b < 2; b++) {
        char line_path[64] = "", bs[16];
        long jpid = 0;
        unit_farm *farm = NULL;
        snprintf(bs, sizeof bs, "%d", bauds[b]);
        if (qemu) {
            /* the line: every unit's wire joined, held for the wire time */
            char jlog[400];
            snprintf(jlog, sizeof jlog, "%s/busjoin-%d.out", E.dir, bauds[b]);
            /* spawned as our child: it dies with us */
            char **jargv = calloc((size_t)nu + 4, sizeof *jargv);
            jargv[0] = (char *)qms_test_bin("qms-busjoin");
            jargv[1] = "--baud";
            jargv[2] = bs;
            for (int i = 0; i < nu; i++)
                jargv[3 + i] = U[i].wire;
            jpid = qms_test_spawn(jargv, jlog);
            free(jargv);
            if (jpid <= 0)
                return 1;
            for (int t = 0; t < 100 && !line_path[0]; t++) {
                FILE *f = fopen(jlog, "r");
                if (f) {
                    if (fgets(line_path, sizeof line_path, f))
                        line_path[strcspn(line_path, "\n")] = 0;
                    fclose(f);
                }
                usleep(50000);
            }
        } else {
            farm = farm_start(nu, kinds, addrs, bauds[b], line_path);
            if (!farm)
                return 1;
        }
        gw_proc G;
        char extra[160];
        snprintf(extra, sizeof extra, "--baud %s --timeout-ms 400 --poll-ms 0 --key-polls %d%s%s",
                 bs, kp, qemu ? " --gap-ms 25" : "", getenv("BENCH_GW_VERBOSE") ? " --verbose" : "");
        /* gwp_start gives one --bus per unit; here all share one line */
        gw_qunit line;
        memset(&line, 0, sizeof line);
        snprintf(line.wire, sizeof line.wire, "%s", line_path);
        if (gwp_start(&G, &E, &line, 1, extra))
            return 1;
        gw_status st;
        if (read_status(&C, "qms/demo/device/gateway/main/status", nu, &st)) {
            fprintf(stderr, "bench_gateway: the units did not all come online at %d baud (%s)\n",
                    bauds[b], G.log);
            return 1;
        }
        double floor_ms = st.wire_bytes * 11.0 * 1000.0 / bauds[b];
        printf("{\"bench\":\"gateway_poll_cycle\",\"units_in\":\"%s\",\"baud\":%d,\"units\":%d,"
               "\"key_polls\":%d,"
               "\"cycle_ms\":%.1f,\"wire_bytes\":%.0f,\"floor_ms\":%.1f,\"ratio\":%.2f}\n",
               qemu ? "qemu" : "farm", bauds[b], nu, kp, st.cycle_ms, st.wire_bytes, floor_ms,
               floor_ms > 0 ? st.cycle_ms / floor_ms : 0);
        fflush(stdout);

        /* the controller's own next -> call, from an MQTT client (counter 2) */
        double *ctl = calloc((size_t)presses, sizeof *ctl), *lat = calloc((size_t)presses, sizeof *lat);
        for (int i = 0; i < presses; i++) {
            char body[128], label[16];
            snprintf(body, sizeof body, "{\"req\":\"bench-t-%d\",\"service\":\"TP\"}", ++nreq);
            cJSON *r = env_req(&E, m, "ticket/take", body);
            snprintf(label, sizeof label, "%s", r ? js_str(r, "ticket") : "");
            cJSON_Delete(r);
            int from = C.n;
            snprintf(body, sizeof body, "{\"req\":\"bench-n-%d\",\"op\":\"next\"}", ++nreq);
            int64_t t0 = qms_mono_ns();
            char corr[40];
            qms_mqtt_request(m, "qms/demo/counter/2/cmd", body, strlen(body), corr);
            if (coll_wait(&C, from, "qms/demo/call", label, 20000) < 0)
                return 1;
            ctl[i] = (double)(qms_mono_ns() - t0) / 1e6;
        }
        /* key next on counter unit 1's front panel -> the ticket on its display */
        for (int i = 0; i < presses; i++) {
            char body[128], label[16];
            snprintf(body, sizeof body, "{\"req\":\"bench-t-%d\",\"service\":\"TP\"}", ++nreq);
            cJSON *r = env_req(&E, m, "ticket/take", body);
            snprintf(label, sizeof label, "%s", r ? js_str(r, "ticket") : "");
            cJSON_Delete(r);
            /* a clerk presses at any moment of the poll cycle, not right
             * after the unit's last visit */
            usleep((useconds_t)(rand() % (int)(st.cycle_ms * 1000 + 1)));
            int64_t t0 = qms_mono_ns();
            int shown = 0;
            if (qemu) {
                size_t mark = qu_mark(&U[0]);
                t0 = qms_mono_ns();
                qu_key(&U[0], "next");
                shown = qu_wait_display(&U[0], mark, label, 20000) == 0;
            } else {
                if (getenv("BENCH_GW_VERBOSE"))
                    fprintf(stderr, "%lld press\n", (long long)qms_now(&qms_clock_real));
                farm_press(farm, 0, FW_KEY_NEXT);
                char view[200];
                while (!shown && qms_mono_ns() - t0 < 20000000000LL) {
                    farm_view(farm, 0, view, sizeof view);
                    shown = label[0] && strstr(view, label) != NULL;
                    if (!shown)
                        usleep(500);
                }
            }
            if (!shown) {
                fprintf(stderr, "bench_gateway: %s not shown\n", label);
                return 1;
            }
            lat[i] = (double)(qms_mono_ns() - t0) / 1e6;
            if (getenv("BENCH_GW_VERBOSE"))
                fprintf(stderr, "%lld shown (%.1f ms)\n", (long long)qms_now(&qms_clock_real), lat[i]);
        }
        double ctl99 = pct(ctl, presses, 0.99), p50 = pct(lat, presses, 0.50),
               p90 = pct(lat, presses, 0.90), p99 = pct(lat, presses, 0.99);
        /* the design's bound: besides the wait for the unit's next poll (one
         * cycle), a press waits for the unit's read (8 + 37 bytes), the
         * controller, the transaction in flight when the reply comes (at
         * most a read of 8 + 37 or a board's line, 41 + 8), the write of
         * the unit's two lines in one request (73 + 8), and the cycle's
         * status-line writes of other counter units (the gateway's cap, 2
         * a cycle, 41 + 8 each: every take changes "Chờ: N" on all of
         * them); each costs its wire time and the line's mean fixed cost
         * per transaction */
        double wire1 = 11.0 * 1000.0 / bauds[b];
        /* reads a cycle: the counter units kp times (the gateway reads
         * them kp times only when other units share the line) */
        int ntx = kp > 1 ? nu + (kp - 1) * per : nu;
        double fixed = floor_ms > 0 && st.cycle_ms > floor_ms ? (st.cycle_ms - floor_ms) / ntx : 0;
        /* the wait for the unit's next read: the longest time between two
         * visits, a counter unit read kp times a cycle evenly spaced:
         * about cycle / kp */
        double design = st.cycle_ms / (kp > 1 ? kp : 1) + ctl99 +
                        (45 + 49 + 81 + 2 * 49) * wire1 + 5 * fixed + 20;
        /* the cycle while keys and displays were busy */
        gw_status st2;
        read_status(&C, "qms/demo/device/gateway/main/status", nu, &st2);
        printf("{\"bench\":\"gateway_key_to_display\",\"units_in\":\"%s\",\"baud\":%d,"
               "\"units\":%d,\"key_polls\":%d,\"n\":%d,"
               "\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"cycle_ms\":%.1f,\"ctl_next_call_p99_ms\":%.1f,"
               "\"bound_ms\":%.1f,\"within\":%s,\"fixed_per_tx_ms\":%.2f,"
               "\"design_bound_ms\":%.1f,\"within_design\":%s}\n",
               qemu ? "qemu" : "farm", bauds[b], nu, kp, presses, p50, p90, p99, st.cycle_ms, ctl99,
               st.cycle_ms + ctl99 + 20, p99 <= st.cycle_ms + ctl99 + 20 ? "true" : "false", fixed,
               design, p99 <= design ? "true" : "false");
        fflush(stdout);
        free(ctl);
        free(lat);
        gwp_stop(&G, SIGTERM);
        if (getenv("BENCH_GW_VERBOSE")) {
            char cp[800];
            snprintf(cp, sizeof cp, "cp '%s' /tmp/bench-gw-%d.log", G.log, bauds[b]);
            if (system(cp) != 0)
                fprintf(stderr, "could not keep %s\n", G.log);
        }
        if (jpid) {
            kill((pid_t)jpid, SIGTERM);
            qms_test_wait_pid((pid_t)jpid, 5000);
        }
        if (farm)
            farm_stop(farm);
        usleep(200000);
    }
    for (int i = 0; qemu && i < nu; i++)
        qu_stop(&U[i]);
    free(U);
    free(kinds);
    free(addrs);
    coll_stop(&C);
    qms_mqtt_free(m);
    env_stop(&E);
    return 0;
}
