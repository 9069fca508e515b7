#!/usr/bin/env python3
"""Benchmark `buildctl affected` against dorny/paths-filter, cold and warm, on synthetic Cargo
workspaces and on real Rust monorepos.

Synthetic: for each size (crates in the workspace) a generated workspace of about 20 files per
crate (see _synthetic.py), timed on a 2-file diff (one library crate in the middle of the graph)
and on a 2,000-file diff. Real: each --real clone on its last --pairs first-parent commits, each
against its parent, with a map and paths-filter globs derived from its manifests (_repos.py).

Every case runs, interleaved round by round (so that load hits every command alike):
  * `buildctl --repo R [--map M] affected --base B --head H --format json`, cold
    (BUILDCTL_CACHE_DIR="", as on a CI runner) and warm (a cache the warm-up run filled), for
    --buildctl and, with --baseline, for a second buildctl (e.g. an install of the last commit);
  * paths-filter under node with one filter per service (--paths-filter, its dist/index.js);
  * the floor: `python -c pass` with buildctl's interpreter, and `git diff --name-status -z B H`.
After one untimed warm-up of each, every buildctl's JSON must be identical, and on the synthetic
workspaces its `build` list must be the generator's own answer; a mismatch fails the run.

The table gives medians of --runs rounds; `cold/pf` is the median of the per-round ratios of
cold buildctl to paths-filter; peak is the largest RSS of any cold buildctl run. Child processes
get bytecode caching (PYTHONPYCACHEPREFIX in the work directory) even where the environment sets
PYTHONDONTWRITEBYTECODE, unless --no-pyc-cache.

    .venv/bin/python benchmarks/detect.py --paths-filter /tmp/pf/index.js \\
        --real /tmp/real/neon --real /tmp/real/nushell --baseline /tmp/venv-before/bin/buildctl
    .venv/bin/python benchmarks/detect.py --paths-filter /tmp/pf/index.js --sizes 100,1000 --runs 11

The buildctl timed should be a regular install, as the action makes (`python -m venv V &&
V/bin/pip install .`): an editable one (.venv's) loads an import hook at every start, and the
report says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _pathsfilter
from _measure import (
    BenchmarkError,
    Sample,
    Spawner,
    checked,
    editable,
    interleaved,
    interpreter_of,
    log,
    with_env,
)
from _report import Row, report
from _repos import make_repo, real_repo, synthetic_filters
from _synthetic import build_model, expected_build, large_diff, small_diff

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILDCTL = REPO_ROOT / ".venv" / "bin" / "buildctl"


@dataclass(frozen=True)
class Case:
    group: str  # "100 crates", or a real repository's name
    label: str  # the diff
    repo: Path
    map_path: Path | None
    base: str
    head: str
    files: int
    services: int
    expected: list[str] | None  # the generator's answer (synthetic workspaces only)
    filters: str  # paths-filter's YAML


@dataclass(frozen=True)
class Setup:
    tools: dict[str, Path]  # label -> buildctl executable
    python: str
    node: str
    paths_filter: Path
    workdir: Path
    runs: int


def commands(setup: Setup, case: Case) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label, exe in setup.tools.items():
        argv = [str(exe), "--repo", str(case.repo)]
        if case.map_path is not None:
            argv += ["--map", str(case.map_path)]
        argv += ["affected", "--base", case.base, "--head", case.head, "--format", "json"]
        out[f"{label} cold"] = with_env({"BUILDCTL_CACHE_DIR": ""}, argv)
        out[f"{label} warm"] = with_env({"BUILDCTL_CACHE_DIR": str(setup.workdir / f"cache-{label}")}, argv)
    event = setup.workdir / "paths-filter-event.json"
    out["paths-filter"] = _pathsfilter.command(
        setup.node, setup.paths_filter, case.repo, case.base, case.head, case.filters, event
    )
    out["python"] = [setup.python, "-c", "pass"]
    out["git diff"] = ["git", "-C", str(case.repo), "diff", "--name-status", "-z", case.base, case.head]
    return out


def _answer(sample: Sample, what: str) -> dict[str, object]:
    try:
        answer = json.loads(sample.stdout)
    except ValueError as exc:
        raise BenchmarkError(f"{what} printed no JSON ({exc}): {sample.stdout[:200]!r}") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("build"), list):
        raise BenchmarkError(f"{what} printed no plan: {str(answer)[:300]}")
    return answer


def verify(case: Case, answers: dict[str, dict[str, object]]) -> list[str]:
    """Every buildctl said the same; on a synthetic workspace, what the generator's graph says."""
    first_name, first = next(iter(answers.items()))
    for name, answer in answers.items():
        if answer != first:
            raise BenchmarkError(
                f"WRONG ANSWER at {case.group}, {case.label}: {name} differs from {first_name}:\n"
                f"  {name}: {json.dumps(answer)[:600]}\n  {first_name}: {json.dumps(first)[:600]}"
            )
    build = [str(s) for s in first["build"]]  # type: ignore[attr-defined]
    if case.expected is not None and sorted(build) != case.expected:
        missing = sorted(set(case.expected) - set(build))
        extra = sorted(set(build) - set(case.expected))
        raise BenchmarkError(
            f"WRONG ANSWER at {case.group}, {case.label}: buildctl builds {len(build)} services, the "
            f"graph says {len(case.expected)}.\n  missing: {missing[:20]}\n  extra:   {extra[:20]}"
        )
    return build


