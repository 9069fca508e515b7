"""What the Docker benchmarks share: one timed `buildctl` run whose images go into the ledger,
samples kept per scenario, and the checks that stop a run whose builds did not do what the
scenario says."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Timed:
    seconds: float
    data: Any


@dataclass
class Bench:
    buildctl: Path
    work: Path
    reg: Any  # tests.docker_support.Registry
    ledger: Any  # tests.docker_support.ImageLedger
    api: Any
    verbose: bool
    samples: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[Any, tuple[float, float]] = field(default_factory=dict)  # engine MB, pushed MB
    log_n: int = 0

    def run(self, repo: Path, *args: str) -> Timed:
        """One timed `buildctl ... --format json -v`; its new images go into the ledger."""
        self.log_n += 1
        out, err = self.work / f"{self.log_n:03d}.json", self.work / f"{self.log_n:03d}.log"
        argv = [str(self.buildctl), "--repo", str(repo), *args, "--format", "json", "-v"]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            start = time.perf_counter()
            proc = subprocess.run(argv, stdout=stdout, stderr=stderr, check=False)
            seconds = time.perf_counter() - start
        text = err.read_text(encoding="utf-8", errors="replace")
        self.ledger.record(text)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}; log {err}:\n{text[-4000:]}")
        if self.verbose:
            say(f"{seconds:7.1f}s  buildctl {' '.join(args)}")
        return Timed(seconds, json.loads(out.read_text(encoding="utf-8")))

    def add(self, key: str, seconds: float) -> None:
        self.samples.setdefault(key, []).append(seconds)

    def empty_engine(self) -> None:
        left = self.ledger.cleanup(self.api)
        if left:
            raise SystemExit("could not remove every image of the run:\n" + "\n".join(left))


def check(ok: bool, what: str, data: Any) -> None:
    if not ok:
        raise SystemExit(f"benchmark precondition failed: {what}\n{json.dumps(data, indent=2)[:4000]}")


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)
