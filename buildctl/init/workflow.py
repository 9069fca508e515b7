"""GitHub Actions workflows: find steps, and swap a dorny/paths-filter step for buildctl.

The edit is a splice into the workflow's text, at the spans ruamel.yaml's composer gives each
node, so every line it does not touch stays byte-identical (comments, quotes, CRLF). The new
step takes the old one's columns and id. The result is parsed again and must equal the
original plus exactly the intended changes, or nothing is returned.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from buildctl import yamlfile
from buildctl.errors import BuildctlError
from buildctl.init.install import install_lines, installed_from
from buildctl.yamlfile import get, kind, last_char, line_end, line_start, pair, scalar

COMMIT_REF = re.compile(
    r"^(?:https://github\.com/)?([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?@([0-9a-f]{40})$"
)


@dataclass(frozen=True)
class StepRef:
    """A step of a workflow: where it is, and its `with:` inputs (but `filters`)."""

    file: str
    job: str
    index: int  # in the job's steps
    step_id: str | None
    options: Mapping[str, str]


def steps(root: Any) -> Iterator[tuple[str, Any, int, Any]]:
    """(job id, job node, index, step node) for every step of every job; a composite action's
    steps have the job id "" and its `runs` as their job."""
    runs = get(root, "runs")
    if runs is not None and kind(runs) == "Mapping" and kind(get(runs, "steps")) == "Sequence":
        for index, step in enumerate(get(runs, "steps").value):
            if kind(step) == "Mapping":
                yield "", runs, index, step
    jobs = get(root, "jobs")
    for job_key, job in jobs.value if jobs is not None and kind(jobs) == "Mapping" else ():
        seq = get(job, "steps")
        if seq is None or kind(seq) != "Sequence":
            continue
        for index, step in enumerate(seq.value):
            if kind(step) == "Mapping":
                yield str(job_key.value), job, index, step


def reference(step_id: str, name: str) -> re.Pattern[str]:
    """`steps.<id>.outputs.<name>` and `steps.<id>.outputs['<name>']` in an expression."""
    sid, out = re.escape(step_id), re.escape(name)
    return re.compile(
        rf"(?<![\w.-])steps\.{sid}\.outputs(?:\.{out}(?![\w-])|\[\s*(?P<q>['\"]){out}(?P=q)\s*\])"
    )


def output_expression(step_id: str, services: Sequence[str]) -> str:
    if len(services) == 1:
        return f"steps.{step_id}.outputs.{services[0]}"
    either = " || ".join(f"steps.{step_id}.outputs.{s} == 'true'" for s in services)
    return f"(({either}) && 'true' || 'false')"


@dataclass(frozen=True)
class Edit:
    text: str
    notes: tuple[str, ...]
    file: str = ""
    original: str = ""


def edit_workflow(
    text: str, step: StepRef, outputs: Mapping[str, tuple[str, ...]], install: str | None = None
) -> Edit:
    """Swap the step for `buildctl affected --format github`. `outputs` maps each output name the
    step wrote (each filter) to the services whose outputs stand for it (none: it is gone)."""
    file = step.file
    install = install or installed_from()
    composite = step.job == ""
    root = yamlfile.compose(text, file)
    job_node = next(j for job, j, _, _ in steps(root) if job == step.job)
    steps_node = get(job_node, "steps")
    old = steps_node.value[step.index]
    step_id = step.step_id or "affected"
    notes: list[str] = []
    renames = {name: services for name, services in outputs.items() if services and services != (name,)}
    splices: list[tuple[int, int, str]] = []

    # 1. the step itself, at the same columns, keeping its if/name/timeouts
    dash = text.rindex("-", 0, old.start_mark.index)  # `- uses:`, or a lone `-` on the line above
    start = line_start(text, dash)
    end = line_end(text, last_char(text, old))
    key_col = old.start_mark.column
    new_step, expected_step = _new_step(text, old, step, step_id, install, dash - start, key_col, composite)
    checkout = _checkout(text, file, steps_node, step.index)
    expected_checkout: tuple[int, dict[str, Any]] | None = None
    if checkout is None and composite:
        notes.append(
            "the workflows that use this action must check out the whole history (fetch-depth: 0): "
            "buildctl compares commits"
        )
    elif checkout is None:
        ref = _checkout_ref(root) or "actions/checkout@v5"
        lines = [
            f"{' ' * (dash - start)}-{' ' * (key_col - dash + start - 1)}name: Check out the history buildctl compares",
            f"{' ' * key_col}uses: {ref}",
            f"{' ' * key_col}with:",
            f"{' ' * (key_col + 2)}fetch-depth: 0",
            f"{' ' * (key_col + 2)}persist-credentials: false",
        ]
        new_step = "\n".join(lines) + "\n" + new_step
        expected_checkout = (
            -1,
            {
                "name": "Check out the history buildctl compares",
                "uses": ref.split("#")[0].strip(),
                "with": {"fetch-depth": 0, "persist-credentials": False},
            },
        )
        notes.append("added a checkout step: buildctl reads the history, paths-filter's API mode did not")
    else:
        splice, index = checkout
        if splice is not None:
            splices.append(splice)
            notes.append(
                "the job's checkout now fetches the whole history (fetch-depth: 0): buildctl needs the base commit"
            )
        expected_checkout = (index, {})
    splices.append((start, end, new_step))

    # 2. the job's references to the step's outputs (an action's: the whole file, its outputs too)
    job_start = 0 if composite else line_start(text, job_node.start_mark.index)
    job_end = len(text) if composite else line_end(text, last_char(text, job_node))
    _refuse_lost(text, step, step_id, outputs, job_start, job_end, (start, end))
    for name, services in renames.items():
        pattern = reference(step_id, name)
        for m in pattern.finditer(text, job_start, job_end):
            if start <= m.start() < end:
                continue
            splices.append((m.start(), m.end(), output_expression(step_id, services)))
    if renames:
        notes.append(
            "`changes` now lists the services to build and the filters that matched (service names, "
            f"never a filter such as '{next(iter(renames))}' that a service stands for)"
        )
    for key in sorted(step.options):
        if key not in ("base", "ref", "working-directory", "predicate-quantifier"):
            notes.append(f"the paths-filter input '{key}' has no buildctl equivalent and was dropped")

    nl = "\r\n" if "\r\n" in text else "\n"
    new_text = text
    for a, b, new in sorted(splices, reverse=True):
        new_text = new_text[:a] + (new.replace("\n", nl) if nl != "\n" else new) + new_text[b:]
    _verify(text, new_text, step, step_id, expected_step, expected_checkout, renames)
    return Edit(new_text, tuple(notes), file, text)


def _refuse_lost(
    text: str,
    step: StepRef,
    step_id: str,
    outputs: Mapping[str, tuple[str, ...]],
    start: int,
    end: int,
    own: tuple[int, int],
) -> None:
    """Refuse, before anything is written, an edit that would leave a reader of the step with
    an output buildctl does not write: paths-filter's `<filter>_count` and `<filter>_files`."""
    for name in outputs:
        for suffix in ("_count", "_files"):
            for m in reference(step_id, name + suffix).finditer(text, start, end):
                if own[0] <= m.start() < own[1]:
                    continue
                line = text.count("\n", 0, m.start()) + 1
                raise BuildctlError(
                    f"line {line} reads steps.{step_id}.outputs.{name}{suffix}, which buildctl does not "
                    "write (it writes true/false per filter and service, and changes)",
                    file=step.file,
                    line=line,
                    hint="nothing was written: read the filter's true/false output there instead, then migrate",
                )


