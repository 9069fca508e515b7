"""Text splices at YAML node spans: the editing half of `kustomize`.

It works on nodes from ruamel.yaml's composer, whose start/end marks give the exact
characters of every node, and returns new text; it imports no YAML library itself, and
`kustomize` parses and checks every result. New lines copy what the file already does: the
column of the sibling keys, the dash offset and the gap after it of the file's own block
sequences (2-space, 4-space, indentless), the quote style of the neighbouring values, CRLF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from buildctl.errors import BuildctlError
from buildctl.yamlfile import kind, last_char, line_end, pair

_PLAIN_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_./:@-]*$")
_YAML11_WORDS = {"y", "yes", "n", "no", "true", "false", "on", "off", "null"}
_DOC_END = re.compile(r"^\.\.\.[ \t]*\r?$", re.MULTILINE)
DEFAULT_LAYOUT = (2, 2)  # dash offset from the parent key, gap from the dash to the item


def quoted(value: str, style: str | None, flow: bool = False) -> str:
    """`value` in the given style; plain turns into double quotes where plain would misread."""
    if style == "'":
        return f"'{value}'"
    plain_ok = _PLAIN_SAFE.match(value) and value.lower() not in _YAML11_WORDS and not (flow and ":" in value)
    return value if style is None and plain_ok else f'"{value}"'


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _style_of(nodes: Sequence[Any | None]) -> str | None:
    """The quote style the neighbouring values use (plain unless one of them is quoted)."""
    styles = [n.style for n in nodes if n is not None and kind(n) == "Scalar" and n.style in ("'", '"')]
    return styles[0] if styles else None


def _values(entry: Any, *keys: str) -> list[Any | None]:
    return [(pair(entry, k) or (None, None))[1] for k in keys]


def set_key(text: str, entry: Any, key: str, value: str, after: Sequence[str]) -> str:
    """Set `key` in a mapping: the value's span if the key is there, else a new pair after `after`."""
    flow = bool(entry.flow_style)
    found = pair(entry, key)
    if found is not None:
        node = found[1]
        if node.start_mark.index == node.end_mark.index:  # `key:` and nothing: right after the colon
            at = text.index(":", found[0].end_mark.index) + 1
            return f"{text[:at]} {quoted(value, None, flow)}{text[at:]}"
        return text[: node.start_mark.index] + quoted(value, node.style, flow) + text[node.end_mark.index :]
    style = _style_of(_values(entry, "newName", "name", "newTag"))
    prev = next((p for k in after if (p := pair(entry, k)) is not None), entry.value[-1])
    if flow:
        at = int(prev[1].end_mark.index)
        return f"{text[:at]}, {key}: {quoted(value, style, True)}{text[at:]}"
    at = line_end(text, last_char(text, prev[1], prev[0]))
    nl = _newline(text)
    line = f"{' ' * entry.start_mark.column}{key}: {quoted(value, style)}"
    return text[:at] + (line + nl if text[at - 1 : at] == "\n" else nl + line) + text[at:]


def del_key(text: str, entry: Any, key: str, file: str) -> str:
    """Remove `key` and its value from a mapping (its whole line, in block style)."""
    pairs = list(entry.value)
    i = next((n for n, (k, _) in enumerate(pairs) if k.value == key), None)
    if i is None:
        return text
    k, v = pairs[i]
    if entry.flow_style:
        if i > 0:
            start, end = pairs[i - 1][1].end_mark.index, v.end_mark.index
        else:
            start, end = k.start_mark.index, (pairs[1][0].start_mark if len(pairs) > 1 else v.end_mark).index
        return text[:start] + text[end:]
    line_start = text.rfind("\n", 0, k.start_mark.index) + 1
    if text[line_start : k.start_mark.index].strip():
        raise BuildctlError(
            f"cannot remove '{key}': it opens its images entry",
            file=file,
            line=k.start_mark.line + 1,
            hint=f"move '{key}:' below 'name:' (or remove it by hand)",
        )
    return text[:line_start] + text[line_end(text, last_char(text, v, k)) :]


def layout(root: Any) -> tuple[int, int]:
    """(dash offset, gap after the dash) of the file's first block sequence under a key."""
    todo = [root]
    while todo:
        node = todo.pop(0)
        if kind(node) != "Mapping" or node.flow_style:
            continue
        for key, value in node.value:
            if kind(value) == "Sequence" and not value.flow_style and value.value:
                item = value.value[0]
                if item.start_mark.line == value.start_mark.line:
                    dash = value.start_mark.column
                    return dash - key.start_mark.column, item.start_mark.column - dash
            todo.append(value)
            todo.extend(v for v in (value.value if kind(value) == "Sequence" else []))
    return DEFAULT_LAYOUT


def _block_entry(fields: Sequence[tuple[str, str]], dash: int, gap: int, style: str | None, nl: str) -> str:
    lines = [
        (f"{' ' * dash}-{' ' * (gap - 1)}" if n == 0 else " " * (dash + gap)) + f"{k}: {quoted(v, style)}"
        for n, (k, v) in enumerate(fields)
    ]
    return nl.join(lines) + nl


def _flow_entry(fields: Sequence[tuple[str, str]], style: str | None) -> str:
    return "{" + ", ".join(f"{k}: {quoted(v, style, True)}" for k, v in fields) + "}"


def add_item(text: str, root: Any, key: str, fields: Sequence[tuple[str, str]]) -> str:
    """Append a mapping to the sequence under root `key`, creating the key if it is missing."""
    nl = _newline(text)
    found = pair(root, key)
    seq = found[1] if found is not None and kind(found[1]) == "Sequence" else None
    if seq is not None and seq.value:
        last = seq.value[-1]
        style = _style_of(_values(last, "name", "newName"))
        if seq.flow_style:
            at = int(last.end_mark.index)
            return f"{text[:at]}, {_flow_entry(fields, style)}{text[at:]}"
        at = line_end(text, last_char(text, last))
        if last.flow_style:
            new = f"{' ' * seq.start_mark.column}- {_flow_entry(fields, style)}{nl}"
        else:
            dash = seq.start_mark.column
            new = _block_entry(fields, dash, last.start_mark.column - dash, style, nl)
        return text[:at] + (new if text[at - 1 : at] == "\n" else nl + new.removesuffix(nl)) + text[at:]
    if seq is not None:  # `key: []`
        at = int(seq.end_mark.index) - 1
        return text[:at] + _flow_entry(fields, None) + text[at:]
    offset, gap = layout(root)
    if found is not None:  # `key:` with nothing after it
        at = line_end(text, int(found[0].end_mark.index))
        new = _block_entry(fields, found[0].start_mark.column + offset, gap, None, nl)
        return text[:at] + (new if text[at - 1 : at] == "\n" else nl + new.removesuffix(nl)) + text[at:]
    after_root = line_end(text, last_char(text, root))
    end = _DOC_END.search(text, after_root)
    at = end.start() if end else len(text)
    head = text[:at] if text[:at].endswith("\n") or not text[:at] else text[:at] + nl
    sep = "" if not head or head.endswith(nl + nl) else nl
    return f"{head}{sep}{key}:{nl}{_block_entry(fields, offset, gap, None, nl)}{text[at:]}"
