"""A tree of files to read the workspace from: a commit's objects, or the working tree.

Reads go by path and are batched (`cat-file --batch` takes `<rev>:<path>` names), so detecting
a change never lists the whole tree; `files` (every path) is there for the commands that need
it. Parsed TOML is memoised by blob id, in memory and in a cache on disk (see `cache`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildctl import gitrepo, tomlfile
from buildctl.detect.cache import Cache
from buildctl.errors import BuildctlError

CARGO_FILE = re.compile(r"(?:^|/)(?:Cargo\.toml|Cargo\.lock|src/main\.rs|src/lib\.rs|src/bin/.*)$")
CARGO_NAMES = (b"Cargo.toml", b"Cargo.lock", b"src/main.rs", b"src/lib.rs")


@dataclass
class Snapshot:
    repo: Path
    rev: str | None  # a commit sha, or None for the working tree
    cache: Cache = field(default_factory=Cache.disabled, repr=False)
    _files: Mapping[str, str] | None = field(default=None, repr=False)
    _blobs: dict[str, tuple[str, bytes] | None] = field(default_factory=dict, repr=False)
    _cargo: Mapping[str, str] | None = field(default=None, repr=False)
    _bin_stems: dict[str, list[str]] | None = field(default=None, repr=False)

    @classmethod
    def at(cls, repo: Path, rev: str, cache: Cache | None = None) -> Snapshot:
        return cls(repo, rev, cache or Cache.disabled())

    @classmethod
    def worktree(cls, repo: Path, cache: Cache | None = None) -> Snapshot:
        return cls(repo, None, cache or Cache.disabled())

    @property
    def label(self) -> str:
        return self.rev[:12] if self.rev else "working tree"

    def tree_id(self) -> str | None:
        """The commit's root tree id (None for the working tree or when caching is off)."""
        if self.rev is None or self.cache.path is None:
            return None
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
            return path in self.cargo_files
        return path in self.files

    def bin_stems(self, crate_dir: str) -> list[str]:
        """Binaries under `<crate_dir>/src/bin`: `name.rs` and `name/main.rs`."""
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
        todo = [p for p in dict.fromkeys(paths) if p not in self._blobs]
        if not todo:
            return
        if self.rev is None:
            for p in todo:
                try:
                    data = (self.repo / p).read_bytes() if (self.repo / p).is_file() else None
                except OSError:
                    data = None
                self._blobs[p] = None if data is None else (gitrepo.blob_id(data), data)
            return
        known = self._cargo or {}
        names: dict[str, str] = {}
        for p in todo:
            if p in known:
                names[p] = known[p]  # by blob id: fast
            elif self._cargo is not None and CARGO_FILE.search(p):
                self._blobs[p] = None  # the listing has every such file: this one is not in the tree
            else:
                names[p] = f"{self.rev}:{p}"  # git walks the tree for it: fine for a few files
        found = gitrepo.batch(self.repo, names.values(), contents=True)
        for p, name in names.items():
            hit = found.get(name)
            self._blobs[p] = (hit[0], hit[2]) if hit is not None and hit[1] == "blob" else None

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
            parsed = tomlfile.parse(text, path)
            self.cache.put(oid, parsed)
        return parsed
