"""The content-keyed cache: a warm run answers exactly like a cold one, and a broken cache is
only slower, never wrong."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import affected
from tests.support.git import Repo


def test_warm_cache_gives_the_same_answer(mini: Repo, tmp_path: Path) -> None:
    base = mini.head()
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.write("Cargo.lock", mini.read("Cargo.lock").replace("1.0.11", "1.0.12"))
    head = mini.commit()
    cache = tmp_path / "cache"
    cold = affected(mini, "--base", base, "--head", head, env={"BUILDCTL_CACHE_DIR": str(cache)})
    files = sorted(p.name for p in cache.iterdir())
    assert "toml-v1.json" in files and sum(f.startswith("workspace-v2-") for f in files) == 1  # head only
    warm = affected(mini, "--base", base, "--head", head, env={"BUILDCTL_CACHE_DIR": str(cache)})
    off = affected(mini, "--base", base, "--head", head, env={"BUILDCTL_CACHE_DIR": ""})
    assert cold == warm == off
    assert cold["build"] == ["a", "c"]


def test_broken_cache_is_ignored_and_rewritten(mini: Repo, tmp_path: Path) -> None:
    base = mini.head()
    mini.write("svc/b/src/main.rs", "fn main() { }\n")
    head = mini.commit()
    cache = tmp_path / "cache"
    env = {"BUILDCTL_CACHE_DIR": str(cache)}
    expected = affected(mini, "--base", base, "--head", head, env=env)
    for f in cache.iterdir():
        f.write_text("{not json")
    assert affected(mini, "--base", base, "--head", head, env=env) == expected
    for f in cache.iterdir():
        f.write_text('{"crates": [["a"]], "root": ""}' if f.name.startswith("workspace") else "[]")
    assert affected(mini, "--base", base, "--head", head, env=env) == expected


def test_manifest_change_is_seen_through_the_cache(mini: Repo, tmp_path: Path) -> None:
    env = {"BUILDCTL_CACHE_DIR": str(tmp_path / "cache")}
    base = mini.head()
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    head = mini.commit()
    assert affected(mini, "--base", base, "--head", head, env=env)["build"] == ["a"]
    # a new dependency edge: util now needs b-nested; the cached model of the old manifests must not answer
    mini.write(
        "libs/util/Cargo.toml",
        mini.read("libs/util/Cargo.toml") + 'bn = { package = "b-nested", path = "../../svc/b/nested" }\n',
    )
    mini.commit()
    base2 = mini.head()
    mini.write("svc/b/nested/src/lib.rs", "pub fn nested() { }\n")
    head2 = mini.commit()
    assert affected(mini, "--base", base2, "--head", head2, env=env)["build"] == ["a", "b", "c"]
