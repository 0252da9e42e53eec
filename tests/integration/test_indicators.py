#!/usr/bin/env python3
"""Every indicator kind of the fixture catalog against values computed by hand, with the
targets' statuses (met / on_track / behind / no_data) and their gap, expected and rule.

test-county, period 2024 (plan 2021-2025). Registered units and what they report:

  unit  stage         ownership  kg_children  kg_incl.  students  area_m2  new_places  mh_teacher
  k1    kindergarten  public          300        290        -        -         -        true
  k2    kindergarten  private         100         60        -        -         -        true
  k3    kindergarten  public     (registered, never reports)
  p1    primary       public           -          -       800     4000       500       true
  p2    primary       public           -          -       200     3000       300       false
  p3    primary       private          -          -       400     1200       100       true
  p4    primary       private          -          -       100        -         -          -
  j1    junior        public           -          -       600     1200       400       true
  o1    office        public     population_3_5 = 500, city_rank = 5  (reported in phase 2)

Hand computations (a "wrong" variant noted where the test also rules it out):

  new_school_places  sum new_places, no filter: 500 + 300 + 100 + 400 = 1300.
      expected = units whose stage may report it: p1 p2 p3 p4 j1 = 5; reporting 4 (not p4).
      target >= 1000 by 2025 -> met, gap 1300 - 1000 = 300, rule deadline_target.
  public_students    sum students, ownership public: p1 800 + p2 200 + j1 600 = 1600
      (with the private p3, p4 it would be 2100). expected 3 (p1 p2 j1), reporting 3.
      target >= 2000 by 2023, period 2024 is past the deadline -> behind, gap -400,
      rule deadline_passed.
  kg_inclusive_share ratio 100 * sum(incl.) / sum(children), kindergartens:
      100 * (290 + 60) / (300 + 100) = 100 * 350 / 400 = 87.5
      (the mean of the school ratios would be 100 * (290/300 + 60/100) / 2 = 78.33...).
      expected 3 (k1 k2 k3), reporting 2.
      target >= 90 by 2025, baseline 70 in 2020: the straight line gives for 2024
      70 + (2024-2020)/(2025-2020) * (90-70) = 70 + 0.8 * 20 = 86; 87.5 >= 86 -> on_track,
      expected 86, gap 87.5 - 90 = -2.5, rule straight_line_from_baseline.
  kg_gross_enrolment ratio 100 * sum(kg_children) / population_3_5. The population is an
      office element: it counts although the filter admits kindergartens only.
      phase 1 (no office figure): no value -> no_data, rule no_value; expected 4
      (k1 k2 k3 o1), reporting 2 (k1 k2).
      phase 2: 100 * (300 + 100) / 500 = 80; reporting 3. target >= 85 by 2025, baseline 82
      in 2020: 82 + 0.8 * (85 - 82) = 84.4; 80 < 84.4 -> behind, expected 84.4, gap -5,
      rule straight_line_from_baseline.
  mh_teacher_coverage coverage has_mh_teacher >= 1 over public kindergarten/primary/junior
      units. Admitted: k1 k3 p1 p2 j1 = 5 (k3 never reported and counts against; k2 p3 p4
      are private). Satisfying: k1 p1 j1 = 3 -> 100 * 3 / 5 = 60
      (75 if k3 were left out; 100 * 5 / 8 = 62.5 if ownership were ignored).
      reporting 4 (k1 p1 p2 j1). target >= 100 by 2025 with the milestone 50 in 2024:
      60 >= 50 -> on_track, expected 50, gap 60 - 100 = -40, rule milestone.
  city_rank          latest: the office's figure. phase 1: null, no_data. phase 2: 5.
      target <= 3 by 2025, no baseline or milestone: behind, gap 3 - 5 = -2,
      rule deadline_target, no "expected".
  primary_area_cv    cv of area/students over primary units that reported area, students
      and the weight (students): p1 4000/800 = 5, p2 3000/200 = 15, p3 1200/400 = 3 (p4 has
      no area; j1 is junior). Weights 800, 200, 400, i.e. 4 : 1 : 2 (sum 7).
        mean  = (4*5 + 1*15 + 2*3) / 7 = 41/7
        deviations 5 - 41/7 = -6/7, 15 - 41/7 = 64/7, 3 - 41/7 = -20/7
        var   = (4*36 + 1*4096 + 2*400) / 49 / 7 = 5040/343 = 720/49
        sd    = sqrt(720)/7 = 12*sqrt(5)/7
        cv    = sd / mean = 12*sqrt(5)/41 = 0.65446...
      The unweighted population cv: mean 23/3, var ((8/3)^2 + (22/3)^2 + (14/3)^2)/3 = 248/9,
      cv = 2*sqrt(62)/23 = 0.68468...; the sample (n-1) weighted/unweighted forms differ too.
      expected 4 (p1..p4), reporting 3.
      target <= 0.65 by 2025, baseline 0.85 in 2020: 0.85 + 0.8 * (0.65 - 0.85) = 0.69;
      0.654 <= 0.69 -> on_track, expected 0.69, gap 0.65 - 12*sqrt(5)/41, rule
      straight_line_from_baseline.

  completeness: expected 9 units; reported 7 in phase 1, 8 in phase 2 (k3 never).
"""

