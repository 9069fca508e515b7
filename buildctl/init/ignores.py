"""Which paths of a repository cannot change an image, for `buildctl init`'s `ignore` rule:
outside the Docker build context (`.dockerignore`, read with Docker's rules), or recognisably
tooling (CI settings, Python packages and scripts, Kubernetes manifests, linter settings)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from buildctl.detect.workspace import join
from buildctl.globs import GlobSet
from buildctl.init.dockerfiles import DockerfileInfo
from buildctl.init.proposal import Rule, Scan, ServiceGuess, escape_glob

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


def ignores(
    s: Scan,
    deployments: str,
    covered: GlobSet,
    dockerfile: str,
    contexts: set[str] | None = None,
    copied: GlobSet | None = None,
) -> tuple[list[Rule], list[str]]:
    """Rules for the paths that cannot change an image, and the top-level entries left unowned.
    Paths outside every build context (`contexts`) need neither: nothing can build them. With
    `copied` (what the Dockerfiles COPY, when they name their sources), a path of the context
    that none copies is ignored too."""
    ws = s.workspace
    crate_dirs = {d for d in ws.by_dir if d}
    within = sorted(c for c in (contexts or {""}) if c)
    context = within[0] if len(within) == 1 and "" not in (contexts or {""}) else ""
    dockerignore_path = (
        f"{dockerfile}.dockerignore"
        if f"{dockerfile}.dockerignore" in s.files
        else posixpath.join(context, ".dockerignore")
        if context
        else ".dockerignore"
    )
    dockerignore_text = s.text(dockerignore_path) if dockerignore_path in s.files else None
    docker_context = DockerIgnore.parse(dockerignore_text) if dockerignore_text is not None else None
    special = {join(s.root, "Cargo.toml"), join(s.root, "Cargo.lock"), s.map_file}
    rules: list[Rule] = []
    if not posixpath.isabs(s.map_file) and not s.map_file.startswith("../"):
        rules.append(Rule(escape_glob(s.map_file), "buildctl's map: it steers detection, it is not built"))
    left: list[str] = []
    anchors = {c + "/" for c in within} if "" not in (contexts or {""}) else set()

    def outside(entry: str) -> bool:
        return bool(anchors) and not any(entry.startswith(a) or a.startswith(entry) for a in anchors)

    def excluded(path: str) -> bool:
        if docker_context is None:
            return False
        return docker_context.excluded(path[len(context) + 1 :] if context else path)

    def visit(prefix: str, paths: list[str]) -> None:
        children: dict[str, list[str]] = {}
        for p in paths:
            rest = p[len(prefix) :]
            head, sep, _ = rest.partition("/")
            children.setdefault(prefix + head + ("/" if sep else ""), []).append(p)
        for entry, under in sorted(children.items()):
            is_dir = entry.endswith("/")
            name = entry.rstrip("/")
            if name in crate_dirs or name in special or name == deployments or outside(entry):
                continue
            if is_dir and (
                any(d.startswith(entry) for d in crate_dirs)
                or deployments.startswith(entry)
                or any(a.startswith(entry) and a != entry for a in anchors)
            ):
                visit(entry, under)
                continue
            if all(covered.match(p) for p in under):
                continue
            hits = [copied.match(p) for p in under] if is_dir and copied is not None else []
            if any(hits) and not all(hits):
                visit(entry, under)  # `dev/docker/x.sh` is copied, the rest of `dev/` is not
                continue
            glob = f"{escape_glob(name)}/**" if is_dir else escape_glob(name)
            if docker_context is not None and all(excluded(p) for p in under):
                rules.append(Rule(glob, f"not in the Docker build context ({dockerignore_path})"))
                continue
            if copied is not None and not any(copied.match(p) for p in under):
                rules.append(Rule(glob, "no Dockerfile of a service copies it (they name what they copy)"))
                continue
            why = _tooling(s, name, is_dir, under)
            if why is not None:
                rules.append(Rule(glob, why))
            else:
                left.append(entry)

    visit("", [p for p in s.files if p != s.map_file])
    return rules, left


def what_images_copy(
    s: Scan, services: Sequence[ServiceGuess], dockerfile: str, context: str, infos: Sequence[DockerfileInfo]
) -> GlobSet | None:
    """The paths the services' Dockerfiles COPY or ADD from their contexts, or None when one may
    read any file of its context (`COPY . .`, a source with a variable, a bind mount of the
    context, a Dockerfile init cannot read): a file of the context that none copies is not in
    any image."""
    globs: list[str] = []
    chosen = [(g.dockerfile or dockerfile, g.context) for g in services] or [(dockerfile, None)]
    for path, own_context in chosen:
        ctx = own_context if own_context is not None else context
        info = next((d for d in infos if d.path == path), None)
        if info is None or any(_binds_context(line) for _, line in info.parsed.run_lines()):
            return None
        for source in info.parsed.copied():
            if source.startswith("$"):
                return None
            # `target/${PROFILE}/app`: the variable's segments can be anything
            src = posixpath.normpath(join(ctx, re.sub(r"\$\{[^}]*\}|\$\w+", "**", source.lstrip("/"))))
            if src in (".", posixpath.normpath(ctx or ".")) or src.startswith(".."):
                return None
            globs += [src, f"{src}/**"]
    return GlobSet.of(globs)


def _binds_context(run: str) -> bool:
    return any("type=bind" in m and "from=" not in m for m in re.findall(r"--mount=(\S+)", run))


def _tooling(s: Scan, name: str, is_dir: bool, files: Sequence[str]) -> str | None:
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
