"""What a Cargo.toml edit means: compared as parsed data, so comments and formatting never count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from buildctl.detect.crate_manifest import DEP_TABLES
from buildctl.detect.workspace import Workspace

# [workspace] keys that change no binary.
_INERT_WORKSPACE_KEYS = frozenset({"metadata", "default-members"})
# Root keys whose change rebuilds every service.
_GLOBAL_KEYS = frozenset({"profile", "patch", "replace"})
_DEV_TABLES = frozenset(k for k, v in DEP_TABLES.items() if v == "dev")


def build_relevant(manifest: Mapping[str, Any] | None) -> Any:
    """A crate manifest without the parts that never reach its image (dev-dependencies, metadata)."""
    if manifest is None:
        return None
    out = {k: v for k, v in manifest.items() if k not in _DEV_TABLES and k not in ("badges", "workspace")}
    if isinstance(out.get("package"), dict):
        out["package"] = {k: v for k, v in out["package"].items() if k != "metadata"}
    if isinstance(out.get("target"), dict):
        out["target"] = {
            cfg: {k: v for k, v in body.items() if k not in _DEV_TABLES} if isinstance(body, dict) else body
            for cfg, body in out["target"].items()
        }
    for key in _GLOBAL_KEYS:
        out.pop(key, None)  # judged separately, for every service
    return out


class RootChanges:
    """The effects of a root Cargo.toml edit."""

    def __init__(self) -> None:
        self.crates: dict[str, str] = {}  # crate → what changed, for its reason
        self.everything: list[str] = []  # reasons that rebuild every service


def _differing(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def root_changes(
    base: Mapping[str, Any] | None,
    head: Mapping[str, Any] | None,
    base_ws: Workspace | None,
    head_ws: Workspace,
    manifest: str,
) -> RootChanges:
    out = RootChanges()
    if base is None or head is None:
        out.everything.append(f"{manifest} {'added' if base is None else 'deleted'}")
        return out
    for key in _differing(base, head):
        if key in _GLOBAL_KEYS or (
            key != "workspace" and key not in ("package", *DEP_TABLES, "target", "lib", "bin", "features")
        ):
            out.everything.append(f"{manifest}: [{key}] changed")
    ws_b = base.get("workspace") if isinstance(base.get("workspace"), dict) else {}
    ws_h = head.get("workspace") if isinstance(head.get("workspace"), dict) else {}
    assert isinstance(ws_b, dict) and isinstance(ws_h, dict)
    for key in _differing(ws_b, ws_h):
        if key in _INERT_WORKSPACE_KEYS:
            continue
        if key == "dependencies":
            for dep in _differing(ws_b.get(key, {}), ws_h.get(key, {})):
                for ws in (head_ws, base_ws):
                    for crate in ws.mentioning(dep) if ws else ():
                        if any(d.inherited and d.key == dep and d.kind != "dev" for d in crate.deps):
                            out.crates.setdefault(crate.name, f"{manifest} [workspace.dependencies] {dep}")
        elif key == "package":
            for fld in _differing(ws_b.get(key, {}), ws_h.get(key, {})):
                for crate in head_ws.mentioning(fld):
                    if fld in crate.inherited_package_keys:
                        out.crates.setdefault(crate.name, f"{manifest} [workspace.package] {fld}")
        elif key in ("members", "exclude"):
            before = set(base_ws.crates) if base_ws else set()
            for name in sorted(set(head_ws.crates) ^ before):
                out.crates.setdefault(name, f"{manifest} [workspace] {key}: {name} added or removed")
        else:
            out.everything.append(f"{manifest}: [workspace.{key}] changed")
    return out
