"""`buildctl build` on the real Docker engine, by BuildKit and by the classic builder, pushing to
real local registries.

The session builds the scratch monorepo once per builder (tests/e2e/conftest.py); each test here
starts its own branch from that commit, so no test depends on another having run. What is
asserted is what the build reports (its JSON), what the registry serves over HTTP and what the
engine holds, and the builder's own words about its cache: never how long anything took.
"""

from __future__ import annotations

import base64
import json
import re
import secrets

import pytest

from tests.e2e.conftest import BOTH, CLASSIC_SERVICES, Built
from tests.support.cli import cli, refused
from tests.support.docker import SERVICES, Registry, build_steps, set_registry, steps_cached, wait_for_http
from tests.support.git import Repo
from tests.support.net import free_port
from tests.support.secret_scan import HTPASSWD_PASSWORD, HTPASSWD_USER

pytestmark = pytest.mark.timeout(1800)


def pull(api: object, ref: str) -> None:
    for event in api.pull(ref, stream=True, decode=True):  # type: ignore[attr-defined]
        assert "error" not in event, event


def test_every_service_builds_and_pushes_for_both_platforms(either: Built) -> None:
    data = either.report
    assert data["head"] == either.head
    assert data["builder"]["kind"] == either.builder
    # The session's recipe is its own: each platform's cook was compiled, with nothing to reuse,
    # and pushed, so that later runs (and runners) read it.
    assert list(data["cooks"]) == list(BOTH)
    for cook in data["cooks"].values():
        assert (cook["source"], cook["cook_step"], cook["status"]) == ("none", "compiled", "pushed"), cook
        assert (
            either.registry.digest(f"{either.namespace}/buildctl-cache", f"cook-{cook['key']}")
            == cook["digest"]
        )
    expected = SERVICES if either.builder == "buildkit" else CLASSIC_SERVICES
    assert sorted(data["services"]) == sorted(expected)
    for name in expected:
        svc = either.service(name)
        assert svc["status"] == "pushed", (name, svc["error"])
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", svc["digest"]), (name, svc["digest"])
        assert svc["tags"] == [f"sha-{either.head}"]
        assert svc["image"] == f"{either.registry.addr}/{either.namespace}/{name}"
        assert svc["cache"]["cook_step"] == "cached", name  # the shared cook, not a cook per service
        for tag in (f"sha-{either.head}", f"fp-{svc['fingerprint']}"):
            assert either.registry.digest(f"{either.namespace}/{name}", tag) == svc["digest"], (name, tag)
        for platform, image in svc["platforms"].items():
            _, _, body = either.registry.get(f"/v2/{either.namespace}/{name}/manifests/{image['digest']}")
            manifest = json.loads(body)
            assert manifest["schemaVersion"] == 2 and manifest["layers"], (name, platform)
            ref = f"{svc['image']}:{image['tag']}"
            labels = either.api.inspect_image(ref)["Config"]["Labels"]
            assert labels["org.opencontainers.image.revision"] == either.head
            assert labels["org.opencontainers.image.title"] == name


def test_a_pushed_image_runs_and_answers_health(either: Built) -> None:
    svc = either.service("auth-service")
    ref = f"{svc['image']}@{svc['digest']}"  # the index: this amd64 engine takes its own image
    pull(either.api, ref)  # what the registry holds, not the local tag
    assert either.api.inspect_image(ref)["Config"]["User"] == "10001:10001"
    port = free_port()
    container = either.api.create_container(
        ref,
        environment={"PORT": str(port)},
        host_config=either.api.create_host_config(network_mode="host"),
    )
    try:
        either.api.start(container)
        body = wait_for_http(
            f"http://127.0.0.1:{port}/health",
            timeout=60,
            alive=lambda: either.api.inspect_container(container)["State"]["Running"],
        )
    except AssertionError as exc:
        logs = either.api.logs(container).decode("utf-8", "replace")
        raise AssertionError(f"{exc}\ncontainer log:\n{logs}") from None
    finally:
        either.api.remove_container(container, force=True)
    health = json.loads(body)
    assert health["service"] == "auth-service" and health["status"] == "healthy", health


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
    env = {"BUILDCTL_REGISTRY_USER": HTPASSWD_USER, "BUILDCTL_REGISTRY_PASSWORD": HTPASSWD_PASSWORD}

    res = built.buildctl("build", "--service", "auth-service", "--push", "--format", "json", env=env)
    assert res.code == 0, res.stderr[-6000:]
    svc = res.json()["services"]["auth-service"]
    assert svc["status"] == "pushed"
    assert auth_registry.digest("granted/auth-service", f"sha-{head}") == svc["digest"]
    assert auth_registry.get("/v2/_catalog", auth=False)[0] == 401  # it does want the login


