/* idhash.h -- the hash of a short identifier, for the open-addressed and direct-mapped tables
 * that find schools, districts, elements and indicators by id.
 *
 * Ids are short and chosen by people ("d00-kpu001", "d00-kpu002", ...): they differ in a
 * character or two, and a table takes only the low bits of the hash. The text is taken 8 bytes
 * at a time (xor, multiply, fold), its length mixed in, and the state goes through MurmurHash3's
 * finaliser, after which every input bit affects every output bit (FNV-1a alone, used until
 * 2026-12-07 with the same finaliser, left the low bits poorly mixed: 200 of the benchmark's
 * school ids fell into 173 of 4 096 slots). Not for untrusted keys an attacker can choose in
 * bulk. In-memory tables only: the value may differ between machines (byte order). Pure code. */
#ifndef EDUMON_COMMON_IDHASH_H
#define EDUMON_COMMON_IDHASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of the first `length` bytes of `text`. */
uint64_t idhash(const char *text, size_t length);

/* The hash of the NUL-terminated `text`. */
uint64_t idhash_string(const char *text);

#endif
