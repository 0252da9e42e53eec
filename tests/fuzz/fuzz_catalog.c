/* fuzz_catalog.c -- catalog_load, which is file based: the catalog is a directory. The target
 * keeps a private copy of the shipped catalog in a temporary directory (elements.json,
 * indicators.json, balance.json, and one district file) and, for each input, replaces one of
 * those files with the input, chosen by the first byte:
 *   0 districts/<id>.json (a district: plan, targets, milestones...)   1 balance.json
 *   2 elements.json   3 indicators.json
 * then loads the directory. Loading must either fail with a one-line, terminated reason or
 * give a catalog whose references are all in range; it never crashes or leaks. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "jsonutil.h"

static char directory[256];
/* The district file must be named after the district's id. */
static char district_file[160];
static const char *file_names[] = {district_file, "balance.json", "elements.json",
                                   "indicators.json"};
static char *originals[4];
static size_t original_lengths[4];
static int dirty = -1; /* the file the previous input replaced */

static void write_file(int which, const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", directory, file_names[which]);
    FILE *file = fopen(path, "wb");
    if (!file || (size && fwrite(data, 1, size, file) != size) || fclose(file) != 0) {
        fprintf(stderr, "fuzz_catalog: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
}

static void remove_directory(void)
{
    char path[512];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", directory, file_names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/districts", directory);
    rmdir(path);
    rmdir(directory);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *source = fuzz_catalog_dir();
    const char *district = getenv("FUZZ_CATALOG_DISTRICT");
    char path[512];
    snprintf(district_file, sizeof(district_file), "districts/%s.json",
             district ? district : "yinchuan-xingqing");
    const char *sources[4] = {NULL, "balance.json", "elements.json", "indicators.json"};
    for (int i = 0; i < 4; i++) {
        if (i == 0)
            snprintf(path, sizeof(path), "%s/districts/%s.json", source,
                     district ? district : "yinchuan-xingqing");
        else
            snprintf(path, sizeof(path), "%s/%s", source, sources[i]);
        originals[i] = json_read_file(path, &original_lengths[i]);
        if (!originals[i]) {
            fprintf(stderr, "fuzz_catalog: cannot read %s\n", path);
            abort();
        }
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(directory, sizeof(directory), "%s/edumon-fuzz-catalog-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(directory))
        abort();
    snprintf(path, sizeof(path), "%s/districts", directory);
    if (mkdir(path, 0700) != 0)
        abort();
    for (int i = 0; i < 4; i++)
        write_file(i, (const uint8_t *)originals[i], original_lengths[i]);
    atexit(remove_directory);
    char error[512];
    struct catalog *catalog = catalog_load(directory, error, sizeof(error));
    if (!catalog) {
        fprintf(stderr, "fuzz_catalog: the unmodified copy does not load: %s\n", error);
        abort();
    }
    catalog_free(catalog);
    return 0;
}

static void check_catalog(const struct catalog *catalog)
{
    for (size_t i = 0; i < catalog->indicator_count; i++) {
        const struct indicator *indicator = &catalog->indicators[i];
        int references[] = {indicator->element, indicator->numerator, indicator->denominator,
                            indicator->weight};
        for (size_t r = 0; r < 4; r++)
            FUZZ_CHECK(references[r] >= -1 && references[r] < (int)catalog->element_count,
                       "indicator %s refers to element %d", indicator->id, references[r]);
    }
    for (size_t d = 0; d < catalog->district_count; d++) {
        const struct district *district = &catalog->districts[d];
        FUZZ_CHECK(district->id && district->plan_first_year <= district->plan_last_year,
                   "district plan years %d..%d", district->plan_first_year,
                   district->plan_last_year);
        for (size_t t = 0; t < district->target_count; t++) {
            const struct target *target = &district->targets[t];
            FUZZ_CHECK(target->indicator >= 0 &&
                           (size_t)target->indicator < catalog->indicator_count,
                       "target refers to indicator %d", target->indicator);
            for (size_t m = 1; m < target->milestone_count; m++)
                FUZZ_CHECK(target->milestones[m - 1].year < target->milestones[m].year,
                           "milestones not ascending");
        }
    }
    FUZZ_CHECK(strlen(catalog->hash) == 64, "hash \"%s\"", catalog->hash);
    FUZZ_CHECK(catalog->elements_body && catalog->indicators_body && catalog->districts_body,
               "bodies not rendered");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 4;
    if (dirty >= 0 && dirty != which)
        write_file(dirty, (const uint8_t *)originals[dirty], original_lengths[dirty]);
    write_file(which, data + 1, size - 1);
    dirty = which;
    char error[512];
    memset(error, 'x', sizeof(error));
    struct catalog *catalog = catalog_load(directory, error, sizeof(error));
    if (!catalog) {
        FUZZ_CHECK(memchr(error, 0, sizeof(error)) && error[0], "no terminated reason");
        FUZZ_CHECK(!strchr(error, '\n'), "reason on more than one line: %s", error);
        return 0;
    }
    check_catalog(catalog);
    catalog_free(catalog);
    return 0;
}
