/* registry_cache.h -- the API's bounded in-process copy of the school registry, so that a
 * submission costs one Redis round trip (the SUBMIT script) instead of three.
 *
 * Two tables of fixed size, 4-way set-associative (an entry may sit in any of the 4 slots of
 * the set its id's hash picks; a newer entry in a full set replaces one of them): token hash
 * -> the school id it belongs to, and school id -> the school's record.
 * What makes a stale entry harmless:
 *   - records never change once registered (school.h), except for the token hash, which the
 *     cached record does not carry;
 *   - a token rotated elsewhere (another API replica) may still be found here, but the SUBMIT
 *     script re-checks the token against Redis in the same atomic step as the XADD and refuses
 *     it; the caller then forgets the token. Rotation in this process forgets it at once.
 * Only tokens Redis has confirmed are kept: an unknown token always costs a Redis lookup.
 * Pure code: no I/O. */
#ifndef EDUMON_API_REGISTRY_CACHE_H
#define EDUMON_API_REGISTRY_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "school.h"

struct registry_cache;

/* `slots` entries in each table (rounded up to a power of two). NULL when out of memory. */
struct registry_cache *registry_cache_new(size_t slots);
void registry_cache_free(struct registry_cache *cache);

/* Token hashes are the 64 hex digits of token_hash(). */
void registry_cache_put_token(struct registry_cache *cache, const char *token_hash,
                              const char *school_id);
/* The school id the token belongs to, copied into `school_id` (SCHOOL_ID_MAX + 1 bytes);
 * false when not kept. */
bool registry_cache_find_token(const struct registry_cache *cache, const char *token_hash,
                               char *school_id);
void registry_cache_forget_token(struct registry_cache *cache, const char *token_hash);
/* Forgets every token kept for the school (its token was rotated). */
void registry_cache_forget_school_tokens(struct registry_cache *cache, const char *school_id);

void registry_cache_put_school(struct registry_cache *cache, const struct school *school);
/* The record (without token hash or name) copied into `out`; false when not kept. */
bool registry_cache_find_school(const struct registry_cache *cache, const char *school_id,
                                struct school *out);

#endif
