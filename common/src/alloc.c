#include "qms/alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;
static unsigned long alloc_count;

static int should_fail(void)
{
    alloc_count++;
    if (fail_countdown < 0)
        return 0;
    if (fail_countdown == 0)
        return 1;
    fail_countdown--;
    return 0;
}

void qms_alloc_fail_after(long countdown)
{
    fail_countdown = countdown;
}

unsigned long qms_alloc_count(void)
{
    return alloc_count;
}

void *qms_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *qms_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *qms_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

char *qms_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = qms_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = 0;
    return d;
}

char *qms_strdup(const char *s)
{
    return s ? qms_strndup(s, strlen(s)) : NULL;
}

void qms_free(void *p)
{
    free(p);
}
