/* idhash.c -- see idhash.h. */
#include "idhash.h"

#include <string.h>

/* MurmurHash3's fmix64. */
static uint64_t finalise(uint64_t hash)
{
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdull;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ull;
    hash ^= hash >> 33;
    return hash;
}

/* One step over 8 bytes: xor them in, multiply (every bit moves upward), fold the high half
 * down so that the next step's multiplication carries it up again. */
static uint64_t absorb(uint64_t hash, uint64_t word)
{
    hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
    return hash ^ (hash >> 32);
}

uint64_t idhash(const char *text, size_t length)
{
    /* Eight bytes a step, not one (FNV-1a's dependent multiplication per byte was ~100
     * cycles for a 22-character element id, 30 of them per submission). */
    uint64_t hash = 0xcbf29ce484222325ull ^ length;
    for (; length >= 8; text += 8, length -= 8) {
        uint64_t word;
        memcpy(&word, text, 8);
        hash = absorb(hash, word);
    }
    if (length > 0) {
        uint64_t word = 0;
        memcpy(&word, text, length);
        hash = absorb(hash, word);
    }
    return finalise(hash);
}

uint64_t idhash_string(const char *text)
{
    return idhash(text, strlen(text));
}
