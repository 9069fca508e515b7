"""The workspace model as the cache keeps it: what a warm run reads back is what a cold one
derived, the binaries and libraries (read from src/, lazily) included."""

from __future__ import annotations

from pathlib import Path

from buildctl.detect.cache import Cache
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import load_full
from buildctl.detect.workspace_json import from_json, model_key, to_json
from tests.support.gen import generate
from tests.support.git import Repo


def _repo(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "gen")
    for path, text in generate(3, n=16).files.items():
        repo.write(path, text)
    repo.commit()
    return repo


def test_a_cached_model_reads_back_as_derived(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    derived = load_full(Snapshot.at(repo.path, repo.head()), "")
    assert any(c.bins for c in derived.crates.values())  # the comparison covers the targets
    assert from_json(to_json(derived)) == derived
    cache = Cache(tmp_path / "cache")
    first = load_full(Snapshot.at(repo.path, repo.head(), cache), "")
    cache.save()
    key = model_key(Snapshot.at(repo.path, repo.head(), cache), "")
    assert key is not None and Cache(tmp_path / "cache").get_model(key) is not None  # read back below
    again = load_full(Snapshot.at(repo.path, repo.head(), Cache(tmp_path / "cache")), "")
    assert first == derived and again == derived
    assert list(again.crates.items()) == list(derived.crates.items())  # order too


def test_the_key_is_the_manifests_blob_ids(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    cache = Cache(tmp_path / "cache")
    before = model_key(Snapshot.at(repo.path, repo.head(), cache), "")
    manifest = next(p for p in generate(3, n=16).files if p.endswith("/Cargo.toml"))
    repo.write(manifest, repo.read(manifest) + "\n# a comment\n")
    repo.commit()
    after = model_key(Snapshot.at(repo.path, repo.head(), cache), "")
    assert before is not None and after is not None and before != after
    assert model_key(Snapshot.at(repo.path, repo.head()), "") is None  # no cache, no key
    assert model_key(Snapshot.worktree(repo.path, cache), "") is None  # no blob ids


def test_an_entry_of_another_shape_is_derived_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    derived = load_full(Snapshot.at(repo.path, repo.head()), "")
    cache = Cache(tmp_path / "cache")
    key = model_key(Snapshot.at(repo.path, repo.head(), cache), "")
    assert key is not None
    good = to_json(derived)
    for row_edit in (
        lambda row: row.__setitem__(2, "yes"),  # member is no bool
        lambda row: row.__setitem__(5, [["k", "p", "normal", None, False]]),  # a dependency short of a field
        lambda row: row.pop(),
    ):
        bad = to_json(derived)
        row_edit(bad["crates"][0])
        cache.put_model(key, bad)
        again = load_full(Snapshot.at(repo.path, repo.head(), Cache(tmp_path / "cache")), "")
        assert again == derived
        assert Cache(tmp_path / "cache").get_model(key) == good  # and written again
