#!/usr/bin/env python3
"""Operations endpoints: /healthz, /readyz, /metrics (Prometheus text), and the catalog reads
a dashboard starts from."""

import json
import os
import re
import time

from harness import (BIN_DIR, RedisClient, check, expect_eq, expect_error, indicator, options,
                     run_tests)


def metrics(h):
    response = h.get("/metrics")
    expect_eq(response.status, 200, "/metrics status")
    content_type = response.header("Content-Type") or ""
    check(content_type.startswith("text/plain"), "/metrics Content-Type %r" % content_type)
    text = response.body.decode("utf-8")
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$", line)
        check(match is not None, "not a Prometheus sample line: %r" % line)
        samples[match.group(1)] = float(match.group(3))
    return text, samples


def test_health_and_readiness(h):
    response = h.get("/healthz")
    expect_eq(response.status, 200, "/healthz")
    expect_eq(response.json().get("status"), "ok", "/healthz body")
    response = h.get("/readyz")
    expect_eq(response.status, 200, "/readyz")
    ready = response.json()
    expect_eq(ready.get("status"), "ready", "/readyz status")
    expect_eq(ready.get("redis"), True, "/readyz redis")
    check(isinstance(ready.get("catalog"), str) and len(ready["catalog"]) == 64,
          "/readyz names the catalog hash: %r" % ready)
    # The snapshot records the same catalog hash the API loaded.
    expect_eq(h.snapshot_json().get("catalog"), ready["catalog"], "snapshot catalog hash")


def test_allocator(h):
    """The API runs the allocator its build chose (edumon-build.txt, written by CMake next to
    the binaries): named in the startup log and, for jemalloc, mapped into the process."""
    build_info = os.path.join(BIN_DIR, "edumon-build.txt")
    check(os.path.exists(build_info), "%s is missing (CMake writes it)" % build_info)
    with open(build_info, encoding="utf-8") as handle:
        expected = dict(line.split("=", 1) for line in handle.read().split())
    check(expected.get("allocator") in ("jemalloc", "glibc"), "edumon-build.txt: %r" % expected)
    # The startup line is written before the loop runs, so before /readyz (which the harness
    # waited for) could answer.
    with open(h.api.log_path, encoding="utf-8", errors="replace") as handle:
        match = re.search(r"; allocator ([a-z]+)", handle.read())
    check(match is not None, "the API's startup log names no allocator")
    expect_eq(match.group(1), expected["allocator"], "the allocator in the startup log")
    with open("/proc/%d/maps" % h.api.pid, encoding="utf-8") as handle:
        mapped = "/libjemalloc" in handle.read()
    expect_eq(mapped, expected["allocator"] == "jemalloc", "libjemalloc mapped into edumon-api")


def test_metrics_basic(h):
    text, samples = metrics(h)
    for family in ["edumon_http_requests_total", "edumon_submissions_accepted_total",
                   "edumon_stream_length", "edumon_redis_up"]:
        check("# TYPE %s " % family in text, "/metrics lacks the family %s" % family)
    expect_eq(samples.get("edumon_redis_up"), 1.0, "edumon_redis_up")

    p1 = h.register("p1", stage="primary")
    accepted = 0
    for places in (1, 2, 3):
        answer = h.submit_ok(p1, "p1", {"new_places": places, "students": 10})
        accepted += 1
    expect_eq(h.submit(p1, "p1", {"students": -1}).status, 422, "a refused submission")
    h.wait_applied(p1, answer["id"])
    text, samples = metrics(h)
    expect_eq(samples.get('edumon_http_requests_total{route="submit",status="202"}'), 3.0,
              "202s counted by route and status")
    expect_eq(samples.get('edumon_http_requests_total{route="submit",status="422"}'), 1.0,
              "422s counted by route and status")
    expect_eq(samples.get("edumon_values_accepted_total"), 6.0, "values accepted (3 x 2)")
    expect_eq(samples.get("edumon_stream_length"), float(h.xlen()), "stream length gauge")
    expect_eq(samples.get("edumon_stream_pending"), 0.0, "nothing pending once applied")
    # Workers publish their counters through Redis (edumon:workers); the API shows them.
    deadline = time.monotonic() + 3
    while not any(name.startswith("edumon_worker_entries_total{consumer=") for name in samples):
        check(time.monotonic() < deadline, "no edumon_worker_entries_total{consumer=...} in "
              "/metrics:\n" + text)
        time.sleep(0.1)
        text, samples = metrics(h)


