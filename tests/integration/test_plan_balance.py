#!/usr/bin/env python3
"""The plan questions that read stored figures: the balanced-development evaluation (served and
kept current like snapshots), rankings across districts, a school's counted figures with the
submission each came from, and the CSV exports.

Fixture: tests/fixtures/plan-catalog (README there). Balanced development uses three resources
(floor area per pupil, qualified teachers per 100 pupils, multimedia classrooms per 100 pupils;
primary standards 4.5, 4.2, 2.3), a school passes with 2 of 3 met and the rest at 85 %, teaching
points under 50 pupils are left out of the CV, primary cv_max 0.5.

Hand computation for district alpha, primary schools (pupils; area m², teachers, rooms):
    p1  600  2400  30  15   -> area 4.0, teachers 5.0, rooms 2.5   (2 met, area 89 %: pass)
    p2  300   150  15   9   -> area 0.5, teachers 5.0, rooms 3.0   (area 11 %: fail)
    p4  100   600   5   3   -> area 6.0, teachers 5.0, rooms 3.0   (pass)
    p3   30   300   2   1   -> area 10, teachers 6.67, rooms 3.33  (pass; under 50: not in CV)
Area CV over p1, p2, p4 (weights 600, 300, 100, P = 1000):
    mean = (2400 + 150 + 600) / 1000 = 3.15
    variance = (600*0.85^2 + 300*2.65^2 + 100*2.85^2) / 1000
             = (433.5 + 2106.75 + 812.25) / 1000 = 3.3525
    cv = sqrt(3.3525) / 3.15 = 0.58126 > 0.5 -> fails; p2 carries 2106.75/3352.5 = 62.8 % of the
    variance, p4 24.2 %, p1 12.9 %: p2 is named first.
Teachers: all 5.0 -> cv 0. Rooms: mean (1500+900+300)/1000 = 2.7, variance
    (600*0.04 + 300*0.09 + 100*0.09)/1000 = 0.06, cv = 0.2449/2.7 = 0.0907.
Largest class: p1 44, p2 46 (> 45 by 1), p4 40, p3 30 -> the condition fails on p2.
"""

import csv
import io
import math
import os
import threading
import time

from harness import (FIXTURE_CATALOG, SOURCE_DIR, check, expect_close, expect_eq, expect_error,
                     indicator, options, run_tests)

PLAN_CATALOG = os.path.join(SOURCE_DIR, "tests", "fixtures", "plan-catalog")
AREA_CV = math.sqrt(3.3525) / 3.15
BOM = b"\xef\xbb\xbf"

ALPHA_PRIMARY = {
    "p1": {"students": 600, "teaching_area_m2": 2400, "teachers_above_degree": 30,
           "multimedia_classrooms": 15, "largest_class_size": 44},
    "p2": {"students": 300, "teaching_area_m2": 150, "teachers_above_degree": 15,
           "multimedia_classrooms": 9, "largest_class_size": 46},
    "p4": {"students": 100, "teaching_area_m2": 600, "teachers_above_degree": 5,
           "multimedia_classrooms": 3, "largest_class_size": 40},
    "p3": {"students": 30, "teaching_area_m2": 300, "teachers_above_degree": 2,
           "multimedia_classrooms": 1, "largest_class_size": 30},
}


def submit_all(h, district, figures, period="2024"):
    """Registers every school (primary) and submits its figures; returns {school: token} and
    waits until each submission is applied."""
    tokens = {}
    last = []
    for school, values in figures.items():
        tokens[school] = h.register(school, district=district, stage="primary")
        last.append((tokens[school], h.submit_ok(tokens[school], school, values, period)["id"]))
    for token, submission in last:
        h.wait_applied(token, submission)
    return tokens


def balance(h, district="alpha", period="2024", headers=None, wait=None):
    path = "/v1/districts/%s/balance?period=%s" % (district, period)
    if wait is not None:
        path += "&wait=%d" % wait
    return h.get(path, headers=headers, timeout=15)


def by_id(items, item_id):
    for item in items:
        if item.get("id") == item_id:
            return item
    raise AssertionError("no %r in %r" % (item_id, [i.get("id") for i in items]))