import math

from harness import check, expect_close, expect_eq, indicator, run_tests

WEIGHTED_CV = 12 * math.sqrt(5) / 41
UNWEIGHTED_CV = 2 * math.sqrt(62) / 23

UNITS = [
    ("k1", "kindergarten", "public",
     {"kg_children": 300, "kg_children_inclusive": 290, "has_mh_teacher": True}),
    ("k2", "kindergarten", "private",
     {"kg_children": 100, "kg_children_inclusive": 60, "has_mh_teacher": True}),
    ("k3", "kindergarten", "public", None),
    ("p1", "primary", "public",
     {"students": 800, "teaching_area_m2": 4000, "new_places": 500, "has_mh_teacher": True}),
    ("p2", "primary", "public",
     {"students": 200, "teaching_area_m2": 3000, "new_places": 300, "has_mh_teacher": False}),
    ("p3", "primary", "private",
     {"students": 400, "teaching_area_m2": 1200, "new_places": 100, "has_mh_teacher": True}),
    ("p4", "primary", "private", {"students": 100}),
    ("j1", "junior", "public",
     {"students": 600, "teaching_area_m2": 1200, "new_places": 400, "has_mh_teacher": True}),
]


def expect_indicator(snapshot, indicator_id, **fields):
    item = indicator(snapshot, indicator_id)
    for name, expected in fields.items():
        what = "%s.%s" % (indicator_id, name)
        if name == "absent":
            for missing in expected:
                check(missing not in item, "%s: %r should be absent: %r" % (what, missing, item))
        elif isinstance(expected, float):
            expect_close(item.get(name), expected, what)
        else:
            expect_eq(item.get(name), expected, what)
    return item


def check_phase_one(snapshot):
    expect_eq(snapshot["completeness"], {"expected": 9, "reported": 7}, "completeness")
    expect_indicator(snapshot, "new_school_places", kind="sum", value=1300,
                     schools_reporting=4, schools_expected=5, status="met", gap=300,
                     rule="deadline_target")
    expect_indicator(snapshot, "public_students", kind="sum", value=1600,
                     schools_reporting=3, schools_expected=3, status="behind", gap=-400,
                     rule="deadline_passed")
    expect_indicator(snapshot, "kg_inclusive_share", kind="ratio", value=87.5,
                     numerator=350, denominator=400, schools_reporting=2,
                     schools_expected=3, status="on_track", expected=86.0, gap=-2.5,
                     rule="straight_line_from_baseline")
    expect_indicator(snapshot, "kg_gross_enrolment", kind="ratio", value=None,
                     schools_reporting=2, schools_expected=4, status="no_data", gap=None,
                     rule="no_value")
    expect_indicator(snapshot, "mh_teacher_coverage", kind="coverage", value=60,
                     numerator=3, denominator=5, schools_reporting=4, schools_expected=5,
                     status="on_track", expected=50, gap=-40, rule="milestone")
    expect_indicator(snapshot, "city_rank", kind="latest", value=None, schools_reporting=0,
                     schools_expected=1, status="no_data", gap=None, rule="no_value")
    cv = expect_indicator(snapshot, "primary_area_cv", kind="cv", value=WEIGHTED_CV,
                          mean=41 / 7, sd=12 * math.sqrt(5) / 7, schools_reporting=3,
                          schools_expected=4, status="on_track", expected=0.69,
                          gap=0.65 - WEIGHTED_CV, rule="straight_line_from_baseline")
    # The pupil-weighted population CV, not the unweighted one.
    check(abs(cv["value"] - UNWEIGHTED_CV) > 0.01,
          "primary_area_cv is the unweighted cv %.17g, not the pupil-weighted %.17g"
          % (cv["value"], WEIGHTED_CV))


def check_phase_two(snapshot):
    expect_eq(snapshot["completeness"], {"expected": 9, "reported": 8}, "completeness")
    expect_indicator(snapshot, "kg_gross_enrolment", value=80, numerator=400,
                     denominator=500, schools_reporting=3, schools_expected=4,
                     status="behind", expected=84.4, gap=-5.0,
                     rule="straight_line_from_baseline")
    expect_indicator(snapshot, "city_rank", value=5, schools_reporting=1, schools_expected=1,
                     status="behind", gap=-2, rule="deadline_target", absent=["expected"])
    # Unchanged by the office's figures.
    expect_indicator(snapshot, "new_school_places", value=1300, status="met")
    expect_indicator(snapshot, "kg_inclusive_share", value=87.5, status="on_track")
    expect_indicator(snapshot, "mh_teacher_coverage", value=60, denominator=5)
    expect_indicator(snapshot, "primary_area_cv", value=WEIGHTED_CV)


