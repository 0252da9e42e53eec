#!/bin/bash
# edumon-healthcheck — the image's HEALTHCHECK, without curl or wget.
#
# For the API role it asks GET /healthz over bash's /dev/tcp (HTTP/1.0, so
# the server closes the connection after the answer) and succeeds on 200.
# The port comes from --listen on the API's command line, else EDUMON_LISTEN,
# else the contract default 8080; a wildcard host (0.0.0.0, ::, empty) is
# asked on loopback. For the worker role, which serves no HTTP, it succeeds
# while an edumon-worker process is alive (Redis trouble shows in the API's
# /readyz and in /metrics, not here: restarting a worker would not help).
#
#   edumon-healthcheck            # pick the role from the running process
#   edumon-healthcheck api|worker # force it
#   EDUMON_HEALTH_URL_PATH=/readyz edumon-healthcheck api
set -u

path=${EDUMON_HEALTH_URL_PATH:-/healthz}
timeout=${EDUMON_HEALTH_TIMEOUT:-2}

# The pid of the first process whose name is $1 (comm is cut at 15 chars).
find_process() {
    local comm_file comm
    for comm_file in /proc/[0-9]*/comm; do
        read -r comm <"$comm_file" 2>/dev/null || continue
        if [[ "$comm" == "$1" ]]; then
            comm_file=${comm_file%/comm}
            echo "${comm_file#/proc/}"
            return 0
        fi
    done
    return 1
}

# The --listen value from a process's command line, if it was given there.
listen_from_cmdline() {
    local -a args
    local i
    mapfile -d '' args <"/proc/$1/cmdline" 2>/dev/null || return 1
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
        --listen=*) echo "${args[i]#--listen=}"; return 0 ;;
        --listen) echo "${args[i + 1]:-}"; return 0 ;;
        esac
    done
    return 1
}

check_api() {
    local listen host port status line
    listen=$(listen_from_cmdline "$1" 2>/dev/null) || listen=${EDUMON_LISTEN:-127.0.0.1:8080}
    port=${listen##*:}
    host=${listen%:*}
    host=${host#[}
    host=${host%]}
    case "$host" in
    "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
    ::) host=::1 ;;
    esac
    if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
        echo "unhealthy: cannot connect to $host:$port" >&2
        return 1
    fi
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: edumon-healthcheck\r\n\r\n' "$path" >&3
    if ! IFS= read -r -t "$timeout" line <&3; then
        echo "unhealthy: no answer from $host:$port$path within ${timeout}s" >&2
        return 1
    fi
    exec 3<&-
    line=${line%$'\r'}
    status=$(echo "$line" | cut -d' ' -f2)
    if [[ "$status" != 200 ]]; then
        echo "unhealthy: $host:$port$path answered '$line'" >&2
        return 1
    fi
    return 0
}

role=${1:-}
if [[ -z "$role" || "$role" == api ]] && pid=$(find_process edumon-api); then
    check_api "$pid"
    exit
fi
if [[ -z "$role" || "$role" == worker ]] && find_process edumon-worker >/dev/null; then
    exit 0
fi
if [[ "$role" == api ]]; then
    # Asked explicitly for the API but no process seen (e.g. another PID
    # namespace): still try the port.
    check_api 0
    exit
fi
echo "unhealthy: no edumon-api or edumon-worker process" >&2
exit 1
