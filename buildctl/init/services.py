"""For `init`: which binaries are services, each with how it is built and deployed, and why.

A binary is a service when a deployment names it (a kustomize overlay, a Helm chart's image),
or a Dockerfile builds it by name, or a Dockerfile builds whichever binary a build argument
names and the workflows pass it (every binary, when no workflow says). The others are listed
as not services, each with its reason, for a person to confirm.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from buildctl.detect.workspace import Crate
from buildctl.init.charts import Chart
from buildctl.init.dockerfiles import DockerfileInfo, pick, pick_prebuilt
from buildctl.init.evidence import Evidence
from buildctl.init.proposal import ServiceGuess, Skipped
from buildctl.mapmodel import DEFAULT_TARGET, SERVICE_NAME


@dataclass
class Found:
    services: list[ServiceGuess]
    skipped: list[Skipped]
    dockerfiles: dict[str, DockerfileInfo | None]  # service -> the Dockerfile it is built from
    bin_args: dict[str, str]  # service -> the build argument that picks its binary


def _named_in(name: str, infos: Sequence[DockerfileInfo]) -> DockerfileInfo | None:
    word = re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(name)}(?![A-Za-z0-9_-])")
    return next((d for d in sorted(infos, key=lambda d: d.path) if word.search(d.text)), None)


def decide(
    crates: Sequence[Crate],
    overlays: set[str],
    deployments: str,
    helm: Mapping[str, Chart],
    infos: Sequence[DockerfileInfo],
    ev: Evidence,
) -> Found:
    cargo = [d for d in infos if d.cargo]
    candidates_all = sorted({b for c in crates for b in c.bins})
    passed: dict[str, set[str]] = {}
    for d in cargo:
        if d.bin_arg and d.bin_arg not in passed:
            passed[d.bin_arg] = ev.passed(d.bin_arg, candidates_all)
    found = Found([], [], {}, {})
    taken: dict[str, str] = {}
    for crate in crates:
        names = ([crate.name] if crate.name in crate.bins else []) + [
            b for b in crate.bins if b != crate.name
        ]
        chosen: tuple[str, str, DockerfileInfo | None] | None = None
        reasons: list[str] = []
        for name in names:
            df = pick(cargo, crate, name)
            if name in overlays:
                chosen = (name, f"{deployments}/{name}/ exists", df)
            elif name in helm:
                chosen = (name, f"{helm[name].values} names its image", df)
            elif df is not None and name in df.bins:
                chosen = (name, f"{df.path} builds it", df)
            elif df is not None and df.bin_arg:
                values = passed[df.bin_arg]
                if name in values:
                    chosen = (
                        name,
                        f"{df.path} builds the binary {df.bin_arg} names; a workflow passes {name}",
                        df,
                    )
                elif not values:
                    chosen = (
                        name,
                        f"{df.path} builds the binary {df.bin_arg} names (no workflow says which)",
                        df,
                    )
                else:
                    reasons.append(
                        f"{df.path} could build it, but no workflow passes it as {df.bin_arg} "
                        f"(they pass {', '.join(sorted(values))})"
                    )
            elif (df is None or not _named_in(name, [df])) and (
                built := pick_prebuilt(infos, crate, name)
            ) is not None:
                chosen = (name, f"{built.path} copies it from a target/ built outside Docker", built)
            elif (named := _named_in(name, infos)) is not None:
                chosen = (name, f"{named.path} names it", named if named.cargo else df)
            if chosen is not None:
                break
        if chosen is None:
            every = next((d for d in cargo if d.builds_all), None)
            where = " or ".join(f"{deployments}/{n}/" for n in names)
            if reasons:
                why = reasons[0]
            elif every is not None:
                why = f"{every.path} builds every binary, and no {where} or chart names this one"
            else:
                why = f"no {where}, no chart, and no Dockerfile builds it"
            found.skipped.append(Skipped(crate.name, crate.dir, why))
            continue
        name, why, df = chosen
        if not SERVICE_NAME.match(name):
            found.skipped.append(Skipped(crate.name, crate.dir, f"{name!r} cannot be an image name"))
            continue
        if name in taken:
            found.skipped.append(
                Skipped(crate.name, crate.dir, f"service {name!r} is already crate {taken[name]!r}")
            )
            continue
        taken[name] = crate.name
        found.dockerfiles[name] = df
        if df is not None and df.bin_arg:
            found.bin_args[name] = df.bin_arg
        found.services.append(_guess(name, crate, why, df, overlays, helm, deployments))
    return found


def _guess(
    name: str,
    crate: Crate,
    why: str,
    df: DockerfileInfo | None,
    overlays: set[str],
    helm: Mapping[str, Chart],
    deployments: str,
) -> ServiceGuess:
    if name in overlays:
        deploy, deploy_why, values, keys = "kustomize", "", None, None
    elif name in helm:
        chart = helm[name]
        deploy, deploy_why, keys = "helm", "", chart.keys
        values = chart.values
    else:
        deploy, deploy_why, values, keys = (
            "none",
            "no kustomization or chart names it: built and pushed only",
            None,
            None,
        )
    return ServiceGuess(
        name,
        crate.name,
        crate.dir,
        why,
        dockerfile=df.path if df is not None else None,
        context=df.context if df is not None else None,
        target=(df.target_for(name) if df is not None else DEFAULT_TARGET),
        deploy=deploy,
        deploy_why=deploy_why,
        values=values,
        image_keys=keys,
    )
