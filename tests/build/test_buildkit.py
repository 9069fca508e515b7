"""Which builder `auto` takes, on this machine and on machines it is not: the docker CLIs on PATH
decide.

What this machine's own CLIs give is in tests/e2e/test_builders.py. GitHub's runners have buildx;
some machines have no docker CLI at all, or only one too new to drive BuildKit without buildx.
Those cannot be produced here, so they are stand-in `docker` executables on a PATH of the test's own that answer `--version` and `buildx` as the real ones do
(the only fakes in this file).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from buildctl.build.buildkit import BuilderChoice, Invocation, choose
from buildctl.errors import BuildctlError


def fake_docker(folder: Path, *, version: str, buildx: str | None, driver: str = "docker") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "docker"
    buildx_part = (
        f'if [ "$1" = buildx ] && [ "$2" = version ]; then echo "github.com/docker/buildx {buildx} abc"; exit 0; fi\n'
        f'if [ "$1" = buildx ] && [ "$2" = inspect ]; then printf "Name: default\\nDriver: {driver}\\n"; exit 0; fi\n'
        if buildx
        else 'if [ "$1" = buildx ]; then echo "docker: unknown command: docker buildx" >&2; exit 1; fi\n'
    )
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "Docker version {version}, build 0000000"; exit 0; fi\n'
        + buildx_part
        + "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_auto_takes_buildx_first_and_knows_its_driver(tmp_path: Path) -> None:
    new = fake_docker(tmp_path / "a", version="28.2.2", buildx="v0.25.0", driver="docker-container")
    fake_docker(tmp_path / "b", version="20.10.24", buildx=None)
    choice = choose("auto", {"PATH": f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"})
    assert (choice.kind, choice.via, choice.driver, choice.cli) == (
        "buildkit",
        "buildx",
        "docker-container",
        str(new),
    )
    assert choice.registry_cache  # a driver of its own exports every stage's cache
    docker_driver = fake_docker(tmp_path / "c", version="28.2.2", buildx="v0.25.0", driver="docker")
    plain = choose("auto", {"PATH": str(docker_driver.parent)})
    assert plain.via == "buildx" and not plain.registry_cache


def test_without_any_cli_that_drives_buildkit_auto_falls_back_and_buildkit_refuses(tmp_path: Path) -> None:
    fake_docker(tmp_path / "new", version="28.2.2", buildx=None)
    env = {"PATH": str(tmp_path / "new")}
    choice = choose("auto", env)
    assert (choice.kind, choice.via) == ("classic", "sdk")
    assert "no buildx" in choice.why
    with pytest.raises(BuildctlError) as exc:
        choose("buildkit", env)
    assert "builder = buildkit, and no docker CLI here can drive BuildKit" in exc.value.message
    assert exc.value.hint is not None and "buildx" in exc.value.hint
    assert choose("classic", env).kind == "classic"
    assert choose("auto", {"PATH": str(tmp_path / "nowhere")}).kind == "classic"


def test_a_buildkit_invocation_is_the_command_the_dry_run_prints() -> None:
    inv = Invocation(
        "Dockerfile.service",
        "cook",
        "r/cache:cook-1",
        "linux/arm64",
        {"CHEF_IMAGE": "chef:1", "BUILDKIT_INLINE_CACHE": "1"},
        ("r/cache:cook-1",),
        (),
        (("token", "env:CARGO_TOKEN"), ("key", "file:secrets/key")),
    )
    cli = BuilderChoice("buildkit", "docker-cli", "test", "/usr/bin/docker")
    argv = inv.argv(cli, iidfile="/tmp/iid", secret_files={"token": "/tmp/s0"})
    assert argv[:2] == ["/usr/bin/docker", "build"]
    assert argv[argv.index("--platform") + 1] == "linux/arm64" and argv[argv.index("--target") + 1] == "cook"
    assert "id=token,src=/tmp/s0" in argv and "id=key,src=secrets/key" in argv
    assert argv[-3:] == ["--iidfile", "/tmp/iid", "."]
    # The dry run names where a secret comes from, never a value.
    assert inv.command(cli).startswith("DOCKER_BUILDKIT=1 /usr/bin/docker build ")
    assert "--secret 'id=token,src=<$CARGO_TOKEN>'" in inv.command(cli)
    buildx = BuilderChoice("buildkit", "buildx", "test", "docker", "docker-container")
    assert inv.argv(buildx)[:4] == ["docker", "buildx", "build", "--load"]
