/* registry_cache.c -- see registry_cache.h. */
#include "registry_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_HEX 64

/* Copies a NUL-terminated id known to fit (checked by the callers) into a field of `size`. */
static void copy_id(char *out, size_t size, const char *id)
{
    size_t length = strnlen(id, size - 1);
    memcpy(out, id, length);
    out[length] = '\0';
}

struct token_slot {
    char hash[TOKEN_HEX + 1]; /* "" when empty */
    char school_id[SCHOOL_ID_MAX + 1];
};

struct school_slot {
    bool used;
    char id[SCHOOL_ID_MAX + 1];
    char district[SCHOOL_ID_MAX + 1];
    enum stage stage;
    enum ownership ownership;
};

struct registry_cache {
    size_t mask;
    struct token_slot *tokens;
    struct school_slot *schools;
};

struct registry_cache *registry_cache_new(size_t slots)
{
    size_t size = 1;
    while (size < slots && size < ((size_t)1 << 30))
        size <<= 1;
    struct registry_cache *cache = calloc(1, sizeof(*cache));
    if (!cache)
        return NULL;
    cache->mask = size - 1;
    cache->tokens = calloc(size, sizeof(*cache->tokens));
    cache->schools = calloc(size, sizeof(*cache->schools));
    if (!cache->tokens || !cache->schools) {
        registry_cache_free(cache);
        return NULL;
    }
    return cache;
}

void registry_cache_free(struct registry_cache *cache)
{
    if (!cache)
        return;
    free(cache->tokens);
    free(cache->schools);
    free(cache);
}

/* FNV-1a: school ids are short and chosen by people, so they need mixing; token hashes are
 * already uniform but go through the same function. */
static size_t slot_of(const struct registry_cache *cache, const char *text)
{
    uint64_t hash = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        hash = (hash ^ *p) * 1099511628211ull;
    return (size_t)hash & cache->mask;
}

static bool token_valid(const char *token_hash)
{
    return token_hash && strlen(token_hash) == TOKEN_HEX;
}

void registry_cache_put_token(struct registry_cache *cache, const char *token_hash,
                              const char *school_id)
{
    if (!token_valid(token_hash) || !school_id || strlen(school_id) > SCHOOL_ID_MAX)
        return;
    struct token_slot *slot = &cache->tokens[slot_of(cache, token_hash)];
    memcpy(slot->hash, token_hash, TOKEN_HEX + 1);
    copy_id(slot->school_id, sizeof(slot->school_id), school_id);
}

bool registry_cache_find_token(const struct registry_cache *cache, const char *token_hash,
                               char *school_id)
{
    if (!token_valid(token_hash))
        return false;
    const struct token_slot *slot = &cache->tokens[slot_of(cache, token_hash)];
    if (strcmp(slot->hash, token_hash) != 0)
        return false;
    copy_id(school_id, SCHOOL_ID_MAX + 1, slot->school_id);
    return true;
}

void registry_cache_forget_token(struct registry_cache *cache, const char *token_hash)
{
    if (!token_valid(token_hash))
        return;
    struct token_slot *slot = &cache->tokens[slot_of(cache, token_hash)];
    if (strcmp(slot->hash, token_hash) == 0)
        memset(slot, 0, sizeof(*slot));
}

void registry_cache_forget_school_tokens(struct registry_cache *cache, const char *school_id)
{
    for (size_t i = 0; i <= cache->mask; i++)
        if (cache->tokens[i].hash[0] && strcmp(cache->tokens[i].school_id, school_id) == 0)
            memset(&cache->tokens[i], 0, sizeof(cache->tokens[i]));
}

void registry_cache_put_school(struct registry_cache *cache, const struct school *school)
{
    if (!school->id[0] || strlen(school->id) > SCHOOL_ID_MAX)
        return;
    struct school_slot *slot = &cache->schools[slot_of(cache, school->id)];
    slot->used = true;
    copy_id(slot->id, sizeof(slot->id), school->id);
    copy_id(slot->district, sizeof(slot->district), school->district);
    slot->stage = school->stage;
    slot->ownership = school->ownership;
}

bool registry_cache_find_school(const struct registry_cache *cache, const char *school_id,
                                struct school *out)
{
    const struct school_slot *slot = &cache->schools[slot_of(cache, school_id)];
    if (!slot->used || strcmp(slot->id, school_id) != 0)
        return false;
    memset(out, 0, sizeof(*out));
    copy_id(out->id, sizeof(out->id), slot->id);
    copy_id(out->district, sizeof(out->district), slot->district);
    out->stage = slot->stage;
    out->ownership = slot->ownership;
    return true;
}
