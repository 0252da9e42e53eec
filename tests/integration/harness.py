"""harness.py -- runs the real edumon binaries against a private redis-server for one test.

Every integration test is a standalone script (CTest runs `python3 test_X.py` with
EDUMON_BIN_DIR set). A script is a list of `test_*` functions; `run_tests(globals())` runs
each one against a fresh Harness (its own redis-server on a free loopback port, the API, N
workers, a temp directory for logs and data), prints one line per test, and on a failure
prints the assertion, the traceback and the tail of every process log, then exits 1.

Only the standard library is used: subprocess for the processes, http.client for the API,
and a minimal RESP client (socket) to look inside Redis (XLEN, XPENDING, ...), so a test can
check that a refused request queued nothing.

Processes are always cleaned up: explicitly at the end of each test, by atexit, and, should
the test runner itself be killed, by PR_SET_PDEATHSIG set in every child.
"""

import atexit
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import valgrind  # noqa: E402  (tests/lib)

SLOW = valgrind.SLOWDOWN  # time allowances are stretched by this under valgrind

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
BIN_DIR = os.environ.get("EDUMON_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
# EDUMON_TEST_API_THREADS: the EDUMON_API_THREADS every API of the run gets (unset: default).
API_THREADS = os.environ.get("EDUMON_TEST_API_THREADS", "")
FIXTURE_CATALOG = os.path.join(SOURCE_DIR, "tests", "fixtures", "catalog")
ADMIN_TOKEN = "integration-admin-token-0123456789"
STREAM = "edumon:submissions"
DEAD_LETTER = "edumon:dead"
GROUP = "edumon-workers"

_live = []  # every Popen started by any harness, for atexit


class Failure(AssertionError):
    """A test expectation that did not hold."""


# ---- expectations ------------------------------------------------------------------------

def check(condition, message):
    if not condition:
        raise Failure(message)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, actual))


def expect_close(actual, expected, what, rel=1e-12, abs_tol=1e-12):
    """Floats computed in C and by hand may differ in the last bits; nothing more."""
    if not isinstance(actual, (int, float)) or isinstance(actual, bool):
        raise Failure("%s: expected a number close to %r, got %r" % (what, expected, actual))
    if abs(actual - expected) > max(abs_tol, rel * max(abs(actual), abs(expected))):
        raise Failure("%s: expected %.17g, got %.17g" % (what, expected, actual))


def expect_error(response, status, code, field=None, what="request"):
    """The contract's error document: {"error": {"code", "message", "field"?}}. `field`
    None means the error must not name a field."""
    label = "%s -> %d %s" % (what, status, code)
    if response.status != status:
        raise Failure("%s: got HTTP %d, body %r" % (label, response.status, response.body[:400]))
    content_type = response.header("Content-Type") or ""
    check(content_type.startswith("application/json"),
          "%s: Content-Type %r is not JSON" % (label, content_type))
    document = response.json()
    check(isinstance(document, dict) and set(document) <= {"error", "errors"}
          and isinstance(document.get("error"), dict),
          "%s: body is not {\"error\": {...}}: %r" % (label, response.body[:400]))
    error = document["error"]
    check(set(error) <= {"code", "message", "field"},
          "%s: unexpected keys in error: %r" % (label, sorted(error)))
    expect_eq(error.get("code"), code, label + ": error.code")
    check(isinstance(error.get("message"), str) and error["message"],
          "%s: error.message must be a non-empty string: %r" % (label, error))
    expect_eq(error.get("field"), field, label + ": error.field")
    return error


def parse_entry_id(entry_id):
    milliseconds, sequence = entry_id.split("-")
    return (int(milliseconds), int(sequence))


# ---- small clients ------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as error:
            raise Failure("response body is not JSON (%s): %r" % (error, self.body[:400]))

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:200])


