#!/usr/bin/env python3
"""A stream entry the worker cannot apply (written behind the API's back, since the API
validates everything) does not block the stream: later submissions are applied at once, and
after EDUMON_MAX_DELIVERIES deliveries the entry moves to the dead-letter stream, is
acknowledged, and its status reads "rejected" with the reason.
"""

import json
import time

from harness import DEAD_LETTER, STREAM, check, expect_eq, indicator, options, run_tests


def inject(h, school, body, district="test-county"):
    return h.redis("XADD", STREAM, "*", "type", "submission", "district", district,
                   "school", school, "period", "2024", "by", school,
                   "received", str(int(time.time() * 1000)), "body", body)


@options(max_deliveries=2, claim_idle_ms=400)
def test_poison_entry_is_dead_lettered(h):
    p1 = h.register("p1", stage="primary")
    h.register("k1", stage="kindergarten")
    poison = [
        inject(h, "p1", json.dumps({"school": "p1", "period": "2024",
                                    "values": {"students": -5}})),
        inject(h, "k1", json.dumps({"school": "k1", "period": "2024",
                                    "values": {"students": 5}})),  # stage may not
        inject(h, "ghost", json.dumps({"school": "ghost", "period": "2024",
                                       "values": {"students": 5}})),  # not registered
        inject(h, "p1", "{not json"),
        inject(h, "p1", json.dumps({"school": "p1", "period": "2024",
                                    "values": {"students": 5}}), district="atlantis"),
    ]
    # A valid submission queued behind them is applied without waiting for their fate.
    answer = h.submit_ok(p1, "p1", {"new_places": 12})
    h.wait_applied(p1, answer["id"], timeout=3)
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 12, "valid figure")

    h.wait_drained(timeout=15)
    expect_eq(h.xlen(DEAD_LETTER), len(poison), "dead-lettered entries")
    dead = h.redis("XRANGE", DEAD_LETTER, "-", "+")
    moved = sorted(dict(zip(fields[0::2], fields[1::2]))["entry"] for _, fields in dead)
    expect_eq(moved, sorted(poison), "the dead-letter stream names the poison entries")
    for entry_id in poison:
        status = h.submission_status(h.admin_token, entry_id)
        expect_eq(status.status, 200, "status of a dead-lettered entry")
        document = status.json()
        expect_eq(document.get("status"), "rejected", "status of " + entry_id)
        check(isinstance(document.get("reason"), str) and document["reason"],
              "a rejected entry has a reason: %r" % document)
    reason = h.submission_status(h.admin_token, poison[0]).json()["reason"]
    check("out_of_range" in reason, "reason for students -5: %r" % reason)
    reason = h.submission_status(h.admin_token, poison[1]).json()["reason"]
    check("element_not_allowed" in reason, "reason for a kindergarten's students: %r" % reason)
    reason = h.submission_status(h.admin_token, poison[2]).json()["reason"]
    check("not registered" in reason, "reason for an unregistered school: %r" % reason)
    # Nothing of the poison reached the figures.
    snapshot = h.snapshot_json()
    expect_eq(indicator(snapshot, "public_students")["value"], None, "no students applied")
    expect_eq(h.pending_by_consumer(), {}, "nothing left pending")


if __name__ == "__main__":
    run_tests(globals())
