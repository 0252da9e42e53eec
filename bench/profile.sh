#!/usr/bin/env bash
# bench/profile.sh -- where the time goes on edumon's hot paths (docs/performance.md).
#
# For each scenario, a clean run first (no profiler attached) gives per-request costs from the
# kernel's and Redis's own counters:
#   - CPU microseconds per request of edumon-api / edumon-worker and of redis-server
#     (/proc/PID/stat utime+stime over the run)
#   - read/write system calls per request of the edumon process (/proc/PID/io syscr/syscw)
#   - Redis commands per request and microseconds per call (INFO commandstats)
# then a profiled run of the same load shows the top functions: `perf record -e cpu-clock`
# with DWARF call graphs when perf can sample here, `valgrind --tool=callgrind` otherwise
# (or with --callgrind). With --strace, the profiled run counts the API's system calls by name
# instead (`strace -c -f`), per request: how many epoll_ctl, writev, readv each answer costs.
#
# Scenarios:
#   intake      wrk POST /v1/submissions (as bench/run.sh intake), profiling edumon-api
#   snapshot    wrk GET of Xingqing's snapshot (as bench/run.sh snapshot), profiling edumon-api
#   drain       N submissions over the 5 seed districts preloaded, 1 worker profiled
#   drain-wide  the national round's shape (--scale, default 0.05): every batch spans ~256
#               districts; submissions go in through the API with the worker stopped, then
#               1 worker drains them, profiled
#
# Usage: bench/profile.sh [--callgrind|--strace] [--seconds S] [--count N] [--scale F] [--keep] [SCENARIO...]
# Builds a RelWithDebInfo, -fno-omit-frame-pointer tree in ${PROFILE_BUILD:-build-profile}
# unless BUILD names one already. Prints plain text; nothing is asserted.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TOOL=auto SECONDS_ARG=10 COUNT=40000 SCALE=0.05 KEEP=0 SCENARIOS=()
while [ $# -gt 0 ]; do
    case $1 in
    --callgrind) TOOL=callgrind ;;
    --strace) TOOL=strace ;;
    --seconds) SECONDS_ARG=$2; shift ;;
    --count) COUNT=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    intake | snapshot | drain | drain-wide) SCENARIOS+=("$1") ;;
    *) echo "profile.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(intake snapshot drain drain-wide)
if [ "$TOOL" = strace ]; then
    for scenario in "${SCENARIOS[@]}"; do
        case $scenario in intake | snapshot) ;; *)
            echo "profile.sh: --strace traces the API: intake or snapshot only" >&2; exit 2 ;;
        esac
    done
fi

if [ -z "${BUILD:-}" ]; then
    BUILD=${PROFILE_BUILD:-build-profile}
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDUMON_TESTS=OFF \
        -DCMAKE_C_FLAGS="-fno-omit-frame-pointer" >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
export BUILD
WRK_SECONDS=$SECONDS_ARG
BENCH_TMP_PREFIX=edumon-profile
# shellcheck source=bench/lib.sh
source bench/lib.sh

if [ "$TOOL" = auto ]; then
    if command -v perf >/dev/null && perf record -e cpu-clock -o "$TMP/probe.perf" true >/dev/null 2>&1; then
        TOOL=perf
    else
        TOOL=callgrind
    fi
fi
[ "$TOOL" != strace ] || command -v strace >/dev/null || die "--strace needs strace"
[ "$TOOL" != callgrind ] || command -v valgrind >/dev/null || die "neither perf nor valgrind can profile here"
note "profiling with $TOOL; binaries $BIN; $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- counters -------------------------------------------------------------------------------

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
io_calls() { awk '/^syscr|^syscw/ { printf "%s ", $2 }' "/proc/$1/io"; }
redis_pid() { redis-cli -p "$REDIS_PORT" info server | tr -d '\r' | sed -n 's/^process_id://p'; }

COUNTERS_PID='' COUNTERS_TICKS='' COUNTERS_REDIS_TICKS='' COUNTERS_IO=''
counters_start() { # PID
    COUNTERS_PID=$1
    redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
    COUNTERS_TICKS=$(cpu_ticks "$1")
    COUNTERS_REDIS_TICKS=$(cpu_ticks "$(redis_pid)")
    COUNTERS_IO=$(io_calls "$1")
}