class RedisClient:
    """Just enough RESP2 to inspect the test's Redis; one connection per command (after
    AUTH and SELECT when the harness uses a password or another database)."""

    def __init__(self, port, password=None, database=0):
        self.port = port
        self.password = password
        self.database = database

    @staticmethod
    def _encode(args):
        payload = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            payload.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(payload)

    def __call__(self, *args, timeout=5.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            reader = sock.makefile("rb")
            if self.password:
                sock.sendall(self._encode(["AUTH", self.password]))
                self._read(reader)
            if self.database:
                sock.sendall(self._encode(["SELECT", self.database]))
                self._read(reader)
            sock.sendall(self._encode(args))
            return self._read(reader)

    def _read(self, reader):
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
            if length < 0:
                return None
            data = reader.read(length + 2)[:-2]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read(reader) for _ in range(count)]
        raise RuntimeError("unexpected RESP line %r" % line)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


try:  # resolved once here: the child side of fork must not dlopen (threads may be running)
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """Child side of Popen: get SIGKILL if the test runner dies, so nothing is left over.
    (PR_SET_PDEATHSIG follows the forking thread: processes are started from the main
    thread only.)"""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _pairs(flat):
    return dict(zip(flat[0::2], flat[1::2])) if flat else {}


class Process:
    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.popen = None
        self.valgrind_log = None
        self.killed = False  # SIGKILLed by the test

    def start(self):
        log = open(self.log_path, "ab")
        log.write(("---- start %s: %s\n" % (self.name, " ".join(self.argv))).encode())
        log.flush()
        self.popen = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      preexec_fn=_die_with_parent)
        log.close()
        _live.append(self.popen)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, number):
        if self.alive():
            self.killed = self.killed or number == signal.SIGKILL
            self.popen.send_signal(number)

    def kill(self):
        """SIGKILL and reap."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.killed = True
            self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL if it does not go; returns the exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode


@atexit.register
def _kill_everything():
    for popen in _live:
        if popen.poll() is None:
            try:
                popen.kill()
                popen.wait(timeout=5)
            except Exception:
                pass


# ---- the harness ------------------------------------------------------------------------

class Harness:
    """One private Redis, one API, N workers. Options:
        workers        number of workers started at once
        aof            run Redis with an append-only file in the temp dir (appendfsync always)
        claim_idle_ms  EDUMON_CLAIM_IDLE_MS for the workers
        env            extra environment for every edumon process
        catalog        catalog directory (default the fixture catalog)
    """

    def __init__(self, workers=1, aof=False, claim_idle_ms=1500, max_deliveries=5,
                 catalog=FIXTURE_CATALOG, env=None, admin_token=ADMIN_TOKEN,
                 redis_password=None, redis_db=0):
        self.worker_count = workers
        self.aof = aof
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.catalog = catalog
        self.extra_env = dict(env or {})
        self.admin_token = admin_token
        self.dir = tempfile.mkdtemp(prefix="edumon-it-")
        self.redis_port = free_port()
        self.api_port = free_port()
        while self.api_port == self.redis_port:
            self.api_port = free_port()
        self.redis_process = None
        self.api = None
        self.workers = []
        self.processes = []
        self.redis_password = redis_password
        self.redis_db = redis_db
        self.redis = RedisClient(self.redis_port, redis_password, redis_db)
        self._worker_serial = 0

    # -- processes --

    def _binary(self, name):
        path = os.path.join(BIN_DIR, name)
        check(os.access(path, os.X_OK), "%s not found or not executable (EDUMON_BIN_DIR=%s)"
              % (path, BIN_DIR))
        return path

    def edumon_env(self, **overrides):
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("EDUMON_"):
                del env[key]
        env.update({
            "EDUMON_REDIS_URL": "redis://%s127.0.0.1:%d/%d" % (
                ":%s@" % self.redis_password if self.redis_password else "",
                self.redis_port, self.redis_db),
            "EDUMON_LISTEN": "127.0.0.1:%d" % self.api_port,
            "EDUMON_CATALOG": self.catalog,
            "EDUMON_CLAIM_IDLE_MS": str(self.claim_idle_ms),
            "EDUMON_MAX_DELIVERIES": str(self.max_deliveries),
            "EDUMON_LOG_LEVEL": "info",
        })
        if self.admin_token is not None:
            env["EDUMON_ADMIN_TOKEN"] = self.admin_token
        # The suites run again with several API event loops (tests/CMakeLists.txt).
        if API_THREADS:
            env["EDUMON_API_THREADS"] = API_THREADS
        env.update(self.extra_env)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def start(self):
        self.start_redis()
        self.start_api()
        for _ in range(self.worker_count):
            self.start_worker()
        self.wait_ready()
        return self

    def start_redis(self):
        argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--logfile", "", "--daemonize", "no"]
        if self.redis_password:
            argv += ["--requirepass", self.redis_password]
        if self.aof:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        self.redis_process = self._spawn("redis", argv, dict(os.environ), "redis.log")
        deadline = time.monotonic() + 10
        while True:
            try:
                if RedisClient(self.redis_port, self.redis_password)("PING", timeout=1) == "PONG":
                    return
            except (OSError, RuntimeError):
                pass
            check(self.redis_process.alive(), "redis-server exited at start")
            check(time.monotonic() < deadline, "redis-server did not answer PING in 10 s")
            time.sleep(0.02)

    def start_api(self, **env):
        self.api = self._spawn("api", [self._binary("edumon-api")], self.edumon_env(**env),
                               "api.log")
        return self.api

    def start_worker(self, consumer=None, **env):
        self._worker_serial += 1
        name = "worker%d" % self._worker_serial
        if consumer is not None:
            env["EDUMON_CONSUMER"] = consumer
        worker = self._spawn(name, [self._binary("edumon-worker")], self.edumon_env(**env),
                             name + ".log")
        self.workers.append(worker)
        return worker

    def _spawn(self, name, argv, env, log_name):
        log = None
        if valgrind.ENABLED and os.path.basename(argv[0]).startswith("edumon-"):
            log = os.path.join(self.dir, "valgrind-%s-%d.log" % (name, len(self.processes)))
            argv = valgrind.wrap(argv, log)
        process = Process(name, argv, env, os.path.join(self.dir, log_name)).start()
        process.valgrind_log = log
        self.processes.append(process)
        return process

    def wait_ready(self, timeout=10.0):
        timeout *= SLOW
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            check(self.api.alive(), "edumon-api exited (status %s)" % self.api.popen.poll())
            try:
                last = self.get("/readyz", timeout=2)
                if last.status == 200:
                    return
            except OSError as error:
                last = error
            time.sleep(0.03)
        raise Failure("GET /readyz did not answer 200 within %.0f s (last: %r)" % (timeout, last))

    def close(self):
        """Stops everything quickly but cleanly: SIGTERM to all (Redis too: a worker blocked
        in XREADGROUP would otherwise finish its 1 s block first), and a second SIGTERM to
        the APIs (which otherwise drain for 1.5 s), so that sanitizer builds still run their
        exit-time checks; SIGKILL whatever has not gone within 5 s."""
        for process in self.processes:
            process.signal(signal.SIGTERM)
        time.sleep(0.05)
        for process in self.processes:
            if process.name == "api":
                process.signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.stop(timeout=5 * SLOW)
            except Exception:
                pass

    def valgrind_logs(self):
        """The valgrind reports to judge: of every edumon process that was not SIGKILLed on
        purpose (a killed process writes no summary)."""
        return [p.valgrind_log for p in self.processes if p.valgrind_log and not p.killed]

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "ERROR: ThreadSanitizer", "WARNING: ThreadSanitizer")

    def sanitizer_reports(self):
        """Lines of the edumon logs where a sanitizer (ASan/UBSan builds) reported."""
        found = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".log") or name.startswith("redis"):
                continue
            with open(os.path.join(self.dir, name), "rb") as handle:
                for line in handle.read().decode("utf-8", "replace").splitlines():
                    if any(mark in line for mark in self.SANITIZER_MARKS):
                        found.append("%s: %s" % (name, line.strip()))
        return found

    def logs(self, tail=60):
        chunks = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".log"):
                continue
            with open(os.path.join(self.dir, name), "rb") as handle:
                lines = handle.read().decode("utf-8", "replace").splitlines()
            chunks.append("==== %s (last %d of %d lines) ====\n%s" % (
                name, min(tail, len(lines)), len(lines), "\n".join(lines[-tail:])))
        return "\n".join(chunks)

    def remove_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- HTTP --

    def request(self, method, path, body=None, token=None, headers=None,
                content_type="application/json", timeout=10.0):
        """`body`: bytes/str sent as is, anything else JSON-encoded. With a body, the
        Content-Type is `content_type` (None: no Content-Type header at all)."""
        all_headers = {}
        data = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = json.dumps(body).encode("utf-8")
            if content_type:
                all_headers["Content-Type"] = content_type
        if token:
            all_headers["Authorization"] = "Bearer " + token
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.api_port,
                                                timeout=timeout * SLOW)
        started = time.monotonic()
        try:
            connection.request(method, path, body=data, headers=all_headers)
            reply = connection.getresponse()
            payload = reply.read()
            return Response(reply.status, reply.getheaders(), payload,
                            time.monotonic() - started)
        finally:
            connection.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def register(self, school, district="test-county", stage="primary", ownership="public",
                 name=None):
        """POST /v1/schools with the admin token; returns the school's token."""
        response = self.request("POST", "/v1/schools", token=self.admin_token, body={
            "id": school, "name": name or "学校 " + school, "district": district,
            "stage": stage, "ownership": ownership})
        check(response.status == 201, "registering %s: HTTP %d %r"
              % (school, response.status, response.body[:300]))
        document = response.json()
        expect_eq(document.get("id"), school, "registration answer id")
        check(isinstance(document.get("token"), str) and len(document["token"]) >= 16,
              "registration answer has no usable token: %r" % document)
        return document["token"]

    def submit(self, token, school, values, period="2024", headers=None):
        return self.request("POST", "/v1/submissions", token=token, headers=headers,
                            body={"school": school, "period": period, "values": values})

    def submit_ok(self, token, school, values, period="2024", headers=None):
        """Submits and insists on 202 with the contract's answer; returns it."""
        response = self.submit(token, school, values, period, headers)
        check(response.status == 202, "submission for %s: expected 202, got HTTP %d %r"
              % (school, response.status, response.body[:300]))
        document = response.json()
        expect_eq(document.get("school"), school, "202 answer school")
        expect_eq(document.get("period"), period, "202 answer period")
        expect_eq(document.get("accepted"), len(values), "202 answer accepted")
        check(isinstance(document.get("id"), str) and "-" in document["id"],
              "202 answer id is not a stream id: %r" % document)
        return document

    def submission_status(self, token, submission_id):
        return self.get("/v1/submissions/" + submission_id, token=token)

    def wait_applied(self, token, submission_id, timeout=10.0):
        timeout *= SLOW
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.submission_status(token, submission_id)
            if last.status == 200 and last.json().get("status") == "applied":
                return last.json()
            time.sleep(0.02)
        raise Failure("submission %s not applied within %.0f s (last: %r)"
                      % (submission_id, timeout, last))

    def snapshot(self, district="test-county", period="2024", headers=None, wait=None,
                 timeout=10.0):
        path = "/v1/districts/%s/snapshot" % district
        query = []
        if period is not None:
            query.append("period=" + period)
        if wait is not None:
            query.append("wait=%d" % wait)
        if query:
            path += "?" + "&".join(query)
        return self.get(path, headers=headers, timeout=timeout)

    def snapshot_json(self, district="test-county", period="2024"):
        response = self.snapshot(district, period)
        check(response.status == 200, "snapshot %s/%s: HTTP %d %r"
              % (district, period, response.status, response.body[:300]))
        return response.json()

    def wait_snapshot(self, predicate, what, district="test-county", period="2024",
                      timeout=10.0):
        """Polls the snapshot until predicate(snapshot) is true; returns the snapshot."""
        timeout *= SLOW
        deadline = time.monotonic() + timeout
        document = None
        while time.monotonic() < deadline:
            document = self.snapshot_json(district, period)
            try:
                if predicate(document):
                    return document
            except (KeyError, TypeError, StopIteration):
                pass
            time.sleep(0.03)
        raise Failure("snapshot %s/%s never reached: %s within %.0f s; last:\n%s" % (
            district, period, what, timeout, json.dumps(document, ensure_ascii=False, indent=1)))

    # -- Redis views --

    def xlen(self, key=STREAM):
        return self.redis("XLEN", key)

    def stream_drained(self):
        """Every entry of the stream delivered to the group and acknowledged."""
        if not self.redis("EXISTS", STREAM):
            return True
        stream = _pairs(self.redis("XINFO", "STREAM", STREAM))
        groups = [_pairs(group) for group in self.redis("XINFO", "GROUPS", STREAM)]
        group = next((g for g in groups if g.get("name") == GROUP), None)
        if group is None:
            return False
        return (group.get("last-delivered-id") == stream.get("last-generated-id")
                and group.get("pending") == 0)

    def wait_drained(self, timeout=30.0):
        timeout *= SLOW
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stream_drained():
                return
            time.sleep(0.05)
        raise Failure("the stream was not fully processed within %.0f s: groups %r"
                      % (timeout, self.redis("XINFO", "GROUPS", STREAM)))

    def pending_by_consumer(self):
        summary = self.redis("XPENDING", STREAM, GROUP)
        consumers = summary[3] or []
        return {name: int(count) for name, count in consumers}


