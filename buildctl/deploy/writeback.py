"""The git write side of a bump: one commit, one push, and a clean retry when the remote moved.

Never a force push, a merge or a rebase. When the remote rejects the push as non-fast-forward,
the bump is fetched-and-reset onto the remote tip and computed again from the request (the
tree held nothing else: `check_ready` refuses a dirty one up front), committed and pushed again,
a bounded number of times with jittered exponential backoff. Writing the files and committing
them happen with SIGINT/SIGTERM held, so an interrupt lands before or after, never inside.
Remote URLs are shown without credentials. This module is the only one that imports gitpython.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import git

from buildctl import atomic, gitrepo, retry
from buildctl.deploy.bump import Outcome
from buildctl.errors import BuildctlError, TransientError

# gitpython logs git's stderr (remote URLs included) through `logging`; we report it ourselves.
logging.getLogger("git").addHandler(logging.NullHandler())
logging.getLogger("git").propagate = False

_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or `git am`",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "index.lock": "another git command (.git/index.lock exists)",
}


def redact(text: str) -> str:
    """Drop `user:password@` from every URL in `text`."""
    return _CREDENTIALS.sub(r"\1", text)


def _stderr(exc: git.GitCommandError) -> str:
    raw = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    return redact(raw.strip().removeprefix("stderr: ").strip("'").strip())


@dataclass(frozen=True)
class Target:
    remote: str
    branch: str
    url: str  # without credentials, for messages


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    commit: str | None
    pushed: bool
    attempts: int


def open_repo(root: Path) -> git.Repo:
    repo = git.Repo(root)
    pinned = gitrepo.environment((Path(repo.git_dir), Path(str(repo.working_tree_dir))))
    repo.git.update_environment(**{k: v for k, v in pinned.items() if k.startswith("GIT_") or k == "LC_ALL"})
    return repo


def check_ready(repo: git.Repo) -> None:
    """A commit needs a tree that holds nothing but what the bump will write."""
    for marker, what in _IN_PROGRESS.items():
        if (Path(repo.git_dir) / marker).exists():
            raise BuildctlError(
                f"{repo.working_tree_dir} is in the middle of {what}", hint="finish or abort it first"
            )
    if not repo.head.is_valid():
        raise BuildctlError(f"{repo.working_tree_dir} has no commit yet to build on")
    if repo.is_dirty(index=True, working_tree=True, untracked_files=False):
        dirty = repo.git.status("--porcelain", "--untracked-files=no").splitlines()
        raise BuildctlError(
            f"the working tree has uncommitted changes ({', '.join(d[3:] for d in dirty[:5])}"
            + (" …" if len(dirty) > 5 else "")
            + "); --commit needs a clean tree",
            hint="commit or stash them first, or bump without --commit",
        )


def target(repo: git.Repo, remote: str | None, branch: str | None) -> Target:
    """Where --push goes: the upstream of the current branch, else origin and the same branch name."""
    current = None if repo.head.is_detached else repo.active_branch
    upstream = current.tracking_branch() if current is not None else None
    if upstream is not None and remote not in (None, upstream.remote_name):
        upstream = None
    if branch is None:
        if current is None:
            raise BuildctlError(
                "HEAD is detached, so there is no current branch to push to", hint="pass --branch NAME"
            )
        branch = upstream.remote_head if upstream is not None else current.name
    remote = remote or (upstream.remote_name if upstream is not None else "origin")
    names = [r.name for r in repo.remotes]
    if remote not in names:
        raise BuildctlError(f"no remote named {remote!r}", hint=f"remotes here: {', '.join(names) or 'none'}")
    try:
        repo.git.check_ref_format(f"refs/heads/{branch}")
    except git.GitCommandError:
        raise BuildctlError(f"{branch!r} is not a valid branch name") from None
    return Target(remote, branch, redact(repo.remote(remote).url))


def _git(repo: git.Repo, *args: str) -> str:
    try:
        return str(repo.git.execute(["git", *args]))
    except git.GitCommandError as exc:
        raise BuildctlError(f"git {args[0]} failed: {_stderr(exc)}") from None


def _commit(repo: git.Repo, outcome: Outcome) -> str | None:
    files = outcome.files
    if not files:
        return None
    root = Path(str(repo.working_tree_dir))
    with atomic.deferred_signals():
        atomic.write_all({root / path: text for path, text in files.items()})
        try:
            _git(repo, "add", "--", *files)
            _git(repo, "commit", "--quiet", "-m", outcome.commit_message(), "--", *files)
        except BaseException:
            with contextlib.suppress(git.GitCommandError):
                repo.git.reset("--quiet", "--", *files)
            # the text before the first edit of each file (several services may share one)
            atomic.write_all({root / c.file: c.before for c in reversed(outcome.updated)})
            raise
    return repo.head.commit.hexsha


def _fetch(repo: git.Repo, to: Target) -> str | None:
    """The remote branch's tip, fetched; None when the branch does not exist there yet."""
    ref = f"refs/remotes/{to.remote}/{to.branch}"
    try:
        repo.git.fetch("--quiet", "--no-tags", to.remote, f"+refs/heads/{to.branch}:{ref}")
    except git.GitCommandError as exc:
        if "couldn't find remote ref" in _stderr(exc):
            return None
        raise BuildctlError(f"git fetch from {to.remote} ({to.url}) failed: {_stderr(exc)}") from None
    return str(repo.rev_parse(ref).hexsha)


