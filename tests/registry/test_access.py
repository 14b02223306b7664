"""RegistryClient.can_push: from the token's grant when it says, else an upload opened and
cancelled; never an upload left open."""

from __future__ import annotations

import threading

import httpx

from tests.registry.conftest import ClientFactory
from tests.support.fixtures import TokenRegistry
from tests.support.registry import RegistryServer


class Recorder(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.seen.append((request.method, request.url.path))
        return super().handle_request(request)


def open_uploads(server: RegistryServer) -> list[object]:
    """distribution keeps only a hash state of a cancelled upload; an open one has data."""
    return [*server.storage.rglob("_uploads/*/data"), *server.storage.rglob("_uploads/*/startedat")]


def test_without_token_grants_the_answer_is_an_upload_opened_and_cancelled(
    make_client: ClientFactory, registry: RegistryServer, basic_registry: RegistryServer
) -> None:
    recorder = Recorder()
    client = make_client(registry, transport=recorder)
    assert client.can_push("qa/website") is True
    methods = [(m, p.rstrip("/").rsplit("/", 1)[0]) for m, p in recorder.seen if "uploads" in p]
    assert methods == [
        ("POST", "/v2/qa/website/blobs"),
        ("DELETE", "/v2/qa/website/blobs/uploads"),
    ]
    assert client.granted_actions("qa/website") is None
    assert open_uploads(registry) == []
    # Basic auth without credentials: refused, so False, and nothing left behind.
    assert make_client(basic_registry).can_push("qa/website") is False
    assert make_client(basic_registry, "alice", "wonderland-42").can_push("qa/website") is True
    assert open_uploads(basic_registry) == []


def test_a_token_grant_answers_without_touching_the_registry(
    make_client: ClientFactory, token_registry: TokenRegistry
) -> None:
    reg = token_registry.registry
    for user, repository, allowed, actions in (
        ("bob", "dev/website", False, ["pull"]),
        ("bob", "qa/website", False, []),
        ("alice", "qa/website", True, ["pull", "push"]),
    ):
        recorder = Recorder()
        client = make_client(reg, user, token_registry.users[user], transport=recorder)
        assert client.can_push(repository) is allowed, (user, repository)
        assert client.granted_actions(repository) == actions
        assert [p for _, p in recorder.seen if "uploads" in p] == [], (user, repository)
