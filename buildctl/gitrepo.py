"""Read-only git queries, one small function each, through the `git` executable.

The detect path runs on every CI job, so it talks to git directly (`-z` output, one
`cat-file --batch` for all blobs) instead of importing gitpython, whose import alone costs
about 80 ms of a 190 ms budget. Writes (commit, push) live in `gitops`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from buildctl.errors import BuildctlError

ZERO_SHA = "0" * 40
_KEPT = ("GIT_SSH", "GIT_SSH_COMMAND")  # how to reach a remote, not which repository


def blob_id(data: bytes) -> str:
    """The id git gives a file of this content."""
    import hashlib  # only the working tree needs it; a commit's blobs come with their ids

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def environment(pin: tuple[Path, Path] | None = None) -> dict[str, str]:
    """The environment of every git process buildctl starts: never prompting, in the C locale
    (messages are read), and without the GIT_* variables a hook or an outer git may leak, which
    would point git at another repository. With `pin` (git dir, work tree), the repository is
    also pinned by GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE: gitpython adds variables to the
    process's environment and cannot take one away, so it overrides them instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if pin is not None:
        git_dir, work_tree = pin
        env.update(GIT_DIR=str(git_dir), GIT_WORK_TREE=str(work_tree), GIT_INDEX_FILE=str(git_dir / "index"))
    return env


def run(repo: Path, args: Sequence[str], *, input: bytes | None = None, check: bool = True) -> bytes:
    return started(repo, args, input=input, check=check)()


def started(
    repo: Path, args: Sequence[str], *, input: bytes | None = None, check: bool = True
) -> Callable[[], bytes]:
    """`run`, started now and waited for when its result is asked: git works meanwhile."""
    try:
        proc = subprocess.Popen(
            ["git", "-C", str(repo), *args],
            stdin=subprocess.PIPE if input is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment(),
        )
    except FileNotFoundError:
        raise BuildctlError("git is not installed or not on PATH", hint="install git and try again") from None

    def result() -> bytes:
        out, err = proc.communicate(input)
        if check and proc.returncode != 0:
            message = err.decode("utf-8", "replace").strip()
            raise BuildctlError(f"git {' '.join(args[:2])} failed in {repo}: {message}")
        return out

    return result


def _ok(repo: Path, args: Sequence[str]) -> tuple[bool, bytes]:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=environment(), check=False
    )
    return proc.returncode == 0, proc.stdout


def toplevel(repo: Path) -> Path:
    ok, out = _ok(repo, ["rev-parse", "--show-toplevel"])
    if not ok:
        raise BuildctlError(
            f"{repo} is not inside a git repository",
            hint="run buildctl in a git checkout or pass --repo DIR",
        )
    return Path(out.decode().strip())


