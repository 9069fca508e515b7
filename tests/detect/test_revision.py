"""One revision's workspace: whether the map's services fit it (each maps to a binary crate)."""

from __future__ import annotations

from tests.support.cli import cli, fails, refused
from tests.support.git import Repo


def test_service_crate_not_in_workspace(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\ncrate = 'utill'\n")
    err = fails(mini, "affected", "--uncommitted")
    assert (
        "service 'a' maps to crate 'utill', which is not a member of the Cargo workspace (did you mean 'util'?)"
        in err
    )


def test_a_library_mapped_as_a_service_is_refused_before_a_build(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[workspace]\nregistry = '127.0.0.1:5000/team'\n[services.util]\n")
    mini.commit()
    for args in (["build", "--all", "--dry-run"], ["build", "--service", "util", "--dry-run"]):
        refused(
            cli(mini, *args),
            "workspace-map.toml: service 'util' maps to crate 'util', a library: it has no binary to ship",
            "hint: set `crate` under [services.util] to the binary crate, or remove the service",
        )
    findings = cli(mini, "check").stderr  # `check` says where, with the line
    assert "error: workspace-map.toml:3: service 'util' maps to crate 'util', a library" in findings


def test_a_requested_service_whose_crate_is_not_in_the_workspace(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\ncrate = 'gone'\n")
    mini.commit()
    refused(
        cli(mini, "build", "--service", "a", "--dry-run"),
        "service 'a' maps to crate 'gone', which is not a member of the Cargo workspace",
        "hint: set `crate` under [services.a]",
    )


def test_old_history_without_a_mapped_crate_builds_nothing_for_it(mini: Repo) -> None:
    """Today's map on a revision from before a service's crate existed: no build, with why; and
    the range in which the crate appears builds it."""
    old = mini.head()
    mini.write("svc/d/Cargo.toml", '[package]\nname = "d"\nversion = "0.1.0"\nedition = "2021"\n')
    mini.write("svc/d/src/main.rs", "fn main() {}\n")
    mini.write("workspace-map.toml", mini.read("workspace-map.toml") + "[services.d]\n")
    new = mini.commit("service d")
    res = cli(mini, "affected", "--format", "json", "--base", f"{old}~0", "--head", old)
    assert res.code == 0, res.stderr
    assert res.json()["skipped"] == {
        "d": f"no build: crate 'd' is not in the workspace at {old[:12]} (it came later; the map is today's)"
    }
    res = cli(mini, "affected", "--format", "json", "--base", old, "--head", new)
    assert "d" in res.json()["build"]
