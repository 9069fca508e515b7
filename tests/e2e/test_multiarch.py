"""Multi-platform images on the real engine: this monorepo built for linux/amd64 and
linux/arm64 (arm64 cross-compiled: no emulator ever runs a compiler), pushed to a real registry,
one tag per service naming an OCI image index of both platforms. The indexes are read back
through the registry API, arm64 binaries out of the pushed images run under
qemu-aarch64-static against the image's own root, and the bumped kustomizations are rendered
with kubectl. A missing qemu, cross builder or arm64 base fails them; nothing is skipped
(scripts/setup.sh installs all of it).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from buildctl.build.registry import OCI_INDEX, RegistryAPI
from tests.support.cli import Result, run
from tests.support.docker import (
    ARM64_RUNTIME_IMAGE,
    CROSS_CHEF_IMAGE,
    RUNTIME_IMAGE,
    SERVICES,
    ImageLedger,
    Registry,
    scratch_monorepo,
    wait_for_http,
)
from tests.support.git import Repo
from tests.support.net import free_port

NAMESPACE = "buildctl-multiarch"
BOTH = ("linux/amd64", "linux/arm64")
# Run under qemu: a plain service, the one with a build script, the one with a nested crate.
RUN_CHECK = ("auth-service", "graphics-gateway", "script-executor")
EM_AARCH64 = 183  # ELF e_machine


@dataclass
class MultiBuilt:
    repo: Repo
    registry: Registry
    api: Any
    report: dict[str, Any]
    result_file: Path

    def service(self, name: str) -> dict[str, Any]:
        return dict(self.report["services"][name])


def _buildctl(repo: Repo, ledger: ImageLedger, config: Path, *args: str) -> Result:
    res = run(["--repo", str(repo.path), *args], env={"DOCKER_CONFIG": str(config)})
    ledger.record(res.stderr)
    return res


@pytest.fixture(scope="module")
def multi(
    registry: Registry,
    docker_engine: Any,
    base_images: dict[str, str],
    image_ledger: ImageLedger,
    tmp_path_factory: pytest.TempPathFactory,
) -> MultiBuilt:
    """This monorepo built and pushed for both platforms: `build --all --push` as CI runs it."""
    for tool in ("qemu-aarch64-static",):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (scripts/setup.sh installs qemu-user-static)")
    for ref in (CROSS_CHEF_IMAGE, ARM64_RUNTIME_IMAGE):
        assert ref in base_images, f"{ref} is missing (scripts/bootstrap-images.sh makes it)"
    root = tmp_path_factory.mktemp("multiarch")
    repo = scratch_monorepo(root / "monorepo", f"{registry.addr}/{NAMESPACE}", platforms=BOTH)
    # The deployments name the images the map's registry holds (a bump refuses any other name).
    for name in SERVICES:
        path = f"deployments/{name}/kustomization.yaml"
        text, n = re.subn(
            r"(?m)^(\s+newName: ).*$", rf"\g<1>{registry.addr}/{NAMESPACE}/{name}", repo.read(path), count=1
        )
        assert n == 1, name
        repo.write(path, text)
    repo.commit("deployments: images from the test registry")
    config = root / "docker-config"
    config.mkdir()
    res = _buildctl(
        repo, image_ledger, config, "build", "--all", "--push", "--jobs", "2", "--format", "json", "-v"
    )
    assert res.code == 0, res.stderr[-6000:]
    result_file = root / "build.json"
    result_file.write_text(res.stdout)
    return MultiBuilt(repo, registry, docker_engine, res.json(), result_file)


def test_each_platform_has_its_own_cook_and_the_arm64_one_is_cross_compiled(multi: MultiBuilt) -> None:
    cooks = multi.report["cooks"]
    assert list(cooks) == list(BOTH)
    assert cooks["linux/amd64"]["key"] != cooks["linux/arm64"]["key"]
    assert all(c["cook_step"] == "compiled" and c["source"] == "none" for c in cooks.values())
    assert multi.report["cook"] == cooks["linux/amd64"]
    for name, cook in cooks.items():
        config = multi.api.inspect_image(cook["image"])
        # The cook runs on the build machine whatever the target: no emulation.
        assert config["Architecture"] == "amd64", name
    arm_cook_env = multi.api.inspect_image(cooks["linux/arm64"]["image"])["Config"]["Env"]
    assert "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc" in arm_cook_env


def test_every_tag_is_an_oci_index_of_both_platforms(multi: MultiBuilt) -> None:
    api = RegistryAPI(multi.registry.addr, None)
    head = multi.repo.head()
    for name in SERVICES:
        svc = multi.service(name)
        assert svc["status"] == "pushed", (name, svc["error"])
        assert svc["tags"] == [f"sha-{head}"]
        assert list(svc["platforms"]) == list(BOTH)
        repo = f"{NAMESPACE}/{name}"
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


@pytest.mark.parametrize("name", RUN_CHECK)
def test_the_pushed_arm64_binary_runs_under_qemu_and_answers_health(
    multi: MultiBuilt, name: str, tmp_path: Path
) -> None:
    svc = multi.service(name)
    image = svc["platforms"]["linux/arm64"]
    ref = f"{svc['image']}@{image['digest']}"
    for event in multi.api.pull(ref, stream=True, decode=True):  # what the registry holds
        assert "error" not in event, event
    config = multi.api.inspect_image(ref)
    assert (config["Os"], config["Architecture"]) == ("linux", "arm64")
    assert config["Config"]["User"] == "10001:10001"
    assert config["Config"]["Entrypoint"] == ["/usr/local/bin/service"]
    root = _root_of(multi.api, ref, tmp_path / "root")
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
    health = json.loads(body)
    assert health["service"] == name and health["status"] == "healthy", health


def test_the_amd64_node_pulls_its_own_image_through_the_index(multi: MultiBuilt) -> None:
    svc = multi.service("world-state")
    ref = f"{svc['image']}@{svc['digest']}"  # the index digest the bump deploys
    for event in multi.api.pull(ref, stream=True, decode=True):
        assert "error" not in event, event
    config = multi.api.inspect_image(ref)
    assert config["Architecture"] == "amd64"
    assert config["Id"] == svc["platforms"]["linux/amd64"]["image_id"]


def test_bump_from_the_build_result_deploys_the_index_digest(multi: MultiBuilt) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not installed (scripts/setup.sh installs it)"
    multi.repo.git("checkout", "-q", "-B", "bump", multi.repo.head())
    res = run(["--repo", str(multi.repo.path), "bump", "--from", str(multi.result_file), "--commit"])
    assert res.code == 0, res.stderr
    assert multi.repo.git("status", "--porcelain").strip() == ""  # the bump is committed whole
    head = multi.report["head"]
    for name in SERVICES:
        svc = multi.service(name)
        rendered = subprocess.run(
            [kubectl, "kustomize", str(multi.repo.path / "deployments" / name)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        images = [line.strip() for line in rendered.splitlines() if line.strip().startswith("image:")]
        assert images == [f"image: {svc['image']}:sha-{head}@{svc['digest']}"], name
        assert svc["digest"] not in {p["digest"] for p in svc["platforms"].values()}  # the index's


def test_warm_pushes_the_cook_of_each_platform(multi: MultiBuilt, tmp_path: Path) -> None:
    multi.repo.git("checkout", "-q", "-B", "warm", multi.report["head"])
    env = {"DOCKER_CONFIG": str(tmp_path)}
    res = run(["--repo", str(multi.repo.path), "warm", "--format", "json"], env=env)
    assert res.code == 0, res.stderr[-4000:]
    info = res.json()
    assert info["status"] == "pushed" and list(info["platforms"]) == list(BOTH)
    api = RegistryAPI(multi.registry.addr, None)
    for name, cook in info["platforms"].items():
        assert cook["status"] == "pushed" and cook["cook_step"] == "cached", name  # built by the session
        assert cook["key"] == multi.report["cooks"][name]["key"]
        found = api.manifest(f"{NAMESPACE}/buildctl-cache", f"cook-{cook['key']}")
        assert found is not None and found[0] == cook["digest"], name
    assert {k: info[k] for k in ("key", "image", "digest")} == {
        k: info["platforms"]["linux/amd64"][k] for k in ("key", "image", "digest")
    }
    again = run(["--repo", str(multi.repo.path), "warm", "--format", "json"], env=env)
    assert again.code == 0, again.stderr[-3000:]
    assert again.json()["status"] == "exists"
    assert {c["status"] for c in again.json()["platforms"].values()} == {"exists"}


def test_skip_existing_reuses_the_index(multi: MultiBuilt) -> None:
    multi.repo.git("checkout", "-q", "-B", "readme", multi.report["head"])
    multi.repo.write("README.md", "# The game platform\n\nA change no image sees.\n")
    head = multi.repo.commit("docs: a README")
    args = ["build", "--service", "chat-service", "--skip-existing", "--push", "--format", "json"]
    res = run(["--repo", str(multi.repo.path), *args])
    assert res.code == 0, res.stderr[-4000:]
    data = res.json()
    svc = data["services"]["chat-service"]
    before = multi.service("chat-service")
    assert (svc["status"], svc["digest"]) == ("skipped", before["digest"])
    assert "skipped" in data["cook"] and not data["cooks"]  # no cook and no build ran
    found = RegistryAPI(multi.registry.addr, None).manifest(f"{NAMESPACE}/chat-service", f"sha-{head}")
    assert found is not None and found[:2] == (before["digest"], OCI_INDEX)


def test_a_runtime_base_of_the_wrong_platform_is_refused_and_nothing_is_pushed(multi: MultiBuilt) -> None:
    multi.repo.git("checkout", "-q", "-B", "wrong-base", multi.report["head"])
    text = multi.repo.read("workspace-map.toml")
    text, n = re.subn(
        r'(?m)^RUNTIME_IMAGE = "buildctl.local/debian:bookworm-runtime-arm64"$',
        f'RUNTIME_IMAGE = "{RUNTIME_IMAGE}"',  # the amd64 slim image, named for linux/arm64
        text,
    )
    assert n == 1
    multi.repo.write("workspace-map.toml", text)
    head = multi.repo.commit("map: an amd64 base for the arm64 images")
    res = run(
        ["--repo", str(multi.repo.path), "build", "--service", "auth-service", "--push", "--format", "json"]
    )
    assert res.code == 4, res.stderr[-4000:]
    svc = res.json()["services"]["auth-service"]
    assert svc["status"] == "failed" and svc["error"] == (
        "the image built for linux/arm64 is a linux/amd64 image: its runtime base (RUNTIME_IMAGE) is for linux/amd64"
    )
    assert '[auth-service] hint: set RUNTIME_IMAGE in [build.platform_args."linux/arm64"]' in res.stderr
    api = RegistryAPI(multi.registry.addr, None)
    repo = f"{NAMESPACE}/auth-service"
    assert api.manifest(repo, f"sha-{head}") is None and api.manifest(repo, f"sha-{head}-arm64") is None
