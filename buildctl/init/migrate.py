"""`buildctl init --from-workflow`: migrate a dorny/paths-filter step to buildctl.

Three parts, each pure:
- read (in `filters`): the workflow's paths-filter step and its `filters`;
- judge: map each filter to its services (by name, or by a glob over a service's crate
  directory), and sort each glob into "the Cargo graph or a map rule already covers it"
  (redundant) or "an input of that service", narrowing a glob that is only partly covered;
- edit (in `workflow`): the workflow's text with that step swapped for `buildctl affected
  --format github`, under the same step id, with the job's checkout fetching full history, and
  every `steps.<id>.outputs.<filter>` in the job pointing at the output buildctl writes. Job
  output names stay, so `needs.<job>.outputs.<name>` elsewhere keeps working.

A glob is covered when each file it matches is owned by a workspace crate (the graph decides
whether that crate reaches the service: a shared crate the service does not build is exactly
the rebuild paths-filter did for nothing), is the workspace Cargo.toml or Cargo.lock (followed
per crate), or matches `build_all`, `deploy_all`, a deployment overlay or a default `ignore`
rule. A glob that matches no file yet is covered only when it lies inside a crate's directory.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from buildctl.config import DEFAULT_IGNORE, SERVICE_NAME, Service, WorkspaceMap, parse_map
from buildctl.detect.revision import Revision
from buildctl.detect.rules import Detector
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import Crate
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet
from buildctl.init.filters import Filter, FilterStep, find_step
from buildctl.init.proposal import FilterGuess, Proposal, Rule, ServiceGuess, escape_glob, with_inputs
from buildctl.init.render import render
from buildctl.init.workflow import Edit, edit_workflow
from buildctl.mapmodel import BUILDCTL_OUTPUTS, FILTER_NAME, FilterRule

_GLOB_CHARS = re.compile(r"[*?\[{]")
_RULE_LABELS = {
    "root_manifest": "the graph follows the workspace Cargo.toml per crate",
    "lock": "the graph follows Cargo.lock per crate",
    "build_all": "[rules] build_all",
    "deploy_all": "[rules] deploy_all",
    "deployment": "a service's deployment overlay",
    "chart": "a Helm service's chart",
    "ignored": "the default [rules] ignore",
}


# --- judging the globs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    glob: str
    kind: Literal["covered", "input", "narrowed"]
    why: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilterPlan:
    filter: Filter
    services: tuple[str, ...]
    why: str
    verdicts: Mapping[str, tuple[Verdict, ...]] = field(default_factory=dict)  # by service
    marks: Mapping[str, str] = field(default_factory=dict)  # glob -> the one service whose crate it names


def _literal(glob: str) -> tuple[str, str]:
    """(the directory before the first glob character, the rest of the pattern)."""
    parts = glob.split("/")
    n = next((i for i, p in enumerate(parts) if _GLOB_CHARS.search(p)), len(parts))
    if n == len(parts):
        return glob, ""
    return "/".join(parts[:n]), "/".join(parts[n:])


class Judge:
    def __init__(self, snap: Snapshot, proposal: Proposal) -> None:
        defaults = {*DEFAULT_IGNORE}
        bare = replace(
            proposal,
            ignore=tuple(r for r in proposal.ignore if r.glob in defaults),
            services=tuple(replace(s, inputs=()) for s in proposal.services),
        )
        self.cfg: WorkspaceMap = parse_map(render(bare), proposal.map_file)
        self.side = Revision(snap, proposal.root)
        self.ws = self.side.ws
        self.files = sorted(snap.files)
        self._detector = Detector(self.cfg, self.side, lambda: None)
        self._kinds: dict[str, tuple[str, str]] = {}

    @functools.cached_property
    def _owned_dirs(self) -> set[str]:
        """Directories holding a file that a crate or a rule (other than ignore) owns."""
        out: set[str] = set()
        for f in self.files:
            if self.kind(f)[0] not in ("unowned", "ignored"):
                d = posixpath.dirname(f)
                while d and d not in out:
                    out.add(d)
                    d = posixpath.dirname(d)
        return out

    def kind(self, path: str) -> tuple[str, str]:
        if path not in self._kinds:
            self._kinds[path] = self._detector.classify(path)
        return self._kinds[path]

    def add_service(self, guess: ServiceGuess) -> None:
        services = {**self.cfg.services, guess.name: Service(guess.name, guess.crate, GlobSet.of([]))}
        self.cfg = self.cfg._replace(services=services)
        self._detector = Detector(self.cfg, self.side, lambda: None)
        self._kinds.clear()
        self.__dict__.pop("_owned_dirs", None)

    def judge(self, glob: str, service: str, crate: str) -> Verdict:
        closure = self.side.graph.closure(crate)
        matcher = GlobSet.of([glob])
        hits = [f for f in self.files if matcher.match(f)]
        if not hits:
            prefix, _ = _literal(glob)
            owner = self.ws.owner(prefix + "/-") if prefix else None
            if owner is not None:
                return Verdict(glob, "covered", f"matches no file yet, only paths inside crate {owner}")
            return Verdict(glob, "input", "matches no file yet and lies outside every crate", (glob,))
        inside: set[str] = set()
        outside: set[str] = set()
        rules: dict[str, int] = {}
        loose: list[str] = []
        for f in hits:
            kind, detail = self.kind(f)
            if kind == "crate":
                (inside if detail in closure else outside).add(detail)
            elif kind == "unowned":
                loose.append(f)
            else:
                label = _RULE_LABELS.get(kind, kind)
                rules[label] = rules.get(label, 0) + 1
        if not loose:
            if outside and not inside and not rules:
                return Verdict(
                    glob,
                    "input",
                    f"only crates {service} does not build ({', '.join(sorted(outside))}): kept; "
                    "remove it unless the service needs them some other way",
                    (glob,),
                )
            return Verdict(glob, "covered", _covered_why(service, inside, outside, rules))
        if len(loose) == len(hits):
            return Verdict(glob, "input", f"{len(loose)} file(s) no crate or rule owns", (glob,))
        narrowed = self._narrow(glob, loose)
        if narrowed is None:
            return Verdict(glob, "input", f"{len(loose)} file(s) no crate or rule owns; kept whole", (glob,))
        return Verdict(
            glob,
            "narrowed",
            f"{len(loose)} file(s) no crate or rule owns; the rest: "
            + _covered_why(service, inside, outside, rules),
            narrowed,
        )

    def _narrow(self, glob: str, loose: Sequence[str]) -> tuple[str, ...] | None:
        """Inputs for just the files no crate or rule owns: the shallowest directories below the
        glob's literal part that hold nothing else (or the files themselves)."""
        prefix, rest = _literal(glob)
        if not rest.startswith("**"):
            return None
        depth = len(prefix.split("/")) if prefix else 0
        out: dict[str, None] = {}
        for f in loose:
            parts = f.split("/")
            chosen = escape_glob(f)
            for d in range(depth + 1, len(parts)):
                a = "/".join(parts[:d])
                if a not in self._owned_dirs:
                    chosen = f"{escape_glob(a)}/{rest}"
                    break
            out[chosen] = None
        return tuple(out)


