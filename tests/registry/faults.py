"""A transport in front of a real registry that injects the faults it won't produce itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

Action = Callable[[httpx.Request, httpx.BaseTransport], httpx.Response]


@dataclass
class Rule:
    method: str
    path_part: str
    action: Action
    times: int = 1
    skip: int = 0
    hits: int = field(default=0)
    seen: int = field(default=0)


class FaultyTransport(httpx.BaseTransport):
    """Forwards to a real transport except for requests matched by a rule (each used ``times``)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, int]] = []

    def add(
        self, method: str, path_part: str, action: Action, times: int = 1, skip: int = 0
    ) -> None:
        """Apply ``action`` to ``times`` matching requests after letting ``skip`` through."""
        self.rules.append(Rule(method, path_part, action, times, skip))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for rule in self.rules:
            if request.method != rule.method or rule.path_part not in request.url.path:
                continue
            rule.seen += 1
            if rule.seen > rule.skip and rule.hits < rule.times:
                rule.hits += 1
                response = rule.action(request, self.inner)
                self.log.append((request.method, request.url.path, response.status_code))
                return response
        response = self.inner.handle_request(request)
        self.log.append((request.method, request.url.path, response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


def unavailable(retry_after: str | None = None) -> Action:
    def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        headers = {"Retry-After": retry_after} if retry_after else {}
        return httpx.Response(503, headers=headers, json={"errors": [{"code": "UNAVAILABLE"}]})

    return act


def reset(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    raise httpx.ReadError("connection reset by peer", request=request)


def partial_then_reset(keep: int) -> Action:
    """Deliver only the first ``keep`` bytes of a PATCH to the registry, then 'drop' the line."""

    def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        body = request.read()[:keep]
        start = int(request.headers["content-range"].split("-")[0])
        headers = dict(request.headers)
        headers["content-range"] = f"{start}-{start + len(body) - 1}"
        headers["content-length"] = str(len(body))
        forwarded = httpx.Request(request.method, request.url, headers=headers, content=body)
        inner.handle_request(forwarded).close()
        raise httpx.ReadError("connection reset by peer", request=request)

    return act
