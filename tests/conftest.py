"""Fixtures more than one folder uses; and the secret scan, loaded as a plugin of its own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.git import Repo
from tests.support.monorepo import copy_monorepo
from tests.support.workspaces import write_mini

pytest_plugins = ["tests.support.secret_scan"]


@pytest.fixture(autouse=True)
def _no_github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite may itself run inside GitHub Actions; its event must not steer the tests.
    for key in list(os.environ):
        if key.startswith("GITHUB_"):
            monkeypatch.delenv(key)


@pytest.fixture
def mini(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "mini")
    write_mini(repo)
    repo.commit("mini workspace")
    return repo


@pytest.fixture
def no_map(tmp_path: Path) -> tuple[Repo, Path]:
    """A scratch copy of the monorepo whose map is gone (kept aside as hand-written.toml)."""
    tmp = tmp_path
    repo = copy_monorepo(tmp / "repo")
    hand = tmp / "hand-written.toml"
    shutil.copy(repo.path / "workspace-map.toml", hand)
    repo.remove("workspace-map.toml")
    repo.commit("no map")
    return repo, hand
