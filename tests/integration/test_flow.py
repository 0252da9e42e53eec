#!/usr/bin/env python3
"""A submission flows to a snapshot; resubmissions replace figures element by element; an
identical replay does not bump the version; a submission's status goes queued -> applied.

Fixture: tests/fixtures/catalog, district test-county (plan 2021-2025). Only primary schools
are registered here, so the kindergarten and office indicators stay without data.
"""

import re

from harness import (check, expect_close, expect_eq, expect_error, indicator, options,
                     run_tests)


def test_submission_flows_to_snapshot(h):
    p1 = h.register("p1", stage="primary", ownership="public")
    p2 = h.register("p2", stage="primary", ownership="public")

    # Before any figure: version 0, every tracked indicator without data.
    response = h.snapshot()
    expect_eq(response.status, 200, "empty snapshot status")
    expect_eq(response.header("ETag"), '"2024-0"', "empty snapshot ETag")
    expect_eq(response.header("Cache-Control"), "no-cache", "snapshot Cache-Control")
    empty = response.json()
    expect_eq(empty["district"], "test-county", "district")
    expect_eq(empty["period"], "2024", "period")
    expect_eq(empty["version"], 0, "empty version")
    # The plan's targets, in the file's order, as the API reads them back from its packed
    # catalog (it keeps none in memory).
    expect_eq([item["id"] for item in empty["indicators"]],
              ["new_school_places", "public_students", "kg_inclusive_share", "kg_gross_enrolment",
               "mh_teacher_coverage", "city_rank", "primary_area_cv"], "empty snapshot indicators")
    by_id = {item["id"]: item for item in empty["indicators"]}
    expect_eq(by_id["city_rank"]["target"]["op"], "<=", "target op in the empty snapshot")
    expect_eq(by_id["primary_area_cv"]["target"]["value"], 0.65, "target value")
    for item in empty["indicators"]:
        expect_eq(item["value"], None, "empty value of " + item["id"])
        expect_eq(item["status"], "no_data", "empty status of " + item["id"])

    first = h.submit_ok(p1, "p1", {"students": 800, "teaching_area_m2": 4000.5,
                                   "new_places": 500, "has_mh_teacher": True})
    h.wait_applied(p1, first["id"])
    response = h.snapshot()
    expect_eq(response.status, 200, "snapshot status")
    snapshot = response.json()
    expect_eq(snapshot["version"], 1, "version after the first submission")
    expect_eq(response.header("ETag"), '"2024-1"', "ETag after the first submission")
    check(isinstance(snapshot.get("updated_at"), str) and
          re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", snapshot["updated_at"]),
          "updated_at is not an ISO timestamp: %r" % snapshot.get("updated_at"))
    # Completeness: 2 registered units, 1 has reported.
    expect_eq(snapshot["completeness"], {"expected": 2, "reported": 1}, "completeness")

    places = indicator(snapshot, "new_school_places")
    expect_eq(places["kind"], "sum", "new_school_places kind")
    expect_eq(places["value"], 500, "new_school_places = 500 (p1 only)")
    expect_eq(places["schools_reporting"], 1, "new_school_places schools_reporting")
    expect_eq(places["schools_expected"], 2, "new_school_places schools_expected")
    expect_eq(places["target"], {"op": ">=", "value": 1000, "year": 2025}, "target")

    # Coverage over the 2 public primary schools: p1 has a teacher, p2 has not reported
    # (and counts against): 100 * 1 / 2 = 50.
    coverage = indicator(snapshot, "mh_teacher_coverage")
    expect_eq(coverage["value"], 50, "coverage 100*1/2")
    expect_eq(coverage["numerator"], 1, "coverage numerator")
    expect_eq(coverage["denominator"], 2, "coverage denominator")
    expect_eq(coverage["schools_reporting"], 1, "coverage schools_reporting")
    expect_eq(coverage["schools_expected"], 2, "coverage schools_expected")

    # A single school has no spread: cv = 0.
    expect_eq(indicator(snapshot, "primary_area_cv")["value"], 0, "cv of one school")
    # No kindergarten registered: the kindergarten ratio has no data and expects nobody.
    share = indicator(snapshot, "kg_inclusive_share")
    expect_eq(share["value"], None, "kg share without kindergartens")
    expect_eq(share["status"], "no_data", "kg share status")
    expect_eq(share["schools_expected"], 0, "kg share schools_expected")

    second = h.submit_ok(p2, "p2", {"students": 200, "new_places": 300})
    h.wait_applied(p2, second["id"])
    response = h.snapshot()
    snapshot = response.json()
    expect_eq(snapshot["version"], 2, "version after the second submission")
    expect_eq(response.header("ETag"), '"2024-2"', "ETag after the second submission")
    expect_eq(snapshot["completeness"], {"expected": 2, "reported": 2}, "completeness")
    places = indicator(snapshot, "new_school_places")
    expect_eq(places["value"], 800, "new_school_places = 500 + 300")
    expect_eq(places["schools_reporting"], 2, "new_school_places schools_reporting")
    expect_eq(indicator(snapshot, "public_students")["value"], 1000, "students 800 + 200")
    # p2 reported students but no area: it is not in the cv (needs num, den and weight)
    # and does not count as reporting for it.
    cv = indicator(snapshot, "primary_area_cv")
    expect_eq(cv["value"], 0, "cv still over p1 alone")
    expect_eq(cv["schools_reporting"], 1, "cv schools_reporting")
    expect_eq(cv["schools_expected"], 2, "cv schools_expected")

    # The district list of periods now defaults to 2024.
    latest = h.snapshot(period=None)
    expect_eq(latest.status, 200, "snapshot without period")
    expect_eq(latest.json()["period"], "2024", "default period = latest with data")
    expect_eq(latest.json()["version"], 2, "default period version")


