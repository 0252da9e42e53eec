/* Unit tests for api/snapshot_cache.c: what is kept, what a notification or a reset drops,
 * reads that raced with a store, and the byte bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot_cache.h"

enum { SNAPSHOT, BALANCE };

static void store_text(struct snapshot_cache *cache, int district, int period, int document,
                       long long version, const char *body, struct snapshot_cache_ticket ticket)
{
    snapshot_cache_store(cache, district, period, document, version, body, strlen(body), ticket);
}

static void keeps_and_finds(void **state)
{
    (void)state;
    struct snapshot_cache *cache = snapshot_cache_new(3, 1 << 20);
    assert_non_null(cache);
    assert_null(snapshot_cache_find(cache, 1, 2024, SNAPSHOT));
    store_text(cache, 1, 2024, SNAPSHOT, 7, "{\"v\":7}", snapshot_cache_ticket(cache, 1));
    const struct cached_document *kept = snapshot_cache_find(cache, 1, 2024, SNAPSHOT);
    assert_non_null(kept);
    assert_int_equal(kept->version, 7);
    assert_string_equal(kept->body, "{\"v\":7}");
    assert_int_equal(kept->length, 7);
    /* Other periods, documents and districts are separate. */
    assert_null(snapshot_cache_find(cache, 1, 2023, SNAPSHOT));
    assert_null(snapshot_cache_find(cache, 1, 2024, BALANCE));
    assert_null(snapshot_cache_find(cache, 0, 2024, SNAPSHOT));
    /* An older version never replaces a newer one; a newer one does. */
    store_text(cache, 1, 2024, SNAPSHOT, 6, "{\"v\":6}", snapshot_cache_ticket(cache, 1));
    assert_int_equal(snapshot_cache_find(cache, 1, 2024, SNAPSHOT)->version, 7);
    store_text(cache, 1, 2024, SNAPSHOT, 8, "{\"v\":8!}", snapshot_cache_ticket(cache, 1));
    assert_string_equal(snapshot_cache_find(cache, 1, 2024, SNAPSHOT)->body, "{\"v\":8!}");
    assert_int_equal(snapshot_cache_bytes(cache), 8);
    /* Out of range: ignored, never a crash. Version 0 (nothing stored) is not kept. */
    store_text(cache, 3, 2024, SNAPSHOT, 1, "x", snapshot_cache_ticket(cache, 3));
    store_text(cache, -1, 2024, SNAPSHOT, 1, "x", snapshot_cache_ticket(cache, -1));
    store_text(cache, 0, 1999, SNAPSHOT, 1, "x", snapshot_cache_ticket(cache, 0));
    store_text(cache, 0, 2024, 2, 1, "x", snapshot_cache_ticket(cache, 0));
    store_text(cache, 0, 2024, SNAPSHOT, 0, "x", snapshot_cache_ticket(cache, 0));
    assert_null(snapshot_cache_find(cache, 3, 2024, SNAPSHOT));
    assert_null(snapshot_cache_find(cache, 0, 2024, SNAPSHOT));
    assert_int_equal(snapshot_cache_bytes(cache), 8);
    snapshot_cache_free(cache);
}

static void notification_drops_older_copies(void **state)
{
    (void)state;
    struct snapshot_cache *cache = snapshot_cache_new(2, 1 << 20);
    store_text(cache, 0, 2024, SNAPSHOT, 3, "snap3", snapshot_cache_ticket(cache, 0));
    store_text(cache, 0, 2024, BALANCE, 3, "bal3", snapshot_cache_ticket(cache, 0));
    store_text(cache, 0, 2023, SNAPSHOT, 5, "old5", snapshot_cache_ticket(cache, 0));
    /* The notification of the version already kept (a store that changed nothing) keeps it. */
    snapshot_cache_notify(cache, 0, 2024, 3);
    assert_non_null(snapshot_cache_find(cache, 0, 2024, SNAPSHOT));
    /* A newer version drops both documents of that period, and only those. */
    snapshot_cache_notify(cache, 0, 2024, 4);
    assert_null(snapshot_cache_find(cache, 0, 2024, SNAPSHOT));
    assert_null(snapshot_cache_find(cache, 0, 2024, BALANCE));
    assert_non_null(snapshot_cache_find(cache, 0, 2023, SNAPSHOT));
    assert_int_equal(snapshot_cache_bytes(cache), 4);
    /* Unknown districts are ignored. */
    snapshot_cache_notify(cache, -1, 2024, 9);
    snapshot_cache_notify(cache, 2, 2024, 9);
    snapshot_cache_free(cache);
}

static void read_racing_a_store_is_not_kept(void **state)
{
    (void)state;
    struct snapshot_cache *cache = snapshot_cache_new(2, 1 << 20);
    /* The read is sent; Redis runs it just before a store of version 5; the notification of
     * version 5 arrives before the read's reply (version 4). Keeping it would serve version 4
     * until the next store. */
    struct snapshot_cache_ticket ticket = snapshot_cache_ticket(cache, 1);
    snapshot_cache_notify(cache, 1, 2024, 5);
    store_text(cache, 1, 2024, SNAPSHOT, 4, "stale", ticket);
    assert_null(snapshot_cache_find(cache, 1, 2024, SNAPSHOT));
    /* A notification about another district does not void the ticket. */
    ticket = snapshot_cache_ticket(cache, 1);
    snapshot_cache_notify(cache, 0, 2024, 9);
    store_text(cache, 1, 2024, SNAPSHOT, 5, "fresh", ticket);
    assert_string_equal(snapshot_cache_find(cache, 1, 2024, SNAPSHOT)->body, "fresh");
    snapshot_cache_free(cache);
}

