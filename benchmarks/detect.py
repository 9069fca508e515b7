#!/usr/bin/env python3
"""Benchmark `buildctl affected` on synthetic Cargo workspaces.

For each size (crates in the workspace) the script generates a workspace of about 20 files per
crate: 5% of the crates are services (binaries under services/<name>/ with src/main.rs, mapped
in workspace-map.toml), the rest libraries under crates/<name>/ in a layered DAG with
popularity-skewed fan-in, path dependencies (some renamed, some inherited with
`workspace = true`, a few build- and dev-dependencies), a few registry crates, and a Cargo.lock
in cargo's v3 format. It commits that with `git fast-import`, then two later commits:

* a 2-file diff: two files of one library crate in the middle of the graph;
* a 2,000-file diff: files spread over many crates (modified, or added once a crate runs out).

Each range is timed as whole processes, `buildctl --repo R affected --base B --head H --format
json`, beside a floor measured in the same run (a bare `python -c pass` with the same interpreter
plus `git diff --name-status -z B H` of the same range). The printed table gives the medians,
the ratio, the peak RSS, and how many services buildctl and a paths-filter-style rule would
build. buildctl's `build` list is checked against the generator's own graph; a mismatch fails.
Child processes get bytecode caching (PYTHONPYCACHEPREFIX in the work directory, after one
warm-up run) even where the environment sets PYTHONDONTWRITEBYTECODE, unless --no-pyc-cache.

    .venv/bin/python benchmarks/detect.py                       # 100, 1,000 and 3,000 crates
    .venv/bin/python benchmarks/detect.py --sizes 100,1000 --runs 11
    .venv/bin/python benchmarks/detect.py --keep /tmp/bench     # keep (and reuse) the repositories
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILDCTL = REPO_ROOT / ".venv" / "bin" / "buildctl"
SPAWN_HELPER = Path(__file__).resolve().parent / "_spawn.py"

GENERATOR_VERSION = "1"  # part of the seed; kept repositories are checked by the digest of their stream
FILES_PER_CRATE = 20  # Cargo.toml, src/lib.rs or src/main.rs, and MODULES more
MODULES = FILES_PER_CRATE - 2
SERVICE_SHARE = 0.05
SMALL_DIFF = 2
LARGE_DIFF = 2000
LARGE_DIFF_MAX_CRATES = 400
WS_INHERITED_LAYERS = 1  # crates of the lowest layer(s) are listed in [workspace.dependencies]
BENCH_DATE = 1_700_000_000  # fixed commit times: the same seed gives the same commit ids

REGISTRY = "registry+https://github.com/rust-lang/crates.io-index"
# Registry crates in the lock: name -> (version, dependencies). The first few are used directly.
EXTERNALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "serde": ("1.0.210", ("serde_derive",)),
    "serde_json": ("1.0.128", ("itoa", "memchr", "ryu", "serde")),
    "thiserror": ("1.0.64", ("thiserror-impl",)),
    "once_cell": ("1.20.1", ()),
    "memchr": ("2.7.4", ()),
    "itoa": ("1.0.11", ()),
    "serde_derive": ("1.0.210", ("proc-macro2", "quote", "syn")),
    "thiserror-impl": ("1.0.64", ("proc-macro2", "quote", "syn")),
    "proc-macro2": ("1.0.86", ("unicode-ident",)),
    "quote": ("1.0.37", ("proc-macro2",)),
    "syn": ("2.0.77", ("proc-macro2", "quote", "unicode-ident")),
    "unicode-ident": ("1.0.13", ()),
    "ryu": ("1.0.18", ()),
}
DIRECT_EXTERNALS = ("serde", "serde_json", "thiserror", "once_cell", "memchr", "itoa")
WS_EXTERNALS: dict[str, str] = {  # [workspace.dependencies] entries for registry crates
    "serde": '{ version = "1.0", features = ["derive"] }',
    "serde_json": '"1.0"',
    "thiserror": '"1.0"',
    "once_cell": '"1.20"',
}
LAYER_WORDS = ("core", "util", "proto", "store", "codec", "net", "domain", "engine", "api", "feature")

# paths-filter as teams write it without buildctl: each service's own directory, plus the whole
# library tree (here crates/**, `shared/**` in the issue) for every service.
PATHS_FILTER_SHARED_PREFIXES = ("crates/",)

# Reference figures from the issue (paths-filter, measured elsewhere): (crates, diff files) -> s.
PATHS_FILTER_SECONDS: dict[tuple[int, int], float] = {(100, 2): 0.19, (3000, 2): 0.21, (3000, 2000): 0.69}
PATHS_FILTER_MEMORY = "60 to 200 MB"
TARGET_PEAK_MB = 150.0


class BenchmarkError(Exception):
    """A failed generation step, a failed run, or a wrong answer from buildctl."""


# --------------------------------------------------------------------------------------------
# The synthetic workspace


@dataclass
class CrateSpec:
    name: str  # package name
    dir: str  # repo-relative directory
    layer: int  # 0 is the bottom of the library DAG; services sit above the top layer
    service: str | None = None  # the service name, for binaries
    deps: list[str] = field(default_factory=list)  # path [dependencies], by package name
    build_deps: list[str] = field(default_factory=list)  # path [build-dependencies]
    dev_deps: list[str] = field(default_factory=list)  # path [dev-dependencies]
    externals: list[str] = field(default_factory=list)  # registry crates it uses directly

    @property
    def entry(self) -> str:
        return "src/main.rs" if self.service else "src/lib.rs"

    def sources(self) -> list[str]:
        """Repo-relative paths of its source files (everything but Cargo.toml)."""
        return [f"{self.dir}/{self.entry}", *(f"{self.dir}/src/m{i}.rs" for i in range(MODULES))]


@dataclass
class Model:
    """A generated workspace: the crate graph and every file of the base commit."""

    size: int
    seed: int
    crates: dict[str, CrateSpec]
    inherited: frozenset[str]  # path crates listed in [workspace.dependencies]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def services(self) -> dict[str, CrateSpec]:  # service name -> crate
        return {c.service: c for c in self.crates.values() if c.service}

    def closure(self, crate: str) -> set[str]:
        """`crate` and every crate it needs to build (normal and build dependencies, never dev)."""
        seen = {crate}
        queue = deque([crate])
        while queue:
            spec = self.crates[queue.popleft()]
            for dep in (*spec.deps, *spec.build_deps):
                if dep not in seen:
                    seen.add(dep)
                    queue.append(dep)
        return seen


def _layer_sizes(n_libs: int, n_layers: int) -> list[int]:
    weights = [0.5, *([1.0] * (n_layers - 1))]  # a narrower core at the bottom
    total = sum(weights)
    sizes = [max(1, int(n_libs * w / total)) for w in weights]
    for i in range(n_libs - sum(sizes)):
        sizes[1 + i % (n_layers - 1)] += 1
    return sizes


def _pick(
    rng: random.Random,
    count: int,
    layers: Sequence[Sequence[str]],
    layer_weights: Sequence[float],
    popularity: Mapping[str, float],
    exclude: Iterable[str] = (),
) -> list[str]:
    """`count` distinct crates: a layer by `layer_weights`, then a crate in it by popularity."""
    chosen: list[str] = []
    taken = set(exclude)
    available = sum(len(layer) for layer in layers) - len(taken)
    for _ in range(count * 8):
        if len(chosen) >= min(count, available):
            break
        layer = rng.choices(layers, weights=layer_weights)[0]
        name = rng.choices(layer, weights=[popularity[n] for n in layer])[0]
        if name not in taken:
            taken.add(name)
            chosen.append(name)
    return chosen


def build_model(size: int, seed: int) -> Model:
    rng = random.Random(f"buildctl-bench/{GENERATOR_VERSION}/{size}/{seed}")
    n_services = max(1, round(size * SERVICE_SHARE))
    n_libs = size - n_services
    n_layers = max(4, round(math.log2(n_libs)))
    layers: list[list[str]] = []
    crates: dict[str, CrateSpec] = {}
    popularity: dict[str, float] = {}
    index = 0
    for layer_no, count in enumerate(_layer_sizes(n_libs, n_layers)):
        word = LAYER_WORDS[min(len(LAYER_WORDS) - 1, layer_no * len(LAYER_WORDS) // n_layers)]
        names = []
        for _ in range(count):
            name = f"{word}-{index:04d}"
            index += 1
            names.append(name)
            crates[name] = CrateSpec(name=name, dir=f"crates/{name}", layer=layer_no)
            popularity[name] = rng.paretovariate(1.1)  # a few crates everybody uses
        layers.append(names)

    for layer_no in range(1, n_layers):
        below = layers[:layer_no]
        near = [0.5 ** (layer_no - 1 - j) + 0.1 for j in range(layer_no)]  # mostly the next layers down
        for name in layers[layer_no]:
            spec = crates[name]
            fan_out = min(12, 1 + int(rng.expovariate(1 / 3)))
            picked = _pick(rng, fan_out, below, near, popularity)
            for dep in picked:
                (spec.build_deps if rng.random() < 0.03 else spec.deps).append(dep)
            if rng.random() < 0.3:  # test helpers: dev edges, which never reach an image
                spec.dev_deps = _pick(rng, rng.randint(1, 2), below, near, popularity, exclude=picked)

    for layer in layers:
        for name in layer:
            n_ext = rng.choice((0, 0, 1, 1, 2))
            crates[name].externals = sorted(rng.sample(DIRECT_EXTERNALS, n_ext))

    top = [0.5 ** (n_layers - 1 - j) + 0.05 for j in range(n_layers)]  # services use high layers
    for i in range(n_services):
        service = f"svc-{i:03d}"
        package = service if i % 2 == 0 else f"{service}-server"  # half need `crate =` in the map
        spec = CrateSpec(name=package, dir=f"services/{service}", layer=n_layers, service=service)
        spec.deps = _pick(rng, rng.randint(3, 12), layers, top, popularity)
        spec.externals = sorted(rng.sample(DIRECT_EXTERNALS, rng.randint(1, 3)))
        crates[package] = spec

    inherited = frozenset(n for layer in layers[:WS_INHERITED_LAYERS] for n in layer)
    model = Model(size=size, seed=seed, crates=crates, inherited=inherited)
    model.files = _render(model, random.Random(rng.random()))
    return model


# --------------------------------------------------------------------------------------------
# Rendering files


def _dep_line(spec: CrateSpec, dep: str, model: Model, rng: random.Random) -> str:
    if dep in model.inherited and rng.random() < 0.5:
        return f"{dep} = {{ workspace = true }}"
    rel = f"../../crates/{dep}" if spec.service else f"../{dep}"
    if rng.random() < 0.05:  # renamed: the key is not the package name
        return f'{dep.replace("-", "_")}_alias = {{ package = "{dep}", path = "{rel}" }}'
    return f'{dep} = {{ path = "{rel}" }}'


def _manifest(spec: CrateSpec, model: Model, rng: random.Random) -> str:
    lines = ["[package]", f'name = "{spec.name}"']
    if rng.random() < 0.6:
        lines += ["version.workspace = true", "edition.workspace = true"]
    else:
        lines += ['version = "0.1.0"', 'edition = "2021"']
    kind = f"service {spec.service}" if spec.service else f"library, layer {spec.layer}"
    lines += [f'description = "Synthetic crate {spec.name} ({kind})."', "publish = false", ""]
    lines.append("[dependencies]")
    lines += [_dep_line(spec, d, model, rng) for d in sorted(spec.deps)]
    for ext in spec.externals:
        lines.append(
            f"{ext} = {{ workspace = true }}" if ext in WS_EXTERNALS else f'{ext} = "{EXTERNALS[ext][0]}"'
        )
    for table, deps in (("build-dependencies", spec.build_deps), ("dev-dependencies", spec.dev_deps)):
        if deps:
            lines += ["", f"[{table}]", *(_dep_line(spec, d, model, rng) for d in sorted(deps))]
    return "\n".join(lines) + "\n"


def _module(spec: CrateSpec, i: int) -> str:
    digest = int(hashlib.blake2b(f"{spec.name}/{i}".encode(), digest_size=4).hexdigest(), 16)
    return (
        f"//! Module m{i} of `{spec.name}`.\n\n"
        f"/// A value only this module knows.\npub fn value_{i}() -> u64 {{\n    {digest}\n}}\n\n"
        f"#[cfg(test)]\nmod tests {{\n    #[test]\n    fn stable() {{\n"
        f"        assert_eq!(super::value_{i}(), {digest});\n    }}\n}}\n"
    )


def _entry(spec: CrateSpec) -> str:
    mods = "".join(f"pub mod m{i};\n" for i in range(MODULES))
    uses = "".join(f"use {d.replace('-', '_')} as _;\n" for d in spec.deps[:3])
    if spec.service:
        return f'//! The {spec.service} service.\n\n{mods}{uses}\nfn main() {{\n    println!("{spec.service}");\n}}\n'
    return f"//! `{spec.name}`: a synthetic library crate.\n\n{mods}{uses}"


def _root_manifest(model: Model) -> str:
    lines = [
        "[workspace]",
        'resolver = "2"',
        'members = ["crates/*", "services/*"]',
        "",
        "[workspace.package]",
        'version = "0.1.0"',
        'edition = "2021"',
        'license = "MIT OR Apache-2.0"',
        "",
        "[workspace.dependencies]",
        *(f"{name} = {spec}" for name, spec in WS_EXTERNALS.items()),
        *(f'{name} = {{ path = "crates/{name}" }}' for name in sorted(model.inherited)),
        "",
        "[profile.release]",
        'lto = "thin"',
        "codegen-units = 4",
        "",
    ]
    return "\n".join(lines)


def _lockfile(model: Model) -> str:
    entries: list[tuple[str, str]] = []  # (name, text), sorted by name as cargo writes them
    for spec in model.crates.values():
        deps = sorted({*spec.deps, *spec.build_deps, *spec.dev_deps, *spec.externals})
        text = f'[[package]]\nname = "{spec.name}"\nversion = "0.1.0"\n'
        if deps:
            text += "dependencies = [\n" + "".join(f' "{d}",\n' for d in deps) + "]\n"
        entries.append((spec.name, text))
    for name, (version, ext_deps) in EXTERNALS.items():
        checksum = hashlib.sha256(f"{name}-{version}".encode()).hexdigest()
        text = f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = "{REGISTRY}"\nchecksum = "{checksum}"\n'
        if ext_deps:
            text += "dependencies = [\n" + "".join(f' "{d}",\n' for d in sorted(ext_deps)) + "]\n"
        entries.append((name, text))
    head = "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n"
    return head + "".join("\n" + text for _, text in sorted(entries))


def _workspace_map(model: Model) -> str:
    lines = [
        "# buildctl benchmark workspace (generated by benchmarks/detect.py)",
        "[workspace]",
        'root = "."',
        'registry = "ghcr.io/example/bench"',
        "",
        "[rules]",
        'ignore = ["**/*.md", "docs/**", "**/.gitignore", "workspace-map.toml"]',
    ]
    for service, spec in sorted(model.services.items()):
        lines += ["", f"[services.{service}]"]
        if spec.name != service:
            lines.append(f'crate = "{spec.name}"')
    return "\n".join(lines) + "\n"


def _kustomization(service: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\nresources:\n  - ../base\n\n"
        f"images:\n  - name: service-image\n    newName: ghcr.io/example/bench/{service}\n"
        f"    newTag: sha-{'0' * 40}\n"
    )


def _render(model: Model, rng: random.Random) -> dict[str, bytes]:
    files: dict[str, str] = {
        "Cargo.toml": _root_manifest(model),
        "Cargo.lock": _lockfile(model),
        "workspace-map.toml": _workspace_map(model),
        "README.md": f"# Synthetic workspace: {model.size} crates\n",
        ".gitignore": "/target\n",
        "rust-toolchain.toml": '[toolchain]\nchannel = "1.80"\n',
        "Dockerfile.service": "FROM rust:1.80 AS build\nARG SERVICE_NAME\n",
        "deployments/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        "deployments/base/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: service\n",
    }
    for service in model.services:
        files[f"deployments/{service}/kustomization.yaml"] = _kustomization(service)
    for spec in model.crates.values():
        files[f"{spec.dir}/Cargo.toml"] = _manifest(spec, model, rng)
        files[f"{spec.dir}/{spec.entry}"] = _entry(spec)
        for i in range(MODULES):
            files[f"{spec.dir}/src/m{i}.rs"] = _module(spec, i)
    return {path: text.encode() for path, text in files.items()}


# --------------------------------------------------------------------------------------------
# The two diffs


@dataclass(frozen=True)
class Diff:
    label: str
    files: dict[str, bytes]  # path -> new content (modified or added)
    crates: frozenset[str]  # the crates owning those files

    @property
    def paths(self) -> list[str]:
        return sorted(self.files)


def _mid_graph_crate(model: Model) -> str:
    """A library in the middle layer that a median number of services (at least one) build from."""
    closures = {svc: model.closure(spec.name) for svc, spec in model.services.items()}
    libs = [c for c in model.crates.values() if not c.service]
    mid = max(c.layer for c in libs) // 2
    for distance in range(mid + 1):
        layer = {c.name for c in libs if abs(c.layer - mid) == distance}
        counted = sorted((sum(name in cl for cl in closures.values()), name) for name in layer)
        counted = [(n, name) for n, name in counted if n > 0]
        if counted:
            return counted[len(counted) // 2][1]
    raise BenchmarkError("no library crate is used by any service; the generator is broken")


def _touch(content: bytes, tag: str) -> bytes:
    return content + f"// changed by the benchmark: {tag}\n".encode()


def small_diff(model: Model) -> Diff:
    crate = model.crates[_mid_graph_crate(model)]
    files = {p: _touch(model.files[p], "small") for p in (f"{crate.dir}/src/m3.rs", f"{crate.dir}/src/m7.rs")}
    return Diff(f"{SMALL_DIFF} files (1 crate)", files, frozenset({crate.name}))


def large_diff(model: Model, tree: Mapping[str, bytes]) -> Diff:
    rng = random.Random(f"large/{model.size}/{model.seed}")
    specs = sorted(model.crates.values(), key=lambda c: c.name)
    chosen = rng.sample(specs, min(len(specs), LARGE_DIFF_MAX_CRATES))
    per_crate, extra = divmod(LARGE_DIFF, len(chosen))
    files: dict[str, bytes] = {}
    for n, spec in enumerate(chosen):
        want = per_crate + (1 if n < extra else 0)
        sources = spec.sources()
        rng.shuffle(sources)
        for path in sources[:want]:
            files[path] = _touch(tree[path], "large")
        for j in range(want - len(sources)):  # a crate with fewer files than its share: add some
            files[f"{spec.dir}/src/extra{j}.rs"] = f"//! Added by the benchmark ({j}).\n".encode()
    assert len(files) == LARGE_DIFF, len(files)
    return Diff(f"{LARGE_DIFF} files ({len(chosen)} crates)", files, frozenset(c.name for c in chosen))


def expected_build(model: Model, diff: Diff) -> list[str]:
    """The services whose dependency closure contains a crate the diff changes."""
    return sorted(svc for svc, spec in model.services.items() if model.closure(spec.name) & diff.crates)


def paths_filter(model: Model, paths: Iterable[str]) -> list[str]:
    """The services a `services/<svc>/**` + shared-library-tree filter per service would flag."""
    services = set(model.services)
    flagged: set[str] = set()
    for path in paths:
        if path.startswith(PATHS_FILTER_SHARED_PREFIXES):
            return sorted(services)
        parts = path.split("/")
        if parts[0] == "services" and len(parts) > 2 and parts[1] in services:
            flagged.add(parts[1])
    return sorted(flagged)


# --------------------------------------------------------------------------------------------
# The git repository


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1")
    return env


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=_clean_env(), check=False
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def _fast_import_commit(out: list[bytes], mark: int, message: str, files: Mapping[str, bytes]) -> None:
    msg = message.encode()
    out.append(
        f"commit refs/heads/main\nmark :{mark}\n"
        f"author Bench <bench@example.invalid> {BENCH_DATE + mark} +0000\n"
        f"committer Bench <bench@example.invalid> {BENCH_DATE + mark} +0000\n"
        f"data {len(msg)}\n".encode()
        + msg
        + b"\n"
    )
    for path in sorted(files):
        data = files[path]
        out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    out.append(b"\n")


@dataclass(frozen=True)
class Repo:
    path: Path
    base: str  # the workspace
    small: str  # base + the 2-file diff
    large: str  # small + the 2,000-file diff


TAGS = ("bench-base", "bench-small", "bench-large")


def make_repo(model: Model, small: Diff, large: Diff, path: Path) -> tuple[Repo, bool]:
    """The repository at `path`, reused when a stamp says it holds exactly this stream."""
    stream: list[bytes] = []
    _fast_import_commit(stream, 1, f"Synthetic workspace of {model.size} crates", model.files)
    _fast_import_commit(stream, 2, f"Change {small.label}", small.files)
    _fast_import_commit(stream, 3, f"Change {large.label}", large.files)
    for mark, tag in enumerate(TAGS, start=1):
        stream.append(f"reset refs/tags/{tag}\nfrom :{mark}\n\n".encode())
    stream.append(b"done\n")
    data = b"".join(stream)
    digest = hashlib.sha256(data).hexdigest()
    stamp = path / ".git" / "buildctl-bench-stamp"
    reused = stamp.is_file() and stamp.read_text() == digest
    if not reused:
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        _git(path, "init", "--quiet", "--initial-branch=main")
        _git(path, "config", "gc.auto", "0")
        _git(path, "fast-import", "--quiet", "--done", stdin=data)
        _git(path, "checkout", "--quiet", "--force", "main")  # a normal checkout, as CI has
        stamp.write_text(digest)
    base, sm, lg = (_git(path, "rev-parse", f"{t}^{{commit}}").strip() for t in TAGS)
    return Repo(path, base, sm, lg), reused


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True)
class Sample:
    seconds: float
    max_rss_kib: int  # of the process or of its largest waited-for descendant (e.g. git)
    stdout: bytes
    stderr: bytes
    returncode: int


class Spawner:
    """Runs each measured process from a small helper (see _spawn.py for why), one at a time."""

    def __init__(self, python: str, pycache: Path | None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="buildctl-bench-io-"))
        env = _clean_env()
        if pycache is not None:
            # Bytecode cached as an installed CLI has it, but outside the source tree.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        self.bytecode = "cached" if not env.get("PYTHONDONTWRITEBYTECODE") else "not cached (environment)"
        self._proc = subprocess.Popen(
            [python, "-I", "-S", str(SPAWN_HELPER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def run(self, argv: Sequence[str]) -> Sample:
        """Run one process to completion: wall time and peak RSS from os.wait4 in the helper."""
        out, err = self._dir / "stdout", self._dir / "stderr"
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(
            json.dumps({"argv": list(argv), "stdout": str(out), "stderr": str(err)}) + "\n"
        )
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise BenchmarkError(f"the spawn helper died (exit {self._proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise BenchmarkError(f"cannot run {argv[0]}: {reply['error']}")
        return Sample(
            float(reply["seconds"]),
            int(reply["maxrss_kib"]),
            out.read_bytes(),
            err.read_bytes(),
            int(reply["returncode"]),
        )

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Spawner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _checked(sample: Sample, what: str) -> Sample:
    if sample.returncode != 0:
        raise BenchmarkError(
            f"{what} exited with {sample.returncode}:\n{sample.stderr.decode(errors='replace')}"
        )
    return sample


def interpreter_of(script: Path) -> str:
    """The interpreter a console script runs with (its shebang), for a like-for-like floor."""
    first = script.read_bytes().split(b"\n", 1)[0].decode()
    if first.startswith("#!") and " " not in first[2:].strip():
        return first[2:].strip()
    return sys.executable


@dataclass(frozen=True)
class Row:
    size: int
    diff: str
    buildctl_s: float
    floor_s: float
    python_s: float
    git_s: float
    peak_mb: float
    built: int
    paths_filter: int
    services: int
    files: int

    @property
    def ratio(self) -> float:
        return self.buildctl_s / self.floor_s


def _commands(buildctl: Path, python: str, repo: Repo, base: str, head: str) -> list[list[str]]:
    """buildctl, then the two halves of the floor: a bare interpreter and git's diff of the range."""
    return [
        [
            str(buildctl),
            "--repo",
            str(repo.path),
            "affected",
            "--base",
            base,
            "--head",
            head,
            "--format",
            "json",
        ],
        [python, "-c", "pass"],
        ["git", "-C", str(repo.path), "diff", "--name-status", "-z", base, head],
    ]


