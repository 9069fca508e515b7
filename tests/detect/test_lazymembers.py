"""A cold run's members, from the trees the member globs name: the directories a glob matches
wait for their manifests to be read, and what only the full model can say is left to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildctl import tomlfile
from buildctl.detect import lazymembers
from buildctl.detect.lazyviews import Unsettled
from buildctl.detect.objects import Objects
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import load_full
from tests.support.git import Repo


def _find(repo: Repo, members: str, exclude: str = "[]") -> tuple[list[str], list[list[str]]]:
    repo.write("Cargo.toml", f"[workspace]\nmembers = {members}\nexclude = {exclude}\n")
    repo.commit()
    objects = Objects(repo.path)
    try:
        snap = Snapshot.at(repo.path, repo.head(), objects=objects)
        return lazymembers.find(snap, "", tomlfile.parse(repo.read("Cargo.toml"), "Cargo.toml"))
    finally:
        objects.close()


@pytest.fixture
def ws(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "ws")
    for d in ("crates/a", "crates/b", "crates/skip", "tools/x"):
        repo.write(f"{d}/Cargo.toml", f'[package]\nname = "{d.rpartition("/")[2]}"\nversion = "0.1.0"\n')
        repo.write(f"{d}/src/lib.rs", "\n")
    repo.write("crates/notes/README.md", "not a crate\n")  # a directory the glob matches
    return repo


def test_a_glob_names_every_directory_it_matches_until_their_manifests_are_read(ws: Repo) -> None:
    members, globbed = _find(ws, '["crates/*", "tools/x"]', '["crates/skip"]')
    assert members == ["crates/a", "crates/b", "crates/notes", "tools/x"]
    assert globbed == [["crates/a", "crates/b", "crates/notes"]]
    full = load_full(Snapshot.at(ws.path, "HEAD"), "")
    crates = {c.dir for c in full.crates.values()}
    assert crates == set(members) - {"crates/notes"}  # the one without a manifest is dropped later


@pytest.mark.parametrize(
    "members",
    [
        '["crates/[ab]"]',  # a class: the full model's glob
        '["crates/**"]',
        '["../outside"]',
        '["tools/none"]',  # no manifest there: the full model's error
        '["nothing/*"]',
    ],
)
def test_what_only_the_full_model_says_is_left_to_it(ws: Repo, members: str) -> None:
    with pytest.raises(Unsettled):
        _find(ws, members)
