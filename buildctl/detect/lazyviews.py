"""What a lazily read workspace (see lazyws) shows the rest of detection: its crates by name and
by directory, and its crate graph, whose `chains_up` walks only the crates it reaches. Each
asks the lazy model, and the full one for everything else and whatever the lazy one cannot
settle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Protocol, TypeVar

from buildctl.detect.graph import CrateGraph
from buildctl.detect.workspace import Crate, Workspace
from buildctl.errors import BuildctlError


class Unsettled(Exception):
    """The lazy reading cannot settle this question: ask the full model."""


V = TypeVar("V")


def settled(model: Model, lazily: Callable[[], V], fully: Callable[[], V]) -> V:
    """The lazy model's answer, or the full one's where the lazy one cannot settle it (an error
    included: the full model then raises the error it has always raised)."""
    if not model.is_full:
        try:
            return lazily()
        except (Unsettled, BuildctlError):
            pass
    return fully()


class Model(Protocol):
    @property
    def is_full(self) -> bool: ...

    def full(self) -> Workspace: ...

    def full_graph(self) -> CrateGraph: ...

    def crate(self, name: str) -> Crate | None: ...

    def name_at(self, d: str) -> str | None: ...

    def chains_up(self, start: str, targets: set[str]) -> dict[str, list[str]]: ...

    def mentioning(self, word: str) -> list[Crate]: ...

    def is_member(self, name: str) -> bool: ...

    def read_ahead(self) -> None: ...


def has_cycle(edges: Mapping[str, frozenset[str]], fresh: list[str], done: set[str]) -> bool:
    """A cycle through the crates explored since the last look (`fresh`, emptied), over the
    edges explored so far. Each walk explores every crate it reaches, so a cycle through a crate
    of an earlier walk lies wholly in that one: crates in `done` are on none."""
    path: set[str] = set()
    for start in fresh:
        if start in done:
            continue
        stack = [(start, iter(edges[start]))]
        path.add(start)
        while stack:
            node, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                path.discard(node)
                done.add(node)
                stack.pop()
            elif nxt in path:
                return True
            elif nxt not in done and nxt in edges:
                path.add(nxt)
                stack.append((nxt, iter(edges[nxt])))
    fresh.clear()
    return False


class _FullEdges(Mapping[str, AbstractSet[str]]):
    """One of the full graph's edge maps, built on first use."""

    def __init__(self, model: Model, which: str) -> None:
        self.model, self.which = model, which

    def _edges(self) -> Mapping[str, AbstractSet[str]]:
        edges: Mapping[str, AbstractSet[str]] = getattr(self.model.full_graph(), self.which)
        return edges

    def __getitem__(self, name: str) -> AbstractSet[str]:
        return self._edges()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._edges())

    def __len__(self) -> int:
        return len(self._edges())


class LazyGraph(CrateGraph):
    """The crate graph of a lazy workspace: `chains_up` walks only the crates it reaches; the
    rest is the full model's graph."""

    def __init__(self, model: Model) -> None:
        super().__init__(*(_FullEdges(model, which) for which in ("deps", "dependents", "dev_deps")))
        self.model = model

    def check_acyclic(self, ws: Workspace) -> None:
        self.model.full_graph()

    def closure(self, start: str) -> set[str]:
        return self.model.full_graph().closure(start)

    def chains_up(self, start: str, targets: Iterable[str]) -> dict[str, list[str]]:
        wanted = set(targets)
        model = self.model
        return settled(
            model, lambda: model.chains_up(start, wanted), lambda: model.full_graph().chains_up(start, wanted)
        )


class _View(Mapping[str, V]):
    """One key at a time from the lazy model (`ask`); all of them from the full one (`whole`)."""

    def __init__(
        self, model: Model, ask: Callable[[str], V | None], whole: Callable[[], Mapping[str, V]]
    ) -> None:
        self.model, self._ask, self._whole = model, ask, whole

    def __getitem__(self, key: str) -> V:
        found = settled(self.model, lambda: self._ask(key), lambda: self._whole().get(key))
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


class Crates(_View[Crate]):
    """By package name."""

    def __init__(self, model: Model) -> None:
        super().__init__(model, model.crate, lambda: model.full().crates)

    def lazy_graph(self) -> CrateGraph:
        return LazyGraph(self.model)

    def mentioning(self, word: str) -> list[Crate]:
        model = self.model
        return settled(model, lambda: model.mentioning(word), lambda: list(model.full().crates.values()))

    def read_ahead(self) -> None:
        if not self.model.is_full:
            self.model.read_ahead()

    def is_member(self, name: str) -> bool:
        model = self.model

        def fully() -> bool:
            crate = model.full().crates.get(name)
            return crate is not None and crate.member

        return settled(model, lambda: model.is_member(name), fully)


def by_dir(model: Model) -> Mapping[str, str]:
    """Crate directory -> package name."""
    return _View(model, model.name_at, lambda: model.full().by_dir)
