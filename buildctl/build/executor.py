"""Run the builds a plan selected: one cook for the set, then each service, then push.

Never decides what to build: that is the plan's job. Failures are per service; one failing
service does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

from buildctl import gitrepo, platforms, retry
from buildctl.build.engine import Engine
from buildctl.build.keys import BuildOptions, Keys
from buildctl.build.registry import (
    OCI_INDEX,
    Credentials,
    IndexEntry,
    RegistryAPI,
    content_digest,
    credentials,
    oci_index,
    split_image,
)
from buildctl.build.results import BuildReport, PlatformImage, ServiceResult, cache_total, cache_use
from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision, check_buildable
from buildctl.detect.snapshot import Snapshot
from buildctl.errors import BuildctlError
from buildctl.plan import Plan, ServicePlan

Log = Callable[[str, str], None]  # (service or "cook", line)


class Builder:
    def __init__(
        self, repo: Path, cfg: WorkspaceMap, plan: Plan, engine: Engine, opts: BuildOptions, log: Log
    ) -> None:
        self.repo, self.cfg, self.plan, self.engine, self.opts, self.log = repo, cfg, plan, engine, opts, log
        self.side = Revision(Snapshot.at(repo, plan.head), cfg.root)
        self.keys = Keys(self.side, cfg, opts, engine.native_platform())
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
        return retry.retrying(
            what,
            action,
            attempts=self.opts.retries,
            base_delay=self.opts.retry_delay,
            log=lambda m: self.log(who, m),
        )

    def cook(self, context: Path, platform: str, who: str = "cook") -> tuple[str, dict[str, Any]]:
        key, ref = self.keys.cook(platform)
        source = "local" if self.engine.image_id(ref) else "none"
        if source == "none" and self.cfg.registry and self.engine.pull(ref, self.creds):
            source = "registry"
        started = time.monotonic()
        self.log(who, f"cook {ref} (cache source: {source}){self.keys.cross(platform)}")
        outcome = self.engine.build(
            context=context,
            dockerfile=self.cfg.dockerfile,
            target="cook",
            tag=ref,
            buildargs=self.keys.args(platform),
            cache_from=[ref] if source != "none" else [],
            sink=lambda line: self.log(who, line),
        )
        cooked = outcome.step_cached("cargo chef cook")
        return ref, {
            "platform": platform,
            "key": key,
            "image": ref,
            "source": source,
            "cook_step": "cached" if cooked else "compiled",
            "duration": round(time.monotonic() - started, 2),
        }

    def _push(self, ref: str, who: str) -> str:
        return str(self._retry(f"push {ref}", lambda: self.engine.push(ref, self.creds), who))

    def build_one(self, svc: ServicePlan, context: Path, cooks: Mapping[str, str], fp: str) -> ServiceResult:
        """Build the service for each of its platforms. One platform: its image under every tag,
        as ever. Several: each platform's image under `<tags[0]>-<arch>`, and with --push an OCI
        image index of them under every tag; the result's digest is then the index's."""
        started = time.monotonic()
        image = svc.image or f"buildctl-local/{svc.name}"
        tags = list(svc.tags)
        result = ServiceResult(svc.name, "built", svc.image, tags, fingerprint=fp)
        multi = len(svc.platforms) > 1
        try:
            built = [
                self._build_platform(svc, image, name, cooks[name], multi, context) for name in svc.platforms
            ]
            result.cache = cache_total([b.cache for b in built])
            if not multi:
                for tag in [*tags[1:], f"fp-{fp}"]:
                    self.engine.tag(built[0].image_id, f"{image}:{tag}")
            if self.opts.push and svc.image:
                if multi:
                    result.digest = self._push_index(svc, fp, built)
                else:
                    for tag in [*tags, f"fp-{fp}"]:
                        result.digest = built[0].digest = self._push(f"{svc.image}:{tag}", svc.name)
                result.status = "pushed"
            result.platforms = {b.platform: b.to_json() for b in built}
        except BuildctlError as exc:
            result.status, result.error = "failed", exc.message
            self.log(svc.name, f"failed: {exc.message}")
            if exc.hint:
                self.log(svc.name, f"hint: {exc.hint}")
        result.duration = time.monotonic() - started
        return result

    def _build_platform(
        self, svc: ServicePlan, image: str, platform: str, cook: str, multi: bool, context: Path
    ) -> PlatformImage:
        ref = f"{image}:{platforms.image_tag(svc.tags[0], platform, multi=multi)}"
        self.log(svc.name, f"building {ref}{self.keys.cross(platform)}")
        outcome = self.engine.build(
            context=context,
            dockerfile=self.cfg.dockerfile,
            target="runtime",
            tag=ref,
            buildargs={
                **self.keys.args(platform),
                "SERVICE_NAME": svc.name,
                "REVISION": self.plan.head,
                "CREATED": gitrepo.commit_time(self.repo, self.plan.head),
                "SOURCE_URL": self.opts.source_url,
            },
            cache_from=[cook],
            sink=lambda line: self.log(svc.name, line),
        )
        got = self.engine.image_platform(outcome.image_id)
        if got != platform:
            raise BuildctlError(
                f"the image built for {platform} is a {got} image: its runtime base (RUNTIME_IMAGE) is for {got}",
                file=self.cfg.file,
                hint=f'set RUNTIME_IMAGE in [build.platform_args."{platform}"] to a {platform} base image '
                "(scripts/bootstrap-images.sh makes one for linux/arm64)",
            )
        size = self.engine.image_size(outcome.image_id)
        return PlatformImage(platform, ref, outcome.image_id, size, cache_use(outcome))

    def _push_index(self, svc: ServicePlan, fp: str, built: Sequence[PlatformImage]) -> str:
        """Push each platform's image, then an OCI image index of them under every tag."""
        assert self.api is not None and svc.image is not None
        api, path = self.api, split_image(svc.image)[1]
        entries = []
        for b in built:
            digest = b.digest = self._push(b.ref, svc.name)
            found = self._retry(f"read {path}@{digest}", partial(api.manifest, path, digest), svc.name)
            if found is None:
                raise BuildctlError(f"the registry has no manifest {path}@{digest} right after pushing it")
            spec = platforms.get(b.platform).spec()
            entries.append(IndexEntry(media_type=found[1], digest=digest, size=len(found[2]), platform=spec))
        body = oci_index(entries)
        digest = content_digest(body)
        for tag in [*svc.tags, f"fp-{fp}"]:
            self.log(svc.name, f"pushing the image index {svc.image}:{tag} ({', '.join(svc.platforms)})")
            stored = self._retry(
                f"push index {svc.image}:{tag}",
                partial(api.put_manifest, path, tag, OCI_INDEX, body),
                svc.name,
            )
            if stored and stored != digest:
                raise BuildctlError(
                    f"the registry stored the index {svc.image}:{tag} as {stored}, not {digest}"
                )
        return digest

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
    fps = builder.keys.fingerprints(services)
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
    needed = platforms.ordered(name for svc in to_build for name in svc.platforms)
    cooks: dict[str, str] = {}
    for name in needed:  # one after another: each is a full compile that wants every core
        who = "cook" if len(needed) == 1 else f"cook-{platforms.get(name).architecture}"
        try:
            cooks[name], report.cooks[name] = builder.cook(repo, name, who)
        except BuildctlError as exc:
            report.cooks[name] = {"platform": name, "error": exc.message}
    report.cook = report.cooks[needed[0]]
    ready = []
    for svc in to_build:
        # Without dependencies nothing can build: the service fails with its cook's reason.
        missing = [name for name in svc.platforms if name not in cooks]
        if missing:
            error = str(report.cooks[missing[0]]["error"])
            report.services[svc.name] = ServiceResult(
                svc.name, "failed", svc.image, list(svc.tags), error=error
            )
            on_done(report.services[svc.name])
        else:
            ready.append(svc)
    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = [pool.submit(builder.build_one, s, repo, cooks, fps[s.name]) for s in ready]
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
    api = builder.api
    assert api is not None
    done: dict[str, dict[str, Any]] = {}
    for name in cfg.platforms:
        key, ref = builder.keys.cook(name)
        repo_path, _, tag = split_image(ref)[1].rpartition(":")
        existing = api.manifest(repo_path, tag)
        if existing is not None:
            done[name] = {"key": key, "image": ref, "digest": existing[0], "status": "exists"}
            continue
        if not any(info["status"] == "pushed" for info in done.values()):
            builder.login()
            gitrepo.require_checkout_of(repo, head)
        _, info = builder.cook(repo, name)
        digest = builder._push(ref, "cook")
        done[name] = {**info, "digest": digest, "status": "pushed"}
    first = done[cfg.platforms[0]]
    if len(done) == 1:
        return first
    # Several platforms: the first one's cook at the top (as with one), and every one's below.
    status = "pushed" if any(info["status"] == "pushed" for info in done.values()) else "exists"
    return {**first, "status": status, "platforms": done}
