"""BuildKit through the docker CLI: which builder a machine offers, and a build run through it.

`docker buildx build` when a docker CLI on PATH has buildx; else the engine's embedded BuildKit
through a docker CLI that still drives it itself (`DOCKER_BUILDKIT=1`, clients before 23, such
as Debian's `docker.io` 20.10); else the classic builder through the engine's API (`engine`).
The docker SDK cannot drive BuildKit, so builds go through the CLI here; everything else (tag,
push, inspect) stays with the SDK.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from buildctl.build.engine import BuildOutcome, LogSink, failure_text
from buildctl.errors import BuildctlError

Setting = Literal["auto", "buildkit", "classic"]
SETTINGS: tuple[Setting, ...] = ("auto", "buildkit", "classic")
_PROBE_TIMEOUT = 30


@dataclass(frozen=True)
class BuilderChoice:
    """The builder a run uses, how it is reached, and why it was chosen."""

    kind: Literal["buildkit", "classic"]
    via: Literal["buildx", "docker-cli", "sdk"]
    why: str
    cli: str | None = None  # the docker CLI that runs BuildKit builds
    driver: str | None = None  # buildx's driver: "docker", "docker-container", ...

    @property
    def registry_cache(self) -> bool:
        """Whether the cache of every stage can be exported to the registry (`--cache-to`):
        buildx with a driver of its own; the `docker` driver and the embedded BuildKit cannot."""
        return self.via == "buildx" and self.driver not in (None, "docker")

    @property
    def label(self) -> str:
        if self.kind == "classic":
            return "classic (the engine's API)"
        return f"buildkit ({'docker buildx, ' + (self.driver or '?') + ' driver' if self.via == 'buildx' else 'the engine embedded, DOCKER_BUILDKIT=1'})"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "via": self.via, "driver": self.driver, "why": self.why}


@dataclass(frozen=True)
class _Cli:
    path: str
    version: str
    buildx: str | None  # buildx's version, when the plugin answers
    driver: str | None


def _run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=_PROBE_TIMEOUT, env=dict(env or os.environ)
        )
    except (OSError, subprocess.TimeoutExpired):
        return 1, ""
    return proc.returncode, proc.stdout


def _docker_clis(environ: Mapping[str, str]) -> Iterator[str]:
    seen: set[str] = set()
    for folder in environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder or ".", "docker")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            real = str(candidate.resolve())
            if real not in seen:
                seen.add(real)
                yield str(candidate)


def _probe(path: str, environ: Mapping[str, str]) -> _Cli:
    # `--version` asks the client alone: `version` would wait for the engine, however busy.
    _, said = _run([path, "--version"], environ)
    m = re.search(r"version\s+([0-9][^\s,]*)", said, re.I)
    version = m.group(1) if m else ""
    code, buildx = _run([path, "buildx", "version"], environ)
    driver = None
    if code == 0:
        _, inspect = _run([path, "buildx", "inspect"], environ)
        m = re.search(r"(?m)^Driver:\s*(\S+)", inspect)
        driver = m.group(1) if m else None
    return _Cli(path, version.strip(), buildx.strip() if code == 0 else None, driver)


def _major(version: str) -> int | None:
    m = re.match(r"(\d+)\.", version)
    return int(m.group(1)) if m else None


def choose(setting: Setting, environ: Mapping[str, str] = os.environ) -> BuilderChoice:
    """The builder for `setting` on this machine: see the module docstring for `auto`'s order."""
    if setting == "classic":
        return BuilderChoice("classic", "sdk", "builder = classic: the engine's API, as asked")
    clis = [_probe(path, environ) for path in _docker_clis(environ)]
    for cli in clis:
        if cli.buildx:
            return BuilderChoice(
                "buildkit",
                "buildx",
                f"{cli.path} has buildx ({cli.buildx.split()[1] if len(cli.buildx.split()) > 1 else cli.buildx}), "
                f"builder driver {cli.driver or 'unknown'}",
                cli.path,
                cli.driver,
            )
    for cli in clis:
        major = _major(cli.version)
        if major is not None and major < 23:
            return BuilderChoice(
                "buildkit",
                "docker-cli",
                f"no buildx; {cli.path} (client {cli.version}) runs the engine's own BuildKit "
                "with DOCKER_BUILDKIT=1",
                cli.path,
            )
    found = (
        ", ".join(f"{c.path} (client {c.version or '?'}, no buildx)" for c in clis) or "no docker CLI on PATH"
    )
    if setting == "buildkit":
        raise BuildctlError(
            f"builder = buildkit, and no docker CLI here can drive BuildKit: {found}",
            hint='install the buildx plugin (docker-buildx), or set builder = "auto" or "classic"',
        )
    return BuilderChoice("classic", "sdk", f"no docker CLI can drive BuildKit ({found}): the classic builder")


