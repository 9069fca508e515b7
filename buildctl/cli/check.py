"""`buildctl check`: validate workspace-map.toml against the workspace and the deployments."""

from __future__ import annotations

import click

from buildctl import gha, report
from buildctl.cli.context import AppContext, format_option, pass_app
from buildctl.detect.revision import Revision
from buildctl.errors import BuildctlError, printable
from buildctl.init.check import run_checks


@click.command("check", epilog="\b\nExamples:\n  buildctl check\n  buildctl check --strict --format json")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--rev", help="Check this revision instead of the working tree.")
@format_option("text", "json")
@pass_app
def command(app: AppContext, strict: bool, rev: str | None, fmt: str) -> None:
    """Check the map: unknown crates, services that are not binaries, binaries no service maps,
    missing kustomizations, and files that no crate or rule owns."""
    cfg = app.map
    side = Revision.at(app.repo, cfg.root, rev)
    map_text = (app.repo / cfg.file).read_text(encoding="utf-8") if (app.repo / cfg.file).exists() else ""
    findings = run_checks(cfg, side, map_text)
    errors = [f for f in findings if f.level == "error" or strict]
    if fmt == "json":
        click.echo(report.dumps({"ok": not errors, "findings": [f.__dict__ for f in findings]}), nl=False)
    else:
        for f in findings:
            where = f"{f.file}:{f.line}: " if f.file and f.line else (f"{f.file}: " if f.file else "")
            click.echo(f"{f.level}: {printable(where + f.message)}", err=True)
            if gha.in_actions():
                click.echo(gha.annotation(f.level, f.message, file=f.file, line=f.line), err=True)
        click.echo(
            f"{len(cfg.services)} services checked: {len(errors)} error(s), {len(findings) - len(errors)} warning(s)"
        )
    if errors:
        raise BuildctlError(f"check found {len(errors)} problem(s)", file=cfg.file)
