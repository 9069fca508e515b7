"""Target platforms: without `[workspace] platforms`, this machine's."""

from __future__ import annotations

from buildctl import platforms
from tests.support.cli import run
from tests.support.git import Repo


def test_without_platforms_the_plan_builds_for_this_machine_only(mini: Repo) -> None:
    base = mini.head()
    mini.write("svc/b/src/main.rs", "fn main() { }\n")
    mini.commit()
    data = run(["--repo", str(mini.path), "plan", "--base", base, "--format", "json"]).json()
    assert data["services"]["b"]["platforms"] == [platforms.native()]
    assert (
        platforms.from_machine("x86_64") == "linux/amd64"
        and platforms.from_machine("aarch64") == "linux/arm64"
    )
