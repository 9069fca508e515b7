"""The crate graph: dev-dependencies never reach an image, cycles are refused, and the exports
(JSON, DOT, Mermaid) mark what a change affects."""

from __future__ import annotations

import json

from tests.support.cli import change, cli, fails, refused, run
from tests.support.git import Repo


def test_dev_dependency_never_rebuilds(mini: Repo) -> None:
    out = change(mini, {"libs/testkit/src/lib.rs": "pub fn kit() { }\n"})
    assert out["build"] == [] and out["services"] == {}


def test_path_dependency_cycle(mini: Repo) -> None:
    mini.write(
        "libs/core/Cargo.toml",
        mini.read("libs/core/Cargo.toml") + '\n[dependencies]\nutil = { path = "../util" }\n',
    )
    mini.commit()
    assert "libs/util/Cargo.toml: path dependency cycle: util -> core -> util" in fails(mini, "affected")
    cache = {"BUILDCTL_CACHE_DIR": str(mini.path.parent / "cache")}
    for when in ("derived", "read back"):  # a cached model's graph is checked as a derived one's
        assert when == "derived" or list((mini.path.parent / "cache").rglob("workspace-*.json"))
        refused(
            cli(mini, "affected", env=cache),
            "libs/util/Cargo.toml: path dependency cycle: util -> core -> util",
        )


def test_dev_dependency_cycle_is_fine(mini: Repo) -> None:
    mini.write(
        "libs/core/Cargo.toml",
        mini.read("libs/core/Cargo.toml") + '\n[dev-dependencies]\nutil = { path = "../util" }\n',
    )
    mini.commit()
    assert run(["--repo", str(mini.path), "affected"]).code == 0


def test_a_cycle_through_an_inherited_build_dependency(mini: Repo) -> None:
    mini.write(
        "libs/core/Cargo.toml",
        mini.read("libs/core/Cargo.toml") + "\n[build-dependencies]\nutil = { workspace = true }\n",
    )
    mini.commit()
    refused(cli(mini, "affected"), "path dependency cycle: ", "core -> util", "hint: cargo refuses")


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
