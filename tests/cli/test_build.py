"""`buildctl build` (and `ci`, `warm`, which share its options) before the engine: build
arguments, and the registry token masked first in GitHub Actions, wherever it came from."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.support.cli import cli, run
from tests.support.git import Repo
from tests.support.secret_scan import FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD, FAKE_REGISTRY_USER
from tests.support.secrets import (
    COMMANDS_WITH_A_REGISTRY,
    UNREACHABLE_ENGINE,
    assert_no_token,
    first_line_masks,
    push_event,
    secret_env,
    with_registry,
)


def test_a_build_argument_that_is_not_key_value_is_a_usage_error(mini: Repo) -> None:
    res = cli(mini, "build", "--all", "--dry-run", "--build-arg", "A;rm=1")
    assert res.code == 2 and "'A;rm=1' is not KEY=VALUE" in res.stderr


# --- without an engine: the mask comes first, and nothing shows a token ---------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS_WITH_A_REGISTRY))
def test_an_unreachable_engine_shows_no_token(mini: Repo, tmp_path: Path, command: str) -> None:
    base = with_registry(mini, "127.0.0.1:5000/team")
    env = secret_env(tmp_path, DOCKER_HOST=UNREACHABLE_ENGINE, **push_event(tmp_path, base))
    res = run(["--repo", str(mini.path), *COMMANDS_WITH_A_REGISTRY[command]], env=env)
    assert res.code == 1, res.stderr
    assert "the Docker engine is not reachable" in res.stderr and "Traceback" not in res.stderr
    first_line_masks(res, FAKE_REGISTRY_PASSWORD)
    assert_no_token(res, env)


def test_a_password_from_dockers_store_is_masked_first(mini: Repo, tmp_path: Path) -> None:
    with_registry(mini, "127.0.0.1:5000/team")
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{FAKE_REGISTRY_USER}:{FAKE_GITHUB_TOKEN}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": auth}}}))
    env = secret_env(tmp_path, DOCKER_HOST=UNREACHABLE_ENGINE, DOCKER_CONFIG=str(config))
    del env["BUILDCTL_REGISTRY_PASSWORD"]
    res = run(["--repo", str(mini.path), "build", "--service", "a", "--push", "-v"], env=env)
    assert res.code == 1
    first_line_masks(res, FAKE_GITHUB_TOKEN)
    assert_no_token(res, env)


def test_outside_actions_no_mask_is_printed_and_no_token(mini: Repo, tmp_path: Path) -> None:
    with_registry(mini, "127.0.0.1:5000/team")
    env = secret_env(tmp_path, DOCKER_HOST=UNREACHABLE_ENGINE)
    del env["GITHUB_ACTIONS"]
    res = run(["--repo", str(mini.path), "build", "--service", "a", "--push", "-v"], env=env)
    assert res.code == 1 and "::add-mask::" not in res.stderr
    assert_no_token(res, env)
