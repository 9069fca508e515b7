"""Reading TOML: errors that name the file and the line, and no reader that raises anything but
BuildctlError, whatever the text."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildctl import config, tomlfile
from buildctl.detect import cargo_lock
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
