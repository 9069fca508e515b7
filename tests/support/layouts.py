"""The repository layouts of tests/fixtures/<layout>/ as real git repositories: each shaped like
a public Rust monorepo that buildctl's own layout is not."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.git import CHECKOUT, Repo

FIXTURES = CHECKOUT / "tests" / "fixtures"
LAYOUTS = (
    "build-arg-helm",
    "per-service-dockerfiles",
    "subfolder-workspace",
    "composite-filters",
    "several-workspaces",
    "prebuilt-binaries",
)
INSTALL = "example/buildctl@0123456789abcdef0123456789abcdef01234567"


def layout_repo(name: str, dest: Path) -> Repo:
    """A git repository holding the layout's files, in one commit, with no map yet."""
    repo = Repo.init(dest)
    shutil.copytree(FIXTURES / name, dest, dirs_exist_ok=True)
    repo.commit(f"the {name} layout")
    return repo
