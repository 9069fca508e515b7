"""Helm values files: set a service's image repository, tag and digest, byte-preserving.

The same splice edit as the kustomizations (`yamledit`, at the spans ruamel.yaml's composer
gives each node): the new text goes exactly where the old value was, every other line stays
byte-identical, and the result is parsed again and compared with the data it must mean before
anyone writes it. The key paths (`image.repository`, `image.tag`, `image.digest` by default)
come from the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from buildctl import yamledit, yamlfile
from buildctl.deploy.kustomize import plain
from buildctl.deployed import lookup
from buildctl.errors import BuildctlError
from buildctl.mapmodel import ImageKeys
from buildctl.yamlfile import kind, pair


@dataclass(frozen=True)
class Current:
    """The image a values file names now (None where the key is absent)."""

    repository: str | None
    tag: str | None
    digest: str | None


def _split(path: str) -> list[str]:
    return path.split(".")


def _doc(text: str, file: str) -> Any:
    docs = yamlfile.load_all(text, file)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise BuildctlError(
            "is not one YAML mapping: a Helm values file is exactly one",
            file=file,
            hint="fix the values file, or point `values` in the map at the right one",
        )
    return docs[0]


def _scalar(data: Any, path: str, file: str) -> str | None:
    found, value = lookup(data, path)
    if not found or value is None:
        return None
    if isinstance(value, dict | list):
        raise BuildctlError(f"'{path}' must be a one-line string, not a {type(value).__name__}", file=file)
    return str(value)


def current(text: str, file: str, keys: ImageKeys) -> Current:
    data = plain(_doc(text, file))
    return Current(
        _scalar(data, keys.repository, file),
        _scalar(data, keys.tag, file),
        _scalar(data, keys.digest, file) if keys.digest else None,
    )


def missing(text: str, file: str, keys: ImageKeys) -> list[str]:
    """The key paths a bump needs and the file lacks: repository and tag, and the mapping the
    digest would go in (a digest key itself may be added)."""
    data = plain(_doc(text, file))
    out = [p for p in (keys.repository, keys.tag) if not lookup(data, p)[0]]
    if keys.digest:
        parent = keys.digest.rpartition(".")[0]
        if parent and not isinstance(lookup(data, parent)[1], dict):
            out.append(parent)
    return out


def _mapping(text: str, file: str, path: str) -> Any:
    """The mapping node that holds the last key of `path`."""
    node = yamlfile.compose(text, file)
    for part in _split(path)[:-1]:
        found = pair(node, part)
        if found is None or kind(found[1]) != "Mapping":
            raise BuildctlError(
                f"has no mapping '{path.rpartition('.')[0]}' to hold '{path}'",
                file=file,
                hint="add the key by hand once (or fix `image_keys` in the map)",
            )
        node = found[1]
    if getattr(node, "anchor", None):
        raise BuildctlError(
            f"'{path}' is in a mapping with the YAML anchor '{node.anchor}'; changing it would change "
            "every place that shares it",
            file=file,
            line=yamlfile.line(node),
            hint="write that mapping out in full, without &anchors and *aliases",
        )
    return node


def _set(text: str, file: str, path: str, value: str, after: tuple[str, ...]) -> str:
    node = _mapping(text, file, path)
    return yamledit.set_key(text, node, _split(path)[-1], value, after=after)


def set_image(
    text: str, file: str, keys: ImageKeys, repository: str | None, tag: str, digest: str | None
) -> str:
    """Set the tag, the repository (when given) and the digest (none: emptied where the file has
    the key, so a chart that reads it takes the tag) at the map's key paths."""
    had = current(text, file, keys)
    new = text
    if repository is not None and had.repository != repository:
        new = _set(new, file, keys.repository, repository, ())
    new = _set(new, file, keys.tag, tag, (_split(keys.repository)[-1],))
    if keys.digest and (digest or lookup(plain(_doc(text, file)), keys.digest)[0]):
        new = _set(new, file, keys.digest, digest or "", (_split(keys.tag)[-1],))

    want = plain(_doc(text, file))
    digest_too = bool(keys.digest) and bool(digest or lookup(want, keys.digest)[0])
    if repository is not None:
        _put(want, keys.repository, repository)
    _put(want, keys.tag, tag)
    if digest_too:
        _put(want, keys.digest, digest or "")
    if plain(_doc(new, file)) != want:
        raise BuildctlError(
            "buildctl could not edit this file without changing its meaning elsewhere",
            file=file,
            hint="edit the image keys by hand this once, and please report the file's shape",
        )
    return new


def _put(data: Any, path: str, value: Any) -> None:
    parts = _split(path)
    for part in parts[:-1]:
        data = data[part]
    data[parts[-1]] = value
