"""`buildctl bump`: point each service's kustomization at a new image; optionally commit and push."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import click

from buildctl import gitrepo, report
from buildctl.cli.context import AppContext, format_option, pass_app
from buildctl.config import load_map
from buildctl.deploy import apply, bump
from buildctl.errors import BuildctlError, printable

EPILOG = """
\b
Examples:
  buildctl bump auth-service=sha-1a2b3c… --dry-run
  buildctl bump world-state=sha-1a2b3c…@sha256:9f86d0… --commit
  buildctl bump --from build.json --push              # in CI, after `build --format json`
"""


def _root(app: AppContext, need_git: bool) -> tuple[Path, bool]:
    """The repository root, and whether it is a git checkout (a plain directory will do to edit files)."""
    path = Path(app.repo_arg).resolve()
    if not path.is_dir():
        raise BuildctlError(f"--repo {app.repo_arg!r} is not a directory")
    try:
        return gitrepo.toplevel(path), True
    except BuildctlError:
        if need_git:
            raise
        return path, False


def _say(message: str) -> None:
    click.echo(printable(message), err=True)


def _changes(outcome: bump.Outcome) -> dict[str, Any]:
    return {c.service: c.to_json() for c in outcome.changes}


def _text(outcome: bump.Outcome) -> str:
    lines = []
    for c in outcome.changes:
        move = (
            f"{bump.short(c.old or '-')} -> {bump.short(c.new)}"
            if c.status == "updated"
            else bump.short(c.new)
        )
        lines.append(f"{c.service}  {c.status}  {move}  {c.file}" + (f"  ({c.note})" if c.note else ""))
    return "\n".join(printable(line) for line in lines) + ("\n" if lines else "")


@click.command("bump", epilog=EPILOG)
@click.argument("requests", nargs=-1, metavar="SERVICE=TAG[@sha256:DIGEST]...")
@click.option(
    "--from",
    "results",
    multiple=True,
    type=click.File("r"),
    metavar="RESULT.json",
    help="A `build --format json` result: bump the services it pushed (repeatable, e.g. one per matrix job).",
)
@click.option("--dry-run", is_flag=True, help="Print the unified diff on stdout and write nothing.")
@click.option(
    "--commit", is_flag=True, help="Commit the changed kustomizations (one commit, with [skip ci])."
)
@click.option(
    "--push", is_flag=True, help="Commit and push; if the remote moved on, re-apply on its tip and retry."
)
@click.option("--remote", help="Remote to push to.  [default: the branch's upstream, else origin]")
@click.option("--branch", help="Branch to push to.  [default: the upstream branch, else the current one]")
@click.option("--retries", type=click.IntRange(0, 50), default=5, show_default=True, help="Pushes to retry.")
@click.option(
    "--retry-delay", type=click.FloatRange(0), default=1.0, show_default=True, help="Backoff base, seconds."
)
@format_option("text", "json")
@pass_app
def command(
    app: AppContext,
    requests: tuple[str, ...],
    results: tuple[IO[str], ...],
    dry_run: bool,
    commit: bool,
    push: bool,
    remote: str | None,
    branch: str | None,
    retries: int,
    retry_delay: float,
    fmt: str,
) -> None:
    """Set newTag (and digest) of each service's image in deployments/<service>/kustomization.yaml.

    Comments, quoting and indentation are kept; a second run changes nothing. Every file is
    checked before any is written, and each is replaced atomically. A deployed sha-X that
    descends from the requested sha-Y is newer and is left alone.
    """
    if not requests and not results:
        raise click.UsageError("name at least one SERVICE=TAG, or pass --from RESULT.json")
    if dry_run and (commit or push):
        raise click.UsageError("--dry-run writes nothing, so it cannot --commit or --push")
    if (remote or branch) and not push:
        raise click.UsageError("--remote and --branch go with --push")
    root, is_git = _root(app, need_git=commit or push)
    cfg = load_map(root, Path(app.map_arg).resolve() if app.map_arg else None)
    asked = [bump.parse_arg(arg, cfg.services) for arg in requests]
    for result in results:
        asked += bump.parse_result(result.read(), result.name, cfg)
    wanted = bump.merge(asked)
    if not wanted:
        _say(f"nothing to bump: {', '.join(r.name for r in results) or 'no request'} pushed no service")
    if dry_run:
        outcome = bump.compute(cfg, wanted, apply.reader(root), apply.ancestry(root if is_git else None))
        if fmt == "json":
            data = {"services": _changes(outcome), "commit": None, "pushed": False, "diff": outcome.diff()}
            click.echo(report.dumps(data), nl=False)
        else:
            click.echo(outcome.diff(), nl=False)
            click.echo(_text(outcome), nl=False, err=True)
        return
    applied = apply.apply(
        root,
        cfg,
        wanted,
        is_git=is_git,
        commit=commit,
        push=push,
        remote=remote,
        branch=branch,
        retries=retries,
        retry_delay=retry_delay,
        say=_say,
    )
    if fmt == "json":
        click.echo(report.dumps({"services": _changes(applied.outcome), **applied.to_json()}), nl=False)
        return
    click.echo(_text(applied.outcome), nl=False)
    if applied.commit:
        click.echo(f"committed {applied.commit[:12]}")
    if applied.pushed:
        click.echo(f"pushed to {applied.remote} {applied.branch} (attempt {applied.attempts})")
