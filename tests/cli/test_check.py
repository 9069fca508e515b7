"""`buildctl check`: JSON, --strict, and findings as GitHub Actions annotations."""

from __future__ import annotations

from tests.support.cli import cli, run
from tests.support.gha import ACTIONS, annotation_properties, runner_commands
from tests.support.git import Repo


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


def test_check_names_a_crafted_crate_directory_inertly(mini: Repo) -> None:
    evil = "svc/y\n::warning::pwned ##[error]z"
    mini.write(f"{evil}/Cargo.toml", '[package]\nname = "evil"\nversion = "0.1.0"\nedition = "2021"\n')
    mini.write(f"{evil}/src/main.rs", "fn main() {}\n")
    mini.commit()
    res = cli(mini, "check", env=ACTIONS)
    assert res.code == 0, res.stderr
    commands = runner_commands(res.stdout + res.stderr)
    assert {c.split(" ")[0] for c in commands} == {"::warning"}
    files = [annotation_properties(c).get("file") for c in commands]
    assert f"{evil}/Cargo.toml" in files
