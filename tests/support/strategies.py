"""Hypothesis strategies for the parser properties, and the property itself: a parser returns a
result or raises BuildctlError, never anything else, whatever text or bytes it is given."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from buildctl import config
from buildctl.errors import BuildctlError

PARSER_EXAMPLES = 300


def only_buildctl_errors(call: Callable[[], object]) -> None:
    try:
        call()
    except BuildctlError as exc:
        assert str(exc)  # a message, always
        assert exc.exit_code in (1, 2)


KEYS = st.sampled_from(
    [
        "workspace",
        "rules",
        "services",
        "build",
        "root",
        "registry",
        "dockerfile",
        "deployments",
        "build_all",
        "deploy_all",
        "ignore",
        "unowned",
        "crate",
        "inputs",
        "cache_repository",
        "tags",
        "args",
        "source_url",
        "auth-service",
        "a",
        "package",
        "name",
        "version",
        "source",
        "checksum",
        "dependencies",
        "workspace",
        "members",
        "exclude",
    ]
) | st.text(max_size=6)


SCALARS = (
    st.text(max_size=10)
    | st.integers()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        ["all", "ignore", "latest", "branch", "..", "/abs", "ghcr.io/o/r", "**/*.md", "[", "{a,b}", "a;b"]
    )
)


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, Any]) -> str:
    """A small TOML writer: scalars and arrays first, then one [table] per mapping."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


MAP = config.parse_map(
    '[workspace]\nregistry = "127.0.0.1:5000/team"\n[services.a]\n[services.auth-service]\n', "m"
)