def test_balance_names_the_failing_cv_and_school(h):
    submit_all(h, "alpha", ALPHA_PRIMARY)
    response = balance(h)
    expect_eq(response.status, 200, "balance status")
    document = response.json()
    expect_eq(document["district"], "alpha", "district")
    expect_eq(document["period"], "2024", "period")
    check(document["version"] >= 1, "balance has a version: %r" % document.get("version"))
    expect_eq(response.header("ETag"), '"2024-%d"' % document["version"], "balance ETag")
    expect_eq(response.header("Cache-Control"), "no-cache", "balance Cache-Control")

    primary = document["stages"]["primary"]
    expect_eq(primary["schools_registered"], 4, "primary schools")
    expect_eq(primary["pupils"], 1030, "primary pupils")
    expect_eq(primary["excluded_from_cv"], ["p3"], "teaching point left out of the CV")
    area = by_id(primary["resources"], "area")
    expect_eq(area["schools_in_cv"], 3, "schools in the area CV")
    expect_close(area["mean"], 3.15, "area mean")
    expect_close(area["sd"], math.sqrt(3.3525), "area sd")
    expect_close(area["cv"], AREA_CV, "area cv")
    expect_eq(area["cv_max"], 0.5, "area cv_max")
    expect_eq(area["pass"], False, "area CV fails")
    top = area["top_contributors"]
    expect_eq([c["id"] for c in top], ["p2", "p4"], "schools pulling the area CV up")
    expect_close(top[0]["share"], 2106.75 / 3352.5, "p2 share of the variance")
    expect_eq(top[0]["side"], "below", "p2 is below the mean")
    expect_close(by_id(primary["resources"], "qualified_teachers")["cv"], 0, "teachers cv")
    expect_close(by_id(primary["resources"], "multimedia")["cv"], math.sqrt(0.06) / 2.7,
                 "multimedia cv")

    schools = primary["schools"]
    expect_eq({s["id"]: s["pass"] for s in schools},
              {"p1": True, "p2": False, "p4": True, "p3": True}, "school verdicts")
    expect_eq(by_id(schools, "p1")["met"], 2, "p1 meets 2 of 3")
    expect_eq([s["id"] for s in primary["failing_schools"]], ["p2"], "failing schools")
    expect_close(primary["failing_schools"][0]["below"][0]["fraction"], 0.5 / 4.5,
                 "p2 area as a fraction of the standard")

    class_size = by_id(document["conditions"], "class_size")
    expect_eq(class_size["status"], "fail", "class size condition")
    expect_eq([s["id"] for s in class_size["failing"]], ["p2"], "class too big")
    expect_eq(class_size["failing"][0]["gap"], -1, "one pupil over")

    verdict = document["verdict"]
    expect_eq(verdict["status"], "fail", "verdict")
    expect_eq(verdict["pass"], False, "verdict pass")
    failures = verdict["failures"]
    expect_eq([(f["check"], f.get("resource") or f.get("school") or f.get("condition"))
               for f in failures],
              [("cv", "area"), ("school", "p2"), ("condition", "class_size")], "failures")
    expect_close(failures[0]["gap"], 0.5 - AREA_CV, "by how much the CV fails")
    # 3 primary CVs, 4 schools, 1 condition; no junior school is registered, so the junior
    # CVs are not checks, and nothing is missing.
    expect_eq(verdict["checks"], 8, "checks")
    expect_eq(verdict["missing"], [], "nothing missing")
    expect_eq(failures[0]["schools"][0], "p2", "the failing CV names p2 first")

    # The snapshot carries the same version; its CV indicator agrees (no exclusion there:
    # p3 is in it, so the value differs, which is exactly what exclude_under_pupils changes).
    snapshot = h.snapshot_json("alpha")
    expect_eq(snapshot["version"], document["version"], "snapshot and balance share a version")


