#!/usr/bin/env bash
# bench/run.sh -- edumon's benchmark harness (`make bench`, `make bench-quick`).
#
# Five benchmarks, each against its own redis-server (--save '' --appendonly no), edumon-api
# (EDUMON_RATE_LIMIT=0) and edumon-worker(s) on free loopback ports, each measured against a
# baseline taken in the same run on the same machine:
#   intake     wrk -t1 -c50 POST /v1/submissions (200 schools, 30 figures each)
#              vs redis-benchmark -c50 -P1 XADD of a comparable entry, and the same wrk
#              against bench/bare_server's POST floors (evhttp alone; evhttp + 1 XADD)
#   snapshot   wrk GET of Xingqing's snapshot (44 targeted indicators, all with data), plain
#              and If-None-Match (304), vs bench/bare_server (evhttp, bytes in memory; the two
#              alternate, 3 times in a full run, and each figure is the median) and nginx
#              serving the same bytes as a static file
#   drain      N submissions preloaded into the stream, then 1 and 2 workers: element-values
#              applied per second, vs redis-benchmark -P256 HSET of a cell
#   freshness  1 000 submissions/s (bench/edubench.py freshness): 202 -> applied, p50/p99
#   national   2 800 districts, 530 000 schools, 30 figures each, through the API (--scale)
# One line per figure: value, ratio to its baseline (or target), the issue's target.
#
# Usage: bench/run.sh [--quick] [--scale F] [--only a,b] [--seconds S] [--report FILE] [--keep]
#   --quick        CI variant: short runs, national round at 0.5 % (under a minute in all)
#   --scale F      national round scale (default 1 = 2 800 districts / 530 000 schools)
#   --only LIST    comma-separated subset of intake,snapshot,drain,freshness,national
#   --seconds S    length of each wrk run (default 10, quick 2)
#   --report FILE  also write the figures as Markdown table rows to FILE
#   --keep         keep the temporary directory (logs, data files) and print where it is
# Environment: BUILD (build directory, default build), BENCH_LOG_LEVEL (default warn),
#   BENCH_WORKER_WRAP (a command to run the worker under, e.g. "heaptrack -o FILE"),
#   BENCH_CONNECTIONS (default 50), BENCH_API_THREADS (EDUMON_API_THREADS of the API, default 1),
#   PYTHON (default python3).
#
# Exits non-zero when a process dies, a request fails, or a step does not finish in time;
# speed itself is never asserted (the figures are for reading, CI only keeps this working).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0 SCALE='' ONLY=intake,snapshot,drain,freshness,national SECONDS_ARG='' REPORT='' KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --scale) SCALE=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --seconds) SECONDS_ARG=$2; shift ;;
    --report) REPORT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    WRK_SECONDS=${SECONDS_ARG:-2} XADD_N=20000 HSET_N=200000 DRAIN_N=3000 SNAPSHOT_ROUNDS=1 INTAKE_ROUNDS=1
    FRESH_SECONDS=4 SCALE=${SCALE:-0.005}
else
    WRK_SECONDS=${SECONDS_ARG:-10} XADD_N=200000 HSET_N=2000000 DRAIN_N=40000 SNAPSHOT_ROUNDS=3 INTAKE_ROUNDS=3
    FRESH_SECONDS=30 SCALE=${SCALE:-1}
fi

BENCH_TMP_PREFIX=edumon-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh

# ---- 1. intake ------------------------------------------------------------------------------

