"""The detect step end to end: `--since-deployed` (each service compared from the commit its
kustomization deploys), and a plain `affected` command line, read without click."""

from __future__ import annotations

from pathlib import Path

import pytest

import buildctl.cli as cli_main
from tests.support.cli import affected, run
from tests.support.git import Repo


def set_tag(repo: Repo, svc: str, tag: str) -> None:
    text = repo.read(f"deployments/{svc}/kustomization.yaml")
    repo.write(f"deployments/{svc}/kustomization.yaml", text.replace("newTag: latest", f"newTag: {tag}"))


def test_each_service_from_its_deployed_commit(mini: Repo) -> None:
    deployed = mini.head()
    mini.write("svc/b/src/main.rs", "fn main() { /* not deployed yet */ }\n")
    mini.commit("b changed, its build failed and nothing was deployed")
    mini.write("svc/a/src/main.rs", "fn main() { /* deployed */ }\n")
    a_built = mini.commit("a changed and was deployed")
    set_tag(mini, "a", f"sha-{a_built}")
    set_tag(mini, "b", f"sha-{deployed}")
    set_tag(mini, "c", "latest")
    mini.commit("record the deployed tags")
    out = affected(mini, "--since-deployed")
    assert out["build"] == ["b", "c"]
    assert out["services"]["b"]["reasons"] == [
        f"since {deployed[:12]}: deploy: deployments/b/kustomization.yaml",
        f"since {deployed[:12]}: svc/b/src/main.rs -> b",
    ]
    assert out["services"]["c"]["reasons"] == [
        "since-deployed: tag 'latest' in deployments/c/kustomization.yaml names no commit (expected sha-<commit>)"
    ]
    # a's own kustomization changed since its commit: a redeploy, not a rebuild
    assert out["services"]["a"] == {
        "build": False,
        "deploy": True,
        "reasons": [f"since {a_built[:12]}: deploy: deployments/a/kustomization.yaml"],
    }


def test_unknown_deployed_commit_rebuilds(mini: Repo) -> None:
    set_tag(mini, "a", "sha-" + "f" * 40)
    set_tag(mini, "b", "sha-" + "e" * 40)
    set_tag(mini, "c", "sha-" + "d" * 40)
    mini.commit()
    out = affected(mini, "--since-deployed")
    assert out["build"] == ["a", "b", "c"]
    assert "is not in this clone" in out["services"]["a"]["reasons"][0]


# --- `affected` read without click ---------------------------------------------------------------------

CLICK = {"_NOT_THIS_COMPLETE": "1"}  # any completion variable: the command line goes through click


def test_a_plain_affected_answers_as_through_click(mini: Repo, tmp_path: Path) -> None:
    base = mini.head()
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.write("deployments/b/patch.yaml", "{}\n")
    mini.commit()
    repo = str(mini.path)
    lines = [
        ["--repo", repo, "affected"],
        ["--repo", repo, "affected", "--format", "json", "--base", base],
        [f"--repo={repo}", "affected", "--base=" + base, "--head", "HEAD", "--format=text"],
        ["--repo", repo, "--map", str(mini.path / "workspace-map.toml"), "affected", "--since-deployed"],
        ["--repo", repo, "affected", "--uncommitted", "--format", "json"],
        ["--repo", repo, "affected", "--base", "no-such-revision"],
        ["--repo", str(tmp_path / "nowhere"), "affected"],
    ]
    for args in lines:
        assert cli_main._plain_affected(args, {}) is not None, args
        assert run(args) == run(args, env=CLICK), args
    for fmt in ("github", "json"):
        outputs = []
        for env in ({}, CLICK):
            out, summary = tmp_path / f"out-{fmt}-{len(env)}", tmp_path / f"summary-{fmt}-{len(env)}"
            gha = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary), **env}
            res = run(["--repo", repo, "affected", "--base", base, "--format", fmt], env=gha)
            outputs.append(
                (
                    res,
                    out.read_text() if out.exists() else "",
                    summary.read_text() if summary.exists() else "",
                )
            )
        assert outputs[0][0] == outputs[1][0]
        assert outputs[0][1].count("<<") == outputs[1][1].count(
            "<<"
        )  # the same outputs, each with its own delimiter
        assert outputs[0][2] == outputs[1][2]


@pytest.mark.parametrize(
    "args",
    [
        ["affected", "--help"],
        ["-h", "affected"],
        ["--version"],
        ["affected", "--format", "yaml"],
        ["affected", "--uncommitted", "--head", "HEAD"],
        ["affected", "--base", "a", "--base", "b"],
        ["affected", "--base"],
        ["affected", "--base="],
        ["affected", "--", "x"],
        ["affected", "extra"],
        ["affected", "--uncommitted=1"],
        ["affected", "--repo", "."],
        ["--repo", ".", "plan"],
        ["--repo", "pyproject.toml", "affected"],  # click says a file is no directory
        ["--map", "tests", "affected"],  # and a directory no map
    ],
)
def test_anything_else_goes_through_click(args: list[str]) -> None:
    assert cli_main._plain_affected(args, {}) is None
    assert cli_main._plain_affected(["affected"], {"_BUILDCTL_COMPLETE": "bash_source"}) is None
