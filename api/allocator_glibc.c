/* allocator_glibc.c -- allocator.h with glibc's malloc. */
#include <malloc.h>

#include "allocator.h"

void allocator_configure(void)
{
    /* The heap's top is given back to the kernel only past 4 MiB free (glibc's default,
     * 128 KiB, is crossed every time a burst of requests ends: under intake, brk grew and
     * shrank the heap several times a millisecond, 2.5 % of the API's CPU). */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

const char *allocator_name(void)
{
    return "glibc";
}
