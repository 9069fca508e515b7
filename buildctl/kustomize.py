"""Kustomization files: read the deployed image tag (and, later, bump it) with round-trip YAML."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

from buildctl.errors import BuildctlError

_SHA_TAG = re.compile(r"^sha-([0-9a-f]{7,40})$")


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def load(text: str, file: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        docs = list(_yaml().load_all(StringIO(text)))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BuildctlError(
            f"is not valid YAML: {getattr(exc, 'problem', exc)}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
        ) from None
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
    for entry in image_entries(doc, file):
        if image is not None and (entry.get("newName") or entry.get("name")) == image:
            return entry
    entries = image_entries(doc, file)
    return entries[0] if image is None and len(entries) == 1 else None


def deployed_commit(text: str | None, file: str, image: str | None) -> tuple[str | None, str | None]:
    """The commit in the `sha-<commit>` tag this kustomization deploys, or (None, why not)."""
    if text is None:
        return None, f"since-deployed: {file} does not exist"
    entry = find_entry(load(text, file), file, image)
    if entry is None:
        return None, f"since-deployed: {file} has no images entry for {image or 'the service'}"
    tag = str(entry.get("newTag", ""))
    m = _SHA_TAG.match(tag)
    if not m:
        return None, f"since-deployed: tag {tag!r} in {file} names no commit (expected sha-<commit>)"
    return m.group(1), None
