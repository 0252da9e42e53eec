-- report.lua -- shared by the wrk scripts of bench/run.sh: done() prints one machine-readable
-- line (requests/s, latency percentiles in ms, errors, bytes per response) after wrk's own
-- --latency table. Loaded with dofile() from the other scripts.
function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local errors = summary.errors
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
      "max_ms=%.3f bytes_per_response=%.0f errors_connect=%d errors_read=%d errors_write=%d " ..
      "errors_status=%d errors_timeout=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      summary.requests > 0 and summary.bytes / summary.requests or 0,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
