"""What `buildctl init` proposes for a map, every guess with its reason, and the state its
scan shares: plain data, made by `scan`, extended by a migration, written out by `render`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import Workspace
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet
from buildctl.mapmodel import DEFAULT_BIN_ARG, DEFAULT_TARGET, ImageKeys

DEFAULT_DOCKERFILE = "Dockerfile.service"
DEFAULT_DEPLOYMENTS = "deployments"


@dataclass(frozen=True)
class Rule:
    glob: str
    why: str


@dataclass(frozen=True)
class ServiceGuess:
    name: str
    crate: str
    dir: str
    why: str
    inputs: tuple[Rule, ...] = ()
    # How it is built and deployed, where that differs from the map's [workspace] (None: as there)
    dockerfile: str | None = None
    context: str | None = None
    target: str | None = None
    bin: str = ""
    deploy: str | None = None
    deploy_why: str = ""
    values: str | None = None
    image_keys: ImageKeys | None = None


@dataclass(frozen=True)
class Skipped:
    """A binary crate that is not taken as a service."""

    crate: str
    dir: str
    why: str


@dataclass(frozen=True)
class FilterGuess:
    """A paths-filter filter kept as a buildctl filter: its rules as the map writes them."""

    name: str
    rules: tuple[str, ...]  # TOML values: a quoted glob, or an inline table of change types
    every: bool
    why: str


@dataclass(frozen=True)
class Proposal:
    map_file: str
    root: str
    registry: str | None
    registry_why: str
    dockerfile: str
    deployments: str
    build_all: tuple[Rule, ...]
    deploy_all: tuple[Rule, ...]
    ignore: tuple[Rule, ...]  # the defaults first, then what init inferred
    services: tuple[ServiceGuess, ...]
    skipped: tuple[Skipped, ...] = ()
    left_unowned: tuple[str, ...] = ()  # top-level paths no rule covers: a change rebuilds everything
    notes: tuple[str, ...] = ()
    context: str = ""
    target: str = DEFAULT_TARGET
    bin_arg: str = DEFAULT_BIN_ARG
    bin_arg_why: str = ""
    deploy: str = "kustomize"
    deploy_why: str = ""
    crate_inputs: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    filters: tuple[FilterGuess, ...] = ()

    def service(self, name: str) -> ServiceGuess | None:
        return next((s for s in self.services if s.name == name), None)


@dataclass
class Scan:
    """What every step of the scan reads, and the notes they leave for the user."""

    snap: Snapshot
    map_file: str
    root: str
    workspace: Workspace
    files: list[str]
    notes: list[str] = field(default_factory=list)

    def text(self, path: str) -> str | None:
        try:
            return self.snap.text(path)
        except BuildctlError:
            return None


def escape_glob(path: str) -> str:
    """A glob that matches exactly this path."""
    return re.sub(r"([*?\[\]{}])", r"[\1]", path)


def with_inputs(
    p: Proposal,
    inputs: Mapping[str, Sequence[Rule]],
    files: Iterable[str],
    promoted: Iterable[ServiceGuess] = (),
) -> Proposal:
    """The proposal with the `promoted` services added and each service's `inputs` set; the
    top-level paths that the inputs now cover are no longer reported as left unowned."""
    extra = [g for g in promoted if p.service(g.name) is None]
    services = tuple(
        replace(g, inputs=tuple(inputs.get(g.name, ())))
        for g in sorted((*p.services, *extra), key=lambda g: g.crate)
    )
    promoted_crates = {g.crate for g in extra}
    globs = GlobSet.of([r.glob for rules in inputs.values() for r in rules])
    listed = list(files)
    left = tuple(
        e
        for e in p.left_unowned
        if not all(globs.match(f) for f in listed if f == e or (e.endswith("/") and f.startswith(e)))
    )
    return replace(
        p,
        services=services,
        skipped=tuple(k for k in p.skipped if k.crate not in promoted_crates),
        left_unowned=left,
    )
