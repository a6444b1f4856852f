/* qms-hub: the province's copy of every site's events (docs/province.md).
 *
 *   hub_store.c  the hub's SQLite store: events exactly once per (site, seq),
 *                tickets rebuilt from them in seq order, per-site cursors;
 *                one transaction per batch of messages (group commit)
 *   hub_main.c   options, the MQTT loop, gap detection and replay requests,
 *                the per-site state topics
 *
 * Per site the hub keeps "applied": every event with seq <= applied is stored
 * and applied to the tickets, with no hole. Events past a hole are stored
 * too (the primary key keeps each once) and applied when the hole fills. */
#ifndef QMS_HUB_H
#define QMS_HUB_H

#include <stddef.h>
#include <stdint.h>

typedef struct hub_store hub_store;

/* One event of a site's stream (strings point into the caller's message). */
typedef struct hub_event {
    int64_t seq;
    const char *day, *kind, *label, *service, *from_service, *counter_state;
    int64_t at_ms, ticket, counter, rating, priority, number, taken_ms; /* -1: absent */
} hub_event;

typedef struct hub_site {
    char name[64];
    int64_t applied;  /* every seq <= applied is stored and applied */
    int64_t max_seen; /* the highest seq stored */
    int64_t head;     /* the site's last committed seq, as it last said */
    int64_t nstored, ndup;
    int64_t last_recv_ms, last_event_at_ms;
    int64_t replay_ms; /* when we last asked for a replay (monotonic; 0 = never) */
    int64_t gap_logged; /* the applied value at which a gap was last logged */
    int dirty;          /* its state topic is due */
    int changed;        /* its row is due in the next commit */
    int gaps_open;      /* there is a hole now */
} hub_site;

/* The seqs the site has committed (up to its head, or the highest stored)
 * that the hub does not have: every seq <= applied is stored (seqs start at
 * 1), so the rows past applied are nstored - applied, and the rest of
 * (applied, max(head, max_seen)] is missing. Stored rows past a hole are not
 * missing. */
int64_t hub_site_missing(const hub_site *s);

/* A run of missing seqs, first..last inclusive. */
typedef struct hub_range {
    int64_t first, last;
} hub_range;

/* The sites seen, in order of first message. */
typedef struct hub_sites {
    hub_site **v;
    int n, cap;
} hub_sites;
/* The site named (created when new; NULL when out of memory). */
hub_site *hub_sites_get(hub_sites *set, const char *name);
void hub_sites_free(hub_sites *set);
/* A site name fit for a topic level and a table: 1..63 bytes, no
 * whitespace, control, '/', '+', '#', '"' or '\\'. */
int hub_site_name_ok(const char *s);

/* One stream message (any bytes) into the open transaction: its events
 * stored once per (site, seq). Malformed input is counted in *nbad (and
 * logged, the first few times), never stored. QMS_OK, or the store's error. */
int hub_ingest(hub_store *st, hub_sites *set, const char *payload, size_t len, int64_t recv_ms,
               int64_t *nbad);
/* The same for a message read on qms/<topic_site>/stream: one whose "site"
 * is another is refused (counted in *nbad, logged): the broker's ACL lets a
 * site write only its own subtree, and the hub must not take the payload's
 * word for whose events they are. topic_site NULL: no check. */
int hub_ingest_from(hub_store *st, hub_sites *set, const char *topic_site, const char *payload,
                    size_t len, int64_t recv_ms, int64_t *nbad);

int hub_store_open(const char *path, hub_store **out);
void hub_store_close(hub_store *s);
int hub_store_begin(hub_store *s);
/* Store one event of site (once per seq: a repeat is counted in site->ndup). */
int hub_store_event(hub_store *s, hub_site *site, const hub_event *e, int64_t recv_ms);
/* The first holes of site (at most max ranges, looking at most at the
 * first 50,000 stored rows past applied), up to its head: what a replay
 * request should ask for. *n ranges written. */
int hub_store_holes(hub_store *s, const hub_site *site, hub_range *r, int max, int *n);
/* Apply the contiguous stored events after site->applied to the tickets. */
int hub_store_apply(hub_store *s, hub_site *site);
int hub_store_commit(hub_store *s, hub_site *const *sites, int nsites);
void hub_store_rollback(hub_store *s);
/* The sites known to the store (cursors as committed); *out qms_malloc'd. */
int hub_store_sites(hub_store *s, hub_site **out, int *n);
/* Rows in events (all sites). */
int64_t hub_store_count_events(hub_store *s);
/* Today's counts of a site's tickets on day (for its state topic). */
int hub_store_counts(hub_store *s, const char *site, const char *day, int *taken, int *served,
                     int *waiting, int *noshow, int *ratings, int *satisfied);

#endif
