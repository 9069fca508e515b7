"""Helm values files: a service's image tag, digest and repository set byte-preserving (golden
files compared whole), checked by parsing back; and what cannot be edited safely is refused."""

from __future__ import annotations

import pytest

from buildctl.deploy import helm
from buildctl.errors import BuildctlError
from buildctl.mapmodel import ImageKeys
from tests.support.git import CHECKOUT

GOLDEN = CHECKOUT / "tests" / "fixtures" / "helm"
TAG, DIGEST = "sha-" + "a" * 40, "sha256:" + "b" * 64
API, WORKER = "ghcr.io/acme/platform/api", "ghcr.io/acme/platform/worker"
CASES = {
    "quoted": (ImageKeys(), API, DIGEST),  # comments, quotes and the other keys kept
    "indent4": (ImageKeys(digest=""), WORKER, None),  # 4-space indent; a chart without a digest key
    "umbrella": (ImageKeys("api.image.repository", "api.image.tag", "api.image.digest"), API, DIGEST),
    "crlf": (ImageKeys(), API, DIGEST),  # CRLF, and `digest:` with no value
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_are_bumped_byte_preserving(name: str) -> None:
    keys, image, digest = CASES[name]
    before = (GOLDEN / f"{name}.input.yaml").read_bytes().decode()
    after = helm.set_image(before, f"{name}.yaml", keys, image, TAG, digest)
    assert after.encode() == (GOLDEN / f"{name}.expected.yaml").read_bytes()
    assert helm.set_image(after, f"{name}.yaml", keys, image, TAG, digest) == after  # a second run: no change
    now = helm.current(after, f"{name}.yaml", keys)
    assert (now.repository, now.tag) == (image, TAG)


def test_a_missing_mapping_and_an_anchor_are_refused() -> None:
    with pytest.raises(BuildctlError, match="has no mapping 'image'"):
        helm.set_image("replicas: 1\n", "v.yaml", ImageKeys(), API, TAG, None)
    shared = "base: &img\n  repository: x/api\n  tag: old\nimage: *img\n"
    with pytest.raises(BuildctlError, match=r"anchor|meaning elsewhere"):
        helm.set_image(shared, "v.yaml", ImageKeys(), API, TAG, None)
    assert helm.missing("image:\n  repository: x\n", "v.yaml", ImageKeys()) == ["image.tag"]
