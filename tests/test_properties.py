"""Property tests (issue 5, items 3 and 6), with hypothesis.

1. For random Cargo workspaces (nested crates, renamed, inherited, dev, build and target-specific
   path dependencies, dev-dependency cycles) and random change sets (crate sources added, edited
   or deleted, manifest edits that do and do not reach a binary, unowned, ignored and
   deployment paths, the Dockerfile), `buildctl affected` on a real git repository says exactly
   what a brute-force reference says. The reference is written here, from the generated model
   alone: ownership by the longest crate-directory prefix, the reverse closure over non-dev
   edges. `build` is a subset of `deploy`, both sorted.
2. The backstop: `build --all --dry-run` builds every service, and a `schedule` event makes
   `affected` list every service with the reason.
3. No parser raises anything but BuildctlError, whatever text or bytes it is given.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from buildctl import config, deployed, globs, tomlfile
from buildctl.deploy import apply, bump, kustomize
from buildctl.detect import cargo_lock
from buildctl.detect.snapshot import Snapshot
from buildctl.errors import BuildctlError
from tests.helpers import Repo, affected, copy_monorepo, run

AFFECTED_EXAMPLES = 50
BACKSTOP_EXAMPLES = 15
PARSER_EXAMPLES = 300
YAML_EXAMPLES = 200  # ruamel is slower than the rest
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

    def files(self) -> dict[str, str]:
        ws_deps = "".join(
            f'{c.name} = {{ path = "{c.dir}" }}\nr_{c.name} = {{ path = "{c.dir}", package = "{c.name}" }}\n'
            for c in self.crates
        )
        files = {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ['
            + ", ".join(f'"{c.dir}"' for c in self.crates)
            + ']\n\n[workspace.package]\nversion = "0.1.0"\nedition = "2021"\n\n[workspace.dependencies]\n'
            + ws_deps,
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
            extra["Cargo.toml"] = base["Cargo.toml"] + "# a comment\n"
    head = ws.files()  # manifests with the edits applied
    if "Cargo.toml" in extra:
        head["Cargo.toml"] = str(extra.pop("Cargo.toml"))
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
        elif path == "Cargo.toml":
            pass  # the root manifest: a comment only
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


# --- the backstop (item 6) ------------------------------------------------------------------------


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


# --- parsers: BuildctlError or a result, for any input ---------------------------------------------


def only_buildctl_errors(call: Callable[[], object]) -> None:
    try:
        call()
    except BuildctlError as exc:
        assert str(exc)  # a message, always
        assert exc.exit_code in (1, 2)


KEYS = st.sampled_from(
    [
        "workspace",
        "rules",
        "services",
        "build",
        "root",
        "registry",
        "dockerfile",
        "deployments",
        "build_all",
        "deploy_all",
        "ignore",
        "unowned",
        "crate",
        "inputs",
        "cache_repository",
        "tags",
        "args",
        "source_url",
        "auth-service",
        "a",
        "package",
        "name",
        "version",
        "source",
        "checksum",
        "dependencies",
        "workspace",
        "members",
        "exclude",
    ]
) | st.text(max_size=6)
SCALARS = (
    st.text(max_size=10)
    | st.integers()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        ["all", "ignore", "latest", "branch", "..", "/abs", "ghcr.io/o/r", "**/*.md", "[", "{a,b}", "a;b"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, Any]) -> str:
    """A small TOML writer: scalars and arrays first, then one [table] per mapping."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


SERVICES = frozenset({"a", "auth-service"})
MAP = config.parse_map(
    '[workspace]\nregistry = "127.0.0.1:5000/team"\n[services.a]\n[services.auth-service]\n', "m"
)


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(st.text() | DOCUMENTS.map(toml_document))
@example("a = " + "1" * 5000)  # more digits than Python converts
@example("a = " + "[" * 5000)  # deeper than Python recurses
def test_toml_readers_raise_only_buildctl_errors(text: str) -> None:
    only_buildctl_errors(lambda: tomlfile.parse(text, "f.toml"))
    only_buildctl_errors(lambda: config.parse_map(text, "workspace-map.toml"))
    only_buildctl_errors(lambda: cargo_lock.parse(text, "Cargo.lock"))


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["name", "version", "source", "checksum", "dependencies"]) | st.text(max_size=3),
            VALUES,
            max_size=5,
        ),
        max_size=4,
    )
)
def test_lock_reader_takes_any_package_shape(packages: list[dict[str, Any]]) -> None:
    text = toml_document({"version": 3}) + "".join(
        "\n[[package]]\n" + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in p.items())
        for p in packages
    )
    only_buildctl_errors(lambda: cargo_lock.changed(None, cargo_lock.parse(text, "Cargo.lock")))


