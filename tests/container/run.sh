#!/usr/bin/env bash
# Build the edumon image and run the product from it — on a machine without a
# Docker engine, where `podman run` does not work either (cgroup/rlimit
# limits of the sandbox). Slow (a minute or two with a warm cache, more the
# first time): CI runs it as its own step, not in the unit-test loop.
#
#   tests/container/run.sh
#
# 1. docker.io/library/debian:bookworm-slim is created from Debian's packages
#    with debootstrap if podman's store lacks it (make-base.sh; cached).
# 2. `podman build --format docker --isolation=chroot` builds ./Dockerfile
#    (docker format: OCI images drop HEALTHCHECK). The size is reported and
#    the image's metadata checked (non-root USER, STOPSIGNAL, CMD,
#    HEALTHCHECK, no compiler or curl inside).
# 3. `buildah from` + `buildah run --isolation=chroot` start, from the image:
#    the API and two workers, plus Redis 7 (Debian's redis-server in a small
#    image on the same base, with deploy/redis.conf). chroot isolation shares
#    the host's network, so everything listens on free loopback ports.
# 4. tests/container/e2e.py registers schools with the admin token, submits
#    figures, polls the district snapshot until it reflects them, and checks
#    /healthz, /readyz and /metrics. The image's own health check script is
#    run inside the API and worker containers.
# 5. SIGTERM to the API and the workers: each must exit 0 within its drain
#    time (what docker-compose.yml and the k8s manifests allow for).
#
# Everything started is stopped and removed on exit; images stay cached.
# Needs root (rootful podman/buildah), python3; installs podman, buildah and
# debootstrap with apt-get when missing.
set -euo pipefail

cd "$(dirname "$0")/../.."
repo=$(pwd)

IMAGE=${EDUMON_TEST_IMAGE:-localhost/edumon:test}
REDIS_IMAGE=localhost/edumon-redis:test
BASE_IMAGE=docker.io/library/debian:bookworm-slim
API_DRAIN_LIMIT=${API_DRAIN_LIMIT:-15}      # compose gives 20 s, k8s 30 s (with preStop)
WORKER_DRAIN_LIMIT=${WORKER_DRAIN_LIMIT:-25} # compose and k8s give 30 s

passed=0
failed=0
log() { printf '[container] %s\n' "$*" >&2; }
ok() { passed=$((passed + 1)); log "ok   $*"; }
bad() { failed=$((failed + 1)); log "FAIL $*"; }
die() {
    bad "$*"
    exit 1
}

