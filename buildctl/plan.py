"""The plan: what to build, tag, push and bump, and why. Frozen and JSON-ready; no I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from buildctl.config import WorkspaceMap


def image_tag(commit: str) -> str:
    return f"sha-{commit}"


def branch_tag(branch: str) -> str | None:
    """A branch name (untrusted) as a docker tag: [A-Za-z0-9_.-], no leading '.' or '-', 128 chars."""
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", branch).lstrip(".-")[:128]
    return tag or None


def tags_for(commit: str, extra: Iterable[str], branch: str | None) -> tuple[str, ...]:
    tags = [image_tag(commit)]
    for kind in extra:
        tag = "latest" if kind == "latest" else (branch_tag(branch) if branch else None)
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


@dataclass(frozen=True)
class ServicePlan:
    name: str
    build: bool
    deploy: bool
    reasons: tuple[str, ...]
    crate: str
    image: str | None  # None while the map names no registry
    tags: tuple[str, ...]
    kustomization: str
    chains: tuple[tuple[str, ...], ...] = ()
    # The image is built for each; with more than one, each tag names an OCI image index of them.
    platforms: tuple[str, ...] = ("linux/amd64",)

    def to_json(self, *, detail: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"build": self.build, "deploy": self.deploy, "reasons": list(self.reasons)}
        if detail:
            out.update(
                crate=self.crate,
                image=self.image,
                tags=list(self.tags),
                platforms=list(self.platforms),
                kustomization=self.kustomization,
            )
        return out


@dataclass(frozen=True)
class Plan:
    base: str | None
    head: str
    everything: str | None  # why every service is rebuilt, when that is the answer
    services: tuple[ServicePlan, ...]  # affected services only, sorted by name
    registry: str | None
    dockerfile: str
    crates: tuple[str, ...] = ()  # crates on the dependency chains that put services in the plan

    @property
    def build(self) -> list[str]:
        return [s.name for s in self.services if s.build]

    @property
    def deploy(self) -> list[str]:
        return [s.name for s in self.services if s.deploy]

    def service(self, name: str) -> ServicePlan | None:
        return next((s for s in self.services if s.name == name), None)

    def to_json(self, *, detail: bool = False) -> dict[str, Any]:
        """The `affected --format json` contract; `detail` adds what `plan` would build and bump."""
        out: dict[str, Any] = {
            "base": self.base,
            "head": self.head,
            "build": self.build,
            "deploy": self.deploy,
            "services": {s.name: s.to_json(detail=detail) for s in self.services},
        }
        if detail:
            out.update(
                registry=self.registry,
                dockerfile=self.dockerfile,
                everything=self.everything,
                crates=list(self.crates),
            )
        return out


@dataclass(frozen=True)
class Verdict:
    build: bool
    deploy: bool
    reasons: tuple[str, ...]
    chains: tuple[tuple[str, ...], ...] = ()


def make_plan(
    cfg: WorkspaceMap,
    *,
    base: str | None,
    head: str,
    everything: str | None,
    verdicts: Mapping[str, Verdict],
    crates: Iterable[str] = (),
    branch: str | None = None,
) -> Plan:
    tags = tags_for(head, cfg.build.extra_tags, branch)
    services = []
    for name, svc in cfg.services.items():
        v = Verdict(True, True, (everything,)) if everything else verdicts.get(name)
        if v is None or not (v.build or v.deploy):
            continue
        services.append(
            ServicePlan(
                name=name,
                build=v.build,
                deploy=True,
                reasons=v.reasons,
                crate=svc.crate,
                image=cfg.image(name),
                tags=tags if v.build else (),  # a redeploy reuses the image it has
                kustomization=cfg.kustomization(name),
                chains=v.chains,
                platforms=cfg.platforms if v.build else (),
            )
        )
    return Plan(
        base=base,
        head=head,
        everything=everything,
        services=tuple(services),
        registry=cfg.registry,
        dockerfile=cfg.dockerfile,
        crates=tuple(sorted(set(crates))),
    )
