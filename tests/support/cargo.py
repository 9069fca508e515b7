"""The manifest model next to `cargo metadata --no-deps --offline` (cargo's own reading)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import load


def cargo_metadata(root: Path) -> Any:
    """`cargo metadata` of the workspace at `root`, its members only, offline."""
    proc = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def cargo_view(root: Path) -> dict[str, tuple[str, frozenset[tuple[str, str, str | None]]]]:
    data = cargo_metadata(root)
    view = {}
    for pkg in data["packages"]:
        d = str(Path(pkg["manifest_path"]).parent.relative_to(root))
        deps = frozenset(
            (dep["name"], dep["kind"] or "normal", dep.get("rename"))
            for dep in pkg["dependencies"]
            if dep.get("path") is not None
        )
        view[pkg["name"]] = ("" if d == "." else d, deps)
    return view


def our_view(repo: Path) -> dict[str, tuple[str, frozenset[tuple[str, str, str | None]]]]:
    ws = load(Snapshot.at(repo, "HEAD"), "")
    return {
        c.name: (
            c.dir,
            frozenset(
                (d.package, d.kind, d.key if d.key != d.package else None)
                for d in c.path_deps(include_dev=True)
            ),
        )
        for c in ws.crates.values()
        if c.member
    }
