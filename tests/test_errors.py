"""Bad input: a clear error naming the file, line or key and what to do; exit non-zero; no traceback."""

from __future__ import annotations

import pytest

from tests.helpers import Repo, run


def fails(repo: Repo, *args: str) -> str:
    res = run(["--repo", str(repo.path), *args])
    assert res.code == 1, (res.code, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
    return res.stderr


@pytest.mark.parametrize(
    ("map_text", "expected"),
    [
        (
            "[workspace]\nregistyr = 'x'\n",
            "workspace-map.toml:2: [workspace] unknown key 'registyr' (did you mean 'registry'?)",
        ),
        (
            "[services.a]\ncrates = 'a'\n",
            "workspace-map.toml:2: [services.a] unknown key 'crates' (did you mean 'crate'?)",
        ),
        (
            "[rules]\nunowned = 'some'\n",
            "workspace-map.toml:2: [rules] 'unowned' must be \"all\" or \"ignore\", not 'some'",
        ),
        (
            "[rules]\nignore = '*.md'\n",
            "workspace-map.toml:2: [rules] 'ignore' must be a list of glob strings",
        ),
        (
            "[rules]\nbuild_all = ['/abs/**']\n",
            "globs are relative to the repository root; drop the leading '/'",
        ),
        ("[workspace]\nregistry = 'GHCR.io/Me'\n", "'registry' = 'GHCR.io/Me' is not an image registry path"),
        (
            "[workspace]\nroot = '../elsewhere'\n",
            "'root' = '../elsewhere' must be a path inside the repository",
        ),
        ("[services.'a;rm -rf']\n", "service name 'a;rm -rf' is not allowed"),
        (
            "[services.a]\n[services.b]\ncrate = 'a'\n",
            "workspace-map.toml:3: [services.b] crate 'a' is already mapped to service 'a'",
        ),
        ("[workspace\nroot='.'\n", "workspace-map.toml:1: is not valid TOML"),
        ("[servces.a]\n", "unknown key 'servces' (did you mean 'services'?)"),
    ],
)
def test_map_errors(mini: Repo, map_text: str, expected: str) -> None:
    mini.write("workspace-map.toml", map_text)
    assert expected in fails(mini, "affected")


def test_service_crate_not_in_workspace(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\ncrate = 'utill'\n")
    err = fails(mini, "affected", "--uncommitted")
    assert (
        "service 'a' maps to crate 'utill', which is not a member of the Cargo workspace (did you mean 'util'?)"
        in err
    )


def test_missing_map(mini: Repo) -> None:
    mini.remove("workspace-map.toml")
    assert "workspace-map.toml: no workspace map found" in fails(mini, "affected")


def test_unknown_revision(mini: Repo) -> None:
    err = fails(mini, "affected", "--base", "no-such-branch")
    assert "unknown base revision 'no-such-branch'" in err and "hint:" in err


def test_option_looking_revision_is_refused(mini: Repo) -> None:
    assert "is not a git revision" in fails(mini, "affected", "--base", "--output=/tmp/x")


def test_not_a_git_repository(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = run(["--repo", str(tmp_path), "affected"])
    assert res.code == 1 and "is not inside a git repository" in res.stderr


def test_malformed_cargo_toml(mini: Repo) -> None:
    mini.write("libs/util/Cargo.toml", "[package\nname = 'util'\n")
    mini.commit()
    assert "libs/util/Cargo.toml:1: is not valid TOML" in fails(mini, "affected")


def test_malformed_cargo_lock(mini: Repo) -> None:
    base = mini.head()
    mini.write("Cargo.lock", "[[package]\n")
    mini.commit()
    assert "Cargo.lock:1: is not valid TOML" in fails(mini, "affected", "--base", base)


def test_member_glob_matching_nothing(mini: Repo) -> None:
    mini.write(
        "Cargo.toml", mini.read("Cargo.toml").replace('"svc/b/nested"]', '"svc/b/nested", "plugins/*"]')
    )
    mini.commit()
    err = fails(mini, "affected")
    assert "Cargo.toml:3: [workspace] member 'plugins/*' matches no directory with a Cargo.toml" in err


def test_path_dependency_cycle(mini: Repo) -> None:
    mini.write(
        "libs/core/Cargo.toml",
        mini.read("libs/core/Cargo.toml") + '\n[dependencies]\nutil = { path = "../util" }\n',
    )
    mini.commit()
    assert "libs/util/Cargo.toml: path dependency cycle: util -> core -> util" in fails(mini, "affected")


def test_dev_dependency_cycle_is_fine(mini: Repo) -> None:
    mini.write(
        "libs/core/Cargo.toml",
        mini.read("libs/core/Cargo.toml") + '\n[dev-dependencies]\nutil = { path = "../util" }\n',
    )
    mini.commit()
    assert run(["--repo", str(mini.path), "affected"]).code == 0


def test_dangling_path_dependency(mini: Repo) -> None:
    mini.write("svc/a/Cargo.toml", mini.read("svc/a/Cargo.toml") + 'gone = { path = "../../libs/gone" }\n')
    mini.commit()
    err = fails(mini, "affected")
    assert "svc/a/Cargo.toml" in err and "points at 'libs/gone', which has no Cargo.toml" in err


def test_unknown_service_in_explain(mini: Repo) -> None:
    assert "unknown service 'bb' (did you mean 'b'?)" in fails(mini, "explain", "bb")


def test_usage_errors_exit_2(mini: Repo) -> None:
    res = run(["--repo", str(mini.path), "affected", "--format", "yaml"])
    assert res.code == 2 and "Invalid value for '--format'" in res.stderr
