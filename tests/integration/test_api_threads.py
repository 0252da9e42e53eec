#!/usr/bin/env python3
"""EDUMON_API_THREADS: several event loops in one API process, each with its own socket on
the same port (SO_REUSEPORT). What must hold whatever loop a connection lands on: every loop
listens, submissions from many connections are all queued and counted once in /metrics (the
sum of the loops), the per-token rate limit is the process's (shared), and SIGTERM drains
every loop (parked long-polls on all of them answered at once, exit status 0)."""

import os
import re
import signal
import threading
import time

from harness import check, expect_eq, options, run_tests

LOOPS = 4


def listening_sockets(port):
    """LISTEN sockets on `port` in /proc/net/tcp and tcp6 (state 0A)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, state = fields[1], fields[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def metric_samples(h):
    response = h.get("/metrics")
    expect_eq(response.status, 200, "/metrics status")
    samples = {}
    for line in response.body.decode("utf-8").splitlines():
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(3))
    return samples


def in_parallel(count, function):
    """Runs function(i) for i in range(count), each on its own thread (and so its own
    connection), and returns the results in order."""
    results = [None] * count
    errors = []

    def run(i):
        try:
            results[i] = function(i)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check(not errors, "requests failed: %r" % errors[:3])
    return results


@options(env={"EDUMON_API_THREADS": str(LOOPS)})
def test_every_loop_listens_and_metrics_sum_them(h):
    expect_eq(listening_sockets(h.api_port), LOOPS, "listening sockets on the API's port")
    threads = len(os.listdir("/proc/%d/task" % h.api.pid))
    check(threads >= LOOPS, "the API runs %d threads, want at least %d" % (threads, LOOPS))

    schools = ["p%d" % i for i in range(8)]
    tokens = {school: h.register(school) for school in schools}
    before = h.xlen()
    submissions = 64
    answers = in_parallel(submissions, lambda i: h.submit(
        tokens[schools[i % 8]], schools[i % 8], {"new_places": i, "students": 100 + i}))
    expect_eq([a.status for a in answers], [202] * submissions, "statuses of parallel submissions")
    ids = {a.json()["id"] for a in answers}
    expect_eq(len(ids), submissions, "distinct entry ids")
    expect_eq(h.xlen() - before, submissions, "entries the stream grew by")

    samples = metric_samples(h)
    expect_eq(samples.get("edumon_api_event_loops"), float(LOOPS), "edumon_api_event_loops")
    expect_eq(samples.get("edumon_submissions_accepted_total"), float(submissions),
              "submissions counted over all loops")
    expect_eq(samples.get('edumon_http_requests_total{route="submit",status="202"}'),
              float(submissions), "202s counted over all loops")
    expect_eq(samples.get("edumon_values_accepted_total"), float(2 * submissions),
              "values counted over all loops")
    by_loop = [samples.get('edumon_http_requests_by_loop_total{loop="%d"}' % i, 0.0)
               for i in range(LOOPS)]
    served = sum(1 for count in by_loop if count > 0)
    # 64 submissions + 8 registrations on fresh connections: all on one loop of 4 has
    # probability 4 * 4**-72.
    check(served >= 2, "requests by loop %r: the kernel spread nothing" % by_loop)
    expect_eq(sum(by_loop), sum(v for k, v in samples.items()
                                if k.startswith("edumon_http_requests_total{")),
              "requests by loop add up to requests by route")

    # Every loop's snapshot cache follows the worker's stores (each loop has its own
    # subscriber): once the stream is drained, every connection reads the same version.
    h.wait_drained()
    deadline = time.monotonic() + 3.0
    while True:
        versions = {snapshot["version"] for snapshot in in_parallel(16, lambda i: h.snapshot_json())}
        if len(versions) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    expect_eq(len(versions), 1, "snapshot versions served by the loops %r" % versions)


@options(env={"EDUMON_API_THREADS": str(LOOPS), "EDUMON_RATE_LIMIT": "5"})
def test_rate_limit_is_shared_by_the_loops(h):
    """Five a minute per token, whatever loop each connection lands on: the sixth is refused
    (a limit per loop would let up to 20 through)."""
    p1 = h.register("p1")
    statuses = [h.submit(p1, "p1", {"new_places": i}).status for i in range(8)]
    expect_eq(statuses, [202] * 5 + [429] * 3, "statuses of 8 submissions from one token")


@options(env={"EDUMON_API_THREADS": str(LOOPS)})
def test_sigterm_drains_every_loop(h):
    p1 = h.register("p1")
    answer = h.submit_ok(p1, "p1", {"new_places": 3})
    h.wait_applied(p1, answer["id"])
    etag = h.snapshot().header("ETag")
    polls = 12
    results = [None] * polls

    def poll(i):
        response = h.snapshot(wait=30, headers={"If-None-Match": etag}, timeout=10)
        results[i] = (response.status, time.monotonic())

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(polls)]
    for thread in threads:
        thread.start()
    time.sleep(0.7)
    parked = metric_samples(h).get("edumon_long_polls_total", 0.0)
    expect_eq(parked, float(polls), "long-polls parked before SIGTERM")
    signalled = time.monotonic()
    h.api.signal(signal.SIGTERM)
    for thread in threads:
        thread.join()
    expect_eq([status for status, _ in results], [304] * polls, "parked long-polls on drain")
    slowest = max(at for _, at in results) - signalled
    check(slowest < 1.0, "the last parked long-poll was answered %.2f s after SIGTERM" % slowest)
    expect_eq(h.api.popen.wait(timeout=5), 0, "the API's exit status after draining")
    check(time.monotonic() - signalled < 4.0, "the API took %.1f s to exit"
          % (time.monotonic() - signalled))


if __name__ == "__main__":
    run_tests(globals())
