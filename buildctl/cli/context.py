"""State shared by the commands, loaded only when a command needs it.

No click at import: `affected` runs without it when its command line is a plain one (see
`buildctl.cli.main`); the decorators below import it when a command module applies them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from buildctl import gitrepo
from buildctl.config import WorkspaceMap, load_map
from buildctl.detect.planner import RangeOptions, analyze
from buildctl.errors import BuildctlError
from buildctl.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    def __init__(self, repo_arg: str, map_arg: str | None) -> None:
        self.repo_arg = repo_arg
        self.map_arg = map_arg
        self._repo: Path | None = None
        self._map: WorkspaceMap | None = None

    @property
    def repo(self) -> Path:
        if self._repo is None:
            path = Path(self.repo_arg).resolve()
            if not path.is_dir():
                raise BuildctlError(f"--repo {self.repo_arg!r} is not a directory")
            self._repo = gitrepo.toplevel(path)
        return self._repo

    @property
    def map(self) -> WorkspaceMap:
        if self._map is None:
            map_path = Path(self.map_arg).resolve() if self.map_arg else None
            self._map = load_map(self.repo, map_path)
        return self._map

    def plan(self, opts: RangeOptions) -> Plan:
        return analyze(self.repo, self.map, opts)


def pass_app(func: F) -> F:
    import click

    return click.make_pass_decorator(AppContext)(func)  # type: ignore[return-value]


def range_options(func: F) -> F:
    """--base/--head/--uncommitted/--since-deployed, folded into one `opts: RangeOptions` argument."""
    import click

    @click.option("--base", help="Compare from this revision (the merge-base with head is used).")
    @click.option("--head", help="Compare up to this revision.  [default: HEAD]")
    @click.option("--uncommitted", is_flag=True, help="Also count working-tree changes (for local use).")
    @click.option(
        "--since-deployed",
        is_flag=True,
        help="Compare each service from the commit its kustomization's sha-<commit> tag deploys.",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, base: str | None, head: str | None, uncommitted: bool, since_deployed: bool, **kw: Any
    ) -> Any:
        if uncommitted and head:
            raise click.UsageError("--uncommitted compares with the working tree; it cannot take --head")
        opts = RangeOptions(
            base=base, head=head, uncommitted=uncommitted, since_deployed=since_deployed, environ=os.environ
        )
        return func(*args, opts=opts, **kw)

    return wrapper  # type: ignore[return-value]


def format_option(*choices: str, default: str = "text") -> Callable[[F], F]:
    import click

    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )
