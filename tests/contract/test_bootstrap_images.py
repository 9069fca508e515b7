"""The local base images the engine tests build from are the ones scripts/bootstrap-images.sh makes."""

from __future__ import annotations

import subprocess

from tests.support.docker import ARM64_RUNTIME_IMAGE, CHEF_IMAGE, CROSS_CHEF_IMAGE, RUNTIME_IMAGE
from tests.support.git import CHECKOUT


def test_constants_match_bootstrap_images() -> None:
    """The images the docker tests build from are the ones scripts/bootstrap-images.sh names."""
    out = subprocess.run(
        [str(CHECKOUT / "scripts" / "bootstrap-images.sh"), "--print-tags"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tags = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert tags["BUILDCTL_RUNTIME_IMAGE"] == RUNTIME_IMAGE
    assert tags["BUILDCTL_CHEF_IMAGE_ALIAS"] == CHEF_IMAGE
    assert tags["BUILDCTL_CROSS_CHEF_IMAGE"] == CROSS_CHEF_IMAGE
    assert tags["BUILDCTL_ARM64_RUNTIME_IMAGE"] == ARM64_RUNTIME_IMAGE
