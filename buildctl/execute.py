"""Run the builds a plan selected: one cook for the set, then each service, then push.

Never decides what to build: that is the plan's job. Failures are per service; one failing
service does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from buildctl import fingerprint, gitrepo
from buildctl.build import BuildOutcome, Engine
from buildctl.config import WorkspaceMap
from buildctl.detect import Side, check_buildable
from buildctl.errors import BuildctlError
from buildctl.plan import Plan, ServicePlan
from buildctl.registry import Credentials, RegistryAPI, credentials, retrying, split_image
from buildctl.snapshot import Snapshot

Status = Literal["built", "pushed", "skipped", "failed"]
Log = Callable[[str, str], None]  # (service or "cook", line)


@dataclass(frozen=True)
class BuildOptions:
    push: bool = False
    jobs: int = 1
    skip_existing: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    cache_repository: str = "buildctl-cache"
    source_url: str = ""
    retries: int = 4
    retry_delay: float = 1.0
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ServiceResult:
    service: str
    status: Status
    image: str | None
    tags: list[str]
    digest: str | None = None
    duration: float = 0.0
    fingerprint: str = ""
    cache: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "image": self.image,
            "tags": self.tags,
            "tag": self.tags[0] if self.tags else None,
            "digest": self.digest,
            "reference": f"{self.image}:{self.tags[0]}@{self.digest}"
            if self.image and self.tags and self.digest
            else None,
            "duration": round(self.duration, 2),
            "fingerprint": self.fingerprint,
            "cache": self.cache,
            "error": self.error,
        }


@dataclass
class BuildReport:
    head: str
    cook: dict[str, Any]
    services: dict[str, ServiceResult]

    @property
    def failed(self) -> list[str]:
        return [s for s, r in self.services.items() if r.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "cook": self.cook,
            "services": {name: r.to_json() for name, r in sorted(self.services.items())},
        }


def cook_ref(cfg: WorkspaceMap, opts: BuildOptions, key: str) -> str:
    repo = (
        f"{cfg.registry}/{opts.cache_repository}"
        if cfg.registry
        else f"buildctl-cache/{opts.cache_repository}"
    )
    return f"{repo}:cook-{key}"


class Builder:
    def __init__(
        self, repo: Path, cfg: WorkspaceMap, plan: Plan, engine: Engine, opts: BuildOptions, log: Log
    ) -> None:
        self.repo, self.cfg, self.plan, self.engine, self.opts, self.log = repo, cfg, plan, engine, opts, log
        self.side = Side(Snapshot.at(repo, plan.head), cfg.root)
        self.creds: Credentials | None = None
        self.api: RegistryAPI | None = None
        if cfg.registry:
            host = split_image(cfg.registry)[0]
            self.creds = credentials(host, opts.environ)
            self.api = RegistryAPI(host, self.creds)

    def login(self) -> None:
        if self.creds is not None and self.cfg.registry:
            self.engine.login(split_image(self.cfg.registry)[0], self.creds)

    def _retry(self, what: str, action: Callable[[], Any], who: str) -> Any:
        return retrying(
            what,
            action,
            attempts=self.opts.retries,
            base_delay=self.opts.retry_delay,
            log=lambda m: self.log(who, m),
        )

    def cook(self, context: Path) -> tuple[str, dict[str, Any]]:
        key = fingerprint.cook_key(self.side, self.cfg.dockerfile, self.opts.build_args)
        ref = cook_ref(self.cfg, self.opts, key)
        source = "local" if self.engine.image_id(ref) else "none"
        if source == "none" and self.cfg.registry and self.engine.pull(ref, self.creds):
            source = "registry"
        started = time.monotonic()
        self.log("cook", f"cook {ref} (cache source: {source})")
        outcome = self.engine.build(
            context=context,
            dockerfile=self.cfg.dockerfile,
            target="cook",
            tag=ref,
            buildargs=self.opts.build_args,
            cache_from=[ref] if source != "none" else [],
            sink=lambda line: self.log("cook", line),
        )
        cooked = outcome.step_cached("cargo chef cook")
        return ref, {
            "key": key,
            "image": ref,
            "source": source,
            "cook_step": "cached" if cooked else "compiled",
            "duration": round(time.monotonic() - started, 2),
        }

    def _push(self, ref: str, who: str) -> str:
        return str(self._retry(f"push {ref}", lambda: self.engine.push(ref, self.creds), who))

    def build_one(self, svc: ServicePlan, context: Path, cook: str, fp: str) -> ServiceResult:
        started = time.monotonic()
        image = svc.image or f"buildctl-local/{svc.name}"
        tags = list(svc.tags)
        result = ServiceResult(svc.name, "built", svc.image, tags, fingerprint=fp)
        try:
            self.log(svc.name, f"building {image}:{tags[0]}")
            outcome = self.engine.build(
                context=context,
                dockerfile=self.cfg.dockerfile,
                target="runtime",
                tag=f"{image}:{tags[0]}",
                buildargs={
                    **self.opts.build_args,
                    "SERVICE_NAME": svc.name,
                    "REVISION": self.plan.head,
                    "CREATED": gitrepo.commit_time(self.repo, self.plan.head),
                    "SOURCE_URL": self.opts.source_url,
                },
                cache_from=[cook],
                sink=lambda line: self.log(svc.name, line),
            )
            result.cache = _cache_use(outcome)
            for tag in [*tags[1:], f"fp-{fp}"]:
                self.engine.tag(outcome.image_id, f"{image}:{tag}")
            if self.opts.push and svc.image:
                for tag in [*tags, f"fp-{fp}"]:
                    result.digest = self._push(f"{svc.image}:{tag}", svc.name)
                result.status = "pushed"
        except BuildctlError as exc:
            result.status, result.error = "failed", exc.message
            self.log(svc.name, f"failed: {exc.message}")
        result.duration = time.monotonic() - started
        return result

    def reuse(self, svc: ServicePlan, fp: str) -> ServiceResult | None:
        """With --skip-existing: the image already pushed for this fingerprint, re-tagged; else None."""
        if not (self.opts.skip_existing and self.opts.push and self.api is not None and svc.image):
            return None
        started = time.monotonic()
        result = ServiceResult(svc.name, "skipped", svc.image, list(svc.tags), fingerprint=fp)
        try:
            if not self._retag_existing(svc, fp, result):
                return None
        except BuildctlError as exc:
            self.log(svc.name, f"cannot reuse fp-{fp}, building instead: {exc.message}")
            return None
        result.duration = time.monotonic() - started
        return result

    def _retag_existing(self, svc: ServicePlan, fp: str, result: ServiceResult) -> bool:
        assert self.api is not None and svc.image is not None
        path = split_image(svc.image)[1]
        found = self.api.manifest(path, f"fp-{fp}")
        if found is None:
            return False
        digest, media_type, body = found
        for tag in svc.tags:
            self.api.put_manifest(path, tag, media_type, body)
        result.status, result.digest = "skipped", digest
        result.cache = {"reused": f"fp-{fp}"}
        self.log(svc.name, f"fingerprint fp-{fp} is already in the registry: re-tagged, not rebuilt")
        return True


def _cache_use(outcome: BuildOutcome) -> dict[str, Any]:
    return {
        "cook_step": "cached" if outcome.step_cached("cargo chef cook") else "compiled",
        "steps": outcome.steps,
        "cached_steps": outcome.cached_steps,
    }


def run_builds(
    repo: Path,
    cfg: WorkspaceMap,
    plan: Plan,
    services: Sequence[ServicePlan],
    opts: BuildOptions,
    engine: Engine,
    log: Log,
    on_done: Callable[[ServiceResult], None] = lambda r: None,
) -> BuildReport:
    builder = Builder(repo, cfg, plan, engine, opts, log)
    check_buildable(cfg, builder.side.ws, [s.name for s in services])
    if opts.push:
        if not cfg.registry:
            raise BuildctlError(
                "--push needs a registry", file=cfg.file, hint="set [workspace] registry in the map"
            )
        builder.login()
    report = BuildReport(plan.head, {}, {})
    if not services:
        return report
    gitrepo.require_checkout_of(repo, plan.head)
    crates = {s.name: s.crate for s in services}
    fps = fingerprint.service_fingerprints(builder.side, crates, cfg.dockerfile, opts.build_args)
    to_build = []
    for svc in services:
        reused = builder.reuse(svc, fps[svc.name])
        if reused is None:
            to_build.append(svc)
        else:
            report.services[svc.name] = reused
            on_done(reused)
    if not to_build:
        report.cook = {"skipped": "every service's fingerprint was already in the registry"}
        return report
    try:
        cook, report.cook = builder.cook(repo)
    except BuildctlError as exc:
        # Without dependencies nothing can build: every service fails with the cook's reason.
        report.cook = {"error": exc.message}
        for svc in to_build:
            report.services[svc.name] = ServiceResult(
                svc.name, "failed", svc.image, list(svc.tags), error=exc.message
            )
            on_done(report.services[svc.name])
        return report
    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = [pool.submit(builder.build_one, s, repo, cook, fps[s.name]) for s in to_build]
        for future in as_completed(futures):
            result = future.result()
            report.services[result.service] = result
            on_done(result)
    return report


def warm(
    repo: Path, cfg: WorkspaceMap, head: str, opts: BuildOptions, engine: Engine, log: Log
) -> dict[str, Any]:
    """Build the cook stage for the head's recipe and push it, unless the registry has it already."""
    if not cfg.registry:
        raise BuildctlError(
            "warm pushes the cook cache to the registry, and the map names none", file=cfg.file
        )
    plan = Plan(
        base=None, head=head, everything=None, services=(), registry=cfg.registry, dockerfile=cfg.dockerfile
    )
    builder = Builder(repo, cfg, plan, engine, opts, log)
    key = fingerprint.cook_key(builder.side, cfg.dockerfile, opts.build_args)
    ref = cook_ref(cfg, opts, key)
    assert builder.api is not None
    repo_path, _, tag = split_image(ref)[1].rpartition(":")
    existing = builder.api.manifest(repo_path, tag)
    if existing is not None:
        return {"key": key, "image": ref, "digest": existing[0], "status": "exists"}
    builder.login()
    gitrepo.require_checkout_of(repo, head)
    _, info = builder.cook(repo)
    digest = builder._push(ref, "cook")
    return {**info, "digest": digest, "status": "pushed"}