[[ $EUID -eq 0 ]] || { echo "tests/container/run.sh needs root (rootful podman/buildah)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/edumon-container.XXXXXX)
containers=()
sessions=()   # session ids of the `buildah run`s started here (one per process)

cleanup() {
    local status=$? sid ctr
    for sid in "${sessions[@]}"; do
        kill -TERM -- "-$sid" 2>/dev/null || true
    done
    if ((${#sessions[@]})); then
        sleep 1
        for sid in "${sessions[@]}"; do
            kill -KILL -- "-$sid" 2>/dev/null || true
        done
    fi
    for ctr in "${containers[@]}"; do
        buildah rm "$ctr" >/dev/null 2>&1 || true
    done
    if ((status != 0)) || ((failed)); then
        for f in "$work"/*.log; do
            [[ -s "$f" && "$f" != */build.log ]] || continue
            echo "----- last lines of $(basename "$f")" >&2
            tail -n 25 "$f" >&2
        done
    fi
    rm -rf "$work"
    printf 'container: %d passed, %d failed\n' "$passed" "$failed"
    if ((failed)) && ((status == 0)); then status=1; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# new_container NAME IMAGE: a working container, named in CTR (removed on
# exit; not a $(...) call, so that the list of containers is kept).
new_container() {
    CTR="edumon-test-$1-$$"
    buildah rm "$CTR" >/dev/null 2>&1 || true
    buildah from --quiet --name "$CTR" "$2" >/dev/null
    containers+=("$CTR")
}

# start NAME [buildah run options] CONTAINER -- COMMAND...: runs it in the
# background in a session of its own; sets START_PID (the buildah run
# process, for wait) and START_SID (its session, to find the real process).
start() {
    local name=$1 pidfile="$work/$1.sid"
    shift
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
        buildah run --isolation=chroot "$@" >"$work/$name.log" 2>&1 &
    START_PID=$!
    for _ in $(seq 50); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
    START_SID=$(cat "$pidfile")
    sessions+=("$START_SID")
}

# pid_in_session SID COMM: the process named COMM that `start` launched.
pid_in_session() {
    local pid
    for _ in $(seq 100); do
        pid=$(pgrep -s "$1" -x "$2" | head -1 || true)
        [[ -n "$pid" ]] && { echo "$pid"; return 0; }
        sleep 0.1
    done
    return 1
}

# stop_gracefully WHAT SID COMM WAIT_PID LIMIT: SIGTERM to the process only
# (as docker stop / kubelet do) and wait for it to exit 0 within LIMIT s.
stop_gracefully() {
    local what=$1 sid=$2 comm=$3 wait_pid=$4 limit=$5 pid start rc elapsed
    pid=$(pid_in_session "$sid" "$comm") || { bad "$what: no $comm process to stop"; return; }
    start=$(date +%s.%N)
    kill -TERM "$pid"
    (sleep "$limit"; kill -KILL "$pid" 2>/dev/null) &
    local killer=$!
    rc=0
    wait "$wait_pid" || rc=$?
    kill "$killer" 2>/dev/null || true
    wait "$killer" 2>/dev/null || true
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    if ((rc == 0)) && awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e < l) }'; then
        ok "$what exited 0 ${elapsed}s after SIGTERM (limit ${limit}s)"
    else
        bad "$what: exit status $rc ${elapsed}s after SIGTERM (limit ${limit}s)"
    fi
}

# ------------------------------------------------------------------ image --

tests/container/make-base.sh
log "base $BASE_IMAGE: $(podman image inspect --format '{{.Size}}' "$BASE_IMAGE" |
    awk '{printf "%.1f MB", $1 / 1e6}')"

log "podman build --isolation=chroot -t $IMAGE . (log: build.log)"
build_start=$(date +%s)
if podman build --format docker --isolation=chroot -t "$IMAGE" . >"$work/build.log" 2>&1; then
    ok "image built in $(($(date +%s) - build_start)) s"
else
    tail -n 60 "$work/build.log" >&2
    die "podman build failed"
fi
grep -m1 '^runtime packages:' "$work/build.log" >&2 || true

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")
log "image $IMAGE: $(awk -v s="$size" -v b="$base_size" \
    'BEGIN { printf "%.1f MB (base %.1f MB + %.1f MB of edumon and its libraries)", s / 1e6, b / 1e6, (s - b) / 1e6 }')"
max_mb=${EDUMON_IMAGE_MAX_MB:-150}
if ((size < max_mb * 1000 * 1000)); then ok "image size under ${max_mb} MB"; else bad "image larger than ${max_mb} MB"; fi

check_config() {
    local what=$1 format=$2 want=$3 got
    got=$(podman image inspect --format "$format" "$IMAGE")
    # shellcheck disable=SC2053 # a want with '*' is a pattern
    if [[ "$want" == *'*'* && "$got" == $want ]] || [[ "$got" == "$want" ]]; then ok "$what: $got"; else bad "$what is '$got', want '$want'"; fi
}
check_config "USER" '{{.Config.User}}' '10001:10001'
check_config "STOPSIGNAL" '{{.Config.StopSignal}}' 'SIGTERM'
check_config "CMD" '{{json .Config.Cmd}}' '["edumon-api"]'
check_config "ENTRYPOINT" '{{json .Config.Entrypoint}}' 'null'
check_config "HEALTHCHECK" '{{json .Config.Healthcheck.Test}}' '*edumon-healthcheck*'
check_config "EXPOSE" '{{json .Config.ExposedPorts}}' '*8080/tcp*'

