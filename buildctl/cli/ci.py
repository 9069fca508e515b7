"""`buildctl ci`: the one command of a GitHub Actions step."""

from __future__ import annotations

import os

import click

from buildctl import gha, report
from buildctl.cli.build import build_options, build_steps, mask_registry_token, shared_build_options
from buildctl.cli.context import AppContext, format_option, pass_app, range_options
from buildctl.detect.planner import RangeOptions
from buildctl.detect.revision import Revision
from buildctl.errors import PartialFailure, printable


@click.command(
    "ci",
    epilog="\b\nExamples:\n  buildctl ci                      # in a workflow step; the event decides\n"
    "  buildctl ci --no-push --format json",
)
@range_options
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True, help="Services built at once."
)
@click.option("--pr-push", is_flag=True, help="Push images for pull requests too (never bumps for them).")
@click.option("--no-push", is_flag=True, help="Build only: no push, no bump.")
@click.option("--no-bump", is_flag=True, help="Push images but leave the kustomizations alone.")
@click.option(
    "--skip-existing", is_flag=True, help="Re-tag, not rebuild, images whose input fingerprint is pushed."
)
@click.option("--remote", help="Remote the bump is pushed to.  [default: upstream, else origin]")
@click.option("--branch", help="Branch the bump is pushed to.  [default: upstream, else current]")
@shared_build_options
@format_option("text", "json")
@pass_app
def command(
    app: AppContext,
    opts: RangeOptions,
    jobs: int,
    pr_push: bool,
    no_push: bool,
    no_bump: bool,
    skip_existing: bool,
    build_args: tuple[str, ...],
    remote: str | None,
    branch: str | None,
    verbose: bool,
    builder: str | None,
    fmt: str,
) -> None:
    """Detect from the event what changed, build and push the affected services, bump their
    kustomizations and push that commit ([skip ci]). Writes the `affected --format github`
    outputs and a step summary with the crate graph. Pull requests build without pushing."""
    from buildctl import ci
    from buildctl.build.engine import Engine
    from buildctl.build.progress import Progress
    from buildctl.detect import graph

    cfg = app.map
    plan = app.plan(opts)
    gha.Outputs.from_plan(plan, cfg.services).write()
    settings = ci.settings_for_event(
        os.environ, pr_push=pr_push, no_push=no_push, no_bump=no_bump, remote=remote, branch=branch
    )
    bopts = build_options(
        push=settings.push, jobs=jobs, skip_existing=skip_existing, build_args=build_args, builder=builder
    )
    if settings.push:
        mask_registry_token(cfg)
    engine = Engine()
    steps = build_steps(app, plan, bopts, engine)
    actions = gha.in_actions()
    progress = Progress(verbose=verbose, actions=actions)
    click.echo(report.text(plan), nl=False, err=True)
    result = ci.run(
        app.repo,
        cfg,
        plan,
        steps,
        settings,
        bopts,
        engine,
        progress.log,
        on_done=progress.done_result,
        say=lambda m: click.echo(printable(m), err=True),
    )
    progress.summary(result.build)
    head = Revision.at(app.repo, cfg.root, plan.head)
    built = frozenset(s.crate for s in plan.services if s.build)
    mermaid = graph.render(
        head.graph.to_networkx(head.ws, cfg.service_for_crate()),
        "mermaid",
        frozenset(plan.crates) | built,
        built,
    )
    gha.write_summary(ci.summary(result, mermaid))
    if actions:
        for line in ci.error_annotations(result.build):
            click.echo(line, err=True)
    if fmt == "json":
        click.echo(report.dumps(ci.to_json(result)), nl=False)
    else:
        bumped = result.bump
        click.echo(
            f"built {len(result.build.services)} service(s), {len(result.build.failed)} failed; "
            f"bump: {'commit ' + bumped.commit[:12] if bumped and bumped.commit else 'none'}"
            f"{' pushed' if bumped and bumped.pushed else ''}"
        )
    if result.build.failed:
        raise PartialFailure(
            f"{len(result.build.failed)} of {len(result.build.services)} service(s) failed: {', '.join(result.build.failed)}"
        )
