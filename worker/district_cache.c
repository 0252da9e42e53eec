/* district_cache.c -- see district_cache.h. */
#include "district_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idhash.h"

static const struct catalog *sort_catalog; /* qsort has no context argument */

static int init_element_slots(struct district_cache *cache)
{
    size_t size = 16;
    while (size < 4 * cache->catalog->element_count)
        size *= 2;
    cache->element_slots = calloc(size, sizeof(int));
    if (!cache->element_slots)
        return -1;
    cache->element_mask = size - 1;
    for (size_t e = 0; e < cache->catalog->element_count; e++) {
        const char *id = cache->catalog->elements[e].id;
        size_t slot = (size_t)idhash(id, strlen(id)) & cache->element_mask;
        while (cache->element_slots[slot])
            slot = (slot + 1) & cache->element_mask;
        cache->element_slots[slot] = (int)e + 1;
    }
    return 0;
}

static int find_element(const struct district_cache *cache, const char *id)
{
    size_t slot = (size_t)idhash(id, strlen(id)) & cache->element_mask;
    for (int index; (index = cache->element_slots[slot]) != 0;
         slot = (slot + 1) & cache->element_mask)
        if (strcmp(cache->catalog->elements[index - 1].id, id) == 0)
            return index - 1;
    return -1;
}

double district_cache_parse_value(const char *text)
{
    const char *digits = text + (*text == '-');
    long long whole = 0;
    size_t length = 0;
    while (digits[length] >= '0' && digits[length] <= '9' && length < 16)
        whole = whole * 10 + (digits[length++] - '0');
    /* Up to 15 digits are exact in a double; "-0" keeps its sign through strtod. */
    if (length > 0 && length < 16 && digits[length] == '\0' && !(whole == 0 && digits != text))
        return (double)(digits != text ? -whole : whole);
    return strtod(text, NULL);
}

static int compare_district_order(const void *left, const void *right)
{
    return strcmp(sort_catalog->districts[*(const size_t *)left].id,
                  sort_catalog->districts[*(const size_t *)right].id);
}

/* Which elements each stage may report, and where each sits in that stage's row. */
static void init_columns(struct district_cache *cache)
{
    const struct catalog *catalog = cache->catalog;
    for (size_t stage = 0; stage < STAGE_COUNT; stage++) {
        size_t width = 0;
        for (size_t e = 0; e < catalog->element_count; e++) {
            bool allowed = catalog->elements[e].stages & (1u << stage);
            cache->columns[stage * catalog->element_count + e] = allowed ? (int)width++ : -1;
        }
        cache->widths[stage] = width;
    }
}

int district_cache_init(struct district_cache *cache, const struct catalog *catalog,
                        size_t budget_bytes)
{
    memset(cache, 0, sizeof(*cache));
    cache->catalog = catalog;
    cache->budget_bytes = budget_bytes;
    size_t districts = catalog->district_count ? catalog->district_count : 1;
    cache->states = calloc(districts, sizeof(struct district_state));
    cache->district_order = malloc(districts * sizeof(size_t));
    cache->columns = malloc((STAGE_COUNT * catalog->element_count + 1) * sizeof(int));
    if (!cache->states || !cache->district_order || !cache->columns ||
        init_element_slots(cache) != 0) {
        district_cache_free(cache);
        return -1;
    }
    for (size_t i = 0; i < catalog->district_count; i++) {
        cache->states[i].district = &catalog->districts[i];
        cache->district_order[i] = i;
    }
    sort_catalog = catalog;
    qsort(cache->district_order, catalog->district_count, sizeof(size_t), compare_district_order);
    init_columns(cache);
    return 0;
}

static void free_periods(struct district_state *state)
{
    for (size_t p = 0; p < state->period_count; p++) {
        free(state->periods[p].values);
        free(state->periods[p].strays);
        free(state->periods[p].indicator_values);
    }
    free(state->periods);
    state->periods = NULL;
    state->period_count = 0;
}

static void unlink_state(struct district_cache *cache, struct district_state *state)
{
    if (state->older)
        state->older->newer = state->newer;
    else if (cache->oldest == state)
        cache->oldest = state->newer;
    if (state->newer)
        state->newer->older = state->older;
    else if (cache->newest == state)
        cache->newest = state->older;
    state->older = state->newer = NULL;
}

static void link_newest(struct district_cache *cache, struct district_state *state)
{
    state->older = cache->newest;
    state->newer = NULL;
    if (cache->newest)
        cache->newest->newer = state;
    else
        cache->oldest = state;
    cache->newest = state;
}

