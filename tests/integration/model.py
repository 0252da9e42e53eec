"""model.py -- an independent model of what the snapshots must say, for the randomized tests.

It reads the catalog's JSON (elements, indicators, district targets) and recomputes each
indicator straight from the contract's definitions (docs: api-v1.md "Indicator kinds"):

  sum       sum of element e over the units that count for it and reported it
  ratio     factor * sum(num) / sum(den)  (sums first, then divide); null when a side has
            no report or the denominator is 0
  coverage  100 * #(units whose e satisfies op value) / #(registered units the filter admits)
  latest    the office's value of e
  cv        pupil-weighted population CV of per-unit factor*num/den over the admitted units
            that reported num, den and weight (den > 0)

A unit "counts" for an element when its stage may report the element and either the filter
admits the unit or the element is an office element (office figures always count). A unit is
expected for an indicator when it counts for at least one of the indicator's elements, and
reporting when it reported every one of them it counts for.

Submissions are applied last-writer-wins per (unit, period, element) in stream-id order,
which is what the worker must do whatever the number of workers or crashes.
"""

import json
import math
import os
import random

from harness import check, expect_close, expect_eq, parse_entry_id

OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
       "<": lambda a, b: a < b, "=": lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))}


def load_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class Model:
    def __init__(self, catalog_dir):
        self.elements = {item["id"]: item for item in
                         load_json(os.path.join(catalog_dir, "elements.json"))["elements"]}
        self.indicators = {item["id"]: item for item in
                           load_json(os.path.join(catalog_dir, "indicators.json"))["indicators"]}
        self.targets = {}
        districts_dir = os.path.join(catalog_dir, "districts")
        for name in sorted(os.listdir(districts_dir)):
            if name.endswith(".json"):
                district = load_json(os.path.join(districts_dir, name))
                self.targets[district["id"]] = [t["indicator"] for t in district["targets"]]
        self.units = {}   # id -> {"district", "stage", "ownership"}
        self.cells = {}   # (district, period) -> {(unit, element): (entry id tuple, value)}

    # -- inputs --

    def register(self, unit, district, stage, ownership):
        self.units[unit] = {"district": district, "stage": stage, "ownership": ownership}

    def allowed_elements(self, unit):
        stage = self.units[unit]["stage"]
        return sorted(e for e, item in self.elements.items() if stage in item["stages"])

    def random_value(self, element, rng):
        item = self.elements[element]
        if item["type"] == "boolean":
            return rng.random() < 0.6
        low, high = item["min"], min(item["max"], 5000)
        if rng.random() < 0.05:
            return low  # edge values: 0 pupils, rank 1, ...
        if item["type"] == "integer":
            return rng.randint(low, high)
        return round(rng.uniform(low, high), rng.choice([0, 1, 2]))

    def random_submission(self, unit, rng):
        allowed = self.allowed_elements(unit)
        chosen = rng.sample(allowed, rng.randint(1, len(allowed)))
        return {element: self.random_value(element, rng) for element in chosen}

    def apply(self, entry_id, unit, period, values):
        key = parse_entry_id(entry_id)
        cells = self.cells.setdefault((self.units[unit]["district"], period), {})
        for element, value in values.items():
            number = float(value) if not isinstance(value, bool) else (1.0 if value else 0.0)
            old = cells.get((unit, element))
            if old is None or key > old[0]:
                cells[(unit, element)] = (key, number)

    def apply_all(self, accepted):
        """accepted: [(entry id, unit, period, values)] in any order."""
        for entry_id, unit, period, values in sorted(accepted,
                                                     key=lambda a: parse_entry_id(a[0])):
            self.apply(entry_id, unit, period, values)

    # -- expectations --

    def _counts(self, indicator, unit, element):
        item, info = self.elements[element], self.units[unit]
        if info["stage"] not in item["stages"]:
            return False
        return item.get("reporter") == "office" or self._admits(indicator, unit)

    def _admits(self, indicator, unit):
        flt, info = indicator.get("filter", {}), self.units[unit]
        return (info["stage"] in flt.get("stages", [info["stage"]]) and
                info["ownership"] in flt.get("ownership", [info["ownership"]]))

    def indicator(self, district, period, indicator_id):
        """-> dict with value, numerator/denominator (when defined), schools_*."""
        ind = self.indicators[indicator_id]
        cells = self.cells.get((district, period), {})
        units = sorted(u for u, info in self.units.items() if info["district"] == district)
        elements = [ind[name] for name in ("element", "numerator", "denominator", "weight")
                    if name in ind]
        result = {"value": None, "schools_reporting": 0, "schools_expected": 0}
        for unit in units:
            counted = [e for e in elements if self._counts(ind, unit, e)]
            if counted:
                result["schools_expected"] += 1
                if all((unit, e) in cells for e in counted):
                    result["schools_reporting"] += 1

        def total(element):
            values = [cells[(u, element)][1] for u in units
                      if (u, element) in cells and self._counts(ind, u, element)]
            acc = 0.0
            for value in values:
                acc += value
            return (acc if values else None)

        kind = ind["kind"]
        factor = ind.get("factor", 1)
        if kind == "sum":
            result["value"] = total(ind["element"])
        elif kind == "ratio":
            num, den = total(ind["numerator"]), total(ind["denominator"])
            if num is not None and den is not None:
                result["numerator"], result["denominator"] = num, den
                if den != 0:
                    result["value"] = factor * num / den
        elif kind == "coverage":
            op, threshold = ind["condition"]["op"], ind["condition"]["value"]
            counted = [u for u in units if self._counts(ind, u, ind["element"])]
            reported = [u for u in counted if (u, ind["element"]) in cells]
            if reported and result["schools_expected"]:
                satisfying = sum(1 for u in reported
                                 if OPS[op](cells[(u, ind["element"])][1], threshold))
                result["numerator"] = satisfying
                result["denominator"] = result["schools_expected"]
                result["value"] = 100.0 * satisfying / result["schools_expected"]
        elif kind == "latest":
            for unit in units:
                if self.units[unit]["stage"] == "office" and (unit, ind["element"]) in cells:
                    result["value"] = cells[(unit, ind["element"])][1]
                    break
        elif kind == "cv":
            xs, ws = [], []
            for unit in units:
                if not self._admits(ind, unit):
                    continue
                keys = [(unit, ind[n]) for n in ("numerator", "denominator", "weight")]
                if not all(k in cells for k in keys):
                    continue
                num, den, weight = (cells[k][1] for k in keys)
                if den <= 0:
                    continue
                xs.append(factor * num / den)
                ws.append(weight)
            weight_sum = sum(ws)
            if xs and weight_sum > 0:
                mean = sum(w * x for w, x in zip(ws, xs)) / weight_sum
                if mean != 0:
                    sd = math.sqrt(sum(w * (x - mean) ** 2 for w, x in zip(ws, xs)) / weight_sum)
                    result["value"] = sd / mean
        return result

    def completeness(self, district, period):
        cells = self.cells.get((district, period), {})
        units = [u for u, info in self.units.items() if info["district"] == district]
        return {"expected": len(units),
                "reported": len({u for (u, _) in cells if u in units})}

    def periods(self, district):
        return sorted(p for (d, p) in self.cells if d == district)

    def check_snapshot(self, snapshot, district, period):
        """Compares one snapshot with the model; raises Failure naming the first mismatch."""
        where = "%s/%s" % (district, period)
        expect_eq(snapshot["completeness"], self.completeness(district, period),
                  where + " completeness")
        expect_eq([item["id"] for item in snapshot["indicators"]], self.targets[district],
                  where + " indicators")
        for item in snapshot["indicators"]:
            want = self.indicator(district, period, item["id"])
            what = "%s %s" % (where, item["id"])
            for name in ("schools_reporting", "schools_expected"):
                expect_eq(item.get(name), want[name], what + " " + name)
            for name in ("value", "numerator", "denominator"):
                if name not in want:
                    check(name not in item or name == "value",
                          "%s: %s present (%r) where the model has none" % (
                              what, name, item.get(name)))
                    continue
                if want[name] is None:
                    expect_eq(item.get(name), None, what + " " + name)
                else:
                    expect_close(item.get(name), want[name], what + " " + name, rel=1e-9,
                                 abs_tol=1e-9)


def random_population(model, rng, counts):
    """Registers units: counts = {district: n}; each district gets one office and n-1
    kindergarten/primary/junior units of random ownership. Returns [(unit, district, stage,
    ownership)]."""
    units = []
    for district, n in counts.items():
        prefix = district.split("-")[0][:1]
        units.append(("%s-office" % prefix, district, "office", "public"))
        for index in range(n - 1):
            stage = rng.choice(["kindergarten", "primary", "primary", "junior"])
            ownership = rng.choice(["public", "public", "private"])
            units.append(("%s-%s-%02d" % (prefix, stage[:2], index), district, stage, ownership))
    for unit, district, stage, ownership in units:
        model.register(unit, district, stage, ownership)
    return units


def new_rng(name):
    seed = int(os.environ.get("EDUMON_TEST_SEED", random.SystemRandom().randrange(1 << 30)))
    print("%s: random seed %d (set EDUMON_TEST_SEED to replay)" % (name, seed), flush=True)
    return random.Random(seed)
