#!/usr/bin/env python3
"""/metrics is valid Prometheus text (checked by promtool, Debian package prometheus) and
carries the families operators need: requests by route and status, latency histogram,
submissions accepted/rejected, stream length and lag, worker batches; and every request leaves
one JSON access-log line with status and latency, without the token."""

import json
import os
import shutil
import subprocess
import time

from harness import check, options, run_tests


@options(workers=1)
def test_metrics_pass_promtool_and_requests_are_logged(h):
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool not installed (scripts/install-deps.sh --test)")
    token = h.register("p1", stage="primary")
    answer = h.submit_ok(token, "p1", {"new_places": 4})
    h.wait_applied(token, answer["id"], timeout=10)
    h.submit(token, "p1", {"ghost": 1})
    time.sleep(5.5)  # workers publish their counters every 5 s
    text = h.get("/metrics").body.decode()
    result = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                            capture_output=True)
    check(result.returncode == 0, "promtool: %s %s" % (result.stdout, result.stderr))
    for family in ("edumon_http_requests_total", "edumon_http_request_duration_seconds",
                   "edumon_submissions_accepted_total", "edumon_submissions_rejected_total",
                   "edumon_stream_length", "edumon_stream_lag_seconds",
                   "edumon_worker_batches_total", "edumon_worker_batch_size",
                   "edumon_redis_reconnects_total"):
        check("# TYPE %s " % family in text, "/metrics lacks %s" % family)
    log = open(os.path.join(h.dir, "api.log"), encoding="utf-8").read()
    check(token not in log, "the token appears in the API log")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("msg") == "request"]
    check(any(line.get("route") == "submit" and line.get("status") == 202 and "ms" in line
              for line in requests), "no access-log line for the 202 submission")


if __name__ == "__main__":
    run_tests(globals())
