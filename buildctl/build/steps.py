"""A plan's build, as data: the cooks, and each service's images, tags, pushes and image
indexes, with the exact Dockerfile, context, target and build arguments of each.

A cook is per Dockerfile, context, platform and the build arguments that reach its `cook`
stage: services that share all of them share one. A service whose Dockerfile has no `cook`
stage (one not written for cargo-chef) has no cook: its target is built from its own cache.

Worked out once, by `derive`, from the plan, the head revision and the options alone: no engine,
no registry (`prepare` reads the revision from git's objects first). `build --dry-run` prints these steps, `plan` shows them, and the executor carries
them out without deciding anything again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from buildctl import gitrepo, platforms
from buildctl.build import bases
from buildctl.build.bases import Resolved, Resolver
from buildctl.build.buildkit import BuilderChoice
from buildctl.build.cache_keys import cook_key, cook_ref, service_fingerprints
from buildctl.build.options import BuildOptions
from buildctl.build.specs import Spec, specs_of
from buildctl.build.step_types import BuildSteps, CookStep, ImageStep, ServiceSteps
from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision, check_buildable
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet
from buildctl.plan import Plan

__all__ = ["BuildSteps", "CookStep", "ImageStep", "ServiceSteps", "derive", "prepare"]

LOCAL_REPOSITORY = "buildctl-local"  # where a service's image lives when the map names no registry


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
    where: tuple[str, str, str],  # (Dockerfile, context, the cook's name in a report)
) -> CookStep:
    dockerfile, context, name = where
    # A cook only serves as a cache to the kind of builder that made it.
    key = cook_key(rev, dockerfile, {**keyed, "(builder)": builder.kind})
    ref = cook_ref(cfg, key)
    step = _cook_step(builder, platform, key, ref, args, label, native=native, push=push)
    return replace(step, dockerfile=dockerfile, context=context, name=name)


def _cook_step(
    builder: BuilderChoice,
    platform: str,
    key: str,
    ref: str,
    args: dict[str, str],
    label: str,
    *,
    native: str,
    push: bool,
) -> CookStep:
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
    # With nothing to build (warm), every service's cook.
    specs = specs_of(rev, cfg, [s.name for s in targets] or list(cfg.services))
    per_file = _per_dockerfile(rev, cfg, opts, needed, specs, native, builder, resolved)

    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for name, spec in specs.items():
        if spec.has_cook:
            groups.setdefault(spec.group, []).append(name)
    if not specs:
        groups[(cfg.dockerfile, "", ())] = []
    cooks: dict[tuple[tuple[str, str, tuple[tuple[str, str], ...]], str], CookStep] = {}
    for n, (group, members) in enumerate(groups.items(), start=1):
        dockerfile, context, extra = group
        args, keyed, _ = per_file[dockerfile]
        wanted = [p for p in needed if not targets or any(p in plan_platforms(plan, m) for m in members)]
        for p in wanted:
            arch = platforms.get(p).architecture
            label = "cook" + (f"-{n}" if len(groups) > 1 else "") + (f"-{arch}" if len(needed) > 1 else "")
            context_key = {"(context)": context} if context else {}
            cooks[(group, p)] = _cook(
                cfg,
                rev,
                builder,
                p,
                {**args[p], **dict(extra)},
                {**keyed[p], **dict(extra), **context_key},
                label,
                native=native,
                push=opts.push,
                where=(dockerfile, context, p if len(groups) == 1 else label),
            )

    # A service's fingerprint covers the arguments of every platform it is built for.
    fp_groups: dict[tuple[tuple[str, ...], str, tuple[tuple[str, str], ...]], dict[str, str]] = {}
    for svc in targets:
        spec = specs[svc.name]
        fp_groups.setdefault((svc.platforms, spec.dockerfile, tuple(sorted(spec.keyed().items()))), {})[
            svc.name
        ] = svc.crate
    fps: dict[str, str] = {}
    for (names, dockerfile, extra), crates in fp_groups.items():
        keyed = per_file[dockerfile][1]
        fp_args = platforms.fingerprint_args({p: {**keyed[p], **dict(extra)} for p in names})
        fps.update(service_fingerprints(rev, crates, dockerfile, fp_args, _inputs(cfg)))

    services = []
    for svc in targets:
        spec = specs[svc.name]
        args = per_file[spec.dockerfile][0]
        repository = svc.image or f"{LOCAL_REPOSITORY}/{svc.name}"
        tags = (*svc.tags, f"fp-{fps[svc.name]}")
        multi = len(svc.platforms) > 1
        stamp = {
            "SERVICE_NAME": svc.name,
            "REVISION": plan.head,
            "CREATED": created,
            "SOURCE_URL": cfg.build.source_url or source_url,
        }
        images = []
        for p in svc.platforms:
            cook = cooks.get((spec.group, p)) if spec.has_cook else None
            cache_from = (
                () if cook is None else cook.cache_from if builder.kind == "buildkit" else (cook.ref,)
            )
            images.append(
                ImageStep(
                    platform=p,
                    ref=f"{repository}:{platforms.image_tag(tags[0], p, multi=multi)}",
                    cook=cook.ref if cook is not None else "",
                    args={**args[p], **stamp, **spec.args},
                    cross=p != native,
                    cache_from=cache_from,
                    dockerfile=spec.dockerfile,
                    context=spec.context,
                    target=spec.target,
                )
            )
        services.append(
            ServiceSteps(
                svc.name,
                repository,
                svc.image is not None,
                fps[svc.name],
                tags,
                tuple(images),
                spec.dockerfile,
                spec.context,
                spec.target,
            )
        )
    used = [u for _, _, file_used in per_file.values() for u in file_used]
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


def plan_platforms(plan: Plan, service: str) -> tuple[str, ...]:
    found = plan.service(service)
    return found.platforms if found is not None else ()


Keyed = dict[str, dict[str, str]]


def _per_dockerfile(
    rev: Revision,
    cfg: WorkspaceMap,
    opts: BuildOptions,
    needed: list[str],
    specs: Mapping[str, Spec],
    native: str,
    builder: BuilderChoice,
    resolved: Mapping[tuple[str, str], Resolved],
) -> dict[str, tuple[Keyed, Keyed, list[bases.BaseUse]]]:
    """Per Dockerfile: each platform's build arguments with its bases pinned, what the keys of
    that platform cover, and the base images it takes."""
    out: dict[str, tuple[Keyed, Keyed, list[bases.BaseUse]]] = {}
    for dockerfile in dict.fromkeys([s.dockerfile for s in specs.values()] or [cfg.dockerfile]):
        raw, used = build_args(rev, cfg, opts, needed, native=native, builder=builder, dockerfile=dockerfile)
        args = bases.pin(raw, used, resolved)
        # Keys cover more than the arguments: the platform (BuildKit's arguments do not name it) and
        # the image each base is for it (a local image's id; a registry's is in its pinned reference).
        keyed = {p: {**args[p], "(platform)": p} for p in needed}
        for use in used:
            hit = resolved.get((use.ref, use.platform))
            if hit is not None:
                keyed[use.target][f"(base {use.arg})"] = hit.digest
        out[dockerfile] = (args, keyed, used)
    return out


def _inputs(cfg: WorkspaceMap) -> dict[str, GlobSet]:
    """The files outside the crates that builds read: each service's `inputs`, each crate's
    (`[crates.<name>] inputs`, as "crate <name>")."""
    out = {name: svc.inputs for name, svc in cfg.services.items() if svc.inputs}
    out.update({f"crate {name}": globs for name, globs in cfg.crate_inputs.items() if globs})
    return out


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
    dockerfile: str | None = None,
) -> tuple[dict[str, dict[str, str]], list[bases.BaseUse]]:
    """Each platform's build arguments, and the base images they make a build from `dockerfile`
    (the map's by default) take."""
    args = {p: platform_args(cfg, opts, p, native, builder) for p in needed}
    return args, bases.uses(rev.snap.text(dockerfile or cfg.dockerfile) or "", args, native)


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
        needed = needed_platforms(plan, cfg)
        specs = specs_of(rev, cfg, targets or list(cfg.services))
        found = _per_dockerfile(rev, cfg, opts, needed, specs, native, builder, {})
        used = [u for _, _, file_used in found.values() for u in file_used]
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
    for ident, source in steps.secrets:
        kind, _, name = source.partition(":")
        if kind == "env" and name not in opts.environ:
            problems.append(
                BuildctlError(
                    f"build secret '{ident}' comes from the environment variable {name}, which is not set",
                    file=cfg.file,
                    hint=f"set {name} in the job's environment (from a repository secret)",
                )
            )
    return steps, problems