/* Frees the copy; the state keeps only its district. */
static void reset_state(struct district_cache *cache, struct district_state *state)
{
    if (state->loaded) {
        unlink_state(cache, state);
        cache->resident_bytes -= state->bytes;
    }
    free_periods(state);
    free(state->schools);
    free(state->school_text);
    free(state->row_start);
    state->schools = NULL;
    state->school_text = NULL;
    state->row_start = NULL;
    state->school_count = 0;
    state->bytes = 0;
    state->loaded = false;
}

/* Counts `delta` more bytes held by the state (and by the cache when it is loaded). */
static void account(struct district_cache *cache, struct district_state *state, size_t delta)
{
    state->bytes += delta;
    if (state->loaded) {
        cache->resident_bytes += delta;
        if (cache->resident_bytes > cache->peak_bytes)
            cache->peak_bytes = cache->resident_bytes;
    }
}

void district_cache_free(struct district_cache *cache)
{
    if (cache->states)
        for (size_t i = 0; i < cache->catalog->district_count; i++)
            reset_state(cache, &cache->states[i]);
    free(cache->states);
    free(cache->district_order);
    free(cache->columns);
    free(cache->element_slots);
    free(cache->scratch);
    free(cache->school_scratch);
    cache->states = NULL;
    cache->district_order = NULL;
    cache->columns = NULL;
    cache->element_slots = NULL;
    cache->scratch = NULL;
}

