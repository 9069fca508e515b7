"""This monorepo's manifest model agrees with `cargo metadata --no-deps --offline` (cargo's own
reading), and the checkout the tests copy is this monorepo."""

from __future__ import annotations

from pathlib import Path

from tests.support.cargo import cargo_view, our_view
from tests.support.git import CHECKOUT
from tests.support.monorepo import copy_monorepo


def test_monorepo_matches_cargo(tmp_path: Path) -> None:
    repo = copy_monorepo(tmp_path / "mono")
    theirs, ours = cargo_view(repo.path), our_view(repo.path)
    assert ours == theirs
    assert len(ours) == 17  # nine services, seven shared crates, one nested sandbox


def test_checkout_is_the_monorepo() -> None:
    # The tests copy this checkout; make sure it is the workspace they expect.
    assert (CHECKOUT / "Cargo.toml").is_file() and (CHECKOUT / "workspace-map.toml").is_file()
