"""The plan: images, tags, platforms and bumps, as JSON and as the plan command shows them."""

from __future__ import annotations

from tests.support.cli import run
from tests.support.git import Repo


def test_plan_json_names_images_tags_and_bumps(mini: Repo) -> None:
    base = mini.head()
    mini.write("svc/b/src/main.rs", "fn main() { }\n")
    head = mini.commit()
    res = run(["--repo", str(mini.path), "plan", "--base", base, "--format", "json"])
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["build"] == ["b"]
    assert data["services"]["b"] == {
        "build": True,
        "deploy": True,
        "reasons": ["svc/b/src/main.rs -> b"],
        "crate": "b",
        "image": "127.0.0.1:5000/team/b",
        "tags": [f"sha-{head}"],
        "platforms": ["linux/amd64"],  # the map names none: this machine's
        "kustomization": "deployments/b/kustomization.yaml",
    }
    text = run(["--repo", str(mini.path), "plan", "--base", base]).stdout
    assert f"push   127.0.0.1:5000/team/b:sha-{head}" in text
    assert f"bump   deployments/b/kustomization.yaml -> sha-{head}" in text
