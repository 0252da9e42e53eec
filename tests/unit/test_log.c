/* Unit tests for common/log.c: the level threshold (log_enabled, which the API's access log
 * checks before formatting anything) and the lines written, read back from stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "log.h"

/* Runs `emit` with stderr sent to a temporary file; returns what was written (caller frees). */
static char *captured(void (*emit)(void))
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *file = tmpfile();
    assert_true(saved >= 0 && file != NULL);
    assert_true(dup2(fileno(file), STDERR_FILENO) >= 0);
    emit();
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long size = ftell(file);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(file);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    return text;
}

static void threshold(void **state)
{
    (void)state;
    log_init("test", LOG_WARN);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    log_init("test", LOG_DEBUG);
    assert_true(log_enabled(LOG_DEBUG));
    assert_true(log_enabled(LOG_INFO));
    log_init("test", LOG_ERROR);
    assert_false(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
}

static void emit_both(void)
{
    log_fields(LOG_INFO, "request", "\"status\":202");
    log_fields(LOG_WARN, "request", "\"status\":503");
    log_message(LOG_INFO, "info %d", 1);
    log_message(LOG_ERROR, "error %d", 2);
}

static void lines_below_the_threshold_are_not_written(void **state)
{
    (void)state;
    log_init("api", LOG_WARN);
    char *text = captured(emit_both);
    assert_null(strstr(text, "\"status\":202"));
    assert_null(strstr(text, "info 1"));
    /* Two lines, each one JSON object with the role, level, message and fields. */
    char *second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    cJSON *first = cJSON_Parse(text);
    assert_non_null(first);
    assert_string_equal(cJSON_GetObjectItem(first, "level")->valuestring, "warn");
    assert_string_equal(cJSON_GetObjectItem(first, "process")->valuestring, "api");
    assert_string_equal(cJSON_GetObjectItem(first, "msg")->valuestring, "request");
    assert_int_equal(cJSON_GetObjectItem(first, "status")->valueint, 503);
    cJSON_Delete(first);
    char *end = strchr(second, '\n');
    assert_non_null(end);
    assert_string_equal(end + 1, "");
    *end = '\0';
    cJSON *last = cJSON_Parse(second);
    assert_non_null(last);
    assert_string_equal(cJSON_GetObjectItem(last, "level")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(last, "msg")->valuestring, "error 2");
    cJSON_Delete(last);
    free(text);

    log_init("api", LOG_INFO);
    text = captured(emit_both);
    assert_non_null(strstr(text, "\"status\":202"));
    assert_non_null(strstr(text, "info 1"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threshold),
        cmocka_unit_test(lines_below_the_threshold_are_not_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
