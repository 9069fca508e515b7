"""The workspace model as the cache on disk keeps it: JSON, under a key made of the blob ids of
every file that shapes it. Only a run with a cache reads this (a cold run keys nothing).
"""

from __future__ import annotations

import hashlib
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
    crates: dict[str, Crate] = {}
    for name, d, member, bins, has_lib, deps, inherited in data["crates"]:
        crates[name] = Crate(
            name,
            d,
            member,
            tuple(Dep(*dep) for dep in deps),
            frozenset(inherited),
            Targets(tuple(bins), has_lib),
        )
    return Workspace(
        root=data["root"],
        crates=crates,
        by_dir={c.dir: c.name for c in crates.values()},
        root_manifest=data["root_manifest"],
    )
