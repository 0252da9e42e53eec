#!/usr/bin/env python3
"""test_faults.py -- faults against real processes while submissions stream in.

Standalone (python3 standard library only). Starts its own redis-server (append-only file,
appendfsync always, in a temp dir) on a free port, one edumon-api and two edumon-workers
from EDUMON_BIN_DIR (default <source>/build/bin) with the shipped catalog, and registers
four primary schools and the district office of yinchuan-xingqing.

Submitter threads (one per unit, so that submissions to the same cell are strictly ordered:
a unit sends its next submission only once the previous one got its answer) stream
submissions for the periods 2023 and 2024. Every submission carries a unique tag, the value
of its `students` element (schools) or `school_places_added` (office), so its stream entry
can be found. Meanwhile the test injects, in order:

  (a) kill -9 of a worker at random moments (sometimes frozen with SIGSTOP first, so it dies
      holding entries it has read but not acknowledged), restarted at once under a new
      consumer name (EDUMON_CLAIM_IDLE_MS=1000 lets the others claim its entries), >= 10 times;
  (b) kill -9 of the API mid-stream, restarted;
  (c) Redis restarted mid-stream: once with SIGTERM, once with SIGKILL (AOF, fsync always);
  (d) Redis frozen with SIGSTOP for 3 s, then SIGCONT: submissions must get 503 with
      Retry-After within 1.5 s (outcome_unknown for those already sent when Redis froze,
      unavailable for those sent once the API has noticed), and /readyz must say not ready;
  (e) the API's connection to Redis cut just after a SUBMIT reached Redis (the API talks to
      Redis through a small TCP proxy in this test, which forwards the SUBMIT, swallows the
      reply and closes): a network failure at the worst moment. Whatever the API answers
      then, the "non-202 leaves no trace" rule below must hold.
  (f) the reply to a SUBMIT held back with the connection open (Redis ran the script and then
      froze before answering): the API must answer 503 outcome_unknown, never "unavailable"
      (which promises nothing was written), and the entry is in the stream;

Afterwards, once the stream is drained, it checks against an independent model:
  * every 202 has exactly one stream entry with its tag, with the id the 202 gave, and the
    status `applied`; nothing was dead-lettered;
  * every non-202 answer (which must be a 503) and every refused connection left no trace:
    no stream entry carries its tag; an outcome the client could not learn (connection cut
    mid-request, or a 503 whose code is outcome_unknown: the API sent the SUBMIT and Redis
    froze before answering, so the API cannot know either) is resolved by looking in the
    stream (0 or 1 entry; then it counts as accepted in its place in the unit's order);
  * every cell of every unit in Redis (edumon:{district}:cells:<period>, field
    "<school>/<element>" -> "<entry id> <value>") holds exactly the last accepted value and
    its entry id, and no other cells exist for these units;
  * sum indicators show no double counting: students_total (Σ students over schools, from
    the stored snapshot's values) and new_school_places (the office's figure, from
    GET /v1/districts/.../snapshot) equal the model's.

Prints the fault runs and the submissions checked. Exit status 0 when everything held.
Environment: EDUMON_BIN_DIR; FAULT_SEED (random seed); FAULT_KEEP=1 keeps the temp dir.
"""

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
BIN_DIR = os.environ.get("EDUMON_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
CATALOG = os.path.join(SOURCE_DIR, "deploy", "catalog")
ADMIN_TOKEN = "fault-admin-token-0123456789abcdef"
DISTRICT = "yinchuan-xingqing"
STREAM = "edumon:submissions"
GROUP = "edumon-workers"
PERIODS = ("2023", "2024")
WORKER_KILLS = 12
API_KILLS = 3
REDIS_FREEZES = 2
CONNECTION_CUTS = 2
REPLY_HOLDS = 2
FREEZE_SECONDS = 3.0
UNAVAILABLE_WITHIN = 1.5
DETECTED_WITHIN = 1.3  # the API's 1 s command deadline, and slack


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Failure(AssertionError):
    pass


# ---- Redis (RESP2, just enough) ----------------------------------------------------------------

def redis_call(port, *args, timeout=10.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        payload = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            payload.append(b"$%d\r\n%s\r\n" % (len(data), data))
        sock.sendall(b"".join(payload))
        return _resp(sock.makefile("rb"))


def _resp(reader):
    line = reader.readline()
    if not line:
        raise ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("Redis error: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        return None if length < 0 else reader.read(length + 2)[:-2].decode("utf-8", "replace")
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_resp(reader) for _ in range(count)]
    raise RuntimeError("unexpected RESP %r" % line)


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2])) if flat else {}


