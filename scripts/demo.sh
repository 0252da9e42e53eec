#!/usr/bin/env bash
# scripts/demo.sh -- what `make demo` runs.
#
# On a fresh Debian machine: installs the Debian packages that are missing, builds edumon,
# starts a private redis-server (data and AOF in .demo/redis), the API and one worker, registers
# the synthetic schools of the five seed districts and sends their figures through the HTTP API
# (tools/simulate.py), keeps a trickle of resubmissions flowing, and prints where to look.
# Ctrl-C stops everything this script started, and nothing else. Running it again reuses the
# data in .demo (the simulator's resubmissions of the initial load are answered as replays).
#
# Settings (environment):
#   EDUMON_LISTEN            API address                     (default 127.0.0.1:$EDUMON_DEMO_PORT)
#   EDUMON_DEMO_PORT         API port when EDUMON_LISTEN is not set           (default 8080)
#   EDUMON_DEMO_REDIS_PORT   port of the private redis-server                 (default 6380)
#   EDUMON_ADMIN_TOKEN       admin token (default: generated once into .demo/admin-token)
#   EDUMON_DEMO_RATE         resubmissions per second after the initial load  (default 10)
#   EDUMON_DEMO_DIR          state directory                                  (default .demo)
#   EDUMON_BUILD_DIR         build directory                                  (default build)
#   EDUMON_DEMO_SKIP_APT=1   do not check or install Debian packages
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DEMO_DIR=${EDUMON_DEMO_DIR:-$ROOT/.demo}
BUILD_DIR=${EDUMON_BUILD_DIR:-$ROOT/build}
REDIS_PORT=${EDUMON_DEMO_REDIS_PORT:-6380}
LISTEN=${EDUMON_LISTEN:-127.0.0.1:${EDUMON_DEMO_PORT:-8080}}
RATE=${EDUMON_DEMO_RATE:-10}
CATALOG=${EDUMON_CATALOG:-$ROOT/deploy/catalog}
PACKAGES=(build-essential cmake pkg-config libevent-dev libhiredis-dev libcjson-dev libmd-dev zlib1g-dev
          libcmocka-dev redis-server redis-tools python3 curl)

API_HOST=${LISTEN%:*}
API_PORT=${LISTEN##*:}
case $API_HOST in "" | 0.0.0.0 | "[::]" | "::") API_HOST=127.0.0.1 ;; esac
API_URL="http://$API_HOST:$API_PORT"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# ---- what we started, and how to stop it -----------------------------------------------------

