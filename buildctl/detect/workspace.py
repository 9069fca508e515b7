"""The Cargo workspace as the manifests describe it (no `cargo metadata`, no network).

Read from a `Snapshot`, so any revision works without a checkout. Only what detection needs
is modelled: crates, their directories and targets, and their path dependencies by kind.
"""

from __future__ import annotations

import contextlib
import functools
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from buildctl import tomlfile
from buildctl.detect.crate_manifest import DepKind, bins_of, dep_tables, table_path
from buildctl.detect.snapshot import Snapshot
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet

_PACKAGE_NAME = re.compile(r"[\w-]+")  # cargo: Unicode XID characters, '-' and '_'


class Dep(NamedTuple):  # a NamedTuple, not a dataclass: thousands are made per run
    key: str  # the name used in the manifest (differs from `package` when renamed)
    package: str
    kind: DepKind
    path: str | None  # repo-relative directory of a path dependency
    inherited: bool  # `workspace = true`
    table: str  # e.g. "dependencies" or "target.'cfg(unix)'.dependencies"


class Targets(NamedTuple):
    bins: tuple[str, ...]
    has_lib: bool


class Crate:
    def __init__(
        self,
        name: str,
        dir: str,  # repo-relative, "" for the repository root
        member: bool,
        deps: tuple[Dep, ...],
        inherited_package_keys: frozenset[str],  # [package] fields taken from [workspace.package]
        targets_of: Targets | Callable[[], Targets],
    ) -> None:
        self.name = name
        self.dir = dir
        self.member = member
        self.deps = deps
        self.inherited_package_keys = inherited_package_keys
        # Its targets, or how to find them: they take a look at its src/, which detection never needs.
        self.targets_of = targets_of

    def __repr__(self) -> str:
        return f"Crate({self.name!r}, dir={self.dir!r}, member={self.member}, deps={self.deps!r})"

    @functools.cached_property
    def targets(self) -> Targets:
        found = self.targets_of
        return found if isinstance(found, Targets) else found()

    @property
    def bins(self) -> tuple[str, ...]:
        return self.targets.bins

    @property
    def has_lib(self) -> bool:
        return self.targets.has_lib

    def _key(self) -> tuple[object, ...]:
        return (self.name, self.dir, self.member, self.deps, self.inherited_package_keys, self.targets)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Crate) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.dir))

    @property
    def manifest(self) -> str:
        return manifest_of(self.dir)

    def path_deps(self, *, include_dev: bool = False) -> Iterator[Dep]:
        for dep in self.deps:
            if dep.path is not None and (include_dev or dep.kind != "dev"):
                yield dep


class Workspace(NamedTuple):
    root: str
    crates: Mapping[str, Crate]  # by package name
    by_dir: Mapping[str, str]  # crate directory → package name
    root_manifest: Mapping[str, Any]

    def mentioning(self, key: str) -> list[Crate]:
        """The crates whose manifests may hold `key` as a key (a superset: the caller checks
        each): every crate, but a lazily read workspace reads the word from each manifest's
        text and parses only those holding it."""
        lazy: Callable[[str], list[Crate]] | None = getattr(self.crates, "mentioning", None)
        return lazy(key) if lazy is not None else list(self.crates.values())

    def is_member(self, name: str) -> bool:
        """Whether a member of the workspace is the package `name`; a lazily read workspace
        answers from the manifests' text where that says it, parsing none."""
        lazy: Callable[[str], bool] | None = getattr(self.crates, "is_member", None)
        if lazy is not None:
            return lazy(name)
        crate = self.crates.get(name)
        return crate is not None and crate.member

    def non_dev_deps(self, name: str) -> frozenset[str] | None:
        """The packages the crate `name` needs to build (not to test); None if it is no crate
        here. Asked crate by crate, so a lazily read workspace parses only the crates asked for."""
        crate = self.crates.get(name)
        return None if crate is None else frozenset(d.package for d in crate.deps if d.kind != "dev")

    def owner(self, path: str) -> str | None:
        """The crate whose directory is the innermost one holding `path`."""
        d = posixpath.dirname(path)
        while True:
            name = self.by_dir.get(d)
            if name is not None:
                return name
            if not d:
                return None
            d = posixpath.dirname(d)


def manifest_of(d: str) -> str:
    """The manifest of the crate at `d` (a clean directory, as `join` makes them)."""
    return f"{d}/Cargo.toml" if d else "Cargo.toml"


def join(*parts: str) -> str:
    joined = "/".join(p for p in parts if p)
    # Only paths with . or .. segments, doubled or trailing slashes need the slow path; cargo
    # reads `members = ["crates/a/"]` as crates/a, the directory a path dependency names.
    if (
        ("." in joined and ("/." in joined or joined.startswith(".")))
        or "//" in joined
        or joined.endswith("/")
    ):
        joined = posixpath.normpath(joined)
    return "" if joined == "." else joined


