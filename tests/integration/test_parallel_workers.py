#!/usr/bin/env python3
"""Two workers consume the same stream in parallel: 300 random submissions from 30 units
(two districts, two periods), sent concurrently, end with exactly the figures an independent
model computes (last writer per element wins, in stream order), every submission applied
once, nothing pending, nothing dead-lettered, and both workers did part of the work.
"""

import re
import threading

from harness import DEAD_LETTER, FIXTURE_CATALOG, check, expect_eq, options, run_tests
from model import Model, new_rng, random_population

SUBMISSIONS = 300
CLIENT_THREADS = 6


def submit_concurrently(h, model, units, tokens, rng, count, threads):
    """Sends `count` random submissions from `threads` clients; returns the accepted ones
    as [(id, unit, period, values)]."""
    plan = []
    for _ in range(count):
        unit = rng.choice(units)[0]
        period = rng.choice(["2024", "2024", "2024", "2023"])
        plan.append((unit, period, model.random_submission(unit, rng)))
    accepted, errors = [], []
    lock = threading.Lock()

    def client(part):
        for unit, period, values in part:
            try:
                answer = h.submit_ok(tokens[unit], unit, values, period=period)
            except Exception as error:  # collected and reported by the main thread
                with lock:
                    errors.append(error)
                return
            with lock:
                accepted.append((answer["id"], unit, period, values))

    workers = [threading.Thread(target=client, args=(plan[i::threads],))
               for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        raise errors[0]
    expect_eq(len(accepted), count, "accepted submissions")
    return accepted


def check_final_state(h, model, accepted, districts):
    h.wait_drained(timeout=60)
    for district in districts:
        for period in ["2023", "2024"]:
            model.check_snapshot(h.snapshot_json(district, period), district, period)
    ids = [entry[0] for entry in accepted]
    expect_eq(len(set(ids)), len(ids), "distinct submission ids")
    statuses = h.redis("MGET", *["edumon:status:" + entry_id for entry_id in ids])
    not_applied = [(entry_id, status) for entry_id, status in zip(ids, statuses)
                   if status != "applied"]
    expect_eq(not_applied, [], "submissions not marked applied")
    expect_eq(h.xlen(DEAD_LETTER), 0, "dead-lettered entries")
    expect_eq(h.pending_by_consumer(), {}, "entries still pending")


def worker_entry_counts(h):
    """Entries each worker processed, from its stop line (workers stopped by SIGTERM)."""
    counts = []
    for worker in h.workers:
        worker.stop(timeout=5)
        with open(worker.log_path, encoding="utf-8", errors="replace") as handle:
            found = re.findall(r"stopped: \d+ batches, (\d+) entries", handle.read())
        check(found, "%s logged no stop line" % worker.name)
        counts.append(int(found[-1]))
    return counts


@options(workers=2, env={"EDUMON_BATCH": "8"})
def test_two_workers_random_stream(h):
    rng = new_rng("test_two_workers_random_stream")
    model = Model(FIXTURE_CATALOG)
    units = random_population(model, rng, {"test-county": 22, "other-county": 8})
    # 24 units are registered first; 6 more register while the stream flows and submit at
    # once (5 each), so workers meet submissions of units they have not seen yet.
    early, late = units[:24], units[24:]
    late_submissions = 5
    tokens = {}
    for unit, district, stage, ownership in early:
        tokens[unit] = h.register(unit, district=district, stage=stage, ownership=ownership)
    late_accepted, late_errors = [], []
    late_rng = rng.__class__(rng.random())

    def register_late():
        try:
            for unit, district, stage, ownership in late:
                token = h.register(unit, district=district, stage=stage, ownership=ownership)
                for _ in range(late_submissions):
                    values = model.random_submission(unit, late_rng)
                    answer = h.submit_ok(token, unit, values)
                    late_accepted.append((answer["id"], unit, "2024", values))
        except Exception as error:
            late_errors.append(error)

    late_thread = threading.Thread(target=register_late)
    late_thread.start()
    try:
        accepted = submit_concurrently(h, model, early, tokens, rng,
                                       SUBMISSIONS - len(late) * late_submissions,
                                       CLIENT_THREADS)
    finally:
        late_thread.join()
    if late_errors:
        raise late_errors[0]
    accepted += late_accepted
    expect_eq(len(accepted), SUBMISSIONS, "accepted submissions")
    model.apply_all(accepted)
    check_final_state(h, model, accepted, ["test-county", "other-county"])
    counts = worker_entry_counts(h)
    check(all(count > 0 for count in counts),
          "both workers should have processed entries, got %r" % counts)
    # Registrations (30) and submissions (300) were all consumed, some possibly twice
    # (a batch retried after a conflict is harmless) but never fewer than once.
    check(sum(counts) >= SUBMISSIONS + len(units),
          "workers processed %d entries, fewer than the %d queued" % (sum(counts),
                                                                     SUBMISSIONS + len(units)))


if __name__ == "__main__":
    run_tests(globals())
