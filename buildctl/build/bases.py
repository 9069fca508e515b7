"""Base images: which build arguments of the Dockerfile name them, and what each one is for every
platform, resolved through the registry's API to that platform's image manifest.

A tag can move and a multi-platform tag names an index, not an image: the classic builder pulls
an index for the machine it runs on, whatever the target. So before anything compiles, each base
is resolved, for the platform its stage runs on (the build machine's for the stages that say
`FROM --platform=$BUILDPLATFORM`, the target's otherwise), to `repository@<that platform's
manifest digest>`, and the build uses that: any engine gets the right image, the cook and input
keys change exactly when a base does, and a base that does not exist fails the run in seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from buildctl.build.registry import Credentials, RegistryAPI, credentials, split_image
from buildctl.errors import BuildctlError, TransientError

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
DOCKER_HUB_API = "registry-1.docker.io"
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$", re.I)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.I)
_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class BaseArg:
    """A build argument a FROM line takes its image from."""

    name: str
    default: str | None  # the Dockerfile's ARG default
    on_build_machine: bool  # its stage runs on the build machine (FROM --platform=…BUILDPLATFORM…)
    line: int


def base_args(dockerfile: str) -> list[BaseArg]:
    """The global ARGs that FROM lines use as their image, in the order the Dockerfile names them."""
    defaults: dict[str, tuple[str | None, int]] = {}
    found: dict[str, BaseArg] = {}
    seen_from = False
    for number, text in _logical_lines(dockerfile):
        if not seen_from and (m := _ARG.match(text)):
            value = m.group(2)
            defaults[m.group(1)] = (value.strip("\"'") if value is not None else None, number)
        elif m := _FROM.match(text):
            seen_from = True
            var = _VAR.match(m.group(2))
            if var and var.group(1) in defaults and var.group(1) not in found:
                default, line = defaults[var.group(1)]
                build_machine = bool(m.group(1)) and "BUILD" in m.group(1).upper()
                found[var.group(1)] = BaseArg(var.group(1), default, build_machine, line)
    return list(found.values())


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Instructions with their continuation lines joined, each with its first line's number."""
    out: list[tuple[int, str]] = []
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            parts.append(stripped[:-1])
            continue
        parts.append(raw)
        out.append((start, " ".join(parts)))
        parts = []
    if parts:
        out.append((start, " ".join(parts)))
    return out


@dataclass(frozen=True)
class Reference:
    host: str  # as written ("docker.io" for Docker Hub)
    repository: str  # "library/debian"
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> Reference:
        name, _, digest = ref.partition("@")
        tag = None
        colon = name.rfind(":")
        if colon > name.rfind("/"):
            name, tag = name[:colon], name[colon + 1 :]
        host, path = split_image(name)
        if host == "docker.io" and "/" not in path:
            path = f"library/{path}"
        if digest and not _DIGEST.match(digest):
            raise BuildctlError(f"image reference {ref!r} has a digest that is not sha256:<64 hex digits>")
        return cls(host, path, tag or (None if digest else "latest"), digest or None)

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.host == "docker.io" else self.host

    def pinned(self, digest: str) -> str:
        """`repository@digest`, written the way the reference was (no `docker.io/library/`)."""
        if self.host == "docker.io":
            path = self.repository.removeprefix("library/")
            return f"{path}@{digest}"
        return f"{self.host}/{self.repository}@{digest}"


@dataclass(frozen=True)
class Resolved:
    """What a base reference is for one platform."""

    ref: str  # as written
    platform: str
    pinned: str  # what the build is given: repository@<platform manifest digest>, or the local image
    digest: str  # that platform's manifest digest, or the local image's id
    index: str | None  # the digest the reference's tag has now (an index, or the same manifest)
    source: Literal["registry", "local"]


LocalImage = Callable[[str], "tuple[str, str] | None"]  # ref → (image id, "os/arch") if the engine has it


