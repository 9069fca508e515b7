"""Base images the way Docker Hub serves them: one tag, a multi-platform index, resolved by
buildctl for each platform through the registry's API before anything compiles.

The session's map names its runtime base as `<registry>/library/debian:bookworm-slim`, an OCI
index of the local amd64 and arm64 stand-ins (tests/support/docker.py `push_runtime_index`), so
every build of the session takes that path; the tests here check what it gave, and what happens
when a base is missing or moves under its tag.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from buildctl.build.registry import RegistryAPI
from tests.e2e.conftest import BOTH, Built
from tests.support.docker import ARM64_RUNTIME_IMAGE, push_runtime_index

pytestmark = pytest.mark.timeout(900)


def _diff_ids(api: RegistryAPI, repository: str, digest: str) -> list[str]:
    found = api.manifest(repository, digest)
    assert found is not None, digest
    config = json.loads(api.blob(repository, json.loads(found[2])["config"]["digest"]))
    return list(config["rootfs"]["diff_ids"])


def test_one_multi_platform_reference_gives_each_platform_its_own_base(
    built: Built, runtime_index: str
) -> None:
    host, _, path = runtime_index.partition("/")
    repository, _, tag = path.rpartition(":")
    api = RegistryAPI(host, None)
    found = api.manifest(repository, tag)
    assert found is not None
    entries = {m["platform"]["architecture"]: m["digest"] for m in json.loads(found[2])["manifests"]}
    svc = built.service("graphics-gateway")
    for platform in BOTH:
        arch = platform.split("/")[1]
        base = _diff_ids(api, repository, entries[arch])
        image = _diff_ids(api, f"{built.namespace}/graphics-gateway", svc["platforms"][platform]["digest"])
        # The service image is that platform's base with the service's layers on top.
        assert image[: len(base)] == base, platform
        assert len(image) > len(base)
    # ...and the build said so, before it built anything.
    res = built.buildctl("build", "--service", "graphics-gateway", "--dry-run")
    assert res.code == 0, res.stderr
    for platform in BOTH:
        digest = entries[platform.split("/")[1]]
        line = f"# base {runtime_index} for {platform}: {host}/{repository}@{digest} (registry)"
        assert line in res.stdout.splitlines(), res.stdout[:2000]


def test_a_base_that_does_not_exist_stops_check_and_build_before_any_compile(built: Built) -> None:
    built.branch("no-such-base")
    missing = f"{built.registry.addr}/library/debian:no-such-tag"
    text = re.sub(
        r'(?m)^args = \{ (.*)RUNTIME_IMAGE = "[^"]*"',
        rf'args = {{ \1RUNTIME_IMAGE = "{missing}"',
        built.repo.read("workspace-map.toml"),
    )
    assert missing in text
    built.repo.write("workspace-map.toml", text)
    built.repo.commit("map: a runtime base that was never published")

    check = built.buildctl("check", "--bases")
    assert check.code == 1
    for platform in BOTH:
        assert (
            f"base image {missing} for {platform} does not exist: {built.registry.addr} has no manifest "
            f"library/debian:no-such-tag"
        ) in check.stderr, check.stderr

    res = built.buildctl("build", "--service", "auth-service", "--push", "--format", "json")
    assert res.code == 1, res.stderr[-3000:]
    assert f"error: base image {missing} for linux/amd64 does not exist" in res.stderr
    assert "hint: fix the tag" in res.stderr
    assert "cook " not in res.stderr and "building " not in res.stderr  # nothing started
    assert res.stdout == ""


def _cook_keys(b: Built) -> dict[str, str]:
    res = b.buildctl("build", "--service", "chat-service", "--push", "--dry-run")
    assert res.code == 0, res.stderr
    keys = {}
    for line in res.stdout.splitlines():
        if "--target cook" in line:
            platform = re.search(r"--platform (\S+)", line)
            key = re.search(r":cook-([0-9a-f]+) ", line)
            assert platform and key, line
            keys[platform.group(1)] = key.group(1)
    fps = re.findall(r"# OCI image index \S+:fp-([0-9a-f]+)", res.stdout)
    return {**keys, "fp": fps[0]}


def test_the_keys_change_when_a_base_moves_under_the_same_tag(built: Built, tmp_path: Path) -> None:
    moving = push_runtime_index(built.api, built.registry, tag="moving")
    built.branch("moving-base")
    text = built.repo.read("workspace-map.toml").replace(
        f'RUNTIME_IMAGE = "{built.registry.addr}/library/debian:bookworm-slim"', f'RUNTIME_IMAGE = "{moving}"'
    )
    assert moving in text
    built.repo.write("workspace-map.toml", text)
    built.repo.commit("map: a runtime base whose tag moves")
    before = _cook_keys(built)

    # A security fix of the arm64 base, published under the same tag: a new image, a new index.
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {ARM64_RUNTIME_IMAGE}\nLABEL org.example.patch=1\n")
    patched = f"{built.registry.addr}/library/debian:moving-arm64"
    subprocess.run(
        ["/usr/bin/docker", "build", "--platform", "linux/arm64", "-t", patched, str(tmp_path)],
        env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    built.api.push(patched.rpartition(":")[0], tag="moving-arm64")
    after_push = RegistryAPI(built.registry.addr, None).manifest("library/debian", "moving-arm64")
    assert after_push is not None
    _repoint_arm64(built, after_push)

    after = _cook_keys(built)
    assert after["linux/amd64"] == before["linux/amd64"]  # its base did not move
    assert after["linux/arm64"] != before["linux/arm64"]  # the tag's text did not change; its image did
    assert after["fp"] != before["fp"]  # and the image index of both is another


def _repoint_arm64(b: Built, arm64: tuple[str, str, bytes]) -> None:
    """The `moving` index, its arm64 entry replaced by `arm64` (digest, media type, body)."""
    from buildctl.build.registry import OCI_INDEX

    api = RegistryAPI(b.registry.addr, None)
    found = api.manifest("library/debian", "moving")
    assert found is not None
    index = json.loads(found[2])
    for entry in index["manifests"]:
        if entry["platform"]["architecture"] == "arm64":
            entry.update(digest=arm64[0], mediaType=arm64[1], size=len(arm64[2]))
    api.put_manifest("library/debian", "moving", OCI_INDEX, json.dumps(index).encode())


def test_check_bases_write_pins_the_tag_to_its_digest(built: Built, runtime_index: str) -> None:
    built.branch("pin")
    res = built.buildctl("check", "--bases", "--write")
    assert res.code == 0, res.stderr
    host, _, path = runtime_index.partition("/")
    repository, _, tag = path.rpartition(":")
    digest = RegistryAPI(host, None).manifest(repository, tag)[0]  # type: ignore[index]
    text = built.repo.read("workspace-map.toml")
    assert f'RUNTIME_IMAGE = "{runtime_index}@{digest}"' in text  # the index's digest, tag kept
    assert built.repo.git("diff", "--stat").count("|") == 1  # the map only: its CHEF_IMAGE is local
    again = built.buildctl("check", "--bases", "--write")
    assert again.code == 0 and built.repo.read("workspace-map.toml") == text  # already pinned
    built.repo.git("checkout", "-q", "--", ".")
