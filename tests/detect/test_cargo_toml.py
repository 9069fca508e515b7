"""What a Cargo.toml edit means: a crate's manifest and the root one, compared as parsed data."""

from __future__ import annotations

import pytest

from tests.support.cli import change, reasons
from tests.support.git import Repo
from tests.support.workspaces import ROOT_MANIFEST


def test_dev_dependency_edit_in_manifest_changes_nothing(mini: Repo) -> None:
    text = mini.read("svc/a/Cargo.toml").replace(
        'testkit = { path = "../../libs/testkit" }',
        'testkit = { path = "../../libs/testkit", features = [] }',
    )
    out = change(mini, {"svc/a/Cargo.toml": text})
    assert out["build"] == []


def test_manifest_comment_and_formatting_change_nothing(mini: Repo) -> None:
    text = "# a comment\n" + mini.read("libs/util/Cargo.toml").replace(" = ", "   =   ")
    out = change(mini, {"libs/util/Cargo.toml": text})
    assert out["build"] == []


def test_manifest_dependency_change_rebuilds_dependents(mini: Repo) -> None:
    text = mini.read("libs/util/Cargo.toml") + "serde = { workspace = true }\n"
    out = change(mini, {"libs/util/Cargo.toml": text})
    assert out["build"] == ["a", "c"]
    assert reasons(out, "a") == ["libs/util/Cargo.toml -> util -> a"]


# --- the root manifest -------------------------------------------------------------------------


def test_root_workspace_dependency_affects_only_inheritors(mini: Repo) -> None:
    out = change(mini, {"Cargo.toml": ROOT_MANIFEST.replace('itoa = "1.0"', 'itoa = "1.0.12"')})
    assert out["build"] == ["a", "c"]
    assert reasons(out, "a") == ["Cargo.toml [workspace.dependencies] itoa -> util -> a"]
    assert reasons(out, "c") == [
        "Cargo.toml [workspace.dependencies] itoa -> c-bin",
        "Cargo.toml [workspace.dependencies] itoa -> util -> c-bin",
    ]


def test_root_workspace_package_affects_only_inheritors(mini: Repo) -> None:
    out = change(mini, {"Cargo.toml": ROOT_MANIFEST.replace('edition = "2021"', 'edition = "2024"')})
    # every crate but libs/excluded inherits the edition; excluded is no member
    assert out["build"] == ["a", "b", "c"]
    out = change(
        mini, {"Cargo.toml": mini.read("Cargo.toml").replace('license = "MIT"', 'license = "Apache-2.0"')}
    )
    assert out["build"] == []  # nobody inherits the license


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (("lto = true", "lto = false"), "Cargo.toml: [profile] changed"),
        (
            (
                "[profile.release]",
                '[patch.crates-io]\nserde = { path = "vendor/serde" }\n\n[profile.release]',
            ),
            "Cargo.toml: [patch] changed",
        ),
        (('resolver = "2"', 'resolver = "3"'), "Cargo.toml: [workspace.resolver] changed"),
    ],
)
def test_root_sections_that_affect_every_service(mini: Repo, edit: tuple[str, str], reason: str) -> None:
    out = change(mini, {"Cargo.toml": ROOT_MANIFEST.replace(*edit)})
    assert out["build"] == ["a", "b", "c"]
    assert reasons(out, "a") == [reason]


def test_root_metadata_and_comments_affect_nothing(mini: Repo) -> None:
    text = "# top comment\n" + ROOT_MANIFEST.replace('note = "ignored by builds"', 'note = "still ignored"')
    assert change(mini, {"Cargo.toml": text})["build"] == []


def test_membership_change_affects_added_crate_dependents(mini: Repo) -> None:
    # Un-excluding a crate and depending on it from b: b rebuilds (its manifest changed too).
    text = ROOT_MANIFEST.replace('exclude = ["libs/excluded"]\n', "")
    out = change(
        mini,
        {
            "Cargo.toml": text,
            "svc/b/Cargo.toml": mini.read("svc/b/Cargo.toml")
            + 'excluded = { path = "../../libs/excluded" }\n',
        },
    )
    assert out["build"] == ["b"]
