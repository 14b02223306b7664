"""Authentication against real registries: anonymous, htpasswd basic, and token auth."""

from __future__ import annotations

import pytest

from hoister.registry import Unauthorized
from hoister.registry.auth import merge_scopes, parse_challenge
from tests.registry.conftest import ClientFactory, bearer
from tests.support.fixtures import TokenRegistry
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer


def test_anonymous_ping_reports_api_version(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    info = make_client(registry).ping()
    assert info.api_version == "registry/2.0"
    assert info.auth_scheme is None
    assert info.user == "anonymous"


def test_basic_auth_needs_a_login(
    basic_registry: RegistryServer, make_client: ClientFactory
) -> None:
    with pytest.raises(Unauthorized, match="needs a login"):
        make_client(basic_registry).ping()


def test_basic_auth_wrong_password_names_the_user(
    basic_registry: RegistryServer, make_client: ClientFactory
) -> None:
    with pytest.raises(Unauthorized, match="refused user alice; check the username and password"):
        make_client(basic_registry, "alice", "wrong").ping()


def test_basic_auth_lists_and_pushes(
    basic_registry: RegistryServer, make_client: ClientFactory
) -> None:
    client = make_client(basic_registry, "alice", basic_registry.users["alice"])
    image = build_image(seed=1)
    for blob in image.blobs:
        client.upload_blob("dev/website", blob.digest, blob.data)
    client.put_manifest("dev/website", "1.0", image.manifest, image.media_type)
    assert client.ping().auth_scheme == "basic"
    assert list(client.catalog()) == ["dev/website"]
    assert list(client.tags("dev/website")) == ["1.0"]


def test_token_auth_full_flow_with_cached_token(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    reg, tokens = token_registry.registry, token_registry.tokens
    client = make_client(reg, "alice", token_registry.users["alice"])
    image = build_image(seed=2)
    for blob in image.blobs:
        client.upload_blob("dev/website", blob.digest, blob.data)
    client.put_manifest("dev/website", "1.0", image.manifest, image.media_type)
    tokens.clear()
    for _ in range(3):
        assert client.get_manifest("dev/website", "1.0").digest == image.digest
    # One token for repository:dev/website:pull, reused for every later request.
    assert [r.scopes for r in tokens.requests] == [["repository:dev/website:pull"]]
    assert client.session.auth.scheme == "bearer"


def test_token_is_refetched_after_expiry(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    now = [1000.0]
    reg, tokens = token_registry.registry, token_registry.tokens
    push_image(
        reg.url,
        "dev/app",
        "1",
        build_image(seed=3),
        auth=bearer("alice", token_registry.users["alice"]),
    )
    client = make_client(reg, "alice", token_registry.users["alice"], clock=lambda: now[0])
    tokens.clear()
    client.get_manifest("dev/app", "1")
    client.get_manifest("dev/app", "1")
    assert len(tokens.requests) == 1
    now[0] += tokens.token_ttl  # past expires_in: the cached token must not be used
    client.get_manifest("dev/app", "1")
    assert len(tokens.requests) == 2


def test_rejected_token_is_replaced_once(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    reg, tokens = token_registry.registry, token_registry.tokens
    push_image(
        reg.url,
        "dev/app",
        "1",
        build_image(seed=4),
        auth=bearer("alice", token_registry.users["alice"]),
    )
    client = make_client(reg, "alice", token_registry.users["alice"])
    client.ping()
    tokens.invalid_next = 1  # the next token is signed by a key the registry does not trust
    tokens.clear()
    assert client.get_manifest("dev/app", "1").media_type
    assert len(tokens.requests) == 2  # the rejected token, then a fresh one


def test_token_server_refuses_wrong_password(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    client = make_client(token_registry.registry, "alice", "not-her-password")
    with pytest.raises(Unauthorized, match=r"token server .* refused the login of user alice"):
        client.ping()


def test_missing_push_scope_is_named(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    client = make_client(token_registry.registry, "bob", token_registry.users["bob"])
    blob = build_image(seed=5).blobs[0]
    with pytest.raises(Unauthorized) as caught:
        client.upload_blob("qa/website", blob.digest, blob.data)
    message = str(caught.value)
    assert message.startswith(f"401 from {token_registry.registry.host}")
    assert "the token server refused user bob for repository:qa/website:pull,push" in message


def test_mount_asks_for_two_scopes_at_once(
    token_registry: TokenRegistry, make_client: ClientFactory
) -> None:
    reg, tokens = token_registry.registry, token_registry.tokens
    image = build_image(seed=6)
    push_image(
        reg.url,
        "dev/website",
        "1.0-stable",
        image,
        auth=bearer("alice", token_registry.users["alice"]),
    )
    client = make_client(reg, "alice", token_registry.users["alice"])
    tokens.clear()
    assert client.mount_blob("qa/website", image.blobs[1].digest, "dev/website") is True
    assert client.head_blob("qa/website", image.blobs[1].digest) == image.blobs[1].size
    first = tokens.requests[0]
    assert sorted(first.scopes) == [
        "repository:dev/website:pull",
        "repository:qa/website:pull,push",
    ]


def test_challenge_parsing_handles_quotes_and_commas() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"'
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.example.com/token"
    assert challenge.service == "registry.example.com"
    assert challenge.scopes == ["repository:a/b:pull,push", "repository:c:pull"]
    assert parse_challenge(None) is None
    assert parse_challenge('Basic realm="x"') == parse_challenge('basic realm="x"')


def test_merge_scopes_combines_actions_per_resource() -> None:
    assert merge_scopes(
        ["repository:a:pull", "repository:a:push,pull", "repository:b:pull", "registry:catalog:*"]
    ) == ("registry:catalog:*", "repository:a:pull,push", "repository:b:pull")