# counters_report WHAT N -- per-unit costs since counters_start, N units of WHAT.
counters_report() {
    local what=$1 n=$2 hz ticks redis_ticks reads writes reads0 writes0
    hz=$(getconf CLK_TCK)
    ticks=$(($(cpu_ticks "$COUNTERS_PID") - COUNTERS_TICKS))
    redis_ticks=$(($(cpu_ticks "$(redis_pid)") - COUNTERS_REDIS_TICKS))
    read -r reads0 writes0 <<<"$COUNTERS_IO"
    read -r reads writes <<<"$(io_calls "$COUNTERS_PID")"
    awk -v n="$n" -v t="$ticks" -v r="$redis_ticks" -v hz="$hz" -v rd=$((reads - reads0)) \
        -v wr=$((writes - writes0)) -v what="$what" 'BEGIN {
        printf "per %s (%d in all):\n", what, n
        printf "  CPU of the edumon process   %8.1f us\n", t / hz * 1e6 / n
        printf "  CPU of redis-server         %8.1f us\n", r / hz * 1e6 / n
        printf "  read(v) system calls        %8.2f\n", rd / n
        printf "  write(v) system calls       %8.2f\n", wr / n
    }'
    echo "  Redis commands (calls per $what, us per call, us per $what):"
    redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | grep '^cmdstat_' |
        sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\1 \2 \3 \4/' |
        sort -k3 -n -r | awk -v n="$n" '$1 !~ /^(config|info)/ && $2 > 0 {
            printf "    %-12s %9.3f %10.2f %10.2f\n", $1, $2 / n, $4, $3 / n }'
}

# ---- profiles -------------------------------------------------------------------------------

# perf_report FILE -- where the samples are by library, the top functions by own time, then
# the inclusive (children) time of every user-space function, call chains unwound with DWARF.
# (Pipelines end in `|| true`: head closing early is not a failure.)
perf_report() {
    local data=$1
    echo "  where the samples are (by library):"
    perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n 8 | sed 's/^/    /' || true
    echo "  top functions, own time:"
    perf report -i "$data" --stdio --no-children --sort sym,dso -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n 25 | sed 's/^/    /' || true
    echo "  user-space functions, inclusive time (children, self):"
    perf report -i "$data" --stdio --children --sort sym -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | grep -v -F '[k]' | grep -v -E '0x0000|_start|__libc_start|\] main$' |
        head -n 50 | sed 's/^/    /' || true
}

callgrind_report() {
    local data=$1 requests=${2:-}
    if [ -n "$requests" ]; then
        # The event loop's instructions (start-up excluded): unlike CPU time, the same from
        # run to run on a noisy machine, so a change of a few percent shows.
        callgrind_annotate --inclusive=yes "$data" 2>/dev/null |
            awk -v n="$requests" '/event_base_loop \[/ { gsub(",", "", $1)
                printf "  instructions per request in the event loop: %.0f (%d requests)\n", $1 / n, n
                exit }' || true
    fi
    echo "  top functions (instructions, inclusive):"
    callgrind_annotate --inclusive=yes "$data" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 45 |
        sed 's/^/    /' || true
}

# profile_api NAME URL SCRIPT [ENV...] -- the API under the profiler while wrk runs.
profile_api_run() {
    local name=$1 url=$2 script=$3 dir=$4
    shift 4
    if [ "$TOOL" = perf ]; then
        perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -o "$dir/$name.perf" \
            -p "$(pid_of api)" >"$dir/perf-$name.log" 2>&1 &
        local perf_pid=$!
        sleep 0.5
        run_wrk "$name-profiled" "$url" "$script" "$@"
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
        perf_report "$dir/$name.perf"
    elif [ "$TOOL" = strace ]; then
        strace -c -f -o "$dir/strace-$name.txt" -p "$(pid_of api)" 2>/dev/null &
        local strace_pid=$!
        sleep 0.5
        run_wrk "$name-traced" "$url" "$script" "$@"
        kill -INT "$strace_pid"
        wait "$strace_pid" || true
        strace_report "$dir/strace-$name.txt" "$(field "$WRK_LINE" requests)"
    else
        callgrind_report "$dir/callgrind.api"
    fi
}

# strace_report FILE N -- system calls per request (strace -c's table; N requests traced).
strace_report() {
    echo "  system calls per request under strace ($2 requests, slowed by the tracing):"
    # Rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    awk -v n="$2" '$1 ~ /^[0-9.]+$/ && $NF != "total" && NF >= 5 {
        printf "    %-16s %8.3f\n", $NF, $4 / n }' "$1" | sort -k2 -g -r || true
}

