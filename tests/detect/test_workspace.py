"""The Cargo workspace as the manifests describe it: members, path dependencies, package names;
and the model against `cargo metadata`'s own reading."""

from __future__ import annotations

import json
import posixpath
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildctl.detect.graph import CrateGraph
from buildctl.detect.objects import Objects
from buildctl.detect.revision import Revision
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import load_full
from buildctl.errors import BuildctlError
from tests.support.cargo import cargo_view, our_view
from tests.support.cli import cli, fails, refused
from tests.support.gen import generate
from tests.support.gha import ACTIONS, runner_commands
from tests.support.git import Repo


def test_member_glob_matching_nothing(mini: Repo) -> None:
    mini.write(
        "Cargo.toml", mini.read("Cargo.toml").replace('"svc/b/nested"]', '"svc/b/nested", "plugins/*"]')
    )
    mini.commit()
    err = fails(mini, "affected")
    assert "Cargo.toml:3: [workspace] member 'plugins/*' matches no directory with a Cargo.toml" in err


def test_dangling_path_dependency(mini: Repo) -> None:
    mini.write("svc/a/Cargo.toml", mini.read("svc/a/Cargo.toml") + 'gone = { path = "../../libs/gone" }\n')
    mini.commit()
    err = fails(mini, "affected")
    assert "svc/a/Cargo.toml" in err and "points at 'libs/gone', which has no Cargo.toml" in err


def test_a_package_name_cargo_would_refuse(mini: Repo) -> None:
    """A name is printed in graphs, chains and summaries: it must be a Cargo name, nothing else."""
    mini.write(
        "libs/util/Cargo.toml", mini.read("libs/util/Cargo.toml").replace('"util"', '"u\\n::error::x"')
    )
    mini.commit()
    err = refused(
        cli(mini, "affected", env=ACTIONS),
        "libs/util/Cargo.toml:2: package name 'u\\n::error::x' is not a Cargo package name",
        "hint: use letters, digits, '-' and '_' only",
    )
    assert [c.split("::")[1].split(" ")[0] for c in runner_commands(err)] == ["error"]


def test_mini_matches_cargo(mini: Repo) -> None:
    assert our_view(mini.path) == cargo_view(mini.path)


@pytest.mark.parametrize("seed", range(8))
def test_generated_workspaces_match_cargo(tmp_path: Path, seed: int) -> None:
    gen = generate(seed)
    repo = Repo.init(tmp_path / f"gen{seed}")
    for path, text in gen.files.items():
        repo.write(path, text)
    repo.commit()
    assert our_view(repo.path) == cargo_view(repo.path)


# --- the lazy reading (a cold `affected`) against the full model -----------------------------------


@dataclass
class Lay:
    dir: str
    listed: str | None  # how `members` names it: None (reached by a path only), the dir, or "<dir>/"
    deps: list[tuple[int, str, bool, bool]] = field(
        default_factory=list
    )  # (target, kind, renamed, inherited)
    escaped: bool = False  # its name written with an escape: a manifest parsed, not read
    style: str = "inline"  # how its keys are written: inline tables, quoted, dotted, sub-tables
    shared: bool = True  # listed in [workspace.dependencies] (and only then inherited)
    bin: str = "main"  # main.rs, a [[bin]] table, src/bin/<name>.rs, or none (a library)
    bin_name: str = "tool"  # a [[bin]] table's name: "tool<i>", or another crate's package name


@st.composite
def lazy_layouts(draw: st.DrawFn) -> tuple[list[Lay], bool, bool]:
    crates: list[Lay] = []
    for i in range(draw(st.integers(2, 7))):
        where = draw(st.sampled_from(["libs", "svcs", "nested", "extra", "extra"]))
        if where == "nested" and crates:
            parent = draw(st.sampled_from(crates)).dir
        else:
            parent = where if where != "nested" else "libs"
        listed = None if parent == "extra" else draw(st.sampled_from(["plain", "slash", "glob"]))
        crates.append(Lay(f"{parent}/k{i}", listed, escaped=draw(st.booleans()) and i % 3 == 0))
        crates[-1].bin = draw(st.sampled_from(["main", "table", "bin-dir", "lib"]))
        crates[-1].bin_name = f"k{draw(st.integers(0, i))}" if draw(st.booleans()) else f"tool{i}"
        crates[-1].style = draw(st.sampled_from(["inline", "quoted", "dotted", "sub-tables"]))
        crates[-1].shared = draw(st.booleans())
    for i, c in enumerate(crates):
        for t in draw(st.lists(st.integers(0, len(crates) - 1), max_size=3, unique=True)):
            if t == i:
                continue
            kind = (
                draw(st.sampled_from(["dependencies", "build-dependencies", "dev-dependencies"]))
                if t < i
                else "dev-dependencies"
            )
            c.deps.append((t, kind, draw(st.booleans()), crates[t].shared and draw(st.booleans())))
    return crates, draw(st.booleans()), draw(st.booleans())  # libs/* listed; the manifests read ahead


