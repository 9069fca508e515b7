"""Cargo.lock: its packages, what changed between two locks, and what a crate resolves to."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from buildctl import tomlfile
from buildctl.detect.paths import shortest_chains
from buildctl.errors import BuildctlError

Key = tuple[str, str, str]  # name, version, source ("" for path packages)


class Package(NamedTuple):  # a NamedTuple: a lock has a thousand of them, made per run
    name: str
    version: str
    source: str
    checksum: str
    dependencies: tuple[str, ...]

    @property
    def key(self) -> Key:
        return (self.name, self.version, self.source)


class Lock(NamedTuple):
    packages: Mapping[Key, Package]
    by_name: Mapping[str, tuple[Key, ...]]

    def resolve(self, spec: str) -> Key | None:
        """A lock `dependencies` entry: "name", "name version" or "name version (source)"."""
        name, _, rest = spec.partition(" ")
        keys = self.by_name.get(name, ())
        if not rest:
            return keys[0] if len(keys) == 1 else None
        version, _, source = rest.partition(" ")
        source = source.strip("()")
        for key in keys:
            if key[1] == version and (not source or key[2] == source):
                return key
        return None


# The lock exactly as cargo writes it: comments, `version = N`, then [[package]] tables whose keys
# come in cargo's order, each a string without escapes. A document that is all of this is valid
# TOML and means what these groups say; anything else is read by the TOML parser.
_STR = r'"([^"\\\x00-\x08\x0a-\x1f\x7f]*)"'
_HEAD = re.compile(r"(?:#[^\x00-\x08\x0a-\x1f\x7f]*\n)*(?:version = (?:0|[1-9][0-9]*)\n)?")
_PACKAGE = re.compile(
    rf"\n\[\[package\]\]\nname = {_STR}\nversion = {_STR}\n(?:source = {_STR}\n)?(?:checksum = {_STR}\n)?"
    r'(?:dependencies = \[\n((?: "[^"\\\x00-\x08\x0a-\x1f\x7f]*",\n)*)\]\n)?'
)
_DEP = re.compile(r' "([^"]*)",\n')
_BLOCK = "\n[[package]]\n"


def _cargo_written(text: str) -> list[Package] | None:
    """The [[package]] entries of a lock in cargo's own layout, as `_packages` reads tomllib's
    reading of it; None when the text is laid out any other way."""
    head = _HEAD.match(text)
    assert head is not None  # it matches the empty string
    pos = head.end()
    out: list[Package] = []
    match, deps_in = _PACKAGE.match, _DEP.findall
    while pos < len(text):
        m = match(text, pos)
        if m is None:
            return None
        name, version, source, checksum, deps = m.groups()
        out.append(Package(name, version, source or "", checksum or "", tuple(deps_in(deps)) if deps else ()))
        pos = m.end()
    return out


def _packages(raw: object, file: str) -> list[Package]:
    """The `package` array of a lock as tomllib reads it."""
    if not isinstance(raw, list):
        raise BuildctlError("'package' must be an array of tables ([[package]])", file=file)
    out = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BuildctlError(
                f"[[package]] entry #{index + 1} has no name",
                file=file,
                hint="regenerate the lock file with `cargo generate-lockfile`",
            )
        deps = entry.get("dependencies", [])
        out.append(
            Package(
                name=entry["name"],
                version=str(entry.get("version", "")),
                source=str(entry.get("source", "")),
                checksum=str(entry.get("checksum", "")),
                dependencies=tuple(str(d) for d in deps) if isinstance(deps, list) else (),
            )
        )
    return out


def parse(text: str, file: str) -> Lock:
    found = _cargo_written(text)
    return _lock_of(found if found is not None else _from_toml(text, file))


def _from_toml(text: str, file: str) -> list[Package]:
    return _packages(tomlfile.parse(text, file).get("package", []), file)


def _lock_of(found: Iterable[Package]) -> Lock:
    packages: dict[Key, Package] = {}
    by_name: dict[str, list[Key]] = {}
    for pkg in found:
        key = (pkg.name, pkg.version, pkg.source)
        packages[key] = pkg
        by_name.setdefault(pkg.name, []).append(key)
    return Lock(packages, {k: tuple(v) for k, v in by_name.items()})


def changes(base_text: str | None, head_text: str, file: str) -> tuple[Lock, dict[Key, str]]:
    """The head lock, and what `changed` says of it against the base lock. When both are in
    cargo's layout, of the base only the packages the head does not hold word for word are read:
    a package's text says all it means there, so the rest of the base is the head's, read."""
    head_found = _cargo_written(head_text)
    head = _lock_of(head_found if head_found is not None else _from_toml(head_text, file))
    if base_text is None:
        return head, changed(None, head)
    if head_found is not None:
        found = _changed_word_for_word(base_text, head_text, head_found, head)
        if found is not None:
            return head, found
    return head, changed(parse(base_text, file), head)


def _changed_word_for_word(
    base_text: str, head_text: str, head_found: list[Package], head: Lock
) -> dict[Key, str] | None:
    """`changes`' answer from the base packages the head does not hold word for word; None
    when the base is not in cargo's layout, or holds a key twice."""
    base_head, sep, base_rest = base_text.partition(_BLOCK)
    head_pieces = head_text.partition(_BLOCK)[2].split(_BLOCK) if _BLOCK in head_text else []
    base_pieces = base_rest.split(_BLOCK) if sep else []
    held = set(head_pieces)
    gone = _cargo_written("".join(_BLOCK + p for p in base_pieces if p not in held))
    if (
        gone is None
        or _HEAD.fullmatch(base_head) is None
        or not len(head_found) == len(head_pieces) == len(head.packages)
    ):
        return None
    base_held = set(base_pieces)
    new: list[Package] = []
    same: set[Key] = set()
    for pkg, piece in zip(head_found, head_pieces, strict=True):
        if piece in base_held:
            same.add(pkg.key)
        else:
            new.append(pkg)
    if any(pkg.key in same for pkg in gone):
        return None  # a key twice in the base: read it all
    return changed(_lock_of(gone), head, new)


