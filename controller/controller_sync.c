/* The log's fdatasync on a thread of its own, and the publications that wait
 * for it.
 *
 * ctl_flush commits a batch with qms_store_commit_nosync (the write-ahead log
 * is appended, not synced), gates both MQTT sessions with the commit's
 * generation (every publication from then on -- its replies, call events,
 * retained state -- waits in order in the wrapper) and asks this thread to
 * fdatasync the log. Meanwhile the loop reads and decides the next batch,
 * which may commit (append) too. When the thread reports generation g on
 * disk, the loop releases what waited for g and the generations before.
 * One fdatasync covers every commit appended before it started: group
 * commit across batches. The engine and SQLite stay on the loop's thread;
 * this thread only opens the log file, syncs it and closes it. */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ctl_sync {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char wal[1024], dirpath[1024];
    uint64_t want, done; /* generations asked / on disk */
    int err;             /* errno of a failed sync: nothing is released after it */
    int stop, dir_synced;
    int efd; /* readable when done moved */
    uint64_t nsyncs;
    int64_t sync_ns, max_ns; /* time in fdatasync of the log, all and longest */
};

static int sync_file(const char *path, int data_only)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = (data_only ? fdatasync(fd) : fsync(fd)) ? errno : 0;
    close(fd);
    return rc;
}

static void *sync_main(void *arg)
{
    struct ctl_sync *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && s->want <= s->done && !s->err)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop || s->err)
            break;
        uint64_t target = s->want; /* every commit appended up to now */
        int dir = !s->dir_synced;
        pthread_mutex_unlock(&s->mu);
        int64_t t0 = qms_mono_ns();
        int rc = sync_file(s->wal, 1);
        if (!rc && dir) /* the log's name in its folder, once */
            rc = sync_file(s->dirpath, 0);
        int64_t dt = qms_mono_ns() - t0;
        pthread_mutex_lock(&s->mu);
        s->nsyncs++;
        s->sync_ns += dt;
        if (dt > s->max_ns)
            s->max_ns = dt;
        if (rc) {
            s->err = rc;
        } else {
            s->done = target;
            s->dir_synced = 1;
        }
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0) {
            /* the counter is full: the loop is woken anyway */
        }
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int ctl_sync_start(qms_ctl *c)
{
    struct ctl_sync *s = qms_calloc(1, sizeof *s);
    if (!s)
        return QMS_ERR_NOMEM;
    snprintf(s->wal, sizeof s->wal, "%s-wal", c->db_path);
    snprintf(s->dirpath, sizeof s->dirpath, "%s", c->db_path);
    char *slash = strrchr(s->dirpath, '/');
    if (slash == s->dirpath)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(s->dirpath, sizeof s->dirpath, ".");
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (s->efd < 0 || pthread_create(&s->th, NULL, sync_main, s)) {
        if (s->efd >= 0)
            close(s->efd);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        qms_free(s);
        return QMS_ERR_IO;
    }
    c->sync = s;
    return QMS_OK;
}

int ctl_sync_fd(const qms_ctl *c)
{
    return c->sync ? c->sync->efd : -1;
}

void ctl_sync_request(qms_ctl *c, uint64_t gen)
{
    struct ctl_sync *s = c->sync;
    pthread_mutex_lock(&s->mu);
    if (gen > s->want)
        s->want = gen;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void gate_all(qms_ctl *c, uint64_t gen)
{
    qms_mqtt_gate(c->mqtt, gen);
    if (c->mqtt_cmd)
        qms_mqtt_gate(c->mqtt_cmd, gen);
}

void ctl_sync_gate(qms_ctl *c)
{
    if (c->sync && c->commit_gen > c->synced_gen)
        gate_all(c, c->commit_gen);
}

/* Release what the synced generations allow; 1 when the sync failed. */
static int release(qms_ctl *c, uint64_t done, int err)
{
    if (err) {
        if (!c->fatal) {
            QMS_ERROR("store: syncing the log failed (%s): %d commit(s) may not be on disk; "
                      "nothing of them is published, exiting",
                      strerror(err), (int)(c->commit_gen - c->synced_gen));
            c->fatal = QMS_ERR_DB;
        }
        return 1;
    }
    c->synced_gen = done;
    qms_mqtt_release(c->mqtt, done);
    if (c->mqtt_cmd)
        qms_mqtt_release(c->mqtt_cmd, done);
    if (done >= c->commit_gen)
        gate_all(c, 0);
    return 0;
}

int ctl_sync_poll(qms_ctl *c)
{
    struct ctl_sync *s = c->sync;
    if (!s)
        return 0;
    uint64_t n;
    if (read(s->efd, &n, sizeof n) < 0) {
        /* nothing new (EAGAIN) */
    }
    pthread_mutex_lock(&s->mu);
    uint64_t done = s->done;
    int err = s->err;
    pthread_mutex_unlock(&s->mu);
    if (done <= c->synced_gen && !err)
        return 0;
    return release(c, done, err);
}

int ctl_sync_wait(qms_ctl *c)
{
    struct ctl_sync *s = c->sync;
    if (!s || c->synced_gen >= c->commit_gen)
        return 0;
    pthread_mutex_lock(&s->mu);
    while (s->done < c->commit_gen && !s->err)
        pthread_cond_wait(&s->cv, &s->mu);
    uint64_t done = s->done;
    int err = s->err;
    pthread_mutex_unlock(&s->mu);
    return release(c, done, err);
}

void ctl_sync_stop(qms_ctl *c)
{
    struct ctl_sync *s = c->sync;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    QMS_INFO("log syncs: %llu, mean %.3f ms, longest %.3f ms", (unsigned long long)s->nsyncs,
             s->nsyncs ? (double)s->sync_ns / 1e6 / (double)s->nsyncs : 0.0,
             (double)s->max_ns / 1e6);
    close(s->efd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    qms_free(s);
    c->sync = NULL;
}