# The API as started by lib.sh, or under callgrind.
start_profiled_api() { # DIR CATALOG
    if [ "$TOOL" = callgrind ]; then
        local port
        port=$(free_port)
        API_URL=http://127.0.0.1:$port
        start api "$1/api.log" env EDUMON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
            EDUMON_LISTEN="127.0.0.1:$port" EDUMON_ADMIN_TOKEN="$ADMIN_TOKEN" \
            EDUMON_RATE_LIMIT=0 EDUMON_CATALOG="$2" EDUMON_LOG_LEVEL="$LOG_LEVEL" \
            valgrind --tool=callgrind --callgrind-out-file="$1/callgrind.api" "$BIN/edumon-api"
        wait_until "edumon-api ready under callgrind" 60 curl -sf "$API_URL/readyz"
    else
        start_api "$@"
    fi
}

scenario_intake() {
    CURRENT=intake
    local dir=$TMP/intake
    start_redis "$dir"
    start_profiled_api "$dir" "$CATALOG"
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts yinchuan-xingqing,kunming-anning --out "$dir/units.txt" >/dev/null
    bench_py intake-lua --catalog "$CATALOG" --units "$dir/units.txt" --schools 200 \
        --out "$dir/submissions.lua" >/dev/null
    echo "== intake: POST /v1/submissions, 30 figures, wrk -t1 -c$CONNECTIONS, ${WRK_SECONDS}s"
    counters_start "$(pid_of api)"
    run_wrk intake "$API_URL/v1/submissions" submit.lua BENCH_DATA="$dir/submissions.lua"
    echo "  $WRK_LINE"
    counters_report submission "$(field "$WRK_LINE" requests)"
    if [ "$TOOL" = callgrind ]; then
        stop_services # callgrind writes its profile on exit
        # (the registration of the 200 schools before the run is counted in too)
        callgrind_report "$dir/callgrind.api" "$(field "$WRK_LINE" requests)"
    else
        profile_api_run intake "$API_URL/v1/submissions" submit.lua "$dir" \
            BENCH_DATA="$dir/submissions.lua"
        stop_services
    fi
}

scenario_snapshot() {
    CURRENT=snapshot
    local dir=$TMP/snapshot since info path url
    start_redis "$dir"
    start_profiled_api "$dir" "$CATALOG"
    start_worker "$dir" "$CATALOG" profile-worker
    since=$("$PYTHON" -c 'import time; print(time.time())')
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts "$SNAPSHOT_DISTRICT" --submit-periods 2023,2024 --out "$dir/units.txt" \
        >/dev/null
    bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 120 >/dev/null
    path="/v1/districts/$SNAPSHOT_DISTRICT/snapshot?period=2024"
    url=$API_URL$path
    info=$(bench_py snapshot-info --api "$API_URL" --path "$path" --out "$dir/snapshot.json")
    echo "== snapshot: GET $path ($(field "$info" bytes) bytes), 200 and 304"
    counters_start "$(pid_of api)"
    run_wrk snapshot "$url" get.lua
    echo "  200: $WRK_LINE"
    counters_report "GET (200)" "$(field "$WRK_LINE" requests)"
    # Under callgrind, the API's counters start from zero here: its profile is the 304 run's.
    [ "$TOOL" != callgrind ] || callgrind_control -z "$(pid_of api)" >/dev/null 2>&1
    counters_start "$(pid_of api)"
    run_wrk snapshot-304 "$url" get.lua BENCH_ETAG="$(field "$info" etag)"
    echo "  304: $WRK_LINE"
    counters_report "GET (304)" "$(field "$WRK_LINE" requests)"
    if [ "$TOOL" = callgrind ]; then
        local requests
        requests=$(field "$WRK_LINE" requests)
        stop_services
        callgrind_report "$dir/callgrind.api" "$requests"
        bare_304_callgrind "$dir" "$path" "$(field "$info" etag)" "$requests"
    else
        echo "  -- profile of the 304 path:"
        profile_api_run snapshot-304 "$url" get.lua "$dir" BENCH_ETAG="$(field "$info" etag)"
        stop_services
    fi
}

