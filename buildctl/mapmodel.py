"""The workspace map as frozen, validated data: what `config.parse_map` returns.

Plain data and the rules that follow from it alone (a service's image, its deployment file, its
build context); no parsing here, so every stage can import it without the TOML reader.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

from buildctl.globs import GlobSet

MAP_FILE = "workspace-map.toml"

# Docker repository path components: lower-case alphanumerics separated by one . _ or -.
# This also keeps service names safe in paths, tags and command lines.
SERVICE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
REGISTRY = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
# A step output name an expression can read as `steps.<id>.outputs.<name>`.
FILTER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# What `affected --format github` writes besides one output per service and per filter.
BUILDCTL_OUTPUTS = ("build", "deploy", "matrix", "any", "base", "head", "changes")

DEFAULT_DOCKERFILE = "Dockerfile.service"
DEFAULT_TARGET = "runtime"
DEFAULT_BIN_ARG = "SERVICE_NAME"
DEFAULT_BUILD_ALL = (
    "Dockerfile.service",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    ".cargo/config",
)
DEFAULT_IGNORE = ("**/*.md", "docs/**", "LICENSE*", "**/.gitignore")
PLACEHOLDER_OWNERS = frozenset(
    {"example-org", "example", "owner", "your-org", "your-org-name", "my-org", "org-name"}
)

DeployKind = Literal["kustomize", "helm", "none"]
DEPLOY_KINDS: tuple[DeployKind, ...] = ("kustomize", "helm", "none")
# paths-filter's change types (it lists git's changes with --no-renames)
CHANGE_TYPES = ("added", "modified", "deleted")
_NONE: Mapping[str, str] = MappingProxyType({})  # a default no record can change


class ImageKeys(NamedTuple):
    """Where a Helm values file holds a service's image: dotted key paths."""

    repository: str = "image.repository"
    tag: str = "image.tag"
    digest: str = "image.digest"  # "": the chart takes no digest, so none is written


class Deploy(NamedTuple):
    """How a service is deployed: the kind, and the file a bump edits (None for "none")."""

    kind: DeployKind = "kustomize"
    file: str | None = None
    keys: ImageKeys = ImageKeys()


class Service(NamedTuple):
    name: str
    crate: str
    inputs: GlobSet
    dockerfile: str = DEFAULT_DOCKERFILE
    context: str = ""  # the build context, repo-relative ("" is the repository root)
    target: str = DEFAULT_TARGET  # the Dockerfile stage the image is; "" for the last one
    build_args: Mapping[str, str] = _NONE
    bin: str = ""  # the binary of the crate the image ships ("" for the service's name)
    bin_arg: str = DEFAULT_BIN_ARG  # the build argument that names the binary
    deploy: Deploy = Deploy()

    @property
    def binary(self) -> str:
        return self.bin or self.name

    @property
    def build_files(self) -> tuple[str, ...]:
        """Files outside the crates that decide this image alone: its Dockerfile, and the
        .dockerignore files Docker reads for it (`<Dockerfile>.dockerignore`, else the context's)."""
        return (
            self.dockerfile,
            f"{self.dockerfile}.dockerignore",
            posixpath.join(self.context, ".dockerignore") if self.context else ".dockerignore",
        )


class Rules(NamedTuple):
    build_all: GlobSet
    deploy_all: GlobSet
    ignore: GlobSet
    unowned: Literal["all", "ignore"]


class FilterRule(NamedTuple):
    """One rule of a paths-filter filter: a glob (`!` negates it), for some change types."""

    glob: str
    negated: bool = False
    changes: frozenset[str] = frozenset()  # empty: any change


class PathFilter(NamedTuple):
    """A named filter, evaluated as dorny/paths-filter evaluates it: true when some changed file
    matches some rule (`every`: matches every rule)."""

    name: str
    rules: tuple[FilterRule, ...]
    every: bool = False


class Acknowledged(NamedTuple):
    """What `check --strict` is told is decided on purpose, each by a line in the map."""

    not_services: frozenset[str] = frozenset()  # crates with a binary that is not a service
    unowned: GlobSet = GlobSet.of([])  # unowned on purpose
    no_registry: bool = False


class BuildSettings(NamedTuple):
    cache_repository: str = "buildctl-cache"
    extra_tags: tuple[str, ...] = ()  # "latest" and/or "branch", besides the immutable sha-<commit>
    args: Mapping[str, str] = _NONE
    # platform → build arguments for that platform's images only, over `args` (its base images)
    platform_args: Mapping[str, Mapping[str, str]] = MappingProxyType({})
    source_url: str = ""
    builder: Literal["auto", "buildkit", "classic"] = "auto"
    # BuildKit secret id → where its value comes from: "env:NAME" or "file:PATH"
    secrets: Mapping[str, str] = _NONE


class WorkspaceMap(NamedTuple):
    file: str
    root: str  # the Cargo workspace root, repo-relative posix ("" is the repo root)
    registry: str | None
    dockerfile: str
    deployments: str
    rules: Rules
    services: Mapping[str, Service]
    build: BuildSettings = BuildSettings()
    # Every image is built for each of these ("linux/amd64", "linux/arm64"), in this order.
    platforms: tuple[str, ...] = ("linux/amd64",)
    crate_inputs: Mapping[str, GlobSet] = MappingProxyType({})  # [crates.<name>] inputs
    filters: tuple[PathFilter, ...] = ()
    acknowledged: Acknowledged = Acknowledged()

    @property
    def placeholder(self) -> str | None:
        """The part of `registry` that is a template's placeholder (`example-org`), if any: a
        push there fails, or lands in somebody else's namespace."""
        if not self.registry:
            return None
        parts = self.registry.split("/")[1:]
        return next((part for part in parts if part in PLACEHOLDER_OWNERS), None)

    def image(self, service: str) -> str | None:
        return f"{self.registry}/{service}" if self.registry else None

    def kustomization(self, service: str) -> str:
        return posixpath.join(self.deployments, service, "kustomization.yaml")

    def deploy_of(self, service: str) -> Deploy:
        svc = self.services.get(service)
        return svc.deploy if svc is not None else Deploy("kustomize", self.kustomization(service))

    def deploy_file(self, service: str) -> str | None:
        """The file a bump edits for `service`: its kustomization, its Helm values, or None."""
        return self.deploy_of(service).file

    def contexts(self) -> tuple[str, ...]:
        """Every service's build context (repo-relative, "" is the root), each once."""
        return tuple(dict.fromkeys(s.context for s in self.services.values()))

    def service_for_crate(self) -> dict[str, str]:
        return {s.crate: s.name for s in self.services.values()}