def warm_up(spawner: Spawner, commands: Sequence[Sequence[str]]) -> dict[str, object]:
    """One untimed run of each (page cache, .pyc files); buildctl's answer, parsed."""
    first = _checked(spawner.run(commands[0]), "buildctl")
    for argv in commands[1:]:
        _checked(spawner.run(argv), argv[0])
    try:
        answer = json.loads(first.stdout)
    except ValueError as exc:
        raise BenchmarkError(f"buildctl printed no JSON ({exc}): {first.stdout[:200]!r}") from None
    if not isinstance(answer, dict):
        raise BenchmarkError(f"buildctl printed {type(answer).__name__}, not a JSON object")
    return answer


def timed(spawner: Spawner, commands: Sequence[Sequence[str]], runs: int) -> list[list[Sample]]:
    """`runs` samples of each command, interleaved so that noise hits the tool and the floor alike."""
    samples: list[list[Sample]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, out in zip(commands, samples, strict=True):
            out.append(_checked(spawner.run(argv), argv[0]))
    return samples


def verify(model: Model, diff: Diff, answer: Mapping[str, object]) -> list[str]:
    """buildctl's build list must be the services whose closure holds a changed crate."""
    build = answer.get("build")
    if not isinstance(build, list):
        raise BenchmarkError(f"buildctl's JSON has no 'build' list: {str(answer)[:300]}")
    want = expected_build(model, diff)
    if not want:
        raise BenchmarkError(f"{model.size} crates, {diff.label}: the diff reaches no service")
    if not build:
        raise BenchmarkError(
            f"WRONG ANSWER at {model.size} crates, {diff.label}: buildctl builds nothing, "
            f"the graph says {len(want)} services: {want[:20]}"
        )
    if sorted(build) != want:
        missing = sorted(set(want) - set(build))
        extra = sorted(set(build) - set(want))
        raise BenchmarkError(
            f"WRONG ANSWER at {model.size} crates, {diff.label}: buildctl builds {len(build)} services, "
            f"the graph says {len(want)}.\n  missing: {missing[:20]}\n  extra:   {extra[:20]}\n"
            f"  changed crates: {sorted(diff.crates)[:20]}"
        )
    return want


def bench_size(
    spawner: Spawner, size: int, seed: int, runs: int, workdir: Path, buildctl: Path, python: str
) -> list[Row]:
    t0 = time.perf_counter()
    model = build_model(size, seed)
    small = small_diff(model)
    tree = {**model.files, **small.files}
    large = large_diff(model, tree)
    repo, reused = make_repo(model, small, large, workdir / f"ws-{size}")
    n_files = len(model.files)
    _log(
        f"{size} crates: {n_files} files, {len(model.services)} services, "
        f"{'reused' if reused else 'generated'} {repo.path} in {time.perf_counter() - t0:.1f} s"
    )
    rows = []
    for diff, base, head in ((small, repo.base, repo.small), (large, repo.small, repo.large)):
        _log(f"  timing {diff.label}: 1 warm-up + {runs} runs ...")
        commands = _commands(buildctl, python, repo, base, head)
        built = verify(model, diff, warm_up(spawner, commands))
        samples, py_samples, git_samples = timed(spawner, commands, runs)
        pys = [s.seconds for s in py_samples]
        gits = [s.seconds for s in git_samples]
        floors = [p + g for p, g in zip(pys, gits, strict=True)]
        rows.append(
            Row(
                size=size,
                diff=diff.label,
                buildctl_s=statistics.median(s.seconds for s in samples),
                floor_s=statistics.median(floors),
                python_s=statistics.median(pys),
                git_s=statistics.median(gits),
                peak_mb=max(s.max_rss_kib for s in samples) / 1024,
                built=len(built),
                paths_filter=len(paths_filter(model, diff.paths)),
                services=len(model.services),
                files=len(diff.files),
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Reporting


def _reference(row: Row) -> tuple[float, bool] | None:
    """The issue's paths-filter figure for this row; else the lowest figure for this diff (marked)."""
    exact = PATHS_FILTER_SECONDS.get((row.size, row.files))
    if exact is not None:
        return exact, True
    same_diff = [s for (_, files), s in PATHS_FILTER_SECONDS.items() if files == row.files]
    return (min(same_diff), False) if same_diff else None


def table(rows: Sequence[Row]) -> Iterator[str]:
    header = (
        f"{'crates':>6}  {'diff':<24} {'buildctl s':>10} {'floor s':>8} {'ratio':>6} {'peak MB':>8}"
        f" {'built':>9} {'paths-filter':>12}   {'vs paths-filter':<22}"
    )
    yield header
    yield "-" * len(header)
    for r in rows:
        ref = _reference(r)
        if ref is None:
            verdict = "no reference figure"
        else:
            verdict = f"{'faster' if r.buildctl_s < ref[0] else 'SLOWER'} than {ref[0]:.2f} s{'' if ref[1] else '*'}"
        memory = "" if r.peak_mb < TARGET_PEAK_MB else ", OVER MEMORY"
        yield (
            f"{r.size:>6,}  {r.diff:<24} {r.buildctl_s:>10.3f} {r.floor_s:>8.3f} {r.ratio:>6.2f} {r.peak_mb:>8.1f}"
            f" {f'{r.built}/{r.services}':>9} {f'{r.paths_filter}/{r.services}':>12}   {verdict}{memory}"
        )


def report(rows: Sequence[Row], runs: int, python: str, bytecode: str, load: Sequence[float]) -> str:
    lines = [
        f"buildctl affected vs floor: medians of {runs} whole-process runs (after 1 warm-up), "
        f"peak = max RSS over the runs",
        f"floor = `{Path(python).name} -c pass` + `git diff --name-status -z B H`, "
        f"python {platform.python_version()} (bytecode {bytecode}), {_git_version()}, {os.cpu_count()} CPUs, "
        f"load average {' -> '.join(f'{x:.2f}' for x in load)} (1 min, start -> end)",
        "",
        *table(rows),
        "",
        "floor parts (medians): "
        + "; ".join(f"{r.size:,}/{r.files}: python {r.python_s:.3f} s + git {r.git_s:.3f} s" for r in rows),
        "built: services buildctl builds (checked against the generator's graph); paths-filter: services",
        f"  a `services/<svc>/**` + `{PATHS_FILTER_SHARED_PREFIXES[0]}**` filter per service would flag",
        "",
        "paths-filter reference figures (from the issue, measured elsewhere, not in this run):",
        *(
            f"  {crates:>6,} crates, {files:>5,}-file diff   {s:.2f} s"
            for (crates, files), s in PATHS_FILTER_SECONDS.items()
        ),
        f"  peak memory                        {PATHS_FILTER_MEMORY}",
        f"target: faster than paths-filter at every size, peak under {TARGET_PEAK_MB:.0f} MB",
        "* no figure at this size in the issue: compared with the lowest figure for the same diff size",
    ]
    return "\n".join(lines)


def _git_version() -> str:
    proc = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes wants comma-separated integers, not {text!r}") from None
    if not sizes or any(s < 20 for s in sizes):
        raise argparse.ArgumentTypeError("each size must be at least 20 crates (one service in 20)")
    return sizes


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=[100, 1000, 3000], help="crate counts (default 100,1000,3000)"
    )
    parser.add_argument("--runs", type=_positive, default=7, help="timed runs per case (default 7)")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it; reused when unchanged")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--buildctl", type=Path, default=DEFAULT_BUILDCTL, help="the buildctl executable")
    parser.add_argument(
        "--no-pyc-cache",
        action="store_true",
        help="leave PYTHONDONTWRITEBYTECODE as the environment has it (default: cache bytecode in the "
        "work directory, as an installed buildctl would have it)",
    )
    args = parser.parse_args(argv)

    buildctl: Path = args.buildctl.resolve()
    if not os.access(buildctl, os.X_OK):
        parser.error(f"{buildctl} is not executable (create the venv first: pip install -e .)")
    python = interpreter_of(buildctl)
    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="buildctl-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    load = [os.getloadavg()[0]]
    try:
        pycache = None if args.no_pyc_cache else workdir / "pycache"
        with Spawner(python, pycache) as spawner:  # first, while this process is still small
            for size in args.sizes:
                rows += bench_size(spawner, size, args.seed, args.runs, workdir, buildctl, python)
            bytecode = spawner.bytecode
    except BenchmarkError as exc:
        _log(f"\nbenchmark FAILED: {exc}")
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            _log(f"repositories kept in {workdir}")
    load.append(os.getloadavg()[0])
    print(report(rows, args.runs, python, bytecode, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
