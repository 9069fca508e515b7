"""Every test below this folder is marked `deploy`; `world`, a bare remote to bump against."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.git import git
from tests.support.markers import folder_marker
from tests.support.monorepo import DEPLOYMENTS, SERVICES
from tests.support.remote import World

pytest_itemcollected = folder_marker("deploy")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A bare remote (fast-forwards only, reflog on) whose main holds the monorepo's deployments."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "CI Bot")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ci@example.com")
    seed = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    shutil.copytree(DEPLOYMENTS, seed / "deployments")
    (seed / "workspace-map.toml").write_text(
        '[workspace]\nregistry = "ghcr.io/example-org/game-platform"\n'
        + "".join(f"[services.{s}]\n" for s in SERVICES)
    )
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "C1")
    (seed / "README.md").write_text("game platform\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "C2")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(remote, "config", "receive.denyNonFastForwards", "true")
    git(remote, "config", "core.logAllRefUpdates", "always")
    git(seed, "push", "-q", str(remote), "main")
    return World(tmp_path, remote, git(seed, "rev-parse", "HEAD~1"), git(seed, "rev-parse", "HEAD"))
