/* allocator_jemalloc.c -- allocator.h with jemalloc, linked into edumon-api. */
#include <stddef.h>

#include <jemalloc/jemalloc.h>

#include "allocator.h"

void allocator_configure(void)
{
    /* Nothing to set: jemalloc's defaults (thread caches, freed pages returned over 10 s)
     * suit the API. */
}

const char *allocator_name(void)
{
    static char name[96];
    if (!name[0]) {
        const char *version = NULL;
        size_t length = sizeof(version);
        /* Asked of the library that is running, not of the header compiled against. */
        if (mallctl("version", (void *)&version, &length, NULL, 0) != 0 || !version)
            version = "(version unknown)";
        size_t at = 0;
        for (const char *part = "jemalloc "; *part && at < sizeof(name) - 1; part++)
            name[at++] = *part;
        for (; *version && at < sizeof(name) - 1; version++)
            name[at++] = *version;
        name[at] = '\0';
    }
    return name;
}
