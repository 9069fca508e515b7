"""Which range to compare: the base revision from the options, or from a GitHub Actions event,
on real clones of a real bare remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildctl.detect import ranges
from buildctl.detect.objects import Objects
from tests.support.cli import affected
from tests.support.git import Repo, git


@pytest.fixture
def origin(mini: Repo, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(mini.path), str(bare))
    return bare


def clone(origin: Path, dest: Path, *extra: str) -> Repo:
    git(origin.parent, "clone", "-q", *extra, f"file://{origin}", str(dest))
    repo = Repo(dest)
    repo.git("config", "user.name", "Test")
    repo.git("config", "user.email", "test@example.com")
    return repo


def event_env(tmp_path: Path, name: str, payload: dict) -> dict[str, str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(payload))
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path)}


def push_commit(repo: Repo, path: str, text: str, branch: str = "main") -> str:
    repo.write(path, text)
    sha = repo.commit(f"edit {path}")
    repo.git("push", "-q", "origin", f"HEAD:{branch}")
    return sha


def test_pull_request_uses_base_sha_and_merge_base(origin: Path, tmp_path: Path) -> None:
    dev = clone(origin, tmp_path / "dev")
    fork = dev.head()
    dev.git("checkout", "-q", "-b", "feature")
    push_commit(dev, "svc/a/src/main.rs", "fn main() { }\n", "feature")
    dev.git("checkout", "-q", "main")
    main_tip = push_commit(dev, "svc/b/src/main.rs", "fn main() { }\n")
    ci = clone(origin, tmp_path / "ci")
    ci.git("checkout", "-q", "feature")
    env = event_env(tmp_path, "pull_request", {"pull_request": {"base": {"sha": main_tip}}})
    out = affected(ci, env=env)
    assert out["base"] == fork
    assert out["build"] == ["a"]


def test_push_uses_before(origin: Path, tmp_path: Path) -> None:
    dev = clone(origin, tmp_path / "dev")
    before = dev.head()
    push_commit(dev, "libs/util/src/lib.rs", "pub fn util() { }\n")
    ci = clone(origin, tmp_path / "ci")
    out = affected(ci, env=event_env(tmp_path, "push", {"before": before, "after": ci.head()}))
    assert out["base"] == before
    assert out["build"] == ["a", "c"]


def test_push_of_a_new_branch_diffs_against_the_default_branch(origin: Path, tmp_path: Path) -> None:
    dev = clone(origin, tmp_path / "dev")
    fork = dev.head()
    dev.git("checkout", "-q", "-b", "topic")
    push_commit(dev, "svc/c/src/main.rs", "fn main() { }\n", "topic")
    push_commit(dev, "svc/c/build.rs", "fn main() { }\n", "topic")
    ci = clone(origin, tmp_path / "ci", "--branch", "topic")
    payload = {"before": "0" * 40, "after": ci.head(), "repository": {"default_branch": "main"}}
    out = affected(ci, env=event_env(tmp_path, "push", payload))
    assert out["base"] == fork
    assert out["build"] == ["c"]


def test_force_push_with_missing_before_rebuilds_everything(origin: Path, tmp_path: Path) -> None:
    dev = clone(origin, tmp_path / "dev")
    dev.write("svc/a/src/main.rs", "fn main() { /* lost */ }\n")
    lost = dev.commit("will be force-pushed away")  # never pushed: the CI clone cannot have it
    dev.git("reset", "-q", "--hard", "HEAD~1")
    push_commit(dev, "svc/b/src/main.rs", "fn main() { }\n")
    ci = clone(origin, tmp_path / "ci")
    out = affected(ci, env=event_env(tmp_path, "push", {"before": lost, "forced": True}))
    assert out["build"] == ["a", "b", "c"]
    assert out["base"] is None
    assert "force push" in out["services"]["a"]["reasons"][0]


def test_merge_group_uses_base_and_head_sha(origin: Path, tmp_path: Path) -> None:
    dev = clone(origin, tmp_path / "dev")
    base = dev.head()
    head = push_commit(dev, "svc/b/nested/src/lib.rs", "pub fn nested() { }\n")
    push_commit(dev, "svc/a/src/main.rs", "fn main() { }\n")  # after the queued head: not part of it
    ci = clone(origin, tmp_path / "ci")
    payload = {"merge_group": {"base_sha": base, "head_sha": head}}
    out = affected(ci, env=event_env(tmp_path, "merge_group", payload))
    assert (out["base"], out["head"]) == (base, head)
    assert out["build"] == ["b"]


@pytest.mark.parametrize("event", ["workflow_dispatch", "schedule"])
def test_dispatch_and_schedule_rebuild_everything_unless_base_given(
    origin: Path, tmp_path: Path, event: str
) -> None:
    ci = clone(origin, tmp_path / "ci")
    out = affected(ci, env=event_env(tmp_path, event, {}))
    assert out["build"] == ["a", "b", "c"]
    assert out["services"]["a"]["reasons"] == [f"all: {event} event without --base"]
    before = ci.head()
    ci.write("svc/a/src/main.rs", "fn main() { }\n")
    ci.commit()
    out = affected(ci, "--base", before, env=event_env(tmp_path, event, {}))
    assert out["build"] == ["a"]


def test_shallow_clone_is_deepened_until_the_merge_base(origin: Path, tmp_path: Path) -> None:
    dev = clone(origin, tmp_path / "dev")
    fork = dev.head()
    dev.git("checkout", "-q", "-b", "feature")
    for i in range(4):
        push_commit(dev, "svc/a/src/main.rs", f"fn main() {{ /* {i} */ }}\n", "feature")
    dev.git("checkout", "-q", "main")
    main_tip = push_commit(dev, "svc/b/src/main.rs", "fn main() { }\n")
    ci = clone(origin, tmp_path / "ci", "--depth", "1", "--branch", "feature", "--no-single-branch")
    assert ci.git("rev-parse", "--is-shallow-repository") == "true"
    env = event_env(tmp_path, "pull_request", {"pull_request": {"base": {"sha": main_tip}}})
    out = affected(ci, env=env)
    assert out["base"] == fork
    assert out["build"] == ["a"]


def test_shallow_clone_gives_up_after_the_limit(
    origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranges, "DEEPEN_LIMIT", 1)  # configuration, not a fake: keeps the history small
    monkeypatch.setattr(ranges, "DEEPEN_STEP", 1)
    dev = clone(origin, tmp_path / "dev")
    dev.git("checkout", "-q", "-b", "feature")
    for i in range(5):
        push_commit(dev, "svc/a/src/main.rs", f"fn main() {{ /* {i} */ }}\n", "feature")
    dev.git("checkout", "-q", "main")
    main_tip = push_commit(dev, "svc/b/src/main.rs", "fn main() { }\n")
    ci = clone(origin, tmp_path / "ci", "--depth", "1", "--branch", "feature", "--no-single-branch")
    env = event_env(tmp_path, "pull_request", {"pull_request": {"base": {"sha": main_tip}}})
    out = affected(ci, env=env)
    assert out["build"] == ["a", "b", "c"]
    assert out["services"]["a"]["reasons"][0].startswith("all: shallow clone, no merge base")


def test_unknown_event_rebuilds_everything_and_says_why(origin: Path, tmp_path: Path) -> None:
    ci = clone(origin, tmp_path / "ci")
    out = affected(ci, env=event_env(tmp_path, "release", {}))
    assert out["services"]["b"]["reasons"] == [
        "all: the release event gives no base to compare with; pass --base"
    ]


def diverge(repo: Repo, branch: str) -> tuple[str, str]:
    """`branch` edits a's main.rs, main then edits b's: (the fork point, main's tip); on main."""
    fork = repo.head()
    repo.git("checkout", "-q", "-b", branch)
    repo.write("svc/a/src/main.rs", "fn main() { }\n")
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.write("svc/b/src/main.rs", "fn main() { }\n")
    return fork, repo.commit()


def test_base_is_merge_base_like_a_pull_request(mini: Repo) -> None:
    fork, main_tip = diverge(mini, "feature")
    out = affected(mini, "--base", main_tip, "--head", "feature")
    assert out["base"] == fork
    assert out["build"] == ["a"]  # b's change on main is not the pull request's


@pytest.mark.parametrize("kind", ["ancestor", "merge", "diverged", "far", "grafted"])
def test_the_range_is_what_git_merge_base_says(mini: Repo, kind: str) -> None:
    """Read through the run's cat-file, a base within a few commits of head is its own merge
    base; anything else (diverged, too far, a grafted history) is git's to say."""
    base = mini.head()
    if kind in ("ancestor", "far", "grafted"):
        for i in range(40 if kind == "far" else 2):
            mini.write("svc/a/src/main.rs", f"fn main() {{ /* {i} */ }}\n")
            mini.commit()
    if kind in ("merge", "diverged"):
        _, main_tip = diverge(mini, "side")
        if kind == "merge":
            mini.git("merge", "-q", "--no-edit", "side")
        else:
            base = main_tip
            mini.git("checkout", "-q", "side")
    if kind == "grafted":  # what a shallow clone is made of: git's answer, not the objects'
        parent = mini.git("rev-parse", "HEAD~1")
        (mini.path / ".git" / "info").mkdir(exist_ok=True)
        (mini.path / ".git" / "info" / "grafts").write_text(f"{parent}\n")
    head = mini.head()
    want = mini.git("merge-base", base, head, check=False) or None
    objects = Objects(mini.path)
    try:
        got = ranges.resolve(mini.path, base=base, head=head, environ={}, objects=objects)
    finally:
        objects.close()
    assert (got.head, got.base) == (head, want)
    plain = ranges.resolve(mini.path, base=base, head=head, environ={})
    assert (plain.head, plain.base, plain.everything) == (got.head, got.base, got.everything)


def test_no_base_is_the_parent_as_before(mini: Repo) -> None:
    first = mini.head()
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit()
    objects = Objects(mini.path)
    try:
        got = ranges.resolve(mini.path, base=None, head=None, environ={}, objects=objects)
        root = ranges.resolve(mini.path, base=None, head=first, environ={}, objects=objects)
    finally:
        objects.close()
    assert got == ranges.resolve(mini.path, base=None, head=None, environ={}) and got.base == first
    assert root == ranges.resolve(mini.path, base=None, head=first, environ={})
