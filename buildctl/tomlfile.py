"""Reading TOML with errors that name the file, the line and the key.

`parse` is tomllib. `parse_many` reads what tomllib reads, faster: through rtoml (a compiled
reader, about fifteen times faster, and a tenth of tomllib's import time, which a cold start
feels) for a document where the two cannot differ, tomllib for the rest and for every error,
so messages and line numbers are tomllib's.
rtoml follows TOML 1.1, tomllib 1.0; they differ on escapes (`\\x`, `\\e`), a byte-order mark,
inline tables that span lines or end in a comma, times without seconds, and the place of a
table whose header comes after one of its sub-tables'. Anything that can hold one of those
goes to tomllib; tests/shared/test_tomlfile.py holds the two to the same data, key order too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from buildctl.errors import BuildctlError

if TYPE_CHECKING:
    import tomllib

# The patterns of rare paths (an error's line, a late super-table) are kept as text: `re`
# compiles each when first asked, and a plain run never pays for them.
_HEADER = r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$"
# Each begins with a literal character, which the regex engine looks for before anything else
# (a look-behind first would make it try every position: several times slower).
_INLINE_COMMA = re.compile(r",[ \t]*\}")
_INLINE_BREAK = re.compile(r"\{(?=[^}\n]*\n)")  # each `{` whose line ends before a `}`
# What an inline table's reach is made of: strings (no escapes: a text with `\` never gets
# here), comments, the brackets, line breaks; and what only a conservative answer follows (a
# lone quote, a multi-line string's quotes).
_STRUCTURE = re.compile(r"""\"\"\"|'''|"[^"\n]*"|'[^'\n]*'|#[^\n]*|["'{}\[\]\n]""")
_TIME = re.compile(r":\d\d")  # after two digits
_DATE = re.compile(r"-\d\d-\d\d")  # after four digits
_HEADERS = re.compile(r"\n[ \t]*\[\[?[ \t]*([^\]\n]+?)[ \t]*\]")  # in the text after a line break
_DOTTED_HEADER = re.compile(r"\n[ \t]*\[[^\]\n]*\.")  # a header with a dot (or one that may have)
_KEY = r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*="""


def parse(text: str, file: str) -> dict[str, Any]:
    import tomllib  # imported here: a run whose TOML rtoml reads (`parse_many`) never needs it

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


def parse_many(text: str, file: str) -> dict[str, Any]:
    """As `parse`; faster for a document that rtoml reads exactly as tomllib (see above)."""
    loads = _rtoml()
    if loads is not None and not _tomllib_only(text):
        try:
            data = loads(text)
        except Exception:  # whatever rtoml refuses, tomllib says why, with the line
            pass
        else:
            if not _late_super_table(text) or _in_tomllib_order(data, text):
                return data
    return parse(text, file)


def _tomllib_only(text: str) -> bool:
    """Whether `text` may hold something rtoml reads otherwise: an escape, a byte-order mark, an
    inline table of TOML 1.1, a time or a date."""
    return (
        "\\" in text
        or text.startswith("\ufeff")
        or ("{" in text and (_INLINE_COMMA.search(text) is not None or _inline_table_spans_lines(text)))
        or (":" in text and _after_digits(_TIME, text, 2))
        or ("-" in text and _after_digits(_DATE, text, 4))
    )


def _inline_table_spans_lines(text: str) -> bool:
    """A line break directly inside an inline table (TOML 1.1 only; an array in one may span
    lines in 1.0 too, as Cargo manifests' `features = [...]` do). True wherever unsure."""
    for start in _INLINE_BREAK.finditer(text):
        stack: list[str] = []
        for token in _STRUCTURE.finditer(text, start.start()):
            t = token.group()
            if t[0] in "\"'":
                if len(t) == 1 or t in ('"""', "'''"):
                    return True  # a string that does not end on its line
            elif t[0] == "#":
                continue  # to the line break, which says whether the comment was in the table
            elif t == "\n":
                if stack[-1] == "{":
                    return True
            elif t in "{[":
                stack.append(t)
            elif stack.pop() != ("{" if t == "}" else "["):
                return True
            elif not stack:
                break  # the table ends, with no line broken directly inside it
        else:
            return True  # it never ends
    return False


def _after_digits(pattern: re.Pattern[str], text: str, digits: int) -> bool:
    for m in pattern.finditer(text):
        start = m.start()
        if start >= digits and text[start - digits : start].isdigit():  # a superset of `\d`
            return True
    return False