bench_intake() {
    CURRENT=intake
    local dir=$TMP/intake line rps p50 p99 base_rps base_p50 base_p99 csv
    start_redis "$dir"
    start_api "$dir" "$CATALOG"
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts yinchuan-xingqing,kunming-anning --out "$dir/units.txt" >/dev/null
    bench_py intake-lua --catalog "$CATALOG" --units "$dir/units.txt" --schools 200 \
        --out "$dir/submissions.lua" >/dev/null
    # The API and the XADD baseline in alternation, INTAKE_ROUNDS times: this machine's speed
    # drifts by up to 30 % within a minute, so each round's ratio compares two runs taken
    # side by side, and the figures are the medians over the rounds.
    # Baseline: the same Redis, an entry with the same fields, 50 connections, no pipelining.
    mapfile -t entry < <(bench_py xadd-args --catalog "$CATALOG")
    local round before after api_cpu redis_cpu requests=0 seconds=0 wrk_cpu=0 api_cpu_sum=0
    local redis_cpu_sum=0 rps_runs=() p50_runs=() p99_runs=() base_runs=() base_p50_runs=()
    local base_p99_runs=() ratio_runs=() line
    for ((round = 1; round <= INTAKE_ROUNDS; round++)); do
        before=$(redis-cli -p "$REDIS_PORT" xlen edumon:submissions)
        api_cpu=$(cpu_seconds "$(pid_of api)") redis_cpu=$(cpu_seconds "$(pid_of redis)")
        run_wrk intake "$API_URL/v1/submissions" submit.lua BENCH_DATA="$dir/submissions.lua"
        api_cpu_sum=$(awk -v s="$api_cpu_sum" -v a="$api_cpu" -v b="$(cpu_seconds "$(pid_of api)")" 'BEGIN { print s + b - a }')
        redis_cpu_sum=$(awk -v s="$redis_cpu_sum" -v a="$redis_cpu" -v b="$(cpu_seconds "$(pid_of redis)")" 'BEGIN { print s + b - a }')
        after=$(redis-cli -p "$REDIS_PORT" xlen edumon:submissions)
        line=$WRK_LINE
        [ $((after - before)) -ge "$(field "$line" requests)" ] ||
            die "intake: wrk counted $(field "$line" requests) answers but the stream grew by $((after - before))"
        requests=$((requests + $(field "$line" requests)))
        seconds=$(awk -v s="$seconds" -v t="$(field "$line" seconds)" 'BEGIN { print s + t }')
        wrk_cpu=$(awk -v s="$wrk_cpu" -v t="$WRK_CPU" 'BEGIN { print s + t }')
        rps_runs+=("$(field "$line" rps)") p50_runs+=("$(field "$line" p50_ms)")
        p99_runs+=("$(field "$line" p99_ms)")
        csv=$(redis-benchmark -p "$REDIS_PORT" -c "$CONNECTIONS" -P 1 -n "$XADD_N" --csv \
            XADD bench-baseline '*' "${entry[@]}" | tail -n 1)
        redis-cli -p "$REDIS_PORT" del bench-baseline >/dev/null
        # The test name (the command line) may contain commas: count fields from the end.
        base_runs+=("$(csv_field "$csv" 6)") base_p50_runs+=("$(csv_field "$csv" 3)")
        base_p99_runs+=("$(csv_field "$csv" 1)")
        ratio_runs+=("$(ratio "${rps_runs[-1]}" "${base_runs[-1]}")")
    done
    rps=$(median "${rps_runs[@]}") p50=$(median "${p50_runs[@]}") p99=$(median "${p99_runs[@]}")
    base_rps=$(median "${base_runs[@]}") base_p50=$(median "${base_p50_runs[@]}")
    base_p99=$(median "${base_p99_runs[@]}")
    local api_ratio rounds_note=''
    api_ratio=$(median "${ratio_runs[@]}")
    if [ "$INTAKE_ROUNDS" -gt 1 ]; then
        rounds_note="; medians of $INTAKE_ROUNDS alternating rounds, ratios ${ratio_runs[*]}"
    fi
    api_cpu=$api_cpu_sum redis_cpu=$redis_cpu_sum
    WRK_CPU=$wrk_cpu
    line="requests=$requests seconds=$seconds"
    check_alive
    figure "intake: submissions/s" "$(fmt "$rps")" "req/s" "${api_ratio}x" \
        "redis-benchmark XADD $(fmt "$base_rps")/s$rounds_note" ">= 0.6x"
    figure "intake: p50 latency" "$(fmt "$p50" 2)" ms "$(ratio "$p50" "$base_p50")x" \
        "XADD p50 $(fmt "$base_p50" 2) ms" ""
    figure "intake: p99 latency" "$(fmt "$p99" 2)" ms "$(ratio "$p99" 5)x" \
        "target 5 ms (XADD p99 $(fmt "$base_p99" 2) ms)" "<= 5 ms"
    # Where the two cores went: CPU per submission of each process, and how busy the machine
    # was (a ratio below the target with the cores full is the machine's limit, not idling).
    local requests per
    requests=$(field "$line" requests)
    per=$(awk -v a="$api_cpu" -v r="$redis_cpu" -v w="$WRK_CPU" -v n="$requests" \
        -v s="$(field "$line" seconds)" -v c="$(nproc)" 'BEGIN {
            printf "API %.1f + Redis %.1f + wrk %.1f us; %.2f of %d cores busy",
                a / n * 1e6, r / n * 1e6, w / n * 1e6, (a + r + w) / s, c }')
    figure "intake: CPU per submission" \
        "$(awk -v a="$api_cpu" -v r="$redis_cpu" -v w="$WRK_CPU" -v n="$requests" \
            'BEGIN { printf "%.1f", (a + r + w) / n * 1e6 }')" us "" "$per" "(information)"
    # The floors of the design on this machine, with the same wrk script: a bare evhttp server
    # answering each POST with a 202 of the same shape (no Redis), and the same answering only
    # once one XADD of the body is done (one command per request). Their own ratio to XADD
    # says how much of the target evhttp leaves reachable here.
    local floor_port floor_rps floor_p99 floor_cpu floor_xadd_rps floor_xadd_p99
    # (run_wrk reads WRK_SECONDS: the quick variant gives the floors 1 s each)
    local WRK_SECONDS=$WRK_SECONDS
    [ "$QUICK" = 1 ] && WRK_SECONDS=1
    [ -x "$BIN/bare_server" ] || cmake --build "$BUILD_DIR" --target bare_server >/dev/null ||
        die "cannot build bench/bare_server (configure $BUILD_DIR with cmake first)"
    : >"$dir/empty"
    floor_port=$(free_port)
    start floor "$dir/floor.log" "$BIN/bare_server" --nodelay "$floor_port" "$dir/empty" -
    wait_until "bare_server answering" 10 curl -sf "http://127.0.0.1:$floor_port/"
    floor_cpu=$(cpu_seconds "$(pid_of floor)")
    run_wrk intake-floor "http://127.0.0.1:$floor_port/v1/submissions" submit.lua \
        BENCH_DATA="$dir/submissions.lua"
    floor_rps=$(field "$WRK_LINE" rps) floor_p99=$(field "$WRK_LINE" p99_ms)
    floor_cpu=$(awk -v a="$floor_cpu" -v b="$(cpu_seconds "$(pid_of floor)")" \
        -v n="$(field "$WRK_LINE" requests)" 'BEGIN { printf "%.1f", (b - a) / n * 1e6 }')
    floor_port=$(free_port)
    start floor-xadd "$dir/floor-xadd.log" "$BIN/bare_server" --nodelay --xadd "$REDIS_PORT" \
        "$floor_port" "$dir/empty" -
    wait_until "bare_server answering" 10 curl -sf "http://127.0.0.1:$floor_port/"
    run_wrk intake-floor-xadd "http://127.0.0.1:$floor_port/v1/submissions" submit.lua \
        BENCH_DATA="$dir/submissions.lua"
    floor_xadd_rps=$(field "$WRK_LINE" rps) floor_xadd_p99=$(field "$WRK_LINE" p99_ms)
    [ "$(redis-cli -p "$REDIS_PORT" xlen bench-floor)" -ge "$(field "$WRK_LINE" requests)" ] ||
        die "intake: the evhttp + XADD floor answered more than it wrote"
    check_alive
    figure "intake: vs bare evhttp POST floor" "$(fmt "$rps")" "req/s" \
        "$(ratio "$rps" "$floor_rps")x" \
        "bare evhttp 202 $(fmt "$floor_rps")/s = $(ratio "$floor_rps" "$base_rps")x XADD, $floor_cpu us/req, p99 $(fmt "$floor_p99" 2) ms" \
        "(information)"
    figure "intake: vs evhttp + XADD floor" "$(fmt "$rps")" "req/s" \
        "$(ratio "$rps" "$floor_xadd_rps")x" \
        "evhttp + 1 XADD $(fmt "$floor_xadd_rps")/s = $(ratio "$floor_xadd_rps" "$base_rps")x XADD, p99 $(fmt "$floor_xadd_p99" 2) ms" \
        "(information)"
    redis-cli -p "$REDIS_PORT" del bench-floor >/dev/null
    if [ "$QUICK" = 0 ]; then
        # The same with a worker draining the stream meanwhile (it competes for the 2 cores).
        start_worker "$dir" "$CATALOG" intake-worker
        run_wrk intake-worker "$API_URL/v1/submissions" submit.lua \
            BENCH_DATA="$dir/submissions.lua"
        figure "intake, 1 worker draining: subm./s" "$(fmt "$(field "$WRK_LINE" rps)")" "req/s" \
            "$(ratio "$(field "$WRK_LINE" rps)" "$base_rps")x" \
            "p99 $(fmt "$(field "$WRK_LINE" p99_ms)" 2) ms" "(information)"
    fi
    stop_services
}

