"""A Dockerfile read as its stages: names, bases, build arguments, what each COPYs and RUNs.

Enough for buildctl's own questions, not a full parser: which stages a target builds (so which
build arguments can reach it, and whether there is a `cook` stage to cache), which files the
build reads from its context, and which binaries its `cargo build` lines name.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from buildctl.build.bases import _logical_lines as logical_lines

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.I)
_ARG = re.compile(r"^\s*ARG\s+(.+)$", re.I)
_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$", re.S)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
COOK_STAGE = "cook"


@dataclass
class Stage:
    index: int
    name: str | None
    base: str  # the FROM image, or an earlier stage's name
    args: dict[str, str | None] = field(default_factory=dict)  # ARG name -> default
    copies: list[str] = field(default_factory=list)  # context sources of COPY/ADD
    needs: list[str] = field(default_factory=list)  # stages COPY --from= / RUN --mount=from= read
    runs: list[str] = field(default_factory=list)


@dataclass
class Dockerfile:
    global_args: dict[str, str | None]
    stages: list[Stage]

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages if s.name]

    def stage(self, name: str) -> Stage | None:
        """The stage named `name`; "" is the last stage (what a build without --target makes)."""
        if not name:
            return self.stages[-1] if self.stages else None
        return next((s for s in self.stages if s.name and s.name.lower() == name.lower()), None)

    def reached(self, target: str) -> list[Stage]:
        """The target stage and every stage it builds on or copies from."""
        by_name = {s.name.lower(): s for s in self.stages if s.name}
        start = self.stage(target)
        todo = [start] if start is not None else []
        seen: dict[int, Stage] = {}
        while todo:
            stage = todo.pop()
            if stage.index in seen:
                continue
            seen[stage.index] = stage
            for ref in (stage.base, *stage.needs):
                dep = by_name.get(ref.lower())
                if dep is None and ref.isdigit() and int(ref) < len(self.stages):
                    dep = self.stages[int(ref)]
                if dep is not None:
                    todo.append(dep)
        return sorted(seen.values(), key=lambda s: s.index)

    def args_of(self, target: str) -> set[str]:
        """The build arguments that can change what `target` builds: those its stages declare,
        and the global ones their FROM lines use."""
        out: set[str] = set()
        for stage in self.reached(target):
            out.update(stage.args)
            out.update(v for v in _VAR.findall(stage.base) if v in self.global_args)
        return out

    def copied(self) -> list[str]:
        return [src for s in self.stages for src in s.copies]

    def run_lines(self) -> Iterable[tuple[Stage, str]]:
        for stage in self.stages:
            for line in stage.runs:
                yield stage, line


def _args(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for word in shlex.split(text, posix=True) if text.strip() else []:
        name, eq, value = word.partition("=")
        out[name] = value if eq else None
    return out


def _sources(rest: str) -> tuple[list[str], str | None]:
    """(context sources, the stage or image of --from) of a COPY/ADD."""
    words = rest.split()
    source_from = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    args = [w for w in words if not w.startswith("--")]
    if args and args[0].startswith("["):
        try:
            args = [str(a) for a in json.loads(" ".join(args))]
        except ValueError:
            return [], source_from
    return (args[:-1] if source_from is None else []), source_from


def parse(text: str) -> Dockerfile:
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for _, line in logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if m := _FROM.match(stripped):
            stages.append(Stage(len(stages), m.group(2), m.group(1)))
            continue
        m2 = _INSTRUCTION.match(stripped)
        if m2 is None:
            continue
        word, rest = m2.group(1).upper(), m2.group(2)
        if word == "ARG":
            try:
                found = _args(rest)
            except ValueError:
                continue
            (stages[-1].args if stages else global_args).update(found)
        elif not stages:
            continue
        elif word in ("COPY", "ADD"):
            sources, source_from = _sources(rest)
            stages[-1].copies.extend(sources)
            if source_from is not None:
                stages[-1].needs.append(source_from)
        elif word == "RUN":
            stages[-1].runs.append(rest)
            stages[-1].needs.extend(re.findall(r"--mount=[^\s]*\bfrom=([^,\s]+)", rest))
    return Dockerfile(global_args, stages)
