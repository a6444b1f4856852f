/* qms-controller on a small disk (issue 9 #5): a 5 MiB tmpfs holds the
 * store. Under a load that never pauses the write-ahead log stays bounded
 * (checkpoints run under load too); with less than the reserve free, takes
 * are refused db_error while status still works; with the disk really full
 * a failing commit is answered db_error and undone, the controller stays up
 * (and starts on a full disk), and once there is room the numbers go on
 * with nothing acknowledged lost. Needs root to mount (skipped otherwise). */
#include "harness.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

typedef struct load {
    int replies, ok, db_error, other;
    char last_error[64];
} load;

static void on_reply(void *ud, const qms_mqtt_msg *msg)
{
    load *l = ud;
    l->replies++;
    char buf[2048];
    int n = msg->len < (int)sizeof buf - 1 ? msg->len : (int)sizeof buf - 1;
    memcpy(buf, msg->payload, (size_t)n);
    buf[n] = 0;
    cJSON *o = cJSON_Parse(buf);
    const char *err = o ? js_str(o, "error") : "unparsable";
    if (!err)
        l->ok++;
    else if (strcmp(err, "db_error") == 0)
        l->db_error++;
    else
        l->other++;
    if (err)
        snprintf(l->last_error, sizeof l->last_error, "%s", err);
    cJSON_Delete(o);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static int64_t disk_free(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (int64_t)v.f_bavail * (int64_t)v.f_frsize : -1;
}

/* Fill dir's file system until less than leave bytes are free. */
static void fill(const char *path, int64_t leave)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    static char block[4096];
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    while (disk_free(dir) >= leave + (int64_t)sizeof block)
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            break;
    if (leave == 0)
        while (write(fd, block, 512) > 0) {
        }
    close(fd);
}

