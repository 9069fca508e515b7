"""`buildctl graph`: the crate graph as JSON, DOT or Mermaid, with the affected crates marked."""

from __future__ import annotations

import click

from buildctl.cli.context import AppContext, format_option, pass_app, range_options
from buildctl.detect import graph
from buildctl.detect.planner import RangeOptions
from buildctl.detect.revision import Revision


@click.command(
    "graph",
    epilog="\b\nExamples:\n  buildctl graph --format mermaid\n  buildctl graph --format dot --base main | dot -Tsvg > crates.svg",
)
@range_options
@format_option("json", "dot", "mermaid", default="json")
@pass_app
def command(app: AppContext, opts: RangeOptions, fmt: str) -> None:
    """Print the crate graph (dev-dependencies dashed; services double-boxed).

    With --base, --since-deployed or --uncommitted, the crates and services the change reaches
    are marked (services to build in red, other affected crates in yellow).
    """
    marked: frozenset[str] = frozenset()
    built: frozenset[str] = frozenset()
    side = Revision.at(app.repo, app.map.root, None if opts.uncommitted else (opts.head or "HEAD"))
    if opts.base or opts.since_deployed or opts.uncommitted:
        plan = app.plan(opts)
        built = frozenset(s.crate for s in plan.services if s.build)
        marked = frozenset(plan.crates) | built
    g = side.graph.to_networkx(side.ws, app.map.service_for_crate())
    click.echo(graph.render(g, fmt, marked, built), nl=False)
