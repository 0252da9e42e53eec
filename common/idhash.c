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

uint64_t idhash(const char *text, size_t length)
{
    uint64_t hash = 1469598103934665603ull; /* FNV-1a, 64 bits */
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ (unsigned char)text[i]) * 1099511628211ull;
    return finalise(hash);
}

uint64_t idhash_string(const char *text)
{
    return idhash(text, strlen(text));
}
