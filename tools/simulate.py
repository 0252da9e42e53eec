#!/usr/bin/env python3
"""simulate.py -- synthetic schools for the edumon demo, talking only to the HTTP API.

The simulator plays the schools and district bureaus of the catalog's districts. It registers a
realistic set of reporting units per district (kindergartens, primary, junior and senior
schools, a vocational school, a special school, and the bureau's own "office" unit), submits
each unit's figures for every period of the district's plan, and then keeps streaming
occasional resubmissions -- a school correcting or updating a figure -- until interrupted.

Everything goes through the public API, exactly as a school's client would:
  POST /v1/schools               (admin token)   register a unit; 409 = already registered
  POST /v1/schools/{id}/token    (admin token)   rotate a token the state file does not know
  POST /v1/submissions           (school token)  the figures, with an Idempotency-Key
  GET  /v1/districts/{id}/snapshot               to report what came out at the end of a load
  GET  /v1/districts/{id}/balance                the balanced-development verdict, likewise

The figures are generated from the catalog (elements.json bounds, stages and "typical" ranges,
balance.json standards) and a per-district profile: a development level that rises over the
plan years (improving trends), class sizes that shrink, shares that grow. Related figures are
consistent (inclusive children <= children, retained <= cohort, key teachers nested by level,
teachers enough for the qualified-teacher count, ...). The primary and junior schools are
shaped per district against the national balanced-development evaluation (balance.json, as the
worker computes it in GET /v1/districts/{id}/balance): schools go through a standardisation
drive over the plan years, so early years fail on many schools and conditions, and in each
district's latest period Xingqing, Anning and Zhonglou pass the whole evaluation while Xining
(the primary sports-ground CV: cramped inner-city schools) and Erdaojiang (the junior equipment
CV: one under-equipped township school) fail on exactly one CV. --dry-run prints the verdicts the
generated figures give, computed the worker's way.

Generation is deterministic for a given --seed, so a rerun sends the same bodies with the same
Idempotency-Keys: the API answers them as replays and nothing is queued twice.

Python 3 standard library only.
"""

import argparse
import hashlib
import http.client
import json
import math
import os
import queue
import random
import signal
import sys
import threading
import time
import urllib.parse
import uuid

# ---- district profiles --------------------------------------------------------------------------
#
# prefix     school id prefix          units   reporting units besides the office (default)
# start/end  development level at the first simulated period / at the plan's last year (0..1);
#            every "share that improves" in the model moves with it
# size       enrolment scale (urban districts have bigger schools)
# crowd      how crowded classes are early on (0..1.5)
# towns      township / street names for the schools outside the centre
# balance    the balanced-development CVs meant to fail: a list of (stage, resource, weak
#            schools, last failing year or None = every year[, the weak schools' share of the
#            standard in the first period, default 0.35]); every other CV passes
# ready      the year the district's standardisation drive reaches every primary and junior
#            school (default: the last simulated period). From then on every school passes the
#            6-of-7 rule and the conditions of balance.json (class and school size, music and art
#            rooms, training funds, 360 hours, catchment admission); each year before, 30 % fewer
#            schools are through it, and the rest keep the shortfalls the model gives them.
# ambition   how close the bureau's own counts come to the plan's count targets (1 = exactly)
# myopia_drop, fitness_gain   percentage points a year (the plans' year-on-year targets)

PROFILES = {
    "yinchuan-xingqing": dict(
        prefix="xq", units=60, start=0.40, end=1.0, size=1.15, crowd=1.0, ambition=1.05,
        myopia_drop=0.9, fitness_gain=5.2,
        towns=["掌政镇", "大新镇", "月牙湖乡", "通贵乡"],
        # Older primary schools had hardly any networked multimedia classrooms until the 2023
        # "internet + education" upgrade: the CV fails in 2020-2022, passes from 2023; every
        # school meets the standards by 2025 (the plan's "100 % of campuses" year).
        balance=[("primary", "multimedia", 4, 2022, 0.12)], ready=2025,
        story="improves fast; fails the primary multimedia CV until the 2023 upgrade, "
              "passes the whole evaluation in 2025"),
    "kunming-anning": dict(
        prefix="an", units=48, start=0.55, end=0.95, size=1.0, crowd=0.6, ambition=1.0,
        towns=["八街街道", "县街街道", "草铺街道", "禄脿街道", "太平新城街道"],
        balance=[], ready=2025, story="steady; passes the whole evaluation in 2025"),
    "changzhou-zhonglou": dict(
        prefix="zl", units=44, start=0.70, end=0.90, size=1.2, crowd=0.7, ambition=1.05,
        towns=["邹区镇", "北港街道", "西林街道", "五星街道"],
        balance=[], ready=2022, story="developed; passes the whole evaluation in 2022"),
    "xining-chengzhong": dict(
        prefix="cz", units=40, start=0.50, end=0.80, size=1.1, crowd=1.2, ambition=0.95,
        myopia_drop=0.9,
        towns=["总寨镇", "南川东路街道", "人民街街道", "仓门街街道"],
        # Big old inner-city primary schools on cramped sites, just under the sports-ground
        # standard, against roomy suburban and township schools: sports ground per pupil.
        balance=[("primary", "sports_area", 6, None, 0.8)], ready=2024,
        story="meets every other check in 2024 but fails the primary sports-ground CV "
              "(cramped inner-city schools)"),
    "tonghua-erdaojiang": dict(
        prefix="edj", units=22, start=0.35, end=0.85, size=0.75, crowd=0.4, ambition=0.9,
        towns=["铁厂镇", "五道江镇", "鸭园镇", "二道江乡"],
        # The biggest junior school, in a township, whose equipment was not replaced until
        # the last plan years, while the other junior schools were equipped anew: it ends
        # just under the standard, the CV stays over the limit.
        balance=[("junior", "equipment", 1, None, 0.3)], ready=2025,
        story="small; meets every other check in 2025 but fails the junior equipment CV "
              "(one under-equipped township school)"),
}

DEFAULT_PROFILE = dict(units=30, start=0.5, end=0.9, size=1.0, crowd=0.8, ambition=1.0,
                       myopia_drop=0.4, fitness_gain=2.0,
                       towns=["东城街道", "西城街道", "南关镇", "北关镇"], balance=[],
                       story="generic profile")

STAGE_SHARES = [("kindergarten", 0.38, 2), ("primary", 0.34, 4), ("junior", 0.16, 3),
                ("senior", 0.06, 1), ("vocational", 0.03, 1), ("special", 0.03, 1)]
STAGE_CODES = {"kindergarten": "kg", "primary": "ps", "junior": "ms", "senior": "hs",
               "vocational": "vs", "special": "ss"}

KG_BRANDS = ["小太阳", "童心", "启航", "阳光宝贝", "金色摇篮", "七彩虹", "育苗", "春苗", "贝贝佳",
             "星星河", "未来星", "博雅", "新世纪", "快乐童年", "智慧树", "童话", "小哈佛", "爱弥尔",
             "蒙特梭利双语", "小白鸽", "向日葵", "彩虹桥", "蓝天", "小精灵"]
SCHOOL_BRANDS = ["育才", "博文", "外国语", "英才", "明德", "华英", "启明", "致远"]

LAST_YEAR = 2025


def zh_number(n):
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    head = "十" if tens == 1 else digits[tens] + "十"
    return head + (digits[ones] if ones else "")


def clamp(value, low, high):
    return low if value < low else high if value > high else value


def lerp(low, high, t):
    return low + (high - low) * t


# ---- catalog ------------------------------------------------------------------------------------

class Catalog:
    def __init__(self, directory):
        def load(name):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                return json.load(handle)
        self.elements = {e["id"]: e for e in load("elements.json")["elements"]}
        self.indicators = {i["id"]: i for i in load("indicators.json")["indicators"]}
        try:
            self.balance = load("balance.json")
        except FileNotFoundError:
            self.balance = {"stages": {}, "resources": []}
        self.districts = []
        district_dir = os.path.join(directory, "districts")
        for name in sorted(os.listdir(district_dir)):
            if name.endswith(".json"):
                with open(os.path.join(district_dir, name), encoding="utf-8") as handle:
                    self.districts.append(json.load(handle))

    def allowed(self, stage):
        return {eid for eid, e in self.elements.items() if stage in e.get("stages", [])}

    def fit(self, eid, value):
        """Rounds a value to its element's type and clamps it into the element's bounds."""
        element = self.elements[eid]
        if element["type"] == "boolean":
            return bool(value)
        low, high = element.get("min", 0), element.get("max", 1e18)
        if element["type"] == "integer":
            return int(clamp(int(round(value)), math.ceil(low), math.floor(high)))
        return round(clamp(float(value), low, high), 2)


# ---- units (schools and the office) -------------------------------------------------------------

class Unit:
    __slots__ = ("id", "name", "district", "stage", "ownership", "attrs", "weak")

    def __init__(self, uid, name, district, stage, ownership):
        self.id, self.name, self.district = uid, name, district
        self.stage, self.ownership = stage, ownership
        self.attrs = {}
        self.weak = set()  # balance resources this unit is the weak school for

    def registration(self):
        return {"id": self.id, "name": self.name, "district": self.district,
                "stage": self.stage, "ownership": self.ownership}


def short_district_name(name):
    """银川市兴庆区 -> 兴庆区; 安宁市 stays."""
    if "市" in name and not name.endswith("市"):
        return name.split("市", 1)[1]
    return name


