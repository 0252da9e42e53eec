/* Unit tests for config.c: Redis URLs and listen addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(redis_urls),
                                       cmocka_unit_test(listen_addresses)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
