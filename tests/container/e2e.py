#!/usr/bin/env python3
"""End-to-end check of a running edumon API + worker (standard library only).

    e2e.py BASE_URL ADMIN_TOKEN [--timeout SECONDS]

Used by tests/container/run.sh against the API and workers started from the
container image, but it only speaks HTTP, so it works against any deployment
(compose, a port-forwarded Kubernetes Service). Steps, per the API contract:

  1. /healthz answers 200 and /readyz 200 (Redis reachable, catalog loaded).
  2. Pick a district and an indicator it tracks that primary schools' figures
     move: a `sum` over one figure, else a `ratio` of two.
  3. Register two primary schools with the admin token (POST /v1/schools); a
     wrong admin token must be refused.
  4. Each submits its figures with its own token (POST /v1/submissions -> 202).
  5. Poll the district snapshot until the indicator equals the value computed
     here from the figures (the contract's definition) with both schools
     reporting: the worker applied them.
  6. /metrics answers 200 in the Prometheus text format, and / the dashboard.

Prints one line per step; exits non-zero with the reason on the first failure.
"""

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.request

PERIOD = "2024"


class Failure(Exception):
    pass


class Client:
    def __init__(self, base, timeout=5.0):
        self.base = base.rstrip("/")
        self.timeout = timeout

    def request(self, method, path, body=None, token=None, headers=None):
        data = None
        hdrs = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()
        except (urllib.error.URLError, OSError) as e:
            raise Failure(f"{method} {path}: {e}") from e

    def json(self, method, path, expect, body=None, token=None):
        status, _, raw = self.request(method, path, body, token)
        if status not in ((expect,) if isinstance(expect, int) else expect):
            raise Failure(f"{method} {path}: status {status}, expected {expect}: {raw[:300]!r}")
        try:
            return json.loads(raw) if raw else None
        except ValueError as e:
            raise Failure(f"{method} {path}: body is not JSON: {raw[:200]!r}") from e


