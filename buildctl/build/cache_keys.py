"""Content keys for caching: the cook stage's key and each service's input fingerprint, and the
image a cook is kept under.

Pure functions of a revision: the same inputs give the same key on any machine, so a key can
name an image in the registry (`cook-<key>`, `fp-<key>`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from buildctl.config import WorkspaceMap
from buildctl.detect import cargo_lock
from buildctl.detect.revision import Revision
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import join
from buildctl.globs import GlobSet

KEY_LENGTH = 24
_TOOLCHAIN = ("rust-toolchain", "rust-toolchain.toml", ".cargo/config.toml", ".cargo/config")


def _content_id(snap: Snapshot, path: str) -> str:
    # A blob id is already a content hash; the listing has it for any path, however named.
    return snap.files.get(path) or snap.oid(path) or ""


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()[:KEY_LENGTH]


def _shared_inputs(rev: Revision, dockerfile: str, args: Mapping[str, str]) -> list[str]:
    snap, root = rev.snap, rev.root
    parts = [f"dockerfile {_content_id(snap, dockerfile)}"]
    parts += [f"{p} {_content_id(snap, join(root, p))}" for p in ("Cargo.toml", *_TOOLCHAIN)]
    parts += [f"arg {k}={v}" for k, v in sorted(args.items())]
    return parts


def cook_key(rev: Revision, dockerfile: str, args: Mapping[str, str]) -> str:
    """Everything `cargo chef cook` sees: every manifest, the lock, the toolchain, the Dockerfile."""
    manifests = sorted(c.manifest for c in rev.ws.crates.values())
    parts = _shared_inputs(rev, dockerfile, args)
    parts += [f"{m} {_content_id(rev.snap, m)}" for m in manifests]
    parts.append(f"Cargo.lock {_content_id(rev.snap, join(rev.root, 'Cargo.lock'))}")
    return _digest(parts)


def service_fingerprints(
    rev: Revision,
    crates: Mapping[str, str],
    dockerfile: str,
    args: Mapping[str, str],
    inputs: Mapping[str, GlobSet] = {},
) -> dict[str, str]:
    """Service → a key over the files of its crate closure, the lock entries it resolves, the
    build's shared inputs, and the files outside the crates that its build reads (`inputs`: the
    service's own and each crate's of its closure, by service and by crate name). Two commits
    with the same fingerprint build the same image."""
    ws, snap = rev.ws, rev.snap
    by_crate: dict[str, list[str]] = {}
    for path in snap.files:
        owner = ws.owner(path)
        if owner is not None:
            by_crate.setdefault(owner, []).append(path)
    lock_text = snap.text(join(rev.root, "Cargo.lock"))
    lock = cargo_lock.parse(lock_text, join(rev.root, "Cargo.lock")) if lock_text else None
    shared = _shared_inputs(rev, dockerfile, args)
    out: dict[str, str] = {}
    edges: dict[cargo_lock.Key, tuple[cargo_lock.Key, ...]] = {}  # shared by every service's walk
    for service, crate in crates.items():
        closure = sorted(rev.graph.closure(crate))
        parts = [*shared, f"service {service}", f"crate {crate}"]
        for name in closure:
            parts += [f"{p} {_content_id(snap, p)}" for p in sorted(by_crate.get(name, ()))]
        globs = [g for g in (inputs.get(service), *(inputs.get(f"crate {c}") for c in closure)) if g]
        if globs:
            parts += [
                f"input {p} {_content_id(snap, p)}"
                for p in sorted(snap.files)
                if any(g.match(p) for g in globs)
            ]
        if lock is not None:
            start = next((k for k in lock.by_name.get(crate, ()) if not k[2]), None)
            if start is not None:
                resolved = cargo_lock.find_path(lock, start, lock.packages, ws.non_dev_deps, edges)
                parts += [f"lock {k[0]} {k[1]} {k[2]} {lock.packages[k].checksum}" for k in sorted(resolved)]
        out[service] = _digest(parts)
    return out


def cook_ref(cfg: WorkspaceMap, key: str) -> str:
    """`<registry>/<cache_repository>:cook-<key>`, or a local name when the map names no registry."""
    host = cfg.registry or "buildctl-cache"
    return f"{host}/{cfg.build.cache_repository}:cook-{key}"
