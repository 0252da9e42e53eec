#!/usr/bin/env python3
"""CSV import: POST /v1/submissions with Content-Type: text/csv (admin or office token).

Fixture: tests/fixtures/plan-catalog. Each test registers an office unit for alpha and a few
primary schools in alpha and beta. Every line is judged with the rules of a JSON submission; a
file with any invalid line imports nothing (422, status ERROR) unless ?atomic=false (200,
status WARNING, the valid lines queued); "ignored" counts values equal to what is counted now,
"updated" values that replace a counted one, "imported" new ones. One stream entry is queued per
(school, period).
"""

import os

from harness import SOURCE_DIR, check, expect_eq, expect_error, run_tests

PLAN_CATALOG = os.path.join(SOURCE_DIR, "tests", "fixtures", "plan-catalog")
BOM = b"\xef\xbb\xbf"


def setup(h):
    """alpha: office alpha-office, primary a1, a2; beta: primary b1. Returns the tokens."""
    tokens = {"office": h.register("alpha-office", district="alpha", stage="office")}
    for school, district in (("a1", "alpha"), ("a2", "alpha"), ("b1", "beta")):
        tokens[school] = h.register(school, district=district, stage="primary")
    return tokens


def post_csv(h, text, token, query="", content_type="text/csv"):
    body = text if isinstance(text, bytes) else text.encode("utf-8")
    return h.request("POST", "/v1/submissions" + query, body=body, token=token,
                     content_type=content_type)


def summary(response, status, code, what):
    expect_eq(response.status, code, "%s: HTTP status (body %r)" % (what, response.body[:600]))
    document = response.json()
    expect_eq(document.get("status"), status, what + ": summary status")
    return document


def wait_all_applied(h, token, document):
    for submission in document["submissions"]:
        h.wait_applied(token, submission)


def figures(h, school, district="alpha", period="2024"):
    response = h.get("/v1/districts/%s/schools/%s/figures?period=%s" % (district, school, period),
                     token=h.admin_token)
    expect_eq(response.status, 200, "figures of " + school)
    return {f["element"]: f["value"] for f in response.json()["figures"]}


# Lines 2-4 are valid; 5 names an unknown element, 6 a school of another district (the office
# may not import for it), 7 a value that is not a whole number, 8 an unknown school.
MIXED = ("school,period,element,value\r\n"
         "a1,2024,students,800\r\n"
         "a1,2024,teaching_area_m2,4000.5\r\n"
         "a2,2024,students,300\r\n"
         "a2,2024,nope,1\r\n"
         "b1,2024,students,500\r\n"
         "a2,2024,multimedia_classrooms,2.5\r\n"
         "zz,2024,students,1\r\n")


def test_atomic_failure_queues_nothing(h):
    tokens = setup(h)
    before = h.xlen()
    document = summary(post_csv(h, BOM + MIXED.encode(), tokens["office"]), "ERROR", 422,
                       "atomic import with invalid lines")
    expect_eq(h.xlen(), before, "nothing queued")
    expect_eq(document["error"]["code"], "invalid_lines", "error member for generic clients")
    expect_eq(document["atomic"], True, "atomic by default")
    expect_eq(document["lines"], 7, "data lines")
    expect_eq((document["imported"], document["updated"], document["ignored"]), (0, 0, 0),
              "nothing imported")
    expect_eq(document["submissions"], [], "no submission ids")
    expect_eq(document["rejected_lines"], [5, 6, 7, 8], "rejected lines")
    conflicts = {c["line"]: c for c in document["conflicts"]}
    expect_eq(sorted(conflicts), [5, 6, 7, 8], "one conflict per bad line")
    expect_eq((conflicts[5]["field"], conflicts[5]["value"], conflicts[5]["code"]),
              ("element", "nope", "unknown_element"), "line 5")
    expect_eq((conflicts[6]["field"], conflicts[6]["code"]), ("school", "forbidden"), "line 6")
    expect_eq((conflicts[7]["field"], conflicts[7]["value"], conflicts[7]["code"]),
              ("value", "2.5", "invalid_value"), "line 7")
    expect_eq((conflicts[8]["field"], conflicts[8]["code"]), ("school", "unknown_school"),
              "line 8")
    for conflict in conflicts.values():
        check(isinstance(conflict["message"], str) and conflict["message"],
              "conflict has a message: %r" % conflict)


def test_non_atomic_queues_the_valid_lines(h):
    tokens = setup(h)
    before = h.xlen()
    document = summary(post_csv(h, MIXED, tokens["office"], "?atomic=false"), "WARNING", 200,
                       "atomic=false import with invalid lines")
    expect_eq(document["atomic"], False, "atomic false")
    expect_eq((document["imported"], document["updated"], document["ignored"]), (3, 0, 0),
              "three new values")
    expect_eq(document["rejected_lines"], [5, 6, 7, 8], "rejected lines")
    expect_eq(len(document["submissions"]), 2, "one entry per (school, period): a1, a2")
    expect_eq(h.xlen(), before + 2, "two stream entries")
    wait_all_applied(h, tokens["office"], document)
    expect_eq(figures(h, "a1"), {"students": 800, "teaching_area_m2": 4000.5}, "a1 figures")
    expect_eq(figures(h, "a2"), {"students": 300}, "a2 figures")
    snapshot = h.snapshot_json("alpha")
    check(snapshot["version"] >= 1, "the snapshot moved")

    # Nothing valid at all: still ERROR, 422, nothing queued.
    before = h.xlen()
    document = summary(post_csv(h, "school,period,element,value\nzz,2024,students,1\n",
                                tokens["office"], "?atomic=false"), "ERROR", 422,
                       "atomic=false without a valid line")
    expect_eq(h.xlen(), before, "nothing queued")
    expect_error(post_csv(h, MIXED, tokens["office"], "?atomic=maybe"), 422, "invalid_atomic",
                 "atomic")