# ---- a TCP proxy between the API and Redis, to cut the connection at the worst moment --------

class Proxy(threading.Thread):
    """Forwards connections to Redis. When `cut` is set, the next chunk from the API that
    carries a SUBMIT (an EVAL/EVALSHA naming the submission stream) is forwarded, Redis's
    answer is swallowed, and the connection is closed 0.3 s later: Redis has executed the
    script, the API never hears back."""

    def __init__(self, upstream_port):
        super().__init__(daemon=True)
        self.upstream_port = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.cut_times = []
        self.hold = threading.Event()
        self.held = []  # (time, [tags of the submissions in the chunk whose replies were held])

    def run(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=1)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        state = {"swallow": False}

        def close_both():
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

        def downstream():
            try:
                while True:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    if not state["swallow"]:
                        client.sendall(data)
            except OSError:
                pass
            if not state["swallow"]:
                close_both()
        threading.Thread(target=downstream, daemon=True).start()
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if self.hold.is_set() and b"EVAL" in data and STREAM.encode() in data:
                    # Redis runs it; its answer never comes back, the connection stays open
                    # (a Redis that froze right after running the script).
                    self.hold.clear()
                    state["swallow"] = True
                    upstream.sendall(data)
                    tags = [int(tag) for tag in re.findall(
                        rb'\\?"(?:students|school_places_added)\\?":\s*(\d+)', data)]
                    self.held.append((time.monotonic(), tags))
                    continue
                if self.cut.is_set() and b"EVAL" in data and STREAM.encode() in data:
                    self.cut.clear()
                    state["swallow"] = True
                    upstream.sendall(data)
                    self.cut_times.append(time.monotonic())
                    time.sleep(0.3)
                    break
                upstream.sendall(data)
        except OSError:
            pass
        close_both()


# ---- processes ----------------------------------------------------------------------------------

class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="edumon-fault-")
        self.redis_port = free_port()
        self.api_port = free_port()
        self.redis = None
        self.api = None
        self.workers = []
        self.serial = 0
        self.all = []
        self.proxy = None

    def spawn(self, name, argv, env):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        log.write(("---- %.3f start %s\n" % (time.time(), " ".join(argv))).encode())
        log.flush()
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        process.name = name
        self.all.append(process)
        return process

    def env(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith("EDUMON_")}
        env.update({
            "EDUMON_REDIS_URL": "redis://127.0.0.1:%d/0" % self.redis_port,
            "EDUMON_LISTEN": "127.0.0.1:%d" % self.api_port,
            "EDUMON_CATALOG": CATALOG,
            "EDUMON_ADMIN_TOKEN": ADMIN_TOKEN,
            "EDUMON_RATE_LIMIT": "0",
            "EDUMON_CLAIM_IDLE_MS": "1000",
            "EDUMON_MAX_DELIVERIES": "5",
            # Entries are looked up afterwards: nothing may be trimmed during the run.
            "EDUMON_STREAM_RETENTION_HOURS": "87600",
            "EDUMON_LOG_LEVEL": "info",
        })
        return env

    def binary(self, name):
        path = os.path.join(BIN_DIR, name)
        if not os.access(path, os.X_OK):
            raise SystemExit("%s not found (EDUMON_BIN_DIR=%s)" % (path, BIN_DIR))
        return path

    def start_redis(self):
        self.redis = self.spawn("redis", [
            "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--dir", self.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--logfile", os.path.join(self.dir, "redis-server.log")], dict(os.environ))
        deadline = time.monotonic() + 20
        while True:
            try:
                if redis_call(self.redis_port, "PING", timeout=1) == "PONG":
                    return
            except (OSError, RuntimeError):
                pass  # also "LOADING" while the AOF is read
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise Failure("redis-server did not come back")
            time.sleep(0.02)

    def start_api(self):
        env = self.env()
        if self.proxy:
            env["EDUMON_REDIS_URL"] = "redis://127.0.0.1:%d/0" % self.proxy.port
        self.api = self.spawn("api", [self.binary("edumon-api")], env)
        return self.api

    def start_worker(self):
        self.serial += 1
        worker = self.spawn("worker%d" % self.serial, [self.binary("edumon-worker")], self.env())
        self.workers.append(worker)
        return worker

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.api.poll() is not None:
                raise Failure("edumon-api exited with %s" % self.api.returncode)
            try:
                status, _, _ = http_request(self.api_port, "GET", "/readyz", timeout=2)
                if status == 200:
                    return
                last = status
            except OSError as error:
                last = error
            time.sleep(0.05)
        raise Failure("/readyz not 200 within %.0f s (last %r)" % (timeout, last))

    def stop(self):
        for process in self.all:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
                if process.name == "api":
                    time.sleep(0.05)
                    process.send_signal(signal.SIGTERM)
        for process in self.all:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.dir, name), "rb") as handle:
                    out.append("---- %s\n%s" % (name, handle.read()[-1500:].decode("utf-8", "replace")))
        return "\n".join(out)


