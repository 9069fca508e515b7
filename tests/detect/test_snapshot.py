"""A tree of files to read the workspace from: text that is not UTF-8, and files of any bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildctl import config, deployed
from buildctl.deploy import apply
from buildctl.detect import cargo_lock
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
