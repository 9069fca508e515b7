"""The Cargo workspace as the manifests describe it: members, path dependencies, package names;
and the model against `cargo metadata`'s own reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cargo import cargo_view, our_view
from tests.support.cli import cli, fails, refused
from tests.support.gen import generate
from tests.support.gha import ACTIONS, runner_commands
from tests.support.git import Repo


def test_member_glob_matching_nothing(mini: Repo) -> None:
    mini.write(
        "Cargo.toml", mini.read("Cargo.toml").replace('"svc/b/nested"]', '"svc/b/nested", "plugins/*"]')
    )
    mini.commit()
    err = fails(mini, "affected")
    assert "Cargo.toml:3: [workspace] member 'plugins/*' matches no directory with a Cargo.toml" in err


def test_dangling_path_dependency(mini: Repo) -> None:
    mini.write("svc/a/Cargo.toml", mini.read("svc/a/Cargo.toml") + 'gone = { path = "../../libs/gone" }\n')
    mini.commit()
    err = fails(mini, "affected")
    assert "svc/a/Cargo.toml" in err and "points at 'libs/gone', which has no Cargo.toml" in err


def test_a_package_name_cargo_would_refuse(mini: Repo) -> None:
    """A name is printed in graphs, chains and summaries: it must be a Cargo name, nothing else."""
    mini.write(
        "libs/util/Cargo.toml", mini.read("libs/util/Cargo.toml").replace('"util"', '"u\\n::error::x"')
    )
    mini.commit()
    err = refused(
        cli(mini, "affected", env=ACTIONS),
        "libs/util/Cargo.toml:2: package name 'u\\n::error::x' is not a Cargo package name",
        "hint: use letters, digits, '-' and '_' only",
    )
    assert [c.split("::")[1].split(" ")[0] for c in runner_commands(err)] == ["error"]


def test_mini_matches_cargo(mini: Repo) -> None:
    assert our_view(mini.path) == cargo_view(mini.path)


@pytest.mark.parametrize("seed", range(8))
def test_generated_workspaces_match_cargo(tmp_path: Path, seed: int) -> None:
    gen = generate(seed)
    repo = Repo.init(tmp_path / f"gen{seed}")
    for path, text in gen.files.items():
        repo.write(path, text)
    repo.commit()
    assert our_view(repo.path) == cargo_view(repo.path)