def _has_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def load(snap: Snapshot, root: str) -> Workspace:
    """The workspace at `snap`; read lazily for a commit read through an `Objects` session."""
    if snap.lazy:
        from buildctl.detect import lazyws  # it builds on this module

        return lazyws.load(snap, root)
    return load_full(snap, root)


def load_full(snap: Snapshot, root: str) -> Workspace:
    """Every crate, read and checked (or the model a cache keeps for these manifests)."""
    # The cache's format is a module of its own: it needs this one's types.
    from buildctl.detect.workspace_json import from_json, model_key, to_json

    tree = snap.tree_id()
    if tree is not None:
        known = snap.cache.model_key_for_tree(f"{root}\0{tree}")
        cached = snap.cache.get_model(known) if known else None
        if cached is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return from_json(cached)
    key = model_key(snap, root)
    cached = snap.cache.get_model(key) if key else None
    ws: Workspace | None = None
    if cached is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError):  # an incompatible entry: derive again
            ws = from_json(cached)
    if ws is None:
        ws = _load(snap, root)
        if key:
            snap.cache.put_model(key, to_json(ws))
    if key and tree is not None:
        snap.cache.remember_tree(f"{root}\0{tree}", key)
    return ws


def _load(snap: Snapshot, root: str) -> Workspace:
    root_manifest_path = manifest_of(root)
    root_toml = snap.toml(root_manifest_path)
    if root_toml is None:
        raise BuildctlError(
            f"no Cargo.toml at the workspace root {root or '.'!r} ({snap.label})",
            file=root_manifest_path,
            hint="set [workspace] root in workspace-map.toml to the directory that holds the workspace Cargo.toml",
        )
    members = _members(snap, root, root_toml)
    snap.fetch(manifest_of(d) for d in members)
    loader = _Loader(snap, root, root_toml)
    for d in members:
        loader.crate_at(d, member=True, wanted_by=None)
    crates = {c.name: c for c in loader.loaded.values()}
    return Workspace(
        root=root,
        crates=crates,
        by_dir={c.dir: c.name for c in crates.values()},
        root_manifest=root_toml,
    )


