"""For `init`: what each Dockerfile of a repository builds, and from which build context.

A Dockerfile names its binaries in one of three ways: literally (`cargo build --bin api`,
`-p api`, `cargo install --path services/api`), through a build argument (`ARG TARGETBINARY`
and `cargo build --bin $TARGETBINARY`: any binary can be the one), or not at all (`cargo build
--release`: every binary). Its context is what a workflow or compose file says, else the
deepest directory holding it and the workspace in which the files it COPYs exist.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from buildctl.build.dockerfile import Dockerfile, parse
from buildctl.detect.workspace import Crate, Workspace, join

DOCKERFILE = re.compile(
    r"(?:^|/)(?:(?:Docker|Container)file(?:\.[^/]*)?|[^/]+\.(?:docker|container)file)$", re.I
)
_CARGO = re.compile(r"\bcargo\s+(?:\+\S+\s+)?(build|install|chef\s+cook|zigbuild|auditable\s+build)\b(.*)")
_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_PREBUILT = re.compile(r"(?:^|/)target/(?:[^/]+/)?[^/]+/([A-Za-z0-9_][A-Za-z0-9_.-]*)$")
_COMMANDS = re.compile(r"&&|\|\||;|\|")  # one RUN line may chain several cargo commands


@dataclass
class DockerfileInfo:
    path: str
    parsed: Dockerfile
    text: str
    context: str = ""
    context_why: str = ""
    bins: set[str] = field(default_factory=set)  # binaries it names literally
    bin_arg: str | None = None  # the build argument that picks the binary
    builds_all: bool = False  # a plain `cargo build`: every binary
    prebuilt: set[str] = field(default_factory=set)  # binaries it COPYs from a target/ built outside Docker

    @property
    def cargo(self) -> bool:
        return bool(self.bins) or self.bin_arg is not None or self.builds_all

    def target_for(self, binary: str) -> str:
        """The stage an image of `binary` is: one named after it, else a final stage that copies
        it, else `runtime`, else the last stage ("" when that has no name)."""
        stages = self.parsed.stages
        named = self.parsed.stage(binary)
        if named is not None and named.name:
            return named.name
        used = {ref.lower() for s in stages for ref in (s.base, *s.needs)}
        finals = [s for s in stages if s.name and s.name.lower() not in used]
        word = re.compile(rf"(?<![\w.-]){re.escape(binary)}(?![\w-])")
        copying = [s for s in finals if any(word.search(c) for c in s.copies) or word.search(s.base)]
        if len(copying) == 1 and copying[0].name and len(finals) > 1:
            return copying[0].name
        if self.parsed.stage("runtime") is not None:
            return "runtime"
        return stages[-1].name or "" if stages else ""


def _words(command: str) -> list[str]:
    return command.replace("\\", " ").split()


def analyse(path: str, text: str, ws: Workspace) -> DockerfileInfo:
    info = DockerfileInfo(path, parse(text), text)
    args = set(info.parsed.global_args) | {a for s in info.parsed.stages for a in s.args}
    bins_of = {c.name: c.bins for c in ws.crates.values() if c.member}
    every_bin = {b for bins in bins_of.values() for b in bins}
    info.prebuilt = {
        m.group(1) for src in info.parsed.copied() if (m := _PREBUILT.search(src)) and m.group(1) in every_bin
    }
    for _, line in info.parsed.run_lines():
        for m in (m for command in _COMMANDS.split(line) if (m := _CARGO.search(command))):
            words = _words(m.group(2))
            if m.group(1) == "install" and not {"--path", "-p", "--package", "--bin"} & {
                w.split("=", 1)[0] for w in words
            }:
                continue  # `cargo install fido-mds-tool`: a crate of a registry, no binary of the workspace
            chosen = False
            for flag, value in zip(words, [*words[1:], ""], strict=False):
                name = value if flag in ("--bin", "-p", "--package", "--path") else ""
                if flag.startswith(("--bin=", "--package=")):
                    name = flag.split("=", 1)[1]
                    flag = flag.split("=", 1)[0]
                if not name:
                    continue
                chosen = True
                var = _VAR.match(name.strip("\"'"))
                if var and var.group(1) in args:
                    info.bin_arg = var.group(1)
                elif flag == "--bin":
                    info.bins.add(name.strip("\"'"))
                elif flag in ("-p", "--package"):
                    info.bins.update(bins_of.get(name.strip("\"'"), ()))
                else:  # --path: the crate whose directory ends that way
                    tail = posixpath.normpath(name.strip("\"'")).lstrip("./")
                    for crate in ws.crates.values():
                        if crate.member and tail and (crate.dir == tail or crate.dir.endswith("/" + tail)):
                            info.bins.update(crate.bins)
            if not chosen and "chef" not in m.group(0):
                info.builds_all = True
    return info


def choose_context(
    info: DockerfileInfo, root: str, files: Sequence[str], said: Mapping[str, tuple[str, str]]
) -> None:
    """Set the Dockerfile's build context: what a workflow or compose file passes, else the
    deepest directory that holds both it and the workspace, where its COPY sources exist."""
    if info.path in said:
        info.context, info.context_why = said[info.path]
        return
    folder = posixpath.dirname(info.path)
    ancestors = []
    while True:
        ancestors.append(folder)
        if not folder:
            break
        folder = posixpath.dirname(folder)
    holding = [d for d in ancestors if not d or root == d or root.startswith(d + "/")]
    sources = [
        posixpath.normpath(src.lstrip("/"))
        for src in info.parsed.copied()
        if not re.search(r"[*?\[$]", src) and posixpath.normpath(src) not in (".", "")
    ]
    present = set(files)
    dirs = {posixpath.dirname(f) for f in files}
    for d in holding:
        if all(_exists(join(d, src), present, dirs) for src in sources):
            info.context = d
            info.context_why = "where the files it copies are" if d else "the repository root"
            return
    info.context = holding[-1] if holding else ""
    info.context_why = "the repository root"


def _exists(path: str, files: set[str], dirs: set[str]) -> bool:
    return path in files or path in dirs or any(d.startswith(path + "/") for d in dirs)


def pick(dockerfiles: Sequence[DockerfileInfo], crate: Crate, binary: str) -> DockerfileInfo | None:
    """The Dockerfile that builds `binary`: one that names it (the one in a folder or file named
    after it first), else one whose binary a build argument picks, else one that builds all."""
    naming = [d for d in dockerfiles if binary in d.bins]
    for group in (naming, [d for d in dockerfiles if d.bin_arg], [d for d in dockerfiles if d.builds_all]):
        if group:
            return _closest(group, crate, binary)
    return None


def pick_prebuilt(dockerfiles: Sequence[DockerfileInfo], crate: Crate, binary: str) -> DockerfileInfo | None:
    """The Dockerfile that copies `binary` from a target/ directory built outside Docker, the one
    named after it first (`ballista-scheduler.Dockerfile` before one copying several)."""
    copying = [d for d in dockerfiles if binary in d.prebuilt]
    return _closest(copying, crate, binary) if copying else None


def _closest(group: Sequence[DockerfileInfo], crate: Crate, binary: str) -> DockerfileInfo:
    def own(d: DockerfileInfo) -> bool:
        parts = re.split(r"[/.]", d.path.lower())
        return binary.lower() in parts or crate.name.lower() in parts

    return sorted(group, key=lambda d: (not own(d), len(d.prebuilt), d.path.count("/"), d.path))[0]
