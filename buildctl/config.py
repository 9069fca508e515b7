"""`workspace-map.toml` → frozen, validated settings (the data is in `mapmodel`).

Every problem is reported with the file, the line and the key, and what was expected.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from buildctl import maptables, tomlfile
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet
from buildctl.mapmodel import (
    BUILDCTL_OUTPUTS,
    DEFAULT_BIN_ARG,
    DEFAULT_BUILD_ALL,
    DEFAULT_DOCKERFILE,
    DEFAULT_IGNORE,
    DEFAULT_TARGET,
    DEPLOY_KINDS,
    MAP_FILE,
    PLACEHOLDER_OWNERS,
    REGISTRY,
    SERVICE_NAME,
    BuildSettings,
    Deploy,
    ImageKeys,
    PathFilter,
    Rules,
    Service,
    WorkspaceMap,
)
from buildctl.mapreader import Reader

__all__ = [
    "BUILDCTL_OUTPUTS",
    "DEFAULT_BUILD_ALL",
    "DEFAULT_IGNORE",
    "MAP_FILE",
    "PLACEHOLDER_OWNERS",
    "REGISTRY",
    "SERVICE_NAME",
    "BuildSettings",
    "PathFilter",
    "Rules",
    "Service",
    "WorkspaceMap",
    "check_service_name",
    "load_map",
    "parse_map",
]

_WORKSPACE_KEYS = (
    "root",
    "registry",
    "dockerfile",
    "context",
    "target",
    "bin_arg",
    "deployments",
    "deploy",
    "image_keys",
    "platforms",
)
_RULE_KEYS = ("build_all", "deploy_all", "ignore", "unowned")
_SERVICE_KEYS = (
    "crate",
    "inputs",
    "dockerfile",
    "context",
    "target",
    "build_args",
    "bin",
    "bin_arg",
    "deploy",
    "values",
    "image_keys",
)
_TOP_KEYS = ("workspace", "rules", "services", "build", "crates", "filters", "acknowledged")
_HELM_ONLY = ("values", "image_keys")


def check_service_name(name: str, where: str = "service name") -> str:
    if not SERVICE_NAME.match(name):
        raise BuildctlError(
            f"{where} {name!r} is not allowed: use lower-case letters, digits and single '.', '_' or '-' "
            "between them (no slashes, '..', spaces or shell characters)"
        )
    return name


def _under(root: str, pattern: str) -> str:
    return posixpath.join(root, pattern) if root else pattern


def _target(r: Reader, data: Mapping[str, Any], table: list[str], default: str) -> str:
    target = r.string(data, table, "target", default)
    if target and not SERVICE_NAME.match(target.lower()):
        raise r.fail(table, "target", f"'target' = {target!r} is not a Dockerfile stage name")
    return target


def parse_map(text: str, file: str) -> WorkspaceMap:
    data = tomlfile.parse_many(text, file)
    r = Reader(text, file)
    r.table(data, [], _TOP_KEYS)
    for name in _TOP_KEYS:
        if name in data and not isinstance(data[name], dict):
            raise r.fail([], name, f"'{name}' must be a table ([{name}])")

    ws = data.get("workspace", {})
    table = ["workspace"]
    r.table(ws, table, _WORKSPACE_KEYS)
    root = r.relpath(ws, table, "root", ".")
    registry = ws.get("registry")
    if registry is not None:
        registry = r.string(ws, table, "registry", "").rstrip("/")
        if not REGISTRY.match(registry):
            raise r.fail(
                table,
                "registry",
                f"'registry' = {registry!r} is not an image registry path",
                hint="write it like ghcr.io/OWNER/REPO or 127.0.0.1:5000/team (lower case, no scheme)",
            )
    dockerfile = r.relpath(ws, table, "dockerfile", DEFAULT_DOCKERFILE)
    context = r.relpath(ws, table, "context", ".")
    deployments = r.relpath(ws, table, "deployments", "deployments")
    defaults = Service(
        "",
        "",
        GlobSet.of([]),
        dockerfile=dockerfile,
        context=context,
        target=_target(r, ws, table, DEFAULT_TARGET),
        bin_arg=r.arg_name(ws, table, "bin_arg", DEFAULT_BIN_ARG),
        deploy=Deploy(
            r.choice(ws, table, "deploy", DEPLOY_KINDS, "kustomize"),
            None,
            maptables.image_keys(r, ws, table, ImageKeys()),
        ),
    )
    if "image_keys" in ws and defaults.deploy.kind != "helm":
        _helm_only(r, table, "image_keys", defaults.deploy.kind)
    platforms = r.platforms(ws, table, "platforms")

    rules_data = data.get("rules", {})
    r.table(rules_data, ["rules"], _RULE_KEYS)
    unowned = rules_data.get("unowned", "all")
    if unowned not in ("all", "ignore"):
        raise r.fail(["rules"], "unowned", f'\'unowned\' must be "all" or "ignore", not {unowned!r}')
    rules = Rules(
        build_all=r.globs(
            rules_data,
            ["rules"],
            "build_all",
            (
                dockerfile,
                _under(context, ".dockerignore"),
                *(_under(root, p) for p in DEFAULT_BUILD_ALL if p != DEFAULT_DOCKERFILE),
            ),
        ),
        deploy_all=r.globs(rules_data, ["rules"], "deploy_all", (_under(deployments, "base/**"),)),
        ignore=r.globs(rules_data, ["rules"], "ignore", DEFAULT_IGNORE),
        unowned=unowned,
    )
    services = _services(r, data.get("services", {}), defaults, deployments)
    return WorkspaceMap(
        build=maptables.build_settings(r, data.get("build", {})),
        file=file,
        root=root,
        registry=registry,
        dockerfile=dockerfile,
        deployments=deployments,
        rules=rules,
        services=services,
        platforms=platforms,
        crate_inputs=maptables.crate_inputs(r, data.get("crates", {})),
        filters=maptables.filters(r, data.get("filters", {}), services),
        acknowledged=maptables.acknowledged(r, data.get("acknowledged", {})),
    )


def _helm_only(r: Reader, table: list[str], key: str, kind: str) -> None:
    raise r.fail(
        table,
        key,
        f"'{key}' is for Helm values files, and this deploys with {kind!r}",
        hint='set deploy = "helm" here (or in [workspace]), or remove the key',
    )


def _services(r: Reader, data: Mapping[str, Any], defaults: Service, deployments: str) -> dict[str, Service]:
    services: dict[str, Service] = {}
    crates_seen: dict[str, str] = {}
    for name, body in data.items():
        table = ["services", name]
        if not SERVICE_NAME.match(name):
            raise r.fail(
                table,
                None,
                f"service name {name!r} is not allowed",
                hint="use lower-case letters, digits and single '.', '_' or '-' between them "
                "(no slashes, '..', spaces or shell characters)",
            )
        if not isinstance(body, dict):
            raise r.fail(["services"], name, f"'services.{name}' must be a table")
        r.table(body, table, _SERVICE_KEYS)
        crate = r.string(body, table, "crate", name)
        if crate in crates_seen:
            raise r.fail(
                table,
                "crate",
                f"crate '{crate}' is already mapped to service '{crates_seen[crate]}'",
                hint="each crate builds one service; remove one of the two entries",
            )
        crates_seen[crate] = name
        kind = r.choice(body, table, "deploy", DEPLOY_KINDS, defaults.deploy.kind)
        for key in _HELM_ONLY:
            if key in body and kind != "helm":
                _helm_only(r, table, key, kind)
        if kind == "kustomize":
            deploy = Deploy(kind, posixpath.join(deployments, name, "kustomization.yaml"))
        elif kind == "helm":
            values = r.relpath(body, table, "values", posixpath.join(deployments, name, "values.yaml"))
            deploy = Deploy(kind, values, maptables.image_keys(r, body, table, defaults.deploy.keys))
        else:
            deploy = Deploy("none")
        bin_name = r.string(body, table, "bin", "")
        if bin_name and not SERVICE_NAME.match(bin_name.lower().replace("_", "-")):
            raise r.fail(table, "bin", f"'bin' = {bin_name!r} is not a binary name")
        services[name] = Service(
            name=name,
            crate=crate,
            inputs=r.globs(body, table, "inputs", ()),
            dockerfile=r.relpath(body, table, "dockerfile", defaults.dockerfile),
            context=r.relpath(body, table, "context", defaults.context or "."),
            target=_target(r, body, table, defaults.target),
            build_args=r.strings(body, table, "build_args"),
            bin=bin_name,
            bin_arg=r.arg_name(body, table, "bin_arg", defaults.bin_arg),
            deploy=deploy,
        )
    return dict(sorted(services.items()))


def load_map(repo: Path, map_path: Path | None) -> WorkspaceMap:
    path = map_path if map_path is not None else repo / MAP_FILE
    try:
        display = (
            str(path.relative_to(repo)) if path.is_absolute() and path.is_relative_to(repo) else str(path)
        )
    except ValueError:
        display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BuildctlError(
            "no workspace map found",
            file=display,
            hint="write one (see docs/workspace-map.md) or pass --map PATH",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildctlError(f"cannot read the workspace map: {exc}", file=display) from None
    return parse_map(text, display)
