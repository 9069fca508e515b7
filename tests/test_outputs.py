"""Text, JSON and GitHub outputs; a crafted file name must not forge an output or a command."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import Repo, run


def parse_github_output(text: str) -> dict[str, str]:
    """The runner's file-command format: `name=value` or `name<<DELIM` … `DELIM`."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, value = line.split("=", 1)
            values[name] = value
            i += 1
    return values


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


def test_text_output_shows_chains_and_escapes_names(mini: Repo) -> None:
    base = mini.head()
    mini.write("libs/core/src/new\x1b[31m.rs", "// x\n")
    mini.commit()
    res = run(["--repo", str(mini.path), "affected", "--base", base])
    assert res.code == 0
    assert "\x1b" not in res.stdout
    assert "libs/core/src/new\\x1b[31m.rs -> core -> util -> a" in res.stdout
    assert re.search(r"^build \(3\): a, b, c$", res.stdout, re.M)


def test_plan_json_names_images_tags_and_bumps(mini: Repo) -> None:
    base = mini.head()
    mini.write("svc/b/src/main.rs", "fn main() { }\n")
    head = mini.commit()
    res = run(["--repo", str(mini.path), "plan", "--base", base, "--format", "json"])
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["build"] == ["b"]
    assert data["services"]["b"] == {
        "build": True,
        "deploy": True,
        "reasons": ["svc/b/src/main.rs -> b"],
        "crate": "b",
        "image": "127.0.0.1:5000/team/b",
        "tags": [f"sha-{head}"],
        "platforms": ["linux/amd64"],  # the map names none: this machine's
        "kustomization": "deployments/b/kustomization.yaml",
    }
    text = run(["--repo", str(mini.path), "plan", "--base", base]).stdout
    assert f"push   127.0.0.1:5000/team/b:sha-{head}" in text
    assert f"bump   deployments/b/kustomization.yaml -> sha-{head}" in text
