#!/usr/bin/env python3
"""What dashboards rely on: ETag / If-None-Match / 304, and long-poll (?wait=N)."""

import email.utils
import signal
import socket
import threading
import time

from harness import check, expect_eq, indicator, run_tests


def applied_snapshot(h):
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 100})
    h.wait_applied(p1, answer["id"])
    return p1


def test_304_with_if_none_match(h):
    p1 = applied_snapshot(h)
    response = h.snapshot()
    etag = response.header("ETag")
    expect_eq(etag, '"2024-1"', "ETag")

    same = h.snapshot(headers={"If-None-Match": etag})
    expect_eq(same.status, 304, "If-None-Match with the current ETag")
    expect_eq(same.body, b"", "a 304 has no body")
    expect_eq(same.header("ETag"), etag, "304 repeats the ETag")
    expect_eq(same.header("Cache-Control"), "no-cache", "304 Cache-Control")

    stale = h.snapshot(headers={"If-None-Match": '"2024-0"'})
    expect_eq(stale.status, 200, "If-None-Match with an old ETag")
    expect_eq(stale.json()["version"], 1, "full answer to an old ETag")
    other_period = h.snapshot(period="2023", headers={"If-None-Match": etag})
    expect_eq(other_period.status, 200, "another period's ETag does not match")
    expect_eq(other_period.header("ETag"), '"2023-0"', "2023 has no data: version 0")

    # A change gives a new ETag; the old one no longer matches.
    answer = h.submit_ok(p1, "p1", {"new_places": 101})
    h.wait_applied(p1, answer["id"])
    changed = h.snapshot(headers={"If-None-Match": etag})
    expect_eq(changed.status, 200, "If-None-Match after a change")
    expect_eq(changed.header("ETag"), '"2024-2"', "ETag after a change")
    expect_eq(indicator(changed.json(), "new_school_places")["value"], 101, "new value")


def expect_one_current_date(response, what):
    """One Date header (the API's own, formatted once a second), RFC 9110 IMF-fixdate,
    within a few seconds of now."""
    dates = [value for key, value in response.headers if key.lower() == "date"]
    expect_eq(len(dates), 1, what + ": Date headers")
    check(dates[0].endswith(" GMT") and len(dates[0]) == 29,
          "%s: Date %r is not an IMF-fixdate" % (what, dates[0]))
    sent = email.utils.parsedate_to_datetime(dates[0]).timestamp()
    check(abs(sent - time.time()) < 5, "%s: Date %r is not now" % (what, dates[0]))


def test_date_header(h):
    applied_snapshot(h)
    first = h.snapshot()
    expect_one_current_date(first, "200")
    expect_one_current_date(h.snapshot(headers={"If-None-Match": first.header("ETag")}), "304")
    expect_one_current_date(h.get("/v1/districts/nowhere/snapshot"), "404")
    # The copy is re-formatted when the second changes: a later answer carries a later Date.
    time.sleep(1.1)
    later = h.snapshot()
    expect_one_current_date(later, "200 a second later")
    check(email.utils.parsedate_to_datetime(later.header("Date")) >
          email.utils.parsedate_to_datetime(first.header("Date")),
          "Date did not move on: %r then %r" % (first.header("Date"), later.header("Date")))


