"""Faults of the real components during `buildctl build --push`.

A dedicated registry (scripts/registry.sh on its own port and state directory) is stopped,
restarted and broken under a real build on the real engine. Every fault here is a fault of the
real process: the registry is killed, or its storage directory is replaced by a plain file so that
every write it attempts fails and it answers 500. One service (chat-service) is built, at a tree
the engine has already compiled in this session when tests/e2e/test_ci.py ran first (CHAT_EDIT is
the same edit), so most of the time goes to the pushes and the retries.

Covered elsewhere, not repeated here:
- a registry answering 401 (wrong credentials): tests/e2e/test_build.py::
  test_wrong_registry_credentials_fail_clearly_and_push_nothing;
- the Docker engine unreachable (DOCKER_HOST to a missing socket): tests/cli/test_build.py::
  test_an_unreachable_engine_shows_no_token (message, exit 1, no traceback);
- a git remote whose pre-receive hook rejects the bump, and SIGINT/SIGTERM during a bump:
  tests/deploy/test_writeback.py::test_a_pre_receive_hook_rejection_is_an_error_with_the_remotes_message
  and test_an_interrupt_lands_after_the_files_and_the_commit_never_inside.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SESSION_BASE, native_only
from tests.support.cli import Result, run
from tests.support.docker import SCRIPTS, ImageLedger, Registry, set_registry
from tests.support.git import Repo
from tests.support.net import free_port

pytestmark = pytest.mark.timeout(1800)

CHAT = "chat-service"
CHAT_EDIT = "\n// ci e2e: a change only chat-service sees\n"  # the same text in tests/e2e/test_ci.py
NAMESPACE = "faults"
RETRY = re.compile(rf"^\[{CHAT}\] push (\S+): (.*); retrying in [0-9.]+s \((\d+)/(\d+)\)$")


@dataclass
class FaultWorld:
    repo: Repo
    head: str
    registry: Registry
    port: int
    ledger: ImageLedger
    docker_config: Path

    def _script(self, *args: str) -> None:
        proc = subprocess.run(
            [str(SCRIPTS / "registry.sh"), *args, "--port", str(self.port), "--dir", str(self.registry.dir)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr

    def up(self) -> None:
        self._script("start")

    def down(self) -> None:
        self._script("stop")  # the storage stays: a restart serves what was pushed before

    def fresh(self) -> None:
        """An empty registry on the same address (the map names it)."""
        self._script("stop", "--purge")
        self.up()

    @property
    def storage(self) -> Path:
        return self.registry.dir / "storage"

    @property
    def manifests(self) -> Path:
        return self.storage / "docker/registry/v2/repositories" / NAMESPACE / CHAT / "_manifests"

    def break_storage(self) -> None:
        """Make the registry's manifest store of the service a plain file: every manifest it is
        sent fails to be written and it answers 500, while the layers upload. (With the whole
        storage broken, the engine itself retries each layer for a minute before buildctl sees
        anything; here the failure reaches buildctl's own retries at once.)"""
        if self.manifests.is_dir():
            shutil.rmtree(self.manifests)
        self.manifests.parent.mkdir(parents=True, exist_ok=True)
        self.manifests.write_text("not a directory\n")

    def mend_storage(self) -> None:
        self.manifests.unlink()

    def env(self) -> dict[str, str]:
        return {"DOCKER_CONFIG": str(self.docker_config)}

    def argv(self) -> list[str]:
        return ["--repo", str(self.repo.path), "build", "-v", "--service", CHAT, "--push", "--format", "json"]

    def build(self) -> Result:
        """In process, for faults that need no timing."""
        res = run(self.argv(), env=self.env())
        self.ledger.record(res.stderr)
        return res

    def build_with(self, react: Callable[[str], None]) -> Result:
        """As a subprocess, calling `react(line)` on each stderr line as it comes (to inject a
        fault at a point of the build, or mend it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        with subprocess.Popen(
            [sys.executable, "-m", "buildctl", *self.argv()],
            env={**env, **self.env()},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stderr is not None and proc.stdout is not None
            lines = []
            for line in proc.stderr:
                lines.append(line)
                react(line.rstrip("\n"))
            stdout = proc.stdout.read()
            code = proc.wait(timeout=600)
        res = Result(code, stdout, "".join(lines))
        self.ledger.record(res.stderr)
        return res

    def digest(self, tag: str) -> str | None:
        return self.registry.digest(f"{NAMESPACE}/{CHAT}", tag)


@pytest.fixture(scope="module")
def faults(
    docker_monorepo: Repo,
    image_ledger: ImageLedger,
    base_images: dict[str, str],
    runtime_index: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultWorld]:
    tmp = tmp_path_factory.mktemp("faults")
    port = free_port()
    state = tmp / "registry"
    proc = subprocess.run(
        [str(SCRIPTS / "registry.sh"), "start", "--port", str(port), "--dir", str(state)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"the fault registry did not start: {proc.stderr}")
    registry = Registry(f"127.0.0.1:{port}", state)
    image_ledger.namespaces.append(f"{registry.addr}/")
    # A copy (with its git-ignored vendored sources) whose map names the dedicated registry.
    repo = Repo(tmp / "monorepo")
    shutil.copytree(docker_monorepo.path, repo.path, symlinks=True)
    repo.git("checkout", "-q", "-B", "faults", SESSION_BASE)
    repo.append("services/chat-service/src/main.rs", CHAT_EDIT)
    set_registry(repo, f"{registry.addr}/{NAMESPACE}")
    native_only(repo, runtime_index)
    head = repo.commit("faults: chat-service, pushed to the fault registry")
    config = tmp / "docker-config"
    config.mkdir()
    try:
        yield FaultWorld(repo, head, registry, port, image_ledger, config)
    finally:
        registry.stop()


def retries(res: Result) -> list[tuple[str, str, int, int]]:
    """(ref, error, attempt, of) of every retry the build log announced."""
    out = []
    for line in res.stderr.splitlines():
        m = RETRY.match(line)
        if m:
            out.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4))))
    return out


def assert_pushed(faults: FaultWorld, res: Result) -> dict[str, Any]:
    assert res.code == 0, res.stderr[-6000:]
    chat = res.json()["services"][CHAT]
    assert chat["status"] == "pushed" and chat["error"] is None
    assert faults.digest(f"sha-{faults.head}") == chat["digest"]
    assert faults.digest(f"fp-{chat['fingerprint']}") == chat["digest"]
    status, _, body = faults.registry.get(f"/v2/{NAMESPACE}/{CHAT}/manifests/{chat['digest']}")
    manifest = json.loads(body)
    assert status == 200 and manifest["layers"]
    for layer in manifest["layers"]:  # every blob is really there, not only the manifest
        assert faults.registry.get(f"/v2/{NAMESPACE}/{CHAT}/blobs/{layer['digest']}")[0] == 200
    return dict(chat)


def assert_failed_cleanly(res: Result, reason: str) -> dict[str, Any]:
    assert res.code != 0, res.stderr[-6000:]
    assert "Traceback" not in res.stderr
    chat = res.json()["services"][CHAT]
    assert chat["status"] == "failed" and chat["digest"] is None
    assert re.search(reason, chat["error"], re.I), chat["error"]
    assert f"1 of 1 service(s) failed: {CHAT}" in res.stderr
    return dict(chat)


def test_a_registry_stopped_before_the_push_and_restarted_gets_the_image(faults: FaultWorld) -> None:
    faults.fresh()
    state = {"stopped": False, "restarted": False}

    def react(line: str) -> None:
        if not state["stopped"] and line.startswith(f"[{CHAT}] building "):
            faults.down()  # before the service's build runs: its push meets a dead registry
            state["stopped"] = True
        elif state["stopped"] and not state["restarted"] and RETRY.match(line):
            faults.up()  # the first retry was announced: bring it back during the backoff
            state["restarted"] = True

    res = faults.build_with(react)
    assert state == {"stopped": True, "restarted": True}, res.stderr[-6000:]
    seen = retries(res)
    assert seen and re.search(r"connection refused", seen[0][1], re.I), seen
    assert seen[0][0] == f"{faults.registry.addr}/{NAMESPACE}/{CHAT}:sha-{faults.head}"
    assert_pushed(faults, res)


def test_a_registry_that_stays_down_fails_the_service_cleanly(faults: FaultWorld) -> None:
    faults.fresh()
    faults.down()
    try:
        res = faults.build()
    finally:
        faults.up()
    assert_failed_cleanly(res, r"connection refused")
    assert [(a, n) for _, _, a, n in retries(res)] == [(2, 4), (3, 4), (4, 4)]  # with backoff, then gave up
    assert faults.digest(f"sha-{faults.head}") is None  # nothing half-pushed under the tag


def test_a_registry_answering_500_is_retried_then_fails_cleanly(faults: FaultWorld) -> None:
    faults.fresh()
    faults.break_storage()
    try:
        res = faults.build()
        log = (faults.registry.dir / "registry.log").read_text(errors="replace")
    finally:
        faults.mend_storage()
    assert_failed_cleanly(res, r"\b500\b")
    seen = retries(res)
    assert [(a, n) for _, _, a, n in seen] == [(2, 4), (3, 4), (4, 4)]
    assert all(re.search(r"\b500\b", err) for _, err, _, _ in seen), seen
    assert "not a directory" in log  # the registry's own reason: a real fault of the real process
    assert faults.digest(f"sha-{faults.head}") is None


def test_a_registry_answering_500_for_a_while_gets_the_image(faults: FaultWorld) -> None:
    faults.fresh()
    faults.break_storage()
    state = {"mended": False}

    def react(line: str) -> None:
        if not state["mended"] and RETRY.match(line):
            faults.mend_storage()
            state["mended"] = True

    try:
        res = faults.build_with(react)
    finally:
        if not state["mended"]:
            faults.mend_storage()
    assert state["mended"], res.stderr[-6000:]
    assert re.search(r"\b500\b", retries(res)[0][1]), retries(res)
    assert_pushed(faults, res)
