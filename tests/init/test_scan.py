"""`buildctl init` reads a repository and proposes its map: on a scratch copy of this monorepo
(whose hand-written map is removed, then compared with on realistic commits), on a workspace one
level down, and on repositories it cannot map."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildctl.config import parse_map
from tests.support.cli import run
from tests.support.git import Repo
from tests.support.monorepo import COMMITS, compare_on_commits


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
    repo.write("rust/proto/api.proto", 'syntax = "proto3";\n')  # copied with rust/: unowned
    repo.write("web/package.json", "{}\n")  # copied by no Dockerfile: ignored
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
        "# [services.migrate-tool]  # rust/crates/migrate-tool: Dockerfile builds every binary, and no "
        "k8s/apps/migrate-tool/ or chart names this one" in text
    )
    assert cfg.acknowledged.not_services == {"migrate-tool"}
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
        "web/**",
    }
    assert (
        '"web/**",  ' in text and "# no Dockerfile of a service copies it (they name what they copy)" in text
    )
    # left to rebuild everything, and said so on a line of its own, which `check --strict` takes
    assert cfg.acknowledged.unowned.patterns == ("rust/proto/**",)
    assert '    "rust/proto/**",  # rebuilds every service' in text
    check = run(["--repo", str(repo.path), "check", "--strict"])
    assert check.code == 0, check.stderr
    repo.write("workspace-map.toml", text.replace('    "rust/proto/**",  # rebuilds every service\n', ""))
    check = run(["--repo", str(repo.path), "check"])
    assert (
        "1 file(s) owned by no crate, rule or input" in check.stderr
        and "rust/proto/api.proto" in check.stderr
    )


def test_init_takes_a_binary_a_dockerfile_names(mini: Repo) -> None:
    mini.remove("workspace-map.toml")
    mini.remove("deployments/c")
    mini.write("docker/c.Dockerfile", "FROM rust\nRUN cargo build --release --bin c-bin\n")
    mini.commit("c has no overlay")
    res = run(["--repo", str(mini.path), "init"])
    assert res.code == 0, res.stderr
    assert 'note: service c-bin: no kustomization or chart names it: deploy = "none"' in res.stderr
    text = mini.read("workspace-map.toml")
    assert "[services.c-bin]  # svc/c: docker/c.Dockerfile builds it" in text
    assert 'dockerfile = "docker/c.Dockerfile"' in text and 'target = ""' in text
    assert "[services.a]  # svc/a: deployments/a/ exists" in text
    assert 'registry = "127.0.0.1:5000/team"' in text
    cfg = parse_map(text, "workspace-map.toml")
    assert cfg.services["c-bin"].deploy.kind == "none"  # built and pushed only, until it has an overlay
    check = run(["--repo", str(mini.path), "check", "--strict"])
    assert check.code == 0, check.stderr


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
