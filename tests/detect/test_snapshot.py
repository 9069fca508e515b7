"""A tree of files to read the workspace from: text that is not UTF-8, and files of any bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildctl import config, deployed
from buildctl.deploy import apply
from buildctl.detect import cargo_lock
from buildctl.detect.objects import Objects
from buildctl.detect.snapshot import Snapshot
from tests.support.cli import cli, refused
from tests.support.git import Repo
from tests.support.strategies import only_buildctl_errors


def test_a_manifest_that_is_not_utf8(mini: Repo) -> None:
    (mini.path / "libs/util/Cargo.toml").write_bytes(b'[package]\nname = "util\xff"\n')
    mini.commit()
    refused(cli(mini, "affected"), "libs/util/Cargo.toml: is not UTF-8 text", "hint: save the file as UTF-8")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
@example(b"\xff\xfe[package]\n")
@example("name = 'caf\u00e9'\n".encode("latin-1"))
def test_files_of_any_bytes_raise_only_buildctl_errors(data: bytes) -> None:
    """The readers that take the files' bytes: the map, a manifest or lock, a kustomization."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("workspace-map.toml", "Cargo.toml", "Cargo.lock", "k.yaml"):
            (root / name).write_bytes(data)
        only_buildctl_errors(lambda: config.load_map(root, None))
        snap = Snapshot.worktree(root)
        only_buildctl_errors(lambda: snap.toml("Cargo.toml"))
        only_buildctl_errors(lambda: cargo_lock.parse(snap.text("Cargo.lock") or "", "Cargo.lock"))
        read = apply.reader(root)
        only_buildctl_errors(lambda: deployed.load(read("k.yaml") or "", "k.yaml"))


def test_paths_no_tree_holds_are_none_and_git_answers_on(mini: Repo) -> None:
    """git takes `<rev>:../x` as a path leaving the repository, and its cat-file stops: such a
    path (a `members` entry or a `path` dependency may name one) is none without asking."""
    objects = Objects(mini.path)
    try:
        snap = Snapshot.at(mini.path, mini.head(), objects=objects)
        odd = ["../x/Cargo.toml", "./Cargo.toml", "/Cargo.toml", "svc//a/Cargo.toml", "svc/../Cargo.toml"]
        assert [snap.read(p) for p in odd] == [None] * len(odd)
        assert [snap.tree(d) for d in ("..", "../x", "svc/..", "./svc")] == [None] * 4
        assert snap.read("Cargo.toml") == (mini.path / "Cargo.toml").read_bytes()
    finally:
        objects.close()


def test_a_member_outside_the_repository_is_the_same_error_cold_and_warm(tmp_path: Path) -> None:
    repo = Repo.init(tmp_path / "ws")
    repo.write("Cargo.toml", '[workspace]\nmembers = ["crates/a", "../outside"]\n')
    repo.write("crates/a/Cargo.toml", '[package]\nname = "a"\nversion = "0.1.0"\n')
    repo.write("crates/a/src/main.rs", "fn main() {}\n")
    repo.write("workspace-map.toml", '[workspace]\nroot = "."\nregistry = "ghcr.io/x"\n\n[services.a]\n')
    repo.commit()
    repo.write("crates/a/src/main.rs", "fn main() { }\n")  # a range whose manifests do not change
    repo.commit()
    cold = cli(repo, "affected", env={"BUILDCTL_CACHE_DIR": ""})
    warm = cli(repo, "affected", env={"BUILDCTL_CACHE_DIR": str(tmp_path / "cache")})
    for result in (cold, warm):
        refused(
            result, "Cargo.toml:2: [workspace] member '../outside' matches no directory with a Cargo.toml"
        )
