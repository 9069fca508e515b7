"""What a build run produced, per cook, per service and per platform: the report
`build --format json` prints, `bump --from` reads and the summaries show. Plain data, no engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from buildctl.build.buildkit import BuilderChoice

Status = Literal["built", "pushed", "skipped", "failed"]
CookStatus = Literal["built", "pushed", "exists", "failed"]
Step = Literal["cached", "compiled"]


@dataclass(frozen=True)
class CacheUse:
    """How much of an image came from the cache; `reused` when an image was re-tagged, not built."""

    cook_step: Step | None = None  # the `cargo chef cook` step: taken from the cache, or compiled
    steps: int = 0
    cached_steps: int = 0
    reused: str | None = None  # the fp-<fingerprint> tag whose image was re-tagged

    @classmethod
    def total(cls, uses: Sequence[CacheUse]) -> CacheUse:
        """A service's builds together: its cook step was cached only if it was in every one."""
        if len(uses) == 1:
            return uses[0]
        return cls(
            "cached" if all(u.cook_step == "cached" for u in uses) else "compiled",
            sum(u.steps for u in uses),
            sum(u.cached_steps for u in uses),
        )

    def to_json(self) -> dict[str, Any]:
        if self.reused is not None:
            return {"reused": self.reused}
        return {"cook_step": self.cook_step, "steps": self.steps, "cached_steps": self.cached_steps}


@dataclass
class CookResult:
    """One platform's cook: built here (from which cache), pushed, or already in the registry."""

    platform: str
    key: str
    image: str
    status: CookStatus
    source: Literal["local", "registry", "none"] | None = None  # where its cache came from
    cook_step: Step | None = None
    duration: float | None = None
    digest: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"platform": self.platform, "key": self.key, "image": self.image}
        for name in ("source", "cook_step", "duration", "digest", "error"):
            value = getattr(self, name)
            if value is not None:
                out[name] = round(value, 2) if name == "duration" else value
        out["status"] = self.status
        return out


@dataclass
class PlatformImage:
    """One platform's image of a service, as built (and pushed)."""

    platform: str
    ref: str
    image_id: str
    size: int
    cache: CacheUse
    digest: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.ref.rpartition(":")[2],
            "digest": self.digest,
            "image_id": self.image_id,
            "size": self.size,
            "cache": self.cache.to_json(),
        }


@dataclass
class ServiceResult:
    service: str
    status: Status
    image: str | None
    tags: list[str]
    digest: str | None = None
    duration: float = 0.0
    fingerprint: str = ""
    cache: CacheUse = field(default_factory=CacheUse)
    error: str | None = None
    platforms: dict[str, PlatformImage] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "image": self.image,
            "tags": self.tags,
            "tag": self.tags[0] if self.tags else None,
            "digest": self.digest,
            "reference": f"{self.image}:{self.tags[0]}@{self.digest}"
            if self.image and self.tags and self.digest
            else None,
            "duration": round(self.duration, 2),
            "fingerprint": self.fingerprint,
            "cache": self.cache.to_json(),
            "platforms": {name: p.to_json() for name, p in self.platforms.items()},
            "error": self.error,
        }


@dataclass
class BuildReport:
    head: str
    builder: BuilderChoice | None = None
    services: dict[str, ServiceResult] = field(default_factory=dict)
    cooks: dict[str, CookResult] = field(default_factory=dict)  # platform → its cook
    cook_skipped: str | None = None  # why no cook ran

    @property
    def failed(self) -> list[str]:
        return [s for s, r in self.services.items() if r.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        first = next(iter(self.cooks.values()), None)
        cook = {"skipped": self.cook_skipped} if self.cook_skipped else (first.to_json() if first else {})
        return {
            "head": self.head,
            "builder": self.builder.to_json() if self.builder else None,
            "cook": cook,  # the first platform's cook (the only one in a one-platform build)
            "cooks": {name: c.to_json() for name, c in self.cooks.items()},
            "services": {name: r.to_json() for name, r in sorted(self.services.items())},
        }


@dataclass(frozen=True)
class WarmReport:
    """What `warm` did for each platform of the map."""

    cooks: tuple[CookResult, ...]

    @property
    def status(self) -> CookStatus:
        return "pushed" if any(c.status == "pushed" for c in self.cooks) else "exists"

    def to_json(self) -> dict[str, Any]:
        first = self.cooks[0].to_json()
        if len(self.cooks) == 1:
            return first
        # Several platforms: the first one's cook at the top (as with one), and every one's below.
        return {**first, "status": self.status, "platforms": {c.platform: c.to_json() for c in self.cooks}}
