"""The map's tables besides [workspace], [rules] and [services]: [build] (and its secrets),
[crates], [filters] and [acknowledged]; and the Helm `image_keys` a service or the workspace gives."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from buildctl import tomlfile
from buildctl.globs import GlobSet
from buildctl.mapmodel import (
    BUILDCTL_OUTPUTS,
    CHANGE_TYPES,
    FILTER_NAME,
    SERVICE_NAME,
    Acknowledged,
    BuildSettings,
    FilterRule,
    ImageKeys,
    PathFilter,
)
from buildctl.mapreader import Reader

_BUILD_KEYS = ("cache_repository", "tags", "args", "platform_args", "source_url", "builder", "secrets")
BUILDERS = ("auto", "buildkit", "classic")
_SECRET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_EXTRA_TAGS = ("latest", "branch")
_CRATE_KEYS = ("inputs",)
_ACK_KEYS = ("not_services", "unowned", "no_registry")
_IMAGE_KEYS = ("repository", "tag", "digest")
_KEY_PATH = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")


def build_settings(r: Reader, data: Mapping[str, Any]) -> BuildSettings:
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


def _secrets(r: Reader, data: Any) -> dict[str, str]:
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


def image_keys(r: Reader, data: Mapping[str, Any], table: list[str], default: ImageKeys) -> ImageKeys:
    """`image_keys = { repository = "...", tag = "...", digest = "..." }`: dotted key paths in a
    Helm values file; each one not given keeps `default`'s; `digest = ""` writes no digest."""
    if "image_keys" not in data:
        return default
    value = r.subtable(data, table, "image_keys")
    r.table(value, [*table, "image_keys"], _IMAGE_KEYS)
    found = {}
    for name in _IMAGE_KEYS:
        path = r.string(value, [*table, "image_keys"], name, getattr(default, name))
        if not _KEY_PATH.match(path) and not (name == "digest" and path == ""):
            raise r.fail(
                table,
                "image_keys",
                f"'image_keys.{name}' = {path!r} is not a dotted key path such as \"image.{name}\"",
            )
        found[name] = path
    return ImageKeys(**found)


def crate_inputs(r: Reader, data: Mapping[str, Any]) -> dict[str, GlobSet]:
    """`[crates.<crate>] inputs`: files outside the crate that its build reads."""
    out: dict[str, GlobSet] = {}
    for name, body in data.items():
        table = ["crates", name]
        if not isinstance(body, dict):
            raise r.fail(["crates"], name, f"'crates.{name}' must be a table")
        if not re.fullmatch(r"[\w-]+", name):
            raise r.fail(table, None, f"crate name {name!r} is not a Cargo package name")
        r.table(body, table, _CRATE_KEYS)
        out[name] = r.globs(body, table, "inputs", ())
    return out


def filters(r: Reader, data: Mapping[str, Any], services: Collection[str]) -> tuple[PathFilter, ...]:
    """`[filters]`: name = [rules], or name = { every = [rules] }; a rule is a glob (`!` negates
    it) or { "added|modified" = glob or [globs] }, as in dorny/paths-filter."""
    out = []
    for name, value in data.items():
        table = ["filters"]
        if not FILTER_NAME.match(name):
            raise r.fail(
                table,
                name,
                f"filter name {name!r} is not allowed: use letters, digits, '_' and '-', not first a digit",
            )
        if name in services or name in BUILDCTL_OUTPUTS:
            what = "a service" if name in services else "an output buildctl writes itself"
            raise r.fail(
                table,
                name,
                f"filter '{name}' has the name of {what}: its output would mean two things",
                hint="rename the filter (and the `steps.<id>.outputs.<name>` that read it)",
            )
        every = False
        rules = value
        if isinstance(value, dict):
            if len(value) != 1 or next(iter(value)) not in ("some", "every"):
                raise r.fail(
                    table, name, f"filter '{name}' must be a list of rules, or {{ every = [rules] }}"
                )
            every = "every" in value
            rules = next(iter(value.values()))
        if not isinstance(rules, list) or not rules:
            raise r.fail(table, name, f"filter '{name}' must be a non-empty list of globs")
        out.append(PathFilter(name, tuple(_rules(r, name, rules)), every))
    return tuple(out)


def _rules(r: Reader, name: str, rules: list[Any]) -> list[FilterRule]:
    out: list[FilterRule] = []
    for rule in rules:
        if isinstance(rule, str):
            out.append(_rule(r, name, rule, frozenset()))
            continue
        if not isinstance(rule, dict) or len(rule) != 1:
            raise r.fail(
                ["filters"],
                name,
                f'filter \'{name}\': a rule is a glob or {{ "added|modified" = "glob" }}, not {rule!r}',
            )
        kinds, globs = next(iter(rule.items()))
        changes = frozenset(k.strip() for k in kinds.split("|"))
        if not changes <= set(CHANGE_TYPES):
            raise r.fail(
                ["filters"],
                name,
                f"filter '{name}': change type {kinds!r} is not {' | '.join(CHANGE_TYPES)}",
            )
        for glob in [globs] if isinstance(globs, str) else globs if isinstance(globs, list) else [None]:
            if not isinstance(glob, str):
                raise r.fail(
                    ["filters"], name, f"filter '{name}': {kinds!r} must name a glob or a list of globs"
                )
            out.append(_rule(r, name, glob, changes))
    return out


def _rule(r: Reader, name: str, glob: str, changes: frozenset[str]) -> FilterRule:
    negated = glob.startswith("!")
    pattern = glob[1:] if negated else glob
    r.glob(["filters"], name, pattern)
    return FilterRule(pattern, negated, changes)


def acknowledged(r: Reader, data: Mapping[str, Any]) -> Acknowledged:
    table = ["acknowledged"]
    r.table(data, table, _ACK_KEYS)
    no_registry = data.get("no_registry", False)
    if not isinstance(no_registry, bool):
        raise r.fail(table, "no_registry", "'no_registry' must be true or false")
    return Acknowledged(
        not_services=frozenset(r.names(data, table, "not_services")),
        unowned=r.globs(data, table, "unowned", ()),
        no_registry=no_registry,
    )
