"""The plan: what to build, tag, push and bump, and why. Frozen and JSON-ready; no I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

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


class ServicePlan(NamedTuple):
    name: str
    build: bool
    deploy: bool
    reasons: tuple[str, ...]
    crate: str
    image: str | None  # None while the map names no registry
    tags: tuple[str, ...]
    kustomization: str  # the file a bump edits: the kustomization or the Helm values; "" for none
    chains: tuple[tuple[str, ...], ...] = ()
    # The image is built for each; with more than one, each tag names an OCI image index of them.
    platforms: tuple[str, ...] = ("linux/amd64",)
    deploy_kind: str = "kustomize"

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
            if self.deploy_kind != "kustomize":
                out["deploy_kind"] = self.deploy_kind
        return out


class SkippedService(NamedTuple):
    """A service of the map that this revision cannot build (its crate came later)."""

    name: str
    reason: str


class FilterResult(NamedTuple):
    """One of the map's `[filters]`: whether the range matched it, and the first match."""

    name: str
    matched: bool
    reason: str


class Plan(NamedTuple):
    base: str | None
    head: str
    everything: str | None  # why every service is rebuilt, when that is the answer
    services: tuple[ServicePlan, ...]  # affected services only, sorted by name
    registry: str | None
    dockerfile: str
    crates: tuple[str, ...] = ()  # crates on the dependency chains that put services in the plan
    filters: tuple[FilterResult, ...] = ()
    skipped: tuple[SkippedService, ...] = ()

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
        if self.filters:
            out["filters"] = {f.name: f.matched for f in self.filters}
        if self.skipped:
            out["skipped"] = {s.name: s.reason for s in self.skipped}
        if detail:
            out.update(
                registry=self.registry,
                dockerfile=self.dockerfile,
                everything=self.everything,
                crates=list(self.crates),
            )
        return out


class Verdict(NamedTuple):
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
    """The plan from detection's verdicts: by service, and by filter name for the map's
    `[filters]` (a filter's `build` says a change matched it). A service's verdict with
    neither build nor deploy, but a reason, says this revision cannot build it."""
    tags = tags_for(head, cfg.build.extra_tags, branch)
    services = []
    skipped = []
    for name, svc in cfg.services.items():
        v = verdicts.get(name)
        if v is not None and not (v.build or v.deploy) and v.reasons:
            skipped.append(SkippedService(name, v.reasons[0]))
            continue
        if everything:
            v = Verdict(True, True, (everything,))
        deploys = svc.deploy.kind != "none"
        if v is None or not (v.build or (v.deploy and deploys)):
            continue
        services.append(
            ServicePlan(
                name=name,
                build=v.build,
                deploy=deploys,
                reasons=v.reasons,
                crate=svc.crate,
                image=cfg.image(name),
                tags=tags if v.build else (),  # a redeploy reuses the image it has
                kustomization=svc.deploy.file or "",
                chains=v.chains,
                platforms=cfg.platforms if v.build else (),
                deploy_kind=svc.deploy.kind,
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
        filters=tuple(_filter_result(f.name, verdicts.get(f.name), base, everything) for f in cfg.filters),
        skipped=tuple(skipped),
    )


def _filter_result(name: str, v: Verdict | None, base: str | None, everything: str | None) -> FilterResult:
    if everything:
        return FilterResult(name, True, everything)
    if base is None:  # each service from its own deployed commit: no one range to match
        return FilterResult(name, True, "no single range to compare: every filter is true")
    return FilterResult(name, v is not None and v.build, v.reasons[0] if v is not None and v.reasons else "")
