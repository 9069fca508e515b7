"""What a build of one commit is keyed by, per platform: its build arguments, its cook image and
each service's input fingerprint. Pure (no engine), so `build --dry-run` shows the very keys and
arguments a real build uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from buildctl import platforms
from buildctl.build import fingerprint
from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision
from buildctl.plan import ServicePlan


@dataclass(frozen=True)
class BuildOptions:
    push: bool = False
    jobs: int = 1
    skip_existing: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform_args: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # over build_args
    cache_repository: str = "buildctl-cache"
    source_url: str = ""
    retries: int = 4
    retry_delay: float = 1.0
    environ: Mapping[str, str] = field(default_factory=dict)


def cook_ref(cfg: WorkspaceMap, opts: BuildOptions, key: str) -> str:
    repo = (
        f"{cfg.registry}/{opts.cache_repository}"
        if cfg.registry
        else f"buildctl-cache/{opts.cache_repository}"
    )
    return f"{repo}:cook-{key}"


@dataclass(frozen=True)
class Keys:
    side: Revision
    cfg: WorkspaceMap
    opts: BuildOptions
    native: str  # the build machine's platform: built without RUST_TARGET

    def args(self, platform: str) -> dict[str, str]:
        """Build arguments of `platform`'s images (with RUST_TARGET when it is cross-compiled)."""
        return platforms.build_args(
            platform,
            native_platform=self.native,
            args=self.opts.build_args,
            platform_args=self.opts.platform_args,
        )

    def cook(self, platform: str) -> tuple[str, str]:
        """(key, image) of `platform`'s cook: its arguments, so its target, are in the key."""
        key = fingerprint.cook_key(self.side, self.cfg.dockerfile, self.args(platform))
        return key, cook_ref(self.cfg, self.opts, key)

    def fingerprints(self, services: Sequence[ServicePlan]) -> dict[str, str]:
        """Each service's input fingerprint, over the arguments of every platform it is built for."""
        groups: dict[tuple[str, ...], dict[str, str]] = {}
        for svc in services:
            groups.setdefault(svc.platforms, {})[svc.name] = svc.crate
        out: dict[str, str] = {}
        for names, crates in groups.items():
            args = platforms.fingerprint_args({name: self.args(name) for name in names})
            out.update(fingerprint.service_fingerprints(self.side, crates, self.cfg.dockerfile, args))
        return out

    def cross(self, platform: str) -> str:
        """How a log line says that `platform` is cross-compiled ("" for the native one)."""
        return "" if platform == self.native else f" for {platform}, cross-compiled"
