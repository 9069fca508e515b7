"""A tree of files to read the workspace from: a commit's objects, or the working tree."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildctl import gitrepo, tomlfile
from buildctl.errors import BuildctlError


@dataclass
class Snapshot:
    """Files at one revision (`rev` is a commit sha, or None for the working tree).

    `files` maps each path to its blob id; reads are batched and memoised, and parsed TOML is
    memoised by blob id, so the base and head of a diff share the work on unchanged manifests.
    """

    repo: Path
    rev: str | None
    files: Mapping[str, str]
    _blobs: dict[str, bytes] = field(default_factory=dict, repr=False)
    _toml: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def at(cls, repo: Path, rev: str, toml_memo: dict[str, dict[str, Any]] | None = None) -> Snapshot:
        return cls(repo, rev, gitrepo.ls_tree(repo, rev), _toml=toml_memo if toml_memo is not None else {})

    @classmethod
    def worktree(cls, repo: Path, toml_memo: dict[str, dict[str, Any]] | None = None) -> Snapshot:
        return cls(repo, None, gitrepo.worktree_files(repo), _toml=toml_memo if toml_memo is not None else {})

    @property
    def label(self) -> str:
        return self.rev[:12] if self.rev else "working tree"

    def exists(self, path: str) -> bool:
        return path in self.files

    def prefetch(self, paths: Iterable[str]) -> None:
        if self.rev is None:
            return
        ids = [self.files[p] for p in paths if p in self.files and self.files[p] not in self._blobs]
        self._blobs.update(gitrepo.read_blobs(self.repo, ids))

    def read(self, path: str) -> bytes | None:
        if path not in self.files:
            return None
        if self.rev is None:
            try:
                return (self.repo / path).read_bytes()
            except OSError:
                return None
        oid = self.files[path]
        if oid not in self._blobs:
            self.prefetch([path])
        return self._blobs.get(oid)

    def _key(self, path: str, data: bytes) -> str:
        if self.rev is not None:
            return self.files[path]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def text(self, path: str) -> str | None:
        data = self.read(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise BuildctlError("is not UTF-8 text", file=path, hint="save the file as UTF-8") from None

    def toml(self, path: str) -> dict[str, Any] | None:
        data = self.read(path)
        if data is None:
            return None
        key = self._key(path, data)
        parsed = self._toml.get(key)
        if parsed is None:
            parsed = tomlfile.parse(self.text(path) or "", path)
            self._toml[key] = parsed
        return parsed