new_container probe "$IMAGE"
probe=$CTR
# shellcheck disable=SC2016 # expanded inside the container
if buildah run --isolation=chroot "$probe" -- sh -c \
    'test "$(id -u)" = 10001 && test -x /usr/local/bin/edumon-api && test -x /usr/local/bin/edumon-worker &&
     test -d "$EDUMON_CATALOG" && test -d "$EDUMON_WEB_DIR" &&
     ! ldd /usr/local/bin/edumon-api /usr/local/bin/edumon-worker | grep -q "not found"' \
    >"$work/probe.log" 2>&1; then
    ok "runs as uid 10001; binaries, catalog and dashboard in place; all libraries resolve"
else
    bad "image contents (see probe.log)"
fi
# shellcheck disable=SC2016 # expanded inside the container
tools=$(buildah run --isolation=chroot "$probe" -- sh -c \
    'for t in gcc cc cmake make curl wget; do command -v "$t" || true; done' 2>/dev/null || true)
if [[ -z "$tools" ]]; then ok "no compiler, cmake, curl or wget in the image"; else bad "build tools in the image: $tools"; fi
for role in api worker; do
    if buildah run --isolation=chroot "$probe" -- "edumon-$role" --help >"$work/help-$role.log" 2>&1 &&
        grep -q EDUMON_REDIS_URL "$work/help-$role.log"; then
        ok "edumon-$role --help runs in the image"
    else
        bad "edumon-$role --help (see help-$role.log)"
    fi
done

# ------------------------------------------------------------------ redis --

if ! podman image exists "$REDIS_IMAGE"; then
    log "building $REDIS_IMAGE (Debian's redis-server on the same base; cached)"
    mkdir -p "$work/redis-image"
    cat >"$work/redis-image/Containerfile" <<EOF
FROM $BASE_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends redis-server redis-tools \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /data /usr/local/etc/redis && chown redis:redis /data
USER redis
EOF
    podman build --format docker --isolation=chroot -t "$REDIS_IMAGE" "$work/redis-image" \
        >"$work/redis-build.log" 2>&1 || { tail -30 "$work/redis-build.log" >&2; die "building $REDIS_IMAGE"; }
fi

redis_port=$(free_port)
mkdir -p "$work/redis-data"
chmod 0777 "$work/redis-data"
new_container redis "$REDIS_IMAGE"
redis_ctr=$CTR
# deploy/redis.conf as compose mounts it; only the port and the loopback bind
# differ, because chroot isolation shares the host's network.
start redis -v "$work/redis-data:/data" \
    -v "$repo/deploy/redis.conf:/usr/local/etc/redis/redis.conf:ro" \
    "$redis_ctr" -- redis-server /usr/local/etc/redis/redis.conf --port "$redis_port" --bind 127.0.0.1
redis_pid=$START_PID
redis_sid=$START_SID
for _ in $(seq 100); do
    if buildah run --isolation=chroot "$redis_ctr" -- redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
        break
    fi
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited (see redis.log)"
    sleep 0.2
done
aof=$(buildah run --isolation=chroot "$redis_ctr" -- redis-cli -p "$redis_port" config get appendonly | tail -1)
policy=$(buildah run --isolation=chroot "$redis_ctr" -- redis-cli -p "$redis_port" config get maxmemory-policy | tail -1)
if [[ "$aof" == yes && "$policy" == noeviction ]]; then
    ok "Redis $(buildah run --isolation=chroot "$redis_ctr" -- redis-server --version | awk '{print $3}') on :$redis_port with deploy/redis.conf (appendonly $aof, $policy)"
else
    die "Redis is not configured from deploy/redis.conf (appendonly=$aof policy=$policy)"
fi

