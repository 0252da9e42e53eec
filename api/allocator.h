/* allocator.h -- the API's heap allocator, chosen at build time (CMake option EDUMON_JEMALLOC).
 *
 * jemalloc (the default; Debian's libjemalloc, the allocator Redis itself uses) is linked into
 * edumon-api only and serves every malloc of the process, evhttp's and hiredis' included.
 * evhttp allocates ~40 blocks per request (the request, its header lists and their strings,
 * its buffers' chains); with glibc those were ~20 % of the API's instructions per
 * submission. The worker keeps glibc: it bounds its memory with malloc_trim.
 *
 * Without jemalloc (sanitizer builds, which bring their own allocator, or -DEDUMON_JEMALLOC=OFF)
 * glibc's malloc is kept and told to give the heap's top back only past 4 MiB free.
 *
 * allocator_configure() is called once, before any thread starts; allocator_name() names
 * the allocator actually running, for the startup log ("jemalloc 5.3.0-…", "glibc"). */
#ifndef EDUMON_ALLOCATOR_H
#define EDUMON_ALLOCATOR_H

void allocator_configure(void);
const char *allocator_name(void);

#endif
