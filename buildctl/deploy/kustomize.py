"""Kustomization files: set a service's image tag and digest, byte-preserving.

Edits are splices, not re-dumps: ruamel.yaml's composer gives the exact span of every node,
and the new text goes exactly there, in the style the file already uses (indentation, dash
offset, quotes, line ending). Every line the edit does not touch stays byte-identical. Each
result is parsed again and compared with the document it must mean before anyone writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from buildctl import yamledit, yamlfile
from buildctl.deployed import load
from buildctl.errors import BuildctlError
from buildctl.yamlfile import kind, pair

_ALIAS_HINT = "write the images entry out in full, without &anchors, *aliases or <<: merge keys"
WORKLOAD_KINDS = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
}


# --- reading the node tree ------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """The images entry a service's image matches, as the file has it now."""

    index: int
    line: int
    tag: str | None
    digest: str | None


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    file: str
    line: int


def _no_aliases(node: Any, file: str, line: int | None = None) -> None:
    """Refuse anchors, aliases and merge keys in `node`; `line` is where the node is used."""
    if getattr(node, "anchor", None):
        raise BuildctlError(
            f"the images entries use the YAML anchor/alias '{node.anchor}'; changing one place would "
            "change every other place that shares it",
            file=file,
            line=line or yamlfile.line(node),
            hint=_ALIAS_HINT,
        )
    if kind(node) == "Sequence":
        for item in node.value:
            _no_aliases(item, file)
    elif kind(node) == "Mapping":
        for key, value in node.value:
            if key.tag.endswith(":merge") or key.value == "<<":
                raise BuildctlError(
                    "an images entry uses a '<<' merge key",
                    file=file,
                    line=yamlfile.line(key),
                    hint=_ALIAS_HINT,
                )
            _no_aliases(key, file)
            _no_aliases(value, file, yamlfile.line(key))


def _root(text: str, file: str) -> Any:
    load(text, file)  # one document, a mapping, no duplicate keys
    root = yamlfile.compose(text, file)
    if root.flow_style:
        raise BuildctlError("is written as a {flow} mapping; bump edits block-style files", file=file)
    return root


def _images(root: Any, file: str) -> Any | None:
    found = pair(root, "images")
    if found is None or (kind(found[1]) == "Scalar" and found[1].value == ""):
        return None
    node = found[1]
    _no_aliases(node, file, yamlfile.line(found[0]))
    if kind(node) != "Sequence" or any(kind(item) != "Mapping" for item in node.value):
        raise BuildctlError("'images' must be a list of mappings", file=file, line=yamlfile.line(node))
    return node


def _value(entry: Any, key: str, file: str) -> str | None:
    found = pair(entry, key)
    if found is None:
        return None
    node = found[1]
    if kind(node) != "Scalar" or node.style in ("|", ">"):
        raise BuildctlError(f"'{key}' must be a one-line string", file=file, line=yamlfile.line(node))
    return None if node.tag.endswith(":null") else str(node.value)  # `newTag: 1.36` is a tag too


def current(text: str, file: str, image: str) -> Current | None:
    """The entry whose `newName` (or, without one, `name`) is `image`; None if there is none."""
    images = _images(_root(text, file), file)
    hits = [
        Current(i, yamlfile.line(e), _value(e, "newTag", file), _value(e, "digest", file))
        for i, e in enumerate(images.value if images is not None else [])
        if (_value(e, "newName", file) or _value(e, "name", file)) == image
    ]
    if len(hits) > 1:
        lines = ", ".join(str(h.line) for h in hits)
        raise BuildctlError(
            f"{len(hits)} images entries (lines {lines}) name {image}",
            file=file,
            line=hits[1].line,
            hint="keep one entry per image",
        )
    return hits[0] if hits else None


def resources(text: str, file: str) -> list[str]:
    doc = load(text, file)
    out: list[str] = []
    for key in ("resources", "bases"):
        items = doc.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise BuildctlError(f"'{key}' must be a list of paths", file=file)
        out.extend(items)
    return out


def containers(text: str, file: str) -> list[Container]:
    """Containers (and init containers) of the workloads in a resource file."""
    out: list[Container] = []
    for doc in yamlfile.load_all(text, file):
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("kind"), str)
            or doc["kind"] not in WORKLOAD_KINDS
        ):
            continue
        spec: Any = doc.get("spec") or {}
        path = {"Pod": [], "CronJob": ["jobTemplate", "spec", "template", "spec"]}.get(
            doc["kind"], ["template", "spec"]
        )
        for step in path:
            spec = spec.get(step) or {} if isinstance(spec, dict) else {}
        for key in ("initContainers", "containers"):
            items: Any = spec.get(key) or [] if isinstance(spec, dict) else []
            for c in items:
                if isinstance(c, dict) and isinstance(c.get("image"), str):
                    line = getattr(c, "lc", None)
                    out.append(
                        Container(str(c.get("name", "")), c["image"], file, line.line + 1 if line else 0)
                    )
    return out


# --- editing ------------------------------------------------------------------------------------


def _entry(text: str, file: str, index: int) -> Any:
    images = _images(_root(text, file), file)
    assert images is not None
    return images.value[index]


def set_image(text: str, file: str, image: str, tag: str, digest: str | None) -> str:
    """Set newTag (and digest; no digest removes a stale one) of the entry matching `image`."""
    found = current(text, file, image)
    if found is None:
        raise BuildctlError(f"has no images entry for {image}", file=file)
    i = found.index
    new = yamledit.set_key(text, _entry(text, file, i), "newTag", tag, after=("newName", "name"))
    if digest:
        new = yamledit.set_key(new, _entry(new, file, i), "digest", digest, after=("newTag",))
    else:
        new = yamledit.del_key(new, _entry(new, file, i), "digest", file)

    def expect(doc: Any) -> None:
        entry = doc["images"][i]
        entry["newTag"] = tag
        entry.pop("digest", None)
        if digest:
            entry["digest"] = digest

    return _verified(text, new, file, expect)


def add_image(text: str, file: str, name: str, new_name: str, tag: str, digest: str | None) -> str:
    """Append an images entry that replaces `name` (the base's image) with `new_name:tag[@digest]`."""
    root = _root(text, file)
    images = _images(root, file)
    for entry in images.value if images is not None else []:
        if _value(entry, "name", file) == name:
            raise BuildctlError(
                f"the images entry for '{name}' points at {_value(entry, 'newName', file) or name}, "
                f"not at {new_name}",
                file=file,
                line=yamlfile.line(entry),
                hint=f"set its newName to {new_name} (or fix [workspace] registry in the map)",
            )
    fields = [
        ("name", name),
        ("newName", new_name),
        ("newTag", tag),
        *([("digest", digest)] if digest else []),
    ]
    new = yamledit.add_item(text, root, "images", fields)

    def expect(doc: Any) -> None:
        if doc.get("images") is None:
            doc["images"] = []
        doc["images"].append(dict(fields))

    return _verified(text, new, file, expect)


def plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def _verified(old: str, new: str, file: str, expect: Callable[[Any], None]) -> str:
    want = plain(load(old, file))
    expect(want)
    if plain(load(new, file)) != want:
        raise BuildctlError(
            "buildctl could not edit this file without changing its meaning elsewhere",
            file=file,
            hint="edit the images entry by hand this once, and please report the file's shape",
        )
    return new
