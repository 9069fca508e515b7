"""`workspace-map.toml` → frozen, validated settings.

Every problem is reported with the file, the line and the key, and what was expected.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from buildctl import tomlfile
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet, validate
from buildctl.platforms import SUPPORTED as PLATFORMS
from buildctl.platforms import native as native_platform

MAP_FILE = "workspace-map.toml"

# Docker repository path components: lower-case alphanumerics separated by one . _ or -.
# This also keeps service names safe in paths, tags and command lines.
SERVICE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
REGISTRY = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")

DEFAULT_BUILD_ALL = (
    "Dockerfile.service",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    ".cargo/config",
)
DEFAULT_IGNORE = ("**/*.md", "docs/**", "LICENSE*", "**/.gitignore")

_WORKSPACE_KEYS = ("root", "registry", "dockerfile", "deployments", "platforms")
_RULE_KEYS = ("build_all", "deploy_all", "ignore", "unowned")
_SERVICE_KEYS = ("crate", "inputs")
_BUILD_KEYS = ("cache_repository", "tags", "args", "platform_args", "source_url", "builder", "secrets")
BUILDERS = ("auto", "buildkit", "classic")
_SECRET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TOP_KEYS = ("workspace", "rules", "services", "build")
_EXTRA_TAGS = ("latest", "branch")
PLACEHOLDER_OWNERS = frozenset(
    {"example-org", "example", "owner", "your-org", "your-org-name", "my-org", "org-name"}
)


@dataclass(frozen=True)
class Service:
    name: str
    crate: str
    inputs: GlobSet


@dataclass(frozen=True)
class Rules:
    build_all: GlobSet
    deploy_all: GlobSet
    ignore: GlobSet
    unowned: Literal["all", "ignore"]


@dataclass(frozen=True)
class BuildSettings:
    cache_repository: str = "buildctl-cache"
    extra_tags: tuple[str, ...] = ()  # "latest" and/or "branch", besides the immutable sha-<commit>
    args: Mapping[str, str] = field(default_factory=dict)
    # platform → build arguments for that platform's images only, over `args` (its base images)
    platform_args: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source_url: str = ""
    builder: Literal["auto", "buildkit", "classic"] = "auto"
    # BuildKit secret id → where its value comes from: "env:NAME" or "file:PATH"
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkspaceMap:
    file: str
    root: str  # the Cargo workspace root, repo-relative posix ("" is the repo root)
    registry: str | None
    dockerfile: str
    deployments: str
    rules: Rules
    services: Mapping[str, Service]
    build: BuildSettings = field(default_factory=BuildSettings)
    # Every image is built for each of these ("linux/amd64", "linux/arm64"), in this order.
    platforms: tuple[str, ...] = ("linux/amd64",)

    @property
    def placeholder(self) -> str | None:
        """The part of `registry` that is a template's placeholder (`example-org`), if any: a
        push there fails, or lands in somebody else's namespace."""
        if not self.registry:
            return None
        parts = self.registry.split("/")[1:]
        return next((part for part in parts if part in PLACEHOLDER_OWNERS), None)

    def image(self, service: str) -> str | None:
        return f"{self.registry}/{service}" if self.registry else None

    def kustomization(self, service: str) -> str:
        return posixpath.join(self.deployments, service, "kustomization.yaml")

    def service_for_crate(self) -> dict[str, str]:
        return {s.crate: s.name for s in self.services.values()}


def check_service_name(name: str, where: str = "service name") -> str:
    if not SERVICE_NAME.match(name):
        raise BuildctlError(
            f"{where} {name!r} is not allowed: use lower-case letters, digits and single '.', '_' or '-' "
            "between them (no slashes, '..', spaces or shell characters)"
        )
    return name


