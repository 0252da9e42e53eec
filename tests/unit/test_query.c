/* Unit tests for api/query.c: for every query of a generated set, the answer equals what
 * evhttp_parse_query_str + evhttp_find_header give (the slow path it replaces), or the query
 * is declined because it has something to decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "query.h"

/* evhttp's answer: 1 and the value, or 0. */
static int evhttp_answer(const char *query, const char *name, char *out, size_t size)
{
    struct evkeyvalq parameters;
    if (evhttp_parse_query_str(query, &parameters) != 0)
        return 0;
    const char *value = evhttp_find_header(&parameters, name);
    int found = value != NULL;
    if (found)
        snprintf(out, size, "%s", value);
    evhttp_clear_headers(&parameters);
    return found;
}

static void check_query(const char *query, const char *name)
{
    const char *value = NULL;
    size_t length = 0;
    enum query_answer answer = query_find_plain(query, name, &value, &length);
    if (strpbrk(query, "%+")) {
        assert_int_equal(answer, QUERY_DECLINED);
        return;
    }
    char expected[256];
    int found = evhttp_answer(query, name, expected, sizeof(expected));
    if (answer != (found ? QUERY_FOUND : QUERY_ABSENT))
        fail_msg("query \"%s\", name \"%s\": evhttp %s, query_find_plain %d", query, name,
                 found ? "found it" : "did not", answer);
    if (found) {
        assert_int_equal(length, strlen(expected));
        assert_memory_equal(value, expected, length);
    }
}

static void examples(void **state)
{
    (void)state;
    const char *queries[] = {"period=2024",
                             "period=2024&wait=30",
                             "wait=30&period=2024",
                             "PERIOD=2024",
                             "Period=2023&period=2024",
                             "period=",
                             "period",
                             "=2024",
                             "period=2024&",
                             "&period=2024",
                             "period=2024&&wait=1",
                             "period=20=24",
                             "periods=2024",
                             "perio=2024",
                             "wait=1&bad",
                             "",
                             "&",
                             "a=1&b=2&c=3&period=x",
                             "period=%32024",
                             "period=2+0",
                             "period=2024&x=%zz"};
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        check_query(queries[i], "period");
        check_query(queries[i], "wait");
    }
}

/* Every string of up to 6 characters over an alphabet that makes keys, values and separators. */
static void exhaustive_short_queries(void **state)
{
    (void)state;
    const char alphabet[] = "pP=&w1";
    const size_t letters = sizeof(alphabet) - 1;
    char query[8];
    for (size_t length = 0; length <= 6; length++) {
        size_t total = 1;
        for (size_t i = 0; i < length; i++)
            total *= letters;
        for (size_t n = 0; n < total; n++) {
            size_t rest = n;
            for (size_t i = 0; i < length; i++, rest /= letters)
                query[i] = alphabet[rest % letters];
            query[length] = '\0';
            check_query(query, "p");
            check_query(query, "pw");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples),
        cmocka_unit_test(exhaustive_short_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
