"""The text rules of a cold reading: every `name` and `path` key TOML lets a manifest write is
found, whatever its spelling, and what is no such key is not."""

from __future__ import annotations

import tomllib

import pytest

from buildctl.detect import manifest_text

MANIFEST = b"""\
package.name = "dotted"
"path" = 'top-quoted'

[dependencies]
a = { path = "../a" }
b = {path="../b",package="bee"}
c = { "path" = '../c' }
d.path = "../d"
e = { version = "1", 'path'='../e' }

[dependencies.f]
path = "../f"

[[bin]]
name = "tool"
"""


def test_every_name_and_path_key_is_found_in_order() -> None:
    assert manifest_text.names(MANIFEST) == [b"dotted", b"tool"]
    paths = [b"top-quoted", b"../a", b"../b", b"../c", b"../d", b"../e", b"../f"]
    assert manifest_text.paths(MANIFEST) == paths
    data = tomllib.loads(MANIFEST.decode())
    parsed = [spec["path"] for spec in data["dependencies"].values()]
    assert [p.decode() for p in paths[1:]] == parsed  # what the text says is what it means


@pytest.mark.parametrize(
    "text",
    [
        b'rename = "x"',  # a longer key
        b'xpath = "x"',
        b'filename = "x"',
        b"path = 3",  # no string
        b'name = ["x"]',
        b'"path-to" = "x"',
        b'path\n= "x"',  # no key: a line break is no space in a key-value pair
    ],
)
def test_what_is_no_such_key_is_not_found(text: bytes) -> None:
    assert manifest_text.plain(text)
    assert manifest_text.paths(text) == []
    assert manifest_text.names(text) == []


def test_a_key_after_a_brace_comma_or_dot_counts_and_mismatched_quotes_do_not() -> None:
    assert manifest_text.paths(b'x={path="p"}') == [b"p"]
    assert manifest_text.paths(b'x={a="1",path="p"}') == [b"p"]
    assert manifest_text.paths(b"x.'path' = 'p'") == [b"p"]
    assert manifest_text.paths(b"path = \"p'") == []
    assert manifest_text.paths(b"path = 'it\"s'") == [b'it"s']


def test_escapes_and_multi_line_strings_are_not_plain() -> None:
    assert manifest_text.plain(b'name = "a"\npath = "../b"\n')
    for text in (b'name = "\\u0061"', b'd = """\nx"""', b"d = '''\nx'''"):
        assert not manifest_text.plain(text)