YAML_TOKENS = [
    *"abi:- \n\t[]{}&*!|>'\"#%@`?,.0123",
    *("images", "newTag", "name", "newName", "!!int ", "!!binary ", "<<: ", "---\n", "- name: "),
]
YAML_ALPHABET = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)
YAML_KEYS = st.sampled_from(
    [
        *("images", "resources", "bases", "name", "newName", "newTag", "digest"),
        *("kind", "spec", "template", "containers", "image"),
    ]
) | st.text(max_size=4)
YAML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(YAML_KEYS, inner, max_size=4),
    max_leaves=15,
)


def yaml_document(data: Any) -> str:
    from ruamel.yaml import YAML

    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


def bump_through_every_reader(text: str) -> None:
    """bump.compute reads the kustomization and the resources it names through `read`."""
    files = {"deployments/a/kustomization.yaml": text, "deployments/base/kustomization.yaml": text}

    def read(path: str) -> str | None:
        return files.get(posixpath.normpath(path), text if path.endswith(".yaml") else None)

    outcome = bump.compute(MAP, [bump.Request("a", "sha-1234567", None)], read, lambda a, b: None)
    for change in outcome.changes:  # an edit must parse again: a kustomization is still one
        deployed.load(change.after, change.file)


@settings(max_examples=YAML_EXAMPLES, deadline=None)
@given(
    st.text(max_size=200)
    | YAML_ALPHABET
    | st.dictionaries(YAML_KEYS, YAML_VALUES, max_size=5).map(yaml_document)
)
@example("a: !!int abc\n")
@example("a: !!timestamp 2020-99-99\n")
@example("a: " + "[" * 500)  # deeper than ruamel recurses
@example("a: " + "1" * 5000 + "\n")
def test_kustomization_readers_raise_only_buildctl_errors(text: str) -> None:
    file = "deployments/a/kustomization.yaml"
    only_buildctl_errors(lambda: deployed.load(text, file))
    only_buildctl_errors(lambda: kustomize.current(text, file, "127.0.0.1:5000/team/a"))
    only_buildctl_errors(lambda: kustomize.resources(text, file))
    only_buildctl_errors(lambda: kustomize.containers(text, file))
    only_buildctl_errors(lambda: deployed.deployed_commit(text, file, "127.0.0.1:5000/team/a"))
    only_buildctl_errors(lambda: bump_through_every_reader(text))


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(st.text() | st.sampled_from(["a=", "=x", "a=x@", "a=x@sha256:", "a;b=c", "a=b=c", "a=.x", "a=-x"]))
def test_bump_requests_raise_only_buildctl_errors(arg: str) -> None:
    only_buildctl_errors(lambda: bump.parse_arg(arg, SERVICES))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=10)
    | st.sampled_from(["pushed", "skipped", "sha-1"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["services", "status", "tag", "digest", "image", "a"]) | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(st.text() | JSON_VALUES.map(json.dumps))
@example('{"services": ' + "[" * 5000)
@example('{"services": {"a": {"status": "pushed", "tag": ' + "1" * 5000 + "}}}")
def test_build_results_raise_only_buildctl_errors(text: str) -> None:
    only_buildctl_errors(lambda: bump.parse_result(text, "build.json", MAP))


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(
    st.lists(
        st.text(max_size=12) | st.sampled_from(["**", "[!a]", "[]", "{a,", "a/**/b", "\\", "[\\]"]),
        min_size=1,
        max_size=3,
    ),
    st.text(max_size=20),
)
def test_globs_are_refused_or_compile_and_match(patterns: list[str], path: str) -> None:
    problems = [globs.validate(p) for p in patterns]
    if all(p is None for p in problems):
        matched = globs.GlobSet.of(patterns).match(path)
        assert matched is None or matched in patterns
    map_text = "[rules]\nignore = " + json.dumps(patterns) + "\n"
    only_buildctl_errors(lambda: config.parse_map(map_text, "workspace-map.toml"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
@example(b"\xff\xfe[package]\n")
@example("name = 'caf\u00e9'\n".encode("latin-1"))
def test_files_of_any_bytes_raise_only_buildctl_errors(data: bytes) -> None:
    """The readers that take the files' bytes: the map, a manifest or lock, a kustomization."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("workspace-map.toml", "Cargo.toml", "Cargo.lock", "k.yaml"):
            (root / name).write_bytes(data)
        only_buildctl_errors(lambda: config.load_map(root, None))
        snap = Snapshot.worktree(root)
        only_buildctl_errors(lambda: snap.toml("Cargo.toml"))
        only_buildctl_errors(lambda: cargo_lock.parse(snap.text("Cargo.lock") or "", "Cargo.lock"))
        read = apply.reader(root)
        only_buildctl_errors(lambda: deployed.load(read("k.yaml") or "", "k.yaml"))