def test_ignored_updated_imported(h):
    tokens = setup(h)
    first = summary(post_csv(h, "school,period,element,value\n"
                                "a1,2024,students,800\n"
                                "a1,2024,teaching_area_m2,4000\n", h.admin_token),
                    "SUCCESS", 200, "first import")
    expect_eq((first["imported"], first["updated"], first["ignored"]), (2, 0, 0), "first counts")
    wait_all_applied(h, h.admin_token, first)
    version = h.snapshot_json("alpha")["version"]

    # Same students (ignored), new area (updated), a new element (imported); a boolean in
    # Excel's spelling; quoted fields, LF line ends, no BOM.
    second = summary(post_csv(h, 'school,period,element,value\n'
                                 '"a1","2024","students","800"\n'
                                 'a1,2024,teaching_area_m2,4100\n'
                                 'a1,2024,has_library,TRUE\n', h.admin_token),
                     "SUCCESS", 200, "second import")
    expect_eq((second["imported"], second["updated"], second["ignored"]), (1, 1, 1),
              "imported / updated / ignored")
    expect_eq(second["conflicts"], [], "no conflicts")
    expect_eq(len(second["submissions"]), 1, "one entry")
    wait_all_applied(h, h.admin_token, second)
    expect_eq(figures(h, "a1"), {"students": 800, "teaching_area_m2": 4100, "has_library": True},
              "figures after the second import")
    check(h.snapshot_json("alpha")["version"] > version, "version moved")

    # A file of nothing but unchanged values: all ignored, the version stays.
    version = h.snapshot_json("alpha")["version"]
    third = summary(post_csv(h, "school,period,element,value\na1,2024,students,800\n",
                             h.admin_token), "SUCCESS", 200, "unchanged import")
    expect_eq((third["imported"], third["updated"], third["ignored"]), (0, 0, 1), "all ignored")
    wait_all_applied(h, h.admin_token, third)
    expect_eq(h.snapshot_json("alpha")["version"], version, "an unchanged value keeps the version")


def test_groups_several_periods_and_schools(h):
    tokens = setup(h)
    text = ("\ufeffschool,period,element,value\r\n"
            "a1,2023,students,700\r\n"
            "a1,2024,students,800\r\n"
            "a2,2024,students,300\r\n"
            "a1,2023,teaching_area_m2,3500\r\n"
            ",,,\r\n"
            "\r\n")
    document = summary(post_csv(h, text, tokens["office"]), "SUCCESS", 200, "three groups")
    expect_eq(document["lines"], 4, "blank lines are not data lines")
    expect_eq(len(document["submissions"]), 3, "(a1, 2023), (a1, 2024), (a2, 2024)")
    wait_all_applied(h, tokens["office"], document)
    expect_eq(figures(h, "a1", period="2023"), {"students": 700, "teaching_area_m2": 3500},
              "a1 2023")
    # The office may read the status of what it queued.
    status = h.submission_status(tokens["office"], document["submissions"][0])
    expect_eq(status.json()["status"], "applied", "status visible to the office")


def test_who_may_import(h):
    tokens = setup(h)
    text = "school,period,element,value\na1,2024,students,800\n"
    before = h.xlen()
    expect_error(post_csv(h, text, None), 401, "unauthorized", "Authorization")
    expect_error(post_csv(h, text, "not-a-token-at-all"), 401, "unauthorized", "Authorization")
    expect_error(post_csv(h, text, tokens["a1"]), 403, "forbidden", "Authorization")
    # The beta school is out of the alpha office's reach even alone in a file.
    document = summary(post_csv(h, "school,period,element,value\nb1,2024,students,5\n",
                                tokens["office"]), "ERROR", 422, "office outside its district")
    expect_eq(document["conflicts"][0]["code"], "forbidden", "forbidden conflict")
    # The stage decides which elements a unit may report (the office reports none of these).
    document = summary(post_csv(h, "school,period,element,value\n"
                                   "alpha-office,2024,students,5\n", h.admin_token),
                       "ERROR", 422, "element not allowed for the stage")
    expect_eq(document["conflicts"][0]["code"], "element_not_allowed", "stage conflict")
    expect_eq(h.xlen(), before, "nothing queued by any refused import")
    # JSON submissions are unaffected.
    h.submit_ok(tokens["a1"], "a1", {"students": 1})


def test_file_level_errors(h):
    tokens = setup(h)
    before = h.xlen()
    office = tokens["office"]
    expect_error(post_csv(h, "school,period,value\na1,2024,1\n", office), 422, "invalid_header",
                 "header")
    expect_error(post_csv(h, "school,period,element,value\n", office), 422, "no_values", "body")
    expect_error(post_csv(h, 'school,period,element,value\n"a1,2024,students,1\n', office), 400,
                 "malformed_csv", "body")
    expect_error(post_csv(h, "school,period,element,value\na1,2024,students,1\n", office,
                          content_type="text/plain"), 415, "unsupported_media_type",
                 "Content-Type")
    big = "school,period,element,value\n" + "a1,2024,students,1\n" * 60000  # > 1 MiB
    expect_error(post_csv(h, big, office), 413, "body_too_large")
    expect_eq(h.xlen(), before, "nothing queued")


if __name__ == "__main__":
    run_tests(globals(), catalog=PLAN_CATALOG)
