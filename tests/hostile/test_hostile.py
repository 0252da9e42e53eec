#!/usr/bin/env python3
"""test_hostile.py -- hostile input against the real edumon-api, over raw sockets.

Standalone (python3 standard library only). Starts its own redis-server on a free port, one
edumon-api and one edumon-worker from EDUMON_BIN_DIR (default <source>/build/bin) with the
shipped catalog (deploy/catalog), registers units in yinchuan-xingqing (two primary schools
and the district office) and one school in kunming-anning, then sends well over a hundred
malformed, oversized, truncated, forged or otherwise hostile requests, each written byte for
byte with the socket module (no HTTP library that would tidy the request up).

For every case it checks
  * the answer: the right 4xx (some cases also accept the server closing the connection,
    where HTTP gives no response to send, e.g. a body cut short);
  * where the API answers itself (not libevent's own HTML error pages): the contract's error
    document {"error": {"code", "message", "field"?}} as strict UTF-8 JSON, and the code;
  * the server is alive afterwards (GET /healthz answers 200, the process has not exited);
  * no state changed: XLEN edumon:submissions, XLEN edumon:dead and HLEN of edumon:schools
    and edumon:tokens (read with `redis-cli -p PORT`) are the same before and after.

A few edge inputs that are valid (-0, 1e3 for an integer, a chunked body) must be accepted
and normalised; they are counted separately. Slow clients (slowloris: headers sent byte by
byte while other clients must keep being served; an idle connection; headers trickled for
longer than the connection timeout) run alongside, and a second API instance started with a
small EDUMON_MAX_CONNECTIONS and EDUMON_RATE_LIMIT checks the connection cap and the 429.

Environment:
  EDUMON_BIN_DIR     directory with edumon-api and edumon-worker
  EDUMON_VALGRIND=1  run the API and the worker under valgrind (memcheck, leak check); the
                     suite then fails on any valgrind error or definite/indirect leak
  HOSTILE_SLOW_SECONDS  how long the trickling slow client keeps going (default 45; the API's
                     connection timeout is 30 s)
  HOSTILE_KEEP=1     keep the temp directory (logs) even when everything passed

Exit status 0 when every case passed, 1 otherwise. Prints one line per failed case, then the
counts.
"""

import hashlib
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
WEB_DIR = os.path.join(SOURCE_DIR, "web")
ADMIN_TOKEN = "hostile-admin-token-0123456789abcdef"
DISTRICT = "yinchuan-xingqing"
OTHER_DISTRICT = "kunming-anning"
STREAM = "edumon:submissions"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import valgrind  # noqa: E402  (tests/lib)

VALGRIND = valgrind.ENABLED
SCALE = valgrind.SLOWDOWN  # time allowances under valgrind
SLOW_SECONDS = float(os.environ.get("HOSTILE_SLOW_SECONDS", "45"))
CONNECTION_TIMEOUT = 30  # evhttp_set_timeout() in api/main.c


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- raw HTTP ------------------------------------------------------------------------------

class Result:
    """What came back on one connection."""

    def __init__(self):
        self.status = None  # None: no response at all
        self.reason = ""
        self.headers = []
        self.body = b""
        self.raw = b""  # every byte received
        self.closed = False  # the server closed (or reset) the connection
        self.send_failed = False  # the server closed while we were still sending
        self.timed_out = False
        self.elapsed = 0.0

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def describe(self):
        if self.status is None:
            return "no response (%s)" % ("closed" if self.closed else
                                         "timed out" if self.timed_out else "?")
        return "HTTP %d %r" % (self.status, self.body[:240])


def _read_response(sock, result, deadline):
    """Reads one response (status line, headers, Content-Length body) into `result`."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = _recv(sock, result, deadline)
        if not chunk:
            result.raw += buffer
            return
        buffer += chunk
    head, rest = buffer.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    match = re.match(rb"HTTP/(\d)\.(\d) (\d{3}) ?(.*)$", lines[0])
    if not match:
        result.raw += buffer
        return
    result.status = int(match.group(3))
    result.reason = match.group(4).decode("latin-1")
    for line in lines[1:]:
        if b":" in line:
            key, value = line.split(b":", 1)
            result.headers.append((key.decode("latin-1").strip(),
                                   value.decode("latin-1").strip()))
    length = result.header("Content-Length")
    if length is not None:
        want = int(length)
        while len(rest) < want:
            chunk = _recv(sock, result, deadline)
            if not chunk:
                break
            rest += chunk
        result.body = rest[:want]
        result.raw += head + b"\r\n\r\n" + rest
    else:
        # No length (HEAD answers, some of libevent's own pages): what arrives until close
        # or a short silence.
        quiet = min(deadline, time.monotonic() + 0.5 * SCALE)
        while True:
            chunk = _recv(sock, result, quiet)
            if not chunk:
                break
            rest += chunk
        result.body = rest
        result.raw += head + b"\r\n\r\n" + rest


def _recv(sock, result, deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        result.timed_out = True
        return b""
    sock.settimeout(remaining)
    try:
        chunk = sock.recv(65536)
    except socket.timeout:
        result.timed_out = True
        return b""
    except (ConnectionResetError, ConnectionAbortedError):
        result.closed = True
        return b""
    if not chunk:
        result.closed = True
    return chunk


def exchange(port, parts, delay=0.0, shutdown=False, abort=False, timeout=5.0,
             read_all=False):
    """Sends `parts` (bytes or a list of bytes, `delay` seconds apart) on a fresh connection
    and reads one response. shutdown: half-close after sending (the client has nothing more
    to say). abort: reset the connection after sending, read nothing. read_all: read every
    byte until the server closes (for pipelining checks)."""
    if isinstance(parts, bytes):
        parts = [parts]
    result = Result()
    started = time.monotonic()
    deadline = started + timeout * SCALE
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout * SCALE)
    try:
        for index, part in enumerate(parts):
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                result.send_failed = True
                break
            except socket.timeout:
                result.send_failed = True
                result.timed_out = True
                break
            if delay and index + 1 < len(parts):
                time.sleep(delay)
        if abort:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
            result.closed = True
            result.elapsed = time.monotonic() - started
            return result
        if shutdown and not result.send_failed:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if read_all:
            while True:
                chunk = _recv(sock, result, deadline)
                if not chunk:
                    break
                result.raw += chunk
            match = re.match(rb"HTTP/\d\.\d (\d{3})", result.raw)
            result.status = int(match.group(1)) if match else None
        else:
            _read_response(sock, result, deadline)
    finally:
        sock.close()
    result.elapsed = time.monotonic() - started
    return result


def request_bytes(method, path, body=None, token=None, content_type="application/json",
                  headers=(), close=True, content_length=None, version=b"HTTP/1.1"):
    """A well-formed request (unless the arguments make it otherwise), as bytes."""
    def b(value):
        return value if isinstance(value, bytes) else value.encode("utf-8")
    lines = [b(method) + b" " + b(path) + b" " + version, b"Host: 127.0.0.1"]
    if token is not None:
        lines.append(b"Authorization: Bearer " + b(token))
    if body is not None and content_type is not None:
        lines.append(b"Content-Type: " + b(content_type))
    for name, value in headers:
        lines.append(b(name) + b": " + b(value))
    if body is not None or content_length is not None:
        length = content_length if content_length is not None else len(b(body))
        lines.append(b"Content-Length: " + b(str(length)))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b(body) if body is not None else b"")


# ---- the processes -----------------------------------------------------------------------------

class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="edumon-hostile-")
        self.redis_port = free_port()
        self.api_port = free_port()
        self.processes = {}
        self.valgrind_logs = []

    def binary(self, name):
        path = os.path.join(BIN_DIR, name)
        if not os.access(path, os.X_OK):
            raise SystemExit("%s not found (EDUMON_BIN_DIR=%s)" % (path, BIN_DIR))
        return path

    def env(self, port, **extra):
        env = {key: value for key, value in os.environ.items() if not key.startswith("EDUMON_")}
        env.update({
            "EDUMON_REDIS_URL": "redis://127.0.0.1:%d/0" % self.redis_port,
            "EDUMON_LISTEN": "127.0.0.1:%d" % port,
            "EDUMON_CATALOG": CATALOG,
            "EDUMON_WEB_DIR": WEB_DIR,
            "EDUMON_ADMIN_TOKEN": ADMIN_TOKEN,
            "EDUMON_RATE_LIMIT": "0",
            "EDUMON_CLAIM_IDLE_MS": "2000",
            "EDUMON_LOG_LEVEL": "warn",
        })
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def spawn(self, name, argv, env, use_valgrind=False):
        if use_valgrind and VALGRIND:
            log = os.path.join(self.dir, "valgrind-%s.log" % name)
            self.valgrind_logs.append(log)
            argv = valgrind.wrap(argv, log)
        out = open(os.path.join(self.dir, name + ".log"), "ab")
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.processes[name] = process
        return process

    def start(self):
        self.spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", self.dir,
                             "--logfile", os.path.join(self.dir, "redis-server.log")],
                   dict(os.environ))
        deadline = time.monotonic() + 10
        while self.redis("PING") != "PONG":
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)
        self.spawn("api", [self.binary("edumon-api")], self.env(self.api_port), True)
        self.spawn("worker", [self.binary("edumon-worker")], self.env(self.api_port), True)
        self.wait_ready(self.api_port, "api")

    def wait_ready(self, port, name):
        deadline = time.monotonic() + 15 * SCALE
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise SystemExit("%s exited at start; log:\n%s" % (name, self.log(name)))
            try:
                result = exchange(port, request_bytes("GET", "/readyz"), timeout=2)
                if result.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("%s did not become ready" % name)

    def redis(self, *args):
        completed = subprocess.run(["redis-cli", "-p", str(self.redis_port)] + [str(a) for a in args],
                                   capture_output=True, timeout=10)
        return completed.stdout.decode("utf-8", "replace").strip()

    def state(self):
        """The figures a rejected request must leave alone (one redis-cli call)."""
        script = "XLEN %s\nXLEN edumon:dead\nHLEN edumon:schools\nHLEN edumon:tokens\n" % STREAM
        completed = subprocess.run(["redis-cli", "-p", str(self.redis_port)], input=script.encode(),
                                   capture_output=True, timeout=10)
        values = completed.stdout.decode().split()
        return dict(zip(("stream", "dead", "schools", "tokens"), values))

    def alive(self, port=None, name="api"):
        if self.processes[name].poll() is not None:
            return "process exited with status %s" % self.processes[name].returncode
        try:
            result = exchange(port or self.api_port, request_bytes("GET", "/healthz"), timeout=5)
        except OSError as error:
            return "GET /healthz: %s" % error
        if result.status != 200 or json.loads(result.body.decode() or "null") != {"status": "ok"}:
            return "GET /healthz: " + result.describe()
        return None

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log"), "rb") as handle:
                return handle.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM everything (twice for APIs: they drain first); returns exit statuses."""
        statuses = {}
        order = [name for name in self.processes if name != "redis"] + ["redis"]
        for name in order:
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                if name.startswith("api"):
                    time.sleep(0.1)
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30 * SCALE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            statuses[name] = process.returncode
        return statuses

    def valgrind_report(self):
        return valgrind.problems(self.valgrind_logs)


