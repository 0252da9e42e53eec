/* config.c -- see config.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#ifndef EDUMON_DATA_DIR
#define EDUMON_DATA_DIR "/usr/local/share/edumon"
#endif
#ifndef EDUMON_SOURCE_DIR
#define EDUMON_SOURCE_DIR "."
#endif

static bool parse_port(const char *text, int *port)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < 1 || value > 65535)
        return false;
    *port = (int)value;
    return true;
}

int config_parse_listen(const char *text, char *host, size_t host_size, int *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= host_size)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    return parse_port(colon + 1, port) ? 0 : -1;
}

int config_parse_redis_url(const char *url, struct redis_address *out)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(url, "unix://", 7) == 0) {
        if (strlen(url + 7) == 0 || strlen(url + 7) >= sizeof(out->unix_path))
            return -1;
        snprintf(out->unix_path, sizeof(out->unix_path), "%s", url + 7);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *rest = url + 8;
    const char *at = strchr(rest, '@');
    if (at) {
        const char *password = memchr(rest, ':', (size_t)(at - rest));
        password = password ? password + 1 : rest;
        if ((size_t)(at - password) >= sizeof(out->password))
            return -1;
        memcpy(out->password, password, (size_t)(at - password));
        out->password[at - password] = '\0';
        rest = at + 1;
    }
    char hostport[250];
    const char *slash = strchr(rest, '/');
    size_t length = slash ? (size_t)(slash - rest) : strlen(rest);
    if (length == 0 || length >= sizeof(hostport))
        return -1;
    memcpy(hostport, rest, length);
    hostport[length] = '\0';
    if (strchr(hostport, ':')) {
        if (config_parse_listen(hostport, out->host, sizeof(out->host), &out->port) != 0)
            return -1;
    } else {
        snprintf(out->host, sizeof(out->host), "%s", hostport);
        out->port = 6379;
    }
    if (slash && slash[1]) {
        char *end = NULL;
        long database = strtol(slash + 1, &end, 10);
        if (*end || database < 0 || database > 1000)
            return -1;
        out->database = (int)database;
    }
    return 0;
}

static bool is_directory(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

/* The installed data directory when present, else the source tree (running from a build). */
static void default_data_path(char *out, size_t size, const char *installed, const char *source)
{
    snprintf(out, size, "%s/%s", EDUMON_DATA_DIR, installed);
    if (!is_directory(out))
        snprintf(out, size, "%s/%s", EDUMON_SOURCE_DIR, source);
}

static void print_usage(enum config_role role, const char *program)
{
    printf("Usage: %s [options]\n\n", program);
    printf("%s\n\n", role == CONFIG_API ? "edumon HTTP front end: validates submissions, queues "
                                          "them in Redis Streams, serves snapshots."
                                        : "edumon worker: consumes the submission stream and "
                                          "aggregates district snapshots.");
    printf("Options (environment variable in brackets; a flag wins):\n"
           "  --redis URL       Redis to use, redis://[:password@]host:port[/db] or "
           "unix:///path\n"
           "                    [EDUMON_REDIS_URL, default redis://127.0.0.1:6379/0]\n"
           "  --catalog DIR     indicator catalog directory [EDUMON_CATALOG, default the "
           "installed catalog]\n"
           "  --log-level L     debug, info, warn, error [EDUMON_LOG_LEVEL, default info]\n");
    if (role == CONFIG_API)
        printf("  --listen ADDR     address to listen on [EDUMON_LISTEN, default "
               "127.0.0.1:8080]\n"
               "  --web DIR         dashboard files [EDUMON_WEB_DIR, default the installed "
               "web directory]\n"
               "  --max-body BYTES  largest request body accepted [EDUMON_MAX_BODY, default "
               "1048576]\n"
               "  --max-connections N  concurrent connections [EDUMON_MAX_CONNECTIONS, default "
               "4096]\n"
               "  --rate-limit N    submissions per token per minute, 0 = none "
               "[EDUMON_RATE_LIMIT, default 600]\n"
               "  --threads N       event loops, one thread each, sharing the port "
               "(SO_REUSEPORT) [EDUMON_API_THREADS, default 1]\n"
               "Secrets, from the environment only:\n"
               "  EDUMON_ADMIN_TOKEN  bearer token for admin endpoints (unset: they answer "
               "403)\n"
               "  EDUMON_READ_TOKEN   if set, reads need it (or the admin token)\n");
    else
        printf("  --consumer NAME   consumer name in the group [EDUMON_CONSUMER, default "
               "host-pid]\n"
               "  --batch N         entries read per batch [EDUMON_BATCH, default 256]\n"
               "  --max-deliveries N  deliveries before dead-lettering [EDUMON_MAX_DELIVERIES, "
               "default 5]\n"
               "  --claim-idle MS   idle time before taking over another consumer's entries "
               "[EDUMON_CLAIM_IDLE_MS, default 30000]\n"
               "  --retention-hours H  keep acknowledged stream entries this long "
               "[EDUMON_STREAM_RETENTION_HOURS, default 168]\n"
               "  --cache-mb MB     memory for the copies of districts kept between batches; "
               "0 = none [EDUMON_WORKER_CACHE_MB, default 16]\n");
    printf("  --help            this text\n");
}

