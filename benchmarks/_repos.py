"""The repositories benchmarks/detect.py times: the synthetic workspace committed with
`git fast-import`, and real Rust monorepos given on the command line (clones of public
repositories), each with a workspace map and paths-filter globs derived from its manifests.

A real repository's services are the binary crates among its workspace members at every head
timed; its paths-filter globs are what a team without buildctl would write: each service's own
directory, the library crates' directories (a whole top-level directory when no service lives
in it), and the root Cargo.toml and Cargo.lock.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from _measure import BenchmarkError, git, git_bytes
from _synthetic import BENCH_DATE, Diff, Model

TAGS = ("bench-base", "bench-small", "bench-large")
SERVICE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")  # buildctl's rule for a service name
MAP_IGNORES = ("**/*.md", "docs/**", "LICENSE*", "**/.gitignore", ".github/**", ".config/**")


# --------------------------------------------------------------------------------------------
# The synthetic workspace as a repository


def _fast_import_commit(out: list[bytes], mark: int, message: str, files: Mapping[str, bytes]) -> None:
    msg = message.encode()
    out.append(
        f"commit refs/heads/main\nmark :{mark}\n"
        f"author Bench <bench@example.invalid> {BENCH_DATE + mark} +0000\n"
        f"committer Bench <bench@example.invalid> {BENCH_DATE + mark} +0000\n"
        f"data {len(msg)}\n".encode()
        + msg
        + b"\n"
    )
    for path in sorted(files):
        data = files[path]
        out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    out.append(b"\n")


@dataclass(frozen=True)
class Repo:
    path: Path
    base: str  # the workspace
    small: str  # base + the 2-file diff
    large: str  # small + the 2,000-file diff


def make_repo(model: Model, small: Diff, large: Diff, path: Path) -> tuple[Repo, bool]:
    """The repository at `path`, reused when a stamp says it holds exactly this stream."""
    stream: list[bytes] = []
    _fast_import_commit(stream, 1, f"Synthetic workspace of {model.size} crates", model.files)
    _fast_import_commit(stream, 2, f"Change {small.label}", small.files)
    _fast_import_commit(stream, 3, f"Change {large.label}", large.files)
    for mark, tag in enumerate(TAGS, start=1):
        stream.append(f"reset refs/tags/{tag}\nfrom :{mark}\n\n".encode())
    stream.append(b"done\n")
    data = b"".join(stream)
    digest = hashlib.sha256(data).hexdigest()
    stamp = path / ".git" / "buildctl-bench-stamp"
    reused = stamp.is_file() and stamp.read_text() == digest
    if not reused:
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--initial-branch=main")
        git(path, "config", "gc.auto", "0")
        git(path, "fast-import", "--quiet", "--done", stdin=data)
        git(path, "checkout", "--quiet", "--force", "main")  # a normal checkout, as CI has
        stamp.write_text(digest)
    base, sm, lg = (git(path, "rev-parse", f"{t}^{{commit}}").strip() for t in TAGS)
    return Repo(path, base, sm, lg), reused


def synthetic_filters(model: Model) -> dict[str, list[str]]:
    """paths-filter as teams write it without buildctl: each service's own directory, plus the
    whole library tree (crates/** here, `shared/**` in the issue) for every service."""
    return {
        svc: [f"{spec.dir}/**", "crates/**", "Cargo.toml", "Cargo.lock"]
        for svc, spec in sorted(model.services.items())
    }


# --------------------------------------------------------------------------------------------
# Real repositories


@dataclass(frozen=True)
class Member:
    name: str  # package name
    dir: str
    binary: bool


@dataclass(frozen=True)
class RealRepo:
    name: str
    path: Path
    map_path: Path
    services: dict[str, str]  # service name -> crate
    filters: dict[str, list[str]]  # service name -> paths-filter globs
    pairs: list[tuple[str, str, int]]  # (base, head, files changed), newest first


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A Cargo `members` glob: `*` and `?` stay within a directory, `**` crosses them."""
    out = []
    for part in re.split(r"(\*\*|\*|\?)", pattern.strip("/")):
        out.append({"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part)))
    return re.compile("".join(out))


def _members(repo: Path, commit: str) -> list[Member]:
    listing = git_bytes(repo, "ls-tree", "-r", "-z", "--name-only", commit).decode().split("\0")
    files = set(listing)
    manifest_dirs = sorted(p[: -len("/Cargo.toml")] for p in listing if p.endswith("/Cargo.toml"))
    bins: dict[str, list[str]] = {}  # crate directory -> its src/bin/*.rs
    for p in listing:
        head, sep, rest = p.partition("/src/bin/")
        if sep and rest.endswith(".rs"):
            bins.setdefault(head, []).append(rest)
    root = tomllib.loads(git(repo, "show", f"{commit}:Cargo.toml"))
    ws = root.get("workspace", {})
    excluded = [e.strip("/") for e in ws.get("exclude", [])]
    dirs: set[str] = set()
    for pattern in ws.get("members", []):
        rx = _glob_regex(pattern)
        dirs.update(d for d in manifest_dirs if rx.fullmatch(d))
    members = []
    for d in sorted(dirs):
        if any(d == e or d.startswith(e + "/") for e in excluded):
            continue
        data = tomllib.loads(git(repo, "show", f"{commit}:{d}/Cargo.toml"))
        name = data.get("package", {}).get("name")
        if isinstance(name, str):
            binary = f"{d}/src/main.rs" in files or bool(data.get("bin")) or any(bins.get(d, ()))
            members.append(Member(name, d, binary))
    if "package" in root and isinstance(root["package"].get("name"), str):
        members.append(Member(root["package"]["name"], "", "src/main.rs" in files))
    return members


def _service_name(crate: str) -> str | None:
    name = crate.lower()
    return name if SERVICE_NAME.match(name) else None


def _filters(members: list[Member], services: Mapping[str, str]) -> dict[str, list[str]]:
    by_name = {m.name: m for m in members}
    service_dirs = {by_name[c].dir for c in services.values()}
    tops_with_services = {d.split("/")[0] for d in service_dirs}
    libraries: set[str] = set()
    for m in members:
        if m.dir in service_dirs:
            continue
        top = m.dir.split("/")[0]
        libraries.add(f"{top}/**" if top not in tops_with_services else f"{m.dir}/**")
    out = {}
    for svc, crate in sorted(services.items()):
        own = by_name[crate].dir
        out[svc] = [f"{own}/**" if own else "**", *sorted(libraries), "Cargo.toml", "Cargo.lock"]
    return out


def real_repo(path: Path, workdir: Path, pairs: int) -> RealRepo:
    """`path` (a clone) with its last `pairs` first-parent commits, each against its parent."""
    if not (path / "Cargo.toml").is_file() and not git(path, "ls-tree", "HEAD", "Cargo.toml").strip():
        raise BenchmarkError(f"{path} has no Cargo.toml at its root")
    commits = git(path, "rev-list", "--first-parent", f"--max-count={pairs * 3}", "HEAD").split()
    chosen: list[tuple[str, str, int]] = []
    for head, base in itertools.pairwise(commits):
        files = len(git_bytes(path, "diff", "--name-only", "-z", base, head).split(b"\0")) - 1
        if files:
            chosen.append((base, head, files))
        if len(chosen) == pairs:
            break
    if len(chosen) < pairs:
        raise BenchmarkError(f"{path}: fewer than {pairs} first-parent commits with changes")
    per_head = [_members(path, head) for _, head, _ in chosen]
    binaries = set.intersection(*({m.name for m in ms if m.binary} for ms in per_head))
    services = {}
    for crate in sorted(binaries):
        svc = _service_name(crate)
        if svc is not None and svc not in services:
            services[svc] = crate
    if not services:
        raise BenchmarkError(f"{path}: no binary crate in the workspace to map as a service")
    name = path.resolve().name
    map_path = workdir / "maps" / f"{name}.toml"
    map_path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# generated by benchmarks/detect.py", "[rules]"]
    lines.append("ignore = [" + ", ".join(f'"{g}"' for g in MAP_IGNORES) + "]")
    for svc, crate in services.items():
        lines += ["", f"[services.{svc}]", f'crate = "{crate}"']
    map_path.write_text("\n".join(lines) + "\n")
    filters = _filters(per_head[0], services)
    return RealRepo(name, path.resolve(), map_path, services, filters, chosen)
