"""A proposal as the map's text: TOML, with each guess's reason as a comment."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from buildctl.init.proposal import Proposal, Rule


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _q(name)


def _array(key: str, rules: Sequence[Rule]) -> list[str]:
    if not rules:
        return [f"{key} = []"]
    width = max(len(_q(r.glob)) for r in rules) + 1
    lines = [f"{key} = ["]
    lines += [f"    {(_q(r.glob) + ','):<{width}}  # {r.why}" for r in rules]
    lines.append("]")
    return lines


def render(p: Proposal) -> str:
    out = [
        "# buildctl's map of this repository: which crates are deployable services, and what else",
        "# a change can touch. Written by `buildctl init`; each guess says why. Reference:",
        "# docs/workspace-map.md in buildctl. Check it with `buildctl check`.",
        "[workspace]",
        f"root = {_q(p.root or '.')}",
    ]
    if p.registry:
        out.append(f"registry = {_q(p.registry)}  # {p.registry_why}")
    else:
        out.append(f'# registry = "ghcr.io/OWNER/REPO"  # not guessed: {p.registry_why}')
    out.append(f"dockerfile = {_q(p.dockerfile)}")
    out.append(f"deployments = {_q(p.deployments)}")
    out += ["", "[rules]", "# A change to one of these rebuilds every service."]
    out += _array("build_all", p.build_all)
    out.append("# A change to one of these redeploys every service, without a build.")
    out += _array("deploy_all", p.deploy_all)
    out.append("# A change to one of these changes no image.")
    out += _array("ignore", p.ignore)
    if p.left_unowned:
        out.append("# Not ignored: no crate owns these, so a change to one rebuilds every service. If only")
        out.append("# some services use one, list it in their `inputs`; if none do, add it to `ignore`.")
        out += [f"#   {e}" for e in p.left_unowned]
    out.append('unowned = "all"')
    out.append("")
    spaced = False
    for g in p.services:
        body = ([f"crate = {_q(g.crate)}"] if g.crate != g.name else []) + (
            _array("inputs", g.inputs) if g.inputs else []
        )
        if (body or spaced) and out[-1] != "":
            out.append("")
        out.append(f"[services.{_key(g.name)}]  # {g.dir or '.'}: {g.why}")
        out += body
        spaced = bool(body)
    if p.skipped:
        out += ["", "# Binaries that are not services (uncomment one to build and deploy it):"]
        for k in p.skipped:
            out.append(f"# [services.{_key(k.crate)}]  # {k.dir or '.'}: {k.why}")
    return "\n".join(out) + "\n"
