"""A plan's build, as data: each platform's cook, and each service's images, tags, pushes and
image indexes, with the exact build arguments of each.

Worked out once, by `derive`, from the plan, the head revision and the options alone: no engine,
no registry (`prepare` reads the revision from git's objects first). `build --dry-run` prints these steps, `plan` shows them, and the executor carries
them out without deciding anything again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from buildctl import gitrepo, platforms
from buildctl.build import bases
from buildctl.build.bases import Resolved, Resolver
from buildctl.build.buildkit import BuilderChoice, Invocation
from buildctl.build.cache_keys import cook_key, cook_ref, service_fingerprints
from buildctl.build.options import BuildOptions
from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision, check_buildable
from buildctl.errors import BuildctlError
from buildctl.plan import Plan

LOCAL_REPOSITORY = "buildctl-local"  # where a service's image lives when the map names no registry


@dataclass(frozen=True)
class CookStep:
    """The cook stage (every dependency compiled) for one platform, shared by every service."""

    platform: str
    key: str
    ref: str  # <registry>/<cache repository>:cook-<key>: the cook image
    args: Mapping[str, str]
    label: str  # how the logs name it: "cook", or "cook-<arch>" when there are several
    cross: bool  # compiled for another platform than the build machine's
    # What the builder reads the cook from, and writes it to, when the registry holds it: the
    # cook image (classic; BuildKit's inline cache), or a cache manifest of every stage (buildx
    # with a driver of its own), `cache_ref`.
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    cache_ref: str = ""
    push_image: bool = True  # the cook image itself is what a later build reads

    def invocation(self, dockerfile: str, secrets: tuple[tuple[str, str], ...]) -> Invocation:
        return Invocation(
            dockerfile, "cook", self.ref, self.platform, self.args, self.cache_from, self.cache_to, secrets
        )

    @property
    def note(self) -> str:
        return f" for {self.platform}, cross-compiled" if self.cross else ""


@dataclass(frozen=True)
class ImageStep:
    """One platform's image of a service: the runtime stage, on its platform's cook."""

    platform: str
    ref: str  # repository:tag this image is built under
    cook: str  # the cook image it takes its dependencies from
    args: Mapping[str, str]
    cross: bool
    cache_from: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        return f" for {self.platform}, cross-compiled" if self.cross else ""

    def invocation(self, dockerfile: str, secrets: tuple[tuple[str, str], ...]) -> Invocation:
        return Invocation(
            dockerfile, "runtime", self.ref, self.platform, self.args, self.cache_from, (), secrets
        )


@dataclass(frozen=True)
class ServiceSteps:
    service: str
    repository: str  # the map's image of the service, or buildctl-local/<service>
    pushable: bool  # the map names a registry, so --push pushes it
    fingerprint: str
    tags: tuple[str, ...]  # sha-<commit>, any latest/branch tag, then fp-<fingerprint>
    images: tuple[ImageStep, ...]  # one per platform

    @property
    def multi(self) -> bool:
        """Several platforms: each tag names an OCI image index of their images."""
        return len(self.images) > 1

    @property
    def local_tags(self) -> tuple[str, ...]:
        """Tags the engine adds to a one-platform image after its build (the first is built)."""
        return () if self.multi else self.tags[1:]

    def pushes(self, push: bool) -> tuple[str, ...]:
        """What the engine pushes: every tag of a one-platform image, else each platform's image."""
        if not (push and self.pushable):
            return ()
        if self.multi:
            return tuple(i.ref for i in self.images)
        return tuple(f"{self.repository}:{tag}" for tag in self.tags)

    def index_tags(self, push: bool) -> tuple[str, ...]:
        """Tags an image index of the platforms' images is put under, through the registry's API."""
        return self.tags if push and self.pushable and self.multi else ()


