#!/usr/bin/env python3
"""Redis going away: submissions answer 503 + Retry-After quickly and write nothing, /readyz
turns 503, /healthz stays 200; when Redis is back, the API and the worker recover by
themselves and a submission accepted afterwards is applied.

Redis runs with an append-only file (appendfsync always) so that a restart keeps the
registrations, the stream and the consumer group, as a production Redis would.
"""

import signal
import time

from harness import check, expect_eq, expect_error, indicator, options, run_tests


def wait_status(h, path, status, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = h.get(path, timeout=3)
            if last.status == status:
                return last
        except OSError as error:
            last = error
        time.sleep(0.05)
    raise AssertionError("%s did not answer %d within %.1f s (last: %r)"
                         % (path, status, timeout, last))


def expect_unavailable(response, what):
    expect_error(response, 503, "unavailable", None, what)
    check(response.header("Retry-After") is not None, what + ": 503 without Retry-After")


def expect_unavailable_or_unknown(response, what):
    """A SUBMIT sent to a Redis that then stops answering: the API cannot know whether it ran
    (Redis may have frozen after running it), so outcome_unknown is the honest answer; a
    submission that never left (no connection) is plain unavailable."""
    code = response.json().get("error", {}).get("code") if response.status == 503 else None
    if code == "outcome_unknown":
        expect_error(response, 503, "outcome_unknown", None, what)
    else:
        expect_error(response, 503, "unavailable", None, what)
    check(response.header("Retry-After") is not None, what + ": 503 without Retry-After")


@options(aof=True)
def test_redis_killed_and_restarted(h):
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 10})
    h.wait_applied(p1, answer["id"])
    length = h.xlen()

    h.redis_process.kill()  # Redis crashes
    started = time.monotonic()
    response = h.submit(p1, "p1", {"new_places": 666})
    expect_unavailable(response, "submission while Redis is down")
    check(time.monotonic() - started < 1.5, "503 took %.2f s (want < 1.5 s)"
          % (time.monotonic() - started))
    wait_status(h, "/readyz", 503, 1.5)
    expect_eq(h.get("/healthz").status, 200, "/healthz while Redis is down")
    time.sleep(1.0)  # let both processes' reconnection back-off grow a little
    response = h.submit(p1, "p1", {"new_places": 667})
    expect_unavailable(response, "second submission while Redis is down")
    check(response.elapsed < 1.5, "503 took %.2f s (want < 1.5 s)" % response.elapsed)

    h.start_redis()  # same port, same directory: the AOF brings the data back
    expect_eq(h.xlen(), length, "stream length after the restart: the 503s wrote nothing")
    wait_status(h, "/readyz", 200, 10)
    answer = h.submit_ok(p1, "p1", {"new_places": 20})
    h.wait_applied(p1, answer["id"], timeout=15)
    snapshot = h.snapshot_json()
    expect_eq(indicator(snapshot, "new_school_places")["value"], 20,
              "the figure sent after the restart (never 666 or 667)")
    expect_eq(snapshot["version"], 2, "one more version")


@options(aof=True)
def test_redis_frozen(h):
    """A Redis that stops answering (SIGSTOP) rather than disappearing: the API's 1 s command
    deadline answers 503 within ~1.5 s, and a refused submission never shows up later when
    Redis resumes."""
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 10})
    h.wait_applied(p1, answer["id"])
    length = h.xlen()

    h.redis_process.signal(signal.SIGSTOP)
    try:
        response = h.submit(p1, "p1", {"new_places": 666}, headers=None)
        expect_unavailable_or_unknown(response, "submission while Redis is frozen")
        check(response.elapsed < 1.5, "503 took %.2f s (want < 1.5 s)" % response.elapsed)
        response = h.submit(p1, "p1", {"new_places": 667})
        # The first one timed out: the API now knows Redis is not answering and sends no
        # write at all, so this answer is a definite "nothing was written".
        expect_unavailable(response, "second submission while Redis is frozen")
        check(response.elapsed < 1.5, "503 took %.2f s (want < 1.5 s)" % response.elapsed)
    finally:
        h.redis_process.signal(signal.SIGCONT)
    wait_status(h, "/readyz", 200, 10)
    time.sleep(0.5)  # whatever Redis still had queued has run by now
    expect_eq(h.xlen(), length, "stream length after Redis resumed: the 503s wrote nothing")
    answer = h.submit_ok(p1, "p1", {"new_places": 30})
    h.wait_applied(p1, answer["id"], timeout=15)
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 30,
              "the figure sent after Redis resumed")


if __name__ == "__main__":
    run_tests(globals())