def test_a_source_change_rebuilds_on_the_cached_cook_beside_a_service_that_does_not_compile(
    either: Built,
) -> None:
    # One build for two things each builder must do (one build, not two: each costs a compile):
    # a change to one service's code reuses the cook, and a service that does not compile stops
    # nothing else.
    either.branch("chat-change-broken")
    if either.builder == "classic":
        either.native_only()  # the classic builder is slow; its cache and messages are the point
        either.repo.commit("this machine's platform only")
    either.repo.append("services/chat-service/src/main.rs", "\n// a change only chat-service sees\n")
    either.repo.append("services/text-gateway/src/main.rs", "\nfn broken( {\n")
    head = either.repo.commit("chat-service: a source change; text-gateway: a syntax error")

    res = either.buildctl("build", "--base", either.head, "--push", "--format", "json")
    assert res.code == 4, res.stderr[-6000:]
    data = res.json()
    # The plan: the two changed services, nothing else (nothing depends on either).
    assert sorted(data["services"]) == ["chat-service", "text-gateway"]
    for platform, cook in data["cooks"].items():
        assert cook["key"] == either.report["cooks"][platform]["key"]
        assert (cook["source"], cook["cook_step"], cook["status"]) == ("local", "cached", "built"), cook
        # The builder's own words: the cook step came from the cache.
        who = "cook" if len(data["cooks"]) == 1 else f"cook-{platform.split('/')[1]}"
        assert steps_cached(res.stderr, who, "cargo chef cook") == [True], platform

    chat = data["services"]["chat-service"]
    assert chat["status"] == "pushed" and chat["cache"]["cook_step"] == "cached"
    cooked = steps_cached(res.stderr, "chat-service", "cargo chef cook")
    assert cooked and all(cooked), cooked  # only the service's last stages ran
    assert steps_cached(res.stderr, "chat-service", "cargo build") == [False]
    assert either.registry.digest(f"{either.namespace}/chat-service", f"sha-{head}") == chat["digest"]

    gateway = data["services"]["text-gateway"]
    assert gateway["status"] == "failed" and gateway["digest"] is None
    # The builder's reason with the stage that failed, then the compiler's own words, with the
    # place, not only "returned a non-zero code".
    reason = "returned a non-zero code" if either.builder == "classic" else r"step \[builder \d/\d\]\) failed"
    assert re.search(reason, gateway["error"]), gateway["error"]
    assert re.search(r"^error\b.*$", gateway["error"], re.M), gateway["error"]
    assert "--> services/text-gateway/src/main.rs:" in gateway["error"], gateway["error"]
    assert either.registry.digest(f"{either.namespace}/text-gateway", f"sha-{head}") is None
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
    assert built.registry.digest(f"{built.namespace}/world-state", f"sha-{head}") == before["digest"]
    assert build_steps(res.stderr, "world-state") == {}  # no build log: nothing was built
    assert "re-tagged, not rebuilt" in res.stderr


def test_dry_run_prints_the_exact_build_and_push_steps(either: Built) -> None:
    either.branch("dry-run")
    head = either.head
    svc = either.service("auth-service")
    image, fp = svc["image"], f"fp-{svc['fingerprint']}"
    cooks = {p: c["image"] for p, c in either.report["cooks"].items()}

    res = either.buildctl("build", "--service", "auth-service", "--push", "--dry-run")
    assert res.code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"# head {head}" and lines[1].startswith(f"# builder: {either.builder}")
    # The cook keys and the fingerprint are the ones the real build used.
    builds = [line for line in lines if not line.startswith("#")]
    for platform, cook in cooks.items():
        assert sum(f"-t {cook} " in line and "--target cook" in line for line in builds) == 1, platform
    arch = {p: p.split("/")[1] for p in BOTH}
    for platform in BOTH:
        (runtime,) = [line for line in builds if f"-t {image}:sha-{head}-{arch[platform]} " in line]
        assert "--target runtime" in runtime and cooks[platform] in runtime
    assert [line for line in builds if line.startswith("docker push")] == [
        f"docker push {image}:sha-{head}-amd64",
        f"docker push {image}:sha-{head}-arm64",
    ]
    assert [line.split(" = ")[0] for line in lines if line.startswith("# OCI image index")] == [
        f"# OCI image index {image}:sha-{head}",
        f"# OCI image index {image}:{fp}",
    ]
    assert "Step " not in res.stderr and "#1 [internal]" not in res.stderr  # nothing was built


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
