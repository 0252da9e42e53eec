#!/usr/bin/env python3
"""edubench.py -- the Python half of the benchmark harness (bench/run.sh drives it).

Standard library only. Subcommands (each prints what run.sh needs on stdout):

  register      register reporting units of some districts through POST /v1/schools and
                write "school district stage token" lines (optionally submit figures too)
  intake-lua    a Lua table of ready submissions (token + body) for bench/wrk/submit.lua
  xadd-args     the field/value pairs of a stream entry comparable to an API submission
                (one per line, for redis-benchmark's XADD baseline)
  preload       XADD N submissions straight into the stream (pipelined, worker stopped)
  drain-wait    wait until the consumer group has nothing pending and no lag; print seconds
  freshness     steady submissions/s through the API; time from 202 to "applied"
  synth-catalog a catalog with N synthetic districts (national round)
  national-plan the registration list of the national round
  national-order the submission order of the national round (round-robin over districts)
  elements-lua  per-stage element lists for bench/wrk/national.lua
  snapshot-info check a stored snapshot (indicators with data) and save its bytes
  redis-info    used_memory and friends
  rss           VmHWM/VmRSS of pids

A stream entry written by `preload` has exactly the fields edumon-api writes (type, district,
school, period, by, received, body), so the worker cannot tell it from a real submission.
"""

import argparse
import asyncio
import glob
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import sys
import time
import urllib.parse

STREAM = "edumon:submissions"
GROUP = "edumon-workers"
STAGES = ["kindergarten", "primary", "junior", "senior", "vocational", "special", "office"]
STAGE_LETTER = {"kindergarten": "k", "primary": "p", "junior": "j", "senior": "s",
                "vocational": "v", "special": "x", "office": "o"}

# A county's reporting units (about 118, like the contract's example): stage, ownership, count.
DISTRICT_MIX = [("office", "public", 1),
                ("kindergarten", "public", 28), ("kindergarten", "private", 12),
                ("primary", "public", 34), ("primary", "private", 4),
                ("junior", "public", 18), ("junior", "private", 2),
                ("senior", "public", 11), ("vocational", "public", 4),
                ("special", "public", 4)]


def die(message):
    print("edubench: " + message, file=sys.stderr)
    sys.exit(1)


# ---- a minimal RESP client -------------------------------------------------------------------

class Redis:
    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            if not isinstance(arg, bytes):
                arg = str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(out)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("Redis closed the connection")
        self.buffer += chunk

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            while len(self.buffer) < length + 2:
                self._fill()
            data, self.buffer = self.buffer[:length], self.buffer[length + 2:]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.read() for _ in range(count)]
        raise RuntimeError("bad RESP line %r" % line)

    def command(self, *args):
        self.sock.sendall(self.encode(*args))
        reply = self.read()
        if isinstance(reply, RuntimeError):
            raise reply
        return reply

    def pipeline(self, commands):
        """Sends every command, then reads every reply. Returns the replies."""
        self.sock.sendall(b"".join(self.encode(*c) for c in commands))
        return [self.read() for _ in commands]


def as_dict(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


# ---- the catalog and figures ----------------------------------------------------------------

def load_elements(catalog_dir):
    with open(os.path.join(catalog_dir, "elements.json"), encoding="utf-8") as f:
        return json.load(f)["elements"]


def elements_by_stage(elements):
    table = {stage: [] for stage in STAGES}
    for element in elements:
        for stage in element["stages"]:
            table[stage].append(element)
    return table


def figure(element, rng):
    """A value inside the element's typical range (its bounds when it has none)."""
    low, high = element.get("typical", [element.get("min", 0), element.get("max", 1)])
    if element["type"] == "boolean":
        return rng.random() < (low + high) / 2
    if element["type"] == "integer":
        low, high = int(max(low, element["min"])), int(min(high, element["max"]))
        return rng.randint(low, max(low, high))
    value = round(rng.uniform(low, high), 1)
    return min(max(value, element["min"]), element["max"])


def body_for(school, stage, period, table, rng, count):
    allowed = table[stage]
    chosen = allowed if count <= 0 or count >= len(allowed) else rng.sample(allowed, count)
    values = {e["id"]: figure(e, rng) for e in chosen}
    return json.dumps({"school": school, "period": str(period), "values": values},
                      ensure_ascii=False, separators=(",", ":"))


# ---- HTTP -------------------------------------------------------------------------------------

class Api:
    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.connection = None

    def request(self, method, path, body=None, token=None, headers=None):
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = "Bearer " + token
        if body is not None:
            all_headers["Content-Type"] = "application/json"
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body, ensure_ascii=False)
            if isinstance(body, str):
                body = body.encode()
        for attempt in range(3):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.connection = None
                if attempt == 2:
                    raise
                time.sleep(0.1)


