/* All allocation goes through these wrappers so a test can make the Nth
 * allocation fail (SQLite-style fault injection). */
#ifndef QMS_ALLOC_H
#define QMS_ALLOC_H

#include <stddef.h>

void *qms_malloc(size_t n);
void *qms_calloc(size_t count, size_t size);
void *qms_realloc(void *p, size_t n);
char *qms_strdup(const char *s);
char *qms_strndup(const char *s, size_t n);
void qms_free(void *p);

/* Fault injection: after `countdown` more successful allocations, every
 * allocation fails (returns NULL). countdown < 0 disables. */
void qms_alloc_fail_after(long countdown);
/* How many allocations were made since start (for tests sizing a sweep). */
unsigned long qms_alloc_count(void);

#endif