def indicator(snapshot, indicator_id):
    for item in snapshot.get("indicators", []):
        if item.get("id") == indicator_id:
            return item
    raise Failure("indicator %s missing from snapshot %s/%s" % (
        indicator_id, snapshot.get("district"), snapshot.get("period")))


# ---- the runner ------------------------------------------------------------------------

def run_tests(namespace, **harness_options):
    """Runs every test_* function of the calling script in definition order, each with a
    fresh, started Harness (a function may set `harness_options` as an attribute to
    override). Exits 0 when all passed, 1 otherwise."""
    tests = [(name, value) for name, value in namespace.items()
             if name.startswith("test_") and callable(value)]
    only = sys.argv[1:]
    if only:
        tests = [(name, fn) for name, fn in tests if name in only]
    script = os.path.basename(namespace.get("__file__", "test"))
    failures = []
    started_all = time.monotonic()
    for name, function in tests:
        options = dict(harness_options)
        options.update(getattr(function, "harness_options", {}))
        harness = Harness(**options)
        started = time.monotonic()
        ok = False
        try:
            harness.start()
            function(harness)
            harness.close()
            reports = harness.sanitizer_reports()
            check(not reports, "sanitizer reports in the logs:\n  " + "\n  ".join(reports))
            reports = valgrind.problems(harness.valgrind_logs())
            check(not reports, "valgrind found errors or leaks:\n" + "\n".join(reports))
            ok = True
        except BaseException as error:  # report everything, including KeyboardInterrupt
            failures.append(name)
            print("FAIL %s: %s (%.1f s)" % (name, error, time.monotonic() - started))
            traceback.print_exc(file=sys.stdout)
            harness.close()
            print(harness.logs())
            print("(logs and Redis data kept in %s)" % harness.dir)
            if isinstance(error, KeyboardInterrupt):
                break
        finally:
            harness.close()
            if ok:
                harness.remove_dir()
        if ok:
            print("ok   %s (%.1f s)" % (name, time.monotonic() - started))
        sys.stdout.flush()
    total = time.monotonic() - started_all
    if failures:
        print("%s: %d of %d failed (%s) in %.1f s" % (script, len(failures), len(tests),
                                                      ", ".join(failures), total))
        sys.exit(1)
    print("%s: all %d passed in %.1f s" % (script, len(tests), total))
    sys.exit(0)


def options(**harness_options):
    """Decorator: per-test Harness options, e.g. @options(workers=0)."""
    def wrap(function):
        function.harness_options = harness_options
        return function
    return wrap
