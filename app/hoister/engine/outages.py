"""Registries the agent cannot reach, and since when: what makes ``/healthz`` degraded.

The engine reports an outage once, when a registry stops answering, and a recovery when
it answers again (``problem`` / ``recovered`` callbacks). An agent whose poll cycles
still finish but whose every registry is gone promotes nothing, yet looked healthy; a
registry down for longer than ``unhealthy_after`` now makes the agent unhealthy, and
its first answer makes it healthy again. A short blip (a registry restart) stays below
the limit and does not flap the probe.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

#: Default of ``hoister run --unhealthy-after``.
DEFAULT_UNHEALTHY_AFTER = 300.0


class Outages:
    """profile -> (unix seconds the outage began, the engine's message); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, tuple[float, str]] = {}

    def began(self, profile: str, message: str, at: float) -> None:
        with self._lock:
            self._down.setdefault(profile, (at, message))

    def ended(self, profile: str) -> None:
        with self._lock:
            self._down.pop(profile, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._down)

    def overdue(self, now: float, limit: float) -> list[str]:
        """One reason per registry down for longer than ``limit`` seconds, oldest first."""
        with self._lock:
            down = sorted(self._down.items(), key=lambda item: item[1][0])
        reasons = []
        for profile, (since, message) in down:
            lasted = now - since
            if lasted <= limit:
                continue
            when = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
            detail = message.removeprefix(f"{profile}: ")
            reasons.append(
                f"registry {profile} unreachable since {when} ({lasted:.0f} s, "
                f"limit {limit:.0f} s): {detail}"
            )
        return reasons