def changed(base: Lock | None, head: Lock, candidates: Iterable[Package] | None = None) -> dict[Key, str]:
    """Packages of `head` that are new or differ from `base`, each with a description of the
    change; only among `candidates` (head's packages), if given."""
    out: dict[Key, str] = {}
    for pkg in head.packages.values() if candidates is None else candidates:
        key = pkg.key
        old = base.packages.get(key) if base else None
        if old == pkg:
            continue
        if old is not None:
            out[key] = f"{pkg.name} {pkg.version} changed"
            continue
        previous = sorted(
            k[1] for k in (base.by_name.get(pkg.name, ()) if base else ()) if k not in head.packages
        )
        out[key] = (
            f"{pkg.name} {' '.join(previous)} -> {pkg.version}"
            if previous
            else f"{pkg.name} {pkg.version} added"
        )
    return out


def label(key: Key) -> str:
    return key[0] if not key[2] else f"{key[0]} {key[1]}"


def reaching(lock: Lock, targets: Iterable[Key]) -> frozenset[str]:
    """The names of the packages from which a dependency list leads to some target: by name, a
    superset of those a walk to the targets passes, which is all `find_path` needs."""
    users: dict[str, list[str]] = {}
    for pkg in lock.packages.values():
        for spec in pkg.dependencies:
            users.setdefault(spec.partition(" ")[0], []).append(pkg.name)
    found = {key[0] for key in targets}
    todo = list(found)
    while todo:
        for user in users.get(todo.pop(), ()):
            if user not in found:
                found.add(user)
                todo.append(user)
    return frozenset(found)


def find_path(
    lock: Lock,
    start: Key,
    targets: Iterable[Key],
    allowed: Callable[[str], AbstractSet[str] | None],
    edges: dict[Key, tuple[Key, ...]] | None = None,
    within: AbstractSet[str] | None = None,
) -> dict[Key, list[Key]]:
    """Shortest dependency path from `start` to each target it reaches.

    `allowed` restricts the edges of a workspace (path) package to the names of its non-dev
    dependencies (None: no restriction): the lock lists dev-dependencies too, and those never
    reach an image. It is asked only for the packages the walk reaches. `edges`
    keeps each package's resolved dependencies for the next call on the same lock and `allowed`
    (a walk per service crosses much of the same graph). `within` (`reaching`'s answer for
    these targets) keeps the walk to the packages that can lead to one: the chains found are
    the same, as a breadth-first walk finds each package on a way to a target from the same
    package, in the same order, whatever else it passes.
    """
    memo: dict[Key, tuple[Key, ...]] = {} if edges is None else edges

    def after(key: Key) -> tuple[Key, ...]:
        found = memo.get(key)
        if found is None:
            pkg = lock.packages.get(key)
            names = allowed(key[0]) if not key[2] else None
            specs = () if pkg is None else pkg.dependencies
            out = []
            for spec in specs:
                name = spec.partition(" ")[0]
                if (names is None or name in names) and (within is None or name in within):
                    dep = lock.resolve(spec)
                    if dep is not None:
                        out.append(dep)
            found = memo[key] = tuple(out)
        return found

    return shortest_chains(start, targets, after)
