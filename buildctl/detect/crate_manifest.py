"""What one crate's Cargo.toml declares beyond its name: its dependency tables and its binaries."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from buildctl.detect.snapshot import Snapshot

DepKind = Literal["normal", "build", "dev"]
DEP_TABLES: dict[str, DepKind] = {
    "dependencies": "normal",
    "build-dependencies": "build",
    "build_dependencies": "build",
    "dev-dependencies": "dev",
    "dev_dependencies": "dev",
}


def table_path(table: str) -> list[str]:
    """The key path of a dependency table named as `dep_tables` names it."""
    if table.startswith("target."):
        rest = table[len("target.") :]
        cfg, _, kind = rest.rpartition(".")
        return ["target", cfg.strip("'\""), kind]
    return [table]


def dep_tables(data: Mapping[str, Any]) -> Iterator[tuple[str, Any, DepKind]]:
    """Every dependency table of a manifest, target-specific ones too: (name, body, kind)."""
    for name, kind in DEP_TABLES.items():
        if name in data:
            yield name, data[name], kind
    target = data.get("target", {})
    if isinstance(target, dict):
        for cfg, body in target.items():
            if isinstance(body, dict):
                for name, kind in DEP_TABLES.items():
                    if name in body:
                        yield f"target.'{cfg}'.{name}", body[name], kind


def bins_of(snap: Snapshot, d: str, name: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The binaries Cargo builds for the package `name` at `d`: the declared [[bin]]s, then those
    it infers from src/main.rs and src/bin unless a declared one already builds that file."""
    bins: list[str] = []
    taken: set[str] = set()  # source files a declared [[bin]] builds: Cargo infers no target there
    declared = data.get("bin", [])
    if isinstance(declared, list):
        for b in declared:
            if isinstance(b, dict) and isinstance(b.get("name"), str):
                bins.append(b["name"])
                path = b.get("path")
                if isinstance(path, str):
                    taken.add(posixpath.normpath(path))
                else:
                    taken.update((f"src/bin/{b['name']}.rs", f"src/bin/{b['name']}/main.rs"))
                    if b["name"] == name:
                        taken.add("src/main.rs")
    package = data.get("package", {})
    if package.get("autobins", True) is not False:
        if snap.exists(posixpath.join(d, "src/main.rs")) and name not in bins and "src/main.rs" not in taken:
            bins.append(name)
        for stem in snap.bin_stems(d):
            if stem not in bins and not taken & {f"src/bin/{stem}.rs", f"src/bin/{stem}/main.rs"}:
                bins.append(stem)
    return tuple(bins)
