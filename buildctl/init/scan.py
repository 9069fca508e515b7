"""`buildctl init`: read a repository and propose its `workspace-map.toml`.

`scan` looks at a Snapshot (normally the working tree) and returns a `Proposal` in which every
guess carries its reason; `render` turns it into the map's text, with the reasons as comments.
Nothing here writes a file: the command does, atomically, and `buildctl check` accepts the
result.

What it guesses, and from what:
- the Cargo workspace root: a Cargo.toml with [workspace] at the root, or one level down;
- the services: each binary that has a `<deployments>/<name>/` directory or that a Dockerfile
  names; the other binaries are listed, commented out, with why;
- the registry: the kustomizations' `images:` newName minus its last path component, when
  every service agrees;
- `build_all`: the Dockerfile, `.dockerignore`, the toolchain and cargo settings, and what the
  Dockerfile COPYs from outside the crates; `deploy_all`: what `<deployments>/` holds besides
  the services' overlays;
- `ignore`: the defaults, the map itself, and every top-level path that cannot change an image:
  outside the Docker build context (`.dockerignore`), or recognisably tooling (CI settings,
  Python packages and scripts, Kubernetes manifests, linter settings).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from buildctl import deployed
from buildctl.config import DEFAULT_BUILD_ALL, DEFAULT_IGNORE, MAP_FILE, REGISTRY, SERVICE_NAME
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import Crate, Workspace, join
from buildctl.detect.workspace import load as load_workspace
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet

DEFAULT_DOCKERFILE = "Dockerfile.service"
DEFAULT_DEPLOYMENTS = "deployments"

_CI_DIRS = {".github", ".gitlab", ".circleci", ".buildkite", ".vscode", ".idea", ".devcontainer", ".husky"}
_TOOL_FILES = {
    # CI, editors and repository settings
    ".gitlab-ci.yml": "CI settings",
    ".pre-commit-config.yaml": "CI settings",
    "codecov.yml": "CI settings",
    "renovate.json": "CI settings",
    "CODEOWNERS": "repository settings",
    ".editorconfig": "editor settings",
    ".gitattributes": "repository settings",
    ".mailmap": "repository settings",
    "action.yml": "a GitHub Action's definition",
    "action.yaml": "a GitHub Action's definition",
    # linters: they judge the sources, they do not change the binary
    ".hadolint.yaml": "linter settings",
    ".yamllint": "linter settings",
    ".shellcheckrc": "linter settings",
    "rustfmt.toml": "formatter settings (no effect on the binary)",
    ".rustfmt.toml": "formatter settings (no effect on the binary)",
    "clippy.toml": "linter settings (no effect on the binary)",
    ".clippy.toml": "linter settings (no effect on the binary)",
    "deny.toml": "cargo-deny settings (no effect on the binary)",
    # Python tooling
    "pyproject.toml": "Python project settings",
    "setup.py": "Python project settings",
    "setup.cfg": "Python project settings",
    "tox.ini": "Python tooling",
    "noxfile.py": "Python tooling",
    "Pipfile": "Python dependencies",
    "Pipfile.lock": "Python dependencies",
    "poetry.lock": "Python dependencies",
    "uv.lock": "Python dependencies",
    ".python-version": "Python tooling",
}
_SCRIPT_SUFFIXES = {".py", ".pyi", ".sh", ".bash", ".ps1"}
_TOOL_SUFFIXES = _SCRIPT_SUFFIXES | {".txt", ".in", ".cfg", ".ini", ".pyc"}
_DOCKERFILE = re.compile(
    r"(?:^|/)(?:(?:Docker|Container)file(?:\.[^/]*)?|[^/]+\.(?:docker|container)file)$", re.I
)


@dataclass(frozen=True)
class Rule:
    glob: str
    why: str


@dataclass(frozen=True)
class ServiceGuess:
    name: str
    crate: str
    dir: str
    why: str
    inputs: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A binary crate that is not taken as a service."""

    crate: str
    dir: str
    why: str