static void reset_forgets_and_voids_tickets(void **state)
{
    (void)state;
    struct snapshot_cache *cache = snapshot_cache_new(2, 1 << 20);
    store_text(cache, 0, 2024, SNAPSHOT, 2, "two", snapshot_cache_ticket(cache, 0));
    struct snapshot_cache_ticket before = snapshot_cache_ticket(cache, 1);
    snapshot_cache_reset(cache); /* the subscriber came back: notifications may be lost */
    assert_null(snapshot_cache_find(cache, 0, 2024, SNAPSHOT));
    assert_int_equal(snapshot_cache_bytes(cache), 0);
    store_text(cache, 1, 2024, SNAPSHOT, 3, "sent before", before);
    assert_null(snapshot_cache_find(cache, 1, 2024, SNAPSHOT));
    store_text(cache, 1, 2024, SNAPSHOT, 3, "sent after", snapshot_cache_ticket(cache, 1));
    assert_non_null(snapshot_cache_find(cache, 1, 2024, SNAPSHOT));
    snapshot_cache_free(cache);
}

static void latest_period_only_moves_up(void **state)
{
    (void)state;
    struct snapshot_cache *cache = snapshot_cache_new(2, 1 << 20);
    assert_int_equal(snapshot_cache_latest_period(cache, 0), 0);
    snapshot_cache_notify(cache, 0, 2023, 1); /* not known yet: a later one may exist */
    assert_int_equal(snapshot_cache_latest_period(cache, 0), 0);
    snapshot_cache_offer_latest_period(cache, 0, 2023, snapshot_cache_ticket(cache, 0));
    assert_int_equal(snapshot_cache_latest_period(cache, 0), 2023);
    snapshot_cache_notify(cache, 0, 2025, 4);
    assert_int_equal(snapshot_cache_latest_period(cache, 0), 2025);
    snapshot_cache_notify(cache, 0, 2024, 5); /* an earlier period: no change */
    snapshot_cache_offer_latest_period(cache, 0, 2024, snapshot_cache_ticket(cache, 0));
    assert_int_equal(snapshot_cache_latest_period(cache, 0), 2025);
    assert_int_equal(snapshot_cache_latest_period(cache, 1), 0);
    assert_int_equal(snapshot_cache_latest_period(cache, 7), 0); /* out of range */
    struct snapshot_cache_ticket before = snapshot_cache_ticket(cache, 1);
    snapshot_cache_reset(cache);
    assert_int_equal(snapshot_cache_latest_period(cache, 0), 0);
    snapshot_cache_offer_latest_period(cache, 1, 2024, before); /* read sent before the reset */
    assert_int_equal(snapshot_cache_latest_period(cache, 1), 0);
    snapshot_cache_offer_latest_period(cache, 1, 1999, snapshot_cache_ticket(cache, 1));
    assert_int_equal(snapshot_cache_latest_period(cache, 1), 0);
    snapshot_cache_free(cache);
}

static void byte_bound(void **state)
{
    (void)state;
    struct snapshot_cache *cache = snapshot_cache_new(1, 10);
    store_text(cache, 0, 2024, SNAPSHOT, 1, "123456", snapshot_cache_ticket(cache, 0));
    store_text(cache, 0, 2023, SNAPSHOT, 1, "12345", snapshot_cache_ticket(cache, 0));
    assert_null(snapshot_cache_find(cache, 0, 2023, SNAPSHOT)); /* 11 bytes: over */
    store_text(cache, 0, 2023, SNAPSHOT, 1, "1234", snapshot_cache_ticket(cache, 0));
    assert_non_null(snapshot_cache_find(cache, 0, 2023, SNAPSHOT)); /* exactly 10 */
    /* Replacing a document counts the new body instead of the old one. */
    store_text(cache, 0, 2024, SNAPSHOT, 2, "654321", snapshot_cache_ticket(cache, 0));
    assert_string_equal(snapshot_cache_find(cache, 0, 2024, SNAPSHOT)->body, "654321");
    store_text(cache, 0, 2024, SNAPSHOT, 3, "7654321", snapshot_cache_ticket(cache, 0));
    assert_int_equal(snapshot_cache_find(cache, 0, 2024, SNAPSHOT)->version, 2);
    assert_int_equal(snapshot_cache_bytes(cache), 10);
    snapshot_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_and_finds),
        cmocka_unit_test(notification_drops_older_copies),
        cmocka_unit_test(read_racing_a_store_is_not_kept),
        cmocka_unit_test(reset_forgets_and_voids_tickets),
        cmocka_unit_test(latest_period_only_moves_up),
        cmocka_unit_test(byte_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