def _late_super_table(text: str) -> bool:
    """A table header after a header of one of its sub-tables: the table's place among its
    siblings is where tomllib first made it, and where rtoml saw its header."""
    text = "\n" + text
    if _DOTTED_HEADER.search(text) is None:
        return False  # no header names a sub-table (one search: most manifests end here)
    supers: set[KeyPath] = set()  # the super-tables of every table whose header came so far
    for header in _HEADERS.findall(text):
        quoted = "'" in header or '"' in header or " " in header or "\t" in header
        parts = tuple(_split_dotted(header)) if quoted else tuple(header.split("."))
        if parts in supers:
            return True
        supers.update(parts[:i] for i in range(1, len(parts)))
    return False


KeyPath = tuple[str, ...]  # a table's keys, outermost first


def _in_tomllib_order(data: dict[str, Any], text: str) -> bool:
    """Put rtoml's reading of a document with a late super-table in tomllib's order, where the
    headers alone say it; False (nothing changed) where they do not.

    tomllib makes a table where its path is first named (by any header it begins); rtoml puts a
    table where its own header is, and a table's keys with its header. So in each table, keys
    go by the first header naming each, the table's own keys (root's: first) at its header, in
    rtoml's order among themselves. Unsure: a header under an array of tables, and a table a
    header names without its own header that a dotted key may have made first."""
    headers = _headers(text)
    if headers is None:
        return False
    first: dict[KeyPath, int] = {}
    own: dict[KeyPath, int] = {}
    arrays: set[KeyPath] = set()
    for i, (path, is_array) in enumerate(headers):
        for k in range(1, len(path) + 1):
            first.setdefault(path[:k], i)
        if is_array:
            arrays.add(path)
        else:
            own.setdefault(path, i)
    if any(path[:k] in arrays for path, _ in headers for k in range(1, len(path))):
        return False
    dotted = {_unquote(m) for m in re.findall(_DOTTED, text, re.MULTILINE)}
    if any(p[-1] in dotted for p in first.keys() - own.keys() - arrays):
        return False

    def order(table: dict[str, Any], path: KeyPath) -> None:
        at = own.get(path, -1)
        items = sorted(table.items(), key=lambda kv: first.get((*path, kv[0]), at))
        table.clear()
        table.update(items)
        for key, value in items:
            sub = (*path, key)
            if sub in first and sub not in arrays and isinstance(value, dict):
                order(value, sub)

    order(data, ())
    return True


_KEY_PART = r"""[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*'"""
_HEADER_AT = rf"\[(\[)?[ \t]*((?:{_KEY_PART})(?:[ \t]*\.[ \t]*(?:{_KEY_PART}))*)[ \t]*\](\]?)[ \t]*(?:#[^\n]*)?(?:\n|$)"
_DOTTED = rf"^[ \t]*({_KEY_PART})[ \t]*\."  # a dotted key's first part


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" else key


def _headers(text: str) -> list[tuple[KeyPath, bool]] | None:
    """Each table header's key path, in order, and whether it is an array's (`[[...]]`): a `[`
    that begins a line outside every value. None where unsure (a multi-line string, a header
    this does not read)."""
    out: list[tuple[KeyPath, bool]] = []
    depth = skip = 0
    header_at = re.compile(_HEADER_AT)
    for token in _STRUCTURE.finditer(text):
        start = token.start()
        if start < skip:
            continue  # inside a header already read
        t = token.group()
        c = t[0]
        if c in "\"'":
            if len(t) == 1 or t in ('"""', "'''"):
                return None
        elif c == "[" and depth == 0 and not text[text.rfind("\n", 0, start) + 1 : start].strip(" \t"):
            header = header_at.match(text, start)
            if header is None or bool(header.group(1)) != bool(header.group(3)):
                return None
            path = tuple(_unquote(part.strip(" \t")) for part in re.findall(_KEY_PART, header.group(2)))
            out.append((path, bool(header.group(1))))
            skip = header.end()
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
    return out


_RTOML: list[Callable[[str], dict[str, Any]] | None] = []


def _rtoml() -> Callable[[str], dict[str, Any]] | None:
    """rtoml's `loads`, imported on first use; None when it is not installed."""
    if not _RTOML:
        try:
            from rtoml import loads
        except ImportError:
            _RTOML.append(None)
        else:
            _RTOML.append(loads)
    return _RTOML[0]


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
        header = re.match(_HEADER, raw)
        if header:
            current = _split_dotted(header.group(1))
            if current == want and header_line is None:
                header_line = number
            continue
        if key is None:
            continue
        m = re.match(_KEY, raw)
        if not m:
            continue
        full = current + _split_dotted(m.group(1))
        if full == [*want, key]:
            return number
    return header_line


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # a mistake's path: a plain run never needs it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
