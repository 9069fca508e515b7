"""`buildctl explain SERVICE`: every chain behind a service, and a service that is not one."""

from __future__ import annotations

from tests.support.cli import fails, run
from tests.support.git import Repo


def test_explain_lists_every_chain(mini: Repo) -> None:
    base = mini.head()
    mini.write("libs/core/src/lib.rs", "pub fn core() { }\n")
    mini.commit()
    out = run(["--repo", str(mini.path), "explain", "c", "--base", base]).stdout
    assert "- libs/core/src/lib.rs -> core -> c-bin" in out
    assert "    core -> c-bin\n    core -> util -> c-bin\n" in out
    assert "builds from 2 workspace crate(s): core, util" in out


def test_unknown_service_in_explain(mini: Repo) -> None:
    assert "unknown service 'bb' (did you mean 'b'?)" in fails(mini, "explain", "bb")