@dataclass(frozen=True)
class Invocation:
    """One BuildKit build, as the docker CLI takes it."""

    dockerfile: str
    target: str
    tag: str
    platform: str
    args: Mapping[str, str]
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()  # (id, "env:NAME" or "file:PATH")

    def argv(
        self, choice: BuilderChoice, *, iidfile: str | None = None, secret_files: Mapping[str, str] = {}
    ) -> list[str]:
        cli = choice.cli or "docker"
        head = [cli, "buildx", "build", "--load"] if choice.via == "buildx" else [cli, "build"]
        argv = [
            *head,
            "-f",
            self.dockerfile,
            *(["--target", self.target] if self.target else []),
            "--platform",
            self.platform,
        ]
        argv += ["--network", "host", "--progress", "plain", "-t", self.tag]
        for key, value in self.args.items():
            argv += ["--build-arg", f"{key}={value}"]
        for ref in self.cache_from:
            argv += ["--cache-from", ref]
        for ref in self.cache_to:
            argv += ["--cache-to", ref]
        for ident, source in self.secrets:
            kind, _, where = source.partition(":")
            src = secret_files.get(ident, where if kind == "file" else f"<${where}>")
            argv += ["--secret", f"id={ident},src={src}"]
        if iidfile:
            argv += ["--iidfile", iidfile]
        return [*argv, "."]

    def command(self, choice: BuilderChoice) -> str:
        """As a shell line, for the dry run (a secret from the environment shows its variable)."""
        env = "DOCKER_BUILDKIT=1 " if choice.via == "docker-cli" else ""
        return env + shlex.join(self.argv(choice))


# `#12 [cook 3/3] RUN ...`, `#12 CACHED`, `#12 0.523 output`, `#12 ERROR: ...`
_VERTEX = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_CACHED = re.compile(r"^#(\d+) CACHED$")
_OUTPUT = re.compile(r"^#(\d+) \d+\.\d+ (.*)$")
_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")


def run(
    choice: BuilderChoice,
    inv: Invocation,
    *,
    context: Path,
    environ: Mapping[str, str] = os.environ,
    sink: LogSink | None = None,
) -> BuildOutcome:
    """Run one build; its plain progress goes to `sink` line by line, and what it says about each
    step (cached or run) and the image it made come back in the outcome."""
    outcome = BuildOutcome(image_id="")
    names: dict[str, str] = {}  # vertex → "[stage k/n] INSTRUCTION"
    stages: dict[str, str] = {}  # vertex → "stage k/n"
    output: dict[str, list[str]] = {}  # vertex → what its step printed
    errors: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="buildctl-buildkit-") as tmp:
        iidfile = str(Path(tmp, "iid"))
        secret_files = _secret_files(inv.secrets, environ, Path(tmp))
        env = dict(environ)
        if choice.via == "docker-cli":
            env["DOCKER_BUILDKIT"] = "1"
        argv = inv.argv(choice, iidfile=iidfile, secret_files=secret_files)
        try:
            proc = subprocess.Popen(
                argv, cwd=context, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        except OSError as exc:
            raise BuildctlError(f"cannot run {argv[0]}: {exc}") from None
        with proc:  # closes the pipe, whatever happens while it is read
            assert proc.stdout is not None
            for raw in proc.stdout:
                _take(raw.rstrip("\n"), outcome, names, stages, output, errors, sink)
            code = proc.wait()
        if code != 0:
            vertex, detail = errors[-1] if errors else ("", f"exit code {code}")
            where = f", step [{stages[vertex]}]" if vertex in stages else ""
            raise BuildctlError(
                failure_text(f"{inv.target}{where}", detail, output.get(vertex, outcome.log[-20:]))
            )
        with contextlib.suppress(OSError):
            outcome.image_id = Path(iidfile).read_text().strip()
    return outcome


def _take(
    line: str,
    outcome: BuildOutcome,
    names: dict[str, str],
    stages: dict[str, str],
    output: dict[str, list[str]],
    errors: list[tuple[str, str]],
    sink: LogSink | None,
) -> None:
    """One line of plain progress: logged, and read for the steps, the cache and the errors."""
    outcome.log.append(line)
    if sink:
        sink(line)
    if m := _VERTEX.match(line):
        if not m.group(2).startswith("internal") and m.group(1) not in names:
            names[m.group(1)] = f"[{m.group(2)}] {m.group(3)}"
            stages[m.group(1)] = m.group(2)
            outcome.steps += 1
            outcome.cached[names[m.group(1)]] = False
    elif m := _CACHED.match(line):
        step = names.get(m.group(1))
        if step is not None and not outcome.cached[step]:
            outcome.cached[step] = True
            outcome.cached_steps += 1
    elif m := _OUTPUT.match(line):
        output.setdefault(m.group(1), []).append(m.group(2))
    elif m := _ERROR.match(line):
        errors.append((m.group(1), m.group(2)))


def _secret_files(
    secrets: Sequence[tuple[str, str]], environ: Mapping[str, str], folder: Path
) -> dict[str, str]:
    """A secret from the environment goes to BuildKit as a file only the build can read (the
    20.10 CLI takes files only), in a folder removed when the build ends."""
    out: dict[str, str] = {}
    for ident, source in secrets:
        kind, _, where = source.partition(":")
        if kind == "file":
            continue
        value = environ.get(where)
        if value is None:
            raise BuildctlError(
                f"build secret '{ident}' comes from the environment variable {where}, which is not set",
                hint=f"set {where} in the job's environment (from a repository secret)",
            )
        path = folder / f"secret-{len(out)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value)
        out[ident] = str(path)
    return out