def http_request(port, method, path, body=None, token=None, timeout=5.0):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), payload
    finally:
        connection.close()


def error_code(payload):
    try:
        return json.loads(payload)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


# ---- submitters and the model -------------------------------------------------------------------

class Tags:
    def __init__(self):
        self.lock = threading.Lock()
        self.next = 1

    def take(self, limit):
        with self.lock:
            if self.next > limit:
                return None
            tag = self.next
            self.next += 1
            return tag


class Submission:
    def __init__(self, unit, period, values, tag):
        self.unit, self.period, self.values, self.tag = unit, period, values, tag
        self.outcome = None  # accepted | unavailable | refused | unknown | unexpected
        self.status = None
        self.entry_id = None
        self.detail = ""
        self.started = self.finished = 0.0


class Submitter(threading.Thread):
    def __init__(self, cluster, unit, token, office, tags, seed):
        super().__init__(daemon=True)
        self.cluster, self.unit, self.token, self.office = cluster, unit, token, office
        self.tags = tags
        self.rng = random.Random(seed)
        self.sent = []  # in order: submissions to one unit are strictly sequential
        self.stop_event = threading.Event()

    def values(self, tag):
        rng = self.rng
        if self.office:
            values = {"school_places_added": tag}
            if rng.random() < 0.5:
                values["rank_in_city"] = rng.randint(1, 50)
            return values
        values = {"students": tag}
        if rng.random() < 0.6:
            values["classes"] = rng.randint(0, 400)
        if rng.random() < 0.6:
            values["teaching_area_m2"] = round(rng.uniform(0, 200000), rng.choice([0, 1, 2, 3]))
        if rng.random() < 0.4:
            values["has_labour_base"] = rng.random() < 0.5
        return values

    def run(self):
        while not self.stop_event.is_set():
            tag = self.tags.take(20000)
            if tag is None:
                return
            period = self.rng.choice(PERIODS)
            submission = Submission(self.unit, period, self.values(tag), tag)
            self.sent.append(submission)
            body = {"school": self.unit, "period": period, "values": submission.values}
            submission.started = time.monotonic()
            try:
                status, headers, payload = http_request(self.cluster.api_port, "POST",
                                                        "/v1/submissions", body, self.token,
                                                        timeout=5)
            except ConnectionRefusedError:
                submission.outcome = "refused"  # nothing was sent at all
            except (OSError, http.client.HTTPException) as error:
                submission.outcome = "unknown"  # the answer was lost: resolved from the stream
                submission.detail = repr(error)
            else:
                submission.status = status
                if status == 202:
                    submission.outcome = "accepted"
                    submission.entry_id = json.loads(payload)["id"]
                elif status == 503 and headers.get("Retry-After") and \
                        error_code(payload) == "outcome_unknown":
                    # Sent to Redis, no answer (Redis froze after running it, or before):
                    # the API says it cannot know. Resolved from the stream like a lost answer.
                    submission.outcome = "unknown"
                    submission.detail = "503 outcome_unknown"
                elif status == 503 and headers.get("Retry-After"):
                    submission.outcome = "unavailable"  # "nothing was written": checked below
                else:
                    submission.outcome = "unexpected"
                    submission.detail = "HTTP %d %r %r" % (status, headers, payload[:200])
            submission.finished = time.monotonic()
            if submission.outcome in ("unknown", "refused"):
                # A SUBMIT the API sent just before it died is executed by Redis within its
                # 700 ms deadline or never: wait it out, so the unit's order stays known.
                time.sleep(1.0 if submission.outcome == "unknown" else 0.05)
            else:
                time.sleep(self.rng.uniform(0.005, 0.03))


