"""`buildctl warm`: the cache-warm job; push the cook stage for the current recipe."""

from __future__ import annotations

import click

from buildctl import gitrepo, report
from buildctl.cli.build import build_options, build_steps, mask_registry_token, shared_build_options
from buildctl.cli.context import AppContext, format_option, pass_app
from buildctl.plan import make_plan


@click.command(
    "warm",
    epilog="\b\nExamples:\n  buildctl warm\n  buildctl warm --build-arg CHEF_IMAGE=buildctl.local/rust-chef:latest",
)
@click.option("--head", help="Warm the recipe of this revision.  [default: HEAD]")
@shared_build_options
@format_option("text", "json")
@pass_app
def command(
    app: AppContext,
    head: str | None,
    build_args: tuple[str, ...],
    verbose: bool,
    builder: str | None,
    fmt: str,
) -> None:
    """Build the cargo-chef cook stage (compiled dependencies) for the current recipe and push it
    to the registry as <registry>/<cache_repository>:cook-<key>, where every build finds it:
    one per platform of the map. Does nothing for a key the registry already holds."""
    from buildctl import gha
    from buildctl.build.engine import Engine
    from buildctl.build.executor import warm
    from buildctl.build.progress import Progress

    cfg = app.map
    opts = build_options(push=True, jobs=1, skip_existing=False, build_args=build_args, builder=builder)
    mask_registry_token(cfg)
    head_sha = gitrepo.resolve(app.repo, head or "HEAD", "head revision")
    engine = Engine()
    nothing = make_plan(cfg, base=None, head=head_sha, everything=None, verdicts={})
    steps = build_steps(app, nothing, opts, engine)
    progress = Progress(verbose=verbose, actions=gha.in_actions())
    done = warm(app.repo, cfg, steps, opts, engine, progress.log)
    for step, cook in zip(steps.cooks, done.cooks, strict=True):
        progress.done(step.label, cook.status)
    if fmt == "json":
        click.echo(report.dumps(done.to_json()), nl=False)
        return
    for cook in done.cooks:  # one per platform of the map
        if cook.status == "exists":
            click.echo(f"{cook.image} is already in the registry ({cook.digest}): nothing to do")
        else:
            click.echo(f"pushed {cook.image} ({cook.digest}), cook step {cook.cook_step}")