def test_every_kind_by_hand(h):
    tokens = {}
    for unit, stage, ownership, _ in UNITS:
        tokens[unit] = h.register(unit, stage=stage, ownership=ownership)
    tokens["o1"] = h.register("o1", stage="office", ownership="public")
    last = None
    for unit, _, _, values in UNITS:
        if values:
            last = (unit, h.submit_ok(tokens[unit], unit, values)["id"])
    h.wait_drained()
    h.wait_applied(tokens[last[0]], last[1])
    phase_one = h.snapshot_json()
    check_phase_one(phase_one)
    # Targets are rendered as the catalog states them.
    expect_eq(indicator(phase_one, "kg_inclusive_share")["target"],
              {"op": ">=", "value": 90, "year": 2025}, "kg_inclusive_share target")
    expect_eq([item["id"] for item in phase_one["indicators"]],
              ["new_school_places", "public_students", "kg_inclusive_share",
               "kg_gross_enrolment", "mh_teacher_coverage", "city_rank", "primary_area_cv"],
              "the district's indicators, in the order of its targets")

    answer = h.submit_ok(tokens["o1"], "o1", {"population_3_5": 500, "city_rank": 5})
    h.wait_applied(tokens["o1"], answer["id"])
    phase_two = h.snapshot_json()
    expect_eq(phase_two["version"], phase_one["version"] + 1, "one new version")
    check_phase_two(phase_two)

    # Phase 3: a newly registered public kindergarten that has not reported yet counts at
    # once against coverage (100 * 3 / 6 = 50, exactly the 2024 milestone: still on_track)
    # and completeness (10 units, 8 reported); the kindergarten ratio expects 4 units.
    h.register("k4", stage="kindergarten", ownership="public")
    phase_three = h.wait_snapshot(lambda s: s["completeness"]["expected"] == 10,
                                  "the registration of k4 is reflected")
    expect_eq(phase_three["completeness"], {"expected": 10, "reported": 8}, "completeness")
    expect_indicator(phase_three, "mh_teacher_coverage", value=50, numerator=3, denominator=6,
                     schools_reporting=4, schools_expected=6, status="on_track", expected=50,
                     gap=-50, rule="milestone")
    expect_indicator(phase_three, "kg_inclusive_share", value=87.5, schools_reporting=2,
                     schools_expected=4)
    expect_indicator(phase_three, "kg_gross_enrolment", value=80, schools_expected=5)


def test_order_of_arrival_does_not_matter(h):
    """The same figures sent in reverse order, some twice with a stale value first, give the
    same snapshot (last writer per element wins; earlier figures are replaced)."""
    tokens = {}
    for unit, stage, ownership, _ in UNITS:
        tokens[unit] = h.register(unit, stage=stage, ownership=ownership)
    tokens["o1"] = h.register("o1", stage="office", ownership="public")
    for unit, _, _, values in reversed(UNITS):
        if values:
            stale = {name: (not value if isinstance(value, bool) else value + 1)
                     for name, value in values.items()}
            h.submit_ok(tokens[unit], unit, stale)
    h.submit_ok(tokens["o1"], "o1", {"population_3_5": 499, "city_rank": 7})
    for unit, _, _, values in reversed(UNITS):
        if values:
            h.submit_ok(tokens[unit], unit, values)
    answer = h.submit_ok(tokens["o1"], "o1", {"population_3_5": 500, "city_rank": 5})
    h.wait_applied(tokens["o1"], answer["id"])
    h.wait_drained()
    snapshot = h.snapshot_json()
    check_phase_two(snapshot)
    expect_indicator(snapshot, "public_students", value=1600, status="behind")


