"""`buildctl init --from-workflow`: a dorny/paths-filter step migrated to buildctl, on this
monorepo's paths-filter workflow and on the mini workspace."""

from __future__ import annotations

import subprocess
from pathlib import Path

from buildctl.config import parse_map
from buildctl.init.workflow import install_lines
from tests.support.cli import run
from tests.support.gha import actionlint, load_yaml
from tests.support.git import Repo
from tests.support.monorepo import COMMITS, answers, compare_on_commits

INSTALL = "example/buildctl@0123456789abcdef0123456789abcdef01234567"


def install_run(*tail: str) -> str:
    """The `run:` of the step init writes: the pinned install, then `tail`."""
    return "\n".join([*install_lines(INSTALL), *tail]) + "\n"


def test_migration_from_the_paths_filter_workflow(legacy: tuple[Repo, Path]) -> None:
    repo, hand = legacy
    workflow = repo.path / ".github/workflows/legacy.yaml"
    original = workflow.read_text()

    # 1. without --write-workflow: the map, and the edit as a diff that applies
    res = run(["--repo", str(repo.path), "init", "--from-workflow", str(workflow), "--install", INSTALL])
    assert res.code == 0, res.stderr
    assert workflow.read_text() == original
    patch = res.stdout
    assert patch.startswith("--- a/.github/workflows/legacy.yaml\n+++ b/.github/workflows/legacy.yaml\n")
    report = res.stderr
    assert "filter 'graphics' -> graphics-gateway (its globs cover services/graphics-gateway/)" in report
    assert "filter 'shared' -> a buildctl filter of the same name (no service)" in report
    assert (
        "    redundant shared/**: the graph: auth-service builds from health-server, protocol; "
        "not from build-info, persistence-client, physics, test-support, world-core" in report
    )
    assert "    redundant Cargo.lock: the graph follows Cargo.lock per crate" in report
    assert "    redundant Dockerfile.service: [rules] build_all" in report
    assert "    input assets/world/**: 1 file(s) no crate or rule owns" in report
    assert report.count("    redundant ") == 9 * 5  # every glob but the asset one
    assert "  45 of 46 glob(s) redundant (the Cargo graph or the map covers them), 1 kept as inputs" in report
    assert "writes no" not in report  # every output the workflow reads is still written

    cfg = parse_map(repo.read("workspace-map.toml"), "workspace-map.toml")
    assert {n: s.inputs.patterns for n, s in cfg.services.items() if s.inputs} == {
        "world-state": ("assets/world/**",)
    }
    assert [(f.name, [r.glob for r in f.rules]) for f in cfg.filters] == [
        ("shared", ["shared/**", "Cargo.toml", "Cargo.lock", "Dockerfile.service"])
    ]
    assert not cfg.acknowledged.unowned  # the input covers the asset
    check = run(["--repo", str(repo.path), "check", "--strict"])
    assert check.code == 0, check.stderr

    # 2. with --write-workflow: the same edit, applied; and it passes actionlint
    res2 = run(
        [
            "--repo",
            str(repo.path),
            "init",
            "--force",
            "--from-workflow",
            str(workflow),
            "--write-workflow",
            "--install",
            INSTALL,
        ]
    )
    assert res2.code == 0, res2.stderr
    assert res2.stdout == patch
    edited = workflow.read_text()
    workflow.write_text(original)
    applied = subprocess.run(["git", "apply", "-"], cwd=repo.path, input=patch, text=True, check=False)
    assert applied.returncode == 0 and workflow.read_text() == edited
    lint = actionlint(workflow)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    before, after = load_yaml(original), load_yaml(edited)
    job = after["jobs"]["detect-changes"]
    assert job["steps"][0] == {"uses": "actions/checkout@v5", "with": {"fetch-depth": 0}}
    assert job["steps"][1] == {
        "name": "buildctl affected",
        "id": "filter",
        "run": install_run("buildctl affected --format github"),
    }
    assert job["steps"][2]["if"] == (
        "steps.filter.outputs.graphics-gateway == 'true' || steps.filter.outputs.shared == 'true'"
    )
    # job output names stay, so needs.detect-changes.outputs.<name> downstream still works
    assert job["outputs"] == {
        **before["jobs"]["detect-changes"]["outputs"],
        "graphics-gateway": "${{ steps.filter.outputs.graphics-gateway }}",
    }
    assert after["jobs"]["build-and-push"] == before["jobs"]["build-and-push"]
    assert after["jobs"]["update-manifests"] == before["jobs"]["update-manifests"]
    assert {k: v for k, v in after.items() if k != "jobs"} == {k: v for k, v in before.items() if k != "jobs"}

    # 3. the map works: the hand-written answers (its services; the kept filter is apart), the
    # asset input rebuilds only world-state, and the `shared` output is still written
    migrated = repo.read("workspace-map.toml")
    repo.write("workspace-map.toml", migrated.split("\n# paths-filter's filters")[0] + "\n")
    repo.commit("migrated, without the filter")
    built = compare_on_commits(repo, hand, COMMITS)
    assert built["shared crate"] == ["physics-service", "world-state"]
    repo.write("workspace-map.toml", migrated)
    base = repo.commit("migrated")
    repo.append("assets/world/terrain.json", "{}\n")
    head = repo.commit("new terrain")
    out = answers(repo, None, base, head)
    assert out["build"] == ["world-state"]
    assert out["services"]["world-state"]["reasons"] == [
        "input: assets/world/terrain.json (matches assets/world/**)"
    ]
    assert out["filters"] == {"shared": False}
    repo.append("shared/physics/src/lib.rs", "\n")
    assert answers(repo, None, head, repo.commit("shared"))["filters"] == {"shared": True}


