#!/usr/bin/env python3
"""A worker behind the stream applies entries at once but stores a district's snapshots at
most once per window (worker/consumer.c, "holding entries": 60 s), acknowledging the entries
only after that store; caught up, it stores every batch at once. Meanwhile it resets the idle
time of what it holds, so that XAUTOCLAIM never hands a live worker's entries to another (or
back to itself) however long it holds them.

Batches of 1 or 2 entries (EDUMON_BATCH) make a small backlog look like a national round."""

import signal
import time

from harness import DEAD_LETTER, GROUP, SLOW, STREAM, check, expect_eq, indicator, options, \
    run_tests

ENTRIES = 600


def preload(h, units):
    """ENTRIES submissions with no worker running; returns (last value per unit, all ids)."""
    last, ids = {}, []
    for n in range(ENTRIES):
        school, token = units[n % len(units)]
        answer = h.submit_ok(token, school, {"new_places": n})
        last[school] = n
        ids.append(answer["id"])
    return last, ids


def statuses(h, ids):
    return h.redis("MGET", *["edumon:status:" + i for i in ids])


def register(h):
    return [(school, h.register(school, stage="primary")) for school in ("p1", "p2", "p3")]


@options(workers=0, claim_idle_ms=8000)
def test_behind_the_stream_one_store_per_window(h):
    units = register(h)
    last, ids = preload(h, units)
    started = time.monotonic()
    h.start_worker(EDUMON_BATCH="2")
    h.wait_drained(timeout=60)
    took = time.monotonic() - started
    expect_eq(set(statuses(h, ids)), {"applied"}, "every entry applied and acknowledged")
    snapshot = h.snapshot_json()
    expect_eq(indicator(snapshot, "new_school_places")["value"], sum(last.values()),
              "the last figure of each school, summed")
    # 300 full batches; storing per batch would have made ~300 versions (every batch changes
    # the figures). One store per window of 60 s, and one once caught up, make a handful.
    batches = ENTRIES // 2
    check(snapshot["version"] <= took / 60.0 + 3,
          "version %d after %.1f s: the district was stored more often than once per window "
          "(%d batches)" % (snapshot["version"], took, batches))
    check(snapshot["version"] < batches / 4, "version %d for %d batches" % (
        snapshot["version"], batches))
    expect_eq(h.redis("XLEN", DEAD_LETTER), 0, "nothing dead-lettered")


@options(workers=0, claim_idle_ms=200)
def test_held_longer_than_claim_idle_not_claimed(h):
    """Entries held for many claim idle times (200 ms here, so the worker's own XAUTOCLAIM
    runs every 100 ms) are delivered once: the worker refreshes them (XCLAIM ... JUSTID)
    instead of storing every district each half claim idle time as it used to."""
    units = register(h)
    last, ids = preload(h, units)
    worker = h.start_worker(EDUMON_BATCH="1")
    first_seen, most_deliveries, samples = {}, 0, 0
    deadline = time.monotonic() + 60 * SLOW
    while not any(dict(zip(group[::2], group[1::2])).get("name") == GROUP
                  for group in h.redis("XINFO", "GROUPS", STREAM)):
        check(time.monotonic() < deadline, "the worker never created its group")
        time.sleep(0.01)
    while not h.stream_drained() and time.monotonic() < deadline:
        now = time.monotonic()
        for entry_id, _consumer, _idle, deliveries in h.redis(
                "XPENDING", STREAM, GROUP, "-", "+", str(ENTRIES)):
            first_seen.setdefault(entry_id, now)
            most_deliveries = max(most_deliveries, int(deliveries))
        samples += 1
        time.sleep(0.02)
    h.wait_drained(timeout=5)
    longest = max((time.monotonic() - seen for seen in first_seen.values()), default=0)
    # The check below means something only if entries did stay pending past the claim idle
    # time; 600 single-entry batches take several times 200 ms, even on a fast machine.
    check(longest > 0.4, "no entry was held longer than 2 claim idle times (%.2f s, %d samples)"
          % (longest, samples))
    expect_eq(most_deliveries, 1, "the most deliveries of a held entry")
    check("abandoned" not in open(worker.log_path, encoding="utf-8").read(),
          "the worker claimed back entries it was holding")
    expect_eq(set(statuses(h, ids)), {"applied"}, "every entry applied and acknowledged")
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], sum(last.values()),
              "the last figure of each school, summed")
    expect_eq(h.redis("XLEN", DEAD_LETTER), 0, "nothing dead-lettered")


@options(workers=0)
def test_one_batch_two_periods(h):
    """Batches whose district has two period groups, each with hundreds of values (the APPLY
    call's arguments then pass several of their list's sizes: under ASan, a copy kept past the
    end of the list of owned copies was caught here), and in each the same cell many times: the
    last value of each school in each period wins."""
    units = register(h)
    last = {"2023": {}, "2024": {}}
    for n in range(ENTRIES):
        school, token = units[n % len(units)]
        period = ("2023", "2024")[(n // 3) % 2]
        h.submit_ok(token, school, {"new_places": n, "students": n % 50 + 1}, period=period)
        last[period][school] = n
    h.start_worker()  # the default batch of 250: ~125 submissions of each period in each
    h.wait_drained(timeout=60)
    for period in ("2023", "2024"):
        expect_eq(indicator(h.snapshot_json(period=period), "new_school_places")["value"],
                  sum(last[period].values()), "the last figure of each school in " + period)
    expect_eq(h.redis("XLEN", DEAD_LETTER), 0, "nothing dead-lettered")


@options(workers=0, claim_idle_ms=8000)
def test_killed_while_holding(h):
    """kill -9 while entries are applied but not yet stored or acknowledged: they stay
    pending, the next worker applies them again (no change) and stores them."""
    units = register(h)
    last, ids = preload(h, units)
    worker = h.start_worker(EDUMON_BATCH="2", EDUMON_CONSUMER="holder")
    # Wait until the first entry's cell is written while its status is not yet "applied".
    field = "p1/new_places"
    deadline = time.monotonic() + 20
    seen_holding = False
    while time.monotonic() < deadline and not seen_holding:
        cell = h.redis("HGET", "edumon:{test-county}:cells:2024", field)
        status = h.redis("GET", "edumon:status:" + ids[0])
        seen_holding = cell is not None and status != "applied"
        if not seen_holding:
            time.sleep(0.005)
    check(seen_holding, "never saw an applied entry held before its store")
    worker.signal(signal.SIGKILL)
    worker.popen.wait(timeout=10)
    check(h.redis("GET", "edumon:status:" + ids[0]) != "applied",
          "the held entry was acknowledged although its district was not stored")
    pending = h.redis("XPENDING", "edumon:submissions", "edumon-workers")
    check(pending[0] > 0, "nothing pending after the kill: %r" % (pending,))
    h.start_worker(EDUMON_CONSUMER="holder")  # same name: re-reads its own pending entries
    h.wait_drained(timeout=60)
    expect_eq(set(statuses(h, ids)), {"applied"}, "every entry applied after the restart")
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], sum(last.values()),
              "the last figure of each school, summed, exactly once")


if __name__ == "__main__":
    run_tests(globals())
