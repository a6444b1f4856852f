/* Fuzz target for what the province broker hands qms-hub: a stream message
 * (hub/hub_ingest.c), stored into a real hub store in memory and applied to
 * its tickets. Properties: no crash, no leak; per site, applied <= the
 * highest seq stored, and every event stored is counted once (the events
 * rows equal the sum of the sites' stored counts). */
#include "hub.h"

#include "qms/err.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_store *st = NULL;
    if (hub_store_open(":memory:", &st) != QMS_OK)
        __builtin_trap();
    hub_sites set = {0};
    int64_t nbad = 0;
    if (hub_store_begin(st) != QMS_OK)
        __builtin_trap();
    /* twice: the second time everything is a repeat */
    int rc = hub_ingest(st, &set, (const char *)data, size, 1, &nbad);
    if (rc == QMS_OK)
        rc = hub_ingest(st, &set, (const char *)data, size, 2, &nbad);
    for (int i = 0; i < set.n && rc == QMS_OK; i++)
        rc = hub_store_apply(st, set.v[i]);
    if (rc == QMS_OK)
        rc = hub_store_commit(st, set.v, set.n);
    else
        hub_store_rollback(st);
    int64_t stored = 0;
    for (int i = 0; i < set.n; i++) {
        const hub_site *s = set.v[i];
        if (s->applied > s->max_seen || s->ndup < s->nstored)
            __builtin_trap();
        stored += s->nstored;
    }
    if (rc == QMS_OK && hub_store_count_events(st) != stored)
        __builtin_trap();
    hub_sites_free(&set);
    hub_store_close(st);
    return 0;
}
