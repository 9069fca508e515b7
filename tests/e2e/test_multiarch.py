"""Multi-platform images on the real engine: this monorepo built for linux/amd64 and
linux/arm64 (arm64 cross-compiled: no emulator ever runs a compiler) by BuildKit and by the
classic builder, pushed to a real registry, one tag per service naming an OCI image index of
both platforms. The indexes are read back
through the registry API, arm64 binaries out of the pushed images run under
qemu-aarch64-static against the image's own root, and the bumped kustomizations are rendered
with kubectl. A missing qemu, cross builder or arm64 base fails them; nothing is skipped
(scripts/setup.sh installs all of it).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from buildctl.build.registry import OCI_INDEX, RegistryAPI
from tests.e2e.conftest import BOTH, CLASSIC_SERVICES, Built
from tests.support.cli import run
from tests.support.docker import RUNTIME_IMAGE, SERVICES, wait_for_http
from tests.support.net import free_port

# Run under qemu: a plain service, the one with a build script, the one with a nested crate.
RUN_CHECK = ("auth-service", "graphics-gateway", "script-executor")
EM_AARCH64 = 183  # ELF e_machine


def _file_of(api: Any, image: str, path: str) -> str:
    """One small file out of an image (a created container's, never started)."""
    container = api.create_container(image, command=["/nonexistent"])
    try:
        stream, _ = api.get_archive(container, path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile(Path(path).name)
            assert member is not None, path
            return member.read().decode()
    finally:
        api.remove_container(container, force=True)


def test_each_platform_has_its_own_cook_and_the_arm64_one_is_cross_compiled(either: Built) -> None:
    cooks = either.report["cooks"]
    assert list(cooks) == list(BOTH)
    assert cooks["linux/amd64"]["key"] != cooks["linux/arm64"]["key"]
    assert all(c["cook_step"] == "compiled" and c["source"] == "none" for c in cooks.values())
    assert either.report["cook"] == cooks["linux/amd64"]
    # The cook runs on the build machine whatever the target (no emulation), compiling for the
    # target's triple: the chef stage wrote which one, and the compiled dependencies are there.
    assert _file_of(either.api, cooks["linux/amd64"]["image"], "/usr/local/share/rust-target").strip() == ""
    assert _file_of(either.api, cooks["linux/arm64"]["image"], "/usr/local/share/rust-target").strip() == (
        "aarch64-unknown-linux-gnu"
    )
    fingerprint = "/app/target/aarch64-unknown-linux-gnu/release/.cargo-lock"
    assert _file_of(either.api, cooks["linux/arm64"]["image"], fingerprint) == ""
    if either.builder == "classic":  # BuildKit labels an image with the target platform it built for
        for name, cook in cooks.items():
            assert either.api.inspect_image(cook["image"])["Architecture"] == "amd64", name
    arm_cook_env = either.api.inspect_image(cooks["linux/arm64"]["image"])["Config"]["Env"]
    assert "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc" in arm_cook_env


def test_the_two_builders_cook_apart(built: Built, classic: Built) -> None:
    """A cook is a cache only to the builder that made it: same recipe, other keys."""
    for platform in BOTH:
        assert built.report["cooks"][platform]["key"] != classic.report["cooks"][platform]["key"]


def test_every_tag_is_an_oci_index_of_both_platforms(either: Built) -> None:
    api = RegistryAPI(either.registry.addr, None)
    head = either.head
    for name in SERVICES if either.builder == "buildkit" else CLASSIC_SERVICES:
        svc = either.service(name)
        assert svc["status"] == "pushed", (name, svc["error"])
        assert svc["tags"] == [f"sha-{head}"]
        assert list(svc["platforms"]) == list(BOTH)
        repo = f"{either.namespace}/{name}"
        for tag in (f"sha-{head}", f"fp-{svc['fingerprint']}"):
            found = api.manifest(repo, tag)
            assert found is not None, (name, tag)
            digest, media_type, body = found
            assert (digest, media_type) == (svc["digest"], OCI_INDEX), (name, tag)
        index = json.loads(body)
        assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
        entries = {f"{m['platform']['os']}/{m['platform']['architecture']}": m for m in index["manifests"]}
        assert list(entries) == list(BOTH), name
        for platform, entry in entries.items():
            image = svc["platforms"][platform]
            assert entry["digest"] == image["digest"], (name, platform)
            assert image["tag"] == f"sha-{head}-{platform.split('/')[1]}"
            found = api.manifest(repo, entry["digest"])
            assert found is not None
            manifest = json.loads(found[2])
            assert (found[1], len(found[2])) == (entry["mediaType"], entry["size"])
            _, _, config = api.request("GET", repo, "blobs", manifest["config"]["digest"])
            assert json.loads(config)["architecture"] == platform.split("/")[1], (name, platform)
            assert api.manifest(repo, image["tag"])[0] == entry["digest"]  # type: ignore[index]


def _root_of(api: Any, ref: str, dest: Path) -> Path:
    """The filesystem of image `ref`, unpacked at `dest` (a created container's, never started)."""
    container = api.create_container(ref, command=["/nonexistent"])
    try:
        stream, _ = api.get_archive(container, "/")
        data = b"".join(stream)
    finally:
        api.remove_container(container, force=True)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="tar")
    return dest / "rootfs" if (dest / "rootfs").is_dir() else dest


@pytest.mark.parametrize(
    ("builder", "name"),
    [*(("buildkit", n) for n in RUN_CHECK), *(("classic", n) for n in CLASSIC_SERVICES)],
)
def test_the_pushed_arm64_binary_runs_under_qemu_and_answers_health(
    builder: str, name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    either: Built = request.getfixturevalue("built" if builder == "buildkit" else "classic")
    svc = either.service(name)
    image = svc["platforms"]["linux/arm64"]
    ref = f"{svc['image']}@{image['digest']}"
    for event in either.api.pull(ref, stream=True, decode=True):  # what the registry holds
        assert "error" not in event, event
    config = either.api.inspect_image(ref)
    assert (config["Os"], config["Architecture"]) == ("linux", "arm64")
    assert config["Config"]["User"] == "10001:10001"
    assert config["Config"]["Entrypoint"] == ["/usr/local/bin/service"]
    root = _root_of(either.api, ref, tmp_path / "root")
    binary = root / "usr" / "local" / "bin" / name
    head = binary.read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == EM_AARCH64, name
    assert (root / "usr/local/bin/service").readlink() == Path(name)
    assert (
        "app:" in (root / "etc/passwd").read_text() and ":10001:10001:" in (root / "etc/passwd").read_text()
    )

    port = free_port()
    proc = subprocess.Popen(
        ["qemu-aarch64-static", "-L", str(root), str(binary)],
        env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60, alive=lambda: proc.poll() is None)
    except AssertionError as exc:
        proc.kill()
        out = proc.communicate(timeout=10)[0].decode("utf-8", "replace")
        raise AssertionError(f"{exc}\nqemu-aarch64-static output:\n{out}") from None
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    health = json.loads(body)
    assert health["service"] == name and health["status"] == "healthy", health


def test_the_amd64_node_pulls_its_own_image_through_the_index(either: Built) -> None:
    svc = either.service("auth-service")
    ref = f"{svc['image']}@{svc['digest']}"  # the index digest the bump deploys
    for event in either.api.pull(ref, stream=True, decode=True):
        assert "error" not in event, event
    config = either.api.inspect_image(ref)
    assert config["Architecture"] == "amd64"
    assert config["Id"] == svc["platforms"]["linux/amd64"]["image_id"]


def test_bump_from_the_build_result_deploys_the_index_digest(built: Built) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not installed (scripts/setup.sh installs it)"
    built.branch("bump")
    res = run(["--repo", str(built.repo.path), "bump", "--from", str(built.result_file), "--commit"])
    assert res.code == 0, res.stderr
    assert built.repo.git("status", "--porcelain").strip() == ""  # the bump is committed whole
    head = built.report["head"]
    for name in SERVICES:
        svc = built.service(name)
        rendered = subprocess.run(
            [kubectl, "kustomize", str(built.repo.path / "deployments" / name)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        images = [line.strip() for line in rendered.splitlines() if line.strip().startswith("image:")]
        assert images == [f"image: {svc['image']}:sha-{head}@{svc['digest']}"], name
        assert svc["digest"] not in {p["digest"] for p in svc["platforms"].values()}  # the index's


def test_warm_finds_the_cook_of_each_platform_that_the_build_pushed(either: Built, tmp_path: Path) -> None:
    either.branch("warm")
    res = either.buildctl("warm", "--format", "json", env={"DOCKER_CONFIG": str(tmp_path)})
    assert res.code == 0, res.stderr[-4000:]
    info = res.json()
    # `build --push` pushed each cook it compiled: there is nothing left to warm.
    assert info["status"] == "exists" and list(info["platforms"]) == list(BOTH)
    api = RegistryAPI(either.registry.addr, None)
    for name, cook in info["platforms"].items():
        assert cook["status"] == "exists" and cook["key"] == either.report["cooks"][name]["key"], name
        found = api.manifest(f"{either.namespace}/buildctl-cache", f"cook-{cook['key']}")
        assert found is not None and found[0] == cook["digest"] == either.report["cooks"][name]["digest"], (
            name
        )
    assert {k: info[k] for k in ("key", "image", "digest")} == {
        k: info["platforms"]["linux/amd64"][k] for k in ("key", "image", "digest")
    }
    assert "cook " not in res.stderr  # nothing was built


def test_skip_existing_reuses_the_index(built: Built) -> None:
    built.branch("readme-index")
    built.repo.write("README.md", "# The game platform\n\nA change no image sees.\n")
    head = built.repo.commit("docs: a README")
    res = built.buildctl(
        "build", "--service", "chat-service", "--skip-existing", "--push", "--format", "json"
    )
    assert res.code == 0, res.stderr[-4000:]
    data = res.json()
    svc = data["services"]["chat-service"]
    before = built.service("chat-service")
    assert (svc["status"], svc["digest"]) == ("skipped", before["digest"])
    assert "skipped" in data["cook"] and not data["cooks"]  # no cook and no build ran
    found = RegistryAPI(built.registry.addr, None).manifest(f"{built.namespace}/chat-service", f"sha-{head}")
    assert found is not None and found[:2] == (before["digest"], OCI_INDEX)


def test_a_runtime_base_of_the_wrong_platform_is_refused_before_anything_is_built(built: Built) -> None:
    built.branch("wrong-base")
    text = built.repo.read("workspace-map.toml")
    # The amd64 slim image, named as the arm64 images' runtime base.
    text += f'RUNTIME_IMAGE = "{RUNTIME_IMAGE}"\n'
    assert text.rstrip().splitlines()[-3] == '[build.platform_args."linux/arm64"]', text[-300:]
    built.repo.write("workspace-map.toml", text)
    head = built.repo.commit("map: an amd64 base for the arm64 images")
    res = built.buildctl("build", "--service", "auth-service", "--push", "--format", "json")
    # The bases are resolved for their platforms before any compile: the run stops there.
    assert res.code == 1, res.stderr[-4000:]
    assert f"base image {RUNTIME_IMAGE} is a linux/amd64 image, not a linux/arm64 one" in res.stderr
    assert (
        'hint: name a multi-platform base, or set the base for linux/arm64 in [build.platform_args."linux/arm64"]'
        in res.stderr
    )
    assert "cook " not in res.stderr and "building " not in res.stderr
    api = RegistryAPI(built.registry.addr, None)
    repo = f"{built.namespace}/auth-service"
    assert api.manifest(repo, f"sha-{head}") is None and api.manifest(repo, f"sha-{head}-arm64") is None