# ---- faults -------------------------------------------------------------------------------------

class Faults:
    def __init__(self, cluster, rng):
        self.cluster, self.rng = cluster, rng
        self.runs = {"worker kill -9": 0, "api kill -9": 0, "redis restart (SIGTERM)": 0,
                     "redis restart (SIGKILL)": 0, "redis SIGSTOP 3 s": 0,
                     "api-redis connection cut after a SUBMIT": 0,
                     "reply held after a SUBMIT ran": 0}
        self.freezes = []  # (stopped_at, continued_at)
        self.readyz_during_freeze = []

    def cut_cause_times(self):
        return self.cluster.proxy.cut_times if self.cluster.proxy else []

    def kill_workers(self):
        for _ in range(WORKER_KILLS):
            time.sleep(self.rng.uniform(0.2, 1.2))
            live = [w for w in self.cluster.workers if w.poll() is None]
            victim = self.rng.choice(live)
            if self.rng.random() < 0.4:
                victim.send_signal(signal.SIGSTOP)  # freeze it wherever it is
                time.sleep(self.rng.uniform(0.05, 0.6))
            victim.kill()
            victim.wait()
            self.cluster.workers.remove(victim)
            self.cluster.start_worker()
            self.runs["worker kill -9"] += 1

    def kill_api(self):
        for _ in range(API_KILLS):
            time.sleep(self.rng.uniform(0.5, 1.5))
            self.cluster.api.kill()
            self.cluster.api.wait()
            time.sleep(self.rng.uniform(0.05, 0.3))
            self.cluster.start_api()
            self.cluster.wait_ready()
            self.runs["api kill -9"] += 1

    def restart_redis(self, how):
        time.sleep(self.rng.uniform(0.5, 1.5))
        redis = self.cluster.redis
        if how == "SIGTERM":
            redis.terminate()
        else:
            redis.kill()
        redis.wait(timeout=30)
        time.sleep(0.3)
        self.cluster.start_redis()
        self.cluster.wait_ready(timeout=20)
        self.runs["redis restart (%s)" % how] += 1

    def freeze_redis(self):
        for _ in range(REDIS_FREEZES):
            time.sleep(self.rng.uniform(0.5, 1.5))
            redis = self.cluster.redis
            stopped = time.monotonic()
            redis.send_signal(signal.SIGSTOP)
            time.sleep(2.5)
            try:
                status, _, _ = http_request(self.cluster.api_port, "GET", "/readyz", timeout=3)
            except OSError as error:
                status = repr(error)
            self.readyz_during_freeze.append(status)
            time.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - stopped)))
            redis.send_signal(signal.SIGCONT)
            self.freezes.append((stopped, time.monotonic()))
            self.runs["redis SIGSTOP 3 s"] += 1
            self.cluster.wait_ready(timeout=20)

    def _through_proxy(self, times, event, rounds, label):
        """`rounds` times: arm the proxy's `event`, wait until a SUBMIT has been caught (a new
        item in `times`), then until the API is ready again."""
        for _ in range(rounds):
            time.sleep(self.rng.uniform(0.5, 1.0))
            before = len(times)
            event.set()
            deadline = time.monotonic() + 10
            while len(times) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            if len(times) == before:
                event.clear()
                raise Failure("no SUBMIT went through the proxy within 10 s")
            self.cluster.wait_ready(timeout=20)
            self.runs[label] += 1

    def hold_replies(self):
        proxy = self.cluster.proxy
        self._through_proxy(proxy.held, proxy.hold, REPLY_HOLDS, "reply held after a SUBMIT ran")

    def cut_connection(self):
        proxy = self.cluster.proxy
        self._through_proxy(proxy.cut_times, proxy.cut, CONNECTION_CUTS,
                            "api-redis connection cut after a SUBMIT")


# ---- verification -------------------------------------------------------------------------------

def entry_key(entry_id):
    milliseconds, sequence = entry_id.split("-")
    return int(milliseconds), int(sequence)


