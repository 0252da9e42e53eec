/* district_cache.h -- the worker's copy of each district's figures.
 *
 * Redis holds the truth (the cells hashes); the worker keeps a dense copy per district so that
 * recomputing a snapshot costs no round trip beyond the apply itself. The copy is tagged with
 * the district's cellsver and registry version: when the apply script sees that another writer
 * (another worker, a registration) moved them, it returns a full dump and the copy is rebuilt
 * (district_cache_load); otherwise the worker replays its own writes locally with the very same
 * last-writer-wins rule the script applied (district_cache_apply). */
#ifndef EDUMON_WORKER_DISTRICT_CACHE_H
#define EDUMON_WORKER_DISTRICT_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "catalog.h"
#include "school.h"

struct entry_id {
    unsigned long long ms, seq;
};

struct period_state {
    int period;
    double *values;           /* school × element, NAN = not reported */
    struct entry_id *ids;     /* the entry each cell came from */
    double *indicator_values; /* last computed, indicator_count */
};

struct district_state {
    const struct district *district;
    bool loaded;
    long long cellsver, registry;
    struct school *schools;
    size_t school_count;
    struct period_state *periods; /* ascending by period */
    size_t period_count;
};

struct district_cache {
    const struct catalog *catalog;
    struct district_state *states; /* one per catalog district, same order */
};

int district_cache_init(struct district_cache *cache, const struct catalog *catalog);
void district_cache_free(struct district_cache *cache);

struct district_state *district_cache_get(struct district_cache *cache, const char *district);

/* Parses "1700000000000-3". Returns 0, or -1. */
int entry_id_parse(const char *text, struct entry_id *out);

/* Index of a school in the state, or -1. */
int district_state_find_school(const struct district_state *state, const char *school);

/* Rebuilds the state from the apply script's dump {schools, periods, cells…}. Returns 0, or
 * -1 when the dump is malformed or memory runs out (the state is then marked not loaded). */
int district_cache_load(struct district_cache *cache, struct district_state *state,
                        const redisReply *dump, long long cellsver, long long registry);

/* Replays one cell write with last-writer-wins: returns true when it changed the cell. */
bool district_state_apply(struct district_cache *cache, struct district_state *state, int period,
                          int school, int element, struct entry_id id, double value);

/* The state of `period`, created when absent. NULL when out of memory. */
struct period_state *district_state_period(struct district_cache *cache,
                                           struct district_state *state, int period);

#endif
