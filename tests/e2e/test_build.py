"""`buildctl build` and `warm` on the real Docker engine, pushing to real local registries.

One scratch copy of the monorepo (tests/support/docker.py) is built and pushed once; each test
then starts its own branch from that commit, so no test depends on another having run. What is
asserted is what the build reports (its JSON), what the registry serves over HTTP and what the
engine holds: never how long anything took.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from tests.support.cli import Result, cli, refused, run
from tests.support.docker import (
    CHEF_IMAGE,
    RUNTIME_IMAGE,
    SERVICES,
    ImageLedger,
    Registry,
    layers_on_engine,
    set_registry,
    wait_for_http,
)
from tests.support.git import Repo
from tests.support.net import free_port

pytestmark = pytest.mark.timeout(1800)

NAMESPACE = "buildctl-test"


@dataclass
class Built:
    """The scratch monorepo after `build --all --push`, and what that build reported."""

    repo: Repo
    registry: Registry
    api: Any
    ledger: ImageLedger
    docker_config: Path
    head: str
    report: dict[str, Any]

    def buildctl(self, command: str, *args: str, env: Mapping[str, str] | None = None) -> Result:
        """Run `buildctl <command> -v ...` in-process on the copy; the images it makes are recorded."""
        res = run(
            ["--repo", str(self.repo.path), command, "-v", *args],
            env={"DOCKER_CONFIG": str(self.docker_config), **(env or {})},
        )
        self.ledger.record(res.stderr)
        return res

    def branch(self, name: str) -> None:
        """Check out a new branch `name` at the commit the session built."""
        self.repo.git("checkout", "-q", "-B", name, self.head)

    def service(self, name: str) -> dict[str, Any]:
        return dict(self.report["services"][name])


@pytest.fixture(scope="module")
def built(
    docker_monorepo: Repo,
    registry: Registry,
    docker_engine: Any,
    image_ledger: ImageLedger,
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    config = tmp_path_factory.mktemp("docker-config")  # no credentials but the ones a test passes
    b = Built(docker_monorepo, registry, docker_engine, image_ledger, config, docker_monorepo.head(), {})
    b.branch("session")
    res = b.buildctl("build", "--all", "--push", "--jobs", "2", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    b.report = res.json()
    return b


def pull(api: Any, ref: str) -> None:
    for event in api.pull(ref, stream=True, decode=True):
        assert "error" not in event, event


def stderr_steps(stderr: str, who: str) -> dict[str, bool]:
    """The Dockerfile steps a `build -v` log shows for `who`, each with whether it came from the
    layer cache (`---> Using cache` under it)."""
    steps: dict[str, bool] = {}
    step = None
    for line in stderr.splitlines():
        if not line.startswith(f"[{who}] "):
            continue
        text = line[len(who) + 3 :]
        m = re.match(r"Step \d+/\d+ : (.*)$", text)
        if m:
            step = m.group(1)
            steps[step] = False
        elif step is not None and text.strip() == "---> Using cache":
            steps[step] = True
    return steps


def test_all_nine_services_build_and_push(built: Built) -> None:
    data = built.report
    assert data["head"] == built.head
    # The session's copy has its own recipe: its cook was compiled, with nothing to reuse.
    assert data["cook"]["source"] == "none" and data["cook"]["cook_step"] == "compiled"
    assert sorted(data["services"]) == sorted(SERVICES)
    for name in SERVICES:
        svc = built.service(name)
        assert svc["status"] == "pushed", (name, svc["error"])
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", svc["digest"]), (name, svc["digest"])
        assert svc["tags"] == [f"sha-{built.head}"]
        assert svc["image"] == f"{built.registry.addr}/{NAMESPACE}/{name}"
        assert svc["cache"]["cook_step"] == "cached", name  # the shared cook, not a cook per service
        for tag in (f"sha-{built.head}", f"fp-{svc['fingerprint']}"):
            assert built.registry.digest(f"{NAMESPACE}/{name}", tag) == svc["digest"], (name, tag)
        _, _, body = built.registry.get(f"/v2/{NAMESPACE}/{name}/manifests/sha-{built.head}")
        manifest = json.loads(body)
        assert manifest["schemaVersion"] == 2 and manifest["layers"], name
        labels = built.api.inspect_image(f"{svc['image']}:sha-{built.head}")["Config"]["Labels"]
        assert labels["org.opencontainers.image.revision"] == built.head
        assert labels["org.opencontainers.image.title"] == name


def test_a_pushed_image_runs_and_answers_health(built: Built) -> None:
    svc = built.service("auth-service")
    ref = f"{svc['image']}@{svc['digest']}"
    pull(built.api, ref)  # what the registry holds, not the local tag
    assert built.api.inspect_image(ref)["Config"]["User"] == "10001:10001"
    port = free_port()
    container = built.api.create_container(
        ref,
        environment={"PORT": str(port)},
        host_config=built.api.create_host_config(network_mode="host"),
    )
    try:
        built.api.start(container)
        body = wait_for_http(
            f"http://127.0.0.1:{port}/health",
            timeout=60,
            alive=lambda: built.api.inspect_container(container)["State"]["Running"],
        )
    except AssertionError as exc:
        logs = built.api.logs(container).decode("utf-8", "replace")
        raise AssertionError(f"{exc}\ncontainer log:\n{logs}") from None
    finally:
        built.api.remove_container(container, force=True)
    health = json.loads(body)
    assert health["service"] == "auth-service" and health["status"] == "healthy", health


def test_a_source_change_rebuilds_one_service_on_the_cached_cook(built: Built) -> None:
    built.branch("chat-change")
    cook_image = built.report["cook"]["image"]
    cook_id = built.api.inspect_image(cook_image)["Id"]
    built.repo.append("services/chat-service/src/main.rs", "\n// a change only chat-service sees\n")
    head = built.repo.commit("chat-service: a source change")

    res = built.buildctl("build", "--base", built.head, "--push", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    data = res.json()
    assert list(data["services"]) == ["chat-service"]  # the plan: nothing else depends on it
    assert data["cook"]["key"] == built.report["cook"]["key"]
    assert data["cook"]["source"] == "local" and data["cook"]["cook_step"] == "cached"
    chat = data["services"]["chat-service"]
    assert chat["status"] == "pushed" and chat["cache"]["cook_step"] == "cached"
    assert chat["fingerprint"] != built.service("chat-service")["fingerprint"]
    assert built.api.inspect_image(cook_image)["Id"] == cook_id  # the very same dependency layers
    cook_steps = [cached for s, cached in stderr_steps(res.stderr, "cook").items() if "cargo chef cook" in s]
    assert cook_steps == [True]  # the engine's own words: `---> Using cache` under the cook step
    assert built.registry.digest(f"{NAMESPACE}/chat-service", f"sha-{head}") == chat["digest"]


def test_warm_then_an_empty_engine_takes_the_cook_from_the_registry(built: Built) -> None:
    built.branch("warm")
    res = built.buildctl("warm", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    info = res.json()
    assert info["status"] == "pushed" and info["key"] == built.report["cook"]["key"]
    assert info["image"] == f"{built.registry.addr}/{NAMESPACE}/buildctl-cache:cook-{info['key']}"
    assert built.registry.digest(f"{NAMESPACE}/buildctl-cache", f"cook-{info['key']}") == info["digest"]

    again = built.buildctl("warm", "--format", "json")
    assert again.code == 0, again.stderr[-3000:]
    assert again.json() == {**{k: info[k] for k in ("key", "image", "digest")}, "status": "exists"}
    assert stderr_steps(again.stderr, "cook") == {}  # nothing was built

    # Empty the engine of everything this session made (cook, services, intermediate images);
    # the base images stay. The copy's recipe is its own, so no other image holds its cook layer.
    cook = built.api.inspect_image(info["image"])
    assert built.ledger.cleanup(built.api) == []
    assert not [
        ref
        for img in built.api.images(all=True)
        for ref in (img.get("RepoTags") or []) + (img.get("RepoDigests") or [])
        if ref.startswith(f"{built.registry.addr}/")
    ]
    with pytest.raises(ImageNotFound):
        built.api.inspect_image(cook["Id"])
    assert cook["RootFS"]["Layers"][-1] not in layers_on_engine(built.api)

    res = built.buildctl("build", "--service", "physics-service", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    data = res.json()
    assert data["cook"]["source"] == "registry" and data["cook"]["cook_step"] == "cached"
    physics = data["services"]["physics-service"]
    assert physics["status"] == "built" and physics["cache"]["cook_step"] == "cached"
    assert built.api.inspect_image(info["image"])["Id"] == cook["Id"]  # the warmed image, pulled


def test_wrong_registry_credentials_fail_clearly_and_push_nothing(
    built: Built, auth_registry: Registry
) -> None:
    built.branch("denied")
    set_registry(built.repo, f"{auth_registry.addr}/denied")
    built.repo.commit("map: the registry that wants a login")
    password = f"wrong-{secrets.token_hex(6)}"
    env = {"BUILDCTL_REGISTRY_USER": "user", "BUILDCTL_REGISTRY_PASSWORD": password}

    res = built.buildctl("build", "--service", "auth-service", "--push", "--format", "json", env=env)
    assert res.code != 0
    assert f"login to {auth_registry.addr} failed" in res.stderr
    assert re.search(r"401|unauthorized", res.stderr, re.I), res.stderr
    for leak in (password, base64.b64encode(f"user:{password}".encode()).decode()):
        assert leak not in res.stdout and leak not in res.stderr
    assert not [r for r in auth_registry.catalog() if r.startswith("denied/")]
    assert auth_registry.tags("denied/auth-service") is None


def test_right_registry_credentials_push(built: Built, auth_registry: Registry) -> None:
    built.branch("granted")
    set_registry(built.repo, f"{auth_registry.addr}/granted")
    head = built.repo.commit("map: the registry that wants a login")
    env = {"BUILDCTL_REGISTRY_USER": "user", "BUILDCTL_REGISTRY_PASSWORD": "secret"}

    res = built.buildctl("build", "--service", "auth-service", "--push", "--format", "json", env=env)
    assert res.code == 0, res.stderr[-6000:]
    svc = res.json()["services"]["auth-service"]
    assert svc["status"] == "pushed"
    assert auth_registry.digest("granted/auth-service", f"sha-{head}") == svc["digest"]
    assert auth_registry.get("/v2/_catalog", auth=False)[0] == 401  # it does want the login


def test_a_service_that_does_not_compile_does_not_stop_the_others(built: Built) -> None:
    built.branch("broken")
    built.repo.append("services/text-gateway/src/main.rs", "\nfn broken( {\n")
    head = built.repo.commit("text-gateway: a syntax error")

    res = built.buildctl(
        "build", "--service", "text-gateway", "--service", "auth-service", "--push", "--format", "json"
    )
    assert res.code == 4, res.stderr[-6000:]
    data = res.json()
    auth, gateway = data["services"]["auth-service"], data["services"]["text-gateway"]
    assert auth["status"] == "pushed"
    assert built.registry.digest(f"{NAMESPACE}/auth-service", f"sha-{head}") == auth["digest"]
    assert gateway["status"] == "failed" and gateway["digest"] is None
    # The compiler's own words, with the place, not only "returned a non-zero code".
    assert "returned a non-zero code" in gateway["error"]
    assert re.search(r"^error\b.*$", gateway["error"], re.M), gateway["error"]
    assert "--> services/text-gateway/src/main.rs:" in gateway["error"], gateway["error"]
    assert built.registry.digest(f"{NAMESPACE}/text-gateway", f"sha-{head}") is None
    assert "1 of 2 service(s) failed: text-gateway" in res.stderr


def test_skip_existing_retags_an_unchanged_service_without_building(built: Built) -> None:
    built.branch("readme")
    built.repo.write("README.md", "# The game platform\n\nA change no image sees.\n")
    head = built.repo.commit("docs: a README")
    before = built.service("world-state")

    res = built.buildctl("build", "--service", "world-state", "--skip-existing", "--push", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    svc = res.json()["services"]["world-state"]
    assert svc["status"] == "skipped"
    assert svc["fingerprint"] == before["fingerprint"]
    assert svc["cache"] == {"reused": f"fp-{before['fingerprint']}"}
    assert svc["digest"] == before["digest"]
    assert built.registry.digest(f"{NAMESPACE}/world-state", f"sha-{head}") == before["digest"]
    assert stderr_steps(res.stderr, "world-state") == {}  # no build log: nothing was built
    assert "re-tagged, not rebuilt" in res.stderr


def test_dry_run_prints_the_exact_build_and_push_steps(built: Built) -> None:
    built.branch("dry-run")
    head = built.head
    svc = built.service("auth-service")
    cook, image, fp = built.report["cook"]["image"], svc["image"], f"fp-{svc['fingerprint']}"
    created = built.repo.git("show", "-s", "--format=%cI", head)
    args = f"--build-arg CHEF_IMAGE={CHEF_IMAGE} --build-arg RUNTIME_IMAGE={RUNTIME_IMAGE}"

    res = built.buildctl("build", "--service", "auth-service", "--push", "--dry-run")
    assert res.code == 0, res.stderr
    # The cook key and the fingerprint are the ones the real build used.
    assert res.stdout.splitlines() == [
        f"# head {head}",
        f"docker build -f Dockerfile.service --network host --target cook -t {cook} {args} .",
        f"docker build -f Dockerfile.service --network host --target runtime --cache-from {cook} "
        f"{args} --build-arg SERVICE_NAME=auth-service --build-arg REVISION={head} "
        f"--build-arg CREATED={created} --build-arg SOURCE_URL= -t {image}:sha-{head} .",
        f"docker tag {image}:sha-{head} {image}:{fp}",
        f"docker push {image}:sha-{head}",
        f"docker push {image}:{fp}",
    ]
    assert "Step " not in res.stderr


# Here rather than in tests/cli/: `build` connects to the engine before it looks at the tree.
def test_build_refuses_a_tree_that_is_not_exactly_head(mini: Repo) -> None:
    mini.append("svc/a/src/main.rs", "// not committed\n")
    refused(
        cli(mini, "build", "--service", "a"),
        "the working tree has uncommitted changes ('svc/a/src/main.rs' and maybe more)",
        "hint: commit or stash them",
    )
    mini.git("checkout", "-q", "--", ".")
    first = mini.head()
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit()
    refused(
        cli(mini, "build", "--service", "a", "--head", first),
        f"the working tree is at {mini.head()[:12]}, not at {first[:12]}, the commit to build",
        f"hint: check out {first[:12]} first",
    )