def items(doc, key):
    """A list answer, bare or wrapped as {key: [...]}."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get(key), list):
        return doc[key]
    raise Failure(f"unexpected shape for {key}: {str(doc)[:200]}")


def step(message):
    print(f"[e2e] {message}", flush=True)


def wait_ready(client, deadline):
    last = None
    while time.monotonic() < deadline:
        try:
            health, _, _ = client.request("GET", "/healthz")
            ready, _, body = client.request("GET", "/readyz")
            if health == 200 and ready == 200:
                return
            last = f"/healthz {health}, /readyz {ready} {body[:120]!r}"
        except Failure as e:
            last = str(e)
        time.sleep(0.5)
    raise Failure(f"API not ready in time: {last}")


def choose_indicator(client, only=None):
    """A district and an indicator that two primary schools can move, with the figures.

    Returns (district, indicator id, [values of school 1, values of school 2],
    formula for expected_value). Prefers a `sum` over one figure, else a `ratio`
    of two figures (factor x sum(num) / sum(den), per the contract), among the
    indicators the district tracks (its snapshot lists them)."""
    districts = [d["id"] for d in items(client.json("GET", "/v1/districts", 200), "districts")]
    if not districts:
        raise Failure("the catalog has no districts")
    elements = {e["id"]: e for e in items(client.json("GET", "/v1/elements", 200), "elements")}
    definitions = {i["id"]: i for i in items(client.json("GET", "/v1/indicators", 200), "indicators")}

    def primary_figure(element_id):
        element = elements.get(element_id, {})
        return (element.get("type") in ("integer", "number")
                and element.get("reporter", "school") == "school"
                and "primary" in (element.get("stages") or []))

    def admits_primary_public(ind):
        flt = ind.get("filter") or {}
        return ("primary" in flt.get("stages", ["primary"])
                and "public" in flt.get("ownership", ["public"]))

    def clamp(element_id, value):
        element = elements[element_id]
        return max(element.get("min", value), min(element.get("max", value), value))

    candidates = []
    for district in districts:
        snapshot = client.json("GET", f"/v1/districts/{district}/snapshot?period={PERIOD}", (200, 404))
        tracked = [i.get("id") for i in (snapshot or {}).get("indicators", [])]
        detail = client.json("GET", f"/v1/districts/{district}", 200) or {}
        for entry in detail.get("indicators", []) + detail.get("targets", []):
            tracked.append(entry.get("id") or entry.get("indicator") if isinstance(entry, dict) else entry)
        for ind_id in dict.fromkeys(t for t in tracked if t):
            if only and ind_id != only:
                continue
            ind = definitions.get(ind_id, {})
            if not admits_primary_public(ind):
                continue
            if ind.get("kind") == "sum" and primary_figure(ind.get("element")):
                e = ind["element"]
                figures = [{e: clamp(e, 30)}, {e: clamp(e, 12)}]
                candidates.append((0, district, ind_id, figures, ("sum", e, None, 1)))
            elif (ind.get("kind") == "ratio" and primary_figure(ind.get("numerator"))
                  and primary_figure(ind.get("denominator"))
                  and ind.get("numerator") != ind.get("denominator")):
                num, den = ind["numerator"], ind["denominator"]
                figures = [{num: clamp(num, 30), den: clamp(den, 40)},
                           {num: clamp(num, 12), den: clamp(den, 20)}]
                candidates.append((1, district, ind_id, figures, ("ratio", num, den, ind.get("factor", 1))))
    if not candidates:
        raise Failure("no district tracks a sum or ratio indicator over figures primary schools report")
    _, district, indicator, figures, formula = sorted(candidates, key=lambda c: c[:3])[0]
    return district, indicator, figures, formula


def expected_value(formula, figures, before):
    """The indicator after our figures, from its state before them (a reused
    Redis may hold other schools' figures already)."""
    kind, first, second, factor = formula
    if kind == "sum":
        return ((before or {}).get("value") or 0) + sum(f[first] for f in figures)
    numerator = ((before or {}).get("numerator") or 0) + sum(f[first] for f in figures)
    denominator = ((before or {}).get("denominator") or 0) + sum(f[second] for f in figures)
    return factor * numerator / denominator


def find_indicator(snapshot, indicator):
    for ind in snapshot.get("indicators", []):
        if ind.get("id") == indicator:
            return ind
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("admin_token")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for readiness and for the snapshot")
    parser.add_argument("--indicator", help="use this indicator (default: the first suitable one)")
    opts = parser.parse_args()
    client = Client(opts.base)

    try:
        wait_ready(client, time.monotonic() + opts.timeout)
        step("/healthz 200, /readyz 200")

        district, indicator, figures, formula = choose_indicator(client, opts.indicator)
        before = client.json("GET", f"/v1/districts/{district}/snapshot?period={PERIOD}", (200, 404))
        before_version = (before or {}).get("version", 0) or 0
        before_indicator = find_indicator(before or {}, indicator) or {}
        before_reporting = before_indicator.get("schools_reporting") or 0
        expected = expected_value(formula, figures, before_indicator)
        step(f"district {district}, indicator {indicator}: figures {figures} should make it {expected:g}")

        run = secrets.token_hex(3)
        schools = []
        for n, values in enumerate(figures, 1):
            school_id = f"e2e-{run}-{n}"
            created = client.json("POST", "/v1/schools", 201, token=opts.admin_token, body={
                "id": school_id, "name": f"容器测试学校 {n}", "district": district,
                "stage": "primary", "ownership": "public"})
            if not created or not created.get("token"):
                raise Failure(f"POST /v1/schools gave no token: {created}")
            schools.append((school_id, created["token"], values))
        step(f"registered {', '.join(s for s, _, _ in schools)}")

        status, _, _ = client.request("POST", "/v1/schools", token="wrong-token", body={
            "id": f"e2e-{run}-x", "name": "x", "district": district, "stage": "primary", "ownership": "public"})
        if status not in (401, 403):
            raise Failure(f"POST /v1/schools with a wrong admin token answered {status}")

        for school_id, token, values in schools:
            accepted = client.json("POST", "/v1/submissions", 202, token=token, body={
                "school": school_id, "period": PERIOD, "values": values})
            if accepted.get("accepted") != len(values):
                raise Failure(f"submission of {school_id}: {accepted}")
        step("submitted both schools' figures (202 Accepted)")

        deadline = time.monotonic() + opts.timeout
        seen = None
        while time.monotonic() < deadline:
            snap = client.json("GET", f"/v1/districts/{district}/snapshot?period={PERIOD}", (200, 404))
            ind = find_indicator(snap or {}, indicator)
            if ind is not None:
                seen = ind
                value = ind.get("value")
                if (isinstance(value, (int, float)) and abs(value - expected) <= 1e-9 * max(1.0, abs(expected))
                        and (ind.get("schools_reporting") or 0) >= before_reporting + 2
                        and (snap.get("version") or 0) > before_version):
                    step(f"snapshot v{snap.get('version')}: {indicator} = {value!r} "
                         f"({ind.get('schools_reporting')} schools reporting)")
                    break
            time.sleep(0.5)
        else:
            raise Failure(f"snapshot did not show {indicator} = {expected!r} within {opts.timeout:g} s: "
                          f"{json.dumps(seen, ensure_ascii=False)[:300]}")

        status, headers, raw = client.request("GET", "/metrics", headers={"Accept": "text/plain"})
        text = raw.decode("utf-8", "replace")
        if status != 200 or "# TYPE" not in text:
            raise Failure(f"/metrics: status {status}, no '# TYPE' line: {text[:200]!r}")
        metric_lines = [l for l in text.splitlines() if l and not l.startswith("#")]
        step(f"/metrics 200, {len(metric_lines)} samples")

        # The dashboard, served from EDUMON_WEB_DIR (the image's web files).
        status, headers, raw = client.request("GET", "/", headers={"Accept": "text/html"})
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if status != 200 or "html" not in ctype:
            raise Failure(f"GET /: status {status}, Content-Type {ctype!r}: the dashboard is not served")
        step(f"GET / 200 {ctype} ({len(raw)} bytes): the dashboard")
    except Failure as e:
        print(f"[e2e] FAIL {e}", flush=True)
        return 1
    print("[e2e] ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
