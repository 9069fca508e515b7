"""`buildctl init`: read a repository and propose its `workspace-map.toml`.

`scan` looks at a Snapshot (normally the working tree) and returns a `Proposal` (`proposal`) in
which every guess carries its reason; `render` turns it into the map's text, with the reasons as
comments.
Nothing here writes a file: the command does, atomically, and `buildctl check` accepts the
result.

What it guesses, and from what:
- the Cargo workspace root: a Cargo.toml with [workspace] at the root, or one level down;
- the services (`services`): each binary a deployment names or a Dockerfile builds, with its
  Dockerfile, build context, target and deploy kind; the other binaries are listed, with why;
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

import posixpath
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from buildctl import deployed, yamlfile
from buildctl.config import DEFAULT_BUILD_ALL, DEFAULT_IGNORE, MAP_FILE, REGISTRY
from buildctl.detect.snapshot import Snapshot
from buildctl.detect.workspace import join
from buildctl.detect.workspace import load as load_workspace
from buildctl.errors import BuildctlError
from buildctl.globs import GlobSet
from buildctl.init.charts import charts, crate_inputs
from buildctl.init.dockerfiles import DOCKERFILE, DockerfileInfo, analyse, choose_context
from buildctl.init.evidence import gather
from buildctl.init.ignores import ignores, what_images_copy
from buildctl.init.proposal import (
    DEFAULT_DEPLOYMENTS,
    DEFAULT_DOCKERFILE,
    Proposal,
    Rule,
    Scan,
    ServiceGuess,
    escape_glob,
)
from buildctl.init.services import decide
from buildctl.mapmodel import DEFAULT_BIN_ARG, DEFAULT_TARGET, Service

# --- the workspace root ---------------------------------------------------------------------


def find_root(snap: Snapshot, wanted: str | None = None) -> str:
    """The Cargo workspace root: `wanted` (`init --root`), else the repository root, else the one
    directory one level down whose Cargo.toml has [workspace] (e.g. `rust/`)."""
    dirs = snap.manifest_dirs()
    if wanted is not None:
        return _wanted_root(snap, wanted, dirs)
    if "" in dirs:
        return ""
    found = [d for d in dirs if "/" not in d and "workspace" in (snap.toml(join(d, "Cargo.toml")) or {})]
    if len(found) == 1:
        return found[0]
    if found:
        raise BuildctlError(
            f"found several Cargo workspaces ({', '.join(found)}); a map describes one",
            hint=f"pass --root DIR to map one of them (buildctl init --root {found[0]}), and --map "
            f"DIR/workspace-map.toml to keep one map per workspace",
        )
    raise BuildctlError(
        f"no Cargo workspace found: no Cargo.toml at the root of the repository or one level down ({snap.label})",
        hint="run buildctl init in the git repository that holds the Cargo workspace, or pass --repo DIR",
    )


def _wanted_root(snap: Snapshot, wanted: str, dirs: Sequence[str]) -> str:
    root = posixpath.normpath(wanted.strip("/")) if wanted.strip("/") else "."
    root = "" if root == "." else root
    if root.startswith("../") or root == "..":
        raise BuildctlError(f"--root {wanted!r} is outside the repository", hint="name a directory inside it")
    if root in dirs and "workspace" in (snap.toml(join(root, "Cargo.toml")) or {}):
        return root
    roots = sorted(d or "." for d in dirs if "workspace" in (snap.toml(join(d, "Cargo.toml")) or {}))
    raise BuildctlError(
        f"--root {wanted!r}: no Cargo.toml with [workspace] there ({snap.label})",
        hint=f"workspaces in this repository: {', '.join(roots) or 'none'}",
    )


# --- scanning -------------------------------------------------------------------------------


def scan(snap: Snapshot, map_file: str = MAP_FILE, root_dir: str | None = None) -> Proposal:
    root = find_root(snap, root_dir)
    s = Scan(snap, map_file, root, load_workspace(snap, root), sorted(snap.files))
    ev = gather(s)
    docker_paths = [p for p in s.files if DOCKERFILE.search(p)]
    snap.fetch(docker_paths)
    infos = []
    for path in docker_paths:
        text = s.text(path)
        if text is not None:
            info = analyse(path, text, s.workspace)
            choose_context(info, root, s.files, ev.contexts)
            infos.append(info)
    default = _choose_dockerfile(s, {d.path for d in infos})
    bin_crates = sorted((c for c in s.workspace.crates.values() if c.member and c.bins), key=lambda c: c.name)
    names = {b for c in bin_crates for b in c.bins}
    deployments = _deployments_dir(s.files, names)
    overlays = {
        p[len(deployments) + 1 :].split("/", 1)[0] for p in s.files if p.startswith(deployments + "/")
    }
    found = decide(bin_crates, overlays, deployments, charts(s, sorted(names)), infos, ev)
    services = found.services
    ws_df = _most([g.dockerfile or default for g in services], default)
    default_context = _context_of(ws_df, infos)
    ws_context = _most(
        [g.context if g.context is not None else default_context for g in services], default_context
    )
    ws_target = _most([g.target for g in services if g.target is not None], DEFAULT_TARGET)
    bin_arg = _most(list(found.bin_args.values()), DEFAULT_BIN_ARG)
    kind = _most([g.deploy for g in services if g.deploy], "kustomize" if services else "none")
    if kind == "helm":
        deployments = _most(
            [posixpath.dirname(posixpath.dirname(g.values)) for g in services if g.values], deployments
        )
    services = [_relative_to(g, deployments) for g in services]
    registry, registry_why = _registry(s, deployments, services)
    shared = all((g.dockerfile or ws_df) == ws_df for g in services)
    build_all = _build_all(s, ws_df if shared else None, ws_context, infos)
    services = [_with_copies(s, g, infos, shared) for g in services]
    for g in services:
        if g.deploy == "none" and kind != "none":
            s.notes.append(
                f'service {g.name}: no kustomization or chart names it: deploy = "none" (build and push)'
            )
    deploy_all = _deploy_all(s, deployments, services) if kind != "none" else ()
    default_ignore = tuple(Rule(g, "the default: documentation and git settings") for g in DEFAULT_IGNORE)
    bin_crate_list = [c for c in bin_crates if any(g.crate == c.name for g in services)]
    inputs = crate_inputs(s, [c for c in s.workspace.crates.values() if c.member] or bin_crate_list)
    covered = GlobSet.of(
        [r.glob for r in (*build_all, *deploy_all, *default_ignore, *(i for g in services for i in g.inputs))]
        + [escape_glob(f) for g in services for f in _build_files(g, ws_df, ws_context)]
        + [r.glob for rules in inputs.values() for r in rules]
    )
    contexts = {g.context if g.context is not None else ws_context for g in services} or {ws_context}
    copied = what_images_copy(s, services, ws_df, ws_context, infos)
    inferred, left = ignores(s, deployments, covered, ws_df, contexts, copied)
    return Proposal(
        map_file=map_file,
        root=s.root,
        registry=registry,
        registry_why=registry_why,
        dockerfile=ws_df,
        deployments=deployments,
        build_all=build_all,
        deploy_all=deploy_all,
        ignore=(*default_ignore, *inferred),
        services=tuple(services),
        skipped=tuple(found.skipped),
        left_unowned=tuple(left),
        notes=tuple(s.notes),
        context=ws_context,
        target=ws_target,
        bin_arg=bin_arg,
        bin_arg_why="the Dockerfile builds the binary this build argument names"
        if bin_arg != DEFAULT_BIN_ARG
        else "",
        deploy=kind,
        deploy_why={
            "helm": "the services' Helm charts name their images",
            "none": "no kustomization or chart names a service: build and push only",
        }.get(kind, ""),
        crate_inputs=inputs,
    )


def _most(values: Sequence[str], default: str) -> str:
    """The most common value (the first of the most common), or `default` when there is none."""
    if not values:
        return default
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def _context_of(dockerfile: str, infos: Sequence[DockerfileInfo]) -> str:
    return next((d.context for d in infos if d.path == dockerfile), "")


def _relative_to(g: ServiceGuess, deployments: str) -> ServiceGuess:
    """A Helm service's values file need not be written where it is the default one."""
    if g.values == posixpath.join(deployments, g.name, "values.yaml"):
        return replace(g, values=None)
    return g


