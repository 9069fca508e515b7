"""`check`: the map against the workspace and the deployments, as a list of findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from buildctl import deployed
from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision, service_problems
from buildctl.detect.rules import Detector
from buildctl.errors import BuildctlError
from buildctl.gha import in_actions
from buildctl.tomlfile import line_of

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
        path = cfg.kustomization(svc.name)
        text = side.snap.text(path)
        if text is None:
            out.append(Finding("error", f"service '{svc.name}': {path} does not exist", path))
            continue
        try:
            doc = deployed.load(text, path)
            if deployed.find_entry(doc, path, cfg.image(svc.name)) is None and not deployed.image_entries(
                doc, path
            ):
                out.append(
                    Finding("error", f"service '{svc.name}': {path} has no images: entry to bump", path)
                )
        except BuildctlError as exc:
            out.append(Finding("error", exc.message, exc.file, exc.line))
    mapped = {s.crate for s in cfg.services.values()}
    for crate in sorted(ws.crates.values(), key=lambda c: c.name):
        if crate.member and crate.bins and crate.name not in mapped:
            out.append(
                Finding(
                    "warning",
                    f"crate '{crate.name}' ({crate.dir or '.'}) has a binary but no service maps it; "
                    f"add [services.{crate.name}] or ignore this",
                    crate.manifest,
                )
            )
    if cfg.registry is None:
        out.append(Finding("warning", "no [workspace] registry: plans cannot name images to push", cfg.file))
    elif cfg.placeholder and in_actions():
        # Where the next step would push; a workstation's demo and tests point the map elsewhere.
        out.append(
            Finding(
                "error",
                f"[workspace] registry {cfg.registry} names the placeholder '{cfg.placeholder}': "
                "set it to your own, e.g. ghcr.io/<owner>/<repo> (and the overlays' newName with it)",
                cfg.file,
                line_of(map_text, ["workspace"], "registry"),
            )
        )
    detector = Detector(cfg, side, lambda: None)
    unowned = [p for p in sorted(side.snap.files) if detector.classify(p)[0] == "unowned"]
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
