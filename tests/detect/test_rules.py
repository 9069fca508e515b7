"""Changed paths → which services must be rebuilt or redeployed, and why: every detection rule,
on a real git repository holding a real (small) Cargo workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.cli import change, reasons
from tests.support.git import CHECKOUT, GIT_ENV, Repo


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


def test_a_commit_touching_100000_files(mini: Repo) -> None:
    """Written straight into git's objects (one blob, 100,000 index entries); the answer is checked,
    not the time (pytest-timeout bounds it), and git and buildctl run in a 2 GiB address space."""
    base = mini.head()
    groups = [
        ("svc/b/src/gen", 20_000, "rs"),  # crate b: one reason for them all
        ("docs/gen", 10_000, "md"),  # ignored
        ("libs/testkit/src/gen", 10_000, "rs"),  # a dev-only crate: no image changes
        ("deployments/c/gen", 10_000, "yaml"),  # c is redeployed: one reason per file
        ("deployments/base/gen", 50_000, "yaml"),  # every service is redeployed: ditto, for each
    ]
    index = mini.path / ".git" / "big-index"
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(index)}

    def git(*args: str, data: bytes | None = None) -> str:
        return (
            subprocess.run(
                ["git", "-C", str(mini.path), *args], input=data, env=env, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )

    blob = git("hash-object", "-w", "--stdin", data=b"// generated\n")
    entries = "".join(f"100644 {blob}\t{d}/f{i:06d}.{ext}\n" for d, n, ext in groups for i in range(n))
    git("read-tree", base)
    git("update-index", "--index-info", data=entries.encode())
    assert len(git("diff", "--name-only", "-z", base, git("write-tree")).split("\0")) - 1 == 100_000
    head = git("commit-tree", git("write-tree"), "-p", base, "-m", "100,000 files")
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from buildctl.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "--repo",
            str(mini.path),
            "affected",
            "--format",
            "json",
            "--base",
            base,
            "--head",
            head,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BUILDCTL_CACHE_DIR": ""},
        cwd=CHECKOUT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["build"], out["deploy"]) == (["b"], ["a", "b", "c"])
    reasons = {name: svc["reasons"] for name, svc in out["services"].items()}
    # Reasons of one kind are grouped per service: the first path and how many more.
    deploy_all = "deploy_all: deployments/base/gen/f000000.yaml (matches deployments/base/**) (+49999 more)"
    assert reasons["a"] == [deploy_all]
    assert reasons["b"] == [deploy_all, "svc/b/src/gen/f000000.rs (+19999 more) -> b"]
    assert reasons["c"] == [deploy_all, "deploy: deployments/c/gen/f000000.yaml (+9999 more)"]


def test_filters_evaluate_like_paths_filter() -> None:
    from buildctl.detect.filters import FilterSet
    from buildctl.gitrepo import Change
    from buildctl.mapmodel import FilterRule, PathFilter

    filters = FilterSet(
        [
            PathFilter("docs", (FilterRule("docs/**"),)),
            PathFilter("src", (FilterRule("**/*.rs"), FilterRule("vendor/**", negated=True)), every=True),
            PathFilter("new", (FilterRule("db/**", changes=frozenset({"added"})),)),
        ]
    )
    found = filters.evaluate([Change("M", "vendor/x.rs"), Change("R", "db/b.sql", "db/a.sql")])
    assert set(found) == {"new"}  # a rename adds the new path, as git --no-renames lists it
    found = filters.evaluate([Change("M", "src/x.rs"), Change("M", "docs/a.md"), Change("M", "db/a.sql")])
    assert set(found) == {"docs", "src"} and found["src"].path == "src/x.rs"


def test_a_lock_entry_of_the_services_own_crate_reads_without_a_dangling_chain(mini: Repo) -> None:
    from tests.support.cli import change, reasons
    from tests.support.workspaces import lock

    bumped = lock().replace('name = "a"\nversion = "0.1.0"', 'name = "a"\nversion = "0.2.0"')
    out = change(mini, {"Cargo.lock": bumped})
    assert out["build"] == ["a"]
    assert reasons(out, "a") == ["Cargo.lock: a 0.1.0 -> 0.2.0"]
