"""GitHub Actions: step outputs, the step summary, annotations, masks and log groups.

Workflow commands go to stderr (the runner reads both streams) so stdout stays the result.
Everything that carries a file name is escaped: a crafted path must not forge a command.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from buildctl.errors import BuildctlError
from buildctl.plan import Plan

SUMMARY_LIMIT = 1000 * 1024  # the runner rejects summaries over 1 MiB whole


def in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, file: str | None = None, line: int | None = None) -> str:
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line:
            props.append(f"line={line}")
    head = f"::{level} {','.join(props)}::" if props else f"::{level}::"
    return head + escape_data(message)


def mask(secret: str) -> str:
    return f"::add-mask::{escape_data(secret)}"


def group(title: str) -> str:
    return f"::group::{escape_data(title)}"


ENDGROUP = "::endgroup::"


class Outputs(NamedTuple):
    """Step outputs, rendered in the runner's file-command format with random delimiters."""

    values: Mapping[str, str]

    @classmethod
    def from_plan(cls, plan: Plan, services: Iterable[str]) -> Outputs:
        """The step outputs of a plan: the lists, and, as dorny/paths-filter wrote one per
        filter, one true/false per service and per filter of the map, with `changes` listing
        the services to build and the filters that matched."""
        build = plan.build
        matched = [f.name for f in plan.filters if f.matched]
        values: dict[str, str] = {
            "build": json.dumps(build),
            "deploy": json.dumps(plan.deploy),
            "matrix": json.dumps(
                {"include": [{"service": s.name, "image": s.image or ""} for s in plan.services if s.build]}
            ),
            "any": "true" if plan.services else "false",
            "base": plan.base or "",
            "head": plan.head,
            "changes": json.dumps([*build, *matched]),
        }
        for name in services:
            values.setdefault(name, "true" if name in build else "false")
        for f in plan.filters:
            values.setdefault(f.name, "true" if f.matched else "false")
        return cls(values)

    def render(self) -> str:
        import uuid  # here: only step outputs need it, and its import is 4 ms of a cold start

        chunks = []
        for name, value in self.values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            if delimiter in value or "\n" in name or "=" in name or "<" in name:
                raise BuildctlError(f"refusing to write output {name!r}: it could forge other outputs")
            chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        return "".join(chunks)

    def write(self, environ: Mapping[str, str] = os.environ) -> bool:
        return _append(environ.get("GITHUB_OUTPUT"), self.render())


def _append(path: str | None, text: str) -> bool:
    if not path:
        return False
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise BuildctlError(f"cannot write to {path}: {exc}") from None
    return True


def cell(text: str) -> str:
    """Markdown table cell text: no line breaks, no table or HTML syntax from file names."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def write_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> bool:
    if len(markdown.encode()) > SUMMARY_LIMIT:
        markdown = markdown.encode()[: SUMMARY_LIMIT - 200].decode("utf-8", "ignore")
        markdown += "\n\n_(summary truncated: the full plan is in the job log)_\n"
    return _append(environ.get("GITHUB_STEP_SUMMARY"), markdown)