def _lazy_files(crates: list[Lay], libs_glob: bool) -> dict[str, str]:
    members = []
    for c in crates:
        if c.listed is None or (
            libs_glob and c.listed == "glob" and c.dir.count("/") == 1 and c.dir.startswith("libs/")
        ):
            continue
        members.append(c.dir + "/" if c.listed == "slash" else c.dir)
    if libs_glob:
        members.append("libs/*")
    ws = "".join(
        f'k{i} = {{ path = "{c.dir}" }}\nalias{i} = {{ path = "{c.dir}", package = "k{i}" }}\n'
        for i, c in enumerate(crates)
        if c.shared
    )
    files = {"Cargo.toml": f"[workspace]\nmembers = {json.dumps(members)}\n\n[workspace.dependencies]\n{ws}"}
    for i, c in enumerate(crates):
        files[f"{c.dir}/Cargo.toml"] = _manifest(crates, i)
        entry = {
            "main": "src/main.rs",
            "table": "src/tool.rs",
            "bin-dir": f"src/bin/b{i}.rs",
            "lib": "src/lib.rs",
        }[c.bin]
        files[f"{c.dir}/{entry}"] = "fn main() {}\n"
        files[f"{c.dir}/src/more.rs"] = "// more\n"
    return files


def _manifest(crates: list[Lay], i: int) -> str:
    """Crate i's manifest, its keys written in its style (the lazy reading finds `name` and
    `path` keys in the text, however TOML lets them be written)."""
    c = crates[i]
    quoted = c.style == "quoted"
    key = (lambda k: f'"{k}"') if quoted else (lambda k: k)
    text = (lambda v: f"'{v}'") if quoted else (lambda v: f'"{v}"')
    name = f'"\\u006b{i}"' if c.escaped else text(f"k{i}")  # \u006b is "k"
    top, tables = [], []
    if c.style == "dotted":
        top += [f"package.{key('name')} = {name}", 'package.version = "0.1.0"']
    else:
        tables.append(f'[package]\n{key("name")} = {name}\nversion = "0.1.0"\n')
    if c.bin == "table":
        tables.append(f'[[bin]]\nname = "{c.bin_name}"\npath = "src/tool.rs"\n')
    by_kind: dict[str, list[str]] = {}
    for t, kind, renamed, inherited in c.deps:
        dep = f"r{t}" if renamed else f"k{t}"
        if inherited:
            dep = f"alias{t}" if renamed else f"k{t}"
            fields = {"workspace": "true"}
        else:
            fields = {key("path"): text(posixpath.relpath(crates[t].dir, c.dir))}
            if renamed:
                fields = {"package": text(f"k{t}"), **fields}
        if c.style == "dotted":
            top += [f"{kind}.{dep}.{k} = {v}" for k, v in fields.items()]
        elif c.style == "sub-tables":
            tables.append(f"[{kind}.{dep}]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items()))
        else:
            inline = ", ".join(f"{k} = {v}" for k, v in fields.items())
            by_kind.setdefault(kind, []).append(f"{dep} = {{ {inline} }}")
    tables += [f"[{kind}]\n" + "".join(f"{line}\n" for line in lines) for kind, lines in by_kind.items()]
    return "".join(f"{line}\n" for line in top) + "\n".join(["", *tables])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lazy_layouts())
def test_the_lazy_reading_answers_as_the_full_model(layout: tuple[list[Lay], bool, bool]) -> None:
    """Every question detection asks, answered lazily (one crate at a time, from the manifests'
    text) and by the full model: crates by name, by directory, the owner of a path, the chains up
    from each crate, and all of them at once."""
    crates, libs_glob, ahead = layout
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo.init(Path(tmp) / "ws")
        for path, text in _lazy_files(crates, libs_glob).items():
            repo.write(path, text)
        repo.commit()
        try:
            full = load_full(Snapshot.at(repo.path, "HEAD"), "")
        except BuildctlError:
            return  # a layout cargo refuses: the full model says so, and so does the lazy one
        objects = Objects(repo.path)
        try:
            head = Revision(Snapshot.at(repo.path, repo.head(), objects=objects), "")
            if ahead:
                head.read_ahead()
            lazy = head.ws
            names = [*full.crates, "nope", "k99", *(f"tool{i}" for i in range(len(crates)))]
            assert {n: lazy.crates.get(n) for n in names} == {n: full.crates.get(n) for n in names}
            assert {n: lazy.is_member(n) for n in names} == {n: full.is_member(n) for n in names}
            dirs = [*full.by_dir, "libs", "extra", "libs/k0/src", "nowhere"]
            assert {d: lazy.by_dir.get(d) for d in dirs} == {d: full.by_dir.get(d) for d in dirs}
            paths = [f"{c.dir}/src/more.rs" for c in crates] + ["extra/x.rs", "top.rs"]
            assert [lazy.owner(p) for p in paths] == [full.owner(p) for p in paths]
            services = {c.name for c in full.crates.values() if c.bins}
            lazy_graph, full_graph = CrateGraph.of(lazy), CrateGraph.of(full)
            for name in full.crates:
                assert lazy_graph.chains_up(name, services) == full_graph.chains_up(name, services)
            assert list(lazy.crates.items()) == list(full.crates.items())  # order too
            assert dict(lazy.by_dir) == dict(full.by_dir)
        finally:
            objects.close()


def test_a_reading_ahead_that_fails_leaves_the_error_to_the_first_question(mini: Repo) -> None:
    mini.write("Cargo.toml", mini.read("Cargo.toml").replace('"svc/b/nested"]', '"svc/b/nested", "none/*"]'))
    mini.commit()
    with pytest.raises(BuildctlError) as full:
        load_full(Snapshot.at(mini.path, "HEAD"), "")
    objects = Objects(mini.path)
    try:
        head = Revision(Snapshot.at(mini.path, mini.head(), objects=objects), "")
        head.read_ahead()  # says nothing
        with pytest.raises(BuildctlError) as lazy:
            head.ws.crates.get("util")
        assert str(lazy.value) == str(full.value)
        assert "member 'none/*' matches no directory with a Cargo.toml" in str(lazy.value)
    finally:
        objects.close()
