"""`buildctl build`: build the plan's services (or those named), tag, and optionally push."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from buildctl import gha, platforms, report
from buildctl.build.bases import Resolver
from buildctl.build.buildkit import SETTINGS, BuilderChoice, choose
from buildctl.build.engine import Engine
from buildctl.build.options import BuildOptions
from buildctl.build.steps import BuildSteps, prepare
from buildctl.cli.context import AppContext, format_option, pass_app, range_options
from buildctl.config import WorkspaceMap
from buildctl.detect.planner import RangeOptions, requested_plan
from buildctl.errors import BuildctlError, PartialFailure
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
    *, push: bool, jobs: int, skip_existing: bool, build_args: tuple[str, ...], builder: str | None
) -> BuildOptions:
    return BuildOptions(
        push=push,
        jobs=jobs,
        skip_existing=skip_existing,
        build_args=parse_build_args(build_args),
        builder=builder,  # type: ignore[arg-type]  # click.Choice admits only the three
        environ=os.environ,
    )


def choose_builder(cfg: WorkspaceMap, opts: BuildOptions) -> BuilderChoice:
    """--builder, else the map's `[build] builder`, as this machine can honour it."""
    return choose(opts.builder or cfg.build.builder, os.environ)


def build_steps(app: AppContext, plan: Plan, opts: BuildOptions, engine: Engine) -> BuildSteps:
    """The run's steps, every base image resolved first: a base that does not exist (for some
    platform) stops the run here, in seconds, before anything compiles."""
    steps, problems = prepare(
        app.repo,
        app.map,
        plan,
        opts,
        native=engine.native_platform(),
        builder=choose_builder(app.map, opts),
        resolver=Resolver(os.environ, engine.local_image),
    )
    if problems:
        raise problems[0]
    return steps


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
        "--builder",
        type=click.Choice(SETTINGS),
        help="BuildKit or the classic builder; auto: BuildKit where this machine has it.  "
        "[default: the map's [build] builder, else auto]",
    )(func)
    func = click.option(
        "--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="Extra build argument."
    )(func)
    return func


def _dry_run_steps(app: AppContext, plan: Plan, opts: BuildOptions) -> tuple[BuildSteps, list[BuildctlError]]:
    """The steps as a build would take them; what cannot be resolved here (no network, no engine)
    is shown, not fatal: a dry run previews."""
    try:
        engine: Engine | None = Engine()
    except BuildctlError:
        engine = None
    return prepare(
        app.repo,
        app.map,
        plan,
        opts,
        native=engine.native_platform() if engine else platforms.native(),
        builder=choose_builder(app.map, opts),
        resolver=Resolver(os.environ, engine.local_image if engine else None),
    )


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
    builder: str | None,
    fmt: str,
) -> None:
    """Build each affected service from the Dockerfile with one shared cargo-chef cook, tag it
    sha-<commit>, and with --push push it. One failing service does not stop the others."""
    cfg = app.map
    if services or all_services:
        plan = requested_plan(app.repo, cfg, None if all_services else list(services), opts.head, os.environ)
    else:
        plan = app.plan(opts)
    bopts = build_options(
        push=push, jobs=jobs, skip_existing=skip_existing, build_args=build_args, builder=builder
    )
    if dry_run:
        click.echo(report.docker_commands(*_dry_run_steps(app, plan, bopts)), nl=False)
        return
    from buildctl.build.executor import run_builds
    from buildctl.build.progress import Progress

    if bopts.push:
        mask_registry_token(cfg)
    engine = Engine()
    steps = build_steps(app, plan, bopts, engine)
    progress = Progress(verbose=verbose, actions=gha.in_actions())
    result = run_builds(app.repo, cfg, steps, bopts, engine, progress.log, on_done=progress.done_result)
    progress.summary(result)
    if fmt == "json":
        click.echo(report.dumps(result.to_json()), nl=False)
    if result.failed:
        raise PartialFailure(
            f"{len(result.failed)} of {len(result.services)} service(s) failed: {', '.join(result.failed)}"
        )
