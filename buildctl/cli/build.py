"""`buildctl build`: build the plan's services (or those named), tag, and optionally push."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from buildctl import gha, gitrepo, platforms, report
from buildctl.build.keys import BuildOptions, Keys
from buildctl.cli.context import AppContext, format_option, pass_app, range_options
from buildctl.config import WorkspaceMap
from buildctl.detect.planner import RangeOptions, requested_plan
from buildctl.detect.revision import Revision, check_buildable
from buildctl.detect.snapshot import Snapshot
from buildctl.errors import PartialFailure
from buildctl.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


def parse_build_args(values: tuple[str, ...]) -> dict[str, str]:
    args: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--build-arg")
        args[key] = value
    return args


def build_options(
    cfg: WorkspaceMap, *, push: bool, jobs: int, skip_existing: bool, build_args: tuple[str, ...]
) -> BuildOptions:
    return BuildOptions(
        push=push,
        jobs=jobs,
        skip_existing=skip_existing,
        build_args={**cfg.build.args, **parse_build_args(build_args)},
        platform_args=cfg.build.platform_args,
        cache_repository=cfg.build.cache_repository,
        source_url=cfg.build.source_url,
        environ=os.environ,
    )


def mask_registry_token(cfg: WorkspaceMap) -> None:
    """In GitHub Actions, tell the runner to hide the registry token before anything could print it."""
    if not (gha.in_actions() and cfg.registry):
        return
    from buildctl.build.registry import credentials, split_image

    creds = credentials(split_image(cfg.registry)[0], os.environ)
    if creds:
        click.echo(gha.mask(creds.password), err=True)


def shared_build_options(func: F) -> F:
    """Options every command that builds takes."""
    func = click.option("-v", "--verbose", is_flag=True, help="Show every line of the build logs.")(func)
    func = click.option(
        "--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="Extra build argument."
    )(func)
    return func


def dry_run_steps(repo: Path, cfg: WorkspaceMap, plan: Plan, opts: BuildOptions) -> str:
    """The engine calls a build would make, as docker commands: the same cook keys, build args,
    tags (fp-<fingerprint> included) and pushes, worked out from the head commit alone. With
    several platforms, the image index each tag gets is a comment: it goes through the registry's
    API, not the engine."""
    side = Revision(Snapshot.at(repo, plan.head), cfg.root)
    targets = [s for s in plan.services if s.build]
    check_buildable(cfg, side.ws, [s.name for s in targets])
    keys = Keys(side, cfg, opts, platforms.native())
    fps = keys.fingerprints(targets)
    needed = platforms.ordered(name for svc in targets for name in svc.platforms) or list(cfg.platforms)
    cooks = {name: keys.cook(name)[1] for name in needed}
    created = gitrepo.commit_time(repo, plan.head) if targets else ""

    def build_args(args: dict[str, str]) -> str:
        return " ".join(f"--build-arg {shlex.quote(f'{k}={v}')}" for k, v in args.items())

    lines = [f"# head {plan.head}"]
    for name in needed:
        lines.append(
            f"docker build -f {cfg.dockerfile} --network host --target cook -t {cooks[name]} "
            f"{build_args(keys.args(name))} ."
        )
    for svc in targets:
        image = svc.image or f"buildctl-local/{svc.name}"
        multi = len(svc.platforms) > 1
        tags = [*svc.tags, f"fp-{fps[svc.name]}"]
        refs = []
        for name in svc.platforms:
            ref = f"{image}:{platforms.image_tag(tags[0], name, multi=multi)}"
            args = {
                **keys.args(name),
                "SERVICE_NAME": svc.name,
                "REVISION": plan.head,
                "CREATED": created,
                "SOURCE_URL": opts.source_url,
            }
            lines.append(
                f"docker build -f {cfg.dockerfile} --network host --target runtime "
                f"--cache-from {cooks[name]} {build_args(args)} -t {ref} ."
            )
            refs.append(f"{ref} ({name})")
        if not multi:
            lines.extend(f"docker tag {image}:{tags[0]} {image}:{tag}" for tag in tags[1:])
        if opts.push and svc.image and not multi:
            lines.extend(f"docker push {image}:{tag}" for tag in tags)
        elif opts.push and svc.image:
            lines.extend(f"docker push {ref.partition(' ')[0]}" for ref in refs)
            lines.extend(f"# OCI image index {image}:{tag} = {', '.join(refs)}" for tag in tags)
    return "\n".join(lines) + "\n"


@click.command(
    "build",
    epilog="\b\nExamples:\n  buildctl build --base origin/main --push --jobs 2\n"
    "  buildctl build --service auth-service --dry-run\n  buildctl build --all --format json",
)
@range_options
@click.option(
    "--service", "services", multiple=True, help="Build this service (repeatable) instead of the plan's."
)
@click.option("--all", "all_services", is_flag=True, help="Build every service (the backstop).")
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True, help="Services built at once."
)
@click.option("--push", is_flag=True, help="Push every tag to the map's registry.")
@click.option(
    "--skip-existing", is_flag=True, help="Re-tag, not rebuild, a service whose input fingerprint is pushed."
)
@click.option("--dry-run", is_flag=True, help="Print the build and push steps; build nothing.")
@shared_build_options
@format_option("text", "json")
@pass_app
def command(
    app: AppContext,
    opts: RangeOptions,
    services: tuple[str, ...],
    all_services: bool,
    jobs: int,
    push: bool,
    skip_existing: bool,
    build_args: tuple[str, ...],
    dry_run: bool,
    verbose: bool,
    fmt: str,
) -> None:
    """Build each affected service from the Dockerfile with one shared cargo-chef cook, tag it
    sha-<commit>, and with --push push it. One failing service does not stop the others."""
    cfg = app.map
    if services or all_services:
        plan = requested_plan(app.repo, cfg, None if all_services else list(services), opts.head, os.environ)
    else:
        plan = app.plan(opts)
    bopts = build_options(cfg, push=push, jobs=jobs, skip_existing=skip_existing, build_args=build_args)
    if dry_run:
        click.echo(dry_run_steps(app.repo, cfg, plan, bopts), nl=False)
        return
    from buildctl.build.engine import Engine
    from buildctl.build.executor import run_builds
    from buildctl.build.progress import Progress

    progress = Progress(verbose=verbose, actions=gha.in_actions())
    if bopts.push:
        mask_registry_token(cfg)
    to_build = [s for s in plan.services if s.build]
    result = run_builds(
        app.repo,
        cfg,
        plan,
        to_build,
        bopts,
        Engine(),
        progress.log,
        on_done=lambda r: progress.done(r.service, r.status if not r.error else f"failed: {r.error}"),
    )
    progress.summary(result)
    if fmt == "json":
        click.echo(report.dumps(result.to_json()), nl=False)
    if result.failed:
        raise PartialFailure(
            f"{len(result.failed)} of {len(result.services)} service(s) failed: {', '.join(result.failed)}"
        )