# ---- the cases ----------------------------------------------------------------------------------

class Case:
    """One hostile request and what it must get.

    status    an int or a tuple of acceptable statuses (None: only a closed connection)
    close_ok  the server closing the connection without a response is acceptable too
    code      the API's error code (implies the JSON error document); None with api=True
              checks the document but not the code
    api       the API answers itself (JSON error document), not libevent
    accept    a valid edge input: 202 and the stream grows by one; `normalised` checks the
              body the API queued
    verify    extra check: function(result) -> None or a failure message
    """

    def __init__(self, group, name, send, status=None, code=None, api=None, close_ok=False,
                 field=Ellipsis, verify=None, accept=False, normalised=None, shutdown=False,
                 abort=False, delay=0.0, timeout=5.0, read_all=False, port=None):
        self.group, self.name, self.send = group, name, send
        self.status = status
        self.code = code
        self.api = api if api is not None else code is not None
        self.close_ok = close_ok
        self.field = field
        self.verify = verify
        self.accept = accept
        self.normalised = normalised
        self.shutdown, self.abort, self.delay = shutdown, abort, delay
        self.timeout, self.read_all = timeout, read_all
        self.port = port


def check_error_document(result, code, field):
    content_type = result.header("Content-Type") or ""
    if not content_type.startswith("application/json"):
        return "Content-Type %r is not application/json" % content_type
    try:
        text = result.body.decode("utf-8")  # strict: the contract's bodies are UTF-8
    except UnicodeDecodeError as error:
        return "error body is not valid UTF-8 (%s): %r" % (error, result.body[:300])
    try:
        document = json.loads(text)
    except ValueError as error:
        return "error body is not JSON (%s): %r" % (error, text[:300])
    if not isinstance(document, dict) or not isinstance(document.get("error"), dict) \
            or not set(document) <= {"error", "errors"}:
        return "body is not {\"error\": {...}}: %r" % text[:300]
    error = document["error"]
    if not set(error) <= {"code", "message", "field"}:
        return "unexpected keys in error: %r" % sorted(error)
    if not isinstance(error.get("code"), str) or not re.match(r"^[a-z][a-z0-9_]*$", error["code"]):
        return "error.code is not snake_case: %r" % error.get("code")
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "error.message missing or empty: %r" % error
    if "field" in error and not isinstance(error["field"], str):
        return "error.field is not a string: %r" % error
    if code is not None and error["code"] != code:
        return "error.code %r, expected %r (message %r)" % (error["code"], code, error["message"])
    if field is not Ellipsis and error.get("field") != field:
        return "error.field %r, expected %r" % (error.get("field"), field)
    return None


class Suite:
    def __init__(self, cluster):
        self.cluster = cluster
        self.failures = []
        self.rejected_passed = 0
        self.rejected_total = 0
        self.accepted_total = 0
        self.slow_total = 0
        self.lock = threading.Lock()

    def fail(self, name, message):
        with self.lock:
            self.failures.append((name, message))
        print("FAIL %s: %s" % (name, message))
        sys.stdout.flush()

    def run_case(self, case):
        label = "%s/%s" % (case.group, case.name)
        cluster = self.cluster
        if case.accept:
            self.accepted_total += 1
        else:
            self.rejected_total += 1
        before = cluster.state()
        payload = case.send() if callable(case.send) else case.send
        try:
            result = exchange(case.port or cluster.api_port, payload, delay=case.delay,
                              shutdown=case.shutdown, abort=case.abort, timeout=case.timeout,
                              read_all=case.read_all)
        except OSError as error:
            self.fail(label, "connecting/sending failed: %s" % error)
            return
        problems = []
        if case.accept:
            if result.status != 202:
                problems.append("expected 202, got " + result.describe())
        elif not case.abort:
            allowed = case.status if isinstance(case.status, tuple) else \
                (() if case.status is None else (case.status,))
            if result.status is None:
                if not case.close_ok:
                    problems.append("expected HTTP %s, got %s" % (
                        "/".join(map(str, allowed)), result.describe()))
            elif result.status not in allowed:
                problems.append("expected %s, got %s" % (
                    "/".join(map(str, allowed)) or "the connection closed", result.describe()))
            elif case.api:
                problem = check_error_document(result, case.code, case.field)
                if problem:
                    problems.append(problem)
            if result.status is not None and 200 <= result.status < 300:
                problems.append("a hostile request was answered with success")
        if case.verify and not problems:
            try:
                problem = case.verify(result)
            except Exception as error:  # a verify bug is a failure too
                problem = "verify raised %r" % error
            if problem:
                problems.append(problem)
        dead = cluster.alive()
        if dead:
            problems.append("server not alive afterwards: " + dead)
        after = cluster.state()
        if case.accept:
            expected = dict(before)
            expected["stream"] = str(int(before["stream"]) + 1)
            if after != expected:
                problems.append("state %r -> %r, expected exactly one more stream entry"
                                % (before, after))
            elif case.normalised:
                last = cluster.redis("XREVRANGE", STREAM, "+", "-", "COUNT", "1").splitlines()
                body = last[last.index("body") + 1] if "body" in last else None
                problem = case.normalised(json.loads(body)) if body else "no body in entry"
                if problem:
                    problems.append("queued body %s: %s" % (body, problem))
        elif after != before:
            problems.append("state changed: %r -> %r" % (before, after))
        if problems:
            self.fail(label, "; ".join(problems))
        elif not case.accept:
            self.rejected_passed += 1


