"""Count the requests a client sends, as the registry receives them.

A transport in front of httpx's own: every request that goes out is recorded (method
and path) before it is sent, so a test can assert how many round trips an operation
cost. The registry is still the real one; nothing is answered here.
"""

from __future__ import annotations

import threading
from collections import Counter

import httpx


class CountingTransport(httpx.HTTPTransport):
    """An :class:`httpx.HTTPTransport` that keeps ``(method, path)`` of each request."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.sent.append((request.method, request.url.path))
        return super().handle_request(request)

    def take(self) -> list[tuple[str, str]]:
        """The requests since the last call, in order."""
        with self._lock:
            sent, self.sent = self.sent, []
        return sent


def tally(requests: list[tuple[str, str]]) -> Counter[str]:
    """``{"GET tags": 1, "HEAD manifest": 8, ...}``: requests by method and kind."""
    counts: Counter[str] = Counter()
    for method, path in requests:
        kind = next(
            (k for k in ("tags", "manifests", "blobs", "referrers") if f"/{k}/" in path), path
        )
        counts[f"{method} {kind}"] += 1
    return counts
