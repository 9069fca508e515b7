"""The workspace model as the cache on disk keeps it: JSON, under a key made of the blob ids of
every file that shapes it. Only a run with a cache reads this (a cold run keys nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import Crate, Dep, Targets, Workspace


def model_key(snap: Snapshot, root: str) -> str | None:
    """A digest of the blob ids of every file that shapes the model; None for the working tree
    (no blob ids there) or when caching is off."""
    if snap.rev is None or snap.cache.path is None:
        return None
    h = hashlib.sha256(root.encode() + b"\0")
    for path, oid in sorted(snap.cargo_files.items()):
        h.update(f"{path}\0{oid}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


def to_json(ws: Workspace) -> dict[str, Any]:
    return {
        "root": ws.root,
        "root_manifest": ws.root_manifest,
        "crates": [
            [
                c.name,
                c.dir,
                c.member,
                list(c.bins),
                c.has_lib,
                [list(d) for d in c.deps],
                sorted(c.inherited_package_keys),
            ]
            for c in ws.crates.values()
        ],
    }


def from_json(data: dict[str, Any]) -> Workspace:
    """The model a cache kept. Its crates are made when asked for (a warm run asks for a few);
    the graph's edges are read off at once, which also checks the entry's shape (a bad entry
    raises KeyError, TypeError or ValueError: the caller derives the model again)."""
    crates = _Rows(data["crates"])
    return Workspace(
        root=data["root"],
        crates=crates,
        by_dir={row[1]: name for name, row in crates.rows.items()},
        root_manifest=data["root_manifest"],
    )


Edges = dict[str, set[str]]


class _Rows(Mapping[str, Crate]):
    """The cached crates by name, each made from its row when first asked for."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows: dict[str, list[Any]] = {}
        deps: Edges = {}
        dev: Edges = {}
        for row in rows:
            name, d, member, bins, has_lib, dep_rows, inherited = row
            if not (
                isinstance(name, str)
                and isinstance(d, str)
                and isinstance(member, bool)
                and isinstance(has_lib, bool)
                and all(isinstance(v, list) for v in (bins, dep_rows, inherited))
            ):
                raise TypeError("a crate's row")
            self.rows[name] = row
            deps[name], dev[name] = set(), set()
            for _key, package, kind, path, _inherited, _table in dep_rows:
                if path is not None:
                    (dev if kind == "dev" else deps)[name].add(package)
        self.edges = (deps, dev)  # normal and build; dev: as `CrateGraph.of` makes them
        self._made: dict[str, Crate] = {}

    def __getitem__(self, name: str) -> Crate:
        crate = self._made.get(name)
        if crate is None:
            name, d, member, bins, has_lib, deps, inherited = self.rows[name]
            crate = Crate(
                name,
                d,
                member,
                tuple(Dep(*dep) for dep in deps),
                frozenset(inherited),
                Targets(tuple(bins), has_lib),
            )
            self._made[name] = crate
        return crate

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def path_edges(self) -> tuple[Edges, Edges]:
        """Each crate's path dependencies by package name: normal and build ones, dev ones."""
        return self.edges
