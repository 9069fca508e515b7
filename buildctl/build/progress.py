"""What a build run shows while it works: per-service lines on a terminal, log groups in
GitHub Actions, and a summary table at the end. All of it on stderr."""

from __future__ import annotations

import sys
import threading
import uuid
from typing import TextIO

from buildctl import gha
from buildctl.build.results import BuildReport, ServiceResult
from buildctl.errors import printable

_MILESTONES = ("failed:", "hint:", "fingerprint ", "retrying", "building", "cook ")


class Progress:
    def __init__(self, *, verbose: bool, actions: bool, stream: TextIO | None = None) -> None:
        self.verbose = verbose
        self.actions = actions
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._buffers: dict[str, list[str]] = {}

    def log(self, who: str, line: str) -> None:
        with self._lock:
            if self.actions:
                # Parallel builds interleave; each service's log is printed whole, in its own group.
                self._buffers.setdefault(who, []).append(line)
            elif self.verbose or line.startswith(_MILESTONES):
                print(f"[{who}] {line}", file=self.stream, flush=True)

    def done(self, who: str, status: str) -> None:
        with self._lock:
            lines = self._buffers.pop(who, [])
            if self.actions:
                print(gha.group(f"{who}: {status}"), file=self.stream)
                # A build log line must not act as a workflow command, and indenting it does not
                # stop one (the runner trims leading blanks, and reads `##[cmd]` mid-line): the
                # log goes between ::stop-commands:: and an end token nobody can guess.
                token = f"buildctl-{uuid.uuid4().hex}"
                print(f"::stop-commands::{token}", file=self.stream)
                for line in lines:
                    print(line, file=self.stream)
                print(f"::{token}::", file=self.stream)
                print(gha.ENDGROUP, file=self.stream, flush=True)
            else:
                print(f"[{who}] {status}", file=self.stream, flush=True)

    def done_result(self, r: ServiceResult) -> None:
        self.done(r.service, r.status if not r.error else f"failed: {r.error}")

    def summary(self, report: BuildReport) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"buildctl build {report.head[:12]}")
        for column in ("service", "status", "image", "digest", "duration", "cook"):
            table.add_column(column)
        for name, r in sorted(report.services.items()):
            table.add_row(
                name,
                r.status if not r.error else f"{r.status}: {printable(r.error[:80])}",
                f"{r.image}:{r.tags[0]}" if r.image and r.tags else "-",
                (r.digest or "-")[:19],
                f"{r.duration:.1f}s",
                r.cache.reused or r.cache.cook_step or "-",
            )
        Console(file=self.stream, width=160, markup=False, highlight=False).print(table)
