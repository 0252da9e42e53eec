/* Unit tests for worker/district_cache.c: a dump loads into stage rows and expands to exactly
 * the dense matrix (strays included), accepted writes land, and the LRU keeps the copies
 * within the budget, evicting the least recently used first. Dumps are built by hand in the
 * shape the APPLY script returns (scripts.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "district_cache.h"

static redisReply *text(const char *value)
{
    redisReply *reply = calloc(1, sizeof(*reply));
    reply->type = REDIS_REPLY_STRING;
    reply->str = strdup(value);
    reply->len = strlen(value);
    return reply;
}

static redisReply *array(size_t count)
{
    redisReply *reply = calloc(1, sizeof(*reply));
    reply->type = REDIS_REPLY_ARRAY;
    reply->elements = count;
    reply->element = calloc(count ? count : 1, sizeof(redisReply *));
    return reply;
}

static void release(redisReply *reply)
{
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        release(reply->element[i]);
    free(reply->element);
    free(reply->str);
    free(reply);
}

static redisReply *school_record(const char *id, const char *stage)
{
    char json[256];
    snprintf(json, sizeof(json),
             "{\"id\":\"%s\",\"name\":\"School %s\",\"district\":\"test-county\","
             "\"stage\":\"%s\",\"ownership\":\"public\"}",
             id, id, stage);
    return text(json);
}

/* {schools {p-1 primary, k-1 kindergarten, office}, periods {2024}, cells of 2024}: p-1 has
 * students 120.5 and (a stray: primary may not report it) kg_children 7; k-1 kg_children 30;
 * a cell of an unknown school and one of an unknown element are skipped. */
static redisReply *sample_dump(void)
{
    redisReply *dump = array(3);
    redisReply *schools = array(6);
    schools->element[0] = text("p-1");
    schools->element[1] = school_record("p-1", "primary");
    schools->element[2] = text("k-1");
    schools->element[3] = school_record("k-1", "kindergarten");
    schools->element[4] = text("office");
    schools->element[5] = school_record("office", "office");
    dump->element[0] = schools;
    dump->element[1] = array(1);
    dump->element[1]->element[0] = text("2024");
    const char *cells[] = {"p-1/students",      "1700000000000-1 120.5", "p-1/kg_children",
                           "1700000000000-2 7", "k-1/kg_children",       "1700000000000-3 30",
                           "gone/students",     "1700000000000-4 1",     "k-1/dropped",
                           "1700000000000-5 1"};
    size_t count = sizeof(cells) / sizeof(*cells);
    dump->element[2] = array(count);
    for (size_t i = 0; i < count; i++)
        dump->element[2]->element[i] = text(cells[i]);
    return dump;
}

static struct catalog *load_fixture(void)
{
    char error[512];
    struct catalog *catalog =
        catalog_load(EDUMON_SOURCE_DIR "/tests/fixtures/catalog", error, sizeof(error));
    if (!catalog)
        fail_msg("%s", error);
    return catalog;
}

static double cell(const struct figures *figures, const struct district_state *state,
                   const struct catalog *catalog, const char *school, const char *element)
{
    int s = district_state_find_school(state, school), e = catalog_find_element(catalog, element);
    assert_true(s >= 0 && e >= 0);
    return *figures_at(figures, (size_t)s, (size_t)e);
}