# ------------------------------------------------------- api and workers --

api_port=$(free_port)
admin_token="container-test-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
redis_url="redis://127.0.0.1:$redis_port/0"

new_container api "$IMAGE"
api_ctr=$CTR
start api --env "EDUMON_REDIS_URL=$redis_url" --env "EDUMON_LISTEN=127.0.0.1:$api_port" \
    --env "EDUMON_ADMIN_TOKEN=$admin_token" "$api_ctr" -- edumon-api
api_pid=$START_PID
api_sid=$START_SID

worker_pids=()
worker_sids=()
for n in 1 2; do
    new_container "worker-$n" "$IMAGE"
    ctr=$CTR
    start "worker-$n" --env "EDUMON_REDIS_URL=$redis_url" "$ctr" -- edumon-worker
    worker_pids+=("$START_PID")
    worker_sids+=("$START_SID")
done

# Fail fast (with its log) if the API dies at start-up, e.g. on bad config.
for _ in $(seq 100); do
    kill -0 "$api_pid" 2>/dev/null || die "edumon-api exited at start-up (see api.log)"
    { exec 3<>"/dev/tcp/127.0.0.1/$api_port"; } 2>/dev/null && { exec 3<&-; break; }
    sleep 0.2
done

if python3 tests/container/e2e.py "http://127.0.0.1:$api_port" "$admin_token" --timeout 60 \
    2>&1 | tee "$work/e2e.log" >&2 && grep -q '^\[e2e\] ok' "$work/e2e.log"; then
    ok "end to end: schools registered, figures submitted, snapshot updated, /metrics served"
else
    bad "end to end (see e2e output above)"
fi

for n in 1 2; do
    if kill -0 "${worker_pids[n - 1]}" 2>/dev/null; then ok "worker $n still running"; else bad "worker $n exited early"; fi
done

# The image's HEALTHCHECK script, inside the containers.
if buildah run --isolation=chroot --env "EDUMON_LISTEN=127.0.0.1:$api_port" "$api_ctr" -- \
    edumon-healthcheck api >"$work/healthcheck.log" 2>&1; then
    ok "image HEALTHCHECK (edumon-healthcheck api) passes against the running API"
else
    bad "image HEALTHCHECK fails against the running API: $(cat "$work/healthcheck.log")"
fi
if buildah run --isolation=chroot "$probe" -- edumon-healthcheck worker >>"$work/healthcheck.log" 2>&1; then
    ok "edumon-healthcheck worker passes while workers run"
else
    bad "edumon-healthcheck worker fails while workers run"
fi

if grep -qF "$admin_token" "$work"/api.log "$work"/worker-*.log; then
    bad "the admin token appears in the logs"
else
    ok "no token in the API or worker logs"
fi

# --------------------------------------------------------------- shutdown --

stop_gracefully "API" "$api_sid" edumon-api "$api_pid" "$API_DRAIN_LIMIT"
if buildah run --isolation=chroot --env "EDUMON_LISTEN=127.0.0.1:$api_port" "$probe" -- \
    edumon-healthcheck api >/dev/null 2>&1; then
    bad "edumon-healthcheck still passes after the API stopped"
else
    ok "edumon-healthcheck fails once the API is gone"
fi
for n in 1 2; do
    stop_gracefully "worker $n" "${worker_sids[n - 1]}" edumon-worker "${worker_pids[n - 1]}" "$WORKER_DRAIN_LIMIT"
done
stop_gracefully "Redis" "$redis_sid" redis-server "$redis_pid" 30
if [[ -n "$(ls -A "$work/redis-data/appendonlydir" 2>/dev/null)" ]]; then
    ok "Redis wrote its AOF to the /data volume"
else
    bad "no AOF in Redis's /data volume"
fi

# Every source change leaves the previous build's layers behind, untagged
# (~500 MB for a build stage). Keep a day of them as the build cache.
podman image prune -f --filter until=24h >/dev/null 2>&1 || true
