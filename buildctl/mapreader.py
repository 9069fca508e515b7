"""Reading the map's TOML values: each getter checks one value and, when it is wrong, raises an
error that names the file, the line, the key and what was expected."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from buildctl import tomlfile
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet, validate
from buildctl.platforms import SUPPORTED as PLATFORMS
from buildctl.platforms import native as native_platform

T = TypeVar("T", bound=str)
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Reader:
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

    def subtable(self, data: Mapping[str, Any], table: list[str], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(table, key, f"'{key}' must be a table ([{'.'.join([*table, key])}])")
        return value

    def string(self, data: Mapping[str, Any], table: list[str], key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(table, key, f"'{key}' must be a string, not {type(value).__name__}")
        return value

    def choice(
        self, data: Mapping[str, Any], table: list[str], key: str, choices: Sequence[T], default: T
    ) -> T:
        value = data.get(key, default)
        for choice in choices:
            if value == choice:
                return choice
        listed = ", ".join(f'"{c}"' for c in choices)
        guess = tomlfile.did_you_mean(value, choices) if isinstance(value, str) else ""
        raise self.fail(table, key, f"'{key}' must be one of {listed}, not {value!r}{guess}")

    def relpath(self, data: Mapping[str, Any], table: list[str], key: str, default: str) -> str:
        value = self.string(data, table, key, default)
        norm = posixpath.normpath(value) if value else "."
        if norm.startswith("/") or norm == ".." or norm.startswith("../") or "\n" in norm:
            raise self.fail(table, key, f"'{key}' = {value!r} must be a path inside the repository")
        return "" if norm == "." else norm

    def arg_name(self, data: Mapping[str, Any], table: list[str], key: str, default: str) -> str:
        value = self.string(data, table, key, default)
        if not _ARG_NAME.match(value):
            raise self.fail(table, key, f"'{key}' = {value!r} is not a build argument name")
        return value

    def strings(self, data: Mapping[str, Any], table: list[str], key: str) -> dict[str, str]:
        """A table of strings, such as build arguments (name = value)."""
        value = data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(table, key, f"'{key}' must be a table of strings (build argument = value)")
        for name in value:
            if not _ARG_NAME.match(name):
                raise self.fail(table, key, f"'{key}': {name!r} is not a build argument name")
        return dict(value)

    def names(self, data: Mapping[str, Any], table: list[str], key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(table, key, f"'{key}' must be a list of names")
        return tuple(value)

    def globs(self, data: Mapping[str, Any], table: list[str], key: str, default: tuple[str, ...]) -> GlobSet:
        value = data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(table, key, f"'{key}' must be a list of glob strings")
        for pattern in value:
            self.glob(table, key, pattern)
        return GlobSet.of(value)

    def glob(self, table: list[str], key: str, pattern: str) -> str:
        problem = validate(pattern)
        if problem:
            raise self.fail(table, key, f"glob {pattern!r} in '{key}': {problem}")
        return pattern

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
