"""The input fingerprint (`fp-<key>`) covers what a service's image is built from, and nothing
else: its crates, and the files outside them that the map says its build reads (the service's
`inputs`, and `[crates.<crate>] inputs` of every crate it builds from)."""

from __future__ import annotations

import re

from tests.support.cli import run
from tests.support.git import Repo


def fingerprints(repo: Repo) -> dict[str, str]:
    res = run(["--repo", str(repo.path), "build", "--all", "--push", "--dry-run", "--builder", "classic"])
    assert res.code == 0, res.stderr
    return dict(re.findall(r"docker push 127\.0\.0\.1:5000/team/([\w-]+):fp-([0-9a-f]+)", res.stdout))


def test_the_fingerprint_follows_the_inputs_outside_the_crates(mini: Repo) -> None:
    text = mini.read("workspace-map.toml").replace(
        "[services.a]\n", '[services.a]\ninputs = ["config/a/**"]\n', 1
    )
    text += '\n[crates.b-nested]\ninputs = ["contracts/**"]\n'
    mini.write("workspace-map.toml", text)
    mini.write("config/a/settings.yaml", "level: 1\n")
    mini.write("contracts/api.proto", "syntax = 1;\n")
    mini.commit("inputs outside the crates")
    before = fingerprints(mini)
    assert set(before) == {"a", "b", "c"}

    mini.write("config/a/settings.yaml", "level: 2\n")
    mini.commit("a's own input")
    after_a = fingerprints(mini)
    assert after_a["a"] != before["a"]
    assert {k: v for k, v in after_a.items() if k != "a"} == {k: v for k, v in before.items() if k != "a"}

    # b-nested is built by b alone.
    mini.write("contracts/api.proto", "syntax = 2;\n")
    mini.commit("b-nested's input")
    after_core = fingerprints(mini)
    assert after_core["b"] != after_a["b"]
    assert (after_core["a"], after_core["c"]) == (after_a["a"], after_a["c"])

    mini.write("notes.txt", "not an input of anything\n")
    mini.commit("a file no build reads")
    assert fingerprints(mini) == after_core
