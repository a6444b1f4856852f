/* Preloaded into qms-controller by test_hostile's
 * test_reply_waits_for_log_sync: while the file QMS_TEST_SYNC_GATE names
 * exists, fdatasync and fsync wait (the disk "takes" that long). Nothing else
 * changes: the real call runs once the file is gone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);
int fsync(int fd);

static void gate(void)
{
    const char *g = getenv("QMS_TEST_SYNC_GATE");
    if (!g || !*g)
        return;
    struct timespec ts = {0, 5 * 1000 * 1000};
    while (access(g, F_OK) == 0)
        nanosleep(&ts, NULL);
}

int fdatasync(int fd)
{
    gate();
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real ? real(fd) : -1;
}

int fsync(int fd)
{
    gate();
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real ? real(fd) : -1;
}
