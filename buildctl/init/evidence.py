"""For `init`: what the repository's workflows, composite actions and compose files say about its
images: the build context each Dockerfile is built from, and every value they pass, so that a
build argument that picks the binary (`TARGETBINARY=${{ matrix.binary }}`) can be narrowed to
the binaries the workflows build."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from buildctl import yamlfile
from buildctl.errors import BuildctlError
from buildctl.init.proposal import Scan

_WORKFLOW = re.compile(r"^\.github/(?:workflows/[^/]+|actions/.+/action)\.ya?ml$")
_COMPOSE = re.compile(r"(?:^|/)(?:docker-)?compose(?:\.[\w-]+)?\.ya?ml$")


@dataclass
class Evidence:
    contexts: dict[str, tuple[str, str]] = field(default_factory=dict)  # Dockerfile -> (context, why)
    values: dict[str, set[str]] = field(default_factory=dict)  # file -> every scalar it holds
    texts: dict[str, str] = field(default_factory=dict)

    def files_naming(self, word: str) -> list[str]:
        pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
        return [f for f, t in self.texts.items() if pattern.search(t)]

    def passed(self, arg: str, candidates: Sequence[str]) -> set[str]:
        """The candidates the workflows pass for the build argument `arg`: the values in the
        files that name it, and in the workflows those files are called from."""
        files = set(self.files_naming(arg))
        for f in list(files):  # a reusable workflow or an action: its callers pass the values
            stem = f.removesuffix("/action.yml").removesuffix("/action.yaml")
            files.update(self.files_naming(stem))
        found: set[str] = set()
        for f in files:
            found |= self.values.get(f, set()) & set(candidates)
            found |= {
                m for m in re.findall(rf"\b{re.escape(arg)}=([\w.-]+)", self.texts[f]) if m in candidates
            }
        return found


def _scalars(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _scalars(value)
    elif isinstance(data, list):
        for value in data:
            yield from _scalars(value)
    elif isinstance(data, str):
        yield data.strip()
        yield from (w.strip(",\"'") for w in re.split(r"[\s,]+", data) if w)


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _walk(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value)


def gather(s: Scan) -> Evidence:
    ev = Evidence()
    paths = [p for p in s.files if _WORKFLOW.match(p) or _COMPOSE.search(p)]
    s.snap.fetch(paths)
    for path in paths:
        text = s.text(path)
        if text is None:
            continue
        try:
            data = yamlfile.load_plain(text, path)
        except BuildctlError:
            s.notes.append(f"{path} is not valid YAML: not read")
            continue
        ev.texts[path] = text
        ev.values[path] = set(_scalars(data))
        base = posixpath.dirname(path) if _COMPOSE.search(path) else ""
        for node in _walk(data):
            _context(ev, node, path, base)
    return ev


def _context(ev: Evidence, node: dict[str, Any], path: str, base: str) -> None:
    """docker/build-push-action's `with: {context, file}`, or compose's `build: {context, dockerfile}`."""
    uses = node.get("uses")
    if isinstance(uses, str) and uses.startswith("docker/build-push-action"):
        inputs = node.get("with") or {}
        context, file = inputs.get("context"), inputs.get("file")
        if isinstance(context, str) and "${{" not in context:
            ctx = posixpath.normpath(context.removeprefix("./")) if context not in (".", "") else ""
            dockerfile = (
                file if isinstance(file, str) and "${{" not in file else posixpath.join(ctx, "Dockerfile")
            )
            ev.contexts.setdefault(
                posixpath.normpath(dockerfile.removeprefix("./")), (ctx, f"{path} builds it there")
            )
        return
    build = node.get("build")
    if isinstance(build, dict) and isinstance(build.get("context"), str):
        ctx = posixpath.normpath(posixpath.join(base, build["context"]))
        ctx = "" if ctx == "." else ctx
        named = build.get("dockerfile")
        dockerfile = named if isinstance(named, str) else "Dockerfile"
        ev.contexts.setdefault(
            posixpath.normpath(posixpath.join(ctx, dockerfile)), (ctx, f"{path} builds it there")
        )
