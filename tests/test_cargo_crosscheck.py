"""The manifest model agrees with `cargo metadata --no-deps --offline` (cargo's own reading)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import load
from tests.gen import generate
from tests.helpers import CHECKOUT, Repo, copy_monorepo


def cargo_view(root: Path) -> dict[str, tuple[str, frozenset[tuple[str, str, str | None]]]]:
    proc = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
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


def test_monorepo_matches_cargo(tmp_path: Path) -> None:
    repo = copy_monorepo(tmp_path / "mono")
    theirs, ours = cargo_view(repo.path), our_view(repo.path)
    assert ours == theirs
    assert len(ours) == 17  # nine services, seven shared crates, one nested sandbox


def test_mini_matches_cargo(mini: Repo) -> None:
    assert our_view(mini.path) == cargo_view(mini.path)


@pytest.mark.parametrize("seed", range(8))
def test_generated_workspaces_match_cargo(tmp_path: Path, seed: int) -> None:
    gen = generate(seed)
    repo = Repo.init(tmp_path / f"gen{seed}")
    for path, text in gen.files.items():
        repo.write(path, text)
    repo.commit()
    assert our_view(repo.path) == cargo_view(repo.path)


def test_checkout_is_the_monorepo() -> None:
    # The tests copy this checkout; make sure it is the workspace they expect.
    assert (CHECKOUT / "Cargo.toml").is_file() and (CHECKOUT / "workspace-map.toml").is_file()
