"""The git write side of a bump against a real bare remote and real clones: one commit, one
push, a clean retry when the remote moved, refusals before anything is written, no credentials
shown, and an interrupt that lands after the files and the commit, never inside."""

from __future__ import annotations

import base64
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buildctl.deploy.writeback import redact
from tests.support.cli import cli, refused, run, run_main
from tests.support.git import Repo, git, refs, snapshot
from tests.support.kustomize import D, T
from tests.support.net import free_port
from tests.support.remote import World, assert_clean
from tests.support.secret_scan import FAKE_GITHUB_TOKEN
from tests.support.secrets import assert_no_token, secret_env

AUTH = "deployments/auth-service/kustomization.yaml"
WORLD = "deployments/world-state/kustomization.yaml"
ZERO_TAG = "sha-" + "0" * 40
CLI = (sys.executable, "-c", "import sys; from buildctl.cli import main; main(sys.argv[1:])")


def test_two_racing_bumpers_both_land_without_a_force_push(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.clone("a"), world.clone("b")  # both start from the same tip
    tag = f"sha-{world.c2}"

    code, out, err = run_main(capsys, "--repo", str(a), "bump", f"auth-service={tag}", "--push")
    assert (code, err) == (0, "")
    assert out.endswith("pushed to origin main (attempt 1)\n")

    # b still has the old tip: its first push is rejected, it re-applies on a's commit and lands.
    code, out, err = run_main(
        capsys, "--repo", str(b), "bump", f"world-state={tag}", "--push", "--retry-delay", "0"
    )
    assert code == 0, err
    assert "push rejected, the remote moved on" in err
    assert out.endswith("pushed to origin main (attempt 2)\n")

    assert git(world.remote, "log", "--format=%s", "main").splitlines() == [
        f"deploy: world-state sha-{world.c2[:12]} [skip ci]",
        f"deploy: auth-service sha-{world.c2[:12]} [skip ci]",
        "C2",
        "C1",
    ]
    assert all(" " not in parents for parents in git(world.remote, "log", "--format=%P", "main").splitlines())
    assert f"newTag: {tag}" in world.show(AUTH)
    assert f"newTag: {tag}" in world.show(WORLD)
    # Every update of the remote's main was a fast-forward (the reflog, newest first).
    moves = git(world.remote, "log", "-g", "--format=%H", "refs/heads/main").splitlines()
    assert len(moves) == 3
    for new, old in itertools.pairwise(moves):
        git(world.remote, "merge-base", "--is-ancestor", old, new)
    assert git(b, "rev-parse", "HEAD") == world.tip()
    assert_clean(b)


def test_a_newer_tag_on_the_remote_is_not_moved_back(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.clone("a"), world.clone("b")
    assert run_main(capsys, "--repo", str(a), "bump", f"world-state=sha-{world.c2}", "--push")[0] == 0

    # b deploys the older commit c1 (c2 descends from it): world-state stays, auth-service moves.
    code, out, err = run_main(
        capsys,
        "--repo",
        str(b),
        "bump",
        f"world-state=sha-{world.c1}",
        f"auth-service=sha-{world.c1}",
        "--push",
        "--retry-delay",
        "0",
    )
    assert code == 0, err
    assert (
        f"world-state  skipped  sha-{world.c1[:12]}  {WORLD}  (deployed sha-{world.c2[:12]} is newer than "
        f"sha-{world.c1[:12]}; not moving it back)"
    ) in out
    assert f"newTag: sha-{world.c2}" in world.show(WORLD)
    assert f"newTag: sha-{world.c1}" in world.show(AUTH)
    assert git(world.remote, "log", "-1", "--format=%s", "main") == (
        f"deploy: auth-service sha-{world.c1[:12]} [skip ci]"
    )
    assert_clean(b)


def test_one_commit_lists_services_and_tags_and_a_rerun_commits_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a = world.clone("a")
    args = [
        "--repo",
        str(a),
        "bump",
        f"world-state=sha-{world.c2}",
        f"auth-service=sha-{world.c2}@{D}",
        "--commit",
    ]
    code, out, _ = run_main(capsys, *args)
    assert code == 0
    head = git(a, "rev-parse", "HEAD")
    assert out.endswith(f"committed {head[:12]}\n")
    assert git(a, "log", "-1", "--format=%B") == (
        f"deploy: auth-service sha-{world.c2[:12]}, world-state sha-{world.c2[:12]} [skip ci]\n\n"
        f"auth-service: ghcr.io/example-org/game-platform/auth-service:sha-{world.c2}@{D}\n"
        f"world-state: ghcr.io/example-org/game-platform/world-state:sha-{world.c2}"
    )
    assert git(a, "show", "--name-only", "--format=", "HEAD").splitlines() == [AUTH, WORLD]
    assert world.tip() == world.c2  # --commit alone pushes nothing
    assert_clean(a)

    code, out, _ = run_main(capsys, *args)
    assert code == 0
    assert out.count("  unchanged  ") == 2 and "committed" not in out
    assert git(a, "rev-parse", "HEAD") == head


def test_a_pre_receive_hook_rejection_is_an_error_with_the_remotes_message(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = world.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'deploys are frozen until Monday' >&2\nexit 1\n")
    hook.chmod(0o755)
    b = world.clone("b")
    code, out, err = run_main(capsys, "--repo", str(b), "bump", f"auth-service=sha-{world.c2}", "--push")
    assert (code, out) == (1, "")
    assert "error: origin (" in err and "refused the push to main" in err
    assert "pre-receive hook declined" in err
    assert "remote: deploys are frozen until Monday" in err
    assert "push rejected" not in err  # not retried
    assert "hint: nothing was pushed and the local branch is back where it was" in err
    assert world.tip() == world.c2
    assert git(b, "rev-parse", "HEAD") == world.c2
    assert_clean(b)


def test_giving_up_after_the_retries_restores_the_branch(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = world.clone("a"), world.clone("b")
    assert run_main(capsys, "--repo", str(a), "bump", f"auth-service=sha-{world.c2}", "--push")[0] == 0
    code, _, err = run_main(
        capsys, "--repo", str(b), "bump", f"world-state=sha-{world.c2}", "--push", "--retries", "0"
    )
    assert code == 1
    assert "origin/main kept moving: gave up after 1 attempts" in err
    assert git(b, "rev-parse", "HEAD") == world.c2
    assert_clean(b)


def test_a_dirty_tree_is_refused_before_anything_is_written(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a = world.clone("a")
    (a / "README.md").write_text("local edit\n")
    code, _, err = run_main(capsys, "--repo", str(a), "bump", f"auth-service=sha-{world.c2}", "--commit")
    assert code == 1
    assert "the working tree has uncommitted changes (README.md); --commit needs a clean tree" in err
    assert git(a, "status", "--porcelain") == "M README.md"
    assert git(a, "rev-parse", "HEAD") == world.c2


def test_local_commits_the_remote_lacks_are_not_pushed_along(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a = world.clone("a")
    git(a, "commit", "-q", "--allow-empty", "-m", "work in progress")
    code, _, err = run_main(capsys, "--repo", str(a), "bump", f"auth-service=sha-{world.c2}", "--push")
    assert code == 1
    assert "HEAD has commits that origin/main does not" in err
    assert world.tip() == world.c2
    assert git(a, "log", "-1", "--format=%s") == "work in progress"


def test_detached_head_needs_a_branch_to_push_to(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    a = world.clone("a")
    git(a, "checkout", "-q", "--detach")
    code, _, err = run_main(capsys, "--repo", str(a), "bump", f"auth-service=sha-{world.c2}", "--push")
    assert code == 1
    assert "HEAD is detached, so there is no current branch to push to" in err
    assert "hint: pass --branch NAME" in err
    assert_clean(a)

    code, out, _ = run_main(
        capsys, "--repo", str(a), "bump", f"auth-service=sha-{world.c2}", "--push", "--branch", "main"
    )
    assert code == 0
    assert out.endswith("pushed to origin main (attempt 1)\n")
    assert f"newTag: sha-{world.c2}" in world.show(AUTH)


def test_a_branch_or_remote_that_is_not_one_is_refused_before_a_commit(mini: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    mini.git("remote", "add", "origin", str(remote))
    mini.git("push", "-q", "origin", "main")
    before, state = snapshot(mini.path), refs(mini)
    refused(
        cli(mini, "bump", f"a={T}", "--push", "--branch", "main..x"), "'main..x' is not a valid branch name"
    )
    refused(
        cli(mini, "bump", f"a={T}", "--push", "--remote", "../x"), "no remote named '../x'", "hint: remotes"
    )
    assert (snapshot(mini.path), refs(mini)) == (before, state)
    assert (
        subprocess.run(
            ["git", "-C", str(remote), "rev-parse", "main"], capture_output=True, text=True
        ).stdout.strip()
        == mini.head()
    )


# --- credentials ---------------------------------------------------------------------------------


def test_credentials_in_the_remote_url_are_never_printed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a = world.clone("a")
    git(a, "remote", "set-url", "origin", "http://deploy-bot:s3cr3t-t0ken@127.0.0.1:9/nowhere.git")
    code, out, err = run_main(capsys, "--repo", str(a), "bump", f"auth-service=sha-{world.c2}", "--push")
    assert code == 1
    assert "127.0.0.1:9" in err
    assert "s3cr3t" not in out + err and "deploy-bot" not in out + err
    assert_clean(a)


def test_redact() -> None:
    assert redact("https://x-access-token:ghs_abc@github.com/o/r.git and ssh://git@h/r") == (
        "https://github.com/o/r.git and ssh://h/r"
    )
    assert redact("git@github.com:o/r.git") == "git@github.com:o/r.git"  # a user name, no secret


def test_a_bump_push_that_fails_shows_no_token(mini: Repo, tmp_path: Path) -> None:
    """The token in the remote URL and in an `http.extraheader` (what actions/checkout sets)."""
    url = f"https://x-access-token:{FAKE_GITHUB_TOKEN}@127.0.0.1:{free_port()}/org/repo.git"
    mini.git("remote", "add", "origin", url)
    header = base64.b64encode(f"x-access-token:{FAKE_GITHUB_TOKEN}".encode()).decode()
    mini.git("config", "http.extraheader", f"AUTHORIZATION: basic {header}")
    before = mini.head()
    env = secret_env(tmp_path, GIT_TERMINAL_PROMPT="0")
    res = run(["--repo", str(mini.path), "bump", "a=sha-1234567", "--push", "--branch", "main"], env=env)
    assert res.code == 1, res.stderr
    assert "git fetch from origin (https://127.0.0.1:" in res.stderr
    commands = [line for line in res.stderr.splitlines() if line.startswith("::")]
    assert len(commands) == 1 and commands[0].startswith("::error")
    assert_no_token(res, env)
    assert mini.head() == before


# --- interrupts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "returncode"), [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)])
def test_an_interrupt_lands_after_the_files_and_the_commit_never_inside(
    world: World, sig: signal.Signals, returncode: int
) -> None:
    """Fault injection: BUILDCTL_FAULT_PAUSE_DIR (see buildctl/atomic.py) makes the real `buildctl bump`
    stop right after it wrote its temporary files, before it renames them, so that the real signal
    arrives inside the critical section every time; nothing else can hold a real process at that point."""
    b = world.clone("b")
    pause = world.tmp / "pause"
    pause.mkdir()
    before = (b / AUTH).read_text()
    proc = subprocess.Popen(
        [
            *CLI,
            "--repo",
            str(b),
            "bump",
            f"auth-service=sha-{world.c2}",
            f"world-state=sha-{world.c2}",
            "--push",
        ],
        env={**os.environ, "BUILDCTL_FAULT_PAUSE_DIR": str(pause)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL
        ),  # even if pytest runs with it ignored
    )
    try:
        deadline = time.monotonic() + 60
        while not (pause / "temp-written.paused").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert len(list((b / "deployments").glob("*/.kustomization.yaml.*.tmp"))) == 2
        assert (b / AUTH).read_text() == before
        proc.send_signal(sig)
        time.sleep(0.2)
        (pause / "temp-written.resume").touch()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == returncode, err
    # The signal waited for both files and the commit, then stopped the run before the push.
    assert (b / AUTH).read_text() == before.replace(ZERO_TAG, f"sha-{world.c2}")
    assert git(b, "log", "-1", "--format=%s") == (
        f"deploy: auth-service sha-{world.c2[:12]}, world-state sha-{world.c2[:12]} [skip ci]"
    )
    assert git(b, "show", "--name-only", "--format=", "HEAD").splitlines() == [AUTH, WORLD]
    assert_clean(b)
    assert world.tip() == world.c2
