"""Commands run with every token buildctl could be handed, and the checks that none shows."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Result
from tests.support.git import Repo
from tests.support.secret_scan import (
    FAKE_GITHUB_TOKEN,
    FAKE_REGISTRY_PASSWORD,
    FAKE_REGISTRY_USER,
    TEST_SECRET_TOKENS,
    secret_hits,
)

UNREACHABLE_ENGINE = "tcp://127.0.0.1:1"  # nothing listens on port 1: connection refused


def secret_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Actions mode, verbose tracebacks, and every token buildctl could be handed."""
    out = tmp_path / "gha"
    out.mkdir(exist_ok=True)
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": FAKE_GITHUB_TOKEN,
        "GITHUB_ACTOR": "x-access-token",
        "BUILDCTL_REGISTRY_USER": FAKE_REGISTRY_USER,
        "BUILDCTL_REGISTRY_PASSWORD": FAKE_REGISTRY_PASSWORD,
        "BUILDCTL_DEBUG": "1",
        "BUILDCTL_CACHE_DIR": "",
        "GITHUB_OUTPUT": str(out / "output"),
        "GITHUB_STEP_SUMMARY": str(out / "summary.md"),
        "DOCKER_CONFIG": str(tmp_path / "no-docker-config"),
        **extra,
    }


def assert_no_token(res: Result, env: dict[str, str]) -> None:
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = Path(env[name])
        if path.exists():
            assert secret_hits(path.read_text()) == [], name
    assert secret_hits(res.stdout) == [] and secret_hits(res.stderr) == [], (res.stdout, res.stderr)
    for token in TEST_SECRET_TOKENS[:2]:  # the conftest pattern, spelled out once more
        masks = [line for line in res.stderr.splitlines() if line.startswith("::add-mask::")]
        assert token not in "\n".join(line for line in res.stderr.splitlines() if line not in masks)
        assert token not in res.stdout


def first_line_masks(res: Result, secret: str) -> None:
    """In Actions mode the mask is the first thing buildctl prints, before anything could show it."""
    assert res.stderr.splitlines()[0] == f"::add-mask::{secret}"


def with_registry(mini: Repo, registry_path: str) -> str:
    """Point the map at `registry_path`, change service a, commit; returns the base commit."""
    mini.write(
        "workspace-map.toml", mini.read("workspace-map.toml").replace("127.0.0.1:5000/team", registry_path)
    )
    base = mini.commit("map")
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit("change a")
    return base


def push_event(tmp_path: Path, base: str) -> dict[str, str]:
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"before": base, "repository": {"default_branch": "main"}}))
    return {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(payload)}


COMMANDS_WITH_A_REGISTRY = {
    "build": ["build", "--service", "a", "--push", "-v"],
    "ci": ["ci", "-v"],
    "warm": ["warm", "-v"],
}
