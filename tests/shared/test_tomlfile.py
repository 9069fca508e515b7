"""Reading TOML: errors that name the file and the line, and no reader that raises anything but
BuildctlError, whatever the text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildctl import config, tomlfile
from buildctl.detect import cargo_lock
from buildctl.errors import BuildctlError
from tests.support.cli import cli, fails, refused
from tests.support.git import Repo
from tests.support.strategies import DOCUMENTS, PARSER_EXAMPLES, only_buildctl_errors, toml_document


def test_a_service_declared_twice_is_a_toml_error_with_its_line(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\n[services.b]\n\n[services.a]\ncrate = 'a'\n")
    refused(cli(mini, "affected"), "workspace-map.toml:4: is not valid TOML", "hint: fix the syntax")


def test_malformed_cargo_toml(mini: Repo) -> None:
    mini.write("libs/util/Cargo.toml", "[package\nname = 'util'\n")
    mini.commit()
    assert "libs/util/Cargo.toml:1: is not valid TOML" in fails(mini, "affected")


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(st.text() | DOCUMENTS.map(toml_document))
@example("a = " + "1" * 5000)  # more digits than Python converts
@example("a = " + "[" * 5000)  # deeper than Python recurses
def test_toml_readers_raise_only_buildctl_errors(text: str) -> None:
    only_buildctl_errors(lambda: tomlfile.parse(text, "f.toml"))
    only_buildctl_errors(lambda: config.parse_map(text, "workspace-map.toml"))
    only_buildctl_errors(lambda: cargo_lock.parse(text, "Cargo.lock"))


# --- parse_many: rtoml where it reads as tomllib, tomllib everywhere else ------------------------------

HEADERS = st.sampled_from(
    [
        "[a]",
        "[a.b]",
        "[a.b.c]",
        "[[a]]",
        "[[a.b]]",
        "[b]",
        "[ a . b ]",
        "[a.'b']",
        '[a."b.c"]',
        "[dependencies]",
        "[dependencies.foo]",
        "[target.'cfg(unix)'.dependencies]",
        "[target.'cfg(unix)']",
        "[q.s]",  # under a table a dotted key (`q.r = 2`) made
        "[a.q.s]",
        "['a'.b]",
        "[[a.b.c]]",
    ]
)
LINES = st.sampled_from(
    [
        "x = 1",
        "y = 'a'",
        "z = [1, 2]",
        "w = {p = 1}",
        "q.r = 2",
        "foo = { path = '../foo' }",
        "g = { version = '1', features = [\n  'a',\n] }",
        "h = { i = [\n{ j = 1,\n k = 2 }] }",
        "l = { m = '{', n = [\n1] }",
        "o = { p = [\n  # a comment\n  'q',\n] }",
        "v = true",
        "# c",
        "",
        "s = '''m\nl'''",
        's = """m\nl"""',
        'e = "\\u00e9"',
        "f = 1e3",
        "i = 0x1F",
        "d = 1979-05-27",
        "t = 07:32",
    ]
)


def _outcome(read: Any, text: str) -> tuple[str, str]:
    try:
        return "ok", json.dumps(read(text, "f.toml"), default=repr)  # keys in order, dates too
    except BuildctlError as exc:
        return "error", str(exc)


@settings(max_examples=PARSER_EXAMPLES * 4, deadline=None)
@given(st.lists(HEADERS | LINES, max_size=10).map("\n".join) | DOCUMENTS.map(toml_document) | st.text())
@example('x = "\\x41"\n')  # TOML 1.1 escapes, which rtoml reads and tomllib refuses
@example('x = "\\e"\n')
@example("\ufeffa = 1\n")  # a byte-order mark
@example("a = {b = 1,}\n")  # inline tables: a trailing comma, a line break
@example("a = {\nb = 1}\n")
@example("a = { b = [1,\n2], c = 3,\n}\n")  # a line break in the table, after one in its array
@example("a = { b = [\n{ c = 1,\n d = 2 }] }\n")  # a line break in a table in an array in one
@example('a = "{"\nb = {c = [\n1]}\n')
@example("a = { b = 1, # a comment in the table itself\n c = 2 }\n")
@example("x = 07:32\n")  # times without seconds
@example("x = 1979-05-27T07:32Z\n")
@example("[a.b]\nx = 1\n[c]\n[a]\ny = 2\n")  # where tomllib and rtoml put a late super-table
@example("x = 1\n[a.b.c]\nv = 1\n[a.d]\nw = 2\n[a]\nk = 3\nm.n = 4\n[a.b]\nu = 5\n")
@example("[a]\nq.r = 2\n[b]\n[a.q.s]\n[a.c]\n[a]\n")  # a dotted key's table, then a header under it
@example("[a.b]\nx = [\n[1],\n['c']\n]\n[c]\n[a]\n")  # arrays at the start of a line are no headers
@example("[[a.b]]\nx = 1\n[a.b.c]\n[a]\n")  # a header under an array of tables
@example("[a.b] # c\n[ 'a' ]\n")
@example("x = 1e999\n")  # rtoml refuses what tomllib reads
@example("x = 9223372036854775808\n")
def test_parse_many_reads_exactly_what_tomllib_reads(text: str) -> None:
    assert _outcome(tomlfile.parse_many, text) == _outcome(tomlfile.parse, text)


def test_an_array_that_spans_lines_in_an_inline_table_is_read_through_rtoml() -> None:
    # Cargo manifests write `features = [...]` over several lines; TOML 1.0 allows it, so the
    # fast reader may read it (test_parse_many_reads_exactly_what_tomllib_reads holds the data).
    text = 'serde = { version = "1", features = [\n    "derive",\n    "rc",\n] }\n'
    assert not tomlfile._tomllib_only(text)
    assert tomlfile.parse_many(text, "f.toml") == {"serde": {"version": "1", "features": ["derive", "rc"]}}


def test_parse_many_reads_without_rtoml_too(monkeypatch: Any) -> None:
    monkeypatch.setattr(tomlfile, "_RTOML", [None])
    assert tomlfile.parse_many("[a]\nb = 1\n", "f.toml") == {"a": {"b": 1}}