def verify(cluster, units, submitters, faults, problems):
    port = cluster.redis_port
    # 1. The stream, indexed by tag.
    entries = redis_call(port, "XRANGE", STREAM, "-", "+") or []
    by_tag = {}
    for entry_id, flat in entries:
        fields = pairs(flat)
        if fields.get("type") != "submission":
            continue
        body = json.loads(fields["body"])
        values = body["values"]
        tag = values.get("students", values.get("school_places_added"))
        by_tag.setdefault(tag, []).append((entry_id, body))
    sent = {}
    for submitter in submitters:
        for submission in submitter.sent:
            sent[submission.tag] = submission
    counts = {"accepted": 0, "unavailable": 0, "refused": 0, "unknown": 0,
              "of which 503 outcome_unknown": 0, "unknown->accepted": 0, "unexpected": 0}
    for tag in by_tag:
        if tag not in sent:
            problems.append("stream entry with tag %r that no submission carried: %r"
                            % (tag, by_tag[tag]))
    for tag, submission in sent.items():
        found = by_tag.get(tag, [])
        counts[submission.outcome] = counts.get(submission.outcome, 0) + 1
        if submission.detail == "503 outcome_unknown":
            counts["of which 503 outcome_unknown"] += 1
        label = "submission %d (%s %s, %s)" % (tag, submission.unit, submission.period,
                                               submission.outcome)
        if len(found) > 1:
            problems.append("%s: %d stream entries %r" % (label, len(found), [f[0] for f in found]))
            continue
        if submission.outcome == "accepted":
            if not found:
                problems.append("%s: 202 id %s but no stream entry" % (label, submission.entry_id))
                continue
            if found[0][0] != submission.entry_id:
                problems.append("%s: 202 id %s, stream entry %s" % (label, submission.entry_id,
                                                                     found[0][0]))
        elif submission.outcome == "unknown":
            if found:
                submission.entry_id = found[0][0]
                counts["unknown->accepted"] += 1
        elif submission.outcome == "unexpected":
            problems.append("%s: a valid submission was answered %s" % (label, submission.detail))
        elif found:
            cut = any(0 <= when - submission.started <= 1.5 for when in faults.cut_cause_times())
            problems.append("%s (HTTP %s) left a trace: stream entry %s%s"
                            % (label, submission.status, found[0][0],
                               " (answered after the API's Redis connection was cut)" if cut
                               else ""))
        if submission.entry_id and found:
            body = found[0][1]
            if body["school"] != submission.unit or body["period"] != submission.period or \
                    body["values"] != submission.values:
                problems.append("%s: queued body %r differs from the one sent %r"
                                % (label, body, submission.values))
    # The SUBMITs whose replies the proxy held: Redis ran them, the API could not know.
    for _, tags in faults.cluster.proxy.held:
        if not tags:
            problems.append("a held SUBMIT chunk carried no tag")
        for tag in tags:
            submission = sent.get(tag)
            if submission is None:
                problems.append("held SUBMIT with tag %d that no submission carried" % tag)
            elif submission.detail != "503 outcome_unknown":
                problems.append("submission %d: its SUBMIT ran and the reply was held, answered "
                                "%s %s (want 503 outcome_unknown)"
                                % (tag, submission.outcome, submission.detail))
            elif not by_tag.get(tag):
                problems.append("submission %d: its SUBMIT ran but no stream entry has it" % tag)
    applied = [s for s in sent.values() if s.entry_id]

    # 2. Statuses and the dead-letter stream.
    for chunk in range(0, len(applied), 500):
        ids = [s.entry_id for s in applied[chunk:chunk + 500]]
        statuses = redis_call(port, "MGET", *["edumon:status:" + i for i in ids])
        for entry_id, status in zip(ids, statuses):
            if status != "applied":
                problems.append("entry %s has status %r, not applied" % (entry_id, status))
    dead = redis_call(port, "XLEN", "edumon:dead")
    if dead:
        problems.append("%d entries were dead-lettered: %r" % (
            dead, redis_call(port, "XRANGE", "edumon:dead", "-", "+", "COUNT", "5")))

    # 3. The model: per unit, in the unit's own order, the last value of every cell.
    model = {}  # (period, "unit/element") -> (entry_id, value)
    for submitter in submitters:
        previous = None
        for submission in submitter.sent:
            if not submission.entry_id:
                continue
            if previous and entry_key(submission.entry_id) <= entry_key(previous):
                problems.append("%s: entry ids not in the unit's order (%s after %s)"
                                % (submitter.unit, submission.entry_id, previous))
            previous = submission.entry_id
            for element, value in submission.values.items():
                model[(submission.period, "%s/%s" % (submission.unit, element))] = (
                    submission.entry_id, float(value))
    checked_cells = 0
    for period in PERIODS:
        cells = pairs(redis_call(port, "HGETALL", "edumon:{%s}:cells:%s" % (DISTRICT, period)))
        ours = {field: text for field, text in cells.items() if field.split("/")[0] in units}
        expected = {field: v for (p, field), v in model.items() if p == period}
        for field in sorted(set(ours) | set(expected)):
            if field not in ours:
                problems.append("cell %s %s missing (model %r)" % (period, field, expected[field]))
                continue
            if field not in expected:
                problems.append("cell %s %s = %r but nothing accepted for it" % (period, field,
                                                                                 ours[field]))
                continue
            entry_id, text = ours[field].split(" ", 1)
            if entry_id != expected[field][0] or float(text) != expected[field][1]:
                problems.append("cell %s %s = %r, model says %s %r" % (
                    period, field, ours[field], expected[field][0], expected[field][1]))
            checked_cells += 1

        # 4. Sum indicators: no double counting.
        students = sum(v for (p, field), (_, v) in model.items()
                       if p == period and field.endswith("/students"))
        places = sum(v for (p, field), (_, v) in model.items()
                     if p == period and field.endswith("/school_places_added"))
        snapshot = pairs(redis_call(port, "HGETALL", "edumon:{%s}:snap:%s" % (DISTRICT, period)))
        state = pairs(redis_call(port, "HGETALL", "edumon:{%s}:state:0000" % DISTRICT))
        values = json.loads(snapshot.get("values") or "{}")
        if values.get("students_total") != students:
            problems.append("%s students_total %r, model Σ students %r"
                            % (period, values.get("students_total"), students))
        status, _, payload = http_request(cluster.api_port, "GET",
                                          "/v1/districts/%s/snapshot?period=%s" % (DISTRICT, period))
        document = json.loads(payload) if status == 200 else {}
        served = next((i for i in document.get("indicators", []) if i["id"] == "new_school_places"),
                      None)
        if not served or served.get("value") != places:
            problems.append("%s GET snapshot new_school_places %r, model %r (HTTP %s)"
                            % (period, served and served.get("value"), places, status))
        reported = len({field.split("/")[0] for (p, field) in model if p == period})
        if document.get("completeness", {}).get("reported") != reported:
            problems.append("%s completeness.reported %r, model %d" % (
                period, document.get("completeness"), reported))
        if state.get("cellsver") and snapshot.get("source") != state.get("cellsver"):
            problems.append("%s snapshot computed from cellsver %r, current %r" % (
                period, snapshot.get("source"), state.get("cellsver")))

    # 5. Redis frozen: prompt 503s, and /readyz not ready.
    slow = []
    during = 0
    for stopped, continued in faults.freezes:
        for submission in sent.values():
            if not (stopped + 0.05 <= submission.started <= continued):
                continue
            during += 1
            elapsed = submission.finished - submission.started
            if elapsed > UNAVAILABLE_WITHIN:
                slow.append("%d: %s after %.2f s" % (submission.tag, submission.outcome, elapsed))
            elif submission.finished < continued - 0.05 and submission.status != 503:
                problems.append("submission %d sent while Redis was frozen: %s %s" % (
                    submission.tag, submission.outcome, submission.detail))
            elif submission.started > stopped + DETECTED_WITHIN and \
                    submission.finished < continued - 0.05 and submission.outcome != "unavailable":
                # Once a command has timed out the API knows Redis is not answering and sends
                # no more writes: a definite "nothing was written", not outcome_unknown.
                problems.append("submission %d sent %.2f s into a Redis freeze (after the API "
                                "must have noticed): %s %s" % (
                                    submission.tag, submission.started - stopped,
                                    submission.outcome, submission.detail))
    if slow:
        problems.append("while Redis was frozen, %d of %d submissions waited more than %.1f s "
                        "for their answer: %s" % (len(slow), during, UNAVAILABLE_WITHIN,
                                                  ", ".join(slow[:8])))
    if during == 0:
        problems.append("no submission was sent while Redis was frozen")
    for status in faults.readyz_during_freeze:
        if status != 503:
            problems.append("GET /readyz answered %r 2.5 s into a Redis freeze (expected 503)"
                            % status)
    return counts, checked_cells, len(sent)