def test_resubmission_replaces_element_by_element(h):
    p1 = h.register("p1", stage="primary", ownership="public")
    h.register("p2", stage="primary", ownership="private")  # never reports

    answer = h.submit_ok(p1, "p1", {"new_places": 500, "students": 800,
                                    "has_mh_teacher": True})
    h.wait_applied(p1, answer["id"])
    snapshot = h.snapshot_json()
    expect_eq(snapshot["version"], 1, "version 1")
    expect_eq(indicator(snapshot, "new_school_places")["value"], 500, "first places")

    # A resubmission replaces the earlier figure: 200, not 500 + 200 = 700.
    answer = h.submit_ok(p1, "p1", {"new_places": 200})
    h.wait_applied(p1, answer["id"])
    snapshot = h.snapshot_json()
    expect_eq(snapshot["version"], 2, "version 2")
    expect_eq(indicator(snapshot, "new_school_places")["value"], 200,
              "resubmitted places replace (not add to) the earlier figure")
    # ...and the elements it did not name are kept.
    expect_eq(indicator(snapshot, "public_students")["value"], 800, "students kept")
    expect_eq(indicator(snapshot, "mh_teacher_coverage")["value"], 100,
              "teacher kept: 100 * 1/1 (p2 is private, outside the filter)")

    answer = h.submit_ok(p1, "p1", {"has_mh_teacher": False})
    h.wait_applied(p1, answer["id"])
    snapshot = h.snapshot_json()
    expect_eq(snapshot["version"], 3, "version 3")
    coverage = indicator(snapshot, "mh_teacher_coverage")
    expect_eq(coverage["value"], 0, "teacher now false: 100 * 0/1")
    expect_eq(coverage["numerator"], 0, "coverage numerator")
    expect_eq(indicator(snapshot, "new_school_places")["value"], 200, "places kept")
    expect_eq(indicator(snapshot, "public_students")["value"], 800, "students kept")

    # Another period is another figure: 2023 does not touch 2024's values. (2024's
    # snapshot may still change: with a 2023 value, the line from the first period
    # decides its status.)
    answer = h.submit_ok(p1, "p1", {"new_places": 999}, period="2023")
    h.wait_applied(p1, answer["id"])
    expect_eq(indicator(h.snapshot_json(period="2023"), "new_school_places")["value"], 999,
              "2023 places")
    snapshot = h.snapshot_json()
    expect_eq(indicator(snapshot, "new_school_places")["value"], 200, "2024 places untouched")
    expect_eq(indicator(snapshot, "public_students")["value"], 800, "2024 students untouched")


def test_identical_replay_keeps_version(h):
    p1 = h.register("p1", stage="primary", ownership="public")
    values = {"new_places": 120, "students": 640, "teaching_area_m2": 3200.25}
    first = h.submit_ok(p1, "p1", values)
    h.wait_applied(p1, first["id"])
    response = h.snapshot()
    before = response.json()
    etag = response.header("ETag")
    expect_eq(before["version"], 1, "version after the first submission")

    # The same content again (a new stream entry): applied, but nothing changed.
    again = h.submit_ok(p1, "p1", dict(values))
    check(again["id"] != first["id"], "a resubmission is a new entry")
    h.wait_applied(p1, again["id"])
    subset = h.submit_ok(p1, "p1", {"students": 640})
    h.wait_applied(p1, subset["id"])
    response = h.snapshot()
    after = response.json()
    expect_eq(after["version"], 1, "version after replaying identical content")
    expect_eq(response.header("ETag"), etag, "ETag after replaying identical content")
    expect_eq(after["updated_at"], before["updated_at"], "updated_at unchanged")
    expect_eq(after["indicators"], before["indicators"], "indicators unchanged")

    # A real change still bumps it (the worker is alive and applied the replays above).
    changed = h.submit_ok(p1, "p1", {"students": 641})
    h.wait_applied(p1, changed["id"])
    expect_eq(h.snapshot_json()["version"], 2, "version after a real change")


