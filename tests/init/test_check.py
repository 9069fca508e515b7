"""`check`: the map against the workspace and the deployments, as findings."""

from __future__ import annotations

from tests.support.cli import run
from tests.support.git import Repo


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
