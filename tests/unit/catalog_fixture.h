/* catalog_fixture.h -- a small catalog written to a temporary directory, for unit tests.
 * Each kind of indicator appears once; tests may replace one file to make it invalid. */
#ifndef EDUMON_TEST_CATALOG_FIXTURE_H
#define EDUMON_TEST_CATALOG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE_ELEMENTS                                                                           \
    "{\"elements\":["                                                                              \
    "{\"id\":\"students\",\"name\":\"在校学生数\",\"type\":\"integer\",\"unit\":\"人\","     \
    "\"min\":0,\"max\":10000,\"stages\":[\"primary\",\"junior\",\"kindergarten\"]},"               \
    "{\"id\":\"area\",\"name\":\"面积\",\"type\":\"number\",\"unit\":\"m2\",\"min\":0,"          \
    "\"max\":1e6,\"stages\":[\"primary\",\"junior\"]},"                                            \
    "{\"id\":\"kids\",\"name\":\"在园幼儿\",\"type\":\"integer\",\"min\":0,\"max\":5000,"      \
    "\"stages\":[\"kindergarten\"]},"                                                              \
    "{\"id\":\"has_mh\",\"name\":\"心理教师\",\"type\":\"boolean\","                           \
    "\"stages\":[\"primary\",\"junior\",\"kindergarten\"]},"                                       \
    "{\"id\":\"population\",\"name\":\"适龄人口\",\"type\":\"integer\",\"min\":0,\"max\":1e7," \
    "\"stages\":[\"office\"],\"reporter\":\"office\"},"                                            \
    "{\"id\":\"rank\",\"name\":\"排名\",\"type\":\"integer\",\"min\":1,\"max\":100,"             \
    "\"stages\":[\"office\"],\"reporter\":\"office\"}]}"

#define FIXTURE_INDICATORS                                                                         \
    "{\"indicators\":["                                                                            \
    "{\"id\":\"pupils\",\"kind\":\"sum\",\"name\":\"学生\",\"element\":\"students\"},"           \
    "{\"id\":\"enrolment\",\"kind\":\"ratio\",\"name\":\"入园率\",\"unit\":\"%\","              \
    "\"numerator\":\"kids\",\"denominator\":\"population\",\"factor\":100,"                        \
    "\"filter\":{\"stages\":[\"kindergarten\"]}},"                                                 \
    "{\"id\":\"mh\",\"kind\":\"coverage\",\"name\":\"覆盖\",\"unit\":\"%\",\"element\":\"has_"   \
    "mh\","                                                                                        \
    "\"condition\":{\"op\":\">=\",\"value\":1},"                                                   \
    "\"filter\":{\"stages\":[\"primary\",\"junior\"],\"ownership\":[\"public\"]}},"                \
    "{\"id\":\"city_rank\",\"kind\":\"latest\",\"name\":\"排名\",\"element\":\"rank\"},"         \
    "{\"id\":\"area_cv\",\"kind\":\"cv\",\"name\":\"差异系数\",\"numerator\":\"area\","        \
    "\"denominator\":\"students\",\"weight\":\"students\",\"filter\":{\"stages\":[\"primary\"]}}]" \
    "}"

#define FIXTURE_DISTRICT                                                                           \
    "{\"id\":\"test-county\",\"name\":\"测试县\",\"plan\":{\"years\":[2021,2025]},"             \
    "\"targets\":["                                                                                \
    "{\"indicator\":\"enrolment\",\"op\":\">=\",\"value\":90,\"year\":2025,"                       \
    "\"baseline\":{\"year\":2020,\"value\":80}},"                                                  \
    "{\"indicator\":\"mh\",\"op\":\">=\",\"value\":100,\"year\":2025,"                             \
    "\"milestones\":[{\"year\":2023,\"value\":50}]},"                                              \
    "{\"indicator\":\"city_rank\",\"op\":\"<=\",\"value\":3,\"year\":2025},"                       \
    "{\"indicator\":\"area_cv\",\"op\":\"<=\",\"value\":0.5,\"year\":2025},"                       \
    "{\"indicator\":\"pupils\",\"op\":\">=\",\"value\":1000,\"year\":2025,\"cumulative\":true}]}"

static inline void fixture_write(const char *directory, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", directory, name);
    FILE *file = fopen(path, "w");
    if (!file)
        abort();
    fputs(text, file);
    fclose(file);
}

/* Writes the fixture into a new temporary directory (returned in `directory`). */
static inline void fixture_create(char *directory)
{
    strcpy(directory, "/tmp/edumon-catalog-XXXXXX");
    if (!mkdtemp(directory))
        abort();
    char districts[512];
    snprintf(districts, sizeof(districts), "%s/districts", directory);
    mkdir(districts, 0700);
    fixture_write(directory, "elements.json", FIXTURE_ELEMENTS);
    fixture_write(directory, "indicators.json", FIXTURE_INDICATORS);
    fixture_write(directory, "districts/test-county.json", FIXTURE_DISTRICT);
}

static inline void fixture_remove(const char *directory)
{
    char command[600];
    snprintf(command, sizeof(command), "rm -rf '%s'", directory);
    if (system(command) != 0)
        abort();
}

#endif
