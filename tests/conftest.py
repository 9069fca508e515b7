from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import Repo
from tests.workspaces import write_mini


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
