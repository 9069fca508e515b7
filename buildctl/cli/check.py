"""`buildctl check`: validate workspace-map.toml against the workspace and the deployments."""

from __future__ import annotations

import click

from buildctl import gha, report
from buildctl.cli.context import AppContext, format_option, pass_app
from buildctl.detect.revision import Revision
from buildctl.errors import BuildctlError, printable
from buildctl.init.check import Finding, run_checks


@click.command(
    "check",
    epilog="\b\nExamples:\n  buildctl check\n  buildctl check --strict --format json\n"
    "  buildctl check --bases --write    # pin every base image to its digest",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--rev", help="Check this revision instead of the working tree.")
@click.option(
    "--bases", is_flag=True, help="Also resolve every base image for every platform through its registry."
)
@click.option(
    "--write",
    is_flag=True,
    help="With --bases: pin each base's tag to its digest in the Dockerfile and the map.",
)
@format_option("text", "json")
@pass_app
def command(app: AppContext, strict: bool, rev: str | None, bases: bool, write: bool, fmt: str) -> None:
    """Check the map: unknown crates, services that are not binaries, binaries no service maps,
    missing kustomizations, and files that no crate or rule owns; with --bases, that every base
    image exists for every platform."""
    if write and not bases:
        raise click.UsageError("--write goes with --bases")
    if write and rev:
        raise click.UsageError("--write edits the working tree; it cannot take --rev")
    cfg = app.map
    side = Revision.at(app.repo, cfg.root, rev)
    map_text = (app.repo / cfg.file).read_text(encoding="utf-8") if (app.repo / cfg.file).exists() else ""
    findings = run_checks(cfg, side, map_text)
    if bases:
        findings += _bases(app, side, map_text, write)
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


def _bases(app: AppContext, side: Revision, map_text: str, write: bool) -> list[Finding]:
    import os

    from buildctl import atomic, platforms
    from buildctl.build import pins
    from buildctl.build.bases import Resolver

    cfg = app.map
    dockerfile = side.snap.text(cfg.dockerfile) or ""
    try:
        from buildctl.build.engine import Engine

        local = Engine().local_image
    except BuildctlError:
        local = None  # no engine: registry references only
    check = pins.check_bases(cfg, dockerfile, Resolver(os.environ, local), platforms.native())
    for line in check.lines():
        click.echo(f"base {printable(line)}", err=True)
    found = [Finding("error", p.message, cfg.dockerfile) for p in check.problems]
    if write and not check.problems:
        new = {
            app.repo / cfg.dockerfile: pins.pin_dockerfile(dockerfile, check),
            app.repo / cfg.file: pins.pin_map(map_text, cfg.file, check),
        }
        old = {app.repo / cfg.dockerfile: dockerfile, app.repo / cfg.file: map_text}
        changed = {path: text for path, text in new.items() if text != old[path]}
        with atomic.deferred_signals():
            atomic.write_all(changed)  # both files or neither
        for path in changed:
            click.echo(f"pinned the base images in {printable(str(path.relative_to(app.repo)))}", err=True)
    return found
