"""Read the repository (map, manifests, git) and produce the plan: the detect step, end to end."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from buildctl import gitrepo
from buildctl.config import WorkspaceMap
from buildctl.detect import ranges
from buildctl.detect.cache import Cache
from buildctl.detect.objects import Objects
from buildctl.detect.revision import Revision
from buildctl.detect.rules import Detector
from buildctl.detect.snapshot import Snapshot
from buildctl.plan import Plan, Verdict, make_plan


class RangeOptions(NamedTuple):
    base: str | None = None
    head: str | None = None
    uncommitted: bool = False
    since_deployed: bool = False
    environ: Mapping[str, str] = os.environ


def _verdicts(
    cfg: WorkspaceMap, repo: Path, rng: ranges.Range, memo: Cache, touched: set[str], objects: Objects
) -> dict[str, Verdict]:
    changes = rng.start_diff(repo)
    # Commits are read through `objects`, which makes their workspaces lazy (see lazyws).
    head_snap = (
        Snapshot.worktree(repo, memo) if rng.uncommitted else Snapshot.at(repo, rng.head, memo, objects)
    )
    head = Revision(head_snap, cfg.root)
    head.read_ahead()  # the manifests, while git works out the diff
    changed = changes()  # waited for before anything else can fail: no git is left unwaited
    base_sha = rng.base

    def base_revision() -> Revision | None:
        return Revision(Snapshot.at(repo, base_sha, memo, objects), cfg.root) if base_sha else None

    detector = Detector(cfg, head, base_revision)
    # With no range to compare, run() on no changes still validates the map against the workspace.
    effects = detector.run(changed)
    touched.update(detector.touched)
    return {
        name: Verdict(e.build, e.deploy, tuple(e.reasons), tuple(e.chains)) for name, e in effects.items()
    }


def analyze(repo: Path, cfg: WorkspaceMap, opts: RangeOptions) -> Plan:
    objects = Objects(repo)  # one `cat-file --batch` for every object the run reads
    try:
        objects.start()
        rng = ranges.resolve(
            repo,
            base=opts.base,
            head=opts.head,
            uncommitted=opts.uncommitted,
            environ=opts.environ,
            objects=objects,
        )
        memo = Cache.default(opts.environ)
        try:
            if opts.since_deployed and opts.base is None:
                return _since_deployed(repo, cfg, rng, memo, opts.environ, objects)
            touched: set[str] = set()
            verdicts = _verdicts(cfg, repo, rng, memo, touched, objects)
        finally:
            memo.save()
    finally:
        objects.close()
    return make_plan(
        cfg,
        base=rng.base,
        head=rng.head,
        everything=rng.everything,
        verdicts=verdicts,
        crates=touched,
        branch=_branch(repo, opts.environ, cfg),
    )


def _branch(repo: Path, environ: Mapping[str, str], cfg: WorkspaceMap | None = None) -> str | None:
    """The branch, for a `branch` tag; with `cfg`, only when its images get one (the plan uses
    it for nothing else, and a run need not ask git)."""
    if cfg is not None and "branch" not in cfg.build.extra_tags:
        return None
    if environ.get("GITHUB_ACTIONS") == "true":
        return environ.get("GITHUB_HEAD_REF") or environ.get("GITHUB_REF_NAME") or None
    return gitrepo.current_branch(repo)


def requested_plan(
    repo: Path, cfg: WorkspaceMap, services: list[str] | None, head: str | None, environ: Mapping[str, str]
) -> Plan:
    """A plan for services named on the command line (None: every service), without a ranges."""
    from buildctl.errors import BuildctlError
    from buildctl.tomlfile import did_you_mean

    head_sha = gitrepo.resolve(repo, head or "HEAD", "head revision")
    names = list(cfg.services) if services is None else services
    for name in names:
        if name not in cfg.services:
            raise BuildctlError(
                f"unknown service '{name}'{did_you_mean(name, cfg.services)}",
                file=cfg.file,
                hint="services are the [services.*] tables of the map",
            )
    reason = "requested: --all" if services is None else "requested: --service"
    verdicts = {name: Verdict(True, True, (reason,)) for name in names}
    return make_plan(
        cfg, base=None, head=head_sha, everything=None, verdicts=verdicts, branch=_branch(repo, environ)
    )


def _since_deployed(
    repo: Path,
    cfg: WorkspaceMap,
    rng: ranges.Range,
    memo: Cache,
    opts_environ: Mapping[str, str],
    objects: Objects,
) -> Plan:
    """Each service compared from the commit its deployment (kustomization or Helm values) says is
    deployed; a service that deploys nothing, from the event's range."""
    from buildctl import deployed

    head_snap = Snapshot.at(repo, rng.head, memo)
    groups: dict[str, list[str]] = {}
    verdicts: dict[str, Verdict] = {}
    touched: set[str] = set()
    for name in cfg.services:
        deployed_at = deployed.deployed_commit_of(cfg, name, head_snap.text)
        path = cfg.deploy_of(name).file or cfg.file
        commit, why = deployed_at.commit, deployed_at.why
        if deployed_at.skip and rng.base is not None:
            # Nothing is deployed to compare from (deploy = "none"): the range of the event.
            groups.setdefault(rng.base, []).append(name)
            continue
        if commit is not None and not gitrepo.has_commit(repo, commit):
            why = f"since-deployed: deployed commit {commit[:12]} ({path}) is not in this clone"
            commit = None
        if commit is None:
            verdicts[name] = Verdict(True, True, (why or f"since-deployed: no deployed commit in {path}",))
            continue
        groups.setdefault(gitrepo.resolve(repo, commit), []).append(name)
    for base, names in groups.items():
        sub = ranges.Range(rng.head, gitrepo.merge_base(repo, base, rng.head), None, rng.uncommitted)
        if sub.base is None:
            for name in names:
                verdicts[name] = Verdict(
                    True, True, (f"since-deployed: {base[:12]} shares no history with head",)
                )
            continue
        found = _verdicts(cfg, repo, sub, memo, touched, objects)
        for name in names:
            if name in found:
                v = found[name]
                verdicts[name] = Verdict(
                    v.build, v.deploy, tuple(f"since {base[:12]}: {r}" for r in v.reasons)
                )
    return make_plan(
        cfg,
        base=None,
        head=rng.head,
        everything=None,
        verdicts=verdicts,
        crates=touched,
        branch=_branch(repo, opts_environ, cfg),
    )
