/* main.c -- edumon-worker: configuration, catalog, signals, then the consumer loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "consumer.h"
#include "log.h"

static volatile int running = 1;

static void handle_stop(int signal_number)
{
    (void)signal_number;
    running = 0;
}

int main(int argc, char **argv)
{
    struct config config;
    enum config_result loaded = config_load(&config, CONFIG_WORKER, argc, argv);
    if (loaded != CONFIG_OK)
        return loaded == CONFIG_EXIT_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
    log_init("worker", (enum log_level)config.log_level);
    char error[512];
    /* The worker never serves the district files: their trees would be most of its memory. */
    struct catalog *catalog = catalog_load_compact(config.catalog_dir, error, sizeof(error));
    if (!catalog) {
        fprintf(stderr, "%s: %s (EDUMON_CATALOG=%s)\n", argv[0], error, config.catalog_dir);
        return EXIT_FAILURE;
    }
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handle_stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct consumer consumer;
    if (consumer_init(&consumer, &config, catalog, &running) != 0) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        catalog_free(catalog);
        return EXIT_FAILURE;
    }
    log_message(LOG_INFO, "worker %s started: catalog %.12s (%zu districts, %zu indicators)",
                config.consumer, catalog->hash, catalog->district_count, catalog->indicator_count);
    consumer_run(&consumer);
    log_message(LOG_INFO,
                "worker %s stopped: %llu batches, %llu entries, %llu values applied, "
                "%llu snapshots stored, %llu dead-lettered, %llu district loads, %llu evictions, "
                "cache peak %.1f MB (budget %.1f MB), %zu entries held at most, heap peak "
                "%.1f MB in use of %.1f MB, %.2f s trimming it",
                config.consumer, consumer.stats.batches, consumer.stats.entries,
                consumer.stats.values_applied, consumer.stats.snapshots_stored,
                consumer.stats.dead_lettered, consumer.cache.loads, consumer.cache.evictions,
                (double)consumer.cache.peak_bytes / 1048576.0,
                (double)consumer.cache.budget_bytes / 1048576.0, consumer.stats.held_peak,
                (double)consumer.stats.heap_live_peak / 1048576.0,
                (double)consumer.stats.heap_arena_peak / 1048576.0,
                consumer.stats.heap_trim_seconds);
    consumer_free(&consumer);
    catalog_free(catalog);
    return EXIT_SUCCESS;
}