# bare_304_callgrind DIR PATH ETAG API_REQUESTS -- the floor's instructions per 304 (bench/
# bare_server under callgrind, the same wrk load), beside the API's: a ratio that, unlike
# req/s, holds still on a noisy machine.
bare_304_callgrind() {
    local dir=$1 path=$2 etag=$3 api_requests=$4 port api_per bare_per
    [ -x "$BIN/bare_server" ] || cmake --build "$BUILD_DIR" --target bare_server >/dev/null ||
        die "cannot build bench/bare_server"
    port=$(free_port)
    start bare "$dir/bare.log" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.bare" \
        "$BIN/bare_server" --nodelay "$port" "$dir/snapshot.json" "$etag"
    wait_until "bare_server answering under callgrind" 60 curl -sf "http://127.0.0.1:$port$path"
    callgrind_control -z "$(pid_of bare)" >/dev/null 2>&1
    run_wrk bare-304 "http://127.0.0.1:$port$path" get.lua BENCH_ETAG="$etag"
    echo "  bare evhttp 304 under callgrind: $WRK_LINE"
    stop_services
    api_per=$(loop_instructions "$dir/callgrind.api" "$api_requests")
    bare_per=$(loop_instructions "$dir/callgrind.bare" "$(field "$WRK_LINE" requests)")
    echo "  instructions per 304 in the event loop: API $api_per, bare evhttp $bare_per" \
        "(floor / API $(awk -v a="$api_per" -v b="$bare_per" 'BEGIN { printf "%.2f", b / a }')x)"
}

# loop_instructions FILE N -- event_base_loop's inclusive instructions over N requests.
loop_instructions() {
    callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
        awk -v n="$2" '/event_base_loop \[/ { gsub(",", "", $1); printf "%.0f", $1 / n; exit }' ||
        true
}

# drain_profiled DIR CATALOG VALUES -- one worker drains what is queued, under the profiler.
drain_profiled() {
    local dir=$1 catalog=$2 values=$3 since result
    local launch
    if [ "$TOOL" = perf ]; then
        launch=(perf record -e cpu-clock -F 999 --call-graph "dwarf,16384" -o "$dir/worker.perf"
            "$BIN/edumon-worker")
    else
        launch=(valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.worker"
            "$BIN/edumon-worker")
    fi
    since=$("$PYTHON" -c 'import time; print(time.time())')
    start profiled-worker "$dir/profiled-worker.log" env \
        EDUMON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" EDUMON_CATALOG="$catalog" \
        EDUMON_CONSUMER=profiled-worker EDUMON_LOG_LEVEL="$LOG_LEVEL" "${launch[@]}"
    result=$(bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 3600 --poll 0.1)
    echo "  profiled drain: $(field "$result" seconds) s for $values values"
    stop_services
    if [ "$TOOL" = perf ]; then
        perf_report "$dir/worker.perf"
    else
        callgrind_report "$dir/callgrind.worker"
    fi
}