def _build_files(g: ServiceGuess, dockerfile: str, context: str) -> tuple[str, ...]:
    return Service(
        g.name,
        g.crate,
        GlobSet.of([]),
        dockerfile=g.dockerfile or dockerfile,
        context=g.context if g.context is not None else context,
    ).build_files


def _with_copies(s: Scan, g: ServiceGuess, infos: Sequence[DockerfileInfo], shared: bool) -> ServiceGuess:
    """A service's own Dockerfile: what it copies from outside the crates is the service's input."""
    info = next((d for d in infos if d.path == g.dockerfile), None)
    if shared or info is None:
        return g
    rules = [
        Rule(glob, f"{info.path} copies it into the image")
        for src in info.parsed.copied()
        if (glob := _copied_glob(s, join(info.context, src))) is not None
    ]
    return replace(g, inputs=tuple(dict.fromkeys(rules)))


def _choose_dockerfile(s: Scan, paths: set[str]) -> str:
    for candidate in (
        DEFAULT_DOCKERFILE,
        join(s.root, DEFAULT_DOCKERFILE),
        "Dockerfile",
        join(s.root, "Dockerfile"),
    ):
        if candidate in paths:
            return candidate
    if not paths:
        s.notes.append(
            f"no Dockerfile found: the map names {DEFAULT_DOCKERFILE}; write it before building "
            "(buildctl's docs/build.md)"
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


def _registry(s: Scan, deployments: str, services: Sequence[ServiceGuess]) -> tuple[str | None, str]:
    found: dict[str, str] = {}
    kustomized = [g for g in services if g.deploy in (None, "kustomize")]
    paths = {g.name: posixpath.join(deployments, g.name, "kustomization.yaml") for g in kustomized}
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
    for g in services:
        if g.deploy == "helm" and g.image_keys is not None:
            vfile = g.values or posixpath.join(deployments, g.name, "values.yaml")
            try:
                data = yamlfile.load_plain(s.text(vfile) or "", vfile)
            except BuildctlError:
                continue
            ok, repo = deployed.lookup(data, g.image_keys.repository)
            if ok and isinstance(repo, str) and "/" in repo:
                found[g.name] = repo.rpartition("/")[0].lower()
    helm = any(g.deploy == "helm" for g in services)
    what = (
        "the kustomizations' images: and the charts' image repositories"
        if helm
        else "the kustomizations' images:"
    )
    values = sorted(set(found.values()))
    if len(values) == 1 and REGISTRY.match(values[0]):
        source = (
            f"the image of {len(found)} deployment(s)"
            if helm
            else f"the images: newName of {len(found)} kustomization(s)"
        )
        return values[0], f"{source}, minus the last component"
    if len(values) > 1:
        listed = ", ".join(f"{n} -> {r}" for n, r in sorted(found.items()))
        return None, f"{what} disagree ({listed})"
    if values:
        return None, f"{values[0]!r} (from {what}) is not a registry path"
    return None, "no kustomization or chart names an image in a registry"


def _build_all(
    s: Scan, dockerfile: str | None, context: str, infos: Sequence[DockerfileInfo]
) -> tuple[Rule, ...]:
    """What every image reads: the toolchain and cargo settings; and, when every service is built
    from one Dockerfile, that Dockerfile, its context's .dockerignore and what it copies."""
    files = set(s.files)

    def absent(path: str) -> str:
        return "" if path in files else " (absent now; a new one counts)"

    rules = []
    if dockerfile is not None:
        ignore = join(context, ".dockerignore")
        rules += [
            Rule(dockerfile, "the Dockerfile every service is built with" + absent(dockerfile)),
            Rule(ignore, "it decides the build context" + absent(ignore)),
        ]
    for name in DEFAULT_BUILD_ALL:
        if name == DEFAULT_DOCKERFILE:
            continue
        what = "the toolchain" if name.startswith("rust-toolchain") else "cargo settings"
        rules.append(Rule(join(s.root, name), what + absent(join(s.root, name))))
        if s.root and name in files:  # cargo and rustup also read these in parent directories
            rules.append(Rule(name, what + " (read from the directories above the workspace)"))
    info = next((d for d in infos if d.path == dockerfile), None)
    if info is not None:
        for source in info.parsed.copied():
            glob = _copied_glob(s, join(context, source))
            if glob and all(r.glob != glob for r in rules):
                rules.append(Rule(glob, f"{dockerfile} copies it into the image"))
    return tuple(rules)


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