static const char *lookup(int argc, char **argv, const char *flag, const char *env)
{
    const char *value = env ? getenv(env) : NULL;
    for (int i = 1; i < argc - 1; i++)
        if (strcmp(argv[i], flag) == 0)
            value = argv[i + 1];
    return value;
}

static bool parse_int(const char *text, int low, int high, int *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < low || value > high)
        return false;
    *out = (int)value;
    return true;
}

static const char *const known_flags[] = {
    "--redis",          "--catalog",         "--log-level",       "--listen",   "--web",
    "--max-body",       "--max-connections", "--rate-limit",      "--consumer", "--batch",
    "--max-deliveries", "--claim-idle",      "--retention-hours", "--cache-mb", "--threads"};

static int check_flags(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        bool known = false;
        for (size_t k = 0; k < sizeof(known_flags) / sizeof(*known_flags); k++)
            known = known || strcmp(argv[i], known_flags[k]) == 0;
        if (!known || i + 1 >= argc) {
            fprintf(stderr, "%s: %s '%s' (try --help)\n", argv[0],
                    known ? "missing value for" : "unknown option", argv[i]);
            return -1;
        }
    }
    return 0;
}

static bool load_int(int argc, char **argv, const char *flag, const char *env, int low, int high,
                     int *out)
{
    const char *text = lookup(argc, argv, flag, env);
    if (!text)
        return true;
    if (parse_int(text, low, high, out))
        return true;
    fprintf(stderr, "%s: invalid %s / %s '%s': expected a whole number from %d to %d\n", argv[0],
            flag, env, text, low, high);
    return false;
}