STARTED=()          # "name:pid", in start order; stopped in reverse
CLEANED=0
cleanup() {
    local status=$?
    [ "$CLEANED" = 1 ] && return
    CLEANED=1
    trap - INT TERM HUP EXIT
    if [ "${#STARTED[@]}" -gt 0 ]; then
        echo
        say "stopping the demo"
    fi
    local i entry name pid
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        entry=${STARTED[i]}
        name=${entry%%:*}
        pid=${entry##*:}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        # Redis fsyncs the AOF on SIGTERM; give every process a moment to finish cleanly.
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "    $name (pid $pid) did not stop in 10 s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "    stopped $name (pid $pid)"
        rm -f "$DEMO_DIR/$name.pid"
    done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Starts a long-running process in its own session (so Ctrl-C reaches this script, which then
# stops the processes in order), logs to .demo/<name>.log, records the pid.
start() {
    local name=$1
    shift
    setsid "$@" </dev/null >>"$DEMO_DIR/$name.log" 2>&1 &
    local pid=$!
    STARTED+=("$name:$pid")
    echo "$pid" >"$DEMO_DIR/$name.pid"
    echo "    $name: pid $pid, log ${DEMO_DIR#"$ROOT"/}/$name.log"
}

alive() { kill -0 "$1" 2>/dev/null; }

pid_of() {
    local entry
    for entry in "${STARTED[@]}"; do
        [ "${entry%%:*}" = "$1" ] && echo "${entry##*:}" && return
    done
}

show_log() {
    echo "---- last lines of ${DEMO_DIR#"$ROOT"/}/$1.log ----" >&2
    tail -n 20 "$DEMO_DIR/$1.log" >&2 || true
}

# ---- 1. packages -----------------------------------------------------------------------------

install_packages() {
    if [ "${EDUMON_DEMO_SKIP_APT:-0}" = 1 ]; then
        return
    fi
    if ! command -v dpkg >/dev/null; then
        echo "demo: not a Debian system (no dpkg): make sure these are installed: ${PACKAGES[*]}"
        return
    fi
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return
    say "installing missing packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "run as root or install sudo: missing ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends \
        "${missing[@]}"
}

# ---- 2. ports --------------------------------------------------------------------------------

port_busy() {
    local port=$1
    if command -v ss >/dev/null; then
        [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

port_owner() {
    command -v ss >/dev/null || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n 1 || true
}

check_port() {
    local port=$1 what=$2 variable=$3 name=$4
    port_busy "$port" || return 0
    local hint="" old owner
    owner=$(port_owner "$port")
    if [ -f "$DEMO_DIR/$name.pid" ] && old=$(cat "$DEMO_DIR/$name.pid") && alive "$old" &&
        [[ $owner == *"pid=$old,"* ]]; then
        hint=" It is the $name of an earlier demo (pid $old, see $DEMO_DIR/$name.pid),"
        hint+=" still running: stop that demo (Ctrl-C) or kill $old."
    fi
    die "port $port ($what) is already in use ${owner:+by $owner}.$hint
      Choose another with $variable=<port> (e.g. $variable=$((port + 100)) make demo)."
}

# ---- 3. waiting --------------------------------------------------------------------------------

wait_for_redis() {
    local pid=$1 answer
    for _ in $(seq 1 300); do
        alive "$pid" || { show_log redis; die "redis-server exited during start-up"; }
        answer=$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null || true)
        [ "$answer" = PONG ] && return 0
        sleep 0.1   # "LOADING": a large AOF is being replayed
    done
    show_log redis
    die "redis-server did not answer PING on port $REDIS_PORT within 30 s"
}

wait_for_api() {
    local pid=$1
    for _ in $(seq 1 300); do
        alive "$pid" || { show_log api; die "edumon-api exited during start-up"; }
        curl -fsS -o /dev/null --max-time 2 "$API_URL/readyz" 2>/dev/null && return 0
        sleep 0.1
    done
    show_log api
    die "edumon-api did not become ready ($API_URL/readyz) within 30 s"
}

# ---- main ------------------------------------------------------------------------------------

install_packages

say "building (cmake, RelWithDebInfo) in ${BUILD_DIR#"$ROOT"/}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
if [ ! -x "$BUILD_DIR/bin/edumon-api" ] || [ ! -x "$BUILD_DIR/bin/edumon-worker" ]; then
    die "the build did not produce $BUILD_DIR/bin/edumon-api and edumon-worker"
fi

mkdir -p "$DEMO_DIR/redis"
chmod 700 "$DEMO_DIR"

check_port "$REDIS_PORT" "private redis-server" EDUMON_DEMO_REDIS_PORT redis
if [ -n "${EDUMON_LISTEN:-}" ]; then
    check_port "$API_PORT" "edumon-api" EDUMON_LISTEN api
else
    check_port "$API_PORT" "edumon-api" EDUMON_DEMO_PORT api
fi

if [ -n "${EDUMON_ADMIN_TOKEN:-}" ]; then
    ADMIN_TOKEN=$EDUMON_ADMIN_TOKEN
    TOKEN_NOTE="Admin token   the one in EDUMON_ADMIN_TOKEN"
    # shellcheck disable=SC2016 # printed for the reader's shell to expand
    TOKEN_REF='$EDUMON_ADMIN_TOKEN'
else
    if [ ! -s "$DEMO_DIR/admin-token" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DEMO_DIR/admin-token")
    fi
    ADMIN_TOKEN=$(cat "$DEMO_DIR/admin-token")
    TOKEN_NOTE="Admin token   ${DEMO_DIR#"$ROOT"/}/admin-token"
    TOKEN_REF="\$(cat ${DEMO_DIR#"$ROOT"/}/admin-token)"
fi

say "starting redis-server (port $REDIS_PORT, AOF in ${DEMO_DIR#"$ROOT"/}/redis), the API, a worker"
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DEMO_DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no
wait_for_redis "$(pid_of redis)"

export EDUMON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export EDUMON_CATALOG="$CATALOG"
WEB_ENV=()
[ -d "$ROOT/web" ] && WEB_ENV=("EDUMON_WEB_DIR=$ROOT/web")
start api env "EDUMON_LISTEN=$LISTEN" "EDUMON_ADMIN_TOKEN=$ADMIN_TOKEN" "${WEB_ENV[@]}" \
    "$BUILD_DIR/bin/edumon-api"
start worker env EDUMON_CONSUMER=demo-worker-1 "$BUILD_DIR/bin/edumon-worker"
wait_for_api "$(pid_of api)"
alive "$(pid_of worker)" || { show_log worker; die "edumon-worker exited during start-up"; }

export EDUMON_ADMIN_TOKEN="$ADMIN_TOKEN"   # the simulator reads it from the environment
SIMULATE=(python3 "$ROOT/tools/simulate.py" --api "$API_URL" --catalog "$CATALOG"
          --state "$DEMO_DIR/tokens.json")

say "registering the synthetic schools and sending every plan year's figures (initial load)"
if ! "${SIMULATE[@]}" --once 2>&1 | tee -i -a "$DEMO_DIR/simulate-load.log"; then
    die "the initial load failed (see above and ${DEMO_DIR#"$ROOT"/}/simulate-load.log)"
fi

say "streaming resubmissions at $RATE/s in the background"
start simulate "${SIMULATE[@]}" --no-initial --rate "$RATE"

cat <<EOF

  edumon demo is running.

  Dashboard     $API_URL/
  API           $API_URL/v1/districts
  $TOKEN_NOTE
  Logs          ${DEMO_DIR#"$ROOT"/}/{redis,api,worker,simulate}.log

  Try:
    curl -s $API_URL/v1/districts | python3 -m json.tool
    curl -s $API_URL/v1/districts/yinchuan-xingqing/snapshot | python3 -m json.tool | less
    # long-poll: wait up to 30 s for the next version of the snapshot
    etag=\$(curl -sI $API_URL/v1/districts/yinchuan-xingqing/snapshot | tr -d '\r' | awk 'tolower(\$1)=="etag:" {print \$2}')
    curl -s -i -H "If-None-Match: \$etag" "$API_URL/v1/districts/yinchuan-xingqing/snapshot?wait=30" | head -n 12
    # registered schools (admin)
    curl -s -H "Authorization: Bearer $TOKEN_REF" $API_URL/v1/districts/kunming-anning/schools | python3 -m json.tool | head -n 20

  Press Ctrl-C to stop everything the demo started.

EOF

# Wait until interrupted, or until a service dies (then say which and stop the rest).
while true; do
    for name in redis api worker; do
        pid=$(pid_of "$name")
        if ! alive "$pid"; then
            show_log "$name"
            die "$name (pid $pid) stopped unexpectedly; stopping the demo"
        fi
    done
    pid=$(pid_of simulate)
    if [ -n "$pid" ] && ! alive "$pid"; then
        echo "demo: the background simulator stopped (see ${DEMO_DIR#"$ROOT"/}/simulate.log); the services keep running" >&2
        kept=()
        for entry in "${STARTED[@]}"; do
            [ "$entry" = "simulate:$pid" ] || kept+=("$entry")
        done
        STARTED=("${kept[@]}")
    fi
    sleep 1 &
    wait $! || true
done
