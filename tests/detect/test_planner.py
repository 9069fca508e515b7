"""The detect step end to end: `--since-deployed` (each service compared from the commit its
kustomization deploys), and a plain `affected` command line, read without click."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

import buildctl.cli as cli_main
from tests.support.cli import affected, run, run_main, shell
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


def test_helm_and_build_only_services_since_what_they_deploy(mini: Repo) -> None:
    """A Helm service is compared from the tag in its values file; one that deploys nothing
    (deploy = "none") from the range of the push, having no deployed commit."""
    text = mini.read("workspace-map.toml")
    text = text.replace(
        "[services.a]\n", '[services.a]\ndeploy = "helm"\nvalues = "charts/a/values.yaml"\n', 1
    )
    text = text.replace(
        '[services.c]\ncrate = "c-bin"\n', '[services.c]\ncrate = "c-bin"\ndeploy = "none"\n', 1
    )
    mini.write("workspace-map.toml", text)
    mini.write("charts/a/values.yaml", "image:\n  repository: 127.0.0.1:5000/team/a\n  tag: latest\n")
    deployed = mini.commit("a deploys with helm, c deploys nothing")
    set_tag(mini, "b", f"sha-{deployed}")
    mini.write(
        "charts/a/values.yaml", f"image:\n  repository: 127.0.0.1:5000/team/a\n  tag: sha-{deployed}\n"
    )
    mini.commit("record the deployed tags")
    mini.write("svc/a/src/main.rs", "fn main() { /* a changed */ }\n")
    mini.write("svc/c/src/main.rs", "fn main() { /* c changed */ }\n")
    mini.commit("a and c changed")
    out = affected(mini, "--since-deployed")
    assert out["build"] == ["a", "c"]
    since = f"since {deployed[:12]}: "
    # the values file is a's deployment, as b's kustomization is b's: a redeploy, not a rebuild
    assert out["services"]["a"]["reasons"] == [
        since + "deploy: charts/a/values.yaml",
        since + "svc/a/src/main.rs -> a",
    ]
    assert out["services"]["b"] == {
        "build": False,
        "deploy": True,
        "reasons": [since + "deploy: deployments/b/kustomization.yaml"],
    }
    assert [r.split(": ", 1)[1] for r in out["services"]["c"]["reasons"]] == ["svc/c/src/main.rs -> c-bin"]


def test_a_helm_chart_redeploys_the_services_whose_values_it_holds(mini: Repo) -> None:
    text = mini.read("workspace-map.toml")
    for svc in ("a", "b"):
        text = text.replace(
            f"[services.{svc}]\n", f'[services.{svc}]\ndeploy = "helm"\nvalues = "charts/app/{svc}.yaml"\n', 1
        )
    mini.write("workspace-map.toml", text)
    for svc in ("a", "b"):
        mini.write(f"charts/app/{svc}.yaml", "image:\n  tag: latest\n")
    mini.write("charts/app/templates/deployment.yaml", "kind: Deployment\n")
    base = mini.commit("a and b share one chart")
    mini.write("charts/app/templates/deployment.yaml", "kind: Deployment\nmetadata: {}\n")
    mini.commit("the chart changed")
    out = affected(mini, "--base", base)
    assert out["build"] == []
    assert {name: svc["reasons"] for name, svc in out["services"].items() if svc["deploy"]} == {
        "a": ["deploy: charts/app/templates/deployment.yaml"],
        "b": ["deploy: charts/app/templates/deployment.yaml"],
    }


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


def test_a_caller_in_this_process_keeps_its_garbage_collector(
    mini: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain `affected` runs without the cyclic collector; a caller of `main` gets it back.
    (click is replaced by a fault here only to prove the plain reading ran.)"""

    def not_plain(args: object) -> None:
        raise AssertionError(f"read through click: {args}")

    monkeypatch.setattr(cli_main, "_click_main", not_plain)
    assert gc.isenabled()
    assert run_main(capsys, "--repo", str(mini.path), "affected", "--format", "json")[0] == 0
    assert gc.isenabled()
    code, _, err = run_main(capsys, "--repo", str(mini.path), "affected", "--base", "no-such-revision")
    assert code == 1 and "no-such-revision" in err
    assert gc.isenabled()


def test_the_console_script_exits_after_a_plain_affected_with_its_output_whole(
    mini: Repo, tmp_path: Path
) -> None:
    """The console script skips the interpreter's teardown once a plain `affected` has written
    its output: stdout, the step outputs and the summary are all there, and the exit is 0."""
    base = mini.head()
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.commit()
    out, summary = tmp_path / "output", tmp_path / "summary.md"
    command = (
        f"GITHUB_OUTPUT={out} GITHUB_STEP_SUMMARY={summary} buildctl affected --base {base} --format github"
    )
    proc = shell(command, mini.path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    gha = {
        "GITHUB_OUTPUT": str(tmp_path / "in-process"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "in-process.md"),
    }
    expected = run(["--repo", str(mini.path), "affected", "--base", base, "--format", "github"], env=gha)
    assert proc.stdout == expected.stdout and json.loads(proc.stdout)["build"]
    assert out.read_text().count("<<") == (tmp_path / "in-process").read_text().count("<<")
    assert summary.read_text() == (tmp_path / "in-process.md").read_text()


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
