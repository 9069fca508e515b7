"""`buildctl plan`: the affected services and exactly what would be built, tagged, pushed and bumped."""

from __future__ import annotations

import click

from buildctl import report
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
    if fmt == "json":
        click.echo(report.dumps(plan.to_json(detail=True)), nl=False)
    else:
        click.echo(report.text(plan, detail=True), nl=False)