@dataclass(frozen=True)
class BuildSteps:
    head: str
    dockerfile: str
    push: bool
    builder: BuilderChoice
    cooks: tuple[CookStep, ...]  # the platforms the services need (every platform of the map for none)
    services: tuple[ServiceSteps, ...]
    secrets: tuple[tuple[str, str], ...] = ()  # BuildKit secrets: (id, "env:NAME" | "file:PATH")
    bases: tuple[Resolved, ...] = ()  # the base images, as each platform's build takes them

    def cook(self, platform: str) -> CookStep:
        return next(c for c in self.cooks if c.platform == platform)

    def service(self, name: str) -> ServiceSteps:
        return next(s for s in self.services if s.service == name)


def platform_args(
    cfg: WorkspaceMap, opts: BuildOptions, platform: str, native: str, builder: BuilderChoice
) -> dict[str, str]:
    """Build arguments of `platform`'s images: the map's, the command line's over them, the map's
    per-platform ones over both, and what the builder needs to cross-compile (`platforms`)."""
    return platforms.build_args(
        platform,
        native_platform=native,
        args={**cfg.build.args, **opts.build_args},
        platform_args=cfg.build.platform_args,
        buildkit=builder.kind == "buildkit",
    )


def _cook(
    cfg: WorkspaceMap,
    rev: Revision,
    builder: BuilderChoice,
    platform: str,
    args: dict[str, str],
    keyed: dict[str, str],
    label: str,
    *,
    native: str,
    push: bool,
) -> CookStep:
    # A cook only serves as a cache to the kind of builder that made it.
    key = cook_key(rev, cfg.dockerfile, {**keyed, "(builder)": builder.kind})
    ref = cook_ref(cfg, key)
    if builder.registry_cache:
        cache = f"{ref}-{platforms.get(platform).architecture}"
        return CookStep(
            platform,
            key,
            ref,
            args,
            label,
            platform != native,
            cache_from=(f"type=registry,ref={cache}",),
            cache_to=(f"type=registry,ref={cache},mode=max",) if push else (),
            cache_ref=cache,
            push_image=False,
        )
    if builder.kind == "buildkit":
        # The pushed cook image carries BuildKit's cache metadata (inline), so a fresh runner's
        # BuildKit reads it from the registry without pulling anything it does not need.
        return CookStep(
            platform,
            key,
            ref,
            {**args, "BUILDKIT_INLINE_CACHE": "1"},
            label,
            platform != native,
            cache_from=(ref,),
            cache_ref=ref,
        )
    return CookStep(platform, key, ref, args, label, platform != native, cache_ref=ref)