def _covered_why(service: str, inside: set[str], outside: set[str], rules: Mapping[str, int]) -> str:
    parts = []
    if inside or outside:
        graph = f"the graph: {service} builds from {', '.join(sorted(inside)) or 'none of them'}"
        parts.append(graph + (f"; not from {', '.join(sorted(outside))}" if outside else ""))
    parts += [label if n == 1 else f"{label} ({n} files)" for label, n in sorted(rules.items())]
    return "; ".join(parts)


def assign(
    filters: Sequence[Filter], proposal: Proposal, judge: Judge, workflow: str
) -> tuple[list[FilterPlan], list[ServiceGuess]]:
    """Each filter's services: the one of the same name, else those whose crate directory one
    of its globs covers whole (`services/<svc>/**`). A binary crate that no deployment made a
    service becomes one when a filter names it or covers its directory."""
    known = {s.name: s for s in proposal.services}
    by_dir = {s.dir: s.name for s in proposal.services}
    crates = [c for c in judge.ws.crates.values() if c.member and c.bins]
    by_bin = {b: c for c in crates for b in c.bins}
    bin_dirs = {c.dir: c for c in crates}
    promoted: list[ServiceGuess] = []

    def promote(crate: Crate, name: str, why: str) -> str | None:
        if name in known or not SERVICE_NAME.match(name):
            return None
        guess = ServiceGuess(name, crate.name, crate.dir, why)
        promoted.append(guess)
        known[name] = guess
        by_dir[crate.dir] = name
        return name

    plans = []
    for f in filters:
        services: tuple[str, ...] = ()
        marks: dict[str, str] = {}
        if f.name in known:
            services, why = (f.name,), "the same name"
        elif f.name in by_bin and promote(
            by_bin[f.name], f.name, f"filter '{f.name}' of {workflow} names it"
        ):
            services, why = (f.name,), "the same name; a binary no deployment names"
        else:
            for g in f.globs:
                prefix, rest = _literal(g)
                if rest not in ("**", "**/*"):
                    continue
                name = by_dir.get(prefix)
                if name is None and prefix in bin_dirs:
                    crate = bin_dirs[prefix]
                    first = crate.name if crate.name in crate.bins else crate.bins[0]
                    name = promote(crate, first, f"filter '{f.name}' of {workflow} covers its directory")
                if name is not None:
                    marks[g] = name
            services = tuple(dict.fromkeys(marks.values()))
            why = (
                "its globs cover " + ", ".join(f"{known[s].dir}/" for s in services)
                if services
                else "none: no service has this name, and none of its globs is a service's crate directory "
                "(`<dir>/**`)"
            )
        plans.append(FilterPlan(f, services, why, marks=marks if len(services) > 1 else {}))
    for guess in promoted:
        judge.add_service(guess)
    out = []
    for plan in plans:
        # In a filter over several services, `svc/b/**` marks b alone; the other globs are everyone's.
        verdicts = {
            s: tuple(
                judge.judge(g, s, known[s].crate) for g in plan.filter.globs if plan.marks.get(g, s) == s
            )
            for s in plan.services
        }
        out.append(replace(plan, verdicts=verdicts))
    return out, promoted