struct district_state *district_cache_get(struct district_cache *cache, const char *district)
{
    size_t low = 0, high = cache->catalog->district_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        size_t index = cache->district_order[middle];
        int order = strcmp(cache->catalog->districts[index].id, district);
        if (order == 0)
            return &cache->states[index];
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

/* Binary search over the sorted schools for the first `length` bytes of `school`. */
static int find_school(const struct district_state *state, const char *school, size_t length)
{
    if (length > SCHOOL_ID_MAX)
        return -1;
    size_t low = 0, high = state->school_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const char *id = district_state_school_id(state, middle);
        int order = strncmp(id, school, length);
        if (order == 0 && id[length] != '\0')
            order = 1; /* a longer id sorts after its prefix */
        if (order == 0)
            return (int)middle;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return -1;
}

int district_state_find_school(const struct district_state *state, const char *school)
{
    return find_school(state, school, strlen(school));
}

void district_cache_touch(struct district_cache *cache, struct district_state *state)
{
    if (!state->loaded || cache->newest == state)
        return;
    unlink_state(cache, state);
    link_newest(cache, state);
}

void district_cache_evict(struct district_cache *cache, struct district_state *state)
{
    reset_state(cache, state);
}

size_t district_cache_trim(struct district_cache *cache)
{
    size_t evicted = 0;
    while (cache->oldest && cache->resident_bytes > cache->budget_bytes) {
        reset_state(cache, cache->oldest);
        evicted++;
    }
    cache->evictions += evicted;
    return evicted;
}

static size_t row_cells(const struct district_state *state)
{
    return state->row_start ? state->row_start[state->school_count] : 0;
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
    size_t cells = row_cells(state), indicators = cache->catalog->indicator_count;
    struct period_state fresh = {period, malloc((cells ? cells : 1) * sizeof(double)), NULL, 0,
                                 malloc((indicators ? indicators : 1) * sizeof(double))};
    if (!fresh.values || !fresh.indicator_values) {
        free(fresh.values);
        free(fresh.indicator_values);
        return NULL;
    }
    for (size_t i = 0; i < cells; i++)
        fresh.values[i] = NAN;
    for (size_t i = 0; i < indicators; i++)
        fresh.indicator_values[i] = NAN;
    memmove(&state->periods[position + 1], &state->periods[position],
            (state->period_count - position) * sizeof(struct period_state));
    state->periods[position] = fresh;
    state->period_count++;
    account(cache, state, sizeof(struct period_state) + (cells + indicators) * sizeof(double));
    return &state->periods[position];
}

/* Writes a value into its row, or among the strays when its stage has no column for it. */
static int set_cell(struct district_cache *cache, struct district_state *state,
                    struct period_state *slot, size_t school, size_t element, double value)
{
    size_t element_count = cache->catalog->element_count;
    int column = cache->columns[(size_t)state->schools[school].stage * element_count + element];
    if (column >= 0) {
        slot->values[state->row_start[school] + (size_t)column] = value;
        return 0;
    }
    for (size_t i = 0; i < slot->stray_count; i++) {
        if (slot->strays[i].school == school && slot->strays[i].element == element) {
            slot->strays[i].value = value;
            return 0;
        }
    }
    struct stray_cell *grown =
        realloc(slot->strays, (slot->stray_count + 1) * sizeof(struct stray_cell));
    if (!grown)
        return -1;
    slot->strays = grown;
    slot->strays[slot->stray_count++] = (struct stray_cell){school, element, value};
    account(cache, state, sizeof(struct stray_cell));
    return 0;
}

int district_state_set(struct district_cache *cache, struct district_state *state, int period,
                       size_t school, size_t element, double value)
{
    struct period_state *slot = district_state_period(cache, state, period);
    if (!slot || school >= state->school_count || element >= cache->catalog->element_count ||
        set_cell(cache, state, slot, school, element, value) != 0) {
        reset_state(cache, state); /* reload rather than compute from a partial copy */
        return -1;
    }
    return 0;
}

/* School `index` as a full record (no token hash: the copy does not keep it). */
static void expand_school(const struct district_state *state, size_t index, struct school *out)
{
    const struct cached_school *school = &state->schools[index];
    /* The lengths were checked when the record was read (school_from_json). */
    snprintf(out->id, sizeof(out->id), "%s", state->school_text + school->id);
    snprintf(out->district, sizeof(out->district), "%s", state->district->id);
    snprintf(out->name, sizeof(out->name), "%s", state->school_text + school->name);
    out->stage = school->stage;
    out->ownership = school->ownership;
    out->token_hash[0] = '\0';
}

int district_state_figures(struct district_cache *cache, const struct district_state *state,
                           size_t index, struct figures *out)
{
    size_t element_count = cache->catalog->element_count;
    size_t cells = state->school_count * element_count;
    if (cells > cache->scratch_capacity) {
        double *grown = realloc(cache->scratch, cells * sizeof(double));
        if (!grown)
            return -1;
        cache->scratch = grown;
        cache->scratch_capacity = cells;
    }
    const struct period_state *slot = &state->periods[index];
    for (size_t s = 0; s < state->school_count; s++) {
        double *dense = cache->scratch + s * element_count;
        const double *row = slot->values + state->row_start[s];
        const int *columns = cache->columns + (size_t)state->schools[s].stage * element_count;
        for (size_t e = 0; e < element_count; e++)
            dense[e] = columns[e] >= 0 ? row[columns[e]] : NAN;
    }
    for (size_t i = 0; i < slot->stray_count; i++)
        cache->scratch[slot->strays[i].school * element_count + slot->strays[i].element] =
            slot->strays[i].value;
    if (state->school_count > cache->school_scratch_capacity) {
        struct school *grown =
            realloc(cache->school_scratch, state->school_count * sizeof(struct school));
        if (!grown)
            return -1;
        cache->school_scratch = grown;
        cache->school_scratch_capacity = state->school_count;
    }
    for (size_t s = 0; s < state->school_count; s++)
        expand_school(state, s, &cache->school_scratch[s]);
    *out =
        (struct figures){cache->school_scratch, state->school_count, element_count, cache->scratch};
    return 0;
}

const char *district_state_school_id(const struct district_state *state, size_t index)
{
    return state->school_text + state->schools[index].id;
}

/* qsort has no context argument: the block being sorted against, for compare_schools. */
static const char *sorting_text;

static int compare_schools(const void *left, const void *right)
{
    return strcmp(sorting_text + ((const struct cached_school *)left)->id,
                  sorting_text + ((const struct cached_school *)right)->id);
}

/* Reads the registry's records into the copy: first the text block's size, then each
 * record's id and name into it. */
static int load_schools(struct district_cache *cache, struct district_state *state,
                        const redisReply *pairs)
{
    if (pairs->type != REDIS_REPLY_ARRAY || pairs->elements % 2)
        return -1;
    size_t count = pairs->elements / 2, text_size = 0;
    for (size_t i = 0; i < count; i++)
        text_size += pairs->element[2 * i + 1]->len; /* a record holds its id and name */
    state->schools = calloc(count ? count : 1, sizeof(struct cached_school));
    state->school_text = malloc(text_size ? text_size : 1);
    state->row_start = malloc((count + 1) * sizeof(size_t));
    if (!state->schools || !state->school_text || !state->row_start)
        return -1;
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        const redisReply *json = pairs->element[2 * i + 1];
        struct school record;
        if (json->type != REDIS_REPLY_STRING ||
            school_from_json(json->str, json->len, &record) != 0)
            continue; /* a record this build cannot read does not stop the district */
        size_t id_size = strlen(record.id) + 1, name_size = strlen(record.name) + 1;
        if (used + id_size + name_size > text_size)
            continue; /* cannot be: the JSON holds both strings and more */
        struct cached_school *school = &state->schools[state->school_count++];
        memcpy(state->school_text + used, record.id, id_size);
        memcpy(state->school_text + used + id_size, record.name, name_size);
        school->id = (unsigned)used;
        school->name = (unsigned)(used + id_size);
        school->stage = record.stage;
        school->ownership = record.ownership;
        used += id_size + name_size;
    }
    char *shrunk = realloc(state->school_text, used ? used : 1); /* offsets survive a move */
    if (shrunk)
        state->school_text = shrunk;
    sorting_text = state->school_text;
    qsort(state->schools, state->school_count, sizeof(struct cached_school), compare_schools);
    size_t offset = 0;
    for (size_t s = 0; s < state->school_count; s++) {
        state->row_start[s] = offset;
        offset += cache->widths[state->schools[s].stage];
    }
    state->row_start[state->school_count] = offset;
    account(cache, state,
            count * sizeof(struct cached_school) + used + (count + 1) * sizeof(size_t));
    return 0;
}

