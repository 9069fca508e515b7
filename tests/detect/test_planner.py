"""The detect step end to end; here `--since-deployed`: each service compared from the commit
its kustomization deploys."""

from __future__ import annotations

from tests.support.cli import affected
from tests.support.git import Repo


def set_tag(repo: Repo, svc: str, tag: str) -> None:
    text = repo.read(f"deployments/{svc}/kustomization.yaml")
    repo.write(f"deployments/{svc}/kustomization.yaml", text.replace("newTag: latest", f"newTag: {tag}"))


def test_each_service_from_its_deployed_commit(mini: Repo) -> None:
    deployed = mini.head()
    mini.write("svc/b/src/main.rs", "fn main() { /* not deployed yet */ }\n")
    mini.commit("b changed, its build failed and nothing was deployed")
    mini.write("svc/a/src/main.rs", "fn main() { /* deployed */ }\n")
    a_built = mini.commit("a changed and was deployed")
    set_tag(mini, "a", f"sha-{a_built}")
    set_tag(mini, "b", f"sha-{deployed}")
    set_tag(mini, "c", "latest")
    mini.commit("record the deployed tags")
    out = affected(mini, "--since-deployed")
    assert out["build"] == ["b", "c"]
    assert out["services"]["b"]["reasons"] == [
        f"since {deployed[:12]}: deploy: deployments/b/kustomization.yaml",
        f"since {deployed[:12]}: svc/b/src/main.rs -> b",
    ]
    assert out["services"]["c"]["reasons"] == [
        "since-deployed: tag 'latest' in deployments/c/kustomization.yaml names no commit (expected sha-<commit>)"
    ]
    # a's own kustomization changed since its commit: a redeploy, not a rebuild
    assert out["services"]["a"] == {
        "build": False,
        "deploy": True,
        "reasons": [f"since {a_built[:12]}: deploy: deployments/a/kustomization.yaml"],
    }


def test_unknown_deployed_commit_rebuilds(mini: Repo) -> None:
    set_tag(mini, "a", "sha-" + "f" * 40)
    set_tag(mini, "b", "sha-" + "e" * 40)
    set_tag(mini, "c", "sha-" + "d" * 40)
    mini.commit()
    out = affected(mini, "--since-deployed")
    assert out["build"] == ["a", "b", "c"]
    assert "is not in this clone" in out["services"]["a"]["reasons"][0]