def derive(
    plan: Plan,
    rev: Revision,
    cfg: WorkspaceMap,
    opts: BuildOptions,
    *,
    native: str,
    created: str,
    builder: BuilderChoice,
    resolved: Mapping[tuple[str, str], Resolved] = {},
    source_url: str = "",
) -> BuildSteps:
    """Every step of building the plan's services at `rev` (the plan's head) with `builder`.
    `native` is the build machine's platform (built without cross-compiling); `created` the head
    commit's time; `resolved` what each base image is for each platform (`bases`), which the
    build takes by digest and every key covers (an unresolved base is taken as written)."""
    secrets = tuple(sorted(cfg.build.secrets.items()))
    if secrets and builder.kind != "buildkit":
        raise BuildctlError(
            f"[build] secrets ({', '.join(s for s, _ in secrets)}) need BuildKit, and the builder is "
            f"{builder.label}: {builder.why}",
            file=cfg.file,
            hint="the classic builder has no build secrets (a build argument would stay in the image "
            'history): use builder = "buildkit" or "auto" on a machine with buildx',
        )
    targets = [s for s in plan.services if s.build]
    needed = needed_platforms(plan, cfg)
    args, used = build_args(rev, cfg, opts, needed, native=native, builder=builder)
    args = bases.pin(args, used, resolved)
    # Keys cover more than the arguments: the platform (BuildKit's arguments do not name it) and
    # the image each base is for it (a local image's id; a registry's is in its pinned reference).
    keyed = {p: {**args[p], "(platform)": p} for p in needed}
    for use in used:
        hit = resolved.get((use.ref, use.platform))
        if hit is not None:
            keyed[use.target][f"(base {use.arg})"] = hit.digest
    cooks = {
        p: _cook(
            cfg,
            rev,
            builder,
            p,
            args[p],
            keyed[p],
            "cook" if len(needed) == 1 else f"cook-{platforms.get(p).architecture}",
            native=native,
            push=opts.push,
        )
        for p in needed
    }

    # A service's fingerprint covers the arguments of every platform it is built for.
    groups: dict[tuple[str, ...], dict[str, str]] = {}
    for svc in targets:
        groups.setdefault(svc.platforms, {})[svc.name] = svc.crate
    fps: dict[str, str] = {}
    for names, crates in groups.items():
        fp_args = platforms.fingerprint_args({p: keyed[p] for p in names})
        fps.update(service_fingerprints(rev, crates, cfg.dockerfile, fp_args))

    services = []
    for svc in targets:
        repository = svc.image or f"{LOCAL_REPOSITORY}/{svc.name}"
        tags = (*svc.tags, f"fp-{fps[svc.name]}")
        multi = len(svc.platforms) > 1
        stamp = {
            "SERVICE_NAME": svc.name,
            "REVISION": plan.head,
            "CREATED": created,
            "SOURCE_URL": cfg.build.source_url or source_url,
        }
        images = tuple(
            ImageStep(
                platform=p,
                ref=f"{repository}:{platforms.image_tag(tags[0], p, multi=multi)}",
                cook=cooks[p].ref,
                args={**args[p], **stamp},
                cross=p != native,
                cache_from=cooks[p].cache_from if builder.kind == "buildkit" else (cooks[p].ref,),
            )
            for p in svc.platforms
        )
        services.append(
            ServiceSteps(svc.name, repository, svc.image is not None, fps[svc.name], tags, images)
        )
    return BuildSteps(
        plan.head,
        cfg.dockerfile,
        opts.push,
        builder,
        tuple(cooks.values()),
        tuple(services),
        secrets,
        tuple(dict.fromkeys(resolved[(u.ref, u.platform)] for u in used if (u.ref, u.platform) in resolved)),
    )


def needed_platforms(plan: Plan, cfg: WorkspaceMap) -> list[str]:
    """The platforms the plan builds for; every platform of the map when it builds nothing (warm)."""
    return platforms.ordered(p for s in plan.services if s.build for p in s.platforms) or list(cfg.platforms)


def build_args(
    rev: Revision,
    cfg: WorkspaceMap,
    opts: BuildOptions,
    needed: list[str],
    *,
    native: str,
    builder: BuilderChoice,
) -> tuple[dict[str, dict[str, str]], list[bases.BaseUse]]:
    """Each platform's build arguments, and the base images they make its build take."""
    args = {p: platform_args(cfg, opts, p, native, builder) for p in needed}
    return args, bases.uses(rev.snap.text(cfg.dockerfile) or "", args, native)


def prepare(
    repo: Path,
    cfg: WorkspaceMap,
    plan: Plan,
    opts: BuildOptions,
    *,
    native: str,
    builder: BuilderChoice,
    resolver: Resolver | None,
) -> tuple[BuildSteps, list[BuildctlError]]:
    """The steps of the plan's head commit, read from git's objects (no checkout, no engine),
    once the map is known to fit it (every service to build has a binary to ship) and each base
    image is resolved for each platform through `resolver`. What could not be resolved comes
    back beside the steps: a build stops at it, a dry run shows it."""
    rev = Revision.at(repo, cfg.root, plan.head)
    targets = [s.name for s in plan.services if s.build]
    check_buildable(cfg, rev.ws, targets)
    created = gitrepo.commit_time(repo, plan.head) if targets else ""
    resolved: dict[tuple[str, str], Resolved] = {}
    problems: list[BuildctlError] = []
    if resolver is not None:
        _, used = build_args(rev, cfg, opts, needed_platforms(plan, cfg), native=native, builder=builder)
        resolved, problems = bases.resolve_all(resolver, used)
    steps = derive(
        plan,
        rev,
        cfg,
        opts,
        native=native,
        created=created,
        builder=builder,
        resolved=resolved,
        source_url="" if cfg.build.source_url else gitrepo.source_url(repo, opts.environ),
    )
    return steps, problems
