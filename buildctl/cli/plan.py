"""`buildctl plan`: the affected services and exactly what would be built, tagged, pushed and bumped."""

from __future__ import annotations

import click

from buildctl import platforms, report
from buildctl.cli.context import AppContext, format_option, pass_app, range_options
from buildctl.detect.planner import RangeOptions


@click.command(
    "plan",
    epilog="\b\nExamples:\n  buildctl plan\n  buildctl plan --base main --format json",
)
@range_options
@format_option("text", "json")
@pass_app
def command(app: AppContext, opts: RangeOptions, fmt: str) -> None:
    """Show what a run would do, with no side effects: images, tags, pushes and kustomization bumps."""
    plan = app.plan(opts)
    from buildctl.build.buildkit import choose
    from buildctl.build.options import BuildOptions
    from buildctl.build.steps import derive
    from buildctl.detect.revision import Revision

    builder = choose(app.map.build.builder)
    if fmt == "json":
        click.echo(report.dumps({**plan.to_json(detail=True), "builder": builder.to_json()}), nl=False)
        return
    # The same steps `build` derives (no binary check: a plan may still be a wish).
    rev = Revision.at(app.repo, app.map.root, plan.head)
    bopts = BuildOptions(push=True)
    steps = derive(plan, rev, app.map, bopts, native=platforms.native(), created="", builder=builder)
    click.echo(report.text(plan, steps=steps), nl=False)