@dataclass(frozen=True)
class Proposal:
    map_file: str
    root: str
    registry: str | None
    registry_why: str
    dockerfile: str
    deployments: str
    build_all: tuple[Rule, ...]
    deploy_all: tuple[Rule, ...]
    ignore: tuple[Rule, ...]  # the defaults first, then what init inferred
    services: tuple[ServiceGuess, ...]
    skipped: tuple[Skipped, ...] = ()
    left_unowned: tuple[str, ...] = ()  # top-level paths no rule covers: a change rebuilds everything
    notes: tuple[str, ...] = ()

    def service(self, name: str) -> ServiceGuess | None:
        return next((s for s in self.services if s.name == name), None)


# --- the workspace root ---------------------------------------------------------------------


def find_root(snap: Snapshot) -> str:
    """The Cargo workspace root: the repository root, else the one directory one level down whose
    Cargo.toml has [workspace] (e.g. `rust/`)."""
    dirs = snap.manifest_dirs()
    if "" in dirs:
        return ""
    found = [d for d in dirs if "/" not in d and "workspace" in (snap.toml(join(d, "Cargo.toml")) or {})]
    if len(found) == 1:
        return found[0]
    if found:
        raise BuildctlError(
            f"found several Cargo workspaces ({', '.join(found)}); a map describes one",
            hint="write the map by hand (docs/workspace-map.md), with [workspace] root set to one of them",
        )
    raise BuildctlError(
        f"no Cargo workspace found: no Cargo.toml at the root of the repository or one level down ({snap.label})",
        hint="run buildctl init in the git repository that holds the Cargo workspace, or pass --repo DIR",
    )