# ---- 2. snapshot reads ----------------------------------------------------------------------

start_nginx() { # DIR BODY_FILE -> NGINX_URL NGINX_ETAG
    local dir=$1 body=$2 port
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is missing (nginx-light)"
    local nginx_bin
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    port=$(free_port)
    mkdir -p "$dir/nginx/www/v1/districts/$SNAPSHOT_DISTRICT" "$dir/nginx/temp"
    cp "$body" "$dir/nginx/www/v1/districts/$SNAPSHOT_DISTRICT/snapshot"
    # One process (no master/worker split), like the API and the bare server; keep-alive
    # without a request cap (nginx closes after 1000 by default, evhttp never does).
    cat >"$dir/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/nginx/error.log warn;
pid $dir/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/json;
    charset utf-8;
    charset_types application/json;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=16;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/nginx/temp/body;
    proxy_temp_path $dir/nginx/temp/proxy;
    fastcgi_temp_path $dir/nginx/temp/fastcgi;
    uwsgi_temp_path $dir/nginx/temp/uwsgi;
    scgi_temp_path $dir/nginx/temp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $dir/nginx/www;
        location / { add_header Cache-Control no-cache; }
    }
}
EOF
    start nginx "$dir/nginx/stderr.log" "$nginx_bin" -e "$dir/nginx/error.log" \
        -p "$dir/nginx" -c "$dir/nginx/nginx.conf"
    NGINX_URL=http://127.0.0.1:$port/v1/districts/$SNAPSHOT_DISTRICT/snapshot
    wait_until "nginx answering" 10 curl -sf "$NGINX_URL"
    NGINX_ETAG=$(curl -sI "$NGINX_URL" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
    cmp -s <(curl -s "$NGINX_URL") "$body" || die "nginx does not serve the same bytes"
}