# drain_clean DIR CATALOG ENTRIES VALUES -- one worker drains what is queued; counters.
drain_clean() {
    local dir=$1 catalog=$2 entries=$3 values=$4 since result batches
    since=$("$PYTHON" -c 'import time; print(time.time())')
    start_worker "$dir" "$catalog" clean-worker
    counters_start "$(pid_of clean-worker)"
    result=$(bench_py drain-wait --redis-port "$REDIS_PORT" --since "$since" --timeout 3600 --poll 0.05)
    echo "  clean drain: $(field "$result" seconds) s, $(awk -v v="$values" -v s="$(field "$result" seconds)" 'BEGIN { printf "%.0f", v / s }') values/s"
    batches=$(redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_xreadgroup:calls=\([0-9]*\),.*/\1/p')
    echo "  $batches XREADGROUP calls (batches, incl. empty polls): $(awk -v e="$entries" -v b="$batches" 'BEGIN { printf "%.0f", e / b }') entries per batch"
    counters_report "element-value" "$values"
    counters_report "submission" "$entries" | sed -n '1,3p'
}

scenario_drain() {
    CURRENT=drain
    local dir=$TMP/drain loaded
    start_redis "$dir"
    start_api "$dir" "$CATALOG"
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts "$SEED_DISTRICTS" --out "$dir/units.txt" >/dev/null
    redis-cli -p "$REDIS_PORT" xgroup create edumon:submissions edumon-workers '$' mkstream >/dev/null
    loaded=$(bench_py preload --catalog "$CATALOG" --redis-port "$REDIS_PORT" \
        --units "$dir/units.txt" --count "$COUNT")
    echo "== drain: $COUNT submissions ($(field "$loaded" values) values) over the 5 seed districts, 1 worker"
    drain_clean "$dir" "$CATALOG" "$COUNT" "$(field "$loaded" values)"
    # Second pass, profiled: a fresh Redis with the same load (the first pass changed cells).
    stop_services
    start_redis "$dir/profiled"
    start_api "$dir/profiled" "$CATALOG"
    bench_py register --api "$API_URL" --admin "$ADMIN_TOKEN" --catalog "$CATALOG" \
        --districts "$SEED_DISTRICTS" --out "$dir/units2.txt" >/dev/null
    redis-cli -p "$REDIS_PORT" xgroup create edumon:submissions edumon-workers '$' mkstream >/dev/null
    bench_py preload --catalog "$CATALOG" --redis-port "$REDIS_PORT" --units "$dir/units2.txt" \
        --count "$COUNT" >/dev/null
    drain_profiled "$dir/profiled" "$CATALOG" "$(field "$loaded" values)"
}

# Registers and submits the national round's shape at $SCALE through the API, worker stopped.
national_load() { # DIR -> CATALOG_DIR SCHOOLS
    local dir=$1 districts marker
    districts=$(awk -v s="$SCALE" 'BEGIN { d = int(2800 * s + 0.5); print d < 5 ? 5 : d }')
    SCHOOLS=$(awk -v s="$SCALE" 'BEGIN { print int(530000 * s + 0.5) }')
    CATALOG_DIR=$dir/catalog
    mkdir -p "$dir"
    bench_py synth-catalog --source "$CATALOG" --out "$CATALOG_DIR" --districts "$districts" >/dev/null
    bench_py national-plan --districts "$districts" --schools "$SCHOOLS" --out "$dir/plan.txt" >/dev/null
    bench_py elements-lua --catalog "$CATALOG_DIR" --out "$dir/elements.lua" >/dev/null
    start_redis "$dir"
    start_api "$dir" "$CATALOG_DIR"
    for phase in register submit; do
        marker=$dir/$phase.done
        if [ $phase = register ]; then
            set -- BENCH_LIST="$dir/plan.txt" BENCH_ADMIN="$ADMIN_TOKEN" BENCH_OUT="$dir/tokens.txt"
        else
            bench_py national-order --tokens "$dir/tokens.txt" --out "$dir/submit.txt" >/dev/null
            set -- BENCH_LIST="$dir/submit.txt" BENCH_ELEMENTS="$dir/elements.lua" BENCH_PERIOD=2024
        fi
        env BENCH_LUA_DIR="$BENCH_DIR/wrk" BENCH_PHASE=$phase BENCH_TOTAL="$SCHOOLS" \
            BENCH_MARKER="$marker" "$@" wrk -t1 -c"$CONNECTIONS" -d3600s --timeout 10s \
            -s "$BENCH_DIR/wrk/national.lua" "$API_URL" >"$dir/wrk-$phase.txt" 2>&1 &
        WRK_PID=$!
        while [ ! -s "$marker" ] && kill -0 "$WRK_PID" 2>/dev/null; do check_alive; sleep 0.1; done
        kill -INT "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
        WRK_PID=
        [ -s "$marker" ] || die "drain-wide: the $phase phase did not finish"
        [ "$(cut -d' ' -f2 "$marker")" = 0 ] || die "drain-wide: failed $phase requests: $(cat "$marker")"
        if [ $phase = register ]; then
            # The registry entries are for a worker to read; skip them, as run.sh's drain does.
            redis-cli -p "$REDIS_PORT" xgroup create edumon:submissions edumon-workers '$' mkstream >/dev/null
        fi
    done
}

scenario_drain_wide() {
    CURRENT=drain-wide
    local dir=$TMP/drain-wide
    national_load "$dir"
    local values=$((SCHOOLS * 30))
    echo "== drain-wide: $SCHOOLS submissions ($values values) over $(find "$CATALOG_DIR/districts" -name '*.json' | wc -l) districts, round-robin, 1 worker"
    drain_clean "$dir" "$CATALOG_DIR" "$SCHOOLS" "$values"
    stop_services
    national_load "$dir/profiled"
    drain_profiled "$dir/profiled" "$CATALOG_DIR" "$values"
}

for scenario in "${SCENARIOS[@]}"; do
    case $scenario in
    drain-wide) scenario_drain_wide ;;
    *) "scenario_$scenario" ;;
    esac
    echo
done
