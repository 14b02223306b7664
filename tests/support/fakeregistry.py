"""A loopback HTTP server that answers like a broken registry, for what a real one won't do.

distribution validates what it stores and paginates correctly, so a nested-a-thousand-deep
manifest, an index that lists itself, a ``Link`` header with an unclosed IPv6 bracket or
pages that never end can only come from a server of our own. This one answers ``/v2/``
like a registry (so profiles can be added and clients ping it) and every other request
from what a test put in ``answers`` or from a ``route`` callable; unknown paths get
distribution's 404. Requests arrive over real HTTP, so Hoister's whole client stack —
h11, httpx, the session's retries and error mapping — is exercised.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.support.httpserver import LoopbackHTTPServer, QuietHandler

API_HEADER = {"Docker-Distribution-Api-Version": "registry/2.0"}


@dataclass(frozen=True)
class Answer:
    """One crafted response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @classmethod
    def json(cls, value: Any, status: int = 200, **headers: str) -> Answer:
        return cls(status, json.dumps(value).encode(), dict(headers))


#: (method, path with query) -> the answer, or None for "not mine"
Route = Callable[[str, str], Answer | None]

NOT_FOUND = Answer.json(
    {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}, 404
)


class _Handler(QuietHandler):
    server: Any
    protocol_version = "HTTP/1.1"  # keep-alive, as a registry; Content-Length always sent

    def _serve(self) -> None:
        owner: FakeRegistry = self.server.owner
        self.read_body()
        target = self.path
        owner.record(self.command, target)
        if urlsplit(target).path == "/v2/":
            answer = Answer.json({}, headers=API_HEADER)
        else:
            answer = owner.find(self.command, target)
        headers = {**API_HEADER, **answer.headers}
        # HTTP allows no body here; sending one would desynchronise the next answer.
        body = b"" if answer.status in (204, 304) else answer.body
        self.send_body(answer.status, body, answer.content_type, headers)

    def handle(self) -> None:
        """Clients that hang up on a refused answer are no error of this server's."""
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _serve


class FakeRegistry(LoopbackHTTPServer):
    """Answers ``/v2/`` like a registry and the rest from ``answers`` and ``route``."""

    handler_class = _Handler
    thread_name = "test-fake-registry"

    def __init__(self) -> None:
        super().__init__()
        #: (method, path with query) -> answer; HEAD falls back to the GET answer
        self.answers: dict[tuple[str, str], Answer] = {}
        self.route: Route | None = None
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget answers, route and requests: one server serves many generated cases."""
        with self._lock:
            self.answers.clear()
            self.route = None
            self.requests.clear()

    def set(self, method: str, path: str, answer: Answer) -> None:
        with self._lock:
            self.answers[(method, path)] = answer

    def record(self, method: str, target: str) -> None:
        with self._lock:
            self.requests.append((method, target))

    def find(self, method: str, target: str) -> Answer:
        with self._lock:
            route = self.route
            answer = self.answers.get((method, target)) or self.answers.get(
                (method, urlsplit(target).path)
            )
            if answer is None and method == "HEAD":
                answer = self.answers.get(("GET", target)) or self.answers.get(
                    ("GET", urlsplit(target).path)
                )
        if answer is None and route is not None:
            answer = route(method, target)
        return answer or NOT_FOUND
