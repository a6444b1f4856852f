/* qms-plan: the fewest open counters per service group and hour such that
 * the 90th-percentile wait, replayed through the real engine and store
 * (controller/replay.h), stays within a target. See docs/plan.md. */
#ifndef QMS_PLAN_H
#define QMS_PLAN_H

#include "replay.h"

#include <stdint.h>
#include <stdio.h>

#define QMS_PLAN_MAX_SLOTS 48
#define QMS_PLAN_NEVER INT32_MAX /* the wait of a ticket nobody called */

/* A duration: "15m", "900s", "1h", "1h30m", "90" (seconds); at most 24 h,
 * more than 0. Returns 0 and the seconds, or -1. */
int qms_plan_parse_duration(const char *s, int32_t *out);

/* A service group: counters and services closed under "serves" (the
 * connected components of the counter-service graph), so no counter of one
 * group serves a service of another and a group's waits depend on its own
 * counters only. order[] is the order counters open in: a plan with k
 * counters of the group open opens order[0..k-1]. */
typedef struct qms_plan_group {
    int ncounters;
    int counters[QMS_MAX_COUNTERS]; /* configuration indices, in opening order */
    int nservices;
    int services[QMS_MAX_SERVICES];
} qms_plan_group;

typedef struct qms_plan {
    /* the problem */
    int nslots;
    int32_t from_s[QMS_PLAN_MAX_SLOTS]; /* slot start, seconds after 07:00 */
    int32_t to_s[QMS_PLAN_MAX_SLOTS];
    int ngroups;
    qms_plan_group *groups;
    int svc_group[QMS_MAX_SERVICES]; /* -1: no counter serves it */
    int32_t target_s;
    /* the answer: counters open per slot and group, and what the replay of
     * exactly that plan gave */
    int k[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
    int32_t p90[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];     /* of tickets taken in the slot */
    int tickets[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];
    int32_t all_p90[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS]; /* with every counter open */
    int32_t bound[QMS_PLAN_MAX_SLOTS][QMS_MAX_COUNTERS];   /* max(target, all_p90) */
    /* measurements */
    int replays;      /* replays run */
    int cache_hits;   /* evaluations answered from the cache */
    double wall_s;
} qms_plan;

/* The slots of the center's opening hours: each span cut into hours from
 * its opening (the last piece may be shorter). */
int qms_plan_slots(const qms_config *c, int32_t *from_s, int32_t *to_s, int max);

/* Groups and their opening order (by the trace's workload). */
int qms_plan_init(qms_plan *p, const qms_config *c, const qms_trace *tr, int32_t target_s);
void qms_plan_free(qms_plan *p);

/* The replay's staffing for counts k (k[slot][group]); open must hold
 * nslots * ncounters bytes. */
void qms_plan_staffing(const qms_plan *p, const qms_config *c, int k[][QMS_MAX_COUNTERS],
                       unsigned char *open, qms_replay_staffing *st);

/* Per slot and group: the p90 wait of the tickets taken in the slot
 * (nearest rank; a ticket never called waits QMS_PLAN_NEVER) and their
 * number, from a replay result. */
void qms_plan_measure(const qms_plan *p, const qms_config *c, const qms_replay_result *r,
                      int32_t p90[][QMS_MAX_COUNTERS], int tickets[][QMS_MAX_COUNTERS]);

/* Replay with counts k (an in-memory store); p90/tickets as measure. */
int qms_plan_replay(qms_plan *p, const qms_config *c, const qms_trace *tr,
                    int k[][QMS_MAX_COUNTERS], int32_t p90[][QMS_MAX_COUNTERS],
                    int tickets[][QMS_MAX_COUNTERS], char *err, size_t errlen);

/* The search (docs/plan.md): fills k, p90, tickets, all_p90, bound. */
int qms_plan_search(qms_plan *p, const qms_config *c, const qms_trace *tr, char *err,
                    size_t errlen);

/* Counter-hours (seconds of counter time within the slots) of counts k. */
int64_t qms_plan_counter_s(const qms_plan *p, int k[][QMS_MAX_COUNTERS]);
int64_t qms_plan_all_open_s(const qms_plan *p);

/* The plan as CSV (docs/plan.md). */
int qms_plan_write_csv(const qms_plan *p, const qms_config *c, FILE *f);

/* The chart: counters per hour and the resulting p90 wait, per group. */
int qms_plan_chart(const qms_plan *p, const qms_config *c, const char *font_dir,
                   const char *path, char *err, size_t errlen);

/* One day of a store (the tickets qms-report reads) as a trace: taken time,
 * original service, priority, service time (start -> done; a done ticket
 * without start from its last call), no-show. Cancelled and unfinished
 * tickets are left out (counted in *skipped). */
int qms_plan_trace_from_db(const char *path, const char *day, const qms_config *c,
                           qms_trace *out, int *skipped, char *err, size_t errlen);

#endif
