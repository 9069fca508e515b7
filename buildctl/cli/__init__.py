"""The command line: one click group, one module per command, one place that turns errors into exit codes."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence

import click

from buildctl import __version__, gha
from buildctl.cli.context import AppContext
from buildctl.errors import BuildctlError

EXAMPLES = """
\b
Examples:
  buildctl affected --base origin/main          # what a pull request must build
  buildctl plan --format json                   # the plan for HEAD~1..HEAD as JSON
  buildctl explain world-state --base main      # why world-state is in the plan
  buildctl graph --format mermaid               # the crate graph for a README
  buildctl check                                # validate workspace-map.toml
"""


# Command name → module; a module is imported only when its command runs (or --help lists it),
# so `affected` never pays for docker, urllib or gitpython.
COMMANDS = {
    "affected": "buildctl.cli.affected",
    "plan": "buildctl.cli.plan",
    "graph": "buildctl.cli.graph",
    "explain": "buildctl.cli.explain",
    "check": "buildctl.cli.check",
    "build": "buildctl.cli.build",
    "warm": "buildctl.cli.warm",
    "bump": "buildctl.cli.bump",
    "ci": "buildctl.cli.ci",
    "init": "buildctl.cli.init",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(module).command
        return command


@click.group(
    cls=LazyGroup,
    epilog=EXAMPLES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="buildctl")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=str),
    default=".",
    show_default=True,
    help="The git repository to work on.",
)
@click.option(
    "--map", "map_path", type=click.Path(dir_okay=False, path_type=str), help="workspace-map.toml to use."
)
@click.pass_context
def cli(ctx: click.Context, repo: str, map_path: str | None) -> None:
    """Decide from the Cargo graph what a Rust monorepo's CI must build, build it, and deploy it."""
    ctx.obj = AppContext(repo_arg=repo, map_arg=map_path)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: the single place where errors become messages and exit codes."""
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except BuildctlError as exc:
        click.echo(f"error: {exc}", err=True)
        if gha.in_actions():
            click.echo(gha.annotation("error", exc.message, file=exc.file, line=exc.line), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # the last line of defence: say what happened without a wall of text
        click.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        if os.environ.get("BUILDCTL_DEBUG"):
            traceback.print_exc()
        else:
            click.echo("  (set BUILDCTL_DEBUG=1 for the traceback, and please report it)", err=True)
        sys.exit(3)
