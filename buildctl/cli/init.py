"""`buildctl init`: write a workspace-map.toml for this repository, optionally from a paths-filter workflow."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from buildctl import atomic
from buildctl.cli.context import AppContext, pass_app
from buildctl.config import DEFAULT_IGNORE, MAP_FILE, parse_map
from buildctl.detect.snapshot import Snapshot
from buildctl.errors import BuildctlError, printable
from buildctl.init.proposal import Proposal
from buildctl.init.render import render
from buildctl.init.scan import scan

EPILOG = """
\b
Examples:
  buildctl init                          # write workspace-map.toml, then run buildctl check
  buildctl init --stdout                 # print the map instead
  buildctl --map new-map.toml init       # write it elsewhere
  buildctl init --from-workflow .github/workflows/build.yaml --write-workflow
"""


def _relative(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path)


@click.command("init", epilog=EPILOG)
@click.option("--force", is_flag=True, help="Replace an existing map.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the map on stdout instead of writing it.")
@click.option(
    "--from-workflow",
    "workflow",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Migrate from this workflow's dorny/paths-filter step: each glob the Cargo graph does not "
    "cover becomes an input of its service, and the step's replacement is printed as a diff.",
)
@click.option(
    "--step", "step_id", metavar="ID", help="The id of the paths-filter step, when the workflow has several."
)
@click.option(
    "--write-workflow", is_flag=True, help="With --from-workflow: also apply the edit to the workflow file."
)
@click.option(
    "--install",
    metavar="OWNER/REPO@COMMIT",
    help="With --from-workflow: the buildctl commit the new step installs, pinned as docs/install.md "
    "says (its hash-pinned requirements, then buildctl from that commit).  [default: the commit this "
    "buildctl was installed from, when pip recorded one]",
)
@click.option(
    "--root",
    "root_dir",
    metavar="DIR",
    help="The Cargo workspace to map, relative to the repository root, when it holds several.  "
    "[default: the root's, else the one a level down]",
)
@pass_app
def command(
    app: AppContext,
    force: bool,
    to_stdout: bool,
    workflow: Path | None,
    step_id: str | None,
    write_workflow: bool,
    install: str | None,
    root_dir: str | None,
) -> None:
    """Scan the repository and write its workspace-map.toml: the Cargo workspace, one service per
    deployed binary, the registry, and rules for the files that are not crates. Every guess is a
    comment in the map.

    The map goes to --map PATH (default: workspace-map.toml at the repository root); an existing
    one is replaced only with --force. Human-readable findings go to stderr.
    """
    if (step_id or write_workflow) and workflow is None:
        raise click.UsageError("--step and --write-workflow go with --from-workflow")
    repo = app.repo
    target = Path(app.map_arg).resolve() if app.map_arg else repo / MAP_FILE
    rel = _relative(repo, target)
    if target.exists() and not force and not to_stdout:
        raise BuildctlError(
            "the map already exists; buildctl init does not overwrite it",
            file=rel,
            hint="pass --force to replace it, --stdout to print a new one, or --map PATH to write elsewhere",
        )
    snap = Snapshot.worktree(repo)
    proposal = scan(snap, rel, root_dir)
    migration = None
    if workflow is not None:
        from buildctl.init import migrate

        wf_path = workflow.resolve()
        wf_rel = _relative(repo, wf_path)
        try:
            wf_text = wf_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BuildctlError(f"cannot read the workflow: {exc}", file=wf_rel) from None
        migration = migrate.migrate(snap, proposal, wf_text, wf_rel, step_id=step_id, install=install)
        proposal = migration.proposal
    text = render(proposal)
    parse_map(text, rel)  # what init writes must load
    for line in _summary(proposal):
        click.echo(printable(line), err=True)
    if migration is not None:
        for line in migration.report():
            click.echo(printable(line), err=True)
    writes: dict[Path, str] = {} if to_stdout else {target: text}
    if migration is not None and write_workflow:
        edited = repo / migration.edit.file if migration.edit.file != wf_rel else wf_path
        writes[edited] = migration.edit.text
    with atomic.deferred_signals():
        atomic.write_all(writes)  # the map and the workflow together, or neither
    if to_stdout:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {rel}: {len(proposal.services)} service(s); next: buildctl check", err=True)
    if migration is not None:
        edit = migration.edit
        if write_workflow:
            click.echo(f"wrote {edit.file}: the paths-filter step now runs buildctl affected", err=True)
        diff = difflib.unified_diff(
            edit.original.splitlines(keepends=True),
            edit.text.splitlines(keepends=True),
            fromfile=f"a/{edit.file}",
            tofile=f"b/{edit.file}",
        )
        click.echo("".join(diff), nl=False)


def _summary(p: Proposal) -> list[str]:
    out = [
        f"workspace: {p.root or '.'}; dockerfile: {p.dockerfile}; deployments: {p.deployments}",
        f"registry: {p.registry}" if p.registry else f"registry: not set ({p.registry_why})",
        f"services ({len(p.services)}): {', '.join(s.name for s in p.services) or '-'}",
    ]
    out += [f"not a service: {k.crate} ({k.dir or '.'}): {k.why}" for k in p.skipped]
    inferred = [r.glob for r in p.ignore[len(DEFAULT_IGNORE) :]]
    out.append(f"ignored besides the defaults: {', '.join(inferred) or '-'}")
    if p.left_unowned:
        out.append(
            f"not ignored, so a change rebuilds every service: {', '.join(p.left_unowned)} "
            "(give them to the services that use them as `inputs`, or ignore them)"
        )
    out += [f"note: {n}" for n in p.notes]
    return out
