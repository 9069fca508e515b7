"""A commit's workspace read lazily: every manifest is read, only those an answer needs parsed.

Every crate's manifest comes in one batch through the run's `cat-file` process; a crate is
parsed (exactly as `workspace._Loader` builds it) only when a question needs it: a service's
crate by name, the crate that owns a changed path, the crates that depend on a changed one.
Which manifests can answer is read from their text, by rules that hold for any TOML:

* a crate whose package is N has N as a `name` string in its manifest;
* a crate with a path dependency on the crate at D has a `path` string leading to D in its
  manifest, or the key of a [workspace.dependencies] entry whose path leads there;
* a crate outside the members is some crate's path dependency: a directory with a Cargo.toml
  that a `path` string leads to, which a crate already found is seen (parsed) to depend on.

A manifest with escapes or multi-line strings, where text and meaning may differ, is parsed
instead. Whatever this cannot settle (a glob with classes or `**`, a member outside the root,
two crates of one name, any error) is answered by the full model (`workspace.load_full`), as is
every question about all the crates at once, and a walk that asks about a tenth of them (it
would parse most manifests anyway, one question at a time). A crate's targets come from its
src/ only if asked for: detection never asks. The answers are the full model's, bit for bit.
What the full model checks and no answer reads (an error in a manifest nothing here needed) is
not reported: `check`, `build` and cargo itself read every manifest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from buildctl.detect import lazymembers, manifest_text
from buildctl.detect.graph import CrateGraph
from buildctl.detect.lazyviews import Crates, Unsettled, by_dir, has_cycle
from buildctl.detect.paths import shortest_chains
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import (
    Crate,
    Workspace,
    _is_excluded,
    _Loader,
    join,
    load_full,
    manifest_of,
)
from buildctl.errors import BuildctlError

_SCAN_QUESTIONS = 8  # key lookups answered by scanning every manifest, before indexing their words
# A walk that asks for the dependents of more than this share of the crates has the full graph
# answer it: by then it would parse most manifests anyway, one question at a time.
_WIDE_WALK = 0.1


def load(snap: Snapshot, root: str) -> Workspace:
    root_toml = snap.toml(manifest_of(root))
    if root_toml is None:
        return load_full(snap, root)  # which says so, with the hint
    model = _Model(snap, root, root_toml)
    return Workspace(root=root, crates=Crates(model), by_dir=by_dir(model), root_manifest=root_toml)


class _Model:
    def __init__(self, snap: Snapshot, root: str, root_toml: Mapping[str, Any]) -> None:
        self.snap, self.root, self.root_toml = snap, root, root_toml
        self.loader = _Loader(snap, root, root_toml)
        self._full: Workspace | None = None
        self._graph: CrateGraph | None = None
        self._members: list[str] | None = None
        self._failed = False  # whether reading the members failed, leaving a partial reading
        self._member_set: frozenset[str] = frozenset()  # every crate's directory
        self._listed: list[str] = []  # the members `members` lists
        self._member_of: dict[str, bool] = {}  # crate directory -> whether a member (as the full model says)
        self._texts: dict[str, bytes] = {}  # member directory -> manifest, for regular manifests
        self._names: dict[str, list[str]] = {}  # a `name` string -> the regular manifests holding it
        self._exact: dict[str, Crate] = {}  # member directory -> crate, as built
        self._checked: set[str] = set()  # members whose path dependencies were checked
        self._dir_names: dict[str, set[str]] = {}  # member directory -> the `name` strings it holds
        self._dependents: dict[str, frozenset[str]] = {}
        self._questions = 0
        self._by_name: dict[str, Crate | None] = {}
        self._acyclic: set[str] = set()  # crates no cycle runs through (the walks so far)
        self._fresh: list[str] = []  # crates explored since the last look for a cycle
        self._rank: dict[str, int] = {}  # crate directory -> its place in `members`
        self._irregular: list[str] = []  # crates whose manifest was parsed to read it
        self._by_target: dict[str, set[str]] = {}  # directory -> the members with a path string to it
        self._aliases: dict[str, list[bytes]] = {}  # directory -> [workspace.dependencies] keys to it
        self._words: dict[bytes, list[str]] | None = None  # word -> the regular manifests holding it

    # --- the full model, for everything this cannot settle ------------------------------------

    @property
    def is_full(self) -> bool:
        return self._full is not None

    def full(self) -> Workspace:
        if self._full is None:
            if self.snap.cache.path is None:
                with contextlib.suppress(Unsettled, BuildctlError):
                    self._full = self._assemble()
            if self._full is None:  # with a cache, its model: a warm run reads no manifest
                self._full = load_full(self.snap, self.root)
        return self._full

    def _assemble(self) -> Workspace:
        """Every crate, from the manifests already read, loaded and checked in the order
        `workspace._load` takes (members sorted, path dependencies depth first)."""
        self.members()
        order: dict[str, Crate] = {}
        for member in self._listed:
            if member in order:
                continue
            order[member] = self._raw(member)
            stack = [iter(order[member].path_deps(include_dev=True))]
            while stack:
                dep = next(stack[-1], None)
                if dep is None:
                    stack.pop()
                    continue
                assert dep.path is not None
                if dep.path not in order:
                    if dep.path not in self._member_of:
                        raise Unsettled  # no crate there: the full model's error
                    order[dep.path] = self._raw(dep.path)
                    stack.append(iter(order[dep.path].path_deps(include_dev=True)))
                if order[dep.path].name != dep.package:
                    raise Unsettled
        crates = {c.name: c for c in order.values()}
        by_dir = {c.dir: c.name for c in crates.values()}
        return Workspace(root=self.root, crates=crates, by_dir=by_dir, root_manifest=self.root_toml)

    def full_graph(self) -> CrateGraph:
        if self._graph is None:
            self._graph = CrateGraph.of(self.full())
        return self._graph

    # --- the members, their manifests and what their text says ----------------------------------

    def read_ahead(self) -> None:
        """Read every manifest now, not at the first question; what goes wrong is said (or
        settled by the full model) when a question needs the answer."""
        with contextlib.suppress(Unsettled, BuildctlError):
            self.members()

    def members(self) -> list[str]:
        """Every crate's directory: the members, and the path dependencies outside them."""
        if self._members is None:
            if self._failed:
                raise Unsettled  # once is enough: the full model answers instead
            self._failed = True  # until the reading is whole
            members, globbed = lazymembers.find(self.snap, self.root, self.root_toml)
            self._member_of = dict.fromkeys(members, True)
            self._listed = self._index(members)
            for hits in globbed:  # as the full model, which says a glob that matches no crate
                if not any(h in self._member_of for h in hits):
                    raise Unsettled
            self._add_path_crates()
            self._members = sorted(self._member_of)
            self._member_set = frozenset(self._members)
            self._rank = {d: i for i, d in enumerate(self._members)}
            self._irregular = [d for d in self._members if d not in self._texts]
            self._failed = False
        return self._members

    def _index(self, dirs: list[str]) -> list[str]:
        """Read the manifests in `dirs`, noting the `name` strings each holds and where each of
        its `path` strings leads, as git hands them over; the directories with one (the others
        are no crates: a glob matched them)."""
        self._words = None  # an index of the words of fewer manifests than there now are
        by_target, all_names, texts, dir_names = self._by_target, self._names, self._texts, self._dir_names
        names_in, paths_in, resolve = manifest_text.names, manifest_text.paths, self.loader.resolve
        by_parent: dict[str, dict[bytes, str]] = {}
        kept = []
        # Text only, while the stream runs: reading more of the tree has to wait for its end.
        # Each text is taken for plain; those that are not (rare) are parsed after, and what
        # their text seemed to say is replaced, or stays as the superset it is.
        # Closed on any way out (an Unsettled included): git must end its answer before the next.
        with contextlib.closing(self.snap.stream(manifest_of(d) for d in dirs)) as files:
            for d, text in zip(dirs, files, strict=True):
                if text is None:
                    del self._member_of[d]
                    continue
                kept.append(d)
                texts[d] = text
                names = dir_names[d] = {raw.decode("utf-8", "surrogateescape") for raw in names_in(text)}
                if not names:
                    raise Unsettled  # a crate without a package name: an error the full model says
                for name in names:
                    holders = all_names.get(name)
                    if holders is None:
                        all_names[name] = [d]
                    else:
                        holders.append(d)
                # `../x` leads to one place from every crate of one parent directory (the root's
                # parent is none: its key is "", which no other crate's is)
                parent = d.rpartition("/")[0] + "/" if d else ""
                near = by_parent.get(parent)
                if near is None:
                    near = by_parent[parent] = {}
                for value in paths_in(text):
                    target = near.get(value)  # only `../` strings are kept there
                    if target is None:
                        target = resolve(d, value.decode("utf-8", "surrogateescape"))
                        if value.startswith(b"../"):
                            near[value] = target
                    users = by_target.get(target)
                    if users is None:
                        by_target[target] = {d}
                    else:
                        users.add(d)
        irregular: list[str] = []
        if not manifest_text.plain(b"\n".join(self._texts[d] for d in kept)):  # one look at all
            irregular = [d for d in kept if not manifest_text.plain(self._texts[d])]
        for d in irregular:
            del self._texts[d]
            crate = self._raw(d)
            all_names.setdefault(crate.name, []).append(d)
            self._dir_names[d] = {crate.name}
            for dep in crate.deps:
                if dep.path is not None:
                    by_target.setdefault(dep.path, set()).add(d)
        return kept

    def _add_path_crates(self) -> None:
        """The crates outside the members: each a directory with a Cargo.toml that some `path`
        string leads to and a crate already found depends on (its manifest, parsed, says so)."""
        deps = self.loader.ws_deps
        for key, spec in deps.items() if isinstance(deps, dict) else ():
            if isinstance(spec, dict) and isinstance(spec.get("path"), str):
                self._aliases.setdefault(join(self.root, spec["path"]), []).append(key.encode())
        while True:
            targets = self._by_target.keys() | self._aliases.keys()
            outside = sorted(
                t for t in targets - self._member_of.keys() if t != ".." and not t.startswith("../")
            )
            self.snap.fetch(manifest_of(t) for t in outside)
            found = []
            for t in outside:
                if self.snap.read(manifest_of(t)) is None:
                    continue  # no crate there (a dependency on it is the full model's error)
                near = self._by_target.get(t, set()) | self._mentioning(self._aliases.get(t, []))
                users = [d for d in near if d in self._member_of]
                if any(dep.path == t for d in users for dep in self._raw(d).deps):
                    found.append(t)
            if not found:
                return
            for t in found:  # as `_Loader.crate_at` marks a crate it reaches by a path
                inside = t == self.root or t.startswith(self.root + "/") or not self.root
                self._member_of[t] = inside and not _is_excluded(t, self.loader.excluded)
            self._index(found)

    def _raw(self, d: str) -> Crate:
        crate = self._exact.get(d)
        if crate is None:
            crate = self._exact[d] = self.loader.build(d, member=self._member_of[d])
        return crate

    def build(self, d: str) -> Crate:
        """The crate at `d`, as the full model has it; its path dependencies checked as the full
        model checks them (each a crate whose package has that name), though not read."""
        crate = self._raw(d)
        if d not in self._checked:
            for dep in crate.path_deps(include_dev=True):
                if dep.path not in self._member_set or dep.package not in self._dir_names.get(dep.path, ()):
                    raise Unsettled  # no Cargo.toml there, or another package: the error is the full model's
            self._checked.add(d)
        return crate

    # --- the questions ------------------------------------------------------------------------------

    def crate(self, name: str) -> Crate | None:
        if name not in self._by_name:
            self.members()
            dirs = list(dict.fromkeys(self._names.get(name, ())))
            found = [c for c in map(self.build, dirs) if c.name == name]
            if len(found) > 1:
                raise Unsettled  # two crates of one name: the full model keeps the last it loaded
            self._by_name[name] = found[0] if found else None
        return self._by_name[name]

    def is_member(self, name: str) -> bool:
        """As `crate(name).member`, without a parse where one plain manifest alone holds `name`
        and holds no other `name` string: its package's name is one of them."""
        self.members()
        dirs = set(self._names.get(name, ()))
        if len(dirs) == 1:
            (d,) = dirs
            if d in self._texts and self._dir_names[d] == {name}:
                return self._member_of[d]
        crate = self.crate(name)
        return crate is not None and crate.member

    def name_at(self, d: str) -> str | None:
        self.members()
        if d not in self._member_set:
            return None
        name = self.build(d).name
        crate = self.crate(name)
        if crate is None or crate.dir != d:
            raise Unsettled
        return name

    def dependents(self, name: str) -> frozenset[str]:
        """The crates with a normal or build path dependency on `name`: of the members, only those
        whose manifest has a `path` string leading to its directory, or the key of a
        [workspace.dependencies] entry that does, can have one."""
        if name not in self._dependents:
            if len(self._dependents) > _WIDE_WALK * len(self.members()):
                raise Unsettled
            crate = self.crate(name)
            out = set()
            if crate is not None:
                near = self._by_target.get(crate.dir, set()) | self._mentioning(
                    self._aliases.get(crate.dir, [])
                )
                dirs = sorted(near.union(self._irregular), key=self._rank.__getitem__)
                for user in map(self.build, dirs):
                    if any(
                        dep.package == name and dep.path is not None and dep.kind != "dev"
                        for dep in user.deps
                    ):
                        if self.crate(user.name) is not user:
                            raise Unsettled
                        out.add(user.name)
            self._dependents[name] = frozenset(out)
            self._fresh.append(name)
        return self._dependents[name]

    def mentioning(self, key: str) -> list[Crate]:
        """The crates whose manifest holds `key` (a [workspace.dependencies] or [workspace.package]
        key they may inherit), in the full model's order of directories."""
        self.members()
        dirs = self._mentioning([key.encode("utf-8", "surrogateescape")]).union(self._irregular)
        found = []
        for crate in map(self.build, sorted(dirs, key=self._rank.__getitem__)):
            if self.crate(crate.name) is not crate:
                raise Unsettled  # two crates of one name: the full model keeps the last it loaded
            found.append(crate)
        return found

    def _mentioning(self, needles: list[bytes]) -> set[str]:
        """The regular manifests holding one of `needles` (keys of [workspace.dependencies]).
        After a few questions an index of their words answers: a whole key is one word, bounded
        by quotes, spaces, `=`, `.` or brackets."""
        if not needles:
            return set()
        self._questions += 1
        if self._questions > _SCAN_QUESTIONS and all(manifest_text.WORD.fullmatch(n) for n in needles):
            if self._words is None:
                self._words = {}
                for d, text in self._texts.items():
                    for word in set(manifest_text.WORD.findall(text)):
                        self._words.setdefault(word, []).append(d)
            return {d for n in needles for d in self._words.get(n, ())}
        return {d for d, text in self._texts.items() if any(n in text for n in needles)}

    def chains_up(self, start: str, targets: set[str]) -> dict[str, list[str]]:
        found = shortest_chains(start, targets, lambda node: sorted(self.dependents(node)))
        if has_cycle(self._dependents, self._fresh, self._acyclic):
            raise Unsettled  # the full graph says which cycle, as it always has
        return found