# --- migration details, on the mini workspace ---------------------------------------------------

MINI_WORKFLOW = """\
on:
  pull_request:
jobs:
  changes:
    runs-on: ubuntu-latest
    outputs:
      gateways: ${{ steps.pf.outputs.gateways }}
      a: ${{ steps.pf.outputs.a }}
    steps:
      - name: Which services
        id: pf
        if: github.actor != 'dependabot[bot]'
        uses: dorny/paths-filter@v4
        with:
          base: ${{ github.event.pull_request.base.sha }}
          list-files: json
          filters: |
            a:
              - 'svc/a/**'
              - 'libs/**'
            gateways:
              - 'svc/b/**'
              - 'svc/c/**'
            excluded: ['libs/excluded/**']
            odd: ['!svc/**']
  use:
    needs: changes
    if: needs.changes.outputs.gateways == 'true'
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ needs.changes.outputs.a }}"
"""


def test_migration_details(mini: Repo) -> None:
    mini.remove("workspace-map.toml")
    mini.write(".github/workflows/pr.yaml", MINI_WORKFLOW)
    mini.write("libs/proto/a.proto", "x\n")
    mini.write("libs/proto/b.proto", "x\n")
    mini.commit("workflow")
    res = run(
        [
            "--repo",
            str(mini.path),
            "init",
            "--from-workflow",
            str(mini.path / ".github/workflows/pr.yaml"),
            "--write-workflow",
            "--install",
            INSTALL,
        ]
    )
    assert res.code == 0, res.stderr
    report = res.stderr
    # a partly covered glob is narrowed to what no crate owns
    assert (
        "    input libs/excluded/**, libs/proto/** (narrowed from libs/**): 4 file(s) no crate or rule owns; "
        "the rest: the graph: a builds from core, util; not from testkit" in report
    )
    # libs/excluded is not a workspace member: no crate owns its files
    assert "filter 'excluded' -> a buildctl filter of the same name (no service)" in report
    # c's binary is c-bin, so no deployment named it; the filter makes it a service
    assert "services (3): a, b, c-bin" in report
    assert "note: deployments/c/ looks like the overlay of crate c-bin (svc/c)" in report
    # in a filter over two services, each one's directory glob is its own
    assert "    [b] redundant svc/b/**: the graph: b builds from b, b-nested\n" in report
    assert "    [c-bin] redundant svc/c/**: the graph: c-bin builds from c-bin\n" in report
    assert "filter 'gateways' -> b, c-bin (its globs cover svc/b/, svc/c/)" in report
    kept = {f.name: f for f in parse_map(mini.read("workspace-map.toml"), "m").filters}
    assert kept["odd"].rules[0].negated and kept["odd"].rules[0].glob == "svc/**"  # kept as written
    assert "note: the paths-filter input 'list-files' has no buildctl equivalent and was dropped" in report
    assert "note: added a checkout step" in report
    cfg = parse_map(mini.read("workspace-map.toml"), "workspace-map.toml")
    assert cfg.services["a"].inputs.patterns == ("libs/excluded/**", "libs/proto/**")
    assert not cfg.services["b"].inputs and not cfg.services["c-bin"].inputs
    assert (
        "[services.c-bin]  # svc/c: filter 'gateways' of .github/workflows/pr.yaml covers its directory"
        in (mini.read("workspace-map.toml"))
    )

    wf = mini.path / ".github/workflows/pr.yaml"
    data = load_yaml(wf.read_text())
    job = data["jobs"]["changes"]
    assert job["outputs"]["gateways"] == (
        "${{ ((steps.pf.outputs.b == 'true' || steps.pf.outputs.c-bin == 'true') && 'true' || 'false') }}"
    )
    checkout, step = job["steps"]
    assert checkout["uses"] == "actions/checkout@v5" and checkout["with"]["fetch-depth"] == 0
    assert step["if"] == "github.actor != 'dependabot[bot]'" and step["id"] == "pf"
    assert step["env"] == {"PATHS_FILTER_BASE": "${{ github.event.pull_request.base.sha }}"}
    assert 'if [[ -n "$PATHS_FILTER_BASE" ]]; then args+=(--base "$PATHS_FILTER_BASE"); fi' in step["run"]
    lint = actionlint(wf)
    assert lint.returncode == 0, lint.stdout + lint.stderr
