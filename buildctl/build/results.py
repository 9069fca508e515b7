"""What a build run produced, per service and per platform: the report `build --format json`
prints, `bump --from` reads and the summaries show. Plain data, no engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from buildctl.build.engine import BuildOutcome

Status = Literal["built", "pushed", "skipped", "failed"]


@dataclass
class ServiceResult:
    service: str
    status: Status
    image: str | None
    tags: list[str]
    digest: str | None = None
    duration: float = 0.0
    fingerprint: str = ""
    cache: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)  # platform → its image

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
            "cache": self.cache,
            "platforms": self.platforms,
            "error": self.error,
        }


@dataclass
class PlatformImage:
    """One platform's image of a service, as built (and pushed)."""

    platform: str
    ref: str
    image_id: str
    size: int
    cache: dict[str, Any]
    digest: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.ref.rpartition(":")[2],
            "digest": self.digest,
            "image_id": self.image_id,
            "size": self.size,
            "cache": self.cache,
        }


@dataclass
class BuildReport:
    head: str
    cook: dict[str, Any]  # the first platform's cook (the only one in a one-platform build)
    services: dict[str, ServiceResult]
    cooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # platform → its cook

    @property
    def failed(self) -> list[str]:
        return [s for s, r in self.services.items() if r.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "cook": self.cook,
            "cooks": self.cooks,
            "services": {name: r.to_json() for name, r in sorted(self.services.items())},
        }


def cache_use(outcome: BuildOutcome) -> dict[str, Any]:
    return {
        "cook_step": "cached" if outcome.step_cached("cargo chef cook") else "compiled",
        "steps": outcome.steps,
        "cached_steps": outcome.cached_steps,
    }


def cache_total(caches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The cache use of a service's builds: the cook step was cached only if it was in every one."""
    if len(caches) == 1:
        return caches[0]
    return {
        "cook_step": "cached" if all(c["cook_step"] == "cached" for c in caches) else "compiled",
        "steps": sum(c["steps"] for c in caches),
        "cached_steps": sum(c["cached_steps"] for c in caches),
    }
