#!/usr/bin/env python3
"""A worker behind the stream applies entries at once but stores a district's snapshots at
most once per window (worker/consumer.c, "holding entries"), acknowledging the entries only
after that store; caught up, it stores every batch at once.

Batches of 2 entries (EDUMON_BATCH=2) make a small backlog look like a national round."""

import signal
import time

from harness import DEAD_LETTER, check, expect_eq, indicator, options, run_tests

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
    # the figures). One store per window of 4 s (half the claim idle time) makes a
    # handful.
    batches = ENTRIES // 2
    check(snapshot["version"] <= took / 4.0 + 3,
          "version %d after %.1f s: the district was stored more often than once per window "
          "(%d batches)" % (snapshot["version"], took, batches))
    check(snapshot["version"] < batches / 4, "version %d for %d batches" % (
        snapshot["version"], batches))
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
