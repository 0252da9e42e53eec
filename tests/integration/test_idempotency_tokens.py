#!/usr/bin/env python3
"""Idempotency-Key replays, and token rotation."""

import hashlib
import json
import threading

from harness import check, expect_eq, expect_error, indicator, run_tests


def test_idempotency_key_replay(h):
    p1 = h.register("p1", stage="primary")
    p2 = h.register("p2", stage="primary")
    key = {"Idempotency-Key": "batch-2024-0001"}
    first = h.submit(p1, "p1", {"new_places": 40}, headers=key)
    expect_eq(first.status, 202, "first submission with a key")
    first_id = first.json()["id"]
    length = h.xlen()

    # Same key, same body: the first answer again, nothing new in the stream.
    again = h.submit(p1, "p1", {"new_places": 40}, headers=key)
    expect_eq(again.status, 202, "replay status")
    expect_eq(again.json(), first.json(), "replay answer = first answer")
    expect_eq(again.header("Idempotent-Replayed"), "true", "Idempotent-Replayed header")
    expect_eq(h.xlen(), length, "stream length after a replay")

    # Same key, different body: 409, nothing queued.
    conflict = h.submit(p1, "p1", {"new_places": 41}, headers=key)
    expect_error(conflict, 409, "idempotency_key_reused", "Idempotency-Key",
                 "same key, different body")
    expect_eq(h.xlen(), length, "stream length after a 409")

    # Once applied, the replay still answers the first id and still queues nothing.
    h.wait_applied(p1, first_id)
    late = h.submit(p1, "p1", {"new_places": 40}, headers=key)
    expect_eq(late.status, 202, "replay after apply")
    expect_eq(late.json()["id"], first_id, "replay after apply: same id")
    expect_eq(h.xlen(), length, "stream length after a late replay")

    # The key belongs to the school: another school may use the same string.
    other = h.submit(p2, "p2", {"new_places": 2}, headers=key)
    expect_eq(other.status, 202, "another school, same key string")
    check(other.json()["id"] != first_id, "another school's submission is a new entry")
    expect_eq(h.xlen(), length + 1, "one entry for the other school")
    h.wait_applied(p2, other.json()["id"])

    # A different key with the first body is a new submission.
    fresh = h.submit(p1, "p1", {"new_places": 40}, headers={"Idempotency-Key": "other"})
    expect_eq(fresh.status, 202, "new key")
    check(fresh.json()["id"] != first_id, "a new key gives a new entry")
    h.wait_applied(p1, fresh.json()["id"])
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 42,
              "places 40 + 2, each counted once")

    # A key that is not 1-255 printable ASCII characters is refused.
    length = h.xlen()
    expect_error(h.submit(p1, "p1", {"new_places": 1}, headers={"Idempotency-Key": "k" * 256}),
                 400, "invalid_header", "Idempotency-Key", "a 256-character key")
    expect_eq(h.xlen(), length, "stream length after a bad key")


def test_idempotency_key_concurrent_repeats(h):
    """Ten copies of one request with one key, sent at the same moment: one entry queued,
    ten 202s with the same id."""
    p1 = h.register("p1", stage="primary")
    length = h.xlen()
    barrier = threading.Barrier(10)
    answers = []

    def send():
        barrier.wait()
        answers.append(h.submit(p1, "p1", {"new_places": 77},
                                headers={"Idempotency-Key": "concurrent"}))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expect_eq(sorted(a.status for a in answers), [202] * 10, "statuses")
    expect_eq(len({a.json()["id"] for a in answers}), 1, "distinct ids among the answers")
    expect_eq(h.xlen(), length + 1, "entries queued")


