/* Unit tests for config.c: Redis URLs, listen addresses, and the API's event-loop count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "config.h"

static void redis_urls(void **state)
{
    (void)state;
    struct redis_address address;
    assert_int_equal(config_parse_redis_url("redis://127.0.0.1:6379/0", &address), 0);
    assert_string_equal(address.host, "127.0.0.1");
    assert_int_equal(address.port, 6379);
    assert_int_equal(config_parse_redis_url("redis://:pw@redis:7000/3", &address), 0);
    assert_string_equal(address.password, "pw");
    assert_string_equal(address.host, "redis");
    assert_int_equal(address.port, 7000);
    assert_int_equal(address.database, 3);
    assert_int_equal(config_parse_redis_url("redis://cache", &address), 0);
    assert_int_equal(address.port, 6379);
    assert_int_equal(config_parse_redis_url("unix:///run/redis.sock", &address), 0);
    assert_string_equal(address.unix_path, "/run/redis.sock");
    assert_int_equal(config_parse_redis_url("http://x", &address), -1);
    assert_int_equal(config_parse_redis_url("redis://host:99999", &address), -1);
    assert_int_equal(config_parse_redis_url("redis://host:1/x", &address), -1);
    assert_int_equal(config_parse_redis_url("redis://", &address), -1);
}

static void listen_addresses(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(config_parse_listen("0.0.0.0:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 8080);
    assert_int_equal(config_parse_listen("8080", host, sizeof(host), &port), -1);
    assert_int_equal(config_parse_listen(":8080", host, sizeof(host), &port), -1);
    assert_int_equal(config_parse_listen("h:0", host, sizeof(host), &port), -1);
}

static enum config_result load_api(struct config *config, const char *flag_value)
{
    char name[] = "edumon-api", flag[] = "--threads", value[16];
    char *argv[] = {name, flag, value, NULL};
    if (flag_value)
        snprintf(value, sizeof(value), "%s", flag_value);
    return config_load(config, CONFIG_API, flag_value ? 3 : 1, argv);
}

static void api_threads(void **state)
{
    (void)state;
    struct config config;
    unsetenv("EDUMON_API_THREADS");
    assert_int_equal(load_api(&config, NULL), CONFIG_OK);
    assert_int_equal(config.api_threads, 1); /* the default: one loop */
    setenv("EDUMON_API_THREADS", "4", 1);
    assert_int_equal(load_api(&config, NULL), CONFIG_OK);
    assert_int_equal(config.api_threads, 4);
    assert_int_equal(load_api(&config, "2"), CONFIG_OK); /* the flag wins */
    assert_int_equal(config.api_threads, 2);
    assert_int_equal(load_api(&config, "64"), CONFIG_OK);
    assert_int_equal(config.api_threads, CONFIG_MAX_API_THREADS);
    assert_int_equal(load_api(&config, "0"), CONFIG_EXIT_FAILURE);
    assert_int_equal(load_api(&config, "65"), CONFIG_EXIT_FAILURE);
    assert_int_equal(load_api(&config, "two"), CONFIG_EXIT_FAILURE);
    setenv("EDUMON_API_THREADS", "", 1);
    assert_int_equal(load_api(&config, NULL), CONFIG_EXIT_FAILURE);
    unsetenv("EDUMON_API_THREADS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(redis_urls),
                                       cmocka_unit_test(listen_addresses),
                                       cmocka_unit_test(api_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
