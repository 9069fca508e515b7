"""A dorny/paths-filter step and its filters: inline or in a file, the one step among several
(`--step`), and steps or filters that cannot be read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from buildctl.config import parse_map
from tests.init.test_migrate import INSTALL, install_run
from tests.support.cli import run
from tests.support.gha import actionlint, load_yaml
from tests.support.git import CHECKOUT, Repo

FIXTURES = CHECKOUT / "tests" / "fixtures" / "paths-filter"


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
            INSTALL,
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
    assert step["run"] == install_run("buildctl affected --format github")
    lint = actionlint(workflow)
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
            "--install",
            INSTALL,
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
            "--install",
            INSTALL,
        ]
    )
    assert res.code == 0, res.stderr
    assert "-          fetch-depth: 2\n+          fetch-depth: 0\n" in res.stdout
    assert "filter 'b' -> b (the same name)" in res.stderr
