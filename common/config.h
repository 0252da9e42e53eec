/* config.h -- configuration of both processes, from flags and the environment (a flag wins),
 * as listed in api-v1.md. Invalid configuration is refused with one line naming the setting,
 * before anything starts. */
#ifndef EDUMON_CONFIG_H
#define EDUMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum config_role { CONFIG_API, CONFIG_WORKER };

struct redis_address {
    char host[256];
    int port;
    char unix_path[256]; /* non-empty for unix:// addresses */
    char password[256];
    int database;
};

#define CONFIG_MAX_API_THREADS 64

struct config {
    enum config_role role;
    char redis_url[512];
    struct redis_address redis;
    char listen_host[256];
    int listen_port;
    char catalog_dir[1024];
    char web_dir[1024];
    const char *admin_token; /* from the environment; NULL when unset */
    const char *read_token;
    char consumer[128];  /* worker: consumer name in the group */
    int batch_size;      /* worker: entries per XREADGROUP */
    int max_deliveries;  /* worker: deliveries before an entry goes to the dead-letter stream */
    int claim_idle_ms;   /* worker: idle time before XAUTOCLAIM takes an entry over */
    int retention_hours; /* worker: acknowledged entries older than this are trimmed */
    int cache_mb;        /* worker: memory budget of the loaded districts' copies, MiB */
    int max_body_bytes;  /* api */
    int max_connections;
    int rate_limit;  /* api: submissions per token per minute, 0 = unlimited */
    int api_threads; /* api: event loops, one thread each (1..CONFIG_MAX_API_THREADS) */
    int log_level;
};

enum config_result { CONFIG_OK, CONFIG_EXIT_SUCCESS, CONFIG_EXIT_FAILURE };

/* Fills `config` from the environment and argv. On --help prints usage and returns
 * CONFIG_EXIT_SUCCESS; on invalid input prints one line to stderr and returns
 * CONFIG_EXIT_FAILURE. */
enum config_result config_load(struct config *config, enum config_role role, int argc, char **argv);

/* Parses redis://[:password@]host:port[/db] or unix:///path. Returns 0, or -1. */
int config_parse_redis_url(const char *url, struct redis_address *out);

/* Parses host:port. Returns 0, or -1. */
int config_parse_listen(const char *text, char *host, size_t host_size, int *port);

#endif
