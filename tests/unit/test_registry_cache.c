/* Unit tests for api/registry_cache.c: tokens and records kept, replaced, forgotten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry_cache.h"

static void hash_of(int n, char *out)
{
    /* 64 hex digits, distinct per n */
    snprintf(out, 65, "%064x", (unsigned)n * 2654435761u);
}

static struct school school_of(const char *id, const char *district, enum stage stage)
{
    struct school school;
    memset(&school, 0, sizeof(school));
    /* The precision bounds what GCC -O3 sees: it otherwise takes a row of a caller's id
     * array for the whole array and warns (-Wformat-truncation). */
    snprintf(school.id, sizeof(school.id), "%.*s", (int)sizeof(school.id) - 1, id);
    snprintf(school.district, sizeof(school.district), "%.*s", (int)sizeof(school.district) - 1,
             district);
    snprintf(school.name, sizeof(school.name), "%s", "某某小学");
    snprintf(school.token_hash, sizeof(school.token_hash), "%064d", 7);
    school.stage = stage;
    school.ownership = OWNERSHIP_PRIVATE;
    return school;
}

static void tokens(void **state)
{
    (void)state;
    struct registry_cache *cache = registry_cache_new(100); /* 128 slots */
    assert_non_null(cache);
    char hash[65], other[65], id[SCHOOL_ID_MAX + 1];
    hash_of(1, hash);
    hash_of(2, other);
    assert_false(registry_cache_find_token(cache, hash, id));
    registry_cache_put_token(cache, hash, "xq-001");
    assert_true(registry_cache_find_token(cache, hash, id));
    assert_string_equal(id, "xq-001");
    assert_false(registry_cache_find_token(cache, other, id));
    /* Malformed hashes and ids are neither kept nor found. */
    registry_cache_put_token(cache, "abc", "xq-002");
    assert_false(registry_cache_find_token(cache, "abc", id));
    char long_id[SCHOOL_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    registry_cache_put_token(cache, other, long_id);
    assert_false(registry_cache_find_token(cache, other, id));
    /* Forgetting one token leaves the others. */
    registry_cache_put_token(cache, other, "xq-002");
    registry_cache_forget_token(cache, hash);
    assert_false(registry_cache_find_token(cache, hash, id));
    assert_true(registry_cache_find_token(cache, other, id));
    registry_cache_forget_token(cache, hash); /* twice: harmless */
    registry_cache_free(cache);
}

static void rotation_forgets_every_token_of_the_school(void **state)
{
    (void)state;
    struct registry_cache *cache = registry_cache_new(1024);
    char hash[65], id[SCHOOL_ID_MAX + 1];
    for (int n = 0; n < 40; n++) {
        hash_of(n, hash);
        registry_cache_put_token(cache, hash, n % 2 ? "odd" : "even");
    }
    registry_cache_forget_school_tokens(cache, "odd");
    int odd = 0, even = 0;
    for (int n = 0; n < 40; n++) {
        hash_of(n, hash);
        if (registry_cache_find_token(cache, hash, id)) {
            assert_string_equal(id, "even");
            even++;
        } else if (n % 2) {
            odd++;
        }
    }
    assert_int_equal(odd, 20);
    assert_true(even > 0 && even <= 20); /* some may share a slot: the newer one stays */
    registry_cache_free(cache);
}

static void bounded_by_slots(void **state)
{
    (void)state;
    struct registry_cache *cache = registry_cache_new(8);
    char hash[65], id[SCHOOL_ID_MAX + 1];
    for (int n = 0; n < 1000; n++) {
        hash_of(n, hash);
        registry_cache_put_token(cache, hash, "s");
    }
    int kept = 0;
    for (int n = 0; n < 1000; n++) {
        hash_of(n, hash);
        kept += registry_cache_find_token(cache, hash, id);
    }
    assert_true(kept >= 1 && kept <= 8);
    hash_of(999, hash); /* the last one put always stays */
    assert_true(registry_cache_find_token(cache, hash, id));
    registry_cache_free(cache);
}

/* Ids as schools name them, differing in a digit or two: a working set well under the
 * cache's size stays whole, however it is visited. With one slot per hash (and FNV-1a's
 * low bits), 52 of these 200 ids shared a slot and pushed each other out. */
static void a_small_working_set_stays(void **state)
{
    (void)state;
    struct registry_cache *cache = registry_cache_new(4096);
    static const char *const kinds[] = {"opu", "kpu", "ppu", "jpu", "kpr", "ppr"};
    char ids[200][SCHOOL_ID_MAX + 1];
    for (int n = 0; n < 200; n++)
        snprintf(ids[n], sizeof(ids[n]), "d%02d-%s%03d", n % 5, kinds[n % 6], n / 6 + 1);
    for (int round = 0; round < 3; round++) {
        for (int n = 0; n < 200; n++) {
            struct school school = school_of(ids[n], "yinchuan-xingqing", STAGE_PRIMARY);
            registry_cache_put_school(cache, &school);
            char hash[65];
            hash_of(n, hash);
            registry_cache_put_token(cache, hash, ids[n]);
        }
    }
    for (int n = 0; n < 200; n++) {
        struct school found;
        char hash[65], id[SCHOOL_ID_MAX + 1];
        assert_true(registry_cache_find_school(cache, ids[n], &found));
        assert_string_equal(found.id, ids[n]);
        hash_of(n, hash);
        assert_true(registry_cache_find_token(cache, hash, id));
        assert_string_equal(id, ids[n]);
    }
    registry_cache_free(cache);
}

/* Five ids in a cache of one set of four: every put finds room, the fifth replaces one of
 * the four, and what is found is always the record put for that id. */
static void a_full_set_gives_up_one_way(void **state)
{
    (void)state;
    struct registry_cache *cache = registry_cache_new(4);
    const char *ids[] = {"a1", "a2", "a3", "a4", "a5"};
    for (int n = 0; n < 4; n++) {
        struct school school = school_of(ids[n], "d", STAGE_PRIMARY);
        registry_cache_put_school(cache, &school);
    }
    struct school found;
    for (int n = 0; n < 4; n++)
        assert_true(registry_cache_find_school(cache, ids[n], &found));
    struct school fifth = school_of("a5", "e", STAGE_JUNIOR);
    registry_cache_put_school(cache, &fifth);
    assert_true(registry_cache_find_school(cache, "a5", &found));
    assert_string_equal(found.district, "e");
    int kept = 0;
    for (int n = 0; n < 4; n++)
        kept += registry_cache_find_school(cache, ids[n], &found);
    assert_int_equal(kept, 3);
    struct school again = school_of("a5", "f", STAGE_JUNIOR); /* same id: replaced in place */
    registry_cache_put_school(cache, &again);
    assert_true(registry_cache_find_school(cache, "a5", &found));
    assert_string_equal(found.district, "f");
    kept = 0;
    for (int n = 0; n < 4; n++)
        kept += registry_cache_find_school(cache, ids[n], &found);
    assert_int_equal(kept, 3);
    registry_cache_free(cache);
}

static void schools(void **state)
{
    (void)state;
    struct registry_cache *cache = registry_cache_new(64);
    struct school found, junior = school_of("xq-j1", "yinchuan-xingqing", STAGE_JUNIOR);
    assert_false(registry_cache_find_school(cache, "xq-j1", &found));
    registry_cache_put_school(cache, &junior);
    assert_true(registry_cache_find_school(cache, "xq-j1", &found));
    assert_string_equal(found.id, "xq-j1");
    assert_string_equal(found.district, "yinchuan-xingqing");
    assert_int_equal(found.stage, STAGE_JUNIOR);
    assert_int_equal(found.ownership, OWNERSHIP_PRIVATE);
    assert_string_equal(found.token_hash, ""); /* never kept */
    assert_string_equal(found.name, "");
    assert_false(registry_cache_find_school(cache, "xq-j2", &found));
    struct school nameless = school_of("", "d", STAGE_PRIMARY);
    registry_cache_put_school(cache, &nameless);
    assert_false(registry_cache_find_school(cache, "", &found));
    registry_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens),
        cmocka_unit_test(rotation_forgets_every_token_of_the_school),
        cmocka_unit_test(bounded_by_slots),
        cmocka_unit_test(a_small_working_set_stays),
        cmocka_unit_test(a_full_set_gives_up_one_way),
        cmocka_unit_test(schools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
