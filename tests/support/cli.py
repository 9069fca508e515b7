"""Running buildctl: in-process through the console script's own entry point (`run` and the
helpers on it), or as the console script in a shell (`shell`).

Every in-process run's output goes through the secret scan (tests.support.secret_scan)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from buildctl.cli import main
from tests.support import secret_scan
from tests.support.git import GIT_ENV, Repo

BIN = Path(sys.executable).parent  # the venv that runs the tests, with its `buildctl` console script
CONSOLE = BIN / "buildctl"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@contextlib.contextmanager
def _environ(env: Mapping[str, str] | None) -> Iterator[None]:
    saved = dict(os.environ)
    # A CI runner's own GitHub variables must not leak into the tests' event handling.
    for key in [k for k in os.environ if k.startswith("GITHUB_")]:
        del os.environ[key]
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run(args: Sequence[str], env: Mapping[str, str] | None = None) -> Result:
    """Run the CLI in-process, through the same entry point and error handler as the console script."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    result = Result(code, out.getvalue(), err.getvalue())
    # What the CLI printed never reaches a report's captured sections: scan it here.
    secret_scan.scan(result.stdout, "buildctl stdout")
    secret_scan.scan(result.stderr, "buildctl stderr")
    return result


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`main(argv)` with the output read through `capsys`: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def cli(repo: Repo, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """`run` on `repo`."""
    return run(["--repo", str(repo.path), *args], env=env)


def affected(repo: Repo, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    res = run(["--repo", str(repo.path), "affected", "--format", "json", *args], env=env)
    assert res.code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def change(repo: Repo, edit: Mapping[str, str | None]) -> dict[str, Any]:
    """Commit `edit` (path → new text, None deletes) on top of HEAD; `affected` for that commit."""
    base = repo.head()
    for path, text in edit.items():
        if text is None:
            repo.remove(path)
        else:
            repo.write(path, text)
    head = repo.commit()
    return affected(repo, "--base", base, "--head", head)


def reasons(out: dict[str, Any], svc: str) -> list[str]:
    found: list[str] = out["services"][svc]["reasons"]
    return found


def refused(res: Result, *expected: str) -> str:
    """Exit 1, nothing on stdout, no traceback, and every expected fragment in the message."""
    assert res.code == 1, (res.code, res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr and "unexpected" not in res.stderr
    for fragment in expected:
        assert fragment in res.stderr, (fragment, res.stderr)
    return res.stderr


def fails(repo: Repo, *args: str) -> str:
    """`refused`, for a run of `args` on `repo`."""
    return refused(cli(repo, *args))


def shell(command: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`command` in bash as a reader would type it: this venv's console script first on PATH, no
    GITHUB_ or BUILDCTL_ variable of the runner's, and git's test identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "BUILDCTL_"))}
    env.update(GIT_ENV)
    env.update({"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "HOME": str(home), "NO_COLOR": "1"})
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
