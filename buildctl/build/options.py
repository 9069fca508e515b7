"""What one run of `build`, `warm` or `ci` adds to the map's `[build]` settings.

Everything the map says stays in the map (`WorkspaceMap.build`); these are only the command
line's choices, so there is one source for each setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class BuildOptions:
    push: bool = False
    jobs: int = 1
    skip_existing: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)  # --build-arg, over the map's args
    builder: Literal["auto", "buildkit", "classic"] | None = None  # --builder, over the map's
    retries: int = 4
    retry_delay: float = 1.0
    environ: Mapping[str, str] = field(default_factory=dict)