def test_zero_denominator_and_full_precision(h):
    k1 = h.register("k1", stage="kindergarten")
    k2 = h.register("k2", stage="kindergarten")
    p1 = h.register("p1", stage="primary")
    # Sum of kg_children = 0: the ratio's value is null (never NaN), its parts are shown,
    # and the target has no data.
    h.submit_ok(k1, "k1", {"kg_children": 0, "kg_children_inclusive": 0})
    h.submit_ok(k2, "k2", {"kg_children": 0, "kg_children_inclusive": 0})
    # A unit with no pupils has no per-pupil area: left out of the cv (which then has no
    # unit, so no value).
    last = h.submit_ok(p1, "p1", {"students": 0, "teaching_area_m2": 500})
    h.wait_drained()
    h.wait_applied(p1, last["id"])
    snapshot = h.snapshot_json()
    expect_indicator(snapshot, "kg_inclusive_share", value=None, numerator=0, denominator=0,
                     schools_reporting=2, status="no_data")
    expect_indicator(snapshot, "primary_area_cv", value=None, status="no_data",
                     schools_reporting=1)

    # Full double precision: 100 * 1 / 3 = 33.333333333333336 and an area of
    # 1234.5678901234567 m2 / 3 pupils come back bit for bit.
    h.submit_ok(k1, "k1", {"kg_children": 3, "kg_children_inclusive": 1})
    p2 = h.register("p2", stage="primary")
    h.submit_ok(p1, "p1", {"students": 3, "teaching_area_m2": 1234.5678901234567})
    last = h.submit_ok(p2, "p2", {"students": 7, "teaching_area_m2": 0.1})
    h.wait_drained()
    h.wait_applied(p2, last["id"])
    snapshot = h.snapshot_json()
    expect_eq(indicator(snapshot, "kg_inclusive_share")["value"], 100 * 1 / 3,
              "100 * 1 / 3 printed so that it reads back exactly")
    # cv over x = 1234.5678901234567/3 (w 3) and 0.1/7 (w 7), computed as the contract says.
    xs, ws = [1234.5678901234567 / 3, 0.1 / 7], [3.0, 7.0]
    mean = (ws[0] * xs[0] + ws[1] * xs[1]) / (ws[0] + ws[1])
    sd = math.sqrt((ws[0] * (xs[0] - mean) ** 2 + ws[1] * (xs[1] - mean) ** 2) / 10)
    expect_indicator(snapshot, "primary_area_cv", value=sd / mean, mean=mean, sd=sd)


def test_cumulative_and_delta_targets(h):
    """other-county (plan 2021-2025): new_school_places >= 100 over the plan (cumulative),
    public_students delta>= 50 a year. One public primary unit x1.

      period   new_places  students
      2020     1000        -        before the plan: not part of the cumulative sum
      2022     30          -
      2023     20          1000
      2024     25          1040

    2024 places: compared = 30 + 20 + 25 = 75 (not 1075); the cumulative line starts at 0 in
    2020 (the year before the plan) and reaches 100 in 2025: 2024 expects 4/5 * 100 = 80;
    75 < 80 -> behind, gap 75 - 100 = -25, rule straight_line_from_plan_start.
    2024 students: change 1040 - 1000 = 40 < 50 -> behind, gap -10, expected 50,
    rule change_per_year. 2023 students: 2022 has no value -> no_data,
    rule change_needs_previous_period.
    Then 2023 is resubmitted (places 30, students 990) and 2024 must follow: places
    30 + 30 + 25 = 85 >= 80 -> on_track, gap -15; students 1040 - 990 = 50 -> met, gap 0.
    """
    x1 = h.register("x1", district="other-county", stage="primary", ownership="public")
    h.submit_ok(x1, "x1", {"new_places": 1000}, period="2020")
    h.submit_ok(x1, "x1", {"new_places": 30}, period="2022")
    h.submit_ok(x1, "x1", {"new_places": 20, "students": 1000}, period="2023")
    last = h.submit_ok(x1, "x1", {"new_places": 25, "students": 1040}, period="2024")
    h.wait_drained()
    h.wait_applied(x1, last["id"])
    s2024 = h.snapshot_json("other-county", "2024")
    expect_indicator(s2024, "new_school_places", value=25, compared=75, status="behind",
                     expected=80.0, gap=-25, rule="straight_line_from_plan_start")
    expect_eq(indicator(s2024, "new_school_places")["target"],
              {"op": ">=", "value": 100, "year": 2025, "cumulative": True}, "target")
    expect_indicator(s2024, "public_students", value=1040, compared=40, status="behind",
                     expected=50, gap=-10, rule="change_per_year")
    s2023 = h.snapshot_json("other-county", "2023")
    expect_indicator(s2023, "public_students", value=1000, status="no_data",
                     rule="change_needs_previous_period")
    expect_indicator(s2023, "new_school_places", value=20, compared=50)

    again = h.submit_ok(x1, "x1", {"new_places": 30, "students": 990}, period="2023")
    h.wait_applied(x1, again["id"])
    s2024 = h.snapshot_json("other-county", "2024")
    expect_indicator(s2024, "new_school_places", value=25, compared=85, status="on_track",
                     expected=80.0, gap=-15, rule="straight_line_from_plan_start")
    expect_indicator(s2024, "public_students", value=1040, compared=50, status="met", gap=0,
                     rule="change_per_year")


if __name__ == "__main__":
    run_tests(globals())
