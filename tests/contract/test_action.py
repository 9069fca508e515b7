"""The composite action (action.yml): its outputs mirror `affected`, and its own scripts, run
with bash as the runner runs them, pass inputs as data and install from hash-pinned requirements."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gha import load, parse_github_output, run_step
from tests.support.git import CHECKOUT, Repo

ACTION = CHECKOUT / "action.yml"


def test_action_outputs_mirror_affected() -> None:
    doc = load(ACTION)
    assert doc["runs"]["using"] == "composite"
    assert set(doc["outputs"]) >= {"build", "deploy", "matrix", "any", "changes"}
    assert set(doc["inputs"]) >= {
        "command",
        "base",
        "format",
        "registry-token",
        "python-version",
        "working-directory",
    }


# --- the composite action's scripts, run the way the runner runs them -----------------------------


def action_script(step_id: str | None, name_prefix: str = "") -> str:
    for step in load(ACTION)["runs"]["steps"]:
        if "run" in step and (
            step.get("id") == step_id if step_id else step.get("name", "").startswith(name_prefix)
        ):
            script: str = step["run"]
            return script
    raise AssertionError(f"no step {step_id or name_prefix!r} in action.yml")


@pytest.fixture
def runner_temp(tmp_path: Path) -> Path:
    """RUNNER_TEMP with this venv standing in for the one the install step makes."""
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    buildctl = Path(sys.prefix) / "bin" / "buildctl"
    assert buildctl.exists(), f"run the tests with the venv that has buildctl installed ({buildctl})"
    (temp / "buildctl-venv").symlink_to(Path(sys.prefix))
    (temp / "output").touch()
    return temp


def run_inputs(**inputs: str) -> dict[str, str]:
    return {
        "BUILDCTL_COMMAND": inputs.get("command", "affected"),
        "BUILDCTL_BASE": inputs.get("base", ""),
        "BUILDCTL_FORMAT": inputs.get("format", ""),
        "BUILDCTL_ARGS": inputs.get("args", ""),
        "INPUT_REGISTRY_TOKEN": "",
        "INPUT_REGISTRY_USERNAME": "",
        "INPUT_REGISTRY_PASSWORD": "",
    }


def test_action_affected_on_a_push_event(mini: Repo, runner_temp: Path) -> None:
    before = mini.head()
    mini.append("svc/a/src/main.rs", "// touch a\n")
    mini.commit("touch a")
    event = runner_temp / "event.json"
    event.write_text(json.dumps({"before": before}))
    env = {
        **run_inputs(args="--head\nHEAD"),  # a multi-line `args:` input splits on the newline too
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
    }
    proc = run_step(action_script("run"), mini.path, runner_temp, env)
    assert proc.returncode == 0, proc.stderr
    outputs = parse_github_output((runner_temp / "output").read_text())
    assert json.loads(outputs["build"]) == ["a"]
    assert json.loads(outputs["changes"]) == ["a"]
    assert json.loads(outputs["matrix"])["include"][0]["service"] == "a"
    assert outputs["any"] == "true"
    assert outputs["a"] == "true" and outputs["b"] == "false"
    declared = set(load(ACTION)["outputs"])
    assert declared <= set(outputs), f"action outputs buildctl does not write: {declared - set(outputs)}"
    result = Path(outputs["result-file"])
    assert result.parent == runner_temp and json.loads(result.read_text()) == json.loads(proc.stdout)


def test_action_passes_base_and_format(mini: Repo, runner_temp: Path) -> None:
    base = mini.head()
    mini.append("svc/b/src/main.rs", "// touch b\n")
    mini.commit("touch b")
    proc = run_step(
        action_script("run"), mini.path, runner_temp, run_inputs(command="plan", base=base, format="json")
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["build"] == ["b"]


def test_action_runs_no_input_as_code(mini: Repo, runner_temp: Path) -> None:
    marker = mini.path / "pwned"
    evil = f"$(touch {marker}) `touch {marker}` ; touch {marker} && touch {marker}"
    for inputs in (
        run_inputs(args=evil),
        run_inputs(base=evil),
        run_inputs(command=f"affected; touch {marker}"),
    ):
        run_step(action_script("run"), mini.path, runner_temp, inputs)
        assert not marker.exists(), inputs


def test_action_refuses_an_unknown_command(mini: Repo, runner_temp: Path) -> None:
    proc = run_step(action_script("run"), mini.path, runner_temp, run_inputs(command="graph"))
    assert proc.returncode == 2
    assert "::error" in proc.stdout


def test_action_install_step_is_hash_pinned_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    """The real install (from PyPI, hashes required), as a fresh runner does it."""

    def tree() -> dict[str, float]:
        # setuptools would write build/ and buildctl.egg-info/ at the top of the source tree
        return {
            p.name: p.stat().st_mtime for p in CHECKOUT.iterdir() if p.name in ("build", "buildctl.egg-info")
        }

    temp = tmp_path / "runner-temp"
    temp.mkdir()
    before = tree()
    script = action_script(None, "Install buildctl")
    env = {"ACTION_PATH": str(CHECKOUT), "SETUP_PYTHON": sys.executable, "PIP_NO_CACHE_DIR": "1"}
    proc = run_step(script, tmp_path, temp, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "buildctl, version" in proc.stdout
    assert tree() == before, "installing buildctl wrote into the checkout"
    freeze = subprocess.run(
        [str(temp / "buildctl-venv" / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pinned = {
        re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
        for line in (CHECKOUT / "requirements" / "ci.txt").read_text().splitlines()
        if "==" in line
    }
    installed = {
        re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in freeze.splitlines() if "==" in line
    }
    assert installed - {"buildctl", "pip"} <= pinned, f"installed without a pin: {installed - pinned}"