bench_snapshot() {
    CURRENT=snapshot
    local dir=$TMP/snapshot info etag path url bare_port bare_url
    start_redis "$dir"
    start_api "$dir" "$CATALOG"
    start_worker "$dir" "$CATALOG" snapshot-worker
    local since
    since=$("$PYTHON" -c 'import time; print(time.time())')
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts "$SNAPSHOT_DISTRICT" --submit-periods 2023,2024 --out "$dir/units.txt" \
        >/dev/null
    bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 60 >/dev/null
    path="/v1/districts/$SNAPSHOT_DISTRICT/snapshot?period=2024"
    info=$(bench_py snapshot-info --api "$API_URL" --path "$path" --out "$dir/snapshot.json")
    etag=$(field "$info" etag)
    note "snapshot: $SNAPSHOT_DISTRICT 2024, $(field "$info" bytes) bytes," \
        "$(field "$info" with_data) of $(field "$info" indicators) indicators with data, ETag $etag"
    [ "$(field "$info" with_data)" -ge 30 ] || die "the loaded snapshot has too few indicators with data: $info"
    url=$API_URL$path

    [ -x "$BIN/bare_server" ] || cmake --build "$BUILD_DIR" --target bare_server >/dev/null ||
        die "cannot build bench/bare_server (configure $BUILD_DIR with cmake first)"
    # The floor: evhttp with TCP_NODELAY (see bare_server.c for why that matters here).
    bare_port=$(free_port)
    start bare "$dir/bare.log" "$BIN/bare_server" --nodelay "$bare_port" "$dir/snapshot.json" "$etag"
    bare_url=http://127.0.0.1:$bare_port$path
    wait_until "bare_server answering" 10 curl -sf "$bare_url"
    cmp -s <(curl -s "$bare_url") "$dir/snapshot.json" || die "bare_server does not serve the same bytes"

    # The API and its floor in alternation, SNAPSHOT_ROUNDS times, each figure the median of
    # its runs: on a shared machine the moment of a run moves its rate by tens of percent, and
    # one run of each, one after the other, put that into the ratio.
    local round api_rps api_p99 api304_rps api304_p99 bare_rps bare304_rps nginx_rps nginx304_rps
    local -a api_runs=() api_p99s=() api304_runs=() api304_p99s=() bare_runs=() bare304_runs=()
    # CPU of each server over its 304 runs, per request: the ratio of rates above mixes in
    # how the two cores were shared with wrk at that moment, this does not.
    local api304_cpu=0 api304_requests=0 bare304_cpu=0 bare304_requests=0 cpu_before
    for ((round = 1; round <= SNAPSHOT_ROUNDS; round++)); do
        run_wrk "snapshot-api-$round" "$url" get.lua
        api_runs+=("$(field "$WRK_LINE" rps)") api_p99s+=("$(field "$WRK_LINE" p99_ms)")
        run_wrk "snapshot-bare-$round" "$bare_url" get.lua
        bare_runs+=("$(field "$WRK_LINE" rps)")
        cpu_before=$(cpu_seconds "$(pid_of api)")
        run_wrk "snapshot-api-304-$round" "$url" get.lua BENCH_ETAG="$etag"
        api304_cpu=$(awk -v t="$api304_cpu" -v a="$cpu_before" -v b="$(cpu_seconds "$(pid_of api)")" \
            'BEGIN { print t + b - a }')
        api304_requests=$((api304_requests + $(field "$WRK_LINE" requests)))
        api304_runs+=("$(field "$WRK_LINE" rps)") api304_p99s+=("$(field "$WRK_LINE" p99_ms)")
        [ "$(fmt "$(field "$WRK_LINE" bytes_per_response)")" -lt 1000 ] ||
            die "the API did not answer 304 to If-None-Match $etag"
        cpu_before=$(cpu_seconds "$(pid_of bare)")
        run_wrk "snapshot-bare-304-$round" "$bare_url" get.lua BENCH_ETAG="$etag"
        bare304_cpu=$(awk -v t="$bare304_cpu" -v a="$cpu_before" -v b="$(cpu_seconds "$(pid_of bare)")" \
            'BEGIN { print t + b - a }')
        bare304_requests=$((bare304_requests + $(field "$WRK_LINE" requests)))
        bare304_runs+=("$(field "$WRK_LINE" rps)")
    done
    api_rps=$(median "${api_runs[@]}") api_p99=$(median "${api_p99s[@]}")
    api304_rps=$(median "${api304_runs[@]}") api304_p99=$(median "${api304_p99s[@]}")
    bare_rps=$(median "${bare_runs[@]}") bare304_rps=$(median "${bare304_runs[@]}")
    local nagle_rps=
    if [ "$QUICK" = 0 ]; then
        # The same bare server with evhttp's defaults (Nagle on), as edumon-api runs today.
        local nagle_port
        nagle_port=$(free_port)
        start bare-nagle "$dir/bare-nagle.log" "$BIN/bare_server" "$nagle_port" \
            "$dir/snapshot.json" "$etag"
        wait_until "bare_server answering" 10 curl -sf "http://127.0.0.1:$nagle_port$path"
        run_wrk snapshot-bare-nagle "http://127.0.0.1:$nagle_port$path" get.lua
        nagle_rps=$(field "$WRK_LINE" rps)
    fi

    start_nginx "$dir" "$dir/snapshot.json"
    run_wrk snapshot-nginx "$NGINX_URL" get.lua
    nginx_rps=$(field "$WRK_LINE" rps)
    run_wrk snapshot-nginx-304 "$NGINX_URL" get.lua BENCH_ETAG="$NGINX_ETAG"
    nginx304_rps=$(field "$WRK_LINE" rps)
    [ "$(fmt "$(field "$WRK_LINE" bytes_per_response)")" -lt 1000 ] ||
        die "nginx did not answer 304 to If-None-Match $NGINX_ETAG"

    local runs=""
    [ "$SNAPSHOT_ROUNDS" -gt 1 ] && runs=", medians of $SNAPSHOT_ROUNDS alternating runs"
    figure "snapshot GET 200: req/s" "$(fmt "$api_rps")" "req/s" "$(ratio "$api_rps" "$bare_rps")x" \
        "bare evhttp (NODELAY) $(fmt "$bare_rps")/s$runs" ">= 0.9x"
    [ -n "$nagle_rps" ] && figure "snapshot GET 200: vs evhttp w/o NODELAY" "$(fmt "$api_rps")" \
        "req/s" "$(ratio "$api_rps" "$nagle_rps")x" "bare evhttp, Nagle on $(fmt "$nagle_rps")/s" \
        "(information)"
    figure "snapshot GET 200: vs nginx" "$(fmt "$api_rps")" "req/s" "$(ratio "$api_rps" "$nginx_rps")x" \
        "nginx static $(fmt "$nginx_rps")/s" "(information)"
    figure "snapshot GET 200: p99 latency" "$(fmt "$api_p99" 2)" ms "" "" ""
    figure "snapshot GET 304: req/s" "$(fmt "$api304_rps")" "req/s" \
        "$(ratio "$api304_rps" "$bare304_rps")x" "bare evhttp 304 $(fmt "$bare304_rps")/s$runs" ">= 1.0x"
    figure "snapshot GET 304: vs nginx" "$(fmt "$api304_rps")" "req/s" \
        "$(ratio "$api304_rps" "$nginx304_rps")x" "nginx 304 $(fmt "$nginx304_rps")/s" "(information)"
    figure "snapshot GET 304: p99 latency" "$(fmt "$api304_p99" 2)" ms "" "" ""
    local api304_us bare304_us
    api304_us=$(awk -v c="$api304_cpu" -v n="$api304_requests" 'BEGIN { printf "%.2f", c / n * 1e6 }')
    bare304_us=$(awk -v c="$bare304_cpu" -v n="$bare304_requests" 'BEGIN { printf "%.2f", c / n * 1e6 }')
    figure "snapshot GET 304: CPU per request" "$api304_us" us "$(ratio "$bare304_us" "$api304_us")x" \
        "bare evhttp 304 $bare304_us us (ratio: floor / API)" "(information)"
    stop_services
}

