#!/usr/bin/env python3
"""Workers killed with SIGKILL mid-stream lose and duplicate nothing.

1. test_kill_and_restart: while clients stream random submissions, a worker is frozen
   (SIGSTOP, so it holds entries it has read but not acknowledged) and SIGKILLed, several
   times. It is restarted under the same consumer name (it must re-read its own pending
   entries first) and, in a second phase with a second worker running alongside, under a new
   name (the dead consumer's entries must be taken over by XAUTOCLAIM once idle for
   EDUMON_CLAIM_IDLE_MS). At the end the snapshots equal an independent model, every
   submission is applied, nothing is pending or dead-lettered, and no snapshot version ever
   went backwards.
2. test_autoclaim_takeover: deterministic takeover. A "ghost" consumer reads entries and
   dies without acknowledging them; a worker must leave them alone until they have been idle
   for EDUMON_CLAIM_IDLE_MS (1.5 s here), then claim and apply them.
"""

import signal
import threading
import time

from harness import DEAD_LETTER, FIXTURE_CATALOG, GROUP, STREAM, check, expect_eq, options, \
    run_tests
from model import Model, new_rng, random_population

KILLS_SAME_NAME = 4
KILLS_NEW_NAME = 3


class VersionWatcher(threading.Thread):
    """Polls the snapshots and records any version that goes backwards."""

    def __init__(self, h, targets):
        super().__init__(daemon=True)
        self.h, self.targets = h, targets
        self.stop_event = threading.Event()
        self.seen = {}
        self.regressions = []
        self.polls = 0

    def run(self):
        while not self.stop_event.is_set():
            for district, period in self.targets:
                try:
                    version = self.h.snapshot_json(district, period)["version"]
                except Exception:
                    continue
                self.polls += 1
                key = (district, period)
                if version < self.seen.get(key, 0):
                    self.regressions.append((key, self.seen[key], version))
                self.seen[key] = max(version, self.seen.get(key, 0))
            time.sleep(0.03)


class Submitter(threading.Thread):
    """Streams random submissions at a steady pace until told to stop."""

    def __init__(self, h, model, units, tokens, rng, pause):
        super().__init__(daemon=True)
        self.h, self.model, self.units, self.tokens = h, model, units, tokens
        self.rng, self.pause = rng, pause
        self.accepted, self.errors = [], []
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            unit = self.rng.choice(self.units)[0]
            period = self.rng.choice(["2024", "2024", "2023"])
            values = self.model.random_submission(unit, self.rng)
            try:
                answer = self.h.submit_ok(self.tokens[unit], unit, values, period=period)
            except Exception as error:
                self.errors.append(error)
                return
            self.accepted.append((answer["id"], unit, period, values))
            time.sleep(self.pause)


def freeze_and_kill(h, worker, consumer, freeze):
    """SIGKILL at a random moment, or (freeze) SIGSTOP first and let entries reach it while
    frozen, so that it surely dies holding some. Returns the number of entries the dead
    consumer holds unacknowledged."""
    if freeze:
        worker.signal(signal.SIGSTOP)
        time.sleep(0.15)
    worker.kill()
    return h.pending_by_consumer().get(consumer, 0)


