"""A bare remote whose main holds this monorepo's deployments, and clones of it: the git write
side of `bump` against a real remote."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.git import git


@dataclass
class World:
    tmp: Path
    remote: Path
    c1: str  # an older commit
    c2: str  # its child, the tip of main

    def clone(self, name: str) -> Path:
        subprocess.run(["git", "clone", "-q", str(self.remote), str(self.tmp / name)], check=True)
        return self.tmp / name

    def tip(self) -> str:
        return git(self.remote, "rev-parse", "main")

    def show(self, path: str) -> str:
        return git(self.remote, "show", f"main:{path}")


def assert_clean(repo: Path) -> None:
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / ".git" / "index.lock").exists()
    assert not list((repo / "deployments").glob("*/.*.tmp"))
