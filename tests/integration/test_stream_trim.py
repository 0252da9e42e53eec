#!/usr/bin/env python3
"""The worker trims the submission stream: acknowledged entries older than
EDUMON_STREAM_RETENTION_HOURS go (a few seconds after start, then once a minute), while
entries still pending or not yet delivered stay, whatever their age (trimming a pending entry
would lose an accepted submission)."""

import time

from harness import STREAM, check, expect_eq, options, run_tests


def add_old_entries(h):
    """Entries from long ago (explicit ids in 1970), written behind the API's back."""
    for sequence in (1, 2, 3):
        h.redis("XADD", STREAM, "1000-%d" % sequence, "type", "registry", "district",
                "test-county")


def wait_for_trim(h, before):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and h.xlen() == before:
        time.sleep(0.2)
    return [entry[0].decode() if isinstance(entry[0], bytes) else entry[0]
            for entry in h.redis("XRANGE", STREAM, "-", "+")]


@options(workers=0, env={"EDUMON_STREAM_RETENTION_HOURS": "1"})
def test_old_acknowledged_entries_are_trimmed(h):
    add_old_entries(h)
    token = h.register("p1", stage="primary")
    answer = h.submit_ok(token, "p1", {"new_places": 3})
    before = h.xlen()
    h.start_worker()
    h.wait_applied(token, answer["id"], timeout=10)
    ids = wait_for_trim(h, before)
    for old in ("1000-1", "1000-2", "1000-3"):
        check(old not in ids, "an old acknowledged entry was not trimmed: %r" % ids)
    check(answer["id"] in ids, "a recent entry was trimmed: %r" % ids)
    expect_eq(h.submission_status(token, answer["id"]).json()["status"], "applied",
              "status of a recent submission after trimming")


@options(workers=0, claim_idle_ms=600000, env={"EDUMON_STREAM_RETENTION_HOURS": "1"})
def test_pending_entries_are_never_trimmed(h):
    add_old_entries(h)
    h.redis("XGROUP", "CREATE", STREAM, "edumon-workers", "0", "MKSTREAM")
    # 1000-1 goes to a consumer that dies without acknowledging it.
    h.redis("XREADGROUP", "GROUP", "edumon-workers", "dead-consumer", "COUNT", "1",
            "STREAMS", STREAM, ">")
    token = h.register("p1", stage="primary")
    answer = h.submit_ok(token, "p1", {"new_places": 3})
    h.start_worker()
    h.wait_applied(token, answer["id"], timeout=10)
    time.sleep(7)  # the first trim runs about 5 s after the worker starts
    ids = [entry[0].decode() if isinstance(entry[0], bytes) else entry[0]
           for entry in h.redis("XRANGE", STREAM, "-", "+")]
    for kept in ("1000-1", "1000-2", "1000-3"):
        check(kept in ids, "%s was trimmed although 1000-1 is still pending: %r" % (kept, ids))


if __name__ == "__main__":
    run_tests(globals())
