#!/usr/bin/env bash
# The README's first command: set up this machine, start a local registry, and run the main job
# (detect -> build -> push -> bump -> commit -> push) on a scratch copy of this monorepo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
port="${BUILDCTL_DEMO_PORT:-5000}"
scripts/registry.sh start --port "$port" --dir "${TMPDIR:-/tmp}/buildctl-demo-registry-$port" >/dev/null
exec .venv/bin/python scripts/demo.py --registry "127.0.0.1:$port" "$@"
