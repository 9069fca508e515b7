"""Path globs as paths-filter users write them: `**` crosses directories, `*` and `?` do not.

Patterns are relative to the repository root and always match dotfiles. A whole set of
globs compiles into one regular expression so that a 100,000-file diff is matched in one pass
per set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                at_start = i == 0 or pattern[i - 1] == "/"
                after = i + 2
                if at_start and after < n and pattern[after] == "/":
                    out.append("(?:.*/)?")  # `**/` matches zero or more whole directories
                    i = after + 1
                    continue
                out.append(".*")
                i = after
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                alternatives = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def validate(pattern: str) -> str | None:
    """Return why `pattern` is not a usable glob, or None when it is."""
    if not pattern:
        return "a glob may not be empty"
    if pattern.startswith("/"):
        return "globs are relative to the repository root; drop the leading '/'"
    if "\n" in pattern or "\0" in pattern:
        return "a glob may not contain newlines or NUL bytes"
    if "[" not in pattern:
        return None  # everything else translates to escaped text and fixed groups: always valid
    try:
        re.compile(_translate(pattern))
    except re.error as exc:
        return f"not a valid glob ({exc})"
    return None


class GlobSet:
    """An ordered set of globs; `match` returns the first glob that matches a path."""

    __slots__ = ("_regex", "patterns")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        # Compiled on the first match: a run builds a set per service and matches few of them.
        self._regex: re.Pattern[str] | None = None

    @classmethod
    def of(cls, patterns: Iterable[str]) -> GlobSet:
        return cls(tuple(patterns))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobSet) and self.patterns == other.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)

    def __repr__(self) -> str:
        return f"GlobSet(patterns={self.patterns!r})"

    def match(self, path: str) -> str | None:
        if not self.patterns:
            return None
        if self._regex is None:
            joined = "|".join(f"(?P<g{i}>{_translate(p)})" for i, p in enumerate(self.patterns))
            self._regex = re.compile(rf"\A(?:{joined})\Z", re.DOTALL)
        m = self._regex.match(path)
        if m is None:
            return None
        return self.patterns[int(m.lastgroup[1:])] if m.lastgroup else None

    def __bool__(self) -> bool:
        return bool(self.patterns)
