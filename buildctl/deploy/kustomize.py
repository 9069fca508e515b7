"""Kustomization files: read the deployed image tag, and set it, with round-trip YAML.

Edits are splices, not re-dumps: ruamel.yaml's composer gives the exact span of every node,
and the new text goes exactly there, in the style the file already uses (indentation, dash
offset, quotes, line ending). Every line the edit does not touch stays byte-identical. Each
result is parsed again and compared with the document it must mean before anyone writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

from buildctl import yamledit
from buildctl.errors import BuildctlError

_SHA_TAG = re.compile(r"^sha-([0-9a-f]{7,40})$")
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


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def _parse_all(text: str, file: str, compose: bool = False) -> list[Any]:
    from ruamel.yaml.error import YAMLError

    yaml = _yaml()
    try:
        return list(yaml.compose_all(text) if compose else yaml.load_all(StringIO(text)))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BuildctlError(
            f"is not valid YAML: {getattr(exc, 'problem', exc)}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except Exception as exc:  # the library on text it cannot read: `!!int abc`, a bare `!!int`, …
        raise BuildctlError(f"is not valid YAML: {type(exc).__name__}: {exc}", file=file) from None


def load(text: str, file: str) -> Any:
    docs = _parse_all(text, file)
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


def _kind(node: Any) -> str:
    return type(node).__name__


def _get(mapping: Any, key: str) -> tuple[Any, Any] | None:
    return next(((k, v) for k, v in mapping.value if k.value == key), None)


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _no_aliases(node: Any, file: str, line: int | None = None) -> None:
    """Refuse anchors, aliases and merge keys in `node`; `line` is where the node is used."""
    if getattr(node, "anchor", None):
        raise BuildctlError(
            f"the images entries use the YAML anchor/alias '{node.anchor}'; changing one place would "
            "change every other place that shares it",
            file=file,
            line=line or _line(node),
            hint=_ALIAS_HINT,
        )
    if _kind(node) == "SequenceNode":
        for item in node.value:
            _no_aliases(item, file)
    elif _kind(node) == "MappingNode":
        for key, value in node.value:
            if key.tag.endswith(":merge") or key.value == "<<":
                raise BuildctlError(
                    "an images entry uses a '<<' merge key", file=file, line=_line(key), hint=_ALIAS_HINT
                )
            _no_aliases(key, file)
            _no_aliases(value, file, _line(key))


def _root(text: str, file: str) -> Any:
    load(text, file)  # one document, a mapping, no duplicate keys
    root = _parse_all(text, file, compose=True)[0]
    if root.flow_style:
        raise BuildctlError("is written as a {flow} mapping; bump edits block-style files", file=file)
    return root


def _images(root: Any, file: str) -> Any | None:
    found = _get(root, "images")
    if found is None or (_kind(found[1]) == "ScalarNode" and found[1].value == ""):
        return None
    node = found[1]
    _no_aliases(node, file, _line(found[0]))
    if _kind(node) != "SequenceNode" or any(_kind(item) != "MappingNode" for item in node.value):
        raise BuildctlError("'images' must be a list of mappings", file=file, line=_line(node))
    return node


def _value(entry: Any, key: str, file: str) -> str | None:
    found = _get(entry, key)
    if found is None:
        return None
    node = found[1]
    if _kind(node) != "ScalarNode" or node.style in ("|", ">"):
        raise BuildctlError(f"'{key}' must be a one-line string", file=file, line=_line(node))
    return None if node.tag.endswith(":null") else str(node.value)  # `newTag: 1.36` is a tag too


def current(text: str, file: str, image: str) -> Current | None:
    """The entry whose `newName` (or, without one, `name`) is `image`; None if there is none."""
    images = _images(_root(text, file), file)
    hits = [
        Current(i, _line(e), _value(e, "newTag", file), _value(e, "digest", file))
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
    for doc in _parse_all(text, file):
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


def image_name(ref: str) -> str:
    """`registry/repo:tag@sha256:…` → `registry/repo`, the name kustomize's images: matches."""
    ref = ref.split("@", 1)[0]
    colon = ref.rfind(":")
    return ref[:colon] if colon > ref.rfind("/") else ref


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
                line=_line(entry),
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


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _verified(old: str, new: str, file: str, expect: Callable[[Any], None]) -> str:
    want = _plain(load(old, file))
    expect(want)
    if _plain(load(new, file)) != want:
        raise BuildctlError(
            "buildctl could not edit this file without changing its meaning elsewhere",
            file=file,
            hint="edit the images entry by hand this once, and please report the file's shape",
        )
    return new
