"""A fresh runner's view: an engine that holds none of the session's images and no build cache,
and a registry that holds what earlier jobs pushed. This is what each job of a GitHub Actions
matrix starts from, so it is how the fan-out is tested: after the cook job (`warm`), every
build job takes the compiled dependencies from the registry and compiles none itself.

These tests throw away every cache the other tests read, so they run last (tests/e2e/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from buildctl.build.registry import RegistryAPI
from tests.e2e.conftest import BOTH, Built
from tests.support.docker import BASE_IMAGES, layers_on_engine, steps_cached
from tests.support.git import CHECKOUT

pytestmark = pytest.mark.timeout(1800)
FAN_OUT = "physics-service"  # one matrix job: every job of the fan-out starts as this one does


def empty_engine(b: Built) -> None:
    """Remove every image the session made (cooks, services, intermediate images) and BuildKit's
    whole build cache; the base images stay, as a runner's pulled bases would."""
    assert b.ledger.cleanup(b.api) == []
    bases = {b.api.inspect_image(ref)["Id"] for ref in BASE_IMAGES}
    assert not [
        ref
        for img in b.api.images(all=True)
        if img["Id"] not in bases  # the runtime bases' copies in the registry are pulled bases
        for ref in (img.get("RepoTags") or []) + (img.get("RepoDigests") or [])
        if ref.startswith(f"{b.registry.addr}/")
    ]
    subprocess.run(
        ["/usr/bin/docker", "builder", "prune", "--all", "--force"], check=True, capture_output=True
    )


def build_on_a_fresh_runner(b: Built, service: str, tmp: Path) -> tuple[dict[str, Any], str]:
    """`buildctl build --service <service>` in a process of its own, on an empty engine."""
    empty_engine(b)
    argv = [sys.executable, "-m", "buildctl", "--repo", str(b.repo.path), "build", "-v"]
    proc = subprocess.run(
        [*argv, "--builder", b.builder, "--service", service, "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_CONFIG": str(tmp), "PYTHONPATH": str(CHECKOUT)},
        timeout=1500,
    )
    b.ledger.record(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return json.loads(proc.stdout), proc.stderr


def test_after_the_cook_job_every_fresh_runner_compiles_no_dependency(built: Built, tmp_path: Path) -> None:
    # The cook job: `warm`, for every platform. The session's `build --push` already pushed each
    # cook it compiled, so the job finds them in the registry and builds nothing.
    built.branch("fan-out")
    warm = built.buildctl("warm", "--format", "json")
    assert warm.code == 0, warm.stderr[-4000:]
    assert {c["status"] for c in warm.json()["platforms"].values()} == {"exists"}
    compiled = {p: c["cook_step"] for p, c in built.report["cooks"].items()}
    assert compiled == dict.fromkeys(BOTH, "compiled")  # once per platform, in the whole session

    data, stderr = build_on_a_fresh_runner(built, FAN_OUT, tmp_path)
    assert data["services"][FAN_OUT]["status"] == "built"
    assert sorted(data["cooks"]) == sorted(BOTH)
    for platform, cook in data["cooks"].items():
        who = f"cook-{platform.split('/')[1]}"
        # The dependencies came from the registry (BuildKit's inline cache of the pushed cook
        # image): the cook step did not run, on an engine that had nothing.
        assert (cook["source"], cook["cook_step"]) == ("registry", "cached"), cook
        assert steps_cached(stderr, who, "cargo chef cook") == [True], platform
    # The service's own builds (one per platform) show the cook step, from the cache each time.
    cooked = steps_cached(stderr, FAN_OUT, "cargo chef cook")
    assert cooked and all(cooked), cooked
    compiled = steps_cached(stderr, FAN_OUT, "cargo build")
    assert compiled and not any(compiled), compiled  # the workspace's own crates: compiled, on this runner


def test_after_warm_an_empty_classic_engine_takes_the_cook_from_the_registry(classic: Built) -> None:
    classic.branch("warm-empty")
    classic.native_only()  # one platform's cook is the point; the classic builder is slow
    classic.repo.commit("this machine's platform only")
    info = classic.buildctl("warm", "--format", "json")
    assert info.code == 0, info.stderr[-4000:]
    cook = info.json()
    assert cook["status"] == "exists" and cook["platform"] == "linux/amd64"  # the session pushed it
    repository, _, tag = cook["image"].partition("/")[2].rpartition(":")
    api = RegistryAPI(classic.registry.addr, None)
    manifest = json.loads(api.manifest(repository, tag)[2])  # type: ignore[index]
    last_layer = json.loads(api.blob(repository, manifest["config"]["digest"]))["rootfs"]["diff_ids"][-1]
    empty_engine(classic)
    with pytest.raises(ImageNotFound):
        classic.api.inspect_image(cook["image"])
    assert last_layer not in layers_on_engine(classic.api)  # the compiled dependencies are gone

    res = classic.buildctl("build", "--service", "physics-service", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    data = res.json()
    assert list(data["cooks"]) == ["linux/amd64"]
    for platform, c in data["cooks"].items():
        # The classic builder pulls the whole cook image, then reads it as its cache.
        assert (c["source"], c["cook_step"]) == ("registry", "cached"), (platform, c)
    physics = data["services"]["physics-service"]
    assert physics["status"] == "built" and physics["cache"]["cook_step"] == "cached"
    pulled = classic.api.inspect_image(cook["image"])
    assert f"{cook['image'].rpartition(':')[0]}@{cook['digest']}" in pulled["RepoDigests"]  # the pushed one