def test_balance_is_versioned_and_long_polled(h):
    tokens = submit_all(h, "alpha", {"p1": ALPHA_PRIMARY["p1"], "p2": ALPHA_PRIMARY["p2"]})
    first = balance(h)
    etag = first.header("ETag")
    version = first.json()["version"]
    # Unchanged: 304 without a body.
    again = balance(h, headers={"If-None-Match": etag})
    expect_eq(again.status, 304, "If-None-Match with the current ETag")
    expect_eq(again.body, b"", "304 has no body")

    # A long-poll is woken by a change that only the balance document shows: p1's
    # multimedia rooms (not an indicator of the fixture) still bump the shared version.
    results = {}

    def poll():
        results["response"] = balance(h, headers={"If-None-Match": etag}, wait=10)

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    submission = h.submit_ok(tokens["p1"], "p1", {"multimedia_classrooms": 12})
    h.wait_applied(tokens["p1"], submission["id"])
    thread.join(15)
    response = results["response"]
    expect_eq(response.status, 200, "long-poll answer after a change")
    check(time.monotonic() - started < 5, "long-poll woken promptly")
    woken = response.json()
    expect_eq(woken["version"], version + 1, "version bumped by a balance-only change")
    p1 = by_id(woken["stages"]["primary"]["schools"], "p1")
    expect_close(by_id(p1["resources"], "multimedia")["value"], 2.0, "100 * 12 / 600")

    # Before any figure of a period: version 0, nothing to judge.
    empty = balance(h, period="2023")
    expect_eq(empty.status, 200, "empty period")
    expect_eq(empty.header("ETag"), '"2023-0"', "empty ETag")
    expect_eq(empty.json()["verdict"]["status"], "no_data", "empty verdict")
    expect_error(balance(h, district="nowhere"), 404, "unknown_district", "district")
    expect_error(h.get("/v1/districts/alpha/balance?period=24"), 422, "invalid_period",
                 "period")


def parse_csv(response, what):
    expect_eq(response.status, 200, what + " status")
    expect_eq(response.header("Content-Type"), "text/csv; charset=utf-8", what + " type")
    disposition = response.header("Content-Disposition") or ""
    check(disposition.startswith("attachment;") and ".csv" in disposition,
          "%s Content-Disposition: %r" % (what, disposition))
    check(response.body.startswith(BOM), what + " starts with the UTF-8 BOM")
    text = response.body[len(BOM):].decode("utf-8")
    check("\r\n" in text, what + " uses CRLF")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_exports_parse(h):
    submit_all(h, "alpha", ALPHA_PRIMARY)
    rows = parse_csv(h.get("/v1/districts/alpha/snapshot.csv?period=2024"), "snapshot.csv")
    by_indicator = {row["indicator"]: row for row in rows}
    expect_eq(set(by_indicator), {"classes_over", "bal_primary_area_cv"}, "alpha's targets")
    cv_row = by_indicator["bal_primary_area_cv"]
    expect_eq(cv_row["district"], "alpha", "district column")
    expect_eq(cv_row["name"], "小学生均教学及辅助用房面积校际差异系数", "Chinese name intact")
    snapshot = h.snapshot_json("alpha")
    expect_close(float(cv_row["value"]), indicator(snapshot, "bal_primary_area_cv")["value"],
                 "CSV value = snapshot value, full precision", rel=0, abs_tol=0)
    expect_eq(cv_row["version"], str(snapshot["version"]), "version column")
    expect_eq(cv_row["target_op"], "<=", "target op column")

    rows = parse_csv(h.get("/v1/districts/alpha/balance.csv?period=2024"), "balance.csv")
    verdict = [row for row in rows if row["section"] == "verdict"]
    expect_eq(len(verdict), 1, "one verdict row")
    expect_eq(verdict[0]["item"], "fail", "verdict row")
    area = [row for row in rows if row["section"] == "cv" and row["item"] == "area"
            and row["stage"] == "primary"]
    expect_close(float(area[0]["value"]), AREA_CV, "area CV in the CSV")
    expect_eq(area[0]["pass"], "false", "area CV fails in the CSV")
    contributors = [row["school"] for row in rows
                    if row["section"] == "cv_contributor" and row["item"] == "area"]
    expect_eq(contributors, ["p2", "p4"], "contributors in the CSV")
    failing = [row for row in rows if row["section"] == "condition_school"]
    expect_eq([row["school"] for row in failing], ["p2"], "class size failure in the CSV")
    # ETag and 304 as for the JSON documents.
    response = h.get("/v1/districts/alpha/balance.csv?period=2024")
    again = h.get("/v1/districts/alpha/balance.csv?period=2024",
                  headers={"If-None-Match": response.header("ETag")})
    expect_eq(again.status, 304, "balance.csv 304")


