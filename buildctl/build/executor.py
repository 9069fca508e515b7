"""Carry out a plan's build steps: each platform's cook, then each service, then the pushes.

Decides nothing: `steps.derive` worked out every cook, image, tag and push. Failures are per
service; one failing service does not stop the others.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from buildctl import gitrepo, platforms, retry
from buildctl.build import buildkit
from buildctl.build.buildkit import Invocation
from buildctl.build.engine import BuildOutcome, Engine
from buildctl.build.options import BuildOptions
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
from buildctl.build.results import BuildReport, CacheUse, CookResult, PlatformImage, ServiceResult, WarmReport
from buildctl.build.steps import BuildSteps, CookStep, ImageStep, ServiceSteps
from buildctl.config import WorkspaceMap
from buildctl.errors import BuildctlError

Log = Callable[[str, str], None]  # (service or "cook", line)
T = TypeVar("T")


def cache_use(outcome: BuildOutcome) -> CacheUse:
    cooked = outcome.step_cached("cargo chef cook")
    return CacheUse("cached" if cooked else "compiled", outcome.steps, outcome.cached_steps)


class Builder:
    def __init__(
        self, repo: Path, cfg: WorkspaceMap, steps: BuildSteps, engine: Engine, opts: BuildOptions, log: Log
    ) -> None:
        self.repo, self.cfg, self.steps, self.engine, self.opts, self.log = (
            repo,
            cfg,
            steps,
            engine,
            opts,
            log,
        )
        self.creds: Credentials | None = None
        self.api: RegistryAPI | None = None
        if cfg.registry:
            host = split_image(cfg.registry)[0]
            self.creds = credentials(host, opts.environ)
            self.api = RegistryAPI(host, self.creds)
        self.cli_environ: Mapping[str, str] = opts.environ

    def login(self) -> None:
        if self.creds is not None and self.cfg.registry:
            self.engine.login(split_image(self.cfg.registry)[0], self.creds)

    @contextlib.contextmanager
    def cli_credentials(self) -> Iterator[None]:
        """BuildKit reads and writes the registry's cache with the docker CLI's own credentials,
        not the engine's: credentials that came from the environment (GITHUB_TOKEN, BUILDCTL_REGISTRY_*)
        go to a docker config of this run's own, readable by this user only, removed at the end."""
        if self.steps.builder.kind != "buildkit" or self.creds is None or not self.cfg.registry:
            yield
            return
        if not self.creds.source.startswith(("GITHUB_TOKEN", "BUILDCTL_REGISTRY")):
            yield  # the user's docker config has them already
            return
        host = split_image(self.cfg.registry)[0]
        with tempfile.TemporaryDirectory(prefix="buildctl-docker-config-") as folder:
            token = base64.b64encode(f"{self.creds.username}:{self.creds.password}".encode()).decode()
            path = Path(folder, "config.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"auths": {host: {"auth": token}}}, fh)
            self.cli_environ = {**self.opts.environ, "DOCKER_CONFIG": folder}
            try:
                yield
            finally:
                self.cli_environ = self.opts.environ

    def _retry(self, what: str, action: Callable[[], T], who: str) -> T:
        return retry.retrying(
            what,
            action,
            attempts=self.opts.retries,
            base_delay=self.opts.retry_delay,
            log=lambda m: self.log(who, m),
        )

    def cook(self, step: CookStep) -> CookResult:
        """Build the cook stage, from whatever cache is nearest: the engine's, else the registry's."""
        source: Literal["local", "registry", "none"] = "local" if self.engine.image_id(step.ref) else "none"
        if self.steps.builder.kind == "buildkit":
            # BuildKit reads the registry's cache itself, and only what it needs.
            if source == "none" and self._in_registry(step.cache_ref):
                source = "registry"
        elif source == "none" and self.cfg.registry and self.engine.pull(step.ref, self.creds):
            source = "registry"
        started = time.monotonic()
        self.log(step.label, f"cook {step.ref} (cache source: {source}){step.note}")
        classic_cache = [step.ref] if source != "none" else []
        outcome = self._build(step.invocation(self.steps.secrets), classic_cache, step.label, step.context)
        return CookResult(
            step.platform,
            step.key,
            step.ref,
            "built",
            source=source,
            cook_step="cached" if outcome.step_cached("cargo chef cook") else "compiled",
            duration=time.monotonic() - started,
        )

    def _in_registry(self, ref: str) -> bool:
        if self.api is None or not ref:
            return False
        repo_path, _, tag = split_image(ref)[1].rpartition(":")
        try:
            return self.api.manifest(repo_path, tag) is not None
        except BuildctlError:
            return False

    def _build(self, inv: Invocation, classic_cache: Sequence[str], who: str, context: str) -> BuildOutcome:
        """One build in `context` (repo-relative; the Dockerfile is relative to the repository
        too), by the chosen builder: BuildKit through the docker CLI, or the classic one through
        the engine's API (which reads only the cache images it is given)."""
        sink = partial(self.log, who)
        folder = self.repo / context if context else self.repo
        if self.steps.builder.kind == "buildkit":
            return buildkit.run(self.steps.builder, inv, context=folder, environ=self.opts.environ, sink=sink)
        return self.engine.build(
            context=folder,
            dockerfile=inv.dockerfile,
            target=inv.target,
            tag=inv.tag,
            buildargs=inv.args,
            cache_from=classic_cache,
            sink=sink,
        )

    def push(self, ref: str, who: str) -> str:
        return self._retry(f"push {ref}", lambda: self.engine.push(ref, self.creds), who)

    def build_one(self, svc: ServiceSteps) -> ServiceResult:
        """Build the service for each of its platforms, then tag and push as its steps say."""
        started = time.monotonic()
        pushed = bool(svc.pushes(self.steps.push))
        image = svc.repository if svc.pushable else None
        result = ServiceResult(svc.service, "built", image, list(svc.tags[:-1]), fingerprint=svc.fingerprint)
        try:
            built = [self._build_image(svc.service, step) for step in svc.images]
            result.cache = CacheUse.total([b.cache for b in built])
            for tag in svc.local_tags:
                self.engine.tag(built[0].image_id, f"{svc.repository}:{tag}")
            if pushed and svc.multi:
                result.digest = self._push_index(svc, built)
            elif pushed:
                for ref in svc.pushes(True):
                    result.digest = built[0].digest = self.push(ref, svc.service)
            result.status = "pushed" if pushed else "built"
            result.platforms = {b.platform: b for b in built}
        except BuildctlError as exc:
            result.status, result.error = "failed", exc.message
            self.log(svc.service, f"failed: {exc.message}")
            if exc.hint:
                self.log(svc.service, f"hint: {exc.hint}")
        result.duration = time.monotonic() - started
        return result

    def _build_image(self, service: str, step: ImageStep) -> PlatformImage:
        self.log(service, f"building {step.ref}{step.note}")
        inv = step.invocation(self.steps.secrets)
        outcome = self._build(inv, step.cache_from, service, step.context)
        got = self.engine.image_platform(outcome.image_id)
        if got != step.platform:
            raise BuildctlError(
                f"the image built for {step.platform} is a {got} image: its runtime base (RUNTIME_IMAGE) is for {got}",
                file=self.cfg.file,
                hint=f'set RUNTIME_IMAGE in [build.platform_args."{step.platform}"] to a {step.platform} '
                "base image (scripts/bootstrap-images.sh makes one for linux/arm64)",
            )
        size = self.engine.image_size(outcome.image_id)
        return PlatformImage(step.platform, step.ref, outcome.image_id, size, cache_use(outcome))

    def _push_index(self, svc: ServiceSteps, built: Sequence[PlatformImage]) -> str:
        """Push each platform's image, then an OCI image index of them under every tag."""
        assert self.api is not None
        api, path = self.api, split_image(svc.repository)[1]
        entries = []
        for b in built:
            digest = b.digest = self.push(b.ref, svc.service)
            found = self._retry(f"read {path}@{digest}", partial(api.manifest, path, digest), svc.service)
            if found is None:
                raise BuildctlError(f"the registry has no manifest {path}@{digest} right after pushing it")
            spec = platforms.get(b.platform).spec()
            entries.append(IndexEntry(media_type=found[1], digest=digest, size=len(found[2]), platform=spec))
        body = oci_index(entries)
        digest = content_digest(body)
        names = ", ".join(i.platform for i in svc.images)
        for tag in svc.index_tags(True):
            self.log(svc.service, f"pushing the image index {svc.repository}:{tag} ({names})")
            stored = self._retry(
                f"push index {svc.repository}:{tag}",
                partial(api.put_manifest, path, tag, OCI_INDEX, body),
                svc.service,
            )
            if stored and stored != digest:
                raise BuildctlError(
                    f"the registry stored the index {svc.repository}:{tag} as {stored}, not {digest}"
                )
        return digest

    def reuse(self, svc: ServiceSteps) -> ServiceResult | None:
        """With --skip-existing: the image already pushed for this fingerprint, re-tagged; else None."""
        if not (self.opts.skip_existing and svc.pushes(self.steps.push) and self.api is not None):
            return None
        started = time.monotonic()
        fp_tag, tags = svc.tags[-1], svc.tags[:-1]
        path = split_image(svc.repository)[1]
        try:
            found = self.api.manifest(path, fp_tag)
            if found is None:
                return None
            digest, media_type, body = found
            for tag in tags:
                self.api.put_manifest(path, tag, media_type, body)
        except BuildctlError as exc:
            self.log(svc.service, f"cannot reuse {fp_tag}, building instead: {exc.message}")
            return None
        self.log(svc.service, f"fingerprint {fp_tag} is already in the registry: re-tagged, not rebuilt")
        return ServiceResult(
            svc.service,
            "skipped",
            svc.repository,
            list(tags),
            digest=digest,
            duration=time.monotonic() - started,
            fingerprint=svc.fingerprint,
            cache=CacheUse(reused=fp_tag),
        )


def check_push_target(cfg: WorkspaceMap) -> None:
    if not cfg.registry:
        raise BuildctlError(
            "--push needs a registry", file=cfg.file, hint="set [workspace] registry in the map"
        )
    if cfg.placeholder:
        raise BuildctlError(
            f"[workspace] registry {cfg.registry} names the placeholder '{cfg.placeholder}': nothing is pushed",
            file=cfg.file,
            hint="set it to your own registry, e.g. ghcr.io/<owner>/<repo>, and the overlays' newName with it",
        )


def run_builds(
    repo: Path,
    cfg: WorkspaceMap,
    steps: BuildSteps,
    opts: BuildOptions,
    engine: Engine,
    log: Log,
    on_done: Callable[[ServiceResult], None] = lambda r: None,
) -> BuildReport:
    """Carry out `steps`: reuse what --skip-existing finds, cook each platform that is still
    needed, then build the services `opts.jobs` at a time."""
    builder = Builder(repo, cfg, steps, engine, opts, log)
    if steps.push:
        check_push_target(cfg)
        builder.login()
    report = BuildReport(steps.head, steps.builder)
    if not steps.services:
        return report
    gitrepo.require_checkout_of(repo, steps.head)
    with builder.cli_credentials():
        to_build = []
        for svc in steps.services:
            reused = builder.reuse(svc)
            if reused is None:
                to_build.append(svc)
            else:
                report.services[svc.service] = reused
                on_done(reused)
        if not to_build:
            report.cook_skipped = "every service's fingerprint was already in the registry"
            return report
        # The cooks the images to build take, each once, one after another: each is a full
        # compile that wants every core. An image whose Dockerfile has no cook takes none.
        needed = {(c.ref, c.platform): c for svc in to_build for i in svc.images if (c := steps.cook_of(i))}
        for step in needed.values():
            name = step.name or step.platform
            try:
                report.cooks[name] = cooked = builder.cook(step)
                if steps.push and step.push_image and cooked.cook_step == "compiled":
                    # The next job or run on another runner reads it instead of compiling again.
                    cooked.digest = builder.push(step.ref, step.label)
                    cooked.status = "pushed"
            except BuildctlError as exc:
                report.cooks[name] = CookResult(
                    step.platform, step.key, step.ref, "failed", error=exc.message
                )
        ready = []
        for svc in to_build:
            # Without dependencies nothing can build: the service fails with its cook's reason.
            failed = next(
                (
                    cooked
                    for i in svc.images
                    if (c := steps.cook_of(i)) is not None
                    and (cooked := report.cooks[c.name or c.platform]).error
                ),
                None,
            )
            if failed is not None:
                image = svc.repository if svc.pushable else None
                result = ServiceResult(svc.service, "failed", image, list(svc.tags[:-1]), error=failed.error)
                report.services[svc.service] = result
                on_done(result)
            else:
                ready.append(svc)
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            futures = [pool.submit(builder.build_one, s) for s in ready]
            for future in as_completed(futures):
                result = future.result()
                report.services[result.service] = result
                on_done(result)
        return report


def warm(
    repo: Path, cfg: WorkspaceMap, steps: BuildSteps, opts: BuildOptions, engine: Engine, log: Log
) -> WarmReport:
    """Build each platform's cook stage and push it, unless the registry has it already."""
    if not cfg.registry:
        raise BuildctlError(
            "warm pushes the cook cache to the registry, and the map names none", file=cfg.file
        )
    check_push_target(cfg)
    builder = Builder(repo, cfg, steps, engine, opts, log)
    assert builder.api is not None
    with builder.cli_credentials():
        done: list[CookResult] = []
        ready = False  # logged in, and the checkout is the commit the cook is built from
        for step in steps.cooks:
            repo_path, _, tag = split_image(step.cache_ref)[1].rpartition(":")
            existing = builder.api.manifest(repo_path, tag)
            if existing is not None:
                done.append(CookResult(step.platform, step.key, step.ref, "exists", digest=existing[0]))
                continue
            if not ready:
                builder.login()
                gitrepo.require_checkout_of(repo, steps.head)
                ready = True
            cooked = builder.cook(step)
            if step.push_image:
                cooked.digest = builder.push(step.ref, step.label)
            cooked.status = "pushed"
            done.append(cooked)
    return WarmReport(tuple(done))
