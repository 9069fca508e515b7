"""This checkout's monorepo: a scratch copy of it, its services, and realistic commits on it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.cli import run
from tests.support.git import CHECKOUT, Repo

DEPLOYMENTS = CHECKOUT / "deployments"
# What the deployments hold, not a list kept by hand: a tenth service shows up everywhere at once.
SERVICES = tuple(
    sorted(p.parent.name for p in DEPLOYMENTS.glob("*/kustomization.yaml") if p.parent.name != "base")
)


def copy_monorepo(dest: Path) -> Repo:
    """A scratch git copy of this checkout's monorepo files (tracked and untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = os.fsdecode(raw)
        src = CHECKOUT / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    repo = Repo.init(dest)
    repo.commit("monorepo")
    return repo


# --- realistic commits, each as (name, change to the working tree) ---------------------------


def _bump_fastrand(repo: Repo) -> None:
    lock = repo.read("Cargo.lock")
    entry = lock[lock.index('name = "fastrand"') :].split("\n\n", 1)[0]
    bumped = entry.replace('version = "2.3.0"', 'version = "2.5.0"')
    bumped = bumped.replace(entry.split('checksum = "')[1][:64], "5" * 64)
    repo.write("Cargo.lock", lock.replace(entry, bumped))


def _touch(*paths: str) -> Callable[[Repo], None]:
    def change(repo: Repo) -> None:
        for path in paths:
            if (repo.path / path).exists():
                repo.append(path, "\n# touched\n" if not path.endswith(".rs") else "\n// touched\n")
            else:
                repo.write(path, "new\n")

    return change


COMMITS: list[tuple[str, Callable[[Repo], None]]] = [
    ("shared crate", _touch("shared/physics/src/lib.rs")),
    ("shared crate everyone uses", _touch("shared/protocol/src/lib.rs")),
    ("single service", _touch("services/asset-service/src/main.rs")),
    ("service others depend on", _touch("services/auth-service/src/lib.rs")),
    ("nested crate", _touch("services/script-executor/sandbox/src/lib.rs")),
    ("dev-only crate", _touch("shared/test-support/src/lib.rs")),
    ("Cargo.lock bump", _bump_fastrand),
    ("deployments only", _touch("deployments/world-state/kustomization.yaml")),
    ("deployments base", _touch("deployments/base/deployment.yaml")),
    ("tool only", _touch("buildctl/plan.py", "tests/cli/test_main.py", "README.md", "docs/new-page.md")),
    ("CI and scripts", _touch(".github/workflows/ci.yaml", "scripts/setup.sh", "requirements/ci.in")),
    ("gitops and settings", _touch("argocd/applications/client.yaml", "pyproject.toml", "action.yml")),
    ("Dockerfile", _touch("Dockerfile.service")),
    ("build context", _touch(".dockerignore")),
    ("toolchain appears", _touch("rust-toolchain.toml")),
    ("root manifest", _touch("Cargo.toml")),
    ("unknown top-level file", _touch("Makefile")),
]


def answers(repo: Repo, map_path: Path | None, base: str, head: str) -> dict[str, Any]:
    args = ["--repo", str(repo.path)] + (["--map", str(map_path)] if map_path else [])
    res = run([*args, "affected", "--format", "json", "--base", base, "--head", head])
    assert res.code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def compare_on_commits(
    repo: Repo, hand_map: Path, commits: list[tuple[str, Callable[[Repo], None]]]
) -> dict[str, list[str]]:
    """Each commit on top of HEAD, then back: `affected` under the inferred map (the repo's own)
    must equal `affected` under the hand-written one. Returns what each commit builds."""
    base = repo.head()
    built = {}
    for name, change in commits:
        change(repo)
        head = repo.commit(name)
        try:
            inferred = answers(repo, None, base, head)
            hand = answers(repo, hand_map, base, head)
        finally:
            repo.git("reset", "-q", "--hard", base)
        assert inferred == hand, name
        built[name] = inferred["build"]
    return built