# ---- register ---------------------------------------------------------------------------------

def district_units(district, index, scale=1.0):
    prefix = "d%02d" % index
    units = []
    for stage, ownership, count in DISTRICT_MIX:
        n = max(1, round(count * scale)) if stage != "office" else 1
        for k in range(n):
            units.append(("%s-%s%s%03d" % (prefix, STAGE_LETTER[stage], ownership[:2], k + 1),
                          stage, ownership))
    return units


def cmd_register(args):
    api = Api(args.api)
    rng = random.Random(args.seed)
    table = elements_by_stage(load_elements(args.catalog))
    districts = args.districts.split(",")
    lines = []
    for index, district in enumerate(districts):
        for school, stage, ownership in district_units(district, index, args.scale):
            status, _, body = api.request(
                "POST", "/v1/schools",
                {"id": school, "name": "基准学校 " + school, "district": district,
                 "stage": stage, "ownership": ownership}, token=args.admin)
            if status != 201:
                die("POST /v1/schools %s -> %d %s" % (school, status, body[:300]))
            token = json.loads(body)["token"]
            lines.append((school, district, stage, token))
    submitted = 0
    for period in [p for p in args.submit_periods.split(",") if p]:
        for school, district, stage, token in lines:
            body = body_for(school, stage, period, table, rng, 0)
            status, _, reply = api.request("POST", "/v1/submissions", body, token=token)
            if status != 202:
                die("POST /v1/submissions %s -> %d %s" % (school, status, reply[:300]))
            submitted += 1
    with open(args.out, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(" ".join(line) + "\n")
    print("registered=%d submitted=%d" % (len(lines), submitted))


def read_units(path):
    units = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            school, district, stage, token = line.split()
            units.append((school, district, stage, token))
    return units


def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def cmd_intake_lua(args):
    rng = random.Random(args.seed)
    table = elements_by_stage(load_elements(args.catalog))
    units = read_units(args.units)[: args.schools]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("return {\n")
        for school, _, stage, token in units:
            body = body_for(school, stage, args.period, table, rng, args.values)
            f.write("{token=%s, body=%s},\n" % (lua_string(token), lua_string(body)))
        f.write("}\n")
    print("schools=%d" % len(units))


def comparable_entry(args):
    rng = random.Random(args.seed)
    table = elements_by_stage(load_elements(args.catalog))
    school = "d00-ppu001"
    body = body_for(school, "primary", args.period, table, rng, args.values)
    return ["type", "submission", "district", "yinchuan-xingqing", "school", school,
            "period", str(args.period), "by", school, "received", str(int(time.time() * 1000)),
            "body", body]


def cmd_xadd_args(args):
    for item in comparable_entry(args):
        print(item)


# ---- preload and drain --------------------------------------------------------------------

def cmd_preload(args):
    rng = random.Random(args.seed)
    table = elements_by_stage(load_elements(args.catalog))
    units = read_units(args.units)
    redis = Redis(args.redis_port)
    chunk, written, values = [], 0, 0
    for _ in range(args.count):
        school, district, stage, _ = units[rng.randrange(len(units))]
        body = body_for(school, stage, args.period, table, rng, args.values)
        values += len(json.loads(body)["values"])
        chunk.append(("XADD", STREAM, "*", "type", "submission", "district", district,
                      "school", school, "period", str(args.period), "by", school,
                      "received", str(int(time.time() * 1000)), "body", body))
        if len(chunk) == 1000:
            written += sum(1 for r in redis.pipeline(chunk) if isinstance(r, str))
            chunk = []
    if chunk:
        written += sum(1 for r in redis.pipeline(chunk) if isinstance(r, str))
    if written != args.count:
        die("preload: %d of %d XADDs succeeded" % (written, args.count))
    print("entries=%d values=%d" % (written, values))


def group_state(redis):
    groups = redis.command("XINFO", "GROUPS", STREAM)
    for group in groups:
        info = as_dict(group)
        if info.get("name") == GROUP:
            return info
    return None


def cmd_drain_wait(args):
    """Polls until the group has been handed the stream's last entry and has nothing pending
    (every batch is acknowledged only after its snapshots are stored). Prints seconds since
    --since (a time.time() value)."""
    redis = Redis(args.redis_port)
    deadline = time.time() + args.timeout
    info = None
    while time.time() < deadline:
        info = group_state(redis)
        if info is not None:
            last = as_dict(redis.command("XINFO", "STREAM", STREAM))["last-generated-id"]
            if info.get("pending") == 0 and info.get("last-delivered-id") == last:
                now = time.time()
                print("seconds=%.3f entries_read=%s" % (now - args.since, info.get("entries-read")))
                return
        time.sleep(args.poll)
    die("drain-wait: the stream was not drained within %d s (group %r)" % (args.timeout, info))


# ---- freshness ----------------------------------------------------------------------------------

def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


async def fresh_run(args):
    rng = random.Random(args.seed)
    table = elements_by_stage(load_elements(args.catalog))
    units = read_units(args.units)
    parsed = urllib.parse.urlparse(args.api)
    accepted = {}   # entry id -> monotonic time of the 202
    applied = {}    # entry id -> monotonic time the worker marked it applied
    sent_at = {}
    errors = {"status": 0, "io": 0}
    versions = [0]
    stop = asyncio.Event()

    # The worker sets edumon:status:<id> to "applied" right after it stored (and published)
    # every snapshot of the batch, and before XACK: keyevent notifications of those SETs time
    # the moment the submission is in a stored snapshot version (an upper bound within the
    # few commands between STORE and SET of one pipeline).
    control = Redis(args.redis_port)
    control.command("CONFIG", "SET", "notify-keyspace-events", "E$")
    reader, writer = await asyncio.open_connection("127.0.0.1", args.redis_port)
    writer.write(Redis.encode("SUBSCRIBE", "__keyevent@0__:set", "edumon:snapshots"))
    await writer.drain()

    async def read_resp():
        line = await reader.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"*":
            return [await read_resp() for _ in range(int(rest))]
        if kind == b"$":
            data = await reader.readexactly(int(rest) + 2)
            return data[:-2].decode()
        if kind == b":":
            return int(rest)
        return rest.decode()

    async def listen():
        prefix = "edumon:status:"
        while True:
            message = await read_resp()
            now = time.monotonic()
            if not isinstance(message, list) or message[0] != "message":
                continue
            if message[1] == "edumon:snapshots":
                versions[0] += 1
            elif message[2].startswith(prefix):
                applied.setdefault(message[2][len(prefix):], now)

    listener = asyncio.ensure_future(listen())
    await asyncio.sleep(0.2)

    bodies = []
    for _ in range(min(4000, args.rate * 4)):
        school, _, stage, token = units[rng.randrange(len(units))]
        body = body_for(school, stage, args.period, table, rng, args.values).encode()
        request = (b"POST /v1/submissions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                   % (parsed.netloc.encode(), token.encode(), len(body), body))
        bodies.append(request)

    start = time.monotonic()
    total = int(args.rate * args.seconds)
    slot = [0]

    async def connection():
        r, w = await asyncio.open_connection(parsed.hostname, parsed.port)
        while not stop.is_set():
            k = slot[0]
            if k >= total:
                break
            slot[0] += 1
            due = start + k / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.monotonic()
            try:
                w.write(bodies[k % len(bodies)])
                head = await r.readuntil(b"\r\n\r\n")
                length = 0
                for header in head.split(b"\r\n"):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                payload = await r.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                errors["io"] += 1
                return
            now = time.monotonic()
            if head.startswith(b"HTTP/1.1 202"):
                entry = json.loads(payload)["id"]
                accepted[entry] = now
                sent_at[entry] = sent
            else:
                errors["status"] += 1
        w.close()

    tasks = [asyncio.ensure_future(connection()) for _ in range(args.connections)]
    await asyncio.gather(*tasks)
    sending = time.monotonic() - start
    # Let the worker catch up with the last ones.
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and any(e not in applied for e in accepted):
        await asyncio.sleep(0.05)
    listener.cancel()
    writer.close()
    control.command("CONFIG", "SET", "notify-keyspace-events", "")

    lags = sorted(max(0.0, applied[e] - accepted[e]) for e in accepted if e in applied)
    missing = sum(1 for e in accepted if e not in applied)
    rate = len(accepted) / sending if sending > 0 else 0
    print("accepted=%d rate=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f missing=%d "
          "errors_status=%d errors_io=%d snapshot_versions=%d seconds=%.2f"
          % (len(accepted), rate, 1000 * percentile(lags, 0.50), 1000 * percentile(lags, 0.99),
             1000 * (lags[-1] if lags else float("nan")), missing, errors["status"],
             errors["io"], versions[0], sending))


def cmd_freshness(args):
    asyncio.run(fresh_run(args))


# ---- national round ---------------------------------------------------------------------------

def cmd_synth_catalog(args):
    """Copies elements/indicators/balance and writes N district files cloned from the seed
    districts in turn (ids nat-0000 …; targets and plans as in the seed)."""
    os.makedirs(os.path.join(args.out, "districts"), exist_ok=True)
    for name in ("elements.json", "indicators.json", "balance.json"):
        source = os.path.join(args.source, name)
        if os.path.exists(source):
            shutil.copy(source, os.path.join(args.out, name))
    templates = []
    for path in sorted(glob.glob(os.path.join(args.source, "districts", "*.json"))):
        with open(path, encoding="utf-8") as f:
            templates.append(json.load(f))
    if not templates:
        die("no district files in %s" % args.source)
    for i in range(args.districts):
        district = json.loads(json.dumps(templates[i % len(templates)]))
        district["id"] = "nat-%04d" % i
        district["name"] = "%s(合成%d)" % (district["name"], i)
        district["name_en"] = "%s (synthetic %d)" % (district.get("name_en", ""), i)
        with open(os.path.join(args.out, "districts", district["id"] + ".json"), "w",
                  encoding="utf-8") as f:
            json.dump(district, f, ensure_ascii=False)
    print("districts=%d" % args.districts)


def national_stages(count, rng):
    """Stages of a district's `count` units: one office, the rest in a county's proportions
    (stages that report at least 30 elements, so every unit sends 30 figures)."""
    mix = [("kindergarten", 0.34), ("primary", 0.36), ("junior", 0.19), ("senior", 0.11)]
    stages = ["office"]
    for stage, share in mix:
        stages += [stage] * int(round((count - 1) * share))
    while len(stages) < count:
        stages.append("primary")
    return stages[:count]


def cmd_national_plan(args):
    rng = random.Random(args.seed)
    per, extra = divmod(args.schools, args.districts)
    written = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for d in range(args.districts):
            count = per + (1 if d < extra else 0)
            for n, stage in enumerate(national_stages(count, rng)):
                ownership = "private" if stage == "kindergarten" and n % 3 == 0 else "public"
                f.write("n%04d-%s%04d nat-%04d %s %s\n"
                        % (d, STAGE_LETTER[stage], n, d, stage, ownership))
                written += 1
    print("schools=%d" % written)


def cmd_national_order(args):
    """Tokens in registration order (district by district) -> submissions round-robin over
    districts, as a national round arrives: every batch the worker reads spans many
    districts."""
    by_district = {}
    order = []
    with open(args.tokens, encoding="utf-8") as f:
        for line in f:
            school, token = line.split()
            district = school.split("-")[0]
            if district not in by_district:
                by_district[district] = []
                order.append(district)
            by_district[district].append((school, token))
    queues = [by_district[d] for d in sorted(order)]
    written = 0
    with open(args.out, "w", encoding="utf-8") as f:
        position = 0
        while True:
            wrote = False
            for queue in queues:
                if position < len(queue):
                    school, token = queue[position]
                    f.write("%s %s\n" % (school, token))
                    written += 1
                    wrote = True
            if not wrote:
                break
            position += 1
    print("submissions=%d" % written)


def cmd_elements_lua(args):
    """For each stage letter, the first `values` elements it may report, with how to draw a
    value: {id, kind (0 integer, 1 number, 2 boolean), low, high}."""
    table = elements_by_stage(load_elements(args.catalog))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("return {\n")
        for stage, letter in STAGE_LETTER.items():
            f.write("  %s = {\n" % letter)
            for element in table[stage][: args.values]:
                low, high = element.get("typical", [element["min"], element["max"]])
                kind = {"integer": 0, "number": 1, "boolean": 2}[element["type"]]
                if kind == 0:
                    low, high = int(max(low, element["min"])), int(min(high, element["max"]))
                f.write("    {%s, %d, %r, %r},\n" % (lua_string(element["id"]), kind, low, high))
            f.write("  },\n")
        f.write("}\n")
    print("written")


# ---- checks and measurements ---------------------------------------------------------------

def cmd_snapshot_info(args):
    api = Api(args.api)
    status, headers, body = api.request("GET", args.path)
    if status != 200:
        die("GET %s -> %d %s" % (args.path, status, body[:300]))
    document = json.loads(body)
    indicators = document.get("indicators", [])
    with_data = sum(1 for i in indicators if i.get("value") is not None)
    with open(args.out, "wb") as f:
        f.write(body)
    print("etag=%s bytes=%d indicators=%d with_data=%d version=%s"
          % (headers.get("ETag", ""), len(body), len(indicators), with_data,
             document.get("version")))


def cmd_redis_info(args):
    redis = Redis(args.redis_port)
    info = {}
    for line in redis.command("INFO", "memory").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            info[key] = value
    keys = redis.command("DBSIZE")
    print("used_memory=%s used_memory_peak=%s keys=%d xlen=%d"
          % (info.get("used_memory"), info.get("used_memory_peak"), keys,
             redis.command("XLEN", STREAM)))


def key_kind(key):
    """edumon:{nat-0042}:cells:2024 -> edumon:{d}:cells:<p>; edumon:status:<id> -> ..."""
    parts = key.split(":")
    out = []
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            out.append("{d}")
        elif part.isdigit() or (part.replace("-", "").isdigit() and "-" in part):
            out.append("<n>")
        else:
            out.append(part)
    if len(out) >= 2 and out[1] in ("status", "idem"):
        out = out[:2] + ["<id>"]
    return ":".join(out)


def cmd_redis_memory(args):
    """Bytes per kind of key (MEMORY USAGE of every key, grouped by its pattern)."""
    redis = Redis(args.redis_port)
    totals, counts, cursor = {}, {}, "0"
    while True:
        cursor, keys = redis.command("SCAN", cursor, "COUNT", 2000)
        if keys:
            sizes = redis.pipeline([("MEMORY", "USAGE", k, "SAMPLES", "20") for k in keys])
            for key, size in zip(keys, sizes):
                kind = key_kind(key)
                totals[kind] = totals.get(kind, 0) + (size or 0)
                counts[kind] = counts.get(kind, 0) + 1
        if cursor == "0":
            break
    for kind in sorted(totals, key=totals.get, reverse=True)[:12]:
        print("kind=%s keys=%d mb=%.1f" % (kind, counts[kind], totals[kind] / 1048576))


def cmd_rss(args):
    for pid in args.pids:
        fields = {}
        try:
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    if line.startswith(("VmHWM", "VmRSS")):
                        key, value = line.split(":")
                        fields[key] = int(value.split()[0])
        except OSError:
            die("process %s is gone" % pid)
        print("pid=%s hwm_kb=%d rss_kb=%d" % (pid, fields.get("VmHWM", 0), fields.get("VmRSS", 0)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, *names):
        if "catalog" in names:
            p.add_argument("--catalog", required=True)
        if "redis" in names:
            p.add_argument("--redis-port", type=int, required=True)
        if "api" in names:
            p.add_argument("--api", required=True)
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--period", default="2024")
        p.add_argument("--values", type=int, default=30)

    p = sub.add_parser("register")
    common(p, "catalog", "api")
    p.add_argument("--admin", required=True)
    p.add_argument("--districts", required=True)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--submit-periods", default="")
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_register)

    p = sub.add_parser("intake-lua")
    common(p, "catalog")
    p.add_argument("--units", required=True)
    p.add_argument("--schools", type=int, default=200)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_intake_lua)

    p = sub.add_parser("xadd-args")
    common(p, "catalog")
    p.set_defaults(run=cmd_xadd_args)

    p = sub.add_parser("preload")
    common(p, "catalog", "redis")
    p.add_argument("--units", required=True)
    p.add_argument("--count", type=int, required=True)
    p.set_defaults(run=cmd_preload)

    p = sub.add_parser("drain-wait")
    common(p, "redis")
    p.add_argument("--since", type=float, required=True)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--poll", type=float, default=0.01)
    p.set_defaults(run=cmd_drain_wait)

    p = sub.add_parser("freshness")
    common(p, "catalog", "redis", "api")
    p.add_argument("--units", required=True)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--settle", type=float, default=10)
    p.set_defaults(run=cmd_freshness)

    p = sub.add_parser("synth-catalog")
    p.add_argument("--source", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--districts", type=int, required=True)
    p.set_defaults(run=cmd_synth_catalog)

    p = sub.add_parser("national-plan")
    p.add_argument("--districts", type=int, required=True)
    p.add_argument("--schools", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=cmd_national_plan)

    p = sub.add_parser("national-order")
    p.add_argument("--tokens", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_national_order)

    p = sub.add_parser("elements-lua")
    common(p, "catalog")
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_elements_lua)

    p = sub.add_parser("snapshot-info")
    common(p, "api")
    p.add_argument("--path", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_snapshot_info)

    p = sub.add_parser("redis-info")
    common(p, "redis")
    p.set_defaults(run=cmd_redis_info)

    p = sub.add_parser("redis-memory")
    common(p, "redis")
    p.set_defaults(run=cmd_redis_memory)

    p = sub.add_parser("rss")
    p.add_argument("pids", nargs="+")
    p.set_defaults(run=cmd_rss)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
