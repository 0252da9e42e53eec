#!/usr/bin/env bash
# Static validation of the deployment files (quick: a second or two).
#   tests/deploy/run.sh
# Checks Dockerfile, .dockerignore, deploy/redis.conf, deploy/docker-compose.yml
# and deploy/k8s/*.yaml, then breaks copies of them on purpose and expects each
# broken copy to fail (the validator's own test). kubectl/kubeconform are not
# available here; see docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

# PyYAML: the python3 on PATH may have it (pip); else Debian's python3-yaml,
# which belongs to /usr/bin/python3.
py=python3
if ! "$py" -c 'import yaml' 2>/dev/null; then
    py=/usr/bin/python3
    if ! "$py" -c 'import yaml' 2>/dev/null; then
        echo "[deploy] installing python3-yaml" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq python3-yaml >/dev/null
    fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$py" tests/deploy/validate.py || status=1
# The self-test prints a line per broken copy; show them only on failure.
"$py" tests/deploy/validate.py --self-test >"$log" 2>&1 || { cat "$log"; status=1; }
tail -1 "$log"
exit $status
