#!/usr/bin/env bash
# Create docker.io/library/debian:bookworm-slim in podman's local store from
# Debian's own packages (this machine cannot pull images from a registry).
#
#   tests/container/make-base.sh            # no-op if the image already exists
#   FORCE=1 tests/container/make-base.sh    # rebuild it
#
# The result is a minbase debootstrap (apt, dpkg, bash, coreutils; ~120 MB
# unpacked before cleanup), close to the official bookworm-slim. The mirror is
# read from the machine's apt sources so the same registry apt uses is used.
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
SUITE=${SUITE:-bookworm}

log() { printf '[make-base] %s\n' "$*" >&2; }

need_pkgs=()
command -v podman >/dev/null 2>&1 || need_pkgs+=(podman)
command -v buildah >/dev/null 2>&1 || need_pkgs+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [[ -z "${FORCE:-}" ]] && podman image exists "$BASE_IMAGE"; then
    log "$BASE_IMAGE already in podman's store (FORCE=1 to rebuild)"
    exit 0
fi

# The first plain Debian mirror in the apt sources (deb822 or one-line format).
mirror=${DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}')
fi
if [[ -z "$mirror" ]]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) {print $i; exit}}')
fi
mirror=${mirror:-http://deb.debian.org/debian}
log "mirror: $mirror"

work=$(mktemp -d /var/tmp/edumon-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap --variant=minbase $SUITE (a few minutes)"
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -30 "$work/debootstrap.log" >&2
    exit 1
}

# Make it look like the official slim image: apt sources in deb822 form,
# including updates and security, and no caches or docs.
rm -f "$root/etc/apt/sources.list"
security=${mirror%/debian}/debian-security
[[ "$mirror" == */debian ]] || security=http://deb.debian.org/debian-security
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $SUITE ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: ${SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
# The official slim image's dpkg filter: no docs (but copyrights), manuals or
# translations, now and for every package installed on top of it later.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
CFG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' \
    >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
    "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/groff/* "$root"/usr/share/locale/* "$root"/usr/share/lintian/overrides/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*

old_id=$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)
log "importing as $BASE_IMAGE"
tar --numeric-owner -C "$root" -c . |
    podman import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
podman image inspect --format '{{.Size}}' "$BASE_IMAGE" |
    awk '{printf "[make-base] %s: %.1f MB\n", "'"$BASE_IMAGE"'", $1 / 1e6}' >&2
# The replaced image, now untagged (kept if something still uses it).
if [[ -n "$old_id" ]]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
