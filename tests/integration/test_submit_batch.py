#!/usr/bin/env python3
"""Group commit of submissions (api/submit_batch.c): the submissions the API reads in one pass
of its event loop go to Redis in SUBMIT_BATCH calls of up to 12 (one Lua invocation each), not
one call per submission. Each must still be checked and answered on its own: a token rotated elsewhere refused, two copies under one Idempotency-Key queued
once, every other one queued with its own body, and one marker per batch (not per
submission) recording what was written.

The batch is made deterministic by stopping the API (SIGSTOP) while the clients connect and
send: when it resumes, every request is already in its socket and one pass reads them all."""

import hashlib
import json
import re
import signal
import threading
import time

from harness import check, expect_eq, expect_error, run_tests, STREAM


def batch_counters(h):
    text = h.get("/metrics").body.decode("utf-8")
    found = dict(re.findall(r"^(edumon_submit_batch(?:es|ed)_total) (\d+)$", text, re.M))
    check(len(found) == 2, "/metrics lacks the batch counters: %r" % found)
    return int(found["edumon_submit_batches_total"]), int(found["edumon_submit_batched_total"])


def entries_by_id(h):
    flat = h.redis("XRANGE", STREAM, "-", "+")
    return {entry[0]: {entry[1][i]: entry[1][i + 1] for i in range(0, len(entry[1]), 2)}
            for entry in flat}


def test_one_pass_full_batches(h):
    schools = ["b%02d" % i for i in range(12)]
    tokens = {school: h.register(school, stage="primary") for school in schools}
    # Every token known to the API (its registry cache), then one revoked behind its back, as
    # a rotation on another API replica would: only the script's own check can refuse it.
    for school in schools:
        h.submit_ok(tokens[school], school, {"new_places": 1}, period="2023")
    revoked = schools[0]
    token_hash = hashlib.sha256(tokens[revoked].encode()).hexdigest()
    expect_eq(h.redis("HDEL", "edumon:tokens", token_hash), 1, "revoking b00's token in Redis")
    batches_before, batched_before = batch_counters(h)
    length_before = h.xlen()
    for key in h.redis("KEYS", "edumon:batch:*"):
        h.redis("DEL", key)

    requests = [(school, {"new_places": 10 + i}, None) for i, school in enumerate(schools)]
    # Two copies of one request under one key, in the same pass: queued once, both 202.
    keyed = {"Idempotency-Key": "same-pass"}
    requests.append((schools[1], {"students": 321}, keyed))
    requests.append((schools[1], {"students": 321}, keyed))
    answers = [None] * len(requests)

    def send(i):
        school, values, headers = requests[i]
        answers[i] = h.submit(tokens[school], school, values, headers=headers)

    h.api.signal(signal.SIGSTOP)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # every client connected and sent; the kernel holds it all
    finally:
        h.api.signal(signal.SIGCONT)
    for thread in threads:
        thread.join()

    expect_error(answers[0], 401, "unauthorized", "Authorization", "the revoked token")
    entries = entries_by_id(h)
    ids = []
    for i, (school, values, headers) in enumerate(requests[1:], start=1):
        answer = answers[i]
        check(answer.status == 202, "request %d (%s): HTTP %d %r"
              % (i, school, answer.status, answer.body[:200]))
        document = answer.json()
        expect_eq(document["school"], school, "202 school of request %d" % i)
        expect_eq(document["accepted"], len(values), "202 accepted of request %d" % i)
        entry = entries.get(document["id"])
        check(entry is not None, "request %d: 202 id %s is not in the stream" % (i, document["id"]))
        expect_eq((entry["school"], entry["period"], entry["by"]), (school, "2024", school),
                  "stream fields of request %d" % i)
        expect_eq(json.loads(entry["body"])["values"], values, "queued values of request %d" % i)
        ids.append(document["id"])
    keyed_answers = answers[-2:]
    expect_eq(keyed_answers[0].json()["id"], keyed_answers[1].json()["id"],
              "the two keyed copies answer one id")
    expect_eq(sorted(a.header("Idempotent-Replayed") or "" for a in keyed_answers),
              ["", "true"], "one of the keyed copies is the replay")
    written = sorted(set(ids))
    expect_eq(len(written), len(schools), "distinct entries: 11 schools + the keyed one")
    expect_eq(h.xlen(), length_before + len(written), "stream growth")

    batches_after, batched_after = batch_counters(h)
    # 14 submissions read in one pass, batches of at most 12 (SUBMIT_BATCH_MAX): 2 batches,
    # 3 when the pass happened to be split so that a batch was sent short.
    check(2 <= batches_after - batches_before <= 3,
          "%d batches for %d submissions read in one pass (want 2: at most 12 a batch)"
          % (batches_after - batches_before, len(requests)))
    expect_eq(batched_after - batched_before, len(requests),
              "submissions sent in batches (the revoked token's too: the API still knew it)")

    # The marker(s): one per batch, the written ids and a "-" for each one not written (the
    # revoked token, the replay), kept 2 minutes; no marker key per submission.
    markers = h.redis("KEYS", "edumon:batch:*")
    expect_eq(len(markers), batches_after - batches_before, "one marker per batch")
    words = []
    for marker in markers:
        ttl = h.redis("TTL", marker)
        check(0 < ttl <= 120, "marker %s TTL %r" % (marker, ttl))
        words += h.redis("GET", marker).split(" ")
    expect_eq(sorted(w for w in words if w != "-"), written, "the markers' ids")
    expect_eq(words.count("-"), 2, "the markers' '-' (revoked token, replay)")
    idempotency = h.redis("KEYS", "edumon:idem:*")
    expect_eq(len(idempotency), 1, "idempotency records: only the keyed submission's")
    h.wait_drained()


if __name__ == "__main__":
    run_tests(globals())
