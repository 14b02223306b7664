"""pytest fixtures that hand tests a real registry (register with
``pytest_plugins = ["tests.support.fixtures"]`` in the top-level conftest).

Every fixture is function-scoped with fresh storage so tests cannot see each other's
repositories, and every process and thread it starts is stopped at teardown, because
the suite treats a leaked thread as a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.notifications import NotificationSink
from tests.support.registry import RegistryServer
from tests.support.tokenserver import AclEntry, TokenServer

BASIC_USERS = {"alice": "wonderland-42"}
TOKEN_USERS = {"alice": "wonderland-42", "bob": "builder-7"}
#: alice may do anything (catalog included); bob may only pull under dev/.
TOKEN_ACL: list[AclEntry] = [
    ("alice", "*", {"*"}),
    ("bob", "dev/*", {"pull"}),
]


@dataclass
class TokenRegistry:
    """A token-auth registry together with the token server it trusts."""

    registry: RegistryServer
    tokens: TokenServer
    users: dict[str, str] = field(default_factory=dict)


RegistryFactory = Callable[..., RegistryServer]


@pytest.fixture
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryFactory]:
    """Start registries with any RegistryServer keyword arguments; all stopped at teardown.

    ``auth="token"`` without ``token_server`` creates (and later stops) a TokenServer with
    the given ``users`` and the default ACL; it is reachable as ``server.token_server``.
    """
    started: list[RegistryServer | TokenServer] = []

    def make(**kwargs: Any) -> RegistryServer:
        workdir = tmp_path_factory.mktemp("registry")
        if kwargs.get("auth") == "token" and kwargs.get("token_server") is None:
            tokens = TokenServer(kwargs.get("users"), workdir=workdir / "tokens").start()
            started.append(tokens)
            kwargs["token_server"] = tokens
        server = RegistryServer(workdir, **kwargs)
        started.append(server)
        return server.start()

    yield make
    # Registries first: they must not outlive the token server or sink they talk to.
    for item in sorted(started, key=lambda s: not isinstance(s, RegistryServer)):
        item.stop()


@pytest.fixture
def registry(registry_factory: RegistryFactory) -> RegistryServer:
    """An anonymous registry with delete enabled."""
    return registry_factory()


@pytest.fixture
def basic_registry(registry_factory: RegistryFactory) -> RegistryServer:
    """htpasswd (bcrypt) registry; credentials in ``.users``."""
    return registry_factory(auth="basic", users=dict(BASIC_USERS))


@pytest.fixture
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    """Token-auth registry: alice may do anything, bob may only pull ``dev/*``."""
    workdir = tmp_path_factory.mktemp("token-registry")
    with (
        TokenServer(dict(TOKEN_USERS), list(TOKEN_ACL), workdir=workdir / "tokens") as tokens,
        RegistryServer(workdir / "registry", auth="token", token_server=tokens) as server,
    ):
        yield TokenRegistry(server, tokens, dict(TOKEN_USERS))


@pytest.fixture
def notification_sink() -> Iterator[NotificationSink]:
    """Listener for registry notifications; see NotificationSink.wait_for."""
    with NotificationSink() as sink:
        yield sink


@pytest.fixture
def notify_registry(
    notification_sink: NotificationSink, registry_factory: RegistryFactory
) -> RegistryServer:
    """Anonymous registry posting every event to ``notification_sink`` with its token.

    The sink is requested first so it is torn down last, after the registry.
    """
    return registry_factory(notify_url=notification_sink.url, notify_token=notification_sink.token)