def test_idempotency_key_survives_token_rotation(h):
    """Regression test: the Idempotency-Key used to be stored under the
    token's hash (routes_submissions.c read_idempotency_key), not under the school as
    common/keys.h documents (edumon:idem:<school>:<sha256(key)>). A school whose token is
    rotated while it retries a request gets the retry queued a second time; if it sent a
    newer figure in between, the retried (older) figure then overwrites it."""
    old = h.register("p1", stage="primary")
    key = {"Idempotency-Key": "retry-me"}
    first = h.submit(old, "p1", {"new_places": 10}, headers=key)
    expect_eq(first.status, 202, "first submission")
    h.wait_applied(old, first.json()["id"])
    newer = h.submit_ok(old, "p1", {"new_places": 99})
    h.wait_applied(old, newer["id"])
    rotated = h.request("POST", "/v1/schools/p1/token", token=h.admin_token)
    expect_eq(rotated.status, 200, "rotation")
    new = rotated.json()["token"]
    length = h.xlen()
    retry = h.submit(new, "p1", {"new_places": 10}, headers=key)
    expect_eq(retry.status, 202, "the retry after rotation")
    expect_eq(h.xlen(), length, "stream length after the school's retry with the same key")
    expect_eq(retry.json()["id"], first.json()["id"], "the retry answers the first id")
    h.wait_drained()
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 99,
              "the newer figure is not overwritten by the retried older one")


def test_token_rotation(h):
    old = h.register("p1", stage="primary")
    first = h.submit_ok(old, "p1", {"new_places": 5})
    h.wait_applied(old, first["id"])

    rotated = h.request("POST", "/v1/schools/p1/token", token=h.admin_token)
    expect_eq(rotated.status, 200, "rotation status")
    document = rotated.json()
    expect_eq(document.get("id"), "p1", "rotation answer id")
    new = document.get("token")
    check(isinstance(new, str) and len(new) >= 16 and new != old,
          "rotation must return a new token: %r" % document)

    # The old token stops working at once.
    length = h.xlen()
    expect_error(h.submit(old, "p1", {"new_places": 6}), 401, "unauthorized",
                 "Authorization", "submission with the rotated-out token")
    expect_error(h.submission_status(old, first["id"]), 401, "unauthorized", "Authorization",
                 "status with the rotated-out token")
    expect_eq(h.xlen(), length, "nothing queued with the old token")

    # The new one works, for new submissions and for the school's earlier ones.
    expect_eq(h.submission_status(new, first["id"]).json().get("status"), "applied",
              "earlier submission visible with the new token")
    answer = h.submit_ok(new, "p1", {"new_places": 7})
    h.wait_applied(new, answer["id"])
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 7, "new figure")

    # Rotating again retires the second token too.
    third = h.request("POST", "/v1/schools/p1/token", token=h.admin_token).json()["token"]
    expect_error(h.submit(new, "p1", {"new_places": 8}), 401, "unauthorized",
                 "Authorization", "submission with the second, rotated-out token")
    expect_eq(h.submit(third, "p1", {"new_places": 8}).status, 202, "the third token")
    # The stored registry never shows a token.
    listing = h.get("/v1/districts/test-county/schools", token=h.admin_token).json()
    check(all(token not in json.dumps(listing) for token in (old, new, third)),
          "a token appears in the school list")


def test_token_rotated_by_another_replica(h):
    """The API keeps the tokens it has seen (api/registry_cache.c); a rotation done by another
    API replica is not known here, yet the old token must write nothing: the SUBMIT script
    re-checks the token in Redis. (The other replica's rotation is done here in Redis.)"""
    old = h.register("p1", stage="primary")
    first = h.submit_ok(old, "p1", {"new_places": 5})  # the token is now kept in memory
    h.wait_applied(old, first["id"])
    old_hash = hashlib.sha256(old.encode()).hexdigest()
    expect_eq(h.redis("HGET", "edumon:tokens", old_hash), "p1", "the token's registry entry")
    expect_eq(h.redis("HDEL", "edumon:tokens", old_hash), 1, "another replica rotated it")
    length = h.xlen()
    for attempt in range(2):  # refused by SUBMIT, then forgotten: refused by the lookup
        expect_error(h.submit(old, "p1", {"new_places": 6 + attempt}), 401, "unauthorized",
                     "Authorization", "attempt %d with the token rotated elsewhere" % attempt)
    expect_eq(h.xlen(), length, "nothing queued with the token rotated elsewhere")
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 5, "figure unchanged")


if __name__ == "__main__":
    run_tests(globals())