# ---- 3. worker drain ------------------------------------------------------------------------

drain_run() { # WORKERS -> DRAIN_RATE
    local workers=$1 dir=$TMP/drain-$1 loaded values since result seconds i version
    start_redis "$dir"
    start_api "$dir" "$CATALOG"
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts "$SEED_DISTRICTS" --out "$dir/units.txt" >/dev/null
    # Registrations are in the stream too; start the group after them (a worker reads a
    # district's registry when it first meets the district anyway).
    redis-cli -p "$REDIS_PORT" xgroup create edumon:submissions edumon-workers '$' mkstream >/dev/null
    loaded=$(bench_py preload --catalog "$CATALOG" --redis-port "$REDIS_PORT" \
        --units "$dir/units.txt" --count "$DRAIN_N")
    values=$(field "$loaded" values)
    since=$("$PYTHON" -c 'import time; print(time.time())')
    for ((i = 1; i <= workers; i++)); do start_worker "$dir" "$CATALOG" "drain-worker-$i"; done
    result=$(bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 600)
    check_alive
    seconds=$(field "$result" seconds)
    version=$(redis-cli -p "$REDIS_PORT" hget "edumon:{yinchuan-xingqing}:snap:2024" version)
    [ -n "$version" ] || die "drain: no snapshot stored for yinchuan-xingqing 2024"
    DRAIN_RATE=$(awk -v v="$values" -v s="$seconds" 'BEGIN { printf "%.0f", v / s }')
    DRAIN_NOTE="$DRAIN_N submissions, $values values in $(fmt "$seconds" 2) s"
    if [ "$workers" = 1 ]; then
        # Baseline: Redis writing cells as fast as one pipelining client can make it.
        local csv
        csv=$(redis-benchmark -p "$REDIS_PORT" -c 1 -P 256 -n "$HSET_N" -r 100000 --csv \
            HSET bench-cells 'school-__rand_int__/students' '1795440533953-0 812' | tail -n 1)
        HSET_RATE=$(csv_field "$csv" 6)
    fi
    stop_services
}