def wait_drained(cluster, timeout=40.0):
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        try:
            stream = pairs(redis_call(cluster.redis_port, "XINFO", "STREAM", STREAM))
            groups = [pairs(g) for g in redis_call(cluster.redis_port, "XINFO", "GROUPS", STREAM)]
            group = next((g for g in groups if g.get("name") == GROUP), None)
            info = (stream.get("last-generated-id"), group)
            if group and group.get("last-delivered-id") == stream.get("last-generated-id") \
                    and group.get("pending") == 0:
                return
        except (OSError, RuntimeError) as error:
            info = error
        time.sleep(0.1)
    raise Failure("stream not drained within %.0f s: %r" % (timeout, info))


# ---- main ---------------------------------------------------------------------------------------

def main():
    seed = int(os.environ.get("FAULT_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    started = time.monotonic()
    cluster = Cluster()
    problems = []
    submitters = []
    faults = Faults(cluster, rng)
    counts, cells, total = {}, 0, 0
    try:
        cluster.start_redis()
        cluster.proxy = Proxy(cluster.redis_port)
        cluster.proxy.start()
        cluster.start_api()
        cluster.start_worker()
        cluster.start_worker()
        cluster.wait_ready()
        units = {}
        for school_id, stage in [("xq-f-1", "primary"), ("xq-f-2", "primary"),
                                 ("xq-f-3", "primary"), ("xq-f-4", "primary"),
                                 ("xq-f-office", "office")]:
            status, _, payload = http_request(cluster.api_port, "POST", "/v1/schools", {
                "id": school_id, "name": "故障 " + school_id, "district": DISTRICT,
                "stage": stage, "ownership": "public"}, ADMIN_TOKEN)
            if status != 201:
                raise Failure("registering %s: %d %r" % (school_id, status, payload))
            units[school_id] = json.loads(payload)["token"]
        tags = Tags()
        submitters = [Submitter(cluster, unit, token, unit.endswith("office"), tags,
                                rng.getrandbits(32)) for unit, token in units.items()]
        for submitter in submitters:
            submitter.start()
        time.sleep(1.5)
        print("faults (seed %d): (a) worker kills" % seed)
        sys.stdout.flush()
        faults.kill_workers()
        print("faults: (b) API kills")
        faults.kill_api()
        print("faults: (c) Redis restarts")
        faults.restart_redis("SIGTERM")
        faults.restart_redis("SIGKILL")
        print("faults: (d) Redis freezes")
        faults.freeze_redis()
        print("faults: (e) API-Redis connection cuts")
        faults.cut_connection()
        print("faults: (f) replies held after a SUBMIT ran")
        faults.hold_replies()
        time.sleep(1.0)
        for submitter in submitters:
            submitter.stop_event.set()
        for submitter in submitters:
            submitter.join(timeout=30)
        for process in [cluster.api, cluster.redis] + cluster.workers:
            if process.poll() is not None:
                problems.append("%s exited (status %s)" % (process.name, process.returncode))
        wait_drained(cluster)
        counts, cells, total = verify(cluster, units, submitters, faults, problems)
    except Exception as error:
        problems.append("%s\n%s" % (error, traceback.format_exc()))
    finally:
        cluster.stop()
    runs = sum(faults.runs.values())
    print("fault runs: %d (%s)" % (runs, ", ".join("%s %d" % item for item in faults.runs.items())))
    print("submissions checked: %d (%s); cells checked: %d; %.1f s"
          % (total, ", ".join("%s %d" % item for item in counts.items()), cells,
             time.monotonic() - started))
    if problems:
        for problem in problems[:60]:
            print("FAIL " + problem)
        if len(problems) > 60:
            print("... and %d more" % (len(problems) - 60))
        print("seed %d; logs kept in %s" % (seed, cluster.dir))
        print(cluster.logs())
        sys.exit(1)
    if os.environ.get("FAULT_KEEP") != "1":
        shutil.rmtree(cluster.dir, ignore_errors=True)
    print("ok")
    sys.exit(0)


if __name__ == "__main__":
    main()
