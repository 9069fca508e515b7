"""`buildctl ci` end to end: a scratch copy of the monorepo, a bare `origin`, simulated GitHub
event payloads, the real engine and the local registry fixture.

Every test gets its own bare remote cloned from the session's scratch monorepo, a "dev" clone that
pushes a change, and a fresh "ci" clone where `buildctl ci` runs, as on a runner. Each change is
the same edit to chat-service (CHAT_EDIT), so the engine compiles it once per session and every
later build of that tree is a layer-cache hit (the build context is the .dockerignore allowlist:
the kustomizations and the map are not in it). Plans that would build every service are checked
with `buildctl affected` under the same event, never built.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SESSION_BASE, native_only
from tests.support.cli import Result, run
from tests.support.docker import SERVICES, ImageLedger, Registry
from tests.support.gha import parse_github_output
from tests.support.git import Repo, git

pytestmark = pytest.mark.timeout(1800)

NAMESPACE = "buildctl-test"
CHAT = "chat-service"
CHAT_MAIN = "services/chat-service/src/main.rs"
CHAT_EDIT = "\n// ci e2e: a change only chat-service sees\n"  # the same text in tests/e2e/test_faults.py
ZERO = "0" * 40


def _link(src: str, dst: str) -> None:
    Path(dst).hardlink_to(src)


def kustomization(service: str) -> str:
    return f"deployments/{service}/kustomization.yaml"


@dataclass
class World:
    tmp: Path
    origin: Path
    registry: Registry
    ledger: ImageLedger
    docker_config: Path
    vendor: Path  # the scratch copy's .cargo-offline (git-ignored, so no clone has it)

    def clone(self, name: str, *extra: str) -> Repo:
        dest = self.tmp / name
        git(self.tmp, "clone", "-q", *extra, f"file://{self.origin}", str(dest))
        # What scripts/vendor-sources.sh would write, hard-linked: the engine cannot reach crates.io.
        shutil.copytree(self.vendor, dest / ".cargo-offline", copy_function=_link)
        repo = Repo(dest)
        repo.git("config", "user.name", "CI Bot")
        repo.git("config", "user.email", "ci@example.com")
        return repo

    def show(self, ref: str, path: str) -> str:
        return git(self.origin, "show", f"{ref}:{path}")

    def tip(self, branch: str) -> str:
        return git(self.origin, "rev-parse", f"refs/heads/{branch}")

    def event(self, name: str, payload: Mapping[str, Any]) -> dict[str, str]:
        path = self.tmp / f"event-{name}.json"
        path.write_text(json.dumps(payload))
        out, summary = self.tmp / "github_output", self.tmp / "step_summary"
        out.write_text("")
        summary.write_text("")
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_OUTPUT": str(out),
            "GITHUB_STEP_SUMMARY": str(summary),
            "DOCKER_CONFIG": str(self.docker_config),
        }

    def buildctl(self, repo: Repo, *args: str, env: Mapping[str, str]) -> Result:
        res = run(["--repo", str(repo.path), *args], env=env)
        self.ledger.record(ungroup(res.stderr))
        return res

    def outputs(self) -> dict[str, str]:
        return parse_github_output((self.tmp / "github_output").read_text())

    def summary(self) -> str:
        return (self.tmp / "step_summary").read_text()


def ungroup(stderr: str) -> str:
    """In Actions each service's log is one `::group::<who>: <status>` block; give its lines the
    `[who] ` prefix of a terminal log, which ImageLedger.record reads."""
    out, who, token = [], None, None
    for line in stderr.splitlines():
        if line.startswith("::group::"):
            who = line[len("::group::") :].split(":", 1)[0]
        elif line.startswith("::stop-commands::"):
            token = line[len("::stop-commands::") :]
        elif token is not None and line == f"::{token}::":
            token = None
        elif token is not None and who is not None:
            out.append(f"[{who}] {line}")
    return "\n".join(out)


@pytest.fixture
def world(
    docker_monorepo: Repo,
    registry: Registry,
    image_ledger: ImageLedger,
    runtime_index: str,
    tmp_path: Path,
) -> World:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(docker_monorepo.path, "push", "-q", str(origin), f"{SESSION_BASE}^{{commit}}:refs/heads/main")
    config = tmp_path / "docker-config"  # no credentials: the fixture registry wants none
    config.mkdir()
    vendor = docker_monorepo.path / ".cargo-offline"
    assert vendor.is_dir(), "the scratch monorepo has no vendored sources"
    world = World(tmp_path, origin, registry, image_ledger, config, vendor)
    # The deployments name the images the map's registry holds (a bump refuses any other name).
    seed = world.clone("seed")
    for name in SERVICES:
        text = seed.read(kustomization(name))
        text, n = re.subn(
            r"(?m)^(\s+newName: ).*$", rf"\g<1>{registry.addr}/{NAMESPACE}/{name}", text, count=1
        )
        assert n == 1, name
        seed.write(kustomization(name), text)
    native_only(seed, runtime_index)
    seed.commit("deployments: images from the test registry; this machine's platform only")
    seed.git("push", "-q", "origin", "HEAD:refs/heads/main")
    return world


def dev_change(world: World, branch: str = "main", start: str | None = None) -> tuple[str, str]:
    """A developer pushes CHAT_EDIT to `branch` (created at `start` if given); (before, after)."""
    dev = world.clone(f"dev-{branch}")
    if start is not None:
        dev.git("checkout", "-q", "-b", branch, start)
    before = dev.head()
    dev.append(CHAT_MAIN, CHAT_EDIT)
    after = dev.commit("chat-service: a change")
    dev.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return before, after


def assert_outputs_and_summary(world: World, head: str, build: list[str]) -> None:
    outputs = world.outputs()
    assert json.loads(outputs["build"]) == build
    assert outputs["head"] == head
    assert json.loads(outputs["matrix"]) == {
        "include": [{"service": s, "image": f"{world.registry.addr}/{NAMESPACE}/{s}"} for s in build]
    }
    for name in SERVICES:
        assert outputs[name] == ("true" if name in build else "false"), name
    summary = world.summary()
    assert "| service | why | image | digest | duration |" in summary
    for name in build:
        assert re.search(rf"^\| {re.escape(name)} \|", summary, re.M), summary
    assert re.search(r"^```mermaid\n.+?\n```$", summary, re.M | re.S), summary


def test_push_event_builds_pushes_and_bumps_one_service(world: World) -> None:
    before, head = dev_change(world)
    kustomizations = {s: world.show("main", kustomization(s)) for s in SERVICES}
    ci = world.clone("ci")
    env = world.event("push", {"before": before, "after": head, "ref": "refs/heads/main"})

    res = world.buildctl(ci, "ci", "-v", "--format", "json", env=env)
    assert res.code == 0, res.stderr[-6000:]
    data = res.json()
    assert data["plan"]["base"] == before and data["plan"]["head"] == head
    assert list(data["build"]["services"]) == [CHAT]
    chat = data["build"]["services"][CHAT]
    assert chat["status"] == "pushed", chat["error"]
    assert world.registry.digest(f"{NAMESPACE}/{CHAT}", f"sha-{head}") == chat["digest"]
    status, _, body = world.registry.get(f"/v2/{NAMESPACE}/{CHAT}/manifests/sha-{head}")
    assert status == 200 and json.loads(body)["layers"]

    bump = world.tip("main")
    assert bump != head and git(world.origin, "rev-parse", f"{bump}~1") == head
    message = git(world.origin, "log", "-1", "--format=%B", bump)
    assert "[skip ci]" in message and CHAT in message
    assert data["bump"]["commit"] == bump and data["bump"]["pushed"] is True
    changed = git(world.origin, "diff", "--name-only", head, bump).splitlines()
    assert changed == [kustomization(CHAT)]
    text = world.show("main", kustomization(CHAT))
    assert f"sha-{head}" in text and chat["digest"] in text, text
    for name in SERVICES:
        if name != CHAT:
            assert world.show("main", kustomization(name)) == kustomizations[name], name
    assert_outputs_and_summary(world, head, [CHAT])
    assert f"`{chat['digest']}`" in world.summary()


def test_pull_request_builds_but_pushes_and_bumps_nothing(world: World) -> None:
    main_tip = world.tip("main")
    _, head = dev_change(world, "feature", start=main_tip)
    ci = world.clone("ci", "--branch", "feature")
    payload = {"pull_request": {"base": {"sha": main_tip, "ref": "main"}, "head": {"sha": head}}}
    env = world.event("pull_request", payload)

    res = world.buildctl(ci, "ci", "-v", "--format", "json", env=env)
    assert res.code == 0, res.stderr[-6000:]
    data = res.json()
    assert data["plan"]["base"] == main_tip
    assert list(data["build"]["services"]) == [CHAT]
    assert data["build"]["services"][CHAT]["status"] == "built"
    assert data["bump"] is None
    assert world.registry.digest(f"{NAMESPACE}/{CHAT}", f"sha-{head}") is None
    assert world.tip("main") == main_tip and world.tip("feature") == head
    assert ci.head() == head and ci.git("status", "--porcelain") == ""
    assert_outputs_and_summary(world, head, [CHAT])


def test_push_of_a_new_branch_builds_its_changes_and_bumps_that_branch(world: World) -> None:
    main_tip = world.tip("main")
    _, head = dev_change(world, "topic", start=main_tip)
    ci = world.clone("ci", "--branch", "topic")
    assert ci.git("rev-parse", "origin/main") == main_tip  # the default branch is fetched
    payload = {
        "before": ZERO,
        "after": head,
        "ref": "refs/heads/topic",
        "repository": {"default_branch": "main"},
    }
    env = world.event("push", payload)

    res = world.buildctl(ci, "ci", "-v", "--format", "json", env=env)
    assert res.code == 0, res.stderr[-6000:]
    data = res.json()
    assert data["plan"]["base"] == main_tip
    assert list(data["build"]["services"]) == [CHAT]
    chat = data["build"]["services"][CHAT]
    assert chat["status"] == "pushed", chat["error"]
    assert world.registry.digest(f"{NAMESPACE}/{CHAT}", f"sha-{head}") == chat["digest"]
    bump = world.tip("topic")
    assert git(world.origin, "rev-parse", f"{bump}~1") == head
    assert "[skip ci]" in git(world.origin, "log", "-1", "--format=%B", bump)
    assert f"sha-{head}" in world.show("topic", kustomization(CHAT))
    assert world.tip("main") == main_tip  # the bump went to the pushed branch only
    assert_outputs_and_summary(world, head, [CHAT])


def test_force_push_plans_every_service_with_the_reason(world: World) -> None:
    dev = world.clone("dev")
    dev.append(CHAT_MAIN, "\n// will be force-pushed away\n")
    lost = dev.commit("never reaches the CI clone")
    dev.git("reset", "-q", "--hard", "HEAD~1")
    _, head = dev_change(world)
    ci = world.clone("ci")
    env = world.event("push", {"before": lost, "after": head, "forced": True})

    # Building all nine services would take too long here: the plan is what the event decides.
    res = world.buildctl(ci, "affected", "--format", "json", env=env)
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["base"] is None and data["head"] == head
    assert data["build"] == sorted(SERVICES)
    for name in SERVICES:
        reason = data["services"][name]["reasons"][0]
        assert "force push" in reason and lost[:12] in reason, (name, reason)
    assert world.tip("main") == head  # nothing was bumped
