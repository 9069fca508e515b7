"""The plan: what to build, tag, push and bump, and why. Frozen and JSON-ready; no I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from buildctl.config import WorkspaceMap


def image_tag(commit: str) -> str:
    return f"sha-{commit}"


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

    def to_json(self, *, detail: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"build": self.build, "deploy": self.deploy, "reasons": list(self.reasons)}
        if detail:
            out.update(
                crate=self.crate, image=self.image, tags=list(self.tags), kustomization=self.kustomization
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
) -> Plan:
    tag = image_tag(head)
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
                tags=(tag,) if v.build else (),  # a redeploy reuses the image it has
                kustomization=cfg.kustomization(name),
                chains=v.chains,
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
