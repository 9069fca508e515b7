#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: unit, real git, real Docker engine,
# real registry. Nothing is skipped: a missing engine or registry fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CI="${CI:-}"
.venv/bin/ruff check buildctl tests benchmarks
.venv/bin/ruff format --check buildctl tests benchmarks
.venv/bin/mypy
exec .venv/bin/python -m pytest -p no:cacheprovider -q "$@"