bench_drain() {
    CURRENT=drain
    drain_run 1
    local one=$DRAIN_RATE one_note=$DRAIN_NOTE
    drain_run 2
    local two=$DRAIN_RATE two_note=$DRAIN_NOTE
    figure "drain, 1 worker: values/s" "$one" "val/s" "$(ratio "$one" 100000)x" \
        "target 100 000/s; $one_note" ">= 100 000/s/worker"
    figure "drain, 1 worker: vs Redis HSET floor" "$one" "val/s" "$(ratio "$one" "$HSET_RATE")x" \
        "redis-benchmark -P256 HSET $(fmt "$HSET_RATE")/s" "(information)"
    figure "drain, 2 workers: values/s" "$two" "val/s" "$(ratio "$two" "$one")x" \
        "vs 1 worker; $two_note" "(scaling)"
    figure "drain, 2 workers: values/s per worker" "$((two / 2))" "val/s" \
        "$(ratio "$((two / 2))" 100000)x" "target 100 000/s" ">= 100 000/s/worker"
}

# ---- 4. freshness ---------------------------------------------------------------------------

bench_freshness() {
    CURRENT=freshness
    local dir=$TMP/freshness since result
    start_redis "$dir"
    start_api "$dir" "$CATALOG"
    start_worker "$dir" "$CATALOG" fresh-worker
    since=$("$PYTHON" -c 'import time; print(time.time())')
    # Steady state: every unit of the five districts has reported once already.
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts "$SEED_DISTRICTS" --submit-periods 2024 --out "$dir/units.txt" >/dev/null
    bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 120 >/dev/null
    result=$(bench_py freshness --api "$API_URL" --redis-port "$REDIS_PORT" --catalog "$CATALOG" \
        --units "$dir/units.txt" --rate 1000 --seconds "$FRESH_SECONDS" --settle 20)
    check_alive
    if [ "$(field "$result" errors_status)" != 0 ] || [ "$(field "$result" errors_io)" != 0 ]; then
        die "freshness: failed submissions: $result"
    fi
    [ "$(field "$result" missing)" = 0 ] ||
        die "freshness: $(field "$result" missing) submissions were not applied within 20 s: $result"
    local p50 p99 rate
    p50=$(field "$result" p50_ms) p99=$(field "$result" p99_ms) rate=$(field "$result" rate)
    figure "freshness: p50 202 -> applied" "$(fmt "$p50" 1)" ms "" \
        "at $(fmt "$rate") subm./s (target 1 000/s)" ""
    figure "freshness: p99 202 -> applied" "$(fmt "$p99" 1)" ms "$(ratio "$p99" 1000)x" \
        "target 1 000 ms; $(field "$result" snapshot_versions) versions stored" "< 1 s"
    stop_services
}

