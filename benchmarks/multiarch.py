#!/usr/bin/env python3
"""Benchmark the linux/arm64 cross build against the native linux/amd64 build of the same services.

Each run makes two fresh scratch copies of this monorepo (tests/support/docker.scratch_monorepo,
each with its own key in the root Cargo.toml, so each cook is new to the engine): one whose map
builds for linux/amd64 only (native: the host's rustup toolchain), one for linux/arm64 only
(cross-compiled: Debian's Rust with the arm64 std, buildctl.local/rust-chef-cross; nothing runs
under emulation). On each, in the same run:

  cold    `build --service S... --push --jobs J`: the cook is compiled, every service built
          and pushed.
  change  one service's source changes (services/chat-service/src/main.rs), then
          `build --base <cold commit> --push`: that service again, on the cached cook.

Target (issue 7): the arm64 build takes at most 1.5x the amd64 build's time. Figures are medians
over --runs; within a run the two platforms go in alternating order, and the engine is emptied
of the run's images between them. Image sizes are printed per platform: on the engine
(uncompressed) and in the registry (compressed layers).

    .venv/bin/python benchmarks/multiarch.py              # one run, all nine services (~15 minutes)
    .venv/bin/python benchmarks/multiarch.py --runs 3 --services auth-service,chat-service
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dockerbench import Bench, check, say  # noqa: E402

DEFAULT_BUILDCTL = REPO_ROOT / ".venv" / "bin" / "buildctl"
CHANGED_SERVICE = "chat-service"
PLATFORMS = ("linux/amd64", "linux/arm64")
TARGET = 1.5


def one_platform(bench: Bench, support: Any, name: str, services: Sequence[str], jobs: int) -> None:
    arch = name.split("/")[1]
    repo = support.scratch_monorepo(
        bench.work / f"{arch}-{bench.log_n}", f"{bench.reg.addr}/bench-{arch}", platforms=(name,)
    )
    say(f"{name}: cold build of {len(services)} service(s)")
    picked = [a for s in services for a in ("--service", s)]
    timed = bench.run(repo.path, "build", *picked, "--push", "--jobs", str(jobs))
    seconds, data = timed.seconds, timed.data
    check(data["cook"]["cook_step"] == "compiled", f"{name}: the cold build compiles its cook", data["cook"])
    check(
        {s: r["status"] for s, r in data["services"].items()} == dict.fromkeys(services, "pushed"),
        f"{name}: every service pushed",
        data,
    )
    bench.add(f"cold {name}", seconds)
    for service, svc in data["services"].items():
        image = bench.api.inspect_image(f"{svc['image']}:{svc['tag']}")
        check(image["Architecture"] == arch, f"{service} is a {name} image", image["Architecture"])
        _, _, body = bench.reg.get(f"/v2/bench-{arch}/{service}/manifests/{svc['tag']}")
        pushed = sum(layer["size"] for layer in json.loads(body)["layers"])
        bench.sizes[(service, name)] = (image["Size"] / 1e6, pushed / 1e6)

    if CHANGED_SERVICE in services:
        say(f"{name}: {CHANGED_SERVICE} changed, rebuilt on the cached cook")
        base = repo.head()
        repo.append(f"services/{CHANGED_SERVICE}/src/main.rs", "\n// benchmark: a source change\n")
        repo.commit("a source change")
        timed = bench.run(repo.path, "build", "--base", base, "--push", "--jobs", str(jobs))
        seconds, data = timed.seconds, timed.data
        check(
            {s: r["status"] for s, r in data["services"].items()} == {CHANGED_SERVICE: "pushed"},
            f"{name}: the change rebuilds {CHANGED_SERVICE} only",
            data,
        )
        check(data["cook"]["cook_step"] == "cached", f"{name}: the change reuses the cook", data["cook"])
        bench.add(f"change {name}", seconds)
    bench.empty_engine()
    shutil.rmtree(repo.path, ignore_errors=True)


def report(bench: Bench, runs: int, jobs: int, services: Sequence[str], engine: str) -> str:
    m = {k: statistics.median(v) for k, v in bench.samples.items()}
    lines = [
        f"buildctl multi-arch benchmark: {platform.node()}, {len(os.sched_getaffinity(0))} CPUs, {engine}, "
        f"runs={runs}, jobs={jobs}, {len(services)} service(s), local registry on 127.0.0.1",
        f"{'scenario':<44}{'amd64 s':>9}{'arm64 s':>9}{'arm64/amd64':>13}  target",
    ]
    for scenario, what in (
        ("cold", f"cold: {len(services)} service(s), cook compiled, push"),
        ("change", f"{CHANGED_SERVICE} source change, cook cached, push"),
    ):
        amd, arm = m.get(f"{scenario} linux/amd64"), m.get(f"{scenario} linux/arm64")
        if amd is None or arm is None:
            continue
        ratio = arm / amd
        met = "yes" if ratio <= TARGET else "NO"
        lines.append(f"{what:<44}{amd:>9.1f}{arm:>9.1f}{ratio:>12.2f}x  <= {TARGET}x: {met}")
    lines += ["", "image sizes (MB): on the engine (uncompressed) / in the registry (compressed layers)"]
    lines.append(f"  {'service':<22}{'linux/amd64':>17}{'linux/arm64':>17}")
    for service in services:
        cells = []
        for name in PLATFORMS:
            size, pushed = bench.sizes.get((service, name), (float("nan"), float("nan")))
            cells.append(f"{size:7.1f} / {pushed:5.1f}")
        lines.append(f"  {service:<22}{cells[0]:>17}{cells[1]:>17}")
    lines += [
        "",
        "samples (s): " + ", ".join(f"{k}={[round(v, 1) for v in vs]}" for k, vs in bench.samples.items()),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="runs of each platform's builds (median reported)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of every build")
    parser.add_argument("--services", help="comma-separated services to build (default: all nine)")
    parser.add_argument("--buildctl", type=Path, default=DEFAULT_BUILDCTL, help="the buildctl to run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-build lines on stderr")
    opts = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    import tests.support.docker as support

    services = opts.services.split(",") if opts.services else list(support.SERVICES)
    unknown = sorted(set(services) - set(support.SERVICES))
    if unknown:
        parser.error(f"unknown services: {', '.join(unknown)}")
    api = support.docker_api()
    support.ensure_base_images(api)
    engine = f"Docker {api.version()['Version']} (classic builder via the SDK)"
    work = Path(tempfile.mkdtemp(prefix="buildctl-bench-multiarch-"))
    registry = support.Registry.start(work / "registry")
    ledger = support.ImageLedger(namespaces=[f"{registry.addr}/"])
    bench = Bench(opts.buildctl, work, registry, ledger, api, not opts.quiet)
    try:
        for run in range(opts.runs):
            order = PLATFORMS if run % 2 == 0 else PLATFORMS[::-1]
            say(f"run {run + 1}/{opts.runs}: {' then '.join(order)}")
            for name in order:
                one_platform(bench, support, name, services, opts.jobs)
    finally:
        ledger.cleanup(api)
        registry.stop()
    print(report(bench, opts.runs, opts.jobs, services, engine))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