def _new_step(
    text: str, old: Any, step: StepRef, step_id: str, install: str, dash: int, key_col: int, composite: bool
) -> tuple[str, dict[str, Any]]:
    pad = " " * key_col
    name = scalar(get(old, "name")) or "buildctl affected"
    expected: dict[str, Any] = {"name": name, "id": step_id}
    lines = [f"{' ' * dash}-{' ' * (key_col - dash - 1)}name: {_plain(name)}", f"{pad}id: {_plain(step_id)}"]
    for key_node, value in old.value:
        if key_node.value in ("uses", "with", "id", "name", "run", "shell"):
            continue
        first = text[key_node.start_mark.index : last_char(text, value) + 1]
        lines.append(pad + first)
    data = yamlfile.load_plain(text, step.file)
    old_data = (data["runs"] if step.job == "" else data["jobs"][step.job])["steps"][step.index]
    for key, value in old_data.items():
        if key not in ("uses", "with", "id", "name", "run", "shell"):
            expected[key] = value
    env: dict[str, str] = {}
    args = ["affected", "--format", "github"]
    run = install_lines(install)
    for option, flag, var in (("base", "--base", "PATHS_FILTER_BASE"), ("ref", "--head", "PATHS_FILTER_REF")):
        value = step.options.get(option, "")
        if not value:
            continue
        if "${{" in value:
            env[var] = value
            run.append(f'if [[ -n "${var}" ]]; then args+=({flag} "${var}"); fi')
        else:
            args += [flag, value]
    if "working-directory" in step.options:
        lines.append(f"{pad}working-directory: {_plain(step.options['working-directory'])}")
        expected["working-directory"] = step.options["working-directory"]
    if env:
        if "env" in old_data:
            raise BuildctlError(
                "the dorny/paths-filter step has its own env: and an expression as base or ref",
                file=step.file,
                hint="move the expression into a literal value, or make the edit by hand",
            )
        lines.append(f"{pad}env:")
        lines += [f"{pad}  {k}: {_plain(v)}" for k, v in env.items()]
        expected["env"] = dict(env)
        run.insert(len(install_lines(install)), "args=(" + " ".join(shlex.quote(a) for a in args) + ")")
        run.append('buildctl "${args[@]}"')
    else:
        run.append("buildctl " + " ".join(shlex.quote(a) for a in args))
    if composite:  # a composite action's run steps name their shell
        lines.append(f"{pad}shell: bash")
        expected["shell"] = "bash"
    lines.append(f"{pad}run: |")
    lines += [f"{pad}  {line}" for line in run]
    expected["run"] = "\n".join(run) + "\n"
    return "\n".join(lines) + "\n", expected


