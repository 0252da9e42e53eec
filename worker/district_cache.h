/* district_cache.h -- the worker's copy of the figures of the districts it is working on.
 *
 * Redis holds the truth (the cells hashes); the worker keeps a compact copy of some districts
 * so that recomputing a snapshot costs no round trip beyond the apply itself. A copy is tagged
 * with the district's cellsver and registry version: when the apply script reports that
 * another writer (another worker, a registration) moved them, the copy is dropped (and loaded
 * again when needed: district_cache_load); otherwise the worker replays the writes the script
 * reports it accepted (district_state_set), so the copy stays equal to Redis without keeping
 * entry ids.
 *
 * Memory is bounded: the loaded districts form a least-recently-used list, and
 * district_cache_trim() unloads the oldest while the copies exceed the budget. An unloaded
 * district is simply not there: the worker applies its entries "blind" (the script writes the
 * cells and returns no dump) and loads the district once, when its coalesced store comes due.
 *
 * A period's figures are stored by stage rows: a school's row holds only the elements its
 * stage may report (a kindergarten ~30 of 85), one double each, NAN when not reported. A cell
 * outside its school's stage (data written under an older catalog) is kept aside as a stray
 * so the expanded matrix (district_state_figures) is exactly what a dense copy would hold. */
#ifndef EDUMON_WORKER_DISTRICT_CACHE_H
#define EDUMON_WORKER_DISTRICT_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "aggregate.h"
#include "catalog.h"
#include "school.h"

struct stray_cell {
    size_t school, element;
    double value;
};

struct period_state {
    int period;
    double *values;            /* stage rows, NAN = not reported (see above) */
    struct stray_cell *strays; /* cells outside their school's stage */
    size_t stray_count;
    double *indicator_values; /* last computed, indicator_count */
};

/* A school as the copy keeps it: what the figures need (a struct school is ~400 bytes of
 * fixed buffers, most of a copy's memory when kept as is). */
struct cached_school {
    unsigned id, name; /* offsets of the NUL-terminated strings in the state's school_text */
    enum stage stage;
    enum ownership ownership;
};

struct district_state {
    const struct district *district;
    bool loaded;
    long long cellsver, registry;
    struct cached_school *schools; /* sorted by id */
    char *school_text;             /* each school's id and name, NUL-terminated */
    size_t school_count;
    size_t *row_start;            /* school_count + 1 offsets into a period's values */
    struct period_state *periods; /* ascending by period */
    size_t period_count;
    size_t bytes;                         /* heap held by this copy, counted against the budget */
    struct district_state *older, *newer; /* the LRU list, while loaded */
};

struct district_cache {
    const struct catalog *catalog;
    struct district_state *states; /* one per catalog district, same order */
    size_t *district_order;        /* state indexes sorted by district id, for bsearch */
    size_t budget_bytes, resident_bytes;
    size_t peak_bytes; /* the most resident_bytes has been (over the budget between trims) */
    struct district_state *oldest, *newest;
    int *element_slots;         /* open-addressing table: element index + 1, 0 = empty */
    size_t element_mask;        /* table size - 1 (a power of two) */
    int *columns;               /* STAGE_COUNT × element_count: column in the row, or -1 */
    size_t widths[STAGE_COUNT]; /* row width per stage */
    double *scratch;            /* one period expanded (district_state_figures) */
    size_t scratch_capacity;
    struct school *school_scratch; /* the schools expanded (district_state_figures) */
    size_t school_scratch_capacity;
    unsigned long long loads, evictions; /* evictions: by the budget (district_cache_trim) */
};

/* Returns 0, or -1 when out of memory. `budget_bytes` bounds the loaded copies (0: none stays
 * loaded beyond the work in hand). */
int district_cache_init(struct district_cache *cache, const struct catalog *catalog,
                        size_t budget_bytes);
void district_cache_free(struct district_cache *cache);

struct district_state *district_cache_get(struct district_cache *cache, const char *district);

/* Parses a cell value as the worker stored it ("%.17g", or the integer itself): exactly what
 * strtod gives, without strtod for whole numbers. */
double district_cache_parse_value(const char *text);

/* The id of school `index` of a loaded state. */
const char *district_state_school_id(const struct district_state *state, size_t index);

/* Index of a school in the (loaded) state, or -1. */
int district_state_find_school(const struct district_state *state, const char *school);

/* Rebuilds the state from the apply script's dump {schools, periods, cells…} and makes it the
 * most recently used. Returns 0, or -1 when the dump is malformed or memory runs out (the
 * state is then unloaded). */
int district_cache_load(struct district_cache *cache, struct district_state *state,
                        const redisReply *dump, long long cellsver, long long registry);

/* Marks a loaded state the most recently used. */
void district_cache_touch(struct district_cache *cache, struct district_state *state);

/* Unloads one state (frees its copy). */
void district_cache_evict(struct district_cache *cache, struct district_state *state);

/* Unloads the least recently used states while the copies exceed the budget. Call it only
 * where no state in hand needs to stay loaded (an unloaded one is applied blind and loaded
 * again when needed). Returns the number unloaded. */
size_t district_cache_trim(struct district_cache *cache);

/* Writes one cell the apply script accepted. Returns 0, or -1 when out of memory (the state
 * is then unloaded rather than left partial). */
int district_state_set(struct district_cache *cache, struct district_state *state, int period,
                       size_t school, size_t element, double value);

/* The state of `period`, created when absent. NULL when out of memory. */
struct period_state *district_state_period(struct district_cache *cache,
                                           struct district_state *state, int period);

/* The dense figures of state->periods[index], expanded with the schools into the cache's
 * scratch (valid until the next call). Returns 0, or -1 when out of memory. */
int district_state_figures(struct district_cache *cache, const struct district_state *state,
                           size_t index, struct figures *out);

#endif