@options(workers=0)
def test_submission_status_queued_then_applied(h):
    p1 = h.register("p1", stage="primary", ownership="public")
    p2 = h.register("p2", stage="primary", ownership="public")
    answer = h.submit_ok(p1, "p1", {"new_places": 10})
    submission_id = answer["id"]

    # No worker yet: queued.
    response = h.submission_status(p1, submission_id)
    expect_eq(response.status, 200, "status for the submitting school")
    status = response.json()
    expect_eq(status.get("id"), submission_id, "status id")
    expect_eq(status.get("status"), "queued", "status before any worker")
    # Another school's token cannot see it; nor can no token; the admin can.
    expect_error(h.submission_status(p2, submission_id), 404, "unknown_submission", "id",
                 "GET another school's submission")
    expect_error(h.get("/v1/submissions/" + submission_id), 401, "unauthorized",
                 "Authorization", "GET a submission without a token")
    expect_error(h.submission_status("not-a-real-token-000000000000", submission_id), 401,
                 "unauthorized", "Authorization", "GET a submission with an unknown token")
    expect_eq(h.submission_status(h.admin_token, submission_id).json().get("status"),
              "queued", "status seen by the admin")
    expect_error(h.submission_status(p1, "1-1"), 404, "unknown_submission", "id",
                 "GET an id that was never queued")

    h.start_worker()
    applied = h.wait_applied(p1, submission_id)
    expect_eq(applied.get("school"), "p1", "status school")
    expect_eq(applied.get("period"), "2024", "status period")
    expect_eq(indicator(h.snapshot_json(), "new_school_places")["value"], 10, "applied value")


def test_districts_are_isolated(h):
    t1 = h.register("t1", district="test-county", stage="primary")
    o1 = h.register("o1", district="other-county", stage="primary")
    a = h.submit_ok(t1, "t1", {"new_places": 7, "has_mh_teacher": True})
    b = h.submit_ok(o1, "o1", {"new_places": 40, "has_mh_teacher": False})
    h.wait_applied(t1, a["id"])
    h.wait_applied(o1, b["id"])
    test = h.snapshot_json("test-county")
    other = h.snapshot_json("other-county")
    expect_eq(indicator(test, "new_school_places")["value"], 7, "test-county places")
    expect_eq(indicator(other, "new_school_places")["value"], 40, "other-county places")
    expect_eq(indicator(test, "mh_teacher_coverage")["value"], 100, "test-county coverage")
    expect_eq(indicator(other, "mh_teacher_coverage")["value"], 0, "other-county coverage")
    expect_eq(test["completeness"], {"expected": 1, "reported": 1}, "test completeness")
    expect_eq(other["completeness"], {"expected": 1, "reported": 1}, "other completeness")
    # other-county tracks only its own three targets.
    expect_eq([item["id"] for item in other["indicators"]],
              ["new_school_places", "public_students", "mh_teacher_coverage"],
              "other-county indicators")
    expect_close(indicator(other, "new_school_places")["gap"], -60, "gap 40 - 100")


def test_history(h):
    p1 = h.register("p1", stage="primary")
    for places in (5, 8):
        answer = h.submit_ok(p1, "p1", {"new_places": places})
        h.wait_applied(p1, answer["id"])
    answer = h.submit_ok(p1, "p1", {"new_places": 3}, period="2023")
    h.wait_applied(p1, answer["id"])
    response = h.get("/v1/districts/test-county/history?indicator=new_school_places&period=2024")
    expect_eq(response.status, 200, "history status")
    history = response.json()
    expect_eq(history.get("indicator"), "new_school_places", "history indicator")
    expect_eq([(p["period"], p["value"]) for p in history["periods"]],
              [("2023", 3), ("2024", 8)], "value per period")
    timeline = history["timeline"]
    versions = [item["version"] for item in timeline]
    expect_eq(versions, list(range(1, len(versions) + 1)), "2024 versions, each once, in order")
    expect_eq([item["value"] for item in timeline[:2]], [5, 8], "2024 values by version")
    expect_eq(versions[-1], h.snapshot_json()["version"], "last timeline version = current")
    check(all(isinstance(item["updated_at"], str) for item in timeline), "timestamps")
    expect_error(h.get("/v1/districts/test-county/history?indicator=nope"), 422,
                 "unknown_indicator", "indicator", "history of an unknown indicator")


if __name__ == "__main__":
    run_tests(globals())
