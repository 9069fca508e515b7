"""A plan as text for people: chains, and names escaped."""

from __future__ import annotations

import re

from tests.support.cli import run
from tests.support.git import Repo


def test_text_output_shows_chains_and_escapes_names(mini: Repo) -> None:
    base = mini.head()
    mini.write("libs/core/src/new\x1b[31m.rs", "// x\n")
    mini.commit()
    res = run(["--repo", str(mini.path), "affected", "--base", base])
    assert res.code == 0
    assert "\x1b" not in res.stdout
    assert "libs/core/src/new\\x1b[31m.rs -> core -> util -> a" in res.stdout
    assert re.search(r"^build \(3\): a, b, c$", res.stdout, re.M)
