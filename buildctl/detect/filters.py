"""The map's `[filters]`, evaluated on a range's changes as dorny/paths-filter evaluates them.

paths-filter lists git's changes without rename detection, so a rename is the old path deleted
and the new one added; a filter is true when some changed file matches some of its rules (with
`every`, all of them), a `!glob` rule matching the files the glob does not, and a rule with
change types only files changed that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from buildctl.gitrepo import Change
from buildctl.globs import GlobSet
from buildctl.mapmodel import FilterRule, PathFilter

_STATUS = {"A": "added", "M": "modified", "T": "modified", "D": "deleted"}


class Match(NamedTuple):
    filter: str
    path: str
    rule: str  # the rule as written, for the reason


def changed_files(changes: Iterable[Change]) -> Iterator[tuple[str, str]]:
    """(paths-filter change type, path) for each file, renames and copies split as git
    `--no-renames` reports them."""
    for change in changes:
        if change.status in ("R", "C") and change.old_path:
            if change.status == "R":
                yield "deleted", change.old_path
            yield "added", change.path
        else:
            yield _STATUS.get(change.status, "modified"), change.path


class FilterSet:
    def __init__(self, filters: Iterable[PathFilter]) -> None:
        self.filters = tuple(filters)
        self._globs = {id(rule): GlobSet.of([rule.glob]) for f in self.filters for rule in f.rules}

    def _hit(self, rule: FilterRule, change: str, path: str) -> bool:
        if rule.changes and change not in rule.changes:
            return False
        return bool(self._globs[id(rule)].match(path)) != rule.negated

    def evaluate(self, changes: Iterable[Change]) -> dict[str, Match]:
        """Each filter that some changed file matches, with the first such file."""
        files = sorted(set(changed_files(changes)), key=lambda f: (f[1], f[0]))
        found: dict[str, Match] = {}
        for f in self.filters:
            quantifier = all if f.every else any
            for change, path in files:
                hits = [self._hit(rule, change, path) for rule in f.rules]
                if quantifier(hits):
                    rule = next((r for r, hit in zip(f.rules, hits, strict=True) if hit), f.rules[0])
                    found[f.name] = Match(f.name, path, _written(rule))
                    break
        return found


def _written(rule: FilterRule) -> str:
    glob = ("!" if rule.negated else "") + rule.glob
    return f"{'|'.join(sorted(rule.changes))}: {glob}" if rule.changes else glob
