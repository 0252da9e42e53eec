/* district_cache.c -- see district_cache.h. */
#include "district_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int district_cache_init(struct district_cache *cache, const struct catalog *catalog)
{
    cache->catalog = catalog;
    cache->states = calloc(catalog->district_count, sizeof(struct district_state));
    if (!cache->states)
        return -1;
    for (size_t i = 0; i < catalog->district_count; i++)
        cache->states[i].district = &catalog->districts[i];
    return 0;
}

static void free_periods(struct district_state *state)
{
    for (size_t p = 0; p < state->period_count; p++) {
        free(state->periods[p].values);
        free(state->periods[p].ids);
        free(state->periods[p].indicator_values);
    }
    free(state->periods);
    state->periods = NULL;
    state->period_count = 0;
}

static void reset_state(struct district_state *state)
{
    free_periods(state);
    free(state->schools);
    state->schools = NULL;
    state->school_count = 0;
    state->loaded = false;
}

void district_cache_free(struct district_cache *cache)
{
    if (!cache->states)
        return;
    for (size_t i = 0; i < cache->catalog->district_count; i++)
        reset_state(&cache->states[i]);
    free(cache->states);
    cache->states = NULL;
}

struct district_state *district_cache_get(struct district_cache *cache, const char *district)
{
    int index = catalog_find_district(cache->catalog, district);
    return index < 0 ? NULL : &cache->states[index];
}

int entry_id_parse(const char *text, struct entry_id *out)
{
    char *end = NULL;
    out->ms = strtoull(text, &end, 10);
    if (end == text || *end != '-')
        return -1;
    const char *sequence = end + 1;
    out->seq = strtoull(sequence, &end, 10);
    return end == sequence || *end ? -1 : 0;
}

static int compare_entry_ids(struct entry_id left, struct entry_id right)
{
    if (left.ms != right.ms)
        return left.ms < right.ms ? -1 : 1;
    if (left.seq != right.seq)
        return left.seq < right.seq ? -1 : 1;
    return 0;
}

static int compare_schools(const void *left, const void *right)
{
    return strcmp(((const struct school *)left)->id, ((const struct school *)right)->id);
}

int district_state_find_school(const struct district_state *state, const char *school)
{
    struct school key = {0};
    snprintf(key.id, sizeof(key.id), "%s", school);
    const struct school *found =
        state->school_count
            ? bsearch(&key, state->schools, state->school_count, sizeof(key), compare_schools)
            : NULL;
    return found ? (int)(found - state->schools) : -1;
}

struct period_state *district_state_period(struct district_cache *cache,
                                           struct district_state *state, int period)
{
    size_t position = 0;
    while (position < state->period_count && state->periods[position].period < period)
        position++;
    if (position < state->period_count && state->periods[position].period == period)
        return &state->periods[position];
    struct period_state *grown =
        realloc(state->periods, (state->period_count + 1) * sizeof(struct period_state));
    if (!grown)
        return NULL;
    state->periods = grown;
    size_t cells = state->school_count * cache->catalog->element_count;
    struct period_state fresh = {period, malloc((cells ? cells : 1) * sizeof(double)),
                                 calloc(cells ? cells : 1, sizeof(struct entry_id)),
                                 malloc(cache->catalog->indicator_count * sizeof(double))};
    if (!fresh.values || !fresh.ids || !fresh.indicator_values) {
        free(fresh.values);
        free(fresh.ids);
        free(fresh.indicator_values);
        return NULL;
    }
    for (size_t i = 0; i < cells; i++)
        fresh.values[i] = NAN;
    for (size_t i = 0; i < cache->catalog->indicator_count; i++)
        fresh.indicator_values[i] = NAN;
    memmove(&state->periods[position + 1], &state->periods[position],
            (state->period_count - position) * sizeof(struct period_state));
    state->periods[position] = fresh;
    state->period_count++;
    return &state->periods[position];
}

