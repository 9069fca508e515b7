#!/usr/bin/env python3
"""Benchmark `buildctl build` on the real Docker engine with a local registry, for each builder
this machine has (BuildKit through the docker CLI, and the classic builder), side by side.

Each scenario starts from a fresh scratch copy of this monorepo (tests/support/docker.py
`scratch_monorepo`) with its own key in the root Cargo.toml's [workspace.metadata], so its
cargo-chef recipe, and so its cook, is new to the engine. The base images (buildctl.local/*)
are kept throughout; everything else a scenario builds is removed (images, and BuildKit's build
cache) where it needs an empty engine.

  (a) cold: `build --all --push --jobs J`, this machine's platform; nothing on the engine.
  (b) one service's source changes, then `build --base <a's commit> --push`: one service, on
      the cook of (a).
  (c) `warm`; every image of the run and the build cache are removed (a fresh runner); then
      the same change as (b): its dependencies come from the registry.
  (d) K services with one shared cook (`build --service ... --jobs 1`, cold) against K separate
      builds, each on an engine emptied first, so each compiles its own cook; without push.
  (e) both platforms, cold: every service for linux/amd64 and linux/arm64 (cross-compiled),
      pushed with an OCI index per tag.

Figures are medians over --runs, each ratio against its baseline measured in the same run and
with the same builder.

    .venv/bin/python benchmarks/build.py                    # every builder, one run each
    .venv/bin/python benchmarks/build.py --builders buildkit --only abc
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dockerbench import Bench, check, say  # noqa: E402

DEFAULT_BUILDCTL = REPO_ROOT / ".venv" / "bin" / "buildctl"
CHANGED_SERVICE = "chat-service"
SHARED_K = ("auth-service", "world-state", "physics-service")
BOTH = ("linux/amd64", "linux/arm64")


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {name: svc["status"] for name, svc in data["services"].items()}


def empty(bench: Bench) -> None:
    """No image of the run and no build cache: what a fresh runner's engine holds."""
    bench.empty_engine()
    subprocess.run(
        ["/usr/bin/docker", "builder", "prune", "--all", "--force"], check=True, capture_output=True
    )


def scenario_abc(bench: Bench, support: Any, builder: str, jobs: int) -> None:
    empty(bench)
    repo = support.scratch_monorepo(bench.work / f"abc-{bench.log_n}", f"{bench.reg.addr}/bench-{builder}")
    services = list(support.SERVICES)
    say(f"[{builder}] (a) cold build of all nine services")
    a = bench.run(repo.path, "build", "--builder", builder, "--all", "--push", "--jobs", str(jobs))
    check(a.data["cook"]["cook_step"] == "compiled", "(a) compiles its cook", a.data["cook"])
    check(statuses(a.data) == dict.fromkeys(services, "pushed"), "(a) pushes all nine", a.data)
    bench.add(f"{builder} a", a.seconds)
    svc = a.data["services"][CHANGED_SERVICE]
    bench.sizes[f"{builder} service image"] = (
        bench.api.inspect_image(f"{svc['image']}:{svc['tag']}")["Size"] / 1e6,
        0.0,
    )
    bench.sizes[f"{builder} cook image"] = (
        bench.api.inspect_image(a.data["cook"]["image"])["Size"] / 1e6,
        0.0,
    )

    say(f"[{builder}] (b) one service's source changed")
    base = repo.head()
    repo.append(f"services/{CHANGED_SERVICE}/src/main.rs", "\n// benchmark: a source change\n")
    repo.commit("a source change")
    b = bench.run(repo.path, "build", "--builder", builder, "--base", base, "--push", "--jobs", str(jobs))
    check(statuses(b.data) == {CHANGED_SERVICE: "pushed"}, "(b) builds one service", b.data)
    check(b.data["cook"]["cook_step"] == "cached", "(b) reuses the cook", b.data["cook"])
    bench.add(f"{builder} b", b.seconds)

    say(f"[{builder}] (c) warm, empty the engine, the same change again")
    w = bench.run(repo.path, "warm", "--builder", builder)
    check(w.data["status"] in ("pushed", "exists"), "warm leaves the cook in the registry", w.data)
    empty(bench)
    repo.append(f"services/{CHANGED_SERVICE}/src/main.rs", "// and another\n")
    repo.commit("another source change")
    c = bench.run(repo.path, "build", "--builder", builder, "--base", base, "--push", "--jobs", str(jobs))
    check(statuses(c.data) == {CHANGED_SERVICE: "pushed"}, "(c) builds one service", c.data)
    cook = c.data["cook"]
    check(cook["source"] == "registry" and cook["cook_step"] == "cached", "(c) cook from registry", cook)
    bench.add(f"{builder} c", c.seconds)
    empty(bench)
    shutil.rmtree(repo.path, ignore_errors=True)


def scenario_d(bench: Bench, support: Any, builder: str) -> None:
    empty(bench)
    repo = support.scratch_monorepo(bench.work / f"d-{bench.log_n}", f"{bench.reg.addr}/bench-d")
    which = [a for s in SHARED_K for a in ("--service", s)]
    say(f"[{builder}] (d) {len(SHARED_K)} services, one shared cook")
    shared = bench.run(repo.path, "build", "--builder", builder, *which, "--jobs", "1")
    check(shared.data["cook"]["cook_step"] == "compiled", "(d) shared cook compiled", shared.data["cook"])
    bench.add(f"{builder} d_shared", shared.seconds)
    total = 0.0
    for name in SHARED_K:
        empty(bench)
        say(f"[{builder}] (d) separate: {name}, its own cook")
        one = bench.run(repo.path, "build", "--builder", builder, "--service", name, "--jobs", "1")
        check(one.data["cook"]["cook_step"] == "compiled", f"(d) {name} cooks its own", one.data["cook"])
        total += one.seconds
    bench.add(f"{builder} d_separate", total)
    empty(bench)
    shutil.rmtree(repo.path, ignore_errors=True)