def _under(root: str, pattern: str) -> str:
    return posixpath.join(root, pattern) if root else pattern


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file

    def fail(self, table: list[str], key: str | None, message: str, hint: str | None = None) -> BuildctlError:
        where = ".".join([*table, key] if key else table)
        return BuildctlError(
            f"[{'.'.join(table)}] {message}" if table else message,
            file=self.file,
            line=tomlfile.line_of(self.text, table, key),
            hint=hint or f"see docs/workspace-map.md for `{where}`",
        )

    def table(self, data: Mapping[str, Any], table: list[str], allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    table,
                    key,
                    f"unknown key '{key}'{tomlfile.did_you_mean(key, allowed)}",
                    hint=f"allowed keys here: {', '.join(allowed)}",
                )

    def string(self, data: Mapping[str, Any], table: list[str], key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(table, key, f"'{key}' must be a string, not {type(value).__name__}")
        return value

    def relpath(self, data: Mapping[str, Any], table: list[str], key: str, default: str) -> str:
        value = self.string(data, table, key, default)
        norm = posixpath.normpath(value) if value else "."
        if norm.startswith("/") or norm == ".." or norm.startswith("../") or "\n" in norm:
            raise self.fail(table, key, f"'{key}' = {value!r} must be a path inside the repository")
        return "" if norm == "." else norm

    def globs(self, data: Mapping[str, Any], table: list[str], key: str, default: tuple[str, ...]) -> GlobSet:
        value = data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(table, key, f"'{key}' must be a list of glob strings")
        for pattern in value:
            problem = validate(pattern)
            if problem:
                raise self.fail(table, key, f"glob {pattern!r} in '{key}': {problem}")
        return GlobSet.of(value)

    def platform(self, table: list[str], key: str | None, value: str) -> str:
        if value in PLATFORMS:
            return value
        guess = f"linux/{value}" if f"linux/{value}" in PLATFORMS else None
        hint = f" (did you mean '{guess}'?)" if guess else tomlfile.did_you_mean(value, PLATFORMS)
        raise self.fail(
            table,
            key,
            f"platform {value!r} is not supported{hint}",
            hint=f"only {' and '.join(PLATFORMS)} are supported for now",
        )

    def platforms(self, data: Mapping[str, Any], table: list[str], key: str) -> tuple[str, ...]:
        """A non-empty list of distinct supported platforms; absent: the build machine's own."""
        if key not in data:
            return (native_platform(),)
        value = data[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(
                table, key, f"'{key}' must be a non-empty list of platforms such as \"linux/arm64\""
            )
        for name in value:
            self.platform(table, key, name)
        if len(set(value)) != len(value):
            raise self.fail(table, key, f"'{key}' names a platform twice: {value!r}")
        return tuple(value)


def parse_map(text: str, file: str) -> WorkspaceMap:
    data = tomlfile.parse(text, file)
    r = _Reader(text, file)
    r.table(data, [], _TOP_KEYS)
    for name in _TOP_KEYS:
        if name in data and not isinstance(data[name], dict):
            raise r.fail([], name, f"'{name}' must be a table ([{name}])")

    ws = data.get("workspace", {})
    r.table(ws, ["workspace"], _WORKSPACE_KEYS)
    root = r.relpath(ws, ["workspace"], "root", ".")
    registry = ws.get("registry")
    if registry is not None:
        registry = r.string(ws, ["workspace"], "registry", "").rstrip("/")
        if not REGISTRY.match(registry):
            raise r.fail(
                ["workspace"],
                "registry",
                f"'registry' = {registry!r} is not an image registry path",
                hint="write it like ghcr.io/OWNER/REPO or 127.0.0.1:5000/team (lower case, no scheme)",
            )
    dockerfile = r.relpath(ws, ["workspace"], "dockerfile", "Dockerfile.service")
    deployments = r.relpath(ws, ["workspace"], "deployments", "deployments")
    platforms = r.platforms(ws, ["workspace"], "platforms")

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
                ".dockerignore",
                *(_under(root, p) for p in DEFAULT_BUILD_ALL if p != "Dockerfile.service"),
            ),
        ),
        deploy_all=r.globs(rules_data, ["rules"], "deploy_all", (_under(deployments, "base/**"),)),
        ignore=r.globs(rules_data, ["rules"], "ignore", DEFAULT_IGNORE),
        unowned=unowned,
    )

    services: dict[str, Service] = {}
    crates_seen: dict[str, str] = {}
    for name, body in data.get("services", {}).items():
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
        services[name] = Service(name=name, crate=crate, inputs=r.globs(body, table, "inputs", ()))

    return WorkspaceMap(
        build=_build_settings(r, data.get("build", {})),
        file=file,
        root=root,
        registry=registry,
        dockerfile=dockerfile,
        deployments=deployments,
        rules=rules,
        services=dict(sorted(services.items())),
        platforms=platforms,
    )


