"""Detection as a property, with hypothesis.

1. For random Cargo workspaces (nested crates, renamed, inherited, dev, build and target-specific
   path dependencies, dev-dependency cycles) and random change sets (crate sources added, edited
   or deleted, manifest edits that do and do not reach a binary, unowned, ignored and
   deployment paths, the Dockerfile), `buildctl affected` on a real git repository says exactly
   what a brute-force reference says. The reference is written here, from the generated model
   alone: ownership by the longest crate-directory prefix, the reverse closure over non-dev
   edges. `build` is a subset of `deploy`, both sorted.
2. The backstop: `build --all --dry-run` builds every service, and a `schedule` event makes
   `affected` list every service with the reason.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildctl import config
from tests.support.cli import affected, run
from tests.support.git import Repo
from tests.support.monorepo import copy_monorepo

AFFECTED_EXAMPLES = 50
BACKSTOP_EXAMPLES = 15
NO_CACHE = {"BUILDCTL_CACHE_DIR": ""}

# --- random workspaces ---------------------------------------------------------------------------

KINDS = ("normal", "build", "dev", "target")
TABLES = {
    "normal": "dependencies",
    "build": "build-dependencies",
    "dev": "dev-dependencies",
    "target": "target.'cfg(unix)'.dependencies",
}


@dataclass(frozen=True)
class Dep:
    target: int
    kind: str
    renamed: bool
    inherited: bool
    dotted: bool  # `x.workspace = true` rather than `x = { workspace = true }`


@dataclass
class Crate:
    index: int
    dir: str
    bin: bool
    deps: list[Dep] = field(default_factory=list)
    dev_edit: bool = False  # a registry dev-dependency added: reaches no binary
    real_edit: bool = False  # a [features] table added: reaches the binary
    comment_edit: bool = False

    @property
    def name(self) -> str:
        return f"k{self.index}"


@dataclass
class Workspace:
    crates: list[Crate]
    services: dict[str, int]  # service name -> crate index
    # Root manifest edits: [workspace.dependencies] entries given features (by crate index), the
    # inherited [workspace.package] version bumped, a comment added.
    ws_dep_edits: set[int] = field(default_factory=set)
    package_edit: bool = False
    root_comment: bool = False

    def files(self) -> dict[str, str]:
        ws_deps = "".join(
            f'{c.name} = {{ path = "{c.dir}"{", features = []" if c.index in self.ws_dep_edits else ""} }}\n'
            f'r_{c.name} = {{ path = "{c.dir}", package = "{c.name}" }}\n'
            for c in self.crates
        )
        version = "0.2.0" if self.package_edit else "0.1.0"
        files = {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ['
            + ", ".join(f'"{c.dir}"' for c in self.crates)
            + f']\n\n[workspace.package]\nversion = "{version}"\nedition = "2021"\n\n[workspace.dependencies]\n'
            + ws_deps
            + ("# a comment\n" if self.root_comment else ""),
            "workspace-map.toml": "".join(
                f'[services.{s}]\ncrate = "k{i}"\n' for s, i in sorted(self.services.items())
            ),
            "Dockerfile.service": "FROM scratch\n",
            "README.md": "# random workspace\n",
            "tools/run.sh": "#!/bin/sh\n",
            "deployments/base/kustomization.yaml": "resources: []\n",
        }
        for s in self.services:
            files[f"deployments/{s}/kustomization.yaml"] = "resources:\n- ../base\n"
        for c in self.crates:
            files[f"{c.dir}/Cargo.toml"] = self.manifest(c)
            files[f"{c.dir}/src/{'main' if c.bin else 'lib'}.rs"] = "fn main() {}\n" if c.bin else "\n"
            files[f"{c.dir}/src/extra.rs"] = "// extra\n"
        return files

    def manifest(self, c: Crate) -> str:
        tables: dict[str, list[str]] = {}
        for d in c.deps:
            target = self.crates[d.target]
            key = f"r_{target.name}" if d.renamed else target.name
            if d.inherited:
                line = f"{key}.workspace = true" if d.dotted else f"{key} = {{ workspace = true }}"
            else:
                rel = posixpath.relpath(target.dir, c.dir)
                package = f'package = "{target.name}", ' if d.renamed else ""
                line = f'{key} = {{ {package}path = "{rel}" }}'
            tables.setdefault(TABLES[d.kind], []).append(line)
        if c.dev_edit:
            tables.setdefault("dev-dependencies", []).append('devonly = "1"')
        body = f'[package]\nname = "{c.name}"\nversion.workspace = true\nedition.workspace = true\n'
        for table, lines in tables.items():
            body += f"\n[{table}]\n" + "\n".join(lines) + "\n"
        if c.real_edit:
            body += "\n[features]\nextra = []\n"
        if c.comment_edit:
            body += "# reformatted, nothing else\n"
        return body


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    n = draw(st.integers(2, 7))
    crates: list[Crate] = []
    for i in range(n):
        if crates and draw(st.integers(0, 3)) == 0:  # nested inside an earlier crate
            parent = draw(st.sampled_from(crates)).dir
            d = f"{parent}/{draw(st.sampled_from(['', 'crates/']))}k{i}"
        else:
            d = f"{draw(st.sampled_from(['libs', 'svcs', 'more/libs']))}/k{i}"
        crates.append(Crate(i, d, bin=draw(st.booleans())))
    for c in crates:
        others = [o.index for o in crates if o.index != c.index]
        targets = draw(st.lists(st.sampled_from(others), max_size=3, unique=True))
        for t in targets:
            # Only dev-dependencies may point forward: cycles through them are allowed.
            kind = draw(st.sampled_from(KINDS)) if t < c.index else "dev"
            renamed, inherited = draw(st.booleans()), draw(st.booleans())
            c.deps.append(Dep(t, kind, renamed, inherited, draw(st.booleans())))
    if not any(c.bin for c in crates):
        crates[-1].bin = True  # something to deploy
    bins = [c.index for c in crates if c.bin]
    chosen = draw(st.lists(st.sampled_from(bins), min_size=1, unique=True))
    return Workspace(crates, {f"s{i}": i for i in sorted(chosen)})


CHANGE_KINDS = (  # crate changes first, and twice: they are what the graph decides
    "src-edit",
    "src-add",
    "manifest-real",
    "src-edit",
    "src-add",
    "src-delete",
    "crate-notes",  # a .md inside a crate: ignored
    "manifest-dev",
    "manifest-real",
    "manifest-comment",
    "unowned",
    "ignored",
    "deploy",
    "deploy-base",
    "dockerfile",
    "root-comment",
    "root-ws-dep",  # a [workspace.dependencies] entry edited: its inheritors change
    "root-ws-package",  # the inherited version bumped: every crate changes
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Workspace, dict[str, str], dict[str, str]]:
    """A workspace, its files at base, and its files at head."""
    ws = draw(workspaces())
    base = ws.files()
    kinds = draw(st.lists(st.sampled_from(CHANGE_KINDS), min_size=1, max_size=5))
    extra: dict[str, str | None] = {}
    for k, kind in enumerate(kinds):
        c = draw(st.sampled_from(ws.crates))
        if kind == "src-edit":
            extra[f"{c.dir}/src/extra.rs"] = f"// edited {k}\n"
        elif kind == "src-add":
            extra[f"{c.dir}/src/new_{k}.rs"] = "// new\n"
        elif kind == "src-delete":
            extra[f"{c.dir}/src/extra.rs"] = None
        elif kind == "crate-notes":
            extra[f"{c.dir}/NOTES.md"] = "notes\n"
        elif kind == "manifest-dev":
            c.dev_edit = True
        elif kind == "manifest-real":
            c.real_edit = True
        elif kind == "manifest-comment":
            c.comment_edit = True
        elif kind == "unowned":
            extra[f"tools/new-{k}.sh"] = "#!/bin/sh\n"
        elif kind == "ignored":
            extra[f"docs/guide-{k}.md"] = "guide\n"
        elif kind == "deploy" and ws.services:
            extra[f"deployments/{draw(st.sampled_from(sorted(ws.services)))}/patch-{k}.yaml"] = "{}\n"
        elif kind == "deploy-base":
            extra["deployments/base/extra.yaml"] = "{}\n"
        elif kind == "dockerfile":
            extra["Dockerfile.service"] = "FROM scratch\nLABEL x=1\n"
        elif kind == "root-comment":
            ws.root_comment = True
        elif kind == "root-ws-dep":
            ws.ws_dep_edits.add(c.index)
        elif kind == "root-ws-package":
            ws.package_edit = True
    head = ws.files()  # manifests with the edits applied
    for path, text in extra.items():
        if text is None:
            head.pop(path, None)
        else:
            head[path] = text
    return ws, base, head


# --- the reference: written from the model, not from buildctl's code ------------------------------


def reference(ws: Workspace, base: dict[str, str], head: dict[str, str]) -> tuple[list[str], list[str]]:
    changed = {p for p in base.keys() | head.keys() if base.get(p) != head.get(p)}
    dirs = {c.dir: c for c in ws.crates}
    everything = deploy_everything = False
    changed_crates: set[int] = set()
    redeploy: set[str] = set()
    for path in changed:
        if path == "Dockerfile.service":
            everything = True
        elif path.startswith("deployments/base/"):
            deploy_everything = True
        elif path.startswith("deployments/"):
            redeploy.add(path.split("/")[1])
        elif path.endswith(".md") or path.startswith("docs/"):
            pass  # ignored
        elif path == "Cargo.toml":  # a comment changes nothing; an inherited entry, its inheritors
            for c in ws.crates:
                inherits = {d.target for d in c.deps if d.inherited and not d.renamed and d.kind != "dev"}
                if ws.package_edit or inherits & ws.ws_dep_edits:
                    changed_crates.add(c.index)
        else:
            owners = [d for d in dirs if path.startswith(d + "/")]
            if not owners:
                everything = True  # unowned
                continue
            crate = dirs[max(owners, key=len)]
            if path == f"{crate.dir}/Cargo.toml" and not crate.real_edit:
                continue  # a dev-dependency or a comment: no binary changes
            changed_crates.add(crate.index)
    users: dict[int, set[int]] = {c.index: set() for c in ws.crates}
    for c in ws.crates:
        for d in c.deps:
            if d.kind != "dev":
                users[d.target].add(c.index)
    reached = set(changed_crates)
    todo = list(changed_crates)
    while todo:
        for user in users[todo.pop()]:
            if user not in reached:
                reached.add(user)
                todo.append(user)
    build = {s for s, i in ws.services.items() if everything or i in reached}
    deploy = build | (set(ws.services) if deploy_everything else redeploy & set(ws.services))
    return sorted(build), sorted(deploy)


def make_repo(root: Path, base: dict[str, str], head: dict[str, str]) -> tuple[Repo, str, str]:
    repo = Repo.init(root)
    for path, text in base.items():
        repo.write(path, text)
    first = repo.commit("base")
    for path in base.keys() - head.keys():
        repo.remove(path)
    for path, text in head.items():
        if base.get(path) != text:
            repo.write(path, text)
    return repo, first, repo.commit("head")


SETTINGS = settings(
    max_examples=AFFECTED_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(scenarios())
def test_affected_equals_the_brute_force_reference(
    scenario: tuple[Workspace, dict[str, str], dict[str, str]],
) -> None:
    ws, base, head = scenario
    with tempfile.TemporaryDirectory() as tmp:
        repo, first, last = make_repo(Path(tmp) / "ws", base, head)
        out = affected(repo, "--base", first, "--head", last, env=NO_CACHE)
    want_build, want_deploy = reference(ws, base, head)
    assert (out["build"], out["deploy"]) == (want_build, want_deploy)
    assert set(out["build"]) <= set(out["deploy"])
    assert out["build"] == sorted(out["build"]) and out["deploy"] == sorted(out["deploy"])
    assert list(out["services"]) == out["deploy"]
    for name, svc in out["services"].items():
        assert svc["reasons"], name  # every verdict says why


# --- the backstop ----------------------------------------------------------------------------------


def schedule_env(tmp: Path) -> dict[str, str]:
    event = tmp / "event.json"
    event.write_text("{}")
    return {
        **NO_CACHE,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_EVENT_PATH": str(event),
    }


def built_by_dry_run(text: str) -> list[str]:
    return sorted(re.findall(r"--target runtime .*?--build-arg SERVICE_NAME=(\S+)", text))


def assert_backstop(repo: Repo, services: list[str], tmp: Path, platforms: int = 1) -> None:
    """`platforms`: the map's; the dry run builds each service once for each of them."""
    res = run(["--repo", str(repo.path), "build", "--all", "--dry-run"], env=NO_CACHE)
    assert res.code == 0, res.stderr
    assert built_by_dry_run(res.stdout) == sorted(services * platforms)
    out = affected(repo, env=schedule_env(tmp))
    assert out["build"] == out["deploy"] == services
    assert {s: v["reasons"] for s, v in out["services"].items()} == {
        s: ["all: schedule event without --base"] for s in services
    }
    plan = run(["--repo", str(repo.path), "plan", "--format", "json"], env=schedule_env(tmp)).json()
    assert plan["everything"] == "all: schedule event without --base" and plan["build"] == services
    res = run(["--repo", str(repo.path), "build", "--dry-run"], env=schedule_env(tmp))  # no --all
    assert res.code == 0 and built_by_dry_run(res.stdout) == sorted(services * platforms)


@settings(max_examples=BACKSTOP_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces())
def test_the_backstop_builds_every_service(ws: Workspace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo.init(Path(tmp) / "ws")
        for path, text in ws.files().items():
            repo.write(path, text)
        repo.commit("workspace")
        assert_backstop(repo, sorted(ws.services), Path(tmp))


def test_the_backstop_on_this_monorepo(tmp_path: Path) -> None:
    mono = copy_monorepo(tmp_path / "mono")
    cfg = config.load_map(mono.path, None)
    services = sorted(cfg.services)
    assert len(services) == 9 and cfg.platforms == ("linux/amd64", "linux/arm64")
    assert_backstop(mono, services, tmp_path, platforms=2)
