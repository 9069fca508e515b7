"""Changed paths → which services must be rebuilt or redeployed, and why.

Pure: everything it reads comes in through the snapshots it is handed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision, absent_services
from buildctl.detect.workspace import join
from buildctl.gitrepo import Change
from buildctl.globs import GlobSet

if TYPE_CHECKING:
    from buildctl.detect.filters import Match as FilterMatch


class Effect:
    def __init__(self, *, build: bool = False, deploy: bool = False, reasons: Iterable[str] = ()) -> None:
        self.build = build
        self.deploy = deploy
        self.reasons = list(reasons)
        self.chains: list[tuple[str, ...]] = []  # crate chains, changed crate first
        self._seen = set(self.reasons)  # a 100,000-file diff: no list scans

    def __repr__(self) -> str:
        return f"Effect(build={self.build}, deploy={self.deploy}, reasons={self.reasons!r})"

    def add(self, reason: str, *, build: bool, chain: tuple[str, ...] = ()) -> None:
        self.build = self.build or build
        self.deploy = True
        if reason not in self._seen:
            self._seen.add(reason)
            self.reasons.append(reason)
        if chain and chain not in self.chains:
            self.chains.append(chain)


class Detector:
    """Decides, per service, from the changed paths. `run` returns an Effect per affected
    service; a service whose crate the head revision does not have gets one with neither build
    nor deploy and the reason; and each of the map's `[filters]` that a change matches gets one
    under the filter's name (never a service's: the map refuses that) with `build` set."""

    def __init__(self, cfg: WorkspaceMap, head: Revision, base: Callable[[], Revision | None]) -> None:
        self.cfg = cfg
        self.head = head
        self._base_factory = base
        self._base: Revision | None = None
        self._base_loaded = False
        self.effects: dict[str, Effect] = {}
        self.crate_of = {s.crate: s.name for s in cfg.services.values()}
        self.crate_changes: dict[str, list[str]] = {}
        self.touched: set[str] = set()  # crates on the chain of some reason
        self._inputs = GlobSet.of(p for s in cfg.services.values() for p in s.inputs.patterns)
        self._build_files: dict[str, list[str]] = {}
        for svc in cfg.services.values():
            for path in svc.build_files:
                self._build_files.setdefault(path, []).append(svc.name)
        self._crate_inputs = GlobSet.of(p for g in cfg.crate_inputs.values() for p in g.patterns)
        contexts = cfg.contexts()
        self._contexts = () if "" in contexts or not contexts else tuple(c + "/" for c in contexts)
        self.skipped: dict[str, str] = {}  # service -> why it has no build at head
        self._deploy_prefix = cfg.deployments + "/" if cfg.deployments else ""
        # A Helm service is deployed by its values file and by the chart around it (the values
        # file's folder), which several services' values files may share.
        self._values: dict[str, str] = {}
        self._charts: dict[str, list[str]] = {}
        for svc in cfg.services.values():
            if svc.deploy.kind == "helm" and svc.deploy.file:
                self._values[svc.deploy.file] = svc.name
                chart = posixpath.dirname(svc.deploy.file)
                self._charts.setdefault(chart + "/" if chart else "", []).append(svc.name)
        self._root_manifest_path = join(cfg.root, "Cargo.toml")
        self._root_lock_path = join(cfg.root, "Cargo.lock")

    @property
    def base(self) -> Revision | None:
        if not self._base_loaded:
            self._base = self._base_factory()
            self._base_loaded = True
        return self._base

    def _effect(self, service: str) -> Effect:
        return self.effects.setdefault(service, Effect())

    def everything(self, reason: str, *, build: bool = True) -> None:
        for name in self.cfg.services:
            self._effect(name).add(reason, build=build)

    def run(self, changes: Iterable[Change]) -> dict[str, Effect]:
        self.skipped = absent_services(self.cfg, self.head)
        changes = list(changes)
        paths = sorted({p for c in changes for p in c.paths()})
        # Reasons of one kind for one service are grouped: the first path, then "(+N more)".
        grouped: dict[tuple[str | None, str, bool], list[str]] = {}

        def note(service: str | None, label: str, text: str, *, build: bool) -> None:
            grouped.setdefault((service, label, build), []).append(text)

        for path in paths:
            kind, detail = self.classify(path)
            if kind == "build_all":
                note(None, kind, f"build_all: {path} (matches {detail})", build=True)
            elif kind == "deploy_all":
                note(None, kind, f"deploy_all: {path} (matches {detail})", build=False)
            elif kind in ("input", "crate_input"):
                for svc in self.cfg.services.values():
                    if glob := svc.inputs.match(path):
                        note(svc.name, kind, f"input: {path} (matches {glob})", build=True)
                for name in self._build_files.get(path, ()):
                    note(name, "build_file", f"build file: {path}", build=True)
                self._crate_input(path)
            elif kind == "deployment":
                note(detail, kind, f"deploy: {path}", build=False)
            elif kind == "chart":
                for name in self._charts[detail]:
                    note(name, "deployment", f"deploy: {path}", build=False)
            elif kind == "root_manifest":
                self._root_manifest(path)
            elif kind == "lock":
                self._lock(path)
            elif kind == "crate":
                self._crate_file(detail, path)
            elif kind == "unowned" and self.cfg.rules.unowned == "all":
                note(None, kind, f"unowned path: {path}", build=True)
        for (service, _, build), texts in grouped.items():
            reason = texts[0] + (f" (+{len(texts) - 1} more)" if len(texts) > 1 else "")
            if service is None:
                self.everything(reason, build=build)
            else:
                self._effect(service).add(reason, build=build)
        self._propagate()
        for name, why in self.skipped.items():
            self.effects[name] = Effect(reasons=[why])
        effects = dict(sorted(self.effects.items()))
        for name, match in self._filters(changes).items():
            effects[name] = Effect(
                build=True, reasons=[f"filter {name}: {match.path} (matches {match.rule})"]
            )
        return effects

    def _filters(self, changes: list[Change]) -> dict[str, FilterMatch]:
        if not self.cfg.filters:
            return {}
        # The readers of filters, manifests and locks are imported by the changes that need them:
        # a cold start pays for each module it loads, and most changes need none of them.
        from buildctl.detect.filters import FilterSet

        return FilterSet(self.cfg.filters).evaluate(changes)

    def classify(self, path: str) -> tuple[str, str]:
        """What owns `path`: (kind, detail), in the order the rules take precedence."""
        rules = self.cfg.rules
        if glob := rules.build_all.match(path):
            return "build_all", glob
        if glob := rules.deploy_all.match(path):
            return "deploy_all", glob
        if (self._inputs and self._inputs.match(path)) or path in self._build_files:
            return "input", ""
        if self._crate_inputs and self._crate_inputs.match(path):
            return "crate_input", ""
        if self._deploy_prefix and path.startswith(self._deploy_prefix):
            svc_dir, sep, _ = path[len(self._deploy_prefix) :].partition("/")
            if sep and svc_dir in self.cfg.services:
                return "deployment", svc_dir
        if path in self._values:
            return "deployment", self._values[path]
        for chart in self._charts:
            if chart and path.startswith(chart):
                return "chart", chart
        if glob := rules.ignore.match(path):
            return "ignored", glob
        if path == self._root_manifest_path:
            return "root_manifest", ""
        if path == self._root_lock_path:
            return "lock", ""
        owner = self._owner(path)
        if owner is not None:
            return "crate", owner
        if self._contexts and not path.startswith(self._contexts):
            return "outside", ""  # in no service's build context: it cannot change an image
        return "unowned", ""

    def _crate_input(self, path: str) -> None:
        """A file a crate's build reads from outside it: that crate changed (and the crate that
        holds the file, if one does)."""
        for crate, globs in self.cfg.crate_inputs.items():
            if globs.match(path):
                self.crate_changes.setdefault(crate, []).append(path)
        owner = self._owner(path)
        if owner is not None:
            self._crate_file(owner, path)

    def _owner(self, path: str) -> str | None:
        owner = self.head.ws.owner(path)
        if owner is None and self.base is not None:  # a file of a crate that head no longer has
            owner = self.base.ws.owner(path)
        return owner

    def _crate_file(self, crate: str, path: str) -> None:
        if posixpath.basename(path) == "Cargo.toml":
            from buildctl.detect import cargo_toml

            base = self.base
            before = cargo_toml.build_relevant(base.snap.toml(path) if base else None)
            after = cargo_toml.build_relevant(self.head.snap.toml(path))
            if before == after and base is not None:
                return  # comments, formatting, dev-dependencies or metadata only
        self.crate_changes.setdefault(crate, []).append(path)

    def _root_manifest(self, path: str) -> None:
        from buildctl.detect import cargo_toml

        base = self.base
        before = base.snap.toml(path) if base else None
        changes = cargo_toml.root_changes(
            before, self.head.snap.toml(path), base.ws if base else None, self.head.ws, path
        )
        for reason in changes.everything:
            self.everything(reason)
        for crate, why in changes.crates.items():
            self.crate_changes.setdefault(crate, []).append(why)
        root_crate = self.head.ws.owner(path)
        if root_crate is not None:
            self._crate_file(root_crate, path)

    def _lock(self, path: str) -> None:
        from buildctl.detect import cargo_lock

        head_text = self.head.snap.text(path)
        if head_text is None:
            self.everything(f"{path} deleted")
            return
        base = self.base
        base_text = base.snap.text(path) if base else None
        head_lock, changed = cargo_lock.changes(base_text, head_text, path)
        if not changed:
            return
        ws = self.head.ws
        edges: dict[cargo_lock.Key, tuple[cargo_lock.Key, ...]] = {}
        within = cargo_lock.reaching(head_lock, changed)
        for crate, service in self.crate_of.items():
            start = next((k for k in head_lock.by_name.get(crate, ()) if not k[2]), None)
            if start is None or crate not in within:
                continue  # no dependency list leads from it to a changed package
            found = cargo_lock.find_path(head_lock, start, changed, ws.non_dev_deps, edges, within)
            for key, chain in sorted(found.items()):
                self.touched.update(k[0] for k in chain if not k[2])
                names = " -> ".join(cargo_lock.label(k) for k in reversed(chain[:-1]))
                # The service's own crate changed in the lock (its version): no chain to show.
                tail = f" -> {names}" if names else ""
                self._effect(service).add(f"{path}: {changed[key]}{tail}", build=True)

    def _propagate(self) -> None:
        services = {c for c, name in self.crate_of.items() if name not in self.skipped}
        for crate, whys in sorted(self.crate_changes.items()):
            side = self.head if crate in self.head.ws.crates else self.base
            if side is None:
                continue
            trigger = whys[0] + (f" (+{len(whys) - 1} more)" if len(whys) > 1 else "")
            for target, chain in side.graph.chains_up(crate, services).items():
                self.touched.update(chain)
                self._effect(self.crate_of[target]).add(
                    f"{trigger} -> {' -> '.join(chain)}", build=True, chain=tuple(chain)
                )
