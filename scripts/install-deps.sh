#!/usr/bin/env bash
# Installs the Debian packages edumon needs, only those missing.
#   scripts/install-deps.sh          build and run (demo)
#   scripts/install-deps.sh --test   also what the test suite needs
#   scripts/install-deps.sh --bench  also what the benchmarks need
# Without root it only reports what is missing.
set -euo pipefail

packages=(build-essential cmake pkg-config libevent-dev libhiredis-dev libcjson-dev libmd-dev zlib1g-dev
          libjemalloc-dev
          redis-server redis-tools python3 curl)
for option in "$@"; do
    case "$option" in
    --test)
        packages+=(libcmocka-dev chromium python3-yaml prometheus valgrind)
        # Node may come from elsewhere (NodeSource ships npm inside its nodejs, which
        # conflicts with Debian's npm): ask for Debian's packages only when the commands
        # are missing.
        command -v node >/dev/null 2>&1 || packages+=(nodejs)
        command -v npm >/dev/null 2>&1 || packages+=(npm)
        ;;
    --bench) packages+=(wrk nginx-light time procps) ;;
    --lint) packages+=(clang-format clang-tidy cppcheck) ;;
    *) echo "install-deps: unknown option $option" >&2; exit 2 ;;
    esac
done

missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "install-deps: missing packages (run as root to install): ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists.
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/edumon-apt.log 2>&1; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/edumon-apt.log 2>&1 ||
        { cat /tmp/edumon-apt.log >&2; exit 1; }
fi
# Debian starts the packaged redis-server as a service where systemd runs; edumon starts its
# own instances on private ports and never uses that one.
