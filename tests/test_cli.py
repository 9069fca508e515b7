"""The command line itself: help with examples for every command, version, graph formats, check."""

from __future__ import annotations

import json

import pytest

from buildctl import __version__
from tests.helpers import Repo, run

COMMANDS = ["affected", "plan", "graph", "explain", "check"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    res = run([command, "--help"])
    assert res.code == 0
    assert "Examples:" in res.stdout and f"buildctl {command}" in res.stdout


def test_version() -> None:
    res = run(["--version"])
    assert res.code == 0 and res.stdout.strip() == f"buildctl, version {__version__}"


def test_graph_formats_mark_affected(mini: Repo) -> None:
    base = mini.head()
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.commit()
    data = json.loads(run(["--repo", str(mini.path), "graph", "--base", base]).stdout)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert {n for n, v in nodes.items() if v["affected"]} == {"util", "a", "c-bin"}
    assert {n for n, v in nodes.items() if v["build"]} == {"a", "c-bin"}
    edges = {(e["source"], e["target"], e["kind"]) for e in data["edges"]}
    assert ("a", "testkit", "dev") in edges and ("a", "util", "normal") in edges
    dot = run(["--repo", str(mini.path), "graph", "--format", "dot", "--base", base]).stdout
    assert '"a" -> "testkit" [style=dashed];' in dot and '"util" [label="util", style=filled' in dot
    mermaid = run(["--repo", str(mini.path), "graph", "--format", "mermaid", "--base", base]).stdout
    assert (
        mermaid.startswith("graph LR\n")
        and "class n_a build;" in mermaid
        and "class n_util affected;" in mermaid
    )


def test_explain_lists_every_chain(mini: Repo) -> None:
    base = mini.head()
    mini.write("libs/core/src/lib.rs", "pub fn core() { }\n")
    mini.commit()
    out = run(["--repo", str(mini.path), "explain", "c", "--base", base]).stdout
    assert "- libs/core/src/lib.rs -> core -> c-bin" in out
    assert "    core -> c-bin\n    core -> util -> c-bin\n" in out
    assert "builds from 2 workspace crate(s): core, util" in out


def test_check_reports_problems(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\n[services.util]\n[services.b]\n")
    mini.remove("deployments/b/kustomization.yaml")
    res = run(["--repo", str(mini.path), "check"])
    assert res.code == 1
    assert (
        "error: workspace-map.toml:2: service 'util' maps to crate 'util', a library: it has no binary to ship"
        in res.stderr
    )
    assert (
        "error: deployments/b/kustomization.yaml: service 'b': deployments/b/kustomization.yaml does not exist"
        in res.stderr
    )
    assert (
        "warning: svc/c/Cargo.toml: crate 'c-bin' (svc/c) has a binary but no service maps it" in res.stderr
    )
    assert "warning: workspace-map.toml: no [workspace] registry" in res.stderr
    assert "libs/excluded/Cargo.toml" in res.stderr  # unowned files: the backstop


def test_check_json_and_strict(mini: Repo) -> None:
    res = run(["--repo", str(mini.path), "check", "--format", "json"])
    assert res.code == 0
    assert res.json() == {
        "ok": True,
        "findings": [
            {
                "level": "warning",
                "message": "3 file(s) owned by no crate, rule or input (a change to one rebuilds every service): "
                "libs/excluded/Cargo.toml, libs/excluded/src/lib.rs, workspace-map.toml",
                "file": "workspace-map.toml",
                "line": None,
            }
        ],
    }
    assert run(["--repo", str(mini.path), "check", "--strict"]).code == 1
