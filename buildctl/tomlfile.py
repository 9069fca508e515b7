"""Reading TOML with errors that name the file, the line and the key."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from typing import Any

from buildctl.errors import BuildctlError

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def parse(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, or an integer or nesting too big
        line = _decode_error_line(exc) if isinstance(exc, tomllib.TOMLDecodeError) else None
        raise BuildctlError(
            f"is not valid TOML: {exc}",
            file=file,
            line=line,
            hint="fix the syntax at that line (tomllib's message above says what it expected)",
        ) from None


def _decode_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)  # Python 3.14 adds it; older ones only say it in the text
    if isinstance(lineno, int):
        return lineno
    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else None


def _split_dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r"""(?:"[^"]*"|'[^']*'|[^.]+)""", key)]


def line_of(text: str, table: Iterable[str], key: str | None = None) -> int | None:
    """Best-effort line number of `key` in `[table]` (or of the table header when key is None)."""
    want = list(table)
    current: list[str] = []
    header_line: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            current = _split_dotted(header.group(1))
            if current == want and header_line is None:
                header_line = number
            continue
        if key is None:
            continue
        m = _KEY.match(raw)
        if not m:
            continue
        full = current + _split_dotted(m.group(1))
        if full == [*want, key]:
            return number
    return header_line


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
