"""Every detection rule, on a real git repository holding a real (small) Cargo workspace."""

from __future__ import annotations

import pytest

from tests.helpers import Repo, affected
from tests.workspaces import ROOT_MANIFEST, lock


def change(repo: Repo, edit: dict[str, str | None]) -> dict:
    base = repo.head()
    for path, text in edit.items():
        if text is None:
            repo.remove(path)
        else:
            repo.write(path, text)
    head = repo.commit()
    return affected(repo, "--base", base, "--head", head)


def reasons(out: dict, svc: str) -> list[str]:
    return out["services"][svc]["reasons"]


def test_contract_shape_and_transitive_chain(mini: Repo) -> None:
    out = change(mini, {"libs/core/src/lib.rs": "pub fn core() { /* v2 */ }\n"})
    assert set(out) == {"base", "head", "build", "deploy", "services"}
    assert out["build"] == ["a", "b", "c"]
    assert out["deploy"] == ["a", "b", "c"]
    assert reasons(out, "a") == ["libs/core/src/lib.rs -> core -> util -> a"]
    assert reasons(out, "b") == ["libs/core/src/lib.rs -> core -> b"]
    # c reaches core through a build-dependency as well as a target-specific one; the shortest wins
    assert reasons(out, "c") == ["libs/core/src/lib.rs -> core -> c-bin"]
    assert out["services"]["a"] == {"build": True, "deploy": True, "reasons": reasons(out, "a")}


def test_own_crate_change_builds_only_that_service(mini: Repo) -> None:
    out = change(mini, {"svc/a/src/main.rs": "fn main() { println!(); }\n"})
    assert out["build"] == ["a"]
    assert reasons(out, "a") == ["svc/a/src/main.rs -> a"]


def test_nested_crate_owns_its_files_and_renamed_dependency_counts(mini: Repo) -> None:
    out = change(mini, {"svc/b/nested/src/lib.rs": "pub fn nested() { }\n"})
    assert out["build"] == ["b"]
    assert reasons(out, "b") == ["svc/b/nested/src/lib.rs -> b-nested -> b"]


def test_dev_dependency_never_rebuilds(mini: Repo) -> None:
    out = change(mini, {"libs/testkit/src/lib.rs": "pub fn kit() { }\n"})
    assert out["build"] == [] and out["services"] == {}


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


def test_excluded_crate_is_unowned(mini: Repo) -> None:
    out = change(mini, {"libs/excluded/src/lib.rs": "// x\n"})
    assert out["build"] == ["a", "b", "c"]
    assert reasons(out, "a") == ["unowned path: libs/excluded/src/lib.rs"]


def test_unowned_path_rebuilds_everything_with_reason(mini: Repo) -> None:
    out = change(mini, {"tools/gen.sh": "echo\n"})
    assert out["build"] == ["a", "b", "c"]
    assert all(reasons(out, s) == ["unowned path: tools/gen.sh"] for s in "abc")


def test_unowned_ignore_setting(mini: Repo) -> None:
    mini.write(
        "workspace-map.toml",
        mini.read("workspace-map.toml").replace(
            "[services.a]", '[rules]\nunowned = "ignore"\n\n[services.a]'
        ),
    )
    mini.commit()
    out = change(mini, {"tools/gen.sh": "echo\n"})
    assert out["build"] == []


def test_ignored_paths_and_ignore_can_be_turned_off(mini: Repo) -> None:
    assert change(mini, {"svc/a/README.md": "doc\n", "docs/x.txt": "x\n"})["build"] == []
    mini.write("workspace-map.toml", "[rules]\nignore = []\n" + mini.read("workspace-map.toml"))
    mini.commit()
    out = change(mini, {"svc/a/README.md": "doc 2\n"})
    assert out["build"] == ["a"]


def test_deploy_only_and_deploy_all(mini: Repo) -> None:
    out = change(
        mini, {"deployments/b/kustomization.yaml": mini.read("deployments/b/kustomization.yaml") + "# x\n"}
    )
    assert out["build"] == [] and out["deploy"] == ["b"]
    assert out["services"]["b"] == {
        "build": False,
        "deploy": True,
        "reasons": ["deploy: deployments/b/kustomization.yaml"],
    }
    out = change(mini, {"deployments/base/kustomization.yaml": "resources: []\n# y\n"})
    assert out["build"] == [] and out["deploy"] == ["a", "b", "c"]


def test_build_all_defaults(mini: Repo) -> None:
    out = change(mini, {"Dockerfile.service": "FROM scratch\n"})
    assert out["build"] == ["a", "b", "c"]
    assert reasons(out, "a") == ["build_all: Dockerfile.service (matches Dockerfile.service)"]
    assert change(mini, {"rust-toolchain.toml": "[toolchain]\n"})["build"] == ["a", "b", "c"]


def test_service_inputs(mini: Repo) -> None:
    mini.write(
        "workspace-map.toml",
        mini.read("workspace-map.toml").replace("[services.b]", '[services.b]\ninputs = ["proto/b/**"]'),
    )
    mini.commit()
    out = change(mini, {"proto/b/api.proto": "syntax = 1;\n"})
    assert out["build"] == ["b"]
    assert reasons(out, "b") == ["input: proto/b/api.proto (matches proto/b/**)"]


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


def test_renames_count_both_paths(mini: Repo) -> None:
    base = mini.head()
    mini.git("mv", "svc/a/src/main.rs", "svc/b/src/moved.rs")
    head = mini.commit()
    out = affected(mini, "--base", base, "--head", head)
    assert out["build"] == ["a", "b"]


def test_deleted_file_counts(mini: Repo) -> None:
    out = change(mini, {"svc/c/build.rs": None})
    assert out["build"] == ["c"]


@pytest.mark.parametrize(
    "name", ["with space.rs", 'quo"te.rs', "ünï¢ødé.rs", "new\nline.rs", "tab\tand::colons.rs"]
)
def test_odd_file_names(mini: Repo, name: str) -> None:
    out = change(mini, {f"svc/b/src/{name}": "// odd\n"})
    assert out["build"] == ["b"]
    assert reasons(out, "b") == [f"svc/b/src/{name} -> b"]


def test_submodule_pointer_change_counts(mini: Repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sub = Repo.init(tmp_path / "sub")
    sub.write("x.txt", "1\n")
    sub.commit()
    mini.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "svc/a/vendored")
    base = mini.commit("add submodule")
    sub.write("x.txt", "2\n")
    new = sub.commit()
    mini.git("-C", "svc/a/vendored", "fetch", "-q", "origin")
    mini.git("-C", "svc/a/vendored", "checkout", "-q", new)
    head = mini.commit("bump submodule")
    out = affected(mini, "--base", base, "--head", head)
    assert out["build"] == ["a"]
    assert reasons(out, "a") == ["svc/a/vendored -> a"]


def test_uncommitted_changes(mini: Repo) -> None:
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.write("svc/b/src/new.rs", "// untracked\n")
    out = affected(mini, "--uncommitted")
    assert out["build"] == ["a", "b", "c"]
    assert out["base"] == out["head"] == mini.head()


def test_base_is_merge_base_like_a_pull_request(mini: Repo) -> None:
    fork = mini.head()
    mini.git("checkout", "-q", "-b", "feature")
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit()
    mini.git("checkout", "-q", "main")
    mini.write("svc/b/src/main.rs", "fn main() { }\n")
    main_tip = mini.commit()
    out = affected(mini, "--base", main_tip, "--head", "feature")
    assert out["base"] == fork
    assert out["build"] == ["a"]  # b's change on main is not the pull request's
