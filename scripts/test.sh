#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: unit, real git, real Docker engine,
# real registry. Nothing is skipped: a missing engine or registry fails the run.
#
#   scripts/test.sh               everything: the linters, then both tiers side by side
#   scripts/test.sh ARGS...       pytest ARGS... (one run, e.g. `-m "not docker"` or a path)
#
# The two tiers run at once: the Docker tier keeps the engine busy with builds that mostly wait
# on it, and the fast tier (no engine) uses the time; each is a pytest session of its own, with
# its own output, and the run fails if either does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CI="${CI:-}"
.venv/bin/ruff check buildctl tests benchmarks
.venv/bin/ruff format --check buildctl tests benchmarks
.venv/bin/mypy
pytest=(.venv/bin/python -m pytest -p no:cacheprovider -q)
if (($#)); then
    exec "${pytest[@]}" "$@"
fi

fast_log="$(mktemp -t buildctl-fast-tier.XXXXXX)"
trap 'rm -f "$fast_log"' EXIT
"${pytest[@]}" -m "not docker" >"$fast_log" 2>&1 &
fast=$!
docker_status=0
"${pytest[@]}" -m docker --durations=15 || docker_status=$?
fast_status=0
wait "$fast" || fast_status=$?
echo "---- the fast tier (pytest -m 'not docker') ----"
cat "$fast_log"
echo "---- fast tier: exit $fast_status; Docker tier: exit $docker_status ----"
((fast_status == 0 && docker_status == 0))
