# edumon — one image for both roles.
#
#   docker build -t edumon .
#   docker run edumon                    # the HTTP API (default command)
#   docker run edumon edumon-worker      # a stream consumer / aggregator
#
# Two stages on debian:bookworm-slim. The build stage has the compiler and the
# -dev packages, builds from source (it does not need a build from the host)
# and installs into a staging root. The runtime stage gets only the shared
# libraries the binaries actually link (worked out with ldd + dpkg in the build
# stage, so a new link dependency cannot be forgotten), the two binaries, the
# indicator catalog and the dashboard files, and runs as an unprivileged user.
#
# Configuration is by environment (docs/deploy.md, shared design api-v1.md):
# EDUMON_REDIS_URL, EDUMON_LISTEN, EDUMON_CATALOG, EDUMON_WEB_DIR,
# EDUMON_ADMIN_TOKEN, EDUMON_READ_TOKEN. Tokens are never baked into the image.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build ----
FROM ${DEBIAN_IMAGE} AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config \
        libevent-dev libhiredis-dev libcjson-dev libmd-dev zlib1g-dev libjemalloc-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The install prefix is fixed at configure time because the binaries embed it
# as their default catalog/dashboard location; DESTDIR only redirects the copy.
# Tests, fuzzers and benchmarks are not built here: CI runs them on the host.
RUN cmake -S . -B /build \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX=/usr/local \
        -DEDUMON_TESTS=OFF -DEDUMON_FUZZ=OFF -DEDUMON_SANITIZE=OFF \
 && cmake --build /build -j"$(nproc)" \
 && DESTDIR=/staging cmake --install /build --strip \
 && test -x /staging/usr/local/bin/edumon-api \
 && test -x /staging/usr/local/bin/edumon-worker \
 && test -d /staging/usr/local/share/edumon/catalog

# The Debian packages that own the shared libraries the binaries link
# (today: libevent-core-2.1-7 libevent-extra-2.1-7 libhiredis0.14 libcjson1
# libmd0 zlib1g libjemalloc2, plus libc6 which the base has). Bookworm
# is merged-/usr, but dpkg knows some libraries by their /lib path, so both
# spellings are tried.
RUN set -eu; \
    ldd /staging/usr/local/bin/edumon-api /staging/usr/local/bin/edumon-worker \
        | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u > /tmp/libs; \
    test -s /tmp/libs; \
    while read -r lib; do \
        real=$(readlink -f "$lib"); \
        owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null \
            || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null) \
            || { echo "no Debian package owns $lib" >&2; exit 1; }; \
        echo "${owner%%:*}"; \
    done < /tmp/libs > /tmp/owners; \
    sort -u /tmp/owners > /staging/runtime-packages; \
    echo "runtime packages:" $(cat /staging/runtime-packages)

# -------------------------------------------------------------- runtime ----
FROM ${DEBIAN_IMAGE}

ARG DEBIAN_FRONTEND=noninteractive
COPY --from=build /staging/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && apt-get install -y --no-install-recommends --no-upgrade $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log \
        /tmp/runtime-packages \
 && groupadd --gid 10001 edumon \
 && useradd --uid 10001 --gid edumon --no-create-home --no-log-init \
        --home-dir /nonexistent --shell /usr/sbin/nologin edumon

COPY --from=build /staging/usr/local/ /usr/local/
COPY deploy/healthcheck.sh /usr/local/bin/edumon-healthcheck

# Fail the build, not the first start, if a library is missing.
RUN chmod 0755 /usr/local/bin/edumon-healthcheck \
 && ! ldd /usr/local/bin/edumon-api /usr/local/bin/edumon-worker | grep 'not found'

ENV EDUMON_LISTEN=0.0.0.0:8080 \
    EDUMON_CATALOG=/usr/local/share/edumon/catalog \
    EDUMON_WEB_DIR=/usr/local/share/edumon/web

# Numeric so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080

# The binaries handle SIGTERM themselves (stop accepting, drain, exit 0), so
# they run as PID 1 without an init shim. Orchestrators must wait longer than
# the drain: compose stop_grace_period / k8s terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM

# No curl or wget in the image: the check is a bash script speaking HTTP/1.0
# over bash's /dev/tcp (bash is already in every Debian image). For the worker
# role, which serves no HTTP, it checks that the worker process is alive.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/edumon-healthcheck"]

CMD ["edumon-api"]

LABEL org.opencontainers.image.title="edumon" \
      org.opencontainers.image.description="edumon API (default) and worker (command edumon-worker)" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