# --- .dockerignore --------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerIgnore:
    """Docker's rules: the last pattern that matches a path or one of its parents decides;
    `!pattern` puts a path back into the build context."""

    rules: tuple[tuple[GlobSet, bool], ...]  # (pattern, excludes)

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        rules: list[tuple[GlobSet, bool]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            excludes = not line.startswith("!")
            pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
            if pattern in ("", "."):
                continue
            rules.append((GlobSet.of([pattern]), excludes))
        return cls(tuple(rules))

    def excluded(self, path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        verdict = False
        for globs, excludes in self.rules:
            if any(globs.match(p) for p in prefixes):
                verdict = excludes
        return verdict


# --- scanning -------------------------------------------------------------------------------


@dataclass
class _Scan:
    """What every step of the scan reads, and the notes they leave for the user."""

    snap: Snapshot
    map_file: str
    root: str
    workspace: Workspace
    files: list[str]
    notes: list[str] = field(default_factory=list)

    def text(self, path: str) -> str | None:
        try:
            return self.snap.text(path)
        except BuildctlError:
            return None


def scan(snap: Snapshot, map_file: str = MAP_FILE) -> Proposal:
    root = find_root(snap)
    s = _Scan(snap, map_file, root, load_workspace(snap, root), sorted(snap.files))
    dockerfiles = [p for p in s.files if _DOCKERFILE.search(p)]
    snap.fetch(dockerfiles)
    docker_texts = {p: t for p in dockerfiles if (t := s.text(p)) is not None}
    dockerfile = _choose_dockerfile(s, docker_texts)
    bin_crates = sorted((c for c in s.workspace.crates.values() if c.member and c.bins), key=lambda c: c.name)
    names = {b for c in bin_crates for b in c.bins}
    deployments = _deployments_dir(s.files, names)
    services, skipped = _services(s, bin_crates, deployments, docker_texts)
    registry, registry_why = _registry(s, deployments, services)
    for g in services:
        overlay = posixpath.join(deployments, g.name, "kustomization.yaml")
        if overlay not in s.files:
            s.notes.append(f"service {g.name}: {overlay} does not exist yet (buildctl check reports it)")
    build_all = _build_all(s, dockerfile, docker_texts.get(dockerfile))
    deploy_all = _deploy_all(s, deployments, services)
    default_ignore = tuple(Rule(g, "the default: documentation and git settings") for g in DEFAULT_IGNORE)
    covered = GlobSet.of([r.glob for r in (*build_all, *deploy_all, *default_ignore)])
    inferred, left = _ignores(s, deployments, covered, dockerfile)
    return Proposal(
        map_file=map_file,
        root=s.root,
        registry=registry,
        registry_why=registry_why,
        dockerfile=dockerfile,
        deployments=deployments,
        build_all=build_all,
        deploy_all=deploy_all,
        ignore=(*default_ignore, *inferred),
        services=tuple(services),
        skipped=tuple(skipped),
        left_unowned=tuple(left),
        notes=tuple(s.notes),
    )


def _choose_dockerfile(s: _Scan, texts: Mapping[str, str]) -> str:
    for candidate in (
        DEFAULT_DOCKERFILE,
        join(s.root, DEFAULT_DOCKERFILE),
        "Dockerfile",
        join(s.root, "Dockerfile"),
    ):
        if candidate in texts:
            return candidate
    s.notes.append(
        f"no {DEFAULT_DOCKERFILE} or Dockerfile at the root: the map names {DEFAULT_DOCKERFILE}; "
        "write it before building (buildctl's docs/build.md)"
    )
    return DEFAULT_DOCKERFILE


def _deployments_dir(files: Sequence[str], names: set[str]) -> str:
    """The directory whose `<name>/kustomization.yaml` files match the most binaries."""
    votes: Counter[str] = Counter()
    for path in files:
        if posixpath.basename(path) != "kustomization.yaml":
            continue
        overlay = posixpath.dirname(path)
        if posixpath.basename(overlay) in names:
            votes[posixpath.dirname(overlay)] += 1
    if votes:
        best = max(votes.values())
        return sorted(d for d, n in votes.items() if n == best)[0]
    return DEFAULT_DEPLOYMENTS


def _named_in(name: str, texts: Mapping[str, str]) -> str | None:
    word = re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(name)}(?![A-Za-z0-9_-])")
    return next((path for path, text in sorted(texts.items()) if word.search(text)), None)


def _services(
    s: _Scan, crates: Sequence[Crate], deployments: str, docker_texts: Mapping[str, str]
) -> tuple[list[ServiceGuess], list[Skipped]]:
    overlay_dirs = {
        p[len(deployments) + 1 :].split("/", 1)[0] for p in s.files if p.startswith(deployments + "/")
    }
    services: list[ServiceGuess] = []
    skipped: list[Skipped] = []
    taken: dict[str, str] = {}
    for crate in crates:
        candidates = ([crate.name] if crate.name in crate.bins else []) + [
            b for b in crate.bins if b != crate.name
        ]
        chosen: tuple[str, str] | None = None
        for name in candidates:
            if name in overlay_dirs:
                chosen = (name, f"{deployments}/{name}/ exists")
                break
        if chosen is None:
            for name in candidates:
                where = _named_in(name, docker_texts)
                if where is not None:
                    chosen = (name, f"{where} names it")
                    break
        if chosen is None:
            names = " or ".join(f"{deployments}/{n}/" for n in candidates)
            skipped.append(Skipped(crate.name, crate.dir, f"no {names}, and no Dockerfile names it"))
            continue
        name, why = chosen
        if not SERVICE_NAME.match(name):
            skipped.append(Skipped(crate.name, crate.dir, f"{name!r} cannot be an image name"))
        elif name in taken:
            skipped.append(
                Skipped(crate.name, crate.dir, f"service {name!r} is already crate {taken[name]!r}")
            )
        else:
            taken[name] = crate.name
            services.append(ServiceGuess(name, crate.name, crate.dir, why))
    return services, skipped


def _registry(s: _Scan, deployments: str, services: Sequence[ServiceGuess]) -> tuple[str | None, str]:
    found: dict[str, str] = {}
    paths = {g.name: posixpath.join(deployments, g.name, "kustomization.yaml") for g in services}
    s.snap.fetch(paths.values())
    for name, path in paths.items():
        text = s.text(path)
        if text is None:
            continue
        try:
            entries = deployed.image_entries(deployed.load(text, path), path)
        except BuildctlError as exc:
            s.notes.append(f"{path} not read for the registry: {exc.message}")
            continue
        refs = [str(e.get("newName") or e.get("name") or "") for e in entries]
        ref = next((r for r in refs if r.rpartition("/")[2] == name), refs[0] if len(refs) == 1 else None)
        if ref and "/" in ref:
            found[name] = ref.rpartition("/")[0].lower()
    values = sorted(set(found.values()))
    if len(values) == 1 and REGISTRY.match(values[0]):
        return values[0], f"the images: newName of {len(found)} kustomization(s), minus the last component"
    if len(values) > 1:
        listed = ", ".join(f"{n} -> {r}" for n, r in sorted(found.items()))
        return None, f"the kustomizations' images: disagree ({listed})"
    if values:
        return None, f"{values[0]!r} (from the kustomizations' images:) is not a registry path"
    return None, "no kustomization names an image in a registry"


def _build_all(s: _Scan, dockerfile: str, docker_text: str | None) -> tuple[Rule, ...]:
    files = set(s.files)

    def absent(path: str) -> str:
        return "" if path in files else " (absent now; a new one counts)"

    rules = [
        Rule(dockerfile, "the Dockerfile every service is built with" + absent(dockerfile)),
        Rule(".dockerignore", "it decides the build context" + absent(".dockerignore")),
    ]
    for name in DEFAULT_BUILD_ALL:
        if name == DEFAULT_DOCKERFILE:
            continue
        what = "the toolchain" if name.startswith("rust-toolchain") else "cargo settings"
        rules.append(Rule(join(s.root, name), what + absent(join(s.root, name))))
        if s.root and name in files:  # cargo and rustup also read these in parent directories
            rules.append(Rule(name, what + " (read from the directories above the workspace)"))
    if docker_text is not None:
        for source in _copied(docker_text):
            glob = _copied_glob(s, source)
            if glob and all(r.glob != glob for r in rules):
                rules.append(Rule(glob, f"{dockerfile} copies it into the image"))
    return tuple(rules)


def _copied(text: str) -> list[str]:
    """Build-context sources of COPY/ADD instructions (not --from=stage ones)."""
    joined = re.sub(r"\\\r?\n", " ", text)
    sources: list[str] = []
    for line in joined.splitlines():
        words = line.split()
        if len(words) < 3 or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        if args and args[0].startswith("["):
            try:
                args = [str(a) for a in json.loads(" ".join(args))]
            except ValueError:
                continue
        sources.extend(args[:-1])
    return sources


def _copied_glob(s: _Scan, source: str) -> str | None:
    """A glob for a COPY source outside every crate, or None when the graph already covers it."""
    path = posixpath.normpath(source.lstrip("/"))
    if path in (".", "") or path.startswith(".."):
        return None  # the whole context: the crates and rules decide
    ws = s.workspace
    if path in (join(s.root, "Cargo.toml"), join(s.root, "Cargo.lock")):
        return None
    inside = path + "/"
    if any(d == path or d.startswith(inside) for d in ws.by_dir) or (s.root + "/").startswith(inside):
        return None  # the sources (or the workspace itself): the crates and the graph decide
    matcher = GlobSet.of([path, f"{path}/**"])
    hits = [f for f in s.files if matcher.match(f)]
    if not hits or all(ws.owner(f) is not None for f in hits):
        return None
    return path if path in hits else f"{path}/**"


def _deploy_all(s: _Scan, deployments: str, services: Sequence[ServiceGuess]) -> tuple[Rule, ...]:
    """What `<deployments>/` holds besides the services' overlays: shared by them, so a change
    redeploys every service. A directory that looks like some binary's overlay is left out, with
    a note: it is more likely a service init could not name."""
    names = {g.name for g in services}
    rules = {f"{deployments}/base/**": Rule(f"{deployments}/base/**", "the base the overlays share")}
    prefix = deployments + "/"
    crate_by_dirname = {
        posixpath.basename(c.dir): c for c in s.workspace.crates.values() if c.member and c.bins
    }
    seen = set(names)
    for path in s.files:
        if not path.startswith(prefix):
            continue
        head, sep, _ = path[len(prefix) :].partition("/")
        if not sep:
            rules.setdefault(path, Rule(escape_glob(path), "next to the overlays, shared by them"))
            continue
        if head in seen:
            continue
        seen.add(head)
        glob = f"{deployments}/{escape_glob(head)}/**"
        if head in crate_by_dirname and head != "base":
            crate = crate_by_dirname[head]
            s.notes.append(
                f"{prefix}{head}/ looks like the overlay of crate {crate.name} ({crate.dir}), whose binary is "
                f"named {', '.join(crate.bins)}: if it is a service, add [services.{head}] with "
                f'crate = "{crate.name}" and make its Dockerfile build that binary'
            )
        else:
            rules.setdefault(glob, Rule(glob, "no service's overlay: shared by them"))
    return tuple(rules.values())


def escape_glob(path: str) -> str:
    """A glob that matches exactly this path."""
    return re.sub(r"([*?\[\]{}])", r"[\1]", path)


def _ignores(s: _Scan, deployments: str, covered: GlobSet, dockerfile: str) -> tuple[list[Rule], list[str]]:
    ws = s.workspace
    crate_dirs = {d for d in ws.by_dir if d}
    dockerignore_path = (
        f"{dockerfile}.dockerignore" if f"{dockerfile}.dockerignore" in s.files else ".dockerignore"
    )
    dockerignore_text = s.text(dockerignore_path) if dockerignore_path in s.files else None
    context = DockerIgnore.parse(dockerignore_text) if dockerignore_text is not None else None
    special = {join(s.root, "Cargo.toml"), join(s.root, "Cargo.lock"), s.map_file}
    rules: list[Rule] = []
    if not posixpath.isabs(s.map_file) and not s.map_file.startswith("../"):
        rules.append(Rule(escape_glob(s.map_file), "buildctl's map: it steers detection, it is not built"))
    left: list[str] = []

    def visit(prefix: str, paths: list[str]) -> None:
        children: dict[str, list[str]] = {}
        for p in paths:
            rest = p[len(prefix) :]
            head, sep, _ = rest.partition("/")
            children.setdefault(prefix + head + ("/" if sep else ""), []).append(p)
        for entry, under in sorted(children.items()):
            is_dir = entry.endswith("/")
            name = entry.rstrip("/")
            if name in crate_dirs or name in special or name == deployments:
                continue
            if is_dir and (any(d.startswith(entry) for d in crate_dirs) or deployments.startswith(entry)):
                visit(entry, under)
                continue
            if all(covered.match(p) for p in under):
                continue
            glob = f"{escape_glob(name)}/**" if is_dir else escape_glob(name)
            if context is not None and all(context.excluded(p) for p in under):
                rules.append(Rule(glob, f"not in the Docker build context ({dockerignore_path})"))
                continue
            why = _tooling(s, name, is_dir, under)
            if why is not None:
                rules.append(Rule(glob, why))
            else:
                left.append(entry)

    visit("", [p for p in s.files if p != s.map_file])
    return rules, left


def _tooling(s: _Scan, name: str, is_dir: bool, files: Sequence[str]) -> str | None:
    """Why `name` cannot change an image, when it is recognisably tooling; else None."""
    base = posixpath.basename(name)
    if not is_dir:
        if base in _TOOL_FILES:
            return _TOOL_FILES[base]
        if re.fullmatch(r"requirements.*\.(?:txt|in)", base):
            return "Python dependencies"
        return None
    if base in _CI_DIRS:
        return "CI and editor settings"
    suffixes = {posixpath.splitext(p)[1] for p in files}
    packages = {posixpath.dirname(p) + "/" for p in files if posixpath.basename(p) == "__init__.py"}
    if packages and all(
        any(p.startswith(d) for d in packages) or posixpath.splitext(p)[1] in _TOOL_SUFFIXES for p in files
    ):
        return "Python code and its data"
    if suffixes <= _TOOL_SUFFIXES and (suffixes & _SCRIPT_SUFFIXES or base == "requirements"):
        return "scripts and Python tooling"
    if suffixes <= {".yaml", ".yml"}:
        s.snap.fetch(files)
        texts = [s.text(p) or "" for p in files]
        if all(re.search(r"(?m)^apiVersion:", t) and re.search(r"(?m)^kind:", t) for t in texts):
            return "Kubernetes manifests: applied to the cluster, not built into an image"
    return None


# --- after a migration: inputs --------------------------------------------------------------


def with_inputs(
    p: Proposal,
    inputs: Mapping[str, Sequence[Rule]],
    files: Iterable[str],
    promoted: Iterable[ServiceGuess] = (),
) -> Proposal:
    """The proposal with the `promoted` services added and each service's `inputs` set; the
    top-level paths that the inputs now cover are no longer reported as left unowned."""
    extra = [g for g in promoted if p.service(g.name) is None]
    services = tuple(
        replace(g, inputs=tuple(inputs.get(g.name, ())))
        for g in sorted((*p.services, *extra), key=lambda g: g.crate)
    )
    promoted_crates = {g.crate for g in extra}
    globs = GlobSet.of([r.glob for rules in inputs.values() for r in rules])
    listed = list(files)
    left = tuple(
        e
        for e in p.left_unowned
        if not all(globs.match(f) for f in listed if f == e or (e.endswith("/") and f.startswith(e)))
    )
    return replace(
        p,
        services=services,
        skipped=tuple(k for k in p.skipped if k.crate not in promoted_crates),
        left_unowned=left,
    )


# --- rendering ------------------------------------------------------------------------------


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _q(name)


def _array(key: str, rules: Sequence[Rule]) -> list[str]:
    if not rules:
        return [f"{key} = []"]
    width = max(len(_q(r.glob)) for r in rules) + 1
    lines = [f"{key} = ["]
    lines += [f"    {(_q(r.glob) + ','):<{width}}  # {r.why}" for r in rules]
    lines.append("]")
    return lines


def render(p: Proposal) -> str:
    out = [
        "# buildctl's map of this repository: which crates are deployable services, and what else",
        "# a change can touch. Written by `buildctl init`; each guess says why. Reference:",
        "# docs/workspace-map.md in buildctl. Check it with `buildctl check`.",
        "[workspace]",
        f"root = {_q(p.root or '.')}",
    ]
    if p.registry:
        out.append(f"registry = {_q(p.registry)}  # {p.registry_why}")
    else:
        out.append(f'# registry = "ghcr.io/OWNER/REPO"  # not guessed: {p.registry_why}')
    out.append(f"dockerfile = {_q(p.dockerfile)}")
    out.append(f"deployments = {_q(p.deployments)}")
    out += ["", "[rules]", "# A change to one of these rebuilds every service."]
    out += _array("build_all", p.build_all)
    out.append("# A change to one of these redeploys every service, without a build.")
    out += _array("deploy_all", p.deploy_all)
    out.append("# A change to one of these changes no image.")
    out += _array("ignore", p.ignore)
    if p.left_unowned:
        out.append("# Not ignored: no crate owns these, so a change to one rebuilds every service. If only")
        out.append("# some services use one, list it in their `inputs`; if none do, add it to `ignore`.")
        out += [f"#   {e}" for e in p.left_unowned]
    out.append('unowned = "all"')
    out.append("")
    spaced = False
    for g in p.services:
        body = ([f"crate = {_q(g.crate)}"] if g.crate != g.name else []) + (
            _array("inputs", g.inputs) if g.inputs else []
        )
        if (body or spaced) and out[-1] != "":
            out.append("")
        out.append(f"[services.{_key(g.name)}]  # {g.dir or '.'}: {g.why}")
        out += body
        spaced = bool(body)
    if p.skipped:
        out += ["", "# Binaries that are not services (uncomment one to build and deploy it):"]
        for k in p.skipped:
            out.append(f"# [services.{_key(k.crate)}]  # {k.dir or '.'}: {k.why}")
    return "\n".join(out) + "\n"