bool district_state_apply(struct district_cache *cache, struct district_state *state, int period,
                          int school, int element, struct entry_id id, double value)
{
    struct period_state *slot = district_state_period(cache, state, period);
    if (!slot) {
        state->loaded = false; /* force a reload rather than compute from a partial copy */
        return false;
    }
    size_t cell = (size_t)school * cache->catalog->element_count + (size_t)element;
    if (!isnan(slot->values[cell]) && compare_entry_ids(id, slot->ids[cell]) <= 0)
        return false;
    slot->values[cell] = value;
    slot->ids[cell] = id;
    return true;
}

static int load_schools(struct district_state *state, const redisReply *pairs)
{
    if (pairs->type != REDIS_REPLY_ARRAY || pairs->elements % 2)
        return -1;
    size_t count = pairs->elements / 2;
    state->schools = calloc(count ? count : 1, sizeof(struct school));
    if (!state->schools)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const redisReply *json = pairs->element[2 * i + 1];
        if (json->type != REDIS_REPLY_STRING ||
            school_from_json(json->str, json->len, &state->schools[state->school_count]) != 0)
            continue; /* a record this build cannot read does not stop the district */
        state->school_count++;
    }
    qsort(state->schools, state->school_count, sizeof(struct school), compare_schools);
    return 0;
}

/* Fills one period from "school/element" -> "id value" pairs. Cells of schools or elements
 * this catalog does not know are skipped (a catalog may drop an element). */
static int load_cells(struct district_cache *cache, struct district_state *state, int period,
                      const redisReply *pairs)
{
    if (pairs->type != REDIS_REPLY_ARRAY || pairs->elements % 2)
        return -1;
    struct period_state *slot = district_state_period(cache, state, period);
    if (!slot)
        return -1;
    for (size_t i = 0; i + 1 < pairs->elements; i += 2) {
        const char *field = pairs->element[i]->str;
        const char *cell = pairs->element[i + 1]->str;
        const char *slash = field ? strchr(field, '/') : NULL;
        const char *space = cell ? strchr(cell, ' ') : NULL;
        if (!slash || !space)
            continue;
        char school[SCHOOL_ID_MAX + 1], id_text[48];
        size_t school_length = (size_t)(slash - field), id_length = (size_t)(space - cell);
        if (school_length > SCHOOL_ID_MAX || id_length >= sizeof(id_text))
            continue;
        memcpy(school, field, school_length);
        school[school_length] = '\0';
        memcpy(id_text, cell, id_length);
        id_text[id_length] = '\0';
        int school_index = district_state_find_school(state, school);
        int element = catalog_find_element(cache->catalog, slash + 1);
        struct entry_id id;
        if (school_index < 0 || element < 0 || entry_id_parse(id_text, &id) != 0)
            continue;
        size_t index = (size_t)school_index * cache->catalog->element_count + (size_t)element;
        slot->values[index] = strtod(space + 1, NULL);
        slot->ids[index] = id;
    }
    return 0;
}

int district_cache_load(struct district_cache *cache, struct district_state *state,
                        const redisReply *dump, long long cellsver, long long registry)
{
    reset_state(state);
    if (dump->type != REDIS_REPLY_ARRAY || dump->elements < 2 ||
        load_schools(state, dump->element[0]) != 0)
        goto fail;
    const redisReply *periods = dump->element[1];
    if (periods->type != REDIS_REPLY_ARRAY || dump->elements != 2 + periods->elements)
        goto fail;
    for (size_t p = 0; p < periods->elements; p++) {
        int period = atoi(periods->element[p]->str ? periods->element[p]->str : "0");
        if (load_cells(cache, state, period, dump->element[2 + p]) != 0)
            goto fail;
    }
    state->cellsver = cellsver;
    state->registry = registry;
    state->loaded = true;
    return 0;
fail:
    reset_state(state);
    return -1;
}
