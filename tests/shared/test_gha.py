"""GitHub Actions: the step outputs and summary, and annotations; a crafted file name never forges
an output, and never acts as a workflow command, in any output."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildctl import gha
from tests.support.cli import cli, refused, run
from tests.support.gha import ACTIONS, annotation_properties, parse_github_output, runner_commands
from tests.support.git import Repo


def github_run(repo: Repo, tmp_path: Path, base: str) -> tuple[dict[str, str], str, str, str]:
    out_file, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out_file), "GITHUB_STEP_SUMMARY": str(summary)}
    res = run(["--repo", str(repo.path), "affected", "--base", base, "--format", "github"], env=env)
    assert res.code == 0, res.stderr
    return parse_github_output(out_file.read_text()), summary.read_text(), res.stdout, res.stderr


def test_github_outputs(mini: Repo, tmp_path: Path) -> None:
    base = mini.head()
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.write("deployments/b/kustomization.yaml", mini.read("deployments/b/kustomization.yaml") + "# b\n")
    mini.commit()
    values, summary, _, _ = github_run(mini, tmp_path, base)
    assert values == {
        "build": '["a", "c"]',
        "deploy": '["a", "b", "c"]',
        "matrix": '{"include": [{"service": "a", "image": "127.0.0.1:5000/team/a"}, '
        '{"service": "c", "image": "127.0.0.1:5000/team/c"}]}',
        "any": "true",
        "base": base,
        "head": mini.head(),
        "changes": '["a", "c"]',
        "a": "true",
        "b": "false",
        "c": "true",
    }
    assert "| a | yes | libs/util/src/lib.rs -&gt; util -&gt; a |" in summary
    assert "| b | deploy only | deploy: deployments/b/kustomization.yaml |" in summary


def test_crafted_file_name_cannot_inject(mini: Repo, tmp_path: Path) -> None:
    base = mini.head()
    evil = "svc/b/src/x\nany=false\n::set-output name=any::false\n::error::pwned|<b>.rs"
    mini.write(evil, "// evil\n")
    mini.commit()
    values, summary, stdout, stderr = github_run(mini, tmp_path, base)
    assert set(values) == {"build", "deploy", "matrix", "any", "base", "head", "changes", "a", "b", "c"}
    assert values["any"] == "true" and values["build"] == '["b"]'
    for stream in (stdout, stderr):
        assert not any(line.startswith("::") for line in stream.splitlines())
    table_rows = [line for line in summary.splitlines() if line.startswith("| b ")]
    assert len(table_rows) == 1 and "<b>" not in summary and "\\|" in table_rows[0]


# --- file names in the diff never act as workflow commands ---------------------------------------

EVIL = [
    "svc/b/src/x\nany=false\n::set-output name=any::false\n::error::pwned|<b>.rs",
    "svc/b/src/##[error]legacy.rs",
    "svc/b/src/##[stop-commands]halt.rs",
    "svc/b/src/lead\n   ::warning file=x::indented.rs",
    "svc/b/src/cr\r::notice::return.rs",
    "svc/b/src/q\"u'o`te%0A%25::x,y.rs",
]


def _evil_commit(mini: Repo) -> str:
    base = mini.head()
    for name in EVIL:
        mini.write(name, "// evil\n")
    mini.commit()
    return base


def test_crafted_file_names_act_as_no_command_in_any_output(mini: Repo, tmp_path: Path) -> None:
    base = _evil_commit(mini)
    out_file, summary = tmp_path / "out", tmp_path / "summary.md"
    env = {**ACTIONS, "GITHUB_OUTPUT": str(out_file), "GITHUB_STEP_SUMMARY": str(summary)}
    for args in (
        ["affected"],
        ["affected", "--format", "json"],
        ["affected", "--format", "github"],
        ["plan"],
        ["plan", "--format", "json"],
        ["explain", "b"],
        ["graph", "--format", "mermaid"],
        ["build", "--dry-run"],
    ):
        res = cli(mini, *args, "--base", base, env=env)
        assert res.code == 0, (args, res.stderr)
        assert runner_commands(res.stdout + "\n" + res.stderr) == [], args
    values = parse_github_output(out_file.read_text())
    assert set(values) == {"build", "deploy", "matrix", "any", "base", "head", "changes", "a", "b", "c"}
    assert (values["build"], values["any"]) == ('["b"]', "true")
    rows = [line for line in summary.read_text().splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows] == ["| service", "| ---", "| b"]
    assert "<b>" not in summary.read_text()


@pytest.mark.parametrize("name", EVIL)
def test_an_annotation_names_a_crafted_file_exactly_and_nothing_else(name: str) -> None:
    line = gha.annotation("error", f"{name} is broken\n::warning::x", file=name, line=3)
    assert "\n" not in line and "\r" not in line
    assert runner_commands(line) == [line]
    assert annotation_properties(line) == {"file": name, "line": "3"}


def test_an_error_about_a_crafted_path_is_one_annotation(mini: Repo) -> None:
    """A member directory named like a command, with a broken manifest: the error names it inertly."""
    evil = "svc/x\n::warning::pwned ##[error]y"
    mini.write(f"{evil}/Cargo.toml", "[package\n")
    mini.commit()
    err = refused(cli(mini, "affected", env=ACTIONS), "is not valid TOML")
    commands = runner_commands(err)
    assert len(commands) == 1 and commands[0].startswith("::error ")
    assert annotation_properties(commands[0]) == {"file": f"{evil}/Cargo.toml", "line": "1"}
    assert "error: svc/x\\n::warning::pwned ##\\x5berror]y/Cargo.toml:1: is not valid TOML" in err
