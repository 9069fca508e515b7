"""`buildctl init`: read a repository and propose its `workspace-map.toml`.

`scan` looks at a Snapshot (normally the working tree) and returns a `Proposal` (`proposal`) in
which every guess carries its reason; `render` turns it into the map's text, with the reasons as
comments.
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
from collections.abc import Mapping, Sequence

from buildctl import deployed
from buildctl.config import DEFAULT_BUILD_ALL, DEFAULT_IGNORE, MAP_FILE, REGISTRY, SERVICE_NAME
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import Crate, join
from buildctl.detect.workspace import load as load_workspace
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet
from buildctl.init.ignores import ignores
from buildctl.init.proposal import (
    DEFAULT_DEPLOYMENTS,
    DEFAULT_DOCKERFILE,
    Proposal,
    Rule,
    Scan,
    ServiceGuess,
    Skipped,
    escape_glob,
)

_DOCKERFILE = re.compile(
    r"(?:^|/)(?:(?:Docker|Container)file(?:\.[^/]*)?|[^/]+\.(?:docker|container)file)$", re.I
)


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


# --- scanning -------------------------------------------------------------------------------


def scan(snap: Snapshot, map_file: str = MAP_FILE) -> Proposal:
    root = find_root(snap)
    s = Scan(snap, map_file, root, load_workspace(snap, root), sorted(snap.files))
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
    inferred, left = ignores(s, deployments, covered, dockerfile)
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


def _choose_dockerfile(s: Scan, texts: Mapping[str, str]) -> str:
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
    s: Scan, crates: Sequence[Crate], deployments: str, docker_texts: Mapping[str, str]
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


def _registry(s: Scan, deployments: str, services: Sequence[ServiceGuess]) -> tuple[str | None, str]:
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


def _build_all(s: Scan, dockerfile: str, docker_text: str | None) -> tuple[Rule, ...]:
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


def _copied_glob(s: Scan, source: str) -> str | None:
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


def _deploy_all(s: Scan, deployments: str, services: Sequence[ServiceGuess]) -> tuple[Rule, ...]:
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