def _plain(value: str) -> str:
    """A YAML scalar: plain where that reads back as the same string, else a JSON (= YAML) string."""
    if value.strip() == value and "\n" not in value:
        try:
            if yamlfile.load_plain(f"k: {value}\n", "") == {"k": value}:
                return value
        except BuildctlError:
            pass
    return json.dumps(value)


def _checkout(
    text: str, file: str, steps: Any, before: int
) -> tuple[tuple[int, int, str] | None, int] | None:
    """The job's checkout step before `before`, and the splice that makes it fetch-depth: 0."""
    for index in range(before - 1, -1, -1):
        step = steps.value[index]
        if kind(step) != "Mapping" or not (scalar(get(step, "uses")) or "").startswith("actions/checkout@"):
            continue
        with_pair = pair(step, "with")
        if with_pair is None:
            if step.flow_style:  # - {uses: actions/checkout@v5}
                at = int(step.end_mark.index) - 1
                return (at, at, ", with: {fetch-depth: 0}"), index
            at = line_end(text, last_char(text, step))
            pad = " " * step.start_mark.column
            return (at, at, f"{pad}with:\n{pad}  fetch-depth: 0\n"), index
        with_node = with_pair[1]
        depth = get(with_node, "fetch-depth")
        if depth is not None:
            if scalar(depth) == "0":
                return None, index
            return (depth.start_mark.index, depth.end_mark.index, "0"), index
        if kind(with_node) == "Mapping" and with_node.flow_style:  # with: {ref: main}
            at = int(with_node.end_mark.index) - 1
            return (at, at, ", fetch-depth: 0" if with_node.value else "fetch-depth: 0"), index
        if kind(with_node) != "Mapping" or not with_node.value:
            raise BuildctlError(
                "the job's checkout step has a `with:` buildctl cannot extend",
                file=file,
                line=with_node.start_mark.line + 1,
                hint="set `fetch-depth: 0` on it by hand, then run again",
            )
        at = line_end(text, last_char(text, with_node))
        return (at, at, f"{' ' * with_node.start_mark.column}fetch-depth: 0\n"), index
    return None


def _checkout_ref(root: Any) -> str | None:
    for _, _, _, step in steps(root):
        uses = scalar(get(step, "uses")) or ""
        if uses.startswith("actions/checkout@"):
            return uses
    return None


def _template(text: str) -> str:
    return text.replace("\\", "\\\\")


def _rewrite_strings(value: Any, fix: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [_rewrite_strings(v, fix) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite_strings(v, fix) for k, v in value.items()}
    return value


def _verify(
    old_text: str,
    new_text: str,
    step: StepRef,
    step_id: str,
    expected_step: dict[str, Any],
    checkout: tuple[int, dict[str, Any]] | None,
    renames: Mapping[str, tuple[str, ...]],
) -> None:
    """Parse the result and compare it with the original plus exactly the intended changes."""
    expected = copy.deepcopy(yamlfile.load_plain(old_text, step.file))
    composite = step.job == ""
    job = expected["runs"] if composite else expected["jobs"][step.job]

    def fix(value: str) -> str:
        for name, services in renames.items():
            # backslashes doubled: the expression is a literal, not a replacement template
            value = reference(step_id, name).sub(_template(output_expression(step_id, services)), value)
        return value

    old_steps = job["steps"]
    job_fixed = _rewrite_strings({k: v for k, v in job.items() if k != "steps"}, fix)
    new_steps = [_rewrite_strings(s, fix) for s in old_steps]
    new_steps[step.index] = expected_step
    if checkout is not None and checkout[0] >= 0:
        with_ = new_steps[checkout[0]].setdefault("with", {})
        if str(with_.get("fetch-depth")) != "0":
            with_["fetch-depth"] = 0
    elif checkout is not None:
        new_steps.insert(step.index, checkout[1])
    job_fixed["steps"] = new_steps
    if composite:  # the action's outputs read the step too
        expected = {k: v if k == "runs" else _rewrite_strings(v, fix) for k, v in expected.items()}
        expected["runs"] = job_fixed
    else:
        expected["jobs"][step.job] = job_fixed
    got = yamlfile.load_plain(new_text, step.file)
    if got != expected:
        raise BuildctlError(
            "buildctl could not edit this workflow without changing something else",
            file=step.file,
            hint="make the edit by hand: replace the paths-filter step with `buildctl affected --format github` "
            "under the same id (see docs/getting-started.md), and please report the workflow's shape",
        )
