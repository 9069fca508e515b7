"""The table benchmarks/detect.py prints: per case, then per workspace against the targets."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from _measure import Sample, median_seconds, peak_mb

TARGET_RATIO = 0.5  # cold buildctl / paths-filter
TARGET_PEAK_MB = 60.0


@dataclass(frozen=True)
class Row:
    group: str
    label: str
    files: int
    services: int
    built: int
    flagged: int  # services paths-filter flagged
    samples: dict[str, list[Sample]]  # command name -> one sample per round

    def median(self, name: str) -> float:
        return median_seconds(self.samples[name])

    def ratios(self, name: str, baseline: str) -> list[float]:
        pairs = zip(self.samples[name], self.samples[baseline], strict=True)
        return [a.seconds / b.seconds for a, b in pairs]


def _columns(tools: Sequence[str]) -> list[tuple[str, str]]:
    """(header, command) of the timed columns."""
    cols = []
    for tool in tools:
        short = "new" if tool == "buildctl" else "base"
        cols += [(f"{short} cold", f"{tool} cold"), (f"{short} warm", f"{tool} warm")]
    return [*cols, ("paths-f", "paths-filter"), ("floor", "")]


def table(rows: Sequence[Row], tools: Sequence[str]) -> Iterator[str]:
    cols = _columns(tools)
    ratio_heads = [f"{'new' if t == 'buildctl' else 'base'}/pf" for t in tools]
    header = (
        f"{'workspace':<12} {'diff':<26} {'built':>7} {'pf':>7} "
        + " ".join(f"{h:>9}" for h, _ in cols)
        + " "
        + " ".join(f"{h:>8}" for h in ratio_heads)
        + f" {'peak MB':>8}"
    )
    yield header
    yield "-" * len(header)
    for r in rows:
        cells = []
        for _, name in cols:
            seconds = (r.median("python") + r.median("git diff")) if not name else r.median(name)
            cells.append(f"{seconds:>9.3f}")
        ratios = [f"{statistics.median(r.ratios(f'{t} cold', 'paths-filter')):>8.2f}" for t in tools]
        yield (
            f"{r.group:<12} {r.label:<26} {f'{r.built}/{r.services}':>7} {f'{r.flagged}/{r.services}':>7} "
            + " ".join(cells)
            + " "
            + " ".join(ratios)
            + f" {peak_mb(r.samples['buildctl cold']):>8.1f}"
        )


def summary(rows: Sequence[Row], tools: Sequence[str]) -> Iterator[str]:
    """Per workspace: the median of every paired round of every case, and the verdicts."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    for group, members in groups.items():
        parts = []
        cold = [x for r in members for x in r.ratios("buildctl cold", "paths-filter")]
        ratio = statistics.median(cold)
        peak = max(peak_mb(r.samples["buildctl cold"]) for r in members)
        parts.append(f"cold/paths-filter {ratio:.2f}")
        if "baseline" in tools:
            before = statistics.median(x for r in members for x in r.ratios("baseline cold", "paths-filter"))
            warm = statistics.median(x for r in members for x in r.ratios("buildctl warm", "baseline warm"))
            coldx = statistics.median(x for r in members for x in r.ratios("buildctl cold", "baseline cold"))
            parts += [
                f"(baseline {before:.2f})",
                f"cold new/baseline {coldx:.2f}",
                f"warm new/baseline {warm:.2f}",
            ]
        parts.append(f"peak {peak:.1f} MB")
        ok = ratio <= TARGET_RATIO and peak < TARGET_PEAK_MB
        if "baseline" in tools:
            ok = ok and warm <= 1.0
        yield f"{group:<12} {'ok ' if ok else 'MISSED'}  " + ", ".join(parts)


def report(
    rows: Sequence[Row],
    tools: Sequence[str],
    runs: int,
    python: str,
    bytecode: str,
    load: Sequence[float],
    notes: Sequence[str] = (),
) -> str:
    lines = [
        f"buildctl affected (new{', base' if 'baseline' in tools else ''}) against paths-filter: medians of "
        f"{runs} interleaved rounds (after 1 warm-up); seconds",
        f"python {platform.python_version()} (bytecode {bytecode}), {_version(['git', '--version'])}, node "
        f"{_version(['node', '--version'])}, {os.cpu_count()} CPUs, load average "
        f"{' -> '.join(f'{x:.2f}' for x in load)} (1 min, start -> end)",
        f"floor = `{Path(python).name} -c pass` + `git diff --name-status -z B H`",
        *(f"NOTE: {n}" for n in notes),
        "",
        *table(rows, tools),
        "",
        "built: services buildctl builds (synthetic: checked against the generator's graph); pf: services",
        "  paths-filter flags. x/pf: median of the per-round ratios of cold buildctl to paths-filter.",
        "",
        f"per workspace (median of all paired rounds; target: cold <= {TARGET_RATIO}x paths-filter, "
        f"peak < {TARGET_PEAK_MB:.0f} MB, warm no slower than the baseline):",
        *summary(rows, tools),
    ]
    return "\n".join(lines)


def _version(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.stdout.strip()
