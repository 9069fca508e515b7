"""A workspace's members, read lazily (see `lazyws`): from the trees its member globs name, not
from a listing of the whole tree. Unsettled for whatever only the full model can say."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from buildctl.detect.lazyviews import Unsettled
from buildctl.detect.objects import TREE
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import _has_glob, _is_excluded, join, manifest_of
from buildctl.globs import GlobSet


def find(snap: Snapshot, root: str, root_toml: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """As `workspace._members`, from the trees the globs name. A directory a glob matches is
    taken for a member until its manifest is read (the caller drops it if it has none): with
    the members, the directories each glob matched, of which at least one must be a crate."""
    ws = root_toml.get("workspace")
    if ws is None:
        if "package" not in root_toml:
            raise Unsettled
        return [root], []
    if not isinstance(ws, dict):
        raise Unsettled
    patterns, excludes = ws.get("members", []), ws.get("exclude", [])
    for value in (patterns, excludes):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Unsettled
    excluded = [join(root, e) for e in excludes]
    found: set[str] = {root} if "package" in root_toml else set()
    listed = [join(root, p) for p in patterns if not _has_glob(p)]
    snap.fetch(manifest_of(d) for d in listed)  # one batch
    globbed = []
    for pattern in patterns:
        full = join(root, pattern)
        if _has_glob(pattern):
            hits = _glob(snap, full)
            kept = [h for h in hits if not _is_excluded(h, excluded)] if excluded else hits
            if kept:
                globbed.append(kept)
                found.update(kept)
                continue
            snap.fetch(manifest_of(h) for h in hits)
            hits = [h for h in hits if snap.read(manifest_of(h)) is not None]
        else:  # a blob there, as `snap.exists` says
            hits = [full] if snap.read(manifest_of(full)) is not None else []
        if not hits:
            raise Unsettled  # an error, said by the full model
        found.update(h for h in hits if not _is_excluded(h, excluded))
    members = sorted(found)
    for d in members:
        clean = d == "" or not (d.startswith("/") or "//" in d or d.endswith("/"))
        parts = d.split("/")
        inside = not root or d == root or d.startswith(root + "/")
        if not clean or "." in parts or ".." in parts or not inside:
            raise Unsettled  # members' directories as the full model writes them, and only those
    return members, globbed


def _glob(snap: Snapshot, full: str) -> list[str]:
    """The directories that `full` matches, walking only the trees it names (its `*` and `?`
    never cross a `/`, so it matches one path component at a time); with a Cargo.toml or not."""
    parts = full.split("/")
    if any(not p or p in (".", "..") or "[" in p or "{" in p or "**" in p for p in parts):
        raise Unsettled
    dirs = [""]
    for part in parts:
        # `*` alone matches every name: a tree entry's name has no `/`, nor is it empty
        glob = GlobSet.of([part]).match if _has_glob(part) else part.__eq__
        matches: Callable[[str], object] = bool if part == "*" else glob
        step = []
        for d in dirs:
            for name, (mode, _) in (snap.tree(d) or {}).items():
                if mode == TREE and matches(name):
                    step.append(f"{d}/{name}" if d else name)
        dirs = step
    if GlobSet.of([full]).match(""):
        dirs.append("")  # `*` matches the root directory too
    return dirs