def stage_counts(total):
    counts = {stage: max(minimum, int(total * share)) for stage, share, minimum in STAGE_SHARES}
    order = [stage for stage, _, _ in STAGE_SHARES]
    i = 0
    while sum(counts.values()) < total:
        counts[order[i % 3]] += 1  # the remainder goes to kindergarten, primary, junior
        i += 1
    while sum(counts.values()) > total and counts["kindergarten"] > 2:
        counts["kindergarten"] -= 1
    return counts


class Roster:
    """Builds a district's reporting units with names, ownership and fixed attributes."""

    def __init__(self, district, profile, units, rng):
        self.district, self.profile, self.rng = district, profile, rng
        self.short = short_district_name(district["name"])
        self.counters = {}
        self.used_names = set()
        self.units = []
        prefix = profile["prefix"]
        counts = stage_counts(units)
        for stage, _, _ in STAGE_SHARES:
            for n in range(1, counts[stage] + 1):
                ownership = self.pick_ownership(stage, n)
                uid = "%s-%s%02d" % (prefix, STAGE_CODES[stage], n)
                self.units.append(Unit(uid, self.name_for(stage, ownership, n), district["id"],
                                       stage, ownership))
        office = Unit(prefix + "-office", self.short + "教育局", district["id"], "office",
                      "public")
        self.units.append(office)

    def pick_ownership(self, stage, n):
        share_private = {"kindergarten": 0.45, "primary": 0.1, "junior": 0.12, "senior": 0.15,
                         "vocational": 0.0, "special": 0.0}[stage]
        if n == 1:
            return "public"
        return "private" if self.rng.random() < share_private else "public"

    def unique(self, name):
        base, k = name, 2
        while name in self.used_names:
            name = "%s(%s校区)" % (base, zh_number(k))
            k += 1
        self.used_names.add(name)
        return name

    def next_number(self, key):
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def name_for(self, stage, ownership, n):
        rng, short, towns = self.rng, self.short, self.profile["towns"]
        town = towns[(n - 1) % len(towns)]
        if stage == "kindergarten":
            if ownership == "private":
                brand = KG_BRANDS[self.next_number("kgbrand") % len(KG_BRANDS)]
                return self.unique(short + brand + "幼儿园")
            if rng.random() < 0.25:
                return self.unique(short + town + "中心幼儿园")
            return self.unique("%s第%s幼儿园" % (short, zh_number(self.next_number("kg"))))
        if stage in ("primary", "junior"):
            kind = "小学" if stage == "primary" else "中学"
            if ownership == "private":
                brand = SCHOOL_BRANDS[self.next_number("brand" + stage) % len(SCHOOL_BRANDS)]
                return self.unique(short + brand + ("学校" if stage == "primary" else "实验中学"))
            if n == 1:
                return self.unique(short + "实验" + ("小学" if stage == "primary" else "中学"))
            if rng.random() < 0.3:
                return self.unique(short + town + ("中心小学" if stage == "primary" else "中学"))
            return self.unique("%s第%s%s" % (short, zh_number(self.next_number(stage)), kind))
        if stage == "senior":
            if ownership == "private":
                return self.unique(short + SCHOOL_BRANDS[n % len(SCHOOL_BRANDS)] + "高级中学")
            return self.unique("%s第%s高级中学" % (short, zh_number(self.next_number("senior"))))
        if stage == "vocational":
            return self.unique(short + ("职业技术学校" if n == 1 else "第%s职业中学" % zh_number(n)))
        return self.unique(short + ("特殊教育学校" if n == 1 else "第%s特殊教育学校" % zh_number(n)))


# ---- the figures model --------------------------------------------------------------------------

