"""The synthetic Cargo workspace of benchmarks/detect.py, and the two diffs it is timed on.

About 20 files per crate: 5% of the crates are services (binaries under services/<name>/ with
src/main.rs, mapped in workspace-map.toml), the rest libraries under crates/<name>/ in a layered
DAG with popularity-skewed fan-in, path dependencies (some renamed, some inherited with
`workspace = true`, a few build- and dev-dependencies), a few registry crates, and a Cargo.lock
in cargo's v3 format. The diffs:

* a 2-file diff: two files of one library crate in the middle of the graph;
* a 2,000-file diff: files spread over many crates (modified, or added once a crate runs out).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from _measure import BenchmarkError

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
