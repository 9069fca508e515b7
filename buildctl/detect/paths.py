"""Shortest paths by breadth-first search, for any graph given as a function from a node to the
nodes it leads to: the crate graph's dependents, a lock's resolved dependencies."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def shortest_chains(start: N, targets: Iterable[N], after: Callable[[N], Iterable[N]]) -> dict[N, list[N]]:
    """start → … → target, shortest first found, for every target reachable from `start`."""
    wanted = set(targets)
    parent: dict[N, N | None] = {start: None}
    queue = deque([start])
    found: dict[N, list[N]] = {}
    while queue:
        node = queue.popleft()
        if node in wanted:
            chain = [node]
            p = parent[node]
            while p is not None:
                chain.append(p)
                p = parent[p]
            found[node] = chain[::-1]
        for nxt in after(node):
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return found
