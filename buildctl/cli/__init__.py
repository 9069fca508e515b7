"""The command line: one click group, one module per command, one place that turns errors into exit codes.

A plain `affected` command line (the one CI runs on every commit) is read here without click,
whose import is a good part of a cold run; anything else, including every mistake, goes
through click exactly as before.
"""

from __future__ import annotations

import gc
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from buildctl import __version__
from buildctl.cli.context import AppContext
from buildctl.errors import BuildctlError

if TYPE_CHECKING:
    import click

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


def _group() -> click.Group:
    import importlib

    import click

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

    return cli


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, built on first use
        cli = globals()["cli"] = _group()
        return cli
    raise AttributeError(name)


# --- `affected` without click ----------------------------------------------------------------------

_GROUP_OPTIONS = {"--repo": "repo", "--map": "map"}
_AFFECTED_OPTIONS = {"--base": "base", "--head": "head", "--format": "format"}
_AFFECTED_FLAGS = {"--uncommitted": "uncommitted", "--since-deployed": "since_deployed"}
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what click.echo strips from output that is no terminal


def _path_ok(value: str, want_dir: bool) -> bool:
    """What click.Path(file_okay=False) or (dir_okay=False) would let through without a word."""
    try:
        st = os.stat(value)
    except OSError:
        return True
    kind_ok = not stat.S_ISREG(st.st_mode) if want_dir else not stat.S_ISDIR(st.st_mode)
    return kind_ok and os.access(value, os.R_OK)


def _plain_affected(args: Sequence[str], environ: Mapping[str, str]) -> dict[str, str | bool] | None:
    """The options of `[--repo R] [--map M] affected [--base B] [--head H] [--format F]
    [--uncommitted] [--since-deployed]`, each at most once, with a value that click takes as
    it is; None for any other command line, which click then reads (and explains)."""
    if sys.platform == "win32" or any(k.startswith("_") and k.endswith("_COMPLETE") for k in environ):
        return None  # click's console streams, and shell completion
    out: dict[str, str | bool] = {}
    i, command = 0, False
    while i < len(args):
        token = args[i]
        i += 1
        if not command and token == "affected":
            command = True
            continue
        name, eq, value = token.partition("=")
        takes = (_AFFECTED_OPTIONS if command else _GROUP_OPTIONS).get(name)
        if takes is None:
            flag = _AFFECTED_FLAGS.get(token) if command else None
            if flag is None or flag in out:
                return None
            out[flag] = True
            continue
        if not eq:
            if i == len(args):
                return None
            value = args[i]
            i += 1
        if takes in out or not value:
            return None
        out[takes] = value
    if not command or out.get("format", "text") not in ("text", "json", "github"):
        return None
    if out.get("uncommitted") and "head" in out:
        return None  # click's usage error
    repo, map_path = out.get("repo", "."), out.get("map")
    if not _path_ok(str(repo), True) or (map_path is not None and not _path_ok(str(map_path), False)):
        return None
    return out


def _echo(text: str) -> None:
    """click.echo(text, nl=False) to stdout, for the streams `_fast_echo` accepts."""
    out = sys.stdout
    if "\033" in text and not out.isatty():
        text = _ANSI.sub("", text)
    out.write(text)
    out.flush()


def _fast_echo() -> Callable[[str], None] | None:
    """`_echo` where it writes what click.echo would (click rewraps an ASCII-encoded stdout
    and a Jupyter kernel's)."""
    import codecs

    out = sys.stdout
    if out is None or type(out).__module__.startswith("ipykernel."):
        return None
    try:
        if codecs.lookup(out.encoding or "ascii").name == "ascii":
            return None
    except LookupError:
        return None
    return _echo


def _run(argv: Sequence[str] | None) -> None:
    args = list(argv) if argv is not None else sys.argv[1:]
    plain = _plain_affected(args, os.environ)
    echo = _fast_echo() if plain is not None else None
    if plain is None or echo is None:
        _click_main(list(argv) if argv is not None else None)
        return
    from buildctl.cli import affected
    from buildctl.detect.planner import RangeOptions

    app = AppContext(repo_arg=str(plain.get("repo", ".")), map_arg=_str_or_none(plain.get("map")))
    opts = RangeOptions(
        base=_str_or_none(plain.get("base")),
        head=_str_or_none(plain.get("head")),
        uncommitted=bool(plain.get("uncommitted")),
        since_deployed=bool(plain.get("since_deployed")),
        environ=os.environ,
    )
    # A run this short makes little cyclic garbage, and the collector's passes over the objects
    # it keeps (the manifests' text, the crates) cost 5 ms of 95 on 3,000 crates and a 2-file
    # change, 70 of 320 on a 2,000-file one: none are run (peak memory is no higher).
    gc.disable()
    try:
        affected.run(app, opts, str(plain.get("format", "text")), echo)
    finally:
        if argv is not None:
            gc.enable()  # a caller in this process keeps its collector
    if argv is None:  # the command line itself, not a caller in this process
        _exit_now()


def _exit_now() -> None:
    """Exit 0 without the interpreter's teardown, which frees every object of the run one by
    one (about 16 ms of 150 on 3,000 crates): nothing is left to close or write but the output,
    flushed here. Where that fails, the usual exit says so, as it would have."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(0)


def _str_or_none(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None


def _click_main(args: list[str] | None) -> None:
    import click

    from buildctl.cli import cli

    try:
        cli.main(args=args, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: the single place where errors become messages and exit codes."""
    try:
        _run(argv)
    except BuildctlError as exc:
        from buildctl import gha

        _say(f"error: {exc}")
        if gha.in_actions():
            _say(gha.annotation("error", exc.message, file=exc.file, line=exc.line))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # the last line of defence: say what happened without a wall of text
        _say(f"error: unexpected {type(exc).__name__}: {exc}")
        if os.environ.get("BUILDCTL_DEBUG"):
            import traceback

            traceback.print_exc()
        else:
            _say("  (set BUILDCTL_DEBUG=1 for the traceback, and please report it)")
        sys.exit(3)


def _say(message: str) -> None:
    import click  # an error's path: the import no longer matters

    click.echo(message, err=True)