class District:
    """One district: its units, simulated periods, and the figures of every unit and period."""

    def __init__(self, sim, district, profile, units, periods):
        self.sim, self.catalog, self.seed = sim, sim.catalog, sim.seed
        self.info, self.id, self.profile = district, district["id"], profile
        self.first_plan, self.last_plan = district["plan"]["years"]
        self.periods = periods
        self.roster = Roster(district, profile, units, self.rng("roster"))
        self.units = self.roster.units
        self.office = self.units[-1]
        for unit in self.units:
            self.init_attrs(unit)
        self.mark_weak_units()
        self.figures = {}  # (unit id, period) -> {element: value}
        self.base = {}     # the same, as first generated (resubmissions jitter around it)
        for period in periods:
            self.generate_period(period)

    # deterministic randomness: one stream per purpose, independent of generation order
    def rng(self, *key):
        return random.Random("%s:%s:%s" % (self.seed, self.id, ":".join(map(str, key))))

    def threshold(self, unit, key):
        """A persistent uniform draw per unit and key: 'adopts X once the level passes it'."""
        return random.Random("%s:%s:u:%s" % (self.seed, unit.id, key)).random()

    def progress(self, period):
        first = min(self.periods)
        last = max(min(self.last_plan, LAST_YEAR), first)
        if last == first:
            return self.profile["end"]
        t = clamp((period - first) / (last - first), 0.0, 1.0)
        return lerp(self.profile["start"], self.profile["end"], t)

    def init_attrs(self, unit):
        r = self.rng("attrs", unit.id)
        scale = self.profile["size"]
        a = unit.attrs
        a["q"] = r.gauss(0, 1)
        a["growth"] = r.uniform(-0.015, 0.035)
        public = unit.ownership == "public"
        if unit.stage == "kindergarten":
            a["size"] = r.uniform(90, 300) * (1.3 if public else 0.85)
            a["growth"] = r.uniform(0.01, 0.05) if public else r.uniform(-0.05, 0.0)
        elif unit.stage == "primary":
            a["size"] = clamp(r.lognormvariate(math.log(850 * scale), 0.45), 180, 2250)
        elif unit.stage == "junior":
            a["size"] = clamp(r.lognormvariate(math.log(950 * scale), 0.4), 260, 2300)
        elif unit.stage == "senior":
            a["size"] = r.uniform(1200, 2700) * min(scale, 1.1)
        elif unit.stage == "vocational":
            a["size"] = r.uniform(700, 2400) * min(scale, 1.1)
        elif unit.stage == "special":
            a["size"] = r.uniform(60, 220)
        a["resource"] = {res["id"]: r.gauss(0, 1) for res in self.catalog.balance["resources"]}

    def mark_weak_units(self):
        """Picks the weak schools of each failing balance resource: the largest public schools
        of the stage (their weight is what lets a few schools move a CV), inner-city ones first
        when there are several; a single weak junior school is a township school."""
        for stage, resource, count, *_ in self.profile.get("balance", []):
            candidates = [u for u in self.units if u.stage == stage and u.ownership == "public"]
            # several weak schools: the big inner-city ones (not in a township) first
            candidates.sort(key=lambda u: (count > 1 and ("镇" in u.name or "乡" in u.name),
                                           -u.attrs["size"]))
            count = min(count, max(1, len(candidates) // 2))  # small districts: fewer weak ones
            chosen = candidates[:count]  # weak schools move a CV only if they are big ones
            for unit in chosen:
                unit.weak.add(resource)
                unit.attrs["size"] = max(unit.attrs["size"], 900 if count == 1 else 450)
                if count == 1 and stage == "junior":
                    unit.name = unit.name if "镇" in unit.name else \
                        self.roster.unique(self.roster.short + self.profile["towns"][0] + "中学")

    # ---- one period --------------------------------------------------------------------------

    def generate_period(self, period):
        p = self.progress(period)
        figures = {}
        for unit in self.units:
            if unit.stage != "office":
                figures[unit.id] = self.school_figures(unit, period, p)
        self.shape_balance(figures, period, p)
        for unit in self.units:
            if unit.stage != "office":
                self.finalize(unit, figures[unit.id])
        figures[self.office.id] = self.office_figures(period, p, figures)
        for unit in self.units:
            figs = self.complete(unit, figures[unit.id], period, p)
            self.sim.check(unit, figs)
            self.figures[(unit.id, period)] = figs
            self.base[(unit.id, period)] = dict(figs)

    def school_figures(self, unit, period, p):
        r = self.rng("fig", unit.id, period)
        a, stage, public = unit.attrs, unit.stage, unit.ownership == "public"
        size = a["size"] * (1 + a["growth"]) ** (period - 2023) * (1 + r.gauss(0, 0.015))
        f = {}
        years_in = period - min(self.periods)
        u = lambda key: self.threshold(unit, key)  # noqa: E731
        # Through the standardisation drive (primary and junior schools): at most 2000 pupils,
        # classes within the standard size, a music and an art room per 12 classes, at least
        # 5 % of the public funds on teacher training, admission by catchment.
        upgraded = self.upgraded(unit, period)
        if upgraded:
            size = min(size, 1880 + 110 * u("cap"))

        if stage == "kindergarten":
            kids = max(30, int(size))
            f["kg_children"] = kids
            f["classes"] = max(3, math.ceil(kids / r.uniform(26, 31)))
            over = max(0.0, 0.32 * (1 - p) + r.gauss(0, 0.05))
            f["classes_over_standard_size"] = min(f["classes"], round(f["classes"] * over))
            f["places"] = math.ceil(kids * r.uniform(1.03, 1.2))
            rated = u("top_rated") < (0.35 + 0.5 * p) * (1.25 if public else 0.8)
            f["places_top_rated"] = f["places"] if rated else 0
            f["kg_children_public"] = kids if public else 0
            inclusive = public or u("inclusive") < 0.45 + 0.5 * p
            f["kg_children_inclusive"] = kids if inclusive else 0
            f["kg_staff"] = math.ceil(kids / clamp(11.8 - 3.4 * p + r.gauss(0, 0.4), 7, 14))
            f["_teachers"] = max(3, math.ceil(kids / r.uniform(13, 16)))
            f["_pupils"] = kids
        else:
            students = max(20, int(size))
            f["students"] = students
            avg = {"primary": 44 - 6 * p, "junior": 48 - 6 * p, "senior": 50 - 5 * p,
                   "vocational": 42 - 3 * p, "special": 10}[stage]
            avg += self.profile["crowd"] * (1 - p) * r.uniform(0, 6)
            standard = 45 if stage == "primary" else 50
            if upgraded:
                avg = min(avg, standard - 4 - 3 * u("avg"))
            f["classes"] = max(6 if stage != "special" else 3, math.ceil(students / avg))
            if stage in ("primary", "junior", "senior"):
                largest = round(avg + r.uniform(1, 9) * (1.1 - p)
                                + self.profile["crowd"] * (1 - p) * r.uniform(0, 10))
                if upgraded:
                    largest = max(math.ceil(students / f["classes"]),
                                  min(largest, standard - int(4 * u("largest"))))
                f["largest_class_size"] = largest
                f["classes_56_plus"] = 0 if largest < 56 else r.randint(1, 3)
            else:
                largest = round(avg + r.uniform(0, 4))
            over = 0 if largest <= standard else max(1, round(f["classes"] * r.uniform(0.05, 0.3)))
            f["classes_over_standard_size"] = min(f["classes"], max(over,
                                                                    f.get("classes_56_plus", 0)))
            f["places"] = math.ceil(students * r.uniform(1.02, 1.2))
            ratio = {"primary": 17.5, "junior": 12.5, "senior": 13, "vocational": 19,
                     "special": 4}[stage] * r.uniform(0.92, 1.08)
            f["_teachers"] = max(6, math.ceil(students / ratio))
            f["_pupils"] = students
            if stage in ("primary", "junior"):
                per_year = 6 if stage == "primary" else 3
                in_group = public and u("group") < 0.25 + 0.45 * p
                f["places_in_group"] = f["places"] if in_group else 0
                entrants = round(students / per_year * r.uniform(0.9, 1.1))
                f["new_entrants"] = entrants
                missed = max(0.0, (1 - p) * r.uniform(0, 0.12))
                if upgraded:
                    missed = 0.0
                f["new_entrants_catchment"] = entrants - round(entrants * missed)
                cohort = round(students / per_year * r.uniform(0.9, 1.05))
                f["cohort_entry_pupils"] = cohort
                kept = clamp(0.955 + 0.045 * p + r.gauss(0, 0.008), 0.9, 1.0)
                f["cohort_retained_pupils"] = min(cohort, round(cohort * kept))
                f["calligraphy_teachers"] = int(clamp(round(students / 150 * r.uniform(0.7, 1.3)),
                                                      1, 12))
                if u("calligraphy") < 0.5 + 0.5 * p:
                    f["calligraphy_teachers_trained"] = f["calligraphy_teachers"]
                else:
                    f["calligraphy_teachers_trained"] = round(f["calligraphy_teachers"]
                                                              * r.uniform(0.4, 0.9))
                f["music_rooms"] = int(clamp(math.ceil(f["classes"] / 12 * r.uniform(0.7, 1.2)),
                                             1, 8))
                f["art_rooms"] = int(clamp(math.ceil(f["classes"] / 12 * r.uniform(0.6, 1.1)),
                                           1, 8))
                if upgraded:
                    needed = math.ceil(f["classes"] / 12)
                    f["music_rooms"] = max(f["music_rooms"], needed)
                    f["art_rooms"] = max(f["art_rooms"], needed)
            if stage == "vocational":
                cohort = round(students / 3 * r.uniform(0.95, 1.05))
                f["cohort_entry_pupils"] = cohort
                rate = clamp(0.58 + 0.16 * p + r.gauss(0, 0.03), 0.4, 0.98)
                f["graduates"] = min(cohort, round(cohort * rate))

        pupils = f["_pupils"]
        if stage in ("kindergarten", "primary", "junior", "senior"):
            base_rate = {"kindergarten": 0.07, "primary": 0.36, "junior": 0.68,
                         "senior": 0.79}[stage]
            drop = self.profile["myopia_drop"] / 100
            rate = clamp(base_rate + 0.02 * (0.5 - p) - drop * years_in - 0.015 * a["q"]
                         + r.gauss(0, 0.01), 0.01, 0.95)
            screened = round(pupils * r.uniform(0.94, 1.0))
            f["myopia_screened"] = screened
            f["myopia_cases"] = round(screened * rate)
        if stage in ("primary", "junior", "senior"):
            gain = self.profile["fitness_gain"] / 100
            good = clamp(0.42 + gain * years_in + 0.03 * a["q"] + r.gauss(0, 0.015), 0.1, 0.97)
            tested = round(pupils * r.uniform(0.95, 1.0))
            f["fitness_tested"] = tested
            f["fitness_good"] = round(tested * good)
            f["daily_exercise_minutes"] = round(clamp(47 + 32 * p + 5 * a["q"] + r.gauss(0, 3),
                                                      30, 120))
        canteens = {"kindergarten": 1, "primary": 2 if pupils > 1800 else 1, "junior": 1,
                    "senior": 2, "vocational": 2, "special": 1}[stage]
        f["canteens"] = canteens
        f["canteens_open_kitchen"] = canteens if u("kitchen") < 0.3 + 0.7 * p else 0
        f["health_staff"] = r.randint(1, 3 if pupils > 1500 else 2) \
            if u("health") < 0.5 + 0.5 * p else 0
        f["hazard_inspections"] = r.randint(4, 12) if u("hazard") < 0.5 + 0.5 * p \
            else r.randint(2, 3)
        budget_per = (r.uniform(1300, 2000) if stage != "kindergarten" else r.uniform(1600, 2600))
        f["public_funds_budget_yuan"] = round(pupils * budget_per
                                              * (1 + 0.04 * (period - 2023)), -2)
        share = clamp(0.03 + 0.027 * p + r.gauss(0, 0.004), 0.01, 0.09)
        if upgraded:
            share = max(share, 0.051 + 0.012 * u("training"))
        f["teacher_training_funds_yuan"] = round(f["public_funds_budget_yuan"] * share, -1)
        f["_excellent"] = clamp(r.uniform(0.3, 0.45) * (0.85 + 0.45 * p), 0, 0.9)
        # the five-year 360-hour training cycle ends in the ready year, when every primary and
        # junior teacher has completed it
        cycle = clamp((period - (self.ready_year() - 5)) / 5, 0.1, 1.0)
        f["_h360"] = clamp(cycle * (0.92 + 0.1 * p) + r.gauss(0, 0.01), 0, 1)
        if upgraded and period >= self.ready_year():
            f["_h360"] = 1.0
        f["_key_share"] = clamp(r.uniform(0.12, 0.26) * (0.8 + 0.4 * p), 0.02, 0.5)
        f["_city"] = r.uniform(0.5, 0.72)
        f["_prov"] = r.uniform(0.35, 0.6)
        return f

    # ---- balanced development ----------------------------------------------------------------
    #
    # Each primary/junior school's per-pupil resource is expressed as a multiple of the stage
    # standard: district level x a lasting school factor (well-off schools are well off in
    # everything, plus a resource-specific part). The district level rises with the plan.
    #
    # 1. Where the district is meant to pass a CV, the spread is scaled down until the
    #    pupil-weighted CV is well under the limit.
    # 2. Schools that have been through the district's standardisation drive ("upgraded", a
    #    share that reaches every school in the profile's `ready` year) meet the national pass
    #    rule: at most 7 - min_met resources below standard, none below rest_min_fraction of it.
    #    Schools not yet upgraded keep whatever shortfalls the model gives them.
    # 3. Where the district is meant to fail a CV, its weak schools stay below the standard (in
    #    the ready year just below it, still above rest_min_fraction: they pass the school rule
    #    on the other six) while the rest of the district is better equipped, enough for the
    #    pupil-weighted CV to land just over the limit.
    # Every step is checked on the counts the schools actually report, with the worker's
    # arithmetic (see evaluate_balance).

    def failing(self, stage, resource, period):
        return self.failing_entry(stage, resource, period) is not None

    def failing_entry(self, stage, resource, period):
        for entry in self.profile.get("balance", []):
            f_stage, f_resource, _, until = entry[:4]
            if f_stage == stage and f_resource == resource and (until is None or period <= until):
                return entry
        return None

    def ready_year(self):
        return self.profile.get("ready") or max(self.periods)

    def upgrade_share(self, period):
        """The share of primary and junior schools through the standardisation drive: all of
        them from the ready year, 30 points fewer for every year before."""
        return clamp(1.0 - 0.3 * (self.ready_year() - period), 0.0, 1.0)

    def upgraded(self, unit, period):
        return unit.stage in ("primary", "junior") and \
            self.threshold(unit, "upgrade") < self.upgrade_share(period)

    def weak_fraction(self, unit, resource_id, period):
        """A weak school's share of the standard: far below it early on, just below it (above
        the rest_min_fraction floor of the pass rule) once the district is ready."""
        floor = self.catalog.balance.get("pass_rule", {}).get("rest_min_fraction", 0.85)
        jitter = clamp(unit.attrs["resource"][resource_id], -1.0, 1.0)
        ready = lerp(floor + 0.02, 0.98, 0.5 + 0.45 * jitter)
        share = self.upgrade_share(period)
        entry = self.failing_entry(unit.stage, resource_id, period)
        early = entry[4] if entry and len(entry) > 4 else 0.35
        return lerp(early * (1 + 0.1 * jitter), ready, share) if share < 1 else ready

    def shape_balance(self, figures, period, p):
        settings = self.catalog.balance
        rule = settings.get("pass_rule", {})
        floor = rule.get("rest_min_fraction", 0.85)
        resources = [res for res in settings.get("resources", [])
                     if res["numerator"] in self.catalog.elements]
        allowed_short = len(resources) - rule.get("min_met", len(resources))
        for stage, limits in settings.get("stages", {}).items():
            schools = [u for u in self.units if u.stage == stage]
            if len(schools) < 2 or any(stage not in res["standard"] for res in resources):
                continue
            cv_max = limits["cv_max"]
            weights = [figures[u.id]["students"] for u in schools]
            fail = {res["id"]: self.failing(stage, res["id"], period) for res in resources}
            # multiples of the standard, per resource and school
            m = {}
            for res in resources:
                level = 1.05 + 0.3 * p + 0.05 * ((stable_hash(self.id + res["id"]) % 5) - 2)
                values = [level * math.exp(0.24 * (0.55 * u.attrs["q"]
                                                   + 0.8 * u.attrs["resource"][res["id"]]))
                          for u in schools]
                if not fail[res["id"]]:
                    k = 1.0
                    while weighted_cv(weights, scale_deviations(weights, values, k)) \
                            > 0.6 * cv_max and k > 0.02:
                        k *= 0.9
                    values = scale_deviations(weights, values, k)
                m[res["id"]] = values
            # the pass rule in upgraded schools; the weak schools' shortfall
            for i, unit in enumerate(schools):
                weak = [rid for rid in unit.weak if fail.get(rid)]
                for rid in weak:
                    m[rid][i] = self.weak_fraction(unit, rid, period)
                if not self.upgraded(unit, period):
                    continue
                short = sorted((rid for rid in m if rid not in weak and m[rid][i] < 1),
                               key=lambda rid: -m[rid][i])
                keep = max(0, allowed_short - len(weak))
                for n, rid in enumerate(short):
                    lift = self.threshold(unit, "lift:" + rid)
                    if n < keep:  # the mildest shortfall may stay, above the floor
                        m[rid][i] = max(m[rid][i], floor + 0.02 + 0.1 * lift)
                    else:         # the others were brought up to standard
                        m[rid][i] = 1.01 + 0.12 * lift
            # the CVs meant to fail: the rest of the district is better off than the weak ones
            for res in resources:
                if fail[res["id"]]:
                    weak = [i for i, u in enumerate(schools) if res["id"] in u.weak]
                    m[res["id"]] = self.steer_fail(weights, m[res["id"]], weak, cv_max)
            for res in resources:
                standard = res["standard"][stage]
                counts = self.to_counts(weights, [x * standard for x in m[res["id"]]], res,
                                        standard, floor)
                for unit, count in zip(schools, counts):
                    figures[unit.id][res["numerator"]] = count

    def to_counts(self, weights, values, resource, standard, floor):
        """The reported numerators for per-pupil values. Rounding never moves a school below
        the standard (or below the floor of the pass rule) that its value reaches."""
        eid = resource["numerator"]
        factor = resource.get("factor", 1)
        integer = self.catalog.elements[eid]["type"] == "integer"
        step = 1 if integer else 0.1
        counts = []
        for w, x in zip(weights, values):
            raw = max(0.0, x * w / factor)
            count = round(raw / step) * step
            for line in (standard, standard * floor):
                if x >= line and factor * count / w < line:
                    count = math.ceil(raw / step - 1e-9) * step
            counts.append(int(round(count)) if integer else round(count, 1))
        return counts

    def steer_fail(self, weights, values, weak, cv_max):
        """Scales the schools that are not weak up (and, if that is not enough, apart) until
        the pupil-weighted CV is 10 % over the limit."""
        if not weak:
            return values
        others = [i for i in range(len(values)) if i not in weak]
        target = 1.06 * cv_max
        if not others or weighted_cv(weights, values) >= target:
            return values
        for k in (1.0, 1.3, 1.6, 2.0, 2.5):
            spread = scale_deviations([weights[i] for i in others], [values[i] for i in others], k)
            low = min(spread)
            spread = [max(x, 1.01) if low < 1.01 else x for x in spread]

            def trial(s):
                out = list(values)
                for i, x in zip(others, spread):
                    out[i] = x * s
                return out
            if weighted_cv(weights, trial(6.0)) < target:
                continue
            low, high = 1.0, 6.0
            for _ in range(50):
                mid = (low + high) / 2
                if weighted_cv(weights, trial(mid)) < target:
                    low = mid
                else:
                    high = mid
            return trial(high)
        return trial(6.0)

    # ---- consistency ---------------------------------------------------------------------------

    def finalize(self, unit, f):
        """Counts that depend on each other, after the balance resources are fixed."""
        teachers = f.pop("_teachers")
        for eid, share in (("teachers_above_degree", 0.97), ("key_teachers_county_up", 0.6),
                           ("pe_arts_teachers", 0.35)):
            if eid in f:
                teachers = max(teachers, math.ceil(f[eid] / share))
        f["teachers_fulltime"] = teachers
        if "teachers_above_degree" not in f and unit.stage in ("primary", "junior"):
            f["teachers_above_degree"] = round(teachers * 0.85)
        if "key_teachers_county_up" not in f:
            f["key_teachers_county_up"] = round(teachers * f["_key_share"])
        county = f["key_teachers_county_up"]
        f["key_teachers_city_up"] = min(county, round(county * f["_city"]))
        f["key_teachers_prov_up"] = min(f["key_teachers_city_up"],
                                        round(f["key_teachers_city_up"] * f["_prov"]))
        f["teachers_excellent"] = min(teachers, round(teachers * f["_excellent"]))
        f["teachers_360h_done"] = min(teachers, round(teachers * f["_h360"]))
        if "pe_arts_teachers" not in f and unit.stage in ("primary", "junior"):
            f["pe_arts_teachers"] = max(1, round(f["_pupils"] / 100))

    def complete(self, unit, f, period, p):
        """Drops the helper keys, adds the stage's remaining elements (booleans and anything the
        model does not know, from the catalog's typical range), and fits every value to its
        element. Only the elements the unit's stage may report are kept."""
        allowed = self.catalog.allowed(unit.stage)
        out = {}
        for eid in sorted(allowed):
            element = self.catalog.elements[eid]
            if eid in f:
                value = f[eid]
            elif element["type"] == "boolean":
                low, high = element.get("typical", [0.5, 1.0])
                value = self.threshold(unit, eid) < lerp(low, high, p)
            else:
                low, high = element.get("typical", [element.get("min", 0),
                                                    element.get("max", 100)])
                value = lerp(low, high, clamp(0.25 + 0.5 * self.threshold(unit, eid)
                                              + 0.1 * (p - 0.5), 0, 1))
            out[eid] = self.catalog.fit(eid, value)
        return out

    # ---- the bureau ------------------------------------------------------------------------------

    def office_figures(self, period, p, figures):
        r = self.rng("office", period)
        total = lambda eid, stages: sum(  # noqa: E731
            figures[u.id].get(eid, 0) for u in self.units if u.stage in stages)
        f = {}
        kids = total("kg_children", ("kindergarten",))
        ger_pre = 0.86 + 0.16 * p + r.gauss(0, 0.005)
        f["population_age_3_5"] = max(1, round(kids / ger_pre))
        senior = total("students", ("senior", "vocational")) * r.uniform(1.1, 1.3)
        f["senior_stage_students"] = round(senior)
        ger_sen = 0.925 + 0.05 * p + r.gauss(0, 0.004)
        f["population_age_15_17"] = max(1, round(senior / ger_sen))
        compulsory = total("students", ("primary", "junior", "special"))
        age = max(20, round(compulsory * r.uniform(0.0035, 0.0045)))
        f["disabled_children_school_age"] = age
        rate = clamp(0.9 + 0.1 * p + r.gauss(0, 0.004), 0.5, 1.0) if p < 0.999 else 1.0
        f["disabled_children_enrolled"] = min(age, round(age * rate))
        f["special_ed_funds_yuan"] = round(f["disabled_children_enrolled"]
                                           * (5700 + 260 * (period - 2020)) * r.uniform(1.0, 1.05),
                                           -2)
        f.update(self.office_targets(period, r))
        return f

    def office_targets(self, period, r):
        """The bureau's own counts, sized from the plan's targets on them."""
        out = {}
        plan_years = list(range(self.first_plan, self.last_plan + 1))
        ambition = self.profile["ambition"]
        for target in self.info.get("targets", []):
            indicator = self.catalog.indicators.get(target["indicator"])
            if not indicator or indicator["kind"] not in ("sum", "latest"):
                continue
            eid = indicator.get("element")
            element = self.catalog.elements.get(eid)
            if not element or "office" not in element.get("stages", []):
                continue
            op, year = target["op"], target["year"]
            if op == "between":
                low, high = target["min"], target["max"]
                value = r.randint(int(low), int(high)) if period == year else low
            elif indicator["kind"] == "latest" and op == "<=":
                goal = target["value"]
                span = max(1, year - min(self.periods))
                value = round(goal + 3 * (year - period) / span) + (0 if ambition >= 1 else 1)
            elif indicator["kind"] == "latest":
                goal = target["value"]
                share = clamp(0.72 + 0.3 * (period - min(self.periods))
                              / max(1, year - min(self.periods)), 0.5, 1.2)
                value = goal * share * ambition
            elif op.startswith("delta"):
                continue
            elif target.get("cumulative"):
                years = max(1, len([y for y in plan_years if y <= year]))
                value = target["value"] / years * ambition * r.uniform(0.95, 1.1)
                if period not in plan_years:
                    value *= 0.7
            else:
                value = target["value"] * ambition * r.uniform(0.98, 1.08)
                if period != year:
                    value *= r.uniform(0.75, 0.9)
            if element["type"] == "integer":
                value = math.ceil(value) if ambition >= 1 else math.floor(value)
            out[eid] = value
        return out

    # ---- resubmissions -------------------------------------------------------------------------

    GROUPS = {
        "myopia": ("myopia_screened", "myopia_cases"),
        "fitness": ("fitness_tested", "fitness_good"),
        "exercise": ("daily_exercise_minutes",),
        "safety": ("hazard_inspections",),
        "canteen": ("canteens", "canteens_open_kitchen"),
        "training": ("teacher_training_funds_yuan", "teachers_360h_done"),
        "equipment": ("equipment_value_yuan",),
        "entrants": ("new_entrants", "new_entrants_catchment"),
        "office": ("school_places_added", "preschool_places_added", "art_exhibitions",
                   "eval_reform_pilots", "special_ed_funds_yuan"),
    }

    def update(self, unit, period, r):
        """A resubmission: one group of related figures revised around the first report.
        Returns {element: value} for the group, or None if the unit has none of it."""
        base = self.base[(unit.id, period)]
        current = self.figures[(unit.id, period)]
        groups = [g for g, eids in self.GROUPS.items() if all(e in base for e in eids[:1])]
        if unit.stage == "office":
            groups = ["office"]
        if not groups:
            return None
        group = r.choice(groups)
        new = {}
        if group == "myopia":
            screened = base["myopia_screened"]
            rate = base["myopia_cases"] / screened if screened else 0
            screened = round(screened * r.uniform(0.99, 1.01))
            new = {"myopia_screened": screened,
                   "myopia_cases": round(screened * clamp(rate + r.gauss(0, 0.003), 0, 1))}
        elif group == "fitness":
            tested = base["fitness_tested"]
            rate = base["fitness_good"] / tested if tested else 0
            tested = round(tested * r.uniform(0.99, 1.01))
            new = {"fitness_tested": tested,
                   "fitness_good": round(tested * clamp(rate + r.gauss(0, 0.004), 0, 1))}
        elif group == "exercise":
            new = {"daily_exercise_minutes": base["daily_exercise_minutes"] + r.randint(-2, 3)}
        elif group == "safety":
            new = {"hazard_inspections": base["hazard_inspections"] + r.randint(0, 2)}
        elif group == "canteen":
            kitchen = base["canteens_open_kitchen"]
            if kitchen < base["canteens"] and r.random() < 0.3:
                kitchen = base["canteens"]  # the school installed the camera this month
            new = {"canteens": base["canteens"], "canteens_open_kitchen": kitchen}
        elif group == "training":
            new = {"teacher_training_funds_yuan":
                   round(base["teacher_training_funds_yuan"] * r.uniform(1.0, 1.03), -1)}
            if "teachers_360h_done" in base:
                new["teachers_360h_done"] = min(base["teachers_fulltime"],
                                                base["teachers_360h_done"] + r.randint(0, 2))
        elif group == "equipment":
            new = {"equipment_value_yuan": round(base["equipment_value_yuan"]
                                                 * r.uniform(1.0, 1.01), -2)}
        elif group == "entrants":
            # late admissions: a few more entrants, and fewer of the out-of-catchment ones
            extra = r.randint(0, 3)
            missing = base["new_entrants"] - base["new_entrants_catchment"]
            new = {"new_entrants": base["new_entrants"] + extra,
                   "new_entrants_catchment": base["new_entrants_catchment"] + extra
                   + r.randint(0, missing)}
        elif group == "office":
            eids = [e for e in self.GROUPS["office"] if e in base]
            if not eids:
                return None
            eid = r.choice(eids)
            new = {eid: base[eid] * r.uniform(0.99, 1.02)}
        new = {e: self.catalog.fit(e, v) for e, v in new.items() if e in base}
        if not new:
            return None
        current.update(new)
        self.sim.check(unit, current)
        return new


def stable_hash(text):
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def weighted_mean(weights, values):
    total = sum(weights)
    return sum(w * x for w, x in zip(weights, values)) / total if total else 0.0


def weighted_cv(weights, values):
    """Pupil-weighted population CV, as api-v1.md defines the cv kind."""
    mean = weighted_mean(weights, values)
    if mean <= 0:
        return 0.0
    variance = weighted_mean(weights, [(x - mean) ** 2 for x in values])
    return math.sqrt(variance) / mean


def compare(op, value, limit):
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit,
            "<": value < limit, "=": value == limit}[op]


def evaluate_balance(catalog, units, figures):
    """The balanced-development verdict of one district and period, computed the way the worker
    does (common/balance.c) from the figures the units report: `units` is the district's units,
    `figures` maps a unit id to its reported {element: value}. Returns a list of failures, each
    (check, stage or None, what, detail); an empty list is a pass."""
    settings = catalog.balance
    stages = settings.get("stages", {})
    resources = settings.get("resources", [])
    rule = settings.get("pass_rule", {"min_met": len(resources), "rest_min_fraction": 1.0})
    pupils_id = settings.get("pupils", "students")
    exclude = settings.get("exclude_under_pupils", 0)
    owned = set(settings.get("ownership", ["public", "private"]))
    failures = []

    def ratio(f, numerator, denominator, factor):
        top, bottom = f.get(numerator), f.get(denominator)
        if top is None or bottom is None or bottom <= 0:
            return None
        return factor * top / bottom

    for stage, limits in stages.items():
        schools = [u for u in units if u.stage == stage and u.ownership in owned]
        if not schools:
            continue
        for res in resources:
            standard = res["standard"][stage]
            w, x = [], []
            for u in schools:
                value = ratio(figures[u.id], res["numerator"], res["denominator"],
                              res.get("factor", 1))
                pupils = figures[u.id].get(pupils_id)
                if value is None or not pupils or pupils < exclude:
                    continue
                w.append(pupils)
                x.append(value)
            cv = weighted_cv(w, x) if w else None
            if cv is not None and cv > limits["cv_max"]:
                failures.append(("cv", stage, res["id"], "%.3f > %g" % (cv, limits["cv_max"])))
        for u in schools:
            met, floor_broken, below = 0, False, []
            for res in resources:
                standard = res["standard"][stage]
                value = ratio(figures[u.id], res["numerator"], res["denominator"],
                              res.get("factor", 1))
                if value is None:
                    continue
                if value >= standard:
                    met += 1
                else:
                    below.append("%s %.0f%%" % (res["id"], 100 * value / standard))
                    if value < standard * rule["rest_min_fraction"]:
                        floor_broken = True
            if floor_broken or met < rule["min_met"]:
                failures.append(("school", stage, u.id, "%d/%d met; below: %s"
                                 % (met, len(resources), ", ".join(below))))
    school_stages = [s for s in stages]
    for condition in settings.get("conditions", []):
        value_spec = condition["value"]
        if isinstance(value_spec, dict):
            limit_of = dict(value_spec)
        else:
            limit_of = {s: value_spec for s in condition.get("stages", school_stages)}
        ownership = set(condition.get("ownership", owned))
        factor = condition.get("factor", 1)

        def admits(u):
            return u.stage in limit_of and u.ownership in ownership
        if condition["scope"] == "school":
            bad = []
            for u in units:
                if not admits(u):
                    continue
                f = figures[u.id]
                value = f.get(condition["element"]) if "element" in condition else \
                    ratio(f, condition["numerator"], condition["denominator"], factor)
                if value is not None and not compare(condition["op"], value, limit_of[u.stage]):
                    bad.append("%s %.4g" % (u.id, value))
            if bad:
                failures.append(("condition", None, condition["id"],
                                 "%d schools: %s" % (len(bad), ", ".join(bad[:6])
                                                     + (" ..." if len(bad) > 6 else ""))))
            continue

        def total(eid):
            element = catalog.elements[eid]
            office = "office" in element.get("stages", [])
            values = [figures[u.id][eid] for u in units if eid in figures[u.id]
                      and u.stage in element.get("stages", [])
                      and (office or admits(u))]
            return sum(values) if values else None
        if "element" in condition:
            value = total(condition["element"])
        else:
            top, bottom = total(condition["numerator"]), total(condition["denominator"])
            value = factor * top / bottom if top is not None and bottom else None
        limit = next(iter(limit_of.values()))
        if value is not None and not compare(condition["op"], value, limit):
            failures.append(("condition", None, condition["id"], "%.4g vs %s %g"
                             % (value, condition["op"], limit)))
    return failures


def scale_deviations(weights, values, k):
    """Moves every value k times as far from the weighted mean: the mean is kept, the CV is
    multiplied by k."""
    mean = weighted_mean(weights, values)
    return [max(mean * 0.05, mean + k * (x - mean)) for x in values]


# ---- HTTP ---------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = self.accepted = self.replayed = 0
        self.errors = {}
        self.printed = {}
        self.started = time.monotonic()
        self.last_accepted, self.last_time = 0, self.started
        self.phase = "start"

    def count(self, status=None, sent=False, accepted=False, replayed=False):
        with self.lock:
            if sent:
                self.sent += 1
            if accepted:
                self.accepted += 1
            if replayed:
                self.replayed += 1
            if status is not None:
                self.errors[status] = self.errors.get(status, 0) + 1

    def should_print(self, status):
        """The first 5 errors of each status, then every 100th."""
        with self.lock:
            n = self.printed.get(status, 0) + 1
            self.printed[status] = n
            return n <= 5 or n % 100 == 0

    def line(self, final=False):
        """The progress line: submissions sent, 202s, errors by status, submissions/s in the
        last interval and on average; `final` gives the phase's totals."""
        with self.lock:
            now = time.monotonic()
            rate = (self.accepted - self.last_accepted) / max(1e-6, now - self.last_time)
            self.last_accepted, self.last_time = self.accepted, now
            elapsed = max(1e-6, now - self.started)
            average = self.accepted / elapsed
            errors = " ".join("%s:%d" % (k, v) for k, v in sorted(self.errors.items(),
                                                                   key=lambda kv: str(kv[0])))
            head = "[%-6s %5.1fs]" % (self.phase, elapsed) if final else \
                "[%-6s %5.0fs]" % (self.phase, elapsed)
            tail = "done, %.1f/s on average" % average if final else \
                "%.1f/s (avg %.1f/s)" % (rate, average)
            return ("%s sent %d  202 %d%s  errors %s  %s"
                    % (head, self.sent, self.accepted,
                       " (replayed %d)" % self.replayed if self.replayed else "",
                       errors or "none", tail))

    def reset(self, phase):
        with self.lock:
            self.phase = phase
            self.sent = self.accepted = self.replayed = 0
            self.errors = {}
            self.started = self.last_time = time.monotonic()
            self.last_accepted = 0


class Client:
    """One keep-alive connection to the API (one per worker thread)."""

    def __init__(self, base_url, timeout):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("--api must be an http:// or https:// URL, not %r" % base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = dict(headers or {})
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
                self.conn = cls(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                # A keep-alive connection the server closed meanwhile: reconnect once. Safe for
                # submissions (Idempotency-Key); a registration retried this way answers 409
                # and the token is then rotated.
                self.close()
                if attempt == 0:
                    continue
                raise
            except Exception:
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, response, payload
        raise ConnectionError("unreachable")


# (part, whole): figures that may never exceed another figure of the same report
CONSISTENT = [("kg_children_inclusive", "kg_children"), ("kg_children_public", "kg_children"),
              ("places_top_rated", "places"), ("places_in_group", "places"),
              ("cohort_retained_pupils", "cohort_entry_pupils"),
              ("graduates", "cohort_entry_pupils"), ("new_entrants_catchment", "new_entrants"),
              ("key_teachers_prov_up", "key_teachers_city_up"),
              ("key_teachers_city_up", "key_teachers_county_up"),
              ("key_teachers_county_up", "teachers_fulltime"),
              ("teachers_above_degree", "teachers_fulltime"),
              ("pe_arts_teachers", "teachers_fulltime"),
              ("teachers_excellent", "teachers_fulltime"),
              ("teachers_360h_done", "teachers_fulltime"),
              ("calligraphy_teachers_trained", "calligraphy_teachers"),
              ("myopia_cases", "myopia_screened"), ("fitness_good", "fitness_tested"),
              ("canteens_open_kitchen", "canteens"), ("classes_56_plus", "classes"),
              ("classes_over_standard_size", "classes"),
              ("disabled_children_enrolled", "disabled_children_school_age"),
              ("teacher_training_funds_yuan", "public_funds_budget_yuan")]


class Simulator:
    def __init__(self, args):
        self.args = args
        self.catalog = Catalog(args.catalog)
        self.seed = args.seed
        self.stats = Stats()
        self.stopping = threading.Event()
        self.pause_lock = threading.Lock()
        self.pause_until = 0.0
        self.print_lock = threading.Lock()
        self.tokens = {}
        self.token_lock = threading.Lock()
        self.save_lock = threading.Lock()
        self.rotate_lock = threading.Lock()
        self.state_dirty = False
        self.failures = 0         # simulator errors and fatal API answers
        self.submit_failures = 0  # submissions given up on
        self.districts = []
        self.build_districts()

    # ---- set-up ---------------------------------------------------------------------------------

    def build_districts(self):
        wanted = set(self.args.districts.split(",")) if self.args.districts else None
        explicit = sorted({int(p) for p in self.args.periods.split(",")}) \
            if self.args.periods else None
        for info in self.catalog.districts:
            if wanted and info["id"] not in wanted:
                continue
            profile = dict(DEFAULT_PROFILE)
            profile.update(PROFILES.get(info["id"], {}))
            profile.setdefault("prefix", "".join(w[0] for w in info["id"].split("-"))[:4])
            units = self.args.schools_per_district or profile["units"]
            periods = explicit or self.default_periods(info)
            self.districts.append(District(self, info, profile, units, periods))
        if wanted and len(self.districts) != len(wanted):
            known = {d["id"] for d in self.catalog.districts}
            sys.exit("unknown district(s): %s" % ", ".join(sorted(wanted - known)))

    def default_periods(self, info):
        """The plan years up to 2025, plus the year before the plan when a target is a change
        against the previous period (delta>= / delta<=): that year is its base."""
        first, last = info["plan"]["years"]
        last = min(last, LAST_YEAR)
        first = min(first, last)
        periods = list(range(first, last + 1))
        if any(t["op"].startswith("delta") for t in info.get("targets", [])):
            periods.insert(0, first - 1)
        return periods

    def check(self, unit, figures):
        """The simulator's own validation, so that a generator bug shows here and not as a 422:
        the rules the API applies (stage, type, bounds) and the consistency between figures."""
        def expect(condition, *what):
            if not condition:
                raise ValueError("generated figures of %s are wrong: %r" % (unit.id, what))
        allowed = self.catalog.allowed(unit.stage)
        for eid, value in figures.items():
            element = self.catalog.elements[eid]
            expect(eid in allowed, "stage may not report", eid)
            if element["type"] == "boolean":
                expect(isinstance(value, bool), eid, value)
                continue
            expect(not isinstance(value, bool) and element["min"] <= value <= element["max"],
                   eid, value)
            if element["type"] == "integer":
                expect(value == int(value), eid, value)
        for part, whole in CONSISTENT:
            if part in figures and whole in figures:
                expect(figures[part] <= figures[whole], part, figures[part], whole,
                       figures[whole])

    def say(self, text, stream=sys.stdout):
        with self.print_lock:
            try:
                print(text, file=stream, flush=True)
            except BrokenPipeError:  # piped into `head` or a pager that quit: go quietly
                self.stopping.set()
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())

    # ---- state file (tokens) ---------------------------------------------------------------------

    def load_state(self):
        try:
            with open(self.args.state, encoding="utf-8") as handle:
                state = json.load(handle)
            self.tokens = dict(state.get("tokens", {}))
        except FileNotFoundError:
            self.tokens = {}
        except (OSError, ValueError) as error:
            self.say("warning: ignoring unreadable state file %s (%s)" % (self.args.state, error),
                     sys.stderr)
            self.tokens = {}

    def save_state(self):
        """Writes the tokens (mode 0600) through a temporary file, so a crash never leaves a
        half-written state file behind."""
        with self.save_lock:
            with self.token_lock:
                state = {"api": self.args.api, "tokens": dict(sorted(self.tokens.items()))}
                self.state_dirty = False
            directory = os.path.dirname(os.path.abspath(self.args.state))
            os.makedirs(directory, exist_ok=True)
            temporary = self.args.state + ".tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(state, handle, ensure_ascii=False, indent=1)
                handle.write("\n")
            os.replace(temporary, self.args.state)

    # ---- requests with back-off ------------------------------------------------------------------

    def wait_pause(self):
        while not self.stopping.is_set():
            with self.pause_lock:
                remaining = self.pause_until - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.2))

    def back_off(self, seconds):
        with self.pause_lock:
            self.pause_until = max(self.pause_until, time.monotonic() + seconds)

    def call(self, client, method, path, body=None, headers=None, what="", retry_stopping=False):
        """Sends one request; 503/429 wait for Retry-After and retry, connection errors retry with
        exponential back-off. Returns (status, parsed JSON or text, response headers), or
        (None, reason, {}) when the API could not be reached."""
        attempt = 0
        while True:
            if self.stopping.is_set() and not retry_stopping and attempt > 0:
                return None, "stopped", {}
            self.wait_pause()
            try:
                status, response, payload = client.request(method, path, body, headers)
            except (OSError, http.client.HTTPException, ValueError) as error:
                attempt += 1
                self.stats.count(status="conn")
                if self.stats.should_print("conn"):
                    self.say("! connection error on %s %s %s: %s" % (method, path, what, error),
                             sys.stderr)
                if attempt >= self.args.max_attempts:
                    return None, str(error), {}
                self.back_off(min(5.0, 0.2 * 2 ** attempt))
                continue
            text = payload.decode("utf-8", "replace")
            if status in (429, 503):
                attempt += 1
                self.stats.count(status=status)
                retry_after = response.getheader("Retry-After") or "1"
                try:
                    seconds = clamp(float(retry_after), 0.05, 60)
                except ValueError:
                    seconds = 1.0
                if self.stats.should_print(status):
                    self.say("! %d on %s %s %s (Retry-After %s, backing off): %s"
                             % (status, method, path, what, retry_after, text.strip()),
                             sys.stderr)
                if attempt >= self.args.max_attempts:
                    return status, text, response.headers
                if status == 503:
                    self.back_off(seconds)  # the data store is away: everyone waits
                else:
                    self.stopping.wait(seconds)  # 429 is per token: only this request waits
                continue
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return status, parsed, response.headers

    def report_error(self, status, method, path, what, body):
        self.stats.count(status=status)
        if self.stats.should_print(status):
            shown = json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body
            self.say("! %s on %s %s %s: %s" % (status, method, path, what, shown.strip()),
                     sys.stderr)

    # ---- registration ----------------------------------------------------------------------------

    def admin_headers(self):
        return {"Authorization": "Bearer " + self.args.admin_token}

    def register(self, client, unit):
        status, body, _ = self.call(client, "POST", "/v1/schools", unit.registration(),
                                    self.admin_headers(), what=unit.id, retry_stopping=True)
        if status == 201 and isinstance(body, dict) and body.get("token"):
            with self.token_lock:
                self.tokens[unit.id] = body["token"]
                self.state_dirty = True
            return "registered"
        if status == 409:
            with self.token_lock:
                known = unit.id in self.tokens
            if known:
                return "known"
            return "rotated" if self.rotate(client, unit.id) else "failed"
        self.report_error(status if status else "conn", "POST", "/v1/schools", unit.id, body)
        if status in (401, 403):
            self.fatal("the admin token was refused (%s): check --admin-token / "
                       "EDUMON_ADMIN_TOKEN against the API's EDUMON_ADMIN_TOKEN" % status)
        return "failed"

    def rotate(self, client, school):
        path = "/v1/schools/%s/token" % urllib.parse.quote(school)
        status, body, _ = self.call(client, "POST", path, None, self.admin_headers(),
                                    what=school, retry_stopping=True)
        if status == 200 and isinstance(body, dict) and body.get("token"):
            with self.token_lock:
                self.tokens[school] = body["token"]
                self.state_dirty = True
            return True
        self.report_error(status if status else "conn", "POST", path, school, body)
        return False

    def fatal(self, message):
        self.say("simulate: " + message, sys.stderr)
        self.failures += 1
        self.stopping.set()

    def register_all(self):
        units = [u for d in self.districts for u in d.units]
        self.stats.reset("register")
        outcomes = {}
        lock = threading.Lock()

        def job(client, unit):
            outcome = self.register(client, unit)
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.run_jobs([(job, u) for u in units], rate=0)
        if self.state_dirty:
            self.save_state()
        self.say("registration: %d units, %s (tokens in %s)"
                 % (len(units), ", ".join("%s %d" % kv for kv in sorted(outcomes.items())),
                    self.args.state))
        return outcomes.get("failed", 0) == 0 and not self.failures

    # ---- submissions -----------------------------------------------------------------------------

    def submit(self, client, district, unit, period, values, key):
        body = {"school": unit.id, "period": "%04d" % period, "values": values}
        what = "%s/%d" % (unit.id, period)
        for attempt in (0, 1):
            with self.token_lock:
                token = self.tokens.get(unit.id)
            if not token:
                self.report_error("no-token", "POST", "/v1/submissions", what,
                                  "no token for this school (registration failed?)")
                return None
            headers = {"Authorization": "Bearer " + token, "Idempotency-Key": key}
            self.stats.count(sent=True)
            status, answer, reply = self.call(client, "POST", "/v1/submissions", body, headers,
                                              what)
            if status == 202:
                replayed = (reply.get("Idempotent-Replayed") or "").lower() == "true"
                self.stats.count(accepted=True, replayed=replayed)
                return answer
            if status == 401 and attempt == 0:
                # The state file's token is stale (the data was reset, or someone rotated it).
                self.report_error(401, "POST", "/v1/submissions", what,
                                  "%s (rotating the token and retrying)"
                                  % json.dumps(answer, ensure_ascii=False))
                with self.rotate_lock:  # one rotation per stale token, not one per thread
                    with self.token_lock:
                        fresh = self.tokens.get(unit.id) != token
                    if fresh or self.rotate(client, unit.id):
                        continue
            if status is None:
                self.report_error("conn", "POST", "/v1/submissions", what, answer)
            elif status not in (429, 503):
                self.report_error(status, "POST", "/v1/submissions", what, answer)
            with self.token_lock:
                self.submit_failures += 1
            return None
        return None

    def initial_load(self):
        jobs = []
        periods = sorted({p for d in self.districts for p in d.periods})
        for period in periods:
            for district in self.districts:
                if period not in district.periods:
                    continue
                for unit in district.units:
                    values = district.figures[(unit.id, period)]
                    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode())
                    key = "sim-%s-%d-%s" % (unit.id, period, digest.hexdigest()[:16])
                    jobs.append((self.load_job, (district, unit, period, dict(values), key)))
        self.stats.reset("load")
        self.say("initial load: %d submissions (%d districts, periods %s)"
                 % (len(jobs), len(self.districts),
                    "; ".join("%s %s" % (d.id, ",".join(map(str, d.periods)))
                              for d in self.districts)))
        self.run_jobs(jobs, rate=self.args.load_rate)
        self.say(self.stats.line(final=True))

    def load_job(self, client, job):
        district, unit, period, values, key = job
        self.submit(client, district, unit, period, values, key)

    def stream(self):
        self.stats.reset("stream")
        rng = random.Random("%s:stream:%s" % (self.seed, time.time()))
        choices = [(d, u) for d in self.districts for u in d.units]
        lock = threading.Lock()

        def jobs():
            while not self.stopping.is_set():
                with lock:
                    district, unit = rng.choice(choices)
                    latest = max(district.periods)
                    period = latest if rng.random() < 0.7 else rng.choice(district.periods)
                    values = district.update(unit, period, rng)
                if values:
                    yield (self.stream_job, (district, unit, period, values,
                                             "sim-upd-" + uuid.uuid4().hex))
        self.say("streaming resubmissions at %s/s until interrupted%s"
                 % (self.args.rate or "unlimited",
                    " (for %gs)" % self.args.duration if self.args.duration else ""))
        self.run_jobs(jobs(), rate=self.args.rate, duration=self.args.duration)
        self.say(self.stats.line(final=True))

    def stream_job(self, client, job):
        district, unit, period, values, key = job
        self.submit(client, district, unit, period, values, key)

    # ---- the worker pool -------------------------------------------------------------------------

    def run_jobs(self, jobs, rate, duration=None):
        """Runs (function, argument) jobs on --concurrency threads with keep-alive connections,
        paced at `rate` jobs per second (0 = as fast as the API answers); prints a progress line
        every second; returns when the jobs are done, on stop, or after `duration` seconds."""
        work = queue.Queue(maxsize=self.args.concurrency * 4)
        done = threading.Event()

        def worker():
            client = Client(self.args.api, self.args.timeout)
            while True:
                item = work.get()
                if item is None:
                    client.close()
                    return
                function, argument = item
                try:
                    function(client, argument)
                except Exception as error:  # a bug in the simulator: say so, keep going
                    self.say("! simulator error: %r" % (error,), sys.stderr)
                    self.failures += 1

        def printer():
            while not done.wait(1.0):
                self.say(self.stats.line())
                if self.state_dirty:
                    self.save_state()

        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(self.args.concurrency)]
        for thread in threads:
            thread.start()
        ticker = threading.Thread(target=printer, daemon=True)
        ticker.start()
        started = time.monotonic()
        next_at = started
        for item in jobs:
            if self.stopping.is_set():
                break
            if duration and time.monotonic() - started >= duration:
                break
            if rate and rate > 0:
                next_at += 1.0 / rate
                delay = next_at - time.monotonic()
                if delay > 0:
                    self.stopping.wait(delay)
                elif delay < -1.0:
                    next_at = time.monotonic()  # do not burst to catch up after a pause
            while not self.stopping.is_set():
                try:
                    work.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue
        if self.stopping.is_set():  # drop what is queued and not started
            try:
                while True:
                    work.get_nowait()
            except queue.Empty:
                pass
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
        done.set()
        ticker.join()
        if self.state_dirty:
            self.save_state()

    # ---- the result, as the API serves it --------------------------------------------------------

    def summary(self):
        """Waits until the worker has applied the load (every unit counted in each district's
        latest period), then prints the balanced-development CVs of each district and the
        verdict of the whole evaluation."""
        client = Client(self.args.api, self.args.timeout)
        deadline = time.monotonic() + self.args.settle
        self.say("balanced development (bal_*_cv) in each district's latest period, "
                 "as served by GET /v1/districts/{id}/snapshot:")
        for district in self.districts:
            period = max(district.periods)
            path = "/v1/districts/%s/snapshot?period=%04d" % (district.id, period)
            snapshot = None
            while True:
                status, body, _ = self.call(client, "GET", path, what=district.id,
                                            headers=self.read_headers())
                if status == 200 and isinstance(body, dict):
                    snapshot = body
                    done = body.get("completeness", {}).get("reported", 0)
                    if done >= len(district.units):
                        break
                if time.monotonic() > deadline or self.stopping.is_set():
                    break
                time.sleep(0.5)
            if not snapshot:
                self.say("  %-20s %d  no snapshot (%s)" % (district.id, period, status))
                continue
            cvs = [i for i in snapshot.get("indicators", []) if i["id"].startswith("bal_")
                   and i.get("kind") == "cv"]
            failing = [i for i in cvs if i.get("target") and i.get("value") is not None
                       and i["value"] > i["target"]["value"]]
            worst = {}
            for i in cvs:
                stage = i["id"].split("_")[1]
                if i.get("value") is not None and (stage not in worst
                                                   or i["value"] > worst[stage]["value"]):
                    worst[stage] = i
            verdict = "FAIL" if failing else "pass"
            detail = "; ".join("%s = %.3f > %g (%s)" % (i["id"], i["value"],
                                                        i["target"]["value"], i["status"])
                               for i in failing)
            if not failing:
                detail = "all %d CVs within the limit; highest %s" % (len(cvs), ", ".join(
                    "%s %.3f" % (i["id"], i["value"]) for i in worst.values()))
            complete = snapshot.get("completeness", {})
            self.say("  %-20s %d  %-4s  %s  [v%s, %s/%s units reported]"
                     % (district.id, period, verdict, detail, snapshot.get("version"),
                        complete.get("reported"), complete.get("expected")))
            self.say("  %-20s %d  evaluation: %s"
                     % ("", period, self.balance_line(client, district, period)))
        client.close()

    def balance_line(self, client, district, period):
        """The verdict of GET /v1/districts/{id}/balance, with what fails."""
        path = "/v1/districts/%s/balance?period=%04d" % (district.id, period)
        status, body, _ = self.call(client, "GET", path, what=district.id,
                                    headers=self.read_headers())
        if status != 200 or not isinstance(body, dict):
            return "not available (%s)" % status
        verdict = body.get("verdict", {})
        parts = []
        for failure in verdict.get("failures", []):
            check = failure.get("check")
            if check == "cv":
                parts.append("%s %s CV %.3f > %g" % (failure.get("stage"), failure.get("resource"),
                                                     failure.get("value"), failure.get("limit")))
            elif check == "school":
                parts.append("%s school %s" % (failure.get("stage"), failure.get("school")))
            else:
                parts.append("condition %s" % failure.get("condition"))
        shown = "; ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")
        return "%s (%s)%s" % (verdict.get("status"), verdict.get("summary_en"),
                             ": " + shown if shown else "")

    def read_headers(self):
        token = os.environ.get("EDUMON_READ_TOKEN")
        return {"Authorization": "Bearer " + token} if token else {}

    def dry_run(self):
        """Prints the roster and the CVs the generated figures give, without any request."""
        for district in self.districts:
            stages = {}
            for unit in district.units:
                stages[unit.stage] = stages.get(unit.stage, 0) + 1
            self.say("%s (%s): %d units %s; periods %s; %s"
                     % (district.id, district.info["name"], len(district.units), stages,
                        district.periods, district.profile["story"]))
            for period in district.periods:
                row = []
                for stage, limits in self.catalog.balance.get("stages", {}).items():
                    schools = [u for u in district.units if u.stage == stage]
                    for res in self.catalog.balance.get("resources", []):
                        w = [district.figures[(u.id, period)]["students"] for u in schools]
                        x = [res.get("factor", 1) * district.figures[(u.id, period)]
                             [res["numerator"]] / max(1, wi) for u, wi in zip(schools, w)]
                        cv = weighted_cv(w, x)
                        if cv > limits["cv_max"]:
                            row.append("%s_%s=%.3f>%.2f" % (stage, res["id"], cv,
                                                            limits["cv_max"]))
                        else:
                            row.append("%.2f" % cv)
                self.say("  %d p=%.2f cv %s" % (period, district.progress(period), " ".join(row)))
                figures = {u.id: district.figures[(u.id, period)] for u in district.units}
                failures = evaluate_balance(self.catalog, district.units, figures)
                counted = {}
                for check, stage, what, _ in failures:
                    key = "%s school(s)" % stage if check == "school" else \
                        "%s %s CV" % (stage, what) if check == "cv" else what
                    counted[key] = counted.get(key, 0) + 1
                listed = ", ".join("%s%s" % (k, " x%d" % n if n > 1 else "")
                                   for k, n in counted.items())
                self.say("       evaluation: %s" % ("fail: " + listed if failures else "pass"))
                if self.args.verbose:
                    for failure in failures:
                        self.say("         %s %s %s: %s" % failure)
            if self.args.verbose:
                for unit in district.units:
                    self.say("    %s %s %s %s" % (unit.id, unit.name, unit.stage, unit.ownership))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="edumon demo simulator: registers synthetic schools and streams their "
                    "figures through the HTTP API.")
    parser.add_argument("--api", default=os.environ.get("EDUMON_API", "http://127.0.0.1:8080"),
                        help="API base URL [EDUMON_API, default %(default)s]")
    parser.add_argument("--admin-token", default=os.environ.get("EDUMON_ADMIN_TOKEN"),
                        help="admin bearer token [EDUMON_ADMIN_TOKEN]")
    parser.add_argument("--admin-token-file",
                        help="read the admin token from this file (e.g. .demo/admin-token)")
    parser.add_argument("--catalog", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "deploy", "catalog"),
        help="catalog directory (default: the repository's deploy/catalog)")
    parser.add_argument("--districts", help="comma-separated district ids (default: all)")
    parser.add_argument("--schools-per-district", type=int, default=0, metavar="N",
                        help="reporting units per district besides the office (default: per "
                             "district, 22-60)")
    parser.add_argument("--periods", help="comma-separated years for every district (default: "
                                          "each district's plan years up to 2025, plus the year "
                                          "before when a target is a year-on-year change)")
    parser.add_argument("--rate", type=float, default=50.0,
                        help="resubmissions per second while streaming, 0 = unlimited "
                             "(default %(default)s)")
    parser.add_argument("--load-rate", type=float, default=0.0,
                        help="submissions per second during the initial load, 0 = unlimited "
                             "(default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="parallel connections (default %(default)s)")
    parser.add_argument("--seed", default="edumon-demo", help="generation seed (default "
                                                              "%(default)s)")
    parser.add_argument("--state", default=".demo/tokens.json",
                        help="token state file (default %(default)s)")
    parser.add_argument("--once", action="store_true",
                        help="register and submit every period once, print the summary, exit")
    parser.add_argument("--no-initial", action="store_true",
                        help="skip the initial load (register, then stream only)")
    parser.add_argument("--duration", type=float, default=0,
                        help="stop streaming after this many seconds (default: until "
                             "interrupted)")
    parser.add_argument("--settle", type=float, default=60,
                        help="seconds to wait for the worker before the --once summary")
    parser.add_argument("--no-summary", action="store_true", help="skip the --once summary")
    parser.add_argument("--timeout", type=float, default=15, help="HTTP timeout in seconds")
    parser.add_argument("--max-attempts", type=int, default=30,
                        help="tries per request on 503/429/connection errors")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the roster and the CVs of the generated figures; no requests")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.admin_token_file and not args.admin_token:
        try:
            with open(args.admin_token_file, encoding="utf-8") as handle:
                args.admin_token = handle.read().strip()
        except OSError as error:
            parser.error("cannot read --admin-token-file: %s" % error)
    if not args.admin_token and not args.dry_run:
        parser.error("an admin token is needed: --admin-token, --admin-token-file or "
                     "EDUMON_ADMIN_TOKEN")
    if args.concurrency < 1 or args.rate < 0 or args.load_rate < 0:
        parser.error("--concurrency must be >= 1 and rates >= 0")
    if args.schools_per_district and args.schools_per_district < 12:
        parser.error("--schools-per-district must be at least 12 (every stage needs a few)")
    if args.periods:
        try:
            years = [int(p) for p in args.periods.split(",")]
        except ValueError:
            parser.error("--periods must be comma-separated years")
        if any(not 2000 <= y <= 2100 for y in years):
            parser.error("--periods must be years between 2000 and 2100")
    return args


def main(argv):
    args = parse_args(argv)
    simulator = Simulator(args)
    if args.dry_run:
        simulator.dry_run()
        return 0

    def stop(signum, frame):
        if simulator.stopping.is_set():
            os._exit(130)  # a second Ctrl-C: leave at once
        simulator.say("stopping (signal %d) ..." % signum, sys.stderr)
        simulator.stopping.set()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    simulator.load_state()
    units = sum(len(d.units) for d in simulator.districts)
    simulator.say("simulating %d districts, %d units against %s (seed %s)"
                  % (len(simulator.districts), units, args.api, args.seed))
    if not simulator.register_all():
        simulator.say("simulate: registration failed; see the errors above", sys.stderr)
        return 2
    if not args.no_initial and not simulator.stopping.is_set():
        simulator.initial_load()
        failed = simulator.submit_failures
        if failed:
            simulator.say("simulate: %d submissions of the initial load failed" % failed,
                          sys.stderr)
        if args.once:
            if not args.no_summary and not simulator.stopping.is_set():
                simulator.summary()
            return 1 if failed or simulator.failures else 0
    if not simulator.stopping.is_set():
        simulator.stream()
    return 1 if simulator.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
