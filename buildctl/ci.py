"""`ci`: the whole job for one GitHub Actions step: detect → build → push → bump → commit → push.

It only strings the other steps together; each keeps its own rules (the plan decides, the
builder builds, the bump never moves a tag backwards).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildctl import gha
from buildctl.build.engine import Engine
from buildctl.build.executor import run_builds
from buildctl.build.options import BuildOptions
from buildctl.build.results import BuildReport, ServiceResult
from buildctl.build.steps import BuildSteps
from buildctl.config import WorkspaceMap
from buildctl.deploy import apply, bump
from buildctl.plan import Plan
from buildctl.report import reasons_cell

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
_CARGO_LOCATION = re.compile(r"-->\s+([^\s:]+):(\d+):\d+")


@dataclass(frozen=True)
class CiSettings:
    push: bool
    bump: bool
    remote: str | None = None
    branch: str | None = None
    retries: int = 5
    retry_delay: float = 1.0


def settings_for_event(
    environ: Mapping[str, str],
    *,
    pr_push: bool,
    no_push: bool,
    no_bump: bool,
    remote: str | None = None,
    branch: str | None = None,
) -> CiSettings:
    """Pull requests build without pushing or bumping unless asked to (--pr-push)."""
    is_pr = environ.get("GITHUB_EVENT_NAME") in PULL_REQUEST_EVENTS
    push = not no_push and (pr_push or not is_pr)
    return CiSettings(push=push, bump=push and not no_bump and not is_pr, remote=remote, branch=branch)


@dataclass
class CiResult:
    plan: Plan
    build: BuildReport
    bump: apply.Applied | None


def run(
    repo: Path,
    cfg: WorkspaceMap,
    plan: Plan,
    steps: BuildSteps,
    settings: CiSettings,
    opts: BuildOptions,
    engine: Engine,
    log: Callable[[str, str], None],
    on_done: Callable[[ServiceResult], None],
    say: Callable[[str], None],
) -> CiResult:
    report = run_builds(repo, cfg, steps, opts, engine, log, on_done=on_done)
    applied = None
    if settings.bump:
        requests = [
            bump.Request(name, r.tags[0], r.digest)
            for name, r in sorted(report.services.items())
            if r.status in ("pushed", "skipped") and r.tags
        ]
        if requests:
            applied = apply.apply(
                repo,
                cfg,
                requests,
                is_git=True,
                push=True,
                remote=settings.remote,
                branch=settings.branch,
                retries=settings.retries,
                retry_delay=settings.retry_delay,
                say=say,
            )
    return CiResult(plan, report, applied)


def error_annotations(report: BuildReport) -> list[str]:
    """One `::error` per failed service, at the compiler's file and line when it names one."""
    out = []
    for name, r in sorted(report.services.items()):
        if r.status != "failed":
            continue
        m = _CARGO_LOCATION.search(r.error or "")
        out.append(
            gha.annotation(
                "error",
                f"{name}: {r.error}",
                file=m.group(1) if m else None,
                line=int(m.group(2)) if m else None,
            )
        )
    return out


def summary(result: CiResult, mermaid: str) -> str:
    plan, report = result.plan, result.build
    lines = [
        f"### buildctl ci: {len(plan.build)} built, {len(plan.deploy)} deployed",
        "",
        f"base `{(plan.base or '-')[:12]}` head `{plan.head[:12]}`",
        "",
    ]
    if plan.services:
        lines += ["| service | why | image | digest | duration |", "| --- | --- | --- | --- | --- |"]
        for svc in plan.services:
            r = report.services.get(svc.name)
            why = reasons_cell(svc)
            image = f"`{svc.image}:{svc.tags[0]}`" if svc.image and svc.tags else "-"
            digest = f"`{r.digest}`" if r and r.digest else (f"{r.status}" if r else "deploy only")
            duration = f"{r.duration:.1f}s" if r else "-"
            lines.append(f"| {svc.name} | {why} | {image} | {digest} | {duration} |")
    else:
        lines.append("Nothing to build or apply.")
    if result.bump is not None and result.bump.commit:
        lines += [
            "",
            f"Bumped in `{result.bump.commit[:12]}`" + (" and pushed." if result.bump.pushed else "."),
        ]
    lines += ["", "```mermaid", mermaid.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def to_json(result: CiResult) -> dict[str, Any]:
    return {
        "plan": result.plan.to_json(detail=True),
        "build": result.build.to_json(),
        "bump": None
        if result.bump is None
        else {
            "services": {c.service: c.to_json() for c in result.bump.outcome.changes},
            **result.bump.to_json(),
        },
    }
