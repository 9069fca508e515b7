"""On this monorepo: exact builds from the Cargo graph against what the paths-filter globs built."""

from __future__ import annotations

import json
import subprocess
from collections import deque
from pathlib import Path

import pytest

from tests.support.cli import affected
from tests.support.git import Repo
from tests.support.monorepo import SERVICES, copy_monorepo


def paths_filter_builds(changed: list[str]) -> list[str]:
    """The seed workflow's rule: `services/<svc>/**` plus `shared/**` for every service."""
    return sorted(
        s for s in SERVICES if any(p.startswith(f"services/{s}/") or p.startswith("shared/") for p in changed)
    )


def cargo_dependents(root: Path, crate: str) -> set[str]:
    """Services that need `crate` to build, computed from cargo's own metadata (no dev edges)."""
    data = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    )
    users: dict[str, set[str]] = {}
    for pkg in data["packages"]:
        for dep in pkg["dependencies"]:
            if dep.get("path") and dep["kind"] != "dev":
                users.setdefault(dep["name"], set()).add(pkg["name"])
    seen, queue = {crate}, deque([crate])
    while queue:
        for user in users.get(queue.popleft(), ()):
            if user not in seen:
                seen.add(user)
                queue.append(user)
    return seen & set(SERVICES)


@pytest.fixture(scope="module")
def mono(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return copy_monorepo(tmp_path_factory.mktemp("mono") / "repo")


@pytest.mark.parametrize(
    ("path", "crate"),
    [
        ("shared/physics/src/lib.rs", "physics"),
        ("shared/world-core/src/lib.rs", "world-core"),
        ("shared/persistence-client/src/lib.rs", "persistence-client"),
        ("shared/protocol/src/lib.rs", "protocol"),
        ("services/auth-service/src/lib.rs", "auth-service"),
        ("services/script-executor/sandbox/src/lib.rs", "script-sandbox"),
        ("shared/test-support/src/lib.rs", "test-support"),
    ],
)
def test_shared_change_builds_exactly_its_dependents(mono: Repo, path: str, crate: str) -> None:
    base = mono.head()
    mono.append(path, "\n// touched by the test\n")
    head = mono.commit(f"touch {path}")
    try:
        out = affected(mono, "--base", base, "--head", head)
    finally:
        mono.git("reset", "-q", "--hard", base)
    expected = sorted(cargo_dependents(mono.path, crate))
    globs = paths_filter_builds([path])
    assert out["build"] == expected  # no missed build, nothing extra
    assert set(out["build"]) <= set(globs) or path.startswith("services/")
    print(f"{path}: buildctl builds {len(out['build'])}, paths-filter globs built {len(globs)}")
    if path.startswith("shared/") and crate != "protocol":  # protocol is used by all nine
        assert len(out["build"]) < len(globs) == 9


def test_physics_change_numbers(mono: Repo) -> None:
    base = mono.head()
    mono.append("shared/physics/src/lib.rs", "\n// physics tweak\n")
    head = mono.commit()
    try:
        out = affected(mono, "--base", base, "--head", head)
    finally:
        mono.git("reset", "-q", "--hard", base)
    assert out["build"] == ["physics-service", "world-state"]
    assert out["services"]["world-state"]["reasons"] == [
        "shared/physics/src/lib.rs -> physics -> world-core -> world-state"
    ]
    assert len(paths_filter_builds(["shared/physics/src/lib.rs"])) == 9  # 2 builds instead of 9


def test_service_depending_on_another_service_is_not_missed(mono: Repo) -> None:
    base = mono.head()
    mono.append("services/auth-service/src/lib.rs", "\n// token format change\n")
    head = mono.commit()
    try:
        out = affected(mono, "--base", base, "--head", head)
    finally:
        mono.git("reset", "-q", "--hard", base)
    assert out["build"] == ["auth-service", "chat-service", "text-gateway"]
    assert paths_filter_builds(["services/auth-service/src/lib.rs"]) == ["auth-service"]  # globs miss two


def test_tool_files_change_no_image(mono: Repo) -> None:
    base = mono.head()
    mono.append("buildctl/plan.py", "\n# comment\n")
    mono.append("README.md", "\nmore\n")
    head = mono.commit()
    try:
        out = affected(mono, "--base", base, "--head", head)
    finally:
        mono.git("reset", "-q", "--hard", base)
    assert out == {"base": base, "head": head, "build": [], "deploy": [], "services": {}}


def test_check_passes_on_the_monorepo(mono: Repo) -> None:
    from tests.support.cli import run

    res = run(["--repo", str(mono.path), "check", "--strict"])
    assert res.code == 0, res.stderr
    assert "9 services checked: 0 error(s), 0 warning(s)" in res.stdout


def test_lock_bump_of_a_crate_only_one_service_uses(mono: Repo) -> None:
    base = mono.head()
    lock = mono.read("Cargo.lock")
    entry = lock[lock.index('name = "fastrand"') :].split("\n\n", 1)[0]
    bumped = entry.replace('version = "2.3.0"', 'version = "2.5.0"')
    bumped = bumped.replace(entry.split('checksum = "')[1][:64], "5" * 64)
    mono.write("Cargo.lock", lock.replace(entry, bumped))
    head = mono.commit("bump fastrand")
    try:
        out = affected(mono, "--base", base, "--head", head)
    finally:
        mono.git("reset", "-q", "--hard", base)
    assert out["build"] == ["physics-service"]
    assert out["services"]["physics-service"]["reasons"] == [
        "Cargo.lock: fastrand 2.3.0 -> 2.5.0 -> physics-service"
    ]
    assert len(paths_filter_builds(["Cargo.lock"])) == 0  # the globs never listed the lock: a missed build
