"""`buildctl affected`: which services to rebuild or redeploy, and why.

The command's work is `run`, which needs no click: `buildctl.cli.main` calls it directly for a
plain command line (the common case on CI), and the click command below wraps it for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from buildctl import gha, report
from buildctl.cli.context import AppContext
from buildctl.detect.planner import RangeOptions

if TYPE_CHECKING:
    import click

FORMATS = ("text", "json", "github")


def run(app: AppContext, opts: RangeOptions, fmt: str, echo: Callable[[str], None]) -> None:
    plan = app.plan(opts)
    if fmt == "text":
        echo(report.text(plan))
        return
    echo(report.dumps(plan.to_json()))
    if fmt == "github":
        gha.Outputs.from_plan(plan, app.map.services).write()
        gha.write_summary(report.summary_markdown(plan))


def _command() -> click.Command:
    import click

    from buildctl.cli.context import format_option, pass_app, range_options

    @click.command(
        "affected",
        epilog="\b\nExamples:\n  buildctl affected --base origin/main\n  buildctl affected --format github   # in a workflow step",
    )
    @range_options
    @format_option(*FORMATS)
    @pass_app
    def command(app: AppContext, opts: RangeOptions, fmt: str) -> None:
        """List the services a change must build (and those it only redeploys), each with its reasons.

        `--format github` writes step outputs (build, deploy, matrix, any, changes and one true/false
        per service) to $GITHUB_OUTPUT and a table to $GITHUB_STEP_SUMMARY, and prints the JSON.
        """
        run(app, opts, fmt, lambda text: click.echo(text, nl=False))

    return command


def __getattr__(name: str) -> Any:
    if name == "command":  # what the command line's group loads, built on first use
        command = globals()["command"] = _command()
        return command
    raise AttributeError(name)
