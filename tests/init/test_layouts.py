"""`init` on the layouts buildctl's own repository is not (tests/fixtures/<layout>/): every
deployable found, the map passing `check --strict` as written, `affected` right on commits of
every kind (a file outside the build context builds nothing), every filter output kept by a
migration (read back from $GITHUB_OUTPUT), and Helm values bumped byte-preserving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from buildctl.config import parse_map
from tests.support.cli import affected, run
from tests.support.git import Repo
from tests.support.layouts import INSTALL, layout_repo


def _init(repo: Repo, *args: str) -> Any:
    res = run(["--repo", str(repo.path), "init", *args])
    assert res.code == 0, res.stderr
    check = run(["--repo", str(repo.path), "check", "--strict"])
    assert check.code == 0, check.stderr + check.stdout
    repo.commit("the map")
    return parse_map(repo.read("workspace-map.toml"), "workspace-map.toml")


def _built(repo: Repo, edit: dict[str, str]) -> tuple[list[str], list[str]]:
    base = repo.head()
    for path, text in edit.items():
        (repo.path / path).parent.mkdir(parents=True, exist_ok=True)
        with (repo.path / path).open("a", encoding="utf-8") as fh:
            fh.write(text)
    out = affected(repo, "--base", base, "--head", repo.commit())
    return out["build"], out["deploy"]


def test_a_build_arg_dockerfile_in_a_subfolder_with_helm_charts(tmp_path: Path) -> None:
    repo = layout_repo("build-arg-helm", tmp_path / "a")
    cfg = _init(repo)
    assert sorted(cfg.services) == ["api", "worker"]  # xtask: no workflow passes it
    assert cfg.acknowledged.not_services == {"xtask"}
    api = cfg.services["api"]
    assert (api.dockerfile, api.context, api.target, api.bin_arg) == (
        "containerfiles/Dockerfile",
        "",
        "runtime",
        "TARGETBINARY",
    )
    assert api.deploy.kind == "helm" and api.deploy.file == "charts/api/values.yaml"
    assert cfg.services["worker"].deploy.keys.digest == ""  # its chart has no digest key
    assert cfg.crate_inputs["gen"].patterns == ("contracts/**",)  # build.rs reads ../../contracts
    assert cfg.crate_inputs["api"].patterns == ("setup/api.yaml",)  # include_str!

    assert _built(repo, {"contracts/api.json": " "}) == (["api"], ["api"])  # gen -> api, not worker
    assert _built(repo, {"setup/api.yaml": "#\n"}) == (["api"], ["api"])
    assert _built(repo, {"crates/worker/src/main.rs": "//\n"}) == (["worker"], ["worker"])
    assert _built(repo, {"charts/api/values.yaml": "#\n"}) == ([], ["api"])  # redeploy only
    assert _built(repo, {"containerfiles/Dockerfile": "#\n"}) == (["api", "worker"], ["api", "worker"])
    assert _built(repo, {"crates/xtask/src/main.rs": "//\n"}) == ([], [])

    res = run(["--repo", str(repo.path), "bump", f"api=sha-{'c' * 40}@sha256:{'d' * 64}"])
    assert res.code == 0, res.stderr
    values = repo.read("charts/api/values.yaml")
    assert f'  tag: "sha-{"c" * 40}"\n  digest: "sha256:{"d" * 64}"\n' in values
    assert (
        values.startswith("# api's values\nreplicaCount: 2\nimage:\n")
        and "  pullPolicy: IfNotPresent\n" in values
    )


def test_per_service_dockerfiles(tmp_path: Path) -> None:
    repo = layout_repo("per-service-dockerfiles", tmp_path / "b")
    cfg = _init(repo)
    assert {n: (s.dockerfile, s.target) for n, s in cfg.services.items()} == {
        "api": ("docker/api/Dockerfile", "api"),
        "billing": ("docker/billing/Dockerfile", "billing"),
    }
    assert _built(repo, {"docker/billing/Dockerfile": "#\n"}) == (["billing"], ["billing"])
    assert _built(repo, {"config/api.toml": "#\n"}) == (["api"], ["api"])  # what its Dockerfile copies
    assert _built(repo, {"libs/common/src/lib.rs": "//\n"}) == (["api", "billing"], ["api", "billing"])
    steps = run(["--repo", str(repo.path), "build", "--all", "--dry-run", "--builder", "classic"])
    assert steps.code == 0, steps.stderr
    builds = [line for line in steps.stdout.splitlines() if line.startswith("docker build")]
    assert builds[0].startswith("docker build -f docker/api/Dockerfile --network host --target api ")
    assert builds[1].startswith("docker build -f docker/billing/Dockerfile --network host --target billing ")
    assert not any("--target cook" in line for line in builds)  # no cargo-chef stage: no cook


def test_a_workspace_in_a_subfolder_beside_a_frontend(tmp_path: Path) -> None:
    repo = layout_repo("subfolder-workspace", tmp_path / "c")
    cfg = _init(repo)
    assert (cfg.root, cfg.dockerfile, sorted(cfg.services)) == (
        "backend",
        "backend/Dockerfile",
        ["gateway", "indexer"],
    )
    assert {s.context for s in cfg.services.values()} == {"backend"}
    assert {s.deploy.kind for s in cfg.services.values()} == {"none"}
    assert _built(repo, {"frontend/package.json": " "}) == ([], [])  # outside the build context
    assert _built(repo, {"backend/crates/core/src/lib.rs": "//\n"}) == (["gateway", "indexer"], [])
    assert _built(repo, {"backend/migrations/0001.sql": "--\n"}) == (["gateway", "indexer"], [])
    res = run(["--repo", str(repo.path), "bump", "gateway=sha-1234567"])
    assert res.code == 0 and 'deploy = "none": built and pushed only' in res.stdout
    plan = run(
        ["--repo", str(repo.path), "build", "--service", "indexer", "--dry-run", "--builder", "classic"]
    )
    assert plan.code == 0, plan.stderr
    assert "(cd backend && docker build -f Dockerfile --network host --target runtime " in plan.stdout
    assert "--build-arg BIN=indexer" in plan.stdout


def test_a_composite_action_migration_keeps_every_output(tmp_path: Path) -> None:
    repo = layout_repo("composite-filters", tmp_path / "d")
    workflow = repo.path / ".github/workflows/ci.yml"
    cfg = _init(repo, "--from-workflow", str(workflow), "--write-workflow", "--install", INSTALL)
    assert [f.name for f in cfg.filters] == ["charts", "crates", "proto", "docker_workflow"]
    action = repo.read(".github/actions/changes/action.yml")
    assert "dorny/paths-filter" not in action and "shell: bash" in action and "buildctl affected" in action
    assert f"commit={INSTALL.split('@')[1]}" in action and "--require-hashes" in action

    def outputs(edit: dict[str, str]) -> dict[str, str]:
        base = repo.head()
        for path, text in edit.items():
            (repo.path / path).parent.mkdir(parents=True, exist_ok=True)
            (repo.path / path).write_text(text)
        head = repo.commit()
        out = tmp_path / f"out-{head[:8]}"
        res = run(
            ["--repo", str(repo.path), "affected", "--format", "github", "--base", base, "--head", head],
            env={"GITHUB_OUTPUT": str(out)},
        )
        assert res.code == 0, res.stderr
        lines = out.read_text().splitlines()
        return {lines[i].split("<<")[0]: lines[i + 1] for i in range(0, len(lines), 3)}

    got = outputs({".github/workflows/docker.yml": "on: push\njobs: {}\n"})
    assert {k: got[k] for k in ("charts", "crates", "proto", "docker_workflow", "api")} == {
        "charts": "false",
        "crates": "false",
        "proto": "false",
        "docker_workflow": "true",
        "api": "false",  # .github/** changes no image
    }
    assert got["changes"] == '["docker_workflow"]'
    got = outputs({"charts/umbrella/values.yaml": "a: 1\n"})
    assert (got["charts"], got["crates"]) == ("true", "false")
    got = outputs({"proto/new.proto": "x\n", "crates/proto/src/lib.rs": "//\n"})
    assert (got["proto"], got["crates"], got["api"]) == ("true", "true", "true")
    assert got["changes"] == '["api", "crates", "proto"]'
    repo.remove("proto/new.proto")  # a deletion is no `added|modified` change
    got = outputs({})
    assert got["proto"] == "false"


def test_several_workspaces_one_map_each(tmp_path: Path) -> None:
    # Shaped like a repository with a workspace per product (`api/`, `relay/`), a library crate
    # beside them that one uses by path, and other languages at the root.
    repo = layout_repo("several-workspaces", tmp_path / "e")
    res = run(["--repo", str(repo.path), "init"])
    assert res.code == 1 and "found several Cargo workspaces (api, relay)" in res.stderr
    assert "buildctl init --root api" in res.stderr
    bad = run(["--repo", str(repo.path), "init", "--root", "sdk"])
    assert bad.code == 1 and "--root 'sdk': no Cargo.toml with [workspace] there" in bad.stderr
    assert "workspaces in this repository: api, relay" in bad.stderr

    relay = ["--repo", str(repo.path), "--map", str(repo.path / "relay/workspace-map.toml")]
    res = run([*relay, "init", "--root", "relay"])
    assert res.code == 0, res.stderr
    check = run([*relay, "check", "--strict"])
    assert check.code == 0, check.stderr + check.stdout
    cfg = parse_map(repo.read("relay/workspace-map.toml"), "relay/workspace-map.toml")
    assert (cfg.root, sorted(cfg.services), cfg.services["relayd"].context) == ("relay", ["relayd"], "")
    # its Dockerfile copies sdk/ and relay/ alone: the rest of the root context is in no image
    assert not cfg.acknowledged.unowned
    repo.commit("the relay map")

    def built(edit: dict[str, str]) -> list[str]:
        base = repo.head()
        for path, text in edit.items():
            with (repo.path / path).open("a", encoding="utf-8") as fh:
                fh.write(text)
        res = run([*relay, "affected", "--format", "json", "--base", base, "--head", repo.commit()])
        assert res.code == 0, res.stderr
        return list(json.loads(res.stdout)["build"])

    assert built({"sdk/src/lib.rs": "//\n"}) == ["relayd"]  # a path dependency outside the workspace
    assert built({"api/crates/api/src/main.rs": "//\n"}) == []  # the other workspace
    assert built({"web/package.json": " ", "go.mod": "\n"}) == []  # copied by no Dockerfile
    assert built({"relay/Dockerfile": "#\n"}) == ["relayd"]


def test_binaries_built_outside_docker_and_chained_cargo_commands(tmp_path: Path) -> None:
    # Shaped like a repository whose per-image Dockerfiles copy `target/${PROFILE}/<bin>` built on
    # the host (one of them bundling two), and one RUN line that chains two `cargo build`s.
    repo = layout_repo("prebuilt-binaries", tmp_path / "f")
    cfg = _init(repo)
    assert {n: s.dockerfile for n, s in cfg.services.items()} == {
        "exec": "docker/exec.Dockerfile",
        "radius": "crates/radius/Dockerfile",  # the second command of the chain names it
        "sched": "docker/sched.Dockerfile",  # its own, not the bundle
    }
    assert cfg.services["radius"].target == "final"
    assert _built(repo, {"docker/sched-entrypoint.sh": "#\n"}) == (["sched"], [])
    assert _built(repo, {"docker/exec.Dockerfile": "#\n"}) == (["exec"], [])
    assert _built(repo, {"crates/shared/src/lib.rs": "//\n"}) == (["exec", "radius", "sched"], [])