def run_case(spawner: Spawner, setup: Setup, case: Case) -> Row:
    cmds = commands(setup, case)
    answers: dict[str, dict[str, object]] = {}
    flagged: list[str] | None = None
    for name, argv in cmds.items():  # the warm-up: page cache, bytecode, the warm caches
        sample = checked(spawner.run(argv), name)
        if name.endswith((" cold", " warm")):
            answers[name] = _answer(sample, name)
        elif name == "paths-filter":
            flagged = _pathsfilter.flagged(sample.stdout)
            if flagged is None:
                raise BenchmarkError(f"paths-filter set no output:\n{sample.stdout.decode()[-1500:]}")
    built = verify(case, answers)
    samples = interleaved(spawner, cmds, setup.runs)
    return Row(
        group=case.group,
        label=case.label,
        files=case.files,
        services=case.services,
        built=len(built),
        flagged=len(flagged or []),
        samples=samples,
    )


def synthetic_cases(size: int, seed: int, workdir: Path) -> list[Case]:
    model = build_model(size, seed)
    small = small_diff(model)
    large = large_diff(model, {**model.files, **small.files})
    repo, reused = make_repo(model, small, large, workdir / f"ws-{size}")
    log(
        f"{size} crates: {len(model.files)} files, {len(model.services)} services, {'reused' if reused else 'generated'} {repo.path}"
    )
    yaml = _pathsfilter.filters_yaml(synthetic_filters(model))
    return [
        Case(
            f"{size:,} crates",
            diff.label,
            repo.path,
            None,
            base,
            head,
            len(diff.files),
            len(model.services),
            expected_build(model, diff),
            yaml,
        )
        for diff, base, head in ((small, repo.base, repo.small), (large, repo.small, repo.large))
    ]


def real_cases(path: Path, pairs: int, workdir: Path) -> list[Case]:
    real = real_repo(path, workdir, pairs)
    log(f"{real.name}: {len(real.services)} services ({', '.join(real.services)}), {len(real.pairs)} pairs")
    yaml = _pathsfilter.filters_yaml(real.filters)
    return [
        Case(
            real.name,
            f"{head[:10]} ({files} files)",
            real.path,
            real.map_path,
            base,
            head,
            files,
            len(real.services),
            None,
            yaml,
        )
        for base, head, files in real.pairs
    ]


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes wants comma-separated integers, not {text!r}") from None
    if any(s < 20 for s in sizes):
        raise argparse.ArgumentTypeError("each size must be at least 20 crates (one service in 20)")
    return sizes


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=_sizes, default=[100, 1000, 3000], help="crate counts ('' for none)")
    p.add_argument("--real", type=Path, action="append", default=[], help="a clone of a real Rust monorepo")
    p.add_argument("--pairs", type=_positive, default=10, help="commit pairs per real repository (10)")
    p.add_argument("--runs", type=_positive, default=7, help="timed rounds per case (default 7)")
    p.add_argument("--keep", type=Path, help="generate into DIR and keep it; reused when unchanged")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--buildctl", type=Path, default=DEFAULT_BUILDCTL, help="the buildctl executable")
    p.add_argument("--baseline", type=Path, help="a second buildctl to time beside it (e.g. the last commit)")
    p.add_argument(
        "--paths-filter",
        type=Path,
        required=True,
        help=f"paths-filter {_pathsfilter.VERSION}'s dist/index.js",
    )
    p.add_argument("--node", default="node", help="the node executable (default: node on PATH)")
    p.add_argument(
        "--no-pyc-cache",
        action="store_true",
        help="leave PYTHONDONTWRITEBYTECODE as the environment has it (default: cache bytecode in the "
        "work directory, as an installed buildctl would have it)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    tools = {"buildctl": args.buildctl.resolve()}
    if args.baseline:
        tools["baseline"] = args.baseline.resolve()
    for exe in tools.values():
        if not os.access(exe, os.X_OK):
            parser.error(f"{exe} is not executable (create the venv first: pip install -e .)")
    if not args.paths_filter.is_file():
        parser.error(f"{args.paths_filter} is not paths-filter's dist/index.js")
    python = interpreter_of(tools["buildctl"])
    notes = [
        f"{label} is an editable install ({exe}): its import hook is in every time above; for "
        "figures a CI runner sees, give a regular install (pip install . into a venv)"
        for label, exe in tools.items()
        if editable(interpreter_of(exe))
    ]
    for note in notes:
        log(f"warning: {note}")
    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="buildctl-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for label in tools:  # warm means warmed by this run's warm-up, not by another version's run
        shutil.rmtree(workdir / f"cache-{label}", ignore_errors=True)
    setup = Setup(tools, python, args.node, args.paths_filter.resolve(), workdir, args.runs)
    rows: list[Row] = []
    load = [os.getloadavg()[0]]
    try:
        pycache = None if args.no_pyc_cache else workdir / "pycache"
        with Spawner(python, pycache) as spawner:  # first, while this process is still small
            cases = [c for size in args.sizes for c in synthetic_cases(size, args.seed, workdir)]
            cases += [c for path in args.real for c in real_cases(path.resolve(), args.pairs, workdir)]
            for n, case in enumerate(cases, start=1):
                log(f"  [{n}/{len(cases)}] {case.group}: {case.label}: 1 warm-up + {args.runs} rounds")
                rows.append(run_case(spawner, setup, case))
            bytecode = spawner.bytecode
    except BenchmarkError as exc:
        log(f"\nbenchmark FAILED: {exc}")
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"repositories kept in {workdir}")
    load.append(os.getloadavg()[0])
    print(report(rows, list(tools), args.runs, python, bytecode, load, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
