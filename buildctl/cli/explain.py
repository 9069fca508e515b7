"""`buildctl explain SERVICE`: every reason a service is in the plan, and every chain behind it."""

from __future__ import annotations

import click

from buildctl.cli.context import AppContext, pass_app, range_options
from buildctl.detect import graph
from buildctl.detect.planner import RangeOptions
from buildctl.detect.revision import Revision
from buildctl.errors import BuildctlError, printable
from buildctl.tomlfile import did_you_mean


@click.command(
    "explain",
    epilog="\b\nExamples:\n  buildctl explain world-state --base origin/main\n  buildctl explain auth-service --since-deployed",
)
@click.argument("service")
@range_options
@pass_app
def command(app: AppContext, service: str, opts: RangeOptions) -> None:
    """Explain why SERVICE is (or is not) rebuilt or redeployed."""
    cfg = app.map
    if service not in cfg.services:
        raise BuildctlError(
            f"unknown service '{service}'{did_you_mean(service, cfg.services)}",
            file=cfg.file,
            hint="services are the [services.*] tables of the map",
        )
    plan = app.plan(opts)
    crate = cfg.services[service].crate
    side = Revision.at(app.repo, cfg.root, None if opts.uncommitted else plan.head)
    svc = plan.service(service)
    out = [f"{service} (crate {crate}), base {(plan.base or '-')[:12]} head {plan.head[:12]}"]
    if svc is None:
        out.append("  not affected: no change in this range reaches it")
    else:
        out.append(f"  {'build + deploy' if svc.build else 'deploy only'}, {len(svc.reasons)} reason(s):")
        out.extend(f"  - {printable(r)}" for r in svc.reasons)
        sources = sorted({c[0] for c in svc.chains if len(c) > 1})
        if sources:
            g = side.graph.to_networkx(side.ws, cfg.service_for_crate())
            out.append("  every dependency chain from a changed crate:")
            for source in sources:
                for chain in graph.all_chains(g, source, crate):
                    out.append(f"    {' -> '.join(chain)}")
    deps = sorted(side.graph.closure(crate) - {crate})
    out.append(f"  builds from {len(deps)} workspace crate(s): {', '.join(deps) or '-'}")
    click.echo("\n".join(out))
