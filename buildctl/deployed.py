"""What a service's deployment says is deployed: a kustomization's `images:` entries, or the
image keys of a Helm values file, read as data.

Every stage reads this: detection (`--since-deployed` compares from the deployed commit),
`init` and `check` (the registry the overlays name), the bump (which entry is the service's).
Editing the files is `deploy/kustomize` and `deploy/helm`, which splice text and check it
against this reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from buildctl import yamlfile
from buildctl.errors import BuildctlError
from buildctl.mapmodel import WorkspaceMap

SHA_TAG = re.compile(r"^sha-([0-9a-f]{7,40})$")


def load(text: str, file: str) -> Any:
    """The kustomization as round-trip data: exactly one document, a mapping."""
    docs = yamlfile.load_all(text, file)
    if len(docs) != 1:
        raise BuildctlError(
            f"holds {len(docs)} YAML documents; a kustomization is exactly one",
            file=file,
            hint="split it or remove the extra '---' separators",
        )
    doc = docs[0]
    if not isinstance(doc, dict):
        raise BuildctlError("is not a YAML mapping", file=file)
    return doc


def image_entries(doc: Any, file: str) -> list[Any]:
    images = doc.get("images")
    if images is None:
        return []
    if not isinstance(images, list) or not all(isinstance(i, dict) for i in images):
        raise BuildctlError("'images' must be a list of mappings", file=file)
    return images


def find_entry(doc: Any, file: str, image: str | None) -> Any:
    """The entry whose `newName` (or `name`) is `image`; with no image, the only entry."""
    entries = image_entries(doc, file)
    for entry in entries:
        if image is not None and (entry.get("newName") or entry.get("name")) == image:
            return entry
    return entries[0] if image is None and len(entries) == 1 else None


def deployed_commit(text: str | None, file: str, image: str | None) -> tuple[str | None, str | None]:
    """The commit in the `sha-<commit>` tag this kustomization deploys, or (None, why not)."""
    if text is None:
        return None, f"since-deployed: {file} does not exist"
    entry = find_entry(load(text, file), file, image)
    if entry is None:
        return None, f"since-deployed: {file} has no images entry for {image or 'the service'}"
    tag = str(entry.get("newTag", ""))
    m = SHA_TAG.match(tag)
    if not m:
        return None, f"since-deployed: tag {tag!r} in {file} names no commit (expected sha-<commit>)"
    return m.group(1), None


def image_name(ref: str) -> str:
    """`registry/repo:tag@sha256:…` → `registry/repo`, the name kustomize's images: matches."""
    ref = ref.split("@", 1)[0]
    colon = ref.rfind(":")
    return ref[:colon] if colon > ref.rfind("/") else ref


def lookup(data: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at a dotted key path (`image.tag`) of plain data."""
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


@dataclass(frozen=True)
class DeployedCommit:
    """The commit a service's deployment runs, or why there is none; `skip` when the service
    deploys nothing, so there is nothing to compare from and nothing to redeploy."""

    commit: str | None
    why: str | None
    skip: bool = False


def deployed_commit_of(cfg: WorkspaceMap, service: str, read: Callable[[str], str | None]) -> DeployedCommit:
    """`deployed_commit` for the service's deploy kind: its kustomization, its Helm values file
    (the tag at the map's key path), or none at all."""
    deploy = cfg.deploy_of(service)
    if deploy.kind == "none" or deploy.file is None:
        return DeployedCommit(
            None,
            f'since-deployed: {service} is built and pushed only (deploy = "none"): nothing is deployed '
            "to compare from",
            skip=True,
        )
    text = read(deploy.file)
    if deploy.kind == "kustomize":
        return DeployedCommit(*deployed_commit(text, deploy.file, cfg.image(service)))
    if text is None:
        return DeployedCommit(None, f"since-deployed: {deploy.file} does not exist")
    docs = yamlfile.load_all(text, deploy.file)
    data = docs[0] if len(docs) == 1 else None
    found, tag = lookup(data, deploy.keys.tag)
    m = SHA_TAG.match(str(tag)) if found else None
    if not m:
        return DeployedCommit(
            None,
            f"since-deployed: {deploy.keys.tag} {tag!r} in {deploy.file} names no commit (expected sha-<commit>)"
            if found
            else f"since-deployed: {deploy.file} has no {deploy.keys.tag}",
        )
    return DeployedCommit(m.group(1), None)
