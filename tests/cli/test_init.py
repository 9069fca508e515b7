"""`buildctl init` as a command: where it writes, never over a map without --force, the options
that need --from-workflow, and a refused init that writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import refused, run
from tests.support.git import Repo, refs, snapshot, writes


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


def test_workflow_options_need_from_workflow(mini: Repo) -> None:
    res = run(["--repo", str(mini.path), "init", "--write-workflow"])
    assert res.code == 2 and "--step and --write-workflow go with --from-workflow" in res.stderr


# --- a refused init writes nothing ----------------------------------------------------------------

REFUSED_INITS = [
    (
        "member-manifest-not-toml",
        "libs/util/Cargo.toml",
        "[package\n",
        None,
        "libs/util/Cargo.toml:1: is not valid TOML",
    ),
    (
        "member-manifest-not-utf8",
        "libs/util/Cargo.toml",
        b"[package]\nname = '\xff'\n",
        None,
        "is not UTF-8 text",
    ),
    ("workflow-not-yaml", "wf.yaml", "on: [push\n", "wf.yaml", "is not valid YAML"),
    (
        "workflow-not-utf8",
        "wf.yaml",
        b"on: push\n# \xff\n",
        "wf.yaml",
        "cannot read the workflow: 'utf-8' codec",
    ),
    (
        "workflow-without-paths-filter",
        "wf.yaml",
        "on: push\njobs: {}\n",
        "wf.yaml",
        "no step uses dorny/paths-filter",
    ),
]


@pytest.mark.parametrize(
    ("case", "rel", "content", "workflow", "message"), REFUSED_INITS, ids=[c[0] for c in REFUSED_INITS]
)
def test_a_refused_init_leaves_the_tree_byte_identical(
    mini: Repo, case: str, rel: str, content: str | bytes, workflow: str | None, message: str
) -> None:
    mini.remove("workspace-map.toml")
    writes(rel, content)(mini)
    if workflow is None:
        writes("wf.yaml", "on: push\njobs: {}\n")(mini)
    mini.commit("no map yet")
    before, state = snapshot(mini.path), refs(mini)
    runs = [["init", "--from-workflow", str(mini.path / "wf.yaml"), "--write-workflow"]]
    if workflow is None:  # a broken workspace stops every form of init
        runs += [["init"], ["init", "--force"], ["--map", "elsewhere.toml", "init"]]
    for args in runs:
        refused(run(["--repo", str(mini.path), *args]), message)
        assert snapshot(mini.path) == before, f"{args} wrote something"
        assert refs(mini) == state
    assert not [p for p in snapshot(mini.path) if p.endswith(".tmp")]