def _members(snap: Snapshot, root: str, root_toml: Mapping[str, Any]) -> list[str]:
    ws = root_toml.get("workspace")
    root_manifest = manifest_of(root)
    if ws is None:
        if "package" not in root_toml:
            raise BuildctlError(
                "has neither [workspace] nor [package]",
                file=root_manifest,
                hint="point [workspace] root at a Cargo workspace",
            )
        return [root]
    if not isinstance(ws, dict):
        raise BuildctlError("'workspace' must be a table", file=root_manifest)
    found: set[str] = {root} if "package" in root_toml else set()
    patterns = ws.get("members", [])
    excludes = ws.get("exclude", [])
    for key, value in (("members", patterns), ("exclude", excludes)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BuildctlError(
                f"[workspace] {key} must be a list of paths",
                file=root_manifest,
                line=tomlfile.line_of(snap.text(root_manifest) or "", ["workspace"], key),
            )
    excluded = [join(root, e) for e in excludes]
    for pattern in patterns:
        full = join(root, pattern)
        if _has_glob(pattern):
            matcher = GlobSet.of([full])
            hits = [d for d in snap.manifest_dirs() if matcher.match(d)]
        else:
            hits = [full] if snap.exists(manifest_of(full)) else []
        if not hits:
            raise BuildctlError(
                f"[workspace] member {pattern!r} matches no directory with a Cargo.toml",
                file=root_manifest,
                line=tomlfile.line_of(snap.text(root_manifest) or "", ["workspace"], "members"),
                hint="fix or remove that entry of `members` (cargo would refuse this workspace too)",
            )
        found.update(h for h in hits if not _is_excluded(h, excluded))
    return sorted(found)


def _is_excluded(d: str, excluded: list[str]) -> bool:
    return any(d == e or d.startswith(e + "/") for e in excluded)


class _Loader:
    def __init__(self, snap: Snapshot, root: str, root_toml: Mapping[str, Any]) -> None:
        self.snap = snap
        self.root = root
        ws = root_toml.get("workspace", {})
        self.ws_deps: Mapping[str, Any] = ws.get("dependencies", {}) if isinstance(ws, dict) else {}
        self.excluded = [join(root, e) for e in ws.get("exclude", [])] if isinstance(ws, dict) else []
        self.loaded: dict[str, Crate] = {}
        self.loading: set[str] = set()
        self._resolved: dict[tuple[str, str], str] = {}  # (directory, `path` string) -> where it leads

    def crate_at(self, d: str, *, member: bool, wanted_by: tuple[str, Dep] | None) -> Crate:
        if d in self.loaded:
            return self.loaded[d]
        crate = self.build(d, member=member, wanted_by=wanted_by)
        self.loaded[d] = crate
        path = crate.manifest
        for dep in crate.path_deps(include_dev=True):
            assert dep.path is not None
            inside = dep.path == self.root or dep.path.startswith(self.root + "/") or not self.root
            target = self.crate_at(
                dep.path,
                member=inside and not _is_excluded(dep.path, self.excluded),
                wanted_by=(path, dep),
            )
            if target.name != dep.package:
                raise BuildctlError(
                    f"dependency '{dep.key}' points at {dep.path!r}, whose package is '{target.name}', not '{dep.package}'",
                    file=path,
                    line=self._line(path, dep.table, dep.key),
                    hint=f'write `{dep.key} = {{ package = "{target.name}", path = ... }}` or fix the path',
                )
        return crate

    def build(self, d: str, *, member: bool, wanted_by: tuple[str, Dep] | None = None) -> Crate:
        """The crate at `d` from its own manifest and files, its path dependencies not followed."""
        path = manifest_of(d)
        data = self.snap.toml(path)
        if data is None:
            assert wanted_by is not None
            by_path, dep = wanted_by
            raise BuildctlError(
                f"path dependency '{dep.key}' points at {d or '.'!r}, which has no Cargo.toml",
                file=by_path,
                line=self._line(by_path, dep.table, dep.key),
                hint="fix the dependency's `path`",
            )
        package = data.get("package")
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            raise BuildctlError(
                "has no [package] name", file=path, hint="a workspace member needs [package] with a name"
            )
        name: str = package["name"]
        if not _PACKAGE_NAME.fullmatch(name):
            raise BuildctlError(
                f"package name {name!r} is not a Cargo package name",
                file=path,
                line=tomlfile.line_of(self.snap.text(path) or "", ["package"], "name"),
                hint="use letters, digits, '-' and '_' only (cargo refuses anything else too)",
            )
        snap = self.snap

        def targets() -> Targets:
            return Targets(bins_of(snap, d, name, data), "lib" in data or snap.exists(join(d, "src/lib.rs")))

        return Crate(
            name=name,
            dir=d,
            member=member,
            deps=tuple(self._deps(d, data, path)),
            inherited_package_keys=frozenset(
                k for k, v in package.items() if isinstance(v, dict) and v.get("workspace") is True
            ),
            targets_of=targets,
        )

    def resolve(self, base_dir: str, dep_path: str) -> str:
        """Where a `path` string in the manifest at `base_dir` leads. `d/../x` is `parent/x` for
        every crate d of that parent (crate directories are clean): one `join` for a sibling
        that many crates name, and none for `../name`. A parent's key ends in "/", which no
        directory's does."""
        sibling = base_dir and dep_path.startswith("../")
        key = (base_dir.rpartition("/")[0] + "/" if sibling else base_dir, dep_path)
        found = self._resolved.get(key)
        if found is None:
            name = dep_path[3:]
            if sibling and name and "/" not in name and name not in (".", ".."):
                found = (key[0] + name).lstrip("/")  # what `join` makes of it, without normpath
            else:
                found = join(base_dir, dep_path)
            self._resolved[key] = found
        return found

    def _line(self, path: str, table: str, key: str) -> int | None:
        """Only an error needs a line number, so the text is decoded and searched only then."""
        return tomlfile.line_of(self.snap.text(path) or "", table_path(table), key)

    def _deps(self, d: str, data: Mapping[str, Any], path: str) -> Iterator[Dep]:
        for table_name, table, kind in dep_tables(data):
            if not isinstance(table, dict):
                raise BuildctlError(f"[{table_name}] must be a table", file=path)
            for key, spec in table.items():
                yield self._dep(d, key, spec, kind, table_name, path)

    def _dep(self, d: str, key: str, spec: Any, kind: DepKind, table: str, path: str) -> Dep:
        base_dir = d
        inherited = False
        if isinstance(spec, dict) and spec.get("workspace") is True:
            inherited = True
            ws_spec = self.ws_deps.get(key)
            if ws_spec is None:
                raise BuildctlError(
                    f"dependency '{key}' says workspace = true, but [workspace.dependencies] has no '{key}'",
                    file=path,
                    line=self._line(path, table, key),
                    hint=f"add '{key}' to [workspace.dependencies] in the root Cargo.toml",
                )
            merged: dict[str, Any] = dict(ws_spec) if isinstance(ws_spec, dict) else {"version": ws_spec}
            if "package" in spec:
                merged["package"] = spec["package"]
            spec = merged
            base_dir = self.root
        if isinstance(spec, str):
            return Dep(key, key, kind, None, inherited, table)
        if not isinstance(spec, dict):
            raise BuildctlError(
                f"dependency '{key}' must be a version string or a table",
                file=path,
                line=self._line(path, table, key),
            )
        package = spec.get("package", key)
        dep_path = spec.get("path")
        resolved = self.resolve(base_dir, dep_path) if isinstance(dep_path, str) else None
        if resolved is not None and (resolved == ".." or resolved.startswith("../")):
            raise BuildctlError(
                f"path dependency '{key}' leaves the repository ({dep_path!r})",
                file=path,
                line=self._line(path, table, key),
            )
        return Dep(key, str(package), kind, resolved, inherited, table)
