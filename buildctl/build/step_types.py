"""The build steps as data: cooks, images, services, and the whole run; made by `steps.derive`,
printed by the dry run, carried out by the executor."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from buildctl.build.buildkit import BuilderChoice, Invocation

if TYPE_CHECKING:  # the registry's client (urllib) is no import of a dry run's or `affected`'s
    from buildctl.build.bases import Resolved


def in_context(dockerfile: str, context: str) -> str:
    """The Dockerfile's path as a build run in `context` takes it (the map's is repo-relative)."""
    return posixpath.relpath(dockerfile, context) if context else dockerfile


@dataclass(frozen=True)
class CookStep:
    """The cook stage (every dependency compiled) for one platform, shared by every service
    built from the same Dockerfile and context with the same arguments that reach the cook."""

    platform: str
    key: str
    ref: str  # <registry>/<cache repository>:cook-<key>: the cook image
    args: Mapping[str, str]
    label: str  # how the logs name it: "cook", "cook-<arch>", "cook-<n>" when there are several
    cross: bool  # compiled for another platform than the build machine's
    # What the builder reads the cook from, and writes it to, when the registry holds it: the
    # cook image (classic; BuildKit's inline cache), or a cache manifest of every stage (buildx
    # with a driver of its own), `cache_ref`.
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    cache_ref: str = ""
    push_image: bool = True  # the cook image itself is what a later build reads
    dockerfile: str = "Dockerfile.service"
    context: str = ""  # repo-relative, "" is the repository root
    name: str = ""  # the key of its result in a build report: the platform when it has one cook

    def invocation(self, secrets: tuple[tuple[str, str], ...]) -> Invocation:
        return Invocation(
            in_context(self.dockerfile, self.context),
            "cook",
            self.ref,
            self.platform,
            self.args,
            self.cache_from,
            self.cache_to,
            secrets,
        )

    @property
    def note(self) -> str:
        return f" for {self.platform}, cross-compiled" if self.cross else ""


@dataclass(frozen=True)
class ImageStep:
    """One platform's image of a service: its target stage, on its cook when its Dockerfile has
    one (`cook` is "" for a Dockerfile without a `cook` stage: it builds from its own cache)."""

    platform: str
    ref: str  # repository:tag this image is built under
    cook: str  # the cook image it takes its dependencies from
    args: Mapping[str, str]
    cross: bool
    cache_from: tuple[str, ...] = ()
    dockerfile: str = "Dockerfile.service"
    context: str = ""  # repo-relative, "" is the repository root
    target: str = "runtime"  # "" builds the Dockerfile's last stage

    @property
    def note(self) -> str:
        return f" for {self.platform}, cross-compiled" if self.cross else ""

    def invocation(self, secrets: tuple[tuple[str, str], ...]) -> Invocation:
        return Invocation(
            in_context(self.dockerfile, self.context),
            self.target,
            self.ref,
            self.platform,
            self.args,
            self.cache_from,
            (),
            secrets,
        )


@dataclass(frozen=True)
class ServiceSteps:
    service: str
    repository: str  # the map's image of the service, or buildctl-local/<service>
    pushable: bool  # the map names a registry, so --push pushes it
    fingerprint: str
    tags: tuple[str, ...]  # sha-<commit>, any latest/branch tag, then fp-<fingerprint>
    images: tuple[ImageStep, ...]  # one per platform
    dockerfile: str = "Dockerfile.service"
    context: str = ""
    target: str = "runtime"

    @property
    def multi(self) -> bool:
        """Several platforms: each tag names an OCI image index of their images."""
        return len(self.images) > 1

    @property
    def local_tags(self) -> tuple[str, ...]:
        """Tags the engine adds to a one-platform image after its build (the first is built)."""
        return () if self.multi else self.tags[1:]

    def pushes(self, push: bool) -> tuple[str, ...]:
        """What the engine pushes: every tag of a one-platform image, else each platform's image."""
        if not (push and self.pushable):
            return ()
        if self.multi:
            return tuple(i.ref for i in self.images)
        return tuple(f"{self.repository}:{tag}" for tag in self.tags)

    def index_tags(self, push: bool) -> tuple[str, ...]:
        """Tags an image index of the platforms' images is put under, through the registry's API."""
        return self.tags if push and self.pushable and self.multi else ()


@dataclass(frozen=True)
class BuildSteps:
    head: str
    dockerfile: str
    push: bool
    builder: BuilderChoice
    # one per platform and Dockerfile/context/cook arguments the services need (every one of the
    # map's for none)
    cooks: tuple[CookStep, ...]
    services: tuple[ServiceSteps, ...]
    secrets: tuple[tuple[str, str], ...] = ()  # BuildKit secrets: (id, "env:NAME" | "file:PATH")
    bases: tuple[Resolved, ...] = ()  # the base images, as each platform's build takes them

    def cook(self, platform: str) -> CookStep:
        """The first cook of `platform` (the only one where every service shares a Dockerfile)."""
        return next(c for c in self.cooks if c.platform == platform)

    def cook_of(self, image: ImageStep) -> CookStep | None:
        return next((c for c in self.cooks if c.ref == image.cook and c.platform == image.platform), None)

    def service(self, name: str) -> ServiceSteps:
        return next(s for s in self.services if s.service == name)
