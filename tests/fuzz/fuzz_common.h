/* fuzz_common.h -- helpers shared by the libFuzzer targets.
 *
 * FUZZ_CHECK(condition, ...) states an invariant of the code under test: when it does not
 * hold, the message is printed and the target aborts, so libFuzzer saves the input as a
 * crash reproducer like any sanitizer finding. */
#ifndef EDUMON_FUZZ_COMMON_H
#define EDUMON_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

#define FUZZ_CHECK(condition, ...)                                                                 \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "\ninvariant failed at %s:%d: %s\n  ", __FILE__, __LINE__,             \
                    #condition);                                                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (a fresh heap copy, so ASan sees overreads). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* The catalog directory: $EDUMON_CATALOG, else the shipped one in the source tree. */
static inline const char *fuzz_catalog_dir(void)
{
    const char *directory = getenv("EDUMON_CATALOG");
    return directory && *directory ? directory : EDUMON_SOURCE_DIR "/deploy/catalog";
}

static inline struct catalog *fuzz_load_catalog(void)
{
    char error[512];
    struct catalog *catalog = catalog_load(fuzz_catalog_dir(), error, sizeof(error));
    if (!catalog) {
        fprintf(stderr, "fuzz: cannot load the catalog %s: %s\n", fuzz_catalog_dir(), error);
        abort();
    }
    return catalog;
}

/* Reference UTF-8 check (Unicode table 3-7, well-formed byte sequences), written without
 * looking at school.c's, for differential checks. */
static inline int fuzz_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        unsigned lo = 0x80, hi = 0xBF;
        size_t extra;
        if (c <= 0x7F) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c == 0xE0) {
            extra = 2, lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            extra = 2;
        } else if (c == 0xED) {
            extra = 2, hi = 0x9F;
        } else if (c == 0xF0) {
            extra = 3, lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            extra = 3;
        } else if (c == 0xF4) {
            extra = 3, hi = 0x8F;
        } else {
            return 0;
        }
        if (i + extra >= n) /* the sequence runs past the end */
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= extra; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += extra + 1;
    }
    return 1;
}

#endif
