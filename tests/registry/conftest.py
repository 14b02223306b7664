"""Clients for the registry tests, always closed, with sleeps recorded instead of slept."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
import pytest

from hoister.credentials import Credential
from hoister.registry import RegistryClient
from tests.support.registry import RegistryServer

ClientFactory = Callable[..., RegistryClient]


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the client asked to wait; tests assert on them instead of waiting."""
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Iterator[ClientFactory]:
    clients: list[RegistryClient] = []

    def make(
        server: RegistryServer | str,
        user: str | None = None,
        password: str | None = None,
        credential: Credential | None = None,
        **options: Any,
    ) -> RegistryClient:
        url = server if isinstance(server, str) else server.url
        if user:
            credential = Credential(user, password or "")
        options.setdefault("sleep", sleeps.append)
        client = RegistryClient(url, credential, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


class BearerAuth(httpx.Auth):
    """A minimal, independent token-flow client for pushing fixtures (not Hoister's code)."""

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or not challenge.lower().startswith("bearer "):
            return
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        token_request = httpx.Request(
            "GET",
            params["realm"],
            params={"service": params.get("service", ""), "scope": params.get("scope", "")},
        )
        token_response = yield next(self._basic.auth_flow(token_request))
        token_response.read()
        request.headers["Authorization"] = f"Bearer {token_response.json()['token']}"
        yield request


def bearer(user: str, password: str) -> BearerAuth:
    return BearerAuth(user, password)
