"""Real git repositories and Cargo workspaces in tmp dirs, and an in-process CLI runner."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildctl.cli import main

CHECKOUT = Path(__file__).resolve().parent.parent

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV, "HOME": str(cwd)},
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@dataclass
class Repo:
    path: Path

    @classmethod
    def init(cls, path: Path, branch: str = "main") -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", branch)
        git(path, "config", "user.name", "Test")
        git(path, "config", "user.email", "test@example.com")
        git(path, "config", "commit.gpgsign", "false")
        return cls(path)

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def write(self, rel: str, text: str) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")

    def append(self, rel: str, text: str) -> None:
        with (self.path / rel).open("a", encoding="utf-8") as fh:
            fh.write(text)

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")

    def remove(self, rel: str) -> None:
        p = self.path / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


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
    return Result(code, out.getvalue(), err.getvalue())


def affected(repo: Repo, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    res = run(["--repo", str(repo.path), "affected", "--format", "json", *args], env=env)
    assert res.code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def copy_monorepo(dest: Path) -> Repo:
    """A scratch git copy of this checkout's monorepo files (tracked and untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = os.fsdecode(raw)
        src = CHECKOUT / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    repo = Repo.init(dest)
    repo.commit("monorepo")
    return repo