static void loads_and_expands_exactly(void **unused)
{
    (void)unused;
    struct catalog *catalog = load_fixture();
    struct district_cache cache;
    assert_int_equal(district_cache_init(&cache, catalog, 1 << 20), 0);
    struct district_state *state = district_cache_get(&cache, "test-county");
    assert_non_null(state);
    assert_null(district_cache_get(&cache, "nowhere"));
    redisReply *dump = sample_dump();
    assert_int_equal(district_cache_load(&cache, state, dump, 7, 3), 0);
    assert_true(state->loaded);
    assert_int_equal(state->cellsver, 7);
    assert_int_equal(state->school_count, 3);
    assert_int_equal(state->period_count, 1);
    assert_int_equal(state->periods[0].stray_count, 1);
    assert_int_equal(cache.resident_bytes, state->bytes);

    struct figures figures;
    assert_int_equal(district_state_figures(&cache, state, 0, &figures), 0);
    assert_int_equal(figures.school_count, 3);
    /* The schools, kept as ids and names in one block, expand to full records in id order. */
    static const char *const ids[] = {"k-1", "office", "p-1"};
    static const enum stage stages[] = {STAGE_KINDERGARTEN, STAGE_OFFICE, STAGE_PRIMARY};
    for (size_t s = 0; s < 3; s++) {
        char name[64];
        snprintf(name, sizeof(name), "School %s", ids[s]);
        assert_string_equal(figures.schools[s].id, ids[s]);
        assert_string_equal(figures.schools[s].name, name);
        assert_string_equal(figures.schools[s].district, "test-county");
        assert_int_equal(figures.schools[s].stage, stages[s]);
        assert_int_equal(figures.schools[s].ownership, OWNERSHIP_PUBLIC);
        assert_string_equal(district_state_school_id(state, s), ids[s]);
        assert_string_equal(figures.schools[s].token_hash, "");
        assert_int_equal(district_state_find_school(state, ids[s]), (int)s);
    }
    assert_int_equal(district_state_find_school(state, "p-"), -1);
    assert_int_equal(district_state_find_school(state, "p-10"), -1);
    assert_true(cell(&figures, state, catalog, "p-1", "students") == 120.5);
    assert_true(cell(&figures, state, catalog, "p-1", "kg_children") == 7);
    assert_true(cell(&figures, state, catalog, "k-1", "kg_children") == 30);
    size_t reported = 0;
    for (size_t i = 0; i < figures.school_count * figures.element_count; i++)
        reported += !isnan(figures.values[i]);
    assert_int_equal(reported, 3);

    /* An accepted write, a new stray, and a new period. */
    int k = district_state_find_school(state, "k-1"), p = district_state_find_school(state, "p-1");
    int students = catalog_find_element(catalog, "students");
    int children = catalog_find_element(catalog, "kg_children");
    assert_int_equal(district_state_set(&cache, state, 2024, (size_t)k, (size_t)children, 31), 0);
    assert_int_equal(district_state_set(&cache, state, 2024, (size_t)k, (size_t)students, 2), 0);
    assert_int_equal(district_state_set(&cache, state, 2023, (size_t)p, (size_t)students, 99), 0);
    assert_int_equal(state->period_count, 2);
    assert_int_equal(state->periods[0].period, 2023);
    assert_int_equal(cache.resident_bytes, state->bytes);
    assert_int_equal(district_state_figures(&cache, state, 1, &figures), 0);
    assert_true(cell(&figures, state, catalog, "k-1", "kg_children") == 31);
    assert_true(cell(&figures, state, catalog, "k-1", "students") == 2);
    assert_int_equal(district_state_figures(&cache, state, 0, &figures), 0);
    assert_true(cell(&figures, state, catalog, "p-1", "students") == 99);
    assert_true(isnan(cell(&figures, state, catalog, "k-1", "kg_children")));
    /* Out of range: refused, and the copy is dropped rather than trusted. */
    assert_int_equal(district_state_set(&cache, state, 2024, 99, 0, 1), -1);
    assert_false(state->loaded);
    assert_int_equal(cache.resident_bytes, 0);

    release(dump);
    district_cache_free(&cache);
    catalog_free(catalog);
}

