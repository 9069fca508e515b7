"""`check --bases`: every base image of every platform, resolved; with `--write`, each tag pinned
to the digest it has now (`tag@sha256:…`) where it is written: the Dockerfile's ARG defaults and
the map's build arguments. The edits touch the reference and nothing else, and the pinned
reference keeps its tag, so a reader (and Renovate) still sees which release it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from buildctl import platforms
from buildctl.build.bases import BaseUse, Reference, Resolved, Resolver, base_args, resolve_all, uses
from buildctl.config import WorkspaceMap, parse_map
from buildctl.errors import BuildctlError


@dataclass(frozen=True)
class BaseCheck:
    uses: tuple[BaseUse, ...]
    resolved: Mapping[tuple[str, str], Resolved]
    problems: tuple[BuildctlError, ...]

    def lines(self) -> list[str]:
        out = []
        for use in dict.fromkeys((u.arg, u.ref, u.platform) for u in self.uses):
            arg, ref, platform = use
            hit = self.resolved.get((ref, platform))
            if hit is not None:
                out.append(f"{arg} for {platform}: {ref} -> {hit.pinned} ({hit.source})")
        return out


def check_bases(cfg: WorkspaceMap, dockerfile: str, resolver: Resolver, native: str) -> BaseCheck:
    """Every base of every platform of the map, resolved (the build args as the map gives them)."""
    args = {
        p: platforms.build_args(
            p,
            native_platform=native,
            args=cfg.build.args,
            platform_args=cfg.build.platform_args,
            buildkit=True,
        )
        for p in cfg.platforms
    }
    needed = uses(dockerfile, args, native)
    resolved, problems = resolve_all(resolver, needed)
    return BaseCheck(tuple(needed), resolved, tuple(problems))


def _pinned(ref: str, index: str) -> str:
    name = ref.partition("@")[0]
    return f"{name}@{index}"


def pin_dockerfile(text: str, check: BaseCheck) -> str:
    """The Dockerfile with each ARG default that a build takes as written pinned to its digest."""
    out = text
    for arg in base_args(text):
        if arg.default is None:
            continue
        index = _index_of(arg.default, check)
        if index is None:
            continue
        pattern = re.compile(
            rf"(?m)^(\s*ARG\s+{re.escape(arg.name)}=[\"']?){re.escape(arg.default)}([\"']?\s*)$"
        )
        replacement = _pinned(arg.default, index)
        out = pattern.sub(lambda m: f"{m.group(1)}{replacement}{m.group(2)}", out, count=1)  # noqa: B023  (used at once)
    return out


def pin_map(text: str, file: str, check: BaseCheck) -> str:
    """The map with each base reference among its build arguments pinned to its digest."""
    out = text
    for use in check.uses:
        index = _index_of(use.ref, check)
        if index is None:
            continue
        pattern = re.compile(rf"(\b{re.escape(use.arg)}\s*=\s*\"){re.escape(use.ref)}(\")")
        replacement = _pinned(use.ref, index)
        out = pattern.sub(lambda m: f"{m.group(1)}{replacement}{m.group(2)}", out)  # noqa: B023  (used at once)
    if out != text:
        parse_map(out, file)  # what --write leaves must load
    return out


def _index_of(ref: str, check: BaseCheck) -> str | None:
    """The digest the reference's tag names now; None for a local image or an unresolved one, or
    when it is already pinned to exactly that."""
    hits = [
        r for (name, _), r in check.resolved.items() if name == ref and r.source == "registry" and r.index
    ]
    if not hits:
        return None
    index = hits[0].index
    assert index is not None
    if Reference.parse(ref).digest == index:
        return None
    return index
