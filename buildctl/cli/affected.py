"""`buildctl affected`: which services to rebuild or redeploy, and why."""

from __future__ import annotations

import click

from buildctl import gha, report
from buildctl.cli.context import AppContext, format_option, pass_app, range_options
from buildctl.detect.planner import RangeOptions


@click.command(
    "affected",
    epilog="\b\nExamples:\n  buildctl affected --base origin/main\n  buildctl affected --format github   # in a workflow step",
)
@range_options
@format_option("text", "json", "github")
@pass_app
def command(app: AppContext, opts: RangeOptions, fmt: str) -> None:
    """List the services a change must build (and those it only redeploys), each with its reasons.

    `--format github` writes step outputs (build, deploy, matrix, any, changes and one true/false
    per service) to $GITHUB_OUTPUT and a table to $GITHUB_STEP_SUMMARY, and prints the JSON.
    """
    plan = app.plan(opts)
    if fmt == "text":
        click.echo(report.text(plan), nl=False)
        return
    click.echo(report.dumps(plan.to_json()), nl=False)
    if fmt == "github":
        gha.Outputs.from_plan(plan, app.map.services).write()
        gha.write_summary(report.summary_markdown(plan))
