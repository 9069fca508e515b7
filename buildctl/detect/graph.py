"""The crate graph: which crates a change reaches, by which chain; exports for people.

Detection walks plain adjacency sets (fast, no import cost); networkx is brought in only for
the commands that analyse the whole graph (`graph`, `explain`, `check`).
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from buildctl.detect.paths import shortest_chains
from buildctl.detect.workspace import Workspace
from buildctl.errors import BuildctlError

if TYPE_CHECKING:
    import networkx as nx


class CrateGraph:
    """Edges crate → the crates it needs to build (normal and build dependencies; never dev)."""

    def __init__(
        self,
        deps: Mapping[str, AbstractSet[str]],
        dependents: Mapping[str, AbstractSet[str]],
        dev_deps: Mapping[str, AbstractSet[str]],
    ) -> None:
        self.deps = deps
        self.dependents = dependents
        self.dev_deps = dev_deps

    @classmethod
    def of(cls, ws: Workspace) -> CrateGraph:
        lazy = getattr(ws.crates, "lazy_graph", None)  # a lazily read workspace walks its own
        if lazy is not None:
            graph: CrateGraph = lazy()
            return graph
        known = getattr(ws.crates, "path_edges", None)  # a cached model has them without its crates
        if known is not None:
            known_deps, known_dev = known()
            deps = known_deps  # nobody changes them: only the dev sets are trimmed below
            dev = {name: set(found) for name, found in known_dev.items()}
        else:
            deps, dev = {name: set() for name in ws.crates}, {name: set() for name in ws.crates}
            for crate in ws.crates.values():
                for dep in crate.path_deps(include_dev=True):
                    (dev if dep.kind == "dev" else deps)[crate.name].add(dep.package)
        rdeps: dict[str, set[str]] = {name: set() for name in deps}
        for name, needs in deps.items():
            for dep in needs:
                rdeps[dep].add(name)
        # Building a crate needs its dev-dependency only for tests, so dev edges are kept apart.
        for name in dev:
            dev[name] -= deps[name]
        # Nobody mutates these sets after this point; freezing 3,000 of them costs more than it buys.
        graph = cls(deps, rdeps, dev)
        graph.check_acyclic(ws)
        return graph

    def check_acyclic(self, ws: Workspace) -> None:
        # Peeling off crates that need none left (no sorting): every crate goes when there is no
        # cycle. Only a cycle needs the walk below, which names the same one on every run.
        needs = {name: len(deps) for name, deps in self.deps.items()}
        ready = [name for name, n in needs.items() if not n]
        for name in ready:  # grows as it goes
            for user in self.dependents.get(name, ()):
                needs[user] -= 1
                if not needs[user]:
                    ready.append(user)
        if len(ready) == len(needs):
            return
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        for start in sorted(self.deps):
            if start in state:
                continue
            stack: list[tuple[str, list[str]]] = [(start, sorted(self.deps[start]))]
            state[start] = 1
            while stack:
                node, todo = stack[-1]
                if not todo:
                    state[node] = 2
                    stack.pop()
                    continue
                nxt = todo.pop()
                if state.get(nxt) == 1:
                    path = [n for n, _ in stack]
                    cycle = [*path[path.index(nxt) :], nxt]
                    raise BuildctlError(
                        "path dependency cycle: " + " -> ".join(cycle),
                        file=ws.crates[cycle[0]].manifest,
                        hint="cargo refuses cyclic dependencies; remove one of these edges "
                        "(a cycle through dev-dependencies only is allowed)",
                    )
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, sorted(self.deps[nxt])))

    def chains_up(self, start: str, targets: Iterable[str]) -> dict[str, list[str]]:
        """Shortest chain start → … → target for every target that depends on `start`."""
        ordered = self._ordered_dependents
        return shortest_chains(start, targets, lambda node: ordered.get(node, ()))

    @functools.cached_property
    def _ordered_dependents(self) -> dict[str, tuple[str, ...]]:
        # A 2,000-file change walks up from hundreds of crates: sort each crate's dependents once.
        return {name: tuple(sorted(users)) for name, users in self.dependents.items()}

    def closure(self, start: str) -> set[str]:
        seen = {start}
        queue = deque([start])
        while queue:
            for dep in self.deps.get(queue.popleft(), ()):
                if dep not in seen:
                    seen.add(dep)
                    queue.append(dep)
        return seen

    def to_networkx(self, ws: Workspace, services: Mapping[str, str]) -> nx.DiGraph:
        import networkx as nx

        g = nx.DiGraph()
        for name, crate in ws.crates.items():
            g.add_node(name, dir=crate.dir or ".", service=services.get(name), member=crate.member)
        for name, deps in self.deps.items():
            for dep in deps:
                g.add_edge(name, dep, kind="normal")
        for name, deps in self.dev_deps.items():
            for dep in deps:
                g.add_edge(name, dep, kind="dev")
        return g


def _mermaid_id(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


def render(g: nx.DiGraph, fmt: str, marked: frozenset[str], built: frozenset[str]) -> str:
    """The crate graph as JSON (node-link), DOT or Mermaid, with affected crates marked."""
    import json

    import networkx as nx

    for node in g.nodes:
        g.nodes[node]["affected"] = node in marked
        g.nodes[node]["build"] = node in built
    if fmt == "json":
        data = nx.node_link_data(g, edges="edges")
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    nodes = sorted(g.nodes)
    edges = sorted(g.edges(data="kind"))
    if fmt == "dot":
        lines = ["digraph crates {", "  rankdir=LR;", "  node [shape=box];"]
        for n in nodes:
            attrs = [f'label="{n}"']
            if g.nodes[n].get("service"):
                attrs.append("peripheries=2")
            if n in marked:
                attrs += ["style=filled", 'fillcolor="#f9c74f"' if n not in built else 'fillcolor="#f94144"']
            lines.append(f'  "{n}" [{", ".join(attrs)}];')
        for a, b, kind in edges:
            lines.append(f'  "{a}" -> "{b}"' + (" [style=dashed];" if kind == "dev" else ";"))
        return "\n".join([*lines, "}"]) + "\n"
    lines = ["graph LR"]
    for n in nodes:
        shape = f'[["{n}"]]' if g.nodes[n].get("service") else f'["{n}"]'
        lines.append(f"  {_mermaid_id(n)}{shape}")
    for a, b, kind in edges:
        lines.append(f"  {_mermaid_id(a)} {'-.->' if kind == 'dev' else '-->'} {_mermaid_id(b)}")
    lines.append("  classDef affected fill:#f9c74f,stroke:#333;")
    lines.append("  classDef build fill:#f94144,color:#fff,stroke:#333;")
    for n in nodes:
        if n in built:
            lines.append(f"  class {_mermaid_id(n)} build;")
        elif n in marked:
            lines.append(f"  class {_mermaid_id(n)} affected;")
    return "\n".join(lines) + "\n"


def all_chains(g: nx.DiGraph, source: str, target: str, limit: int = 20) -> list[list[str]]:
    """Every dependency chain (up to `limit`) by which `target` depends on `source`, shortest first."""
    import itertools

    import networkx as nx

    normal = g.edge_subgraph([(a, b) for a, b, k in g.edges(data="kind") if k != "dev"]).reverse(copy=False)
    if source not in normal or target not in normal:
        return [[source]] if source == target else []
    paths = nx.shortest_simple_paths(normal, source, target)
    try:
        return [list(p) for p in itertools.islice(paths, limit)]
    except nx.NetworkXNoPath:
        return []