def test_metrics_submission_counters(h):
    """Regression test: edumon_submissions_accepted_total ("Submissions
    queued (answered 202)") and edumon_submissions_rejected_total ("Submissions refused with
    a 4xx or 5xx") were once rendered but never incremented; they must count every answer."""
    p1 = h.register("p1", stage="primary")
    for places in (1, 2, 3):
        h.submit_ok(p1, "p1", {"new_places": places})
    expect_eq(h.submit(p1, "p1", {"students": -1}).status, 422, "a refused submission")
    expect_eq(h.submit(None, "p1", {"students": 1}).status, 401, "another refused one")
    _, samples = metrics(h)
    expect_eq(samples.get("edumon_submissions_accepted_total"), 3.0,
              "edumon_submissions_accepted_total after three 202s")
    expect_eq(samples.get("edumon_submissions_rejected_total"), 2.0,
              "edumon_submissions_rejected_total after a 422 and a 401")


@options(redis_password="s3cret-pass_word", redis_db=3)
def test_redis_password_and_database(h):
    """EDUMON_REDIS_URL redis://:password@host:port/3: both processes authenticate and use
    database 3 (and only it)."""
    p1 = h.register("p1", stage="primary")
    answer = h.submit_ok(p1, "p1", {"new_places": 9})
    h.wait_applied(p1, answer["id"])
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 9, "applied")
    check(h.xlen() >= 2, "the stream is in database 3")
    expect_eq(RedisClient(h.redis_port, h.redis_password, 0)("DBSIZE"), 0,
              "keys written to database 0")


def test_catalog_reads(h):
    districts = h.get("/v1/districts")
    expect_eq(districts.status, 200, "/v1/districts")
    listed = districts.json()["districts"]
    expect_eq(sorted(item["id"] for item in listed), ["other-county", "test-county"],
              "fixture districts")
    test = next(item for item in listed if item["id"] == "test-county")
    expect_eq(test["name"], "测试县", "Chinese name")
    expect_eq(test["plan"]["years"], [2021, 2025], "plan years")
    elements = h.get("/v1/elements").json()["elements"]
    students = next(item for item in elements if item["id"] == "students")
    expect_eq((students["type"], students["min"], students["max"]), ("integer", 0, 20000),
              "students definition")
    indicators = h.get("/v1/indicators").json()["indicators"]
    cv = next(item for item in indicators if item["id"] == "primary_area_cv")
    expect_eq((cv["kind"], cv["weight"], cv["filter"]), ("cv", "students",
                                                         {"stages": ["primary"]}),
              "cv definition")
    detail = h.get("/v1/districts/test-county")
    expect_eq(detail.status, 200, "/v1/districts/test-county")
    targets = detail.json()["targets"]
    expect_eq(len(targets), 7, "test-county targets")
    # The district's file as loaded (the API keeps it deflated), plus the periods with data.
    with open(os.path.join(h.catalog, "districts", "test-county.json"), encoding="utf-8") as f:
        on_disk = json.load(f)
    served = detail.json()
    expect_eq(served.pop("periods"), [], "periods of a district without data")
    expect_eq(served, on_disk, "/v1/districts/test-county is the district file")
    expect_error(h.request("DELETE", "/v1/districts"), 405, "method_not_allowed", None,
                 "DELETE /v1/districts")


if __name__ == "__main__":
    run_tests(globals())
