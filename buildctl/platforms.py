"""Target platforms of the images: what `[workspace] platforms` may name, and the build arguments
that make one Dockerfile build each of them on an amd64 or arm64 machine.

Pure: no engine and no I/O. A platform other than the build machine's is cross-compiled: its
cargo stages run on the build machine for the target's Rust triple (so no compiler ever runs
under emulation), and its runtime stage is the target platform's base image (`RUNTIME_IMAGE`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from buildctl.errors import BuildctlError


class Platform(NamedTuple):
    name: str  # "linux/arm64", as Docker and the OCI image index write it
    os: str
    architecture: str  # also the tag suffix of this platform's image in a multi-platform build
    rust_target: str  # the Rust target triple that compiles for it

    def spec(self) -> dict[str, str]:
        """The `platform` object of an OCI image index entry."""
        return {"architecture": self.architecture, "os": self.os}


SUPPORTED: Mapping[str, Platform] = {
    "linux/amd64": Platform("linux/amd64", "linux", "amd64", "x86_64-unknown-linux-gnu"),
    "linux/arm64": Platform("linux/arm64", "linux", "arm64", "aarch64-unknown-linux-gnu"),
}
# `uname -m` and Docker's `Arch` spellings of the supported machines.
_MACHINES = {
    "x86_64": "linux/amd64",
    "amd64": "linux/amd64",
    "aarch64": "linux/arm64",
    "arm64": "linux/arm64",
}


def get(name: str) -> Platform:
    try:
        return SUPPORTED[name]
    except KeyError:
        raise BuildctlError(f"platform {name!r} is not supported: use {' or '.join(SUPPORTED)}") from None


def from_machine(machine: str) -> str:
    """`x86_64` or `amd64` → `linux/amd64`; `aarch64` or `arm64` → `linux/arm64`."""
    name = _MACHINES.get(machine.lower())
    if name is None:
        raise BuildctlError(
            f"this machine ({machine}) is not one buildctl builds on: only {' and '.join(SUPPORTED)} are",
            hint="set [workspace] platforms in the map to the platforms the images are for",
        )
    return name


def native() -> str:
    """The platform of the machine buildctl runs on (the default of `[workspace] platforms`)."""
    return from_machine(os.uname().machine)  # what platform.machine() says, without importing it


def build_args(
    name: str,
    *,
    native_platform: str,
    args: Mapping[str, str],
    platform_args: Mapping[str, Mapping[str, str]],
    buildkit: bool,
) -> dict[str, str]:
    """The build arguments of one platform's images: `args` (the map's `[build] args` and the
    command line's), then the map's `[build.platform_args."<platform>"]` over them. BuildKit is
    told the platform itself (`--platform`) and sets BUILDPLATFORM and TARGETPLATFORM; the
    classic builder has neither, so it gets BUILD_PLATFORM (the build machine's) and, for another
    platform than the build machine's, RUST_TARGET to cross-compile for."""
    out = {**args, **platform_args.get(name, {})}
    if not buildkit:
        out["BUILD_PLATFORM"] = native_platform
        if name != native_platform:
            out["RUST_TARGET"] = get(name).rust_target
    return out


def fingerprint_args(per_platform: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One set of arguments that stands for a build of every platform in `per_platform`, for a
    service's input fingerprint: a single platform's arguments as they are, each platform's
    prefixed by its name otherwise (so an image index never stands in for a one-platform image,
    nor the other way round)."""
    if len(per_platform) == 1:
        return dict(next(iter(per_platform.values())))
    out = {"platforms": ",".join(per_platform)}
    for name, args in per_platform.items():
        out.update({f"{name} {key}": value for key, value in args.items()})
    return out


def image_tag(tag: str, name: str, *, multi: bool) -> str:
    """The tag one platform's image is pushed under: the tag itself in a one-platform build,
    `<tag>-<architecture>` (e.g. `sha-<commit>-arm64`) when the tag names an index of several."""
    return f"{tag}-{get(name).architecture}" if multi else tag


def ordered(names: Iterable[str]) -> list[str]:
    """Distinct names, first occurrence first."""
    return list(dict.fromkeys(names))