static void test_small_disk(void **state)
{
    (void)state;
    ctl_env e;
    assert_int_equal(env_start(&e, NULL, NULL), 0);
    char disk[280], wal[340], filler[340];
    snprintf(disk, sizeof disk, "%s/disk", e.dir);
    assert_int_equal(mkdir(disk, 0700), 0);
    if (mount("tmpfs", disk, "tmpfs", 0, "size=5m") != 0) {
        fprintf(stderr,
                "test_small_disk: skipped: cannot mount a 5 MiB tmpfs at %s (%s); "
                "needs root (or CAP_SYS_ADMIN)\n",
                disk, strerror(errno));
        env_stop(&e);
        skip();
    }
    /* the store moves to the small disk */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    snprintf(e.db, sizeof e.db, "%s/qms.db", disk);
    snprintf(wal, sizeof wal, "%s-wal", e.db);
    snprintf(filler, sizeof filler, "%s/filler", disk);
    assert_int_equal(env_controller_start(&e), 0);

    qms_mqtt *k = env_client(&e, "kiosk-disk");
    assert_non_null(k);
    load l = {0};
    qms_mqtt_set_callbacks(k, on_reply, NULL, &l);
    qms_mqtt_loop(k, 50);

    /* A: 1,500 takes, 64 in flight at any time (never a pause of 200 ms) */
    enum { N = 1500, INFLIGHT = 64 };
    int sent = 0;
    int64_t wal_max = 0, end = qms_mono_ms() + 6 * QMS_TEST_WAIT_MS;
    while (l.replies < N && qms_mono_ms() < end) {
        while (sent < N && sent - l.replies < INFLIGHT) {
            char body[160], corr[40];
            snprintf(body, sizeof body,
                     "{\"req\":\"d-%d\",\"service\":\"TP\",\"kiosk\":\"kiosk-with-a-long-name-"
                     "%040d\"}",
                     sent, sent);
            assert_int_equal(qms_mqtt_request(k, "qms/t1/ticket/take", body, strlen(body), corr),
                             QMS_OK);
            sent++;
        }
        qms_mqtt_loop(k, 5);
        int64_t w = file_size(wal);
        if (w > wal_max)
            wal_max = w;
    }
    printf("small disk: %d takes, %d ok; the log peaked at %lld KiB, store %lld KiB, %lld KiB "
           "free\n",
           l.replies, l.ok, (long long)(wal_max / 1024), (long long)(file_size(e.db) / 1024),
           (long long)(disk_free(disk) / 1024));
    assert_int_equal(l.replies, N);
    assert_int_equal(l.ok, N);
    int acked = l.ok;
    /* 256 pages between checkpoints, plus one batch */
    if (wal_max > 2 * 1024 * 1024)
        fail_msg("the write-ahead log grew to %lld KiB under load", (long long)(wal_max / 1024));

    /* B: under 1 MiB free: takes refused db_error, saying why; status works */
    fill(filler, 512 * 1024);
    cJSON *o =
        env_req(&e, k, "ticket/take", "{\"req\":\"d-low\",\"service\":\"TP\",\"lang\":\"en\"}");
    assert_non_null(o);
    if (!js_str(o, "error") || strcmp(js_str(o, "error"), "db_error") != 0 ||
        !js_str(o, "message") || !strstr(js_str(o, "message"), "disk is nearly full"))
        fail_msg("take with %lld KiB free: %s", (long long)(disk_free(disk) / 1024),
                 cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    o = env_req(&e, k, "counter/1/cmd", "{\"req\":\"d-st\",\"op\":\"status\"}");
    assert_non_null(o);
    assert_null(js_str(o, "error"));
    assert_true(js_num(o, "waiting") >= N);
    cJSON_Delete(o);
    assert_int_equal(env_log_count(&e, "refusing takes with db_error"), 1);

    /* C: the disk full to the last byte, and no reserve: a restart works; the
     * commit that finds no room is answered db_error and undone */
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    fill(filler, 0);
    e.ctl_extra[0] = "--disk-reserve";
    e.ctl_extra[1] = "0";
    e.ctl_extra[2] = NULL;
    assert_int_equal(env_controller_start(&e), 0);
    int refused = 0;
    for (int i = 0; i < 3000 && !refused; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"req\":\"full-%d\",\"service\":\"TP\",\"kiosk\":\"%050d\"}",
                 i, i);
        o = env_req(&e, k, "ticket/take", body);
        assert_non_null(o);
        if (js_str(o, "error")) {
            assert_string_equal(js_str(o, "error"), "db_error");
            refused = i + 1;
        } else {
            acked++;
        }
        cJSON_Delete(o);
    }
    assert_true(refused > 0);
    assert_int_equal(env_log_count(&e, "the batch was answered db_error and is undone"), 1);
    /* still up, and what needs no write is served */
    assert_int_equal(kill(e.pid, 0), 0);
    o = env_req(&e, k, "counter/1/cmd", "{\"req\":\"d-st2\",\"op\":\"status\"}");
    assert_non_null(o);
    assert_null(js_str(o, "error"));
    cJSON_Delete(o);

    /* room again: the refused request goes through under its own id, numbers
     * continue without a gap */
    assert_int_equal(unlink(filler), 0);
    char body[160], label[16];
    snprintf(body, sizeof body, "{\"req\":\"full-%d\",\"service\":\"TP\",\"kiosk\":\"%050d\"}",
             refused - 1, refused - 1);
    o = env_req(&e, k, "ticket/take", body);
    assert_non_null(o);
    if (!js_str(o, "ticket"))
        fail_msg("after freeing the disk: %s", js_str(o, "error"));
    snprintf(label, sizeof label, "A%04d", acked + 1);
    assert_string_equal(js_str(o, "ticket"), label);
    cJSON_Delete(o);
    acked++;
    qms_mqtt_free(k);
    assert_int_equal(env_controller_signal(&e, SIGTERM), 0);
    store_ticket *t;
    assert_int_equal(env_store_tickets(&e, &t), acked);
    free(t);
    umount2(disk, MNT_DETACH);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
