/* The display's status screenshots, for tests: it names them
 * status-NN-<status>.png/.txt, NN counting every change of the board's
 * status. Which changes happen is up to the timing of the broker and the
 * controller (a broker that shuts down may or may not get a controller's
 * last will out to the display before it closes the display's link), so a
 * test looks for "the first <status> after shot NN", never for a fixed NN. */
#ifndef QMS_TEST_SHOTS_H
#define QMS_TEST_SHOTS_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* The lowest NN > after of a status-NN-<status>.txt in dir (its path in out),
 * or -1 when there is none yet. */
static inline int status_shot(const char *dir, int after, const char *status, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int nn, len = 0;
        char name[64];
        if (sscanf(e->d_name, "status-%d-%63[a-z_].txt%n", &nn, name, &len) != 2 ||
            e->d_name[len] != 0 || strcmp(name, status) != 0 || nn <= after)
            continue;
        if ((best < 0 || nn < best) && snprintf(out, cap, "%s/%s", dir, e->d_name) < (int)cap)
            best = nn;
    }
    closedir(d);
    return best;
}

#endif