/* The loaded schools by id, for the dump's cells: open addressing, index + 1, 0 = empty. */
struct school_table {
    size_t *slots;
    size_t mask;
};

static int school_table_build(struct school_table *table, const struct district_state *state)
{
    size_t size = 16;
    while (size < 2 * state->school_count)
        size *= 2;
    table->slots = calloc(size, sizeof(size_t));
    table->mask = size - 1;
    if (!table->slots)
        return -1;
    for (size_t s = 0; s < state->school_count; s++) {
        const char *id = district_state_school_id(state, s);
        size_t slot = (size_t)idhash(id, strlen(id)) & table->mask;
        while (table->slots[slot])
            slot = (slot + 1) & table->mask;
        table->slots[slot] = s + 1;
    }
    return 0;
}

static int school_table_find(const struct school_table *table, const struct district_state *state,
                             const char *id, size_t length)
{
    size_t slot = (size_t)idhash(id, length) & table->mask;
    for (size_t index; (index = table->slots[slot]) != 0; slot = (slot + 1) & table->mask) {
        const char *candidate = district_state_school_id(state, index - 1);
        if (strncmp(candidate, id, length) == 0 && candidate[length] == '\0')
            return (int)(index - 1);
    }
    return -1;
}

/* Fills one period from "school/element" -> "id value" pairs. Cells of schools or elements
 * this catalog does not know are skipped (a catalog may drop an element). */
static int load_cells(struct district_cache *cache, struct district_state *state, int period,
                      const redisReply *pairs, const struct school_table *schools)
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
        int school = school_table_find(schools, state, field, (size_t)(slash - field));
        int element = find_element(cache, slash + 1);
        if (school < 0 || element < 0)
            continue;
        if (set_cell(cache, state, slot, (size_t)school, (size_t)element,
                     district_cache_parse_value(space + 1)) != 0)
            return -1;
    }
    return 0;
}

int district_cache_load(struct district_cache *cache, struct district_state *state,
                        const redisReply *dump, long long cellsver, long long registry)
{
    reset_state(cache, state);
    if (dump->type != REDIS_REPLY_ARRAY || dump->elements < 2 ||
        load_schools(cache, state, dump->element[0]) != 0)
        goto fail;
    const redisReply *periods = dump->element[1];
    if (periods->type != REDIS_REPLY_ARRAY || dump->elements != 2 + periods->elements)
        goto fail;
    struct school_table schools;
    if (school_table_build(&schools, state) != 0)
        goto fail;
    for (size_t p = 0; p < periods->elements; p++) {
        int period = atoi(periods->element[p]->str ? periods->element[p]->str : "0");
        if (load_cells(cache, state, period, dump->element[2 + p], &schools) != 0) {
            free(schools.slots);
            goto fail;
        }
    }
    free(schools.slots);
    state->cellsver = cellsver;
    state->registry = registry;
    state->loaded = true;
    cache->resident_bytes += state->bytes;
    if (cache->resident_bytes > cache->peak_bytes)
        cache->peak_bytes = cache->resident_bytes;
    link_newest(cache, state);
    cache->loads++;
    return 0;
fail:
    reset_state(cache, state);
    return -1;
}
