/* allocator_jemalloc.c -- allocator.h with jemalloc, linked into edumon-api. */
#include <stddef.h>
#include <stdio.h>

#include <jemalloc/jemalloc.h>

#include "allocator.h"

void allocator_configure(void)
{
    /* Nothing to set: jemalloc's defaults (an arena per CPU, thread caches, freed pages
     * returned over 10 s). narenas:1 with no decay delay saved 0.2 MiB of the national
     * round's peak (docs/performance.md, 2026-12-08): not worth a setting. */
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
        snprintf(name, sizeof(name), "jemalloc %s", version);
    }
    return name;
}