def raw_head_body(h, path, headers):
    """What a HEAD answer carries after its headers, read off the socket to the end
    (http.client would not read a body a HEAD answer must not have)."""
    lines = ["HEAD %s HTTP/1.1" % path, "Host: 127.0.0.1", "Connection: close"]
    lines += ["%s: %s" % item for item in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", h.api_port), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        received = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    check(b"\r\n\r\n" in received, "HEAD %s: no complete header block: %r" % (path, received))
    return received.split(b"\r\n\r\n", 1)[1]


def test_head_like_get_without_body(h):
    """HEAD answers what GET would, headers and Content-Length included, with no body: for
    JSON answers built in memory (the district list, an error), the snapshot and a 304."""
    applied_snapshot(h)
    snapshot_path = "/v1/districts/test-county/snapshot?period=2024"
    etag = h.get(snapshot_path).header("ETag")
    for path, headers in [("/v1/districts", None), ("/v1/districts/nowhere/snapshot", None),
                          (snapshot_path, None), (snapshot_path, {"If-None-Match": etag}),
                          ("/healthz", None)]:
        got = h.get(path, headers=headers)
        head = h.request("HEAD", path, headers=headers)
        what = "HEAD %s%s" % (path, " (If-None-Match)" if headers else "")
        expect_eq(head.status, got.status, what + ": status")
        expect_eq(raw_head_body(h, path, headers), b"", what + ": bytes after the headers")
        for name in ("Content-Type", "Cache-Control", "ETag"):
            expect_eq(head.header(name), got.header(name), what + ": " + name)
        if got.status != 304:
            expect_eq(head.header("Content-Length"), str(len(got.body)),
                      what + ": Content-Length is the GET body's")


def test_query_parameters(h):
    """?period= and ?wait= as evhttp reads them, whether the query needs decoding (evhttp's
    parser) or not (api/query.c): percent-escapes decoded, keys case-insensitive, the first of
    two wins, a piece without '=' refuses the whole query (the parameter is then absent)."""
    applied_snapshot(h)
    path = "/v1/districts/test-county/snapshot?"
    for query, period in (("period=2024", "2024"), ("period=%32%30%32%34", "2024"),
                          ("PERIOD=2023", "2023"), ("Period=2023&period=2024", "2023"),
                          ("x=%41&period=2023", "2023"), ("period=2023&wait=0", "2023")):
        response = h.get(path + query)
        expect_eq(response.status, 200, "GET ?" + query)
        expect_eq(response.json()["period"], period, "the period of ?" + query)
    for query in ("period=20x4", "period=2024+", "period=%320x4", "period="):
        response = h.get(path + query)
        expect_eq(response.status, 422, "GET ?" + query)
        expect_eq(response.json()["error"]["field"], "period", "the field named for ?" + query)
    response = h.get(path + "wait=%3661")
    expect_eq(response.status, 422, "?wait=61, percent-escaped")
    expect_eq(response.json()["error"]["field"], "wait", "the field named for ?wait=61")
    # evhttp refuses a query with a piece lacking '=': no period given, the latest one served.
    response = h.get(path + "period=2023&flag")
    expect_eq(response.status, 200, "GET ?period=2023&flag")
    expect_eq(response.json()["period"], "2024", "period of a query evhttp refuses")


def test_long_poll_answers_when_applied(h):
    p1 = applied_snapshot(h)
    etag = h.snapshot().header("ETag")
    submitted = {}

    def submit_later():
        time.sleep(1.0)
        submitted["at"] = time.monotonic()
        submitted["answer"] = h.submit_ok(p1, "p1", {"new_places": 250})

    thread = threading.Thread(target=submit_later)
    started = time.monotonic()
    thread.start()
    try:
        response = h.snapshot(wait=10, headers={"If-None-Match": etag}, timeout=15)
    finally:
        thread.join()
    answered = time.monotonic()
    expect_eq(response.status, 200, "long-poll answer after a change")
    check(answered - started >= 0.9, "the long-poll did not wait for the change "
          "(answered after %.2f s)" % (answered - started))
    check(answered - submitted["at"] < 2.0, "the long-poll answered %.2f s after the "
          "submission (want < 2 s)" % (answered - submitted["at"]))
    expect_eq(response.header("ETag"), '"2024-2"', "long-poll ETag")
    expect_eq(indicator(response.json(), "new_school_places")["value"], 250,
              "long-poll shows the new value")


def test_long_poll_first_data(h):
    """A dashboard waiting on an empty period (version 0) is woken by the first figure."""
    p1 = h.register("p1", stage="primary")
    empty = h.snapshot()
    expect_eq(empty.header("ETag"), '"2024-0"', "empty ETag")
    timer = threading.Timer(0.5, lambda: h.submit_ok(p1, "p1", {"new_places": 3}))
    started = time.monotonic()
    timer.start()
    try:
        response = h.snapshot(wait=10, headers={"If-None-Match": '"2024-0"'}, timeout=15)
    finally:
        timer.join()
    elapsed = time.monotonic() - started
    expect_eq(response.status, 200, "long-poll on an empty period")
    check(elapsed < 2.5, "first data took %.2f s to reach the long-poll" % elapsed)
    expect_eq(response.json()["version"], 1, "version of the first data")


def test_long_poll_times_out_with_304(h):
    applied_snapshot(h)
    etag = h.snapshot().header("ETag")
    started = time.monotonic()
    response = h.snapshot(wait=2, headers={"If-None-Match": etag}, timeout=10)
    elapsed = time.monotonic() - started
    expect_eq(response.status, 304, "long-poll without a change")
    expect_eq(response.body, b"", "304 body")
    expect_eq(response.header("ETag"), etag, "304 ETag")
    check(1.9 <= elapsed < 3.5, "wait=2 answered after %.2f s" % elapsed)

    # Another district's (or period's) change does not end the wait early.
    other = h.register("x1", district="other-county", stage="primary")
    timer = threading.Timer(0.3, lambda: h.submit_ok(other, "x1", {"new_places": 1}))
    started = time.monotonic()
    timer.start()
    try:
        response = h.snapshot(wait=2, headers={"If-None-Match": etag}, timeout=10)
    finally:
        timer.join()
    elapsed = time.monotonic() - started
    expect_eq(response.status, 304, "long-poll while another district changes")
    check(elapsed >= 1.9, "another district's change ended the wait after %.2f s" % elapsed)

    # Without If-None-Match, ?wait answers at once.
    started = time.monotonic()
    response = h.snapshot(wait=10)
    expect_eq(response.status, 200, "wait without If-None-Match")
    check(time.monotonic() - started < 1.0, "wait without If-None-Match must not wait")


def test_many_long_polls_all_woken(h):
    p1 = applied_snapshot(h)
    etag = h.snapshot().header("ETag")
    results = []
    lock = threading.Lock()

    def poll():
        response = h.snapshot(wait=10, headers={"If-None-Match": etag}, timeout=15)
        with lock:
            results.append((response.status, response.header("ETag"), time.monotonic()))

    threads = [threading.Thread(target=poll) for _ in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.7)
    submitted_at = time.monotonic()
    h.submit_ok(p1, "p1", {"new_places": 7})
    for thread in threads:
        thread.join()
    expect_eq(sorted(status for status, _, _ in results), [200] * 20, "all 20 woken with 200")
    expect_eq({etag for _, etag, _ in results}, {'"2024-2"'}, "all see the new version")
    latest = max(at for _, _, at in results) - submitted_at
    check(latest < 2.0, "the last long-poll answered %.2f s after the submission" % latest)


def test_long_poll_clients_that_hang_up(h):
    """Long-polls whose clients disconnect while parked, and while being woken, leave the API
    healthy (no crash, no stuck waiters): later long-polls still work."""
    p1 = applied_snapshot(h)
    etag = h.snapshot().header("ETag")
    request = ("GET /v1/districts/test-county/snapshot?period=2024&wait=%d HTTP/1.1\r\n"
               "Host: edumon\r\nIf-None-Match: %s\r\n\r\n")
    # Ten parked long-polls hang up after 0.2 s; five more with wait=1 also hang up.
    sockets = []
    for wait in [30] * 10 + [1] * 5:
        sock = socket.create_connection(("127.0.0.1", h.api_port), timeout=5)
        sock.sendall((request % (wait, etag)).encode())
        sockets.append(sock)
    time.sleep(0.2)
    for sock in sockets:
        sock.close()
    # A change wakes (what is left of) them; then the timers of the wait=1 ones fire.
    answer = h.submit_ok(p1, "p1", {"new_places": 1})
    h.wait_applied(p1, answer["id"])
    time.sleep(1.2)
    check(h.api.alive(), "the API died after long-poll clients hung up")
    expect_eq(h.get("/healthz").status, 200, "/healthz after hang-ups")
    etag = h.snapshot().header("ETag")
    response = h.snapshot(wait=1, headers={"If-None-Match": etag}, timeout=5)
    expect_eq(response.status, 304, "a new long-poll after the hang-ups")


def test_draining_answers_parked_long_polls(h):
    """SIGTERM: /readyz turns 503 and a parked long-poll is answered at once (304), well
    before its wait; the API then exits 0."""
    applied_snapshot(h)
    etag = h.snapshot().header("ETag")
    result = {}

    def poll():
        result["response"] = h.snapshot(wait=30, headers={"If-None-Match": etag}, timeout=10)
        result["at"] = time.monotonic()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    signalled = time.monotonic()
    h.api.signal(signal.SIGTERM)
    thread.join()
    expect_eq(result["response"].status, 304, "parked long-poll answered on drain")
    check(result["at"] - signalled < 1.0, "the parked long-poll was answered %.2f s after "
          "SIGTERM" % (result["at"] - signalled))
    expect_eq(h.api.popen.wait(timeout=5), 0, "the API's exit status after draining")


if __name__ == "__main__":
    run_tests(globals())
