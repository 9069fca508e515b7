"""dorny/paths-filter (a JavaScript action) run under node as an Actions runner would run it.

The action's committed `dist/index.js` is self-contained (bring it with `git show
v4.0.2:dist/index.js` from a clone of github.com/dorny/paths-filter). A runner passes the
inputs as INPUT_<NAME> variables, the event as GITHUB_EVENT_NAME and GITHUB_EVENT_PATH, and
collects step outputs from the GITHUB_OUTPUT file. Given a commit sha as `base` (a push), the
action resolves both commits and runs `git diff --no-renames --name-status -z base..ref` in the
working directory, then matches every changed path against each filter's globs (picomatch).
Without a token it never talks to the GitHub API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from _measure import with_env

VERSION = "v4.0.2"
_CHANGES = re.compile(rb"^Changes output set to (\[.*\])$", re.MULTILINE)


def filters_yaml(filters: Mapping[str, Sequence[str]]) -> str:
    """One filter per service; single-quoted YAML scalars hold any glob without escapes."""
    lines = []
    for name, globs in filters.items():
        lines.append(f"{name}:")
        lines.extend("  - '" + g.replace("'", "''") + "'" for g in globs)
    return "\n".join(lines) + "\n"


def command(node: str, index_js: Path, repo: Path, base: str, head: str, yaml: str, event: Path) -> list[str]:
    if not event.exists():
        event.write_text("{}")  # a push whose payload the action does not need: base is a sha
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": "/dev/null",
        "GITHUB_WORKSPACE": str(repo),
        "RUNNER_TEMP": str(event.parent),
        "INPUT_WORKING-DIRECTORY": str(repo),
        "INPUT_BASE": base,
        "INPUT_REF": head,
        "INPUT_FILTERS": yaml,
        "INPUT_TOKEN": "",
        "INPUT_LIST-FILES": "none",
        "INPUT_INITIAL-FETCH-DEPTH": "100",
        "INPUT_PREDICATE-QUANTIFIER": "some",
    }
    return with_env(env, [node, str(index_js)])


def flagged(stdout: bytes) -> list[str] | None:
    """The filters (services) the action said changed, from its log; None if it said nothing."""
    m = _CHANGES.search(stdout)
    return sorted(json.loads(m.group(1))) if m else None
