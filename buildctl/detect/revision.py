"""One revision's workspace: its files, its Cargo model and its crate graph, each loaded on first
use; and whether the map's services fit it. Every stage reads a workspace through this:
detection compares two, the build keys its caches on one, `init` and `check` judge one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal, NamedTuple

from buildctl import gitrepo
from buildctl.config import WorkspaceMap
from buildctl.detect.cache import Cache
from buildctl.detect.graph import CrateGraph
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import Workspace
from buildctl.detect.workspace import load as load_workspace
from buildctl.errors import BuildctlError
from buildctl.tomlfile import did_you_mean


class Revision:
    def __init__(self, snap: Snapshot, root: str) -> None:
        self.snap = snap
        self.root = root  # the Cargo workspace root, repo-relative
        self._ws: Workspace | None = None
        self._graph: CrateGraph | None = None

    @classmethod
    def at(cls, repo: Path, root: str, rev: str | None, cache: Cache | None = None) -> Revision:
        """The workspace at `rev` (any revision git resolves; None: the working tree)."""
        if rev is None:
            return cls(Snapshot.worktree(repo, cache), root)
        return cls(Snapshot.at(repo, gitrepo.resolve(repo, rev), cache), root)

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            self._ws = load_workspace(self.snap, self.root)
        return self._ws

    def read_ahead(self) -> None:
        """Read the workspace's manifests now (a commit's are read at the first question that
        needs them), so that git works on them while it also works on something else. Errors
        are said where an answer needs the workspace, as without this."""
        try:
            ahead: Callable[[], None] | None = getattr(self.ws.crates, "read_ahead", None)
        except BuildctlError:
            return
        if ahead is not None:
            ahead()

    @property
    def graph(self) -> CrateGraph:
        if self._graph is None:
            self._graph = CrateGraph.of(self.ws)
        return self._graph


class ServiceProblem(NamedTuple):
    """A service of the map that does not fit the workspace."""

    level: Literal["error", "warning"]
    service: str
    key: str | None  # the key of [services.<service>] at fault
    message: str
    hint: str

    def error(self, cfg: WorkspaceMap) -> BuildctlError:
        return BuildctlError(self.message, file=cfg.file, hint=self.hint)


def _not_a_member(cfg: WorkspaceMap, ws: Workspace, name: str) -> ServiceProblem | None:
    """The problem of service `name` whose crate is not a workspace member; None when it is one
    (no look at its targets: detection needs no more)."""
    crate_name = cfg.services[name].crate
    if ws.is_member(crate_name):
        return None
    return ServiceProblem(
        "error",
        name,
        "crate",
        f"service '{name}' maps to crate '{crate_name}', which is not a member of the Cargo workspace"
        + did_you_mean(crate_name, ws.crates),
        f"set `crate` under [services.{name}] to the package name in its Cargo.toml",
    )


def service_problems(
    cfg: WorkspaceMap, ws: Workspace, services: Iterable[str] | None = None
) -> Iterator[ServiceProblem]:
    """Each of `services` (None: every service) whose crate is not a workspace member, is a
    library, or has several binaries none of which is named for the service."""
    for name in cfg.services if services is None else services:
        svc = cfg.services[name]
        missing = _not_a_member(cfg, ws, name)
        if missing is not None:
            yield missing
            continue
        crate = ws.crates[svc.crate]
        if not crate.bins:
            yield ServiceProblem(
                "error",
                name,
                None,
                f"service '{name}' maps to crate '{crate.name}', a library: it has no binary to ship",
                f"set `crate` under [services.{name}] to the binary crate, or remove the service",
            )
        elif svc.bin and svc.bin not in crate.bins:
            yield ServiceProblem(
                "error",
                name,
                "bin",
                f"service '{name}': crate '{crate.name}' has no binary '{svc.bin}' (it has {', '.join(crate.bins)})",
                f"set `bin` under [services.{name}] to one of them",
            )
        elif not svc.bin and name not in crate.bins and len(crate.bins) > 1:
            yield ServiceProblem(
                "warning",
                name,
                None,
                f"service '{name}': crate '{crate.name}' has several binaries "
                f"({', '.join(crate.bins)}) and none is named '{name}'",
                f'say which one it ships: bin = "{crate.bins[0]}" under [services.{name}]',
            )


def _missing_crates(cfg: WorkspaceMap, ws: Workspace) -> Iterator[ServiceProblem]:
    return (p for p in (_not_a_member(cfg, ws, name) for name in cfg.services) if p is not None)


def absent_services(cfg: WorkspaceMap, head: Revision) -> dict[str, str]:
    """Services whose crate `head` (a commit) does not have, each with why it has no build
    there: old history compared with today's map. A crate that the working tree does not have
    either is a mistake in the map, and an error."""
    out: dict[str, str] = {}
    worktree: Workspace | None = None
    for problem in _missing_crates(cfg, head.ws):
        crate = cfg.services[problem.service].crate
        if head.snap.rev is None:
            raise problem.error(cfg)
        if worktree is None:
            worktree = Revision(Snapshot.worktree(head.snap.repo), head.root).ws
        member = worktree.crates.get(crate)
        if member is None or not member.member:
            raise problem.error(cfg)
        out[problem.service] = (
            f"no build: crate '{crate}' is not in the workspace at {head.snap.rev[:12]} "
            "(it came later; the map is today's)"
        )
    return out


def check_services(cfg: WorkspaceMap, ws: Workspace) -> None:
    """Every service maps to a crate of the workspace (detection needs no more)."""
    for problem in _missing_crates(cfg, ws):
        raise problem.error(cfg)


def check_buildable(cfg: WorkspaceMap, ws: Workspace, services: Iterable[str]) -> None:
    """Before a build: the map matches the workspace, and each service has a binary to ship."""
    check_services(cfg, ws)
    for problem in service_problems(cfg, ws, services):
        if problem.level == "error":
            raise problem.error(cfg)
