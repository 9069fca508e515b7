"""For `init`: Helm charts whose values name a service's image, and per-crate inputs a build
reads from outside its crate (`include_str!`/`include_bytes!` paths, paths in `build.rs`)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from buildctl import yamlfile
from buildctl.detect.workspace import Crate, join
from buildctl.errors import BuildctlError
from buildctl.init.proposal import Rule, Scan, escape_glob
from buildctl.mapmodel import ImageKeys

_VALUES = re.compile(r"(?:^|/)values\.ya?ml$")
_INCLUDE = re.compile(r"\binclude_(?:str|bytes)!\s*\(\s*\"([^\"]+)\"\s*\)")
_BUILD_PATH = re.compile(r"\"((?:\.\.?/)[^\"\s]*)\"|rerun-if-changed=([^\"\s}]+)")


@dataclass(frozen=True)
class Chart:
    values: str
    keys: ImageKeys
    repository: str | None


def _images(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every mapping in the values that holds an image: `repository` and `tag` keys."""
    if not isinstance(data, dict):
        return
    if "repository" in data and "tag" in data:
        yield prefix, data
    for key, value in data.items():
        if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]+", key):
            yield from _images(value, (*prefix, key))


def charts(s: Scan, names: Sequence[str]) -> dict[str, Chart]:
    """Service name -> the values file and keys of its image: a chart named after it with an
    `image:` mapping, or a values file with `<name>: {image: ...}` (an umbrella chart), or one
    whose image repository ends with the name."""
    paths = [
        p
        for p in s.files
        if _VALUES.search(p) and posixpath.join(posixpath.dirname(p), "Chart.yaml") in s.files
    ]
    s.snap.fetch(paths)
    found: dict[str, Chart] = {}
    for path in sorted(paths, key=lambda p: (p.count("/"), p)):
        text = s.text(path)
        try:
            data = yamlfile.load_plain(text or "", path)
        except BuildctlError:
            s.notes.append(f"{path} is not valid YAML: not read for a Helm chart")
            continue
        chart = posixpath.basename(posixpath.dirname(path))
        for prefix, image in _images(data):
            repo = image.get("repository")
            repo = repo if isinstance(repo, str) else None
            dotted = ".".join(prefix)
            owner = next(
                (
                    n
                    for n in names
                    if (prefix == ("image",) and chart == n)
                    or (prefix[:1] == (n,))
                    or (repo is not None and repo.rpartition("/")[2] == n)
                ),
                None,
            )
            if owner is None or owner in found:
                continue
            keys = ImageKeys(
                f"{dotted}.repository", f"{dotted}.tag", f"{dotted}.digest" if "digest" in image else ""
            )
            found[owner] = Chart(path, keys, repo)
    return found


def crate_inputs(s: Scan, crates: Sequence[Crate]) -> dict[str, tuple[Rule, ...]]:
    """Crate -> the files outside it that its sources include or its build script reads."""
    present = set(s.files)
    dirs = {posixpath.dirname(f) for f in s.files}
    sources: dict[str, list[str]] = {}
    for f in s.files:
        if f.endswith(".rs"):
            owner = s.workspace.owner(f)
            if owner is not None:
                sources.setdefault(owner, []).append(f)
    out: dict[str, tuple[Rule, ...]] = {}
    for crate in crates:
        files = sources.get(crate.name, [])
        s.snap.fetch(files)
        rules: dict[str, Rule] = {}
        for f in files:
            text = s.text(f) or ""
            is_build = f == join(crate.dir, "build.rs")
            found = [(m, posixpath.dirname(f)) for m in _INCLUDE.findall(text)]
            if is_build:
                found += [(a or b, crate.dir) for a, b in _BUILD_PATH.findall(text)]
            for raw, base in found:
                raw = raw.replace("$CARGO_MANIFEST_DIR/", "").replace("${CARGO_MANIFEST_DIR}/", "")
                base = crate.dir if raw != raw.lstrip("/") else base
                target = posixpath.normpath(join(base, raw))
                if target.startswith("..") or target == "." or target == crate.dir:
                    continue
                if crate.dir and (target + "/").startswith(crate.dir + "/"):
                    continue  # inside the crate: its own files
                if target in present:
                    glob = escape_glob(target)
                elif target in dirs or any(d.startswith(target + "/") for d in dirs):
                    glob = f"{escape_glob(target)}/**"
                else:
                    continue
                what = "build.rs reads it" if is_build else f"{posixpath.basename(f)} includes it"
                rules.setdefault(glob, Rule(glob, what))
        if rules:
            out[crate.name] = tuple(rules.values())
    return out
