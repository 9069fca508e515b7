"""YAML: parsing, and the node tree that edits splice into. The only module that imports ruamel.

Two readings of one text: data (`load_all`, round-trip, so quotes are kept; `load_plain`, plain
Python values with anchors and aliases resolved) and nodes (`compose`, each with the exact
start and end of its characters, which is what a byte-preserving edit needs). Every failure
of the library, on any text, becomes a `BuildctlError` naming the file and, when the library
knows it, the line.
"""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any, TypeVar

from buildctl.errors import BuildctlError

T = TypeVar("T")


def _guarded(file: str, parse: Callable[[], T]) -> T:
    from ruamel.yaml.error import YAMLError

    try:
        return parse()
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BuildctlError(
            f"is not valid YAML: {getattr(exc, 'problem', None) or exc}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except Exception as exc:  # the library on text it cannot read: `!!int abc`, a bare `!!int`, …
        raise BuildctlError(f"is not valid YAML: {type(exc).__name__}: {exc}", file=file) from None


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def load_all(text: str, file: str) -> list[Any]:
    """Every document, as round-trip data (dicts and lists that remember their lines)."""
    return _guarded(file, lambda: list(_round_trip().load_all(StringIO(text))))


def load_plain(text: str, file: str) -> Any:
    """The one document as plain data, anchors and aliases resolved."""
    from ruamel.yaml import YAML

    return _guarded(file, lambda: YAML(typ="safe").load(StringIO(text)))


def compose_all(text: str, file: str) -> list[Any]:
    """Every document as a node tree, each node with its start and end marks."""
    return _guarded(file, lambda: list(_round_trip().compose_all(StringIO(text))))


def compose(text: str, file: str) -> Any:
    """The first document's node tree (None for an empty text)."""
    return _guarded(file, lambda: _round_trip().compose(StringIO(text)))


# --- the node tree ----------------------------------------------------------------------------


def kind(node: Any) -> str:
    """ "Scalar", "Mapping" or "Sequence"."""
    return type(node).__name__.removesuffix("Node")


def pair(mapping: Any, key: str) -> tuple[Any, Any] | None:
    """(key node, value node) of `key` in a mapping node, or None."""
    if mapping is None or kind(mapping) != "Mapping":
        return None
    return next(((k, v) for k, v in mapping.value if k.value == key), None)


def get(mapping: Any, key: str) -> Any:
    """The value node of `key` in a mapping node, or None."""
    found = pair(mapping, key)
    return None if found is None else found[1]


def scalar(node: Any) -> str | None:
    return str(node.value) if node is not None and kind(node) == "Scalar" else None


def line(node: Any) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """Index just past the line break that ends the line holding text[index]."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def last_char(text: str, node: Any, key: Any | None = None) -> int:
    """Index of the last character that belongs to `node` (a block node ends at its last leaf;
    an empty value ends on its key's line)."""
    k = kind(node)
    if k == "Scalar" and node.start_mark.index == node.end_mark.index and key is not None:
        return int(key.end_mark.index) - 1
    if k == "Scalar" and node.style in ("|", ">"):
        end = int(node.end_mark.index)
        while end > node.start_mark.index and text[end - 1] in " \t\r\n":
            end -= 1
        return end - 1
    if k in ("Mapping", "Sequence") and not node.flow_style and node.value:
        last = node.value[-1]
        return last_char(text, last[1], last[0]) if k == "Mapping" else last_char(text, last)
    return int(node.end_mark.index) - 1