static void refuses_malformed_dumps(void **unused)
{
    (void)unused;
    struct catalog *catalog = load_fixture();
    struct district_cache cache;
    assert_int_equal(district_cache_init(&cache, catalog, 1 << 20), 0);
    struct district_state *state = district_cache_get(&cache, "test-county");
    redisReply *dump = sample_dump();
    redisReply *periods = dump->element[1];
    periods->elements = 2; /* claims two periods, carries one */
    assert_int_equal(district_cache_load(&cache, state, dump, 1, 1), -1);
    assert_false(state->loaded);
    assert_int_equal(cache.resident_bytes, 0);
    assert_null(cache.newest);
    periods->elements = 1;
    /* A record this build cannot read is skipped; the district still loads, its cells of
     * that school dropped with it. */
    redisReply *schools = dump->element[0];
    free(schools->element[1]->str);
    schools->element[1]->str = strdup("{\"id\":\"p-1\"}");
    schools->element[1]->len = strlen(schools->element[1]->str);
    assert_int_equal(district_cache_load(&cache, state, dump, 1, 1), 0);
    assert_int_equal(state->school_count, 2);
    assert_int_equal(district_state_find_school(state, "p-1"), -1);
    assert_string_equal(district_state_school_id(state, 0), "k-1");
    assert_string_equal(district_state_school_id(state, 1), "office");
    district_cache_evict(&cache, state);
    redisReply *empty = array(0);
    assert_int_equal(district_cache_load(&cache, state, empty, 1, 1), -1);
    release(empty);
    release(dump);
    district_cache_free(&cache);
    catalog_free(catalog);
}

static void evicts_least_recently_used(void **unused)
{
    (void)unused;
    struct catalog *catalog = load_fixture();
    struct district_cache cache;
    assert_int_equal(district_cache_init(&cache, catalog, 0), 0);
    struct district_state *test = district_cache_get(&cache, "test-county");
    struct district_state *other = district_cache_get(&cache, "other-county");
    redisReply *dump = sample_dump();
    assert_int_equal(district_cache_load(&cache, test, dump, 1, 1), 0);
    size_t one = test->bytes;
    cache.budget_bytes = one + one / 2; /* room for one copy, not two */
    assert_int_equal(district_cache_load(&cache, other, dump, 1, 1), 0);
    assert_int_equal(cache.peak_bytes, 2 * one); /* over the budget until the trim */
    assert_ptr_equal(cache.oldest, test);
    district_cache_touch(&cache, test);
    assert_ptr_equal(cache.oldest, other);
    assert_int_equal(district_cache_trim(&cache), 1);
    assert_false(other->loaded);
    assert_true(test->loaded);
    assert_int_equal(cache.resident_bytes, one);
    assert_int_equal(cache.evictions, 1);
    /* Within the budget nothing goes; with none, everything. */
    assert_int_equal(district_cache_trim(&cache), 0);
    cache.budget_bytes = 0;
    assert_int_equal(district_cache_trim(&cache), 1);
    assert_int_equal(cache.resident_bytes, 0);
    assert_null(cache.oldest);
    assert_null(cache.newest);
    /* Reloading after an eviction gives the same figures. */
    assert_int_equal(district_cache_load(&cache, test, dump, 2, 1), 0);
    struct figures figures;
    assert_int_equal(district_state_figures(&cache, test, 0, &figures), 0);
    assert_true(cell(&figures, test, catalog, "p-1", "students") == 120.5);
    assert_int_equal(cache.loads, 3);
    assert_int_equal(cache.peak_bytes, 2 * one);
    release(dump);
    district_cache_free(&cache);
    catalog_free(catalog);
}

/* Whole numbers skip strtod: the doubles must be the very same, sign of zero included. */
static void parses_values_exactly(void **unused)
{
    (void)unused;
    const char *texts[] = {"0",
                           "-0",
                           "120",
                           "-5",
                           "7",
                           "123456789012345",
                           "-123456789012345",
                           "1234567890123456",
                           "0.10000000000000001",
                           "12.5",
                           "1e+20",
                           "-2.5e-05",
                           "9007199254740993"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        double want = strtod(texts[i], NULL), got = district_cache_parse_value(texts[i]);
        if (memcmp(&want, &got, sizeof(double)) != 0)
            fail_msg("%s: %.17g, want %.17g", texts[i], got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_and_expands_exactly), cmocka_unit_test(refuses_malformed_dumps),
        cmocka_unit_test(evicts_least_recently_used), cmocka_unit_test(parses_values_exactly)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
