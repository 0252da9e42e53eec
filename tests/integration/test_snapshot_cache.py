#!/usr/bin/env python3
"""The API's in-process copy of the stored snapshots (api/snapshot_cache.c): polls are
answered from memory, yet never staler than the worker's last notification, and never served
from memory while the notifications might be lost (subscriber connection gone)."""

import re
import time

from harness import check, expect_eq, indicator, run_tests


def counter(h, name):
    text = h.get("/metrics").body.decode()
    match = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    check(match is not None, "/metrics has no %s" % name)
    return int(match.group(1))


def hits(h):
    return counter(h, "edumon_snapshot_cache_hits_total")


def misses(h):
    return counter(h, "edumon_snapshot_cache_misses_total")


def test_polls_are_answered_from_memory_and_follow_stores(h):
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 100})
    h.wait_applied(p1, answer["id"])
    first = h.snapshot()  # a miss: read from Redis, kept
    expect_eq(first.header("ETag"), '"2024-1"', "first ETag")
    before_hits, before_misses = hits(h), misses(h)
    for _ in range(5):
        again = h.snapshot()
        expect_eq(again.body, first.body, "the copy serves the same bytes")
        expect_eq(again.header("ETag"), '"2024-1"', "same ETag")
    same = h.snapshot(headers={"If-None-Match": '"2024-1"'})
    expect_eq(same.status, 304, "304 from memory")
    expect_eq(hits(h) - before_hits, 6, "six polls answered from memory")
    expect_eq(misses(h) - before_misses, 0, "and none from Redis")

    # A store drops the copy: the next poll shows the new figure.
    answer = h.submit_ok(p1, "p1", {"new_places": 101})
    h.wait_applied(p1, answer["id"])
    fresh = h.wait_snapshot(lambda s: s["version"] == 2, "version 2", timeout=5)
    expect_eq(indicator(fresh, "new_school_places")["value"], 101, "the new figure")
    changed = h.snapshot(headers={"If-None-Match": '"2024-1"'})
    expect_eq(changed.status, 200, "the old ETag no longer matches")
    expect_eq(changed.header("ETag"), '"2024-2"', "new ETag")
    # The balance document shares the version and is kept separately.
    balance = h.get("/v1/districts/test-county/balance?period=2024")
    if balance.status == 200:
        expect_eq(balance.header("ETag"), '"2024-2"', "balance ETag")


def wait_subscribed(h):
    deadline = time.monotonic() + 5
    while h.redis("PUBSUB", "NUMSUB", "edumon:snapshots")[1] < 1:
        check(time.monotonic() < deadline, "the API did not resubscribe within 5 s")
        time.sleep(0.02)
    time.sleep(0.05)  # the subscription's confirmation reaches the API


def test_subscriber_loss_never_serves_a_stale_copy(h):
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 10})
    h.wait_applied(p1, answer["id"])
    for round_number, poll_while_away in enumerate((True, False, True, False)):
        wait_subscribed(h)
        kept = h.snapshot_json()  # kept in memory
        expect_eq(kept["version"], 1 + round_number, "round %d: before" % round_number)
        # Cut the API's subscriber connection: the notification of the next store is lost.
        killed = h.redis("CLIENT", "KILL", "TYPE", "pubsub")
        check(killed >= 1, "no subscriber connection to kill")
        value = 20 + round_number
        answer = h.submit_ok(p1, "p1", {"new_places": value})
        h.wait_applied(p1, answer["id"])
        if poll_while_away:
            # Not subscribed (yet): polls go to Redis, not to the copy.
            document = h.snapshot_json()
            expect_eq(document["version"], 2 + round_number,
                      "round %d: polled while the subscriber was away" % round_number)
        # Resubscribed: the copy kept before the cut was forgotten.
        wait_subscribed(h)
        document = h.snapshot_json()
        expect_eq(document["version"], 2 + round_number,
                  "round %d: polled after resubscribing" % round_number)
        expect_eq(indicator(document, "new_school_places")["value"], value,
                  "round %d: the figure stored while the subscriber was away" % round_number)
    before = hits(h)
    h.snapshot()
    expect_eq(hits(h) - before, 1, "answered from memory again after resubscribing")


def zrevrange_calls(h):
    info = h.redis("INFO", "commandstats")
    match = re.search(r"^cmdstat_zrevrange:calls=(\d+)", info, re.M)
    return int(match.group(1)) if match else 0


def test_latest_period_is_known_from_memory(h):
    """A dashboard's first poll names no period: the latest one with data is looked up once
    per district, then known from memory and moved on by the worker's notifications."""
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 5}, period="2023")
    h.wait_applied(p1, answer["id"])
    wait_subscribed(h)
    first = h.snapshot(period=None)
    expect_eq(first.status, 200, "no ?period=")
    expect_eq(first.header("ETag"), '"2023-1"', "the latest period with data: 2023")
    calls = zrevrange_calls(h)
    for _ in range(3):
        expect_eq(h.snapshot(period=None).header("ETag"), '"2023-1"', "again 2023")
    expect_eq(zrevrange_calls(h) - calls, 0, "the latest period came from memory")

    # A store for a later period: its notification moves the latest period on.
    answer = h.submit_ok(p1, "p1", {"new_places": 6}, period="2024")
    h.wait_applied(p1, answer["id"])
    h.wait_snapshot(lambda s: s["version"] >= 1, "2024 stored", period="2024")
    expect_eq(h.snapshot(period=None).header("ETag"), '"2024-1"', "latest is now 2024")
    # An earlier period's store does not move it back.
    answer = h.submit_ok(p1, "p1", {"new_places": 7}, period="2023")
    h.wait_applied(p1, answer["id"])
    h.wait_snapshot(lambda s: s["version"] == 2, "2023 stored again", period="2023")
    # (2024 may get a new version: its figures depend on 2023's through delta targets.)
    check(h.snapshot(period=None).header("ETag").startswith('"2024-'), "still 2024")
    expect_eq(zrevrange_calls(h) - calls, 0, "no lookup since the first")

    # Subscriber lost: the period is looked up again (a store may have been missed).
    h.redis("CLIENT", "KILL", "TYPE", "pubsub")
    wait_subscribed(h)
    check(h.snapshot(period=None).header("ETag").startswith('"2024-'), "after resubscribing")
    expect_eq(zrevrange_calls(h) - calls, 1, "one lookup after the subscriber came back")


if __name__ == "__main__":
    run_tests(globals())