enum config_result config_load(struct config *config, enum config_role role, int argc, char **argv)
{
    memset(config, 0, sizeof(*config));
    config->role = role;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(role, argv[0]);
            return CONFIG_EXIT_SUCCESS;
        }
    }
    if (check_flags(argc, argv) != 0)
        return CONFIG_EXIT_FAILURE;
    const char *redis = lookup(argc, argv, "--redis", "EDUMON_REDIS_URL");
    snprintf(config->redis_url, sizeof(config->redis_url), "%s",
             redis ? redis : "redis://127.0.0.1:6379/0");
    if (config_parse_redis_url(config->redis_url, &config->redis) != 0) {
        fprintf(stderr,
                "%s: invalid EDUMON_REDIS_URL / --redis '%s': expected "
                "redis://[:password@]host:port[/db] or unix:///path\n",
                argv[0], config->redis_url);
        return CONFIG_EXIT_FAILURE;
    }
    const char *listen = lookup(argc, argv, "--listen", "EDUMON_LISTEN");
    if (config_parse_listen(listen ? listen : "127.0.0.1:8080", config->listen_host,
                            sizeof(config->listen_host), &config->listen_port) != 0) {
        fprintf(stderr, "%s: invalid EDUMON_LISTEN / --listen '%s': expected host:port\n", argv[0],
                listen);
        return CONFIG_EXIT_FAILURE;
    }
    const char *catalog = lookup(argc, argv, "--catalog", "EDUMON_CATALOG");
    if (catalog)
        snprintf(config->catalog_dir, sizeof(config->catalog_dir), "%s", catalog);
    else
        default_data_path(config->catalog_dir, sizeof(config->catalog_dir), "catalog",
                          "deploy/catalog");
    const char *web = lookup(argc, argv, "--web", "EDUMON_WEB_DIR");
    if (web)
        snprintf(config->web_dir, sizeof(config->web_dir), "%s", web);
    else
        default_data_path(config->web_dir, sizeof(config->web_dir), "web", "web");
    config->admin_token = getenv("EDUMON_ADMIN_TOKEN");
    config->read_token = getenv("EDUMON_READ_TOKEN");
    if (config->admin_token && strlen(config->admin_token) < 16) {
        fprintf(stderr, "%s: EDUMON_ADMIN_TOKEN is too short: use at least 16 characters\n",
                argv[0]);
        return CONFIG_EXIT_FAILURE;
    }
    if (config->admin_token && !*config->admin_token)
        config->admin_token = NULL;
    if (config->read_token && !*config->read_token)
        config->read_token = NULL;

    const char *log_level = lookup(argc, argv, "--log-level", "EDUMON_LOG_LEVEL");
    config->log_level = log_level ? log_level_parse(log_level) : LOG_INFO;
    if (config->log_level < 0) {
        fprintf(stderr,
                "%s: invalid EDUMON_LOG_LEVEL / --log-level '%s': expected debug, info, "
                "warn or error\n",
                argv[0], log_level);
        return CONFIG_EXIT_FAILURE;
    }
    config->batch_size = 256;
    config->max_deliveries = 5;
    config->claim_idle_ms = 30000;
    config->retention_hours = 168;
    config->cache_mb = 16;
    config->max_body_bytes = 1 << 20;
    config->max_connections = 4096;
    config->rate_limit = 600;
    config->api_threads = 1;
    if (!load_int(argc, argv, "--batch", "EDUMON_BATCH", 1, 10000, &config->batch_size) ||
        !load_int(argc, argv, "--max-deliveries", "EDUMON_MAX_DELIVERIES", 1, 1000,
                  &config->max_deliveries) ||
        !load_int(argc, argv, "--claim-idle", "EDUMON_CLAIM_IDLE_MS", 100, 86400000,
                  &config->claim_idle_ms) ||
        !load_int(argc, argv, "--retention-hours", "EDUMON_STREAM_RETENTION_HOURS", 1, 87600,
                  &config->retention_hours) ||
        !load_int(argc, argv, "--cache-mb", "EDUMON_WORKER_CACHE_MB", 0, 1048576,
                  &config->cache_mb) ||
        !load_int(argc, argv, "--max-body", "EDUMON_MAX_BODY", 1024, 64 << 20,
                  &config->max_body_bytes) ||
        !load_int(argc, argv, "--max-connections", "EDUMON_MAX_CONNECTIONS", 1, 1000000,
                  &config->max_connections) ||
        !load_int(argc, argv, "--rate-limit", "EDUMON_RATE_LIMIT", 0, 10000000,
                  &config->rate_limit) ||
        !load_int(argc, argv, "--threads", "EDUMON_API_THREADS", 1, CONFIG_MAX_API_THREADS,
                  &config->api_threads))
        return CONFIG_EXIT_FAILURE;
    const char *consumer = lookup(argc, argv, "--consumer", "EDUMON_CONSUMER");
    if (consumer) {
        snprintf(config->consumer, sizeof(config->consumer), "%s", consumer);
    } else {
        char host[64] = "worker";
        gethostname(host, sizeof(host) - 1);
        snprintf(config->consumer, sizeof(config->consumer), "%s-%ld", host, (long)getpid());
    }
    return CONFIG_OK;
}
