"""Apply a bump to a checkout: write the kustomizations, or commit them, or commit and push."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildctl import atomic, gitrepo
from buildctl.config import WorkspaceMap
from buildctl.deploy import bump
from buildctl.errors import BuildctlError


def reader(root: Path) -> bump.Reader:
    def read(rel: str) -> str | None:
        try:
            return (root / rel).read_bytes().decode("utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except UnicodeDecodeError:
            raise BuildctlError("is not UTF-8 text", file=rel) from None

    return read


def ancestry(root: Path | None) -> bump.Ancestry:
    def check(ancestor: str, descendant: str) -> bool | None:
        return None if root is None else gitrepo.is_ancestor(root, ancestor, descendant)

    return check


@dataclass(frozen=True)
class Applied:
    """What a bump did: its outcome, and with --commit/--push, the commit and where it went."""

    outcome: bump.Outcome
    commit: str | None = None
    pushed: bool = False
    attempts: int | None = None  # pushes tried (with --commit or --push)
    remote: str | None = None  # with --push
    branch: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"commit": self.commit, "pushed": self.pushed}
        for name in ("attempts", "remote", "branch"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def apply(
    root: Path,
    cfg: WorkspaceMap,
    wanted: Iterable[bump.Request],
    *,
    is_git: bool,
    commit: bool = False,
    push: bool = False,
    remote: str | None = None,
    branch: str | None = None,
    retries: int = 5,
    retry_delay: float = 1.0,
    say: Callable[[str], None] = lambda _: None,
) -> Applied:
    requests = tuple(wanted)
    read, is_ancestor = reader(root), ancestry(root if is_git else None)

    def compute() -> bump.Outcome:
        return bump.compute(cfg, requests, read, is_ancestor)

    if not (commit or push):
        outcome = compute()
        with atomic.deferred_signals():
            atomic.write_all({root / path: text for path, text in outcome.files.items()})
        return Applied(outcome)
    from buildctl.deploy import writeback

    repo = writeback.open_repo(root)
    to = writeback.target(repo, remote, branch) if push else None
    done = writeback.deliver(repo, compute, push=to, retries=retries, base_delay=retry_delay, say=say)
    if done.commit is None and done.outcome.changes:
        say("nothing changed, so nothing to commit" + (" or push" if push else ""))
    return Applied(
        done.outcome,
        done.commit,
        done.pushed,
        done.attempts,
        to.remote if to is not None else None,
        to.branch if to is not None else None,
    )
