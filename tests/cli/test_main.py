"""The command line itself: help with examples for every command, the version, usage errors,
completion, and no parameter that takes a secret."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from buildctl import __version__
from buildctl.cli import COMMANDS, cli
from tests.support.cli import CONSOLE, run, shell
from tests.support.git import Repo

# The commands that only read (`buildctl.cli.COMMANDS` is every command).
READ_ONLY_COMMANDS = ["affected", "plan", "graph", "explain", "check"]


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    res = run([command, "--help"])
    assert res.code == 0
    assert "Examples:" in res.stdout and f"buildctl {command}" in res.stdout


def test_version() -> None:
    res = run(["--version"])
    assert res.code == 0 and res.stdout.strip() == f"buildctl, version {__version__}"


def test_usage_errors_exit_2(mini: Repo) -> None:
    res = run(["--repo", str(mini.path), "affected", "--format", "yaml"])
    assert res.code == 2 and "Invalid value for '--format'" in res.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_registered_command_has_help_with_an_example(command: str) -> None:
    res = run([command, "--help"])
    assert res.code == 0, res.stderr
    assert "Examples:" in res.stdout and f"buildctl {command}" in res.stdout


def test_version_from_the_console_script(tmp_path: Path) -> None:
    proc = shell("buildctl --version", tmp_path, tmp_path)
    assert proc.returncode == 0 and proc.stdout == f"buildctl, version {__version__}\n"


def test_bash_completion(tmp_path: Path) -> None:
    assert CONSOLE.exists(), f"no console script at {CONSOLE}: pip install -e ."
    source = shell("_BUILDCTL_COMPLETE=bash_source buildctl", tmp_path, tmp_path)
    assert source.returncode == 0, source.stderr
    assert "_buildctl_completion() {" in source.stdout
    assert "complete -o nosort -F _buildctl_completion buildctl" in source.stdout
    # what the function asks for when a user types `buildctl in<TAB>` and `buildctl init --fr<TAB>`
    words = shell(
        'COMP_WORDS="buildctl in" COMP_CWORD=1 _BUILDCTL_COMPLETE=bash_complete buildctl', tmp_path, tmp_path
    )
    assert words.returncode == 0 and "plain,init" in words.stdout.splitlines()
    options = shell(
        'COMP_WORDS="buildctl init --fr" COMP_CWORD=2 _BUILDCTL_COMPLETE=bash_complete buildctl',
        tmp_path,
        tmp_path,
    )
    assert "plain,--from-workflow" in options.stdout.splitlines()
    # and bash itself accepts the function and completes with it
    script = (
        'eval "$(_BUILDCTL_COMPLETE=bash_source buildctl)"\n'
        'COMP_WORDS=(buildctl ex); COMP_CWORD=1; _buildctl_completion buildctl; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = shell(script, tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["explain"]


def test_no_option_or_argument_takes_a_secret() -> None:
    """Tokens come from the environment or docker's credential store: no parameter carries one."""
    ctx = click.Context(cli)
    params = [("buildctl", p) for p in cli.params]
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        params += [(name, p) for p in command.params]
    assert len(params) > 40
    secretive = re.compile(r"pass|token|secret|cred|auth|login|key", re.I)
    for command_name, param in params:
        names = [
            param.name or "",
            *param.opts,
            *param.secondary_opts,
            str(getattr(param, "envvar", "") or ""),
        ]
        assert not any(secretive.search(n) for n in names), (command_name, names)
        assert not getattr(param, "hide_input", False) and not getattr(param, "prompt", None), command_name
