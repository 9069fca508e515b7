"""Trying again what failed for a moment: one loop for every retry, driven by `TransientError`.

Whoever meets a failure decides whether it may pass (the engine reading its own push error,
the registry client a 5xx or a reset connection, the git write-back a remote that moved on) and
raises `TransientError`; anything else is final and goes straight through. Waits grow
exponentially with jitter, so runners that failed together do not retry together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from buildctl.errors import TransientError

T = TypeVar("T")
MAX_DELAY = 30.0


def delay(attempt: int, base: float, jitter: Callable[[], float] = random.random) -> float:
    """The wait after the `attempt`-th failure (1-based): base, 2 base, 4 base … capped, ±50%."""
    return float(min(MAX_DELAY, base * 2 ** (attempt - 1)) * (0.5 + jitter()))


def retrying(
    what: str,
    action: Callable[[], T],
    *,
    attempts: int,
    base_delay: float,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """`action()`, tried up to `attempts` times while it raises `TransientError`; the last one's
    error is raised as it is."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except TransientError as exc:
            if attempt >= attempts:
                raise
            wait = delay(attempt, base_delay, jitter)
            log(f"{what}: {exc.message}; retrying in {wait:.1f}s ({attempt + 1}/{attempts})")
            sleep(wait)
    raise AssertionError("attempts must be at least 1")
