/* catalog.h -- what edumon knows about plans: districts, the elements schools and offices
 * report, the indicators computed from them, and each district's targets.
 *
 * The catalog is a directory of JSON files (docs/catalog-format.md) loaded once at start-up
 * and immutable afterwards, so both processes can share pointers into it freely. Loading
 * validates everything (unknown references, duplicate ids, bad ops, impossible bounds) and
 * refuses with one message naming the file and field; a process never runs on a catalog it
 * could misread. The SHA-256 of the files identifies the catalog in every snapshot, so an API
 * and a worker running different catalogs are visible. */
#ifndef EDUMON_CATALOG_H
#define EDUMON_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "school.h"

struct balance_rules; /* balance.h */

enum element_type { ELEMENT_INTEGER, ELEMENT_NUMBER, ELEMENT_BOOLEAN };

struct element {
    const char *id, *name, *name_en, *unit;
    enum element_type type;
    double min, max;
    unsigned stages; /* bit (1u << stage) for each stage that may report it */
    bool office;     /* reported by the district office: counts whatever the stage filter */
    bool has_typical;
    double typical_low, typical_high;
};

enum indicator_kind { KIND_SUM, KIND_RATIO, KIND_COVERAGE, KIND_LATEST, KIND_CV };

enum compare_op { COMPARE_GE, COMPARE_LE, COMPARE_GT, COMPARE_LT, COMPARE_EQ };

struct indicator {
    const char *id, *name, *name_en, *unit;
    enum indicator_kind kind;
    int element, numerator, denominator, weight; /* element indexes, -1 when unused */
    double factor;
    enum compare_op condition_op;
    double condition_value;
    unsigned stage_filter;     /* bit per stage admitted; all bits when no filter */
    unsigned ownership_filter; /* bit per ownership admitted */
    /* The op of the first district (catalog order) that targets it: -1 lower is better ("<=",
     * "delta<="), +1 otherwise, 0 when no district does (comparisons rank by it). */
    int target_direction;
};

enum target_op {
    TARGET_GE,
    TARGET_LE,
    TARGET_EQ,
    TARGET_BETWEEN,
    TARGET_DELTA_GE, /* change against the previous period at least `value` */
    TARGET_DELTA_LE  /* change against the previous period at most `value` */
};

struct milestone {
    int year;
    double value;
};

/* One target of a district's plan. Laid out small (48 bytes): a national catalog holds ~80 000
 * of them in each process. */
struct target {
    double value; /* the goal; for TARGET_BETWEEN the lower bound */
    double max;   /* TARGET_BETWEEN: the upper bound */
    double baseline_value;
    const struct milestone *milestones; /* ascending by year */
    int indicator;                      /* index into the catalog's indicators */
    enum target_op op;
    short year, baseline_year;      /* 1990..2100, as the loader checks */
    unsigned short milestone_count; /* ascending years in 1990..2100: at most 111 */
    bool has_baseline;
    bool cumulative; /* compare the sum over plan years up to the period */
};

struct district {
    const char *id, *name, *name_en;
    int plan_first_year, plan_last_year;
    /* None with catalog_load_packed (read them with catalog_district_targets); NULL when
     * target_count is 0. */
    const struct target *targets;
    size_t target_count;
    const cJSON *definition; /* the district file (catalog_load only; else NULL): serve it with
                              * catalog_district_json */
};

struct catalog {
    const struct element *elements;
    size_t element_count;
    const struct indicator *indicators;
    size_t indicator_count;
    const struct district *districts;
    size_t district_count;
    const cJSON *balance; /* balance.json, or NULL when absent */
    /* balance.json parsed and validated (balance.h), or NULL when absent */
    const struct balance_rules *balance_rules;
    char hash[65]; /* hex SHA-256 over the files, in name order */
    /* Pre-rendered bodies of the catalog read endpoints (immutable, so built once);
     * districts_body is NULL when loaded with catalog_load_compact. */
    const char *elements_body, *indicators_body, *districts_body;
};

/* Loads and validates the catalog in `directory`. Returns a catalog the caller frees with
 * catalog_free(), or NULL with a one-line reason in `error`. */
struct catalog *catalog_load(const char *directory, char *error, size_t error_size);
void catalog_free(struct catalog *catalog);

/* As catalog_load, for a process that does not serve the district files (the worker): each
 * district's file tree is freed as soon as the district is read, so `definition` is NULL
 * (id, name and name_en are copies), and there is no districts body. The trees are most of a big
 * catalog's memory (~35 KB of cJSON per district: ~97 MB at 2 800 districts); freeing them after
 * loading would not lower the peak, nor the resident size (the heap stays fragmented). */
struct catalog *catalog_load_compact(const char *directory, char *error, size_t error_size);

/* As catalog_load_compact, for a process that serves the district files (the API): each file
 * is kept as its compact JSON, deflated (~1 KB per district instead of ~35 KB of tree), and the
 * targets are validated but not kept (~1.4 KB per district: 3.9 MB at 2 800 districts, for a
 * process that needs them only to show a district without figures): district->targets is NULL
 * and target_count 0; catalog_district_targets reads them back. */
struct catalog *catalog_load_packed(const char *directory, char *error, size_t error_size);

/* District `district`'s file as compact JSON (cJSON_PrintUnformatted of it), from its tree or
 * its packed copy; the caller frees it with cJSON_free(). NULL when out of memory, or when the
 * catalog was loaded with catalog_load_compact. */
char *catalog_district_json(const struct catalog *catalog, int district);

/* District `district`'s targets, in the file's order, as one block the caller frees with free()
 * (their milestones inside it): a copy, or with catalog_load_packed the district's packed file
 * read again (~60 µs). *targets is NULL when *count is 0. Returns 0, or -1 when `district` is
 * out of range or memory runs out. */
int catalog_district_targets(const struct catalog *catalog, int district, struct target **targets,
                             size_t *count);

/* Lookups return an index, or -1 when the id is unknown. */
int catalog_find_element(const struct catalog *catalog, const char *id);
int catalog_find_indicator(const struct catalog *catalog, const char *id);
int catalog_find_district(const struct catalog *catalog, const char *id);

const char *indicator_kind_name(enum indicator_kind kind);
const char *target_op_name(enum target_op op);
const char *compare_op_name(enum compare_op op);
bool compare_holds(enum compare_op op, double left, double right);

#endif