# ---- 5. national round ----------------------------------------------------------------------

# national_phase PHASE LIST TOTAL [ENV...] -> PHASE_SECONDS (requests sent by national.lua)
national_phase() {
    local phase=$1 list=$2 total=$3 marker limit i bad seconds first
    shift 3
    marker=$TMP/national/$phase.done
    rm -f "$marker"
    limit=$((60 + total / 200))
    env BENCH_LUA_DIR="$BENCH_DIR/wrk" BENCH_PHASE="$phase" BENCH_LIST="$list" \
        BENCH_TOTAL="$total" BENCH_MARKER="$marker" "$@" \
        wrk -t1 -c"$CONNECTIONS" -d"${limit}s" --timeout 10s -s "$BENCH_DIR/wrk/national.lua" \
        "$API_URL" >"$TMP/national/wrk-$phase.txt" 2>&1 &
    WRK_PID=$!
    for ((i = 0; i < limit * 10; i++)); do
        [ -s "$marker" ] && break
        kill -0 "$WRK_PID" 2>/dev/null || break
        check_alive
        sleep 0.1
    done
    kill -INT "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" 2>/dev/null || true
    WRK_PID=
    [ -s "$marker" ] || { tail -n 20 "$TMP/national/wrk-$phase.txt" >&2; die "national round: the $phase phase did not finish"; }
    read -r _ bad seconds first <"$marker"
    [ "$bad" = 0 ] || die "national round: $bad of $total $phase requests failed (first: HTTP $first)"
    PHASE_SECONDS=$seconds
}

