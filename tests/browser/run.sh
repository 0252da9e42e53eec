#!/usr/bin/env bash
# End-to-end test of the web dashboard in a real browser.
#
#   tests/browser/run.sh [BUILD_DIR [CATALOG_DIR [OUT_DIR]]]
#
# BUILD_DIR   has bin/edumon-api and bin/edumon-worker   (env EDUMON_BUILD_DIR, default build/)
# CATALOG_DIR catalog to serve  (env EDUMON_TEST_CATALOG, default tests/browser/fixtures/catalog,
#             whose figures the test checks by hand; any other catalog gets the generic checks)
# OUT_DIR     screenshots and process logs  (env EDUMON_BROWSER_OUT, default BUILD_DIR/browser-out)
#
# Starts its own Redis, edumon-api and edumon-worker on free loopback ports, registers schools
# and submits figures through the HTTP API (seed.mjs), then drives Debian's chromium with
# playwright-core (dashboard.test.mjs). Everything it started is stopped on exit.
# Installs chromium (as root) and the npm packages (npm ci) when they are missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${EDUMON_BUILD_DIR:-$REPO/build}}
CATALOG=${2:-${EDUMON_TEST_CATALOG:-$HERE/fixtures/catalog}}
BUILD=$(cd "$BUILD" && pwd)
CATALOG=$(cd "$CATALOG" && pwd)
OUT=${3:-${EDUMON_BROWSER_OUT:-$BUILD/browser-out}}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

log() { printf 'browser-test: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for binary in edumon-api edumon-worker; do
    [ -x "$BUILD/bin/$binary" ] || die "$BUILD/bin/$binary missing: build first (make build)"
done

# ---- prerequisites ----
as_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
    as_root || die "need $* installed (apt-get install $*), and not root to do it"
    log "installing $*"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
[ -x "$CHROMIUM" ] || apt_install chromium
command -v redis-server >/dev/null || apt_install redis-server
# A CJK font, or the Chinese in the screenshots is boxes (the assertions read the DOM either way).
if as_root && ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    apt_install fonts-wqy-microhei || log "no CJK font: screenshots will show boxes for Chinese"
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
    log "npm ci"
    (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# ---- processes ----
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edumon-browser.XXXXXX")
API_PIDFILE="$WORK/api.pid"
PIDS=()
cleanup() {
    local status=$?
    local pids=("${PIDS[@]}")
    [ -s "$API_PIDFILE" ] && pids+=("$(cat "$API_PIDFILE")")
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if [ "$status" != 0 ]; then
        for name in api worker redis api-restarted; do
            [ -s "$OUT/$name.log" ] || continue
            log "--- last lines of $OUT/$name.log"
            tail -n 20 "$OUT/$name.log" >&2
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
REDIS_PORT=$(free_port)
API_PORT=$(free_port)
while [ "$API_PORT" = "$REDIS_PORT" ]; do API_PORT=$(free_port); done

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    >"$OUT/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "redis-server did not start"

export EDUMON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export EDUMON_LISTEN="127.0.0.1:$API_PORT"
export EDUMON_CATALOG="$CATALOG"
export EDUMON_ADMIN_TOKEN="browser-test-admin-$RANDOM$RANDOM"
export EDUMON_WEB_DIR="$REPO/web"
unset EDUMON_READ_TOKEN

"$BUILD/bin/edumon-api" >"$OUT/api.log" 2>&1 &
echo $! >"$API_PIDFILE"
"$BUILD/bin/edumon-worker" >"$OUT/worker.log" 2>&1 &
PIDS+=($!)

BASE_URL="http://127.0.0.1:$API_PORT"
ready=0
for _ in $(seq 100); do
    if curl -fsS -o /dev/null "$BASE_URL/readyz" 2>/dev/null; then ready=1; break; fi
    kill -0 "$(cat "$API_PIDFILE")" 2>/dev/null || die "edumon-api exited"
    sleep 0.1
done
[ "$ready" = 1 ] || die "edumon-api not ready after 10 s"
kill -0 "${PIDS[1]}" 2>/dev/null || die "edumon-worker exited"
log "api $BASE_URL, redis port $REDIS_PORT, catalog $CATALOG, output $OUT"

export EDUMON_BASE_URL="$BASE_URL"
export EDUMON_BROWSER_OUT="$OUT"
export EDUMON_API_PIDFILE="$API_PIDFILE"
export EDUMON_API_BIN="$BUILD/bin/edumon-api"
export CHROMIUM

cd "$HERE"
if [ -f "$CATALOG/districts/fixture-county.json" ]; then
    node seed.mjs
fi
node --test --test-reporter=spec dashboard.test.mjs
log "screenshots in $OUT"
