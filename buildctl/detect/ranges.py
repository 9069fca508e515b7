"""Which range to compare: from the options, or from the GitHub Actions event that started the run.

Every fall-back to "rebuild everything" carries its reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildctl import gitrepo
from buildctl.errors import BuildctlError
from buildctl.gitrepo import ZERO_SHA, Change

DEEPEN_STEP = 50
DEEPEN_LIMIT = 10  # times; 500 commits of history at most


@dataclass(frozen=True)
class Range:
    head: str
    base: str | None  # the merge-base actually diffed from; None when everything is rebuilt
    everything: str | None = None  # why every service is rebuilt
    uncommitted: bool = False

    def changes(self, repo: Path) -> list[Change]:
        if self.base is None:
            return []
        if self.uncommitted:
            return gitrepo.diff_worktree(repo, self.base)
        return gitrepo.diff(repo, self.base, self.head)


def _event(environ: Mapping[str, str]) -> tuple[str, dict[str, Any]] | None:
    name = environ.get("GITHUB_EVENT_NAME")
    if not name or environ.get("GITHUB_ACTIONS") != "true":
        return None
    path = environ.get("GITHUB_EVENT_PATH")
    payload: dict[str, Any] = {}
    if path:
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BuildctlError(f"cannot read the event payload: {exc}", file=path) from None
        payload = loaded if isinstance(loaded, dict) else {}
    return name, payload


def _find_merge_base(repo: Path, base: str, head: str, remote: str) -> tuple[str | None, str | None]:
    """merge-base(base, head), deepening a shallow clone step by step; (sha, None) or (None, why)."""
    for attempt in range(DEEPEN_LIMIT + 1):
        mb = gitrepo.merge_base(repo, base, head)
        if mb is not None:
            return mb, None
        if not gitrepo.is_shallow(repo):
            return None, f"all: {base[:12]} and {head[:12]} have no common ancestor"
        if attempt < DEEPEN_LIMIT and not gitrepo.deepen(repo, remote, DEEPEN_STEP):
            return None, f"all: shallow clone, and fetching more history from '{remote}' failed"
    return None, (
        f"all: shallow clone, no merge base of {base[:12]} and {head[:12]} "
        f"within {DEEPEN_LIMIT * DEEPEN_STEP} more commits"
    )


def resolve(
    repo: Path,
    *,
    base: str | None,
    head: str | None,
    uncommitted: bool = False,
    environ: Mapping[str, str] = os.environ,
    remote: str = "origin",
) -> Range:
    event = _event(environ) if base is None else None
    if event is not None and head is None:
        name, payload = event
        if name == "merge_group":
            head = payload.get("merge_group", {}).get("head_sha")
    head_sha = gitrepo.resolve(repo, head or "HEAD", "head revision")
    if base is not None:
        base_sha = gitrepo.resolve(repo, base, "base revision")
        return _ranged(repo, base_sha, head_sha, uncommitted, remote)
    if event is None and uncommitted:
        return Range(head_sha, head_sha, None, uncommitted)  # just what is not committed yet
    if event is None:
        parent = gitrepo.merge_base(repo, head_sha + "~1", head_sha) if _has_parent(repo, head_sha) else None
        if parent is None:
            return Range(head_sha, None, "all: the head commit has no parent", uncommitted)
        return Range(head_sha, parent, None, uncommitted)
    return _from_event(repo, event[0], event[1], head_sha, uncommitted, remote)


def _has_parent(repo: Path, sha: str) -> bool:
    return gitrepo.has_commit(repo, sha + "~1")


def _ranged(repo: Path, base: str, head: str, uncommitted: bool, remote: str) -> Range:
    mb, why = _find_merge_base(repo, base, head, remote)
    return Range(head, mb, why, uncommitted)


def _from_event(
    repo: Path, name: str, payload: dict[str, Any], head: str, uncommitted: bool, remote: str
) -> Range:
    if name in ("pull_request", "pull_request_target"):
        sha = payload.get("pull_request", {}).get("base", {}).get("sha")
        if not isinstance(sha, str):
            return Range(head, None, f"all: the {name} event names no base sha", uncommitted)
        if not gitrepo.has_commit(repo, sha):
            gitrepo.deepen(repo, remote, DEEPEN_STEP)  # the base may simply be outside a shallow clone
            if not gitrepo.has_commit(repo, sha):
                return Range(
                    head, None, f"all: pull request base {sha[:12]} is not in the clone", uncommitted
                )
        return _ranged(repo, sha, head, uncommitted, remote)
    if name == "merge_group":
        sha = payload.get("merge_group", {}).get("base_sha")
        if not isinstance(sha, str) or not gitrepo.has_commit(repo, sha):
            return Range(head, None, "all: merge_group base sha is missing from the clone", uncommitted)
        return _ranged(repo, sha, head, uncommitted, remote)
    if name == "push":
        before = payload.get("before")
        if not isinstance(before, str) or before == ZERO_SHA:
            default = payload.get("repository", {}).get("default_branch") or "main"
            ref = f"{remote}/{default}"
            if not gitrepo.has_commit(repo, ref):
                return Range(
                    head, None, f"all: new branch, and {ref} is not fetched to compare with", uncommitted
                )
            return _ranged(repo, gitrepo.resolve(repo, ref), head, uncommitted, remote)
        if not gitrepo.has_commit(repo, before):
            gitrepo.deepen(repo, remote, DEEPEN_STEP)
            if not gitrepo.has_commit(repo, before):
                return Range(
                    head,
                    None,
                    f"all: the previous tip {before[:12]} is gone (force push?), so nothing is known to be built",
                    uncommitted,
                )
        return _ranged(repo, before, head, uncommitted, remote)
    if name in ("workflow_dispatch", "schedule"):
        return Range(head, None, f"all: {name} event without --base", uncommitted)
    return Range(head, None, f"all: the {name} event gives no base to compare with; pass --base", uncommitted)
