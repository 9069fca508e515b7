"""What benchmarks/detect.py measures with: whole processes run one at a time from a small spawn
helper (wall time and peak RSS), interleaved so that load on the machine hits every command of a
case alike, and the git and logging helpers its parts share."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SPAWN_HELPER = Path(__file__).resolve().parent / "_spawn.py"


class BenchmarkError(Exception):
    """A failed generation step, a failed run, or a wrong answer from buildctl."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1")
    return env


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=clean_env(), check=False
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def git_bytes(repo: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=clean_env(), check=False)
    if proc.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def with_env(env: Mapping[str, str], argv: Sequence[str]) -> list[str]:
    """`argv` run with `env` added, through env(1): the spawn helper's own environment stays fixed."""
    return ["env", *(f"{k}={v}" for k, v in env.items()), *argv]


@dataclass(frozen=True)
class Sample:
    seconds: float
    max_rss_kib: int  # of the process or of its largest waited-for descendant (e.g. git)
    stdout: bytes
    stderr: bytes
    returncode: int


class Spawner:
    """Runs each measured process from a small helper (see _spawn.py for why), one at a time."""

    def __init__(self, python: str, pycache: Path | None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="buildctl-bench-io-"))
        env = clean_env()
        if pycache is not None:
            # Bytecode cached as an installed CLI has it, but outside the source tree.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        self.bytecode = "cached" if not env.get("PYTHONDONTWRITEBYTECODE") else "not cached (environment)"
        self._proc = subprocess.Popen(
            [python, "-I", "-S", str(SPAWN_HELPER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def run(self, argv: Sequence[str]) -> Sample:
        """Run one process to completion: wall time and peak RSS from os.wait4 in the helper."""
        out, err = self._dir / "stdout", self._dir / "stderr"
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(
            json.dumps({"argv": list(argv), "stdout": str(out), "stderr": str(err)}) + "\n"
        )
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise BenchmarkError(f"the spawn helper died (exit {self._proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise BenchmarkError(f"cannot run {argv[0]}: {reply['error']}")
        return Sample(
            float(reply["seconds"]),
            int(reply["maxrss_kib"]),
            out.read_bytes(),
            err.read_bytes(),
            int(reply["returncode"]),
        )

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Spawner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def checked(sample: Sample, what: str) -> Sample:
    if sample.returncode != 0:
        raise BenchmarkError(
            f"{what} exited with {sample.returncode}:\n{sample.stderr.decode(errors='replace')[-2000:]}"
        )
    return sample


def interpreter_of(script: Path) -> str:
    """The interpreter a console script runs with (its shebang), for a like-for-like floor."""
    first = script.read_bytes().split(b"\n", 1)[0].decode()
    if first.startswith("#!") and " " not in first[2:].strip():
        return first[2:].strip()
    return sys.executable


def editable(python: str) -> bool:
    """Whether `python` has buildctl installed in editable mode (`pip install -e`), whose import
    hook every start of the command loads: tens of milliseconds a cold run on CI never spends."""
    proc = subprocess.run(
        [python, "-c", "import site, sys; print('\\n'.join(site.getsitepackages()))"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirs = [Path(line) for line in proc.stdout.splitlines() if line]
    return any(any(d.glob("__editable__*buildctl*")) for d in dirs if d.is_dir())


def interleaved(
    spawner: Spawner, commands: Mapping[str, Sequence[str]], runs: int
) -> dict[str, list[Sample]]:
    """`runs` rounds, each running every command once, in an order that rotates from round to
    round: noise (and the page cache one command warms for the next) hits every command alike."""
    names = list(commands)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for r in range(runs):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(checked(spawner.run(commands[name]), name))
    return samples


def median_seconds(samples: Sequence[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def paired_ratio(tool: Sequence[Sample], baseline: Sequence[Sample]) -> float:
    """The median of the per-round ratios: each round's pair ran under the same load."""
    return statistics.median(t.seconds / b.seconds for t, b in zip(tool, baseline, strict=True))


def peak_mb(samples: Sequence[Sample]) -> float:
    return max(s.max_rss_kib for s in samples) / 1024