def resolve(repo: Path, rev: str, what: str = "revision") -> str:
    if rev.startswith("-") or "\n" in rev or "\0" in rev:
        raise BuildctlError(f"{what} {rev!r} is not a git revision")
    ok, out = _ok(repo, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"])
    if not ok:
        raise BuildctlError(
            f"unknown {what} {rev!r}: no such commit in {repo}",
            hint="fetch it first (a shallow CI checkout needs fetch-depth: 0 or a deeper fetch) or pass another revision",
        )
    return out.decode().strip()


_OID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


class Located(NamedTuple):
    shas: tuple[str, ...]  # the commits asked for, in order
    plain_history: bool  # neither shallow nor grafted: a commit's parents are what its object says


def locate(repo: Path, revs: Sequence[str]) -> Located | None:
    """Several revisions' commits and the history's shape in one process. None when any of them
    is not exactly one commit: `resolve` then asks one by one, and says which, as before."""
    if any(r.startswith("-") or "\n" in r or "\0" in r for r in revs):
        return None
    # No --end-of-options (rev-parse would echo it): no revision here starts with "-".
    args = ["rev-parse", "--is-shallow-repository", "--git-path", "info/grafts"]
    ok, out = _ok(repo, [*args, *(f"{r}^{{commit}}" for r in revs)])
    lines = out.decode("utf-8", "surrogateescape").splitlines() if ok else []
    if len(lines) != 2 + len(revs) or not all(_OID.fullmatch(s) for s in lines[2:]):
        return None
    grafts = Path(lines[1]) if Path(lines[1]).is_absolute() else repo / lines[1]
    return Located(tuple(lines[2:]), lines[0] == "false" and not grafts.exists())


def has_commit(repo: Path, sha: str) -> bool:
    return _ok(repo, ["cat-file", "-e", f"{sha}^{{commit}}"])[0]


def merge_base(repo: Path, a: str, b: str) -> str | None:
    ok, out = _ok(repo, ["merge-base", a, b])
    return out.decode().strip() if ok else None


def is_shallow(repo: Path) -> bool:
    return run(repo, ["rev-parse", "--is-shallow-repository"]).strip() == b"true"


def deepen(repo: Path, remote: str, by: int) -> bool:
    return _ok(repo, ["fetch", "--quiet", "--no-tags", f"--deepen={by}", remote])[0]


def current_branch(repo: Path) -> str | None:
    ok, out = _ok(repo, ["symbolic-ref", "--quiet", "--short", "HEAD"])
    return out.decode().strip() if ok else None


class Change(NamedTuple):
    """One changed path; a rename or copy also names where it came from."""

    status: str  # A, M, D, R, C, T
    path: str
    old_path: str | None = None

    def paths(self) -> tuple[str, ...]:
        return (self.old_path, self.path) if self.old_path else (self.path,)


def _parse_name_status(out: bytes) -> list[Change]:
    fields = out.split(b"\0")
    changes: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i].decode()
        code = status[0]
        if code in "RC":
            old, new = fields[i + 1], fields[i + 2]
            changes.append(Change(code, os.fsdecode(new), os.fsdecode(old)))
            i += 3
        else:
            changes.append(Change(code, os.fsdecode(fields[i + 1])))
            i += 2
    return changes


_DIFF_OPTS = [
    "--name-status",
    "-z",
    "--no-ext-diff",
    "--no-textconv",
    "--ignore-submodules=none",
    "--no-renames",
]


def diff(repo: Path, base: str, head: str) -> Callable[[], list[Change]]:
    """The changes from `base` to `head`, started now and read when asked for."""
    # Renames count both paths; `--no-renames` reports them as D + A, which is exactly that.
    out = started(repo, ["diff", *_DIFF_OPTS, base, head, "--"])
    return lambda: _parse_name_status(out())


def diff_worktree(repo: Path, base: str) -> list[Change]:
    tracked = _parse_name_status(run(repo, ["diff", *_DIFF_OPTS, base, "--"]))
    untracked = run(repo, ["ls-files", "-z", "--others", "--exclude-standard"]).split(b"\0")
    return tracked + [Change("A", os.fsdecode(p)) for p in untracked if p]


def ls_tree(repo: Path, rev: str) -> dict[str, str]:
    """Every file at `rev`: path → blob id (gitlinks included, for submodule pointers)."""
    out = run(repo, ["ls-tree", "-r", "-z", "--full-tree", rev])
    files: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        files[os.fsdecode(path)] = meta.rsplit(b" ", 1)[1].decode()
    return files


def show(repo: Path, rev: str, path: str) -> bytes | None:
    ok, out = _ok(repo, ["cat-file", "blob", f"{rev}:{path}"])
    return out if ok else None


