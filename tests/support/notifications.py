"""A loopback listener that collects the registry's notification envelopes.

The registry delivers events asynchronously from its own goroutines, so a test must
wait for them; ``wait_for`` blocks on a condition the handler signals, never on a
sleep loop, and fails with everything received so far when the event never comes.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.support.httpserver import LoopbackHTTPServer, QuietHandler

#: (request headers with lower-case names, parsed JSON envelope)
Received = tuple[dict[str, str], Any]

EVENTS_PATH = "/events"


class _SinkHandler(QuietHandler):
    server: Any

    def do_POST(self) -> None:
        """Record the envelope; the status is the sink's ``status`` knob."""
        owner: NotificationSink = self.server.owner
        body = self.read_body()
        if urlsplit(self.path).path != EVENTS_PATH:
            self.send_body(404, b"not found\n", "text/plain")
            return
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = {"_unparsed": body.decode("utf-8", errors="replace")}
        headers = {name.lower(): value for name, value in self.headers.items()}
        owner._record(headers, parsed)
        self.send_body(owner.status, b"", "text/plain")


class NotificationSink(LoopbackHTTPServer):
    """Collects POSTed envelopes in ``received``; ``token`` is what the registry should send."""

    handler_class = _SinkHandler
    thread_name = "test-notification-sink"

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token or secrets.token_urlsafe(16)
        self.received: list[Received] = []
        #: HTTP status answered to the registry; set 5xx to exercise its retries.
        self.status = 200
        self._condition = threading.Condition()

    @property
    def url(self) -> str:
        """Endpoint URL to configure in the registry."""
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    def _record(self, headers: dict[str, str], parsed: Any) -> None:
        with self._condition:
            self.received.append((headers, parsed))
            self._condition.notify_all()

    @property
    def events(self) -> list[dict[str, Any]]:
        """All events of all envelopes received so far, flattened, in arrival order."""
        with self._condition:
            return _flatten(self.received)

    def clear(self) -> None:
        """Forget what was received."""
        with self._condition:
            self.received.clear()

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0
    ) -> list[Received]:
        """Block until ``predicate(received)`` holds; return a snapshot, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not predicate(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no matching notification within {timeout}s; received: "
                        f"{json.dumps([body for _, body in self.received], indent=1)[:4000]}"
                    )
                self._condition.wait(remaining)
            return list(self.received)

    def wait_for_event(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Block until some event satisfies ``match``; return the first such event."""
        found: list[dict[str, Any]] = []

        def predicate(received: list[Received]) -> bool:
            found[:] = [event for event in _flatten(received) if match(event)]
            return bool(found)

        self.wait_for(predicate, timeout)
        return found[0]


def _flatten(received: list[Received]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for _, body in received:
        if isinstance(body, dict):
            events.extend(body.get("events") or [])
    return events


def is_tagged_push(event: dict[str, Any], repository: str, tag: str) -> bool:
    """The event a promotion trigger keeps: a manifest push carrying the tag."""
    target = event.get("target", {})
    return (
        event.get("action") == "push"
        and target.get("repository") == repository
        and target.get("tag") == tag
    )