def inputs_of(plans: Sequence[FilterPlan]) -> dict[str, list[Rule]]:
    found: dict[str, dict[str, Rule]] = {}
    for plan in plans:
        for service, verdicts in plan.verdicts.items():
            for v in verdicts:
                for glob in v.inputs:
                    why = f"filter '{plan.filter.name}'" + (f", from {v.glob!r}" if glob != v.glob else "")
                    found.setdefault(service, {}).setdefault(glob, Rule(glob, why))
    return {s: list(rules.values()) for s, rules in found.items()}


# --- the whole migration --------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    step: FilterStep
    proposal: Proposal
    plans: tuple[FilterPlan, ...]
    edit: Edit

    def report(self) -> list[str]:
        s = self.step
        out = [f"{s.file}: job '{s.job}', step '{s.step_id or '-'}', {len(s.filters)} filter(s) ({s.source})"]
        for plan in self.plans:
            f = plan.filter
            target = ", ".join(plan.services) or "a buildctl filter of the same name (no service)"
            out.append(f"  filter '{f.name}' -> {target} ({plan.why})")
            for note in f.dropped if plan.services else ():  # a kept filter keeps every rule
                out.append(f"    dropped {note}")
            for service, verdicts in plan.verdicts.items():
                prefix = f"[{service}] " if len(plan.services) > 1 else ""
                for v in verdicts:
                    if v.kind == "covered":
                        out.append(f"    {prefix}redundant {v.glob}: {v.why}")
                    elif v.kind == "narrowed":
                        out.append(
                            f"    {prefix}input {', '.join(v.inputs)} (narrowed from {v.glob}): {v.why}"
                        )
                    else:
                        out.append(f"    {prefix}input {v.glob}: {v.why}")
        every = [v for plan in self.plans for vs in plan.verdicts.values() for v in vs]
        covered = sum(v.kind == "covered" for v in every)
        out.append(
            f"  {covered} of {len(every)} glob(s) redundant (the Cargo graph or the map covers them), "
            f"{len(every) - covered} kept as inputs"
        )
        out.extend(f"  note: {n}" for n in self.edit.notes)
        return out


def _kept(plans: Sequence[FilterPlan], file: str) -> tuple[FilterGuess, ...]:
    """The filters no service stands for, kept as buildctl filters of the same names; refused
    (before anything is written) where a name cannot be an output of its own."""
    out = []
    for plan in plans:
        f = plan.filter
        if f.name in BUILDCTL_OUTPUTS:
            raise BuildctlError(
                f"filter '{f.name}' has the name of an output buildctl writes itself (a list of services, "
                "not true/false): the jobs that read it would read something else",
                file=file,
                hint=f"rename the filter and what reads steps.<id>.outputs.{f.name}, then migrate",
            )
        if plan.services:
            continue
        if not FILTER_NAME.match(f.name) or not f.rules:
            raise BuildctlError(
                f"filter {f.name!r} cannot be kept: "
                + ("it has no rule" if not f.rules else "its name is not one an output can have"),
                file=file,
                hint="rename or fix the filter in the workflow, then migrate",
            )
        rules = tuple(_rule_text(r) for r in f.rules)
        out.append(FilterGuess(f.name, rules, f.every, f"paths-filter's filter of {file}: no service"))
    return tuple(out)


def _rule_text(rule: FilterRule) -> str:
    glob = json.dumps(("!" if rule.negated else "") + rule.glob)
    if rule.changes:
        return "{ " + json.dumps("|".join(sorted(rule.changes))) + f" = {glob} }}"
    return glob


def migrate(
    snap: Snapshot,
    proposal: Proposal,
    workflow_text: str,
    workflow_file: str,
    *,
    step_id: str | None = None,
    install: str | None = None,
) -> Migration:
    step, file, text = find_step(workflow_text, workflow_file, step_id, snap.text)
    judge = Judge(snap, proposal)
    plans, promoted = assign(step.filters, proposal, judge, file)
    kept = _kept(plans, file)
    updated = replace(with_inputs(proposal, inputs_of(plans), snap.files, promoted), filters=kept)
    outputs = {p.filter.name: p.services or (p.filter.name,) for p in plans}
    edit = edit_workflow(text, step, outputs, install)
    return Migration(step, updated, tuple(plans), edit)
