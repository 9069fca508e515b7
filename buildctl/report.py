"""Turning a plan into text for people, JSON for programs, and Markdown for step summaries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from buildctl.errors import BuildctlError, printable
from buildctl.gha import cell
from buildctl.plan import Plan, ServicePlan

if TYPE_CHECKING:  # `affected` renders plans and must not load the build stage (nor urllib)
    from buildctl.build.step_types import BuildSteps

MAX_REASONS = 5


def dumps(data: Any) -> str:
    # `##[` can only be inside a JSON string here; `#\u0023[` means the same and is no legacy
    # workflow command to the Actions runner, which reads stdout too.
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)
    return text.replace("##[", "#\\u0023[") + "\n"


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def text(plan: Plan, *, steps: BuildSteps | None = None, all_reasons: bool = False) -> str:
    """The plan for people; with `steps`, what would be built, tagged, pushed and bumped too."""
    lines = [f"base {_short(plan.base)}  head {_short(plan.head)}"]
    if plan.everything:
        lines.append(f"every service: {printable(plan.everything)}")
    deploy_only = [s for s in plan.deploy if s not in plan.build]
    lines.append(f"build ({len(plan.build)}): {', '.join(plan.build) or '-'}")
    lines.append(f"deploy only ({len(deploy_only)}): {', '.join(deploy_only) or '-'}")
    if plan.filters:
        matched = [f.name for f in plan.filters if f.matched]
        lines.append(f"filters matched ({len(matched)}): {', '.join(matched) or '-'}")
    lines.extend(f"no build: {printable(s.name)}: {printable(s.reason)}" for s in plan.skipped)
    if steps is not None and plan.build:
        lines.append(f"builder: {steps.builder.label}: {printable(steps.builder.why)}")
    for svc in plan.services:
        lines.append("")
        lines.append(f"{svc.name}  {'build + deploy' if svc.build else 'deploy only'}")
        shown = svc.reasons if all_reasons else svc.reasons[:MAX_REASONS]
        lines.extend(f"  {printable(r)}" for r in shown)
        if len(svc.reasons) > len(shown):
            lines.append(f"  (+{len(svc.reasons) - len(shown)} more reasons: buildctl explain {svc.name})")
        if steps is not None:
            lines.extend(_service_detail(svc, steps))
    return "\n".join(lines) + "\n"


def _service_detail(svc: ServicePlan, steps: BuildSteps) -> list[str]:
    if not svc.build:
        return [f"  sync   {svc.kustomization} changed: Argo CD applies it, no new image"]
    s = steps.service(svc.name)
    image = s.repository if s.pushable else "(no registry in the map)"
    where = f" (context {s.context})" if s.context else ""
    target = f" --target {s.target}" if s.target != "runtime" else ""
    lines = [
        f"  build  {s.dockerfile}{where}{target} --build-arg SERVICE_NAME={svc.name}",
        f"  platforms: {', '.join(i.platform for i in s.images)}",
    ]
    if s.multi:
        lines += [f"  push   {image}:{i.ref.rpartition(':')[2]}" for i in s.images]
        lines += [f"  index  {image}:{tag}" for tag in s.tags]
    else:
        lines += [f"  push   {image}:{tag}" for tag in s.tags]
    if svc.deploy:
        lines.append(f"  bump   {svc.kustomization} -> {svc.tags[0]}")
    else:
        lines.append('  bump   none: deploy = "none", built and pushed only')
    return lines


def docker_commands(steps: BuildSteps, problems: Sequence[BuildctlError] = ()) -> str:
    """The steps as the docker commands that would carry them out, for `build --dry-run`. An
    image index goes through the registry's API, not the engine: it is a comment; so is each
    base image, as resolved for its platform, and each that could not be (a build stops there)."""
    from buildctl.build.step_types import in_context

    lines = [f"# head {steps.head}", f"# builder: {steps.builder.label}: {printable(steps.builder.why)}"]
    lines += [f"# base {b.ref} for {b.platform}: {b.pinned} ({b.source})" for b in steps.bases]
    lines += [
        f"# not resolved, a build would stop here: {printable(str(p).splitlines()[0])}" for p in problems
    ]
    buildkit = steps.builder.kind == "buildkit"
    for cook in steps.cooks:
        if buildkit:
            command = cook.invocation(steps.secrets).command(steps.builder)
        else:
            command = (
                f"docker build -f {in_context(cook.dockerfile, cook.context)} --network host --target cook "
                f"-t {cook.ref} {_build_args(cook.args)} ."
            )
        lines.append(_in(cook.context, command))
    for svc in steps.services:
        for image in svc.images:
            if buildkit:
                command = image.invocation(steps.secrets).command(steps.builder)
            else:
                cache = f"--cache-from {image.cook} " if image.cook else ""
                target = f"--target {image.target} " if image.target else ""
                command = (
                    f"docker build -f {in_context(image.dockerfile, image.context)} --network host {target}"
                    f"{cache}{_build_args(image.args)} -t {image.ref} ."
                )
            lines.append(_in(image.context, command))
        lines.extend(f"docker tag {svc.images[0].ref} {svc.repository}:{tag}" for tag in svc.local_tags)
        lines.extend(f"docker push {ref}" for ref in svc.pushes(steps.push))
        members = ", ".join(f"{i.ref} ({i.platform})" for i in svc.images)
        lines.extend(
            f"# OCI image index {svc.repository}:{tag} = {members}" for tag in svc.index_tags(steps.push)
        )
    return "\n".join(lines) + "\n"


def _in(context: str, command: str) -> str:
    """A build run in its context, as the executor runs it: from that directory."""
    import shlex  # a dry run's text only

    return f"(cd {shlex.quote(context)} && {command})" if context else command


def _build_args(args: Mapping[str, str]) -> str:
    import shlex

    return " ".join(f"--build-arg {shlex.quote(f'{k}={v}')}" for k, v in args.items())


def reasons_cell(svc: ServicePlan) -> str:
    """A service's reasons in one Markdown table cell: the first few, then how many more."""
    why = "<br>".join(cell(r) for r in svc.reasons[:MAX_REASONS])
    if len(svc.reasons) > MAX_REASONS:
        why += f"<br>(+{len(svc.reasons) - MAX_REASONS} more)"
    return why


def summary_markdown(plan: Plan, *, title: str = "buildctl") -> str:
    rows = ["| service | build | why |", "| --- | --- | --- |"]
    for svc in plan.services:
        rows.append(f"| {svc.name} | {'yes' if svc.build else 'deploy only'} | {reasons_cell(svc)} |")
    head = f"### {title}: {len(plan.build)} to build, {len(plan.deploy)} to deploy\n\n"
    head += f"base `{_short(plan.base)}` head `{_short(plan.head)}`\n\n"
    if not plan.services:
        return head + "Nothing to build or deploy.\n"
    return head + "\n".join(rows) + "\n"