def worktree_files(repo: Path) -> Mapping[str, str]:
    """Tracked and untracked (not ignored) files of the working tree; values are empty ids."""
    out = run(repo, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    return {os.fsdecode(p): "" for p in out.split(b"\0") if p and (repo / os.fsdecode(p)).exists()}


def require_checkout_of(repo: Path, rev: str) -> None:
    """The working tree is the build context, so it must be exactly `rev`: checked out, unmodified."""
    head = resolve(repo, "HEAD")
    if head != rev:
        raise BuildctlError(
            f"the working tree is at {head[:12]}, not at {rev[:12]}, the commit to build",
            hint=f"check out {rev[:12]} first (the images are tagged with the commit they are built from)",
        )
    dirty = run(repo, ["status", "--porcelain", "-z", "--untracked-files=no"])
    if dirty:
        first = os.fsdecode(dirty.split(b"\0")[0][3:])
        raise BuildctlError(
            f"the working tree has uncommitted changes ({first!r} and maybe more); "
            f"an image tagged sha-{rev[:12]} must be built from that commit alone",
            hint="commit or stash them, then build again",
        )


def commit_time(repo: Path, rev: str) -> str:
    return run(repo, ["show", "-s", "--format=%cI", rev]).decode().strip()


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool | None:
    """Whether `ancestor` is in the history of `descendant`; None when either is unknown here."""
    if not (has_commit(repo, ancestor) and has_commit(repo, descendant)):
        return None
    return _ok(repo, ["merge-base", "--is-ancestor", ancestor, descendant])[0]


def batch(repo: Path, names: Iterable[str], *, contents: bool) -> dict[str, tuple[str, str, bytes] | None]:
    """`cat-file --batch[-check]` for object names such as `<rev>:<path>`: name → (oid, type, data)
    or None when missing. One process for any number of names."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    if any("\n" in n for n in wanted):
        raise BuildctlError("a path with a newline cannot be looked up through cat-file --batch")
    mode = "--batch" if contents else "--batch-check"
    out = run(repo, ["cat-file", mode], input=("\n".join(wanted) + "\n").encode("utf-8", "surrogateescape"))
    found: dict[str, tuple[str, str, bytes] | None] = {}
    pos = 0
    for name in wanted:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split(b" ")
        pos = nl + 1
        if len(header) < 3 or header[-1] == b"missing":
            found[name] = None
            continue
        oid, kind, size = header[0].decode(), header[1].decode(), int(header[2])
        data = b""
        if contents:
            data = out[pos : pos + size]
            pos += size + 1
        found[name] = (oid, kind, data)
    return found


def ls_tree_matching(repo: Path, rev: str, names: tuple[bytes, ...], infix: bytes) -> dict[str, str]:
    """The blobs at `rev` whose file name is one of `names` or whose path contains `infix`:
    path → blob id. Filtering the raw output keeps a 60,000-file tree cheap."""
    out = run(repo, ["ls-tree", "-r", "-z", "--full-tree", rev])
    suffixes = tuple(sep + n for n in names for sep in (b"/", b"\t"))
    found: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if entry.endswith(suffixes) or infix in entry:
            meta, _, path = entry.partition(b"\t")
            kind_oid = meta.split(b" ")
            if kind_oid[1] == b"blob" and (
                path.endswith(suffixes) or path.startswith(names) or infix in path
            ):
                found[os.fsdecode(path)] = kind_oid[2].decode()
    return found


def resolve_tree(repo: Path, rev: str) -> str | None:
    ok, out = _ok(repo, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{tree}}"])
    return out.decode().strip() if ok else None


def source_url(repo: Path, environ: Mapping[str, str]) -> str:
    """The repository's web address, for images' `org.opencontainers.image.source` (GHCR links
    a package to its repository by it): the Actions run's repository, else origin's URL as
    https without credentials or `.git`; "" when there is none."""
    if environ.get("GITHUB_REPOSITORY"):
        server = environ.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server.rstrip('/')}/{environ['GITHUB_REPOSITORY']}"
    ok, out = _ok(repo, ["remote", "get-url", "origin"])
    url = out.decode().strip() if ok else ""
    if m := re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?$", url):
        return f"https://{m.group(1)}/{m.group(2)}"
    if m := re.match(r"^https?://(?:[^@/]*@)?(.+?)(?:\.git)?/?$", url):
        return f"https://{m.group(1)}"
    return ""