def test_rankings_with_a_tie_and_a_missing_district(h):
    """pupils (untargeted: descending): alpha 800, beta 800, gamma 500, delta none ->
    ranks 1, 1, 3, null. classes_over (alpha targets <= 0: ascending): alpha 2, beta 0,
    gamma 2 -> beta 1, alpha 2, gamma 2, delta null."""
    figures = {"alpha": ("a1", 800, 2), "beta": ("b1", 800, 0), "gamma": ("g1", 500, 2)}
    pending = []
    for district, (school, pupils, over) in figures.items():
        token = h.register(school, district=district, stage="primary")
        submitted = h.submit_ok(token, school, {"students": pupils,
                                                "classes_over_standard_size": over})
        pending.append((token, submitted["id"]))
    for token, submission in pending:
        h.wait_applied(token, submission)

    response = h.get("/v1/rankings?indicator=pupils&period=2024")
    expect_eq(response.status, 200, "rankings status")
    document = response.json()
    expect_eq(document["indicator"], "pupils", "indicator")
    expect_eq(document["period"], "2024", "period")
    expect_eq(document["order"], "descending", "untargeted order")
    expect_eq(document["order_from"], "default", "order from")
    expect_eq([(r["district"], r["rank"], r["value"]) for r in document["rankings"]],
              [("alpha", 1, 800), ("beta", 1, 800), ("gamma", 3, 500), ("delta", None, None)],
              "competition ranking with a tie, missing last")

    document = h.get("/v1/rankings?indicator=classes_over&period=2024").json()
    expect_eq(document["order"], "ascending", "a <= target ranks ascending")
    expect_eq(document["order_from"], "target", "order from the target")
    expect_eq([(r["district"], r["rank"]) for r in document["rankings"]],
              [("beta", 1), ("alpha", 2), ("gamma", 2), ("delta", None)], "ascending ranks")

    expect_error(h.get("/v1/rankings?period=2024"), 422, "missing_indicator", "indicator")
    expect_error(h.get("/v1/rankings?indicator=nope&period=2024"), 422, "unknown_indicator",
                 "indicator")
    expect_error(h.get("/v1/rankings?indicator=pupils"), 422, "missing_period", "period")
    expect_error(h.request("POST", "/v1/rankings", body={}), 405, "method_not_allowed")


def test_school_figures_with_their_submission_ids(h):
    p1 = h.register("p1", district="alpha", stage="primary")
    p2 = h.register("p2", district="alpha", stage="primary")
    b1 = h.register("b1", district="beta", stage="primary")
    first = h.submit_ok(p1, "p1", {"students": 800, "teaching_area_m2": 4000.5,
                                   "has_library": True})
    h.wait_applied(p1, first["id"])
    second = h.submit_ok(p1, "p1", {"students": 810})
    h.wait_applied(p1, second["id"])

    path = "/v1/districts/alpha/schools/p1/figures?period=2024"
    for token, who in ((p1, "the school"), (h.admin_token, "the admin")):
        response = h.get(path, token=token)
        expect_eq(response.status, 200, "figures for " + who)
        document = response.json()
        expect_eq((document["district"], document["school"], document["stage"],
                   document["period"]), ("alpha", "p1", "primary", "2024"), "figures header")
        figures = {f["element"]: (f["value"], f["submission"]) for f in document["figures"]}
        expect_eq(figures, {"students": (810, second["id"]),
                            "teaching_area_m2": (4000.5, first["id"]),
                            "has_library": (True, first["id"])},
                  "each figure with the entry it came from")
        expect_eq(document["count"], 3, "count")

    expect_error(h.get(path), 401, "unauthorized", "Authorization")
    expect_error(h.get(path, token=p2), 403, "forbidden", "school")
    expect_error(h.get(path, token="not-a-token-at-all"), 401, "unauthorized", "Authorization")
    expect_error(h.get("/v1/districts/alpha/schools/b1/figures?period=2024", token=b1), 404,
                 "unknown_school", "school")
    expect_error(h.get("/v1/districts/alpha/schools/p1/figures", token=p1), 422,
                 "missing_period", "period")
    empty = h.get("/v1/districts/alpha/schools/p2/figures?period=2024", token=p2).json()
    expect_eq(empty["figures"], [], "a school that reported nothing")


@options(catalog=FIXTURE_CATALOG)
def test_balance_without_settings_is_404(h):
    """The integration fixture catalog has no balance.json: the endpoint says so."""
    expect_error(h.get("/v1/districts/test-county/balance?period=2024"), 404,
                 "no_balance_settings")
    expect_error(h.get("/v1/districts/test-county/balance.csv?period=2024"), 404,
                 "no_balance_settings")
    rows = parse_csv(h.get("/v1/districts/test-county/snapshot.csv?period=2024"), "snapshot.csv")
    check(len(rows) >= 1 and all(row["value"] == "" for row in rows),
          "an empty snapshot exports rows without values")


if __name__ == "__main__":
    run_tests(globals(), catalog=PLAN_CATALOG)
