"""A plan's build as data: the cook of each platform, and each service's images, pushes and
image indexes, as the plan shows them and the dry run prints them."""

from __future__ import annotations

import re

from tests.support.cli import run
from tests.support.git import Repo

BOTH = ("linux/amd64", "linux/arm64")


def test_plan_shows_the_platforms_of_each_service(mini: Repo) -> None:
    base = mini.head()
    text = mini.read("workspace-map.toml").replace(
        "[workspace]\n", '[workspace]\nplatforms = ["linux/amd64", "linux/arm64"]\n', 1
    )
    mini.write("workspace-map.toml", text)
    mini.write("svc/b/src/main.rs", "fn main() { }\n")
    head = mini.commit()

    data = run(["--repo", str(mini.path), "plan", "--base", base, "--format", "json"]).json()
    assert data["services"]["b"]["platforms"] == list(BOTH)
    out = run(["--repo", str(mini.path), "plan", "--base", base]).stdout
    image = "127.0.0.1:5000/team/b"
    # The same steps `build` takes: the fp-<fingerprint> tag names the index too.
    assert re.search(
        "  platforms: linux/amd64, linux/arm64\n"
        f"  push   {re.escape(image)}:sha-{head}-amd64\n"
        f"  push   {re.escape(image)}:sha-{head}-arm64\n"
        f"  index  {re.escape(image)}:sha-{head}\n"
        f"  index  {re.escape(image)}:fp-[0-9a-f]{{24}}\n"
        f"  bump   deployments/b/kustomization.yaml -> sha-{head}\n",
        out,
    ), out


def test_dry_run_cross_compiles_arm64_with_its_own_cook(mini: Repo) -> None:
    text = mini.read("workspace-map.toml").replace(
        "[workspace]\n", '[workspace]\nplatforms = ["linux/amd64", "linux/arm64"]\n', 1
    )
    text += (
        '\n[build]\nargs = { CHEF_IMAGE = "chef:1" }\n'
        '[build.platform_args."linux/arm64"]\nCHEF_IMAGE = "chef-cross:1"\nRUNTIME_IMAGE = "base-arm64:1"\n'
    )
    mini.write("workspace-map.toml", text)
    head = mini.commit()
    # The classic builder has no platform arguments: buildctl names the build machine's platform
    # and the target's Rust triple itself.
    res = run(
        ["--repo", str(mini.path), "build", "--service", "b", "--push", "--dry-run", "--builder", "classic"]
    )
    assert res.code == 0, res.stderr
    lines = res.stdout.splitlines()
    cooks = [line for line in lines if "--target cook" in line]
    assert len(cooks) == 2 and len({re.search(r"-t (\S+)", c)[1] for c in cooks}) == 2  # type: ignore[index]
    assert cooks[0].endswith(" --build-arg CHEF_IMAGE=chef:1 --build-arg BUILD_PLATFORM=linux/amd64 .")
    assert "--build-arg CHEF_IMAGE=chef-cross:1 --build-arg RUNTIME_IMAGE=base-arm64:1 " in cooks[1]
    assert "--build-arg RUST_TARGET=aarch64-unknown-linux-gnu ." in cooks[1]
    image = "127.0.0.1:5000/team/b"
    builds = [line for line in lines if "--target runtime" in line]
    assert builds[0].endswith(f"-t {image}:sha-{head}-amd64 .") and "RUST_TARGET" not in builds[0]
    assert builds[1].endswith(f"-t {image}:sha-{head}-arm64 .") and "RUST_TARGET=aarch64" in builds[1]
    assert f"docker push {image}:sha-{head}-amd64" in lines
    assert f"docker push {image}:sha-{head}-arm64" in lines
    index = [line for line in lines if line.startswith("# OCI image index")]
    assert index[0] == (
        f"# OCI image index {image}:sha-{head} = {image}:sha-{head}-amd64 (linux/amd64), "
        f"{image}:sha-{head}-arm64 (linux/arm64)"
    )
    assert len(index) == 2 and index[1].startswith(f"# OCI image index {image}:fp-")

    # BuildKit is told the platform and works out the target itself; its cooks differ from the
    # classic builder's (a cook is a cache only to the builder that made it).
    bk = run(
        ["--repo", str(mini.path), "build", "--service", "b", "--push", "--dry-run", "--builder", "buildkit"]
    )
    assert bk.code == 0, bk.stderr
    bk_lines = bk.stdout.splitlines()
    assert bk_lines[1].startswith("# builder: buildkit"), bk_lines[1]
    bk_cooks = [line for line in bk_lines if "--target cook" in line]
    assert ["--platform linux/amd64" in bk_cooks[0], "--platform linux/arm64" in bk_cooks[1]] == [True, True]
    assert all("RUST_TARGET" not in line and "BUILD_PLATFORM" not in line for line in bk_lines)
    assert all("--build-arg BUILDKIT_INLINE_CACHE=1" in line for line in bk_cooks)
    assert {re.search(r"-t (\S+)", c)[1] for c in bk_cooks}.isdisjoint(  # type: ignore[index]
        {re.search(r"-t (\S+)", c)[1] for c in cooks}  # type: ignore[index]
    )
    assert f"docker push {image}:sha-{head}-arm64" in bk_lines