# ---- building the case list -----------------------------------------------------------------------

def build_cases(ctx):
    A, B = ctx["token_a"], ctx["token_b"]
    OFFICE, C = ctx["token_office"], ctx["token_c"]
    SA, SB = ctx["school_a"], ctx["school_b"]
    cases = []

    def add(*args, **kwargs):
        cases.append(Case(*args, **kwargs))

    def sub(values, school=SA, period="2024", extra=None):
        document = {"school": school, "period": period, "values": values}
        document.update(extra or {})
        return json.dumps(document)

    def post(body, token=A, content_type="application/json", headers=(), **kwargs):
        return request_bytes("POST", "/v1/submissions", body=body, token=token,
                             content_type=content_type, headers=headers, **kwargs)

    def post_raw(body_bytes, token=A):
        return post(body_bytes, token=token)

    def get(path, token=None, headers=()):
        return request_bytes("GET", path, token=token, headers=headers)

    valid = sub({"students": 812})
    head_auth = ("POST /v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\n" % A).encode()

    # -- request line --------------------------------------------------------------------
    g = "request-line"
    add(g, "garbage", b"HELLO WORLD\r\n\r\n", status=400, close_ok=True)
    add(g, "no-version", b"GET /healthz\r\n\r\n", status=400, close_ok=True)
    add(g, "http-2.0", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", status=(400, 505), close_ok=True)
    add(g, "http-9.9", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", status=(400, 505), close_ok=True)
    add(g, "lowercase-method", b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", status=(400, 405, 501),
        close_ok=True)
    add(g, "control-char-method", b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        status=(400, 501), close_ok=True)
    add(g, "5000-byte-method", b"A" * 5000 + b" /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        status=(400, 501), close_ok=True)
    add(g, "tab-separated", b"GET\t/healthz\tHTTP/1.1\r\nHost: x\r\n\r\n", status=400, close_ok=True)
    add(g, "nul-in-path", b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n", status=(400, 404),
        close_ok=True)
    add(g, "uri-600-bytes", get("/" + "a" * 600), status=414, code="bad_path")
    add(g, "uri-20k-bytes", get("/" + "a" * 20000), status=(400, 414, 431), close_ok=True)
    add(g, "empty-lines-then-eof", b"\r\n\r\n", status=400, close_ok=True, shutdown=True)
    add(g, "bare-cr-line-ends", b"GET /healthz HTTP/1.1\rHost: x\r\r", status=400,
        close_ok=True, shutdown=True)
    add(g, "bad-percent-escape", get("/v1/districts/%zz/snapshot"), status=(400, 404), api=True)
    add(g, "raw-utf8-in-path", get(b"/v1/districts/\xe4\xb8\xad/snapshot"), status=(400, 404),
        api=True)
    add(g, "space-in-path", b"GET /v1/districts/yinchuan xingqing HTTP/1.1\r\nConnection: close\r\n\r\n",
        status=(400, 404), close_ok=True)
    add(g, "absolute-form-forged-token",
        request_bytes("POST", "http://evil.example/v1/submissions", body=valid, token="f" * 64),
        status=401, code="unauthorized")

    def pipelined_second_is_400(result):
        statuses = re.findall(rb"HTTP/1\.[01] (\d{3})", result.raw)
        if statuses[:1] != [b"200"] or b"400" not in statuses[1:]:
            return "pipelined GET then garbage: statuses %r" % statuses
        return None
    add(g, "pipelined-garbage-after-valid",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nXYZZY\r\n\r\n", status=200,
        read_all=True, verify=pipelined_second_is_400)
    cases[-1].hostile_ok_200 = True

    # -- headers ---------------------------------------------------------------------------
    g = "headers"
    add(g, "header-without-colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
        status=400, close_ok=True)
    add(g, "fold-before-first-header", b"GET /healthz HTTP/1.1\r\n folded\r\nHost: x\r\n\r\n",
        status=400, close_ok=True)
    add(g, "one-20k-header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
        status=(400, 413, 431), close_ok=True)
    add(g, "3000-headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(3000)) + b"\r\n",
        status=(400, 413, 431), close_ok=True)
    add(g, "20k-header-on-submission", post(valid, headers=[("X-Pad", "p" * 20000)]),
        status=(400, 413, 431), close_ok=True)
    add(g, "20k-authorization", post(valid, token="t" * 20000), status=(400, 401, 413, 431),
        close_ok=True)
    body = valid.encode()
    add(g, "conflicting-content-lengths",
        head_auth + b"Content-Length: %d\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        % len(body) + body, status=400, close_ok=True)
    add(g, "conflicting-content-lengths-reversed",
        head_auth + b"Content-Length: 3\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % len(body) + body, status=400, close_ok=True)
    add(g, "negative-content-length", head_auth + b"Content-Length: -5\r\n\r\n" + body,
        status=400, close_ok=True)
    add(g, "non-numeric-content-length", head_auth + b"Content-Length: 12abc\r\n\r\n" + body,
        status=400, close_ok=True)
    add(g, "hex-content-length", head_auth + b"Content-Length: 0x10\r\n\r\n" + b"x" * 16,
        status=400, close_ok=True)
    add(g, "spaced-content-length", head_auth + b"Content-Length: 1 0\r\n\r\n" + b"x" * 10,
        status=400, close_ok=True)
    add(g, "transfer-encoding-gzip", head_auth + b"Transfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
        status=(400, 501), close_ok=True)
    add(g, "transfer-encoding-and-content-length",
        head_auth + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        status=400, close_ok=True)
    add(g, "transfer-encoding-chunked-twice",
        head_auth + b"Transfer-Encoding: chunked, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        status=(400, 501), close_ok=True)
    add(g, "unknown-expectation", post(valid, headers=[("Expect", "999-whatever")]),
        status=417, close_ok=True)
    add(g, "idempotency-key-300-chars", post(valid, headers=[("Idempotency-Key", "k" * 300)]),
        status=400, code="invalid_header", field="Idempotency-Key")
    add(g, "idempotency-key-control-char", post(valid, headers=[("Idempotency-Key", "a\x01b")]),
        status=400, code="invalid_header", field="Idempotency-Key")
    add(g, "idempotency-key-non-ascii", post(valid, headers=[("Idempotency-Key", b"\xe4\xb8\xad")]),
        status=400, code="invalid_header", field="Idempotency-Key")
    add(g, "content-type-text-plain", post(valid, content_type="text/plain"), status=415,
        code="unsupported_media_type")
    add(g, "no-content-type", post(valid, content_type=None), status=415,
        code="unsupported_media_type")
    add(g, "content-type-jsonp", post(valid, content_type="application/jsonp"), status=415,
        code="unsupported_media_type")
    add(g, "content-type-multipart", post(valid, content_type="multipart/form-data; boundary=x"),
        status=415, code="unsupported_media_type")
    add(g, "content-type-json-prefix-trick", post(valid, content_type="application/json-evil"),
        status=415, code="unsupported_media_type")

    # -- tokens and authority -------------------------------------------------------------------
    g = "auth"
    add(g, "no-authorization", post(valid, token=None), status=401, code="unauthorized")
    add(g, "bearer-empty", post(valid, headers=[("Authorization", "Bearer")], token=None),
        status=401, code="unauthorized")
    add(g, "bearer-spaces", post(valid, headers=[("Authorization", "Bearer     ")], token=None),
        status=401, code="unauthorized")
    add(g, "basic-scheme", post(valid, headers=[("Authorization", "Basic " + A)], token=None),
        status=401, code="unauthorized")
    add(g, "token-without-scheme", post(valid, headers=[("Authorization", A)], token=None),
        status=401, code="unauthorized")
    add(g, "forged-64-hex", post(valid, token="%064x" % random.getrandbits(256)), status=401,
        code="unauthorized")
    add(g, "token-300-chars", post(valid, token="a" * 300), status=401, code="unauthorized")
    add(g, "token-with-del-char", post(valid, token=A[:10] + "\x7f" + A[11:]), status=401,
        code="unauthorized")
    add(g, "token-with-trailing-garbage", post(valid, token=A + "x"), status=401,
        code="unauthorized")
    add(g, "token-truncated", post(valid, token=A[:-1]), status=401, code="unauthorized")
    add(g, "token-uppercased", post(valid, token=A.upper()), status=401, code="unauthorized")
    add(g, "stored-hash-as-token", post(valid, token=hashlib.sha256(A.encode()).hexdigest()),
        status=401, code="unauthorized")
    add(g, "forged-then-real-authorization",
        post(valid, token="f" * 64, headers=[("Authorization", "Bearer " + A)]),
        status=(400, 401), api=True)
    add(g, "another-schools-id", post(sub({"students": 5}, school=SB)), status=403,
        code="forbidden", field="school")
    add(g, "unregistered-school-id", post(sub({"students": 5}, school="xq-nobody")), status=403,
        code="forbidden", field="school")
    add(g, "school-in-other-district", post(sub({"students": 5}, school=ctx["school_c"])),
        status=403, code="forbidden", field="school")
    add(g, "office-token-other-district", post(sub({"students": 5}, school=ctx["school_c"]),
                                                token=OFFICE), status=403, code="forbidden")
    add(g, "kindergarten-element-from-primary", post(sub({"kg_children": 5})), status=403,
        code="element_not_allowed", field="values.kg_children")
    add(g, "office-element-from-school", post(sub({"population_age_3_5": 5})), status=403,
        code="element_not_allowed", field="values.population_age_3_5")
    add(g, "school-token-registers-school",
        request_bytes("POST", "/v1/schools", token=A, body=json.dumps(
            {"id": "xq-evil", "name": "evil", "district": DISTRICT, "stage": "primary",
             "ownership": "public"})), status=403, code="forbidden")
    add(g, "no-token-registers-school",
        request_bytes("POST", "/v1/schools", body=json.dumps(
            {"id": "xq-evil", "name": "evil", "district": DISTRICT, "stage": "primary",
             "ownership": "public"})), status=401, code="unauthorized")
    add(g, "school-token-rotates-other-token",
        request_bytes("POST", "/v1/schools/%s/token" % SB, token=A, body=""), status=403,
        code="forbidden", verify=lambda r: ctx["still_valid"](SB, B))
    add(g, "admin-token-plus-one-char-lists-schools",
        get("/v1/districts/%s/schools" % DISTRICT, token=ADMIN_TOKEN + "x"), status=403,
        code="forbidden")
    add(g, "admin-token-prefix-lists-schools",
        get("/v1/districts/%s/schools" % DISTRICT, token=ADMIN_TOKEN[:-1]), status=403,
        code="forbidden")
    add(g, "status-of-other-schools-submission",
        get("/v1/submissions/" + ctx["accepted_id"], token=B), status=404,
        code="unknown_submission")
    add(g, "status-with-forged-token", get("/v1/submissions/" + ctx["accepted_id"], token="f" * 64),
        status=401, code="unauthorized")
    add(g, "status-without-token", get("/v1/submissions/" + ctx["accepted_id"]), status=401,
        code="unauthorized")

    # -- sizes, truncation ---------------------------------------------------------------------
    g = "size"
    add(g, "content-length-5MB-no-body", head_auth + b"Content-Length: 5000000\r\n\r\n",
        status=413, close_ok=True)
    add(g, "content-length-2^64", head_auth + b"Content-Length: 18446744073709551617\r\n\r\n",
        status=(400, 413), close_ok=True)
    add(g, "content-length-20-digits", head_auth + b"Content-Length: 99999999999999999999\r\n\r\n",
        status=(400, 413), close_ok=True)
    big = sub({"students": 1}, extra={"pad": "x" * (1536 * 1024)})
    add(g, "real-body-1.5MB", post(big), status=413, code="body_too_large", timeout=20)
    huge = sub({"students": 1}, extra={"pad": "x" * (5 * 1024 * 1024)})
    add(g, "real-body-5MB", post(huge), status=413, close_ok=True, timeout=20)
    add(g, "registration-body-70KB",
        request_bytes("POST", "/v1/schools", token=ADMIN_TOKEN, body=json.dumps(
            {"id": "xq-big", "name": "n" * 70000, "district": DISTRICT, "stage": "primary",
             "ownership": "public"})), status=413, code="body_too_large")
    add(g, "empty-body", post(""), status=400, code="malformed_json")
    add(g, "truncated-body-then-half-close",
        head_auth + b"Content-Length: 200\r\n\r\n" + body[:20], status=400, close_ok=True,
        shutdown=True)
    add(g, "complete-json-but-short-of-content-length",
        head_auth + b"Content-Length: %d\r\n\r\n" % (len(body) + 10) + body, status=400,
        close_ok=True, shutdown=True)
    add(g, "truncated-body-then-reset",
        head_auth + b"Content-Length: %d\r\n\r\n" % len(body) + body[:len(body) // 2], abort=True)
    add(g, "headers-only-then-reset", head_auth + b"Content-Length: 50\r\n\r\n", abort=True)
    add(g, "half-request-line-then-reset", b"POST /v1/subm", abort=True)

    # -- chunked ---------------------------------------------------------------------------------
    g = "chunked"
    chunked = head_auth + b"Transfer-Encoding: chunked\r\n\r\n"
    # libevent answers a corrupt chunk with 413 (it maps "corrupted" to "too long").
    add(g, "chunk-size-not-hex", chunked + b"ZZ\r\nabc\r\n0\r\n\r\n", status=(400, 413), close_ok=True)
    add(g, "chunk-size-2^64-1", chunked + b"FFFFFFFFFFFFFFFF\r\nabc\r\n", status=(400, 413),
        close_ok=True)
    add(g, "chunk-size-overflow", chunked + b"1FFFFFFFFFFFFFFFFFF\r\nabc\r\n", status=(400, 413),
        close_ok=True)
    add(g, "chunk-size-negative", chunked + b"-5\r\nabc\r\n", status=(400, 413), close_ok=True)
    add(g, "chunk-size-100MB", chunked + b"6000000\r\nabc\r\n", status=413, close_ok=True)
    add(g, "chunk-data-longer-than-size", chunked + b"2\r\n{}xxxxxxxx\r\n0\r\n\r\n",
        status=(400, 413), close_ok=True)
    add(g, "chunk-size-empty-line", chunked + b"\r\n{}\r\n0\r\n\r\n", status=(400, 413),
        close_ok=True)
    add(g, "missing-last-chunk",
        chunked + b"%x\r\n" % len(body) + body + b"\r\n", status=400, close_ok=True,
        shutdown=True)
    add(g, "missing-final-crlf",
        chunked + b"%x\r\n" % len(body) + body + b"\r\n0\r\n", status=400, close_ok=True,
        shutdown=True)
    add(g, "chunk-cut-mid-data",
        chunked + b"%x\r\n" % (len(body) + 40) + body, status=400, close_ok=True, shutdown=True)
    add(g, "chunks-total-1.5MB",
        chunked + b"".join(b"10000\r\n" + b" " * 0x10000 + b"\r\n" for _ in range(24))
        + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n",
        status=413, code="body_too_large", timeout=20)
    add(g, "chunks-total-5MB",
        chunked + b"".join(b"100000\r\n" + b" " * 0x100000 + b"\r\n" for _ in range(5))
        + b"0\r\n\r\n", status=413, close_ok=True, timeout=20)
    many = sub({"no_such_element": 1}).encode()
    add(g, "4000-one-byte-chunks",
        chunked + b"".join(b"1\r\n" + many[i:i + 1] + b"\r\n" for i in range(len(many)))
        + b" " * 0 + b"".join(b"1\r\n \r\n" for _ in range(4000 - len(many))) + b"0\r\n\r\n",
        status=422, code="unknown_element")

    # -- JSON shape ------------------------------------------------------------------------------
    g = "json"
    add(g, "not-json", post("hello"), status=400, code="malformed_json")
    add(g, "truncated-json", post('{"school":"%s","period":"2024","values":{"students":' % SA),
        status=400, code="malformed_json")
    add(g, "array-root", post("[1,2,3]"), status=400, code="invalid_shape")
    add(g, "string-root", post('"school"'), status=400, code="invalid_shape")
    add(g, "number-root", post("2024"), status=400, code="invalid_shape")
    add(g, "null-root", post("null"), status=400, code="invalid_shape")
    add(g, "trailing-garbage", post(valid + "xyz"), status=400, code="malformed_json")
    add(g, "two-documents", post(valid + valid), status=400, code="malformed_json")
    add(g, "depth-9-in-values",
        post('{"school":"%s","period":"2024","values":{"students":%s1%s}}' % (SA, "[" * 7, "]" * 7)),
        status=400, code="too_deep")
    add(g, "depth-100000", post("[" * 100000 + "]" * 100000), status=400, code="too_deep")
    add(g, "depth-100000-unclosed", post('{"a":' + "[" * 100000), status=400, code="too_deep")
    add(g, "depth-in-unknown-field",
        post('{"school":"%s","period":"2024","values":{"students":1},"x":%s%s}'
             % (SA, "{\"a\":" * 20, "}" * 20)), status=400, code="too_deep")
    add(g, "brackets-inside-a-key", post(sub({"[[[[[[[[[[[[": 1})), status=422,
        code="unknown_element")
    add(g, "escaped-quote-then-brackets",
        post('{"school":"%s","period":"2024","values":{"\\"[[[[[[[[[[[[":1}}' % SA),
        status=422, code="unknown_element")
    add(g, "unknown-top-level-field", post(sub({"students": 1}, extra={"comment": "x"})),
        status=400, code="unknown_field")
    add(g, "missing-school", post(json.dumps({"period": "2024", "values": {"students": 1}})),
        status=400, code="invalid_shape", field="school")
    add(g, "school-number", post(sub({"students": 1}, school=12)), status=400,
        code="invalid_shape", field="school")
    add(g, "school-null", post(sub({"students": 1}, school=None)), status=400,
        code="invalid_shape", field="school")
    add(g, "school-array", post(sub({"students": 1}, school=[SA])), status=400,
        code="invalid_shape", field="school")
    add(g, "school-65-chars", post(sub({"students": 1}, school="x" * 65)), status=422,
        code="invalid_id", field="school")
    add(g, "school-empty", post(sub({"students": 1}, school="")), status=422, code="invalid_id")
    add(g, "school-path-traversal", post(sub({"students": 1}, school=SA + "/../" + SB)),
        status=422, code="invalid_id")
    add(g, "school-with-escaped-nul",
        post('{"school":"%s\\u0000evil","period":"2024","values":{"students":1}}' % SA),
        status=(400, 422), api=True)  # any code: invalid_id, invalid_string...
    add(g, "school-with-raw-newline",
        post('{"school":"%s\n","period":"2024","values":{"students":1}}' % SA),
        status=(400, 422), api=True)
    add(g, "school-bad-utf8",
        post(b'{"school":"xq-\xff\xfe","period":"2024","values":{"students":1}}'),
        status=422, code="invalid_id")
    add(g, "school-overlong-utf8-slash",
        post(b'{"school":"xq-h-a\xc0\xafx","period":"2024","values":{"students":1}}'),
        status=422, code="invalid_id")
    add(g, "period-number", post(sub({"students": 1}, period=2024)), status=400,
        code="invalid_shape", field="period")
    add(g, "period-two-digits", post(sub({"students": 1}, period="24")), status=422,
        code="invalid_period")
    add(g, "period-1999", post(sub({"students": 1}, period="1999")), status=422,
        code="invalid_period")
    add(g, "period-2101", post(sub({"students": 1}, period="2101")), status=422,
        code="invalid_period")
    add(g, "period-fullwidth-digits", post(sub({"students": 1}, period="２０２４")), status=422,
        code="invalid_period")
    add(g, "period-trailing-space", post(sub({"students": 1}, period="2024 ")), status=422,
        code="invalid_period")
    add(g, "period-escaped-nul", post('{"school":"%s","period":"2024\\u0000","values":{"students":1}}'
                                      % SA), status=(400, 422), api=True)
    add(g, "period-missing", post(json.dumps({"school": SA, "values": {"students": 1}})),
        status=400, code="invalid_shape", field="period")
    add(g, "values-array", post(sub([["students", 1]])), status=400, code="invalid_shape",
        field="values")
    add(g, "values-missing", post(json.dumps({"school": SA, "period": "2024"})), status=400,
        code="invalid_shape", field="values")
    add(g, "values-empty", post(sub({})), status=422, code="no_values")
    add(g, "513-values", post(sub({"e%d" % i: 1 for i in range(513)})), status=422,
        code="too_many_values")
    add(g, "unknown-element", post(sub({"students": 1, "bogus": 2})), status=422,
        code="unknown_element", field="values.bogus")
    add(g, "duplicate-element",
        post('{"school":"%s","period":"2024","values":{"students":1,"students":2}}' % SA),
        status=422, code="duplicate_element")
    add(g, "duplicate-school-own-then-other",
        post('{"school":"%s","school":"%s","period":"2024","values":{"students":3}}' % (SA, SB)),
        status=400, api=True)
    add(g, "duplicate-school-other-then-own",
        post('{"school":"%s","school":"%s","period":"2024","values":{"students":3}}' % (SB, SA)),
        status=(400, 403), api=True)
    add(g, "duplicate-period",
        post('{"school":"%s","period":"2024","period":"2023","values":{"students":3}}' % SA),
        status=400, api=True)
    add(g, "duplicate-values-object",
        post('{"school":"%s","period":"2024","values":{"students":3},"values":{"classes":1}}'
             % SA), status=400, api=True)
    add(g, "element-key-with-escaped-nul",
        post('{"school":"%s","period":"2024","values":{"students\\u0000x":1}}' % SA),
        status=(400, 422), api=True)
    add(g, "element-key-bad-utf8",
        post(b'{"school":"xq-h-a","period":"2024","values":{"stu\xff\xfedents":1}}'),
        status=422, code="unknown_element")
    add(g, "element-key-utf8-cut-at-64-bytes",
        post(sub({"a" * 63 + "中文": 1})), status=422, code="unknown_element")
    add(g, "element-key-long-utf8", post(sub({"中" * 60: 1})), status=422, code="unknown_element")
    add(g, "unknown-field-bad-utf8",
        post(b'{"school":"xq-h-a","period":"2024","values":{"students":1},"x\xff":1}'),
        status=400, code="unknown_field")
    add(g, "lone-high-surrogate", post('{"school":"%s\\ud800","period":"2024","values":{"students":1}}'
                                       % SA), status=(400, 422), api=True)
    add(g, "lone-low-surrogate", post('{"school":"%s","period":"2024","values":{"\\udc00":1}}' % SA),
        status=(400, 422), api=True)

    # -- values ----------------------------------------------------------------------------------
    g = "values"

    def value_case(name, literal, status, code, element="students"):
        add(g, name, post('{"school":"%s","period":"2024","values":{"%s":%s}}'
                          % (SA, element, literal)), status=status, code=code)
    value_case("integer-as-string", '"812"', 422, "invalid_value")
    value_case("integer-true", "true", 422, "invalid_value")
    value_case("integer-null", "null", 422, "invalid_value")
    value_case("integer-array", "[1]", 422, "invalid_value")
    value_case("integer-object", "{}", 422, "invalid_value")
    value_case("integer-fraction", "1.5", 422, "invalid_value")
    value_case("integer-negative", "-1", 422, "out_of_range")
    value_case("integer-over-max", "20001", 422, "out_of_range")
    value_case("1e309", "1e309", 422, "invalid_value")
    value_case("-1e309", "-1e309", 422, "invalid_value")
    value_case("NaN", "NaN", 400, "malformed_json")
    value_case("Infinity", "Infinity", 400, "malformed_json")
    value_case("-Infinity", "-Infinity", 400, "malformed_json")
    value_case("nan-lowercase", "nan", 400, "malformed_json")
    value_case("30-digit-integer", "123456789012345678901234567890", 422, "out_of_range")
    value_case("2^53+1", "9007199254740993", 422, "out_of_range")
    value_case("hex-literal", "0x10", 400, "malformed_json")
    value_case("leading-plus", "+5", 400, "malformed_json")
    value_case("leading-zeros", "007", 400, "malformed_json")
    value_case("leading-dot", ".5", 400, "malformed_json")
    value_case("bare-minus", "-", 400, "malformed_json")
    value_case("boolean-as-1", "1", 422, "invalid_value", element="has_labour_base")
    value_case("boolean-as-string", '"true"', 422, "invalid_value", element="has_labour_base")
    value_case("number-as-string", '"4100.5"', 422, "invalid_value", element="teaching_area_m2")
    value_case("number-below-min", "-0.001", 422, "out_of_range", element="teaching_area_m2")
    value_case("number-above-max", "200000.001", 422, "out_of_range", element="teaching_area_m2")
    value_case("number-1e308", "1e308", 422, "out_of_range", element="teaching_area_m2")
    add(g, "office-value-below-min",
        post(sub({"rank_in_city": 0}, school=ctx["school_office"]), token=OFFICE), status=422,
        code="out_of_range")
    add(g, "one-bad-among-good", post(sub({"students": 10, "classes": 5, "teaching_area_m2": -1})),
        status=422, code="out_of_range", field="values.teaching_area_m2")

    # -- static files and paths -----------------------------------------------------------------
    g = "paths"

    def no_file_leak(result):
        if b"root:" in result.raw or b"cmake_minimum_required" in result.raw:
            return "file contents leaked: %r" % result.raw[:200]
        return None
    for path in ["/assets/../../etc/passwd", "/assets/..%2f..%2fetc%2fpasswd",
                 "/assets/%2e%2e/%2e%2e/CMakeLists.txt", "/assets/.htaccess", "/assets/",
                 "/../../../../etc/passwd", "/assets//etc/passwd", "/assets/app.js%00.png",
                 b"/assets/..\\..\\etc\\passwd", "/index.html/../../etc/passwd",
                 "/%2e%2e/%2e%2e/etc/passwd", "/assets/" + "a" * 101 + ".js",
                 "/v1/../../CMakeLists.txt", "/assets/..", "/assets/.%2e/CMakeLists.txt",
                 "/web/index.html"]:
        name = (path if isinstance(path, str) else path.decode("latin-1"))[:48]
        add(g, "static " + name, get(path), status=(400, 404), api=True, verify=no_file_leak)
    add(g, "unknown-district-snapshot", get("/v1/districts/nowhere/snapshot"), status=404,
        code="unknown_district")
    add(g, "district-traversal", get("/v1/districts/..%2f..%2fetc/snapshot"), status=404,
        code="unknown_district")
    add(g, "snapshot-period-letters", get("/v1/districts/%s/snapshot?period=abcd" % DISTRICT),
        status=422, code="invalid_period")
    add(g, "snapshot-period-20-digits",
        get("/v1/districts/%s/snapshot?period=99999999999999999999" % DISTRICT), status=422,
        code="invalid_period")
    add(g, "snapshot-wait-huge",
        get("/v1/districts/%s/snapshot?period=2024&wait=99999999999" % DISTRICT), status=422,
        code="invalid_wait")
    add(g, "snapshot-wait-negative",
        get("/v1/districts/%s/snapshot?period=2024&wait=-1" % DISTRICT), status=422,
        code="invalid_wait")
    add(g, "history-without-indicator", get("/v1/districts/%s/history" % DISTRICT), status=422,
        api=True)
    add(g, "history-unknown-indicator",
        get("/v1/districts/%s/history?indicator=nope" % DISTRICT), status=(404, 422), api=True)
    add(g, "submission-id-garbage", get("/v1/submissions/..%2f..", token=A), status=404,
        code="unknown_submission")
    add(g, "submission-id-overflow", get("/v1/submissions/99999999999999999999999-1", token=A),
        status=404, code="unknown_submission")
    add(g, "submission-id-nonexistent", get("/v1/submissions/1-1", token=A), status=404,
        code="unknown_submission")
    add(g, "seven-segments", get("/v1/a/b/c/d/e/f"), status=404, code="not_found")

    # -- registration (admin) ---------------------------------------------------------------------
    g = "registration"

    def register(document, token=ADMIN_TOKEN):
        return request_bytes("POST", "/v1/schools", token=token,
                             body=document if isinstance(document, (bytes, str)) else json.dumps(document))

    def school(**overrides):
        document = {"id": "xq-h-new", "name": "新学校", "district": DISTRICT, "stage": "primary",
                    "ownership": "public"}
        document.update(overrides)
        return document
    add(g, "name-bad-utf8", register(json.dumps(school(name="@@")).encode()
                                     .replace(b"@@", b"\xff\xfe")), status=422, code="invalid_name")
    add(g, "name-control-char", register(school(name="a\u0007b")), status=422, code="invalid_name")
    add(g, "name-201-bytes", register(school(name="n" * 201)), status=422, code="invalid_name")
    add(g, "name-67-chinese-chars", register(school(name="中" * 67)), status=422,
        code="invalid_name")
    add(g, "name-overlong-utf8", register(json.dumps(school(name="@@")).encode()
                                          .replace(b"@@", b"\xc0\xaf")), status=422,
        code="invalid_name")
    add(g, "name-utf8-surrogate", register(json.dumps(school(name="@@")).encode()
                                           .replace(b"@@", b"\xed\xa0\x80")), status=422,
        code="invalid_name")
    add(g, "name-above-u10ffff", register(json.dumps(school(name="@@")).encode()
                                          .replace(b"@@", b"\xf4\x90\x80\x80")), status=422,
        code="invalid_name")
    add(g, "name-empty", register(school(name="")), status=422, code="invalid_name")
    add(g, "id-65-chars", register(school(id="x" * 65)), status=422, code="invalid_id")
    add(g, "id-with-space", register(school(id="xq h")), status=422, code="invalid_id")
    add(g, "id-with-slash", register(school(id="../xq")), status=422, code="invalid_id")
    add(g, "id-number", register(school(id=5)), status=400, code="invalid_shape")
    add(g, "unknown-district", register(school(district="atlantis")), status=422,
        code="unknown_district")
    add(g, "unknown-stage", register(school(stage="university")), status=422,
        code="unknown_stage")
    add(g, "unknown-ownership", register(school(ownership="mixed")), status=422,
        code="unknown_ownership")
    add(g, "deep-json", register('{"id":' + "[" * 50 + "]" * 50 + "}"), status=400,
        code="too_deep")
    add(g, "not-json", register("id=xq-h-new"), status=400, code="malformed_json")
    add(g, "existing-id", register(school(id=SA)), status=409, code="school_exists",
        verify=lambda r: ctx["still_valid"](SA, A))
    add(g, "rotate-unknown-school",
        request_bytes("POST", "/v1/schools/xq-nobody/token", token=ADMIN_TOKEN, body=""),
        status=404, code="unknown_school")
    add(g, "rotate-invalid-id",
        request_bytes("POST", "/v1/schools/%2e%2e/token", token=ADMIN_TOKEN, body=""),
        status=404, code="unknown_school")

    # -- methods -----------------------------------------------------------------------------------
    g = "methods"
    for method in ["BREW", "TRACE", "CONNECT", "PROPFIND", "M-SEARCH"]:
        add(g, method, ("%s /v1/submissions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        % method).encode(), status=(400, 405, 501), close_ok=True)
    for method, path in [("PUT", "/v1/submissions"), ("DELETE", "/v1/submissions"),
                         ("PATCH", "/v1/schools"), ("OPTIONS", "/v1/submissions"),
                         ("POST", "/healthz"), ("DELETE", "/v1/districts/" + DISTRICT),
                         ("PUT", "/v1/districts/%s/snapshot" % DISTRICT),
                         ("GET", "/v1/submissions"), ("GET", "/v1/schools")]:
        add(g, "%s %s" % (method, path), request_bytes(method, path, token=A, body=valid),
            status=405, code="method_not_allowed")

    def head_has_no_body(result):
        # The HEAD answer must carry no body: the next bytes on the connection are the next
        # response's status line.
        parts = result.raw.split(b"\r\n\r\n", 1)
        if len(parts) < 2 or not parts[1].startswith(b"HTTP/1.1 200"):
            return "bytes after the HEAD answer are not the next response: %r" % (
                parts[1][:80] if len(parts) > 1 else result.raw[:200])
        return None
    for path in ["/healthz", "/assets/app.js", "/v1/submissions"]:
        add(g, "HEAD %s then GET on one connection" % path,
            ("HEAD %s HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n" % path).encode(),
            status=(200, 405), read_all=True, verify=head_has_no_body)
        cases[-1].hostile_ok_200 = True
    return cases


# ---- slow clients -----------------------------------------------------------------------------------

def slowloris_served_meanwhile(suite):
    """Headers byte by byte (30 ms apart) on 1 + 100 connections while normal requests keep
    being answered promptly; the byte-by-byte request itself is answered at the end."""
    cluster = suite.cluster
    label = "slow/byte-by-byte-headers-with-parallel-clients"
    suite.slow_total += 1
    before = cluster.state()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 40 + b"\r\nConnection: close\r\n\r\n"
    outcome = {}

    def slow():
        try:
            outcome["result"] = exchange(cluster.api_port, [request[i:i + 1] for i in range(len(request))],
                                         delay=0.03, timeout=30)
        except OSError as error:
            outcome["error"] = error
    crowd = []
    for _ in range(100):
        try:
            sock = socket.create_connection(("127.0.0.1", cluster.api_port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            crowd.append(sock)
        except OSError:
            break
    thread = threading.Thread(target=slow)
    thread.start()
    latencies = []
    problems = []
    while thread.is_alive():
        started = time.monotonic()
        result = exchange(cluster.api_port, request_bytes("GET", "/v1/districts"), timeout=5)
        latencies.append(time.monotonic() - started)
        if result.status != 200:
            problems.append("parallel GET /v1/districts: " + result.describe())
            break
        time.sleep(0.05)
    thread.join()
    for index, sock in enumerate(crowd):  # a byte more on each, then leave them hanging
        try:
            sock.sendall(b"s")
        except OSError:
            pass
    if len(crowd) < 100:
        problems.append("only %d of 100 slow connections could be opened" % len(crowd))
    if "error" in outcome or outcome["result"].status != 200:
        problems.append("the slow request itself: %s" % outcome.get("error") or outcome["result"].describe())
    if not latencies or max(latencies) > 0.5 * SCALE:
        problems.append("parallel requests were held up: %d answered, slowest %.3f s"
                        % (len(latencies), max(latencies or [0])))
    for sock in crowd:
        sock.close()
    if cluster.state() != before:
        problems.append("state changed")
    dead = cluster.alive()
    if dead:
        problems.append(dead)
    if problems:
        suite.fail(label, "; ".join(problems))
    print("     slowloris: %d parallel requests answered while 101 slow clients were connected "
          "(slowest %.1f ms)" % (len(latencies), 1000 * max(latencies or [0])))


class Background(threading.Thread):
    """A slow client that runs alongside the other cases."""

    def __init__(self, suite, name, function):
        super().__init__(daemon=True)
        self.suite, self.label, self.function = suite, name, function
        self.problem = None
        suite.slow_total += 1

    def run(self):
        try:
            self.problem = self.function()
        except Exception as error:
            self.problem = "raised %r" % error

    def finish(self):
        self.join(timeout=(SLOW_SECONDS + 30) * SCALE)
        if self.is_alive():
            self.suite.fail(self.label, "did not finish")
        elif self.problem:
            self.suite.fail(self.label, self.problem)


def idle_connection_closed(port):
    """A connection that never sends a byte must be closed by the server (its timeout)."""
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    limit = CONNECTION_TIMEOUT + 10
    sock.settimeout(limit)
    try:
        data = sock.recv(100)
    except socket.timeout:
        return "an idle connection was still open after %d s" % limit
    except ConnectionResetError:
        data = b""
    finally:
        sock.close()
    if data:
        return "an idle connection got data: %r" % data[:100]
    return None if time.monotonic() - started >= 1 else "closed suspiciously early"


def trickle_closed(port):
    """Headers trickled at a byte every 2 s (each byte resets an inactivity timer): the server
    must still close the connection once the request has taken longer than its timeout."""
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Trickle: ")
        while time.monotonic() - started < SLOW_SECONDS:
            time.sleep(2)
            try:
                sock.sendall(b"t")
            except (BrokenPipeError, ConnectionResetError):
                return None  # closed by the server: good
            sock.settimeout(0.01)
            try:
                if sock.recv(100) == b"":
                    return None
            except socket.timeout:
                pass
            except ConnectionResetError:
                return None
        return ("headers trickled for %.0f s (a byte every 2 s) and the connection was still "
                "open: no limit on the time to receive a request's headers (slowloris)"
                % (time.monotonic() - started))
    finally:
        sock.close()


def connection_cap_and_rate_limit(suite, ctx):
    """A second API with EDUMON_MAX_CONNECTIONS=8 and EDUMON_RATE_LIMIT=5: 40 idle connections
    must not all be taken on (the process holds at most the cap), and the 6th submission of a
    token within a minute gets 429 with Retry-After."""
    cluster = suite.cluster
    port = free_port()
    process = cluster.spawn("api2", [cluster.binary("edumon-api")],
                            cluster.env(port, EDUMON_MAX_CONNECTIONS=8, EDUMON_RATE_LIMIT=5))
    cluster.wait_ready(port, "api2")

    label = "limits/connection-cap"
    suite.slow_total += 1
    base = count_client_sockets(process.pid, port)
    held = []
    for _ in range(40):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            break
    time.sleep(1.0)
    taken = count_client_sockets(process.pid, port) - base
    for sock in held:
        sock.close()
    time.sleep(0.3)
    problems = []
    if taken > 8:
        problems.append("EDUMON_MAX_CONNECTIONS=8 but the API held %d client connections of 40 "
                        "(the cap is not enforced)" % taken)
    dead = cluster.alive(port, "api2")
    if dead:
        problems.append("after releasing them: " + dead)
    if problems:
        suite.fail(label, "; ".join(problems))

    label = "limits/rate-limit-429"
    suite.slow_total += 1
    before = cluster.state()
    statuses, problem = [], None
    for _ in range(8):
        result = exchange(port, request_bytes("POST", "/v1/submissions", token=ctx["token_c"],
                                              body=json.dumps({"school": ctx["school_c"], "period": "2024",
                                                               "values": {"no_such": 1}})))
        statuses.append(result.status)
        if result.status == 429:
            problem = check_error_document(result, "rate_limited", Ellipsis)
            retry = result.header("Retry-After") or ""
            if not problem and not (retry.isdigit() and int(retry) >= 1):
                problem = "429 without a usable Retry-After: %r" % retry
            break
    if 429 not in statuses:
        problem = "no 429 after %d submissions with a 5/min limit: %r" % (len(statuses), statuses)
    if cluster.state() != before:
        problem = (problem or "") + " state changed"
    if problem:
        suite.fail(label, problem)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def count_client_sockets(pid, port):
    """Established TCP connections to `port` whose socket the process `pid` holds."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if local_port == port and fields[3] == "01" and fields[9] in inodes:
                        count += 1
        except OSError:
            pass
    return count


# ---- set-up ---------------------------------------------------------------------------------------

def setup(cluster):
    def call(method, path, token=None, body=None):
        result = exchange(cluster.api_port, request_bytes(method, path, token=token,
                                                          body=None if body is None else json.dumps(body)))
        return result.status, (json.loads(result.body.decode()) if result.body else None)

    ctx = {}
    units = [("a", "xq-h-a", DISTRICT, "primary"), ("b", "xq-h-b", DISTRICT, "primary"),
             ("office", "xq-h-office", DISTRICT, "office"), ("c", "an-h-c", OTHER_DISTRICT, "primary")]
    for key, school_id, district, stage in units:
        status, document = call("POST", "/v1/schools", ADMIN_TOKEN, {
            "id": school_id, "name": "测试 " + school_id, "district": district, "stage": stage,
            "ownership": "public"})
        if status != 201:
            raise SystemExit("registering %s: %s %r" % (school_id, status, document))
        ctx["school_" + key] = school_id
        ctx["token_" + key] = document["token"]
    status, document = call("POST", "/v1/submissions", ctx["token_a"],
                            {"school": ctx["school_a"], "period": "2024", "values": {"students": 100}})
    if status != 202:
        raise SystemExit("control submission: %s %r" % (status, document))
    ctx["accepted_id"] = document["id"]
    deadline = time.monotonic() + 20 * SCALE
    while True:
        status, document = call("GET", "/v1/submissions/" + ctx["accepted_id"], ctx["token_a"])
        if status == 200 and document.get("status") == "applied":
            break
        if time.monotonic() > deadline:
            raise SystemExit("control submission never applied: %r" % document)
        time.sleep(0.1)

    def still_valid(school_id, token):
        stored = cluster.redis("HGET", "edumon:tokens", hashlib.sha256(token.encode()).hexdigest())
        return None if stored == school_id else "the token of %s no longer works (%r)" % (school_id, stored)
    ctx["still_valid"] = still_valid
    return ctx


def accepted_cases(ctx):
    """Valid edge inputs: they must be accepted and normalised, not refused."""
    A, SA = ctx["token_a"], ctx["school_a"]

    def post(literal, element="students"):
        return request_bytes("POST", "/v1/submissions", token=A,
                             body='{"school":"%s","period":"2023","values":{"%s":%s}}'
                                  % (SA, element, literal))

    def value_is(element, expected):
        def check(document):
            value = document["values"].get(element)
            if value != expected or isinstance(value, bool) != isinstance(expected, bool):
                return "values.%s is %r, expected %r" % (element, value, expected)
            return None
        return check
    g = "accepted"
    cases = [
        Case(g, "minus-zero", post("-0"), accept=True, normalised=value_is("students", 0)),
        Case(g, "integer-written-1e3", post("1e3"), accept=True,
             normalised=value_is("students", 1000)),
        Case(g, "integer-written-20000.0", post("20000.0"), accept=True,
             normalised=value_is("students", 20000)),
        Case(g, "tiny-underflows-to-zero", post("1e-400", "teaching_area_m2"), accept=True,
             normalised=value_is("teaching_area_m2", 0)),
        Case(g, "lowercase-bearer-scheme",
             request_bytes("POST", "/v1/submissions", headers=[("Authorization", "bearer " + A)],
                           body='{"school":"%s","period":"2023","values":{"classes":7}}' % SA),
             accept=True, normalised=value_is("classes", 7)),
    ]
    body = ('{"school":"%s","period":"2023","values":{"has_labour_base":true}}' % SA).encode()
    head = ("POST /v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            % A).encode()
    # RFC 8259 section 8.1: a parser MAY ignore a byte order mark.
    cases.append(Case(g, "utf8-bom-before-json", request_bytes(
        "POST", "/v1/submissions", token=A,
        body=b"\xef\xbb\xbf" + ('{"school":"%s","period":"2023","values":{"classes":9}}' % SA).encode()),
        accept=True, normalised=value_is("classes", 9)))
    cases.append(Case(g, "chunked-body-in-pieces",
                      head + b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                                      for i in range(0, len(body), 7)) + b"0\r\n\r\n",
                      accept=True, normalised=value_is("has_labour_base", True)))
    return cases


# ---- main -------------------------------------------------------------------------------------------

def main():
    started = time.monotonic()
    cluster = Cluster()
    suite = Suite(cluster)
    ok = False
    try:
        cluster.start()
        ctx = setup(cluster)
        background = [Background(suite, "slow/idle-connection-closed",
                                 lambda: idle_connection_closed(cluster.api_port)),
                      Background(suite, "slow/trickled-headers-closed",
                                 lambda: trickle_closed(cluster.api_port))]
        for thread in background:
            thread.start()
        cases = build_cases(ctx)
        for case in cases:
            if getattr(case, "hostile_ok_200", False):
                run_ok_200(suite, case)
            else:
                suite.run_case(case)
        for case in accepted_cases(ctx):
            suite.run_case(case)
        slowloris_served_meanwhile(suite)
        connection_cap_and_rate_limit(suite, ctx)
        for thread in background:
            thread.finish()
        # Still fully working: a normal submission is accepted and applied.
        final = exchange(cluster.api_port, request_bytes(
            "POST", "/v1/submissions", token=ctx["token_b"],
            body=json.dumps({"school": ctx["school_b"], "period": "2024", "values": {"students": 7}})))
        if final.status != 202:
            suite.fail("final/valid-submission", final.describe())
        ok = True
    except SystemExit as error:
        suite.fail("setup", str(error))
    except Exception:
        suite.fail("suite", traceback.format_exc())
    finally:
        statuses = cluster.stop()
        for name, status in statuses.items():
            if name != "redis" and status not in (0, -signal.SIGTERM):
                suite.fail("exit/" + name, "exit status %s%s" % (
                    status, " (valgrind found errors)" if status == 99 else ""))
        if VALGRIND:
            for report in cluster.valgrind_report():
                suite.fail("valgrind", report)
    print("hostile cases: %d rejected-input cases (%d passed), %d accepted edge cases, "
          "%d slow-client/limit cases; %d failures; %.1f s%s"
          % (suite.rejected_total, suite.rejected_passed, suite.accepted_total, suite.slow_total,
             len(suite.failures), time.monotonic() - started, " (under valgrind)" if VALGRIND else ""))
    if suite.failures or not ok:
        print("logs kept in " + cluster.dir)
        for name in cluster.processes:
            print("---- %s log (tail)\n%s" % (name, cluster.log(name)[-1500:]))
        sys.exit(1)
    if os.environ.get("HOSTILE_KEEP") != "1":
        shutil.rmtree(cluster.dir, ignore_errors=True)
    sys.exit(0)


def run_ok_200(suite, case):
    """A case whose first answer is a legitimate 200 (pipelining checks): the generic runner
    would reject any 2xx, so it runs with the same state and liveness checks here."""
    label = "%s/%s" % (case.group, case.name)
    cluster = suite.cluster
    suite.rejected_total += 1
    before = cluster.state()
    result = exchange(cluster.api_port, case.send, read_all=case.read_all, timeout=case.timeout)
    problems = []
    if result.status not in (case.status if isinstance(case.status, tuple) else (case.status,)):
        problems.append("got " + result.describe())
    elif case.verify:
        problem = case.verify(result)
        if problem:
            problems.append(problem)
    dead = cluster.alive()
    if dead:
        problems.append(dead)
    if cluster.state() != before:
        problems.append("state changed")
    if problems:
        suite.fail(label, "; ".join(problems))
    else:
        suite.rejected_passed += 1


if __name__ == "__main__":
    main()
