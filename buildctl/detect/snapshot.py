"""A tree of files to read the workspace from: a commit's objects, or the working tree.

Reads go by path and are batched (`cat-file --batch` takes `<rev>:<path>` names), so detecting
a change never lists the whole tree; `files` (every path) is there for the commands that need
it. Parsed TOML is memoised by blob id, in memory and in a cache on disk (see `cache`).

A commit's snapshot given an `Objects` session reads everything through that one process, and
answers `exists` and `bin_stems` from the few trees they name instead of from a listing of the
whole tree; the workspace is then read lazily (see `lazyws`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from buildctl import gitrepo, tomlfile
from buildctl.detect.cache import Cache
from buildctl.detect.objects import COMMIT_MODE, TREE, Object, Objects, Tree, parse_tree
from buildctl.errors import BuildctlError

CARGO_FILE = re.compile(r"(?:^|/)(?:Cargo\.toml|Cargo\.lock|src/main\.rs|src/lib\.rs|src/bin/.*)$")
CARGO_NAMES = (b"Cargo.toml", b"Cargo.lock", b"src/main.rs", b"src/lib.rs")
_UNREAD = ("", b"")  # no blob's (id, bytes): a path not read yet


class Snapshot:
    def __init__(
        self, repo: Path, rev: str | None, cache: Cache | None = None, objects: Objects | None = None
    ) -> None:
        self.repo = repo
        self.rev = rev  # a commit sha, or None for the working tree
        self.cache = cache or Cache.disabled()
        self.objects = objects
        self._files: Mapping[str, str] | None = None
        self._blobs: dict[str, tuple[str, bytes] | None] = {}
        self._cargo: Mapping[str, str] | None = None
        self._bin_stems: dict[str, list[str]] | None = None
        self._trees: dict[str, Tree | None] = {}  # directory -> entries
        self._tree_ids: dict[str, str] = {}  # directory -> tree id

    def __repr__(self) -> str:
        return f"Snapshot({str(self.repo)!r}, {self.label!r})"

    @classmethod
    def at(cls, repo: Path, rev: str, cache: Cache | None = None, objects: Objects | None = None) -> Snapshot:
        return cls(repo, rev, cache, objects)

    @property
    def lazy(self) -> bool:
        """A commit read through an `Objects` session, with no cache: its workspace is read
        lazily. With a cache, the model it keeps answers a warm run sooner than any reading."""
        return self.objects is not None and self.rev is not None and self.cache.path is None

    @classmethod
    def worktree(cls, repo: Path, cache: Cache | None = None) -> Snapshot:
        return cls(repo, None, cache)

    @property
    def label(self) -> str:
        return self.rev[:12] if self.rev else "working tree"

    def tree_id(self) -> str | None:
        """The commit's root tree id (None for the working tree or when caching is off)."""
        if self.rev is None or self.cache.path is None:
            return None
        if self.objects is not None:
            root = self.objects.one(f"{self.rev}^{{tree}}")
            return root.oid if root is not None else None
        return gitrepo.resolve_tree(self.repo, self.rev)

    @property
    def files(self) -> Mapping[str, str]:
        """Every file: path → blob id (empty for the working tree). Lists the whole tree once."""
        if self._files is None:
            self._files = (
                gitrepo.ls_tree(self.repo, self.rev) if self.rev else gitrepo.worktree_files(self.repo)
            )
        return self._files

    @property
    def cargo_files(self) -> Mapping[str, str]:
        """Only the files that shape a Cargo workspace (manifests, locks, crate roots, src/bin):
        filtered while git lists the tree, so 60,000 files cost one pass in C, not a dict."""
        if self._cargo is None:
            if self._files is not None or self.rev is None:
                self._cargo = {p: o for p, o in self.files.items() if CARGO_FILE.search(p)}
            else:
                found = gitrepo.ls_tree_matching(self.repo, self.rev, CARGO_NAMES, b"src/bin/")
                self._cargo = {p: o for p, o in found.items() if CARGO_FILE.search(p)}
        return self._cargo

    def manifest_dirs(self) -> list[str]:
        return sorted(
            p[: -len("/Cargo.toml")] if p != "Cargo.toml" else ""
            for p in self.cargo_files
            if p.endswith("Cargo.toml")
        )

    def exists(self, path: str) -> bool:
        if CARGO_FILE.search(path):
            if self._cargo is None and self.lazy:
                return self._is_blob(path)
            return path in self.cargo_files
        return path in self.files

    def tree(self, d: str) -> Tree | None:
        """The entries of directory `d` (lazy snapshots only); None when it is not a directory."""
        if d not in self._trees:
            self._read_trees([d])
        return self._trees[d]

    def _read_trees(self, dirs: list[str]) -> None:
        assert self.objects is not None
        ask = self._tree_questions(dirs)
        self._keep_trees(ask, self.objects.get(self._tree_names(ask)))

    def _tree_questions(self, dirs: Iterable[str]) -> list[str]:
        """The directories git must be asked for: not those whose parent, already read, has no
        such directory (they are noted as none)."""
        ask = []
        for d in dict.fromkeys(dirs):
            if d in self._trees:
                continue
            if d and d.rpartition("/")[0] in self._trees and d not in self._tree_ids:
                self._trees[d] = None
            elif d and _outside_any_tree(d):
                self._trees[d] = None  # git would take `..` as leaving the repository, and stop
            else:
                ask.append(d)
        return ask

    def _tree_names(self, dirs: list[str]) -> list[str]:
        """Each named from the nearest directory whose id is known."""
        return [self._object_name(d) if d else f"{self.rev}^{{tree}}" for d in dirs]

    def _keep_trees(self, dirs: list[str], objs: list[Object | None]) -> None:
        for d, obj in zip(dirs, objs, strict=True):
            entries = None
            if obj is not None and obj.kind == "tree":
                entries = parse_tree(obj.data, len(obj.oid) // 2)
                self._tree_ids[d] = obj.oid
            self._trees[d] = entries
            for name, (mode, raw) in (entries or {}).items():
                if mode == TREE:
                    self._tree_ids[f"{d}/{name}" if d else name] = raw.hex()

    def _is_blob(self, path: str) -> bool:
        entries = self.tree(posixpath.dirname(path))
        entry = entries.get(posixpath.basename(path)) if entries is not None else None
        return entry is not None and entry[0] not in (TREE, COMMIT_MODE)

    def _lazy_bin_stems(self, crate_dir: str) -> list[str]:
        bin_dir = f"{crate_dir}/src/bin" if crate_dir else "src/bin"
        stems: list[str] = []
        for name, (mode, _) in (self.tree(bin_dir) or {}).items():
            if "\n" in name:
                continue  # CARGO_FILE's `.*` stops at a newline: the listing never has such a file
            if mode == TREE:
                if self._is_blob(f"{bin_dir}/{name}/main.rs"):
                    stems.append(name)
            elif mode != COMMIT_MODE and name.endswith(".rs"):
                stems.append(name[:-3])
        return sorted(stems)

    def bin_stems(self, crate_dir: str) -> list[str]:
        """Binaries under `<crate_dir>/src/bin`: `name.rs` and `name/main.rs`."""
        if self._bin_stems is None and self._cargo is None and self.lazy:
            return self._lazy_bin_stems(crate_dir)
        if self._bin_stems is None:
            self._bin_stems = {}
            for p in self.cargo_files:
                head, sep, rest = p.rpartition("src/bin/")
                if not sep or (head and not head.endswith("/")):
                    continue
                if rest.endswith(".rs") and "/" not in rest:
                    stem = rest[:-3]
                elif rest.endswith("/main.rs") and rest.count("/") == 1:
                    stem = rest.split("/", 1)[0]
                else:
                    continue
                self._bin_stems.setdefault(head.rstrip("/"), []).append(stem)
        return sorted(self._bin_stems.get(crate_dir, ()))

    def fetch(self, paths: Iterable[str]) -> None:
        """Read many files in one go (later `read`s of them are free)."""
        for _ in self.stream(dict.fromkeys(paths), alongside=False):
            pass

    def stream(self, paths: Iterable[str], *, alongside: bool = True) -> Generator[bytes | None, None, None]:
        """The bytes of each of `paths` (distinct; None: no such file), read in one go and
        handed over as git answers: with `alongside`, the caller works on one file while git
        reads the next. Nothing else may be read until the stream ends."""
        paths = list(paths)
        blobs = self._blobs
        todo = [p for p in paths if p not in blobs]
        objects: Iterator[Object | None] = iter(())
        if todo and self.rev is None:
            self._read_worktree(todo)
        elif todo and self.objects is not None:
            objects = self.objects.stream(self._names_for(todo), alongside=alongside)
        elif todo:
            self._batch(todo)
        for p in paths:
            hit = blobs.get(p, _UNREAD)
            if hit is _UNREAD:  # the next answer is this file's
                obj = next(objects)
                hit = blobs[p] = (obj.oid, obj.data) if obj is not None and obj.kind == "blob" else None
            yield None if hit is None else hit[1]

    def _read_worktree(self, paths: list[str]) -> None:
        for p in paths:
            try:
                data = (self.repo / p).read_bytes() if (self.repo / p).is_file() else None
            except OSError:
                data = None
            self._blobs[p] = None if data is None else (gitrepo.blob_id(data), data)

    def _names_for(self, paths: list[str]) -> list[str]:
        """The object name to ask git for each of `paths`; a Cargo file the listing does not
        have is noted as none instead."""
        known = self._cargo or {}
        names = []
        for p in paths:
            if p in known:
                names.append(known[p])  # by blob id: fast
            elif self._cargo is not None and CARGO_FILE.search(p):
                self._blobs[p] = None  # the listing has every such file: this one is not in the tree
            elif _outside_any_tree(p):
                self._blobs[p] = None  # and git would take `..` as leaving the repository, and stop
            else:
                names.append(self._object_name(p))
        return names

    def _batch(self, paths: list[str]) -> None:
        """Read `paths` with a `cat-file` of their own (a snapshot without an `Objects` session)."""
        names = self._names_for(paths)
        found = gitrepo.batch(self.repo, names, contents=True)
        asked = iter(names)
        for p in paths:
            if p not in self._blobs:
                hit = found.get(next(asked))
                self._blobs[p] = (hit[0], hit[2]) if hit is not None and hit[1] == "blob" else None

    def _object_name(self, path: str) -> str:
        """`<tree id>:<rest>` from the nearest directory whose tree id is known, else
        `<rev>:<path>`: git then walks only the rest (a 3,000-entry directory read once, not per file)."""
        d = path
        while self._tree_ids and "/" in d:
            d = d.rpartition("/")[0]
            if d in self._tree_ids:
                return f"{self._tree_ids[d]}:{path[len(d) + 1 :]}"
        return f"{self.rev}:{path}"

    def read(self, path: str) -> bytes | None:
        if path not in self._blobs:
            self.fetch([path])
        hit = self._blobs[path]
        return None if hit is None else hit[1]

    def oid(self, path: str) -> str | None:
        if path not in self._blobs:
            self.fetch([path])
        hit = self._blobs[path]
        return None if hit is None else hit[0]

    def text(self, path: str) -> str | None:
        data = self.read(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise BuildctlError("is not UTF-8 text", file=path, hint="save the file as UTF-8") from None

    def toml(self, path: str) -> dict[str, Any] | None:
        if path not in self._blobs:
            self.fetch([path])
        hit = self._blobs[path]
        if hit is None:
            return None
        oid, data = hit
        parsed = self.cache.get(oid)
        if parsed is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise BuildctlError("is not UTF-8 text", file=path, hint="save the file as UTF-8") from None
            parsed = tomlfile.parse_many(text, path)
            # A workspace's root manifest is read by the loader, the rules and the lock's walk, at
            # base and at head (often one blob): parsed once, even in a cold run.
            self.cache.put(oid, parsed, keep=b"[workspace" in data)
        return parsed


def _outside_any_tree(path: str) -> bool:
    """A path no tree holds: absolute, or with an empty, `.` or `..` part (looked for only in a
    path that may have one: every manifest's name has a dot)."""
    if not ("/." in path or path[:1] in "./" or "//" in path):
        return False
    parts = path.split("/")
    return "" in parts or "." in parts or ".." in parts