@options(workers=0, claim_idle_ms=1500, env={"EDUMON_BATCH": "5"})
def test_kill_and_restart(h):
    rng = new_rng("test_kill_and_restart")
    model = Model(FIXTURE_CATALOG)
    units = random_population(model, rng, {"test-county": 16, "other-county": 6})
    tokens = {}
    for unit, district, stage, ownership in units:
        tokens[unit] = h.register(unit, district=district, stage=stage, ownership=ownership)
    targets = [(d, p) for d in ("test-county", "other-county") for p in ("2023", "2024")]
    watcher = VersionWatcher(h, targets)
    submitters = [Submitter(h, model, units, tokens, rng.__class__(rng.random()), 0.004)
                  for _ in range(2)]
    worker = h.start_worker(consumer="w1")
    watcher.start()
    for submitter in submitters:
        submitter.start()
    held = []
    try:
        # Phase 1: one worker, killed and restarted under the same name.
        for round_number in range(KILLS_SAME_NAME):
            time.sleep(rng.uniform(0.2, 0.5))
            held.append(freeze_and_kill(h, worker, "w1", freeze=round_number % 2 == 0))
            worker = h.start_worker(consumer="w1")
        # Phase 2: a second worker alongside; the first comes back under new names, so what
        # the dead consumers held can only come back through XAUTOCLAIM.
        h.start_worker(consumer="w2")
        for round_number in range(KILLS_NEW_NAME):
            time.sleep(rng.uniform(0.2, 0.5))
            name = "w1" if round_number == 0 else "w1-%d" % round_number
            held.append(freeze_and_kill(h, worker, name, freeze=round_number != 1))
            worker = h.start_worker(consumer="w1-%d" % (round_number + 1))
        time.sleep(0.3)
    finally:
        for submitter in submitters:
            submitter.stop_event.set()
        for submitter in submitters:
            submitter.join()
    for submitter in submitters:
        if submitter.errors:
            raise submitter.errors[0]
    accepted = [entry for submitter in submitters for entry in submitter.accepted]
    print("  %d submissions; entries held by the killed consumers: %r" % (len(accepted), held))
    check(sum(1 for count in held if count > 0) >= 2,
          "the kills should have caught workers holding unacknowledged entries: %r" % held)

    h.wait_drained(timeout=60)
    watcher.stop_event.set()
    watcher.join()
    model.apply_all(accepted)
    for district, period in targets:
        model.check_snapshot(h.snapshot_json(district, period), district, period)
    ids = [entry[0] for entry in accepted]
    statuses = h.redis("MGET", *["edumon:status:" + entry_id for entry_id in ids])
    expect_eq([(i, s) for i, s in zip(ids, statuses) if s != "applied"], [],
              "submissions not marked applied")
    expect_eq(h.xlen(DEAD_LETTER), 0, "dead-lettered entries")
    expect_eq(h.pending_by_consumer(), {}, "entries still pending")
    expect_eq(watcher.regressions, [], "snapshot versions that went backwards")
    check(watcher.polls > 20, "the version watcher hardly ran (%d polls)" % watcher.polls)


@options(workers=0, claim_idle_ms=1500)
def test_autoclaim_takeover(h):
    p1 = h.register("p1", stage="primary")
    worker = h.start_worker(consumer="w1")
    h.wait_drained()
    worker.kill()  # no live consumer: the next entries are left for the ghost
    answers = [h.submit_ok(p1, "p1", {"new_places": n, "students": 100 + n})
               for n in range(1, 21)]
    # The ghost reads all twenty and "dies" without acknowledging them.
    read = h.redis("XREADGROUP", "GROUP", GROUP, "ghost", "COUNT", "100", "STREAMS", STREAM,
                   ">")
    read_at = time.monotonic()
    expect_eq(len(read[0][1]), 20, "entries read by the ghost")
    expect_eq(h.pending_by_consumer(), {"ghost": 20}, "pending after the ghost's read")

    h.start_worker(consumer="w2")
    time.sleep(max(0.0, read_at + 1.0 - time.monotonic()))
    # Idle for less than EDUMON_CLAIM_IDLE_MS: still the ghost's.
    expect_eq(h.submission_status(p1, answers[-1]["id"]).json()["status"], "queued",
              "an entry idle for 1 s (claim idle 1.5 s)")
    h.wait_applied(p1, answers[-1]["id"], timeout=10)
    applied_after = time.monotonic() - read_at
    check(applied_after >= 1.4, "entries were claimed after %.2f s, before the 1.5 s idle "
          "time" % applied_after)
    h.wait_drained()
    expect_eq(h.pending_by_consumer(), {}, "pending after the takeover")
    for answer in answers:
        expect_eq(h.submission_status(p1, answer["id"]).json()["status"], "applied",
                  "status of " + answer["id"])
    snapshot = h.snapshot_json()
    places = next(i for i in snapshot["indicators"] if i["id"] == "new_school_places")
    expect_eq(places["value"], 20, "the last of the claimed figures wins")
    students = next(i for i in snapshot["indicators"] if i["id"] == "public_students")
    expect_eq(students["value"], 120, "the last of the claimed figures wins")


if __name__ == "__main__":
    run_tests(globals())
