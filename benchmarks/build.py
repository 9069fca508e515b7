#!/usr/bin/env python3
"""Benchmark `buildctl build` on the real Docker engine with a local registry.

Each run builds a fresh scratch copy of this monorepo (tests/support/docker.scratch_monorepo),
with its own key in the root Cargo.toml's [workspace.metadata], so its cargo-chef recipe, and
so its cook, is new to the engine. The base images (buildctl.local/*) are kept throughout;
everything else the run builds is removed between scenarios as each one needs.

  (a) cold: `build --all --push --jobs J`; no cook image, no service image on the engine.
  (b) one service's source changes (services/chat-service/src/main.rs), then
      `build --base <a's commit> --push --jobs J`: the plan builds chat-service on the cook of (a).
  (c) `warm` pushes the cook; every image of the run is removed (an empty runner); then the same
      one-service change as (b) is built: its dependencies come from the registry (a pull).
  (d) K=9 services with one shared cook (`build --all --jobs 1`, cold) against K separate builds
      (`build --service S --jobs 1` each on an engine emptied of the run's images, so each
      compiles its own cook); both on a second fresh copy, without push.

Targets (from the issue): (b) <= 25% of (a); (c) <= 35% of (a); (d) shared >= 2x faster.
Every build's JSON is checked (statuses, where the cook came from); a mismatch stops the run.
Figures are medians over --runs, each ratio against its baseline measured in the same run.

    .venv/bin/python benchmarks/build.py             # one run of each scenario (about 25 minutes)
    .venv/bin/python benchmarks/build.py --runs 3 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
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
TARGETS = {"b": 0.25, "c": 0.35, "d": 2.0}


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {name: svc["status"] for name, svc in data["services"].items()}


def scenario_abc(bench: Bench, support: Any, jobs: int) -> None:
    repo = support.scratch_monorepo(bench.work / f"abc-{bench.log_n}", f"{bench.reg.addr}/bench")
    services = list(support.SERVICES)
    say("(a) cold build of all nine services")
    a = bench.run(repo.path, "build", "--all", "--push", "--jobs", str(jobs))
    check(a.data["cook"]["cook_step"] == "compiled", "(a) compiles its cook", a.data["cook"])
    check(statuses(a.data) == dict.fromkeys(services, "pushed"), "(a) pushes all nine", a.data)
    bench.add("a", a.seconds)
    for name, svc in a.data["services"].items():
        size = bench.api.inspect_image(f"{svc['image']}:{svc['tag']}")["Size"] / 1e6
        _, _, body = bench.reg.get(f"/v2/bench/{name}/manifests/{svc['tag']}")
        pushed = sum(layer["size"] for layer in json.loads(body)["layers"]) / 1e6
        bench.sizes[name] = (size, pushed)
    bench.sizes["(cook image)"] = (bench.api.inspect_image(a.data["cook"]["image"])["Size"] / 1e6, 0.0)

    say("(b) one service's source changed")
    base = repo.head()
    repo.append(f"services/{CHANGED_SERVICE}/src/main.rs", "\n// benchmark: a source change\n")
    repo.commit("a source change")
    b = bench.run(repo.path, "build", "--base", base, "--push", "--jobs", str(jobs))
    check(statuses(b.data) == {CHANGED_SERVICE: "pushed"}, "(b) builds one service", b.data)
    check(b.data["cook"]["cook_step"] == "cached", "(b) reuses the cook", b.data["cook"])
    bench.add("b", b.seconds)

    say("(c) warm, empty the engine, the same change again")
    w = bench.run(repo.path, "warm")
    check(w.data["status"] == "pushed", "warm pushes the cook", w.data)
    bench.add("warm", w.seconds)
    bench.empty_engine()
    repo.append(f"services/{CHANGED_SERVICE}/src/main.rs", "// and another\n")
    repo.commit("another source change")
    c = bench.run(repo.path, "build", "--base", base, "--push", "--jobs", str(jobs))
    check(statuses(c.data) == {CHANGED_SERVICE: "pushed"}, "(c) builds one service", c.data)
    cook = c.data["cook"]
    check(cook["source"] == "registry" and cook["cook_step"] == "cached", "(c) cook from registry", cook)
    bench.add("c", c.seconds)
    bench.empty_engine()
    shutil.rmtree(repo.path, ignore_errors=True)


def scenario_d(bench: Bench, support: Any) -> None:
    repo = support.scratch_monorepo(bench.work / f"d-{bench.log_n}", f"{bench.reg.addr}/bench-d")
    say("(d) nine services, one shared cook")
    shared = bench.run(repo.path, "build", "--all", "--jobs", "1")
    check(shared.data["cook"]["cook_step"] == "compiled", "(d) shared cook compiled", shared.data["cook"])
    check(set(statuses(shared.data).values()) == {"built"}, "(d) all nine built", shared.data)
    bench.add("d_shared", shared.seconds)
    total = 0.0
    for name in support.SERVICES:
        bench.empty_engine()
        say(f"(d) separate: {name}, its own cook")
        one = bench.run(repo.path, "build", "--service", name, "--jobs", "1")
        check(one.data["cook"]["cook_step"] == "compiled", f"(d) {name} cooks its own", one.data["cook"])
        check(statuses(one.data) == {name: "built"}, f"(d) {name} built", one.data)
        total += one.seconds
    bench.add("d_separate", total)
    bench.empty_engine()
    shutil.rmtree(repo.path, ignore_errors=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(bench: Bench, runs: int, jobs: int, engine: str) -> str:
    m = {k: median(v) for k, v in bench.samples.items()}
    a, sep = m.get("a", float("nan")), m.get("d_separate", float("nan"))

    def share(key: str) -> tuple[str, str]:
        ratio = m[key] / a
        return f"{ratio:.0%} of (a)", "yes" if ratio <= TARGETS[key] else "NO"

    rows = [
        ("(a) cold: 9 services, cook compiled, push", f"{a:.1f}", "baseline", "", ""),
        (
            f"(b) {CHANGED_SERVICE} source change, cook cached",
            f"{m['b']:.1f}",
            *share("b"),
            f"<= {TARGETS['b']:.0%}",
        ),
        (
            f"(c) empty engine after warm, {CHANGED_SERVICE}",
            f"{m['c']:.1f}",
            *share("c"),
            f"<= {TARGETS['c']:.0%}",
        ),
        ("    warm itself (cook cached + push), once", f"{m['warm']:.1f}", "", "", ""),
        ("(d) 9 separate builds, a cook each", f"{sep:.1f}", "baseline", "", ""),
        (
            "(d) 9 services, one shared cook",
            f"{m['d_shared']:.1f}",
            f"{sep / m['d_shared']:.1f}x faster",
            "yes" if sep / m["d_shared"] >= TARGETS["d"] else "NO",
            f">= {TARGETS['d']:.0f}x",
        ),
    ]
    head = ("scenario", "median s", "vs baseline", "met", "target")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(5)]
    lines = [
        f"buildctl build benchmark: {platform.node()}, {_cpus()} CPUs, {engine}, runs={runs}, "
        f"jobs={jobs} for (a)-(c), local registry on 127.0.0.1",
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
    ]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append("")
    lines.append("image sizes (MB): on the engine (uncompressed) / in the registry (compressed layers)")
    lines += [
        f"  {name:<22} {size:7.1f} / {pushed:5.1f}" if pushed else f"  {name:<22} {size:7.1f} / (not pushed)"
        for name, (size, pushed) in sorted(bench.sizes.items())
    ]
    lines.append("")
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
    parser.add_argument("--jobs", type=int, default=2, help="--jobs for scenarios (a)-(c)")
    parser.add_argument("--buildctl", type=Path, default=DEFAULT_BUILDCTL, help="the buildctl to run")
    parser.add_argument("--only", choices=["abc", "d"], help="run only these scenarios")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-build lines on stderr")
    opts = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    import tests.support.docker as support

    api = support.docker_api()
    support.ensure_base_images(api)
    engine = f"Docker {api.version()['Version']} (classic builder via the SDK)"
    work = Path(tempfile.mkdtemp(prefix="buildctl-bench-"))
    registry = support.Registry.start(work / "registry")
    ledger = support.ImageLedger(namespaces=[f"{registry.addr}/"])
    bench = Bench(opts.buildctl, work, registry, ledger, api, not opts.quiet)
    steps: list[Callable[[], None]] = []
    if opts.only in (None, "abc"):
        steps.append(lambda: scenario_abc(bench, support, opts.jobs))
    if opts.only in (None, "d"):
        steps.append(lambda: scenario_d(bench, support))
    try:
        for run in range(opts.runs):
            say(f"run {run + 1}/{opts.runs}")
            for step in steps:
                step()
    finally:
        ledger.cleanup(api)
        registry.stop()
    if opts.only is None:
        print(table(bench, opts.runs, opts.jobs, engine))
    else:
        print(json.dumps(bench.samples, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
