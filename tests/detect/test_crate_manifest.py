"""A crate's binaries as Cargo builds them, with `cargo metadata` as the judge."""

from __future__ import annotations

from pathlib import Path

from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import load_full
from tests.support.cargo import cargo_metadata
from tests.support.git import Repo


def cargo_bins(root: Path) -> dict[str, list[str]]:
    return {
        pkg["name"]: sorted(t["name"] for t in pkg["targets"] if "bin" in t["kind"])
        for pkg in cargo_metadata(root)["packages"]
    }


def test_declared_binaries_replace_the_ones_cargo_would_infer_from_their_files(tmp_path: Path) -> None:
    """kanidm's daemon declares `[[bin]] name = "kanidmd", path = "src/main.rs"`: Cargo then
    builds no `daemon` binary, and neither may the map."""
    repo = Repo.init(tmp_path / "bins")
    repo.write("Cargo.toml", '[workspace]\nmembers = ["daemon", "tools", "plain"]\nresolver = "2"\n')
    pkg = '[package]\nname = "{}"\nversion = "0.1.0"\nedition = "2021"\n'
    repo.write(
        "daemon/Cargo.toml", pkg.format("daemon") + '\n[[bin]]\nname = "kanidmd"\npath = "src/main.rs"\n'
    )
    repo.write(
        "tools/Cargo.toml",
        pkg.format("tools")
        + '\n[[bin]]\nname = "tools"\n\n[[bin]]\nname = "renamed"\npath = "src/bin/old.rs"\n',
    )
    repo.write("plain/Cargo.toml", pkg.format("plain"))
    for path in (
        "daemon/src/main.rs",
        "tools/src/main.rs",
        "tools/src/bin/old.rs",
        "tools/src/bin/extra/main.rs",
    ):
        repo.write(path, "fn main() {}\n")
    repo.write("plain/src/main.rs", "fn main() {}\n")
    repo.write("plain/src/bin/second.rs", "fn main() {}\n")
    repo.commit()
    ws = load_full(Snapshot.at(repo.path, "HEAD"), "")
    ours = {c.name: sorted(c.bins) for c in ws.crates.values()}
    assert (
        ours
        == cargo_bins(repo.path)
        == {
            "daemon": ["kanidmd"],
            "tools": ["extra", "renamed", "tools"],
            "plain": ["plain", "second"],
        }
    )