class Resolver:
    """Resolves base references through the registries' APIs (anonymous bearer tokens as Docker
    Hub and GHCR issue them, credentials where the environment or docker's config has them),
    once per (reference, platform)."""

    def __init__(self, environ: Mapping[str, str], local: LocalImage | None = None) -> None:
        self.environ = environ
        self.local = local
        self._apis: dict[str, RegistryAPI] = {}
        self._seen: dict[tuple[str, str], Resolved] = {}

    def _api(self, host: str) -> RegistryAPI:
        if host not in self._apis:
            creds: Credentials | None = credentials(
                host if host != DOCKER_HUB_API else "docker.io", self.environ
            )
            if creds is None and host == DOCKER_HUB_API:
                creds = credentials("https://index.docker.io/v1/", self.environ)
            self._apis[host] = RegistryAPI(host, creds)
        return self._apis[host]

    def resolve(self, ref: str, platform: str) -> Resolved:
        if (ref, platform) not in self._seen:
            self._seen[(ref, platform)] = self._resolve(ref, platform)
        return self._seen[(ref, platform)]

    def _resolve(self, ref: str, platform: str) -> Resolved:
        parsed = Reference.parse(ref)
        try:
            return self._from_registry(ref, parsed, platform)
        except TransientError as exc:
            # A name no registry answers for may be an image this engine made itself (the local
            # stand-ins where nothing can be pulled): it is used as it is.
            local = self.local(ref) if self.local is not None else None
            if local is not None and local[1] == platform:
                return Resolved(ref, platform, ref, local[0], None, "local")
            if local is not None:
                raise BuildctlError(
                    f"base image {ref} is a {local[1]} image, not a {platform} one",
                    hint=f"name a multi-platform base, or set the base for {platform} in "
                    f'[build.platform_args."{platform}"]',
                ) from None
            raise BuildctlError(
                f"base image {ref} for {platform}: {exc.message}",
                hint="check the reference and the network; a private registry needs its credentials "
                "(BUILDCTL_REGISTRY_USER/PASSWORD or docker login)",
            ) from None

    def _from_registry(self, ref: str, parsed: Reference, platform: str) -> Resolved:
        api = self._api(parsed.api_host)
        wanted = parsed.digest or parsed.tag or "latest"
        found = api.manifest(parsed.repository, wanted)
        if found is None:
            raise BuildctlError(
                f"base image {ref} for {platform} does not exist: {parsed.api_host} has no manifest "
                f"{parsed.repository}:{wanted}",
                hint="fix the tag (published tags come and go: pin one that exists, `buildctl pin` "
                "writes its digest)",
            )
        top_digest, media_type, body = found
        top_digest = top_digest or parsed.digest or ""
        if media_type.split(";")[0] in INDEX_TYPES:
            digest = _pick(json.loads(body), platform)
            if digest is None:
                offered = ", ".join(_platforms(json.loads(body))) or "none"
                raise BuildctlError(
                    f"base image {ref} has no {platform} image (it offers {offered})",
                    hint="name a base published for every platform of [workspace] platforms, or set "
                    f'the base for {platform} in [build.platform_args."{platform}"]',
                )
            return Resolved(ref, platform, parsed.pinned(digest), digest, top_digest, "registry")
        got = self._config_platform(api, parsed.repository, json.loads(body))
        if got is not None and got != platform:
            raise BuildctlError(
                f"base image {ref} is a {got} image, not a {platform} one",
                hint=f'name a multi-platform base, or set the base for {platform} in [build.platform_args."{platform}"]',
            )
        return Resolved(ref, platform, parsed.pinned(top_digest), top_digest, top_digest, "registry")

    @staticmethod
    def _config_platform(api: RegistryAPI, repository: str, manifest: object) -> str | None:
        config = manifest.get("config") if isinstance(manifest, dict) else None
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str):
            return None
        data = api.blob(repository, digest)
        try:
            info = json.loads(data)
        except ValueError:
            return None
        return (
            f"{info.get('os') or 'linux'}/{info.get('architecture') or ''}"
            if isinstance(info, dict)
            else None
        )


def _platforms(index: object) -> Iterable[str]:
    for entry in index.get("manifests", []) if isinstance(index, dict) else []:
        p = entry.get("platform") if isinstance(entry, dict) else None
        if isinstance(p, dict) and p.get("architecture") != "unknown":  # attestation manifests
            yield f"{p.get('os')}/{p.get('architecture')}" + (f"/{p['variant']}" if p.get("variant") else "")


def _pick(index: object, platform: str) -> str | None:
    """The index entry for `platform` ("linux/arm64" takes any arm64 variant, v8 first)."""
    os_name, _, arch = platform.partition("/")
    best: tuple[int, str] | None = None
    for entry in index.get("manifests", []) if isinstance(index, dict) else []:
        p = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(p, dict) or p.get("os") != os_name or p.get("architecture") != arch:
            continue
        rank = 0 if p.get("variant") in (None, "", "v8") else 1
        digest = entry.get("digest")
        if isinstance(digest, str) and (best is None or rank < best[0]):
            best = (rank, digest)
    return best[1] if best else None


@dataclass(frozen=True)
class BaseUse:
    """A base image one platform's build takes, through one build argument."""

    arg: str
    ref: str
    platform: str  # the platform of the image it needs (the build machine's, or the target's)
    target: str  # the platform being built


def uses(dockerfile: str, args: Mapping[str, Mapping[str, str]], native: str) -> list[BaseUse]:
    """For each target platform and its build arguments, the base images its build takes."""
    found = []
    for arg in base_args(dockerfile):
        for target, values in args.items():
            ref = values.get(arg.name, arg.default)
            if ref:
                found.append(BaseUse(arg.name, ref, native if arg.on_build_machine else target, target))
    return found


def resolve_all(
    resolver: Resolver, needed: Iterable[BaseUse]
) -> tuple[dict[tuple[str, str], Resolved], list[BuildctlError]]:
    """Each distinct (reference, platform) resolved; what could not be, as errors (in order)."""
    resolved: dict[tuple[str, str], Resolved] = {}
    problems: list[BuildctlError] = []
    failed: set[tuple[str, str]] = set()
    for use in needed:
        key = (use.ref, use.platform)
        if key in resolved or key in failed:
            continue
        try:
            resolved[key] = resolver.resolve(use.ref, use.platform)
        except BuildctlError as exc:
            failed.add(key)
            problems.append(exc)
    return resolved, problems


def pin(
    args: Mapping[str, Mapping[str, str]],
    needed: Iterable[BaseUse],
    resolved: Mapping[tuple[str, str], Resolved],
) -> dict[str, dict[str, str]]:
    """The build arguments with every resolved base replaced by its pinned reference."""
    out = {target: dict(values) for target, values in args.items()}
    for use in needed:
        hit = resolved.get((use.ref, use.platform))
        if hit is not None:
            out[use.target][use.arg] = hit.pinned
    return out
