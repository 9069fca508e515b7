"""Applying a bump to a checkout: a refused bump leaves the whole tree byte-identical, whether it
was to write the files, commit them or only show the diff."""

from __future__ import annotations

import pytest

from tests.support.cli import cli, refused
from tests.support.git import Repo, refs, snapshot, writes
from tests.support.kustomize import T

OVERLAY = "resources:\n- ../base\n"
ENTRY = "images:\n- name: service-image\n  newName: 127.0.0.1:5000/team/{svc}\n  newTag: latest\n"


def _nothing(repo: Repo) -> None:
    pass


REFUSED_BUMPS = [
    (
        "map-not-toml",
        writes("workspace-map.toml", "[services.a\n"),
        [f"a={T}"],
        "workspace-map.toml:1: is not valid TOML",
    ),
    (
        "map-bad-service-name",
        writes("workspace-map.toml", "[services.'a;b']\n"),
        [f"a={T}"],
        "workspace-map.toml:1: [services.a;b] service name 'a;b' is not allowed",
    ),
    ("unknown-service", _nothing, [f"a={T}", f"zz={T}"], "unknown service 'zz'"),
    ("twice", _nothing, [f"a={T}", "a=sha-2"], "a is asked for twice"),
    (
        "missing-kustomization",
        lambda r: r.remove("deployments/c/kustomization.yaml"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: c has no kustomization",
    ),
    (
        "no-images-and-no-image-in-the-base",
        writes("deployments/c/kustomization.yaml", OVERLAY),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: has no images entry for c, and no container image was found",
    ),
    (
        "multi-document",
        writes("deployments/c/kustomization.yaml", OVERLAY + ENTRY.format(svc="c") + "---\nkind: X\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: holds 2 YAML documents",
    ),
    (
        "anchored",
        writes(
            "deployments/c/kustomization.yaml",
            "x: &t latest\n" + OVERLAY + ENTRY.format(svc="c").replace("newTag: latest", "newTag: *t"),
        ),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml:7: the images entries use the YAML anchor/alias 't'",
    ),
    (
        "yaml-tag-python-cannot-read",  # ruamel raised ValueError for `!!int abc`
        writes("deployments/c/kustomization.yaml", OVERLAY + ENTRY.format(svc="c") + "replicas: !!int abc\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: is not valid YAML: ValueError: invalid literal for int()",
    ),
    (
        "not-utf8",
        writes("deployments/c/kustomization.yaml", b"images:\n- name: \xff\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: is not UTF-8 text",
    ),
    (
        "resource-outside-the-repository",
        writes("deployments/c/kustomization.yaml", "resources:\n- ../../../etc\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: resource '../../../etc' is outside the repository",
    ),
    (
        "not-a-docker-tag",
        _nothing,
        [f"a={T}", "c=../../etc/passwd"],
        "tag '../../etc/passwd' is not a docker tag",
    ),
    (
        "digest-not-sha256",
        _nothing,
        [f"a={T}", f"c={T}@md5:abc"],
        "digest 'md5:abc' is not sha256:<64 lower-case hex digits>",
    ),
]


@pytest.mark.parametrize(
    ("case", "setup", "requests", "message"), REFUSED_BUMPS, ids=[c[0] for c in REFUSED_BUMPS]
)
def test_a_refused_bump_leaves_the_tree_byte_identical(
    mini: Repo,
    case: str,
    setup,
    requests: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    setup(mini)
    mini.commit("the bad input")  # committed, or --commit would stop at the dirty tree first
    before, state = snapshot(mini.path), refs(mini)
    for flags in ([], ["--commit"], ["--dry-run"]):
        refused(cli(mini, "bump", *requests, *flags), message)
        assert snapshot(mini.path) == before, f"bump {flags} wrote something"
        assert refs(mini) == state
    assert not [p for p in before if p.endswith(".tmp")]