def scenario_e(bench: Bench, support: Any, builder: str, jobs: int) -> None:
    empty(bench)
    repo = support.scratch_monorepo(
        bench.work / f"e-{bench.log_n}", f"{bench.reg.addr}/bench-e-{builder}", platforms=BOTH
    )
    say(f"[{builder}] (e) both platforms, cold")
    e = bench.run(repo.path, "build", "--builder", builder, "--all", "--push", "--jobs", str(jobs))
    check(list(e.data["cooks"]) == list(BOTH), "(e) a cook per platform", e.data["cooks"])
    check(set(statuses(e.data).values()) == {"pushed"}, "(e) all pushed", e.data)
    bench.add(f"{builder} e", e.seconds)
    empty(bench)
    shutil.rmtree(repo.path, ignore_errors=True)


def table(bench: Bench, builders: Sequence[str], runs: int, jobs: int, engine: str) -> str:
    m = {k: statistics.median(v) for k, v in bench.samples.items()}

    def cell(builder: str, key: str, base: str | None = None, faster: bool = False) -> str:
        value = m.get(f"{builder} {key}")
        if value is None:
            return "-"
        if base is None:
            return f"{value:.1f}"
        ref = m[f"{builder} {base}"]
        return (
            f"{value:.1f} ({ref / value:.1f}x faster)"
            if faster
            else f"{value:.1f} ({value / ref:.0%} of {base})"
        )

    rows = [
        ("(a) cold: 9 services, cook compiled, push", [cell(b, "a") for b in builders]),
        (f"(b) {CHANGED_SERVICE} source change, cook cached", [cell(b, "b", "a") for b in builders]),
        (f"(c) empty engine after warm, {CHANGED_SERVICE}", [cell(b, "c", "a") for b in builders]),
        (f"(d) {len(SHARED_K)} separate builds, a cook each", [cell(b, "d_separate") for b in builders]),
        (
            f"(d) {len(SHARED_K)} services, one shared cook",
            [cell(b, "d_shared", "d_separate", True) for b in builders],
        ),
        ("(e) 9 services x 2 platforms, cold, push", [cell(b, "e") for b in builders]),
    ]
    if len(builders) > 1:  # the builders against each other, scenario by scenario
        first, second = builders[0], builders[1]
        for key, label in (("a", "(a)"), ("b", "(b)"), ("c", "(c)"), ("e", "(e)")):
            if f"{first} {key}" in m and f"{second} {key}" in m:
                rows.append(
                    (
                        f"{label} {second} / {first}",
                        ["", f"{m[f'{second} {key}'] / m[f'{first} {key}']:.2f}x"],
                    )
                )
    head = ("scenario (median seconds)", *builders)
    widths = [max(len(str(r[0])) for r in [head, *rows])] + [
        max(len(head[i + 1]), *(len(r[1][i]) for r in rows)) for i in range(len(builders))
    ]
    lines = [
        f"buildctl build benchmark: {platform.node()}, {_cpus()} CPUs, {engine}, runs={runs}, jobs={jobs}",
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
    ]
    for label, cells in rows:
        lines.append(
            "  ".join(
                [label.ljust(widths[0]), *(c.ljust(w) for c, w in zip(cells, widths[1:], strict=True))]
            ).rstrip()
        )
    lines.append("")
    lines.append(
        "image sizes on the engine (MB): "
        + ", ".join(f"{k} {v[0]:.1f}" for k, v in sorted(bench.sizes.items()))
    )
    lines.append(
        "samples (s): " + ", ".join(f"{k}={[round(v, 1) for v in vs]}" for k, vs in bench.samples.items())
    )
    return "\n".join(lines)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each scenario (median reported)")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs for scenarios (a)-(c) and (e)")
    parser.add_argument("--buildctl", type=Path, default=DEFAULT_BUILDCTL, help="the buildctl to run")
    parser.add_argument("--builders", default="buildkit,classic", help="comma-separated: buildkit, classic")
    parser.add_argument("--only", choices=["abc", "d", "e"], help="run only these scenarios")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-build lines on stderr")
    opts = parser.parse_args(argv)
    builders = [b for b in opts.builders.split(",") if b]

    sys.path.insert(0, str(REPO_ROOT))
    import tests.support.docker as support
    from buildctl.build.buildkit import choose

    api = support.docker_api()
    support.ensure_base_images(api)
    if "buildkit" in builders and choose("auto").kind != "buildkit":
        raise SystemExit("no docker CLI here drives BuildKit: run with --builders classic")
    engine = f"Docker {api.version()['Version']}"
    work = Path(tempfile.mkdtemp(prefix="buildctl-bench-"))
    registry = support.Registry.start(work / "registry")
    ledger = support.ImageLedger(namespaces=[f"{registry.addr}/"])
    bench = Bench(opts.buildctl, work, registry, ledger, api, not opts.quiet)
    steps: list[Callable[[str], None]] = []
    if opts.only in (None, "abc"):
        steps.append(lambda b: scenario_abc(bench, support, b, opts.jobs))
    if opts.only in (None, "d"):
        steps.append(lambda b: scenario_d(bench, support, b))
    if opts.only in (None, "e"):
        steps.append(lambda b: scenario_e(bench, support, b, opts.jobs))
    try:
        for run in range(opts.runs):
            for builder in builders:  # alternate, so that load on the machine hits both alike
                say(f"run {run + 1}/{opts.runs}: {builder}")
                for step in steps:
                    step(builder)
    finally:
        ledger.cleanup(api)
        registry.stop()
    print(table(bench, builders, opts.runs, opts.jobs, engine))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
