"""What detection derived before, kept across runs and keyed by content, so it is never stale.

- Parsed TOML by blob id (the hash of the file's content), shared by every repository and branch.
- The workspace model by a digest of the blob ids of every file that shapes it (manifests,
  lock, crate roots): most commits change none of those, so most runs skip parsing entirely.

Files live under $BUILDCTL_CACHE_DIR (default: $XDG_CACHE_HOME/buildctl or ~/.cache/buildctl),
are written atomically, and BUILDCTL_CACHE_DIR="" turns the cache off. Entries JSON cannot
hold (TOML dates) are not kept. A broken or unreadable cache only costs speed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE = "toml-v1.json"
MAX_ENTRIES = 50_000
MODEL_VERSION = "v2"  # v2: members written "crates/a/" are crates/a (a model of v1 may not be)
MAX_MODELS = 20


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    if "BUILDCTL_CACHE_DIR" in environ:
        return Path(environ["BUILDCTL_CACHE_DIR"]) if environ["BUILDCTL_CACHE_DIR"] else None
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or "~").expanduser() / ".cache")
    return Path(base) / "buildctl"


class Cache:
    def __init__(self, path: Path | None, entries: dict[str, Any] | None = None) -> None:
        self.path = path
        self._entries = entries
        self._new: dict[str, Any] = {}
        self._trees: dict[str, str] | None = None
        self._trees_dirty = False

    def __repr__(self) -> str:
        return f"Cache({self.path!r})"

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None, {})

    @classmethod
    def default(cls, environ: Mapping[str, str] = os.environ) -> Cache:
        d = cache_dir(environ)
        return cls(d / FILE if d else None)

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                try:
                    loaded = json.loads(self.path.read_bytes())
                    if isinstance(loaded, dict):
                        self._entries = loaded
                except (OSError, ValueError):
                    pass  # no cache yet, or a broken one: parse again and rewrite it
        return self._entries

    def get(self, oid: str) -> dict[str, Any] | None:
        hit = self._new.get(oid)
        if hit is None:
            hit = self._load().get(oid)
        return hit if isinstance(hit, dict) else None

    def put(self, oid: str, parsed: dict[str, Any], *, keep: bool = False) -> None:
        """Keep `parsed` for this run and the next; a cold run keeps only what it is told to
        (3,000 parsed manifests are memory)."""
        if self.path is not None or keep:
            self._new[oid] = parsed

    def _trees_path(self) -> Path | None:
        return self.path.parent / f"trees-{MODEL_VERSION}.json" if self.path is not None else None

    def _tree_map(self) -> dict[str, str]:
        if self._trees is None:
            self._trees = {}
            path = self._trees_path()
            if path is not None:
                try:
                    loaded = json.loads(path.read_bytes())
                    if isinstance(loaded, dict):
                        self._trees = {str(k): str(v) for k, v in loaded.items()}
                except (OSError, ValueError):
                    pass
        return self._trees

    def model_key_for_tree(self, tree: str) -> str | None:
        """A commit's root tree id names its whole content, so a run on a commit seen before
        finds its workspace model without listing the tree at all."""
        return self._tree_map().get(tree)

    def remember_tree(self, tree: str, key: str) -> None:
        trees = self._tree_map()
        if trees.get(tree) != key:
            trees[tree] = key
            self._trees_dirty = True

    def _model_path(self, key: str) -> Path | None:
        return self.path.parent / f"workspace-{MODEL_VERSION}-{key}.json" if self.path is not None else None

    def get_model(self, key: str) -> Any:
        path = self._model_path(key)
        if path is None:
            return None
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None

    def put_model(self, key: str, data: Any) -> None:
        path = self._model_path(key)
        if path is None:
            return
        try:
            _write(path, json.dumps(data, separators=(",", ":")))
            models = sorted(
                path.parent.glob(f"workspace-{MODEL_VERSION}-*.json"), key=lambda p: p.stat().st_mtime
            )
            for old in models[:-MAX_MODELS]:
                old.unlink(missing_ok=True)
        except (OSError, TypeError, ValueError):
            return

    def save(self) -> None:
        """Write new entries, if any (best effort: a read-only cache dir only costs speed)."""
        trees_path = self._trees_path()
        if self._trees_dirty and trees_path is not None and self._trees is not None:
            entries = dict(list(self._trees.items())[-MAX_ENTRIES:])
            with contextlib.suppress(OSError):
                _write(trees_path, json.dumps(entries, separators=(",", ":")))
            self._trees_dirty = False
        if self.path is None or not self._new:
            return
        entries = dict(self._load())
        for oid, parsed in self._new.items():
            try:
                json.dumps(parsed)
            except (TypeError, ValueError):
                continue
            entries[oid] = parsed
        if len(entries) > MAX_ENTRIES:
            entries = dict(list(entries.items())[-MAX_ENTRIES:])
        try:
            _write(self.path, json.dumps(entries, separators=(",", ":")))
        except OSError:
            return
        self._entries, self._new = entries, {}


def _write(path: Path, text: str) -> None:
    from buildctl import atomic  # tempfile, shutil and signal: only a run that writes pays for them

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text, durable=False)
