"""A proposal as the map's text: TOML, with each guess's reason as a comment."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from buildctl.init.proposal import Proposal, Rule, ServiceGuess, escape_glob
from buildctl.mapmodel import DEFAULT_BIN_ARG, DEFAULT_TARGET, ImageKeys


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


def _keys(keys: ImageKeys) -> str:
    return (
        f"image_keys = {{ repository = {_q(keys.repository)}, tag = {_q(keys.tag)}, "
        f"digest = {_q(keys.digest)} }}"
    )


def unowned_glob(entry: str) -> str:
    """A top-level entry left unowned (`dir/` or a file) as the glob that acknowledges it."""
    return f"{escape_glob(entry.rstrip('/'))}/**" if entry.endswith("/") else escape_glob(entry)


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
    if p.context:
        out.append(f"context = {_q(p.context)}  # the Docker build context of the services")
    if p.target != DEFAULT_TARGET:
        out.append(f"target = {_q(p.target)}  # the stage the images are")
    if p.bin_arg != DEFAULT_BIN_ARG:
        out.append(f"bin_arg = {_q(p.bin_arg)}  # {p.bin_arg_why}")
    if p.deploy != "kustomize":
        out.append(f"deploy = {_q(p.deploy)}  # {p.deploy_why}")
    out.append(f"deployments = {_q(p.deployments)}")
    out += ["", "[rules]", "# A change to one of these rebuilds every service."]
    out += _array("build_all", p.build_all)
    out.append("# A change to one of these redeploys every service, without a build.")
    out += _array("deploy_all", p.deploy_all)
    out.append("# A change to one of these changes no image.")
    out += _array("ignore", p.ignore)
    out.append('unowned = "all"')
    out.append("")
    spaced = False
    for g in p.services:
        body = _service_body(p, g)
        if (body or spaced) and out[-1] != "":
            out.append("")
        out.append(f"[services.{_key(g.name)}]  # {g.dir or '.'}: {g.why}")
        out += body
        spaced = bool(body)
    for crate, globs in sorted(p.crate_inputs.items()):
        out += ["", f"[crates.{_key(crate)}]  # files outside the crate that its build reads"]
        out += _array("inputs", globs)
    if p.filters:
        out += ["", "# paths-filter's filters that are no service: the same outputs, true/false", "[filters]"]
        for f in p.filters:
            rules = ", ".join(f.rules)
            value = f"{{ every = [{rules}] }}" if f.every else f"[{rules}]"
            out.append(f"{_key(f.name)} = {value}  # {f.why}")
    if p.skipped:
        out += ["", "# Binaries that are not services (uncomment one to build and deploy it):"]
        for k in p.skipped:
            out.append(f"# [services.{_key(k.crate)}]  # {k.dir or '.'}: {k.why}")
    out += _acknowledged(p)
    return "\n".join(out) + "\n"


def _service_body(p: Proposal, g: ServiceGuess) -> list[str]:
    body = [f"crate = {_q(g.crate)}"] if g.crate != g.name else []
    if g.bin:
        body.append(f"bin = {_q(g.bin)}")
    if g.dockerfile and g.dockerfile != p.dockerfile:
        body.append(f"dockerfile = {_q(g.dockerfile)}")
    if g.context is not None and g.context != p.context:
        body.append(f"context = {_q(g.context or '.')}")
    if g.target is not None and g.target != p.target:
        body.append(f"target = {_q(g.target)}")
    if g.deploy is not None and g.deploy != p.deploy:
        body.append(f"deploy = {_q(g.deploy)}" + (f"  # {g.deploy_why}" if g.deploy_why else ""))
    if g.values is not None:
        body.append(f"values = {_q(g.values)}")
    if g.image_keys is not None and g.image_keys != ImageKeys():
        body.append(_keys(g.image_keys))
    return body + (_array("inputs", g.inputs) if g.inputs else [])


def _acknowledged(p: Proposal) -> list[str]:
    """What init did not decide, each on a line of its own: `check --strict` takes these as
    decided, and a reader sees what to look at."""
    lines: list[str] = []
    if p.skipped:
        lines.append("not_services = [")
        width = max(len(_q(k.crate)) for k in p.skipped) + 1
        lines += [f"    {(_q(k.crate) + ','):<{width}}  # {k.why}" for k in p.skipped]
        lines.append("]")
    if p.left_unowned:
        lines.append("# No crate owns these and init could not tell what reads them: a change to one")
        lines.append("# rebuilds every service. Give one to the services that use it (`inputs`), or")
        lines.append("# to `ignore` if none does.")
        lines += _array("unowned", [Rule(unowned_glob(e), "rebuilds every service") for e in p.left_unowned])
    if not p.registry:
        lines.append("no_registry = true  # set [workspace] registry (and remove this) before pushing")
    if not lines:
        return []
    return [
        "",
        "# Decided by nobody yet: `buildctl check --strict` takes these as known.",
        "[acknowledged]",
        *lines,
    ]
