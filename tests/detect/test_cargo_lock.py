"""Cargo.lock: which services a package change reaches, and locks that cannot be read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildctl.detect import cargo_lock
from tests.support.cli import change, cli, fails, reasons, refused
from tests.support.git import Repo
from tests.support.strategies import PARSER_EXAMPLES, VALUES, only_buildctl_errors, toml_document, toml_value
from tests.support.workspaces import lock


def test_lock_bump_affects_only_services_resolving_the_package(mini: Repo) -> None:
    out = change(mini, {"Cargo.lock": lock(itoa="1.0.12")})
    assert out["build"] == ["a", "c"]
    assert reasons(out, "a") == ["Cargo.lock: itoa 1.0.11 -> 1.0.12 -> util -> a"]
    assert reasons(out, "c") == ["Cargo.lock: itoa 1.0.11 -> 1.0.12 -> c-bin"]
    out = change(mini, {"Cargo.lock": lock(itoa="1.0.12", serde="1.0.201")})
    assert out["build"] == ["b"]
    assert reasons(out, "b") == [
        "Cargo.lock: serde 1.0.200 -> 1.0.201 -> b",
        "Cargo.lock: serde_derive 1.0.200 -> 1.0.201 -> serde 1.0.201 -> b",
    ]


def test_lock_edit_without_package_change_affects_nothing(mini: Repo) -> None:
    out = change(mini, {"Cargo.lock": "# regenerated\n" + lock()})
    assert out["build"] == [] and out["services"] == {}


def test_lock_dev_dependency_edges_are_not_followed(mini: Repo) -> None:
    # testkit picks up itoa; only a (which has testkit as a dev-dependency) lists testkit in the lock.
    text = lock().replace(
        'name = "testkit"\nversion = "0.1.0"\n',
        'name = "testkit"\nversion = "0.1.0"\ndependencies = [\n "serde",\n]\n',
    )
    mini.write("Cargo.lock", text)
    mini.commit()
    out = change(mini, {"Cargo.lock": text.replace("1.0.200", "1.0.201")})
    assert out["build"] == ["b"]  # a reaches serde only through its dev-dependency


# --- locks that cannot be read -------------------------------------------------------------------


def test_malformed_cargo_lock(mini: Repo) -> None:
    base = mini.head()
    mini.write("Cargo.lock", "[[package]\n")
    mini.commit()
    assert "Cargo.lock:1: is not valid TOML" in fails(mini, "affected", "--base", base)


def test_a_lock_whose_packages_are_not_a_list(mini: Repo) -> None:
    base = mini.head()
    mini.write("Cargo.lock", "version = 3\npackage = 1\n")
    mini.commit()
    refused(
        cli(mini, "affected", "--base", base),
        "Cargo.lock: 'package' must be an array of tables ([[package]])",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 3\n[[package]]\nversion = '1'\n", "Cargo.lock: [[package]] entry #1 has no name"),
        ("a = " + "1" * 5000 + "\n", "Cargo.lock: is not valid TOML"),  # tomllib raised ValueError
        ("a = " + "[" * 5000 + "\n", "Cargo.lock: is not valid TOML"),  # tomllib raised RecursionError
    ],
    ids=["nameless-package", "huge-integer", "deep-nesting"],
)
def test_broken_locks(mini: Repo, text: str, message: str) -> None:
    base = mini.head()
    mini.write("Cargo.lock", text)
    mini.commit()
    refused(cli(mini, "affected", "--base", base), message)


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["name", "version", "source", "checksum", "dependencies"]) | st.text(max_size=3),
            VALUES,
            max_size=5,
        ),
        max_size=4,
    )
)
def test_lock_reader_takes_any_package_shape(packages: list[dict[str, Any]]) -> None:
    text = toml_document({"version": 3}) + "".join(
        "\n[[package]]\n" + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in p.items())
        for p in packages
    )
    only_buildctl_errors(lambda: cargo_lock.changed(None, cargo_lock.parse(text, "Cargo.lock")))
