#!/usr/bin/env python3
"""The worker's district cache under a budget of 0 MB (EDUMON_WORKER_CACHE_MB=0): no district
stays loaded between batches, so every entry is applied blind and every store reloads its
district from Redis. Random submissions from 30 units (two districts, two periods, some units
registered mid-stream, older and newer values for the same cells) must still end with exactly
the figures an independent model computes, every submission applied, nothing pending; with
one worker and with two.
"""

import re
import threading

from harness import DEAD_LETTER, FIXTURE_CATALOG, check, expect_eq, options, run_tests
from model import Model, new_rng, random_population

SUBMISSIONS = 200


def submit_stream(h, model, rng, count):
    """Registers 30 units (6 of them while submissions flow), sends `count` random submissions
    from 4 clients; returns the accepted ones as [(id, unit, period, values)]."""
    units = random_population(model, rng, {"test-county": 20, "other-county": 10})
    early, late = units[:24], units[24:]
    tokens = {unit: h.register(unit, district=district, stage=stage, ownership=ownership)
              for unit, district, stage, ownership in early}
    plan = []
    for _ in range(count):
        unit = rng.choice(early)[0]
        plan.append((unit, rng.choice(["2024", "2023"]), model.random_submission(unit, rng)))
    late_plan = [(unit, district, stage, ownership, model.random_submission(unit, rng))
                 for unit, district, stage, ownership in late]
    accepted, errors = [], []
    lock = threading.Lock()

    def client(part):
        try:
            for unit, period, values in part:
                answer = h.submit_ok(tokens[unit], unit, values, period=period)
                with lock:
                    accepted.append((answer["id"], unit, period, values))
        except Exception as error:  # reported by the main thread
            errors.append(error)

    def register_late():
        try:
            for unit, district, stage, ownership, values in late_plan:
                token = h.register(unit, district=district, stage=stage, ownership=ownership)
                answer = h.submit_ok(token, unit, values)
                with lock:
                    accepted.append((answer["id"], unit, "2024", values))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(plan[i::4],)) for i in range(4)]
    threads.append(threading.Thread(target=register_late))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    expect_eq(len(accepted), count + len(late), "accepted submissions")
    return accepted


def check_exact(h, model, accepted):
    h.wait_drained(timeout=60)
    model.apply_all(accepted)
    for district in ["test-county", "other-county"]:
        for period in ["2023", "2024"]:
            model.check_snapshot(h.snapshot_json(district, period), district, period)
    ids = [entry[0] for entry in accepted]
    statuses = h.redis("MGET", *["edumon:status:" + entry_id for entry_id in ids])
    expect_eq([s for s in statuses if s != "applied"], [], "submissions not marked applied")
    expect_eq(h.xlen(DEAD_LETTER), 0, "dead-lettered entries")
    expect_eq(h.pending_by_consumer(), {}, "entries still pending")


def cache_counts(h):
    """(district loads, evictions) summed over the workers' stop lines (SIGTERM)."""
    loads = evictions = 0
    for worker in h.workers:
        worker.stop(timeout=5)
        with open(worker.log_path, encoding="utf-8", errors="replace") as handle:
            found = re.findall(r"(\d+) district loads, (\d+) evictions", handle.read())
        check(found, "%s logged no stop line with its cache counts" % worker.name)
        loads += int(found[-1][0])
        evictions += int(found[-1][1])
    return loads, evictions


@options(workers=1, env={"EDUMON_BATCH": "8", "EDUMON_WORKER_CACHE_MB": "0"})
def test_no_cache_one_worker(h):
    model = Model(FIXTURE_CATALOG)
    accepted = submit_stream(h, model, new_rng("test_no_cache_one_worker"), SUBMISSIONS)
    check_exact(h, model, accepted)
    loads, evictions = cache_counts(h)
    # Each store reloaded its district and gave it up again: far more loads than districts.
    check(loads > 2 and evictions >= loads - 2,
          "expected districts reloaded and evicted, got %d loads, %d evictions" %
          (loads, evictions))


@options(workers=2, env={"EDUMON_BATCH": "8", "EDUMON_WORKER_CACHE_MB": "0"})
def test_no_cache_two_workers(h):
    model = Model(FIXTURE_CATALOG)
    accepted = submit_stream(h, model, new_rng("test_no_cache_two_workers"), SUBMISSIONS)
    check_exact(h, model, accepted)
    loads, evictions = cache_counts(h)
    check(evictions > 0, "expected evictions, got %d loads, %d evictions" % (loads, evictions))


@options(workers=1, env={"EDUMON_BATCH": "8"})
def test_default_cache_keeps_districts(h):
    """With the default budget the two small districts stay loaded and are never evicted:
    they are loaded again only when a registration moves their registry (30 units), not
    once per store."""
    model = Model(FIXTURE_CATALOG)
    accepted = submit_stream(h, model, new_rng("test_default_cache_keeps_districts"),
                             SUBMISSIONS)
    check_exact(h, model, accepted)
    loads, evictions = cache_counts(h)
    expect_eq(evictions, 0, "evictions")
    check(loads <= 32, "expected at most a load per registration, got %d" % loads)


if __name__ == "__main__":
    run_tests(globals())
