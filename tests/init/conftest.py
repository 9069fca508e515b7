"""Every test below this folder is marked `init`; `legacy`, a monorepo still on paths-filter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.git import CHECKOUT, Repo
from tests.support.markers import folder_marker

pytest_itemcollected = folder_marker("init")
FIXTURES = CHECKOUT / "tests" / "fixtures" / "paths-filter"


@pytest.fixture
def legacy(no_map: tuple[Repo, Path]) -> tuple[Repo, Path]:
    """The monorepo without its map, with the paths-filter workflow and one asset file."""
    repo, hand = no_map
    shutil.copy(FIXTURES / "build-deploy.yaml", repo.path / ".github/workflows/legacy.yaml")
    repo.write("assets/world/terrain.json", "{}\n")
    repo.commit("the paths-filter workflow")
    return repo, hand