bench_national() {
    CURRENT=national
    local dir=$TMP/national districts schools catalog started since result
    districts=$(awk -v s="$SCALE" 'BEGIN { d = int(2800 * s + 0.5); print d < 5 ? 5 : d }')
    schools=$(awk -v s="$SCALE" -v d="$districts" 'BEGIN { n = int(530000 * s + 0.5); print n < d * 10 ? d * 10 : n }')
    catalog=$dir/catalog
    mkdir -p "$dir"
    bench_py synth-catalog --source "$CATALOG" --out "$catalog" --districts "$districts" >/dev/null
    bench_py national-plan --districts "$districts" --schools "$schools" --out "$dir/plan.txt" >/dev/null
    bench_py elements-lua --catalog "$catalog" --out "$dir/elements.lua" >/dev/null
    note "national round at scale $SCALE: $districts districts, $schools schools, 30 figures each"
    start_redis "$dir"
    start_api "$dir" "$catalog"
    start_worker "$dir" "$catalog" national-worker
    started=$("$PYTHON" -c 'import time; print(time.time())')
    national_phase register "$dir/plan.txt" "$schools" BENCH_ADMIN="$ADMIN_TOKEN" \
        BENCH_OUT="$dir/tokens.txt"
    local register_seconds=$PHASE_SECONDS
    bench_py national-order --tokens "$dir/tokens.txt" --out "$dir/submit.txt" >/dev/null
    national_phase submit "$dir/submit.txt" "$schools" BENCH_ELEMENTS="$dir/elements.lua" \
        BENCH_PERIOD=2024
    local submit_seconds=$PHASE_SECONDS
    since=$("$PYTHON" -c 'import time; print(time.time())')
    result=$(bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 7200 --poll 0.1)
    local total tail
    total=$("$PYTHON" -c "import time; print('%.1f' % (time.time() - $started))")
    tail=$(field "$result" seconds)
    check_alive
    local memory api_hwm worker_hwm
    memory=$(bench_py redis-info --redis-port "$REDIS_PORT")
    api_hwm=$(field "$(bench_py rss "$(pid_of api)")" hwm_kb)
    worker_hwm=$(field "$(bench_py rss "$(pid_of national-worker)")" hwm_kb)
    if [ "$QUICK" = 0 ]; then
        bench_py redis-memory --redis-port "$REDIS_PORT" | while read -r line; do
            note "redis memory: $(field "$line" kind): $(field "$line" mb) MB in $(field "$line" keys) keys"
        done
    fi
    local used_mb full_estimate
    used_mb=$(awk -v b="$(field "$memory" used_memory)" 'BEGIN { printf "%.0f", b / 1048576 }')
    # Below ~256 districts a batch of 256 entries spans fewer districts than at full scale
    # (fewer snapshots to recompute per entry), so only wide runs extrapolate linearly.
    if [ "$districts" -ge 256 ]; then
        full_estimate="linear full-scale estimate $(awk -v t="$total" -v s="$SCALE" 'BEGIN { printf "%.0f", t / s }') s"
    else
        full_estimate="too few districts to extrapolate (< 256)"
    fi
    figure "national: total time (scale $SCALE)" "$total" s "$(ratio "$total" "$(awk -v s="$SCALE" 'BEGIN { print 300 * s }')")x" \
        "register $(fmt "$register_seconds" 1) s, submit $(fmt "$submit_seconds" 1) s, drain tail $(fmt "$tail" 1) s; $full_estimate" "< 300 s at scale 1"
    figure "national: registrations/s" "$(awk -v n="$schools" -v s="$register_seconds" 'BEGIN { printf "%.0f", n / s }')" "req/s" "" "through POST /v1/schools" ""
    figure "national: submissions/s (API)" "$(awk -v n="$schools" -v s="$submit_seconds" 'BEGIN { printf "%.0f", n / s }')" "req/s" "" "through POST /v1/submissions" ""
    figure "national: end-to-end submissions/s" "$(awk -v n="$schools" -v s="$total" 'BEGIN { printf "%.0f", n / s }')" "subm/s" "" "registration + submission + drain" ""
    figure "national: Redis used_memory" "$used_mb" MB "" "$(field "$memory" keys) keys, stream $(field "$memory" xlen) entries" ""
    figure "national: API + worker peak RSS" "$(((api_hwm + worker_hwm) / 1024))" MB \
        "$(ratio "$(((api_hwm + worker_hwm) / 1024))" 50)x" \
        "API $((api_hwm / 1024)) MB + worker $((worker_hwm / 1024)) MB (VmHWM)" "< 50 MB"
    stop_services
}

# ---- run ------------------------------------------------------------------------------------

note "edumon benchmarks$([ "$QUICK" = 1 ] && echo ' (quick)') -- $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
note "binaries $BIN; wrk -t1 -c$CONNECTIONS -d${WRK_SECONDS}s; log level $LOG_LEVEL"
[ -n "$REPORT" ] && : >"$REPORT"
printf '%-40s %12s %-6s %8s  %-40s %s\n' figure value unit ratio baseline target
began=$(date +%s)
for benchmark in ${ONLY//,/ }; do
    case $benchmark in
    intake | snapshot | drain | freshness | national) "bench_$benchmark" ;;
    *) die "unknown benchmark $benchmark" ;;
    esac
done
note "done in $(($(date +%s) - began)) s"