def _push(repo: git.Repo, to: Target) -> tuple[str, str]:
    """("ok" | "behind" | "refused" | "error", what git or the remote said)."""
    progress = git.RemoteProgress()
    try:
        infos = repo.remote(to.remote).push(f"HEAD:refs/heads/{to.branch}", progress=progress)
    except git.GitCommandError as exc:
        return "error", _stderr(exc)
    said = [
        redact(line) for line in progress.other_lines + progress.error_lines if line.startswith("remote:")
    ]
    info = next((i for i in infos if i.remote_ref_string == f"refs/heads/{to.branch}"), None)
    if info is None:
        return "error", redact("\n".join(progress.error_lines)) or "git push reported no result"
    summary = " ".join([info.summary.strip(), *said])
    if info.flags & info.REMOTE_REJECTED:
        return "refused", summary
    if info.flags & info.REJECTED:
        return "behind", summary
    if info.flags & (info.ERROR | info.REMOTE_FAILURE | info.NO_MATCH):
        return "error", summary
    return "ok", summary


def _reset(repo: git.Repo, commit: str) -> None:
    with atomic.deferred_signals():
        _git(repo, "reset", "--quiet", "--hard", commit)


def deliver(
    repo: git.Repo,
    compute: Callable[[], Outcome],
    *,
    push: Target | None,
    retries: int = 5,
    base_delay: float = 1.0,
    say: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> Delivery:
    """Commit the bump and, with `push`, land it on the remote branch; see the module docstring."""
    check_ready(repo)
    start = repo.head.commit.hexsha
    if push is not None:
        tip = _fetch(repo, push)
        if tip is not None and not repo.is_ancestor(repo.commit(start), repo.commit(tip)):
            raise BuildctlError(
                f"HEAD has commits that {push.remote}/{push.branch} does not; a bump pushes only itself",
                hint="push or drop them first, or bump from a fresh checkout of the branch",
            )
    outcome = compute()
    commit = _commit(repo, outcome)
    if push is None or commit is None:
        return Delivery(outcome, commit, False, 0)
    pushes, said = 0, ""

    def attempt() -> Delivery:
        nonlocal outcome, commit, pushes, said
        if pushes:  # the remote moved on: the same request again, on its new tip
            tip = _fetch(repo, push)
            if tip is None or not repo.is_ancestor(repo.commit(start), repo.commit(tip)):
                raise BuildctlError(f"{push.remote}/{push.branch} was rewritten or deleted while bumping")
            _reset(repo, tip)
            outcome = compute()
            commit = _commit(repo, outcome)
            if commit is None:
                say(f"{push.remote}/{push.branch} already deploys these tags (or newer); nothing to push")
                return Delivery(outcome, None, False, pushes)
        pushes += 1
        status, said = _push(repo, push)
        if status == "ok":
            return Delivery(outcome, commit, True, pushes)
        if status == "behind":
            raise TransientError(f"push rejected, the remote moved on ({said}); re-applying on its tip")
        verb = "refused the push" if status == "refused" else "did not take the push"
        raise BuildctlError(
            f"{push.remote} ({push.url}) {verb} to {push.branch}: {said}",
            hint="nothing was pushed and the local branch is back where it was",
        )

    try:
        return retry.retrying(
            f"push to {push.remote}/{push.branch}",
            attempt,
            attempts=retries + 1,
            base_delay=base_delay,
            log=say,
            sleep=sleep,
            jitter=jitter,
        )
    except TransientError:
        _reset(repo, start)
        raise BuildctlError(
            f"{push.remote}/{push.branch} kept moving: gave up after {pushes} attempts ({said})",
            hint="run the bump again, or raise --retries",
        ) from None
    except BuildctlError:
        _reset(repo, start)
        raise
