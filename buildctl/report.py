"""Turning a plan into text for people, JSON for programs, and Markdown for step summaries."""

from __future__ import annotations

import json
from typing import Any

from buildctl.errors import printable
from buildctl.gha import cell
from buildctl.plan import Plan
from buildctl.platforms import image_tag

MAX_REASONS = 5


def dumps(data: Any) -> str:
    # `##[` can only be inside a JSON string here; `#\u0023[` means the same and is no legacy
    # workflow command to the Actions runner, which reads stdout too.
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)
    return text.replace("##[", "#\\u0023[") + "\n"


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def text(plan: Plan, *, detail: bool = False, all_reasons: bool = False) -> str:
    lines = [f"base {_short(plan.base)}  head {_short(plan.head)}"]
    if plan.everything:
        lines.append(f"every service: {printable(plan.everything)}")
    deploy_only = [s for s in plan.deploy if s not in plan.build]
    lines.append(f"build ({len(plan.build)}): {', '.join(plan.build) or '-'}")
    lines.append(f"deploy only ({len(deploy_only)}): {', '.join(deploy_only) or '-'}")
    for svc in plan.services:
        lines.append("")
        lines.append(f"{svc.name}  {'build + deploy' if svc.build else 'deploy only'}")
        shown = svc.reasons if all_reasons else svc.reasons[:MAX_REASONS]
        lines.extend(f"  {printable(r)}" for r in shown)
        if len(svc.reasons) > len(shown):
            lines.append(f"  (+{len(svc.reasons) - len(shown)} more reasons: buildctl explain {svc.name})")
        if detail:
            image = svc.image or "(no registry in the map)"
            if svc.build:
                lines.append(f"  build  {plan.dockerfile} --build-arg SERVICE_NAME={svc.name}")
                lines.append(f"  platforms: {', '.join(svc.platforms)}")
                multi = len(svc.platforms) > 1
                for name in svc.platforms if multi else ():
                    lines.append(f"  push   {image}:{image_tag(svc.tags[0], name, multi=True)}")
                for tag in svc.tags:
                    lines.append(f"  {'index' if multi else 'push '}  {image}:{tag}")
                lines.append(f"  bump   {svc.kustomization} -> {svc.tags[0]}")
            else:
                lines.append(f"  sync   {svc.kustomization} changed: Argo CD applies it, no new image")
    return "\n".join(lines) + "\n"


def summary_markdown(plan: Plan, *, title: str = "buildctl") -> str:
    rows = ["| service | build | why |", "| --- | --- | --- |"]
    for svc in plan.services:
        why = "<br>".join(cell(r) for r in svc.reasons[:MAX_REASONS])
        if len(svc.reasons) > MAX_REASONS:
            why += f"<br>(+{len(svc.reasons) - MAX_REASONS} more)"
        rows.append(f"| {svc.name} | {'yes' if svc.build else 'deploy only'} | {why} |")
    head = f"### {title}: {len(plan.build)} to build, {len(plan.deploy)} to deploy\n\n"
    head += f"base `{_short(plan.base)}` head `{_short(plan.head)}`\n\n"
    if not plan.services:
        return head + "Nothing to build or deploy.\n"
    return head + "\n".join(rows) + "\n"
