# shellcheck shell=bash disable=SC2034  # (variables are for the scripts that source this)
# bench/lib.sh -- what bench/run.sh and bench/profile.sh share: settings, starting redis-server,
# edumon-api, edumon-worker(s) on free loopback ports, stopping them (always, via traps), failing
# loudly when one dies, running wrk. Sourced, never run; expects ROOT-relative paths (the
# scripts cd to the repository first) and sets `-euo pipefail` itself.
set -euo pipefail

ROOT=$PWD
BENCH_DIR=$ROOT/bench
BUILD=${BUILD:-build}
case $BUILD in /*) BUILD_DIR=$BUILD ;; *) BUILD_DIR=$ROOT/$BUILD ;; esac
BIN=$BUILD_DIR/bin
PYTHON=${PYTHON:-python3}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
ADMIN_TOKEN=bench-admin-token-0123456789abcdef
CATALOG=$ROOT/deploy/catalog
SEED_DISTRICTS=changzhou-zhonglou,kunming-anning,tonghua-erdaojiang,xining-chengzhong,yinchuan-xingqing
SNAPSHOT_DISTRICT=yinchuan-xingqing
KEEP=${KEEP:-0} CURRENT=${CURRENT:-setup} REPORT=${REPORT:-} QUICK=${QUICK:-0}
WRK_SECONDS=${WRK_SECONDS:-10}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
note() { printf '# %s\n' "$*"; }
for tool in redis-server redis-cli redis-benchmark wrk curl /usr/bin/time pkill "$PYTHON"; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --bench)"
done
if [ ! -x "$BIN/edumon-api" ] || [ ! -x "$BIN/edumon-worker" ]; then
    die "no edumon binaries in $BIN (make build, or BUILD=<dir>)"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/${BENCH_TMP_PREFIX:-edumon-bench}.XXXXXX")
SERVICES=()   # "name:pid:log" of the benchmark in progress, stopped in reverse order
WRK_PID=

stop_services() {
    local i entry pid
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        entry=${SERVICES[i]}
        pid=$(cut -d: -f2 <<<"$entry")
        kill -0 "$pid" 2>/dev/null || continue
        # A wrapper (BENCH_WORKER_WRAP) may not pass the signal on: its children get it too.
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVICES=()
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
    fi
    stop_services
    if [ "$KEEP" = 1 ] || [ "$status" -ne 0 ]; then
        echo "bench: logs and data kept in $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- processes ------------------------------------------------------------------------------

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME LOG COMMAND... -- in the background, remembered for stop_services.
start() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    SERVICES+=("$name:$!:$log")
}

pid_of() {
    local entry
    for entry in "${SERVICES[@]}"; do
        [ "${entry%%:*}" = "$1" ] && { cut -d: -f2 <<<"$entry"; return; }
    done
    die "no service $1"
}

# Fails loudly, with the end of its log, when a process of the benchmark has died.
check_alive() {
    local entry name pid log
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name pid log <<<"$entry"
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "bench: $name (pid $pid) died during the $CURRENT benchmark; end of $log:" >&2
            tail -n 20 "$log" >&2 || true
            exit 1
        fi
    done
}

wait_until() { # DESCRIPTION SECONDS COMMAND...
    local what=$1 limit=$2 i
    shift 2
    for ((i = 0; i < limit * 20; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        check_alive
        sleep 0.05
    done
    die "$what did not happen within $limit s ($CURRENT)"
}

start_redis() { # DIR -> REDIS_PORT
    local dir=$1
    mkdir -p "$dir"
    REDIS_PORT=$(free_port)
    start redis "$dir/redis.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --save '' --appendonly no --dir "$dir" --daemonize no --protected-mode no
    wait_until "redis-server answering" 10 redis-cli -p "$REDIS_PORT" ping
}

start_api() { # DIR CATALOG -> API_URL
    local dir=$1 catalog=$2 port
    port=$(free_port)
    API_URL=http://127.0.0.1:$port
    start api "$dir/api.log" env EDUMON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        EDUMON_LISTEN="127.0.0.1:$port" EDUMON_ADMIN_TOKEN="$ADMIN_TOKEN" EDUMON_RATE_LIMIT=0 \
        EDUMON_CATALOG="$catalog" EDUMON_LOG_LEVEL="$LOG_LEVEL" EDUMON_MAX_CONNECTIONS=10000 \
        EDUMON_API_THREADS="${BENCH_API_THREADS:-1}" "$BIN/edumon-api"
    wait_until "edumon-api ready" 30 curl -sf "$API_URL/readyz"
}

# BENCH_WORKER_WRAP: a command line to run the worker under (e.g. "heaptrack -o FILE"), unquoted.
start_worker() { # DIR CATALOG NAME
    # shellcheck disable=SC2086 # the wrapper is a command line on purpose
    start "$3" "$1/$3.log" env EDUMON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        EDUMON_CATALOG="$2" EDUMON_CONSUMER="$3" EDUMON_LOG_LEVEL="$LOG_LEVEL" \
        ${BENCH_WORKER_WRAP:-} "$BIN/edumon-worker"
}

bench_py() { "$PYTHON" "$BENCH_DIR/edubench.py" "$@"; }

# field LINE KEY -- the value of KEY=value in a line of key=value pairs.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

# figure NAME VALUE UNIT RATIO BASELINE TARGET -- one result line (and a Markdown row).
figure() {
    printf '%-40s %12s %-6s %8s  %-40s %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
    if [ -n "$REPORT" ]; then
        printf '| %s | %s %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$REPORT"
    fi
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() { # PID
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}

# run_wrk NAME URL SCRIPT [ENV...] -> WRK_LINE (the BENCH line of bench/wrk/report.lua),
# WRK_CPU (seconds of CPU wrk itself used)
run_wrk() {
    local name=$1 url=$2 script=$3 out
    shift 3
    out=$TMP/wrk-$name.txt
    /usr/bin/time -f '%U %S' -o "$out.cpu" env BENCH_LUA_DIR="$BENCH_DIR/wrk" "$@" \
        wrk -t1 -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$BENCH_DIR/wrk/$script" \
        "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $name failed"; }
    WRK_CPU=$(awk '{ print $1 + $2 }' "$out.cpu")
    WRK_LINE=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "wrk $name printed no result"; }
    local bad
    bad=$(($(field "$WRK_LINE" errors_status) + $(field "$WRK_LINE" errors_connect) + \
        $(field "$WRK_LINE" errors_read) + $(field "$WRK_LINE" errors_timeout)))
    if [ "$bad" -gt 0 ]; then
        cat "$out" >&2
        die "wrk $name: $bad failed requests"
    fi
    check_alive
}

# csv_field LINE N -- the Nth field from the end (0 = last) of redis-benchmark --csv output.
csv_field() { awk -F, -v n="$2" '{ v = $(NF - n); gsub(/"/, "", v); print v }' <<<"$1"; }

fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

# median VALUE... -- the middle value (the lower of the two middle ones for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

