"""Which range to compare: from the options, or from the GitHub Actions event that started the run.

Every fall-back to "rebuild everything" carries its reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from buildctl import gitrepo
from buildctl.detect.objects import Objects
from buildctl.errors import BuildctlError
from buildctl.gitrepo import ZERO_SHA, Change

DEEPEN_STEP = 50
DEEPEN_LIMIT = 10  # times; 500 commits of history at most
# A push's previous tip, a merge queue's base or a pull request merge commit's first parent is
# usually a few commits behind head: found by reading those commits, it needs no merge-base.
ANCESTOR_WALK = 32


class Range(NamedTuple):
    head: str
    base: str | None  # the merge-base actually diffed from; None when everything is rebuilt
    everything: str | None = None  # why every service is rebuilt
    uncommitted: bool = False

    def start_diff(self, repo: Path) -> Callable[[], list[Change]]:
        """The range's changes, from a git started now (the working tree's, when asked for)."""
        base = self.base
        if base is None or self.everything:
            return list
        if self.uncommitted:
            return lambda: gitrepo.diff_worktree(repo, base)
        return gitrepo.diff(repo, base, self.head)


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


class _Git:
    """The git questions of one resolution, answered through `objects` where that is exact."""

    def __init__(self, repo: Path, objects: Objects | None, plain_history: bool) -> None:
        self.repo = repo
        self.objects = objects
        self.plain_history = plain_history  # neither shallow nor grafted (known only from `gitrepo.locate`)

    def has_commit(self, rev: str) -> bool:
        if self.objects is None:
            return gitrepo.has_commit(self.repo, rev)
        obj = self.objects.one(f"{rev}^{{commit}}")  # as `cat-file -e`: resolves to a commit
        return obj is not None and obj.kind == "commit"

    def parent(self, sha: str) -> str | None:
        """sha~1, which is merge-base(sha~1, sha) whenever it exists (it is an ancestor)."""
        if self.objects is None:
            return (
                gitrepo.merge_base(self.repo, sha + "~1", sha)
                if gitrepo.has_commit(self.repo, sha + "~1")
                else None
            )
        obj = self.objects.one(f"{sha}~1^{{commit}}")
        return obj.oid if obj is not None and obj.kind == "commit" else None

    def is_ancestor(self, base: str, head: str) -> bool:
        """True only when proven: base is within ANCESTOR_WALK commits of head."""
        return (
            self.objects is not None
            and self.plain_history
            and self.objects.reaches(head, base, ANCESTOR_WALK)
        )


def _find_merge_base(git: _Git, base: str, head: str, remote: str) -> tuple[str | None, str | None]:
    """merge-base(base, head), deepening a shallow clone step by step; (sha, None) or (None, why)."""
    if git.is_ancestor(base, head):
        return base, None  # git merge-base answers an ancestor with itself
    repo = git.repo
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
    objects: Objects | None = None,
) -> Range:
    """The range to compare. With `objects`, the revisions are resolved in one process and the
    commits read through it (the answers are the same; the error for a bad revision too)."""
    event = _event(environ) if base is None else None
    if event is not None and head is None:
        name, payload = event
        if name == "merge_group":
            head = payload.get("merge_group", {}).get("head_sha")
    wanted = [head or "HEAD", *([base] if base is not None else [])]
    located = gitrepo.locate(repo, wanted) if objects is not None else None
    git = _Git(repo, objects, located is not None and located.plain_history)
    head_sha = located.shas[0] if located is not None else gitrepo.resolve(repo, wanted[0], "head revision")
    if base is not None:
        base_sha = located.shas[1] if located is not None else gitrepo.resolve(repo, base, "base revision")
        return _ranged(git, base_sha, head_sha, uncommitted, remote)
    if event is None and uncommitted:
        return Range(head_sha, head_sha, None, uncommitted)  # just what is not committed yet
    if event is None:
        parent = git.parent(head_sha)
        if parent is None:
            return Range(head_sha, None, "all: the head commit has no parent", uncommitted)
        return Range(head_sha, parent, None, uncommitted)
    return _from_event(git, event[0], event[1], head_sha, uncommitted, remote)


def _ranged(git: _Git, base: str, head: str, uncommitted: bool, remote: str) -> Range:
    mb, why = _find_merge_base(git, base, head, remote)
    return Range(head, mb, why, uncommitted)


def _from_event(
    git: _Git, name: str, payload: dict[str, Any], head: str, uncommitted: bool, remote: str
) -> Range:
    repo = git.repo
    if name in ("pull_request", "pull_request_target"):
        sha = payload.get("pull_request", {}).get("base", {}).get("sha")
        if not isinstance(sha, str):
            return Range(head, None, f"all: the {name} event names no base sha", uncommitted)
        if not git.has_commit(sha):
            gitrepo.deepen(repo, remote, DEEPEN_STEP)  # the base may simply be outside a shallow clone
            if not git.has_commit(sha):
                return Range(
                    head, None, f"all: pull request base {sha[:12]} is not in the clone", uncommitted
                )
        return _ranged(git, sha, head, uncommitted, remote)
    if name == "merge_group":
        sha = payload.get("merge_group", {}).get("base_sha")
        if not isinstance(sha, str) or not git.has_commit(sha):
            return Range(head, None, "all: merge_group base sha is missing from the clone", uncommitted)
        return _ranged(git, sha, head, uncommitted, remote)
    if name == "push":
        before = payload.get("before")
        if not isinstance(before, str) or before == ZERO_SHA:
            default = payload.get("repository", {}).get("default_branch") or "main"
            ref = f"{remote}/{default}"
            if not git.has_commit(ref):
                return Range(
                    head, None, f"all: new branch, and {ref} is not fetched to compare with", uncommitted
                )
            return _ranged(git, gitrepo.resolve(repo, ref), head, uncommitted, remote)
        if not git.has_commit(before):
            gitrepo.deepen(repo, remote, DEEPEN_STEP)
            if not git.has_commit(before):
                return Range(
                    head,
                    None,
                    f"all: the previous tip {before[:12]} is gone (force push?), so nothing is known to be built",
                    uncommitted,
                )
        return _ranged(git, before, head, uncommitted, remote)
    if name in ("workflow_dispatch", "schedule"):
        return Range(head, None, f"all: {name} event without --base", uncommitted)
    return Range(head, None, f"all: the {name} event gives no base to compare with; pass --base", uncommitted)
