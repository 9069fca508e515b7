"""What one builder has and the other lacks, on the real engine: BuildKit's build secrets, which
reach one `RUN` and no layer, image history or configuration; the classic builder refusing them.

A service built from a Dockerfile of the test's own (no compiler: the point is the secret), in
the mini workspace, pushed nowhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from buildctl.build.buildkit import choose
from tests.support.cli import run
from tests.support.docker import RUNTIME_IMAGE, ImageLedger
from tests.support.git import Repo

pytestmark = pytest.mark.timeout(600)

SECRET = "cargo-registry-token-3f9a1c77e0b24d"  # a value only this test knows
DOCKERFILE = f"""\
ARG RUNTIME_IMAGE={RUNTIME_IMAGE}
FROM ${{RUNTIME_IMAGE}} AS cook
# The secret is there for this RUN only: its digest proves it was read.
RUN --mount=type=secret,id=registry_token \\
    sha256sum /run/secrets/registry_token | cut -d' ' -f1 > /token.sha256
FROM cook AS runtime
ARG SERVICE_NAME
ARG REVISION=""
LABEL org.opencontainers.image.revision="${{REVISION}}"
"""


@pytest.fixture
def secretive(mini: Repo, base_images: dict[str, str], image_ledger: ImageLedger) -> Repo:
    mini.write("Dockerfile.secret", DOCKERFILE)
    text = mini.read("workspace-map.toml").replace(
        "[workspace]\n", '[workspace]\ndockerfile = "Dockerfile.secret"\n', 1
    )
    text += '\n[build.secrets]\nregistry_token = { env = "TEST_REGISTRY_TOKEN" }\n'
    mini.write("workspace-map.toml", text)
    mini.commit("a service whose build reads a secret")
    return mini


def test_a_buildkit_secret_reaches_its_run_and_nothing_else(secretive: Repo, docker_engine: Any) -> None:
    res = run(
        [
            "--repo",
            str(secretive.path),
            "build",
            "--builder",
            "buildkit",
            "--service",
            "b",
            "--format",
            "json",
            "-v",
        ],
        env={"TEST_REGISTRY_TOKEN": SECRET},
    )
    assert res.code == 0, res.stderr[-4000:]
    data = res.json()
    assert data["builder"]["kind"] == "buildkit"
    image = data["services"]["b"]["platforms"]["linux/amd64"]["image_id"]
    try:
        # The RUN read the value: its digest is in the image...
        container = docker_engine.create_container(image, command=["/nonexistent"])
        try:
            stream, _ = docker_engine.get_archive(container, "/token.sha256")
            import io
            import tarfile

            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.extractfile("token.sha256")
                assert member is not None
                digest = member.read().decode().strip()
        finally:
            docker_engine.remove_container(container, force=True)
        assert digest == hashlib.sha256(SECRET.encode()).hexdigest()
        # ...and the value itself is nowhere: not in the history, the configuration, the log.
        history = subprocess.run(
            ["/usr/bin/docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
        ).stdout
        assert "registry_token" in history  # the mount is named...
        assert SECRET not in history  # ...never its value
        assert SECRET not in json.dumps(docker_engine.inspect_image(image))
        assert SECRET not in res.stdout and SECRET not in res.stderr
    finally:
        docker_engine.remove_image(image, force=True)


def test_auto_takes_the_embedded_buildkit_through_debians_docker_cli_here() -> None:
    """This machine: Debian's 20.10 client drives the engine's embedded BuildKit; the newer client
    first on PATH wants buildx and has none."""
    debian = Path("/usr/bin/docker")
    assert debian.is_file(), "Debian's docker.io client is missing (scripts/setup.sh installs docker.io)"
    choice = choose("auto", os.environ)
    assert (choice.kind, choice.via) == ("buildkit", "docker-cli"), choice
    assert choice.cli is not None and Path(choice.cli).resolve() == debian.resolve()
    assert "DOCKER_BUILDKIT=1" in choice.why and "no buildx" in choice.why
    assert not choice.registry_cache  # the embedded BuildKit exports no registry cache


def test_the_classic_builder_refuses_build_secrets(secretive: Repo) -> None:
    res = run(
        ["--repo", str(secretive.path), "build", "--builder", "classic", "--service", "b"],
        env={"TEST_REGISTRY_TOKEN": SECRET},
    )
    assert res.code == 1
    assert "[build] secrets (registry_token) need BuildKit, and the builder is classic" in res.stderr
    assert "the classic builder has no build secrets" in res.stderr
    assert "cook " not in res.stderr  # refused before anything was built


def test_a_secret_from_an_unset_variable_is_refused_by_name(secretive: Repo) -> None:
    res = run(["--repo", str(secretive.path), "build", "--builder", "buildkit", "--service", "b"], env={})
    assert res.code == 1, res.stderr
    assert "cook " not in res.stderr  # refused before anything was built
    assert (
        "build secret 'registry_token' comes from the environment variable TEST_REGISTRY_TOKEN, which is not set"
        in res.stderr
    )