def _build_settings(r: _Reader, data: Mapping[str, Any]) -> BuildSettings:
    table = ["build"]
    r.table(data, table, _BUILD_KEYS)
    cache_repository = r.string(data, table, "cache_repository", "buildctl-cache")
    if not SERVICE_NAME.match(cache_repository.replace("/", "-")):
        raise r.fail(
            table, "cache_repository", f"'cache_repository' = {cache_repository!r} is not a repository name"
        )
    tags = data.get("tags", [])
    if not isinstance(tags, list) or any(t not in _EXTRA_TAGS for t in tags):
        raise r.fail(
            table, "tags", f"'tags' must be a list of {' and '.join(map(repr, _EXTRA_TAGS))}, not {tags!r}"
        )
    args = data.get("args", {})
    if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
        raise r.fail(table, "args", "'args' must be a table of strings (build argument = value)")
    per_platform = data.get("platform_args", {})
    if not isinstance(per_platform, dict):
        raise r.fail(
            table,
            "platform_args",
            "'platform_args' must be a table of platforms, each a table of strings "
            '([build.platform_args."linux/arm64"])',
        )
    for name, values in per_platform.items():
        where = [*table, "platform_args", name]
        r.platform(where, None, name)
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise r.fail(
                where, None, f"'platform_args.\"{name}\"' must be a table of strings (build argument = value)"
            )
    builder = data.get("builder", "auto")
    if builder not in BUILDERS:
        raise r.fail(
            table,
            "builder",
            f"'builder' must be 'auto', 'buildkit' or 'classic', not {builder!r}"
            + (tomlfile.did_you_mean(builder, BUILDERS) if isinstance(builder, str) else ""),
        )
    return BuildSettings(
        cache_repository=cache_repository,
        extra_tags=tuple(tags),
        args=dict(args),
        platform_args={name: dict(values) for name, values in per_platform.items()},
        source_url=r.string(data, table, "source_url", ""),
        builder=builder,
        secrets=_secrets(r, data.get("secrets", {})),
    )


def _secrets(r: _Reader, data: Any) -> dict[str, str]:
    """`[build.secrets]`: each id = { env = "NAME" } or { file = "path" } (never the value itself)."""
    table = ["build", "secrets"]
    if not isinstance(data, dict):
        raise r.fail(
            ["build"], "secrets", '\'secrets\' must be a table: id = { env = "NAME" } or { file = "path" }'
        )
    out: dict[str, str] = {}
    for ident, spec in data.items():
        if not _SECRET_ID.match(ident):
            raise r.fail(
                table, ident, f"secret id {ident!r} is not allowed: use letters, digits, '.', '_' and '-'"
            )
        if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in ("env", "file")):
            raise r.fail(
                table,
                ident,
                f'secret \'{ident}\' must be {{ env = "NAME" }} or {{ file = "path" }}',
                hint="the map names where the value is, never the value: a secret in a file in git is no secret",
            )
        kind, where = next(iter(spec.items()))
        if not isinstance(where, str) or not where or "\n" in where or "," in where:
            raise r.fail(
                table, ident, f"secret '{ident}': {kind} must be a non-empty name without ',' or newlines"
            )
        if kind == "env" and not where.isidentifier():
            raise r.fail(table, ident, f"secret '{ident}': {where!r} is not an environment variable name")
        out[ident] = f"{kind}:{where}"
    return out


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
