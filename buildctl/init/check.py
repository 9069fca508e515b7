"""`check`: the map against the workspace, the Dockerfiles and the deployments, as findings.

Every warning can be acknowledged by a deliberate line in the map (`[acknowledged]`, or a key
that says what the warning asks), so `check --strict` can pass on any repository."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from buildctl import deployed
from buildctl.build.dockerfile import parse as parse_dockerfile
from buildctl.config import WorkspaceMap
from buildctl.deploy import helm
from buildctl.detect.revision import Revision, service_problems
from buildctl.detect.rules import Detector
from buildctl.errors import BuildctlError
from buildctl.gha import in_actions
from buildctl.mapmodel import Service
from buildctl.tomlfile import did_you_mean, line_of

UNOWNED_SHOWN = 20


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    message: str
    file: str | None = None
    line: int | None = None


def run_checks(cfg: WorkspaceMap, side: Revision, map_text: str) -> list[Finding]:
    ws = side.ws
    out: list[Finding] = []

    def at(service: str, key: str | None = None) -> int | None:
        return line_of(map_text, ["services", service], key)

    problems = {p.service: p for p in service_problems(cfg, ws)}
    for svc in cfg.services.values():
        problem = problems.get(svc.name)
        if problem is not None:
            line = at(svc.name, problem.key) if problem.key else None
            out.append(Finding(problem.level, problem.message, cfg.file, line or at(svc.name)))
            if problem.key == "crate":
                continue
        out += _build_findings(cfg, side, svc)
        out += _deploy_findings(cfg, side, svc)
    for name in cfg.crate_inputs:
        if name not in ws.crates:
            out.append(
                Finding(
                    "error",
                    f"[crates.{name}] names no crate of the workspace" + did_you_mean(name, ws.crates),
                    cfg.file,
                    line_of(map_text, ["crates", name]),
                )
            )
    mapped = {s.crate for s in cfg.services.values()}
    acked = cfg.acknowledged.not_services
    for crate in sorted(ws.crates.values(), key=lambda c: c.name):
        if crate.member and crate.bins and crate.name not in mapped and crate.name not in acked:
            out.append(
                Finding(
                    "warning",
                    f"crate '{crate.name}' ({crate.dir or '.'}) has a binary but no service maps it; "
                    f"add [services.{crate.name}] or list it in [acknowledged] not_services",
                    crate.manifest,
                )
            )
    for name in sorted(acked):
        found = ws.crates.get(name)
        if found is None or not found.bins or name in mapped:
            why = "is a service" if name in mapped else "is no crate with a binary"
            out.append(
                Finding(
                    "warning",
                    f"[acknowledged] not_services names '{name}', which {why}: remove it",
                    cfg.file,
                    line_of(map_text, ["acknowledged"], "not_services"),
                )
            )
    out += _registry_findings(cfg, map_text)
    detector = Detector(cfg, side, lambda: None)
    unowned = [
        p
        for p in sorted(side.snap.files)
        if detector.classify(p)[0] == "unowned" and not cfg.acknowledged.unowned.match(p)
    ]
    if unowned:
        shown = ", ".join(unowned[:UNOWNED_SHOWN]) + (" …" if len(unowned) > UNOWNED_SHOWN else "")
        verdict = "rebuilds every service" if cfg.rules.unowned == "all" else "is ignored"
        out.append(
            Finding(
                "warning",
                f"{len(unowned)} file(s) owned by no crate, rule or input (a change to one {verdict}): {shown}",
                cfg.file,
            )
        )
    return out


def _build_findings(cfg: WorkspaceMap, side: Revision, svc: Service) -> list[Finding]:
    """A Dockerfile a service names must exist, with the stage it asks for. (The map's default
    Dockerfile is not required: a map may be written before it.)"""
    text = side.snap.text(svc.dockerfile) if side.snap.exists(svc.dockerfile) else None
    if text is None:
        if svc.dockerfile == cfg.dockerfile:
            return []
        return [
            Finding("error", f"service '{svc.name}': Dockerfile {svc.dockerfile} does not exist", cfg.file)
        ]
    stages = parse_dockerfile(text).stage_names
    if svc.target and svc.target not in stages:
        listed = ", ".join(stages) or "no named stage"
        return [
            Finding(
                "error",
                f"service '{svc.name}': {svc.dockerfile} has no stage '{svc.target}' ({listed})",
                svc.dockerfile,
            )
        ]
    return []


def _deploy_findings(cfg: WorkspaceMap, side: Revision, svc: Service) -> list[Finding]:
    """What the service's deploy kind needs: a kustomization with an images entry, or a values
    file with the image keys; nothing for "none"."""
    deploy = svc.deploy
    if deploy.kind == "none" or deploy.file is None:
        return []
    path = deploy.file
    text = side.snap.text(path)
    if text is None:
        return [Finding("error", f"service '{svc.name}': {path} does not exist", path)]
    try:
        if deploy.kind == "helm":
            lacking = helm.missing(text, path, deploy.keys)
            if lacking:
                return [
                    Finding(
                        "error",
                        f"service '{svc.name}': {path} has no {', '.join(lacking)} (the map's image_keys)",
                        path,
                    )
                ]
            return []
        doc = deployed.load(text, path)
        if deployed.find_entry(doc, path, cfg.image(svc.name)) is None and not deployed.image_entries(
            doc, path
        ):
            return [Finding("error", f"service '{svc.name}': {path} has no images: entry to bump", path)]
    except BuildctlError as exc:
        return [Finding("error", exc.message, exc.file, exc.line)]
    return []


def _registry_findings(cfg: WorkspaceMap, map_text: str) -> list[Finding]:
    if cfg.registry is None and not cfg.acknowledged.no_registry:
        return [
            Finding(
                "warning",
                "no [workspace] registry: plans cannot name images to push "
                "(or say so: [acknowledged] no_registry = true)",
                cfg.file,
            )
        ]
    if cfg.placeholder and in_actions():
        # Where the next step would push; a workstation's demo and tests point the map elsewhere.
        return [
            Finding(
                "error",
                f"[workspace] registry {cfg.registry} names the placeholder '{cfg.placeholder}': "
                "set it to your own, e.g. ghcr.io/<owner>/<repo> (and the overlays' newName with it)",
                cfg.file,
                line_of(map_text, ["workspace"], "registry"),
            )
        ]
    return []
