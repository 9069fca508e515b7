"""Kustomizations in a plain directory (no git needed to edit files): the map, the fixture base
and a service's overlay, for `bump`."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.git import CHECKOUT

FIXTURES = CHECKOUT / "tests" / "fixtures" / "kustomize"
KFILE = "deployments/auth-service/kustomization.yaml"
T = "sha-1a2b3c4d5e6f70819a2b3c4d5e6f70819a2b3c4d"  # a tag
D = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # a digest
MAP = """[workspace]
registry = "ghcr.io/example-org/game-platform"
[services.auth-service]
[services.world-state]
"""
OVERLAY = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
"""
ENTRY = "images:\n  - name: service-image\n    newName: ghcr.io/example-org/game-platform/auth-service\n"


def tree(tmp_path: Path, overlay: str | bytes, world_state: str | None = None) -> Path:
    """A plain directory (no git needed to edit files): the map, the fixture base, the overlay(s)."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "base", root / "deployments" / "base")
    (root / "deployments" / "auth-service").mkdir()
    data = overlay.encode() if isinstance(overlay, str) else overlay
    (root / KFILE).write_bytes(data)
    if world_state is not None:
        (root / "deployments" / "world-state").mkdir()
        (root / "deployments" / "world-state" / "kustomization.yaml").write_text(world_state)
    (root / "workspace-map.toml").write_text(MAP)
    return root
