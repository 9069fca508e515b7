"""Random Cargo workspaces as plain files, with the graph they were generated from.

Used to cross-check the manifest model against `cargo metadata` and, in property tests,
against a brute-force reference.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

KINDS = ("normal", "build", "dev", "target")


@dataclass
class GenCrate:
    name: str
    dir: str
    bin: bool
    deps: list[tuple[str, str, str | None, bool]] = field(
        default_factory=list
    )  # (target, kind, rename, inherited)


@dataclass
class GenWorkspace:
    crates: dict[str, GenCrate]
    files: dict[str, str]
    services: list[str]

    def build_deps(self, name: str) -> set[str]:
        return {t for t, kind, _, _ in self.crates[name].deps if kind != "dev"}


def generate(seed: int, n: int = 12) -> GenWorkspace:
    rng = random.Random(seed)
    crates: dict[str, GenCrate] = {}
    dirs: list[str] = []
    for i in range(n):
        name = f"k{i}"
        parent = (
            rng.choice(dirs) if dirs and rng.random() < 0.2 else rng.choice(["libs", "svcs", "more/libs"])
        )
        d = f"{parent}/{name}"
        dirs.append(d)
        crates[name] = GenCrate(name, d, bin=rng.random() < 0.4)
    names = list(crates)
    for i, name in enumerate(names):
        # only depend on crates generated earlier: a DAG by construction
        for target in rng.sample(names[:i], k=min(i, rng.randint(0, 3))):
            kind = rng.choice(KINDS)
            rename = f"r_{target}" if rng.random() < 0.2 else None
            inherited = rng.random() < 0.3 and rename is None
            crates[name].deps.append((target, kind, rename, inherited))
    files: dict[str, str] = {}
    ws_deps = "".join(f'{c.name} = {{ path = "{c.dir}" }}\n' for c in crates.values())
    files["Cargo.toml"] = (
        '[workspace]\nresolver = "2"\nmembers = ['
        + ", ".join(f'"{c.dir}"' for c in crates.values())
        + "]\n\n"
        '[workspace.package]\nversion = "0.1.0"\nedition = "2021"\n\n[workspace.dependencies]\n' + ws_deps
    )
    for c in crates.values():
        sections: dict[str, list[str]] = {}
        for target, kind, rename, inherited in c.deps:
            table = {
                "normal": "dependencies",
                "build": "build-dependencies",
                "dev": "dev-dependencies",
                "target": "target.'cfg(unix)'.dependencies",
            }[kind]
            rel = "/".join([".."] * c.dir.count("/") + [".."]) + "/" + crates[target].dir
            if inherited:
                line = f"{target} = {{ workspace = true }}"
            elif rename:
                line = f'{rename} = {{ package = "{target}", path = "{rel}" }}'
            else:
                line = f'{target} = {{ path = "{rel}" }}'
            sections.setdefault(table, []).append(line)
        body = f'[package]\nname = "{c.name}"\nversion.workspace = true\nedition.workspace = true\n'
        for table, lines in sections.items():
            body += f"\n[{table}]\n" + "\n".join(lines) + "\n"
        files[f"{c.dir}/Cargo.toml"] = body
        files[f"{c.dir}/src/{'main' if c.bin else 'lib'}.rs"] = "fn main() {}\n" if c.bin else "\n"
        files[f"{c.dir}/src/extra.rs"] = "// extra\n"
    services = [c.name for c in crates.values() if c.bin]
    files["workspace-map.toml"] = "".join(f"[services.{s}]\n" for s in services)
    return GenWorkspace(crates, files, services)
