/* fuzz_config.c -- config_parse_redis_url and config_parse_listen (what EDUMON_REDIS_URL,
 * --redis, EDUMON_LISTEN and --listen go through). Accepted addresses are well-formed: a
 * terminated host or socket path within its buffer, a port 1..65535, a database 0..1000,
 * and a listen host exactly the text before the last colon. */
#include "config.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);

    struct redis_address address;
    if (config_parse_redis_url(text, &address) == 0) {
        FUZZ_CHECK(memchr(address.host, 0, sizeof(address.host)) &&
                       memchr(address.unix_path, 0, sizeof(address.unix_path)) &&
                       memchr(address.password, 0, sizeof(address.password)),
                   "unterminated field");
        if (address.unix_path[0]) {
            FUZZ_CHECK(strncmp(text, "unix://", 7) == 0 && strcmp(address.unix_path, text + 7) == 0,
                       "unix path \"%s\" from \"%s\"", address.unix_path, text);
        } else {
            FUZZ_CHECK(strncmp(text, "redis://", 8) == 0, "accepted \"%s\"", text);
            FUZZ_CHECK(address.port >= 1 && address.port <= 65535, "port %d", address.port);
            FUZZ_CHECK(address.database >= 0 && address.database <= 1000, "database %d",
                       address.database);
            FUZZ_CHECK(strstr(text, address.host) != NULL, "host \"%s\" not in \"%s\"",
                       address.host, text);
        }
    }

    char host[64];
    int port = 0;
    memset(host, 'x', sizeof(host));
    if (config_parse_listen(text, host, sizeof(host), &port) == 0) {
        const char *colon = strrchr(text, ':');
        FUZZ_CHECK(colon && colon != text, "accepted \"%s\" without host:port", text);
        FUZZ_CHECK(memchr(host, 0, sizeof(host)) && strlen(host) == (size_t)(colon - text) &&
                       strncmp(host, text, strlen(host)) == 0,
                   "host \"%.64s\" from \"%s\"", host, text);
        FUZZ_CHECK(port >= 1 && port <= 65535, "port %d from \"%s\"", port, text);
    }
    free(text);
    return 0;
}
