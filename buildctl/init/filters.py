"""A dorny/paths-filter step and its `filters`, read as paths-filter reads them: an inline YAML
string or a file, anchors and aliases resolved, nested lists flattened."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from buildctl import yamlfile
from buildctl.errors import BuildctlError
from buildctl.globs import validate
from buildctl.init.workflow import StepRef, steps
from buildctl.mapmodel import CHANGE_TYPES, FilterRule
from buildctl.yamlfile import get, scalar

PATHS_FILTER = "dorny/paths-filter"


@dataclass(frozen=True)
class Filter:
    name: str
    globs: tuple[str, ...]
    dropped: tuple[str, ...] = ()  # what a service's inputs cannot take, and why
    rules: tuple[FilterRule, ...] = ()  # every rule as written, for a filter kept as a filter
    every: bool = False  # paths-filter's predicate-quantifier: every


@dataclass(frozen=True)
class FilterStep(StepRef):
    source: str  # "inline", or the filters file
    filters: tuple[Filter, ...]


def _local_uses(root: Any) -> list[str]:
    """The composite actions and reusable workflows of this repository a workflow calls."""
    out = []
    for node in _mappings(root):
        uses = scalar(get(node, "uses")) or ""
        if uses.startswith("./"):
            out.append(posixpath.normpath(uses.split("@")[0]))
    return out


def _mappings(node: Any) -> Any:
    from buildctl.yamlfile import kind

    if kind(node) == "Mapping":
        yield node
        for _, value in node.value:
            yield from _mappings(value)
    elif kind(node) == "Sequence":
        for value in node.value:
            yield from _mappings(value)


def find_step(
    text: str, file: str, step_id: str | None, read: Callable[[str], str | None]
) -> tuple[FilterStep, str, str]:
    """The paths-filter step (the one with `step_id`, when there are several): in the workflow,
    else in a composite action or reusable workflow of this repository that it uses. Returns
    the step, and the file that holds it with that file's text."""
    root = yamlfile.compose(text, file)
    found = [
        (job, index, step)
        for job, _, index, step in steps(root)
        if (scalar(get(step, "uses")) or "").startswith(PATHS_FILTER)
    ]
    if not found:
        for used in _local_uses(root):
            for candidate in (used, f"{used}/action.yml", f"{used}/action.yaml"):
                other = read(candidate) if candidate.endswith((".yml", ".yaml")) else None
                if other is not None and PATHS_FILTER in other:
                    return find_step(other, candidate, step_id, read)
    ids = [scalar(get(step, "id")) for _, _, step in found]
    if step_id is not None:
        found = [f for f, i in zip(found, ids, strict=True) if i == step_id]
    if not found:
        raise BuildctlError(
            "no step uses dorny/paths-filter" + (f" with id {step_id!r}" if step_id else ""),
            file=file,
            hint="pass the workflow whose job (or a composite action or reusable workflow it uses) "
            "runs dorny/paths-filter"
            + (f" (its ids here: {', '.join(i or '-' for i in ids)})" if ids else ""),
        )
    if len(found) > 1:
        raise BuildctlError(
            f"{len(found)} steps use dorny/paths-filter; migrate one at a time",
            file=file,
            line=found[1][2].start_mark.line + 1,
            hint=f"pass --step ID (their ids: {', '.join(i or '-' for i in ids)})",
        )
    job, index, step = found[0]
    with_node = get(step, "with")
    filters_node = get(with_node, "filters")
    value = scalar(filters_node)
    if value is None:
        raise BuildctlError(
            "the dorny/paths-filter step has no `filters` input",
            file=file,
            line=step.start_mark.line + 1,
            hint="it needs `with: filters:` (inline YAML or a file path)",
        )
    options = {
        str(k.value): str(v.value)
        for k, v in (with_node.value if with_node is not None else [])
        if k.value != "filters" and scalar(v) is not None
    }
    if "\n" in value or ":" in value:  # paths-filter's own test for inline YAML
        source = "inline"
        first = filters_node.start_mark.line + (2 if filters_node.style in ("|", ">") else 1)
        filters = parse_filters(value, file, first)
    else:
        source = posixpath.normpath(value.strip())
        filters_text = read(source)
        if filters_text is None:
            raise BuildctlError(
                f"the filters file {source!r} does not exist",
                file=file,
                line=filters_node.start_mark.line + 1,
                hint="paths-filter reads it relative to the repository root; fix the path",
            )
        filters = parse_filters(filters_text, source)
    if options.get("predicate-quantifier") == "every":
        filters = [replace(f, every=True) for f in filters]
    return FilterStep(file, job, index, scalar(get(step, "id")), options, source, tuple(filters)), file, text


def parse_filters(text: str, file: str, line: int = 1) -> list[Filter]:
    """paths-filter's `filters`: name → rules; a rule is a glob, a list (an alias of a list
    nests one), or `change-type: glob` (the change type is dropped: buildctl sees every change)."""
    data = yamlfile.load_plain(text, file)
    if not isinstance(data, dict) or not data:
        raise BuildctlError(
            "the paths-filter filters are not a mapping of filter name to globs",
            file=file,
            line=line,
        )
    out = []
    for name, rules in data.items():
        globs: list[str] = []
        dropped: list[str] = []
        _flatten(rules, globs, dropped)
        kept = []
        for g in dict.fromkeys(globs):
            if g.startswith("!"):
                dropped.append(f"{g!r} (a negated glob cannot become an input)")
            elif problem := validate(g.removeprefix("./")):
                dropped.append(f"{g!r} ({problem})")
            else:
                kept.append(g.removeprefix("./"))
        out.append(Filter(str(name), tuple(kept), tuple(dropped), tuple(_rules(rules, file, line))))
    return out


def _rules(value: Any, file: str, line: int, changes: frozenset[str] = frozenset()) -> list[FilterRule]:
    """Every rule of a filter, as paths-filter reads it (for a filter kept as a filter)."""
    if isinstance(value, str):
        negated = value.startswith("!")
        glob = value[1:] if negated else value
        glob = glob.removeprefix("./")
        if validate(glob):
            raise BuildctlError(
                f"the paths-filter rule {value!r} is not a glob buildctl can evaluate: {validate(glob)}",
                file=file,
                line=line,
                hint="fix the rule in the workflow, then migrate",
            )
        return [FilterRule(glob, negated, changes)]
    if isinstance(value, list):
        return [r for item in value for r in _rules(item, file, line, changes)]
    if isinstance(value, dict):
        out = []
        for kinds, item in value.items():
            found = frozenset(k.strip() for k in str(kinds).split("|"))
            if not found <= set(CHANGE_TYPES):
                raise BuildctlError(
                    f"the paths-filter change type {kinds!r} is not one buildctl can evaluate "
                    f"({', '.join(CHANGE_TYPES)})",
                    file=file,
                    line=line,
                    hint="git lists renames as a deletion and an addition, as paths-filter does; "
                    "rewrite the rule with those",
                )
            out += _rules(item, file, line, found)
        return out
    return []


def _flatten(value: Any, out: list[str], dropped: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _flatten(item, out, dropped)
    elif isinstance(value, dict):
        for change, item in value.items():
            dropped.append(f"change type {str(change)!r} (buildctl reacts to every kind of change)")
            _flatten(item, out, dropped)
    elif value is not None:
        dropped.append(f"{value!r} (not a glob)")
